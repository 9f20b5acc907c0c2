# kill -9 of `spill gc` at random points: no index row may point at a missing file,
# and the survivors read back intact.
. "$(dirname "$0")/lib.sh"
S="$T/store"
trials=${SPILL_GC_CRASH_TRIALS:-40}
[ "${SPILL_TEST_LIGHT:-0}" = 1 ] && trials=15
n_obj=0
for t in $(seq "$trials"); do
  # Refill to 30 objects, then GC everything away and kill it somewhere in the middle.
  while [ "$n_obj" -lt 30 ]; do
    n_obj=$((n_obj + 1))
    "$PAYLOAD" $((20000 + RANDOM * 3)) "$t$n_obj" --kind text > "$T/in"
    "$SPILL" --store "$S" put "$T/in" -q --frame-size 4096 > /dev/null || { fail put "put failed"; exit 0; }
  done
  "$SPILL" --store "$S" gc --max-bytes 1 --grace 0 > /dev/null 2>&1 &
  pid=$!
  sleep "0.00$((RANDOM % 10))"
  kill -9 "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  n_obj=$("$SPILL" --store "$S" ls --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
done
out=$("$SPILL" --store "$S" verify 2>&1); rc=$?
if [ $rc = 0 ]; then ok gc_crash_verify_clean; else fail gc_crash_verify_clean "$(echo "$out" | head -3)"; fi
# Every indexed object is readable in full.
bad=0
for id in $("$SPILL" --store "$S" ls --json | python3 -c 'import json,sys; [print(o["id"]) for o in json.load(sys.stdin)]'); do
  "$SPILL" --store "$S" cat "$id" > /dev/null 2>&1 || bad=$((bad + 1))
done
if [ $bad = 0 ]; then ok gc_crash_rows_have_files; else fail gc_crash_rows_have_files "$bad rows unreadable"; fi
# A finishing GC then removes what the killed ones left behind.
"$SPILL" --store "$S" gc --max-bytes 1 --grace 0 > /dev/null
left=$(find "$S/objects" -name '*.zst' | wc -l)
if [ "$left" = 0 ]; then ok gc_after_crash_completes; else fail gc_after_crash_completes "$left files left"; fi
echo "# $trials gc runs killed"
