#!/bin/bash
# sparse_tail.sh - recovery of a journal whose last segment ends in a hole
# (a file extended by truncate or a seek: the space never written), by two
# builds, interleaved: the hole is a torn tail to cut, and telling a torn
# tail from corruption looks for a valid record after the bad one.
#
# usage: bench/sparse_tail.sh BASE_XTRADING NEW_XTRADING HOLE ROUNDS
#   HOLE: a size for truncate -s +HOLE (4G, 20G, ...)
# Prints one line per build and round: the wall time of
# `xtrading replay --journal DIR --hash`, its HASH line and the bytes cut.
set -euo pipefail
base=$1 new=$2 hole=$3 rounds=$4
dir=$(mktemp -d /tmp/xt-sparse-XXXXXX)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 -c '
lines = ["INSTRUMENT Z tick=0.01 lot=1"]
for i in range(1, 2001):
    lines.append("NEW %d %d Z %s LIMIT %.2f %d" % (i, i % 7 + 1, "BUY" if i % 2 else "SELL",
                                                 10 + (i * 37 % 11) / 100, i % 9 + 1))
print("\n".join(lines))' | "$new" replay --journal "$dir/journal" > /dev/null
for r in $(seq "$rounds"); do
    for b in base new; do
        bin=$base
        [ "$b" = new ] && bin=$new
        rm -rf "$dir/run"
        cp -a "$dir/journal" "$dir/run"
        truncate -s "+$hole" "$dir"/run/wal-*.log
        s=$(date +%s.%N)
        "$bin" replay --journal "$dir/run" --hash < /dev/null > "$dir/out" 2> "$dir/err"
        e=$(date +%s.%N)
        echo "round $r $b $(echo "$e - $s" | bc) s $(cat "$dir/out") $(grep -o 'cut a torn tail of [0-9]* bytes' "$dir/err")"
    done
done
