#!/usr/bin/env bash
# Golden tests: wstrace -r on each committed capture must print exactly the
# committed output (text, -X, JSON). Prints "N passed, N failed".
set -u
cd "$(dirname "$0")"
wstrace=$1
export TZ=UTC
passed=0 failed=0
for cap in *.pcap; do
	name=${cap%.pcap}
	for variant in "txt:" "X.txt:-X" "jsonl:--json"; do
		ext=${variant%%:*} opt=${variant#*:}
		if [ "$ext" = jsonl ]; then
			got=$("$wstrace" -r "$cap" $opt 2>/dev/null)
		else
			got=$("$wstrace" -r "$cap" $opt 2>&1)
		fi
		if [ "$got" = "$(cat "$name.$ext")" ]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			echo "golden $name.$ext differs:"
			diff <(printf '%s\n' "$got") "$name.$ext" | head -20
		fi
	done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
