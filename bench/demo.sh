#!/usr/bin/env bash
# make demo: what spill does with one big output, start to finish: the store on its
# own, then the sidecar between an agent and an MCP server.
# Stores a generated 50 MB tool output, shows the handle an agent would get, and
# reads a line range and a search back without decompressing the whole object.
set -euo pipefail
build=${1:-build}
spill="$build/spill"
store=$(mktemp -d /tmp/spill-demo.XXXXXX)
trap 'rm -rf "$store"' EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say "$build/payload 50M > output.txt    # a 50 MB mixed tool output (JSON, logs, code, base64)"
"$build/payload" 50M > "$store/output.txt"
say "spill --store $store put output.txt --name output.txt"
"$spill" --store "$store" put "$store/output.txt" --name output.txt | tee "$store/handle"
id=$(sed -n 's/^spill object \([0-9a-f]*\).*/\1/p' "$store/handle")
short=${id:0:8}
say "spill cat $short --lines 300000:300004"
"$spill" --store "$store" cat "$short" --lines 300000:300004
say "spill grep $short 'ERROR.*took=299[0-9]ms' --max 3"
"$spill" --store "$store" grep "$short" 'ERROR.*took=299[0-9]ms' --max 3 || true
say "spill show $short"
"$spill" --store "$store" show "$short"
say "spill cat $short | cmp - output.txt && zstd -d -c OBJECT | cmp - output.txt"
"$spill" --store "$store" cat "$short" | cmp - "$store/output.txt"
zstd -q -d -c "$store/objects/${id:0:2}/${id:2}.zst" | cmp - "$store/output.txt"
echo "both identical to the original, byte for byte"
say "spill verify"
"$spill" --store "$store" verify

say "spill run -- $build/demo_server    (an MCP server of ours, as an agent would run it)"
python3 "$(dirname "$0")/demo_client.py" "$spill" "$store/sidecar-store" "$build/demo_server"
