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

# ---- 3. views/: symlinks, planted links, dead writers' temp files, GC ---------------------
# sidecar STORE ARGS...: one big result (60,000 lines) through spill run; prints the view path.
sidecar_big() {
  local store=$1; shift
  PYTHONPATH="$here" timeout 60 python3 - "$SPILL" "$store" "$here/fake_mcp_server.py" "$@" <<'PY'
import sys
from sidecar_client import Peer, text
spill, store, server = sys.argv[1:4]
p = Peer([spill, "run", "--store", store] + sys.argv[4:] + ["--", "python3", server])
p.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})
t = text(p.call("tools/call", {"name": "big", "arguments": {"lines": 60000}}))
view = next((l.split(": ", 1)[1] for l in t.splitlines() if l.startswith("  file (plain text")), "none")
p.close()
print(view)
PY
}
c_views_symlink() {
  local s="$T/v1" victim="$T/victim"
  mkdir -p "$victim"; echo keep >"$victim/precious"; head -c 300000 /dev/zero >"$victim/big"
  echo hi | "$SPILL" --store "$s" put -q >/dev/null || bad "put failed" || return
  ln -s "$victim" "$s/views"
  local v; v=$(sidecar_big "$s" --views-quota 100000) || bad "sidecar failed" || return
  [ -f "$victim/precious" ] && [ -f "$victim/big" ] || bad "the quota deleted files in the symlink's target: $(ls "$victim" | tr '\n' ' ')" || return
  [ "$(ls "$victim" | wc -l)" = 2 ] || bad "views were written through the symlink: $(ls -a "$victim" | tr '\n' ' ')" || return
  [ "$v" = none ] || bad "the handle names a view through the symlink: $v"
}
tcase "a symlinked STORE/views is not followed: nothing written or deleted where it points" c_views_symlink
c_views_hardlink() {
  local s="$T/v2"
  echo hi | "$SPILL" --store "$s" put -q >/dev/null || bad "put failed" || return
  echo "do not touch" >"$T/target"
  # Links at the names a writer could pick, planted once spill run's pid is known:
  # the pid with counters (the old naming) and nothing else can be guessed.
  PYTHONPATH="$here" timeout 60 python3 - "$SPILL" "$s" "$here/fake_mcp_server.py" "$T/target" >"$T/py" 2>&1 <<'PY'
import os, sys
from sidecar_client import Peer, text
spill, store, server, target = sys.argv[1:5]
p = Peer([spill, "run", "--store", store, "--", "python3", server])
p.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})
for i in range(8):
    os.link(target, "%s/views/.tmp-%d-%d" % (store, p.p.pid, i))
t = text(p.call("tools/call", {"name": "big", "arguments": {"lines": 60000}}))
p.close()
print("view" if "file (plain text" in t else "no view")
PY
  grep -qx view "$T/py" || bad "no view made: $(tail -c 300 "$T/py")" || return
  [ "$(cat "$T/target")" = "do not touch" ] || bad "a hard link at a temp name was written through: $(head -c 80 "$T/target")"
}
tcase "a hard link planted at a temp name in views/ is never written through" c_views_hardlink
c_views_dead_temps() {
  local s="$T/v3" pid
  echo hi | "$SPILL" --store "$s" put -q >/dev/null || bad "put failed" || return
  # A server that starts a huge result and stalls: spill is writing the view when killed.
  cat >"$T/stall.py" <<'PY'
import json, sys, time
for line in sys.stdin:
    m = json.loads(line)
    if m.get("method") == "initialize":
        print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "s", "version": "1"}}}), flush=True)
    elif m.get("method") == "tools/call":
        sys.stdout.write('{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"' % json.dumps(m["id"]))
        for i in range(40000):
            sys.stdout.write("row %07d of a result that never ends\\n" % i)
        sys.stdout.flush()
        time.sleep(60)
PY
  PYTHONPATH="$here" timeout 60 python3 - "$SPILL" "$s" "$T/stall.py" >"$T/py" 2>&1 <<'PY'
import glob, os, signal, sys, time
from sidecar_client import Peer
spill, store, server = sys.argv[1:4]
p = Peer([spill, "run", "--store", store, "--", "python3", server])
p.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})
p.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "x", "arguments": {}}})
big = lambda: [f for f in glob.glob(store + "/views/.tmp-*") if os.path.getsize(f) > 100000]
for _ in range(200):
    if big(): break
    time.sleep(0.05)
kids = open("/proc/%d/task/%d/children" % (p.p.pid, p.p.pid)).read().split()
p.p.send_signal(signal.SIGKILL)
p.p.wait()  # reaped: its pid is gone, as after any crash
for k in kids: os.kill(int(k), signal.SIGKILL)  # the stalled server spill started
print("temp" if big() else "no temp")
PY
  grep -qx temp "$T/py" || bad "no view temp file grew before kill -9: $(tail -c 300 "$T/py")" || return
  run "$SPILL" --store "$s" ls
  [ -z "$(find "$s/views" -name '.tmp-*')" ] || bad "the dead writer's temp file stays: $(ls -la "$s/views" | tr '\n' '|')"
}
tcase "kill -9 of spill run mid-view: its views/.tmp-* file is swept when the store is next opened" c_views_dead_temps
c_views_quota_temps() {
  local s="$T/v4" i
  echo hi | "$SPILL" --store "$s" put -q >/dev/null || bad "put failed" || return
  mkdir -p "$s/views"
  for i in 1 2 3; do head -c 200000 /dev/zero >"$s/views/$(printf '%032x' $i).txt"; touch -d '1 hour ago' "$s/views/$(printf '%032x' $i).txt"; done
  head -c 600000 /dev/zero >"$s/views/.tmp-1-0123456789abcdef" # a live writer's (pid 1)
  sidecar_big "$s" --views-quota 1000000 >/dev/null || bad "sidecar failed" || return
  local total; total=$(du -cb "$s/views"/* "$s/views"/.tmp-* 2>/dev/null | tail -n 1 | cut -f1)
  [ "$total" -le 1000000 ] || bad "views and live temp files hold $total bytes over a 1000000-byte quota: $(ls -la "$s/views" | tr '\n' '|')"
}
tcase "temp files of live writers count in the views quota" c_views_quota_temps
c_views_gc() {
  local s="$T/v5" v
  echo hi | "$SPILL" --store "$s" put -q >/dev/null || bad "put failed" || return
  v=$(sidecar_big "$s") || bad "sidecar failed" || return
  [ -f "$v" ] || bad "no view: $v" || return
  run "$SPILL" --store "$s" gc --ttl 0 --max-bytes 1
  [ "$RC" = 0 ] || bad "gc exit $RC: $(errline)" || return
  [ "$("$SPILL" --store "$s" ls | wc -l)" -le 1 ] || bad "gc left objects: $(cat "$T/out")" || return
  [ ! -e "$v" ] || bad "the view of a removed object stays: $v"
}
tcase "GC removes an object's view with the object" c_views_gc

# ---- 5. a full disk at the index commit ----------------------------------------------------
MNT="$T/mnt"; mkdir -p "$MNT"
trap 'mountpoint -q "$MNT" && { umount "$MNT" || umount -l "$MNT"; }; rm -rf "$T"' EXIT
trap 'exit 143' TERM INT
ENOSPC_CASE="full disk at the index commit: 'No space left on device', never 'Input/output error'"
if ! mount -t tmpfs -o size=1m tmpfs "$MNT" 2>"$T/mounterr"; then
  skip "$ENOSPC_CASE" "cannot mount a tmpfs ($(head -n 1 "$T/mounterr")); run as root or with CAP_SYS_ADMIN"
  echo "# WARNING: the full-disk index case was SKIPPED"
else
  c_enospc() {
    # The object file (one page) fits, the index's new pages do not: LMDB's short
    # write is what used to come out as EIO.
    local x avail at_index=0
    for x in 4 8 12 16 20; do
      rm -rf "$MNT"/*
      seq 1 10 | "$SPILL" --store "$MNT/s" put -q >/dev/null || bad "first put failed" || return
      avail=$(df -B1 --output=avail "$MNT" | tail -n 1 | tr -d ' ')
      head -c $((avail - x * 1024)) /dev/zero >"$MNT/fill" 2>/dev/null
      seq 1 $((x + 20)) >"$T/in"
      run "$SPILL" --store "$MNT/s" put -q "$T/in"
      [ "$RC" = 0 ] && continue
      one_line || bad "free ${x}K: not one spill: line: $(errline)" || return
      ! grep -q 'Input/output error' "$T/err" || bad "free ${x}K: $(errline)" || return
      grep -q 'No space left on device' "$T/err" || bad "free ${x}K: $(errline)" || return
      grep -q 'index' "$T/err" && at_index=$((at_index + 1))
      rm -f "$MNT/fill"
      run "$SPILL" --store "$MNT/s" verify
      [ "$RC" = 0 ] || bad "free ${x}K: verify after the failed commit: exit $RC $(errline)" || return
    done
    [ "$at_index" -gt 0 ] || bad "no put failed at the index commit: the case proves nothing"
  }
  tcase "$ENOSPC_CASE" c_enospc
fi
