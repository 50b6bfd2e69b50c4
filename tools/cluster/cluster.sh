#!/usr/bin/env bash
# make cluster / make cluster-down: a Tickerd deployment on loopback for a
# person to watch. Three nats-server processes with JetStream, routed into
# one cluster (the stream at three replicas); three `tickerd serve`
# gateways following it, the demo feeds running on the first; HAProxy
# round-robin in front, with no stickiness, checking each gateway's /readyz.
#
#   tools/cluster/cluster.sh up     build, start everything, print the URL
#   tools/cluster/cluster.sh down   stop everything it started (pid files)
#
# Everything lives in bin/cluster/: configs, logs (*.log), pid files and
# the JetStream stores, which `up` starts afresh. Ports (loopback only):
# CLUSTER_PORT (HAProxy, default 8080), gateways 8081-8083 (admin
# 9181-9183), NATS clients 4222-4224, routes 6222-6224, monitoring
# 8222-8224.
set -euo pipefail
cd "$(dirname "$0")/../.."

GO=${GO:-go}
PORT=${CLUSTER_PORT:-8080}
TOKEN=${TICKERD_PUBLISH_TOKEN:-dev-token}
DIR=bin/cluster
NODES=(1 2 3)

stop() {
  ls "$DIR"/*.pid >/dev/null 2>&1 || { echo "no cluster running (no pid files in $DIR)"; return 0; }
  # HAProxy first, then the gateways together (SIGTERM: they drain, telling
  # clients to reconnect), then NATS; whatever is still up after 15 s is
  # killed.
  stop_group haproxy
  stop_group g1 g2 g3
  stop_group n1 n2 n3
}

stop_group() {
  local pids=() name pid
  for name in "$@"; do
    [ -e "$DIR/$name.pid" ] || continue
    pid=$(cat "$DIR/$name.pid")
    rm -f "$DIR/$name.pid"
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid") && echo "stopping $name (pid $pid)"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# start NAME CMD...: runs CMD in the background, in a session of its own so
# that it outlives make, with its output in NAME.log and its pid in NAME.pid.
start() {
  local name=$1; shift
  setsid "$@" >"$DIR/$name.log" 2>&1 < /dev/null &
  echo $! >"$DIR/$name.pid"
}

# await WHAT URL: waits up to 60 s for URL to answer 2xx.
await() {
  for _ in $(seq 600); do
    curl -fsS -o /dev/null --max-time 1 "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "cluster: $1 did not come up ($2); see $DIR/*.log" >&2
  exit 1
}

up() {
  local haproxy
  haproxy=$(command -v haproxy || ls /usr/sbin/haproxy 2>/dev/null || true)
  if [ -z "$haproxy" ]; then
    echo "cluster: haproxy is not installed: run \`make deps\` (as root) to install it" >&2
    exit 1
  fi
  if ls "$DIR"/*.pid >/dev/null 2>&1; then
    echo "cluster: already running (pid files in $DIR): \`make cluster-down\` first" >&2
    exit 1
  fi
  rm -rf "$DIR" && mkdir -p "$DIR"
  # A start that fails half-way stops what it started.
  trap 'echo "cluster: start failed; stopping what was started (logs stay in $DIR)" >&2; stop >&2' EXIT
  echo "building bin/nats-server (from go.mod) and bin/tickerd"
  $GO build -o bin/nats-server github.com/nats-io/nats-server/v2
  $GO build -o bin/tickerd ./cmd/tickerd

  local urls=()
  for i in "${NODES[@]}"; do urls+=("nats://127.0.0.1:$((4221 + i))"); done
  for i in "${NODES[@]}"; do
    local routes=()
    for j in "${NODES[@]}"; do [ "$j" = "$i" ] || routes+=("nats-route://127.0.0.1:$((6221 + j))"); done
    cat >"$DIR/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((4221 + i))
http: 127.0.0.1:$((8221 + i))
jetstream { store_dir: "$PWD/$DIR/n$i-js" }
cluster {
  name: tickerd
  listen: 127.0.0.1:$((6221 + i))
  routes: [$(IFS=,; echo "${routes[*]}")]
}
CONF
    start "n$i" bin/nats-server -c "$DIR/n$i.conf"
  done
  for i in "${NODES[@]}"; do await "nats-server n$i" "http://127.0.0.1:$((8221 + i))/healthz"; done

  local natsurl
  natsurl=$(IFS=,; echo "${urls[*]}")
  for i in "${NODES[@]}"; do
    local feeds=none
    [ "$i" = 1 ] && feeds=stocks,sports
    start "g$i" env TICKERD_PUBLISH_TOKEN="$TOKEN" bin/tickerd serve \
      --addr "127.0.0.1:$((8080 + i))" --admin-addr "127.0.0.1:$((9180 + i))" \
      --nats-url "$natsurl" --replicas 3 --feeds "$feeds"
  done
  for i in "${NODES[@]}"; do await "gateway g$i" "http://127.0.0.1:$((8080 + i))/readyz"; done

  cat >"$DIR/haproxy.cfg" <<CONF
global
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout tunnel 1h
  option http-server-close
frontend web
  bind 127.0.0.1:$PORT
  default_backend gateways
backend gateways
  balance roundrobin
  option httpchk GET /readyz
  option redispatch
  retries 2
  default-server inter 500ms fall 2 rise 1
  server g1 127.0.0.1:8081 check
  server g2 127.0.0.1:8082 check
  server g3 127.0.0.1:8083 check
CONF
  start haproxy "$haproxy" -db -f "$DIR/haproxy.cfg"
  await "haproxy" "http://127.0.0.1:$PORT/readyz"
  trap - EXIT

  cat <<MSG

Tickerd cluster up: open http://localhost:$PORT (HAProxy, round-robin over 3 gateways)
  gateways   http://127.0.0.1:8081 (demo feeds), :8082, :8083   metrics :9181-:9183/metrics
  NATS       $natsurl   monitoring http://127.0.0.1:8222-8224
  publish    curl -X POST http://localhost:$PORT/v1/publish -H 'Authorization: Bearer $TOKEN' -d '{"topic":"stocks.AAPL","kind":"state","data":{"price":190}}'
  logs       $DIR/*.log
  faults     kill -9 \$(cat $DIR/n1.pid)   (a NATS node)   kill -9 \$(cat $DIR/g2.pid)   (a gateway)
  stop       make cluster-down
MSG
}

case "${1:-}" in
  up) up ;;
  down) stop ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
