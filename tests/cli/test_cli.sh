#!/usr/bin/env bash
# tests/cli/test_cli.sh - behaviour of the spill executable: put, cat (whole, --bytes,
# --lines), ids and prefixes, symlinks and permissions in the store, store location,
# grep, ls/show/stats, pins and GC, corruption. Expectations are computed from the
# original bytes with standard tools (cmp, head/tail -c, sed -n, grep -n, xxh128sum,
# zstd), never hard-coded.
. "$(dirname "$0")/lib.sh"

LIGHT=${SPILL_TEST_LIGHT:-0}
unset SPILL_STORE SPILL_SESSION SPILL_GC_MAX_BYTES SPILL_GC_TTL SPILL_GC_GRACE
export LC_ALL=C
HDR="$SPILL_TESTS/../spill/spill.h"

# ---- helpers -------------------------------------------------------------------------
WHY=""
# tcase NAME FUNC [ARGS]: FUNC returns 0 (ok) or sets WHY and returns non-zero.
tcase() { local n=$1; shift; WHY=""; if "$@"; then ok "$n"; else fail "$n" "${WHY:-failed}"; fi; }
bad() { WHY="$*"; return 1; }
# run CMD...: stdout -> $T/out, stderr -> $T/err, exit status -> $RC.
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; }
errline() { tr '\n' ' ' <"$T/err" | cut -c1-200; }
# The error contract: exactly one stderr line, starting "spill:".
one_error_line() {
  [ "$(wc -l <"$T/err")" -eq 1 ] && head -n 1 "$T/err" | grep -q '^spill: '
}
hash_of() { xxh128sum <"$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }
# Lines as spill counts them: newlines, plus one if the last line has none.
lines_of() {
  local n; n=$(tr -cd '\n' <"$1" | wc -c)
  if [ "$(size_of "$1")" -gt 0 ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; then n=$((n + 1)); fi
  echo "$n"
}
rnd() { echo $(( ((RANDOM << 15) | RANDOM) % $1 )); } # 0 .. $1-1 (up to 2^30)
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# Valid JSON in strict UTF-8 (RFC 8259); python's stdin would let bad bytes through.
is_json() { python3 -c 'import json,sys; json.loads(sys.stdin.buffer.read().decode("utf-8"))' 2>/dev/null; }
# bytes A..B (0-based, B excluded) of a file, with standard tools.
slice() { tail -c +$(($2 + 1)) "$1" | head -c $(($3 - $2)); }
flip_byte() { # flip_byte FILE OFFSET: xor one byte with 0xff in place
  python3 - "$1" "$2" <<'EOF'
import sys
p, o = sys.argv[1], int(sys.argv[2])
with open(p, 'r+b') as f:
    f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 0xff]))
EOF
}
path_of() { "$SPILL" --store "$1" show "$2" --json | json 'd["path"]'; }

S="$T/store"
sp() { "$SPILL" --store "$S" "$@"; }

if [ "$LIGHT" = 1 ]; then BIG=2500000; NR=15; else BIG=3M; NR=30; fi # > 2 MiB: two 1 MiB frame boundaries

# ---- data ------------------------------------------------------------------------------
D="$T/data"; mkdir -p "$D"
$PAYLOAD 0 1 >"$D/empty"
$PAYLOAD 1 2 >"$D/one"
$PAYLOAD 4095 3 >"$D/odd1"
$PAYLOAD 4097 4 --kind text >"$D/odd2"
$PAYLOAD 1048577 5 >"$D/odd3"
$PAYLOAD 123457 6 --kind random >"$D/rand"
$PAYLOAD "$BIG" "$((SEED + 7))" >"$D/big"
$PAYLOAD "$BIG" "$((SEED + 8))" --kind text >"$D/text"
# A text whose last line has no newline.
$PAYLOAD 200001 "$((SEED + 9))" --kind text >"$D/partial"
[ "$(tail -c 1 "$D/partial" | od -An -c | tr -d ' ')" = '\n' ] && printf 'tail' >>"$D/partial"

# ---- put ---------------------------------------------------------------------------------
c_put_q() {
  run sp put "$D/big" -q
  [ "$RC" = 0 ] || bad "exit $RC: $(errline)" || return
  [ "$(wc -l <"$T/out")" = 1 ] || bad "-q printed $(wc -l <"$T/out") lines" || return
  grep -Eqx '[0-9a-f]{32}' "$T/out" || bad "-q output is not 32 hex: $(head -c 80 "$T/out")" || return
  [ "$(cat "$T/out")" = "$(hash_of "$D/big")" ] || bad "id $(cat "$T/out") != xxh128sum $(hash_of "$D/big")"
}
tcase "put -q prints only the id, which is the xxh128sum of the content" c_put_q

c_put_stdin() {
  local want; want=$(hash_of "$D/text")
  run sp put - -q <"$D/text"
  [ "$RC" = 0 ] && [ "$(cat "$T/out")" = "$want" ] || bad "put - gave '$(cat "$T/out")' rc $RC, want $want" || return
  # a pipe, not a regular file
  local id; id=$($PAYLOAD 77777 31 | sp put - -q)
  [ "$id" = "$($PAYLOAD 77777 31 | xxh128sum | cut -d' ' -f1)" ] || bad "piped put gave $id"
}
tcase "put - reads stdin (file and pipe) and gives the xxh128sum id" c_put_stdin

c_put_handle() {
  run sp put "$D/odd2"
  [ "$RC" = 0 ] || bad "exit $RC" || return
  grep -q "$(hash_of "$D/odd2")" "$T/out" || bad "handle does not show the id: $(head -n 1 "$T/out")" || return
  grep -q "$(size_of "$D/odd2") bytes" "$T/out" || bad "handle does not show the size"
}
tcase "put prints a handle with the id and size" c_put_handle

c_put_json() {
  local f
  for f in big partial one empty rand; do
    run sp put "$D/$f" --json
    [ "$RC" = 0 ] || bad "$f: exit $RC" || return
    is_json <"$T/out" || bad "$f: not JSON: $(head -c 200 "$T/out")" || return
    local got; got=$(json 'd["id"], d["bytes"], d["lines"]' <"$T/out")
    local want="$(hash_of "$D/$f") $(size_of "$D/$f") $(lines_of "$D/$f")"
    [ "$got" = "$want" ] || bad "$f: got $got want $want" || return
  done
}
tcase "put --json is valid JSON with the right id, bytes and lines" c_put_json

c_json_names() {
  local s="$T/names" i=0 n cmd bads=""
  local -a names=($'q"uo\\te\n\t\x01\x7f/x' $'ok\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80' $'\xff\xfe' $'\xc3\x28'
                  $'\xed\xa0\x80' $'\xf4\x90\x80\x80' $'\xe0\x80\x80' $'\xf0\x80\x80\x80' $'\xe2\x82')
  for n in "${names[@]}"; do
    i=$((i + 1))
    echo "content $i" | "$SPILL" --store "$s" put - --name "$n" --json >"$T/out" 2>"$T/err" || bad "put #$i failed: $(errline)" || return
    is_json <"$T/out" || { bads="$bads [$(printf %s "$n" | od -An -tx1 | sed 's/^ //')]"; continue; }
    if [ "$i" -le 2 ]; then # valid UTF-8 names come back unchanged
      [ "$(python3 -c 'import json,sys; sys.stdout.buffer.write(json.loads(sys.stdin.buffer.read())["name"].encode())' <"$T/out" | od -An -tx1)" = "$(printf %s "$n" | od -An -tx1)" ] \
        || bad "name #$i does not round-trip" || return
    fi
  done
  [ -z "$bads" ] || bad "put --json is not valid UTF-8 JSON for names with bytes$bads" || return
  for cmd in "ls --json" "show $(echo "content 5" | xxh128sum | cut -c1-8) --json" "stats --json"; do
    "$SPILL" --store "$s" $cmd >"$T/out" 2>"$T/err" || bad "$cmd failed" || return
    is_json <"$T/out" || bad "$cmd output is not valid UTF-8 JSON" || return
  done
}
tcase "--json stays valid UTF-8 JSON for names with quotes, control bytes and invalid UTF-8" c_json_names

c_dedup() {
  local s2="$T/dedup" a b
  a=$("$SPILL" --store "$s2" put "$D/odd1" -q) || bad "first put failed" || return
  cp "$D/odd1" "$T/odd1-copy"
  b=$("$SPILL" --store "$s2" put "$T/odd1-copy" -q) || bad "second put failed" || return
  [ "$a" = "$b" ] || bad "ids differ: $a $b" || return
  "$SPILL" --store "$s2" put "$D/odd1" >"$T/out" 2>&1
  grep -q 'already stored' "$T/out" || bad "third put does not say it was already stored" || return
  local n; n=$("$SPILL" --store "$s2" ls --json | json 'len(d)')
  [ "$n" = 1 ] || bad "ls --json has $n objects, want 1" || return
  [ "$(find "$s2/objects" -name '*.zst' | wc -l)" = 1 ] || bad "more than one object file"
}
tcase "same content twice gives the same id and one object" c_dedup

# ---- cat -----------------------------------------------------------------------------
c_cat_whole() {
  local f id
  for f in empty one odd1 odd2 odd3 rand big text partial; do
    id=$(sp put "$D/$f" -q) || bad "put $f failed" || return
    run sp cat "$id"
    [ "$RC" = 0 ] || bad "cat $f: exit $RC $(errline)" || return
    cmp -s "$T/out" "$D/$f" || bad "cat $f differs from the original" || return
  done
}
tcase "cat returns the exact bytes (sizes 0, 1, 4095, 4097, 1 MiB+1, random, $BIG)" c_cat_whole

S4="$T/store4k"
c_cat_small_frames() {
  local f id nf
  for f in odd2 big text partial; do
    id=$("$SPILL" --store "$S4" put "$D/$f" --frame-size 4096 -q) || bad "put $f failed" || return
    nf=$("$SPILL" --store "$S4" show "$id" --json | json 'd["frames"]')
    [ "$nf" = $(( ($(size_of "$D/$f") + 4095) / 4096 )) ] || bad "$f: $nf frames for $(size_of "$D/$f") bytes at 4096" || return
    "$SPILL" --store "$S4" cat "$id" >"$T/out" || bad "cat $f failed" || return
    cmp -s "$T/out" "$D/$f" || bad "cat $f (4 KiB frames) differs" || return
  done
}
tcase "cat of objects with --frame-size 4096 (many frames) is exact" c_cat_small_frames

ID_BIG4=$(hash_of "$D/big"); ID_TEXT4=$(hash_of "$D/text"); ID_PART4=$(hash_of "$D/partial")

c_cat_bytes() {
  local f=$D/big id=$ID_BIG4 size i a b
  size=$(size_of "$f")
  local -a ranges=()
  for ((i = 0; i < NR; i++)); do
    case $((i % 3)) in
      0) a=$(rnd "$size"); b=$((a + $(rnd 300000))) ;;          # anywhere
      1) local k=$(( ($(rnd $((size / 4096 - 1))) + 1) * 4096 )) # across one frame boundary
         a=$((k - 1 - $(rnd 100))); b=$((k + 1 + $(rnd 100))) ;;
      2) a=$(( $(rnd $((size / 4096))) * 4096 )); b=$((a + 4096 * (1 + $(rnd 5)))) ;; # exact frames
    esac
    [ "$b" -gt "$size" ] && b=$size
    ranges+=("$a:$b")
  done
  ranges+=("0:1" "0:0" "$((size - 1)):$size" "$size:$size" "4095:4097" "0:$((size + 1000))" "12345:")
  ranges+=("$((size - 3)):" ":4096" ":1" ":$((size * 2))" "4096:8192")
  local r ea eb
  for r in "${ranges[@]}"; do
    ea=${r%%:*}; eb=${r#*:}; [ -n "$ea" ] || ea=0; [ -n "$eb" ] || eb=$size; [ "$eb" -gt "$size" ] && eb=$size
    run "$SPILL" --store "$S4" cat "$id" --bytes "$r"
    [ "$RC" = 0 ] || bad "--bytes $r: exit $RC $(errline)" || return
    slice "$f" "$ea" "$eb" >"$T/want"
    cmp -s "$T/out" "$T/want" || bad "--bytes $r: $(size_of "$T/out") bytes, want $(size_of "$T/want") ($(cmp "$T/out" "$T/want" 2>&1 | head -n 1))" || return
  done
}
tcase "cat --bytes A:B, A:, :B match tail -c | head -c ($NR random ranges, 4 KiB frames)" c_cat_bytes

c_cat_bytes_1m() {
  local f=$D/big id size i a b
  id=$(hash_of "$f"); size=$(size_of "$f")
  for ((i = 0; i < 10; i++)); do
    a=$((1048576 * (1 + i % 2) - $(rnd 5000))); b=$((a + $(rnd 20000) + 1))
    run sp cat "$id" --bytes "$a:$b"
    slice "$f" "$a" "$b" >"$T/want"
    [ "$RC" = 0 ] && cmp -s "$T/out" "$T/want" || bad "--bytes $a:$b differs (rc $RC)" || return
  done
}
tcase "cat --bytes across 1 MiB frame boundaries (default frame size)" c_cat_bytes_1m

c_cat_bytes_bad() {
  local size; size=$(size_of "$D/big")
  run sp cat "$ID_BIG4" --bytes "$((size + 1)):"
  [ "$RC" != 0 ] && one_error_line && [ ! -s "$T/out" ] || bad "start past the end: rc $RC, $(errline)" || return
  run sp cat "$ID_BIG4" --bytes "10:5"
  [ "$RC" != 0 ] && head -n 1 "$T/err" | grep -q '^spill: ' || bad "--bytes 10:5 accepted (rc $RC)" || return
  run sp cat "$ID_BIG4" --bytes "x:5"
  [ "$RC" != 0 ] || bad "--bytes x:5 accepted"
}
tcase "cat --bytes rejects a start past the end and malformed ranges" c_cat_bytes_bad

c_cat_epipe() {
  local st
  "$SPILL" --store "$S" cat "$ID_BIG4" 2>"$T/err" | head -c 100 >/dev/null
  st=${PIPESTATUS[0]}
  [ "$st" = 0 ] && [ ! -s "$T/err" ] || bad "cat | head -c 100: exit $st, stderr: $(errline)"
}
tcase "cat into a pipe closed early exits 0 without a message" c_cat_epipe

c_cat_lines() {
  local f=$D/text id=$ID_TEXT4 n i a b
  n=$(lines_of "$f")
  local -a ranges=()
  for ((i = 0; i < NR; i++)); do
    a=$(( $(rnd "$n") + 1 )); b=$((a + $(rnd 400)))
    [ $((i % 5)) = 0 ] && b=$a
    ranges+=("$a:$b")
  done
  ranges+=("1:1" "1:3" "$n:$n" "$((n - 2)):" ":5" "1:$((n + 10))" "$((n / 2))")
  local r ea eb
  for r in "${ranges[@]}"; do
    if [[ $r == *:* ]]; then ea=${r%%:*}; eb=${r#*:}; else ea=$r; eb=$r; fi
    [ -n "$ea" ] || ea=1; [ -n "$eb" ] || eb=$n
    run "$SPILL" --store "$S4" cat "$id" --lines "$r"
    [ "$RC" = 0 ] || bad "--lines $r: exit $RC $(errline)" || return
    sed -n "${ea},${eb}p" "$f" >"$T/want"
    cmp -s "$T/out" "$T/want" || bad "--lines $r: $(size_of "$T/out") bytes, want $(size_of "$T/want")" || return
  done
}
tcase "cat --lines A:B, A:, :B match sed -n A,Bp ($NR random ranges, 4 KiB frames)" c_cat_lines

c_cat_lines_default_frames() {
  local f=$D/text id n i a b
  id=$(hash_of "$f"); n=$(lines_of "$f")
  for ((i = 0; i < 10; i++)); do
    a=$(( $(rnd "$n") + 1 )); b=$((a + $(rnd 30000)))
    run sp cat "$id" --lines "$a:$b"
    sed -n "${a},${b}p" "$f" >"$T/want"
    [ "$RC" = 0 ] && cmp -s "$T/out" "$T/want" || bad "--lines $a:$b differs (rc $RC)" || return
  done
}
tcase "cat --lines on 1 MiB frames matches sed -n" c_cat_lines_default_frames

c_cat_last_line() {
  local f=$D/partial n id st
  n=$(lines_of "$f")
  id=$ID_PART4
  for st in "$S" "$S4"; do
      run "$SPILL" --store "$st" cat "$id" --lines "$n:$n"
      # the bytes after the last newline, no newline added
      tail -c "$(( $(size_of "$f") - $(head -n $((n - 1)) "$f" | wc -c) ))" "$f" >"$T/want"
      [ "$RC" = 0 ] && cmp -s "$T/out" "$T/want" || bad "last line ($st) differs: $(od -c "$T/out" | tail -n 2 | head -n 1)" || return
      run "$SPILL" --store "$st" cat "$id" --lines "$((n - 3)):"
      sed -n "$((n - 3)),\$p" "$f" >"$T/want"
      [ "$RC" = 0 ] && cmp -s "$T/out" "$T/want" || bad "lines $((n - 3)): differ" || return
  done
  local got; got=$(sp show "$ID_PART4" --json | json 'd["lines"]')
  [ "$got" = "$n" ] || bad "show says $got lines, want $n (last line has no newline)"
}
tcase "cat --lines of a last line without a trailing newline" c_cat_last_line

c_cat_lines_range() {
  local n; n=$(lines_of "$D/text")
  run sp cat "$ID_TEXT4" --lines "$((n + 1)):"
  [ "$RC" != 0 ] || bad "line past the end: exit 0" || return
  one_error_line || bad "stderr is not one 'spill:' line: $(errline)" || return
  [ ! -s "$T/out" ] || bad "printed something" || return
  run sp cat "$ID_TEXT4" --lines "$((n + 1000)):$((n + 2000))"
  [ "$RC" != 0 ] && one_error_line || bad "range far past the end: rc $RC $(errline)" || return
  run sp cat "$ID_TEXT4" --lines "0:3"
  [ "$RC" != 0 ] && one_error_line || bad "line 0 accepted: rc $RC" || return
  run sp cat "$ID_TEXT4" --lines "9:3"
  [ "$RC" != 0 ] && one_error_line || bad "--lines 9:3 accepted: rc $RC"
}
tcase "cat --lines with an out-of-range first line fails with one spill: line" c_cat_lines_range

c_zstd() {
  local f p
  for f in big partial rand empty; do
    p=$(path_of "$S" "$(hash_of "$D/$f")") || bad "show $f failed" || return
    [ -f "$p" ] || bad "show .path $p is not a file" || return
    zstd -q -t "$p" 2>"$T/err" || bad "zstd -t $f: $(errline)" || return
    zstd -q -d -c "$p" >"$T/out" 2>"$T/err" || bad "zstd -d $f: $(errline)" || return
    cmp -s "$T/out" "$D/$f" || bad "zstd -d of $f differs" || return
  done
  p=$(path_of "$S4" "$ID_TEXT4")
  zstd -q -t "$p" && zstd -q -d -c "$p" | cmp -s - "$D/text" || bad "zstd -d of the 4 KiB-frame object differs"
}
tcase "zstd -d -c on the object file restores the bytes; zstd -t passes" c_zstd

# ---- ids -----------------------------------------------------------------------------
c_prefix() {
  local id=$ID_BIG4 k
  for k in 8 9 16 31 32; do
    run sp cat "${id:0:$k}" --bytes 0:1000
    slice "$D/big" 0 1000 >"$T/want"
    [ "$RC" = 0 ] && cmp -s "$T/out" "$T/want" || bad "prefix of $k digits: rc $RC $(errline)" || return
  done
  run sp show "$(echo "${id:0:10}" | tr a-f A-F)" --json
  [ "$RC" = 0 ] && [ "$(json 'd["id"]' <"$T/out")" = "$id" ] || bad "uppercase prefix not resolved" || return
  # a well-formed prefix nobody has
  local other=0; [ "${id:0:1}" = 0 ] && other=1
  run sp cat "${other}${id:1:8}"
  [ "$RC" != 0 ] && one_error_line || bad "unknown prefix: rc $RC $(errline)"
}
tcase "a unique prefix of 8+ hex digits resolves (any case)" c_prefix

c_bad_ids() {
  echo "secret-content-$SEED" >"$T/secret"
  local before after id33 cmd x
  id33="${ID_BIG4}0"
  find "$T" -path "$S" -prune -o -print | sort >"$T/before"
  for x in "${ID_BIG4:0:7}" "../../etc/passwd" "/etc/passwd" "zzzzzzzz" "$id33" "" "../secret" \
           "$T/secret" "${ID_BIG4:0:8}/.." "${ID_BIG4:0:30}.z"; do
    for cmd in cat show pin; do
      run sp "$cmd" "$x"
      [ "$RC" != 0 ] || bad "$cmd '$x' succeeded" || return
      one_error_line || bad "$cmd '$x': stderr is not one spill: line: $(errline)" || return
      [ ! -s "$T/out" ] || bad "$cmd '$x' printed to stdout" || return
    done
    run sp grep "$x" root
    [ "$RC" = 2 ] && one_error_line && [ ! -s "$T/out" ] || bad "grep '$x': rc $RC $(errline)" || return
  done
  find "$T" -path "$S" -prune -o -print | sort >"$T/after"
  grep -v -e '/out$' -e '/err$' -e '/before$' -e '/after$' "$T/before" >"$T/b2"
  grep -v -e '/out$' -e '/err$' -e '/before$' -e '/after$' "$T/after" >"$T/a2"
  cmp -s "$T/b2" "$T/a2" || bad "files appeared outside the store: $(diff "$T/b2" "$T/a2" | head -n 3 | tr '\n' ' ')"
}
tcase "bad ids (7 hex, paths, non-hex, 33 hex, empty) are rejected; nothing outside the store touched" c_bad_ids

# ---- symlinks planted in the store ---------------------------------------------------
c_symlink_object() {
  local s="$T/sym1" a b pa pb
  a=$("$SPILL" --store "$s" put "$D/odd1" -q) && b=$("$SPILL" --store "$s" put "$D/odd2" -q) || bad "put failed" || return
  pa=$(path_of "$s" "$a"); pb=$(path_of "$s" "$b")
  # the symlink points at a perfectly valid object file outside the store
  cp "$pa" "$T/outside.zst"
  rm "$pa"; ln -s "$T/outside.zst" "$pa"
  run "$SPILL" --store "$s" cat "$a"
  [ "$RC" != 0 ] || bad "cat through a symlinked object file succeeded" || return
  one_error_line || bad "stderr: $(errline)" || return
  [ ! -s "$T/out" ] || bad "printed bytes read through the symlink" || return
  run "$SPILL" --store "$s" verify
  [ "$RC" = 1 ] || bad "verify exit $RC, want 1" || return
  grep -q "$a" "$T/err" || bad "verify does not name $a: $(errline)" || return
  run "$SPILL" --store "$s" verify "$b"
  [ "$RC" = 0 ] || bad "verify of the other object: exit $RC"
}
tcase "an object file replaced by a symlink: cat fails, verify exits 1" c_symlink_object

c_symlink_dir() {
  local s="$T/sym2" a pa sub
  a=$("$SPILL" --store "$s" put "$D/odd3" -q) || bad "put failed" || return
  pa=$(path_of "$s" "$a"); sub=$(dirname "$pa")
  mkdir -p "$T/elsewhere"
  cp -p "$sub"/* "$T/elsewhere/"
  rm -rf "$sub"; ln -s "$T/elsewhere" "$sub"
  run "$SPILL" --store "$s" cat "$a"
  [ "$RC" != 0 ] || bad "cat through a symlinked objects/xx directory succeeded" || return
  one_error_line && [ ! -s "$T/out" ] || bad "stderr: $(errline)" || return
  run "$SPILL" --store "$s" verify
  [ "$RC" = 1 ] || bad "verify exit $RC, want 1"
}
tcase "an objects/xx directory replaced by a symlink: cat fails" c_symlink_dir

c_symlink_put() {
  local s="$T/sym3" id sub
  "$SPILL" --store "$s" put "$D/one" -q >/dev/null || bad "put failed" || return
  $PAYLOAD 54321 "$((SEED + 99))" --kind text >"$T/symput"
  id=$(hash_of "$T/symput"); sub=${id:0:2}
  mkdir -p "$T/target"
  rm -rf "$s/objects/$sub"; ln -s "$T/target" "$s/objects/$sub"
  run "$SPILL" --store "$s" put "$T/symput" -q
  [ -z "$(ls -A "$T/target")" ] || bad "put wrote through the symlink: $(ls -A "$T/target" | head -n 3 | tr '\n' ' ')" || return
  [ "$RC" != 0 ] || bad "put into a symlinked objects/$sub succeeded" || return
  one_error_line || bad "stderr: $(errline)" || return
  [ -z "$(find "$s/objects" -maxdepth 1 -name '.tmp-*')" ] || bad "temp file left behind" || return
  run "$SPILL" --store "$s" show "$id"
  [ "$RC" != 0 ] || bad "the object got indexed"
}
tcase "put into a store whose objects/xx is a symlink does not write through it" c_symlink_put

c_symlink_final_name() {
  local s="$T/sym4" id
  "$SPILL" --store "$s" put "$D/one" -q >/dev/null || bad "put failed" || return
  $PAYLOAD 65432 "$((SEED + 98))" >"$T/symname"
  id=$(hash_of "$T/symname")
  echo "precious-$SEED" >"$T/precious"; cp "$T/precious" "$T/precious.orig"
  mkdir -p "$s/objects/${id:0:2}"
  ln -s "$T/precious" "$s/objects/${id:0:2}/${id:2}.zst"
  run "$SPILL" --store "$s" put "$T/symname" -q
  cmp -s "$T/precious" "$T/precious.orig" || bad "the symlink's target was modified" || return
  if [ "$RC" = 0 ]; then
    [ ! -L "$s/objects/${id:0:2}/${id:2}.zst" ] || bad "put succeeded but the object name is still a symlink" || return
    "$SPILL" --store "$s" cat "$id" | cmp -s - "$T/symname" || bad "object does not read back" || return
  else
    one_error_line || bad "put failed without one spill: line: $(errline)" || return
  fi
  run "$SPILL" --store "$s" verify
  [ "$RC" = 0 ] || [ -L "$s/objects/${id:0:2}/${id:2}.zst" ] || bad "verify exit $RC: $(errline)"
}
tcase "put over a symlink planted at the object's name never writes to its target" c_symlink_final_name

c_symlink_top() {
  local s="$T/sym5" d
  "$SPILL" --store "$s" put "$D/one" -q >/dev/null || bad "put failed" || return
  for d in objects index; do
    mv "$s/$d" "$s/$d.real"; ln -s "$s/$d.real" "$s/$d"
    run "$SPILL" --store "$s" put "$D/odd1" -q
    [ "$RC" != 0 ] && one_error_line || bad "put with $d/ a symlink: exit $RC $(errline)" || return
    run "$SPILL" --store "$s" ls
    [ "$RC" != 0 ] && one_error_line || bad "ls with $d/ a symlink: exit $RC $(errline)" || return
    rm "$s/$d"; mv "$s/$d.real" "$s/$d"
  done
  [ -z "$(find "$s/objects" -name "$(hash_of "$D/odd1" | cut -c3-)*")" ] || bad "odd1 got written"
}
tcase "a store whose objects/ or index/ is a symlink is refused" c_symlink_top

# ---- permissions ---------------------------------------------------------------------
c_perms() {
  local base="$T/perm/a/b" s="$T/perm/a/b/store" id p x
  ( umask 000; "$SPILL" --store "$s" put "$D/odd2" -q >"$T/out" 2>"$T/err" ) || bad "put failed: $(errline)" || return
  id=$(cat "$T/out")
  for x in "$T/perm" "$T/perm/a" "$base" "$s" "$s/objects" "$s/index" "$s/objects/${id:0:2}"; do
    [ "$(stat -c %a "$x")" = 700 ] || bad "$x is $(stat -c %a "$x"), want 700 (created with umask 000)" || return
  done
  p=$(path_of "$s" "$id")
  [ "$(stat -c %a "$p")" = 600 ] || bad "object file is $(stat -c %a "$p"), want 600" || return
  for x in "$s"/index/*; do
    [ "$(stat -c %a "$x")" = 600 ] || bad "$x is $(stat -c %a "$x"), want 600" || return
  done
  # and with an ordinary umask
  local s2="$T/perm2/store"
  id=$( umask 022; "$SPILL" --store "$s2" put "$D/odd1" -q ) || bad "put failed" || return
  [ "$(stat -c %a "$s2")" = 700 ] && [ "$(stat -c %a "$(path_of "$s2" "$id")")" = 600 ] || bad "umask 022: wrong modes"
}
tcase "store dirs (and missing parents) are created 0700, object files 0600" c_perms

# ---- store location --------------------------------------------------------------------
c_location() {
  local L="$T/loc" id; mkdir -p "$L/home" "$L/xdg"
  id=$(hash_of "$D/odd1")
  has() { [ -f "$1/objects/${id:0:2}/${id:2}.zst" ]; }
  ( export HOME="$L/home"; unset XDG_CACHE_HOME SPILL_STORE; "$SPILL" put "$D/odd1" -q >/dev/null ) || bad "put with HOME only failed" || return
  has "$L/home/.cache/spill" || bad "HOME: object not in \$HOME/.cache/spill" || return
  ( export HOME="$L/home" XDG_CACHE_HOME="$L/xdg"; unset SPILL_STORE; "$SPILL" put "$D/odd1" -q >/dev/null ) || bad "put failed" || return
  has "$L/xdg/spill" || bad "XDG_CACHE_HOME not used over HOME" || return
  ( export HOME="$L/home" XDG_CACHE_HOME="relative/xdg"; unset SPILL_STORE; cd "$L" && "$SPILL" put "$D/odd2" -q >/dev/null ) || bad "put failed" || return
  [ ! -e "$L/relative" ] || bad "a relative XDG_CACHE_HOME was used (the XDG spec says ignore it)" || return
  ( export HOME="$L/home" XDG_CACHE_HOME="$L/xdg" SPILL_STORE="$L/env"; "$SPILL" put "$D/odd1" -q >/dev/null ) || bad "put failed" || return
  has "$L/env" || bad "SPILL_STORE not used over XDG_CACHE_HOME" || return
  ( export HOME="$L/home" XDG_CACHE_HOME="$L/xdg" SPILL_STORE="$L/env"; "$SPILL" --store "$L/flag" put "$D/odd1" -q >/dev/null ) || bad "put failed" || return
  has "$L/flag" || bad "--store not used over SPILL_STORE" || return
  ( export HOME="$L/home" XDG_CACHE_HOME="$L/xdg" SPILL_STORE="$L/env"; "$SPILL" --store="$L/flag2" put "$D/odd1" -q >/dev/null ) || bad "put failed" || return
  has "$L/flag2" || bad "--store=DIR not used" || return
  # stats names the store each way
  local got
  got=$(export HOME="$L/home" XDG_CACHE_HOME="$L/xdg" SPILL_STORE="$L/env"; "$SPILL" stats --json | json 'd["store"]')
  [ "$got" = "$L/env" ] || bad "stats .store is $got, want $L/env" || return
  # each store holds only what was put there
  local n; n=$("$SPILL" --store "$L/xdg/spill" ls --json | json 'len(d)')
  [ "$n" = 1 ] || bad "XDG store has $n objects, want 1" || return
  n=$("$SPILL" --store "$L/home/.cache/spill" ls --json | json 'len(d)')
  [ "$n" = 2 ] || bad "HOME store has $n objects, want 2"
}
tcase "store location: --store > SPILL_STORE > XDG_CACHE_HOME/spill > HOME/.cache/spill" c_location

# ---- grep ----------------------------------------------------------------------------
GID=$ID_TEXT4 GF=$D/text
# A word of the text seen on between LO and HI lines (computed from the data).
pick_word() {
  local lo=$1 hi=$2 w c
  for w in $(sed -n "$(( $(lines_of "$GF") / 2 )),+200p" "$GF" | tr -cs 'a-z' '\n' | awk 'length >= 4' | head -n 400); do
    c=$(grep -c -- "$w" "$GF")
    if [ "$c" -ge "$lo" ] && [ "$c" -le "$hi" ]; then echo "$w"; return 0; fi
  done
  return 1
}
W_MID=$(pick_word 20 400) || W_MID=""
W_MANY=$(pick_word 800 100000) || W_MANY=""

gcmp() { # gcmp "SPILL GREP ARGS" "GNU GREP ARGS" LABEL
  local label=$3
  eval "run \"\$SPILL\" --store \"\$S4\" grep \"\$GID\" $1"
  local rc1=$RC
  eval "grep $2 -- \"\$GF\"" >"$T/want0" 2>/dev/null
  local rc2=$?
  # spill keeps 64 KiB of a line held for before-context (the last N lines) and says
  # where it cut; the text has lines of up to 100 KB, so GNU grep's are cut the same
  # way. A line within N after a match is printed as it streams, whole.
  local ctx; ctx=$(printf '%s' "$2" | sed -n 's/.*-C \([0-9]*\).*/\1/p')
  LC_ALL=C awk -v cap=65536 -v c="${ctx:-0}" '
    match($0, /^[0-9]+:/) { last = substr($0, 1, RLENGTH - 1) + 0; print; next }
    match($0, /^[0-9]+-/) {
      n = substr($0, 1, RLENGTH - 1) + 0
      if (!(last && n <= last + c) && length($0) - RLENGTH > cap) {
        print substr($0, 1, RLENGTH + cap) " [spill: line cut here; read it whole with spill cat --lines]"; next
      }
    } { print }' "$T/want0" >"$T/want"
  [ "$rc1" = "$rc2" ] || bad "$label: exit $rc1, grep exits $rc2 ($(errline))" || return
  cmp -s "$T/out" "$T/want" || bad "$label: output differs from grep ($(wc -l <"$T/out") vs $(wc -l <"$T/want") lines; first diff: $(diff "$T/out" "$T/want" | sed -n 2p | cut -c1-80))"
}

c_grep_plain() {
  [ -n "$W_MID" ] || bad "no word of suitable frequency in the data" || return
  gcmp "'$W_MID'" "-n -e '$W_MID'" "pattern $W_MID" || return
  gcmp "'${W_MID:0:3}[a-z]+ ${W_MANY:0:2}'" "-n -E -e '${W_MID:0:3}[a-z]+ ${W_MANY:0:2}'" "regex" || return
  # whole object, default 1 MiB frames
  run sp grep "$GID" "$W_MID"
  grep -n -e "$W_MID" "$GF" | cmp -s - "$T/out" || bad "1 MiB-frame object: output differs"
}
tcase "grep PATTERN matches grep -n on the original" c_grep_plain

c_grep_i() {
  [ -n "$W_MID" ] || bad "no word" || return
  local up; up=$(echo "$W_MID" | tr a-z A-Z)
  gcmp "'$up' -i" "-n -i -e '$up'" "-i $up" || return
  [ -s "$T/out" ] || bad "-i found nothing" || return
  run "$SPILL" --store "$S4" grep "$GID" "$up"
  [ "$RC" = "$(grep -q -e "$up" "$GF"; echo $?)" ] || bad "case-sensitive $up: exit $RC"
}
tcase "grep -i matches grep -n -i" c_grep_i

c_grep_max() {
  [ -n "$W_MANY" ] || bad "no frequent word" || return
  local n
  for n in 1 7 100; do
    run "$SPILL" --store "$S4" grep "$GID" "$W_MANY" --max "$n"
    [ "$RC" = 0 ] || bad "--max $n: exit $RC" || return
    [ "$(wc -l <"$T/out")" = "$n" ] || bad "--max $n printed $(wc -l <"$T/out") lines" || return
    grep -n -m "$n" -e "$W_MANY" "$GF" | cmp -s - "$T/out" || bad "--max $n: not the first $n matches" || return
  done
}
tcase "grep --max N prints exactly the first N matching lines" c_grep_max

c_grep_context() {
  [ -n "$W_MID" ] && [ -n "$W_MANY" ] || bad "no word" || return
  gcmp "'$W_MID' -C 2" "-n -C 2 -e '$W_MID'" "-C 2 $W_MID" || return
  grep -q -- '^--$' "$T/out" || bad "-C 2 output has no -- separator (pick a rarer word?)" || return
  grep -Eq '^[0-9]+-' "$T/out" || bad "-C 2 output has no context lines" || return
  gcmp "'$W_MANY' -C 2" "-n -C 2 -e '$W_MANY'" "-C 2 $W_MANY (overlapping context)" || return
  gcmp "'$W_MID' -C 1" "-n -C 1 -e '$W_MID'" "-C 1" || return
  gcmp "'$W_MID' -C 7" "-n -C 7 -e '$W_MID'" "-C 7"
}
tcase "grep -C N output (N-context lines, -- separators) equals grep -n -C N" c_grep_context

c_grep_context_long() {
  # A 100 KB line before a match (held back: cut at 64 KiB, marked) and a 70 KB line
  # after it (printed as it streams: whole), as gcmp expects of any text.
  local GF=$T/longctx GID
  { echo alpha; head -c 100000 /dev/zero | tr '\0' x; echo; echo "the needle"; head -c 70000 /dev/zero | tr '\0' y; echo
    echo beta; echo gamma; echo delta; echo "needle again"; } >"$GF"
  GID=$("$SPILL" --store "$S4" put "$GF" --frame-size 4096 -q) || bad "put failed" || return
  gcmp "needle -C 2" "-n -C 2 -e needle" "-C 2 around long lines" || return
  [ "$(LC_ALL=C awk '/^2-x+ \[spill: line cut here/ { print length($1) }' "$T/out")" = 65538 ] ||
    bad "the 100 KB line before the match is not cut at 64 KiB and marked" || return
  [ "$(LC_ALL=C awk '/^4-y+$/ { print length($0) }' "$T/out")" = 70002 ] || bad "the 70 KB line after the match is not whole"
}
tcase "grep -C: a line held for before-context is cut at 64 KiB and says so; after-context is whole" c_grep_context_long

c_grep_edges() {
  # first line, last line without a newline
  local first last id=$ID_PART4
  first=$(head -n 1 "$D/partial" | tr -cs 'a-zA-Z' '\n' | awk 'length >= 3' | head -n 1)
  last=$(tail -n 1 "$D/partial" | tr -cs 'a-zA-Z' '\n' | awk 'length >= 3' | tail -n 1)
  for w in "$first" "$last"; do
    run sp grep "$id" "$w" -C 2
    grep -n -C 2 -e "$w" "$D/partial" >"$T/want"
    [ "$RC" = 0 ] && cmp -s "$T/out" "$T/want" || bad "word $w at an edge: rc $RC, differs from grep" || return
  done
}
tcase "grep at the first line and a last line without a newline" c_grep_edges

c_grep_nomatch() {
  run "$SPILL" --store "$S4" grep "$GID" 'QQ#never#there#QQ'
  [ "$RC" = 1 ] && [ ! -s "$T/out" ] || bad "no match: exit $RC, $(wc -c <"$T/out") bytes out" || return
  run "$SPILL" --store "$S4" grep "$GID" '(unclosed'
  [ "$RC" = 2 ] || bad "bad pattern: exit $RC, want 2" || return
  one_error_line && grep -qi 'pattern' "$T/err" || bad "bad pattern message: $(errline)" || return
  run "$SPILL" --store "$S4" grep "$GID" 'a' -C x
  [ "$RC" = 2 ] || bad "-C x: exit $RC"
}
tcase "grep: no match exits 1, bad pattern exits 2 with a message" c_grep_nomatch

# ---- ls, show, stats, help ---------------------------------------------------------------
c_ls() {
  local n ids
  run sp ls --json
  [ "$RC" = 0 ] || bad "ls --json exit $RC" || return
  is_json <"$T/out" || bad "ls --json is not JSON" || return
  n=$(json 'len(d)' <"$T/out")
  ids=$(json '"\n".join(sorted(o["id"] for o in d))' <"$T/out")
  local want; want=$(find "$S/objects" -name '*.zst' | sed -E 's|.*/objects/(..)/(.{30})\.zst$|\1\2|' | sort)
  [ "$ids" = "$want" ] || bad "ls ids differ from the object files" || return
  run sp ls
  [ "$RC" = 0 ] || bad "ls exit $RC" || return
  head -n 1 "$T/out" | grep -q '^ID ' || bad "ls has no header" || return
  [ $(($(wc -l <"$T/out") - 1)) = "$n" ] || bad "ls shows $(($(wc -l <"$T/out") - 1)) rows, want $n" || return
  for id in $ids; do grep -q "^$id " "$T/out" || bad "ls misses $id" || return; done
  # an empty store
  run "$SPILL" --store "$T/emptystore" ls --json
  [ "$RC" = 0 ] && [ "$(json 'len(d)' <"$T/out")" = 0 ] || bad "empty store ls --json is not []"
}
tcase "ls and ls --json list every object" c_ls

c_show() {
  local id=$ID_BIG4 f=$D/big
  run sp show "${id:0:8}"
  [ "$RC" = 0 ] || bad "show exit $RC" || return
  grep -Eq "^id: +$id$" "$T/out" || bad "show has no id line" || return
  grep -Eq "^bytes: +$(size_of "$f") " "$T/out" || bad "show bytes wrong" || return
  grep -Eq "^lines: +$(lines_of "$f")$" "$T/out" || bad "show lines wrong" || return
  run sp show "$id" --json
  is_json <"$T/out" || bad "show --json is not JSON" || return
  [ "$(json 'd["id"], d["bytes"], d["lines"], d["frames"]' <"$T/out")" = "$id $(size_of "$f") $(lines_of "$f") $(( ($(size_of "$f") + 1048575) / 1048576 ))" ] \
    || bad "show --json fields: $(head -c 200 "$T/out")" || return
  [ "$(json 'd["stored_bytes"]' <"$T/out")" = "$(size_of "$(json 'd["path"]' <"$T/out")")" ] || bad "stored_bytes is not the file size" || return
  run sp show
  [ "$RC" = 2 ] || bad "show without an id: exit $RC"
}
tcase "show and show --json describe one object" c_show

c_stats() {
  run sp stats --json
  [ "$RC" = 0 ] || bad "exit $RC" || return
  is_json <"$T/out" || bad "stats --json is not JSON" || return
  local got want
  got=$(json 'd["objects"], d["bytes"], d["stored_bytes"], d["store"]' <"$T/out")
  want=$(sp ls --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(len(d), sum(o['bytes'] for o in d), sum(o['stored_bytes'] for o in d), '$S')")
  [ "$got" = "$want" ] || bad "stats $got, from ls $want" || return
  run sp stats
  [ "$RC" = 0 ] && grep -Eq "^objects: +$(json 'len(d)' < <(sp ls --json)) " "$T/out" || bad "stats text: $(head -n 2 "$T/out" | tr '\n' ' ')"
}
tcase "stats and stats --json agree with ls" c_stats

c_help() {
  local problems=""
  run "$SPILL" --help
  [ "$RC" = 0 ] && grep -q '^usage: spill' "$T/out" || problems="$problems; --help: exit $RC $(grep -m1 -o 'LeakSanitizer.*' "$T/err")"
  run "$SPILL" --version
  local v; v=$(sed -n 's/^#define SPILL_VERSION_STRING "\(.*\)"/\1/p' "$HDR")
  [ "$RC" = 0 ] && [ -n "$v" ] && grep -qx "spill $v" "$T/out" || problems="$problems; --version: exit $RC, printed '$(head -c 80 "$T/out")', header says $v $(grep -m1 -o 'LeakSanitizer.*' "$T/err")"
  [ -z "$problems" ] || bad "${problems#; }" || return
  run "$SPILL" --store "$S" frobnicate
  [ "$RC" = 2 ] && one_error_line || bad "unknown command: exit $RC $(errline)" || return
  run "$SPILL" --store "$S"
  [ "$RC" = 2 ] || bad "no command: exit $RC" || return
  run sp put "$D/one" --bogus
  [ "$RC" = 2 ] || bad "unknown put option: exit $RC"
}
tcase "--help exits 0, --version prints the version, unknown command exits 2" c_help

# ---- pins and GC -------------------------------------------------------------------------
c_gc_pin() {
  local s="$T/gc" a b c pa pb pc
  a=$("$SPILL" --store "$s" put "$D/odd1" -q) && b=$("$SPILL" --store "$s" put "$D/odd2" -q) &&
    c=$("$SPILL" --store "$s" put "$D/rand" -q) || bad "put failed" || return
  pa=$(path_of "$s" "$a"); pb=$(path_of "$s" "$b"); pc=$(path_of "$s" "$c")
  "$SPILL" --store "$s" pin "${a:0:8}" && "$SPILL" --store "$s" pin "$a" && "$SPILL" --store "$s" unpin "$a" || bad "pin/unpin failed" || return
  [ "$("$SPILL" --store "$s" show "$a" --json | json 'd["pins"]')" = 1 ] || bad "pins after pin,pin,unpin is not 1" || return
  # dry run: lists b and c, removes nothing
  run "$SPILL" --store "$s" gc --dry-run --max-bytes 1
  [ "$RC" = 0 ] || bad "dry run exit $RC $(errline)" || return
  grep -q "$b" "$T/out" && grep -q "$c" "$T/out" || bad "dry run does not list what it would remove" || return
  ! grep -q "$a" "$T/out" || bad "dry run would remove the pinned object" || return
  [ -f "$pa" ] && [ -f "$pb" ] && [ -f "$pc" ] || bad "dry run removed a file" || return
  [ "$("$SPILL" --store "$s" ls --json | json 'len(d)')" = 3 ] || bad "dry run removed an index row" || return
  # real run
  run "$SPILL" --store "$s" gc --max-bytes 1
  [ "$RC" = 0 ] || bad "gc exit $RC $(errline)" || return
  [ -f "$pa" ] && [ ! -e "$pb" ] && [ ! -e "$pc" ] || bad "after gc: pinned file $([ -f "$pa" ] && echo kept || echo GONE), others $([ -e "$pb" ] && echo kept || echo gone)/$([ -e "$pc" ] && echo kept || echo gone)" || return
  [ "$("$SPILL" --store "$s" ls --json | json '" ".join(o["id"] for o in d)')" = "$a" ] || bad "ls after gc is not just the pinned object" || return
  "$SPILL" --store "$s" cat "$a" | cmp -s - "$D/odd1" || bad "pinned object no longer reads back" || return
  run "$SPILL" --store "$s" cat "$b"
  [ "$RC" != 0 ] && one_error_line || bad "removed object still readable (rc $RC)" || return
  # unpin: now it goes
  "$SPILL" --store "$s" unpin "$a" || bad "unpin failed" || return
  run "$SPILL" --store "$s" gc --max-bytes 1
  [ "$RC" = 0 ] && [ ! -e "$pa" ] && [ "$("$SPILL" --store "$s" ls --json | json 'len(d)')" = 0 ] || bad "unpinned object survived gc" || return
  run "$SPILL" --store "$s" verify
  [ "$RC" = 0 ] || bad "verify after gc: exit $RC $(errline)"
}
tcase "pin/unpin, gc --dry-run and gc --max-bytes keep exactly the pinned object" c_gc_pin

c_gc_ttl() {
  local s="$T/ttl" a b
  a=$("$SPILL" --store "$s" put "$D/odd1" -q) && b=$("$SPILL" --store "$s" put "$D/odd2" -q) || bad "put failed" || return
  run "$SPILL" --store "$s" gc --ttl 60s
  [ "$RC" = 0 ] && [ "$("$SPILL" --store "$s" ls --json | json 'len(d)')" = 2 ] || bad "fresh objects removed by --ttl 60s" || return
  sleep 2.2
  "$SPILL" --store "$s" cat "$a" --bytes 0:10 >/dev/null || bad "cat failed" || return
  run "$SPILL" --store "$s" gc --ttl 1s --dry-run
  grep -q "$b" "$T/out" && ! grep -q "$a" "$T/out" || bad "dry run: $(head -c 200 "$T/out")" || return
  run "$SPILL" --store "$s" gc --ttl 1s
  [ "$RC" = 0 ] || bad "gc exit $RC" || return
  local left; left=$("$SPILL" --store "$s" ls --json | json '" ".join(o["id"] for o in d)')
  [ "$left" = "$a" ] || bad "after gc --ttl 1s: '$left', want only the object read after the sleep" || return
  [ -f "$(path_of "$s" "$a")" ] && [ ! -e "$s/objects/${b:0:2}/${b:2}.zst" ] || bad "files do not match the index" || return
  run "$SPILL" --store "$s" gc --ttl 0
  [ "$RC" = 0 ] && [ "$("$SPILL" --store "$s" ls --json | json 'len(d)')" = 1 ] || bad "--ttl 0 (no TTL) removed something"
}
tcase "gc --ttl 1s removes objects not read in the last second; --ttl 0 is no TTL" c_gc_ttl

# ---- corruption ------------------------------------------------------------------------
# seek table of an object file -> "index raw_offset comp_offset comp_size" per data frame
frames_of() {
  python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
n = struct.unpack('<I', d[-9:-5])[0]
ts = 8 + 12 * n + 9
base = len(d) - ts + 8
co = ro = 0
for i in range(n - 1):
    cs, ds, _ = struct.unpack('<III', d[base + 12 * i: base + 12 * i + 12])
    print(i, ro, co, cs)
    co += cs; ro += ds
EOF
}

c_corrupt_frame() {
  local s="$T/corrupt" id good p sz mid fs=65536
  id=$("$SPILL" --store "$s" put "$D/text" --frame-size "$fs" -q) && good=$("$SPILL" --store "$s" put "$D/big" -q) || bad "put failed" || return
  p=$(path_of "$s" "$id"); sz=$(size_of "$p"); mid=$((sz / 2))
  local k ro
  read -r k ro _ < <(frames_of "$p" | awk -v m="$mid" '$3 <= m && m < $3 + $4')
  [ -n "$k" ] || bad "middle offset $mid is not inside a data frame" || return
  flip_byte "$p" "$mid"
  run "$SPILL" --store "$s" verify
  [ "$RC" = 1 ] || bad "verify exit $RC, want 1" || return
  grep -q "^BAD $id" "$T/err" || bad "verify prints no 'BAD $id' line: $(errline)" || return
  grep -q '1 corrupt' "$T/out" || bad "verify summary: $(cat "$T/out")" || return
  run "$SPILL" --store "$s" verify "$good"
  [ "$RC" = 0 ] && [ ! -s "$T/err" ] || bad "verify of the good object: exit $RC $(errline)" || return
  run "$SPILL" --store "$s" cat "$id"
  [ "$RC" != 0 ] || bad "cat of a corrupt object exits 0" || return
  one_error_line && grep -q "$id" "$T/err" || bad "cat error is not one spill: line naming the id: $(errline)" || return
  local n; n=$(size_of "$T/out")
  [ "$n" -le "$ro" ] || bad "cat printed $n bytes, past the start $ro of corrupt frame $k" || return
  head -c "$n" "$D/text" | cmp -s - "$T/out" || bad "cat printed bytes that are not the original's" || return
  # ranges of good frames still read; a range in the bad frame does not
  run "$SPILL" --store "$s" cat "$id" --bytes "$((ro - 100)):$ro"
  [ "$RC" = 0 ] && slice "$D/text" $((ro - 100)) "$ro" | cmp -s - "$T/out" || bad "the frame before the corrupt one no longer reads (rc $RC)" || return
  run "$SPILL" --store "$s" cat "$id" --bytes "$((ro + 10)):$((ro + 20))"
  [ "$RC" != 0 ] && [ ! -s "$T/out" ] || bad "a range inside the corrupt frame was returned (rc $RC)" || return
  run "$SPILL" --store "$s" grep "$id" 'e'
  [ "$RC" = 2 ] || bad "grep over the corrupt frame: exit $RC, want 2"
}
tcase "a flipped byte in a data frame: verify BAD, cat fails without printing it" c_corrupt_frame

# Putting the same content again replaces a damaged copy (writer.c: same_content).
c_heal_same() {
  local s="$T/corrupt" id p
  id=$(hash_of "$D/text"); p=$(path_of "$s" "$id")
  run "$SPILL" --store "$s" verify "$id"
  [ "$RC" = 1 ] || bad "the object is not damaged to begin with (verify exit $RC)" || return
  run "$SPILL" --store "$s" put "$D/text" --frame-size 65536 -q
  [ "$RC" = 0 ] && [ "$(cat "$T/out")" = "$id" ] || bad "re-put: exit $RC $(errline)" || return
  "$SPILL" --store "$s" cat "$id" | cmp -s - "$D/text" || bad "still unreadable after the re-put" || return
  run "$SPILL" --store "$s" verify
  [ "$RC" = 0 ] || bad "verify after the re-put: exit $RC $(errline)"
}
tcase "re-putting the content replaces a damaged object (same settings)" c_heal_same

c_heal_other() {
  local s="$T/heal" id p
  id=$("$SPILL" --store "$s" put "$D/text" --frame-size 65536 -q) || bad "put failed" || return
  p=$(path_of "$s" "$id")
  flip_byte "$p" $(( $(size_of "$p") / 2 ))
  run "$SPILL" --store "$s" put "$D/text" -q # default 1 MiB frames this time
  [ "$RC" = 0 ] && [ "$(cat "$T/out")" = "$id" ] || bad "re-put: exit $RC $(errline)" || return
  "$SPILL" --store "$s" cat "$id" | cmp -s - "$D/text" || bad "still unreadable after the re-put" || return
  run "$SPILL" --store "$s" verify
  [ "$RC" = 0 ] || bad "verify after the re-put: exit $RC: $(errline)" || return
  run "$SPILL" --store "$s" show "$id" --json
  [ "$(json 'd["stored_bytes"]' <"$T/out")" = "$(size_of "$p")" ] || bad "show: stored_bytes $(json 'd["stored_bytes"]' <"$T/out"), file has $(size_of "$p")"
}
tcase "re-putting with another --frame-size replaces a damaged object and its index row" c_heal_other

c_corrupt_seek() {
  local s="$T/corrupt2" id p sz k missed=""
  id=$("$SPILL" --store "$s" put "$D/odd3" --frame-size 65536 -q) || bad "put failed" || return
  p=$(path_of "$s" "$id"); sz=$(size_of "$p")
  cp "$p" "$T/seek-orig"
  for ((k = 1; k <= 20; k++)); do
    cp "$T/seek-orig" "$p"
    flip_byte "$p" $((sz - k))
    run "$SPILL" --store "$s" verify
    if [ "$RC" != 1 ] || ! grep -q "BAD $id" "$T/err"; then missed="$missed -$k"; fi
  done
  cp "$T/seek-orig" "$p"
  run "$SPILL" --store "$s" verify
  [ "$RC" = 0 ] || bad "restored object fails verify" || return
  [ -z "$missed" ] || bad "verify misses a flipped byte at these offsets from the end:$missed"
}
tcase "a flipped byte anywhere in the last 20 bytes (seek table) is caught by verify" c_corrupt_seek

c_verify_clean() {
  run sp verify
  [ "$RC" = 0 ] || bad "verify exit $RC: $(errline)" || return
  grep -Eq '^[0-9]+ ok, 0 corrupt, 0 orphan files$' "$T/out" || bad "summary: $(cat "$T/out")" || return
  local n; n=$(sp ls --json | json 'len(d)')
  grep -q "^$n ok" "$T/out" || bad "verify checked $(cut -d' ' -f1 "$T/out") of $n objects"
}
tcase "verify of the main store is clean and covers every object" c_verify_clean
