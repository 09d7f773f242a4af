#!/bin/bash
# md_fanout.sh - the market-data fan-out benchmarks, in one run.
#
#   bench/md_fanout.sh [ROUNDS] [OUT.jsonl]
#
# Needs build/xtrading (make build). Per round, each scenario gets a fresh
# server (100 instruments SYM000..SYM099, fresh data directory, order entry
# on 127.0.0.1:19301, market data on 127.0.0.1:19380, no binary market
# data) driven by `xtrading loadgen --rate 1000` (about 10 orders/s per
# instrument), and `xtrading wsbench` measures it:
#   a  max-conns     as many connections as allowed (50,000 or the open file
#                    limit), bbo + depth + trades of one symbol each
#   b  max-conns-stall  the same, 10% of them stop reading (--stall 0.1),
#                    measured for at least 45 s
#   c  throughput    5,000 connections x 20 channels (depth + trades of 10
#                    symbols each)
#   e  peak          1,000 connections x 20 channels, loadgen at 20,000
#                    orders/s (about 200 per instrument): how many messages
#                    a second one market-data thread delivers when each
#                    write carries several updates
#   d  nats-a, nats-c   the clients of a and c against nats-server 2.9 (its
#                    WebSocket listener on 127.0.0.1:19381), fed by
#                    `wsbench --nats-publish` at the per-subscription update
#                    rate and the mean message size that a and c measured
#                    (installed with apt-get when missing)
# Every result is one JSON line in OUT (default
# bench/results/DATE-TIME-md-fanout.jsonl, never overwritten) with "target", "scenario" and "round"
# added (and "limited_by" when the connection count was capped); the
# loadgen result of each xtrading run is a line with target "loadgen".
# Environment: SCENARIOS (default "a b c d"; e is run when named), CONNS (default 50000),
# DURATION (default 20), WARMUP (default 5), XT_BIN (default build/xtrading).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-1}
OUT=${2:-bench/results/$(date +%F-%H%M%S)-md-fanout.jsonl}
BIN=${XT_BIN:-build/xtrading}
OE=127.0.0.1:19301
MD=127.0.0.1:19380
NATS_PORT=19322
NATS_WS=127.0.0.1:19381
SCENARIOS=${SCENARIOS:-"a b c d"}
WANT=${CONNS:-50000}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}

[ -x "$BIN" ] || { echo "md_fanout.sh: $BIN is missing: run make build" >&2; exit 1; }
# shellcheck source=lib.sh
. bench/lib.sh
bench_begin "$OUT"

# --- what this machine allows ---------------------------------------------
ulimit -n "$(ulimit -Hn)"
FDS=$(ulimit -Hn)
PORTS=$(sysctl -n net.ipv4.ip_local_port_range | awk '{print $2 - $1 + 1}')
LIMITED_BY=""
N=$WANT
# every process (server, wsbench, nats-server) holds one descriptor per
# connection and cannot raise its hard limit without CAP_SYS_RESOURCE
if [ "$N" -gt $((FDS - 200)) ]; then
    N=$((FDS - 200))
    LIMITED_BY="open file hard limit $FDS per process (ulimit -Hn; raising it needs CAP_SYS_RESOURCE)"
fi
echo "md_fanout: $N connections for scenario a/b (asked $WANT; hard fd limit $FDS, $PORTS local ports per source address)" >&2

stop() { # pid: stopped and reaped, also when it has already exited (unlike stop_pid)
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

record() { # target scenario round json [limited_by]
    /usr/bin/python3 -c 'import json,sys
d=json.loads(sys.argv[4]); d["target"]=sys.argv[1]; d["scenario"]=sys.argv[2]; d["round"]=int(sys.argv[3])
if sys.argv[5]: d["limited_by"]=sys.argv[5]
print(json.dumps(d))' "$1" "$2" "$3" "$4" "${5:-}" >>"$OUT"
}

# --- the server ----------------------------------------------------------------
SYMS=$(seq -f 'SYM%03g' 0 99 | paste -sd, -)
CONF=$DATA/md-bench.conf
{
    echo "# md_fanout.sh: 100 instruments"
    for i in $(seq 0 99); do
        printf '[instrument SYM%03d]\ntick = 0.01\nlot = 1\nref = %d.00\nband = 10\n\n' "$i" $((100 + i))
    done
} >"$CONF"

start_server() { # max_connections [loadgen rate]
    serve_fresh_md "$BIN" "$OE" "$MD" --config "$CONF" --set md.max_connections="$1" --set server.max_connections=64
    "$BIN" loadgen --connect "$OE" --rate "${2:-1000}" --duration 100000 --warmup 0 --json >"$DATA/loadgen.json" 2>"$DATA/loadgen.err" &
    LPID=$!
    sleep 3 # the books fill
}

stop_server() { # scenario round
    stop "$LPID"
    if [ -s "$DATA/loadgen.json" ]; then record loadgen "$1" "$2" "$(cat "$DATA/loadgen.json")"; fi
    stop "$SPID"
}

# scenario -> wsbench flags (besides --connect, --server-pid, --json)
flags() {
    case $1 in
    a) echo "--connections $N --channels bbo.{SYM},depth.{SYM},trades.{SYM} --per-conn 3" ;;
    b) echo "--connections $N --channels bbo.{SYM},depth.{SYM},trades.{SYM} --per-conn 3 --stall 0.1" ;;
    c) echo "--connections 5000 --channels depth.{SYM},trades.{SYM} --per-conn 20" ;;
    e) echo "--connections 1000 --channels depth.{SYM},trades.{SYM} --per-conn 20" ;;
    esac
}
name() { case $1 in a) echo max-conns ;; b) echo max-conns-stall ;; c) echo throughput ;; e) echo peak ;; esac; }
rate() { case $1 in e) echo 20000 ;; *) echo 1000 ;; esac; }

run_xtrading() { # scenario round
    local s=$1 lim=""
    [ "$s" = c ] || [ "$s" = e ] || lim=$LIMITED_BY
    # the md subscription table holds 8 per connection (+ 1024): c needs 100,000
    local maxc=$((N + 1000))
    [ "$maxc" -ge 16000 ] || maxc=16000
    start_server "$maxc" "$(rate "$s")"
    # b: long enough for the server's ping timeout (md.ping_ms, 20 s: a client
    # that does not answer is closed at the next ping) to act within the run
    local dur=$DURATION
    [ "$s" != b ] || [ "${dur%.*}" -ge 45 ] || dur=45
    echo "md_fanout: round $2 scenario $s ($(name "$s")): wsbench $(flags "$s") --duration $dur" >&2
    # shellcheck disable=SC2046
    if res=$("$BIN" wsbench --connect "$MD" $(flags "$s") --symbols "$SYMS" --duration "$dur" \
        --warmup "$WARMUP" --server-pid "$SPID" --json 2>"$DATA/wsbench-$s.err"); then
        record xtrading "$(name "$s")" "$2" "$res" "$lim"
        echo "$res" >"$DATA/last-$s.json"
    else
        echo "md_fanout: wsbench failed:" >&2
        cat "$DATA/wsbench-$s.err" >&2
    fi
    tail -3 "$DATA/wsbench-$s.err" >&2
    stop_server "$(name "$s")" "$2"
}

# --- the NATS baseline -----------------------------------------------------------
have_nats() {
    command -v nats-server >/dev/null && return 0
    echo "md_fanout: nats-server is missing; installing Debian's nats-server with apt-get for the baseline" >&2
    (apt-get install -y nats-server || (apt-get update && apt-get install -y nats-server)) >&2 || true
    command -v nats-server >/dev/null || { echo "md_fanout: no nats-server: skipping the baseline" >&2; return 1; }
}

run_nats() { # scenario(a|c) round
    local s=$1 round=$2 lim="" rate size
    [ -s "$DATA/last-$s.json" ] || { echo "md_fanout: no xtrading result for $s: skipping nats-$s" >&2; return 0; }
    [ "$s" = c ] || lim=$LIMITED_BY
    # the rate per subscription and the mean message size that xtrading delivered
    read -r rate size < <(/usr/bin/python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
r=d["updates_per_sub_s"]*d["universe_channels"]
sz=int(d["mbytes_per_s"]*1e6/d["delivered_per_s"]) if d["delivered_per_s"] else 220
print(max(r, 1), min(max(sz, 64), 3800))' "$DATA/last-$s.json")
    cat >"$DATA/nats.conf" <<EOF
listen: 127.0.0.1:$NATS_PORT
max_connections: $((N + 6000))
websocket {
  listen: "$NATS_WS"
  no_tls: true
}
EOF
    nats-server -c "$DATA/nats.conf" >"$DATA/nats.log" 2>&1 &
    NPID=$!
    wait_line "$DATA/nats.log" "Server is ready"
    # shellcheck disable=SC2046
    set -- $(flags "$s")
    local chans=$4
    "$BIN" wsbench --nats-publish "127.0.0.1:$NATS_PORT" --channels "$chans" --symbols "$SYMS" --rate "$rate" \
        --size "$size" --json >"$DATA/pub.json" 2>"$DATA/pub.err" &
    PPID_=$!
    echo "md_fanout: round $round nats-$s: publishing $rate msgs/s of $size bytes; wsbench --nats $(flags "$s")" >&2
    # shellcheck disable=SC2046
    if res=$("$BIN" wsbench --nats --connect "$NATS_WS" $(flags "$s") --symbols "$SYMS" --duration "$DURATION" \
        --warmup "$WARMUP" --server-pid "$NPID" --json 2>"$DATA/wsbench-nats-$s.err"); then
        record nats "nats-$(name "$s")" "$round" "$res" "$lim"
    else
        echo "md_fanout: wsbench --nats failed:" >&2
        cat "$DATA/wsbench-nats-$s.err" >&2
    fi
    tail -3 "$DATA/wsbench-nats-$s.err" >&2
    stop "$PPID_"
    if [ -s "$DATA/pub.json" ]; then record nats-publisher "nats-$(name "$s")" "$round" "$(cat "$DATA/pub.json")"; fi
    stop "$NPID"
}

for r in $(seq "$ROUNDS"); do
    for s in $SCENARIOS; do
        case $s in
        a | b | c | e) run_xtrading "$s" "$r" ;;
        d) if have_nats; then
            for x in a c; do run_nats "$x" "$r"; done
        fi ;;
        *) echo "md_fanout: unknown scenario $s" >&2 ;;
        esac
    done
done

/usr/bin/python3 - "$OUT" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for sc in ("max-conns", "max-conns-stall", "throughput", "peak", "nats-max-conns", "nats-throughput"):
    rs = [r for r in rows if r.get("scenario") == sc and r.get("target") in ("xtrading", "nats")]
    if not rs:
        continue
    med = lambda k: statistics.median(r[k] for r in rs)
    line = (f"{sc}: {rs[0]['connected']} conns x {rs[0]['channels_per_conn']} channels: "
            f"{med('delivered_per_s')/1e3:.1f} k msgs/s, p50 {med('p50_ms')} ms, p99 {med('p99_ms')} ms, "
            f"p99.9 {med('p999_ms')} ms, errors {med('errors')}")
    kb = [r["server_rss_per_conn_kb"] for r in rs if r.get("server_rss_per_conn_kb") is not None]
    if kb:
        line += f", server RSS {statistics.median(kb):.1f} KB/conn"
    if rs[0].get("stalled"):
        line += f", stalled {med('stalled')} of which closed by the server {med('stalled_closed_by_server')}"
    if rs[0].get("limited_by"):
        line += f" (limited by: {rs[0]['limited_by']})"
    print(line)
EOF
