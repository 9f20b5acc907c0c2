#!/usr/bin/env bash
# tests/cli/test_durability.sh - robustness of the spill executable: kill -9 during
# put, concurrent writers, a full disk, bounded memory on a 1 GB stream.
#   SPILL_CRASH_TRIALS  number of kill -9 trials (default 200; 60 when SPILL_TEST_LIGHT=1)
. "$(dirname "$0")/lib.sh"

LIGHT=${SPILL_TEST_LIGHT:-0}
unset SPILL_STORE SPILL_SESSION SPILL_GC_MAX_BYTES SPILL_GC_TTL SPILL_GC_GRACE
export LC_ALL=C

WHY=""
tcase() { local n=$1; shift; WHY=""; if "$@"; then ok "$n"; else fail "$n" "${WHY:-failed}"; fi; }
bad() { WHY="$*"; return 1; }
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; }
errline() { tr '\n' ' ' <"$T/err" | cut -c1-200; }
one_error_line() { [ "$(wc -l <"$T/err")" -eq 1 ] && head -n 1 "$T/err" | grep -q '^spill: '; }
hash_of() { xxh128sum <"$1" | cut -d' ' -f1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ls_ids() { "$SPILL" --store "$1" ls --json | json '"\n".join(o["id"] for o in d)'; }
# verify_clean STORE: exit 0 and "0 corrupt" (orphans allowed).
verify_clean() {
  run "$SPILL" --store "$1" verify
  [ "$RC" = 0 ] || bad "verify exit $RC: $(errline)" || return
  grep -Eq '^[0-9]+ ok, 0 corrupt, [0-9]+ orphan files$' "$T/out" || bad "verify says: $(cat "$T/out")"
}

# ---- crash trials ------------------------------------------------------------------------
if [ "$LIGHT" = 1 ]; then TRIALS=${SPILL_CRASH_TRIALS:-60}; else TRIALS=${SPILL_CRASH_TRIALS:-200}; fi
C="$T/crash"; CS="$C/store"; mkdir -p "$C"
CFILES=()
i=0
for sz in 1M 1500000 3M 5M 8M 12M 20M; do
  $PAYLOAD "$sz" "$((SEED * 10 + i))" >"$C/in$i"; CFILES+=("$C/in$i"); i=$((i + 1))
done
$PAYLOAD 2M "$((SEED * 10 + 99))" --kind random >"$C/in$i"; CFILES+=("$C/in$i")
declare -A CHASH=()
for f in "${CFILES[@]}"; do CHASH[$(hash_of "$f")]=$f; done

killed=0 completed=0 odd=0 odd_why=""
declare -A COMMITTED=() # file -> id printed by a put that exited 0
start=$(date +%s)
for ((t = 0; t < TRIALS; t++)); do
  f=${CFILES[RANDOM % ${#CFILES[@]}]}
  "$SPILL" --store "$CS" put "$f" -q >"$C/out.$t" 2>"$C/err.$t" &
  pid=$!
  printf -v nap '0.%03d' $((RANDOM % 61)) # 0..60 ms (zero-padded: 0.005 is 5 ms)
  sleep "$nap"
  { kill -9 "$pid"; wait "$pid"; rc=$?; } 2>/dev/null # (no "Killed" job notice)
  case $rc in
    137) killed=$((killed + 1)) ;;
    0) completed=$((completed + 1)); COMMITTED[$f]=$(cat "$C/out.$t") ;;
    *) odd=$((odd + 1)); odd_why="trial $t: exit $rc: $(head -c 200 "$C/err.$t")" ;;
  esac
  rm -f "$C/out.$t" "$C/err.$t"
done
temps_left=$(find "$CS/objects" -maxdepth 1 -name '.tmp-*' 2>/dev/null | wc -l)
echo "# crash trials: $TRIALS in $(( $(date +%s) - start ))s; $killed killed mid-put, $completed completed, $odd failed otherwise; $temps_left temp file(s) left"

c_crash_exits() {
  [ "$odd" = 0 ] || bad "$odd puts failed on their own (not killed): $odd_why" || return
  [ "$killed" -gt 0 ] || bad "no trial was killed mid-put: the test proves nothing (inputs too small?)"
}
tcase "crash trials: every put either completed or was killed" c_crash_exits

c_crash_verify() { verify_clean "$CS"; }
tcase "crash trials: verify exits 0 with 0 corrupt after $TRIALS kill -9" c_crash_verify

c_crash_readback() {
  local id f n=0
  for id in $(ls_ids "$CS"); do
    f=${CHASH[$id]:-}
    [ -n "$f" ] || bad "indexed id $id is the hash of no input" || return
    "$SPILL" --store "$CS" cat "$id" >"$T/back" || bad "cat $id failed" || return
    [ "$(hash_of "$T/back")" = "$id" ] || bad "$id reads back different bytes" || return
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || [ "$completed" = 0 ] || bad "no objects although $completed puts completed"
}
tcase "crash trials: every indexed object reads back byte-identical to its original" c_crash_readback

c_crash_committed() {
  local f ids; ids=$(ls_ids "$CS")
  for f in "${!COMMITTED[@]}"; do
    [ "${COMMITTED[$f]}" = "$(hash_of "$f")" ] || bad "put $f printed ${COMMITTED[$f]}, want $(hash_of "$f")" || return
    grep -qx "${COMMITTED[$f]}" <<<"$ids" || bad "put $f exited 0 but ${COMMITTED[$f]} is not indexed" || return
  done
}
tcase "crash trials: every put that exited 0 is indexed under the xxh128sum id" c_crash_committed

c_crash_torn() {
  local p n=0
  while IFS= read -r p; do
    zstd -q -t "$p" 2>/dev/null || bad "torn object file: $p" || return
    n=$((n + 1))
  done < <(find "$CS/objects" -mindepth 2 -type f -name '*.zst')
  [ "$(find "$CS/objects" -mindepth 2 ! -type d ! -name '*.zst' | wc -l)" = 0 ] || bad "stray files under objects/??/"
}
tcase "crash trials: no torn object file under objects/??/ (zstd -t)" c_crash_torn

c_crash_gc() {
  sleep 1.1 # orphans and temps must be older than a grace of 0 s
  run "$SPILL" --store "$CS" gc --grace 0
  [ "$RC" = 0 ] || bad "gc exit $RC: $(errline)" || return
  local left; left=$(find "$CS/objects" -maxdepth 1 -name '.tmp-*' | wc -l)
  [ "$left" = 0 ] || bad "$left temp files remain after gc --grace 0" || return
  verify_clean "$CS" || return
  grep -q ', 0 orphan files$' "$T/out" || bad "orphans remain after gc --grace 0: $(cat "$T/out")" || return
  local id
  for id in $(ls_ids "$CS"); do
    "$SPILL" --store "$CS" cat "$id" | xxh128sum | grep -q "^$id " || bad "$id unreadable after gc" || return
  done
}
tcase "crash trials: gc --grace 0 removes leftover temp files and orphans; verify still clean" c_crash_gc

# ---- concurrency -------------------------------------------------------------------------
if [ "$LIGHT" = 1 ]; then PER=60; else PER=200; fi
W="$T/conc"; WS="$W/store"; mkdir -p "$W"
kinds=(mixed text random)
for ((k = 0; k < 10; k++)); do
  $PAYLOAD $((1024 + (RANDOM * 7) % 200000)) "$((SEED * 100 + k))" --kind "${kinds[k % 3]}" >"$W/shared$k"
done
for ((w = 0; w < 4; w++)); do
  : >"$W/plan$w"
  for ((j = 0; j < PER; j++)); do
    if ((j % 2 == 0)); then
      echo "$W/shared$((RANDOM % 10))" >>"$W/plan$w"
    else
      u="$W/u$w-$j"
      $PAYLOAD $((1024 + (RANDOM * 7) % 200000)) "$((SEED * 1000 + w * 1000000 + j))" --kind "${kinds[j % 3]}" >"$u"
      echo "$u" >>"$W/plan$w"
    fi
  done
done
start=$(date +%s)
for ((w = 0; w < 4; w++)); do
  (
    while IFS= read -r f; do
      id=$("$SPILL" --store "$WS" put "$f" -q 2>>"$W/errs$w"); rc=$?
      echo "$f ${id:-none} $rc"
    done <"$W/plan$w" >"$W/log$w"
  ) &
done
wait
echo "# concurrency: 4 workers x $PER puts in $(( $(date +%s) - start ))s"

c_conc_rc() {
  local n; n=$(cat "$W"/log? | wc -l)
  [ "$n" = $((4 * PER)) ] || bad "$n puts logged, want $((4 * PER))" || return
  local failed; failed=$(awk '$3 != 0' "$W"/log? | wc -l)
  [ "$failed" = 0 ] || bad "$failed puts failed: $(cat "$W"/errs? | head -n 2 | tr '\n' ' ')"
}
tcase "concurrency: all $((4 * PER)) puts from 4 processes succeed" c_conc_rc

c_conc_ids() {
  local f id rc
  declare -A seen=()
  while read -r f id rc; do
    if [ -n "${seen[$f]:-}" ]; then
      [ "${seen[$f]}" = "$id" ] || bad "$f got ids ${seen[$f]} and $id" || return
    else
      seen[$f]=$id
      [ "$id" = "$(hash_of "$f")" ] || bad "$f got id $id, xxh128sum is $(hash_of "$f")" || return
    fi
  done < <(cat "$W"/log?)
}
tcase "concurrency: identical contents get identical ids (the xxh128sum) across workers" c_conc_ids

c_conc_read() {
  local f id rc
  while read -r f id rc; do
    "$SPILL" --store "$WS" cat "$id" | cmp -s - "$f" || bad "$id does not read back as $f" || return
  done < <(cat "$W"/log? | sort -u)
}
tcase "concurrency: every recorded id reads back identical to its file" c_conc_read

c_conc_count() {
  local want got
  want=$(cat "$W"/plan? | sort -u | xargs xxh128sum 2>/dev/null | cut -d' ' -f1 | sort -u | wc -l)
  got=$("$SPILL" --store "$WS" ls --json | json 'len(d)')
  [ "$got" = "$want" ] || bad "ls --json has $got objects, $want distinct contents were put" || return
  [ "$(find "$WS/objects" -mindepth 2 -name '*.zst' | wc -l)" = "$want" ] || bad "object file count differs"
}
tcase "concurrency: one object per distinct content" c_conc_count

c_conc_verify() {
  verify_clean "$WS" || return
  grep -q ', 0 orphan files$' "$T/out" || bad "orphans after concurrent puts: $(cat "$T/out")" || return
  [ -z "$(find "$WS/objects" -maxdepth 1 -name '.tmp-*')" ] || bad "temp files left"
}
tcase "concurrency: verify clean, no orphans or temp files" c_conc_verify

# ---- full disk -----------------------------------------------------------------------------
MNT="$T/mnt"; mkdir -p "$MNT"
# Unmount before lib.sh's rm -rf, also when run.sh's timeout sends TERM.
trap 'mountpoint -q "$MNT" && { umount "$MNT" || umount -l "$MNT"; }; rm -rf "$T"' EXIT
trap 'exit 143' TERM INT
DISK_CASES=("full disk: a 30 MB put fails with one error line about space"
            "full disk: no object file and no temp file remain"
            "full disk: verify is clean and a small put still works"
            "near-full disk: puts around the free space succeed or fail cleanly")
if ! mount -t tmpfs -o size=8m tmpfs "$MNT" 2>"$T/mounterr"; then
  why="cannot mount a tmpfs ($(head -n 1 "$T/mounterr")); run as root or with CAP_SYS_ADMIN to test a full disk"
  for n in "${DISK_CASES[@]}"; do skip "$n" "$why"; done
  echo "# WARNING: full-disk cases SKIPPED: $why"
else
  FS="$MNT/store"
  $PAYLOAD 30M "$SEED" --kind random >"$T/big-random"
  c_full_error() {
    run "$SPILL" --store "$FS" put "$T/big-random" -q
    [ "$RC" != 0 ] || bad "a 30 MB put into 8 MB succeeded" || return
    one_error_line || bad "stderr is not one spill: line: $(errline)" || return
    grep -qi 'space' "$T/err" || bad "message does not mention space: $(errline)" || return
    [ ! -s "$T/out" ] || bad "printed an id: $(cat "$T/out")"
  }
  tcase "${DISK_CASES[0]}" c_full_error

  c_full_nothing_left() {
    [ -z "$(find "$FS/objects" -mindepth 2 -name '*.zst')" ] || bad "object file left: $(find "$FS/objects" -mindepth 2 -name '*.zst')" || return
    [ -z "$(find "$FS/objects" -maxdepth 1 -name '.tmp-*')" ] || bad "temp file left: $(ls -A "$FS/objects")" || return
    [ "$(ls_ids "$FS" | grep -c .)" = 0 ] || bad "an object got indexed" || return
    local used; used=$(df -k --output=used "$MNT" | tail -n 1 | tr -d ' ')
    [ "$used" -lt 2048 ] || bad "$used KiB still used on the tmpfs"
  }
  tcase "${DISK_CASES[1]}" c_full_nothing_left

  c_full_after() {
    verify_clean "$FS" || return
    $PAYLOAD 300K "$((SEED + 1))" >"$T/small"
    run "$SPILL" --store "$FS" put "$T/small" -q
    [ "$RC" = 0 ] && [ "$(cat "$T/out")" = "$(hash_of "$T/small")" ] || bad "small put: exit $RC $(errline)" || return
    "$SPILL" --store "$FS" cat "$(cat "$T/out")" | cmp -s - "$T/small" || bad "small object does not read back" || return
    verify_clean "$FS"
  }
  tcase "${DISK_CASES[2]}" c_full_after

  c_near_full() {
    local avail filler i sz rc fails=0 oks=0
    avail=$(df -B1 --output=avail "$MNT" | tail -n 1 | tr -d ' ')
    filler=$((avail - 700 * 1024))
    [ "$filler" -gt 0 ] || bad "tmpfs too small ($avail bytes free)" || return
    head -c "$filler" /dev/zero >"$MNT/filler" 2>/dev/null
    for ((i = 0; i < 16; i++)); do
      sz=$((300 * 1024 + i * 40 * 1024 + (RANDOM % 4096)))
      $PAYLOAD "$sz" "$((SEED + 500 + i))" --kind random >"$T/nf"
      run "$SPILL" --store "$FS" put "$T/nf" -q; rc=$RC
      if [ "$rc" = 0 ]; then
        oks=$((oks + 1))
        [ "$(cat "$T/out")" = "$(hash_of "$T/nf")" ] || bad "size $sz: wrong id" || return
        "$SPILL" --store "$FS" cat "$(cat "$T/out")" | cmp -s - "$T/nf" || bad "size $sz: stored but does not read back" || return
      else
        fails=$((fails + 1))
        one_error_line || bad "size $sz: stderr is not one spill: line: $(errline)" || return
      fi
      [ -z "$(find "$FS/objects" -maxdepth 1 -name '.tmp-*')" ] || bad "size $sz (rc $rc): temp file left" || return
      verify_clean "$FS" || { WHY="size $sz (rc $rc): $WHY"; return 1; }
    done
    echo "# near-full disk: $oks puts fitted, $fails failed cleanly"
    [ "$fails" -gt 0 ] || bad "no put failed: the disk never got full" || return
    rm -f "$MNT/filler"
    sleep 1.1
    run "$SPILL" --store "$FS" gc --grace 0
    [ "$RC" = 0 ] || bad "gc: exit $RC" || return
    verify_clean "$FS" || return
    grep -q ', 0 orphan files$' "$T/out" || bad "orphans remain after gc: $(cat "$T/out")"
  }
  tcase "${DISK_CASES[3]}" c_near_full
fi

# ---- memory --------------------------------------------------------------------------------
M="$T/mem"; MS="$M/store"; mkdir -p "$M"
if [ "$LIGHT" = 1 ]; then MSIZE=200M; else MSIZE=1G; fi
MWANT=$($PAYLOAD "$MSIZE" | xxh128sum | cut -d' ' -f1)
for threads in default 1 2; do
  targs=(); [ "$threads" = default ] || targs=(--threads "$threads")
  $PAYLOAD "$MSIZE" | /usr/bin/time -f %M -o "$M/rss" "$SPILL" --store "$MS" put - -q "${targs[@]}" >"$M/id" 2>"$M/err"
  rc=$?
  rss=$(tail -n 1 "$M/rss")
  name="memory: put of a $MSIZE stream, threads $threads"
  if [ "$rc" != 0 ] || [ "$(cat "$M/id")" != "$MWANT" ]; then
    fail "$name: id" "exit $rc, id '$(cat "$M/id")', want $MWANT ($(head -c 200 "$M/err"))"
  else
    ok "$name: id is the xxh128sum of the stream"
  fi
  # The bound holds under the sanitizers too (their shadow memory stays small here).
  if [[ ! "$rss" =~ ^[0-9]+$ ]]; then
    fail "$name: peak RSS < 64 MB" "could not read the peak RSS: $(head -c 200 "$M/rss")"
  elif [ "$rss" -lt 65536 ]; then
    ok "$name: peak RSS < 64 MB ($rss KB)"
  else
    fail "$name: peak RSS < 64 MB" "peak RSS $rss KB"
  fi
done
run "$SPILL" --store "$MS" verify
[ "$RC" = 0 ] && [ "$(ls_ids "$MS")" = "$MWANT" ] && ok "memory: the $MSIZE object verifies" || fail "memory: the $MSIZE object verifies" "exit $RC $(errline)"
