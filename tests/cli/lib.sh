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
