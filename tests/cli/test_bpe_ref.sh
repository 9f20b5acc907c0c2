# Exact BPE counts of single pieces (spill/bpe.c) against the reference tokenizers:
# tiktoken@1.0.22 encode_ordinary (o200k_base, cl100k_base) and @anthropic-ai/tokenizer
# @0.0.4 (legacy Claude). tests/cli/bpe_ref.mjs generates seeded pieces and their
# reference counts; build/tests/bpe_piece_count counts them with the vocabulary files
# from `make vocab`. Needs Node >= 18 and: npm ci --prefix bench/calibrate
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
prog="${SPILL_BUILD:-$root/build}/tests/bpe_piece_count"
skip_all() { for v in o200k cl100k claude; do skip "bpe_ref_$v" "SKIPPED, $1"; done; exit 0; }
have_node_refs || skip_all "$why"
[ -x "$prog" ] || skip_all "$prog is not built (make all-tests)"
if ! node "$root/tests/cli/bpe_ref.mjs" "$T" "$SEED" 2> "$T/node.err"; then
  for v in o200k cl100k claude; do fail "bpe_ref_$v" "bpe_ref.mjs failed: $(head -3 "$T/node.err")"; done
  exit 0
fi
for v in o200k cl100k claude; do
  "$prog" "$v" "$T/$v.txt" > "$T/$v.out" 2>&1; rc=$?
  case $rc in
    0) ok "bpe_ref_$v ($(tail -1 "$T/$v.out"))" ;;
    1) fail "bpe_ref_$v" "$(tail -1 "$T/$v.out"); $(head -3 "$T/$v.out" | tr '\n' ' ')" ;;
    *) if grep -q 'not found' "$T/$v.out"; then
         skip "bpe_ref_$v" "SKIPPED, vocabulary file missing (make vocab): $(head -1 "$T/$v.out")"
       else
         fail "bpe_ref_$v" "$(head -2 "$T/$v.out" | tr '\n' ' ')"
       fi ;;
  esac
done
