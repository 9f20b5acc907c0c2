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
    for pg in range(2, n):  # every page but the two meta pages
        h.seek(pg * 4096 + random.randrange(0, 64))
        h.write(bytes(random.getrandbits(8) for _ in range(48)))
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
