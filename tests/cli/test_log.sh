# spill log: every put is logged with its session, server, tool and request id.
. "$(dirname "$0")/lib.sh"
S="$T/store"
printf 'one\n' > "$T/a"; printf 'two\n' > "$T/b"
a=$("$SPILL" --store "$S" put "$T/a" -q --session s1 --server fs --tool read_file --request-id 41)
"$SPILL" --store "$S" put "$T/a" -q --session s2 > /dev/null
b=$(SPILL_SESSION=env-session "$SPILL" --store "$S" put "$T/b" -q --tool grep)
"$SPILL" --store "$S" log --json > "$T/all.json"
python3 - "$T/all.json" "$a" "$b" <<'PY' && ok "log --json lists every put in order with its fields" || fail "log --json lists every put in order with its fields" "$(cat "$T/all.json" | head -5)"
import json, sys
ev = json.load(open(sys.argv[1])); a, b = sys.argv[2], sys.argv[3]
assert [e["id"] for e in ev] == [a, a, b], ev
assert (ev[0]["session"], ev[0]["server"], ev[0]["tool"], ev[0]["request_id"]) == ("s1", "fs", "read_file", "41")
assert ev[1]["session"] == "s2" and ev[1]["tool"] == ""
assert ev[2]["session"] == "env-session" and ev[2]["tool"] == "grep"
assert ev[0]["time_ns"] <= ev[1]["time_ns"] <= ev[2]["time_ns"]
PY
n=$("$SPILL" --store "$S" log "${b:0:8}" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1 ] && ok "log ID shows one object's events" || fail "log ID shows one object's events" "got $n"
"$SPILL" --store "$S" log | grep -q "read_file" && ok "log text names the tool" || fail "log text names the tool"
out=$("$SPILL" --store "$S" log ../../etc 2>&1); rc=$?
[ $rc != 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && [[ "$out" == spill:* ]] && ok "log with a bad id fails with one line" || fail "log with a bad id fails with one line" "rc $rc: $out"
