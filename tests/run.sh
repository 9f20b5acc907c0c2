#!/usr/bin/env bash
# tests/run.sh BUILD [REGEX] - runs every test program (or those whose name matches
# REGEX) and prints one summary line.
#
# Test programs are build/tests/test_* (C, from tests/unit) and tests/cli/*.sh. Each
# prints one line per case: "ok - NAME", "not ok - NAME: WHY" or "skip - NAME: WHY".
# A program that dies without saying "not ok" counts as one failure. Each program
# runs in its own process group under a timeout.
set -u
build=${1:-build}
filter=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export SPILL_BIN="$root/$build/spill" PAYLOAD_BIN="$root/$build/payload" SPILL_BUILD="$root/$build"
export SPILL_TESTS="$here"
[ -n "${SPILL_TEST_SEED:-}" ] || export SPILL_TEST_SEED=$(( ($(date +%s) % 100000) + 1 ))
echo "# seed $SPILL_TEST_SEED (replay with SPILL_TEST_SEED=$SPILL_TEST_SEED)"
timeout_s=${SPILL_TEST_TIMEOUT:-1200}
pass=0 fail=0 skip=0
failed_names=()
progs=()
for t in "$root/$build"/tests/test_*; do [ -x "$t" ] && progs+=("$t"); done
for t in "$here"/cli/*.sh; do [ -f "$t" ] && [ "$(basename "$t")" != lib.sh ] && progs+=("$t"); done
for prog in "${progs[@]}"; do
  name=$(basename "$prog" .sh)
  if [ -n "$filter" ] && ! [[ "$name" =~ $filter ]]; then continue; fi
  echo "# $name"
  out=$(mktemp)
  start=$(date +%s)
  if [[ "$prog" == *.sh ]]; then
    timeout -k 10 "$timeout_s" bash "$prog" >"$out" 2>&1; rc=$?
  else
    timeout -k 10 "$timeout_s" "$prog" >"$out" 2>&1; rc=$?
  fi
  # Progress meters of tools (\r ... ) must not hide a result line from the count.
  tr '\r' '\n' < "$out" > "$out.lines" && mv "$out.lines" "$out"
  cat "$out"
  p=$(grep -c '^ok - ' "$out"); f=$(grep -c '^not ok - ' "$out"); s=$(grep -c '^skip - ' "$out")
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  while IFS= read -r line; do failed_names+=("$line"); done < <(grep '^not ok - ' "$out")
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
    fail=$((fail + 1)); failed_names+=("not ok - $name: exited with status $rc$([ $rc = 124 ] && echo ' (timeout)')")
    echo "not ok - $name: exited with status $rc"
  fi
  echo "# $name took $(( $(date +%s) - start ))s"
  rm -f "$out"
done
if [ ${#failed_names[@]} -gt 0 ]; then
  echo "# failures:"; printf '#   %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
