#!/usr/bin/env bash
# bench/count_bench.sh BUILD [KB] - the exact token counter (spill_count, one thread)
# beside tiktoken (npm, the pinned references in bench/calibrate) measured in the same
# run, on the seeded corpus (KB KiB per class, default 2048):
#   MB/s per class and on the mix for o200k, cl100k, claude; targets >= 50 MB/s on the
#   o200k mix and >= 15x tiktoken there, no class < 20 MB/s;
#   one unsplittable piece of 1 MiB < 0.2 s and of 16 MiB < 4 s;
#   vocabulary load <= 30 ms; peak RSS of `spill count` <= 64 MiB;
#   the estimator's error against the exact count per class, on the corpus and on real
#   text found on this machine (licences, headers, JSON, logs): |error| <= 10% (report).
set -uo pipefail
build=${1:-build}
kb=${2:-2048}
here=$(cd "$(dirname "$0")" && pwd)
ec="$build/exact_count"
spill="$build/spill"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/spill-cbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
node "$here/count_bench.mjs" corpus "$work" "$kb" || exit 1
node "$here/count_bench.mjs" real "$work" || true
classes="prose code json logs cjk base64 mix"
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = (dir == "ge") ? v >= t : v <= t; print ok ? "ok" : "MISSED" }'; }
frame() { echo "$(stat -c %s "$1")"; cat "$1"; }

echo "# exact token counter: $(nproc) cores, single thread, best of 5, corpus.mjs seed 1, $kb KiB per class"
has_node_ref=1
node -e "require('$here/calibrate/node_modules/tiktoken')" 2>/dev/null || has_node_ref=0
printf '%-8s %-7s %10s %12s %8s %8s %s\n' class vocab "spill MB/s" "tiktoken MB/s" ratio target ""
for c in $classes; do
  f="$work/$c.txt"
  read -r so sc sl < <(frame "$f" | "$ec" --vocab o200k --vocab cl100k --vocab claude --bench 5)
  if [ $has_node_ref = 1 ]; then read -r _ to tc tl < <(node "$here/count_bench.mjs" tiktoken "$f"); else to=0 tc=0 tl=0; fi
  bytes=$(stat -c %s "$f")
  i=0
  for v in o200k cl100k claude; do
    s=$([ $v = o200k ] && echo "$so" || { [ $v = cl100k ] && echo "$sc" || echo "$sl"; })
    t=$([ $v = o200k ] && echo "$to" || { [ $v = cl100k ] && echo "$tc" || echo "$tl"; })
    mbs=$(awk -v b="$bytes" -v s="$s" 'BEGIN { printf "%.1f", b / s / 1e6 }')
    ratio=$(awk -v a="$mbs" -v b="$t" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }')
    if [ "$c" = mix ] && [ $v = o200k ]; then
      printf '%-8s %-7s %10s %12s %8s %8s %s\n' "$c" "$v" "$mbs" "$t" "${ratio}x" ">=50" "$(verdict "$mbs" 50 ge)"
      printf '%-8s %-7s %10s %12s %8s %8s %s\n' "" "" "" "" "" ">=15x" "$(verdict "${ratio/-/0}" 15 ge)"
    else
      printf '%-8s %-7s %10s %12s %8s %8s %s\n' "$c" "$v" "$mbs" "$t" "${ratio}x" ">=20" "$(verdict "$mbs" 20 ge)"
    fi
    i=$((i + 1))
  done
done

echo "# one unsplittable piece of random lowercase letters (o200k; default 2 MiB piece cap)"
for m in 1 16; do
  read -r _ secs toks capped < <("$ec" --vocab o200k --piece $m)
  tgt=$([ $m = 1 ] && echo 0.2 || echo 4)
  printf '%-34s %8.3f s %8s %s\n' "$m MiB piece ($toks tokens, capped=$capped)" "$secs" "<$tgt s" "$(verdict "$secs" "$tgt" le)"
done

echo "# vocabulary load (best of 3)"
for v in o200k cl100k claude; do
  best=$(for r in 1 2 3; do "$ec" --load-time --vocab $v | awk '{print $2}'; done | sort -g | head -1)
  printf '%-34s %8.1f ms %8s %s\n' "$v" "$best" "<=30 ms" "$(verdict "$best" 30 le)"
done

echo "# peak RSS (/usr/bin/time -f %M)"
head -c $((16 << 20)) /dev/urandom | base64 -w0 | tr -dc 'a-z' | head -c $((16 << 20)) > "$work/piece.txt"
for f in "$work/mix.txt" "$work/piece.txt"; do
  kbrss=$(/usr/bin/time -f %M "$spill" count --vocab o200k "$f" 2>&1 >/dev/null | tail -1)
  mib=$(awk -v k="$kbrss" 'BEGIN { printf "%.1f", k / 1024 }')
  printf '%-34s %8s MiB %7s %s\n' "spill count $(basename "$f")" "$mib" "<=64" "$(verdict "$mib" 64 le)"
done

echo "# estimator error vs the exact count: (estimate - exact) / exact, whole file"
printf '%-16s %10s %10s %10s %10s %s\n' file vocab exact estimate error ""
for f in "$work"/*.txt; do
  case "$(basename "$f")" in piece.txt) continue ;; esac
  for v in o200k claude; do
    ex=$("$spill" count --vocab $v --multiplier 1 "$f")
    es=$("$spill" count --vocab $v --multiplier 1 --estimate "$f")
    err=$(awk -v a="$es" -v b="$ex" 'BEGIN { printf "%+.1f", (a - b) * 100 / b }')
    printf '%-16s %10s %10s %10s %9s%% %s\n' "$(basename "$f" .txt)" "$v" "$ex" "$es" "$err" \
      "$(awk -v e="$err" 'BEGIN { print (e <= 10 && e >= -10) ? "ok" : "MISSED" }')"
  done
done
