package wire

import (
	"strings"
	"unicode/utf8"
)

// CloseCode is a WebSocket close code the server sends (RFC 6455 section
// 7.4). Every code the gateway ends a WebSocket with is here; the error
// table (errors.go) says which error ends a connection with which.
type CloseCode int

const (
	// CloseNormal (1000) is sent only to answer a close the client began.
	CloseNormal CloseCode = 1000
	// CloseProtocolError (1002): the client broke the WebSocket protocol.
	CloseProtocolError CloseCode = 1002
	// CloseMessageTooBig (1009): a client message was larger than
	// max_frame. The WebSocket library sends it when the read limit is hit.
	CloseMessageTooBig CloseCode = 1009
	// CloseInternalError (1011): the subscription could not be served (the
	// stream could not be read for a resume); reconnect with backoff.
	CloseInternalError CloseCode = 1011
	// CloseServiceRestart (1012): the gateway is shutting down; reconnect
	// at once, to another gateway, with the cursor.
	CloseServiceRestart CloseCode = 1012
	// CloseSlowConsumer (4001): events overflowed the subscriber's queue;
	// reconnect at once with the cursor and nothing is lost.
	CloseSlowConsumer CloseCode = 4001
	// CloseTokenExpired (4003): the connection's token passed its exp and
	// was not renewed; get a new token, then reconnect with the cursor.
	CloseTokenExpired CloseCode = 4003
)

// ProtocolClose is how a WebSocket ends when the client broke the
// WebSocket protocol: 1002, with the breach as the close frame's text, cut
// to what a close frame holds.
func ProtocolClose(breach error) (CloseCode, string) {
	const maxText = 123 // a close frame's payload is at most 125 bytes, 2 for the code
	text := strings.ToValidUTF8("protocol error: "+breach.Error(), "?")
	if len(text) > maxText {
		text = text[:maxText]
		for !utf8.ValidString(text) { // a rune was cut: drop its start
			text = text[:len(text)-1]
		}
	}
	return CloseProtocolError, text
}

// CloseFor is how a WebSocket ends for reason: the code and the close
// frame's text. A reason the table does not name is the server's failure
// (1011), so the client reconnects with its cursor.
func CloseFor(reason error) (CloseCode, string) {
	e := Lookup(reason)
	code := e.Close
	if code == 0 {
		code = CloseInternalError
	}
	if row := e.base(); row.closeText != "" {
		return code, row.closeText
	}
	return code, e.Code + ": reconnect with your cursor"
}
