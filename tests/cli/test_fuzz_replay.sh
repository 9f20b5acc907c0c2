#!/usr/bin/env bash
# Replays every fuzz corpus (tests/fuzz/corpus/NAME) through its target built without
# libFuzzer ($SPILL_BUILD/tests/fuzz_NAME_replay, from tests/fuzz/regression_main.c).
# A crasher saved into a corpus fails here until it is fixed. One process replays a
# whole corpus; when it fails, each file runs on its own to name every failing input.
. "$(dirname "$0")/lib.sh"
: "${SPILL_BUILD:?run through tests/run.sh}"
fuzz=$(cd "$(dirname "$0")/../fuzz" && pwd)

found=0
for src in "$fuzz"/fuzz_*.c; do
  [ -f "$src" ] || continue
  found=1
  name=$(basename "$src" .c); name=${name#fuzz_}
  bin=$SPILL_BUILD/tests/fuzz_${name}_replay
  dir=$fuzz/corpus/$name
  if [ ! -x "$bin" ]; then fail "replay $name" "$bin not built (make all-tests)"; continue; fi
  if [ ! -d "$dir" ]; then fail "replay $name" "no corpus in $dir"; continue; fi
  files=()
  while IFS= read -r f; do files+=("$f"); done < <(find "$dir" -maxdepth 1 -type f ! -name '.*' | sort)
  if { "$bin" "$dir" >"$T/$name.out" 2>"$T/$name.err"; } 2>/dev/null; then
    ok "replay $name: ${#files[@]} files"
    continue
  fi
  bad=()
  for f in "${files[@]}"; do
    if ! { "$bin" "$f" >"$T/one.out" 2>"$T/one.err"; } 2>/dev/null; then
      bad+=("$(basename "$f")")
      echo "# $(basename "$f"):"
      grep -v '^running ' "$T/one.err" | head -n 20 | sed 's/^/#   /'
    fi
  done
  [ ${#bad[@]} -gt 0 ] || bad=("(only when replayed together)")
  fail "replay $name" "${#bad[@]} of ${#files[@]} files fail: ${bad[*]}"
done
[ "$found" = 1 ] || fail "replay" "no fuzz targets in $fuzz"
