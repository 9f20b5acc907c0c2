#!/usr/bin/env node
// A hand-written stdio MCP server that misbehaves on request, for spill's failure-mode tests
// (tests/peers/failures.mjs). No SDK: every byte it writes is under its control.
//
// usage: node fake-server.mjs [options]
//   --slow-ms N          answer every request but initialize N ms late
//   --chunk N            write each response in pieces of N bytes ...
//   --chunk-delay MS     ... with MS between pieces (default: the whole line at once)
//   --die-on TOOL        the tools/call that dies (default: big) ...
//   --die-after N        ... after writing N bytes of its response line ...
//   --die-status S       ... by exiting with status S (default 3) ...
//   --die-signal SIG     ... or by killing itself with SIG (e.g. SIGKILL)
//   --garbage            write the GARBAGE lines before every response
//   --stderr-flood N     write N bytes to stderr before the first answer (and wait until
//                        they are in the pipe: a client that does not drain stderr stalls it)
//   --on-eof MODE        on stdin EOF: exit (default, at once, even mid-response),
//                        finish (finish the response being written, then exit 0), ignore
// Tools: big {bytes} and small {bytes} return fakeText(bytes) as one text item; crash
// {status} exits at once.
import { pathToFileURL } from "node:url";

/** The text the tools return: numbered 32-byte lines, cut to exactly `bytes` bytes. */
export function fakeText(bytes) {
  const n = Math.ceil(bytes / 32);
  const parts = new Array(n);
  for (let i = 0; i < n; i++) parts[i] = String(i + 1).padStart(8, "0") + " fake output line, 32B\n";
  return parts.join("").slice(0, bytes);
}

/** Lines that are not MCP messages; written verbatim before each response with --garbage. */
export const GARBAGE = [
  Buffer.from("this line is not JSON at all"),
  Buffer.from('{"jsonrpc": "2.0", "broken'),
  Buffer.from("\x1b[31mcoloured log line\x1b[0m"),
  Buffer.from([0xff, 0xfe, 0x20, 0x62, 0x61, 0x64, 0x20, 0x55, 0x54, 0x46, 0x2d, 0x38, 0x20, 0xc3]),
  Buffer.from(""),
  Buffer.from("   "),
  Buffer.from('{"not":"json-rpc","n":1}'),
  Buffer.from('{"jsonrpc":"2.0","id":999,"result":{}} trailing junk'),
  Buffer.from("#".repeat(65536)),
];

export const TOOLS = [
  { name: "big", description: "Returns `bytes` bytes of text (default 2,000,000).", inputSchema: { type: "object", properties: { bytes: { type: "number" } } } },
  { name: "small", description: "Returns `bytes` bytes of text (default 2,000).", inputSchema: { type: "object", properties: { bytes: { type: "number" } } } },
  { name: "crash", description: "Exits at once with `status`.", inputSchema: { type: "object", properties: { status: { type: "number" } } } },
];

function main() {
  const opt = { slowMs: 0, chunk: 0, chunkDelay: 0, dieOn: "big", dieAfter: -1, dieStatus: 3, dieSignal: null, garbage: false, stderrFlood: 0, onEof: "exit" };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = () => argv[++i];
    if (a === "--slow-ms") opt.slowMs = Number(v());
    else if (a === "--chunk") opt.chunk = Number(v());
    else if (a === "--chunk-delay") opt.chunkDelay = Number(v());
    else if (a === "--die-on") opt.dieOn = v();
    else if (a === "--die-after") opt.dieAfter = Number(v());
    else if (a === "--die-status") opt.dieStatus = Number(v());
    else if (a === "--die-signal") opt.dieSignal = v();
    else if (a === "--garbage") opt.garbage = true;
    else if (a === "--stderr-flood") opt.stderrFlood = Number(v());
    else if (a === "--on-eof") opt.onEof = v();
    else { process.stderr.write(`fake-server: unknown option ${a}\n`); process.exit(2); }
  }
  const log = (s) => process.stderr.write(`fake-server: ${s}\n`);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  let writing = false;
  let eof = false;
  let flooded = false;

  // Writes to a pipe are asynchronous in Node: wait for each to reach the pipe, so that dying
  // right after a partial write leaves exactly those bytes for the reader, and a reader that
  // does not drain stalls this server.
  const out = (b) => new Promise((r) => process.stdout.write(b, () => r()));
  process.stdout.on("error", (e) => { log(`stdout: ${e.code || e.message}: the client is gone, exiting`); process.exit(0); });
  async function writeLine(buf, die) {
    writing = true;
    const line = Buffer.concat([buf, Buffer.from("\n")]);
    const end = die ? Math.min(opt.dieAfter, line.length) : line.length;
    const step = opt.chunk > 0 ? opt.chunk : end;
    for (let off = 0; off < end; off += step) {
      await out(line.subarray(off, Math.min(off + step, end)));
      if (opt.chunkDelay > 0 && off + step < end) await sleep(opt.chunkDelay);
      if (eof && opt.onEof === "exit") { log("stdin closed mid-response: exiting at once"); process.exit(0); }
    }
    if (die) {
      log(`dying after ${end} of ${line.length} bytes of a response`);
      if (opt.dieSignal) process.kill(process.pid, opt.dieSignal);
      process.exit(opt.dieStatus);
    }
    writing = false;
    if (eof && opt.onEof !== "ignore") { log("stdin closed: exiting after the response"); process.exit(0); }
  }
  async function send(msg, die = false) {
    if (opt.garbage) for (const g of GARBAGE) await out(Buffer.concat([g, Buffer.from("\n")]));
    await writeLine(Buffer.from(JSON.stringify(msg)), die);
  }

  const queue = [];
  let busy = false;
  async function pump() {
    if (busy) return;
    busy = true;
    while (queue.length) await handle(queue.shift());
    busy = false;
  }
  async function handle(m) {
    if (m.id === undefined || m.method === undefined) return; // notifications, responses
    if (!flooded && opt.stderrFlood > 0) {
      flooded = true;
      await new Promise((r) => process.stderr.write("e".repeat(opt.stderrFlood) + "\n", () => r()));
    }
    if (m.method !== "initialize" && opt.slowMs > 0) await sleep(opt.slowMs);
    const reply = (result) => send({ jsonrpc: "2.0", id: m.id, result });
    switch (m.method) {
      case "initialize":
        return reply({ protocolVersion: m.params?.protocolVersion ?? "2025-11-25", capabilities: { tools: {} }, serverInfo: { name: "fake-server", version: "1.0.0" } });
      case "ping":
        return reply({});
      case "tools/list":
        return reply({ tools: TOOLS });
      case "tools/call": {
        const { name, arguments: args = {} } = m.params ?? {};
        if (name === "crash") { log(`crash: exiting with ${args.status ?? 5}`); process.exit(args.status ?? 5); }
        if (name !== "big" && name !== "small") return send({ jsonrpc: "2.0", id: m.id, error: { code: -32602, message: `unknown tool ${name}` } });
        const bytes = args.bytes ?? (name === "big" ? 2000000 : 2000);
        const die = opt.dieAfter >= 0 && name === opt.dieOn;
        return send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: fakeText(bytes) }] } }, die);
      }
      default:
        return send({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: `method not found: ${m.method}` } });
    }
  }

  let buf = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.trim()) continue;
      try { queue.push(JSON.parse(line)); } catch { log(`unparsable input line: ${line.slice(0, 80)}`); }
    }
    pump();
  });
  process.stdin.on("end", () => {
    eof = true;
    if (opt.onEof === "ignore") { log("stdin closed: ignoring it"); setInterval(() => {}, 1 << 30); return; }
    if (!writing && !busy) { log("stdin closed: exiting"); process.exit(0); }
    if (opt.onEof === "exit") { log("stdin closed mid-request: exiting at once"); process.exit(0); }
  });
  log(`started (${argv.join(" ") || "no options"})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
