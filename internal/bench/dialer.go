package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"time"
)

// dialer opens the clients' connections to the server, spreading them over
// several loopback source addresses (127.0.0.2, 127.0.0.3, ...) when the
// server is on loopback, so that no one source address runs out of
// ephemeral ports.
type dialer struct {
	host    string // host:port of the server
	tls     *tls.Config
	sources []net.Addr
	next    atomic.Uint64
	nd      net.Dialer
}

// newDialer returns a dialer for the server at base (http or https URL).
// sources is how many loopback source addresses to use: 0 picks 8 when
// the server is on IPv4 loopback; 1 or a server elsewhere lets the system
// choose.
func newDialer(base *url.URL, sources int) (*dialer, error) {
	host := base.Host
	if base.Port() == "" {
		port := "80"
		if base.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(base.Hostname(), port)
	}
	d := &dialer{host: host, nd: net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1}}
	if base.Scheme == "https" {
		d.tls = &tls.Config{ServerName: base.Hostname()}
	}
	if sources == 0 {
		sources = 8
	}
	if sources > 1 && isLoopback4(base.Hostname()) {
		if sources > 250 {
			return nil, fmt.Errorf("at most 250 source addresses, not %d", sources)
		}
		for i := range sources {
			d.sources = append(d.sources, &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))})
		}
	}
	return d, nil
}

func isLoopback4(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() != nil && ip.IsLoopback()
}

// dial opens a connection to the server from the next source address,
// with TLS when the server's URL is https.
func (d *dialer) dial(ctx context.Context) (net.Conn, error) {
	nd := d.nd
	if len(d.sources) > 0 {
		nd.LocalAddr = d.sources[(d.next.Add(1)-1)%uint64(len(d.sources))]
	}
	c, err := nd.DialContext(ctx, "tcp", d.host)
	if err != nil {
		return nil, err
	}
	if d.tls == nil {
		return c, nil
	}
	tc := tls.Client(c, d.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}
