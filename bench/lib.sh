# lib.sh - helpers the bench/*.sh scripts source (bash).
# shellcheck shell=bash

# wait_line FILE PATTERN [TENTHS]: returns once PATTERN is in FILE (a
# server's or a tool's log); after TENTHS tenths of a second (default 300)
# prints the file and exits the script with 1.
wait_line() {
    for _ in $(seq "${3:-300}"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "$(basename "$0"): timed out waiting for '$2' in $1" >&2
    cat "$1" >&2
    exit 1
}

# bench_begin OUT: the common start of a bench script. Raw results are the
# evidence behind bench/RESULTS.md, so OUT is never overwritten: an OUT
# that exists and is not empty ends the script with 1; else it is created.
# Sets DATA to a fresh temp directory; at exit every background job is
# killed and waited for (a server writes in its data directory as it
# stops), then DATA is removed.
bench_begin() {
    [ -s "$1" ] && { echo "$(basename "$0"): $1 exists; give another file" >&2; exit 1; }
    mkdir -p "$(dirname "$1")"
    : >"$1"
    DATA=$(mktemp -d /tmp/xt-bench-XXXXXX)
    trap 'kill $(jobs -p) 2>/dev/null || true; wait; rm -rf "$DATA"' EXIT
}

# serve_fresh BIN ADDR [serve args...]: a server with a new data directory
# ($DATA/srv), order entry on ADDR, market data's HTTP on a free port and no
# binary market data, its log in $DATA/serve.log; returns once it is
# ready, its pid in SPID.
serve_fresh() {
    serve_fresh_md "$1" "$2" 127.0.0.1:0 "${@:3}"
}

# serve_fresh_md BIN ADDR MD_ADDR [serve args...]: serve_fresh with market
# data's HTTP and WebSocket on MD_ADDR (--md-listen), for a script that
# connects there.
serve_fresh_md() {
    local bin=$1 addr=$2 md=$3
    shift 3
    rm -rf "$DATA/srv"
    : >"$DATA/serve.log" # emptied first: wait_line must not find the last run's line
    "$bin" serve --data "$DATA/srv" --listen "$addr" --md-listen "$md" --md-tcp-listen off "$@" \
        >"$DATA/serve.log" 2>&1 &
    # shellcheck disable=SC2034 # read by the scripts that source this
    SPID=$!
    wait_line "$DATA/serve.log" "ready:"
}

# stop_pid PID: SIGTERM, then waits for it (its exit status ignored).
stop_pid() {
    kill "$1"
    wait "$1" || true
}
