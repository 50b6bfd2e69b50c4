package bench

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// readBuffer is what each subscriber reads its connection into: large
// enough that a backlog is read in few system calls, so that the bench is
// not what limits the server.
const readBuffer = 16 << 10

// maxWSMessage bounds one WebSocket message the bench reads.
const maxWSMessage = 64 << 20

// wsGUID is RFC 6455's key suffix.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// runWS subscribes over a WebSocket and reads until it fails. It speaks
// RFC 6455 itself on a connection of its own, as the SSE and long-poll
// clients speak HTTP: it reads through a readBuffer-sized buffer, hands a
// message that fits in it to the subscriber where it lies, answers pings,
// and costs no allocation per message.
func (s *subscriber) runWS(ctx context.Context, deadline time.Time) error {
	c, done, err := s.connect(ctx, deadline)
	if err != nil {
		return err
	}
	defer done()

	br, err := s.r.upgrade(c, "/v1/ws?topics="+s.topicName())
	if err != nil {
		return err
	}
	var msg []byte // a message in several frames, or larger than br
	text := false  // the message being read is text
	for {
		fin, op, n, err := readFrameHeader(br)
		if err != nil {
			return err
		}
		if op >= 0x8 { // control: ping, pong, close
			b, err := peek(br, n)
			if err != nil {
				return err
			}
			switch op {
			case 0x8:
				return fmt.Errorf("closed by the server: %q", b)
			case 0x9:
				if err := writePong(c, b); err != nil {
					return err
				}
			}
			_, _ = br.Discard(n)
			continue
		}
		if op != 0x0 { // the first frame of a message
			text = op == 0x1
		}
		if fin && len(msg) == 0 && n <= br.Size() {
			b, err := peek(br, n)
			if err != nil {
				return err
			}
			s.wsMessage(text, b)
			_, _ = br.Discard(n)
			continue
		}
		if len(msg)+n > maxWSMessage {
			return fmt.Errorf("a message of over %d bytes", maxWSMessage)
		}
		start := len(msg)
		msg = append(msg, make([]byte, n)...)
		if _, err := io.ReadFull(br, msg[start:]); err != nil {
			return err
		}
		if fin {
			s.wsMessage(text, msg)
			msg = msg[:0]
		}
	}
}

// wsMessage handles one whole WebSocket message: one JSON object per line
// when it is text, as Tickerd sends.
func (s *subscriber) wsMessage(text bool, b []byte) {
	if !text {
		s.malformed++
		return
	}
	s.lines(b, time.Now().UnixNano())
}

// upgrade asks for a WebSocket at path on c and checks the answer.
func (r *runner) upgrade(c net.Conn, path string) (*bufio.Reader, error) {
	var nonce [16]byte
	binary.LittleEndian.PutUint64(nonce[:], rand.Uint64())
	binary.LittleEndian.PutUint64(nonce[8:], rand.Uint64())
	key := base64.StdEncoding.EncodeToString(nonce[:])
	b := make([]byte, 0, 256+len(path))
	b = append(b, "GET "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, r.base.Host...)
	b = append(b, "\r\nUser-Agent: tickerd-bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	b = append(b, key...)
	b = append(b, "\r\n\r\n"...)
	if _, err := c.Write(b); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(c, readBuffer)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, &errStatus{resp.StatusCode, string(body)}
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != wsAccept(key) {
		return nil, fmt.Errorf("bad Sec-WebSocket-Accept %q", got)
	}
	return br, nil
}

// wsAccept is the Sec-WebSocket-Accept that answers key.
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// readFrameHeader reads a server frame's header: unmasked, as RFC 6455
// has servers send.
func readFrameHeader(br *bufio.Reader) (fin bool, op byte, n int, err error) {
	h, err := peek(br, 2)
	if err != nil {
		return false, 0, 0, err
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[1]&0x80 != 0 {
		return false, 0, 0, errors.New("a masked frame from the server")
	}
	size, l := uint64(h[1]&0x7f), 2
	switch size {
	case 126:
		l = 4
	case 127:
		l = 10
	}
	if h, err = peek(br, l); err != nil {
		return false, 0, 0, err
	}
	switch l {
	case 4:
		size = uint64(binary.BigEndian.Uint16(h[2:]))
	case 10:
		size = binary.BigEndian.Uint64(h[2:])
	}
	_, _ = br.Discard(l)
	if size > maxWSMessage {
		return false, 0, 0, fmt.Errorf("a frame of %d bytes", size)
	}
	return fin, op, int(size), nil
}

// peek returns the next n bytes, which must fit br, without consuming them.
func peek(br *bufio.Reader, n int) ([]byte, error) {
	b, err := br.Peek(n)
	if errors.Is(err, io.EOF) && len(b) > 0 {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}

// writePong answers a ping with its payload, masked as a client must.
func writePong(c net.Conn, payload []byte) error {
	b := make([]byte, 0, 6+len(payload))
	b = append(b, 0x8a, 0x80|byte(len(payload)))
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
	b = append(b, mask[:]...)
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	_, err := c.Write(b)
	return err
}
