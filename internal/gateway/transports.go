package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/poll"
	"github.com/tickerd/tickerd/transport/sse"
	"github.com/tickerd/tickerd/transport/ws"
)

// Transport is one way subscribers connect.
type Transport struct {
	// Name is what --transports and the hello call it.
	Name string
	// Path is the endpoint it is served on.
	Path string
	// CrossOrigin: browsers read it with fetch or EventSource, so it
	// answers CORS. A WebSocket checks the origin itself.
	CrossOrigin bool
	// New builds its handler from the gateway's configuration.
	New func(hub *transport.Hub, cfg Config) http.Handler
}

// Transports is the table of transports: the router mounts, --transports
// picks from, and the docs describe (TestTransportsDocumented) these.
// Adding a transport is a package under transport/ whose Conn frames a
// session's messages, and a row here.
var Transports = []Transport{
	{Name: "ws", Path: "/v1/ws", New: func(hub *transport.Hub, cfg Config) http.Handler {
		o := cfg.WebSocket
		// Origins with a scheme are matched with it, as CORS does.
		o.OriginPatterns = cfg.AllowedOrigins
		return ws.New(hub, o)
	}},
	{Name: "sse", Path: "/v1/sse", CrossOrigin: true, New: func(hub *transport.Hub, cfg Config) http.Handler {
		return sse.New(hub, cfg.SSE)
	}},
	{Name: "poll", Path: "/v1/poll", CrossOrigin: true, New: func(hub *transport.Hub, cfg Config) http.Handler {
		o := cfg.Poll
		o.Logger = cfg.Logger
		return poll.New(hub, o)
	}},
}

// TransportNames are the names of Transports, in order.
func TransportNames() []string {
	names := make([]string, len(Transports))
	for i, t := range Transports {
		names[i] = t.Name
	}
	return names
}

// CheckTransports reports a name that is not in Transports.
func CheckTransports(names []string) error {
	for _, n := range names {
		if !slices.Contains(TransportNames(), n) {
			return fmt.Errorf("unknown transport %q (known: %s)", n, strings.Join(TransportNames(), ", "))
		}
	}
	return nil
}

// endpoints builds the handlers of the named transports (every one when
// names is empty).
func endpoints(hub *transport.Hub, cfg Config) ([]api.Endpoint, error) {
	if err := CheckTransports(cfg.Transports); err != nil {
		return nil, err
	}
	var out []api.Endpoint
	for _, t := range Transports {
		if len(cfg.Transports) == 0 || slices.Contains(cfg.Transports, t.Name) {
			out = append(out, api.Endpoint{Path: t.Path, CrossOrigin: t.CrossOrigin, Handler: t.New(hub, cfg)})
		}
	}
	return out, nil
}
