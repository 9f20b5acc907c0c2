# spill run's rules end to end (issue 11 §5), with a server that answers in Playwright
# MCP's key order ({"result":...,"jsonrpc":"2.0","id":N}): a tool rule raises its
# tool's threshold above the default (client caps still cap), and a result whose id
# comes last is still known as its tool's (the handle's from: line, spill log).
. "$(dirname "$0")/lib.sh"
cat > "$T/server.py" <<'PY'
import json, sys
out = sys.stdout.buffer
for raw in sys.stdin.buffer:
    m = json.loads(raw)
    mid, meth, params = m.get("id"), m.get("method"), m.get("params") or {}
    if mid is None:
        continue
    if meth == "initialize":
        r = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
             "serverInfo": {"name": "pw", "version": "1"}}
    elif meth == "tools/call":
        n = params.get("arguments", {}).get("bytes", 100)
        r = {"content": [{"type": "text", "text": ("- row: the quick brown fox %d\n" * (n // 30 + 1))[:n]}]}
    else:
        r = {}
    out.write((json.dumps({"result": r, "jsonrpc": "2.0", "id": mid}) + "\n").encode())
    out.flush()
PY
cat > "$T/client.py" <<'PY'
import json, os, sys
sys.path.insert(0, sys.argv[1])
from sidecar_client import Peer, text
spill, store, client, tool, nbytes = sys.argv[2:7]
rules = sys.argv[7:]
argv = [spill, "run", "--store", store] + rules + ["--", sys.executable, os.path.join(os.path.dirname(store), "server.py")]
p = Peer(argv)
p.call("initialize", {"protocolVersion": "2025-06-18", "clientInfo": {"name": client, "version": "1"}})
r = p.call("tools/call", {"name": tool, "arguments": {"bytes": int(nbytes)}})
p.close()
t = text(r)
print("spilled" if t.startswith("[spill]") else "whole %d" % len(t))
for line in t.splitlines():
    if line.startswith("from: "):
        print(line)
PY
run() { python3 "$T/client.py" "$(dirname "$0")" "$SPILL" "$T/store" "$@" 2> "$T/err"; }
# About 330,000 tokens: over the default 100,000, under the rule's 1,000,000.
n=1000000
out=$(run some-client browser_take_screenshot $n --rule tool=browser_take_screenshot:1000000)
[ "$out" = "whole $n" ] && ok "tool rule above the default: the result passes whole" || fail "tool rule above the default: the result passes whole" "$out $(head -c 300 "$T/err")"
out=$(run some-client browser_snapshot $n --rule tool=browser_take_screenshot:1000000)
[[ "$out" == spilled* ]] && ok "tool rule above the default: other tools keep the default" || fail "tool rule: other tools keep the default" "$out"
out=$(run claude-code browser_take_screenshot $n --rule tool=browser_take_screenshot:1000000)
[[ "$out" == spilled* ]] && ok "tool rule above the default: Claude Code's cap (25,000) still caps" || fail "tool rule: a client cap still caps" "$out"
out=$(run some-client browser_snapshot 200000 --threshold 20000)
if [[ "$out" == spilled* ]] && [[ "$out" == *"from: content[0].text of tools/call browser_snapshot"* ]]; then
  ok "id after the result: the handle names the tool"
else
  fail "id after the result: the handle names the tool" "$out"
fi
"$SPILL" --store "$T/store" log 2>/dev/null | tail -n 1 | grep -q " browser_snapshot " && ok "id after the result: spill log names the tool" || fail "id after the result: spill log names the tool" "$("$SPILL" --store "$T/store" log 2>&1 | tail -n 1)"
