// Scenario a: @modelcontextprotocol/server-filesystem through `spill run`.
//
// A 50 MB text file (524,288 numbered lines, some UTF-8, three planted lines) is read with
// read_text_file by an SDK client with the default 10 MiB buffer: through spill it must come
// back as a handle, page back byte for byte with spill_read following the `next:` calls, and
// spill_grep must find the planted lines. A 50 KB file must pass through unchanged (SDK result
// deep-equal and raw response line byte-identical to a direct run). tools/list must offer
// spill's tools and carry no outputSchema.
//
// Under SPILL_DIRECT=1 the same server runs without spill: the SDK client must fail on the
// 50 MB result (the control), and a raw client must get the file back byte for byte.
import fs from "node:fs";
import path from "node:path";
import {
  DIRECT, NODE, SERVER_FS, SEED, assert, canon, connect, describe, firstDiff, handleIds, note,
  mentionsNumber, preflight, prng, rawInit, rawSpawn, scenario, serverCommand, spillCli, spillTest, tempDir, test,
  texts, tree, verifyStore, waitGone, Fail,
} from "./lib.mjs";

scenario("fs");
if (!preflight([[SERVER_FS, "@modelcontextprotocol/server-filesystem"]])) process.exit(0);

const SPILL_TOOLS = ["spill_read", "spill_grep", "spill_stat", "spill_jq"];
const BIG_LINES = 524288;           // 100 bytes a line, plus the UTF-8 lines: ~50 MB
const SMALL_LINES = 500;            // ~50 KB
const PLANTED = { 7: "", 262144: "", [BIG_LINES]: "" };

/** Numbered lines of pseudo-random text; every 997th line has multi-byte UTF-8. */
function makeText(nlines, seed, planted = {}) {
  const rnd = prng(seed);
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ      ";
  let pool = "";
  for (let i = 0; i < 65536 + 100; i++) pool += alphabet[Math.floor(rnd() * alphabet.length)];
  const parts = [];
  for (let i = 1; i <= nlines; i++) {
    let body;
    if (planted[i] !== undefined) body = planted[i];
    else {
      const off = Math.floor(rnd() * 65536);
      body = pool.slice(off, off + 90);
      if (i % 997 === 0) body = body.slice(0, 70) + " é ß 日本語 🙂 ";
    }
    parts.push(String(i).padStart(8, "0") + " " + body + "\n");
  }
  return Buffer.from(parts.join(""), "utf8");
}

/** Byte offset of the start of each line (1-based index; [n+1] = length). */
function lineStarts(buf) {
  const starts = [0, 0];
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) starts.push(i + 1);
  if (starts[starts.length - 1] !== buf.length) starts.push(buf.length);
  return starts;
}

const dir = tempDir("fs");
const root = path.join(dir, "root");
const store = path.join(dir, "store");
fs.mkdirSync(root);
const rootReal = fs.realpathSync(root);

const t0 = performance.now();
for (const k of Object.keys(PLANTED)) PLANTED[k] = `PLANTED-NEEDLE-${k} the line spill_grep must find ${k * 7919}`;
const big = makeText(BIG_LINES, SEED, PLANTED);
const small = makeText(SMALL_LINES, SEED + 1);
const bigPath = path.join(rootReal, "big50.txt");
const smallPath = path.join(rootReal, "small50k.txt");
fs.writeFileSync(bigPath, big);
fs.writeFileSync(smallPath, small);
note(`generated ${big.length} + ${small.length} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const serverCmd = [NODE, SERVER_FS, rootReal];
const direct = await connect(serverCmd);
const through = DIRECT ? null : await connect(serverCommand(serverCmd, store));
const spilled = { id: null };

await test("tools/list", async () => {
  const { tools: dtools } = await direct.client.listTools();
  const rtf = dtools.find((t) => t.name === "read_text_file");
  assert(rtf, "the direct server has no read_text_file");
  if (DIRECT) {
    assert(rtf.outputSchema, "direct read_text_file has no outputSchema (spill's stripping would be untested)");
    return `direct: ${dtools.length} tools, read_text_file has an outputSchema`;
  }
  const { tools } = await through.client.listTools();
  const byName = new Map(tools.map((t) => [t.name, t]));
  const missing = SPILL_TOOLS.filter((n) => !byName.has(n));
  assert(missing.length === 0, `spill tools missing from tools/list: ${missing.join(", ")}`);
  const withSchema = tools.filter((t) => t.outputSchema !== undefined).map((t) => t.name);
  assert(withSchema.length === 0, `entries still carrying outputSchema: ${withSchema.join(", ")}`);
  for (const d of dtools) {
    const s = byName.get(d.name);
    assert(s, `upstream tool ${d.name} missing through spill`);
    const { outputSchema, ...rest } = d;
    const diff = firstDiff(rest, s);
    assert(!diff, `tool ${d.name} changed beyond outputSchema: ${diff}`);
  }
  return `${dtools.length} upstream tools unchanged but for outputSchema, + ${tools.length - dtools.length} spill tools`;
});

await test("50 KB read_text_file result deep-equal to a direct run", async () => {
  const args = { name: "read_text_file", arguments: { path: smallPath } };
  const a = await direct.client.callTool(args);
  assert(a.content?.[0]?.text === small.toString("utf8"), "the direct result's text is not the file");
  const b = DIRECT ? await direct.client.callTool(args) : await through.client.callTool(args);
  const diff = firstDiff(a, b);
  assert(!diff, `results differ at ${diff}`);
  return `${JSON.stringify(a).length} bytes of JSON`;
});

await test("50 KB read_text_file raw response line byte-identical to a direct run", async () => {
  const call = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "read_text_file", arguments: { path: smallPath } } };
  const lineOf = async (cmd) => {
    const st = rawSpawn(cmd);
    try {
      await rawInit(st);
      st.send(call);
      const { index } = await st.waitFor((m) => m.id === 2, 30000);
      return st.lines[index];
    } finally { st.closeStdin(); if (!(await st.wait(5000))) st.child.kill("SIGKILL"); }
  };
  const a = await lineOf(serverCmd);
  const b = await lineOf(serverCommand(serverCmd, store));
  assert(a.equals(b), () => `lines differ: ${a.length} vs ${b.length} bytes; through spill: ${b.subarray(0, 200)}`);
  return `${a.length} bytes`;
});

if (DIRECT) {
  await test("direct control: SDK client with the default 10 MiB buffer fails on the 50 MB result", async () => {
    const c = await connect(serverCmd);
    try {
      let threw = null;
      try { await c.client.callTool({ name: "read_text_file", arguments: { path: bigPath } }, undefined, { timeout: 120000 }); }
      catch (e) { threw = e; }
      assert(threw, "the call succeeded: the test file is too small to need spill");
      return `threw ${String(threw.message).slice(0, 80)}`;
    } finally { await c.close(); }
  });
  await test("direct raw client gets the 50 MB file back byte for byte, planted lines in place", async () => {
    const st = rawSpawn(serverCmd);
    try {
      await rawInit(st);
      st.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "read_text_file", arguments: { path: bigPath } } });
      const { msg, index } = await st.waitFor((m) => m.id === 2, 120000);
      const text = msg.result?.content?.[0]?.text;
      assert(text !== undefined, `no text in the result: ${describe(msg).slice(0, 300)}`);
      assert(Buffer.from(text, "utf8").equals(big), "content[0].text differs from the file");
      assert(msg.result.structuredContent?.content === text, "structuredContent.content differs from content[0].text");
      const lines = text.split("\n");
      for (const [n, want] of Object.entries(PLANTED)) {
        assert(lines[n - 1] === String(n).padStart(8, "0") + " " + want, `line ${n} is not the planted one`);
      }
      return `response line ${st.lines[index].length} bytes`;
    } finally { st.closeStdin(); if (!(await st.wait(10000))) st.child.kill("SIGKILL"); }
  });
}

await spillTest("50 MB read_text_file returns a handle (SDK client, default buffer)", async () => {
  let r;
  try {
    r = await through.client.callTool({ name: "read_text_file", arguments: { path: bigPath } }, undefined, { timeout: 300000 });
  } catch (e) { throw new Fail(`the SDK client threw: ${e.message}`); }
  const json = JSON.stringify(r);
  assert(!r.isError, `isError result: ${describe(r)}`);
  assert(json.length < 1 << 20, `result is ${json.length} bytes: not replaced by a handle`);
  const ids = handleIds(r);
  assert(ids.length > 0, `no "id: <32 hex>" line in the text: ${describe(r)}`);
  spilled.id = ids[0];
  const link = (r.content ?? []).find((c) => c.type === "resource_link" && c.uri === `spill://${spilled.id}`);
  assert(link, `no resource_link spill://${spilled.id} (the SDK negotiated 2025-11-25): ${describe(r)}`);
  return `id ${spilled.id}, result ${json.length} bytes, ${r.content.length} content items`;
});

await spillTest("spill cat of the handle id is the file", async () => {
  assert(spilled.id, "no id from the previous case");
  const c = spillCli(store, ["cat", spilled.id]);
  assert(c.status === 0, `spill cat exited ${c.status}: ${c.stderr}`);
  assert(c.stdout.equals(big), `spill cat gave ${c.stdout.length} bytes, not the file's ${big.length}`);
});

await spillTest("spill_stat gives the size", async () => {
  assert(spilled.id, "no id from the previous case");
  const r = await through.client.callTool({ name: "spill_stat", arguments: { id: spilled.id } });
  assert(!r.isError, `isError: ${describe(r)}`);
  const t = texts(r).join("\n") + "\n" + JSON.stringify(r.structuredContent ?? {});
  assert(mentionsNumber(t, big.length), `the byte size ${big.length} is not in: ${t.slice(0, 400)}`);
});

await spillTest("spill_read pages the whole output back byte for byte following the next calls", async () => {
  assert(spilled.id, "no id from the previous case");
  const starts = lineStarts(big);
  let args = { id: spilled.id };
  let pos = 0;
  let calls = 0;
  const pieces = [];
  const t1 = performance.now();
  for (;;) {
    assert(++calls <= 200000, "more than 200,000 spill_read calls");
    const r = await through.client.callTool({ name: "spill_read", arguments: args }, undefined, { timeout: 60000 });
    const items = texts(r);
    assert(!r.isError && items.length > 0, `call ${calls} ${JSON.stringify(args)}: ${describe(r)}`);
    const all = items.join("\n");
    const nexts = [...all.matchAll(/next: spill_read (\{[^\n]*\})/g)];
    let nextPos;
    let nextArgs = null;
    if (nexts.length) {
      const raw = nexts[nexts.length - 1][1];
      try { nextArgs = JSON.parse(raw); } catch { throw new Fail(`call ${calls}: next: arguments are not JSON: ${raw}`); }
      if (nextArgs.lines !== undefined) {
        const a = Number(String(nextArgs.lines).split(":")[0]);
        assert(Number.isInteger(a) && a >= 1 && a < starts.length, `call ${calls}: next lines ${nextArgs.lines} out of range`);
        nextPos = starts[a];
      } else if (nextArgs.bytes !== undefined) {
        nextPos = Number(String(nextArgs.bytes).split(":")[0]);   // 0-based, as spill cat --bytes
      } else throw new Fail(`call ${calls}: next: has neither lines nor bytes: ${raw}`);
      assert(nextPos > pos, `call ${calls}: next: ${raw} does not move forward from byte ${pos}`);
    } else {
      assert(/end of output/.test(all), `call ${calls} ${JSON.stringify(args)}: no "next:" and no "end of output" in: ${all.slice(-400)}`);
      nextPos = big.length;
    }
    // The page is the file's bytes [pos, nextPos) at the start of the first text item (a
    // header of up to 1 KiB is tolerated); what follows is the footer, not more content.
    const want = big.subarray(pos, nextPos);
    const first = Buffer.from(items[0], "utf8");
    const at = first.indexOf(want);
    assert(at >= 0 && at <= 1024, () => `call ${calls} ${JSON.stringify(args)}: the page is not bytes ${pos}:${nextPos} of the output; got ${first.length} bytes starting ${JSON.stringify(first.subarray(0, 120).toString())}`);
    pieces.push(first.subarray(at, at + want.length));
    const rest = Buffer.concat([first.subarray(at + want.length), ...items.slice(1).map((s) => Buffer.from("\n" + s))]);
    assert(rest.length <= 8192, `call ${calls}: ${rest.length} bytes after the page: more than a footer`);
    if (nextPos < big.length) {
      const ahead = big.subarray(nextPos, nextPos + 40);
      assert(!rest.toString().trimStart().startsWith(ahead.toString()), `call ${calls}: the page runs past where next: starts`);
    }
    pos = nextPos;
    if (!nextArgs) break;
    args = nextArgs;
  }
  const joined = Buffer.concat(pieces);
  assert(joined.equals(big), `the pages joined are ${joined.length} bytes, not the file's ${big.length}`);
  return `${calls} calls`;
});

await spillTest("spill_grep finds the 3 planted lines with their line numbers", async () => {
  assert(spilled.id, "no id from the previous case");
  const r = await through.client.callTool({ name: "spill_grep", arguments: { id: spilled.id, pattern: "PLANTED-NEEDLE-[0-9]+" } }, undefined, { timeout: 120000 });
  assert(!r.isError, `isError: ${describe(r)}`);
  const got = {};
  for (const line of texts(r).join("\n").split("\n")) {
    const m = /^(\d+):(.*)$/.exec(line);
    if (m) got[m[1]] = m[2];
  }
  const want = {};
  for (const [n, s] of Object.entries(PLANTED)) want[n] = String(n).padStart(8, "0") + " " + s;
  assert(canon(got) === canon(want), `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
});

await test("agent closes stdin: everything exits by itself, status 0", async () => {
  const n = tree(direct.pid).length + (through ? tree(through.pid).length : 0);
  const res = [await direct.close(), ...(through ? [await through.close()] : [])];
  for (const r of res) {
    assert(r.left.length === 0, `still running 5 s after stdin closed (then killed): ${r.left.join(", ")}`);
    assert(r.signal === null && r.code === 0, `exited with ${r.signal ?? r.code} (SIGTERM: it ignored the EOF for 2 s)`);
  }
  return `processes: ${n}, exited after ${res.map((r) => Math.round(r.ms) + " ms").join(" / ")}`;
});

await spillTest("spill verify on the store", async () => { verifyStore(store); });
note(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exit(0);
