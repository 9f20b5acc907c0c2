// lib.mjs - shared by calibrate.mjs and check.mjs: reference tokenizers, chunking,
// running the C estimator (est_count --frames), error statistics, real-text samples.
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, statSync, existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

export const VOCABS = ["claude", "o200k", "cl100k"]; // spill__vocab order
export const CHUNK = 16384;

// Exact reference counts. o200k/cl100k: tiktoken encode_ordinary. Legacy Claude:
// @anthropic-ai/tokenizer's own recipe (NFKC, then encode with specials allowed).
export function loadReferences(fromDir) {
  const req = createRequire(join(fromDir, "noop.js"));
  const tiktoken = req("tiktoken");
  const anth = req("@anthropic-ai/tokenizer");
  const o200k = tiktoken.get_encoding("o200k_base"), cl100k = tiktoken.get_encoding("cl100k_base");
  const claude = anth.getTokenizer();
  const versions = {
    tiktoken: JSON.parse(readFileSync(join(fromDir, "node_modules/tiktoken/package.json"), "utf8")).version,
    "@anthropic-ai/tokenizer": JSON.parse(readFileSync(join(fromDir, "node_modules/@anthropic-ai/tokenizer/package.json"), "utf8")).version,
  };
  return {
    versions,
    count: {
      claude: (s) => claude.encode(s.normalize("NFKC"), "all").length,
      o200k: (s) => o200k.encode_ordinary(s).length,
      cl100k: (s) => cl100k.encode_ordinary(s).length,
    },
    free: () => { claude.free(); o200k.free(); cl100k.free(); },
  };
}

// Cuts UTF-8 text into pieces of at most `size` bytes, each ending on a character
// boundary; a last piece shorter than minLast is dropped (too small to measure).
export function chunkText(text, size = CHUNK, minLast = 1024) {
  const b = Buffer.from(text, "utf8"), out = [];
  for (let i = 0; i < b.length;) {
    let e = Math.min(b.length, i + size);
    while (e < b.length && e > i && (b[e] & 0xc0) === 0x80) e--;
    if (e - i >= minLast || out.length === 0) out.push(b.subarray(i, e).toString("utf8"));
    i = e;
  }
  return out;
}

// Runs the estimator on each text: [{bytes, est: {claude, o200k, cl100k}, feat: [...]}].
export function runEstimator(bin, texts, extraArgs = []) {
  const parts = [];
  for (const t of texts) { const b = Buffer.from(t, "utf8"); parts.push(Buffer.from(`${b.length}\n`), b); }
  const r = spawnSync(bin, ["--frames", ...extraArgs], { input: Buffer.concat(parts), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr}`);
  const lines = r.stdout.toString().trim().split("\n");
  const names = lines[0].replace(/^#\s*/, "").split(" ").slice(4);
  const rows = lines.slice(1).map((l) => {
    const n = l.split(" ").map(Number);
    return { bytes: n[0], est: { claude: n[1], o200k: n[2], cl100k: n[3] }, feat: n.slice(4) };
  });
  if (rows.length !== texts.length) throw new Error("estimator returned the wrong number of rows");
  return { names, rows };
}

// Signed relative errors -> {n, mean, worst} (worst = the largest in magnitude, signed).
export function errStats(errs) {
  if (!errs.length) return { n: 0, mean: 0, worst: 0 };
  const mean = errs.reduce((a, x) => a + x, 0) / errs.length;
  const worst = errs.reduce((a, x) => (Math.abs(x) > Math.abs(a) ? x : a), 0);
  return { n: errs.length, mean, worst };
}
export const pct = (x) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;

// Real text found on this machine, per class: [{name, text}], sorted paths, capped.
const listDir = (d) => { try { return readdirSync(d).sort(); } catch { return []; } };
const isFile = (p) => { try { return statSync(p).isFile(); } catch { return false; } };
function readText(p, cap) {
  try {
    let b = readFileSync(p);
    if (b.length > cap) b = b.subarray(0, cap);
    const s = b.toString("utf8");
    if (s.includes("\u0000") || s.includes("\ufffd")) return null; // binary or not UTF-8
    return s;
  } catch { return null; }
}
function collect(paths, totalCap, fileCap = 128 * 1024, minSize = 512) {
  const out = [], seen = new Set();
  let total = 0;
  for (const p of paths) {
    if (total >= totalCap) break;
    if (!isFile(p)) continue;
    let rp; try { rp = realpathSync(p); } catch { continue; }
    if (seen.has(rp)) continue;
    seen.add(rp);
    const t = readText(p, fileCap);
    if (!t || Buffer.byteLength(t) < minSize) continue;
    out.push({ name: p, text: t });
    total += Buffer.byteLength(t);
  }
  return out;
}
function walk(dir, pred, depth = 4, out = []) {
  if (depth < 0) return out;
  for (const n of listDir(dir)) {
    const p = join(dir, n);
    let st; try { st = statSync(p); } catch { continue; }
    if (st.isDirectory()) walk(p, pred, depth - 1, out);
    else if (pred(n, p)) out.push(p);
  }
  return out;
}
export function gatherReal(nodeModulesDir, capPerClass = 1536 * 1024, fileCap = 128 * 1024) {
  const real = {};
  real.prose = collect([
    ...listDir("/usr/share/common-licenses").map((n) => join("/usr/share/common-licenses", n)),
    ...listDir("/usr/share/doc").map((n) => join("/usr/share/doc", n, "copyright")),
  ], capPerClass, fileCap);
  real.code = collect([
    ...listDir("/usr/include").filter((n) => n.endsWith(".h")).map((n) => join("/usr/include", n)),
    ...walk("/usr/include/linux", (n) => n.endsWith(".h"), 1),
  ], capPerClass, fileCap);
  real.json = collect([
    ...walk("/usr/share", (n) => n.endsWith(".json"), 5),
    ...walk(nodeModulesDir, (n) => n === "package.json", 4),
  ], capPerClass, fileCap);
  real.logs = collect([
    "/var/log/dpkg.log", "/var/log/apt/history.log", "/var/log/apt/term.log", "/var/log/alternatives.log",
    "/var/log/fontconfig.log", ...walk("/var/log/postgresql", (n) => n.endsWith(".log"), 1),
  ], capPerClass, 4 * fileCap);
  const journal = spawnSync("journalctl", ["--no-pager", "-q", "-n", "20000"], { maxBuffer: 1 << 26 });
  if (journal.status === 0 && journal.stdout.length > 4096) real.logs.push({ name: "journalctl", text: journal.stdout.toString("utf8").slice(0, 4 * fileCap) });
  // CJK: CPython's test samples, where some Python install ships them.
  const cjkDirs = [...listDir("/usr/lib").filter((n) => n.startsWith("python3")).map((n) => `/usr/lib/${n}/test/cjkencodings`),
    ...listDir("/root/.pyenv/versions").map((v) => `/root/.pyenv/versions/${v}/lib/python${v.split(".").slice(0, 2).join(".")}/test/cjkencodings`)];
  const cjkDir = cjkDirs.find((d) => existsSync(d));
  real.cjk = cjkDir ? collect(listDir(cjkDir).filter((n) => n.endsWith("-utf8.txt") || n.endsWith("_utf8.txt")).map((n) => join(cjkDir, n)), capPerClass, 128 * 1024, 256) : [];
  for (const k of Object.keys(real)) if (!real[k].length) delete real[k];
  return real;
}
