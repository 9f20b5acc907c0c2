#!/bin/sh
# tools/deps.sh [--list | --missing | --install]
#   --list     every Debian package `make deps` could ask for on this machine
#   --missing  those of them not installed yet
#   --install  installs the missing ones (apt-get as root, else through sudo)
#   --simulate refreshes the package lists and simulates installing the whole --list
#              (apt-get install -s): fails on a conflict even where all is installed (.ci/run)
#
# Node.js is the exception to "ask Debian": where a node >= 20 with a working npm is
# already on PATH (from nodesource, nvm, a tarball), asking apt for Debian's nodejs and
# npm conflicts with it ("held broken packages"), so they are asked for only where no
# usable node is found.
set -eu

BASE_PKGS="build-essential pkg-config libzstd-dev liblmdb-dev libxxhash-dev libpcre2-dev \
libuv1-dev libjansson-dev libjq-dev zstd xxhash time python3 util-linux procps coreutils \
clang libclang-rt-dev unicode-data libutf8proc-dev libspng-dev libjpeg-dev libwebp-dev \
chromium"

node_usable() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
  major=$(node -e 'process.stdout.write(String(process.versions.node.split(".")[0]))' 2>/dev/null) || return 1
  [ "${major:-0}" -ge 20 ] 2>/dev/null && npm --version >/dev/null 2>&1
}

list() {
  echo $BASE_PKGS
  node_usable || echo nodejs npm
}

missing() {
  for p in $(list); do
    s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$s" in *" installed") ;; *) printf '%s\n' "$p" ;; esac
  done
}

case "${1:---install}" in
  --list) list | tr ' ' '\n' | sed '/^$/d' ;;
  --missing) missing ;;
  --simulate)
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    if ! out=$(apt-get install -s $(list) 2>&1); then
      printf '%s\n' "$out" | tail -n 15 >&2
      echo "deps: installing $(list | tr '\n' ' ')would fail on this machine (above)" >&2
      exit 1
    fi
    echo "deps: the install of every package make deps could ask for simulates cleanly" ;;
  --install)
    pkgs=$(missing | tr '\n' ' ')
    if [ -z "$pkgs" ]; then echo "deps: every Debian package is installed"; exit 0; fi
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    echo "deps: installing $pkgs"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkgs
    node_usable || { echo "deps: node >= 20 with npm is still not on PATH" >&2; exit 1; } ;;
  *) echo "usage: tools/deps.sh [--list|--missing|--install|--simulate]" >&2; exit 2 ;;
esac
