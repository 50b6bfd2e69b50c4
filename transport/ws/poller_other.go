//go:build !linux

package ws

// poller is Linux's (poller_linux.go); elsewhere every reader keeps a
// goroutine.
type poller struct{}

func thePoller() *poller { return nil }

func (p *poller) watch(*reader) error { return nil }
func (p *poller) rearm(*reader) error { return nil }
func (p *poller) forget(*reader)      {}
