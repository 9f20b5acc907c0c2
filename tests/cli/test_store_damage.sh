# The store survives damage and hostile neighbours (issue 11, section 3): a truncated
# or scribbled index, a lost index (spill reindex), symlinks and links planted in
# views/, a store others can write to, and a full disk at the index commit.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
WHY=""
bad() { WHY=$1; return 1; }
tcase() { local n=$1; shift; WHY=""; if "$@"; then ok "$n"; else fail "$n" "${WHY:-failed}"; fi; }
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; }
errline() { head -c 400 "$T/err" | tr '\n' '|'; }
one_line() { [ "$(wc -l <"$T/err")" = 1 ] && grep -q '^spill: ' "$T/err"; }

# A store with a few objects (text and JSON, one with a name), and a copy of it.
mkstore() {
  local s=$1 i
  for i in 1 2 3 4 5; do seq 1 $((i * 3000)) | "$SPILL" --store "$s" put -q --name "seq$i" >/dev/null || return 1; done
  printf '{"a":[1,2,3]}\n' | "$SPILL" --store "$s" put -q --mime application/json >/dev/null
}

# ---- 1. a damaged index -------------------------------------------------------------------
S1="$T/s1"; mkstore "$S1" || fail "setup" "put failed"
"$SPILL" --store "$S1" ls | awk 'NR > 1 {print $1}' | sort >"$T/ids1"
damage() { # damage KIND SRC DST
  rm -rf "$3"; cp -a "$2" "$3"
  local f="$3/index/data.mdb" sz; sz=$(stat -c %s "$f")
  case $1 in
    truncate) truncate -s $((sz / 3 / 4096 * 4096)) "$f" ;;
    scribble) python3 - "$f" "$SEED" <<'PY'
import os, random, sys
f, seed = sys.argv[1], int(sys.argv[2])
random.seed(seed)
n = os.path.getsize(f) // 4096
with open(f, "r+b") as h:
    for pg in range(2, n):  # every page but the two meta pages: header and node offsets
        h.seek(pg * 4096)
        h.write(bytes(random.getrandbits(8) for _ in range(64)))
PY
    ;;
  esac
}
for kind in truncate scribble; do
  D="$T/d-$kind"; damage $kind "$S1" "$D"
  c_damaged_cmd() {
    local cmd
    for cmd in verify ls stats "cat $(head -n 1 "$T/ids1")"; do
      run "$SPILL" --store "$D" $cmd
      [ "$RC" -lt 128 ] || bad "spill $cmd died with signal $((RC - 128))" || return
      [ "$RC" != 0 ] || bad "spill $cmd exit 0 on a damaged index" || return
      one_line || bad "spill $cmd: not one spill: line: $(errline)" || return
      grep -q 'index.*damaged.*spill reindex' "$T/err" || bad "spill $cmd: no word of the damage: $(errline)" || return
    done
  }
  tcase "$kind data.mdb: verify, ls, stats, cat say it is damaged in one line, no signal" c_damaged_cmd
  c_damaged_run() {
    PYTHONPATH="$here" timeout 60 python3 - "$SPILL" "$D" "$here/fake_mcp_server.py" >"$T/py" 2>&1 <<'PY'
import json, sys
from sidecar_client import Peer, text
spill, store, server = sys.argv[1:4]
p = Peer([spill, "run", "--store", store, "--", "python3", server])
init = p.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})
assert init and "result" in init, "no initialize answer: %r %r" % (init, b"".join(p.err)[:300])
e = p.call("tools/call", {"name": "echo", "arguments": {"a": 1}})
assert text(e) == json.dumps({"a": 1}), "small result changed: %r" % e
r = p.call("tools/call", {"name": "big", "arguments": {"lines": 60000}})
t = text(r)
assert "could not store" in t and "damaged" in t and len(json.dumps(r)) < 20000, "large result: %r" % json.dumps(r)[:300]
s = p.call("tools/call", {"name": "spill_read", "arguments": {"id": "0123456789abcdef"}})
assert s["result"].get("isError") is True, "spill_read: %r" % s
p.close()
err = b"".join(p.err).decode(errors="replace")
lines = [l for l in err.splitlines() if "damaged" in l]
assert len(lines) == 1, "stderr should say it once: %r" % err[:500]
print("fine")
PY
    grep -qx fine "$T/py" || bad "$(tail -c 400 "$T/py" | tr '\n' '|')"
  }
  tcase "$kind data.mdb: spill run passes messages, a large result gets the store-failure result" c_damaged_run
done

# ---- 4. a store others can write to, or someone else's -----------------------------------
c_perm() {
  local s="$T/s4" sub
  "$SPILL" --store "$s" put -q </dev/null >/dev/null 2>&1 || true
  echo hi | "$SPILL" --store "$s" put -q >/dev/null || bad "first put failed" || return
  for sub in "" /objects /index; do
    chmod 777 "$s$sub"
    run "$SPILL" --store "$s" ls
    chmod 700 "$s$sub"
    [ "$RC" != 0 ] || bad "a world-writable $s$sub is accepted" || return
    one_line && grep -q "chmod 700 $s$sub\$" "$T/err" || bad "$s$sub 0777: $(errline)" || return
  done
  chmod 770 "$s/objects"
  run "$SPILL" --store "$s" ls; chmod 700 "$s/objects"
  [ "$RC" != 0 ] || bad "a group-writable objects/ is accepted" || return
  mkdir -p "$s/views"; chmod 757 "$s/views"
  run "$SPILL" --store "$s" ls; chmod 700 "$s/views"
  [ "$RC" != 0 ] || bad "a world-writable views/ is accepted" || return
  ( umask 022; mkdir "$T/s4b" ) && echo hi | "$SPILL" --store "$T/s4b" put -q >/dev/null ||
    bad "a 0755 directory made with umask 022 is refused: $(errline)" || return
  run "$SPILL" --store "$s" ls
  [ "$RC" = 0 ] || bad "the mended store does not open: $(errline)"
}
tcase "a store dir, objects/, index/ or views/ writable by others is refused with the chmod that fixes it" c_perm

c_owner() {
  [ "$(id -u)" = 0 ] || { WHY="SKIP"; return 1; }
  local s="$T/s4c"
  echo hi | "$SPILL" --store "$s" put -q >/dev/null || bad "first put failed" || return
  chown nobody "$s"
  run "$SPILL" --store "$s" ls
  chown root "$s"
  [ "$RC" != 0 ] || bad "a store owned by nobody is accepted" || return
  one_line && grep -q 'belongs to uid' "$T/err" && grep -q 'chown' "$T/err" || bad "$(errline)"
}
if [ "$(id -u)" = 0 ]; then
  tcase "a store that belongs to another user is refused" c_owner
else
  skip "a store that belongs to another user is refused" "needs root to chown a directory to another user"
fi

# ---- 2. spill reindex after the index is lost or damaged ---------------------------------
# ls rows without the access time and the name, which the object files do not keep.
facts() { "$SPILL" --store "$1" ls --json | python3 -c '
import json, sys
for o in sorted(json.load(sys.stdin), key=lambda o: o["id"]):
    print(o["id"], o["bytes"], o["stored_bytes"], o["lines"], o["mime"], o["frames"], o["created_ns"] // 10**9)'; }
facts "$S1" >"$T/facts1"
c_lost_verify() {
  local s="$T/lost"; rm -rf "$s"; cp -a "$S1" "$s"; rm -rf "$s/index"
  run "$SPILL" --store "$s" verify
  [ "$RC" = 1 ] || bad "verify exit $RC on a lost index" || return
  grep -q 'index lost or empty, run spill reindex' "$T/err" || bad "verify says: $(errline)" || return
  ! grep -q '^orphan' "$T/err" || bad "verify still calls objects orphans: $(errline)"
}
tcase "index lost: verify says 'index lost or empty, run spill reindex', not one orphan line per object" c_lost_verify
c_lost_reindex() {
  local s="$T/lost2"; rm -rf "$s"; cp -a "$S1" "$s"; rm -rf "$s/index"
  [ "$("$SPILL" --store "$s" ls | wc -l)" -le 1 ] || bad "ls lists objects without an index?" || return
  run "$SPILL" --store "$s" reindex
  [ "$RC" = 0 ] || bad "reindex exit $RC: $(errline)" || return
  grep -q "^$(wc -l <"$T/ids1") objects indexed" "$T/out" || bad "reindex says: $(cat "$T/out")" || return
  facts "$s" >"$T/facts2"
  cmp -s "$T/facts1" "$T/facts2" || bad "ls after reindex differs: $(diff "$T/facts1" "$T/facts2" | head -4 | tr '\n' '|')" || return
  run "$SPILL" --store "$s" verify
  [ "$RC" = 0 ] && grep -q ', 0 corrupt, 0 orphan files$' "$T/out" || bad "verify after reindex: $(cat "$T/out") $(errline)" || return
  "$SPILL" --store "$s" cat "$(head -n 1 "$T/ids1")" >/dev/null || bad "cat after reindex failed"
}
tcase "index lost: spill reindex, then spill ls lists every object again with its size, lines, type and time" c_lost_reindex
c_damaged_reindex() {
  local kind s
  for kind in truncate scribble; do
    s="$T/d-$kind"
    run "$SPILL" --store "$s" reindex
    [ "$RC" = 0 ] || bad "$kind: reindex exit $RC: $(errline)" || return
    grep -q 'index.damaged-' "$T/err" || bad "$kind: reindex does not say where the damaged index went: $(errline)" || return
    ls -d "$s"/index.damaged-* >/dev/null 2>&1 || bad "$kind: the damaged index is not kept" || return
    facts "$s" >"$T/facts2"
    cmp -s "$T/facts1" "$T/facts2" || bad "$kind: ls after reindex differs" || return
  done
}
tcase "index damaged: spill reindex moves it aside and lists every object again" c_damaged_reindex
c_lost_gc() {
  local s="$T/lost3" n; rm -rf "$s"; cp -a "$S1" "$s"; rm -rf "$s/index"
  n=$(find "$s/objects" -name '*.zst' | wc -l)
  sleep 1.1
  run "$SPILL" --store "$s" gc --grace 0
  [ "$RC" = 0 ] || bad "gc exit $RC: $(errline)" || return
  [ "$(find "$s/objects" -name '*.zst' | wc -l)" = "$n" ] || bad "gc removed valid object files whose rows were lost: $(cat "$T/out")" || return
  facts "$s" >"$T/facts2"
  cmp -s "$T/facts1" "$T/facts2" || bad "gc did not index the orphans again"
}
tcase "index lost: gc removes no valid object file, it indexes them again" c_lost_gc
