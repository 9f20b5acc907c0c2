# tests/cli/lib.sh - sourced by the shell tests. Set by tests/run.sh: SPILL_BIN,
# PAYLOAD_BIN, SPILL_TEST_SEED. Every case prints one line: ok / not ok / skip.
set -u
: "${SPILL_BIN:?run through tests/run.sh}"
SPILL=$SPILL_BIN
PAYLOAD=$PAYLOAD_BIN
SEED=${SPILL_TEST_SEED:-1}
T=$(mktemp -d /tmp/spill-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
RANDOM=$SEED

ok()   { echo "ok - $1"; }
fail() { echo "not ok - $1: ${2:-failed}"; }
skip() { echo "skip - $1: $2"; }
# check NAME CMD...: ok if CMD succeeds.
check() { local n=$1; shift; if "$@"; then ok "$n"; else fail "$n" "command failed: $*"; fi; }
# have_node_refs [node]: 0 when Node >= 18 is on PATH and the pinned reference
# tokenizers are installed in bench/calibrate (tiktoken 1.0.22, @anthropic-ai/tokenizer
# 0.0.4); with "node", Node alone. Else 1, with the reason for a skip line in $why.
have_node_refs() {
  local cal need="run: npm ci --prefix bench/calibrate (Node >= 18)"
  cal="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/bench/calibrate"
  if ! command -v node >/dev/null 2>&1; then
    why="node not found; install nodejs"
    [ "${1:-}" = node ] || why="$why and $need"
    return 1
  fi
  if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 18 ]; then
    why="node $(node --version) is older than 18"; return 1
  fi
  [ "${1:-}" = node ] && return 0
  local tt at
  tt=$(node -p "require('$cal/node_modules/tiktoken/package.json').version" 2>/dev/null)
  at=$(node -p "require('$cal/node_modules/@anthropic-ai/tokenizer/package.json').version" 2>/dev/null)
  if [ "$tt" != 1.0.22 ] || [ "$at" != 0.0.4 ]; then
    why="the pinned reference tokenizers are not installed; $need"; return 1
  fi
}
