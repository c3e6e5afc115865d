#!/usr/bin/env bash
# Holds the build to "only the loader needs the BPF toolchain": the unit
# tests and the fuzz targets build without clang's BPF target, bpftool,
# the skeleton or libbpf. One line per offence and exit 1 when
#   - `make -n unit fuzz-build`, in fresh build folders with CLANG and
#     BPFTOOL set to false, would compile a BPF program, generate the
#     skeleton, build the loader (libcapture.a) or link -lbpf (and the same
#     dry run of wstrace must show all of these, or the check is blind);
#   - given a build folder: an object outside the loader (user/sources/
#     capture*) and the BPF tests was compiled with a libbpf header or the
#     skeleton (the compiler's .d files list every header, also those
#     included through others), or a unit test binary needs libbpf.so.
#
#   tests/check_build.sh [BUILD]
set -u
cd "$(dirname "$0")/.."

fails=0
offence() { echo "check_build: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d /tmp/wstrace-build-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
NEEDS_BPF='gen skeleton|-target bpf|wstrace\.skel\.h|libcapture\.a|-lbpf'

dry=$(make -n --no-print-directory unit fuzz-build BUILD="$tmp/build" FUZZ_BUILD="$tmp/fuzz" \
	CLANG=false BPFTOOL=false 2>&1) || offence "make -n unit fuzz-build failed: $(printf '%s\n' "$dry" | tail -3)"
printf '%s\n' "$dry" | grep -q 'tests/test_' || offence "make -n unit builds no unit test"
printf '%s\n' "$dry" | grep -q 'fuzz_' || offence "make -n fuzz-build builds no fuzz target"
printf '%s\n' "$dry" | grep -E -- "$NEEDS_BPF" | head -5 | cut -c1-200 | while read -r line; do
	echo "check_build: unit or fuzz-build needs the BPF toolchain: $line"
done
printf '%s\n' "$dry" | grep -qE -- "$NEEDS_BPF" && fails=$((fails + 1))
# The same patterns do catch the loader's steps.
full=$(make -n --no-print-directory BUILD="$tmp/build" "$tmp/build/wstrace" 2>&1)
for step in 'gen skeleton' '-target bpf' 'libcapture\.a' '-lbpf'; do
	printf '%s\n' "$full" | grep -q -- "$step" || offence "the dry run of wstrace shows no '$step': the check is blind"
done

if [ -n "${1:-}" ]; then
	build=$1
	[ -d "$build" ] || offence "no build folder $build"
	n=0
	while read -r d; do
		n=$((n + 1))
		case $d in
		"$build"/user/sources/capture*.d | "$build"/tests/test_bpf_*.d) continue ;;
		esac
		grep -qE '(^|[ /])(bpf/libbpf\.h|bpf/bpf\.h|wstrace\.skel\.h)' "$d" &&
			offence "$d: compiled with libbpf or the skeleton"
	done < <(find "$build" -name '*.d' 2>/dev/null)
	[ "$n" -gt 0 ] || offence "$build has no .d files (built without -MMD?)"
	for t in tests/unit/test_*.c; do
		bin=$build/tests/$(basename "$t" .c)
		[ -x "$bin" ] || { offence "$bin not built"; continue; }
		readelf -d "$bin" | grep -q 'NEEDED.*libbpf' && offence "$bin links libbpf"
	done
fi
[ "$fails" -eq 0 ]
