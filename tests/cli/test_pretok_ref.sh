# Differential test of the text front end and the pre-tokenizers (spill/textnorm.c,
# spill/pretok.c): tests/cli/pretok_ref.mjs splits seeded random strings with the
# vocabularies' regexes in JavaScript and checks, for every chunking tried, the C
# pieces, UTF-8 replacement and NFKC against them and the C pieces' tokens against
# tiktoken@1.0.22 and @anthropic-ai/tokenizer@0.0.4. Needs Node >= 18 (the token part
# also needs: npm ci --prefix bench/calibrate). Without Node it is skipped, loudly.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
name="pre-tokenizers vs the reference regexes"
split="${SPILL_BUILD:-$root/build}/tests/pretok_split"
if ! have_node_refs node; then
  skip "$name" "SKIPPED, $why"; exit 0
fi
if [ ! -x "$split" ]; then
  fail "$name" "$split is missing (make all-tests builds it)"; exit 0
fi
SPILL_TEST_SEED=$SEED node "$root/tests/cli/pretok_ref.mjs" "$split" > "$T/out" 2>&1; rc=$?
cat "$T/out"
if [ $rc != 0 ] && ! grep -q '^not ok - ' "$T/out"; then
  fail "$name" "pretok_ref.mjs exited with status $rc"
fi
exit 0
