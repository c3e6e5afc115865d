#!/usr/bin/env bash
# Holds the sources under user/ to the layer table of ARCHITECTURE.md: one
# line per offence and exit 1 when a file
#   - sits outside a layer folder, or in a folder the table does not name;
#   - includes a header of a layer it may not use ("sinks/output.h" from
#     user/tracking/), a relative path ("../bpf/wstrace.h"), or a plain
#     name that is not in its own folder (nor "wstrace.h");
#   - includes libbpf (<bpf/...>) or the BPF skeleton outside user/sources/.
#
#   tests/check_layers.sh [ROOT]     check the tree at ROOT (default: here)
#   tests/check_layers.sh --self-test
#     shows that the check fails on an upward include and on the other
#     offences, and passes a tree that keeps the rules.
set -u

if [ "${1:-}" = "--self-test" ]; then
	self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
	root=$(cd "$(dirname "$0")/.." && pwd)
	tmp=$(mktemp -d /tmp/wstrace-layers.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	fails=0
	# case NAME WANT(0|1) FILE CONTENT [FILE CONTENT...]: a tree of its own.
	case_() {
		local name=$1 want=$2 out rc
		shift 2
		rm -rf "$tmp/t"
		mkdir -p "$tmp/t/user/core" "$tmp/t/user/tracking" "$tmp/t/user/sinks" "$tmp/t/user/sources"
		cp "$root/ARCHITECTURE.md" "$tmp/t/"
		printf '#include "wstrace.h"\n' >"$tmp/t/user/core/event.h"
		printf '#include "core/event.h"\n' >"$tmp/t/user/sinks/output.h"
		while [ "$#" -gt 1 ]; do
			mkdir -p "$(dirname "$tmp/t/$1")"
			printf '%s\n' "$2" >"$tmp/t/$1"
			shift 2
		done
		out=$("$self" "$tmp/t" 2>&1); rc=$?
		if [ "$want" -eq 0 ] && [ "$rc" -ne 0 ]; then
			echo "self-test $name: a good tree failed: $out"; fails=$((fails + 1))
		elif [ "$want" -ne 0 ] && { [ "$rc" -eq 0 ] || [ -z "$out" ]; }; then
			echo "self-test $name: the offence was not caught"; fails=$((fails + 1))
		fi
	}
	case_ good 0 user/tracking/flow.h '#include "core/event.h"' \
		user/tracking/flow.c '#include <stdio.h>
#include "flow.h"' user/sources/capture.c '#include <bpf/libbpf.h>
#include "wstrace.skel.h"'
	case_ upward 1 user/tracking/flow.c '#include "sinks/output.h"'
	case_ relative 1 user/tracking/flow.c '#include "../core/event.h"'
	case_ plain_elsewhere 1 user/tracking/flow.c '#include "event.h"'
	case_ unknown_layer 1 user/tracking/flow.c '#include "gadgets/x.h"'
	case_ no_folder 1 user/stray.c '#include "core/event.h"'
	case_ not_a_layer 1 user/misc/a.c '#include "core/event.h"'
	case_ libbpf_outside 1 user/tracking/flow.c '#include <bpf/bpf.h>'
	case_ skeleton_outside 1 user/core/log.c '#include "wstrace.skel.h"'
	if [ "$fails" -ne 0 ]; then
		echo "check_layers.sh --self-test: $fails case(s) failed"
		exit 1
	fi
	echo "check_layers.sh --self-test: every offence caught, a good tree passes"
	exit 0
fi

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 1
if [ ! -r ARCHITECTURE.md ]; then
	echo "check_layers.sh: no ARCHITECTURE.md in $root"
	exit 1
fi

# The table's rows: | layer | `user/layer/` | holds | may use |
declare -A may
while IFS='|' read -r _ layer folder _ uses _; do
	layer=$(echo "$layer" | tr -d ' ')
	uses=$(echo "$uses" | tr ',' ' ' | xargs)
	[ "$uses" = "none" ] && uses=""
	may[$layer]=" $layer $uses "
done < <(grep -E '^\| [a-z]+ \| `user/[a-z]+/` \|' ARCHITECTURE.md)
if [ "${#may[@]}" -eq 0 ]; then
	echo "check_layers.sh: no layer table in ARCHITECTURE.md"
	exit 1
fi

bad=0
offence() {
	echo "$1"
	bad=$((bad + 1))
}

while read -r f; do
	rel=${f#user/}
	if [ "$rel" = "${rel#*/}" ]; then
		offence "$f: not in a layer folder (ARCHITECTURE.md)"
		continue
	fi
	layer=${rel%%/*}
	if [ -z "${may[$layer]:-}" ]; then
		offence "$f: user/$layer/ is not a layer of ARCHITECTURE.md"
		continue
	fi
	while IFS=: read -r line inc; do
		case $inc in
		*'<bpf/'*)
			[ "$layer" = sources ] || offence "$f:$line: libbpf outside user/sources/: $inc"
			continue ;;
		*'"'*) ;;
		*) continue ;;
		esac
		name=${inc#*\"}
		name=${name%%\"*}
		case $name in
		wstrace.h) ;;
		wstrace.skel.h | tls.skel.h)
			[ "$layer" = sources ] || offence "$f:$line: the BPF skeleton outside user/sources/" ;;
		*../*|./*)
			offence "$f:$line: relative include \"$name\": use an -I path (\"core/log.h\", \"wstrace.h\")" ;;
		*/*)
			to=${name%%/*}
			if [ -z "${may[$to]:-}" ]; then
				offence "$f:$line: \"$name\": $to is not a layer"
			elif [ "${may[$layer]#* $to }" = "${may[$layer]}" ]; then
				offence "$f:$line: \"$name\": $layer may not use $to (ARCHITECTURE.md)"
			fi ;;
		*)
			[ -e "user/$layer/$name" ] ||
				offence "$f:$line: \"$name\" is not in user/$layer/: name its layer (\"core/$name\")" ;;
		esac
	done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include' "$f" | sed 's/^\([0-9]*\):/\1:/')
done < <(find user -type f \( -name '*.c' -o -name '*.h' \) | sort)

if [ "$bad" -ne 0 ]; then
	echo "check_layers.sh: $bad offence(s) against ARCHITECTURE.md's layer table"
	exit 1
fi
exit 0
