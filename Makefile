# tapflow: `make demo` runs the appliance on a bundled capture; `make test` runs every test.
SHELL := /bin/bash
GO    ?= go
BIN   := build/tapflow
DEMO_DIR  ?= build/demo
DEMO_ADDR ?= 127.0.0.1:20416
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all build demo test test-go lint bench-smoke deps-test deps-demo clean

all: build

## build: the tapflow binary, optimized with the committed CPU profile cmd/tapflow/default.pgo (PGO).
build:
	$(GO) build -o $(BIN) ./cmd/tapflow

deps-demo:
	scripts/deps.sh demo

deps-test:
	scripts/deps.sh test

## demo: install what is missing, build, start ClickHouse, replay the bundled capture, serve the console.
demo: deps-demo build
	$(BIN) appliance --pcap deploy/demo/demo.pcap --data-dir $(DEMO_DIR) --listen $(DEMO_ADDR) --rebase-time

## test: vet, format check, all tests with the race detector, and one pass of every benchmark.
test: deps-test lint test-go bench-smoke

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_bpfe[lb].go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Tests build without the profile: PGO changes no behaviour, and compiling
# every package a second time with it would only slow the test run.
test-go:
	$(GO) test -pgo=off -race -count=1 -timeout 25m ./...

bench-smoke:
	$(GO) test -pgo=off -run '^$$' -bench . -benchtime=1x -count=1 ./...

clean:
	rm -rf build

## Benchmarks against peer tools (bench/README.md). Not part of `make test`.
.PHONY: bench-corpus bench bench-live pgo

## bench-corpus: build the deterministic corpus build/bench/corpus.pcap (skipped when its stamp matches).
bench-corpus:
	$(GO) run ./bench/cmd/corpus

## bench: install missing peers, then tapflow vs tcpdump/softflowd/pmacctd/argus/ndpiReader on one core, plus scaling tables.
bench: build bench-corpus
	scripts/deps.sh bench
	$(GO) build -o build/runbench ./bench/cmd/runbench
	build/runbench offline

## pgo: profile three corpus replays and rewrite cmd/tapflow/default.pgo (scripts/pgo.sh).
pgo: bench-corpus
	scripts/deps.sh demo
	scripts/pgo.sh

## bench-live: tcpreplay a corpus slice into a veth between two netns; tapflow vs tcpdump vs softflowd (root).
bench-live: build bench-corpus
	scripts/deps.sh bench
	$(GO) build -o build/runbench ./bench/cmd/runbench
	build/runbench live
