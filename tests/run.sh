#!/usr/bin/env bash
# Runs every test and ends with "N passed, N failed, N skipped".
#
#   tests/run.sh [--unit-only] BUILD [ASAN_BUILD]
#
# Unit tests (cmocka) run from BUILD and, if given, from ASAN_BUILD (built with
# AddressSanitizer and UndefinedBehaviorSanitizer). Golden outputs are checked
# with both binaries. Unless --unit-only, each fuzz target in build-fuzz/ runs
# FUZZ_SMOKE_SECONDS (3) from its seeds and counts as one test. The layer
# check (tests/check_layers.sh) and its self-test count as two, the build
# check (tests/check_build.sh: unit tests and fuzz targets need no BPF
# toolchain) as one, the check of debian/ against VERSION and the
# Makefile (tests/deb/check_sources.sh) and its self-test as two more. Kernel tests (BPF test runs, end-to-end scripts in
# tests/e2e/) need root and BPF: elsewhere they skip with a message; the
# scripts in ASAN_E2E run a second time with the sanitized binary.
#
# What a run guarantees:
# - every test binary and script runs under a time limit (UNIT_TIMEOUT,
#   E2E_TIMEOUT seconds); on expiry its whole process group is killed and it
#   fails with a line saying so;
# - a skip is counted (cmocka's "[  SKIPPED ]", exit 77 of a script, kernel
#   tests without root), and under CI=true a skip is a failure;
# - finding nothing to run where something is expected (no unit binaries, no
#   BPF test binaries, no end-to-end scripts, no golden captures) is a failure;
# - a crash, a sanitizer report or a non-zero exit is a failure even when the
#   test's own output claims success.
set -u
cd "$(dirname "$0")/.."

unit_only=0
if [ "${1:-}" = "--unit-only" ]; then unit_only=1; shift; fi
build=${1:-build}
asan=${2:-}

UNIT_TIMEOUT=${UNIT_TIMEOUT:-180}
E2E_TIMEOUT=${E2E_TIMEOUT:-300}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-3}
FUZZ_SMOKE_TIMEOUT=${FUZZ_SMOKE_TIMEOUT:-600}
# End-to-end scripts that also run with the sanitized wstrace (slower: the
# limit is E2E_TIMEOUT all the same, which is generous for them).
SYSTEMD_TIMEOUT=${SYSTEMD_TIMEOUT:-1500}
ASAN_E2E=${ASAN_E2E:-"test_tcp_loopback test_ws_python test_metrics_tls test_top"}
# Sanitizer reports are fatal and leaks are reported (tests/e2e/lib.sh uses
# the same settings when a script runs on its own).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:abort_on_error=1}
# cmocka's standard report is what is parsed below.
export CMOCKA_MESSAGE_OUTPUT=stdout

passed=0 failed=0 skipped=0
failures=()

# limited SECONDS CMD...: CMD under a time limit. timeout(1) runs it in a
# process group of its own and signals the whole group (SIGTERM, then SIGKILL
# 30 s later), so nothing a hung test started outlives it. Exit 124 or 137
# means the limit was hit.
limited() {
	local secs=$1; shift
	timeout -k 30 "$secs" "$@" </dev/null &
	LIMITED_PID=$!
	wait "$LIMITED_PID"
}

# That group does not get the terminal's Ctrl-C: pass it on (timeout signals
# the group, a test's cleanup runs) and stop. Fd 3 is the runner's own stdout
# (a test's output may be redirected when this runs).
exec 3>&1
on_interrupt() {
	trap - INT TERM
	if [ -n "${LIMITED_PID:-}" ]; then
		kill -TERM "$LIMITED_PID" 2>/dev/null
		wait "$LIMITED_PID"
	fi
	rm -f "${E2E_LOG:-}"
	echo "interrupted" >&3
	echo "$passed passed, $((failed + 1)) failed, $skipped skipped" >&3
	exit 130
}
trap on_interrupt INT TERM

timed_out() { [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; }

fail_one() {
	local label=$1 why=$2
	failed=$((failed + 1)); failures+=("$label ($why)")
	printf '%-48s FAILED (%s)\n' "$label" "$why"
}

skip_or_fail() {
	local label=$1 why=$2
	if [ "${CI:-}" = "true" ]; then
		fail_one "$label" "CI=true forbids skipping: $why"
	else
		skipped=$((skipped + 1))
		printf '%-48s skipped: %s\n' "$label" "$why"
	fi
}

# binaries DIR PATTERN: the executables in DIR matching PATTERN, one a line.
binaries() {
	local bin
	for bin in "$1"/$2; do
		[ -x "$bin" ] && printf '%s\n' "$bin"
	done
}

# cmocka prints "[  PASSED  ] N test(s).", "[  SKIPPED ] N test(s), listed
# below:" and "[  FAILED  ] N test(s), listed below:".
cmocka_count() {
	printf '%s\n' "$2" | sed -n "s/^\[  $1 *\] \([0-9][0-9]*\) test(s).*/\1/p" | tail -n1
}

run_cmocka() {
	local bin=$1 label=$2 out p f s rc
	out=$(limited "$UNIT_TIMEOUT" "$bin" 2>&1); rc=$?
	p=$(cmocka_count PASSED "$out") f=$(cmocka_count FAILED "$out") s=$(cmocka_count SKIPPED "$out")
	p=${p:-0} f=${f:-0} s=${s:-0}
	if timed_out "$rc"; then
		[ -z "$out" ] || printf '%s\n' "$out" | tail -n 20
		fail_one "$label" "timed out after ${UNIT_TIMEOUT}s"
		return
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed or sanitizer report
	if [ "$((p + f + s))" -eq 0 ]; then f=1; fi          # ran nothing
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures+=("$label")
		printf '%s\n' "$out" | tail -n 40
	fi
	printf '%-48s %3d passed, %d failed\n' "$label" "$p" "$f"
	if [ "$s" -ne 0 ]; then
		skip_or_fail "$label" "$s cmocka test(s) skipped: $(printf '%s\n' "$out" |
			sed -n 's/^\[  SKIPPED \] \([^0-9].*\)/\1/p' | sort -u | paste -sd' ')"
	fi
}

# run_unit DIR KIND: every cmocka binary in DIR/tests (BPF ones excluded).
run_unit() {
	local dir=$1 kind=$2 bin n=0
	while read -r bin; do
		case $(basename "$bin") in test_bpf_*) continue ;; esac
		run_cmocka "$bin" "$kind $(basename "$bin")"
		n=$((n + 1))
	done < <(binaries "$dir/tests" 'test_*')
	[ "$n" -gt 0 ] || fail_one "$kind tests" "no unit test binaries in $dir/tests (make tests-build)"
}

# run_golden WSTRACE LABEL: tests/golden/check.sh with that binary.
run_golden() {
	local bin=$1 label=$2 out p f rc
	if [ ! -x "$bin" ]; then
		fail_one "$label" "no binary $bin"
		return
	fi
	out=$(limited "$UNIT_TIMEOUT" tests/golden/check.sh "$PWD/$bin" 2>&1); rc=$?
	if timed_out "$rc"; then
		[ -z "$out" ] || printf '%s\n' "$out" | tail -n 20
		fail_one "$label" "timed out after ${UNIT_TIMEOUT}s"
		return
	fi
	p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	p=${p:-0} f=${f:-1}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then failures+=("$label"); printf '%s\n' "$out" | tail -40; fi
	printf '%-48s %3d passed, %d failed\n' "$label" "$p" "$f"
}

# run_e2e SCRIPT BUILD LABEL: one end-to-end script with WSTRACE_BUILD=BUILD.
run_e2e() {
	local t=$1 b=$2 label=$3 limit=${4:-$E2E_TIMEOUT} log start rc secs
	log=$(mktemp /tmp/wstrace-e2e-log.XXXXXX)
	E2E_LOG=$log
	start=$(date +%s)
	WSTRACE_BUILD=$b limited "$limit" bash "$t" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		printf '%-48s passed (%ss)\n' "$label" "$secs"
	elif [ "$rc" -eq 77 ]; then
		skip_or_fail "$label" "$(tail -n1 "$log")"
	elif timed_out "$rc"; then
		tail -n 60 "$log"
		fail_one "$label" "timed out after ${limit}s, process group killed"
	else
		tail -n 60 "$log"
		fail_one "$label" "exit $rc, ${secs}s"
	fi
	rm -f "$log"
}

# Fuzz smoke: each libFuzzer target in build-fuzz/ (make fuzz-build) for
# FUZZ_SMOKE_SECONDS from its seeds, one test each; a crash, leak or timeout
# fails it, and so does a target that was not built.
run_fuzz_smoke() {
	local out rc line n=0 bad=0
	out=$(limited "$FUZZ_SMOKE_TIMEOUT" tests/fuzz/run.sh "$FUZZ_SMOKE_SECONDS" 2>&1); rc=$?
	if timed_out "$rc"; then
		printf '%s\n' "$out" | tail -n 20
		fail_one "fuzz smoke" "timed out after ${FUZZ_SMOKE_TIMEOUT}s"
		return
	fi
	while read -r line; do
		n=$((n + 1))
		case $line in
		*" ok, "*) passed=$((passed + 1)); printf 'fuzz %s\n' "$line" ;;
		*) bad=$((bad + 1)); fail_one "fuzz ${line%% *}" "$(printf '%s' "$line" | sed 's/^[^(]*(\(.*\))$/\1/')" ;;
		esac
	done < <(printf '%s\n' "$out" | grep -E '^fuzz_[a-z_]+ +(ok,|FAILED)')
	if [ "$bad" -gt 0 ]; then
		printf '%s\n' "$out" | grep -E 'ERROR|SUMMARY|Test unit written' | tail -n 20
	fi
	[ "$n" -gt 0 ] || fail_one "fuzz smoke" "no fuzz targets ran (make fuzz-build)"
	[ "$rc" -eq 0 ] || [ "$bad" -gt 0 ] || fail_one "fuzz smoke" "tests/fuzz/run.sh exit $rc"
}

# run_check LABEL CMD...: a check script, one test: passes on exit 0.
run_check() {
	local label=$1 out rc
	shift
	out=$(limited "$UNIT_TIMEOUT" "$@" 2>&1); rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		printf '%-48s passed\n' "$label"
	else
		printf '%s\n' "$out" | tail -n 20
		fail_one "$label" "exit $rc"
	fi
}

# Kernel tests need root and a kernel that loads our program.
kernel_ok() {
	if [ "$(id -u)" -ne 0 ]; then echo "needs root (CAP_BPF, CAP_NET_ADMIN)"; return 1; fi
	if [ ! -r /sys/kernel/btf/vmlinux ]; then echo "kernel has no BTF"; return 1; fi
	return 0
}

# The layers of ARCHITECTURE.md: no upward include (and the check can fail).
run_check "layers tests/check_layers.sh" tests/check_layers.sh
run_check "layers tests/check_layers.sh --self-test" tests/check_layers.sh --self-test
# Only the loader needs the BPF toolchain (and the check can fail).
run_check "build tests/check_build.sh" tests/check_build.sh "$build"
# debian/ agrees with VERSION and the Makefile's build dependencies.
run_check "deb tests/deb/check_sources.sh" tests/deb/check_sources.sh
run_check "deb tests/deb/check_sources.sh --self-test" tests/deb/check_sources.sh --self-test

run_unit "$build" unit
[ -n "$asan" ] && run_unit "$asan" asan

# Golden outputs: wstrace -r on committed captures, text, -X and JSON.
# GOLDEN_SKIP (set by `make unit` where wstrace cannot be built) says why not.
if [ -n "${GOLDEN_SKIP:-}" ]; then
	skip_or_fail "golden tests/golden/*.pcap" "$GOLDEN_SKIP"
else
	run_golden "$build/wstrace" "golden tests/golden/*.pcap"
	[ -n "$asan" ] && run_golden "$asan/wstrace" "golden tests/golden/*.pcap (asan)"
fi

[ "$unit_only" -eq 0 ] && run_fuzz_smoke

if [ "$unit_only" -eq 0 ]; then
	if why=$(kernel_ok); then
		n=0
		while read -r bin; do
			run_cmocka "$bin" "bpf $(basename "$bin")"
			n=$((n + 1))
		done < <(binaries "$build/tests" 'test_bpf_*')
		[ "$n" -gt 0 ] || fail_one "bpf tests" "no BPF test binaries in $build/tests (make tests-build)"
		n=0
		for t in tests/e2e/test_*.sh; do
			[ -f "$t" ] || continue
			run_e2e "$t" "$build" "e2e $(basename "$t" .sh)"
			n=$((n + 1))
		done
		[ "$n" -gt 0 ] || fail_one "e2e tests" "no tests/e2e/test_*.sh scripts"
		# The unit under a booted systemd (tests/systemd/): the first run on a
		# fresh machine builds a Debian root with debootstrap, hence its own limit.
		n=0
		for t in tests/systemd/test_*.sh; do
			[ -f "$t" ] || continue
			run_e2e "$t" "$build" "systemd $(basename "$t" .sh)" "$SYSTEMD_TIMEOUT"
			n=$((n + 1))
		done
		[ "$n" -gt 0 ] || fail_one "systemd tests" "no tests/systemd/test_*.sh scripts"
		if [ -n "$asan" ]; then
			for name in $ASAN_E2E; do
				t=tests/e2e/$name.sh
				if [ -f "$t" ]; then
					run_e2e "$t" "$asan" "e2e $name (asan)"
				else
					fail_one "e2e $name (asan)" "no script $t"
				fi
			done
		fi
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
