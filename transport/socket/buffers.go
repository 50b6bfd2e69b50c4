package socket

import "sync"

// bufs are the message buffers of writes in progress, shared by the
// transports: an idle connection holds none.
var bufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest buffer kept for reuse: a rare huge snapshot
// should not stay in the pool.
const maxPooled = 256 << 10

// Buffer returns a buffer for one message, empty, with room. Hand it to
// TryWrite with the message, or back to Release.
func Buffer() *[]byte {
	bp := bufs.Get().(*[]byte)
	*bp = (*bp)[:0]
	return bp
}

// Release returns a buffer from Buffer to the pool; set *buf to the grown
// slice first, so that its room is kept. A nil buf is nothing to release.
func Release(buf *[]byte) {
	if buf != nil && cap(*buf) <= maxPooled {
		bufs.Put(buf)
	}
}
