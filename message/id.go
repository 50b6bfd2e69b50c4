package message

import (
	"errors"
	"fmt"
)

// MaxIDLen is the longest update ID, in bytes.
const MaxIDLen = 128

// ErrBadID is what ValidateID's errors wrap.
var ErrBadID = errors.New("bad id")

// ValidateID reports whether id can name an update for deduplication: 1 to
// 128 bytes of printable ASCII without spaces. The stream carries it in a
// NATS header, where a line break would end the header and anything else
// outside that range would be read differently by different clients.
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: id is empty", ErrBadID)
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("%w: id is longer than %d bytes", ErrBadID, MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: id may hold only printable ASCII without spaces, not %q at byte %d", ErrBadID, c, i)
		}
	}
	return nil
}
