# A 300 MB output through the command line: put, cat, zstd -d and ranges against the
# original (the library-level test covers every write chunking; this one the CLI).
. "$(dirname "$0")/lib.sh"
size=300M
[ "${SPILL_TEST_LIGHT:-0}" = 1 ] && size=60M
S="$T/store" f="$T/big"
"$PAYLOAD" "$size" "$SEED" > "$f"
id=$("$SPILL" --store "$S" put "$f" -q)
[ "$id" = "$(xxh128sum "$f" 2>/dev/null | cut -c1-32)" ] && ok "put $size: id is XXH3-128 of the bytes" || fail "put $size: id" "$id"
"$SPILL" --store "$S" cat "$id" | cmp -s - "$f" && ok "cat $size is byte-identical" || fail "cat $size is byte-identical"
obj="$S/objects/${id:0:2}/${id:2}.zst"
zstd -q -d -c "$obj" | cmp -s - "$f" && ok "zstd -d of the object restores $size" || fail "zstd -d of the object restores $size"
bytes=$(stat -c %s "$f"); lines=$(wc -l < "$f")
bad=""
for i in $(seq 10); do
  a=$(( (RANDOM * 32768 + RANDOM) % bytes )); b=$(( a + RANDOM * 40 ))
  "$SPILL" --store "$S" cat "$id" --bytes "$a:$b" | cmp -s - <(tail -c +$((a + 1)) "$f" | head -c $((b - a))) || bad="$bad bytes $a:$b"
  l=$(( (RANDOM * 32768 + RANDOM) % lines + 1 )); m=$(( l + RANDOM % 500 ))
  "$SPILL" --store "$S" cat "$id" --lines "$l:$m" | cmp -s - <(sed -n "$l,${m}p;${m}q" "$f") || bad="$bad lines $l:$m"
done
[ -z "$bad" ] && ok "10 byte and 10 line ranges of $size match the original" || fail "ranges of $size" "$bad"
