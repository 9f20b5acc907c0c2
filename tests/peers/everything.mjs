// Scenario b: @modelcontextprotocol/server-everything through `spill run`.
//
// Every tool a capability-less client gets is called with small arguments on a direct
// connection and through spill at the same moment, and the results must be deep-equal
// (tools whose output is nondeterministic are skipped, by name). So must initialize, the
// resource/prompt lists, reads, prompts and completions. trigger-long-running-operation's
// progress notifications must arrive in order and before its result; the task-based tool
// must deliver its result through tasks/result. gzip-file-as-resource (outputType
// "resource") of a ~20 MB random file served over loopback HTTP must come back as a handle
// to a binary object whose size is the gzip size.
//
// Under SPILL_DIRECT=1 the second connection is another direct one.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import {
  DIRECT, NODE, SERVER_EVERYTHING, Fail, assert, canon, connect, describe, firstDiff, freePort,
  handleIds, killTree, mentionsNumber, note, own, preflight, rawInit, rawSpawn, scenario, serverCommand,
  sleep, spillCli, spillTest, tempDir, test, texts, verifyStore, waitPort,
} from "./lib.mjs";

scenario("everything");
if (!preflight([[SERVER_EVERYTHING, "@modelcontextprotocol/server-everything"]])) process.exit(0);

const t0 = performance.now();
const dir = tempDir("everything");
const store = path.join(dir, "store");
const www = path.join(dir, "www");
fs.mkdirSync(www);
const env = { ...process.env, GZIP_MAX_FETCH_SIZE: "200000000", GZIP_MAX_FETCH_TIME_MILLIS: "120000" };
const serverCmd = [NODE, SERVER_EVERYTHING, "stdio"];

// Small arguments for every tool a client without capabilities is offered.
const ARGS = {
  "echo": { message: "hello through spill ✓" },
  "get-annotated-message": { messageType: "error", includeImage: true },
  "get-resource-links": { count: 4 },
  "get-resource-reference": { resourceType: "Blob", resourceId: 3 },
  "get-structured-content": { location: "Chicago" },
  "get-sum": { a: 19, b: 23 },
  "get-tiny-image": {},
  "gzip-file-as-resource": { name: "hello.txt.gz", data: "data:text/plain;base64," + Buffer.from("hello spill\n".repeat(50)).toString("base64"), outputType: "resource" },
  "toggle-simulated-logging": {},
  "toggle-subscriber-updates": {},
  "trigger-long-running-operation": { duration: 1, steps: 2 },
};
// Not compared result for result, and why.
const NONDETERMINISTIC = {
  "get-env": "prints the process environment, which a wrapper may legitimately extend",
};
const SEPARATE = {
  "simulate-research-query": "task-based (taskSupport required), compared in its own case",
};

const a = await connect(serverCmd, { env });
const b = await connect(serverCommand(serverCmd, store), { env });
const other = DIRECT ? "a second direct run" : "the run through spill";

/**
 * Calls f on both connections at the same moment and compares the results. Outputs with a
 * clock reading (server-everything's dynamic resources say "created at 2:13:11 AM") differ
 * only when the two calls straddle a second, so a mismatch is retried twice.
 */
async function same(f, normalize = (x) => x) {
  let diff;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [ra, rb] = await Promise.all([f(a.client), f(b.client)]);
    diff = firstDiff(normalize(ra), normalize(rb));
    if (!diff) return ra;
  }
  throw new Fail(`direct vs ${other}: ${diff}`);
}

await test("initialize: serverInfo, instructions and capabilities kept", async () => {
  const da = a.client.getServerVersion(), db = b.client.getServerVersion();
  assert(canon(da) === canon(db), `serverInfo ${JSON.stringify(da)} vs ${JSON.stringify(db)}`);
  assert(a.client.getInstructions() === b.client.getInstructions(), "instructions differ");
  const ca = a.client.getServerCapabilities(), cb = b.client.getServerCapabilities();
  for (const k of Object.keys(ca)) {
    assert(canon(ca[k]) === canon(cb[k]), `capability ${k}: ${JSON.stringify(ca[k])} vs ${JSON.stringify(cb[k])}`);
  }
  return `capabilities ${Object.keys(cb).join(",")}`;
});

const { tools: toolsA } = await a.client.listTools();
await test("tools/list: upstream tools kept (outputSchema aside), spill tools added", async () => {
  const { tools: toolsB } = await b.client.listTools();
  const byName = new Map(toolsB.map((t) => [t.name, t]));
  for (const t of toolsA) {
    const s = byName.get(t.name);
    assert(s, `tool ${t.name} missing from ${other}`);
    const { outputSchema, ...rest } = t;
    const diff = firstDiff(DIRECT ? t : rest, s);
    assert(!diff, `tool ${t.name}: ${diff}`);
  }
  if (!DIRECT) {
    for (const n of ["spill_read", "spill_grep", "spill_stat", "spill_jq"]) assert(byName.has(n), `no ${n} in tools/list`);
    const withSchema = toolsB.filter((t) => t.outputSchema !== undefined).map((t) => t.name);
    assert(withSchema.length === 0, `outputSchema left on ${withSchema.join(", ")}`);
  }
  return `${toolsA.length} upstream tools, ${toolsB.length} in all`;
});

for (const tool of toolsA) {
  const name = `tools/call ${tool.name} equals a direct run`;
  if (NONDETERMINISTIC[tool.name]) { console.log(`skip - [everything] ${name}: nondeterministic, ${NONDETERMINISTIC[tool.name]}`); continue; }
  if (SEPARATE[tool.name]) continue;
  if (!ARGS[tool.name]) { console.log(`skip - [everything] ${name}: no arguments known for this tool (new in this server version?)`); continue; }
  await test(name, async () => {
    const r = await same((c) => c.callTool({ name: tool.name, arguments: ARGS[tool.name] }, undefined, { timeout: 30000 }));
    return `${JSON.stringify(r).length} bytes`;
  });
}

const OTHER = [
  ["resources/list", (c) => c.listResources()],
  ["resources/templates/list", (c) => c.listResourceTemplates()],
  ["prompts/list", (c) => c.listPrompts()],
  ["resources/read text", (c) => c.readResource({ uri: "demo://resource/dynamic/text/2" })],
  ["resources/read blob", (c) => c.readResource({ uri: "demo://resource/dynamic/blob/5" })],
  ["resources/read static document", (c) => c.readResource({ uri: "demo://resource/static/document/features.md" })],
  ["prompts/get simple-prompt", (c) => c.getPrompt({ name: "simple-prompt" })],
  ["prompts/get args-prompt", (c) => c.getPrompt({ name: "args-prompt", arguments: { city: "Lyon", state: "Rhône" } })],
  ["prompts/get resource-prompt", (c) => c.getPrompt({ name: "resource-prompt", arguments: { resourceType: "Text", resourceId: "4" } })],
  ["completion/complete", (c) => c.complete({ ref: { type: "ref/prompt", name: "completable-prompt" }, argument: { name: "department", value: "E" } })],
  ["ping", (c) => c.ping()],
];
for (const [what, f] of OTHER) {
  await test(`${what} equals a direct run`, async () => `${JSON.stringify(await same(f)).length} bytes`);
}

await test("task-based simulate-research-query: result through tasks/result equals a direct run", async () => {
  if (!toolsA.some((t) => t.name === "simulate-research-query")) throw new Fail("the server no longer offers simulate-research-query");
  const run = async (c) => {
    const seen = [];
    let result;
    for await (const m of c.experimental.tasks.callToolStream({ name: "simulate-research-query", arguments: { topic: "spill" } }, undefined, { timeout: 60000 })) {
      seen.push(m.type === "taskStatus" || m.type === "taskCreated" ? `${m.type}:${m.task.status}` : m.type);
      if (m.type === "result") result = m.result;
      if (m.type === "error") throw new Fail(`task error: ${m.error?.message}`);
    }
    return { result, first: seen[0], last: seen[seen.length - 1] };
  };
  const maskTask = (x) => JSON.parse(JSON.stringify(x).replace(/"taskId":"[^"]*"/g, '"taskId":"*"'));
  const r = await same(run, maskTask);
  assert(r.first === "taskCreated:working" && r.last === "result", `stream ${r.first} … ${r.last}`);
  return `${JSON.stringify(r.result).length} bytes`;
});

// The toggles started timers that keep server-everything alive after stdin closes: stop them.
for (const t of ["toggle-simulated-logging", "toggle-subscriber-updates"]) {
  if (!ARGS[t] || !toolsA.some((x) => x.name === t)) continue;
  await test(`tools/call ${t} (off again) equals a direct run`, async () => {
    const r = await same((c) => c.callTool({ name: t, arguments: {} }));
    return texts(r)[0]?.slice(0, 40);
  });
}

// On the wire (raw client): every progress notification precedes the result, in order, and
// byte-identical to the direct server's. The SDK client cannot be the judge of the order: it
// dispatches notifications a microtask late but responses at once, so when the last progress
// and the result arrive in one read it reports that progress as "for an unknown token"
// (seen directly against server-everything, whose last step writes both back to back).
await test("progress notifications arrive in order and before the result (raw)", async () => {
  const steps = 4;
  const run = async (cmd) => {
    const st = rawSpawn(cmd, { env });
    try {
      await rawInit(st);
      const from = st.lines.length;
      st.send({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "trigger-long-running-operation", arguments: { duration: 2, steps }, _meta: { progressToken: "tok-7" } } });
      const { index } = await st.waitFor((m) => m.id === 7, 30000);
      await sleep(300);
      const seq = [];
      for (let i = from; i < st.lines.length; i++) {
        let m;
        try { m = JSON.parse(st.lines[i].toString()); } catch { throw new Fail(`line ${i} is not JSON: ${st.lines[i].subarray(0, 100)}`); }
        if (m.method === "notifications/progress" && m.params?.progressToken === "tok-7") seq.push({ at: i, p: m.params.progress, line: st.lines[i] });
      }
      return { seq, index, result: st.lines[index] };
    } finally { st.closeStdin(); if (!(await st.wait(5000))) await killTree(st.pid, 500); }
  };
  const [ra, rb] = await Promise.all([run(serverCmd), run(serverCommand(serverCmd, store))]);
  for (const [label, r] of [["direct", ra], [other, rb]]) {
    const ps = r.seq.map((x) => x.p).join(",");
    assert(ps === "1,2,3,4", `${label}: progress ${ps}, want 1,2,3,4`);
    const late = r.seq.filter((x) => x.at > r.index);
    assert(late.length === 0, `${label}: ${late.length} progress notifications after the result`);
  }
  for (let i = 0; i < steps; i++) assert(ra.seq[i].line.equals(rb.seq[i].line), `progress ${i + 1} differs: ${ra.seq[i].line} vs ${rb.seq[i].line}`);
  assert(ra.result.equals(rb.result), `results differ: ${ra.result} vs ${rb.result}`);
});

await test("progress through the SDK client: in order, none lost beyond the SDK's own race", async () => {
  const steps = 4;
  const errs = [];
  const prev = b.client.onerror;
  b.client.onerror = (e) => errs.push(e.message);
  const events = [];
  const res = await b.client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 2, steps } }, undefined,
    { timeout: 30000, onprogress: (p) => events.push(p.progress) });
  await sleep(300);
  b.client.onerror = prev;
  assert(texts(res)[0]?.startsWith("Long running operation completed"), `result ${describe(res)}`);
  const want = Array.from({ length: steps }, (_, i) => i + 1);
  // Everything the handler got is 1..k in order; the rest (at most the last one) must be the
  // SDK's "unknown token" race, never missing outright.
  assert(canon(events) === canon(want.slice(0, events.length)), `progress seen ${events.join(",")}`);
  const raced = errs.filter((e) => /unknown token/.test(e)).length;
  assert(events.length + raced === steps && raced <= 1, `seen ${events.length}, raced ${raced}, errors: ${errs.join("; ")}`);
  return `seen ${events.join(",")}${raced ? ", last one raced the result in the SDK" : ""}`;
});

// ~20 MB of random bytes over loopback HTTP, gzipped by the server into one embedded blob.
const rand = crypto.randomBytes(20 * 1024 * 1024);
fs.writeFileSync(path.join(www, "rand20.bin"), rand);
const gz = zlib.gzipSync(rand);   // what the server computes (node:zlib gzipSync, defaults)
const port = await freePort();
const http = spawn("python3", ["-m", "http.server", "--bind", "127.0.0.1", String(port)], { cwd: www, stdio: ["ignore", "ignore", "pipe"], detached: true });
own(http.pid);
let httpOk = true;
try { await waitPort(port, 15000, http); } catch (e) { httpOk = false; note(`python3 -m http.server did not start: ${e.message}`); }
const gzArgs = { name: "rand20.bin.gz", data: `http://127.0.0.1:${port}/rand20.bin`, outputType: "resource" };

if (!httpOk) {
  console.log("skip - [everything] gzip-file-as-resource of 20 MB: SKIPPED, python3 -m http.server did not start");
} else if (DIRECT) {
  await test("direct: gzip-file-as-resource of 20 MB returns the gzip as one embedded blob", async () => {
    const c = await connect(serverCmd, { env, maxBufferSize: 256 << 20 });
    try {
      const r = await c.client.callTool({ name: "gzip-file-as-resource", arguments: gzArgs }, undefined, { timeout: 300000 });
      const res = r.content?.[0]?.resource;
      assert(res?.blob, `no resource.blob: ${describe(r)}`);
      assert(res.mimeType === "application/gzip", `mimeType ${res.mimeType}`);
      const bytes = Buffer.from(res.blob, "base64");
      assert(bytes.equals(gz), `the blob (${bytes.length} bytes) is not zlib.gzipSync of the file (${gz.length} bytes)`);
      return `blob ${res.blob.length} base64 chars = ${gz.length} bytes of gzip`;
    } finally { await c.close(); }
  });
} else {
  const big = { id: null };
  await spillTest("gzip-file-as-resource of 20 MB returns a handle (SDK client, default buffer)", async () => {
    let r;
    try { r = await b.client.callTool({ name: "gzip-file-as-resource", arguments: gzArgs }, undefined, { timeout: 300000 }); }
    catch (e) { throw new Fail(`the SDK client threw: ${e.message}`); }
    const json = JSON.stringify(r);
    assert(json.length < 1 << 20, `result is ${json.length} bytes: not replaced by a handle`);
    const ids = handleIds(r);
    assert(ids.length > 0, `no "id: <32 hex>" line: ${describe(r)}`);
    big.id = ids[0];
    assert((r.content ?? []).some((c) => c.type === "resource_link" && c.uri === `spill://${big.id}`), `no resource_link spill://${big.id}: ${describe(r)}`);
    return `id ${big.id}, result ${json.length} bytes`;
  });
  await spillTest("spill_stat: binary gzip object, size = the gzip size", async () => {
    assert(big.id, "no id from the previous case");
    const r = await b.client.callTool({ name: "spill_stat", arguments: { id: big.id } });
    assert(!r.isError, `isError: ${describe(r)}`);
    const t = texts(r).join("\n") + "\n" + JSON.stringify(r.structuredContent ?? {});
    assert(/application\/(octet-stream|gzip|x-gzip)/.test(t), `no octet-stream/gzip media type in: ${t.slice(0, 400)}`);
    assert(mentionsNumber(t, gz.length), `the gzip size ${gz.length} is not in: ${t.slice(0, 400)}`);
  });
  await spillTest("spill cat of the blob handle is the gzip, byte for byte", async () => {
    assert(big.id, "no id from the previous case");
    const c = spillCli(store, ["cat", big.id]);
    assert(c.status === 0, `spill cat exited ${c.status}: ${c.stderr}`);
    assert(c.stdout.equals(gz), `spill cat gave ${c.stdout.length} bytes; the gzip is ${gz.length}`);
  });
}

// server-everything keeps running after stdin EOF once a task was created (the task store's
// TTL timer holds its event loop), so the SDK's close goes on to SIGTERM: through spill, that
// SIGTERM must take the server down too, and nothing may be left.
await test("agent closes: no process left after the SDK's close (EOF, then SIGTERM)", async () => {
  const res = [await a.close(), await b.close()];
  const how = (r) => (r.signal ?? `status ${r.code}`) + (r.ms !== null ? ` after ${Math.round(r.ms)} ms` : "");
  for (const r of res) assert(r.left.length === 0, `still running 5 s after the close (then killed): ${r.left.join(", ")}`);
  return `direct: ${how(res[0])}; ${other}: ${how(res[1])}`;
});
await killTree(http.pid, 1000);
await spillTest("spill verify on the store", async () => { verifyStore(store); });
note(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exit(0);
