// calibrate.mjs - fits the token estimator's weights (spill/tokens.c) against the exact
// reference tokenizers and reports its error.
//
//   cd bench/calibrate && npm ci && node calibrate.mjs [--write] [--kb 1536] [--bias 1.0]
//
// 1. Generates the fit corpus (corpus.mjs, seed 1) and cuts it into 16 KiB chunks.
// 2. Counts features per chunk with the C estimator itself (est_count --frames, built
//    here from bench/est_count.c + spill/tokens.c), so the fit sees exactly what the
//    library counts, and exact tokens with tiktoken / @anthropic-ai/tokenizer.
// 3. Per vocabulary: non-negative least squares on the *relative* error (rows scaled
//    by 1/reference, every class weighted equally), with a light ridge toward prior
//    weights so features the corpus barely exercises keep sane values. Weights must
//    be >= 0: that is what keeps the estimate monotonic in the input.
// 4. --bias B multiplies all weights by B (B > 1 leans towards over-estimating).
// 5. --write puts the weights into spill/tokens.c (between BEGIN/END WEIGHTS), rebuilds
//    and then reports, per class x vocabulary, mean and worst signed error of the C
//    estimator on 16 KiB chunks and whole files of: a fresh generated corpus (seed 2)
//    and real text from this machine (lib.mjs gatherReal).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CLASSES, generate } from "./corpus.mjs";
import { VOCABS, loadReferences, chunkText, runEstimator, errStats, pct, gatherReal } from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const KB = Number(opt("--kb", 1536));
const BIAS = Number(opt("--bias", 1.0));
const WRITE = args.includes("--write");
const tokensC = join(root, "spill", "tokens.c");

function buildEst() {
  const dir = mkdtempSync(join(tmpdir(), "spill-cal-")), out = join(dir, "est_count");
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(process.env.CC || "cc", ["-std=c11", "-O2", "-I", join(root, "spill"), "-o", out,
    join(root, "bench", "est_count.c"), tokensC], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("building est_count failed");
  return out;
}

const t0 = Date.now();
const log = (...a) => console.error(`[${((Date.now() - t0) / 1000).toFixed(0)}s]`, ...a);
const ref = loadReferences(here);
let est = buildEst();

// ---- fit set ----
const fitRows = [];
for (const c of CLASSES) {
  const chunks = chunkText(generate(c, 1, KB * 1024));
  const { names, rows } = runEstimator(est, chunks);
  rows.forEach((r, i) => { r.cls = c; r.text = chunks[i]; r.ref = Object.fromEntries(VOCABS.map((v) => [v, ref.count[v](chunks[i])])); fitRows.push(r); });
  fitRows.names = names;
}
log(`fit set: ${fitRows.length} chunks`);
const NAMES = fitRows.names, K = NAMES.length;

// Prior tokens per count (see the feature list in tokens.c): used by the ridge only.
const PRIOR = { word: 1, word_abs: 0.5, camel: 1, uprun: 0.3, l5: 0.25, dstart: 1, dsp: 0.5,
  dgrp: 1, d4: 0.1, dlong: 0.33, alnum: 0.3, prun: 1, pch: 0.3, prep: 0.1, nl: 1, nlp: 0.5, sp2: 1, wsc: 0.02, u2: 1, u3a: 1, u3k: 1, u3h: 1, u3g: 1, u3f: 1, u4: 2 };
// Lower bounds: per-char features of long runs must keep a cost even where the corpus
// hardly shows such runs (no token is longer than 128 bytes in o200k/cl100k, and a run
// of one punctuation char is about 64 per token; a digit run is 3 per token).
// Non-ASCII code points outside the corpus' scripts (Cyrillic, Greek, symbols, emoji)
// keep at least a quarter / half / one token each.
const UNI = { u2: 0.25, u3a: 0.5, u3f: 0.5, u4: 1 };
const LOWER = { claude: { prep: 1 / 256, pch: 1 / 64, wsc: 1 / 1024, dlong: 1 / 32, l5: 1 / 16, ...UNI },
  o200k: { prep: 1 / 64, pch: 1 / 64, wsc: 1 / 128, dlong: 1 / 3, l5: 1 / 16, ...UNI },
  cl100k: { prep: 1 / 64, pch: 1 / 64, wsc: 1 / 128, dlong: 1 / 3, l5: 1 / 16, ...UNI } };
// Upper bounds where the corpus has too few samples to pin a weight down: a 4-byte
// code point (emoji) is 1-2 tokens in these vocabularies, never more than its bytes.
const UPPER = { u4: 2.5, u3a: 2, u3f: 2, u2: 1.5 };
const prior = NAMES.map((n) => { if (!(n in PRIOR)) throw new Error(`no prior for feature ${n}`); return PRIOR[n]; });

// min sum_r a_r (x_r.w - y_r)^2 / y_r^2 + ridge, w >= 0: projected coordinate descent on
// the normal equations (K is small).
function fit(rows, v) {
  const perClass = {};
  for (const r of rows) perClass[r.cls] = (perClass[r.cls] || 0) + 1;
  const A = Array.from({ length: K }, () => new Float64Array(K)), b = new Float64Array(K);
  for (const r of rows) {
    const y = r.ref[v], a = 1 / perClass[r.cls] / (y * y);
    for (let i = 0; i < K; i++) { if (!r.feat[i]) continue; b[i] += a * r.feat[i] * y; for (let j = 0; j < K; j++) A[i][j] += a * r.feat[i] * r.feat[j]; }
  }
  const scale = A.reduce((m, row, i) => Math.max(m, row[i]), 0);
  for (let i = 0; i < K; i++) { const lam = 1e-3 * A[i][i] + 1e-7 * scale; A[i][i] += lam; b[i] += lam * prior[i]; }
  const lo = NAMES.map((n) => LOWER[v][n] ?? 0), hi = NAMES.map((n) => UPPER[n] ?? Infinity);
  const w = Float64Array.from(prior, (x, i) => Math.min(hi[i], Math.max(x, lo[i])));
  for (let sweep = 0; sweep < 20000; sweep++) {
    let moved = 0;
    for (let i = 0; i < K; i++) {
      let g = -b[i];
      for (let j = 0; j < K; j++) g += A[i][j] * w[j];
      const nw = Math.min(hi[i], Math.max(lo[i], w[i] - g / A[i][i]));
      moved = Math.max(moved, Math.abs(nw - w[i]));
      w[i] = nw;
    }
    if (moved < 1e-10) break;
  }
  return Array.from(w, (x) => x * BIAS);
}
const W = Object.fromEntries(VOCABS.map((v) => [v, fit(fitRows, v)]));
for (const v of VOCABS) console.log(`weights ${v}: ${NAMES.map((n, i) => `${n}=${W[v][i].toFixed(3)}`).join(" ")}`);

if (WRITE) {
  const q = (x) => Math.round(x * 65536);
  const row = (v) => { const x = W[v].map(q), l = []; for (let i = 0; i < x.length; i += 10) l.push(x.slice(i, i + 10).join(", ")); return l.join(",\n        "); };
  const body = `static const uint32_t weights[3][NFEAT] = {\n${VOCABS.map((v) => `    /* ${v} */\n    {${row(v)}},`).join("\n")}\n};`;
  const src = readFileSync(tokensC, "utf8");
  const next = src.replace(/(\/\* BEGIN WEIGHTS \*\/\n)[\s\S]*?(\n\/\* END WEIGHTS \*\/)/, `$1${body}$2`);
  if (next === src && !src.includes(body)) throw new Error("BEGIN/END WEIGHTS markers not found in tokens.c");
  writeFileSync(tokensC, next);
  log("weights written to spill/tokens.c");
  est = buildEst();
}

// ---- evaluation ----
// Uses the C estimator's own rounded, clamped output (the weights compiled in, so run
// with --write, or after it, for numbers that match the library).
function evaluate(label, units) { // units: [{cls, text}] -> per class x vocab stats
  const { rows } = runEstimator(est, units.map((u) => u.text));
  const res = {};
  rows.forEach((r, i) => {
    const u = units[i];
    for (const v of VOCABS) {
      const y = ref.count[v](u.text);
      ((res[u.cls] ??= {})[v] ??= []).push((r.est[v] - y) / y);
    }
  });
  return Object.fromEntries(Object.entries(res).map(([c, o]) => [c, Object.fromEntries(VOCABS.map((v) => [v, errStats(o[v])]))]));
}
function table(title, chunkRes, wholeRes) {
  console.log(`\n${title}`);
  console.log(`${"class".padEnd(12)}${"".padEnd(4)}${VOCABS.map((v) => `${v} 16KiB mean/worst`.padStart(26) + `${v} whole mean/worst`.padStart(26)).join("")}`);
  for (const c of Object.keys(chunkRes)) {
    const n1 = chunkRes[c][VOCABS[0]].n, n2 = wholeRes[c]?.[VOCABS[0]].n ?? 0;
    let line = `${c.padEnd(12)}${String(n1).padStart(4)}`;
    for (const v of VOCABS) {
      const a = chunkRes[c][v], b = wholeRes[c]?.[v];
      line += `${pct(a.mean)} / ${pct(a.worst)}`.padStart(26) + (b ? `${pct(b.mean)} / ${pct(b.worst)} (${n2})` : "-").padStart(26);
    }
    console.log(line);
  }
}

const gen = CLASSES.map((c) => ({ cls: c, text: generate(c, 2, (KB / 2) * 1024) }));
const genChunks = gen.flatMap((u) => chunkText(u.text).map((t) => ({ cls: u.cls, text: t })));
log(`holdout generated: ${genChunks.length} chunks`);
// whole "files" of generated text: each class cut into 256 KiB pieces
const genWhole = gen.flatMap((u) => chunkText(u.text, 256 * 1024, 64 * 1024).map((t) => ({ cls: u.cls, text: t })));
table("generated corpus, seed 2 (not fitted on); whole = 256 KiB files", evaluate("gen", genChunks), evaluate("gen", genWhole));

if (WRITE) { // the fit rows' estimates came from the weights before; recount
  const again = runEstimator(est, fitRows.map((r) => r.text)).rows;
  fitRows.forEach((r, i) => (r.est = again[i].est));
}
const fitRes = {};
for (const r of fitRows) for (const v of VOCABS) ((fitRes[r.cls] ??= {})[v] ??= []).push((r.est[v] - r.ref[v]) / r.ref[v]);
console.log("\nfit set (seed 1), 16 KiB chunks, C estimator: " + Object.entries(fitRes).map(([c, o]) => `${c} ${VOCABS.map((v) => pct(errStats(o[v]).mean)).join("/")}`).join("  "));

const real = gatherReal(join(here, "node_modules"));
const realChunks = [], realWhole = [];
for (const [c, files] of Object.entries(real)) for (const f of files) {
  realWhole.push({ cls: `real-${c}`, text: f.text });
  for (const t of chunkText(f.text)) realChunks.push({ cls: `real-${c}`, text: t });
}
log(`real text: ${realWhole.length} files, ${realChunks.length} chunks`);
table("real text from this machine (licences, copyright files, /usr/include, JSON, logs, CPython CJK samples); whole = per file",
  evaluate("real", realChunks), evaluate("real", realWhole));
console.log(`\nreferences: tiktoken@${ref.versions.tiktoken} @anthropic-ai/tokenizer@${ref.versions["@anthropic-ai/tokenizer"]}, node ${process.version}`);
ref.free();
