#!/usr/bin/env bash
# Golden tests: wstrace -r on each committed capture must print exactly the
# committed output (text, -X, JSON) and exit 0 without a sanitizer report
# (tests/run.sh runs this with the plain and the sanitized binary). Prints
# "N passed, N failed".
set -u
cd "$(dirname "$0")"
wstrace=$1
export TZ=UTC
err=$(mktemp /tmp/wstrace-golden.XXXXXX)
trap 'rm -f "$err"' EXIT
passed=0 failed=0
for cap in *.pcap; do
	[ -f "$cap" ] || { echo "no captures in tests/golden"; failed=$((failed + 1)); break; }
	name=${cap%.pcap}
	for variant in "txt:" "X.txt:-X" "jsonl:--json"; do
		ext=${variant%%:*} opt=${variant#*:}
		# The text outputs include the summary on stderr; JSON is stdout only.
		# shellcheck disable=SC2086 # opt is empty or one option
		if [ "$ext" = jsonl ]; then
			got=$("$wstrace" -r "$cap" $opt 2>"$err"); rc=$?
		else
			got=$("$wstrace" -r "$cap" $opt 2>&1); rc=$?
			printf '%s\n' "$got" >"$err"
		fi
		if [ "$rc" -ne 0 ] || grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$err"; then
			failed=$((failed + 1))
			echo "golden $name.$ext: wstrace -r exited $rc (a non-zero exit or a sanitizer report fails)"
			tail -n 15 "$err"
		elif [ "$got" = "$(cat "$name.$ext")" ]; then
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
