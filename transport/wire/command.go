package wire

import (
	"encoding/json"
	"fmt"

	"github.com/tickerd/tickerd/message"
)

// Command types a client sends on a two-way transport (WebSocket).
const (
	CommandSubscribe   = "subscribe"
	CommandUnsubscribe = "unsubscribe"
	// CommandAuth presents a token, or renews the connection's: its
	// principal is replaced and the new token's exp rules.
	CommandAuth = "auth"
)

// MaxToken is the longest token a client may present, in bytes: enough
// for a JWT granting a hundred long patterns.
const MaxToken = 16 << 10

// ID is a command's id as the client sent it: a JSON number or string,
// echoed in the ack or error that answers it; nil when it had none usable.
type ID = json.RawMessage

// Command is a client command, checked:
//
//	{"type":"subscribe","id":1,"topics":["stocks.AAPL"],"cursor":"C","max_rate":1}
//	{"type":"unsubscribe","id":2,"topics":["stocks.AAPL"]}
//	{"type":"auth","id":3,"token":"<jwt>"}
type Command struct {
	Type string
	ID   ID
	// Patterns are the command's topics, validated and de-duplicated.
	Patterns []string
	// From is where a subscribe asks to resume; nil for a snapshot first.
	From *message.Cursor
	// Token is an auth command's token.
	Token string
	// MaxRate is a subscribe's max_rate, which replaces the connection's;
	// nil leaves it as it is.
	MaxRate *float64
}

// command is a command as it is sent.
type command struct {
	Type   string          `json:"type"`
	ID     json.RawMessage `json:"id"`
	Topics []string        `json:"topics"`
	Cursor string          `json:"cursor"`
	Token  string          `json:"token"`
	// MaxRate is a pointer so that absent and 0 (no limit) differ.
	MaxRate *float64 `json:"max_rate"`
}

// ParseCommand reads one command. Its error is one of the table's, with
// the command's ID when it has one so the answer can name it.
func ParseCommand(raw []byte) (Command, error) {
	var c command
	if err := json.Unmarshal(raw, &c); err != nil {
		return Command{ID: decodeID(c.ID)}, ErrBadRequest.With("malformed command: " + err.Error())
	}
	cmd := Command{Type: c.Type, ID: decodeID(c.ID)}
	switch c.Type {
	case CommandSubscribe, CommandUnsubscribe:
	case CommandAuth:
		if c.Token == "" {
			return cmd, ErrBadRequest.With(`auth command has no "token"`)
		}
		if len(c.Token) > MaxToken {
			return cmd, ErrBadRequest.With(fmt.Sprintf("the token is longer than %d bytes", MaxToken))
		}
		cmd.Token = c.Token
		return cmd, nil
	case "":
		return cmd, ErrBadRequest.With(`command has no "type"`)
	default:
		return cmd, ErrUnknownType.With("unknown command type " + quote(c.Type))
	}
	patterns, err := message.CleanPatterns(c.Topics)
	if err != nil {
		return cmd, err
	}
	if len(patterns) == 0 {
		return cmd, ErrBadRequest.With(`command has no "topics"`)
	}
	cmd.Patterns = patterns
	if c.Type == CommandSubscribe && c.MaxRate != nil {
		r, err := checkMaxRate(*c.MaxRate)
		if err != nil {
			return cmd, err
		}
		cmd.MaxRate = &r
	}
	if c.Type == CommandSubscribe && c.Cursor != "" {
		cur, err := message.ParseCursor(c.Cursor)
		if err != nil {
			return cmd, err
		}
		cmd.From = &cur
	}
	return cmd, nil
}

// ErrCursorNotFirst answers a subscribe with a cursor on a connection that
// already holds patterns: replaying behind live updates would move the
// client's position backwards.
var ErrCursorNotFirst = ErrBadRequest.With("a cursor is only taken on a connection's first subscription")

// decodeID keeps a command id only if it is a JSON number or string, so
// that echoing it back cannot inject anything.
func decodeID(raw json.RawMessage) ID {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	switch v.(type) {
	case float64, string:
		return raw
	}
	return nil
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
