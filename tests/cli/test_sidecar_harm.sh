# spill run against hostile input (issue 11, section 2): spill_jq filters that crash,
# freeze or bloat libjq, a catastrophic spill_grep pattern, 20,000 pipelined spill_read
# calls from an agent that does not read, requests jansson refuses, odd ids, and failed
# allocations while queueing output. Each is answered; while it runs a ping (forwarded to
# a real server process) is answered within 100 ms, SIGTERM ends spill within 2 s, and the
# sidecar's own peak RSS (VmHWM) stays under 64 MB.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
store=$T/store
export FAKE_RECORD="$T/received.ndjson"
printf '{"items":[{"a":1},{"a":2}],"name":"x"}\n' > "$T/doc.json"
jid=$("$SPILL" --store "$store" put --name doc.json < "$T/doc.json" | sed -n 's/^spill object \([0-9a-f]*\).*/\1/p')
python3 -c 'import sys; sys.stdout.write(("a" * 21 + "!\n") * 100000)' > "$T/aaa.txt"
gid=$("$SPILL" --store "$store" put --name aaa.txt < "$T/aaa.txt" | sed -n 's/^spill object \([0-9a-f]*\).*/\1/p')
[ -n "$jid" ] && [ -n "$gid" ] || fail "setup" "spill put gave no ids"

PYTHONPATH="$here" python3 - "$SPILL" "$store" "$here/fake_mcp_server.py" "$jid" "$gid" "$T" <<'PY' || fail "harm client" "the test client stopped with an error (see above)"
import json, os, sys, threading, time
from sidecar_client import AsyncPeer, check, ok, fail
spill, store, server, jid, gid, T = sys.argv[1:7]
RSS_MB, PING_S, TERM_S = 64, 0.100, 2.0
rec = T + "/received.ndjson"
# Under AddressSanitizer (make asan sets ASAN_OPTIONS) memory and speed are not the
# product's: the RSS and ping bounds are skipped, loudly; everything else is checked.
SAN = "ASAN_OPTIONS" in os.environ
peers = []

def bound(name, cond, why):
    if SAN:
        print("skip - %s: a sanitizer build (%s)" % (name, why), flush=True)
    else:
        check(name, cond, why)

def start(extra=(), env=None, read=True):
    env = dict(env or os.environ, SPILL_TOOL_TIMEOUT="2s")  # the environment: an old spill ignores it
    p = AsyncPeer([spill, "run", "--store", store] + list(extra) + ["--", "python3", server], env=env, read=read)
    peers.append(p)
    return p

def call_line(rid, name, args):
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                       "params": {"name": name, "arguments": args}}).encode()

def run_case(name, line, rid, want, timeout=20, extra=()):
    """Sends line, pings every 50 ms until the answer with raw id rid comes, checks it with
    want(answer dict); then the same again, and SIGTERM while it runs."""
    p = start(extra)
    p.ping()  # the server is up
    p.send_raw(line)
    t0, worst, got = time.monotonic(), 0.0, None
    while time.monotonic() - t0 < timeout and p.p.poll() is None:
        lat = p.ping(timeout=2)
        worst = max(worst, lat if lat is not None else 99)
        got = p.wait_id(rid, 0.05)
        if got is not None:
            break
    ans = json.loads(got) if got else None
    check(name + ": answered", ans is not None and want(ans), (got or b"no answer")[:300].decode("utf-8", "replace"))
    bound(name + ": a ping meanwhile is answered within 100 ms", worst <= PING_S, "slowest ping %.0f ms" % (worst * 1000))
    p.send_raw(line)
    time.sleep(0.3)
    hwm = p.hwm_mb()
    bound(name + ": the sidecar's peak RSS stays under 64 MB", hwm is not None and hwm < RSS_MB, "VmHWM %s MB" % hwm)
    took = p.sigterm_exit_time()
    check(name + ": SIGTERM ends spill within 2 s", took is not None and took <= TERM_S, "took %s s" % took)
    print("# %s: slowest ping %.1f ms, VmHWM %.1f MB, SIGTERM exit %.2f s" % (name, worst * 1000, hwm or -1, took or -1))
    print("#   answer: %s" % json.dumps(ans)[:300])
    return ans

def text(a): return a["result"]["content"][0]["text"]
def is_error_result(a): return a.get("result", {}).get("isError") is True

# ---- item 1: spill_jq, each filter answered, never a crash, freeze or bloat ----
jq_cases = [
    ("input", lambda a: "result" in a),
    ("inputs", lambda a: "result" in a),
    ("debug", lambda a: "result" in a and '"a"' in text(a)),
    ("1e300|todate", lambda a: is_error_result(a)),
    ('"%Y" as $f|1e300|strftime($f)', lambda a: is_error_result(a)),
    ("reduce range(200000) as $i (null;{a:.})|tojson", lambda a: "result" in a),
    ("def f: f; f", lambda a: is_error_result(a) and "time limit" in text(a)),
    ("[range(1e9)]|length", lambda a: is_error_result(a) and "limit" in text(a)),
    ('"a"*1e9|length', lambda a: "result" in a),
]
for i, (flt, want) in enumerate(jq_cases):
    run_case("spill_jq %s" % flt, call_line(100 + i, "spill_jq", {"id": jid, "filter": flt}), b"%d" % (100 + i), want)

# The limit's three spellings: the config file's key wins over the environment, the flag
# over the file.
open(T + "/cfg.json", "w").write('{"tool_timeout": "700ms", "tool_workers": 1, "tool_memory": "512MiB"}')
for extra, ms in ((["--config", T + "/cfg.json"], 700), (["--config", T + "/cfg.json", "--tool-timeout", "300ms"], 300)):
    p = start(extra)
    p.send_raw(call_line(90, "spill_jq", {"id": jid, "filter": "def f: f; f"}))
    got = p.wait_id(b"90", 10)
    check("the time limit set by %s is the one applied" % " ".join(extra[2:] or ["the config file"]),
          got is not None and b"(%d ms" % ms in got, str(got)[:200])
    p.close()
import subprocess
r = subprocess.run([spill, "run", "--tool-timeout", "soon", "--", "true"], capture_output=True)
check("--tool-timeout soon: refused, naming the option", r.returncode != 0 and b"--tool-timeout" in r.stderr, r.stderr[:200])

# ---- item 2: a catastrophic pattern stops at the budget and says how to go on ----
def grep_ok(a):
    t = text(a)
    return "from_line" in t and ("time budget" in t or "could not be searched" in t)
g = run_case("spill_grep (a+)+$ over 100,000 lines", call_line(200, "spill_grep", {"id": gid, "pattern": "(a+)+$"}), b"200", grep_ok)
if g:
    t = text(g)
    nxt = json.loads(t.split("next: spill_grep ", 1)[1].split("\n")[0]) if "next: spill_grep " in t else {}
    check("spill_grep: the next call goes on after where it stopped", nxt.get("from_line", 0) > 1 and nxt.get("pattern") == "(a+)+$", t[-400:])

# ---- items 5 and 6: requests jansson refuses, SPILL://, ids byte for byte ----
open(rec, "w").close()
p = start()
p.ping()
cases = [
    ("invalid UTF-8", b'{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"spill_stat","arguments":{"id":"\xff\xfe"}}}', b"11", -32700),
    ("\\u0000", b'{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"spill_grep","arguments":{"id":"' + jid.encode() + b'","pattern":"a\\u0000b"}}}', b"12", -32700),
    ("a lone surrogate", b'{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"spill_read","arguments":{"id":"\\ud800"}}}', b"13", -32700),
    ("an id above int64", b'{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/call","params":{"name":"spill_stat","arguments":{"id":"' + jid.encode() + b'"}}}', b"123456789012345678901234567890", -32700),
    ("a line over 64 KiB", b'{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"spill_grep","arguments":{"id":"' + jid.encode() + b'","pattern":"' + b"x" * 70000 + b'"}}}', b"15", -32600),
    ("a \\u-escaped tool name", b'{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"\\u0073pill_stat","arguments":{"id":"' + jid.encode() + b'"}}}', b"16", None),
]
for name, line, rid, code in cases:
    p.send_raw(line)
    got = p.wait_id(rid, 10)
    a = json.loads(got.decode("utf-8", "replace")) if got else None
    good = a is not None and (a.get("error", {}).get("code") == code if code else "result" in a)
    check("%s in a spill call: answered by spill%s" % (name, " with error %d" % code if code else ""), good, (got or b"no answer")[:200].decode("utf-8", "replace"))
p.send_raw(b'{"jsonrpc":"2.0","id":"\xff","method":"tools/call","params":{"name":"spill_stat","arguments":{"id":"x"}}}')
got = p.wait_line(lambda l: b'"id":null' in l and b"-32700" in l, 10)
check("an id that is not UTF-8 in a spill call: error -32700 with id null (the answer stays valid JSON)", got is not None, "no such answer")
for i, uri in enumerate(["SPILL://" + jid, "Spill://" + jid.upper(), "sPiLl://00000000"]):
    rid = b"%d" % (30 + i)
    p.send_raw(json.dumps({"jsonrpc": "2.0", "id": 30 + i, "method": "resources/read", "params": {"uri": uri}}).encode())
    got = p.wait_id(rid, 10)
    a = json.loads(got) if got else {}
    check("resources/read %s is answered by spill" % uri[:9], "contents" in a.get("result", {}) or a.get("error", {}).get("code") in (-32002, -32602), str(got)[:200])
for raw in [b"1e2", b"-0", b"1.50", b'"x\\u0041"', b"12345678901234567890123"]:
    p.send_raw(b'{"jsonrpc":"2.0","id":' + raw + b',"method":"tools/call","params":{"name":"spill_stat","arguments":{"id":"' + jid.encode() + b'"}}}')
    got = p.wait_id(raw, 10)
    check("the id %s comes back byte for byte" % raw.decode(), got is not None and (b'"result"' in got or b"-32700" in got), str(got)[:200])
for raw in [b'{"a":1}', b"[1]", b"true"]:
    tag = b"bad-%d" % len(raw)
    p.send_raw(b'{"jsonrpc":"2.0","id":' + raw + b',"method":"tools/call","params":{"name":"spill_stat","arguments":{"id":"' + tag + b'"}}}')
    got = p.wait_line(lambda l: b'"id":null' in l and b"-32600" in l, 10)
    check("an invalid id %s: error -32600 (invalid request) with id null" % raw.decode(), got is not None, "no such answer")
    p.lines = [x for x in p.lines if x[1] != got]
lat = p.ping()
bound("after all that the server still answers a ping within 100 ms", lat is not None and lat <= PING_S, str(lat))
p.close()
sent = open(rec, "rb").read()
check("none of these calls reached the server", b"spill" not in sent.lower() and b"\\u0073pill" not in sent, sent[:300].decode("utf-8", "replace"))

# A call of the server's own tool with invalid UTF-8 still goes to the server as sent.
open(rec, "w").close()
p = start()
p.send_raw(b'{"jsonrpc":"2.0","id":40,"method":"tools/call","params":{"name":"echo","arguments":{"spill":"\xff"}}}')
got = p.wait_id(b"40", 10)
p.close()
check("a server tool's call that jansson refuses still reaches the server unchanged", b'"spill":"\xff"' in open(rec, "rb").read(), str(got)[:200])

# ---- item 3: 20,000 pipelined spill_read calls from an agent that does not read ----
p = start(read=False)
N = 20000
def writer():
    try:
        for i in range(N):
            p.p.stdin.write(call_line(1000 + i, "spill_read", {"id": gid}) + b"\n")
        p.p.stdin.flush()
    except (BrokenPipeError, ValueError):
        pass
w = threading.Thread(target=writer, daemon=True); w.start()
time.sleep(10)
hwm = p.hwm_mb()
bound("20,000 pipelined spill_read calls, stdout unread for 10 s: peak RSS under 64 MB", hwm is not None and hwm < RSS_MB, "VmHWM %s MB" % hwm)
p.start_reading()
got = p.wait_id(b"1200", 60)
check("... and once the agent reads, the answers flow, in order of arrival", got is not None and b"[spill_read]" in got, str(got)[:200])
hwm2 = p.hwm_mb()
took = p.sigterm_exit_time()
check("... SIGTERM ends spill within 2 s with thousands of calls waiting", took is not None and took <= TERM_S, "took %s s" % took)
print("# pipelined spill_read: VmHWM %.1f MB after 10 s unread, %.1f MB after reading; SIGTERM exit %.2f s" % (hwm or -1, hwm2 or -1, took or -1))

# ---- item 4: failed allocations while queueing output never send half a line ----
env = dict(os.environ, SPILL_TEST_OUTQ_FAIL="3")
p = start(env=env)
for i in range(40):
    p.send_raw(call_line(500 + i, "spill_stat" if i % 2 else "spill_read", {"id": jid}))
answered = sum(1 for i in range(40) if p.wait_id(b"%d" % (500 + i), 20) is not None)
p.close()
def parses(l):
    try:
        json.loads(l); return l.endswith(b"\n")
    except ValueError:
        return False
lines = [l for _, l in p.lines if l is not None]
check("every third output allocation failing: every line the agent gets is whole JSON", lines and all(parses(l) for l in lines), str([l[:80] for l in lines if not parses(l)][:3]))
check("... and every one of 40 local calls is still answered", answered == 40, "%d of 40" % answered)
# The same with traffic to and from the server: forwarded messages wait for memory, whole.
p = start(env=env)
for i in range(40):
    p.send_raw(call_line(600 + i, "echo" if i % 2 else "spill_stat", {"id": jid, "n": i}))
answered = sum(1 for i in range(40) if p.wait_id(b"%d" % (600 + i), 20) is not None)
p.close()
lines = [l for _, l in p.lines if l is not None]
check("... with the server's answers among them too: every line whole JSON, all 40 answered",
      answered == 40 and lines and all(parses(l) for l in lines), "%d of 40; %s" % (answered, [l[:80] for l in lines if not parses(l)][:3]))

time.sleep(0.5)
# The sidecar's own reports; a worker's (a libjq crash is expected) reach it only inside
# the "spill: warning: ..." lines that quote them.
said = [l for q in peers for l in q.err if (b"Sanitizer" in l or b"runtime error" in l) and not l.startswith(b"spill:")]
check("no sanitizer report from the sidecar", not said, b"".join(said[:3]).decode("utf-8", "replace")[:300])
PY
