#!/usr/bin/env bash
# Regenerates the golden outputs from the committed captures:
#   tests/golden/NAME.pcap -> NAME.txt (text), NAME.X.txt (-X), NAME.jsonl (--json)
# Review the diff before committing: the golden files are the contract.
set -eu
cd "$(dirname "$0")"
wstrace=${1:-../../wstrace}
export TZ=UTC
for cap in *.pcap; do
	name=${cap%.pcap}
	"$wstrace" -r "$cap" >"$name.txt" 2>&1
	"$wstrace" -r "$cap" -X >"$name.X.txt" 2>&1
	"$wstrace" -r "$cap" --json >"$name.jsonl" 2>/dev/null
done
