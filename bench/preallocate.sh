#!/bin/bash
# preallocate.sh - what preallocated journal segments (journal.preallocate,
# docs/journal-format.md#preallocated-segments) change end to end, with the
# same binary: rounds interleave the server with it off and on, then the
# echo baseline; each runs
#   - 64 connections, closed loop, pipeline 64 (orders/s: issue 4's figure 1)
#   - 64 connections at 10,000 orders/s, open loop (ack latency)
#   - 1,000 connections at 100,000 orders/s, open loop (issue 4's figure 2)
#
#   bench/preallocate.sh [ROUNDS] [OUT.jsonl]
#
# Needs build/xtrading (make build), or the binary named by XT_BIN. Journal
# policy batch, a fresh data directory each time. Every loadgen result is
# one JSON line in OUT (default bench/results/DATE-TIME-preallocate.jsonl,
# never overwritten) with "target" and "preallocate" added; medians are
# printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
OUT=${2:-bench/results/$(date +%F-%H%M%S)-preallocate.jsonl}
BIN=${XT_BIN:-build/xtrading}
SRV=127.0.0.1:19211
ECHO=127.0.0.1:19212
# shellcheck source=lib.sh
. bench/lib.sh
bench_begin "$OUT"

record() { # target preallocate json
    /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[3]); d["target"]=sys.argv[1]; d["preallocate"]=sys.argv[2]; print(json.dumps(d))' \
        "$1" "$2" "$3" >>"$OUT"
}

run() { # preallocate connect-address
    local p=$1 at=$2
    record pipeline64 "$p" "$("$BIN" loadgen --connect "$at" --connections 64 --pipeline 64 --duration 5 --warmup 1 --json)"
    record rate10k "$p" "$("$BIN" loadgen --connect "$at" --connections 64 --rate 10000 --duration 5 --warmup 1 --json)"
    record rate100k-1000 "$p" "$("$BIN" loadgen --connect "$at" --connections 1000 --rate 100000 --duration 6 --warmup 2 --json)"
}

for r in $(seq "$ROUNDS"); do
    for p in off on; do
        rm -rf "$DATA/srv"
        : >"$DATA/serve.log" # emptied first: wait_line must not find the last run's line
        "$BIN" serve --data "$DATA/srv" --listen "$SRV" --md-listen 127.0.0.1:0 --md-tcp-listen off \
            --set journal.preallocate="$p" --set md.max_connections=1000 >"$DATA/serve.log" 2>&1 &
        SPID=$!
        wait_line "$DATA/serve.log" "ready:"
        run "$p" "$SRV"
        kill "$SPID"
        wait "$SPID" || true
    done
    : >"$DATA/echo.log"
    "$BIN" bench echo --listen "$ECHO" >"$DATA/echo.log" 2>&1 &
    EPID=$!
    wait_line "$DATA/echo.log" "listening"
    run echo "$ECHO"
    kill "$EPID"
    wait "$EPID" || true
    echo "round $r done" >&2
done

/usr/bin/python3 - "$OUT" <<'EOF2'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for t in ("pipeline64", "rate10k", "rate100k-1000"):
    for p in ("off", "on", "echo"):
        rs = [r for r in rows if r["target"] == t and r["preallocate"] == p]
        med = lambda k: statistics.median(r[k] for r in rs)
        print(f"{t:14} {p:4} orders/s {med('orders_per_s'):>9.0f}  p50 {med('p50_us'):>6.0f} us  "
              f"p99 {med('p99_us'):>6.0f} us  p99.9 {med('p999_us'):>6.0f} us  "
              f"(orders/s runs: {', '.join(str(r['orders_per_s']) for r in rs)})")
EOF2
