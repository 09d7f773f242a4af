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
