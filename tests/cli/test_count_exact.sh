# The exact token counter against the pinned reference tokenizers (tests/count_exact.mjs):
# the project's corpus, the research corpus when ../shared/tools/make-corpus.mjs is there,
# 100,000 fuzz strings per vocabulary (5,000 under SPILL_TEST_LIGHT), every chunking. Then
# `spill count` itself: output, --json, early exit, estimate, the missing-vocabulary error.
# Needs Node >= 18 and `npm ci --prefix bench/calibrate` (make test does it).
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="${SPILL_BUILD:-$root/build}/exact_count"
name="exact counts vs tiktoken and @anthropic-ai/tokenizer"
echo "# seed $SEED (replay with SPILL_TEST_SEED=$SEED)"
if [ ! -x "$bin" ]; then
  fail "$name" "$bin is missing (make all builds it)"; exit 0
fi
if ! "$bin" --load-time --vocab claude --vocab o200k --vocab cl100k > "$T/load" 2>&1; then
  fail "$name" "the vocabularies do not load (make vocab): $(head -2 "$T/load")"; exit 0
fi
node_ok=1
if ! have_node_refs; then
  skip "$name" "SKIPPED, $why"; node_ok=0
fi
if [ $node_ok = 1 ]; then
  fuzz=100000 kb=512
  [ -n "${SPILL_TEST_LIGHT:-}" ] && fuzz=5000 kb=64
  shared=(--shared "$root/../shared/tools/make-corpus.mjs")
  # 42 MB: too slow under a sanitizer
  [ -n "${SPILL_TEST_LIGHT:-}" ] && shared=(--no-shared "SKIPPED under SPILL_TEST_LIGHT (42 MB of text)")
  node "$root/tests/count_exact.mjs" --bin "$bin" --tmp "$T" --seed "$SEED" --fuzz "$fuzz" --kb "$kb" \
    "${shared[@]}" > "$T/out" 2>&1; rc=$?
  cat "$T/out"
  if [ $rc != 0 ] && ! grep -q '^not ok - ' "$T/out"; then
    fail "$name" "count_exact.mjs exited with status $rc"
  fi
fi

# ---- spill count ----
printf 'Hello world, this is spill <EOT> counting.  \n' > "$T/small.txt"
n=$("$SPILL" count "$T/small.txt" --multiplier 1)
check "spill count prints the count (claude, x1)" [ "$n" = 11 ]
n=$("$SPILL" count "$T/small.txt")
check "spill count: legacy Claude x1.10 by default" [ "$n" = 12 ]
n=$("$SPILL" count --vocab o200k - < "$T/small.txt")
check "spill count --vocab o200k from stdin" [ "$n" = 13 ]
j=$("$SPILL" count "$T/small.txt" --json)
if python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["tokens"]==12 and d["exact_tokens"]==11 and d["estimated_tokens"]==0 and d["counter"]=="bpe:claude*1.10" and d["capped"] is False and d["early_exit"] is False and d["bytes"]==45' "$j" 2>/dev/null; then
  ok "spill count --json has the result fields"
else
  fail "spill count --json has the result fields" "got $j"
fi
# "word", 199,999 x " word", then a lone " ": 200,001 o200k tokens, one per piece
python3 -c 'import sys; sys.stdout.write("word " * 200000)' > "$T/big.txt"
j=$("$SPILL" count "$T/big.txt" --vocab o200k --early-exit 1000 --json)
if python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["early_exit"] is True and d["exact_tokens"]==1001 and d["estimated_tokens"]>150000 and d["estimated_from"]==5004 and d["counter"]=="bpe:o200k+estimate"' "$j" 2>/dev/null; then
  ok "spill count --early-exit: exact to the limit, estimated after, from the byte where it crossed"
else
  fail "spill count --early-exit" "got $j"
fi
n=$("$SPILL" count "$T/big.txt" --vocab o200k --estimate)
check "spill count --estimate" [ "${n:-0}" -gt 150000 ]
n=$("$SPILL" count "$T/big.txt" --vocab o200k --multiplier 2)
check "spill count --multiplier 2" [ "$n" = 400002 ]
if SPILL_VOCAB_DIR=/nonexistent "$SPILL" count "$T/small.txt" --vocab cl100k 2>"$T/err" >/dev/null; then
  # the build tree's vocab/ is found after SPILL_VOCAB_DIR; only a moved binary would fail
  ok "spill count with SPILL_VOCAB_DIR pointing nowhere still finds the build tree's vocabulary"
else
  fail "spill count with SPILL_VOCAB_DIR pointing nowhere" "$(cat "$T/err")"
fi
mkdir -p "$T/bin" && cp "$SPILL" "$T/bin/spill"
if SPILL_VOCAB_DIR=/nonexistent "$T/bin/spill" count "$T/small.txt" 2>"$T/err" >/dev/null; then
  if grep -q "/usr/local/share/spill/vocab\|share/spill/vocab" "$T/err" 2>/dev/null || [ -e /usr/local/share/spill/vocab/claude-legacy.tiktoken ]; then
    skip "spill count without a vocabulary fails plainly" "a vocabulary is installed system-wide"
  else
    fail "spill count without a vocabulary fails plainly" "it succeeded"
  fi
elif [ "$(wc -l < "$T/err")" = 1 ] && grep -q "^spill: count: cannot load the claude vocabulary" "$T/err"; then
  ok "spill count without a vocabulary fails with one line"
else
  fail "spill count without a vocabulary fails with one line" "$(cat "$T/err")"
fi
exit 0
