#!/bin/bash
# thread_cpu.sh - where the server's CPU goes, thread by thread, with one
# on/off journal switch (journal.KEY, docs/config.md), same binary: rounds
# interleave the server with it off and on, each a fresh data directory,
# driven by `loadgen` at 64 connections x pipeline 64 (closed loop) for 6 s
# after a 1 s warm-up; each thread's CPU (utime + stime from
# /proc/PID/task/TID/stat) is read 2 s into the run and 4 s later.
#
#   bench/thread_cpu.sh KEY [ROUNDS] [OUT.jsonl]
#
# Needs build/xtrading (make build), or the binary named by XT_BIN. One
# JSON line per run in OUT (default bench/results/DATE-TIME-threads-KEY.jsonl,
# never overwritten): loadgen's result with "switch", "variant" and
# "threads" added, the last {thread name: percent of one core} ("gateway"
# for the main thread); a table at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
KEY=${1:?usage: bench/thread_cpu.sh KEY [ROUNDS] [OUT.jsonl]   (KEY: a journal.KEY switch, e.g. drop_cache)}
[[ $KEY =~ ^[a-z_]+$ ]] || { echo "thread_cpu.sh: not a key name: $KEY" >&2; exit 2; }
ROUNDS=${2:-3}
OUT=${3:-bench/results/$(date +%F-%H%M%S)-threads-$KEY.jsonl}
BIN=${XT_BIN:-build/xtrading}
SRV=127.0.0.1:19203
# shellcheck source=lib.sh
. bench/lib.sh
bench_begin "$OUT"

ticks() { # PID: "tid name ticks" per thread
    local t
    for t in /proc/"$1"/task/*; do
        echo "${t##*/} $(cat "$t/comm") $(awk '{print $14 + $15}' "$t/stat")"
    done
}

for r in $(seq "$ROUNDS"); do
    for v in off on; do
        serve_fresh "$BIN" "$SRV" --set "journal.$KEY=$v"
        "$BIN" loadgen --connect "$SRV" --connections 64 --pipeline 64 --duration 6 --warmup 1 --json >"$DATA/lg.json" &
        LPID=$!
        sleep 2
        ticks "$SPID" >"$DATA/a"
        sleep 4
        ticks "$SPID" >"$DATA/b"
        wait "$LPID"
        stop_pid "$SPID"
        /usr/bin/python3 - "$DATA" "$SPID" "$KEY" "$v" "$(getconf CLK_TCK)" >>"$OUT" <<'PY'
import json, sys
data, pid, key, variant, hz = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def read(f):
    return {t: (n, int(k)) for t, n, k in (ln.split() for ln in open(f"{data}/{f}"))}
a, b = read("a"), read("b")
threads = {}
for t, (name, k) in b.items():
    if t in a:
        name = "gateway" if t == pid else name
        threads[name] = threads.get(name, 0) + round(100 * (k - a[t][1]) / hz / 4)
d = json.load(open(f"{data}/lg.json"))
d.update({"switch": f"journal.{key}", "variant": variant, "threads": threads})
print(json.dumps(d))
PY
        echo "round $r $v done" >&2
    done
done

/usr/bin/python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(ln) for ln in open(sys.argv[1])]
for v in ("off", "on"):
    rs = [r for r in rows if r["variant"] == v]
    names = sorted({n for r in rs for n in r["threads"]})
    cpu = " ".join(f"{n} {statistics.median(r['threads'].get(n, 0) for r in rs):.0f}%" for n in names)
    print(f"{v:4} orders/s {statistics.median(r['orders_per_s'] for r in rs):9.0f}  "
          f"(runs: {', '.join(str(r['orders_per_s']) for r in rs)})  {cpu}")
PY
