# `spill bench` on small generated payloads (a few MB, seconds): the table and its
# recommendation, --json with every field and sane values, --e2e through spill run, a
# binary --payload, --plot as well-formed XML that headless Chromium renders (the
# screenshot must hold a real drawing), and argument errors.
. "$(dirname "$0")/lib.sh"
export TMPDIR="$T"
B() { "$SPILL" bench --size 2M --seed "$SEED" --latency-n 200 "$@"; }

# ---- the table
if B --gen json,logs --runs 2 > "$T/table" 2> "$T/table.err"; then
  if grep -q '^baselines' "$T/table" && grep -q '^mode .*MB/s' "$T/table" \
     && grep -qE '^recommendation: level [0-9]+, frame [0-9]+[KM]?, threads [0-9]+: ' "$T/table" \
     && grep -q '^counter: ' "$T/table" && grep -q '^threshold: ' "$T/table" \
     && grep -q 'pipe floor' "$T/table" && grep -qE '^(filter|store) ' "$T/table"; then
    ok "table with baselines and a recommendation"
  else
    fail "table with baselines and a recommendation" "$(head -c 600 "$T/table")"
  fi
  # Not a terminal: no progress bar (carriage returns) on stderr.
  if grep -q $'\r' "$T/table.err"; then fail "no progress bar off a TTY" "$(head -c 200 "$T/table.err")"
  else ok "no progress bar off a TTY"; fi
else
  fail "table with baselines and a recommendation" "exit $?: $(tail -3 "$T/table.err")"
fi

# ---- --json: every field, sane values
check_json() {  # FILE RUNS E2E(0|1)
  python3 - "$@" <<'EOF'
import json, sys
path, runs, e2e = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
d = json.load(open(path))
errs = []
def need(cond, what):
    if not cond: errs.append(what)
m = d["machine"]
need(m["cores"] >= 1 and m["cpu_model"] and m["kernel"] and m["spill_version"], "machine")
p = d["parameters"]
for k in ("payloads", "levels", "frames", "threads", "counters", "thresholds", "runs", "latency_n", "e2e", "vocab"):
    need(k in p, "parameters." + k)
need(p["runs"] == runs, "parameters.runs")
need(all(x["bytes"] > 0 and x["lines"] > 0 for x in p["payloads"]), "payload sizes")
b = d["baselines"]
need(b["pipe"]["mb_s"]["median"] > 0, "pipe baseline")
if isinstance(b["zstd"], dict):
    need("skipped" in b["zstd"], "zstd skipped reason")
else:
    need(len(b["zstd"]) > 0 and all(z["mb_s"]["median"] > 0 and z["ratio"] > 1 for z in b["zstd"]), "zstd baselines")
lat = b["latency"]
need(lat and lat["direct"]["p99_us"] >= lat["direct"]["p50_us"] > 0, "direct latency")
need(lat and lat["spill_run"]["p99_us"] >= lat["spill_run"]["p50_us"] > 0, "spill run latency")
need((b["direct"] is not None) == e2e, "direct baseline iff --e2e")
modes = set()
for pt in d["points"]:
    name = "%s/L%d/%d/%s/%s" % (pt["mode"], pt["level"], pt["frame"], pt["counter"], pt["threshold"])
    modes.add(pt["mode"])
    need(pt["runs"] == runs and pt["runs_ok"] == runs and pt["error"] is None, name + " runs")
    for k in ("mb_s", "ratio", "cpu_s", "peak_rss_mib"):
        s = pt[k]
        need(s and 0 < s["min"] <= s["median"] <= s["max"], name + " " + k)
    need(pt["ratio"]["median"] > 1, name + " ratio > 1 on text")
    need(pt["vs_pipe"] and pt["vs_pipe"] > 0, name + " vs_pipe")
    if pt["mode"] != "e2e":
        need(pt["read_200_lines_ms"] and pt["read_200_lines_ms"]["median"] > 0, name + " read-back")
    # A binary payload (--gen mix at some seeds) is stored as the bytes it is: no text
    # tokens to count, so its point has none.
    binary = all(pl["binary"] for pl in p["payloads"])
    if pt["mode"] == "filter" and not binary:
        need(pt["tokens"] and pt["tokens"] > 0 and pt["tokens_per_s"]["median"] > 0, name + " tokens/s")
    if pt["mode"] == "filter":
        need(pt["counter_used"], name + " counter_used")
    if pt["mode"] == "e2e":
        need(pt["ping_p99_us"]["median"] >= pt["ping_p50_us"]["median"] > 0, name + " ping p50/p99")
        need(pt["vs_direct"] and pt["vs_direct"] > 0, name + " vs_direct")
need({"filter", "store"} <= modes and (("e2e" in modes) == e2e), "modes %s" % sorted(modes))
r = d["recommendation"]
need(r.get("level") and r.get("frame") and r.get("threads") and r["reason"] and r["counter"] and r["threshold"],
     "recommendation")
need(r.get("ratio", 0) >= 0.95 * r.get("best_ratio", 1e9), "recommendation within 5% of the best ratio")
if errs:
    print("; ".join(errs)); sys.exit(1)
EOF
}
if B --gen prose --runs 2 --level 1,3 --frame 1M --counter early-exit,estimate --threshold 100000 --json \
     > "$T/b.json" 2> "$T/b.err"; then
  if why=$(check_json "$T/b.json" 2 0); then ok "--json has every field with sane values"
  else fail "--json has every field with sane values" "$why"; fi
else
  fail "--json has every field with sane values" "exit $?: $(tail -3 "$T/b.err")"
fi

# ---- end to end through spill run, and the direct baseline
if B --gen mix --runs 1 --level 3 --frame 1M --counter early-exit --threshold 100000 --e2e --json \
     > "$T/e.json" 2> "$T/e.err"; then
  if why=$(check_json "$T/e.json" 1 1); then ok "--e2e through spill run and direct"
  else fail "--e2e through spill run and direct" "$why"; fi
else
  fail "--e2e through spill run and direct" "exit $?: $(tail -3 "$T/e.err")"
fi

# ---- a binary payload travels as base64 image data and is stored decoded
head -c 1500000 /dev/urandom > "$T/rand.bin"
printf 'some text\nlines\n' > "$T/small.txt"
yes 'a line of text for the payload' | head -c 1500000 > "$T/text.txt"
if "$SPILL" bench --payload "$T/rand.bin" "$T/text.txt" --runs 1 --level 1 --frame 1M --counter estimate \
     --threshold 100000 --latency-n 50 --json > "$T/bin.json" 2> "$T/bin.err" &&
   python3 - "$T/bin.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
pl = d["parameters"]["payloads"]
assert [x["binary"] for x in pl] == [True, False], pl
assert pl[0]["bytes"] == 1500000 and pl[0]["mime"] == "application/octet-stream", pl[0]
for pt in d["points"]:
    assert pt["runs_ok"] == 1 and pt["mb_s"]["median"] > 0, pt
EOF
then ok "--payload: a binary file and a text file together"
else fail "--payload: a binary file and a text file together" "$(tail -3 "$T/bin.err")"; fi

# ---- the same seed gives the same payload
s1=$(B --gen cjk --runs 1 --level 1 --frame 1M --counter estimate --threshold 100000 --json 2>/dev/null |
     python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["parameters"]["payloads"][0]["lines"], d["points"][0]["ratio"]["median"])')
s2=$(B --gen cjk --runs 1 --level 1 --frame 1M --counter estimate --threshold 100000 --json 2>/dev/null |
     python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["parameters"]["payloads"][0]["lines"], d["points"][0]["ratio"]["median"])')
if [ -n "$s1" ] && [ "$s1" = "$s2" ]; then ok "generators are deterministic for a seed"
else fail "generators are deterministic for a seed" "'$s1' vs '$s2'"; fi

# ---- --plot: well-formed SVG that a browser renders
if B --gen code --runs 1 --counter early-exit --threshold 100000 --plot "$T/x.svg" > "$T/plot.out" 2> "$T/plot.err" &&
   python3 - "$T/x.svg" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
for want in ("Throughput against zstd level", "Compression ratio against frame size", "frame 1M", "level 3",
             "MB/s of payload", "zstd CLI"):
    assert want in texts, want
assert len(list(root.iter("{http://www.w3.org/2000/svg}polyline"))) >= 4
EOF
then ok "--plot writes well-formed SVG with axes, labels and legends"
else fail "--plot writes well-formed SVG with axes, labels and legends" "$(tail -3 "$T/plot.err")"; fi

chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
  skip "the SVG renders in headless Chromium" "SKIPPED, chromium is not installed (apt-get install chromium, or make deps)"
elif [ ! -s "$T/x.svg" ]; then
  fail "the SVG renders in headless Chromium" "no SVG to render"
else
  (cd "$T" && timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
     --screenshot="$T/shot.png" --window-size=960,760 "file://$T/x.svg" > "$T/chrome.log" 2>&1)
  # Decode the PNG with zlib alone (no PIL): distinct colours and the share of non-white pixels.
  if why=$(python3 - "$T/shot.png" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT": idat += body
    pos += 12 + n
w, h, depth, ctype = ihdr[:4]
assert depth == 8 and ctype in (2, 6), "unexpected PNG format %s" % (ihdr,)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, colours, ink = bytearray(stride), set(), 0
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 2):   # every other pixel is plenty
        px = bytes(line[x:x + 3])
        colours.add(px)
        ink += px != b"\xff\xff\xff"
    prev = line
share = ink / (w * h / 2)
if len(colours) < 8 or not 0.05 < share < 0.95:
    print("%d colours, %.1f%% non-white" % (len(colours), 100 * share)); sys.exit(1)
EOF
  ); then ok "the SVG renders in headless Chromium (screenshot checked)"
  else fail "the SVG renders in headless Chromium" "${why:-no screenshot}: $(tail -2 "$T/chrome.log")"; fi
fi

# ---- arguments
"$SPILL" bench > /dev/null 2>&1; rc1=$?
"$SPILL" bench --gen json --level 0 > /dev/null 2>&1; rc2=$?
"$SPILL" bench --gen nosuch > /dev/null 2>&1; rc3=$?
if [ $rc1 = 2 ] && [ $rc2 = 2 ] && [ $rc3 = 2 ]; then ok "bad arguments exit 2"
else fail "bad arguments exit 2" "exits $rc1 $rc2 $rc3"; fi
if "$SPILL" bench --help | grep -q -- '--latency-n' && "$SPILL" bench --help | grep -q -- '--plot FILE.svg' &&
   "$SPILL" --help | grep -q 'bench '; then ok "bench --help documents the options"
else fail "bench --help documents the options"; fi
