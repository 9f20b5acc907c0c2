// check.mjs - accuracy check of the token estimator against the exact tokenizers,
// counted now (nothing hard-coded but the error bounds). Run by
// tests/cli/test_estimator_accuracy.sh; prints one "ok - / not ok - " line per check.
//
//   node check.mjs --est PATH/est_count [--seed N] [--kb 192] [--worst F] [--no-real]
//
// Generated text (corpus.mjs with the given seed, not the fitting seed) per class, cut
// into 16 KiB chunks: |mean| signed error per class and vocabulary must stay within
// GEN_MEAN, every chunk within GEN_WORST. Real text from this machine (what exists of
// licences, /usr/include, JSON, logs): |mean| within REAL_MEAN. The bounds sit a bit
// above what bench/calibrate/calibrate.mjs measured (see its output in README.md).
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CLASSES, generate } from "./corpus.mjs";
import { VOCABS, loadReferences, chunkText, runEstimator, errStats, pct, gatherReal } from "./lib.mjs";

const GEN_MEAN = 0.03;   // measured |mean| <= 1.5% (+1% of it is the deliberate bias)
const GEN_WORST_DEFAULT = 0.08; // measured worst chunk within 6.2% (JSON) at seed 7
const REAL_MEAN = 0.12;  // measured |mean| <= 9.5% on prose/code/json/logs
const REAL_CLASSES = ["prose", "code", "json", "logs"]; // the CJK samples found are too few

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const est = opt("--est", null);
const seed = Number(opt("--seed", 7));
const kb = Number(opt("--kb", 192));
// The target bound holds on the held-out seed-7 corpus; a fresh seed's corpus is text
// the weights have never seen, where a single 16 KiB chunk strays further (-9.2% seen).
const GEN_WORST = Number(opt("--worst", GEN_WORST_DEFAULT));
if (!est) { console.error("usage: node check.mjs --est PATH/est_count [--seed N] [--kb N]"); process.exit(2); }

const ref = loadReferences(here);
let failed = 0;
const report = (ok, name, detail) => { if (!ok) failed++; console.log(`${ok ? "ok" : "not ok"} - ${name}: ${detail}`); };

function errors(texts) {
  const { rows } = runEstimator(est, texts);
  return Object.fromEntries(VOCABS.map((v) => [v, rows.map((r, i) => { const y = ref.count[v](texts[i]); return (r.est[v] - y) / y; })]));
}

console.log(`# references tiktoken@${ref.versions.tiktoken} @anthropic-ai/tokenizer@${ref.versions["@anthropic-ai/tokenizer"]}; corpus seed ${seed}, ${kb} KiB per class`);
for (const c of CLASSES) {
  const chunks = chunkText(generate(c, seed, kb * 1024));
  const e = errors(chunks);
  for (const v of VOCABS) {
    const s = errStats(e[v]);
    report(Math.abs(s.mean) <= GEN_MEAN && Math.abs(s.worst) <= GEN_WORST, `estimator ${v} on generated ${c} (seed ${seed})`,
      `mean ${pct(s.mean)} (bound ±${GEN_MEAN * 100}%), worst ${pct(s.worst)} (bound ±${GEN_WORST * 100}%), ${s.n} chunks of 16 KiB`);
  }
}
const real = args.includes("--no-real") ? {} : gatherReal(`${here}/node_modules`, 384 * 1024, 48 * 1024);
for (const c of REAL_CLASSES) {
  if (args.includes("--no-real")) break;
  if (!real[c]) { console.log(`skip - estimator on real ${c}: no such files on this machine`); continue; }
  const chunks = real[c].flatMap((f) => chunkText(f.text));
  const e = errors(chunks);
  for (const v of VOCABS) {
    const s = errStats(e[v]);
    report(Math.abs(s.mean) <= REAL_MEAN, `estimator ${v} on real ${c}`,
      `mean ${pct(s.mean)} (bound ±${REAL_MEAN * 100}%), worst ${pct(s.worst)}, ${s.n} chunks from ${real[c].length} files`);
  }
}
ref.free();
process.exit(failed ? 1 : 0);
