"""A minimal MCP client for the sidecar tests: speaks NDJSON to a command's stdio and
checks what `spill run` does. Prints ok/not ok lines like every other test."""
import json, os, signal, subprocess, sys, threading, time

def ok(name): print("ok - " + name, flush=True)
def fail(name, why): print("not ok - %s: %s" % (name, why), flush=True)
def check(name, cond, why=""):
    ok(name) if cond else fail(name, why or "condition false")

class Peer:
    def __init__(self, argv, env=None):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
        self.err = []
        threading.Thread(target=lambda: self.err.extend(self.p.stderr), daemon=True).start()
        self.next = 1
    def send(self, obj):
        self.p.stdin.write((json.dumps(obj) + "\n").encode()); self.p.stdin.flush()
    def read(self):
        line = self.p.stdout.readline()
        return json.loads(line) if line else None
    def call(self, method, params=None):
        i = self.next; self.next += 1
        m = {"jsonrpc": "2.0", "id": i, "method": method}
        if params is not None: m["params"] = params
        self.send(m)
        while True:
            r = self.read()
            if r is None or r.get("id") == i: return r
    def close(self):
        self.p.stdin.close()
        return self.p.wait(timeout=20)

def text(r): return r["result"]["content"][0]["text"]
def handle_id(t):
    for line in t.splitlines():
        if line.startswith("id: "): return line[4:4 + 32]
    return None

def page_all(peer, oid):
    """Follows spill_read's next: calls to the end; returns the bytes."""
    out, args, pages = [], {"id": oid}, 0
    while True:
        t = text(peer.call("tools/call", {"name": "spill_read", "arguments": args}))
        body, _, footer = t.rpartition("\n[spill_read]")
        out.append(body + ("\n" if body and not body.endswith("\n") and "next:" in footer else ""))
        pages += 1
        if "next: spill_read " not in footer: return "".join(out), pages
        args = json.loads(footer.split("next: spill_read ", 1)[1].strip())
