#!/bin/bash
# journal_ab.sh - what one on/off journal switch (journal.KEY: preallocate,
# docs/config.md; or one a patched build adds, as the pipelined-commit patch
# of bench/RESULTS.md does) changes end to end, with the same binary:
# rounds interleave the server with it off and on, then the echo baseline.
# KEY may also name a key of another section (SECTION.KEY, e.g.
# server.busy_poll_us), and the environment its two values: OFF and ON
# (default "off" and "on"; the variants keep those names). Each runs
#   - 64 connections, closed loop, pipeline 64 (orders/s: issue 4's figure 1)
#   - 64 connections at 10,000 orders/s, open loop (ack latency)
#   - 1,000 connections at 100,000 orders/s, open loop (issue 4's figure 2)
#
#   [OFF=V1 ON=V2] bench/journal_ab.sh KEY [ROUNDS] [OUT.jsonl]
#
# Needs build/xtrading (make build), or the binary named by XT_BIN. Journal
# policy batch, a fresh data directory each time, the other switches at
# their defaults. Every loadgen result is one JSON line in OUT (default
# bench/results/DATE-TIME-KEY.jsonl, never overwritten) with "target",
# "switch" (journal.KEY or SECTION.KEY) and "variant" ("off", "on" or
# "echo") added, and "value" (the key's value, not for the echo);
# medians are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
KEY=${1:?usage: bench/journal_ab.sh KEY [ROUNDS] [OUT.jsonl]   (KEY: a journal.KEY switch, e.g. preallocate)}
[[ $KEY =~ ^([a-z]+\.)?[a-z_]+$ ]] || { echo "journal_ab.sh: not a key name: $KEY" >&2; exit 2; }
[[ $KEY == *.* ]] || KEY=journal.$KEY
OFF=${OFF:-off}
ON=${ON:-on}
ROUNDS=${2:-3}
OUT=${3:-bench/results/$(date +%F-%H%M%S)-${KEY#journal.}.jsonl}
BIN=${XT_BIN:-build/xtrading}
SRV=127.0.0.1:19211
ECHO=127.0.0.1:19212
# shellcheck source=lib.sh
. bench/lib.sh
bench_begin "$OUT"

record() { # target off|on|echo json
    local v=
    case $2 in off) v=$OFF ;; on) v=$ON ;; esac
    /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[4]); d.update(target=sys.argv[1], switch=sys.argv[2], variant=sys.argv[3]); d.update({"value": sys.argv[5]} if sys.argv[5] else {}); print(json.dumps(d))' \
        "$1" "$KEY" "$2" "$3" "$v" >>"$OUT"
}

run() { # off|on|echo connect-address
    local p=$1 at=$2
    record pipeline64 "$p" "$("$BIN" loadgen --connect "$at" --connections 64 --pipeline 64 --duration 5 --warmup 1 --json)"
    record rate10k "$p" "$("$BIN" loadgen --connect "$at" --connections 64 --rate 10000 --duration 5 --warmup 1 --json)"
    record rate100k-1000 "$p" "$("$BIN" loadgen --connect "$at" --connections 1000 --rate 100000 --duration 6 --warmup 2 --json)"
}

for r in $(seq "$ROUNDS"); do
    for p in off on; do
        v=$OFF
        [ "$p" = on ] && v=$ON
        serve_fresh "$BIN" "$SRV" --set "$KEY=$v" --set md.max_connections=1000
        run "$p" "$SRV"
        stop_pid "$SPID"
    done
    : >"$DATA/echo.log"
    "$BIN" bench echo --listen "$ECHO" >"$DATA/echo.log" 2>&1 &
    EPID=$!
    wait_line "$DATA/echo.log" "listening"
    run echo "$ECHO"
    stop_pid "$EPID"
    echo "round $r done" >&2
done

/usr/bin/python3 - "$OUT" <<'EOF2'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for t in ("pipeline64", "rate10k", "rate100k-1000"):
    for p in ("off", "on", "echo"):
        rs = [r for r in rows if r["target"] == t and r["variant"] == p]
        med = lambda k: statistics.median(r[k] for r in rs)
        print(f"{t:14} {p:4} orders/s {med('orders_per_s'):>9.0f}  p50 {med('p50_us'):>6.0f} us  "
              f"p99 {med('p99_us'):>6.0f} us  p99.9 {med('p999_us'):>6.0f} us  "
              f"(orders/s runs: {', '.join(str(r['orders_per_s']) for r in rs)})")
EOF2
