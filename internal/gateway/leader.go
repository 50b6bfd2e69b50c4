package gateway

import "github.com/nats-io/nats.go"

// followNewLeaders makes the hub follow the stream again the moment NATS
// elects a new leader for it. The stream's consumer lived with the old
// leader; left alone, the client notices only after missed heartbeats and
// its own retries, seconds after the stream can be read again. NATS
// publishes the advisory only in a cluster, where leaders change.
func (g *Gateway) followNewLeaders() error {
	name := g.stream.Name()
	_, err := g.nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."+name, func(*nats.Msg) {
		g.cfg.Logger.Warn("the stream has a new leader; following it again from where it was", "stream", name)
		g.stream.Refollow()
	})
	return err
}
