#!/usr/bin/env bash
# bench/filter_bench.sh BUILD SIZE - the interceptor's cost, as ratios measured in the
# same run (the machine is shared and noisy; runs are interleaved, the best of RUNS kept,
# default 9):
#   large: `spill filter` on a SIZE tools/call result (the payload JSON-escaped in
#          content[0].text) vs `spill put` of the same decoded bytes. Target >= 0.9:
#          parsing, unescaping and counting must cost little next to compression.
#   small: pass-through of 200-byte messages through `spill filter`, messages/s.
#          Target >= 500,000/s.
set -euo pipefail
build=${1:-build}
size=${2:-500M}
runs=${RUNS:-9}
spill="$build/spill"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/spill-fbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$build/payload" "$size" > "$work/decoded"
"$build/mkresult" text 1 < "$work/decoded" > "$work/result.json"
bytes=$(stat -c %s "$work/decoded")
python3 - "$work/small.ndjson" <<'PY'
import sys
# 1,000,000 messages of 200 bytes: results, progress notifications, requests.
with open(sys.argv[1], "w") as f:
    for i in range(1000000):
        k = i % 3
        if k == 0:
            head = '{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"' % i
            tail = '"}]}}'
        elif k == 1:
            head = '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":%d,"message":"' % i
            tail = '"}}'
        else:
            head = '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"t","arguments":{"q":"' % i
            tail = '"}}}'
        f.write(head + "x" * (199 - len(head) - len(tail)) + tail + "\n")
PY
nmsg=$(wc -l < "$work/small.ndjson")
cat "$work/decoded" "$work/result.json" "$work/small.ndjson" > /dev/null
secs() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f", e - s }'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
tp= tf= ts=
for r in $(seq "$runs"); do
  rm -rf "$work/s1" "$work/s2" "$work/s3"
  # Each goes first in every other round, so neither always follows the other's
  # writeback and deletes.
  if [ $((r % 2)) = 1 ]; then
    tp=$(best "$(secs "$spill" --store "$work/s1" put "$work/decoded" -q)" "$tp")
    tf=$(best "$(secs "$spill" --store "$work/s2" filter "$work/result.json")" "$tf")
  else
    tf=$(best "$(secs "$spill" --store "$work/s2" filter "$work/result.json")" "$tf")
    tp=$(best "$(secs "$spill" --store "$work/s1" put "$work/decoded" -q)" "$tp")
  fi
  ts=$(best "$(secs "$spill" --store "$work/s3" filter "$work/small.ndjson")" "$ts")
done
"$spill" --store "$work/s3" filter "$work/small.ndjson" | cmp -s - "$work/small.ndjson" || { echo "small messages did not pass byte-identical"; exit 1; }
ratio=$(awk -v a="$tf" -v b="$tp" 'BEGIN { printf "%.2f", b / a }')
rate=$(awk -v n="$nmsg" -v s="$ts" 'BEGIN { printf "%.0f", n / s }')
echo "# filter benchmark: $(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1e6 }') MB payload, $nmsg small messages, $(nproc) cores, best of $runs"
printf '%-52s %12s %12s %8s %8s %s\n' "measure" "spill" "baseline" "ratio" "target" ""
printf '%-52s %10.2f s %10.2f s %8s %8s %s\n' "filter a tools/call result (vs put of its payload)" "$tf" "$tp" "$ratio" ">=0.9" \
  "$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9) ? "ok" : "MISSED" }')"
printf '%-52s %10s/s %12s %8s %8s %s\n' "pass-through, 200-byte messages" "$rate" "-" "-" ">=500000" \
  "$(awk -v r="$rate" 'BEGIN { print (r >= 500000) ? "ok" : "MISSED" }')"
