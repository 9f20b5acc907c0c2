#!/usr/bin/env bash
# bench/store_bench.sh BUILD SIZE - store ingest and read latency, as ratios to the
# zstd CLI measured on the same bytes in the same run (the machine is shared and
# noisy, so absolute MB/s mean little; runs are interleaved and the best of
# RUNS is kept for each side).
#   ingest:  spill put --threads 1 vs zstd -3 -T1;  spill put --threads 2 vs zstd -3 -T2
#   read:    200 lines from the middle of the object (library call, store open)
# Targets: both ingest ratios >= 0.85, read median <= 2 ms.
set -euo pipefail
build=${1:-build}
size=${2:-500M}
runs=${RUNS:-3}
spill="$build/spill"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/spill-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
payload="$work/payload.txt"
"$build/payload" "$size" > "$payload"
bytes=$(stat -c %s "$payload")
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1e6 }')
echo "# store benchmark: $mb MB mixed payload ($build/payload $size), $(nproc) cores, best of $runs"
cat "$payload" > /dev/null # warm the page cache for every contender alike

secs() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f", e - s }'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
declare -A t
for r in $(seq "$runs"); do
  for th in 1 2; do
    rm -f "$work/z.zst"
    t[z$th]=$(best "$(secs zstd -q -3 -T$th -f "$payload" -o "$work/z.zst")" "${t[z$th]:-}")
    rm -rf "$work/store$th"
    t[s$th]=$(best "$(secs "$spill" --store "$work/store$th" put "$payload" -q --threads $th)" "${t[s$th]:-}")
  done
done
id=$("$spill" --store "$work/store1" put "$payload" -q)
zsize=$(stat -c %s "$work/z.zst")
ssize=$("$spill" --store "$work/store1" show "$id" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["stored_bytes"])')
read -r med p95 pagebytes < <("$build/read_latency" "$work/store1" "$id" 200 101)
mid=$(( $("$spill" --store "$work/store1" show "$id" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["lines"])') / 2 ))
cli_ms=$(awk -v s="$(secs "$spill" --store "$work/store1" cat "$id" --lines "$mid:$((mid + 199))")" 'BEGIN { printf "%.1f", s * 1000 }')

rate() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
pass() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = dir == "ge" ? v >= t : v <= t; print ok ? "ok" : "MISSED" }'; }
r1=$(ratio "${t[s1]}" "${t[z1]}"); r2=$(ratio "${t[s2]}" "${t[z2]}")
printf '%-46s %10s %10s %8s %8s\n' "measure" "spill" "baseline" "ratio" "target"
printf '%-46s %7s MB/s %5s MB/s %8s %8s %s\n' "ingest, 1 thread (vs zstd -3 -T1)" "$(rate "${t[s1]}")" "$(rate "${t[z1]}")" "$r1" ">=0.85" "$(pass "$r1" 0.85 ge)"
printf '%-46s %7s MB/s %5s MB/s %8s %8s %s\n' "ingest, 2 threads (vs zstd -3 -T2)" "$(rate "${t[s2]}")" "$(rate "${t[z2]}")" "$r2" ">=0.85" "$(pass "$r2" 0.85 ge)"
printf '%-46s %10s %10s %8s %8s\n' "stored size (vs zstd -3 single frame)" "$ssize" "$zsize" "$(ratio "$zsize" "$ssize")" "-"
printf '%-46s %7s ms %10s %8s %8s %s\n' "read 200 lines mid-object, median (p95 $p95)" "$med" "-" "-" "<=2" "$(pass "$med" 2 le)"
printf '%-46s %7s ms\n' "same read as a 'spill cat --lines' process" "$cli_ms"
echo "# ingest includes hashing, line index, fdatasync, link and the index row; zstd writes without fsync"
