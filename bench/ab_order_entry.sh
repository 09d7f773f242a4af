#!/bin/bash
# ab_order_entry.sh - two builds of the server against each other in one
# run, alternating, so that a change's cost is told apart from the shared
# machine's drift (bench/RESULTS.md).
#
#   bench/ab_order_entry.sh OLD_BIN NEW_BIN [ROUNDS]
#
# Each round starts a fresh `serve` of each binary (journal policy batch,
# the embedded defaults) and drives it with NEW_BIN's loadgen: 64
# connections, pipeline 64, 5 s after a 1 s warm-up. Prints one line per
# run: round, old|new, orders/s, p99 in microseconds.
set -euo pipefail
OLD=$1 NEW=$2 ROUNDS=${3:-4}
ADDR=127.0.0.1:19301
for r in $(seq "$ROUNDS"); do
    for v in old new; do
        if [ "$v" = old ]; then BIN=$OLD; else BIN=$NEW; fi
        D=$(mktemp -d /tmp/xt-ab-XXXXXX)
        "$BIN" serve --data "$D/data" --listen "$ADDR" --md-listen 127.0.0.1:0 --md-tcp-listen off >"$D/out" 2>"$D/err" &
        P=$!
        for _ in $(seq 200); do
            grep -q "ready: order entry" "$D/out" 2>/dev/null && break
            sleep 0.05
        done
        R=$("$NEW" loadgen --connect "$ADDR" --connections 64 --pipeline 64 --duration 5 --warmup 1 --json |
            /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(d["orders_per_s"]), d["p99_us"])')
        kill "$P"
        wait "$P" 2>/dev/null || true
        echo "$r $v $R"
        rm -rf "$D"
    done
done
