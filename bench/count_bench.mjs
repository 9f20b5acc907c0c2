// count_bench.mjs - helper of bench/count_bench.sh.
//   node count_bench.mjs corpus DIR KB     writes DIR/<class>.txt (corpus.mjs, seed 1)
//   node count_bench.mjs real DIR          writes DIR/real-<class>.txt (text found on this machine)
//   node count_bench.mjs tiktoken FILE...  prints "FILE o200k cl100k claude" in MB/s (best of 2),
//                                          the pinned reference tokenizers, single thread
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const cal = join(dirname(fileURLToPath(import.meta.url)), "calibrate");
const [mode, ...rest] = process.argv.slice(2);
if (mode === "corpus") {
  const { generate, CLASSES } = await import(join(cal, "corpus.mjs"));
  mkdirSync(rest[0], { recursive: true });
  for (const c of CLASSES) writeFileSync(join(rest[0], `${c}.txt`), generate(c, 1, Number(rest[1]) * 1024));
} else if (mode === "real") {
  const { gatherReal } = await import(join(cal, "lib.mjs"));
  const real = gatherReal(join(cal, "node_modules"));
  for (const [c, items] of Object.entries(real)) writeFileSync(join(rest[0], `real-${c}.txt`), items.map((x) => x.text).join("\n"));
} else if (mode === "tiktoken") {
  const { createRequire } = await import("node:module");
  const req = createRequire(join(cal, "noop.js"));
  const t = req("tiktoken"), a = req("@anthropic-ai/tokenizer");
  const o = t.get_encoding("o200k_base"), c = t.get_encoding("cl100k_base"), cl = a.getTokenizer();
  const fns = [(s) => o.encode_ordinary(s), (s) => c.encode_ordinary(s), (s) => cl.encode(s.normalize("NFKC"), "all")];
  for (const f of rest) {
    const s = readFileSync(f, "utf8"), mb = Buffer.byteLength(s) / 1e6, out = [f];
    for (const fn of fns) {
      let best = 1e9;
      for (let r = 0; r < 2; r++) { const t0 = process.hrtime.bigint(); fn(s); best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9); }
      out.push((mb / best).toFixed(2));
    }
    console.log(out.join(" "));
  }
}
