#!/usr/bin/env python3
"""demo_client.py SPILL STORE SERVER - plays the agent for `make demo`: talks MCP over
stdio to `spill run -- SERVER`, asks for a large output, shows what the agent receives,
and reads part of it back with spill's own tools."""
import json, subprocess, sys

spill, store, server = sys.argv[1], sys.argv[2], sys.argv[3]
p = subprocess.Popen([spill, "run", "--store", store, "--", server],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
n = 0
def call(method, params=None):
    global n
    n += 1
    m = {"jsonrpc": "2.0", "id": n, "method": method}
    if params is not None:
        m["params"] = params
    p.stdin.write((json.dumps(m) + "\n").encode()); p.stdin.flush()
    line = p.stdout.readline()
    return json.loads(line), len(line)
def say(s): print("\n\033[1m" + s + "\033[0m", flush=True)

call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "demo-agent", "version": "1"}})
tools, _ = call("tools/list")
say("tools the agent sees: " + ", ".join(t["name"] for t in tools["result"]["tools"]))
say('agent -> tools/call logs {"lines": 400000}   (the server answers with ~28 MB)')
r, size = call("tools/call", {"name": "logs", "arguments": {"lines": 400000}})
say("what the agent receives (%d bytes instead of ~28 MB):" % size)
for item in r["result"]["content"]:
    print(item["text"] if item["type"] == "text" else json.dumps(item))
oid = next(l[4:] for l in r["result"]["content"][0]["text"].splitlines() if l.startswith("id: "))
say('agent -> spill_read {"id": "%s", "lines": "200000:200005"}' % oid[:8])
r, _ = call("tools/call", {"name": "spill_read", "arguments": {"id": oid, "lines": "200000:200005"}})
print(r["result"]["content"][0]["text"])
say('agent -> spill_grep {"id": "%s", "pattern": "ERROR.*took 29[0-9][0-9]ms", "max": 3}' % oid[:8])
r, _ = call("tools/call", {"name": "spill_grep", "arguments": {"id": oid, "pattern": "ERROR.*took 29[0-9][0-9]ms", "max": 3}})
print(r["result"]["content"][0]["text"])
p.stdin.close()
sys.exit(p.wait())
