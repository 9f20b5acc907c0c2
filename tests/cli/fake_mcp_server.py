"""A small MCP stdio server for the sidecar tests. Records every line it receives
(FAKE_RECORD=path) so tests can check what spill forwarded."""
import json, os, sys

rec = open(os.environ["FAKE_RECORD"], "ab") if os.environ.get("FAKE_RECORD") else None
out = sys.stdout.buffer

class Batch:
    # Collects the answers to one 2025-03-26 batch and writes them as one array.
    def __init__(self): self.items = []
    def write(self, b): self.items.append(json.loads(b))

def handle(m, out):
    mid, meth = m.get("id"), m.get("method")
    if mid is None:
        return
    params = m.get("params") or {}
    if meth == "initialize":
        r = {"protocolVersion": params.get("protocolVersion", "2025-06-18"),
             "capabilities": {"tools": {}}, "serverInfo": {"name": "fake", "version": "1"}}
    elif meth == "tools/list":
        r = {"tools": [{"name": "big", "inputSchema": {"type": "object"},
                        "outputSchema": {"type": "object", "properties": {"content": {"type": "string"}}}},
                       {"name": "echo", "inputSchema": {"type": "object"}}]}
    elif meth == "tools/call" and params.get("name") == "big":
        n = params.get("arguments", {}).get("lines", 10)
        text = "".join("row %07d: the quick brown fox %s\n" % (i, "x" * (i % 17)) for i in range(n))
        r = {"content": [{"type": "text", "text": text}], "structuredContent": {"content": text}}
        if "2026" in json.dumps(params.get("_meta", {})):
            r["resultType"] = "complete"
    elif meth == "tools/call" and params.get("name") == "flood":
        # Many small notifications before the result: a slow agent must slow the server
        # down (backpressure), not make spill buffer them.
        n = params.get("arguments", {}).get("messages", 1000)
        pad = "y" * 1000
        for i in range(n):
            out.write(('{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"%d %s"}}\n' % (i, pad)).encode())
        r = {"content": [{"type": "text", "text": "flooded"}]}
    elif meth == "tools/call":
        r = {"content": [{"type": "text", "text": json.dumps(params.get("arguments", {}))}]}
    else:
        r = {}
    out.write((json.dumps({"jsonrpc": "2.0", "id": mid, "result": r}) + "\n").encode())
    if hasattr(out, "flush"):
        out.flush()

for raw in sys.stdin.buffer:
    if rec:
        rec.write(raw); rec.flush()
    try:
        m = json.loads(raw)
    except ValueError:
        continue
    if isinstance(m, list):
        b = Batch()
        for e in m:
            handle(e, b)
        if b.items:
            out.write((json.dumps(b.items) + "\n").encode()); out.flush()
    elif isinstance(m, dict):
        handle(m, out)
