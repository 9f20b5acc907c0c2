#!/usr/bin/env bash
# bench/sidecar_bench.sh BUILD - what `spill run` costs between an agent and a real MCP
# server, as ratios to baselines measured in the same run (the machine is shared and
# noisy: runs are interleaved and the best of RUNS is kept where a run is cheap).
#
#   1. server-filesystem read_text_file of a 50 MiB text file (524,288 lines of 100 chars;
#      the response is one ~106 MB line: text + structuredContent). Time from writing the
#      tools/call request to having the whole response, for a raw byte-level NDJSON client
#      (a) on the server directly and (b) through `spill run --store TMP -- server` (the
#      response is then the handle). Target (b)/(a) <= 1.3. spill's own peak RSS during
#      (b), read as VmHWM from /proc/PID/status of the spill process after the response
#      (not /usr/bin/time: wait4's ru_maxrss would include the server child). Target <= 64 MiB.
#   2. (c) the same call through supergateway 4.0.0 --stateful --outputTransport
#      streamableHttp (bound to 127.0.0.1 by tests/peers/bind-loopback.mjs) with a raw HTTP
#      client: initialize, notifications/initialized, POST tools/call, read the SSE response
#      to its end. Its time, supergateway's peak RSS (VmHWM), (c)/(b). Cut off at 200 s.
#      (d) the same through mcp-proxy (punkpeye) --server stream, stateful (its default;
#      event store on, as shipped) --host 127.0.0.1, same client flow on /mcp (the
#      response may come as SSE or as JSON). Its time, mcp-proxy's peak RSS, (d)/(b). Cut
#      off at 200 s, or earlier when it stalls: no bytes and no CPU for 30 s (mcp-proxy
#      6.7.19 drops a stdio line over 20 MiB and never answers; that applies to (c) too).
#   3. Round trips of small messages: build/latency 100000 on build/demo_server directly
#      and through spill run; p50, p99 and the added p99. Target added p99 <= 50 us.
#   4. A ping sent while a ~1 GiB result is being spilled: a fake server (Python, a reader
#      thread notes when each request line arrives) streams a single-line 1 GiB tools/call
#      result in 1 MiB writes; the client sends tools/call, waits 0.5 s, sends ping. The
#      delay from writing the ping to the server reading it, through spill and directly.
#      Target: well under a second, taken here as <= 100 ms.
#
# Needs node >= 20, python3 and the pinned peers (npm ci --prefix tests/peers, run here
# when tests/peers/node_modules is missing). About 4-9 minutes on 2 cores, most of it
# supergateway and mcp-proxy. Environment: RUNS (rounds of 1 and 3, default 3), BENCH_DIR
# (temp parent), SG_LIMIT (seconds for (c), default 200), MP_LIMIT (seconds for (d),
# default 200), PING_BYTES (size of the result in 4, 1 GiB).
set -euo pipefail
build=${1:-build}
runs=${RUNS:-3}
sg_limit=${SG_LIMIT:-200}
mp_limit=${MP_LIMIT:-200}
ping_bytes=${PING_BYTES:-1073741824}
root=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build="$PWD/$build" ;; esac
spill="$build/spill"
for f in "$spill" "$build/demo_server" "$build/latency"; do
  [ -x "$f" ] || { echo "sidecar_bench: $f is missing (make -C $root all)" >&2; exit 2; }
done
peers="$root/tests/peers"
if [ ! -d "$peers/node_modules/supergateway" ] || [ ! -d "$peers/node_modules/mcp-proxy" ] ||
   [ ! -d "$peers/node_modules/@modelcontextprotocol/server-filesystem" ]; then
  echo "# installing the pinned peers: npm ci --prefix tests/peers" >&2
  npm ci --prefix "$peers" --no-audit --no-fund --silent >&2
fi

t_start=$(date +%s.%N)
work=$(mktemp -d "${BENCH_DIR:-/tmp}/spill-sidecar-bench.XXXXXX")
pidfile="$work/pids"   # every process the helpers start (one pid per line), for the cleanup
: > "$pidfile"

# ---------------------------------------------------------------- cleanup
descendants() { local c; for c in $(pgrep -P "$1" 2>/dev/null); do descendants "$c"; echo "$c"; done; }
killtree() {  # SIGTERM a tree (children first), then SIGKILL what is left
  local pids p; pids="$(descendants "$1") $1"
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local left=0; for p in $pids; do kill -0 "$p" 2>/dev/null && left=1; done
    [ $left = 0 ] && return 0; sleep 0.2
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
}
cleanup() {
  trap - EXIT INT TERM
  local p
  # processes the helpers recorded, if they still run and are still ours (a helper killed
  # with SIGKILL leaves its children to init, outside this script's tree)
  if [ -s "$pidfile" ]; then
    while read -r p; do
      [ -n "$p" ] && [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null |
        grep -qF -e "$work" -e supergateway -e mcp-proxy -e server-filesystem -e "$spill" && killtree "$p"
    done < "$pidfile"
  fi
  for p in $(pgrep -P $$ 2>/dev/null); do killtree "$p"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "sidecar_bench: interrupted" >&2; exit 130' INT TERM

# Runs a command in the background and waits, so a signal reaches the trap at once.
run() { "$@" & wait $!; }

# ---------------------------------------------------------------- helpers
cat > "$work/fake_server.py" <<'PY'
# A fake MCP stdio server: tools/call "big" answers with one single-line result of about
# SIZE bytes, written in 1 MiB chunks generated on the fly (never held whole). A reader
# thread notes the CLOCK_MONOTONIC time (ns) each request line arrives, in ARRIVALS.
import json, os, queue, sys, threading, time
arrivals = open(sys.argv[1], "w", buffering=1)
size = int(sys.argv[2])
q = queue.Queue()

def reader():
    buf = b""
    while True:
        d = os.read(0, 65536)
        if not d:
            break
        buf += d
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            t = time.monotonic_ns()
            try:
                m = json.loads(line)
            except ValueError:
                continue
            arrivals.write("arrive %s %s %d\n" % (m.get("method"), json.dumps(m.get("id")), t))
            q.put(m)
    q.put(None)

def write(b):
    v = memoryview(b)
    while v:
        v = v[os.write(1, v):]

def reply(m, result):
    write((json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": result}) + "\n").encode())

# ~1 MiB of log-like text as it appears inside a JSON string: words, "\n" escapes every line.
words = [w.encode() for w in ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
         "mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu "
         "request took ms user cache miss hit db query ok error retry timeout worker shard").split()]
x, parts, n = 12345, [], 0
while n < (1 << 20) - 200:
    line = []
    for _ in range(14):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        line.append(words[(x >> 8) % len(words)])
    s = b" ".join(line) + b"\\n"
    parts.append(s); n += len(s)
body = b"".join(parts)

def big(m):
    arrivals.write("big_start %d\n" % time.monotonic_ns())
    write(('{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"' % json.dumps(m["id"])).encode())
    sent, i = 0, 0
    while sent < size:
        chunk = b"chunk %08d " % i + body
        write(chunk); sent += len(chunk); i += 1
    write(b'"}]}}\n')
    arrivals.write("big_end %d %d\n" % (time.monotonic_ns(), sent))

threading.Thread(target=reader, daemon=True).start()
while True:
    m = q.get()
    if m is None:
        break
    if "id" not in m or "method" not in m:
        continue
    meth = m["method"]
    if meth == "initialize":
        reply(m, {"protocolVersion": m.get("params", {}).get("protocolVersion", "2025-06-18"),
                  "capabilities": {"tools": {}}, "serverInfo": {"name": "bench-fake-server", "version": "1.0"}})
    elif meth == "ping":
        reply(m, {})
    elif meth == "tools/list":
        reply(m, {"tools": [{"name": "big", "description": "A very large text result.",
                             "inputSchema": {"type": "object", "properties": {}}}]})
    elif meth == "tools/call" and m.get("params", {}).get("name") == "big":
        big(m)
    else:
        write((json.dumps({"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32601, "message": "no such method"}}) + "\n").encode())
PY

cat > "$work/bench.mjs" <<'JS'
// The clients of sidecar_bench.sh. Raw byte-level: no MCP SDK on the measured path.
//   stdio  OUT TAG PARAMS_JSON -- CMD...     initialize, then one tools/call; time to the response
//   http   OUT LIMIT_S PARAMS_JSON SERVERCMD... supergateway --stateful over SERVERCMD; same call over HTTP
//   mcpproxy OUT LIMIT_S PARAMS_JSON SERVERCMD... the same through mcp-proxy --server stream
//   ping   OUT TAG ARRIVALS -- CMD...        tools/call big, 0.5 s, ping: when did the ping arrive
//   report RESULTS                           prints the table
// Each measurement appends one JSON line to OUT. Process trees, free ports and the loopback
// preload come from tests/peers/lib.mjs.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
const lib = await import(pathToFileURL(process.env.PEERS_LIB).href);
const { tree, alive, killTree, own, freePort, waitPort, shellQuote, sleep, NODE, SUPERGATEWAY, BIND_LOOPBACK, NM } = lib;
const MCP_PROXY = path.join(NM, "mcp-proxy/dist/bin/mcp-proxy.mjs");

const mine = new Set();
function start(cmd, args, opts) {
  const child = spawn(cmd, args, { detached: true, ...opts });
  if (child.pid) {
    own(child.pid); mine.add(child.pid);
    try { fs.appendFileSync(process.env.PIDFILE, `${child.pid}\n`); } catch {}
  }
  return child;
}
function killAllSync() {
  for (const pid of mine) {
    let pids = [];
    try { pids = tree(pid); } catch {}
    for (const p of pids) { try { process.kill(p, "SIGKILL"); } catch {} }
  }
}
process.on("exit", killAllSync);
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, () => process.exit(130));

const nowNs = () => process.hrtime.bigint(); // CLOCK_MONOTONIC, as Python's time.monotonic_ns()
const cpuTicks = (pids) => pids.reduce((sum, p) => {  // utime + stime, clock ticks
  try { const st = fs.readFileSync(`/proc/${p}/stat`, "utf8"); const f = st.slice(st.lastIndexOf(")") + 2).split(" "); return sum + Number(f[11]) + Number(f[12]); }
  catch { return sum; }
}, 0);
const hwmKb = (pid) => {
  try { const m = /VmHWM:\s*(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8")); return m ? Number(m[1]) : null; }
  catch { return null; }
};

/** Splits a byte stream into lines in linear time. Each line: len, head and tail (256 bytes),
 * buf (whole, only if len <= keepMax). */
class Lines {
  constructor(onLine, keepMax = 4 << 20) { this.onLine = onLine; this.keepMax = keepMax; this.reset(); }
  reset() { this.len = 0; this.head = Buffer.alloc(0); this.tail = Buffer.alloc(0); this.pieces = []; this.keep = true; }
  add(p) {
    if (this.head.length < 256) this.head = Buffer.concat([this.head, p.subarray(0, 256 - this.head.length)]);
    this.tail = p.length >= 256 ? p.subarray(p.length - 256) : Buffer.concat([this.tail, p]).subarray(-256);
    this.len += p.length;
    if (this.keep) { this.pieces.push(p); if (this.len > this.keepMax) { this.keep = false; this.pieces = []; } }
  }
  push(chunk) {
    let s = 0;
    for (;;) {
      const i = chunk.indexOf(10, s);
      const e = i < 0 ? chunk.length : i;
      if (e > s) this.add(chunk.subarray(s, e));
      if (i < 0) return;
      const line = { len: this.len, head: this.head, tail: this.tail, buf: this.keep ? Buffer.concat(this.pieces) : null };
      this.reset();
      s = i + 1;
      this.onLine(line);
    }
  }
}
/** Is this line the response with this id? Small lines are parsed, big ones looked at. */
function isResponse(line, id) {
  if (line.buf) {
    let m; try { m = JSON.parse(line.buf.toString()); } catch { return false; }
    return m && m.id === id && ("result" in m || "error" in m) && !("method" in m);
  }
  const re = new RegExp(`"id"\\s*:\\s*${id}\\s*[,}]`);
  const h = line.head.toString("latin1"), t = line.tail.toString("latin1");
  return (re.test(h.slice(0, 40)) || re.test(t)) && !/^\{[^"]*"method"/.test(h) && /"(result|error)"\s*:/.test(h + t);
}

/** A raw NDJSON session on a child process. */
function session(cmd, keepMax) {
  const child = start(cmd[0], cmd.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  const waiters = [];
  let stderr = "", ended = false;
  const lines = new Lines((line) => {
    const t = nowNs();
    for (const w of [...waiters]) if (isResponse(line, w.id)) { waiters.splice(waiters.indexOf(w), 1); w.resolve({ line, t }); }
  }, keepMax);
  child.stdout.on("data", (c) => lines.push(c));
  child.stdout.on("end", () => { ended = true; for (const w of waiters.splice(0)) w.reject(new Error(`stdout closed; stderr: ${stderr.slice(-400)}`)); });
  child.stderr.on("data", (d) => { stderr = (stderr + d).slice(-4000); });
  child.stdin.on("error", () => {});
  return {
    child, pid: child.pid,
    send(m) { const b = JSON.stringify(m) + "\n"; const t = nowNs(); child.stdin.write(b); return t; }, // t: just before the write
    wait(id, ms) {
      return new Promise((resolve, reject) => {
        if (ended) return reject(new Error(`stdout closed; stderr: ${stderr.slice(-400)}`));
        const w = { id, resolve, reject };
        waiters.push(w);
        setTimeout(() => { if (waiters.includes(w)) { waiters.splice(waiters.indexOf(w), 1); reject(new Error(`no response ${id} within ${ms} ms`)); } }, ms).unref();
      });
    },
    async init() {
      this.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "sidecar-bench", version: "1.0" } } });
      await this.wait(1, 60000);
      this.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    },
    async close() {
      child.stdin.end();
      await Promise.race([new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r))), sleep(5000)]);
      await killTree(child.pid, 2000);
    },
  };
}
const record = (out, rec) => fs.appendFileSync(out, JSON.stringify(rec) + "\n");
const secsSince = (t0, t1) => Number(t1 - t0) / 1e9;

async function cmdStdio(out, tag, params, cmd) {
  const rec = { kind: "fs", side: tag };
  const s = session(cmd);
  try {
    await s.init();
    const resp = s.wait(2, 120000);
    const t0 = s.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: JSON.parse(params) });
    const { line, t } = await resp;
    rec.secs = secsSince(t0, t);
    rec.hwm_kb = hwmKb(s.pid);
    rec.bytes = line.len;
    const text = line.buf ? line.buf.toString() : "";
    rec.handle = /(^|\\n)id: [0-9a-f]{32}(\\n|$)/.test(text);
    rec.is_error = /"isError"\s*:\s*true/.test(line.buf ? text : line.head.toString() + line.tail.toString());
  } catch (e) { rec.err = String(e.message || e); }
  finally { await s.close(); }
  record(out, rec);
}

async function cmdPing(out, tag, arrivalsFile, cmd) {
  const rec = { kind: "ping", side: tag };
  const s = session(cmd, 1 << 20);
  try {
    await s.init();
    const big = s.wait(2, 300000);
    const tCall = s.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "big", arguments: {} } });
    await sleep(500);
    const pong = s.wait(3, 300000);
    const tPing = s.send({ jsonrpc: "2.0", id: 3, method: "ping" });
    const [b, p] = await Promise.all([big, pong]);
    const arr = fs.readFileSync(arrivalsFile, "utf8");
    const ping = /^arrive ping 3 (\d+)$/m.exec(arr), bs = /^big_start (\d+)$/m.exec(arr), be = /^big_end (\d+) (\d+)$/m.exec(arr);
    if (!ping || !bs || !be) throw new Error(`arrivals incomplete: ${arr.slice(-300)}`);
    const tArr = BigInt(ping[1]);
    rec.delay_ms = Number(tArr - tPing) / 1e6;
    rec.during = BigInt(bs[1]) < tPing && tArr < BigInt(be[1]); // the ping reached the server while it was writing
    rec.big_secs = secsSince(tCall, b.t);
    rec.big_bytes = b.line.len;
    rec.server_bytes = Number(be[2]);
    rec.pong_ms = Number(p.t - tPing) / 1e6;
    rec.hwm_kb = hwmKb(s.pid);
  } catch (e) { rec.err = String(e.message || e); }
  finally { await s.close(); }
  record(out, rec);
}

/** One HTTP POST; onChunk(chunk, finish, res) sees the body. done: resolves at the end of the
 * body, or when onChunk calls finish(). req: the request (destroy() stops it). */
function post(port, headers, body, onChunk) {
  let req;
  const done = new Promise((resolve, reject) => {
    req = http.request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", agent: false,
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream", ...headers } }, (res) => {
      const chunks = []; let n = 0;
      const finish = (extra) => { resolve({ status: res.statusCode, headers: res.headers, bytes: n, ...extra }); req.destroy(); };
      res.on("data", (c) => { n += c.length; if (onChunk) onChunk(c, finish, res); else chunks.push(c); });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, bytes: n, body: onChunk ? null : Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  req.end(body);
  return { done, req };
}

/** peer "sg": supergateway --stateful; "mp": mcp-proxy --server stream (stateful, its default). */
async function cmdHttp(out, limitS, params, serverCmd, peer = "sg") {
  const rec = { kind: peer, limit_s: Number(limitS) };
  const port = await freePort();
  const peerName = peer === "mp" ? "mcp-proxy" : "supergateway";
  const args = peer === "mp"
    ? [MCP_PROXY, "--host", "127.0.0.1", "--port", String(port), "--server", "stream", "--", ...serverCmd]
    : ["--import", pathToFileURL(BIND_LOOPBACK).href, SUPERGATEWAY, "--stdio", serverCmd.map(shellQuote).join(" "),
      "--outputTransport", "streamableHttp", "--stateful", "--port", String(port), "--logLevel", "none"];
  const sg = start(NODE, args, { stdio: ["ignore", "ignore", "pipe"] });
  let sgErr = "";
  sg.stderr.on("data", (d) => { sgErr = (sgErr + d).slice(-2000); });
  try {
    await waitPort(port, 30000, sg);
    const init = await post(port, {}, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "sidecar-bench", version: "1.0" } } })).done;
    const sid = init.headers["mcp-session-id"];
    if (init.status !== 200 || !sid) throw new Error(`initialize: HTTP ${init.status}, session ${sid}: ${String(init.body).slice(0, 300)}`);
    const h = { "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25" };
    const ni = await post(port, h, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })).done;
    if (ni.status >= 300) throw new Error(`notifications/initialized: HTTP ${ni.status}`);
    // SSE: lines; a "data:" line holding response 2 followed by the blank line ends the event.
    // A JSON body (Content-Type application/json) is the response itself, ended by the body's end.
    let got = false, tEnd = null, json = null, rpcErr = null;
    let finishFn = null;
    const errorOf = (l) => {  // the JSON-RPC error message of response 2, or null
      if (l.buf) { try { const m = JSON.parse(l.buf.toString()); return m.error ? String(m.error.message ?? JSON.stringify(m.error)) : null; } catch { return null; } }
      return /^\{[^"]*("[a-z]+"\s*:\s*("[^"]*"|\d+)\s*,\s*)*"error"\s*:/.test(l.head.toString("latin1")) ? "(error response)" : null;
    };
    const lines = new Lines((line) => {
      const l = line.len && line.tail[line.tail.length - 1] === 13 ? { ...line, len: line.len - 1 } : line;
      if (json) { if (isResponse(l, 2)) { got = true; rpcErr = errorOf(l); } return; }
      if (l.len === 0) { if (got && !tEnd) { tEnd = nowNs(); finishFn && finishFn({ byEvent: true }); } return; }
      if (l.head.toString("latin1").startsWith("data:")) {
        const fake = { ...l, head: l.head.subarray(5), buf: l.buf ? l.buf.subarray(5) : null };
        if (isResponse(fake, 2)) { got = true; rpcErr = errorOf(fake); }
      }
    }, 1 << 20);
    const t0 = nowNs();
    const call = post(port, h, JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: JSON.parse(params) }),
      (c, finish, res) => {
        finishFn = finish; rec.bytes = (rec.bytes ?? 0) + c.length; // bytes so far, for a timeout or an error
        if (json === null) { json = /^application\/json/i.test(res.headers["content-type"] || ""); rec.content_type = res.headers["content-type"]; rec.status = res.statusCode; }
        lines.push(c);
      });
    call.done.then(() => { if (json) lines.push(Buffer.from("\n")); }, () => {});
    const timer = sleep(rec.limit_s * 1000).then(() => "timeout");
    // Stalled: for STALL_S under 1 KiB reached the client (SSE keep-alive comments only) and the
    // peer's tree used < 0.5 s of CPU: a peer that dropped the response without answering.
    // Ends the wait before the cut-off.
    const STALL_S = 30, samples = [];
    let stallTimer;
    const stall = new Promise((resolve) => {
      stallTimer = setInterval(() => {
        const now = nowNs(), c = cpuTicks(tree(sg.pid)), by = rec.bytes ?? 0;
        samples.push({ now, c, by });
        while (samples.length > 1 && secsSince(samples[1].now, now) >= STALL_S) samples.shift();
        const old = samples[0];
        if (secsSince(old.now, now) >= STALL_S && c - old.c < 50 && by - old.by < 1024) { rec.stalled_at_s = secsSince(t0, old.now); resolve("stalled"); }
      }, 1000);
    });
    const r = await Promise.race([call.done, timer, stall]);
    clearInterval(stallTimer);
    const t1 = tEnd ?? nowNs();
    rec.hwm_kb = hwmKb(sg.pid);
    rec.child_hwm_kb = Math.max(0, ...tree(sg.pid).slice(1).map((p) => hwmKb(p) || 0));
    if (r === "timeout") { rec.timeout = true; try { call.req.destroy(); } catch {} }
    else if (r === "stalled") {
      rec.stalled = true; rec.secs = secsSince(t0, t1); try { call.req.destroy(); } catch {}
      rec.err = `no response: after ${rec.stalled_at_s.toFixed(1)} s nothing more came (HTTP ${rec.status ?? "-"}, ${rec.bytes ?? 0} bytes) and ${peerName} then sat idle for ${STALL_S} s`;
    }
    else {
      rec.secs = secsSince(t0, t1); rec.bytes = r.bytes; rec.status = r.status; rec.got = got;
      if (!got) rec.err = `HTTP ${r.status}, ${r.bytes} bytes, no response 2 in the ${json ? "JSON body" : "SSE stream"}` + (sgErr ? `; ${peerName}: ${sgErr.slice(-300)}` : "");
      else if (rpcErr) rec.err = `JSON-RPC error response after ${rec.secs.toFixed(1)} s: ${rpcErr.slice(0, 200)}`;
    }
  } catch (e) { rec.err = String(e.message || e) + (sgErr ? `; ${peerName}: ${sgErr.slice(-300)}` : ""); }
  finally { if (rec.hwm_kb == null) rec.hwm_kb = hwmKb(sg.pid); await killTree(sg.pid, 3000); }
  record(out, rec);
}

function report(file) {
  const recs = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
  const pick = (kind, side) => recs.filter((r) => r.kind === kind && (side === undefined || r.side === side));
  const good = (rs, f) => rs.filter((r) => !r.err && r[f] != null);
  const min = (xs) => (xs.length ? Math.min(...xs) : null);
  const max = (xs) => (xs.length ? Math.max(...xs) : null);
  const errs = (rs) => rs.filter((r) => r.err).map((r) => `${r.kind}/${r.side ?? ""}: ${r.err}`);
  const f = (x, d, u = "") => (x == null ? "-" : x.toFixed(d) + u);
  const kb = (x) => (x == null ? "-" : x.toLocaleString("en-US") + " KB");
  const rows = [];
  const row = (measure, sp, base, ratio, target, verdict) => rows.push([measure, sp, base, ratio, target, verdict]);
  const verdict = (v, limit) => (v == null ? "MISSED" : v <= limit ? "ok" : "MISSED");
  const notes = [];

  // 1. filesystem, direct vs through spill
  const fa = pick("fs", "a"), fb = pick("fs", "b");
  const a = min(good(fa, "secs").map((r) => r.secs));
  const bOk = good(fb, "secs").filter((r) => r.handle);
  const b = min(bOk.map((r) => r.secs));
  const r1 = a && b ? b / a : null;
  row(`50 MiB read_text_file, call->response: (b) spill run vs (a) direct`, f(b, 3, " s"), f(a, 3, " s"), f(r1, 2), "<= 1.3", verdict(r1, 1.3));
  const hwm = max(good(fb, "hwm_kb").map((r) => r.hwm_kb));
  row(`spill peak RSS (VmHWM) during (b), max of runs`, kb(hwm), "-", "-", "<= 65,536 KB", verdict(hwm, 65536));
  for (const r of fb) if (!r.err && !r.handle) notes.push(`(b) run gave no handle (${r.bytes} bytes${r.is_error ? ", isError" : ""})`);
  const fsRuns = `(a) ${fa.map((r) => f(r.secs, 3)).join("/")} s, (b) ${fb.map((r) => f(r.secs, 3)).join("/")} s`;
  const aBytes = good(fa, "bytes")[0]?.bytes, bBytes = good(fb, "bytes")[0]?.bytes;
  notes.push(`1: runs ${fsRuns}; response ${aBytes?.toLocaleString("en-US") ?? "?"} bytes direct, ${bBytes?.toLocaleString("en-US") ?? "?"} bytes through spill (the handle)`);

  // 2. supergateway
  const sg = pick("sg")[0];
  if (sg) {
    const c = sg.timeout ? null : sg.secs ?? null;
    const cTxt = sg.timeout ? `> ${sg.limit_s} s` : sg.err ? "error" : f(c, 1, " s");
    const r2 = sg.timeout && b ? `> ${(sg.limit_s / b).toFixed(0)}` : c && b ? (c / b).toFixed(1) : "-";
    row(`same call via supergateway --stateful (c) vs (b): (c)/(b)`, f(b, 3, " s"), cTxt, r2, "-", "-");
    row(`proxy peak RSS (VmHWM): spill (b) vs supergateway (c)`, kb(hwm), kb(sg.hwm_kb ?? null), sg.hwm_kb && hwm ? (sg.hwm_kb / hwm).toFixed(1) : "-", "-", "-");
    notes.push(`2: supergateway ${sg.timeout ? `stopped after ${sg.limit_s} s` : `${(sg.bytes ?? 0).toLocaleString("en-US")} bytes of SSE, HTTP ${sg.status}`}; its server child's peak RSS ${kb(sg.child_hwm_kb ?? null)}`);
  } else row(`same call via supergateway --stateful (c)`, "-", "not run", "-", "-", "-");

  // 2. mcp-proxy
  const mp = pick("mp")[0];
  if (mp) {
    const d = mp.timeout || mp.err ? null : mp.secs ?? null;
    const dTxt = mp.timeout ? `> ${mp.limit_s} s` : mp.stalled ? "no response" : mp.err ? "error" : f(d, 1, " s");
    const r3 = mp.timeout && b ? `> ${(mp.limit_s / b).toFixed(0)}` : d && b ? (d / b).toFixed(1) : "-";
    row(`same call via mcp-proxy (d) vs (b): (d)/(b)`, f(b, 3, " s"), dTxt, r3, "-", "-");
    row(`proxy peak RSS (VmHWM): spill (b) vs mcp-proxy (d)`, kb(hwm), kb(mp.hwm_kb ?? null), mp.hwm_kb && hwm ? (mp.hwm_kb / hwm).toFixed(1) : "-", "-", "-");
    notes.push(`2: mcp-proxy ${mp.timeout ? `stopped after ${mp.limit_s} s` : mp.stalled ? `gave up after ${f(mp.secs, 1, " s")} (stalled)` : mp.err ? "failed" : "done"}, HTTP ${mp.status ?? "-"}; ${(mp.bytes ?? 0).toLocaleString("en-US")} bytes received (${mp.content_type ?? "no body"}); its server child's peak RSS ${kb(mp.child_hwm_kb ?? null)}` +
      (mp.stalled ? "; mcp-proxy 6.7.19 drops a stdio line over 20 MiB (JSONFilterTransform; not configurable; --debug shows the error) and never answers the call (a 10-20 MiB line gets error -32603 \"Connection closed\": the SDK's 10 MiB stdio buffer)" : ""));
  } else row(`same call via mcp-proxy (d)`, "-", "not run", "-", "-", "-");

  // 3. latency
  const ld = good(pick("lat", "direct"), "p99"), ls = good(pick("lat", "spill"), "p99");
  const d50 = min(ld.map((r) => r.p50)), s50 = min(ls.map((r) => r.p50));
  const d99 = min(ld.map((r) => r.p99)), s99 = min(ls.map((r) => r.p99));
  row(`ping round trip p50, latency 100000 (spill run vs direct)`, f(s50, 1, " us"), f(d50, 1, " us"), d50 && s50 ? (s50 / d50).toFixed(2) : "-", "-", "-");
  row(`ping round trip p99, latency 100000 (spill run vs direct)`, f(s99, 1, " us"), f(d99, 1, " us"), d99 && s99 ? (s99 / d99).toFixed(2) : "-", "-", "-");
  // Each round measured both sides back to back: the added tail is a per-round
  // difference, and the median of those is reported.
  const diffs = ld.length === ls.length ? ld.map((r, i) => ls[i].p99 - r.p99).sort((a, b) => a - b) : [];
  const added = diffs.length ? diffs[(diffs.length - 1) >> 1] : null;
  row(`added p99 latency (median over rounds of spill p99 - direct p99)`, f(added, 1, " us"), "-", "-", "<= 50 us", verdict(added, 50));
  notes.push(`3: runs p50/p99 direct ${ld.map((r) => `${r.p50}/${r.p99}`).join(", ")} us; spill ${ls.map((r) => `${r.p50}/${r.p99}`).join(", ")} us`);

  // 4. ping during a 1 GiB spill
  const pd = pick("ping", "direct")[0], ps = pick("ping", "spill")[0];
  const dly = ps && !ps.err ? ps.delay_ms : null, dlyD = pd && !pd.err ? pd.delay_ms : null;
  const valid = ps && !ps.err && ps.during;
  row(`ping written -> read by server, while a ${((ps?.server_bytes ?? pd?.server_bytes ?? 0) / 2 ** 30).toFixed(2)} GiB result spills`, f(dly, 2, " ms") + (ps && !ps.err && !ps.during ? "*" : ""),
    f(dlyD, 2, " ms") + (pd && !pd.err && !pd.during ? "*" : ""),
    dly != null && dlyD ? (dly / dlyD).toFixed(1) : "-", "<= 100 ms", valid ? verdict(dly, 100) : "MISSED");
  for (const [n, p] of [["direct", pd], ["spill", ps]]) if (p && !p.err)
    notes.push(`4 ${n}: result done ${f(p.big_secs, 2, " s")} after the call (${(p.big_bytes).toLocaleString("en-US")} bytes to the client), ping answered ${f(p.pong_ms, 0, " ms")} after sending, ping arrived ${p.during ? "while the server was still writing" : "NOT while the server was writing (*: not a ping during a large result)"}${n === "spill" ? `, spill peak RSS ${kb(p.hwm_kb)}` : ""}`);

  const w = [0, 0, 0, 0, 0, 0];
  const head = ["measure", "spill", "baseline", "ratio", "target", "ok/MISSED"];
  for (const r of [head, ...rows]) r.forEach((c, i) => (w[i] = Math.max(w[i], String(c).length)));
  const fmt = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join(" | ");
  console.log(fmt(head));
  console.log(w.map((n) => "-".repeat(n)).join("-|-"));
  for (const r of rows) console.log(fmt(r));
  for (const n of notes) console.log(`# ${n}`);
  for (const e of errs(recs)) console.log(`# error ${e}`);
}

const [cmd, ...args] = process.argv.slice(2);
const dd = args.indexOf("--");
if (cmd === "stdio") await cmdStdio(args[0], args[1], args[2], args.slice(dd + 1));
else if (cmd === "ping") await cmdPing(args[0], args[1], args[2], args.slice(dd + 1));
else if (cmd === "http") await cmdHttp(args[0], args[1], args[2], args.slice(3));
else if (cmd === "mcpproxy") await cmdHttp(args[0], args[1], args[2], args.slice(3), "mp");
else if (cmd === "report") report(args[0]);
else { console.error(`bench.mjs: unknown command ${cmd}`); process.exit(2); }
process.exit(0);
JS

export PEERS_LIB="$peers/lib.mjs" PIDFILE="$pidfile"
results="$work/results.jsonl"
: > "$results"
helper() {  # a helper that died records its measurement as failed
  local kind side=${3:-}
  case $1 in stdio) kind=fs ;; http) kind=sg side= ;; mcpproxy) kind=mp side= ;; *) kind=$1 ;; esac
  run node "$work/bench.mjs" "$@" || echo "{\"kind\":\"$kind\",\"side\":\"$side\",\"err\":\"helper exited $?\"}" >> "$results"
}

# ---------------------------------------------------------------- 1. server-filesystem, 50 MiB
mkdir -p "$work/fsroot"
python3 - "$work/fsroot/big50.txt" <<'PY'
import random, string, sys
random.seed(1)
l = "".join(random.choice(string.ascii_letters + " ") for _ in range(99)) + "\n"
with open(sys.argv[1], "w") as f:
    for i in range(524288):
        f.write("%08d " % i + l[9:])
PY
fsroot=$(cd "$work/fsroot" && pwd -P)
params="{\"name\":\"read_text_file\",\"arguments\":{\"path\":\"$fsroot/big50.txt\"}}"
fs_server=(node "$peers/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js" "$fsroot")
echo "# sidecar benchmark: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $runs interleaved rounds; $(node --version)"
echo "# 1. server-filesystem read_text_file of $(stat -c %s "$fsroot/big50.txt") bytes: (a) direct, (b) through spill run" >&2
for r in $(seq "$runs"); do
  helper stdio "$results" a "$params" -- "${fs_server[@]}"
  rm -rf "$work/store-fs"
  helper stdio "$results" b "$params" -- "$spill" run --store "$work/store-fs" -- "${fs_server[@]}"
done
rm -rf "$work/store-fs"

# ---------------------------------------------------------------- 3. small-message latency
echo "# 3. build/latency 100000: direct and through spill run" >&2
# Each round measures direct, then through spill run, back to back; the added tail is
# the per-round difference (the median over rounds is reported), so slow drifts of a
# shared machine's load fall on both sides of each difference alike. (bench/latency.c
# can also interleave two servers ping by ping, but then each pair's activity changes
# how fast the other's idle vCPUs wake, which is exactly what is being measured.)
lat() {
  local side=$1 out; shift
  out=$(run "$build/latency" 100000 -- "$@" 2>&1) && [[ $out =~ ^([0-9.]+)\ ([0-9.]+)$ ]] &&
    echo "{\"kind\":\"lat\",\"side\":\"$side\",\"p50\":${BASH_REMATCH[1]},\"p99\":${BASH_REMATCH[2]}}" >> "$results" ||
    echo "{\"kind\":\"lat\",\"side\":\"$side\",\"err\":$(printf '%s' "$out" | head -c 300 | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')}" >> "$results"
}
for r in $(seq "$runs"); do
  lat direct "$build/demo_server"
  rm -rf "$work/store-lat"
  lat spill "$spill" run --store "$work/store-lat" -- "$build/demo_server"
done
rm -rf "$work/store-lat"

# ---------------------------------------------------------------- 4. ping during a 1 GiB spill
echo "# 4. ping while a $ping_bytes-byte result is written: direct, then through spill run" >&2
helper ping "$results" direct "$work/arrivals-direct" -- python3 "$work/fake_server.py" "$work/arrivals-direct" "$ping_bytes"
helper ping "$results" spill "$work/arrivals-spill" -- "$spill" run --store "$work/store-ping" -- python3 "$work/fake_server.py" "$work/arrivals-spill" "$ping_bytes"
rm -rf "$work/store-ping"

# ---------------------------------------------------------------- 2. supergateway (longest, last)
echo "# 2. the same read_text_file through supergateway --stateful (up to $sg_limit s)" >&2
helper http "$results" "$sg_limit" "$params" "${fs_server[@]}"
echo "# 2d. the same read_text_file through mcp-proxy --server stream (up to $mp_limit s)" >&2
helper mcpproxy "$results" "$mp_limit" "$params" "${fs_server[@]}"

node "$work/bench.mjs" report "$results"
echo "# total $(awk -v s="$t_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }') s"
