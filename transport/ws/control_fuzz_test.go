package ws

import (
	"bytes"
	"testing"
)

// FuzzControlFrame holds the reader's own parse of a client's ping or pong
// (controlSize) to what RFC 6455 allows, and its pong to the ping's
// payload, whatever the bytes.
func FuzzControlFrame(f *testing.F) {
	f.Add([]byte{0x89, 0x84, 1, 2, 3, 4, 'a' ^ 1, 'b' ^ 2, 'c' ^ 3, 'd' ^ 4})
	f.Add([]byte{0x8A, 0x80, 9, 9, 9, 9})
	f.Add([]byte{0x09, 0x80, 0, 0, 0, 0})         // not final
	f.Add([]byte{0x89, 0x04, 'p', 'i', 'n', 'g'}) // unmasked
	f.Add([]byte{0x89, 0xFE, 0, 200})             // too long for a control frame
	f.Add([]byte{0x81, 0x81, 1, 2, 3, 4, 'x'})    // text
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 {
			return
		}
		op, size := controlSize(b[:2])
		if size == 0 {
			return
		}
		if b[0]&0x80 == 0 || b[1]&0x80 == 0 || b[0]&0x70 != 0 || op != opPing && op != opPong {
			t.Fatalf("%x taken as a control frame (op %#x)", b[:2], op)
		}
		if n := int(b[1] & 0x7F); n > 125 || size != 6+n {
			t.Fatalf("%x: size %d", b[:2], size)
		}
		if len(b) < size || op != opPing {
			return
		}
		pong := pongFrame(b[:size])
		if pong[0] != 0x8A || int(pong[1]) != size-6 || pong[1]&0x80 != 0 {
			t.Fatalf("pong header %x for ping %x", pong[:2], b[:2])
		}
		want := make([]byte, size-6)
		for i := range want {
			want[i] = b[6+i] ^ b[2+i%4]
		}
		if !bytes.Equal(pong[2:], want) {
			t.Fatalf("pong payload %q, want the ping's %q", pong[2:], want)
		}
	})
}
