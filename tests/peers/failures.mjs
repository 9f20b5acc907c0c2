// Scenario d: failure modes through `spill run`, with tests/peers/fake-server.mjs as the
// server: slow answers, a flood of stderr, death in the middle of a large or a small
// response (by status and by signal), garbage lines between valid messages, and an agent
// that closes stdin (or goes away) in the middle of a response.
//
// Through spill: spill exits with the server's status when the server dies (128+N for a
// signal), 0 when the agent closed stdin and the server exited; says what happened on
// stderr in a "spill: ..." line; never writes a torn or invalid JSON line to the agent;
// passes garbage lines through unchanged; leaves no process behind; and the store verifies.
// spill runs with --threshold 1000 so that "big" (2 MB) spills and "small" (2 KB) passes.
//
// Under SPILL_DIRECT=1 the fake server runs alone: the controls show it misbehaves as meant
// (torn lines are visible, the statuses are its own), and the spill assertions are skipped.
import path from "node:path";
import {
  DIRECT, FAKE_SERVER, NODE, Fail, assert, connect, describe, handleIds, killTree, note, preflight,
  rawInit, rawSpawn, scenario, serverCommand, sleep, spillCli, spillTest, tempDir, test, texts,
  tree, verifyStore, waitGone,
} from "./lib.mjs";
import { GARBAGE, fakeText } from "./fake-server.mjs";

scenario("failures");
if (!preflight()) process.exit(0);
const t0 = performance.now();
const dir = tempDir("failures");
let nstore = 0;
const SPILL_ARGS = ["--threshold", "1000"];
const fake = (...args) => [NODE, FAKE_SERVER, ...args];
const who = DIRECT ? "the server" : "spill";

/** A raw session with its own store; returns { st, store, pids() }. */
function start(fakeArgs) {
  const store = path.join(dir, `store${++nstore}`);
  const st = rawSpawn(serverCommand(fake(...fakeArgs), store, SPILL_ARGS));
  return { st, store };
}

/** Every complete line is JSON and nothing is left after the last newline. */
function noTornLines(st) {
  const bad = st.lines.map((l, i) => [l, i]).filter(([l]) => { try { JSON.parse(l.toString()); return false; } catch { return true; } });
  const tail = st.tail();
  assert(bad.length === 0, `line ${bad[0]?.[1]} is not JSON (${bad[0]?.[0].length} bytes): ${bad[0]?.[0].subarray(0, 80)}…`);
  if (tail.length === 0) return;
  let whole = false;
  try { JSON.parse(tail.toString()); whole = true; } catch {}
  throw new Fail(whole
    ? `the last message (${tail.length} bytes) has no newline after it, so a line-reading client never gets it: ${tail.subarray(0, 100)}…`
    : `${tail.length} bytes after the last newline are a torn JSON line: ${tail.subarray(0, 80)}…`);
}

/** After the main process exited: every process of its tree must be gone. */
async function nothingLeft(pids) {
  const left = await waitGone(pids, 5000);
  for (const p of left) { try { process.kill(p, "SIGKILL"); } catch {} }
  assert(left.length === 0, `processes left running: ${left.join(", ")}`);
}

/** What the agent got for request `id`, for notes. */
function answerFor(st, id) {
  for (const l of st.lines) {
    let m;
    try { m = JSON.parse(l.toString()); } catch { continue; }
    if (m.id === id) return m.error ? `error ${m.error.code} ${m.error.message}` : m.result?.isError ? `isError result: ${texts(m.result).join(" ").slice(0, 160)}` : `result (${l.length} bytes)`;
  }
  return "no answer (clean close)";
}

// ---------------------------------------------------------------- slow server

await test("slow server (1.5 s a request, 2 MB written in 64 KB pieces): SDK client gets every answer", async () => {
  const store = path.join(dir, `store${++nstore}`);
  const c = await connect(serverCommand(fake("--slow-ms", "1500", "--chunk", "65536", "--chunk-delay", "20"), store, SPILL_ARGS),
    DIRECT ? { maxBufferSize: 64 << 20 } : {});
  try {
    const t1 = performance.now();
    const { tools } = await c.client.listTools();
    assert(tools.some((t) => t.name === "big"), "no big tool");
    const small = await c.client.callTool({ name: "small", arguments: { bytes: 2000 } });
    assert(texts(small)[0] === fakeText(2000), `small result: ${describe(small)}`);
    const big = await c.client.callTool({ name: "big", arguments: { bytes: 2000000 } }, undefined, { timeout: 60000 });
    const took = (performance.now() - t1) / 1000;
    assert(took >= 4.5, `three requests took ${took.toFixed(1)} s: the server was not slow`);
    if (DIRECT) {
      assert(texts(big)[0] === fakeText(2000000), `big result: ${describe(big)}`);
      return "direct control";
    }
    const ids = handleIds(big);
    assert(ids.length > 0, `no handle for the 2 MB result: ${describe(big)}`);
    const cat = spillCli(store, ["cat", ids[0]]);
    assert(cat.status === 0 && cat.stdout.toString() === fakeText(2000000), `spill cat ${ids[0]}: status ${cat.status}, ${cat.stdout.length} bytes`);
    return `handle ${ids[0]}`;
  } finally {
    const r = await c.close();
    assert(r.left.length === 0, `processes left: ${r.left.join(", ")}`);
    if (!DIRECT) verifyStore(store);
  }
});

await test("server writes 1 MB to stderr before answering: calls still complete", async () => {
  const store = path.join(dir, `store${++nstore}`);
  const c = await connect(serverCommand(fake("--stderr-flood", String(1 << 20)), store, SPILL_ARGS), { timeoutMs: 15000 });
  try {
    const r = await c.client.callTool({ name: "small", arguments: { bytes: 100 } }, undefined, { timeout: 15000 });
    assert(texts(r)[0] === fakeText(100), `result: ${describe(r)}`);
    const err = c.stderr();
    return `${err.length} bytes of stderr reached the agent`;
  } catch (e) {
    throw new Fail(`${e.message} (is the server's stderr drained?)`);
  } finally { await c.close(); }
});

// ---------------------------------------------------------------- the server dies

async function dies(name, fakeArgs, tool, bytes, want) {
  await test(name, async () => {
    const { st, store } = start(fakeArgs);
    await rawInit(st);
    await sleep(200);
    const pids = tree(st.pid);
    st.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: tool, arguments: { bytes } } });
    const ex = await st.wait(20000);
    if (!ex) { await killTree(st.pid, 500); throw new Fail(`${who} did not exit within 20 s of the server's death`); }
    const status = ex.signal ?? ex.code;
    const err = st.stderr();
    if (DIRECT) {
      assert(status === want.direct, `the fake server exited with ${status}, want ${want.direct}`);
      assert(st.tail().length > 0, "control: no torn bytes from the dying server");
      return `control: ${st.tail().length} torn bytes, status ${status}`;
    }
    assert(ex.code === want.code && ex.signal === null, `spill exited with ${status}, want ${want.code} (the server's status)`);
    const msg = err.split("\n").find((l) => l.startsWith("spill:") && want.mention.test(l));
    assert(msg, `no "spill: ..." line on stderr naming the server's end (${want.mention}): ${err.slice(-400)}`);
    noTornLines(st);
    await nothingLeft(pids);
    verifyStore(store);
    return `${answerFor(st, 2)}; stderr: ${msg.slice(0, 120)}`;
  });
}

await dies("server exits 3 in the middle of a 2 MB (spilling) response", ["--die-after", "1000000", "--die-status", "3"], "big", 2000000,
  { direct: 3, code: 3, mention: /\b3\b/ });
await dies("server exits 4 in the middle of a 5 KB (pass-through) response", ["--die-on", "small", "--die-after", "2500", "--die-status", "4"], "small", 5000,
  { direct: 4, code: 4, mention: /\b4\b/ });
await dies("server killed by SIGKILL in the middle of a 2 MB response", ["--die-after", "1000000", "--die-signal", "SIGKILL"], "big", 2000000,
  { direct: "SIGKILL", code: 137, mention: /SIGKILL|signal|\b9\b|\b137\b/i });

await test("server exits 5 between messages (no response pending for it)", async () => {
  const { st, store } = start([]);
  await rawInit(st);
  await sleep(200);
  const pids = tree(st.pid);
  st.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "crash", arguments: { status: 5 } } });
  const ex = await st.wait(20000);
  if (!ex) { await killTree(st.pid, 500); throw new Fail(`${who} did not exit within 20 s`); }
  if (DIRECT) { assert(ex.code === 5, `exit ${ex.code}`); return "control"; }
  assert(ex.code === 5 && ex.signal === null, `spill exited with ${ex.signal ?? ex.code}, want 5`);
  assert(/^spill:.*\b5\b/m.test(st.stderr()), `no "spill: ..." line naming status 5: ${st.stderr().slice(-300)}`);
  noTornLines(st);
  await nothingLeft(pids);
  verifyStore(store);
  return answerFor(st, 2);
});

// ---------------------------------------------------------------- garbage lines

await test("garbage lines between valid messages pass through unchanged, in place", async () => {
  const shape = async (cmd) => {
    const st = rawSpawn(cmd);
    try {
      await rawInit(st);
      st.send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
      await st.waitFor((m) => m.id === 2, 15000);
      st.send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "small", arguments: { bytes: 3000 } } });
      const { index } = await st.waitFor((m) => m.id === 3 && m.result !== undefined, 15000);
      await sleep(200);
      // Responses (id 1, 2, 3) become placeholders; everything else must be byte-identical.
      const seq = st.lines.map((l) => {
        try { const m = JSON.parse(l.toString()); if (m.jsonrpc === "2.0" && [1, 2, 3].includes(m.id) && m.method === undefined) return `<response ${m.id}>`; } catch {}
        return l.toString("latin1");
      });
      return { seq, call: st.lines[index] };
    } finally { st.closeStdin(); if (!(await st.wait(5000))) await killTree(st.pid, 500); }
  };
  const store = path.join(dir, `store${++nstore}`);
  const want = [];
  for (let id = 1; id <= 3; id++) want.push(...GARBAGE.map((g) => g.toString("latin1")), `<response ${id}>`);
  const a = await shape(fake("--garbage"));
  assert(JSON.stringify(a.seq) === JSON.stringify(want), `control: the fake server wrote ${a.seq.length} lines, not the expected ${want.length}`);
  if (DIRECT) return "control";
  const b = await shape(serverCommand(fake("--garbage"), store, SPILL_ARGS));
  for (let i = 0; i < Math.max(a.seq.length, b.seq.length); i++) {
    assert(a.seq[i] === b.seq[i], `line ${i}: direct ${JSON.stringify(a.seq[i]?.slice(0, 60))} vs spill ${JSON.stringify(b.seq[i]?.slice(0, 60))}`);
  }
  assert(a.call.equals(b.call), "the tools/call response line differs from the direct one");
  verifyStore(store);
  return `${GARBAGE.length} garbage lines x 3`;
});

await test("garbage lines: the SDK client still gets its answers", async () => {
  const store = path.join(dir, `store${++nstore}`);
  const c = await connect(serverCommand(fake("--garbage"), store, SPILL_ARGS));
  try {
    const r = await c.client.callTool({ name: "small", arguments: { bytes: 1500 } });
    assert(texts(r)[0] === fakeText(1500), `result: ${describe(r)}`);
    return `${c.errors.length} parse errors reported to onerror`;
  } finally { await c.close(); }
});

// ---------------------------------------------------------------- the agent goes away

async function agentLeaves(name, fakeArgs, { closeStdout = false, want = 0 } = {}) {
  await test(name, async () => {
    const { st, store } = start(["--chunk", "65536", "--chunk-delay", "10", ...fakeArgs]);
    await rawInit(st);
    await sleep(200);
    const pids = tree(st.pid);
    st.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "big", arguments: { bytes: 8000000 } } });
    await sleep(400); // the 8 MB response takes ~1.3 s to write
    st.closeStdin();
    if (closeStdout) st.child.stdout.destroy();
    const ex = await st.wait(20000);
    if (!ex) { await killTree(st.pid, 500); throw new Fail(`${who} did not exit within 20 s of the agent closing stdin`); }
    const status = ex.signal ?? ex.code;
    assert(ex.signal === null && ex.code === want, `${who} exited with ${status}, want ${want}`);
    if (!closeStdout && !DIRECT) noTornLines(st);
    await nothingLeft(pids);
    if (!DIRECT) verifyStore(store);
    const got = closeStdout ? "stdout closed" : answerFor(st, 2);
    return DIRECT ? `control: status ${status}, ${st.tail().length} torn bytes` : got;
  });
}

await agentLeaves("agent closes stdin mid-response; server finishes the response, exits 0", ["--on-eof", "finish"]);
await agentLeaves("agent closes stdin mid-response; server exits 0 at once (its response torn)", ["--on-eof", "exit"]);
await agentLeaves("agent goes away (stdin and stdout closed) mid-response", ["--on-eof", "finish"], { closeStdout: true });

await test("server ignores stdin EOF: the SDK's SIGTERM after 2 s takes down the whole tree", async () => {
  const store = path.join(dir, `store${++nstore}`);
  const c = await connect(serverCommand(fake("--on-eof", "ignore"), store, SPILL_ARGS));
  const r0 = await c.client.callTool({ name: "small", arguments: { bytes: 10 } });
  assert(texts(r0)[0] === fakeText(10), `result: ${describe(r0)}`);
  const r = await c.close();
  assert(r.left.length === 0, `left running after the SDK's close: ${r.left.join(", ")}`);
  if (!DIRECT) verifyStore(store);
  return `${who} ended by ${r.signal ?? `status ${r.code}`} after ${Math.round(r.ms ?? -1)} ms`;
});

note(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exit(0);
