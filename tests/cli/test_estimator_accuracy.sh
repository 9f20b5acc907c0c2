# Accuracy of the token estimator (spill/tokens.c) against the exact tokenizers, which
# count the same text at test time: tiktoken@1.0.22 (o200k_base, cl100k_base) and
# @anthropic-ai/tokenizer@0.0.4 (legacy Claude). bench/calibrate/check.mjs holds the
# error bounds. Needs Node >= 18 and the pinned packages:
#   npm ci --prefix bench/calibrate
# Without them every case is skipped, loudly.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cal="$root/bench/calibrate"
name="estimator accuracy vs tiktoken and @anthropic-ai/tokenizer"
if ! have_node_refs; then
  skip "$name" "SKIPPED, $why"; exit 0
fi
# The Makefile's est_count when it is up to date, else one built here from the sources.
est="${SPILL_BUILD:-$root/build}/est_count"
if [ ! -x "$est" ] || [ "$root/spill/tokens.c" -nt "$est" ] || [ "$root/bench/est_count.c" -nt "$est" ]; then
  est="$T/est_count"
  if ! ${CC:-cc} -std=c11 -O2 -I"$root/spill" -o "$est" "$root/bench/est_count.c" "$root/spill/tokens.c" 2>"$T/cc.err"; then
    fail "$name" "could not build est_count: $(head -3 "$T/cc.err")"; exit 0
  fi
fi
# The target bounds (mean 3%, worst chunk 8%) on the held-out seed-7 corpus and real
# text; then a fresh corpus from this run's seed, where only single chunks may stray
# further (worst 12%).
for args in "--seed 7" "--seed $SEED --worst 0.12 --no-real"; do
  node "$cal/check.mjs" --est "$est" $args > "$T/out" 2>&1; rc=$?
  cat "$T/out"
  if [ $rc != 0 ] && ! grep -q '^not ok - ' "$T/out"; then
    fail "$name" "check.mjs $args exited with status $rc"
  fi
done
exit 0
