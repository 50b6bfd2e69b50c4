package message

import "errors"

// Kind says how an update may be treated on its way to a subscriber.
type Kind uint8

const (
	// State is a value of which only the latest matters (a quote, a
	// scoreboard): pending state updates of one topic may be merged.
	State Kind = iota + 1
	// Event is an occurrence of which every one matters (a goal, a trade
	// print): never dropped, never merged.
	Event
)

// ErrBadKind is returned by ParseKind for anything but "state" or "event".
var ErrBadKind = errors.New(`kind must be "state" or "event"`)

// ParseKind parses the wire form of a kind.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "state":
		return State, nil
	case "event":
		return Event, nil
	}
	return 0, ErrBadKind
}

// String returns the wire form: "state" or "event".
func (k Kind) String() string {
	switch k {
	case State:
		return "state"
	case Event:
		return "event"
	}
	return "unknown"
}
