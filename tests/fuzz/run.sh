#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c as a libFuzzer binary (ASan + UBSan) into
# build-fuzz/ and runs each for FUZZ_TIME seconds from its seed corpus.
#
#   tests/fuzz/run.sh [FUZZ_TIME]        (default 30)
#
# Sources: a target may name what it links in its first lines:
#   fuzz-sources: user/a.c user/b.c
#   fuzz-libs: -lcrypto
#   fuzz-flags: -max_len=20000      (extra libFuzzer run flags)
# Otherwise it gets every user/*.c except main.c and the files that need
# libbpf (the loader), linked with -lz -lcrypto -lpcap -lm and section
# garbage collection, so unused references to the loader do not matter.
#
# Seeds: tests/fuzz/corpus/NAME/ for fuzz_NAME.c (or corpus/fuzz_NAME/).
# They are copied to a temporary working corpus: the tree is not modified.
# Crash reproducers land in build-fuzz/artifacts/. Exits non-zero if a
# target fails to build or any run finds a crash, leak or timeout.
set -u
cd "$(dirname "$0")/../.." || exit 1

fuzz_time=${1:-${FUZZ_TIME:-30}}
out=build-fuzz
CC=${CLANG:-clang}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Iuser -Ibpf"
mkdir -p "$out/artifacts"

# Files of user/ that can be linked without libbpf and a BPF skeleton.
default_sources() {
	local f
	for f in user/*.c; do
		case $f in user/main.c) continue ;; esac
		if grep -qE '#include [<"](bpf/|.*skel\.h)' "$f"; then
			continue
		fi
		printf '%s ' "$f"
	done
}

# Value of a "fuzz-KEY:" line in the first 30 lines of a target, if any.
target_field() {
	head -n 30 "$1" | sed -n "s/^.*fuzz-$2:[[:space:]]*\(.*\)$/\1/p" | head -n1
}

targets=(tests/fuzz/fuzz_*.c)
if [ ! -e "${targets[0]}" ]; then
	echo "fuzz: no tests/fuzz/fuzz_*.c" >&2
	exit 1
fi

failed=()
for src in "${targets[@]}"; do
	name=$(basename "$src" .c)
	bin=$out/$name
	srcs=$(target_field "$src" sources)
	libs=$(target_field "$src" libs)
	gc=
	if [ -z "$srcs" ]; then
		srcs=$(default_sources)
		libs="-lz -lcrypto -lpcap -lm"
		gc="-ffunction-sections -fdata-sections -Wl,--gc-sections"
	fi
	printf '  %-8s %s\n' FUZZ "$bin"
	# shellcheck disable=SC2086 # word splitting of the lists is intended
	if ! $CC $CFLAGS $gc "$src" $srcs $libs -o "$bin" 2>"$out/$name.build.log"; then
		cat "$out/$name.build.log" >&2
		echo "fuzz: $name: build failed (if libFuzzer does not link, install" \
			"the clang runtime: libclang-rt-14-dev)" >&2
		failed+=("$name (build)")
		continue
	fi
done

for src in "${targets[@]}"; do
	name=$(basename "$src" .c)
	bin=$out/$name
	[ -x "$bin" ] || continue
	case " ${failed[*]:-} " in *" $name (build) "*) continue ;; esac
	seeds=tests/fuzz/corpus/${name#fuzz_}
	[ -d "$seeds" ] || seeds=tests/fuzz/corpus/$name
	work=$(mktemp -d "/tmp/wstrace-fuzz-$name.XXXXXX")
	if [ -d "$seeds" ]; then
		cp -r "$seeds/." "$work/"
	fi
	log=$out/$name.log
	flags=$(target_field "$src" flags)
	# shellcheck disable=SC2086 # several flags, split on purpose
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" -max_total_time="$fuzz_time" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" \
		$flags "$work" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	rm -rf "$work"
	if [ "$rc" -ne 0 ]; then
		tail -n 60 "$log" >&2
		printf '%-24s FAILED (exit %d, see %s and %s/artifacts/)\n' \
			"$name" "$rc" "$log" "$out"
		failed+=("$name")
	else
		printf '%-24s ok, %s runs in %ss\n' "$name" "${runs:-?}" "$fuzz_time"
	fi
done

if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz failures:"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ok"
