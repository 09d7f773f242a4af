#!/bin/bash
# order_entry.sh - the order-entry benchmarks of bench/RESULTS.md, in one run.
#
#   bench/order_entry.sh [ROUNDS] [OUT.jsonl]
#
# Needs build/xtrading (make build), or the binary named by XT_BIN. For each round and each pipeline depth,
# the server (fresh data directory each time, journal policy batch) and then
# the echo baseline are driven by the same loadgen command: 64 connections,
# closed loop. Then, per round, 1,000 connections at 100,000 orders/s (open
# loop) against the server and then the echo baseline, and
# 10,000 idle sessions with the server's VmRSS before and after. Every
# loadgen result is one JSON line in OUT (default bench/results/DATE-TIME-order-entry.jsonl, never overwritten)
# with "target" and "pipeline_depth" added; the summary is printed at the end.
# Environment: XT_BIN (the binary), PIPELINES (depths, default "16 64 128 256").
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
OUT=${2:-bench/results/$(date +%F-%H%M%S)-order-entry.jsonl}
BIN=${XT_BIN:-build/xtrading}
SRV=127.0.0.1:19201
ECHO=127.0.0.1:19202
PIPELINES=${PIPELINES:-"16 64 128 256"}
# shellcheck source=lib.sh
. bench/lib.sh
bench_begin "$OUT"

start_server() { # [serve args...]
    # 10,000 idle sessions over the 4 demo accounts: past the default per-account limit of 256;
    # few market-data connections, so that an open-file limit of 20,000 leaves order entry the rest
    serve_fresh "$BIN" "$SRV" --set server.max_sessions_per_account=65536 --set md.max_connections=1000 "$@"
}

record() { # target pipeline json
    /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[3]); d["target"]=sys.argv[1]; d["pipeline_depth"]=int(sys.argv[2]); print(json.dumps(d))' \
        "$1" "$2" "$3" >>"$OUT"
}

for r in $(seq "$ROUNDS"); do
    for p in $PIPELINES; do
        start_server
        record server "$p" "$("$BIN" loadgen --connect "$SRV" --connections 64 --pipeline "$p" --duration 5 --warmup 1 --json)"
        stop_pid "$SPID"
        : >"$DATA/echo.log" # emptied first: wait_line must not find the last run's line
        "$BIN" bench echo --listen "$ECHO" >"$DATA/echo.log" 2>&1 &
        EPID=$!
        wait_line "$DATA/echo.log" "listening"
        record echo "$p" "$("$BIN" loadgen --connect "$ECHO" --connections 64 --pipeline "$p" --duration 5 --warmup 1 --json)"
        stop_pid "$EPID"
        echo "round $r pipeline $p done" >&2
    done
done

for r in $(seq "$ROUNDS"); do
    start_server
    record server-1000-100k 0 "$("$BIN" loadgen --connect "$SRV" --connections 1000 --rate 100000 --duration 8 --warmup 2 --json)"
    stop_pid "$SPID"
    : >"$DATA/echo.log" # emptied first: wait_line must not find the last run's line
    "$BIN" bench echo --listen "$ECHO" >"$DATA/echo.log" 2>&1 &
    EPID=$!
    wait_line "$DATA/echo.log" "listening"
    record echo-1000-100k 0 "$("$BIN" loadgen --connect "$ECHO" --connections 1000 --rate 100000 --duration 8 --warmup 2 --json)"
    stop_pid "$EPID"
done

# prefault off: the sessions' tables then grow with the sessions, as they are counted here
start_server --set engine.prefault=off
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
before=$(rss "$SPID")
: >"$DATA/idle.log" # emptied first: wait_line must not find the last run's line
"$BIN" loadgen --connect "$SRV" --connections 10000 --idle --duration 20 >"$DATA/idle.log" 2>&1 &
LPID=$!
wait_line "$DATA/idle.log" "idle:"
after=$(rss "$SPID")
stop_pid "$LPID"
stop_pid "$SPID"
echo "{\"target\": \"idle-10000\", \"rss_before_kb\": $before, \"rss_after_kb\": $after, \"kb_per_session\": $(((after - before) * 10 / 10000))e-1}" >>"$OUT"

/usr/bin/python3 - "$OUT" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
deps = sorted({r["pipeline_depth"] for r in rows if r.get("target") == "server"})
for p in deps:
    s = [r["orders_per_s"] for r in rows if r.get("target") == "server" and r["pipeline_depth"] == p]
    e = [r["orders_per_s"] for r in rows if r.get("target") == "echo" and r["pipeline_depth"] == p]
    s99 = [r["p99_us"] for r in rows if r.get("target") == "server" and r["pipeline_depth"] == p]
    ratios = [a / b for a, b in zip(s, e)]
    # requests outstanding on average (Little's law; 64 x p when the window was kept full)
    win = [r["orders_per_s"] * r["mean_us"] / 1e6 for r in rows
           if r.get("target") == "server" and r["pipeline_depth"] == p and "mean_us" in r]
    kept = f", outstanding {statistics.median(win):.0f} of {64 * p}" if win else ""
    print(f"64 conns, pipeline {p}: server {statistics.median(s)/1e6:.2f} M/s (p99 {statistics.median(s99)} us{kept}), "
          f"echo {statistics.median(e)/1e6:.2f} M/s, ratio {statistics.median(ratios):.2f} "
          f"(runs: {', '.join(f'{x/1e3:.0f}k' for x in s)})")
for t in ("server-1000-100k", "echo-1000-100k"):
    rs = [r for r in rows if r.get("target") == t]
    if rs:
        med = lambda k: statistics.median(r[k] for r in rs)
        print(f"{t}: median of {len(rs)}: p50 {med('p50_us')} us, p99 {med('p99_us')} us, "
              f"p99.9 {med('p999_us')} us, late sends {med('late')}")
for r in rows:
    if r.get("target") == "idle-10000":
        print(f"10,000 idle sessions: {r['kb_per_session']} KB per session")
EOF
