package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// The header takes the 7-bit, 16-bit or 64-bit length form by size, at
// each boundary, and the payload follows it untouched.
func TestWSTextLengths(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 0xffff, 0x10000, 70 << 10} {
		payload := bytes.Repeat([]byte{'x'}, n)
		f := WSText(append(make([]byte, WSHeadroom), payload...))
		if f[0] != 0x81 {
			t.Fatalf("n=%d: first byte %#x, want 0x81 (FIN, text)", n, f[0])
		}
		var got, hdr int
		switch l := int(f[1]); {
		case l <= 125:
			got, hdr = l, 2
		case l == 126:
			got, hdr = int(binary.BigEndian.Uint16(f[2:])), 4
		default:
			got, hdr = int(binary.BigEndian.Uint64(f[2:])), 10
		}
		want := 2
		if n > 125 {
			want = 4
		}
		if n > 0xffff {
			want = 10
		}
		if got != n || hdr != want || !bytes.Equal(f[hdr:], payload) {
			t.Fatalf("n=%d: length %d in a %d-byte header (want %d), payload intact %v", n, got, hdr, want, bytes.Equal(f[hdr:], payload))
		}
	}
}
