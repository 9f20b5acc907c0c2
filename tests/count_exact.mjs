// count_exact.mjs - the exact counter (build/exact_count, spill_count*) against the
// pinned reference tokenizers: tiktoken@1.0.22 encode_ordinary (o200k, cl100k) and
// @anthropic-ai/tokenizer@0.0.4 getTokenizer().encode(s.normalize('NFKC'), 'all')
// (legacy Claude). Run by tests/cli/test_count_exact.sh; prints "ok - ..." lines.
//
//   node count_exact.mjs --bin EXACT_COUNT --tmp DIR --seed N [--fuzz N] [--kb N]
//                        [--shared PATH/make-corpus.mjs | --no-shared WHY]
// (a) the project's corpus (bench/calibrate/corpus.mjs, seed 1, all classes + mix),
//     also checked under every chunking 1..64 B (64 KiB prefixes), powers of two to
//     1 MiB and random splits (exact_count --check-chunks all);
// (b) with --shared: the research corpus (seed 20240601) against its golden counts
//     (research/token-counting.md §3b A), and the references on mix.txt;
// (c) --fuzz N random byte strings per vocabulary over a mixed alphabet, invalid UTF-8
//     included (the reference sees Buffer.toString('utf8')), each also fed in one
//     chunk size (taking turns over all of them) and one random split.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const cal = join(root, "bench/calibrate");
const { loadReferences } = await import(join(cal, "lib.mjs"));
const { generate, CLASSES, makeRng } = await import(join(cal, "corpus.mjs"));

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const bin = opt("--bin"), tmp = opt("--tmp"), seed = Number(opt("--seed", 1));
const nfuzz = Number(opt("--fuzz", 100000)), kb = Number(opt("--kb", 512));
const shared = opt("--shared", "");
const sharedOff = opt("--no-shared", ""); // why the research corpus is not run here
const VOC = ["claude", "o200k", "cl100k"];
const ok = (n) => console.log(`ok - ${n}`);
const notok = (n, why) => console.log(`not ok - ${n}: ${why}`);
const skip = (n, why) => console.log(`skip - ${n}: ${why}`);

const ref = loadReferences(cal);
console.log(`# references: tiktoken ${ref.versions.tiktoken}, @anthropic-ai/tokenizer ${ref.versions["@anthropic-ai/tokenizer"]}`);

function frames(bufs) {
  const parts = [];
  for (const b of bufs) parts.push(Buffer.from(`${b.length}\n`), b);
  return Buffer.concat(parts);
}
// exact_count over buffers: {rows: [[claude, o200k, cl100k] as strings], mismatches, status}
function runC(bufs, extra = []) {
  const input = frames(bufs);
  if (process.env.COUNT_EXACT_DUMP) writeFileSync(process.env.COUNT_EXACT_DUMP, input);
  const r = spawnSync(bin, ["--vocab", "claude", "--vocab", "o200k", "--vocab", "cl100k", ...extra],
    { input, maxBuffer: 1 << 30 });
  if (r.error && r.error.code !== "EPIPE") throw r.error;
  const lines = r.stdout.toString().split("\n");
  const mism = lines.filter((l) => l.startsWith("mismatch"));
  const rows = lines.filter((l) => l && !l.startsWith("mismatch")).map((l) => l.trim().split(" "));
  return { rows, mism, status: r.status, stderr: r.stderr.toString() };
}
function compare(name, bufs, texts, extra) {
  const t0 = Date.now();
  const c = runC(bufs, extra);
  if (c.status !== 0 && !c.mism.length) return notok(name, `exact_count failed (${c.status}): ${c.stderr.slice(0, 300)}`);
  if (c.rows.length !== bufs.length) return notok(name, `exact_count gave ${c.rows.length} rows for ${bufs.length} inputs`);
  for (let v = 0; v < 3; v++) {
    const bad = [];
    let capped = 0;
    for (let i = 0; i < texts.length; i++) {
      const want = ref.count[VOC[v]](texts[i]);
      // "Nc": spill flags the count as possibly inexact (a piece over the cap, or a
      // run of combining marks past the NFKC hold bound, which no stream-safe text has).
      // The count must still equal the reference: the flag is counted, not excused.
      const got = c.rows[i][v];
      if (got.endsWith("c")) capped++;
      if (got.replace(/c$/, "") !== String(want)) bad.push({ i, want, got });
    }
    if (capped) console.log(`# ${name}, ${VOC[v]}: ${capped} input(s) flagged capped (their counts are still compared)`);
    const chunkBad = c.mism.filter((l) => l.includes(`vocab=${VOC[v]} `));
    const n = `${name}, ${VOC[v]}: ${texts.length} inputs, 0 mismatches${extra.length ? " (and every chunking)" : ""}`;
    if (!bad.length && !chunkBad.length) ok(n);
    else {
      const b = bad[0];
      const why = b ? `${bad.length} mismatches; first: input ${b.i} (${JSON.stringify(texts[b.i].slice(0, 120))}) reference ${b.want}, spill ${b.got}` : "";
      notok(n.replace(", 0 mismatches", ""), `${why}${chunkBad.length ? ` ${chunkBad.length} chunking mismatches; first: ${chunkBad[0]}` : ""}`);
    }
  }
  console.log(`# ${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// ---- (a) the project's corpus ----
{
  const texts = CLASSES.map((c) => generate(c, 1, kb * 1024));
  const bufs = texts.map((t) => Buffer.from(t, "utf8"));
  // 64 KiB prefixes on character boundaries get every small chunk size.
  const pre = bufs.map((b) => { let e = Math.min(b.length, 65536); while (e > 0 && (b[e] & 0xc0) === 0x80) e--; return b.subarray(0, e); });
  compare(`corpus.mjs seed 1 (${CLASSES.join(", ")}; ${kb} KiB each)`, [...bufs, ...pre],
    [...texts, ...pre.map((b) => b.toString("utf8"))], ["--check-chunks", "all", "--small-upto", "65536", "--seed", String(seed)]);
}

// ---- (b) the research corpus, golden counts ----
const GOLDEN = { // research/token-counting.md §3b A: o200k, cl100k, legacy Claude
  prose: [885160, 886136, 896347], code: [900027, 898560, 1049062], json: [1208128, 1200212, 1221254],
  logs: [1341852, 1331143, 1384625], cjk: [699822, 1053366, 1037293], base64: [2397264, 2516580, 2473218],
  mix: [7432252, null, null],
};
if (sharedOff) {
  skip("research corpus (make-corpus.mjs seed 20240601)", sharedOff);
} else if (!shared || !existsSync(shared)) {
  skip("research corpus (make-corpus.mjs seed 20240601)", `SKIPPED LOUDLY: ${shared || "../shared/tools/make-corpus.mjs"} is not there`);
} else {
  const t0 = Date.now();
  const dir = join(tmp, "research-corpus");
  mkdirSync(dir, { recursive: true });
  const g = spawnSync(process.execPath, [shared, dir, "20240601"], { maxBuffer: 1 << 26 });
  if (g.status !== 0) notok("research corpus", `make-corpus.mjs failed: ${g.stderr}`);
  else {
    const names = Object.keys(GOLDEN);
    const bufs = names.map((n) => readFileSync(join(dir, `${n}.txt`)));
    const c = runC(bufs, ["--check-chunks", "rotate", "--seed", String(seed)]);
    const order = [1, 2, 0]; // GOLDEN columns -> VOC index (o200k, cl100k, claude)
    const mixText = bufs[names.indexOf("mix")].toString("utf8");
    for (let gcol = 0; gcol < 3; gcol++) {
      const v = order[gcol], bad = [];
      for (let i = 0; i < names.length; i++) {
        let want = GOLDEN[names[i]][gcol];
        if (want === null) want = ref.count[VOC[v]](mixText); // no golden: the reference itself
        if (c.rows[i]?.[v] !== String(want)) bad.push(`${names[i]}: want ${want}, got ${c.rows[i]?.[v]}`);
      }
      const chunkBad = c.mism.filter((l) => l.includes(`vocab=${VOC[v]} `));
      const n = `research corpus (make-corpus.mjs seed 20240601, 7 files), ${VOC[v]}: golden/reference counts, 0 mismatches`;
      if (!bad.length && !chunkBad.length) ok(n);
      else notok(n, `${bad.join("; ")} ${chunkBad.slice(0, 2).join("; ")}`);
    }
    console.log(`# research corpus took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

// ---- (c) fuzz ----
// Random code points are drawn from those assigned in the Unicode version of the
// generated tables (Debian's unicode-data, /usr/share/unicode/UnicodeData.txt). The
// reference's regex (tiktoken's Rust regex tables) already knows characters added
// later, which the tables cannot classify; those are a known, documented gap.
function assignedSet() {
  const f = "/usr/share/unicode/UnicodeData.txt";
  if (!existsSync(f)) return null;
  const s = new Set();
  let first = null;
  for (const l of readFileSync(f, "utf8").split("\n")) {
    if (!l) continue;
    const p = l.split(";"), c = parseInt(p[0], 16);
    if (p[1].endsWith(", First>")) first = c;
    else if (p[1].endsWith(", Last>")) for (let x = first; x <= c; x++) s.add(x);
    else s.add(c);
  }
  return s;
}
{
  const r = makeRng(seed >>> 0);
  const cp = (...c) => String.fromCodePoint(...c);
  const assigned = assignedSet();
  const range = (a, b) => {
    for (let k = 0; k < 100; k++) {
      const c = a + r.int(b - a + 1);
      if ((c < 0xd800 || c > 0xdfff) && (!assigned || assigned.has(c))) return cp(c);
    }
    return "x";
  };
  const atoms = [
    () => r.pick(["a", "b", "Z", "Q", "x", "hello", "World", "camelCase", "HTTPServer", "iPhone", "XMLHttpRequest", "ABCdef", "aBc"]),
    () => String(r.int(100000)), () => r.pick(["0", "12", "123", "1234", "12345678"]),
    () => r.pick([" ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\n ", "\r\n\r\n", "  \t ", "\u00a0", "\u2009", "\u3000", "\u000b", "\u000c", "\u0085", "\u2028"]),
    () => r.pick(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'rE", "'VE", "'M", "'LL", "'Ll", "'D", "'x", "'", "''", "don't", "I'M", "WE'LL", "it's"]),
    () => r.pick([".", ",", "!", "?", ";", ":", "-", "--", "...", "(", ")", "{", "}", "[", "]", "\"", "/", "//", "\\", "_", "__", "@", "#", "$", "%", "^", "&", "*", "+", "=", "<", ">", "|", "~", "`", "/*", "*/", "=>", "->"]),
    () => range(0x4e00, 0x9fff), () => range(0x4e00, 0x9fff) + range(0x4e00, 0x9fff) + range(0x4e00, 0x9fff),
    () => range(0xac00, 0xd7a3), () => range(0x3041, 0x3096), () => range(0x30a1, 0x30fa),
    () => cp(0x1100 + r.int(19), 0x1161 + r.int(21)), // conjoining jamo: NFKC composes them
    () => r.pick(["😀", "👍🏽", "👨‍👩‍👧", "🇯🇵", "❤️", "🎉", "🧑‍💻", "✨"]),
    () => r.pick(["e\u0301", "\u0301", "a\u0308\u0304", "\u0300\u0301", "n\u0303", "\u05d0\u05b8", "\u0915\u094d\u0937", "\u0e01\u0e34"]),
    () => r.pick(["Ａ", "ｚ", "１２３", "＜", "＞", "！", "（", "）", "ﬁ", "㎏", "①", "²", "Ⅻ", "٣", "ǅ", "ʰ", "ﾊﾟ", "ｶﾞ", "Ω", "K"]),
    () => r.pick(["<EOT>", "<META>", "<META_START>", "<META_END>", "<SOS>", "＜EOT＞", "<META", "<EO", "<SOS", "<<EOT>>", "<eot>", "< EOT>", "<META_STAR>", "<|endoftext|>", "<|endofprompt|>"]),
    () => r.pick(["Привет", "мир", "Ελληνικά", "العربية", "हिन्दी", "ไทย", "Straße", "İstanbul", "ﬀ"]),
    () => range(0x20, 0x7e), () => range(0x80, 0x2fff), () => range(0x10000, 0x1ffff),
  ];
  const invalid = [[0x80], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xff], [0xfe], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe0, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3, 0x28], [0xbf, 0xbf]];
  const bufs = [];
  for (let i = 0; i < nfuzz; i++) {
    const parts = [];
    const natoms = r.chance(0.05) ? r.range(50, 400) : r.range(0, 30);
    const pal = [r.int(atoms.length), r.int(atoms.length), r.int(atoms.length)]; // a few atom kinds per string
    for (let k = 0; k < natoms; k++) {
      if (r.chance(0.04)) { parts.push(Buffer.from(r.pick(invalid))); continue; }
      const a = r.chance(0.7) ? atoms[r.pick(pal)] : r.pick(atoms);
      let s = a();
      if (r.chance(0.05)) s = s.repeat(r.range(2, 40));
      parts.push(Buffer.from(s, "utf8"));
    }
    bufs.push(Buffer.concat(parts));
  }
  const texts = bufs.map((b) => b.toString("utf8"));
  compare(`fuzz (${nfuzz} random strings, seed ${seed})`, bufs, texts, ["--check-chunks", "rotate", "--seed", String(seed)]);
}
ref.free();
