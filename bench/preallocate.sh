#!/bin/bash
# preallocate.sh - journal.preallocate off against on (journal_ab.sh).
#   bench/preallocate.sh [ROUNDS] [OUT.jsonl]
exec "$(dirname "$0")/journal_ab.sh" preallocate "$@"
