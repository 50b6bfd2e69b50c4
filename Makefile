# Tickerd: `make run` serves the demo on http://localhost:8080; `make test`
# runs every test. Neither installs anything; `make deps` does (CI calls it).

GO      ?= go
GOFLAGS ?=
export GOFLAGS

.PHONY: run build test vet fmt-check race bench-hub bench deps clean es5-check

run:
	$(GO) run ./cmd/tickerd serve

build:
	$(GO) build -o bin/tickerd ./cmd/tickerd

# Everything CI checks: formatting, vet, and the race-enabled test suite.
test: fmt-check vet es5-check race

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

race:
	$(GO) test -race -count=1 -timeout 15m ./...

# The browser scripts parse as ES5 (old browsers, no build step) and stay
# within their gzipped size budget. Needs `make deps` (acorn, from npm).
es5-check:
	node tools/es5check/check.js static/ticker.js static/ticker-widget.js

# The hub's fan-out micro-benchmark: ns and allocations per delivery.
bench-hub:
	$(GO) test -run XXX -bench Fanout -benchmem ./transport/

# The standard load scenarios of docs/benchmarks.md (issue 5), each against
# a `tickerd serve` child process so that the server's CPU and memory are
# its own, then the hub micro-benchmark; rewrites docs/benchmarks.md (its
# notes are kept). Takes about five minutes. Server profiles of each
# scenario go to bin/bench-profiles/ (go tool pprof -top bin/tickerd FILE).
bench: build
	$(GO) test -run XXX -bench Fanout -benchmem ./transport/ > bin/bench-hub.txt || (cat bin/bench-hub.txt; exit 1)
	cat bin/bench-hub.txt
	bin/tickerd bench --spawn --scenarios standard --profile-dir bin/bench-profiles \
	  --hub-bench bin/bench-hub.txt --markdown docs/benchmarks.md

# System packages and modules the tests need (Debian; run as root): real
# nginx and HAProxy for the proxy tests, Chromium for the browser tests.
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

clean:
	rm -rf bin
