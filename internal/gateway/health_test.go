package gateway

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tickerd/tickerd/message"
)

// Readiness is the latest outcome of a probe or a publish, but a probe
// that began before a publish failed does not clear that failure.
func TestHealthLatestWord(t *testing.T) {
	h := &health{}
	timeout := context.DeadlineExceeded
	steps := []struct {
		name string
		do   func()
		ok   bool
	}{
		{"start", func() {}, true},
		{"publish timed out", func() { h.published(timeout) }, false},
		{"publish canceled by its caller", func() { h.published(fmt.Errorf("x: %w", context.Canceled)) }, false},
		{"publish of a bad topic", func() { h.published(message.ErrBadTopic) }, false},
		{"probe began before a failed publish", func() {
			mark := h.probing()
			h.published(timeout)
			h.probed(mark, nil)
		}, false},
		{"probe after it", func() { h.probed(h.probing(), nil) }, true},
		{"probe failed", func() { h.probed(h.probing(), errors.New("stream info: timeout")) }, false},
		{"publish succeeded", func() { h.published(nil) }, true},
	}
	for _, s := range steps {
		s.do()
		if ok := h.get() == nil; ok != s.ok {
			t.Fatalf("after %s: ready %v, want %v (%v)", s.name, ok, s.ok, h.get())
		}
	}
}
