#!/usr/bin/env bash
# Runs every libFuzzer target built in build-fuzz/ (make fuzz-build) for
# SECONDS seconds each, one at a time, from its seeds, and ends with
# "N passed, N failed": a target passes when its run finds nothing.
#
#   tests/fuzz/run.sh [--keep] [SECONDS] [TARGET...]     (default 30 s, all)
#
# Seeds: tests/fuzz/corpus/NAME/ for fuzz_NAME.c, read only. New inputs go
# to a temporary directory, or with --keep to build-fuzz/corpus/NAME/, which
# later runs start from (longer runs build on each other).
# A target may name extra libFuzzer flags in its first lines:
#   fuzz-flags: -max_len=20000
# Crash, leak and timeout reproducers land in build-fuzz/artifacts/ and the
# log in build-fuzz/NAME.log; the line of each target gives the executions,
# and the coverage (cov: edges, ft: features) libFuzzer reached.
set -u
cd "$(dirname "$0")/../.." || exit 1

keep=0
if [ "${1:-}" = "--keep" ]; then keep=1; shift; fi
fuzz_time=${1:-${FUZZ_TIME:-30}}
shift || true
out=${FUZZ_BUILD:-build-fuzz}

# Value of a "fuzz-KEY:" line in the first 30 lines of a target, if any.
target_field() {
	head -n 30 "$1" | sed -n "s/^.*fuzz-$2:[[:space:]]*\(.*\)$/\1/p" | head -n1
}

if [ "$#" -gt 0 ]; then
	targets=()
	for t in "$@"; do targets+=("tests/fuzz/${t%.c}.c"); done
else
	targets=(tests/fuzz/fuzz_*.c)
fi
if [ ! -e "${targets[0]}" ]; then
	echo "fuzz: no tests/fuzz/fuzz_*.c" >&2
	exit 1
fi
mkdir -p "$out/artifacts"

passed=0 failed=0
failures=()
for src in "${targets[@]}"; do
	name=$(basename "$src" .c)
	bin=$out/$name
	if [ ! -x "$bin" ]; then
		printf '%-26s FAILED (not built: make fuzz-build; libFuzzer needs libclang-rt-14-dev)\n' "$name"
		failed=$((failed + 1)); failures+=("$name (not built)")
		continue
	fi
	seeds=tests/fuzz/corpus/${name#fuzz_}
	if [ "$keep" -eq 1 ]; then
		work=$out/corpus/${name#fuzz_}
		mkdir -p "$work"
	else
		work=$(mktemp -d "/tmp/wstrace-fuzz-$name.XXXXXX")
	fi
	dirs=("$work")
	[ -d "$seeds" ] && dirs+=("$seeds")
	log=$out/$name.log
	flags=$(target_field "$src" flags)
	start=$(date +%s)
	# shellcheck disable=SC2086 # several flags, split on purpose
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		timeout -k 10 $((fuzz_time + 120)) \
		"$bin" -max_total_time="$fuzz_time" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" \
		$flags "${dirs[@]}" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	[ "$keep" -eq 1 ] || rm -rf "$work"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
	if [ "$rc" -ne 0 ] || [ -z "$runs" ] || [ "${runs:-0}" -eq 0 ]; then
		tail -n 60 "$log" >&2
		printf '%-26s FAILED (exit %d after %ss; see %s and %s/artifacts/)\n' \
			"$name" "$rc" "$secs" "$log" "$out"
		failed=$((failed + 1)); failures+=("$name")
	else
		printf '%-26s ok, %s runs, %s, %ss\n' "$name" "$runs" "${cov:-cov ?}" "$secs"
		passed=$((passed + 1))
	fi
done

if [ "${#failures[@]}" -gt 0 ]; then
	echo "fuzz failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
