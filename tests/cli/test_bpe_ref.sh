# Exact BPE counts of single pieces (spill/bpe.c) against the reference tokenizers:
# tiktoken@1.0.22 encode_ordinary (o200k_base, cl100k_base) and @anthropic-ai/tokenizer
# @0.0.4 (legacy Claude). tests/cli/bpe_ref.mjs generates seeded pieces and their
# reference counts; build/tests/bpe_piece_count counts them with the vocabulary files
# from `make vocab`. Needs Node >= 18 and: npm ci --prefix bench/calibrate
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cal="$root/bench/calibrate"
need="run: npm ci --prefix bench/calibrate (Node >= 18)"
prog="${SPILL_BUILD:-$root/build}/tests/bpe_piece_count"
skip_all() { for v in o200k cl100k claude; do skip "bpe_ref_$v" "SKIPPED, $1"; done; exit 0; }
command -v node >/dev/null 2>&1 || skip_all "node not found; install nodejs and $need"
[ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 18 ] \
  || skip_all "node $(node --version) is older than 18"
have() { node -p "require('$cal/node_modules/$1/package.json').version" 2>/dev/null; }
if [ "$(have tiktoken)" != 1.0.22 ] || [ "$(have @anthropic-ai/tokenizer)" != 0.0.4 ]; then
  skip_all "the pinned reference tokenizers are not installed; $need"
fi
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
