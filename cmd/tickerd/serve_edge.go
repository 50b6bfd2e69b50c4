package main

import (
	"flag"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/internal/gateway"
)

// edgeFlags are the flags of the connection edge: the budget, the send
// buffer, the URL cap and the per-client caps.
func edgeFlags(fs *flag.FlagSet, cfg *gateway.Config) {
	fs.IntVar(&cfg.MaxConns, "max-conns", 0, "connection budget: most open client connections, past which requests get 503 overloaded; 0 derives it from the open-file limit (ulimit -n less a tenth, at least 256, less 80: 688 of 1024)")
	fs.IntVar(&cfg.SendBuffer, "send-buffer", gateway.DefaultSendBuffer, "kernel send buffer (SO_SNDBUF) of each connection, bytes, so a stalled client is found by its queue; 0: the kernel's own")
	fs.IntVar(&cfg.MaxURL, "max-url", api.DefaultMaxURL, "longest request URL (path and query), bytes; longer gets 414 uri_too_long")
	fs.IntVar(&cfg.Clients.MaxConns, "max-conns-per-ip", api.DefaultMaxConnsPerIP, "most connections one client IP (IPv6: /64) holds, streams included; past it 429 rate_limited; 0: no cap")
	fs.Float64Var(&cfg.Clients.ConnRate, "conn-rate-per-ip", api.DefaultConnRatePerIP, "most subscription, snapshot and topic-list requests per second from one client IP, in bursts up to --max-conns-per-ip; past it 429 rate_limited; 0: no cap")
	fs.Func("trusted-proxies", "comma-separated CIDRs of proxies whose X-Forwarded-For or Forwarded names the client for the per-IP caps, e.g. 10.0.0.0/8; empty trusts none", func(s string) error {
		ps, err := api.ParseProxies(s)
		cfg.Clients.TrustedProxies = ps
		return err
	})
}

// offWhenZero turns off what the command line turns off with 0, where
// the Config reads zero as the default and a negative value as off.
func offWhenZero(cfg *gateway.Config) {
	if cfg.SendBuffer == 0 {
		cfg.SendBuffer = -1
	}
	if cfg.Clients.MaxConns == 0 {
		cfg.Clients.MaxConns = -1
	}
	if cfg.Clients.ConnRate == 0 {
		cfg.Clients.ConnRate = -1
	}
}
