#!/bin/bash
# fresh_start.sh - acknowledgement latency in the first seconds of a server
# on a new data directory, by two builds, interleaved: what the first
# journal segment costs (docs/journal-format.md#preallocated-segments). Each
# run starts the server on an empty data directory (journal policy batch,
# the defaults) and drives it at RATE orders/s over 64 connections for 5 s
# (open loop, after 1 s of warm-up).
#
#   bench/fresh_start.sh BASE_XTRADING NEW_XTRADING [ROUNDS] [RATE] [OUT.jsonl]
#
# Every loadgen result is one JSON line in OUT (default
# bench/results/DATE-TIME-fresh-start.jsonl, never overwritten) with
# "build" (base, new), "round" and "rate" added, and the server's
# xt_journal_spare_misses_total after the run as "spare_misses"; medians
# are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: bench/fresh_start.sh BASE NEW [ROUNDS] [RATE] [OUT]} NEW=${2:?usage: bench/fresh_start.sh BASE NEW [ROUNDS] [RATE] [OUT]}
ROUNDS=${3:-3}
RATE=${4:-10000}
OUT=${5:-bench/results/$(date +%F-%H%M%S)-fresh-start.jsonl}
SRV=127.0.0.1:19221
# shellcheck source=lib.sh
. bench/lib.sh
bench_begin "$OUT"

for r in $(seq "$ROUNDS"); do
    for b in base new; do
        bin=$BASE
        [ "$b" = new ] && bin=$NEW
        serve_fresh "$bin" "$SRV"
        md=$(grep -o 'md_http=127.0.0.1:[0-9]*' "$DATA/serve.log" | head -1 | cut -d= -f2)
        lg=$("$bin" loadgen --connect "$SRV" --connections 64 --rate "$RATE" --duration 5 --warmup 1 --json)
        misses=$(/usr/bin/python3 -c 'import sys, urllib.request
t = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=5).read().decode()
print(next((l.split()[1] for l in t.splitlines() if l.startswith("xt_journal_spare_misses_total ")), "null"))' "$md")
        stop_pid "$SPID"
        /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(build=sys.argv[2], round=int(sys.argv[3]), rate=int(sys.argv[4]), spare_misses=json.loads(sys.argv[5])); print(json.dumps(d))' \
            "$lg" "$b" "$r" "$RATE" "$misses" >>"$OUT"
    done
    echo "round $r done" >&2
done

/usr/bin/python3 - "$OUT" <<'EOF2'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for b in ("base", "new"):
    rs = [r for r in rows if r["build"] == b]
    med = lambda k: statistics.median(r[k] for r in rs)
    print(f"{b:5} p50 {med('p50_us'):>6.0f} us  p99 {med('p99_us'):>6.0f} us  p99.9 {med('p999_us'):>6.0f} us  "
          f"(p50 runs: {', '.join(str(r['p50_us']) for r in rs)}; spare misses: {[r['spare_misses'] for r in rs]})")
EOF2
