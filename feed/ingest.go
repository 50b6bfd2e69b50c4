package feed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tickerd/tickerd/message"
)

// Limits of one ingest body.
const (
	// MaxBatch is the most updates one body may carry.
	MaxBatch = 1000
	// MaxData is the largest data of one update, in bytes.
	MaxData = 64 << 10
)

// Errors from DecodeUpdates. An *InputError wraps one of them, or an error
// of the message package (message.ErrBadTopic, message.ErrBadKind,
// message.ErrBadID).
var (
	ErrMalformed = errors.New("malformed JSON")
	ErrNoData    = errors.New(`"data" is missing`)
	ErrTooBig    = fmt.Errorf("data is larger than %d bytes", MaxData)
	ErrTooMany   = fmt.Errorf("more than %d updates in one body", MaxBatch)
	ErrEmpty     = errors.New("no updates in body")
)

// InputError says which update of a body is wrong and why.
type InputError struct {
	// Index is the update's position in the body, from 0; -1 for the body.
	Index int
	Err   error
}

func (e *InputError) Error() string {
	if e.Index < 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("update %d: %v", e.Index, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// wire is an update as a publisher writes it.
type wire struct {
	Topic string          `json:"topic"`
	Kind  string          `json:"kind"`
	Data  json.RawMessage `json:"data"`
	// Time is optional: when the source produced the update. Default: now.
	Time *time.Time `json:"time"`
	// ID is optional: the publisher's name for the update, which makes a
	// retry of it publish once (message.Update.ID).
	ID *string `json:"id"`
}

// DecodeUpdates reads the ingest formats: one update object, a JSON array
// of them, or newline-delimited objects (NDJSON). Every update is validated
// before any is returned, so a body is taken whole or not at all. Updates
// without a time get now.
func DecodeUpdates(r io.Reader, now time.Time) ([]message.Update, error) {
	br := bufio.NewReader(r)
	first, err := peekNonSpace(br)
	if err == io.EOF {
		return nil, &InputError{Index: -1, Err: ErrEmpty}
	}
	if err != nil {
		return nil, &InputError{Index: -1, Err: err}
	}
	dec := json.NewDecoder(br)
	var raw []wire
	switch first {
	case '[':
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed(-1, err)
		}
		if len(raw) > MaxBatch {
			return nil, &InputError{Index: -1, Err: ErrTooMany}
		}
	case '{':
		for {
			var w wire
			err := dec.Decode(&w)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, malformed(len(raw), err)
			}
			if len(raw) == MaxBatch {
				return nil, &InputError{Index: -1, Err: ErrTooMany}
			}
			raw = append(raw, w)
		}
	default:
		return nil, malformed(-1, fmt.Errorf("body starts with %q, want an object or an array", first))
	}
	if dec.More() {
		return nil, malformed(-1, errors.New("trailing data after the updates"))
	}
	if len(raw) == 0 {
		return nil, &InputError{Index: -1, Err: ErrEmpty}
	}
	out := make([]message.Update, len(raw))
	for i, w := range raw {
		u, err := w.update(now)
		if err != nil {
			return nil, &InputError{Index: i, Err: err}
		}
		out[i] = u
	}
	return out, nil
}

func (w wire) update(now time.Time) (message.Update, error) {
	if err := message.ValidateTopic(w.Topic); err != nil {
		return message.Update{}, fmt.Errorf("%w: %q", err, w.Topic)
	}
	k, err := message.ParseKind(w.Kind)
	if err != nil {
		return message.Update{}, err
	}
	data := bytes.TrimSpace(w.Data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return message.Update{}, ErrNoData
	}
	if len(data) > MaxData {
		return message.Update{}, ErrTooBig
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return message.Update{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	t := now
	if w.Time != nil {
		t = *w.Time
	}
	var id string
	if w.ID != nil {
		// Present but empty is refused rather than read as absent: a
		// publisher that meant to set one would otherwise lose it silently.
		if err := message.ValidateID(*w.ID); err != nil {
			return message.Update{}, err
		}
		id = *w.ID
	}
	return message.Update{ID: id, Topic: w.Topic, Kind: k, Data: buf.Bytes(), Time: t}, nil
}

func malformed(i int, err error) error {
	return &InputError{Index: i, Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b, br.UnreadByte()
	}
}
