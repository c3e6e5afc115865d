#!/usr/bin/env bash
# Runs every test and ends with "N passed, N failed, N skipped".
#
#   tests/run.sh [--unit-only] BUILD [ASAN_BUILD]
#
# Unit tests (cmocka) run from BUILD and, if given, from ASAN_BUILD (built with
# AddressSanitizer and UndefinedBehaviorSanitizer). Unless --unit-only, each
# fuzz target in build-fuzz/ runs FUZZ_SMOKE_SECONDS (3) from its seeds and
# counts as one test. Kernel tests (BPF test runs,
# end-to-end scripts in tests/e2e/) need root and BPF: elsewhere they skip with a
# message, but under CI=true a skip counts as a failure.
set -u
cd "$(dirname "$0")/.."

unit_only=0
if [ "${1:-}" = "--unit-only" ]; then unit_only=1; shift; fi
build=${1:-build}
asan=${2:-}

passed=0 failed=0 skipped=0
failures=()

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:".
run_cmocka() {
	local bin=$1 label=$2 out p f rc
	out=$("$bin" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed or sanitizer report
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi    # ran nothing
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures+=("$label")
		printf '%s\n' "$out" | tail -n 40
	fi
	printf '%-48s %3d passed, %d failed\n' "$label" "$p" "$f"
}

skip_or_fail() {
	local label=$1 why=$2
	if [ "${CI:-}" = "true" ]; then
		failed=$((failed + 1)); failures+=("$label (CI=true: $why)")
		printf '%-48s FAILED (%s, and CI=true forbids skipping)\n' "$label" "$why"
	else
		skipped=$((skipped + 1))
		printf '%-48s skipped: %s\n' "$label" "$why"
	fi
}

# Kernel tests need root and a kernel that loads our program.
kernel_ok() {
	if [ "$(id -u)" -ne 0 ]; then echo "needs root (CAP_BPF, CAP_NET_ADMIN)"; return 1; fi
	if [ ! -r /sys/kernel/btf/vmlinux ]; then echo "kernel has no BTF"; return 1; fi
	return 0
}

for bin in "$build"/tests/test_*; do
	[ -x "$bin" ] || continue
	case $(basename "$bin") in test_bpf_*) continue ;; esac
	run_cmocka "$bin" "unit $(basename "$bin")"
done
if [ -n "$asan" ]; then
	for bin in "$asan"/tests/test_*; do
		[ -x "$bin" ] || continue
		case $(basename "$bin") in test_bpf_*) continue ;; esac
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
			run_cmocka "$bin" "asan $(basename "$bin")"
	done
fi

# Golden outputs: wstrace -r on committed captures, text, -X and JSON.
if [ -x "$build/wstrace" ]; then
	out=$(tests/golden/check.sh "$PWD/$build/wstrace" 2>&1)
	p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	p=${p:-0} f=${f:-1}
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then failures+=("golden outputs"); printf '%s\n' "$out" | tail -40; fi
	printf '%-48s %3d passed, %d failed\n' "golden tests/golden/*.pcap" "$p" "$f"
fi

# Fuzz smoke: each libFuzzer target in build-fuzz/ (make fuzz-build) a few
# seconds from its seeds; one that finds a crash, leak or timeout fails.
if [ "$unit_only" -eq 0 ]; then
	out=$(tests/fuzz/run.sh "${FUZZ_SMOKE_SECONDS:-3}" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	p=${p:-0} f=${f:-1}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f))
	printf '%s\n' "$out" | grep -E '^fuzz_[a-z_]+ +(ok|FAILED)' | sed 's/^/fuzz /'
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out" | grep -E 'ERROR|SUMMARY|Test unit written' | tail -n 20
		names=$(printf '%s\n' "$out" | sed -n 's/^\(fuzz_[a-z_]*\) *FAILED.*/\1/p')
		for n in ${names:-smoke}; do failures+=("fuzz $n"); done
	fi
fi

if [ "$unit_only" -eq 0 ]; then
	if why=$(kernel_ok); then
		for bin in "$build"/tests/test_bpf_*; do
			[ -x "$bin" ] || continue
			run_cmocka "$bin" "bpf $(basename "$bin")"
		done
		for t in tests/e2e/test_*.sh; do
			[ -f "$t" ] || continue
			label="e2e $(basename "$t" .sh)"
			log=$(mktemp /tmp/wstrace-e2e-log.XXXXXX)
			start=$(date +%s)
			WSTRACE_BUILD=$build bash "$t" >"$log" 2>&1
			rc=$?
			secs=$(( $(date +%s) - start ))
			if [ "$rc" -eq 0 ]; then
				passed=$((passed + 1))
				printf '%-48s passed (%ss)\n' "$label" "$secs"
			elif [ "$rc" -eq 77 ]; then
				skip_or_fail "$label" "$(tail -n1 "$log")"
			else
				failed=$((failed + 1)); failures+=("$label")
				tail -n 60 "$log"
				printf '%-48s FAILED (exit %d, %ss)\n' "$label" "$rc" "$secs"
			fi
			rm -f "$log"
		done
	else
		skip_or_fail "kernel and end-to-end tests" "$why"
	fi
fi

if [ "${#failures[@]}" -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
