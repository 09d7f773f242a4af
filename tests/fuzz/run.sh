#!/usr/bin/env bash
# run.sh BUILD_DIR [libFuzzer flags...] - runs every libFuzzer target in
# BUILD_DIR/tests on its committed corpus (read-only: new inputs go to
# BUILD_DIR/new-corpus/<target>), with the given flags.
set -euo pipefail
build=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
status=0
for bin in "$build"/tests/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  new="$build/new-corpus/$name"; mkdir -p "$new"
  echo "== fuzz $name $*"
  dict=(); [ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")
  if ! "$bin" "${dict[@]}" "$@" -print_final_stats=1 "$new" "$here/corpus/$name" 2>"$build/fuzz-$name.log"; then
    tail -40 "$build/fuzz-$name.log"; status=1
  else
    grep -E "stat::number_of_executed_units|Done " "$build/fuzz-$name.log" | tail -2
  fi
done
exit $status
