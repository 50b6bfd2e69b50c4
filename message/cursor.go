package message

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
)

// Cursor is a position in the stream: just after the message with sequence
// Seq of the stream incarnation Epoch. Epoch changes when the stream is
// recreated, so a cursor from an earlier stream is recognised rather than
// misread as a position in the new one.
type Cursor struct {
	Epoch uint64
	Seq   uint64
}

// ErrBadCursor is returned for a cursor string that cannot be decoded.
var ErrBadCursor = errors.New("cursor cannot be decoded")

const cursorVersion = 1

var cursorEncoding = base64.RawURLEncoding.Strict()

// String returns the opaque form: URL-safe base64 of a version byte, the
// epoch and sequence as uvarints, and a 2-byte checksum so that a mangled
// cursor is refused instead of taken for another position.
func (c Cursor) String() string {
	var raw [1 + 2*binary.MaxVarintLen64 + 2]byte
	var out [(len(raw)*8 + 5) / 6]byte
	return string(c.appendTo(out[:0], raw[:0]))
}

// AppendText appends the opaque form to b without allocating.
func (c Cursor) AppendText(b []byte) []byte {
	var raw [1 + 2*binary.MaxVarintLen64 + 2]byte
	return c.appendTo(b, raw[:0])
}

func (c Cursor) appendTo(dst, raw []byte) []byte {
	raw = append(raw, cursorVersion)
	raw = binary.AppendUvarint(raw, c.Epoch)
	raw = binary.AppendUvarint(raw, c.Seq)
	sum := crc32.ChecksumIEEE(raw)
	raw = append(raw, byte(sum), byte(sum>>8))
	return cursorEncoding.AppendEncode(dst, raw)
}

// ParseCursor decodes the opaque form made by String.
func ParseCursor(s string) (Cursor, error) {
	if len(s) == 0 || len(s) > 64 {
		return Cursor{}, ErrBadCursor
	}
	// The decoder skips CR and LF, and would take set padding bits but
	// for Strict: a cursor with either is not one String made.
	if strings.ContainsAny(s, "\r\n") {
		return Cursor{}, ErrBadCursor
	}
	raw, err := cursorEncoding.DecodeString(s)
	if err != nil || len(raw) < 1+1+1+2 || raw[0] != cursorVersion {
		return Cursor{}, ErrBadCursor
	}
	body, sum := raw[:len(raw)-2], raw[len(raw)-2:]
	want := crc32.ChecksumIEEE(body)
	if sum[0] != byte(want) || sum[1] != byte(want>>8) {
		return Cursor{}, ErrBadCursor
	}
	epoch, n := binary.Uvarint(body[1:])
	if n <= 0 {
		return Cursor{}, ErrBadCursor
	}
	seq, m := binary.Uvarint(body[1+n:])
	if m <= 0 || 1+n+m != len(body) {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{Epoch: epoch, Seq: seq}, nil
}
