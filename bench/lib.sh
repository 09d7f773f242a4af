# lib.sh - helpers the bench/*.sh scripts source (bash).

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
# Sets DATA to a fresh temp directory, removed at exit with every
# background job killed.
bench_begin() {
    [ -s "$1" ] && { echo "$(basename "$0"): $1 exists; give another file" >&2; exit 1; }
    mkdir -p "$(dirname "$1")"
    : >"$1"
    DATA=$(mktemp -d /tmp/xt-bench-XXXXXX)
    trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DATA"' EXIT
}
