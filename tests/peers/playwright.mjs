// Scenario e: Playwright MCP (@playwright/mcp, pinned) with Debian's Chromium through
// `spill run`: screenshots reach the agent as images, large snapshots still spill.
//
// Pages are served by this script on 127.0.0.1 (and Chromium may request nothing else:
// --allowed-origins). /dense is a text-dense page (small type in columns, some 3000 px
// tall); /tall is the same text four times over (past 8000 px); /big is a list long
// enough that its accessibility snapshot is far over spill's threshold.
//   - a 1280x720 viewport screenshot of /dense is an image item, whole: no handle;
//   - a full-page screenshot of /dense (1280 x ~3000) is an image item, whole;
//   - a full-page screenshot of /tall (over 8000 px) is an image item the model can take
//     (a downscaled copy) plus a handle whose object is the original PNG, byte for byte;
//   - browser_snapshot of /big is replaced by a handle.
// Without Chromium (/usr/bin/chromium, or SPILL_CHROMIUM) every case is skipped, loudly.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import {
  DIRECT, NM, NODE, assert, connect, handleIds, note, preflight, scenario, serverCommand, skip,
  spillCli, spillTest, tempDir, test, texts, verifyStore,
} from "./lib.mjs";

scenario("playwright");
const PW_CLI = path.join(NM, "@playwright/mcp/cli.js");
if (!preflight([[PW_CLI, "@playwright/mcp"]])) process.exit(0);
const CHROMIUM = process.env.SPILL_CHROMIUM || "/usr/bin/chromium";
if (!fs.existsSync(CHROMIUM)) {
  skip("scenario", `SKIPPED, no Chromium at ${CHROMIUM} (apt-get install chromium, or set SPILL_CHROMIUM): ` +
       "the screenshot and snapshot cases need a browser");
  process.exit(0);
}

// ---------------------------------------------------------------- the pages

const WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua".split(" ");
function para(i) {
  let s = `<b>${i}.</b> `;
  for (let k = 0; k < 60; k++) s += WORDS[(i * 31 + k * 7) % WORDS.length] + (k % 13 === 12 ? ". " : " ");
  return `<p>${s}</p>`;
}
const style = "<style>body{margin:8px;font:11px/1.25 sans-serif;columns:4;column-gap:16px}p{margin:0 0 4px}</style>";
const dense = `<!doctype html><html><head><title>dense</title>${style}</head><body>${Array.from({ length: 120 }, (_, i) => para(i)).join("")}</body></html>`;
const tall = `<!doctype html><html><head><title>tall</title>${style}</head><body>${Array.from({ length: 480 }, (_, i) => para(i)).join("")}</body></html>`;
const big = `<!doctype html><html><head><title>big</title></head><body><ul>${Array.from({ length: 12000 }, (_, i) => `<li>item ${i}: ${WORDS[i % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]} ${i * 7919 % 100003}</li>`).join("")}</ul></body></html>`;
const PAGES = { "/dense": dense, "/tall": tall, "/big": big };
const www = http.createServer((req, res) => {
  const body = PAGES[req.url];
  res.writeHead(body ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
  res.end(body ?? "not found");
});
await new Promise((r) => www.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${www.address().port}`;

// ---------------------------------------------------------------- the server

const dir = tempDir("playwright");
const store = path.join(dir, "store");
const cmd = [NODE, PW_CLI, "--executable-path", CHROMIUM, "--headless", "--no-sandbox", "--isolated",
  "--viewport-size", "1280x720", "--output-dir", path.join(dir, "out"), "--allowed-origins", origin];
note(`${CHROMIUM}; pages on ${origin}`);
const s = await connect(serverCommand(cmd, store), { timeoutMs: 120000 });
const call = (name, args = {}) => s.client.callTool({ name, arguments: args }, undefined, { timeout: 180000 });

/** The size in a PNG's IHDR, from the start of its base64. */
function pngSize(b64) {
  const h = Buffer.from(b64.slice(0, 44), "base64");
  assert(h.length >= 24 && h.subarray(1, 4).toString() === "PNG", `not a PNG: ${b64.slice(0, 20)}`);
  return [h.readUInt32BE(16), h.readUInt32BE(20)];
}
const images = (r) => (r?.content ?? []).filter((c) => c.type === "image");
const kb = (b64) => `${Math.round(b64.length * 3 / 4 / 1024)} KB`;

async function go(url) {
  const r = await call("browser_navigate", { url: origin + url });
  assert(!r.isError, () => `navigate ${url}: ${texts(r).join(" ").slice(0, 300)}`);
}

await spillTest("viewport screenshot of a text-dense page reaches the agent as an image, whole", async () => {
  await go("/dense");
  const r = await call("browser_take_screenshot", { type: "png", scale: "css" });
  const img = images(r);
  assert(img.length === 1, () => `${img.length} image items; text: ${texts(r).join(" | ").slice(0, 400)}`);
  assert(img[0].mimeType === "image/png", `mimeType ${img[0].mimeType}`);
  const [w, h] = pngSize(img[0].data);
  assert(w === 1280 && h === 720, `${w}x${h}, expected 1280x720`);
  assert(handleIds(r).length === 0, () => `a handle in the result: ${texts(r).join(" | ").slice(0, 300)}`);
  return `${w}x${h}, ${kb(img[0].data)} of PNG`;
});

await spillTest("full-page screenshot (under 8000 px) reaches the agent as an image, whole", async () => {
  const r = await call("browser_take_screenshot", { type: "png", scale: "css", fullPage: true });
  const img = images(r);
  assert(img.length === 1, () => `${img.length} image items; text: ${texts(r).join(" | ").slice(0, 400)}`);
  const [w, h] = pngSize(img[0].data);
  assert(w === 1280 && h > 720 && h <= 8000, `${w}x${h}, expected 1280 x (720, 8000]`);
  assert(handleIds(r).length === 0, () => `a handle in the result: ${texts(r).join(" | ").slice(0, 300)}`);
  return `${w}x${h}, ${kb(img[0].data)} of PNG`;
});

await spillTest("full-page screenshot over 8000 px: a downscaled image the model takes, the original stored", async () => {
  await go("/tall");
  const r = await call("browser_take_screenshot", { type: "png", scale: "css", fullPage: true });
  const img = images(r);
  assert(img.length === 1, () => `${img.length} image items; text: ${texts(r).join(" | ").slice(0, 400)}`);
  const [w, h] = pngSize(img[0].data);
  assert(Math.max(w, h) <= 1568, `the copy is ${w}x${h}, over 1568 px`);
  const ids = handleIds(r);
  assert(ids.length === 1, () => `${ids.length} handles: ${texts(r).join(" | ").slice(0, 400)}`);
  const cat = spillCli(store, ["cat", ids[0]]);
  assert(cat.status === 0, `spill cat exited ${cat.status}: ${cat.stderr.slice(0, 200)}`);
  const [ow, oh] = pngSize(cat.stdout.subarray(0, 33).toString("base64"));
  assert(ow === 1280 && oh > 8000, `the stored original is ${ow}x${oh}`);
  assert(texts(r).some((t) => t.includes(`${ow}x${oh}`)), "the note does not name the original size");
  return `original ${ow}x${oh} (${Math.round(cat.stdout.length / 1024)} KB) stored, copy ${w}x${h}`;
});

await spillTest("a large browser_snapshot still spills", async () => {
  await go("/big");
  const r = await call("browser_snapshot");
  const ids = handleIds(r);
  const size = JSON.stringify(r).length;
  assert(ids.length >= 1, () => `no handle in a ${size}-byte result: ${JSON.stringify(r).slice(0, 300)}`);
  const st = spillCli(store, ["cat", ids[0]]);
  assert(st.status === 0 && st.stdout.includes("item 11999"), "the stored snapshot lacks the last item");
  return `${Math.round(st.stdout.length / 1024)} KB snapshot stored, ${size} bytes reached the agent`;
});

await test("the server closes cleanly", async () => {
  const c = await s.close();
  assert(c.left.length === 0, `processes left: ${c.left.join(" ")}`);
  if (!DIRECT) verifyStore(store);
});
www.close();
