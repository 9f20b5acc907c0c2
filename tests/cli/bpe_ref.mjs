// bpe_ref.mjs OUTDIR SEED - reference token counts of single pre-tokenizer pieces, for
// tests/cli/test_bpe_ref.sh. Writes OUTDIR/{claude,o200k,cl100k}.txt, one line per
// distinct piece: "<reference count> <piece as hex>".
//
// Strings are generated from a seeded PRNG (words, long letter runs up to 5,000 chars,
// digit runs, base64, CJK, whitespace and punctuation runs, mixtures), then cut into
// pieces with the vocabulary's own regex (JS has no (?i:...), so the contraction group
// is spelled out). A piece is kept only if the regex, run on it alone, gives it back
// whole, so encode of the piece alone is the BPE of exactly that piece:
//   o200k, cl100k: tiktoken@1.0.22 encode_ordinary(piece).length
//   claude:        @anthropic-ai/tokenizer@0.0.4 getTokenizer().encode(piece, "all").length
//                  (no NFKC here: the C side gets the same bytes; pieces naming a
//                  special token are left out)
// The packages come from bench/calibrate/node_modules (npm ci --prefix bench/calibrate).
import { writeFileSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const [outdir, seedArg] = process.argv.slice(2);
const cal = join(dirname(fileURLToPath(import.meta.url)), "../../bench/calibrate");
const req = createRequire(join(cal, "noop.js"));
const tiktoken = req("tiktoken");
const anth = req("@anthropic-ai/tokenizer");

// mulberry32
let seed = (Number(seedArg) || 1) >>> 0;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const below = (n) => Math.floor(rand() * n);
const pick = (a) => a[below(a.length)];
const run = (alphabet, n) => Array.from({ length: n }, () => pick(alphabet)).join("");
const chars = (s) => Array.from(s);

const lower = chars("abcdefghijklmnopqrstuvwxyz");
const upper = chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
const digits = chars("0123456789");
const b64 = chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
const cjk = chars("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴破ひらがなカタカナ한국어").filter((c) => c.trim());
const accented = chars("éèêëàâäôöûüçñßøåæœÉÀÖÜ");
const punct = chars("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'");
const emoji = chars("😀🚀✨🔥👍🏽🎉");
const spaces = [" ", " ", " ", "\t", "\n", "\r\n"];
const words = ["the", "of", "and", "to", "in", "internationalization", "Hello", "camelCase", "HTTPServer",
  "don't", "I'm", "we'll", "they're", "it's", "WORLD", "naïve", "café", "Straße", "résumé",
  "encyclopaedia", "antidisestablishmentarianism", "pneumonoultramicroscopic", "x", "QQQ", "aaaa"];

function generate() {
  const kind = below(12);
  switch (kind) {
  case 0: return run(lower, 1 + below(40));
  case 1: return run(lower, 1 + Math.floor(Math.pow(rand(), 2) * 5000)); // long letter runs
  case 2: return run(lower.concat(upper), 1 + below(300));
  case 3: return run(digits, 1 + below(200));
  case 4: return run(b64, 1 + below(400));
  case 5: return run(cjk, 1 + below(rand() < 0.2 ? 1500 : 60));
  case 6: return run(spaces, 1 + below(30));
  case 7: return run(punct, 1 + below(rand() < 0.2 ? 300 : 12));
  case 8: return Array.from({ length: 1 + below(12) }, () => (rand() < 0.5 ? " " : "") + pick(words)).join("");
  case 9: return run(accented.concat(lower), 1 + below(200));
  case 10: return run(emoji.concat(punct), 1 + below(30));
  default: { // mixture of everything
    const pools = [lower, upper, digits, cjk, accented, punct, emoji, spaces, b64];
    let s = "";
    for (let k = 1 + below(20); k-- > 0;) s += run(pick(pools), 1 + below(20));
    return s;
  }
  }
}

const contractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
function jsRegex(pat) {
  return new RegExp(pat.replaceAll("(?i:'s|'t|'re|'ve|'m|'ll|'d)", contractions), "gu");
}
const o200k = tiktoken.get_encoding("o200k_base"), cl100k = tiktoken.get_encoding("cl100k_base");
const claude = anth.getTokenizer();
const claudeJson = JSON.parse(readFileSync(join(cal, "node_modules/@anthropic-ai/tokenizer/claude.json"), "utf8"));
const specials = Object.keys(claudeJson.special_tokens);
const vocabs = {
  o200k: { re: jsRegex(JSON.parse(readFileSync(join(cal, "node_modules/tiktoken/encoders/o200k_base.json"), "utf8")).pat_str),
    count: (s) => o200k.encode_ordinary(s).length },
  cl100k: { re: jsRegex(JSON.parse(readFileSync(join(cal, "node_modules/tiktoken/encoders/cl100k_base.json"), "utf8")).pat_str),
    count: (s) => cl100k.encode_ordinary(s).length },
  claude: { re: jsRegex(claudeJson.pat_str),
    count: (s) => claude.encode(s, "all").length, skip: (s) => specials.some((t) => s.includes(t)) },
};

const N = 3000;
const texts = Array.from({ length: N }, generate);
for (const [name, v] of Object.entries(vocabs)) {
  const seen = new Set();
  const lines = [];
  for (const t of texts)
    for (const m of t.matchAll(v.re)) {
      const piece = m[0];
      if (seen.has(piece) || (v.skip && v.skip(piece))) continue;
      seen.add(piece);
      const alone = piece.match(v.re);
      if (!alone || alone.length !== 1 || alone[0] !== piece) continue;
      lines.push(`${v.count(piece)} ${Buffer.from(piece, "utf8").toString("hex")}`);
    }
  writeFileSync(join(outdir, `${name}.txt`), lines.join("\n") + "\n");
}
o200k.free(); cl100k.free(); claude.free();
