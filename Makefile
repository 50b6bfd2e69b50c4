# Tickerd: `make run` serves the demo on http://localhost:8080; `make test`
# runs every test. Neither installs anything; `make deps` does (CI calls it).

GO      ?= go
GOFLAGS ?=
export GOFLAGS

# The publish token `make run` gives the gateway, so that the README's
# publish example works as pasted. For development only: anyone who can
# reach the port can publish with it. `make run TICKERD_PUBLISH_TOKEN=...`
# or the variable in the environment sets another.
TICKERD_PUBLISH_TOKEN ?= dev-token

.PHONY: cluster cluster-down run build test vet fmt-check tidy-check race fuzz bench-hub bench deps clean es5-check ts-check

# Runs the binary itself rather than `go run`: go run exits 1 after any
# interrupt, whatever the program returned, so Ctrl-C after a clean drain
# would end in "make: *** Error 1". exec leaves no shell between make and
# tickerd.
run: build
	TICKERD_PUBLISH_TOKEN='$(TICKERD_PUBLISH_TOKEN)' exec bin/tickerd serve

build:
	$(GO) build -o bin/tickerd ./cmd/tickerd

# A deployment on loopback: three NATS nodes built from go.mod (JetStream,
# the stream at three replicas), three gateways (the demo feeds on the
# first) and HAProxy round-robin in front on http://localhost:8080
# (CLUSTER_PORT=...). Needs haproxy (`make deps`). Runs in the background;
# `make cluster-down` stops it. Files in bin/cluster/.
cluster:
	GO='$(GO)' TICKERD_PUBLISH_TOKEN='$(TICKERD_PUBLISH_TOKEN)' tools/cluster/cluster.sh up

cluster-down:
	tools/cluster/cluster.sh down

# Everything CI checks: formatting, vet, the race-enabled test suite, and
# a few seconds of fuzzing per fuzz target.
test: fmt-check vet tidy-check es5-check ts-check race fuzz

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# go.mod and go.sum say exactly what the code needs.
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod or go.sum is not tidy (the diff above): run go mod tidy"; exit 1; }

race:
	$(GO) test -race -count=1 -timeout 15m ./...

# Each fuzz target (package:Target) runs for FUZZTIME on top of its seed
# corpus (f.Add and testdata/fuzz/<Target>/), one after another: a few
# seconds each, about 40 s in all on the 2-core reference machine. An
# input that fails is written to the package's testdata/fuzz/<Target>/;
# commit it, and `make race` runs it from then on as a test case.
# FUZZFLAGS passes more (-parallel=1 on a busy machine).
#
# FUZZTIME is a count of inputs, not a duration: with a duration, Go 1.26's
# fuzz coordinator can fail a clean run with "context deadline exceeded"
# when the time runs out under load (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 200000x
FUZZFLAGS ?=
FUZZ_TARGETS = \
	./message:FuzzParseCursor ./message:FuzzCursorRoundTrip \
	./message:FuzzTopic ./message:FuzzCleanPatterns ./message:FuzzCovers \
	./transport/wire:FuzzParseRequest ./transport/wire:FuzzParseCommand \
	./feed:FuzzDecodeUpdates ./feed:FuzzAppendString \
	./transport/ws:FuzzControlFrame
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t#*:}; \
	  echo "$(GO) test -run='^$$' -fuzz='^$$name\$$' -fuzztime=$(FUZZTIME) $(FUZZFLAGS) $$pkg"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $(FUZZFLAGS) $$pkg || exit 1; \
	done

# node_tool TARGET, DIR, MODULE, COMMAND: runs COMMAND when node can load
# MODULE from tools/DIR (installed by `make deps`); without it the target
# skips, as the tests that need a missing program do, and under CI=true
# it fails.
define node_tool
	@if ! (cd tools/$(2) && node -e 'require.resolve("$(3)")') >/dev/null 2>&1; then \
	  if [ "$$CI" = true ]; then \
	    echo "$(1): FAIL: node and $(3) (tools/$(2)/node_modules) are needed under CI=true: run \`make deps\`" >&2; exit 1; \
	  fi; \
	  echo "$(1): SKIP: node or $(3) is not installed: run \`make deps\` to install them"; exit 0; \
	fi; \
	echo "$(4)"; \
	$(4)
endef

# The browser scripts parse as ES5 (old browsers, no build step) and stay
# within their gzipped size budget.
es5-check:
	$(call node_tool,es5-check,es5check,acorn,node tools/es5check/check.js static/ticker.js static/ticker-widget.js)

# The TypeScript declarations (static/ticker.d.ts) fit the client's API:
# tsc --noEmit compiles a typed example that uses all of it.
ts-check:
	$(call node_tool,ts-check,tscheck,typescript,tools/tscheck/node_modules/.bin/tsc -p tools/tscheck)

# The hub's fan-out micro-benchmark: ns and allocations per delivery.
bench-hub:
	$(GO) test -run XXX -bench Fanout -benchmem ./transport/

# The standard load scenarios of docs/benchmarks.md (issue 5), each against
# a `tickerd serve` child process so that the server's CPU and memory are
# its own (the firehose scenario with NATS in a process of its own too,
# bin/nats-server), then the hub micro-benchmark; rewrites docs/benchmarks.md (its
# notes are kept). Takes about five minutes. Server profiles of each
# scenario go to bin/bench-profiles/ (go tool pprof -top bin/tickerd FILE).
# The servers run on CPU 0 and the bench on the others, so that neither
# takes the other's cycles.
BENCH_SERVER_CPUS ?= 0
bench: build
	$(GO) build -o bin/nats-server github.com/nats-io/nats-server/v2
	$(GO) test -run XXX -bench Fanout -benchmem ./transport/ > bin/bench-hub.txt || (cat bin/bench-hub.txt; exit 1)
	$(GO) test -run XXX -bench 'PollBehind/ring/handler' ./transport/poll/ >> bin/bench-hub.txt || (cat bin/bench-hub.txt; exit 1)
	cat bin/bench-hub.txt
	bin/tickerd bench --spawn --server-cpus $(BENCH_SERVER_CPUS) --nats-server bin/nats-server --scenarios standard \
	  --profile-dir bin/bench-profiles --hub-bench bin/bench-hub.txt --markdown docs/benchmarks.md

# System packages and modules the tests need (Debian; run as root): real
# nginx and HAProxy for the proxy tests, Chromium for the browser tests,
# node packages for the ES5 check and the ws client of the WebSocket tests.
# Tests that need a missing one skip outside CI and fail under CI=true.
SYSTEM_PACKAGES = nginx haproxy chromium
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	$(GO) mod download
	npm ci --prefix tools/es5check
	npm ci --prefix tools/wsclient
	npm ci --prefix tools/tscheck

clean:
	rm -rf bin
