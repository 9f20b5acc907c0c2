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

class AsyncPeer:
    """A client that reads the sidecar's stdout on a thread (or not at all until told to),
    keeps every raw line with its arrival time, and measures what the harm tests bound:
    the answer time of a ping and the sidecar's peak RSS (VmHWM of its own process)."""
    def __init__(self, argv, env=None, read=True):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
        self.err = []
        threading.Thread(target=lambda: self.err.extend(self.p.stderr), daemon=True).start()
        self.lines, self.cv, self.nping = [], threading.Condition(), 0
        if read: self.start_reading()
    def start_reading(self):
        def run():
            for line in self.p.stdout:
                with self.cv:
                    self.lines.append((time.monotonic(), line)); self.cv.notify_all()
            with self.cv:
                self.lines.append((time.monotonic(), None)); self.cv.notify_all()
        threading.Thread(target=run, daemon=True).start()
    def send_raw(self, b):
        """Writes one line; False when the sidecar is gone (a crash is the test's to report)."""
        try:
            self.p.stdin.write(b if b.endswith(b"\n") else b + b"\n"); self.p.stdin.flush()
            return True
        except (BrokenPipeError, ValueError):
            return False
    def wait_line(self, pred, timeout):
        """The first line (raw bytes) for which pred holds, or None after timeout."""
        end = time.monotonic() + timeout
        with self.cv:
            i = 0
            while True:
                while i < len(self.lines):
                    t, l = self.lines[i]; i += 1
                    if l is None: return None
                    if pred(l): return l
                left = end - time.monotonic()
                if left <= 0: return None
                self.cv.wait(left)
    def wait_id(self, raw_id, timeout):
        """The answer whose id is raw_id (bytes, as sent), matched on the raw line."""
        key = b'"id":' + raw_id + b','
        return self.wait_line(lambda l: key in l.replace(b'"id": ', b'"id":'), timeout)
    def ping(self, timeout=5):
        """Seconds until the server's answer to a ping arrives (None: no answer)."""
        self.nping += 1
        rid = b'"ping-%d"' % self.nping
        t0 = time.monotonic()
        if not self.send_raw(b'{"jsonrpc":"2.0","id":' + rid + b',"method":"ping"}'):
            return None
        return None if self.wait_id(rid, timeout) is None else time.monotonic() - t0
    def close(self, timeout=20):
        try:
            self.p.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()
    def hwm_mb(self):
        try:
            for l in open("/proc/%d/status" % self.p.pid):
                if l.startswith("VmHWM:"): return int(l.split()[1]) / 1024.0
        except OSError:
            pass
        return None
    def sigterm_exit_time(self, timeout=10):
        t0 = time.monotonic()
        if self.p.poll() is not None:
            return None  # it was gone already
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill(); self.p.wait()
            return None
        return time.monotonic() - t0
