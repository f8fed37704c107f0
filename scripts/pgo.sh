#!/usr/bin/env bash
# Regenerates cmd/tapflow/default.pgo, the CPU profile `go build` optimizes
# tapflow with (profile-guided optimization: inlining and layout of the hot
# path). The profile is three replays of the bench corpus, one core each:
# L4 + all L7 printed, L4 printed, and L4 + L7 into the embedded ClickHouse,
# the appliance's own path. Run it after changes to the hot path; a stale
# profile still builds, it only helps less.
# Usage: scripts/pgo.sh [corpus.pcap]   (make pgo)
set -euo pipefail
corpus=${1:-build/bench/corpus.pcap}
out=build/pgo
rm -rf "$out" && mkdir -p "$out"
pin=(); command -v taskset >/dev/null && pin=(taskset -c 0)
# The profile is taken from a build without one, so it does not feed on itself.
go build -pgo=off -o "$out/tapflow" ./cmd/tapflow
run() {
  local name=$1; shift
  echo "pgo: profiling $name"
  "${pin[@]}" "$out/tapflow" replay "$corpus" --workers 1 --cpuprofile "$out/$name.pprof" "$@" >/dev/null
}
run l4l7-print --l7 --print l4,l7
run l4-print --l7=false --print l4
run l4l7-clickhouse --l7 --data-dir "$out/data"
go tool pprof -proto "$out"/*.pprof > cmd/tapflow/default.pgo
rm -rf "$out/data"
echo "pgo: wrote cmd/tapflow/default.pgo ($(stat -c %s cmd/tapflow/default.pgo) bytes); rebuild with make build"
