#!/usr/bin/env bash
# Holds debian/ to the tree's single sources of truth, so they cannot drift:
# the top debian/changelog entry is the version in VERSION, and
# debian/control's Build-Depends names exactly the Makefile's DEB_BUILD_DEPS
# (besides debhelper-compat). Run by `make deb` and tests/deb/test_deb.sh.
#   tests/deb/check_sources.sh [--self-test]
set -euo pipefail
cd "$(dirname "$0")/../.."

# check DIR: 0 if DIR's debian/ agrees with the Makefile and VERSION.
check() {
	local dir=$1 vars version want have changelog bad=0
	vars=$(make -s --no-print-directory -C "$dir" print-deb-vars </dev/null) || return 1
	version=$(sed -n 's/^version=//p' <<<"$vars")
	want=$(sed -n 's/^build_deps=//p' <<<"$vars" | tr ' ' '\n' | sed '/^$/d' | sort)
	[ -n "$version" ] && [ -n "$want" ] || { echo "check_sources: no version or build deps from the Makefile" >&2; return 1; }
	changelog=$(dpkg-parsechangelog -l "$dir/debian/changelog" -S Version) || return 1
	if [ "$changelog" != "$version" ]; then
		echo "check_sources: debian/changelog says $changelog, VERSION says $version (add a changelog entry: dch -v $version)" >&2
		bad=1
	fi
	# Build-Depends: names only (no versions, architectures, profiles).
	have=$(awk '/^Build-Depends:/ {on=1; sub(/^Build-Depends:/, ""); print; next}
		on && /^[ \t]/ {print; next} {on=0}' "$dir/debian/control" |
		tr ',' '\n' | sed -e 's/[(<\[].*//' -e 's/[[:space:]]//g' -e '/^$/d' |
		grep -vx 'debhelper-compat' | sort)
	if [ "$have" != "$want" ]; then
		echo "check_sources: debian/control Build-Depends and the Makefile's DEB_BUILD_DEPS differ (< control, > Makefile):" >&2
		diff <(echo "$have") <(echo "$want") | grep '^[<>]' >&2
		bad=1
	fi
	return "$bad"
}

if [ "${1:-}" != "--self-test" ]; then
	check .
	exit
fi

# Self-test: each kind of drift, made in a copy, must be caught.
tmp=$(mktemp -d /tmp/wstrace-check-sources.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
copy() {
	rm -rf "$tmp/t" && mkdir -p "$tmp/t"
	cp -r Makefile VERSION debian "$tmp/t/"
}
copy
check "$tmp/t" || { echo "check_sources self-test: an unchanged copy fails" >&2; exit 1; }
expect_caught() {
	if check "$tmp/t" 2>/dev/null; then echo "check_sources self-test: not caught: $1" >&2; exit 1; fi
	echo "ok: caught $1"
}
echo 9.9.9 >"$tmp/t/VERSION"
expect_caught "VERSION changed without a changelog entry"
copy
sed -i 's/^DEB_BUILD_DEPS := /&libfoo-dev /' "$tmp/t/Makefile"
expect_caught "a build dependency added to the Makefile only"
copy
sed -i '/^ *zlib1g-dev,$/d' "$tmp/t/debian/control"
expect_caught "a build dependency dropped from debian/control only"
