# spill run while a large result's store write is held up (issue 11, §2: store writes
# never block the event loop). A neighbour holds the store's LMDB write lock
# (hold_index_lock.py), so spill's commit of a 100 MiB result stalls as it would behind
# a busy `spill gc` or a slow disk, while the agent keeps sending pings:
#   - each ping reaches the server within 100 ms of being sent (relay_server.py notes
#     when each request line arrives), and its answer reaches the agent within 100 ms,
#     all through the stall;
#   - one of spill's own calls in the stall is answered (it runs in a worker process, so
#     whatever the store makes it wait never holds up the pings), and works again after it;
#   - every ping is answered, and the large result arrives as a handle whose object is
#     the server's text byte for byte;
#   - spill's peak RSS stays under 64 MB, also while the agent floods it with requests
#     (the filter thread's copies of them are bounded: spill stops reading the agent);
#   - SIGTERM during the stall ends spill within 2 s and leaves no corrupt object.
# The server writes a ping's answer after the large result; spill lets such an answer
# (an empty result, which the filter passes unchanged) overtake the result being stored.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$here" python3 - "$SPILL" "$T" "$here" <<'PY' || fail "relay client" "the test client stopped with an error (see above)"
import hashlib, json, os, signal, subprocess, sys, threading, time
from sidecar_client import check, fail
from relay_server import blob_chunks
spill, T, here = sys.argv[1], sys.argv[2], sys.argv[3]
MB = 100

def start(store, arrivals):
    open(arrivals, "w").close()
    env = dict(os.environ, RELAY_ARRIVALS=arrivals)
    p = subprocess.Popen([spill, "run", "--store", store, "--", "python3", here + "/relay_server.py"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    err = []
    threading.Thread(target=lambda: err.extend(p.stderr), daemon=True).start()
    p.stdin.write(b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}\n'); p.stdin.flush()
    p.stdout.readline()  # spill has opened its store: the neighbour may take the lock now
    h = subprocess.Popen(["python3", here + "/hold_index_lock.py", store, "60"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if h.stdout.readline().strip() != b"locked":
        raise SystemExit("the neighbour could not take the index lock")
    return p, h, err

def arrived(path):
    a, written = {}, None
    for l in open(path):
        t, k = l.split()
        if k == "blob-written":
            written = float(t)
        else:
            a[json.loads(k)] = float(t)
    return a, written

def send(p, obj):
    p.stdin.write((json.dumps(obj) + "\n").encode()); p.stdin.flush()

# ---- pings through a stalled store write ----
store, arr = T + "/store", T + "/arrivals"
p, hold, err = start(store, arr)
answers, result, local = {}, {}, {}
def reader():
    for line in p.stdout:
        m = json.loads(line)
        if m.get("id") == 1:
            result["msg"] = m
        elif m.get("id") == 50:
            local["at"], local["msg"] = time.monotonic(), m
        elif m.get("id") == 51:
            local["after"] = m
        else:
            answers[m.get("id")] = time.monotonic()
threading.Thread(target=reader, daemon=True).start()
send(p, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "blob", "arguments": {"mb": MB, "seed": 7}}})
sent, i, released = {}, 100, None
t0 = time.monotonic()
while time.monotonic() - t0 < 120:
    sent[i] = time.monotonic()
    send(p, {"jsonrpc": "2.0", "id": i, "method": "ping"})
    i += 1
    time.sleep(0.02)
    _, written = arrived(arr)
    if written and "sent" not in local and time.monotonic() - written > 0.75:
        local["sent"] = time.monotonic()  # one of spill's own calls, in the stall
        send(p, {"jsonrpc": "2.0", "id": 50, "method": "tools/call", "params": {"name": "spill_stat", "arguments": {"id": "00000000"}}})
    # All of it is written: spill's commit now waits for the lock. Keep pinging 1.5 s.
    if written and released is None and time.monotonic() - written > 1.5:
        hwm = int(next(l.split()[1] for l in open("/proc/%d/status" % p.pid) if l.startswith("VmHWM")))
        hold.stdin.close()
        released = time.monotonic()
    if "msg" in result:
        break
deadline = time.monotonic() + 20
while time.monotonic() < deadline and not all(k in answers for k in sent):
    time.sleep(0.05)
a, written = arrived(arr)
late = sorted(((a[k] - sent[k]) if k in a else 99.0, k) for k in sent)
stalled = [k for k in sent if written and written < sent[k] < (released or 0)]
check("the store write was held up while pings went on (1.5 s past the server's last byte)",
      released is not None and len(stalled) >= 20, "%d pings in the stall" % len(stalled))
check("every ping reaches the server within 100 ms while the store write is held up",
      late and late[-1][0] < 0.1, "slowest: %.3f s (ping %d of %d)" % (late[-1][0], late[-1][1] - 99, len(sent)))
lt = local.get("at", 99) - local.get("sent", 0)
check("spill's own call in the stall is answered (no object 00000000: an isError result)",
      "msg" in local and local["msg"]["result"].get("isError") is True, "%.3f s: %s" % (lt, json.dumps(local.get("msg"))[:200]))
check("every ping is answered", all(k in answers for k in sent), "%d of %d" % (sum(k in answers for k in sent), len(sent)))
slow = sorted(((answers[k] - sent[k]) if k in answers else 99.0, k) for k in stalled)
check("each ping's answer arrives within 100 ms while the store write is held up (it overtakes the result)",
      slow and slow[-1][0] < 0.1, "slowest: %.3f s (ping %d)" % (slow[-1][0], slow[-1][1] - 99) if slow else "no pings")
msg = result.get("msg", {})
text = msg.get("result", {}).get("content", [{}])[0].get("text", "")
oid = next((l[4:36] for l in text.splitlines() if l.startswith("id: ")), None)
check("the large result arrives as a handle after the stall", oid is not None and len(json.dumps(msg)) < 20000, text[:200])
want = hashlib.sha256()
for c in blob_chunks(MB, 7):
    want.update(c)
got = hashlib.sha256()
if oid:
    c = subprocess.Popen([spill, "--store", store, "cat", oid], stdout=subprocess.PIPE)
    for b in iter(lambda: c.stdout.read(1 << 20), b""):
        got.update(b)
    c.wait()
check("its object is the server's text byte for byte", oid is not None and got.digest() == want.digest(), str(oid))
if oid:
    send(p, {"jsonrpc": "2.0", "id": 51, "method": "tools/call", "params": {"name": "spill_stat", "arguments": {"id": oid}}})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "after" not in local:
        time.sleep(0.02)
after = local.get("after", {}).get("result", {})
check("after the stall, spill's own calls reach the store again (spill_stat of the new object)",
      oid is not None and not after.get("isError") and oid in json.dumps(after), json.dumps(after)[:200])
check("spill's peak RSS stays under 64 MB (VmHWM)", released is not None and hwm < 65536, "%s KB" % (hwm if released else "?"))
p.stdin.close()
rc = p.wait(timeout=30)
check("spill then exits with the server's status", rc == 0, "%d: %s" % (rc, b"".join(err)[-300:]))

# ---- a flood of requests during a stalled store write ----
# spill forwards them and keeps a copy for the filter thread, which is stuck: the
# copies must stop spill from reading the agent (a bound), not pile up in memory.
store3, arr3 = T + "/store3", T + "/arrivals3"
p, hold, err = start(store3, arr3)
answers3 = set()
def reader3():
    for line in p.stdout:
        answers3.add(json.loads(line).get("id"))
threading.Thread(target=reader3, daemon=True).start()
send(p, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "blob", "arguments": {"mb": 20, "seed": 9}}})
t0 = time.monotonic()
while time.monotonic() - t0 < 120 and arrived(arr3)[1] is None:
    time.sleep(0.05)
N, pad = 30000, "p" * 2000
def flood():
    for k in range(N):
        send(p, {"jsonrpc": "2.0", "id": 1000 + k, "method": "ping", "params": {"pad": pad}})
threading.Thread(target=flood, daemon=True).start()
time.sleep(3)  # 60 MB of requests, all sent unless spill stopped reading
hwm3 = int(next(l.split()[1] for l in open("/proc/%d/status" % p.pid) if l.startswith("VmHWM")))
hold.stdin.close()
deadline = time.monotonic() + 60
while time.monotonic() < deadline and len(answers3) < N + 1:
    time.sleep(0.1)
check("a flood of 60 MB of requests while the store write is held up: peak RSS under 64 MB",
      hwm3 < 65536, "%d KB" % hwm3)
check("after it, the result and all 30,000 requests are answered", len(answers3) >= N + 1 and 1 in answers3,
      "%d of %d" % (len(answers3), N + 1))
p.stdin.close()
p.wait(timeout=30)

# ---- SIGTERM during a stalled store write ----
store2, arr2 = T + "/store2", T + "/arrivals2"
p, hold, err = start(store2, arr2)
threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
send(p, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "blob", "arguments": {"mb": MB, "seed": 8}}})
t0 = time.monotonic()
while time.monotonic() - t0 < 120 and arrived(arr2)[1] is None:
    time.sleep(0.05)
time.sleep(0.5)
t = time.monotonic()
p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(timeout=10)
except subprocess.TimeoutExpired:
    p.kill(); rc = p.wait()
took = time.monotonic() - t
check("SIGTERM during a held-up store write ends spill within 2 s", took < 2.0, "%.2f s (status %d)" % (took, rc))
check("spill reports the server's end by SIGTERM (128+15)", rc == 143, str(rc))
hold.stdin.close()
hold.wait(timeout=30)
v = subprocess.run([spill, "--store", store2, "verify"], capture_output=True, text=True)
# The abandoned object is complete but unindexed: verify counts it an orphan (and, the index
# being empty, says to reindex), never corrupt.
check("the store has no torn object after it (spill verify)", " 0 corrupt" in v.stdout,
      (v.stdout + v.stderr)[-300:])
PY
