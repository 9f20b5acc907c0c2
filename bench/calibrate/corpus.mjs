// corpus.mjs - seeded synthetic text per content class, for fitting and checking the
// token estimator (spill/tokens.c). Deterministic: integer PRNG and fixed tables only.
//
//   node corpus.mjs OUTDIR [--seed N] [--kb N]     writes OUTDIR/<class>.txt
//   import { generate, CLASSES } from "./corpus.mjs"; generate("json", seed, bytes)
//
// Classes: prose (English: essays, legal/licence text, Markdown docs, changelogs),
// code (C, JS, Python, shell), json (pretty, JSONL, API-style), logs (syslog, nginx,
// app, logfmt, kernel, dpkg, stack traces), cjk (Chinese, Japanese, Korean), base64
// (MIME-wrapped, single line, JSON data blocks, JWT), mix (all of them interleaved).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const CLASSES = ["prose", "code", "json", "logs", "cjk", "base64", "mix"];

// ---------- PRNG: splitmix32 ----------
export function makeRng(seed) {
  let s = seed >>> 0;
  const u32 = () => {
    s = (s + 0x9e3779b9) | 0;
    let t = s ^ (s >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
  const r = {
    u32,
    int: (n) => u32() % n,
    range: (lo, hi) => lo + (u32() % (hi - lo + 1)),
    chance: (p) => u32() < p * 4294967296,
    pick: (a) => a[u32() % a.length],
    // skewed pick: early entries are more frequent (rank ~ Zipf-like)
    zpick: (a) => a[Math.floor((a.length * (u32() % 10000) * (u32() % 10000)) / 1e8)],
  };
  return r;
}

// ---------- vocabularies ----------
const W = (s) => s.trim().split(/\s+/);
const FUNC = W(`the of and to a in is it that for on are with as be at by this from or have
an was not but which all were can will their they has been one more if would there what so
its about when also other into only than some any may these such each most should could
then them those between through under over after before while where because without however
both must upon within every since during until although whether against among`);
const COMMON = W(`time people year way day thing man world life hand part child eye woman place
work week case point government company number group problem fact system program question
water money story month lot right study book job word business issue side kind head house
service friend father power hour game line end member law car city community name president
team minute idea body information back parent face others level office door health person
art war history party result change morning reason research girl guy moment air teacher force
education make know take see come think look want give use find tell ask seem feel try leave
call keep provide hold turn follow begin bring show hear play run move live believe happen
write sit stand lose pay meet include continue set learn lead understand watch change speak
good new first last long great little own old right big high different small large next early
young important few public bad same able open clear simple strong free real full special easy
red green house river mountain light small quiet window letter paper morning evening summer
garden market street village table kitchen winter voice music picture answer`);
const MID = W(`software permission following conditions distribute provided including
limitation purpose particular warranty express implied damages contract otherwise arising
connection available information development management international experience
important performance environment technology community political national different
possible business education question increase something actually everything position
economic personal together research problem several although language interest describe
university behavior financial security director industry various specific condition
character standard article material produce property response analysis approach
relationship structure generally activity customer evidence function hospital computer
database network library request example message section version default resource
consider continue increase training individual official political recently remember
whatever yourself agreement authority available beautiful certainly character collection
democratic difference discussion especially everybody executive foundation frequently
identify knowledge literature marriage necessary operation organization particularly
president professional scientist situation statement strategy successful television
themselves traditional treatment understand according attention audience campaign
candidate challenge commercial committee community complete computer concern
describe despite determine direction director discover economy election employee
`);
const RARE = W(`notwithstanding hereinafter indemnification merchantability warranties
sublicense infringement jurisdiction liability consequential incidental exemplary
contributors copyright redistribution modification documentation provisions termination
enforceability severability acknowledgment proprietary royalty perpetual irrevocable
nonexclusive worldwide licensor licensee derivative compilation interoperability
circumstances approximately significantly predominantly characteristically unprecedented
heterogeneous idiosyncratic phenomenological epistemological infrastructure
reconciliation extraordinary comprehensive substantially nevertheless furthermore
administrative architectural archaeological philosophical psychological meteorological
photosynthesis thermodynamics electromagnetic constitutional disproportionate
entrepreneurial pharmaceutical biodiversity sustainability accountability vulnerability
ambiguous meticulous serendipity ephemeral ubiquitous quintessential juxtaposition
cacophony labyrinthine mellifluous obfuscation perfunctory quixotic sycophantic
vicissitudes zeitgeist anachronism benevolent capricious deleterious equanimity
fastidious gregarious harbinger impetuous loquacious magnanimous nefarious ostentatious
parsimonious recalcitrant sanguine tenacious unequivocal vociferous wistful yearning
abstraction allocation authentication authorization bandwidth benchmark callback checksum
compiler concurrency configuration serialization deserialization dereference encapsulation
initialization instantiation middleware multiplexing namespace normalization
orchestration parallelism persistence polymorphism provisioning refactoring
replication scalability throughput tokenizer virtualization whitespace`);
const TECH = W(`buffer socket config handler request response server client session token
cache index value key node tree list map queue stack state event error result status
message header payload stream reader writer file path dir user account id name type kind
size length count offset limit timeout retry max min total item entry record row column
table query schema field data meta info log level debug trace span context scope parent
child root hash digest chunk block frame page byte bit flag mask mode option param arg
input output source target dest src dst len ptr ref obj str num buf tmp env var init
start stop open close read write send recv parse format encode decode load save get set
update delete create insert remove add push pop find search match filter sort merge split
join copy move check verify validate render build compile run exec spawn wait lock unlock
alloc free reset clear flush sync async await promise future callback listener emitter
worker thread process pool task job batch shard region zone cluster instance container
image volume network port host address route path url uri endpoint api version release`);
const NAMES = W(`Alice Bob Carol David Emma Frank Grace Henry Irene James Karen Louis Maria
Nathan Olivia Peter Quinn Rachel Samuel Teresa Ulrich Victor Wendy Xavier Yusuf Zoe
Müller García Nguyen Kowalski Rossi Tanaka Johansson O'Brien Dubois Schmidt Ivanova
Patel Kim Chen Silva Andersson Fischer Novak Horvath`);
const PLACES = W(`London Paris Berlin Tokyo Madrid Lisbon Toronto Sydney Nairobi Mumbai
Seoul Prague Vienna Dublin Oslo Helsinki Chicago Boston Denver Austin Portland`);
const EMOJI = W(`😀 🚀 ✅ ❌ ⚠️ 🎉 👍 🔥 💡 📦 ✨ 🐛 → • … © ® ° ± × ½ € £ ¥ café naïve résumé façade Zürich São Ångström Øresund Kraków`);
const SYL = W(`ka ren to mi sa lo vek dor an is el ba tru qua fen gol ix ur zan pe ri mo
thal vin cor bel ash ny ost ral kes tin`);

// ---------- helpers ----------
const cap = (w) => w.charAt(0).toUpperCase() + w.slice(1);
const pad2 = (n) => String(n).padStart(2, "0");
const hex = (r, n) => { let s = ""; for (let i = 0; i < n; i++) s += "0123456789abcdef"[r.int(16)]; return s; };
const uuid = (r) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-${"89ab"[r.int(4)]}${hex(r, 3)}-${hex(r, 12)}`;
const pseudo = (r) => { let s = ""; const n = r.range(2, 4); for (let i = 0; i < n; i++) s += r.pick(SYL); return s; };
// abbreviations and clipped words, as in real identifiers and names (nss, getpw, strtoul)
const CONS = "bcdfghjklmnpqrstvwxz";
const abbrev = (r) => { let s = ""; for (let i = r.range(2, 5); i > 0; i--) s += r.chance(0.7) ? CONS[r.int(20)] : "aeiouy"[r.int(6)]; return s; };
const rareWord = (r) => (r.chance(0.5) ? pseudo(r) : r.chance(0.5) ? abbrev(r) : r.pick(RARE).slice(0, r.range(3, 8)) + abbrev(r));
const iso = (r) => `20${r.range(18, 25)}-${pad2(r.range(1, 12))}-${pad2(r.range(1, 28))}T${pad2(r.int(24))}:${pad2(r.int(60))}:${pad2(r.int(60))}.${String(r.int(1000)).padStart(3, "0")}Z`;
const ip = (r) => `${r.range(1, 223)}.${r.int(256)}.${r.int(256)}.${r.range(1, 254)}`;
const MONTHS = W("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec");
const DAYS = W("Mon Tue Wed Thu Fri Sat Sun");

function word(r) {
  const x = r.int(100);
  if (x < 38) return r.zpick(FUNC);
  if (x < 72) return r.zpick(COMMON);
  if (x < 86) return r.zpick(MID);
  if (x < 91) return r.zpick(RARE);
  if (x < 94) return r.zpick(TECH);
  if (x < 97) return rareWord(r);
  return r.pick(COMMON) + (r.chance(0.5) ? "s" : "ing");
}
function ident(r, style) {
  const n = r.range(1, 3), parts = [];
  for (let i = 0; i < n; i++) { const x = r.int(100); parts.push(x < 62 ? r.zpick(TECH) : x < 76 ? r.pick(COMMON) : x < 84 ? r.pick(MID) : rareWord(r)); }
  switch (style ?? r.int(5)) {
    case 0: return parts.join("_");
    case 1: return parts[0] + parts.slice(1).map(cap).join("");
    case 2: return parts.map(cap).join("");
    case 3: return parts.join("_").toUpperCase();
    default: return parts[0];
  }
}
function sentence(r, o = {}) {
  const n = r.range(o.min ?? 4, o.max ?? 24), out = [];
  for (let i = 0; i < n; i++) {
    let w = word(r);
    const x = r.int(1000);
    if (x < 25) w = r.chance(0.6) ? r.pick(NAMES) : cap(pseudo(r));
    else if (x < 35) w = r.pick(PLACES);
    else if (x < 55) w = String(r.chance(0.5) ? r.range(1, 100) : r.range(1900, 2030));
    else if (x < 62) w = `${r.range(1, 99)}.${r.range(0, 9)}%`;
    else if (x < 72) w = r.pick(["don't", "it's", "isn't", "we're", "they've", "I'll", "you'd", "can't", "that's"]);
    else if (x < 78) w = `${word(r)}-${word(r)}`;
    else if (x < 84) w = r.pick(EMOJI);
    if (i > 0 && i < n - 1) {
      const y = r.int(1000);
      if (y < 70) w += ",";
      else if (y < 80) w += ";";
      else if (y < 86) w = `(${w}`, out.push(w), w = word(r) + ")";
      else if (y < 94) w = r.chance(0.5) ? `"${w}"` : `\u201c${w}\u201d`;
      else if (y < 98) w += r.chance(0.5) ? " \u2014" : " --";
      else if (y < 104) w = `\`${ident(r)}\``;
    }
    out.push(w);
  }
  let s = out.join(" ");
  s = cap(s) + r.pick([".", ".", ".", ".", ".", "?", "!", ":"]);
  return o.caps ? s.toUpperCase() : s;
}
function wrap(text, width) {
  const out = [];
  let line = "";
  for (const w of text.split(" ")) {
    if (line && line.length + 1 + w.length > width) { out.push(line); line = w; } else line = line ? line + " " + w : w;
  }
  if (line) out.push(line);
  return out.join("\n");
}

// ---------- prose ----------
const SEP = ["=", "-", "*", "#", "_", "~", "+", "."];
const rule = (r, lo = 3, hi = 100) => r.pick(SEP).repeat(r.range(lo, hi));
function table(r) { // column-aligned text table (Markdown or plain)
  const cols = r.range(2, 6), w = Array.from({ length: cols }, () => r.range(4, 18)), md = r.chance(0.5);
  const cell = (i) => { const t = r.chance(0.4) ? String(r.int(r.pick([100, 100000, 1e9]))) : r.chance(0.5) ? word(r) : ident(r); return t.padEnd(w[i]); };
  let s = (md ? "| " : "") + w.map((_, i) => cell(i)).join(md ? " | " : "  ") + (md ? " |" : "") + "\n";
  s += (md ? "|" + w.map((x) => "-".repeat(x + 2)).join("|") + "|" : w.map((x) => "-".repeat(x)).join("  ")) + "\n";
  for (let i = r.range(2, 12); i > 0; i--) s += (md ? "| " : "") + w.map((_, j) => cell(j)).join(md ? " | " : "  ") + (md ? " |" : "") + "\n";
  return s + "\n";
}
function prose(r) {
  if (r.chance(0.05)) return rule(r) + "\n\n";
  if (r.chance(0.03)) return table(r);
  const style = r.int(5);
  const para = (o) => { const n = r.range(2, 7); const a = []; for (let i = 0; i < n; i++) a.push(sentence(r, o)); return a.join(r.chance(0.8) ? " " : "  "); };
  if (style === 0) { // essay, unwrapped or wrapped paragraphs
    const width = r.chance(0.5) ? 0 : r.range(66, 80);
    const p = para();
    return (width ? wrap(p, width) : p) + "\n\n";
  }
  if (style === 1) { // legal / licence
    const ind = r.pick(["", "", "   ", "    ", "  "]);
    let s = r.chance(0.3) ? `${ind}${r.range(1, 12)}. ${cap(r.pick(RARE))}.\n\n` : "";
    const p = para({ caps: r.chance(0.2), min: 10, max: 40 });
    s += wrap(p, r.range(70, 78)).split("\n").map((l) => ind + l).join("\n") + "\n\n";
    if (r.chance(0.15)) s += r.pick(["-".repeat(r.range(20, 72)), "=".repeat(r.range(20, 72)), "*".repeat(r.range(10, 60))]) + "\n\n";
    return s;
  }
  if (style === 2) { // Markdown documentation
    let s = `${"#".repeat(r.range(1, 3))} ${sentence(r, { min: 2, max: 6 }).slice(0, -1)}\n\n${wrap(para(), r.chance(0.5) ? 1000 : 80)}\n\n`;
    if (r.chance(0.6)) { const n = r.range(2, 6); for (let i = 0; i < n; i++) s += `${r.chance(0.5) ? "-" : `${i + 1}.`} ${r.chance(0.3) ? `**${word(r)}**: ` : ""}${sentence(r, { min: 3, max: 14 })}\n`; s += "\n"; }
    if (r.chance(0.3)) s += `See [${word(r)} ${word(r)}](https://${r.pick(TECH)}.example.org/${r.pick(TECH)}/${r.pick(TECH)}.html) and \`${ident(r)}()\`.\n\n`;
    return s;
  }
  if (style === 3) { // Debian copyright / changelog
    if (r.chance(0.5)) {
      let s = `Files: ${r.pick(["*", `src/${r.pick(TECH)}/*`, `debian/*`, `lib/${ident(r, 0)}.c`])}\nCopyright: ${r.range(1990, 2015)}-${r.range(2016, 2025)} ${r.pick(NAMES)} ${pseudo(r)} <${r.pick(TECH)}@${pseudo(r)}.org>\n`;
      if (r.chance(0.5)) s += `           ${r.range(1995, 2024)} ${cap(pseudo(r))} ${cap(pseudo(r))}\n`;
      return s + `License: ${r.pick(["GPL-2+", "LGPL-2.1+", "BSD-3-clause", "MIT", "Expat", "Apache-2.0", "public-domain"])}\n${wrap(para({ min: 8, max: 30 }), 78).split("\n").map((l) => " " + l).join("\n")}\n .\n${wrap(para(), 78).split("\n").map((l) => " " + l).join("\n")}\n\n`;
    }
    let s = `${pseudo(r)} (${r.range(0, 9)}.${r.range(0, 30)}.${r.range(0, 9)}-${r.range(1, 5)}) unstable; urgency=${r.pick(["low", "medium", "high"])}\n\n`;
    const n = r.range(1, 5);
    for (let i = 0; i < n; i++) s += `  * ${wrap(sentence(r, { min: 4, max: 20 }) + (r.chance(0.3) ? ` (Closes: #${r.range(100000, 999999)})` : ""), 72).split("\n").join("\n    ")}\n`;
    return s + `\n -- ${r.pick(NAMES)} ${cap(pseudo(r))} <${pseudo(r)}@debian.org>  ${r.pick(DAYS)}, ${pad2(r.range(1, 28))} ${r.pick(MONTHS)} ${r.range(2000, 2025)} ${pad2(r.int(24))}:${pad2(r.int(60))}:${pad2(r.int(60))} +0${r.int(3)}00\n\n`;
  }
  // dialogue / email-ish
  let s = r.chance(0.5) ? `${r.pick(["Hi", "Hello", "Dear"])} ${r.pick(NAMES)},\n\n` : "";
  s += wrap(para(), 72) + "\n\n";
  if (r.chance(0.4)) s += `> ${wrap(sentence(r), 70).split("\n").join("\n> ")}\n\n`;
  if (r.chance(0.4)) s += `${r.pick(["Thanks", "Best regards", "Cheers"])},\n${r.pick(NAMES)}\n\n`;
  return s;
}

// ---------- code ----------
function cExpr(r) {
  const a = () => (r.chance(0.6) ? ident(r, r.pick([0, 4])) : r.chance(0.5) ? String(r.int(256)) : `0x${hex(r, r.pick([2, 4, 8]))}`);
  return r.chance(0.5) ? `${a()} ${r.pick(["+", "-", "*", "&", "|", "<<", ">>", "==", "!=", "<", ">=", "&&"])} ${a()}` : r.chance(0.5) ? `${ident(r, 0)}(${a()}, ${a()})` : `${a()}->${ident(r, 0)}[${a()}]`;
}
function codeC(r) {
  const T = () => r.pick(["int", "size_t", "uint32_t", "uint64_t", "const char *", "void *", "struct " + ident(r, 0) + " *", "unsigned", "double", "bool"]);
  const ind = r.pick(["    ", "\t", "  ", "        "]);
  let s = "";
  const k = r.int(6);
  if (k === 0) { for (let i = r.range(1, 5); i > 0; i--) s += `#include <${r.pick(["stdio", "stdlib", "string", "errno", "unistd", "sys/types", ident(r, 0)])}.h>\n`; return s + "\n"; }
  if (k === 1) { for (let i = r.range(2, 8); i > 0; i--) { const n = `${ident(r, 3)}`; s += `#define ${n}${" ".repeat(Math.max(1, 32 - n.length))}${r.chance(0.5) ? `0x${hex(r, r.pick([2, 4, 8])).toUpperCase()}` : r.int(4096)}${r.chance(0.4) ? `  /* ${sentence(r, { min: 2, max: 7 }).slice(0, -1).toLowerCase()} */` : ""}\n`; } return s + "\n"; }
  if (k === 2) {
    s += `/*\n * ${wrap(sentence(r, { min: 8, max: 30 }), 74).split("\n").join("\n * ")}\n */\n`;
    s += `typedef struct ${ident(r, 0)} {\n`;
    for (let i = r.range(2, 8); i > 0; i--) { const t = T(); s += `${ind}${t}${" ".repeat(Math.max(1, 16 - t.length))}${ident(r, 0)};${r.chance(0.5) ? `${" ".repeat(r.range(1, 12))}/* ${sentence(r, { min: 2, max: 8 }).slice(0, -1).toLowerCase()} */` : ""}\n`; }
    return s + `} ${ident(r, 0)}_t;\n\n`;
  }
  if (k === 3) { for (let i = r.range(2, 6); i > 0; i--) s += `extern ${T()} ${ident(r, 0)}(${T()} ${ident(r, 4)}, ${T()} ${ident(r, 4)})${r.chance(0.3) ? " __THROW __nonnull ((1))" : ""};\n`; return s + "\n"; }
  s += `${r.chance(0.5) ? "static " : ""}${T()} ${ident(r, 0)}(${T()} ${ident(r, 4)}, ${T()} ${ident(r, 4)})\n{\n`;
  for (let i = r.range(3, 12); i > 0; i--) {
    const x = r.int(7);
    if (x === 0) s += `${ind}if (${cExpr(r)}) {\n${ind}${ind}${ident(r, 4)} = ${cExpr(r)};\n${ind}${ind}return ${r.pick(["-1", "0", "NULL", ident(r, 3)])};\n${ind}}\n`;
    else if (x === 1) s += `${ind}for (${T()} i = 0; i < ${ident(r, 4)}; i++)\n${ind}${ind}${ident(r, 4)}[i] = ${cExpr(r)};\n`;
    else if (x === 2) s += `${ind}/* ${sentence(r, { min: 3, max: 12 }).toLowerCase()} */\n`;
    else if (x === 3) s += `${ind}fprintf(stderr, "${sentence(r, { min: 2, max: 6 }).slice(0, -1).toLowerCase()}: %s (%d)\\n", ${ident(r, 4)}, ${ident(r, 4)});\n`;
    else s += `${ind}${r.chance(0.4) ? T() + " " : ""}${ident(r, 4)} = ${cExpr(r)};\n`;
  }
  return s + `${ind}return ${ident(r, 4)};\n}\n\n`;
}
function codeJS(r) {
  const ind = r.pick(["  ", "    ", "\t"]);
  let s = r.chance(0.3) ? `import { ${ident(r, 1)}, ${ident(r, 1)} } from "${r.pick(["./", "../", "@"])}${ident(r, 0).replace(/_/g, "-")}${r.chance(0.5) ? ".js" : ""}";\n\n` : "";
  if (r.chance(0.3)) s += `/**\n * ${sentence(r, { min: 5, max: 20 })}\n * @param {${r.pick(["string", "number", "Object", "Array<string>"])}} ${ident(r, 1)}\n * @returns {Promise<${r.pick(["void", "boolean", "Buffer"])}>}\n */\n`;
  s += `${r.chance(0.5) ? "export " : ""}${r.chance(0.3) ? "async " : ""}function ${ident(r, 1)}(${ident(r, 1)}, ${ident(r, 1)} = ${r.pick(["{}", "null", "0", "[]", '""'])}) {\n`;
  for (let i = r.range(3, 10); i > 0; i--) {
    const x = r.int(6);
    if (x === 0) s += `${ind}const ${ident(r, 1)} = ${r.chance(0.5) ? "await " : ""}${ident(r, 1)}.${ident(r, 1)}(${ident(r, 1)}, { ${ident(r, 1)}: ${r.int(1000)}, ${ident(r, 1)}: "${word(r)}" });\n`;
    else if (x === 1) s += `${ind}if (!${ident(r, 1)} || ${ident(r, 1)}.length === 0) throw new Error(\`${sentence(r, { min: 2, max: 6 }).slice(0, -1)}: \${${ident(r, 1)}}\`);\n`;
    else if (x === 2) s += `${ind}for (const ${ident(r, 4)} of ${ident(r, 1)}) {\n${ind}${ind}${ident(r, 1)}.push(${ident(r, 4)}.${ident(r, 1)} ?? ${r.int(10)});\n${ind}}\n`;
    else if (x === 3) s += `${ind}// ${sentence(r, { min: 3, max: 12 })}\n`;
    else if (x === 4) s += `${ind}${ident(r, 1)} = ${ident(r, 1)}.map((x) => x * ${r.range(2, 9)}).filter(Boolean);\n`;
    else s += `${ind}let ${ident(r, 1)} = ${ident(r, 1)}[${r.int(8)}] ${r.pick(["+", "||", "&&", "-", "==="])} ${r.chance(0.5) ? r.int(100) : `'${word(r)}'`};\n`;
  }
  return s + `${ind}return ${ident(r, 1)};\n}\n\n`;
}
function codePy(r) {
  const ind = "    ";
  let s = "";
  if (r.chance(0.3)) s += `from ${ident(r, 0)} import ${ident(r, 2)}, ${ident(r, 0)}\nimport ${r.pick(["os", "sys", "json", "re", "logging", ident(r, 0)])}\n\n`;
  const cls = r.chance(0.4);
  const I = cls ? ind : "";
  if (cls) s += `class ${ident(r, 2)}(${r.pick(["object", "Exception", ident(r, 2)])}):\n${ind}"""${sentence(r, { min: 4, max: 16 })}"""\n\n`;
  s += `${I}def ${ident(r, 0)}(${cls ? "self, " : ""}${ident(r, 0)}, ${ident(r, 0)}=${r.pick(["None", "0", "True", "''", "[]"])}):\n`;
  if (r.chance(0.5)) s += `${I}${ind}"""${wrap(sentence(r, { min: 6, max: 24 }), 72).split("\n").join(`\n${I}${ind}`)}\n${I}${ind}"""\n`;
  for (let i = r.range(2, 9); i > 0; i--) {
    const x = r.int(5);
    if (x === 0) s += `${I}${ind}if ${ident(r, 0)} is None or len(${ident(r, 0)}) > ${r.int(512)}:\n${I}${ind}${ind}raise ValueError(f"${sentence(r, { min: 2, max: 6 }).slice(0, -1)} {${ident(r, 0)}!r}")\n`;
    else if (x === 1) s += `${I}${ind}for ${ident(r, 4)}, ${ident(r, 4)} in enumerate(${cls ? "self." : ""}${ident(r, 0)}):\n${I}${ind}${ind}${ident(r, 0)}[${ident(r, 4)}] = ${ident(r, 4)} ${r.pick(["+", "*", "%", "//"])} ${r.range(1, 99)}\n`;
    else if (x === 2) s += `${I}${ind}# ${sentence(r, { min: 3, max: 12 })}\n`;
    else s += `${I}${ind}${cls ? "self." : ""}${ident(r, 0)} = ${r.pick([`{"${ident(r, 0)}": ${r.int(100)}}`, `[${r.int(9)}, ${r.int(9)}, ${r.int(9)}]`, `${ident(r, 0)}.${ident(r, 0)}()`, `"${word(r)}"`])}\n`;
  }
  return s + `${I}${ind}return ${ident(r, 0)}\n\n${cls ? "" : "\n"}`;
}
function codeSh(r) {
  let s = r.chance(0.3) ? "#!/bin/sh\nset -eu\n\n" : "";
  for (let i = r.range(2, 8); i > 0; i--) {
    const x = r.int(4);
    if (x === 0) s += `${ident(r, 3)}="\${${ident(r, 3)}:-/usr/${r.pick(["lib", "share", "local"])}/${ident(r, 0)}}"\n`;
    else if (x === 1) s += `if [ -f "$${ident(r, 3)}" ]; then\n  ${r.pick(["rm -f", "cp -a", "chmod 0644", "echo"])} "$${ident(r, 3)}" ${r.chance(0.5) ? ">/dev/null 2>&1" : ""}\nfi\n`;
    else if (x === 2) s += `# ${sentence(r, { min: 3, max: 12 })}\n`;
    else s += `${r.pick(["grep -q", "sed -i 's/foo/bar/'", "find . -name '*.c' |", "awk '{print $2}'"])} ${ident(r, 0)}.${r.pick(["conf", "txt", "log"])} ${r.pick(["|| true", "&& exit 0", ""])}\n`;
  }
  return s + "\n";
}
function code(r) {
  if (r.chance(0.04)) return r.pick([`/* ${rule(r, 10, 70)} */\n`, `// ${rule(r, 10, 70)}\n`, `${"#".repeat(r.range(10, 78))}\n`, `/*${"*".repeat(r.range(10, 76))}\n`]);
  if (r.chance(0.03)) return `static const uint8_t ${ident(r, 0)}[] = {\n${Array.from({ length: r.range(2, 8) }, () => "    " + Array.from({ length: 8 }, () => `0x${r.chance(0.5) ? "00" : hex(r, 2)}`).join(", ") + ",").join("\n")}\n};\n\n`;
  const x = r.int(10); return x < 4 ? codeC(r) : x < 7 ? codeJS(r) : x < 9 ? codePy(r) : codeSh(r); }

// ---------- json ----------
function jsonValue(r, depth) {
  const x = r.int(depth > 2 ? 12 : 16);
  switch (x) {
    case 0: return r.int(100000);
    case 1: return r.chance(0.5) ? r.int(1e9) * 1000 + r.int(1000) : String(r.range(1e8, 9e8)) + String(r.range(1e9, 9e9));
    case 2: return Math.round(r.int(1e6)) / 100;
    case 3: return r.chance(0.5);
    case 4: return null;
    case 5: return uuid(r);
    case 6: return iso(r);
    case 7: return `https://${r.pick(TECH)}.example.${r.pick(["com", "org", "io"])}/${r.pick(TECH)}/${r.int(9999)}`;
    case 8: return `${r.pick(NAMES).toLowerCase()}.${pseudo(r)}@example.com`;
    case 9: return sentence(r, { min: 3, max: 20 });
    case 10: return hex(r, r.pick([12, 40, 64]));
    case 11: return r.chance(0.3) ? word(r) : r.chance(0.5) ? cap(rareWord(r)) + (r.chance(0.3) ? ` ${cap(pseudo(r))}` : "") : ident(r, r.pick([0, 1, 3]));
    case 12: case 13: { const a = []; for (let i = r.range(0, 5); i > 0; i--) a.push(jsonValue(r, depth + 1)); return a; }
    default: return jsonObject(r, depth + 1);
  }
}
function jsonObject(r, depth = 0) {
  const o = {};
  const style = r.int(3);
  for (let i = r.range(2, 9); i > 0; i--) o[ident(r, style === 0 ? 0 : style === 1 ? 1 : 4)] = jsonValue(r, depth);
  return o;
}
function json(r) {
  const x = r.int(4);
  if (x === 0) { let s = ""; for (let i = r.range(3, 12); i > 0; i--) s += JSON.stringify(jsonObject(r)) + "\n"; return s; }
  if (x === 1) return JSON.stringify({ jsonrpc: "2.0", id: r.int(10000), result: { content: [{ type: "text", text: JSON.stringify(Array.from({ length: r.range(1, 4) }, () => jsonObject(r)), null, r.pick([0, 2])) }], isError: false } }) + "\n";
  return JSON.stringify({ [ident(r, 1)]: Array.from({ length: r.range(1, 5) }, () => jsonObject(r)), total: r.int(1000), page: r.int(50) }, null, r.pick([2, 2, 4, "\t"])) + "\n";
}

// ---------- logs ----------
const LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR", "TRACE"];
function psTable(r) {
  let s = "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n";
  for (let i = r.range(3, 15); i > 0; i--) s += `${pseudo(r).slice(0, 8).padEnd(8)} ${String(r.int(99999)).padStart(7)} ${(r.int(1000) / 10).toFixed(1).padStart(4)} ${(r.int(1000) / 10).toFixed(1).padStart(4)} ${String(r.int(9999999)).padStart(6)} ${String(r.int(999999)).padStart(5)} ${r.pick(["?", "pts/0", "pts/1"]).padEnd(8)} ${r.pick(["Ss", "S", "R+", "Sl", "I<"]).padEnd(4)} ${pad2(r.int(24))}:${pad2(r.int(60))}   ${r.int(99)}:${pad2(r.int(60))} /usr/${r.pick(["bin", "sbin", "lib"])}/${ident(r, 0)} --${ident(r, 0).replace(/_/g, "-")}=${r.int(100)}\n`;
  return s;
}
function logs(r) {
  if (r.chance(0.03)) return rule(r, 20, 120) + "\n";
  if (r.chance(0.03)) return psTable(r);
  if (r.chance(0.04)) return `${r.range(1.5e12, 1.8e12)} ${r.pick(LEVELS)} ${ident(r, 0)} ${sentence(r, { min: 3, max: 10 }).toLowerCase()} (${r.int(1e6)}us)\n`;
  const d = `${MONTHS[r.int(12)]} ${String(r.range(1, 28)).padStart(2)} ${pad2(r.int(24))}:${pad2(r.int(60))}:${pad2(r.int(60))}`;
  const msg = () => sentence(r, { min: 3, max: 14 }).slice(0, -1).toLowerCase();
  switch (r.int(10)) {
    case 0: return `${d} ${pseudo(r)}-${r.int(99)} ${r.pick(["sshd", "systemd", "kernel", "cron", "dockerd", "nginx"])}[${r.range(100, 65535)}]: ${r.pick([`Accepted publickey for ${pseudo(r)} from ${ip(r)} port ${r.range(1024, 65535)} ssh2`, `Started ${cap(ident(r, 0))} Service.`, msg(), `pam_unix(sshd:session): session opened for user ${pseudo(r)}(uid=${r.int(2000)}) by (uid=0)`])}\n`;
    case 1: return `${ip(r)} - - [${pad2(r.range(1, 28))}/${r.pick(MONTHS)}/20${r.range(18, 25)}:${pad2(r.int(24))}:${pad2(r.int(60))}:${pad2(r.int(60))} +0000] "${r.pick(["GET", "POST", "PUT", "DELETE"])} /${r.pick(TECH)}/${r.int(9999)}${r.chance(0.4) ? `?${ident(r, 0)}=${r.int(100)}&${ident(r, 0)}=${word(r)}` : ""} HTTP/1.1" ${r.pick([200, 200, 200, 301, 404, 500])} ${r.int(60000)} "-" "Mozilla/5.0 (X11; Linux x86_64) ${r.pick(["curl/7.88.1", "Chrome/120.0.0.0 Safari/537.36", "Firefox/121.0"])}"\n`;
    case 2: return `${iso(r)} ${r.pick(LEVELS)} [${r.pick(TECH)}-${r.int(16)}] ${ident(r, r.pick([0, 2]))}: ${msg()}${r.chance(0.5) ? ` request_id=${uuid(r)}` : ""}${r.chance(0.4) ? ` duration_ms=${r.int(5000)}` : ""}\n`;
    case 3: return `time="${iso(r)}" level=${r.pick(LEVELS).toLowerCase()} msg="${msg()}" ${ident(r, 0)}=${r.int(1000)} ${ident(r, 0)}=${word(r)} caller=${ident(r, 0)}.go:${r.int(800)}\n`;
    case 4: return `[${String(r.int(99999)).padStart(5)}.${String(r.int(1e6)).padStart(6, "0")}] ${r.pick(["usb 1-1", "EXT4-fs (sda1)", "eth0", "nvme0n1", "audit", "IPv6"])}: ${msg()}${r.chance(0.3) ? ` (${r.range(1, 9)}:${r.int(99)})` : ""}\n`;
    case 5: return `20${r.range(18, 25)}-${pad2(r.range(1, 12))}-${pad2(r.range(1, 28))} ${pad2(r.int(24))}:${pad2(r.int(60))}:${pad2(r.int(60))} ${r.pick(["status installed", "status unpacked", "configure", "install", "upgrade", "status half-configured"])} ${ident(r, 0).replace(/_/g, "-")}${r.chance(0.5) ? ":amd64" : ""} ${r.range(0, 9)}.${r.range(0, 40)}.${r.range(0, 9)}-${r.range(1, 9)}${r.chance(0.3) ? `+deb12u${r.range(1, 5)}` : ""}\n`;
    case 6: { let s = `${iso(r)} ERROR ${msg()}\n${r.pick(["java.lang.IllegalStateException", "java.io.IOException", "NullPointerException"])}: ${msg()}\n`; for (let i = r.range(2, 8); i > 0; i--) s += `\tat ${r.pick(["com", "org", "io"])}.${pseudo(r)}.${ident(r, 0).replace(/_/g, ".")}.${ident(r, 2)}.${ident(r, 1)}(${ident(r, 2)}.java:${r.int(900)})\n`; return s; }
    case 7: { let s = "Traceback (most recent call last):\n"; for (let i = r.range(1, 5); i > 0; i--) s += `  File "/usr/lib/python3/dist-packages/${ident(r, 0)}/${ident(r, 0)}.py", line ${r.int(900)}, in ${ident(r, 0)}\n    ${ident(r, 0)} = ${cExpr(r)}\n`; return s + `${r.pick(["KeyError", "ValueError", "TypeError"])}: ${msg()}\n`; }
    case 8: return JSON.stringify({ ts: iso(r), level: r.pick(LEVELS).toLowerCase(), logger: ident(r, 0), msg: msg(), pid: r.int(65535), ...(r.chance(0.5) ? { trace_id: hex(r, 32), span_id: hex(r, 16) } : {}) }) + "\n";
    default: return `${r.pick(DAYS)} ${r.pick(MONTHS)} ${pad2(r.range(1, 28))} ${pad2(r.int(24))}:${pad2(r.int(60))}:${pad2(r.int(60))} 20${r.range(18, 25)} [${r.pick(["error", "warn", "notice"])}] [pid ${r.int(65535)}:tid ${r.int(1e9)}] [client ${ip(r)}:${r.int(65535)}] ${msg()}\n`;
  }
}

// ---------- cjk ----------
const ZH = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持音";
const ZH_WORDS = W(`数据 系统 用户 服务器 文件 配置 错误 信息 网络 程序 应用 开发 测试 版本 功能 问题 方法 结果 时间 公司 市场 经济 社会 国家 政府 发展 技术 研究 教育 文化 历史 环境 健康 安全 管理 工作 生活 世界 城市 学生 老师 朋友 家庭 孩子 今天 明天 已经 可以 因为 所以 但是 如果 虽然 我们 他们 这个 那个 什么 怎么 为什么 非常 重要 需要 进行 提供 支持 实现 包括 通过 根据 关于`);
const JA = W(`これは テスト です データ を 使用 して 処理 します システム の 設定 ファイル が 見つかり ません でした ユーザー 情報 サーバー に 接続 できません 今日 は いい 天気 ですね 私 たち は 東京 大阪 日本語 を 勉強 して います 会社 で 働いて いる 問題 が 発生 しました 確認 して ください よろしく お願い します ありがとう ございます 新しい 機能 を 追加 しました エラー 表示 画面 時間 場合 必要 可能 開発 研究 結果 方法 彼 彼女 それ から まだ もう とても 少し 思います 言った 見る 行く 来る 食べる 読む 書く`);
const KO = W(`안녕하세요 감사합니다 데이터 시스템 사용자 서버 파일 설정 오류 정보 네트워크 프로그램 개발 테스트 버전 기능 문제 방법 결과 시간 회사 시장 경제 사회 국가 정부 발전 기술 연구 교육 문화 역사 환경 건강 안전 관리 생활 세계 도시 학생 선생님 친구 가족 오늘 내일 우리는 그들은 이것은 그리고 하지만 그래서 만약 매우 중요한 필요합니다 합니다 했습니다 있습니다 없습니다 되었습니다 입니다 에서 으로 에게 까지 부터 처리 확인 완료 실패 성공 요청 응답`);
function cjk(r) {
  const lang = r.int(20);
  let s = "";
  const ascii = () => r.pick([String(r.int(2030)), r.pick(TECH), "API", "JSON", "HTTP", "OK", `${r.int(100)}%`, "v" + r.int(9) + "." + r.int(20)]);
  if (lang < 11) { // Chinese: no spaces, fullwidth punctuation
    for (let i = r.range(3, 8); i > 0; i--) {
      let sen = "";
      for (let j = r.range(4, 14); j > 0; j--) {
        const x = r.int(100);
        sen += x < 6 ? String.fromCodePoint(0x4e00 + r.int(0x5000)) : x < 45 ? r.zpick(ZH_WORDS) : x < 92 ? ZH[Math.floor((ZH.length * r.int(1000) * r.int(1000)) / 1e6)] : x < 97 ? "，" : (r.chance(0.5) ? " " : "") + ascii() + (r.chance(0.5) ? " " : "");
      }
      s += sen + r.pick(["。", "。", "。", "！", "？", "；", "："]);
      if (r.chance(0.1)) s += `「${r.zpick(ZH_WORDS)}${r.zpick(ZH_WORDS)}」`;
    }
  } else if (lang < 16) { // Japanese: no spaces
    for (let i = r.range(2, 6); i > 0; i--) {
      let sen = "";
      for (let j = r.range(4, 16); j > 0; j--) sen += r.chance(0.04) ? ascii() : r.chance(0.08) ? "、" : r.zpick(JA);
      s += sen + r.pick(["。", "。", "！", "？"]);
    }
  } else { // Korean: spaces between words
    for (let i = r.range(2, 6); i > 0; i--) {
      const a = [];
      for (let j = r.range(3, 12); j > 0; j--) a.push(r.chance(0.05) ? ascii() : r.chance(0.08) ? String.fromCodePoint(0xac00 + r.int(11172)) + r.zpick(KO) : r.zpick(KO));
      s += a.join(" ") + r.pick([".", ".", "?", "!"]) + " ";
    }
  }
  return s + (r.chance(0.7) ? "\n" : "\n\n");
}

// ---------- base64 ----------
function b64bytes(r, n) {
  const b = Buffer.alloc(n), zeros = r.chance(0.2); // images often hold runs of zero bytes
  for (let i = 0; i < n; i++) b[i] = zeros && (i >> 6) % 3 === 0 ? 0 : r.int(256);
  return b.toString("base64");
}
function base64(r) {
  const x = r.int(5);
  const b = b64bytes(r, r.range(200, 6000));
  if (x === 0) return b.replace(/(.{76})/g, "$1\n") + "\n";
  if (x === 1) return b.replace(/(.{64})/g, "$1\n") + "\n";
  if (x === 2) return JSON.stringify({ type: "image", mimeType: r.pick(["image/png", "image/jpeg"]), data: b }) + "\n";
  if (x === 3) return `${b64bytes(r, 36).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}.${b64bytes(r, r.range(60, 300)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}.${b64bytes(r, 32).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}\n`;
  return b + "\n";
}

const GEN = { prose, code, json, logs, cjk, base64 };

// Text of one class, about `bytes` UTF-8 bytes (whole units, so a little over).
export function generate(cls, seed, bytes) {
  const r = makeRng((seed ^ (CLASSES.indexOf(cls) * 0x01000193)) >>> 0);
  const parts = [];
  let n = 0;
  if (cls === "mix") {
    const base = CLASSES.slice(0, 6);
    while (n < bytes) {
      if (r.chance(0.04)) { // degenerate runs: separators, padding, blank indented lines
        const t = r.pick(["=", "-", "*", " ", "\t", "\n", "0", "A", ".", "\n    ", "=-", "ab"]).repeat(r.range(20, 1500)) + "\n";
        parts.push(t); n += Buffer.byteLength(t); continue;
      }
      const c = r.pick(base), want = r.range(2048, 49152);
      let m = 0;
      while (m < want) { const t = GEN[c](r); parts.push(t); m += Buffer.byteLength(t); }
      n += m;
    }
  } else {
    while (n < bytes) { const t = GEN[cls](r); parts.push(t); n += Buffer.byteLength(t); }
  }
  return parts.join("");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
  const out = args[0];
  if (!out || out.startsWith("--")) { console.error("usage: node corpus.mjs OUTDIR [--seed N] [--kb N]"); process.exit(2); }
  const seed = Number(opt("--seed", 1)), kb = Number(opt("--kb", 2048));
  mkdirSync(out, { recursive: true });
  for (const c of CLASSES) {
    const t = generate(c, seed, kb * 1024);
    writeFileSync(join(out, `${c}.txt`), t);
    console.log(`${c}: ${Buffer.byteLength(t)} bytes`);
  }
}
