#!/bin/bash
# md_state_stall.sh - what a snapshot's market-data state costs market data
# when the REST fills table is full (bench/RESULTS.md).
#
#   bench/md_state_stall.sh [ROUNDS] [OUT.jsonl]
#
# Needs build/xtrading (make build), or the binary named by XT_BIN. Per round
# and per variant, interleaved: a fresh server with 64 accounts (a
# credentials file made here: account 1001..1064, key demoN, secret
# demo-secret-N), rest.fill_accounts=64 and rest.fills=64000 (4.1 million
# fills, 229 MB in the state file, as the defaults' 4096 x 1000),
# journal.fsync=none and no timed snapshots; 30 s of `loadgen` as fast as
# it goes over the 64 accounts fill the table; then 10 s of `loadgen` at
# 20,000 orders/s with `wsbench` (200 connections, depth and trades of the
# four demo symbols) measuring event -> receive, and 5.5 s in one snapshot
# (SIGUSR1), then a second 10 s window with a second snapshot (the state
# buffer is reused, as at every snapshot after the first). Variants:
#   none  no snapshot: the run's own noise
#   new   a snapshot with XT_BIN
#   base  a snapshot with the binary XT_BASE (an older build; only when set)
# One JSON line per window in OUT (default
# bench/results/DATE-TIME-md-state-stall.jsonl, never overwritten): the
# variant, the window (1 or 2), wsbench's p50/p99/p99.9/max, the md
# thread's pause (xt_md_state_last_save_seconds), the helper's time, and
# how many xt_md_lag_seconds samples of the window were over 10 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
OUT=${2:-bench/results/$(date +%F-%H%M%S)-md-state-stall.jsonl}
BIN=${XT_BIN:-build/xtrading}
VARIANTS=${VARIANTS:-"none new${XT_BASE:+ base}"}
SRV=127.0.0.1:19207
MD=127.0.0.1:19208
# shellcheck source=lib.sh
. bench/lib.sh
bench_begin "$OUT"

ACCOUNTS=$(seq -s, 1001 1064)
/usr/bin/python3 - "$DATA/credentials" <<'EOF'
import hashlib, sys
with open(sys.argv[1], "w") as f:
    for a in range(1001, 1065):
        f.write(f"{a} demo{a} {hashlib.sha256(f'demo-secret-{a}'.encode()).hexdigest()}\n")
EOF

metrics() { # FILE: the md metrics this script reads
    /usr/bin/python3 - "$MD" >"$1" <<'EOF'
import sys, urllib.request
text = urllib.request.urlopen(f"http://{sys.argv[1]}/metrics", timeout=5).read().decode()
print("\n".join(l for l in text.splitlines() if l.startswith(("xt_md_lag_seconds_bucket", "xt_md_state_last"))))
EOF
}

window() { # variant window spid: one measured window, a snapshot 5.5 s in unless none
    metrics "$DATA/before"
    "$BIN" wsbench --connect "$MD" --connections 200 --duration 9 --warmup 1 --json >"$DATA/ws.json" &
    local wpid=$!
    "$BIN" loadgen --connect "$SRV" --connections 64 --accounts "$ACCOUNTS" --rate 20000 --duration 10 \
        --warmup 0 --json >"$DATA/lg.json" &
    local lpid=$!
    sleep 5.5
    [ "$1" != none ] && kill -USR1 "$3"
    wait "$lpid" "$wpid"
    sleep 1
    metrics "$DATA/after"
    /usr/bin/python3 - "$DATA" "$1" "$2" >>"$OUT" <<'EOF'
import json, sys
d, variant, window = sys.argv[1], sys.argv[2], int(sys.argv[3])
def parse(p):
    buckets, other = {}, {}
    for line in open(p):
        k, v = line.rsplit(" ", 1)
        if k.startswith("xt_md_lag_seconds_bucket"):
            buckets[float(k.split('le="')[1].split('"')[0].replace("+Inf", "inf"))] = float(v)
        else:
            other[k] = float(v)
    return buckets, other
b0, _ = parse(f"{d}/before")
b1, o = parse(f"{d}/after")
new = {le: b1[le] - b0.get(le, 0) for le in b1}
ws, lg = json.load(open(f"{d}/ws.json")), json.load(open(f"{d}/lg.json"))
print(json.dumps({"variant": variant, "window": window, "ws_p50_ms": ws["p50_ms"], "ws_p99_ms": ws["p99_ms"],
                  "ws_p999_ms": ws["p999_ms"], "ws_max_ms": ws.get("max_ms"), "delivered_per_s": ws["delivered_per_s"],
                  "ws_errors": ws["errors"], "md_pause_s": o.get("xt_md_state_last_save_seconds"),
                  "helper_s": o.get("xt_md_state_last_write_seconds"), "state_bytes": o.get("xt_md_state_last_save_bytes"),
                  "md_lag_over_10ms": new[float("inf")] - new[0.01], "md_lag_samples": new[float("inf")],
                  "orders_p99_us": lg["p99_us"], "orders_max_us": lg["max_us"]}))
EOF
}

run() { # variant
    local bin=$BIN
    [ "$1" = base ] && bin=$XT_BASE
    serve_fresh_md "$bin" "$SRV" "$MD" --credentials "$DATA/credentials" --fsync none \
        --set rest.fills=64000 --set rest.fill_accounts=64 --set journal.snapshot_secs=0
    "$BIN" loadgen --connect "$SRV" --connections 64 --accounts "$ACCOUNTS" --rate 0 --pipeline 16 --duration 30 \
        --json >/dev/null
    window "$1" 1 "$SPID"
    window "$1" 2 "$SPID"
    stop_pid "$SPID"
}

for r in $(seq "$ROUNDS"); do
    for v in $VARIANTS; do
        run "$v"
        echo "round $r $v done" >&2
    done
done

/usr/bin/python3 - "$OUT" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for v in ("none", "new", "base"):
    for w in (1, 2):
        rs = [r for r in rows if r["variant"] == v and r["window"] == w]
        if not rs:
            continue
        med = lambda k: statistics.median(r[k] for r in rs if r[k] is not None)
        print(f"{v} window {w}: median of {len(rs)}: ws p50 {med('ws_p50_ms')} ms, p99 {med('ws_p99_ms')} ms, "
              f"p99.9 {med('ws_p999_ms')} ms, max {med('ws_max_ms')} ms; md lag > 10 ms: {med('md_lag_over_10ms')}; "
              f"md pause {med('md_pause_s') * 1e3:.2f} ms")
EOF
