"""An MCP stdio server for the relay tests (test_sidecar_relay.sh): its `blob` tool
returns one large, incompressible text result (base64 of seeded random bytes) written
in chunks, and a reader thread timestamps every request the moment it arrives
(RELAY_ARRIVALS=path: one line "CLOCK_MONOTONIC-seconds id" per request, and
"SECONDS blob-written" once a blob is all written), so a test can tell when spill
forwarded a request even while this server is still busy writing the large result.
The text of blob(mb, seed) is blob_text(mb, seed), for checking what spill stored."""
import base64, json, os, queue, random, sys, threading, time

arrivals = open(os.environ["RELAY_ARRIVALS"], "a") if os.environ.get("RELAY_ARRIVALS") else None
out = sys.stdout.buffer
inbox = queue.Queue()

def reader():
    for raw in sys.stdin.buffer:
        t = time.monotonic()
        try:
            m = json.loads(raw)
        except ValueError:
            continue
        if arrivals and isinstance(m, dict):
            arrivals.write("%.6f %s\n" % (t, json.dumps(m.get("id"))))
            arrivals.flush()
        inbox.put(m)
    inbox.put(None)

CHUNK = 3 << 18  # 768 KiB of random bytes, 1 MiB of base64

def blob_chunks(mb, seed):
    rng = random.Random(seed)
    for _ in range(mb):
        yield base64.b64encode(rng.randbytes(CHUNK))

def blob(mid, mb, seed):
    # {"jsonrpc":"2.0","id":ID,"result":{"content":[{"type":"text","text":"<base64>"}]}}
    out.write(('{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"' % json.dumps(mid)).encode())
    for c in blob_chunks(mb, seed):
        out.write(c)
    out.write(b'"}]}}\n')
    out.flush()
    if arrivals:
        arrivals.write("%.6f blob-written\n" % time.monotonic())
        arrivals.flush()

def serve():
    threading.Thread(target=reader, daemon=True).start()
    while True:
        m = inbox.get()
        if m is None:
            break
        mid, meth, params = m.get("id"), m.get("method"), m.get("params") or {}
        if mid is None:
            continue
        if meth == "tools/call" and params.get("name") == "blob":
            a = params.get("arguments", {})
            blob(mid, int(a.get("mb", 1)), int(a.get("seed", 1)))
            continue
        if meth == "initialize":
            r = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "relay", "version": "1"}}
        else:
            r = {}
        out.write((json.dumps({"jsonrpc": "2.0", "id": mid, "result": r}) + "\n").encode())
        out.flush()

if __name__ == "__main__":
    serve()
