#!/bin/bash
# snapshot_stall.sh - what one snapshot costs order entry (bench/RESULTS.md).
#
#   bench/snapshot_stall.sh [ROUNDS] [OUT.jsonl]
#
# Needs build/xtrading (make build), or the binary named by XT_BIN. Per round
# and per variant, interleaved: a fresh server (journal.snapshot_secs=0),
# `loadgen --connections 64 --rate 50000 --duration 8 --warmup 1` (open
# loop), and 5 s into it one snapshot (SIGUSR1); then the server's
# xt_journal_snapshot_fork_seconds is read from /metrics. Variants:
#   none  no snapshot (engine.prefault=on): the run's own noise
#   on    a snapshot, engine.prefault=on (the default)
#   off   a snapshot, engine.prefault=off
#   base  a snapshot, with the binary XT_BASE (an older build to compare
#         against; only when XT_BASE is set; fork time not read)
# A lazy variant (off, base) that follows a prefaulted one (none, on) first
# gets a warm-up run, not recorded: a lazy server with the same load, no
# snapshot. On this VM (virtio-balloon free page reporting) the memory a
# prefaulted server frees at exit goes back to the host, and the next
# server that faults its pages in while trading pays for the host's faults
# too: measured, 28-36 ms max instead of 9-10 ms for the same build.
# Every loadgen result is one JSON line in OUT (default
# bench/results/DATE-TIME-snapshot-stall.jsonl, never overwritten) with
# "variant" and "fork_seconds" added; medians are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
OUT=${2:-bench/results/$(date +%F-%H%M%S)-snapshot-stall.jsonl}
BIN=${XT_BIN:-build/xtrading}
VARIANTS=${VARIANTS:-"none on off${XT_BASE:+ base}"}
SRV=127.0.0.1:19205
MD=127.0.0.1:19206
# shellcheck source=lib.sh
. bench/lib.sh
bench_begin "$OUT"

fork_seconds() { # the gauge from /metrics, or null
    /usr/bin/python3 - "$MD" <<'EOF' || echo null
import sys, urllib.request
text = urllib.request.urlopen(f"http://{sys.argv[1]}/metrics", timeout=5).read().decode()
v = [l.split()[1] for l in text.splitlines() if l.startswith("xt_journal_snapshot_fork_seconds ")]
print(v[0] if v else "null")
EOF
}

run() { # variant
    local bin=$BIN prefault=on
    case $1 in off) prefault=off ;; base) bin=$XT_BASE ;; esac
    local sets=(--set journal.snapshot_secs=0)
    [ "$1" != base ] && sets+=(--set "engine.prefault=$prefault")
    serve_fresh_md "$bin" "$SRV" "$MD" "${sets[@]}"
    "$BIN" loadgen --connect "$SRV" --connections 64 --rate 50000 --duration 8 --warmup 1 --json >"$DATA/lg.json" &
    local lpid=$!
    sleep 5
    [ "$1" != none ] && kill -USR1 "$SPID"
    wait "$lpid"
    local fork=null
    case $1 in on | off) fork=$(fork_seconds) ;; esac
    stop_pid "$SPID"
    /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["variant"]=sys.argv[2]; d["fork_seconds"]=json.loads(sys.argv[3]); print(json.dumps(d))' \
        "$DATA/lg.json" "$1" "$fork" >>"$OUT"
}

warm_up() { # a lazy server under the same load: its first touches take the host's faults
    serve_fresh_md "$BIN" "$SRV" "$MD" --set engine.prefault=off
    "$BIN" loadgen --connect "$SRV" --connections 64 --rate 50000 --duration 4 --warmup 0 --json >/dev/null
    stop_pid "$SPID"
}

last=lazy
for r in $(seq "$ROUNDS"); do
    for v in $VARIANTS; do
        case $v in off | base) [ "$last" = prefault ] && warm_up; last=lazy ;; *) last=prefault ;; esac
        run "$v"
        echo "round $r $v done" >&2
    done
done

/usr/bin/python3 - "$OUT" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for v in ("none", "on", "off", "base"):
    rs = [r for r in rows if r["variant"] == v]
    if not rs:
        continue
    med = lambda k: statistics.median(r[k] for r in rs)
    forks = [r["fork_seconds"] for r in rs if r.get("fork_seconds") is not None]
    fk = f", fork {statistics.median(forks) * 1e3:.2f} ms" if forks else ""
    print(f"{v}: median of {len(rs)}: p50 {med('p50_us')} us, p99 {med('p99_us')} us, p99.9 {med('p999_us')} us, "
          f"max {med('max_us')} us{fk} (max per run: {', '.join(str(r['max_us']) for r in rs)})")
EOF
