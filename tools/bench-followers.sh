#!/bin/sh
# Usage (after make build and go build -o bin/nats-server github.com/nats-io/nats-server/v2):
#   tools/bench-followers.sh K
# prints the CPU NATS and the K gateways spent over the run (about 13 s).
# NATS's CPU per update as the gateways following the stream grow: one
# nats-server, K gateways with --nats-url, the bench publishing 20,000
# updates/s into the stream and reading through gateway 1.
set -e
K=$1; D=$(mktemp -d)
bin/nats-server --jetstream --store_dir $D/nats --addr 127.0.0.1 --port 14222 >/dev/null 2>&1 & NP=$!
sleep 1
PIDS=""
for i in $(seq 1 $K); do
  bin/tickerd serve --nats-url nats://127.0.0.1:14222 --feeds none --addr 127.0.0.1:1808$i --admin-addr 127.0.0.1:1918$i --publish-token t --max-conns-per-ip 0 --conn-rate-per-ip 0 --log-level warn >/dev/null 2>&1 & PIDS="$PIDS $!"
done
sleep 2
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
n0=$(cpu $NP); g0=0; for p in $PIDS; do g0=$((g0+$(cpu $p))); done
bin/tickerd bench --url http://127.0.0.1:18081 --admin-url http://127.0.0.1:19181 --nats-url nats://127.0.0.1:14222 --subscribers 10 --topics 1000 --interest one --rate 20000 --warmup 0s --duration 10s --drain 3s --quiet 2>&1 | grep -E "published|read|clean|NOT"
n1=$(cpu $NP); g1=0; for p in $PIDS; do g1=$((g1+$(cpu $p))); done
echo "K=$K gateways: NATS CPU $(( (n1-n0) ))0 ms, all gateways $(( (g1-g0) ))0 ms over the run (~13 s)"
kill $PIDS; wait $PIDS 2>/dev/null || true; kill $NP; wait $NP 2>/dev/null || true; rm -rf $D
