# spill run with a small fake server: local tools and resources, tools/list edits,
# byte-identical forwarding, views, config file and SIGHUP reload, exit statuses.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
export FAKE_RECORD="$T/received.ndjson"
cat > "$T/config.json" <<'JSON'
{"threshold": 100000, "page": "8KiB", "rules": [{"tool": "echo", "threshold": 100000}]}
JSON
PYTHONPATH="$here" python3 - "$SPILL" "$T" "$here/fake_mcp_server.py" <<'PY' || fail "sidecar client" "the test client stopped with an error (see above)"
import json, os, signal, sys, time
from sidecar_client import Peer, check, ok, fail, text, handle_id
spill, T, server = sys.argv[1], sys.argv[2], sys.argv[3]
store = T + "/store"
p = Peer([spill, "run", "--store", store, "--config", T + "/config.json", "--", "python3", server])
init = p.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "tester", "version": "1"}})
check("initialize result gains the resources capability", "resources" in init["result"]["capabilities"], json.dumps(init))
tl = p.call("tools/list")["result"]["tools"]
names = [t["name"] for t in tl]
check("tools/list gains spill_read, spill_grep, spill_stat, spill_jq",
      all(n in names for n in ("spill_read", "spill_grep", "spill_stat", "spill_jq")), str(names))
check("tools/list loses outputSchema", not any("outputSchema" in t for t in tl), json.dumps(tl)[:300])

r = p.call("tools/call", {"name": "big", "arguments": {"lines": 60000}})
t0 = text(r)
oid = handle_id(t0)
check("a 60,000-line result becomes a handle", oid is not None and len(json.dumps(r)) < 20000, t0[:200])
sid = r["result"].get("structuredContent", {}).get("spill", {}).get("id")
jq = text(p.call("tools/call", {"name": "spill_jq", "arguments": {"id": sid or "none", "filter": ".content | length"}})) if sid else ""
check("structuredContent becomes a spill reference to the stored JSON (spill_jq reads it)",
      sid is not None and jq.strip().startswith(str(len("".join("row %07d: the quick brown fox %s\n" % (i, "x" * (i % 17)) for i in range(60000))))),
      jq[:200])
view = next((l.split(": ", 1)[1] for l in t0.splitlines() if l.startswith("  file (plain text")), None)
want = "".join("row %07d: the quick brown fox %s\n" % (i, "x" * (i % 17)) for i in range(60000))
check("the handle names a plain-text view holding the whole output",
      view is not None and os.path.exists(view) and open(view).read() == want, str(view))

# spill_read pages: bounded by --page (8 KiB from the config), each names the next call.
got, args, pages, biggest = [], {"id": oid}, 0, 0
while pages < 1000:
    rr = p.call("tools/call", {"name": "spill_read", "arguments": args})
    t = text(rr)
    biggest = max(biggest, len(json.dumps(t)))
    body, _, footer = t.rpartition("\n[spill_read]")
    pages += 1
    got.append(body + "\n")
    if "next: spill_read " not in footer:
        break
    args = json.loads(footer.split("next: spill_read ", 1)[1].strip())
check("spill_read pages rebuild the output byte for byte", "".join(got) == want, "%d pages, %d vs %d bytes" % (pages, len("".join(got)), len(want)))
check("every spill_read page stays within the page bound (8 KiB)", biggest <= 8192, str(biggest))
g = text(p.call("tools/call", {"name": "spill_grep", "arguments": {"id": oid, "pattern": "row 0042424", "max": 5}}))
check("spill_grep finds a line with its number", g.startswith("42425:row 0042424"), g[:200])
rr = p.call("resources/read", {"uri": "spill://" + oid})
check("resources/read spill://ID is answered by spill", rr["result"]["contents"][0]["text"] == want[:len(rr["result"]["contents"][0]["text"])], json.dumps(rr)[:200])
# A stored image (a 300x300 PNG of noise, 270 KB: over twice the page) comes back whole
# through resources/read, which runs in a worker: the worker's output cap fits an image.
import base64, random, struct, subprocess, zlib
rnd = random.Random(7)
raw = b"".join(b"\0" + bytes(rnd.getrandbits(8) for _ in range(900)) for _ in range(300))
chunk = lambda k, d: struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 300, 300, 8, 2, 0, 0, 0)) + \
      chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")
open(T + "/noise.png", "wb").write(png)
img = subprocess.run([spill, "--store", store, "put", T + "/noise.png", "--mime", "image/png", "-q"],
                     capture_output=True, text=True).stdout.strip()
ir = p.call("resources/read", {"uri": "spill://" + img})
c0 = (ir.get("result") or {}).get("contents", [{}])[0]
check("resources/read of a stored 270 KB image returns it whole through the worker",
      c0.get("mimeType") == "image/png" and base64.b64decode(c0.get("blob", "")) == png, json.dumps(ir)[:300])
# Ctrl-C goes to the server, which decides: one that ignores it goes on serving through
# spill (spill does not stop on its own once the stop signal's moment has passed).
q = Peer([spill, "run", "--store", store, "--", "sh", "-c", 'trap "" INT; exec python3 "$0"', server])
q.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})
q.p.send_signal(signal.SIGINT)
time.sleep(1.6)
pong = None
if q.p.poll() is None:
    import threading
    box = []
    q.send({"jsonrpc": "2.0", "id": 99, "method": "ping"})
    th = threading.Thread(target=lambda: box.append(q.read()), daemon=True)
    th.start(); th.join(5)
    pong = box[0] if box else None
check("SIGINT to a server that ignores it: spill still passes messages 1.6 s later",
      pong is not None and pong.get("result") == {}, "exit %s, %s" % (q.p.poll(), pong))
q.p.terminate(); q.p.wait(timeout=10)
bad = p.call("tools/call", {"name": "spill_read", "arguments": {"id": "../../etc/passwd"}})
check("a bad id is an isError result, not a crash", bad["result"].get("isError") is True, json.dumps(bad)[:200])
e = p.call("tools/call", {"name": "echo", "arguments": {"a": [1, "é", {"b": None}]}})
check("small results pass unchanged", text(e) == json.dumps({"a": [1, "é", {"b": None}]}), json.dumps(e))

# A 2025-03-26 batch mixing spill's call with the server's: each side answers its own.
p.send([{"jsonrpc": "2.0", "id": 501, "method": "tools/call", "params": {"name": "spill_stat", "arguments": {"id": oid}}},
        {"jsonrpc": "2.0", "id": 502, "method": "tools/call", "params": {"name": "echo", "arguments": {"x": 1}}},
        {"jsonrpc": "2.0", "id": 503, "method": "tools/list"}])
got = {}
while len(got) < 3:
    m = p.read()
    for e in (m if isinstance(m, list) else [m]):
        got[e["id"]] = e
check("a batch: spill's call is answered by spill, the others by the server",
      oid in text(got[501]) and text(got[502]) == '{"x": 1}', json.dumps(got)[:300])
check("a batch: tools/list inside it gains spill's tools", any(t["name"] == "spill_read" for t in got[503]["result"]["tools"]),
      json.dumps(got[503])[:200])

# The server saw every request except spill's own, byte for byte.
sent = [l for l in open(T + "/received.ndjson", "rb").read().split(b"\n") if l]
check("spill's own calls never reach the server", not any(b"spill_" in l or b"spill://" in l for l in sent), str(len(sent)))
check("requests reach the server exactly as sent", any(b'"arguments": {"a": [1, "\\u00e9", {"b": null}]}' in l for l in sent), str(sent[-1][:200]))

# SIGHUP: a lower threshold from the reloaded config applies to the next result.
open(T + "/config.json", "w").write('{"threshold": 1000, "page": "8KiB"}')
p.p.send_signal(signal.SIGHUP)
time.sleep(0.5)
r2 = p.call("tools/call", {"name": "big", "arguments": {"lines": 500}})
check("SIGHUP reloads the config file: a smaller threshold spills a smaller result", handle_id(text(r2)) is not None, text(r2)[:120])
err = b"".join(p.err).decode(errors="replace")
check("the reload is logged on stderr", "reloaded" in err, err[-300:])
# A slow agent: 100,000 messages of 1 KB while the agent reads nothing for 3 s.
p.send({"jsonrpc": "2.0", "id": 9001, "method": "tools/call", "params": {"name": "flood", "arguments": {"messages": 100000}}})
time.sleep(3)
hwm = int(next(l.split()[1] for l in open("/proc/%d/status" % p.p.pid) if l.startswith("VmHWM")))
count = 0
while True:
    m = p.read()
    if m is None or m.get("id") == 9001:
        break
    count += 1
check("a slow agent: all 100,000 messages arrive, in order, after the pause", count == 100000, str(count))
check("a slow agent: spill's memory stays bounded (peak RSS < 64 MB)", hwm < 65536, "%d KB" % hwm)
rc = p.close()
check("spill exits with the server's status when the agent closes stdin", rc == 0, str(rc))

# SIGTERM to spill reaches the server; spill then reports the server's end.
t = Peer([spill, "run", "--store", store, "--log-json", "-v", "--", "python3", server])
t.call("tools/list")
t.p.send_signal(signal.SIGTERM)
rc = t.p.wait(timeout=20)
time.sleep(0.2)
check("SIGTERM is passed to the server and spill exits 128+15", rc == 143, str(rc))
logs = [l for l in b"".join(t.err).split(b"\n") if l.strip()]
bad = [l for l in logs if not l.startswith(b"{")]
check("--log-json: every log line on stderr is a JSON object", logs and not bad and all(json.loads(l).get("msg") for l in logs),
      str(logs[:3]))

# 2026-07-28: spill's own resources/read carries ttlMs and cacheScope.
q = Peer([spill, "run", "--store", store, "--", "python3", server])
meta = {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}
rr = q.call("resources/read", dict(uri="spill://" + oid, **meta))
res = rr.get("result", {})
check("2026-07-28: resources/read has resultType, ttlMs and cacheScope",
      res.get("resultType") == "complete" and isinstance(res.get("ttlMs"), int) and res.get("cacheScope") in ("private", "public"), json.dumps(rr)[:200])
q.close()
PY
# A server that cannot start, and a bad config file: clear errors and meaningful statuses.
out=$("$SPILL" run --store "$T/s2" -- /nonexistent/server < /dev/null 2>&1 | cat); rc=${PIPESTATUS[0]}
: | "$SPILL" run --store "$T/s2" -- /nonexistent/server 2> "$T/err1" | cat > /dev/null; rc=${PIPESTATUS[1]}
[ $rc = 127 ] && grep -q "cannot start" "$T/err1" && ok "a server that cannot start: exit 127 and a clear message" || fail "a server that cannot start" "rc $rc: $(cat "$T/err1")"
echo '{"threshold": "lots"}' > "$T/bad.json"
"$SPILL" run --config "$T/bad.json" --store "$T/s2" -- true < /dev/null > /dev/null 2> "$T/err2"; rc=$?
[ $rc != 0 ] && grep -q "threshold" "$T/err2" && ok "a bad config file: a clear error naming the key" || fail "a bad config file" "rc $rc: $(cat "$T/err2")"
"$SPILL" run --help | grep -q -- "--threshold" && ok "spill run --help documents the options" || fail "spill run --help"
# Polling after traffic (--spin-us): on or off, a round trip gives the same answer, and
# a bad value is refused clearly.
req='{"jsonrpc":"2.0","id":1,"method":"ping"}'
for us in 0 5000; do
  got=$( (echo "$req"; sleep 0.3) | "$SPILL" run --spin-us $us --store "$T/s4" -- python3 "$here/fake_mcp_server.py" 2>/dev/null | head -1)
  want=$( (echo "$req"; sleep 0.3) | python3 "$here/fake_mcp_server.py" 2>/dev/null | head -1)
  [ -n "$got" ] && [ "$got" = "$want" ] && ok "--spin-us $us: a ping's answer is the server's, byte for byte" ||
    fail "--spin-us $us" "got '$got', want '$want'"
done
SPILL_SPIN_US=soon "$SPILL" run --store "$T/s4" -- true < /dev/null > /dev/null 2> "$T/err3"; rc=$?
[ $rc != 0 ] && grep -q "SPILL_SPIN_US" "$T/err3" && ok "SPILL_SPIN_US=soon: refused, naming the variable" || fail "SPILL_SPIN_US=soon" "rc $rc: $(cat "$T/err3")"
(sleep 30 | "$SPILL" run --store "$T/s3" -- sh -c 'exit 7' > /dev/null 2>&1); rc=$?
[ $rc = 7 ] && ok "the server's exit status is spill's" || fail "the server's exit status is spill's" "got $rc"
# stdin or stdout a file or /dev/null (no agent): a clear error, never libuv's abort.
"$SPILL" run --store "$T/s5" -- true < /dev/null > "$T/out5" 2> "$T/err5"; rc=$?
[ $rc = 1 ] && grep -q "must be a pipe or a socket" "$T/err5" && ok "stdin /dev/null: exit 1 and a clear message, no abort" ||
  fail "stdin /dev/null" "rc $rc: $(cat "$T/err5")"
echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' > "$T/in6"
"$SPILL" run --store "$T/s5" -- true < "$T/in6" 2> "$T/err6" | cat > /dev/null; rc=${PIPESTATUS[0]}
[ $rc = 1 ] && grep -q "must be a pipe or a socket" "$T/err6" && ok "stdin a regular file: exit 1 and a clear message, no abort" ||
  fail "stdin a regular file" "rc $rc: $(cat "$T/err6")"
