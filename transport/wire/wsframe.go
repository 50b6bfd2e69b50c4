package wire

import "encoding/binary"

// WSHeadroom is the longest header of a WebSocket frame a server sends
// (RFC 6455 §5.2: unmasked, 64-bit length). A message built after this
// much room becomes a whole frame in place, with no copy.
const WSHeadroom = 10

// WSText turns b, a message built after WSHeadroom bytes of room, into one
// unfragmented text frame: it writes the header into the end of the room
// and returns the frame, from the header's first byte.
func WSText(b []byte) []byte {
	n := len(b) - WSHeadroom
	switch {
	case n <= 125:
		b[8], b[9] = 0x81, byte(n)
		return b[8:]
	case n <= 0xffff:
		b[6], b[7] = 0x81, 126
		binary.BigEndian.PutUint16(b[8:], uint16(n))
		return b[6:]
	default:
		b[0], b[1] = 0x81, 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
		return b
	}
}
