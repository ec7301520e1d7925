# camrelay: `make run` starts the gateway with a demo camera on :8080,
# `make test` installs what the tests need and runs all of them.

GO       ?= go
PKG      := github.com/camrelay/camrelay
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
ARGS     ?= --demo

.PHONY: help run build test deps lint fmt bench soak fuzz dist clean firmware-test screenshot

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

run: ## build and start the gateway with the demo camera (ARGS="--config camrelay.yaml" for yours)
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/camrelay $(ARGS)

build: ## build bin/camrelay
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/camrelay ./cmd/camrelay

deps: ## install what the tests need (Debian packages, Go modules)
	@scripts/deps.sh

lint: ## go vet (also for 32-bit ARM, the Raspberry Pi builds) and the gofmt check
	$(GO) vet ./...
	GOOS=linux GOARCH=arm GOARM=7 $(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

fmt: ## format the Go code
	gofmt -w $$(git ls-files '*.go')

firmware-test: ## the firmware's host checks: core unit tests over testdata/camlink, the sketch for every board and core
	$(MAKE) -C firmware test

test: deps lint firmware-test ## run every test (installs what they need first); packages one at a time, so timing tests do not compete with the browser tests
	$(GO) test -race -count=1 -p 1 -timeout 15m ./...

bench: ## run the benchmarks: the relay against a raw-socket ceiling, and the Go benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(GO) run ./cmd/camrelay-bench -out docs/BENCHMARKS.md.new
	@echo "report in docs/BENCHMARKS.md.new (docs/BENCHMARKS.md holds the committed run and its summary)"

screenshot: ## retake docs/screenshot.png, the README's picture of the page, in headless Chromium
	CAMRELAY_SCREENSHOT=1 $(GO) test -count=1 -run '^TestPageCameraViewPaintsAtTheSourceRate$$' ./cmd/camrelay

soak: ## the soak test for DURATION (default 10m): 10 cameras reconnecting, viewers coming and going; resources back to baseline
	CAMRELAY_SOAK=$(or $(DURATION),10m) $(GO) test -count=1 -run '^TestSoak$$' -timeout 24h -v ./cmd/camrelay

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@scripts/fuzz.sh $(or $(FUZZTIME),30s)

dist: ## static release binaries for linux amd64, arm64, armv6, armv7 with checksums
	@VERSION=$(VERSION) COMMIT=$(COMMIT) DATE=$(DATE) scripts/dist.sh

clean: ## remove build output
	rm -rf bin dist
	$(MAKE) -C firmware clean
