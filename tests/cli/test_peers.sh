# Integration tests against real MCP peers (tests/peers): server-filesystem and
# server-everything through `spill run`, the MCP conformance suite through supergateway,
# and failure modes with a fake server. The peers are npm packages pinned in
# tests/peers/package-lock.json; they are installed here with `npm ci` when missing, and
# every case is skipped, loudly, when that cannot be done.
#
# SPILL_PEERS="filesystem everything conformance failures playwright" picks scenarios (default: all).
# SPILL_DIRECT=1 runs the servers without spill (spill-specific cases are skipped); it is
# also what happens, with a skip line saying so, when $SPILL_BIN has no `run` command.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
peers="$root/tests/peers"
export SPILL_BIN

if ! command -v node >/dev/null 2>&1; then
  skip peers "SKIPPED, node not found; install nodejs (>= 20) and run: npm ci --prefix tests/peers"; exit 0
fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  skip peers "SKIPPED, node $(node --version) is older than 20 (supergateway and the SDK need 20)"; exit 0
fi

# Install the pinned peers when node_modules is missing or older than the lock file.
stamp="$peers/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$peers/package-lock.json" -nt "$stamp" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    skip peers "SKIPPED, npm not found, so the pinned peers cannot be installed (npm ci --prefix tests/peers)"; exit 0
  fi
  echo "# peers: npm ci --prefix tests/peers"
  start=$(date +%s)
  if ! timeout 600 npm ci --prefix "$peers" --no-audit --no-fund >"$T/npm.log" 2>&1; then
    skip peers "SKIPPED, npm ci --prefix tests/peers failed (registry unreachable?): $(grep -E '^npm error (code|errno|request|network|[0-9]{3})' "$T/npm.log" | head -3 | tr '\n' ' ')"
    exit 0
  fi
  echo "# peers: installed in $(( $(date +%s) - start ))s"
fi

if [ -z "${SPILL_DIRECT:-}" ] && ! "$SPILL_BIN" run --help >/dev/null 2>&1; then
  skip "peers spill run" "SKIPPED, $SPILL_BIN has no run command: the scenarios run against the servers directly (SPILL_DIRECT=1)"
  export SPILL_DIRECT=1
fi

for s in ${SPILL_PEERS:-filesystem everything conformance failures playwright}; do
  script="$peers/$s.mjs"
  if [ ! -f "$script" ]; then fail "peers $s" "no such scenario: $script"; continue; fi
  start=$(date +%s)
  timeout -k 10 900 node "$script" >"$T/$s.out" 2>"$T/$s.err"; rc=$?
  grep -E '^(ok|not ok|skip) - |^# ' "$T/$s.out"
  if [ $rc != 0 ]; then
    fail "peers $s" "the scenario exited with status $rc$([ $rc = 124 ] && echo ' (timeout)'): $(tail -c 600 "$T/$s.err" | tr '\n' ' ')"
  fi
  echo "# peers: $s took $(( $(date +%s) - start ))s"
done
exit 0
