// pretok_ref.mjs SPLIT_BIN - differential test of the text front end and the
// pre-tokenizers (spill/textnorm.c, spill/pretok.c) against references, run by
// test_pretok_ref.sh. Prints "ok - NAME" / "not ok - NAME: WHY" lines.
//
// References:
//   pieces: the vocabularies' regexes as JavaScript RegExps (the `u` flag gives \p{..}
//     and lookahead). Two rewrites keep them equal to the Rust regex crates that
//     tiktoken runs: (?i:...) is spelled out, with U+017F (long s, which Unicode simple
//     case folding maps to s) wherever s may match; and \s/\S are explicit White_Space
//     classes, because JavaScript's \s adds U+FEFF and lacks U+0085.
//   tokens: tiktoken@1.0.22 encode_ordinary and @anthropic-ai/tokenizer@0.0.4 (NFKC,
//     then encode): the tokens of the C pieces, each encoded alone, must be the tokens
//     of the whole string.
//   UTF-8: Buffer.toString('utf8') (WHATWG replacement); NFKC: String.normalize.
// The strings are random over a mixed alphabet, seeded by SPILL_TEST_SEED. Only code
// points assigned since Unicode 15.0 or earlier are used: spill's tables come from
// Debian's Unicode 15.0 data, while Node's ICU and tiktoken's regex crate are newer.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const split = process.argv[2];
const seed = Number(process.env.SPILL_TEST_SEED || 1) >>> 0;
const count = Number(process.env.SPILL_PRETOK_STRINGS || 20000);
console.log(`# seed ${seed}, ${count} strings, node ${process.version}, unicode ${process.versions.unicode}`);

// ---- the reference regexes ----
const WS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const S = `[${WS}]`, NS = `[^${WS}]`;
const CI = "'(?:[sS\\u017f]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])";
const A = '[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]', B = '[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]';
const PUNCT = `[^${WS}\\p{L}\\p{N}]`;
const REGEX = {
  cl100k: `${CI}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?${PUNCT}+[\\r\\n]*|${S}*[\\r\\n]+|${S}+(?!${NS})|${S}+`,
  o200k: `[^\\r\\n\\p{L}\\p{N}]?${A}*${B}+(?:${CI})?|[^\\r\\n\\p{L}\\p{N}]?${A}+${B}*(?:${CI})?|\\p{N}{1,3}|` +
    ` ?${PUNCT}+[\\r\\n/]*|${S}*[\\r\\n]+|${S}+(?!${NS})|${S}+`,
  claude: `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?${PUNCT}+|${S}+(?!${NS})|${S}+`,
};
const pieces = (kind, s) => s.match(new RegExp(REGEX[kind], 'gu')) || [];

// ---- seeded random strings ----
let st = seed || 1;
const rnd = () => { st ^= st << 13; st >>>= 0; st ^= st >>> 17; st ^= st << 5; st >>>= 0; return st / 4294967296; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const range = (lo, hi) => () => String.fromCodePoint(lo + Math.floor(rnd() * (hi - lo + 1)));
const from = (s) => () => pick([...s]);
const units = [
  [20, range(0x61, 0x7a)], [10, range(0x41, 0x5a)], [6, range(0x30, 0x39)],
  [8, from(" !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")], [4, from("'''///")],
  [4, () => pick(["'s", "'S", "'t", "'re", "'RE", "'Ve", "'m", "'ll", "'lL", "'d", "'\u017f", "'x", "'l", "'r", "'v"])],
  [10, () => pick([' ', ' ', '  ', '   ', '\t', '\n', '\r\n', '\n\n', ' \n ', '\r', '\t \t', '\n  '])],
  [3, from('\u00a0\u2028\u3000\u0085\ufeff\u2009\u200b\u1680\u000b\u000c\u001f')],
  [6, range(0x4e00, 0x9fa5)], [3, range(0xac00, 0xd7a3)], [2, range(0x3041, 0x3096)], [1, range(0x30a1, 0x30fa)],
  [2, range(0x1100, 0x1112)], [2, range(0x1161, 0x1175)], [2, range(0x11a8, 0x11c2)],
  [3, range(0x3b1, 0x3c9)], [2, range(0x391, 0x3a9)], [3, range(0x430, 0x44f)], [2, range(0x410, 0x42f)],
  [5, range(0x300, 0x36f)], [1, from('\u0e31\u0e34\u093e\u093f\u0903\u20dd\ufe0f\u302a')],
  [2, range(0x915, 0x939)], [1, range(0x966, 0x96f)], [1, range(0x660, 0x669)],
  [3, from('\u{1f600}\u{1f44d}\u2764\u200d\u{1f468}\u{1f3fd}\u2603\u00a9')],
  [2, from('\u01c5\u01c8\u01cb\u01f2\u1f88\u1fbc')], [2, from('\u02b0\u02c6\u30fc\u3005\u02bc\ua788')],
  [3, range(0xff01, 0xff5e)], [2, from('\ufb01\ufb02\u017f\u212a\u2103\u00bd\u00b2\u2167\u2460\u2116\u3300\u1e9b\u00aa\u00b5')],
  [2, from('\u00e9\u00c9\u00f1\u00fc\u00df\u0130\u0131\u1e9e\u00e5\u212b')],
  // NFKC corner cases: compatibility jamo (some decompose to V jamo), halfwidth forms,
  // compatibility ideographs, Tamil/Kannada two-part vowels, U+0340/0341/0344/0F73.
  [2, range(0x3131, 0x318e)], [2, range(0xff61, 0xffdc)], [1, range(0xf900, 0xfa6d)],
  [2, from('\u0b92\u0bbe\u0bc6\u0bca\u0bd7\u0cbf\u0cc2\u0cd5\u0340\u0341\u0344\u0f73\u0f71\u0f72\u0f80\u0345\u0385\u1fee')],
];
const total = units.reduce((a, [w]) => a + w, 0);
function unit() {
  let r = rnd() * total;
  for (const [w, f] of units) if ((r -= w) < 0) return f();
  return 'a';
}
function randomString() {
  const n = 1 + Math.floor(rnd() * 40);
  let s = '';
  for (let i = 0; i < n; i++) {
    const u = unit();
    s += rnd() < 0.25 ? u.repeat(1 + Math.floor(rnd() * 5)) : u;
  }
  return s;
}
// Raw bytes for the UTF-8 check: valid pieces mixed with the classic invalid forms.
const BAD = [[0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xc2], [0xe0, 0x80, 0x80], [0xe0, 0xa0], [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf], [0xef, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x90], [0xf0, 0x90, 0x80], [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80], [0xff], [0xfe], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe1, 0x80, 0x41], [0xc3, 0xa9], [0xe2, 0x82, 0xac],
  [0xf0, 0x9f, 0x98, 0x80], [0xf4, 0x8f, 0xbf, 0xbf], [0x41], [0x0a], [0xed, 0x9f, 0xbf]];
function randomBytes() {
  const out = [];
  const n = 1 + Math.floor(rnd() * 24);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.5) out.push(...pick(BAD));
    else if (r < 0.8) out.push(Math.floor(rnd() * 256));
    else out.push(...Buffer.from(unit()));
  }
  return Buffer.from(out);
}

// ---- running the C driver ----
function runSplit(mode, chunk, bufs) {
  const parts = [];
  for (const b of bufs) {
    const h = Buffer.alloc(4);
    h.writeUInt32LE(b.length);
    parts.push(h, b);
  }
  const r = spawnSync(split, [mode, String(chunk)], { input: Buffer.concat(parts), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${split} ${mode} ${chunk}: status ${r.status} ${r.stderr}`);
  const lines = r.stdout.toString('latin1').split('\n');
  lines.pop();
  if (lines.length !== bufs.length) throw new Error(`${mode}: ${lines.length} lines for ${bufs.length} records`);
  return lines;
}
const show = (s) => JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

let failures = 0;
function report(name, bad, total, detail) {
  if (bad === 0) console.log(`ok - ${name} (${total} strings)`);
  else { failures++; console.log(`not ok - ${name}: ${bad} of ${total} differ; first: ${detail}`); }
}

const strings = [];
for (let i = 0; i < count; i++) strings.push(randomString());
// Fixed cases the generator may miss.
strings.push("don't", "DON'T", "we'LL", "it'ſ", "'ſ", "x'", "'", "' s", "  ", " \n ", "a\n\n  b", "a  ", "\u00a0\u00a0x",
  'HTTPServer', 'ABCdef', '\u0301\u0301A b', 'A\u0301BC d', '\u3000\u3000\u4e00', '123456789', ' 1234', 'e\u0301',
  '\u1100\u1161\u11a8', '\ufb01x', '\uff21\uff22', '//\n//', '.\n/x', '\u2028\u2029', '\u0085x', '\ufeffx', 'a\ufeff b');
const bufs = strings.map((s) => Buffer.from(s));
const nfkcBufs = strings.map((s) => Buffer.from(s.normalize('NFKC')));

// Pieces: the C splitter against the JavaScript regex, fed whole and in small chunks.
for (const kind of ['claude', 'o200k', 'cl100k']) {
  const want = strings.map((s) => pieces(kind, kind === 'claude' ? s.normalize('NFKC') : s)
    .map((p) => Buffer.byteLength(p)).join(' '));
  for (const chunk of [0, 1, 2, 3, 7]) {
    const got = runSplit(kind, chunk, bufs);
    let bad = 0, detail = '';
    for (let i = 0; i < strings.length; i++) {
      if (got[i] !== want[i]) {
        if (!bad++) detail = `${show(strings[i])}: C [${got[i]}] regex [${want[i]}]`;
      }
    }
    report(`pieces ${kind} chunk ${chunk}`, bad, strings.length, detail);
  }
}

// Tokens: the C pieces encoded one by one equal the reference's tokens of the whole.
const require = createRequire(path.join(root, 'bench/calibrate/package.json'));
let tiktoken = null, claudeTok = null;
try {
  tiktoken = require('tiktoken');
  claudeTok = require('@anthropic-ai/tokenizer');
} catch (e) {
  console.log(`skip - tokens: the reference tokenizers are missing (npm ci --prefix bench/calibrate): ${e.message}`);
}
if (tiktoken) {
  const encs = {
    o200k: tiktoken.get_encoding('o200k_base'), cl100k: tiktoken.get_encoding('cl100k_base'),
    claude: claudeTok.getTokenizer(),
  };
  const enc = (kind, b) => kind === 'claude' ? encs.claude.encode(b.toString(), 'all') : encs[kind].encode_ordinary(b.toString());
  for (const kind of ['claude', 'o200k', 'cl100k']) {
    const src = kind === 'claude' ? nfkcBufs : bufs;
    const got = runSplit(kind, 0, bufs);
    let bad = 0, detail = '';
    for (let i = 0; i < strings.length; i++) {
      const whole = Array.from(enc(kind, src[i]));
      const parts = [];
      let off = 0;
      for (const len of got[i] ? got[i].split(' ').map(Number) : []) {
        parts.push(...enc(kind, src[i].subarray(off, off + len)));
        off += len;
      }
      if (off !== src[i].length || whole.join() !== parts.join()) {
        if (!bad++) detail = `${show(strings[i])}: whole [${whole}] by C pieces [${parts}]`;
      }
    }
    report(`tokens ${kind}`, bad, strings.length, detail);
  }
}

// UTF-8 replacement and NFKC, every chunking of the front end.
const raw = [];
for (let i = 0; i < Math.max(1000, count / 4); i++) raw.push(randomBytes());
const hex = (b) => b.toString('hex');
for (const chunk of [0, 1, 2, 3, 5]) {
  const got = runSplit('utf8', chunk, raw);
  let bad = 0, detail = '';
  raw.forEach((b, i) => {
    const want = hex(Buffer.from(b.toString('utf8')));
    if (got[i] !== want && !bad++) detail = `${hex(b)}: C ${got[i]} node ${want}`;
  });
  report(`utf8 replacement chunk ${chunk}`, bad, raw.length, detail);
}
for (const chunk of [0, 1, 2, 3, 4, 5]) {
  const got = runSplit('nfkc', chunk, bufs);
  let bad = 0, detail = '';
  strings.forEach((s, i) => {
    const want = hex(nfkcBufs[i]);
    if (got[i] !== want && !bad++) detail = `${show(s)}: C ${got[i]} node ${want}`;
  });
  report(`nfkc chunk ${chunk}`, bad, strings.length, detail);
}
process.exit(failures ? 1 : 0);
