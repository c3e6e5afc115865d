#!/usr/bin/env bash
# The Debian package, built and used as an operator would: `make deb` from
# a clean copy of the tree; lintian without errors or unexplained warnings;
# its contents (dpkg -c) and metadata (dpkg -I: Depends from shlibs, exactly
# the packages of the libraries the binary links); then, in a Debian root
# booted with systemd as PID 1 (tests/lib/systemd_container.sh), dpkg -i
# enables and starts the packaged unit, whose daemon captures a WebSocket
# session on lo, and the installed binary captures on its own; a reinstall
# over itself with an edited /etc/wstrace/wstrace.conf keeps the edit and
# restarts the service with it; dpkg -r stops it and keeps the conffile and
# the state; dpkg -P removes them and leaves nothing behind.
#   WSTRACE_DEB=FILE: test FILE instead of building (quicker when iterating).
. "$(dirname "$0")/../e2e/lib.sh"
. "$ROOT/tests/lib/systemd_container.sh"
. "$ROOT/tests/lib/wstrace_unit.sh"
missing=$(sc_need) || true
for t in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian git:git; do
	command -v "${t%%:*}" >/dev/null || missing+=" ${t%%:*} (${t#*:})"
done
[ -z "$missing" ] || not_available "$missing"

VERSION=$(cat "$ROOT/VERSION")
CONF=/etc/wstrace/wstrace.conf
UNIT=/lib/systemd/system/wstrace.service

trap 'sc_on_exit; e2e_cleanup' EXIT

info "debian/ against VERSION and the Makefile"
"$ROOT/tests/deb/check_sources.sh" || fail "debian/ drifted from VERSION or DEB_BUILD_DEPS"
"$ROOT/tests/deb/check_sources.sh" --self-test || fail "check_sources.sh self-test"

info "make deb"
if [ -n "${WSTRACE_DEB:-}" ]; then
	DEB=$WSTRACE_DEB
	echo "using $DEB"
else
	t0=$(date +%s)
	before=$(git -C "$ROOT" status --porcelain --ignored=no)
	make -C "$ROOT" --no-print-directory BUILD="$BUILD" deb >"$TMP/deb.log" 2>&1 ||
		{ tail -n 40 "$TMP/deb.log"; fail "make deb"; }
	DEB=$ROOT/$BUILD/wstrace_${VERSION}_$(dpkg --print-architecture).deb
	echo "ok: built in $(($(date +%s) - t0))s"
	# The package is built in a copy: the working tree has what it had.
	expect_eq "$(git -C "$ROOT" status --porcelain --ignored=no)" "$before" "git status after make deb"
fi
[ -s "$DEB" ] || fail "no package $DEB"
CHANGES=$ROOT/build-deb/$(basename "${DEB%.deb}").changes

info "lintian"
# Every override says why, on the comment lines above it.
for f in "$ROOT"/debian/*lintian-overrides; do
	[ -e "$f" ] || continue
	awk '/^#/ {why=1; next} /^[ \t]*$/ {next} !why {print FILENAME ": no reason given for: " $0; bad=1} {why=0}
		END {exit bad}' "$f" || fail "a lintian override without a reason"
done
target=$DEB
[ -z "${WSTRACE_DEB:-}" ] && [ -f "$CHANGES" ] && target=$CHANGES # the .deb, its dbgsym and buildinfo
lintian --display-info --fail-on error,warning "$target" >"$TMP/lintian.txt" 2>&1
lrc=$?
cat "$TMP/lintian.txt"
[ "$lrc" -eq 0 ] || fail "lintian exit status $lrc"
grep -q '^[EW]: ' "$TMP/lintian.txt" && fail "lintian errors or warnings"
echo "ok: lintian on $(basename "$target"): no errors, no warnings"

info "contents (dpkg -c) and control (dpkg -I)"
dpkg -c "$DEB" >"$TMP/contents.txt" || fail "dpkg -c"
files=$(awk '$1 !~ /^d/ {print $6}' "$TMP/contents.txt" | sort)
want=$(sort <<EOF
./etc/wstrace/wstrace.conf
.$UNIT
./usr/sbin/wstrace
./usr/share/doc/wstrace/README.md.gz
./usr/share/doc/wstrace/changelog.gz
./usr/share/doc/wstrace/copyright
./usr/share/doc/wstrace/wstrace-alerts.yml
./usr/share/doc/wstrace/wstrace.json
./usr/share/man/man8/wstrace.8.gz
EOF
)
expect_eq "$files" "$want" "files in the package"
expect_eq "$(awk '$6 == "./usr/sbin/wstrace" {print $1, $2}' "$TMP/contents.txt")" "-rwxr-xr-x root/root" "mode of /usr/sbin/wstrace"
expect_eq "$(awk '$6 == "./etc/wstrace/wstrace.conf" {print $1, $2}' "$TMP/contents.txt")" "-rw-r--r-- root/root" "mode of the configuration"
dpkg-deb -x "$DEB" "$TMP/x" && dpkg-deb -e "$DEB" "$TMP/x/DEBIAN" || fail "cannot unpack $DEB"
cmp "$TMP/x$CONF" "$ROOT/dist/wstrace.conf" || fail "packaged configuration differs from dist/wstrace.conf"
cmp "$TMP/x/usr/share/doc/wstrace/wstrace.json" "$ROOT/dist/grafana/wstrace.json" || fail "packaged dashboard differs"
cmp "$TMP/x/usr/share/doc/wstrace/wstrace-alerts.yml" "$ROOT/dist/prometheus/wstrace-alerts.yml" || fail "packaged alert rules differ"
# The packaged unit is the one `make install` installs (and the systemd test
# runs), with the binary's path for this prefix.
diff <(sed 's|^ExecStart=/usr/sbin/wstrace |ExecStart=/usr/local/sbin/wstrace |' "$TMP/x$UNIT") "$ROOT/dist/wstrace.service" ||
	fail "packaged unit differs from dist/wstrace.service beyond ExecStart's path"
grep -q '^ExecStart=/usr/sbin/wstrace ' "$TMP/x$UNIT" || fail "packaged unit does not run /usr/sbin/wstrace"
expect_eq "$(cat "$TMP/x/DEBIAN/conffiles")" "$CONF" "conffiles"
zcat "$TMP/x/usr/share/man/man8/wstrace.8.gz" | grep -q '^\.TH WSTRACE 8 ' || fail "no wstrace(8) page"
man -l "$TMP/x/usr/share/man/man8/wstrace.8.gz" 2>/dev/null | grep -q -- '--port' || fail "the man page does not render the options"
dpkg -I "$DEB" >"$TMP/info.txt" || fail "dpkg -I"
cat "$TMP/info.txt"
expect_eq "$(dpkg-deb -f "$DEB" Package Version | paste -sd' ')" "Package: wstrace Version: $VERSION" "package and version"
# Depends: exactly the packages shipping the libraries the binary links
# (shlibs), each with a minimum version.
depends=$(dpkg-deb -f "$DEB" Depends)
[ -n "$depends" ] || fail "no Depends"
have=$(tr ',' '\n' <<<"$depends" | sed -e 's/(.*//' -e 's/[[:space:]]//g' | sort -u)
need=$(sc_runtime_packages "$TMP/x/usr/sbin/wstrace") || fail "cannot tell the binary's library packages"
expect_eq "$(paste -sd' ' <<<"$have")" "$(paste -sd' ' <<<"$need")" "Depends vs the packages of the NEEDED libraries"
for lib in libbpf1 libpcap0.8 zlib1g libc6; do
	grep -q "$lib (>= " <<<"$depends" || fail "Depends has no versioned $lib: $depends"
done
echo "ok: Depends: $depends"

info "Debian root with systemd and the packages the package depends on"
# shellcheck disable=SC2086 # one package per word
sc_image $need || fail "cannot build the Debian root"
sc_boot "wsd-$E2E_ID" || fail "the container did not boot"
expect_eq "$(sc_exec cat /proc/1/comm)" systemd "PID 1 in the container"
cp "$DEB" "$(sc_rootfs)/root/wstrace.deb" || fail "cannot copy the package into the container"
# What the root holds before, to compare with after the purge (state that
# systemd, dpkg and the journal keep of their own is left out).
snapshot() {
	sc_exec find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/log -o -path /var/cache -o -path /var/lib/dpkg -o -path /var/lib/systemd \
		-o -path /root/wstrace.deb \) -prune -o -print | sort
}
snapshot >"$TMP/before.txt" || fail "cannot list the container's files"

FRAMES='wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}'
conf_sum() { sha256sum <"$(sc_rootfs)$CONF" | cut -d' ' -f1; }

info "dpkg -i: the service is enabled and started"
sc_exec dpkg -i /root/wstrace.deb </dev/null >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "dpkg -i"; }
expect_eq "$(sc_exec systemctl is-enabled wstrace)" enabled "enabled after install"
expect_eq "$(state)" "active running" "state after install"
MAIN=$(prop MainPID)
[ "$MAIN" -gt 1 ] || fail "no main PID"
expect_eq "$(prop FragmentPath)" "$UNIT" "the unit systemd runs"
out=$(sc_exec systemd-analyze verify "$UNIT" 2>&1) || { echo "$out"; fail "systemd-analyze verify"; }
expect_eq "$out" "" "systemd-analyze verify output"
expect_eq "$(sc_exec /usr/sbin/wstrace --version)" "wstrace $VERSION" "wstrace --version"

info "the packaged daemon captures a WebSocket session on lo"
server 7272
client 7272 3
sc_wait 15 metric_is "$FRAMES" 3 || fail "c2s text frames in /metrics: '$(metric "$FRAMES")', want 3"
echo "ok: 3 text frames counted by the service"

info "a short capture by the installed binary itself"
sc_exec /usr/sbin/wstrace -v -i lo -p 7272 --json -c 12 >"$TMP/cap.json" 2>"$TMP/cap.err" &
CAP=$!
PIDS+=("$CAP")
wait_until 30 attached_or_gone "$CAP" "$TMP/cap.err" || { cat "$TMP/cap.err"; fail "wstrace did not attach"; }
# Sessions until it has its 12 packets and exits.
for _ in 1 2 3 4 5; do gone "$CAP" && break; client 7272 2; wait_until 5 gone "$CAP"; done
wait_until 10 gone "$CAP" || { cat "$TMP/cap.err"; fail "wstrace -c 12 did not exit"; }
wait "$CAP"; wstrace_exit_ok $? "$TMP/cap.err" "-c 12"
expect_ge "$(count_json "$TMP/cap.json" 'e["event"]=="tcp_established" and e["dst"]=="127.0.0.1:7272"')" 1 \
	"connections established in the capture"

info "dpkg -i over itself with an edited configuration: kept, service restarted with it"
MPORT=9273
printf '\n# edited by the operator\nmetrics = 127.0.0.1:%s\nwrite = /var/lib/wstrace/wstrace.pcap\n' "$MPORT" >>"$(sc_rootfs)$CONF"
sum=$(conf_sum)
sc_exec dpkg -i /root/wstrace.deb </dev/null >"$TMP/upgrade.log" 2>&1 || { cat "$TMP/upgrade.log"; fail "dpkg -i over itself"; }
expect_eq "$(conf_sum)" "$sum" "configuration after the upgrade (edit kept)"
expect_eq "$(sc_exec sh -c 'ls /etc/wstrace/' | paste -sd' ')" wstrace.conf "files in /etc/wstrace (no .dpkg-new or .dpkg-dist)"
expect_eq "$(state)" "active running" "state after the upgrade"
[ "$(prop MainPID)" != "$MAIN" ] || fail "the service was not restarted by the upgrade (main PID $MAIN)"
MAIN=$(prop MainPID)
sc_wait 15 listening "$MPORT" || fail "the restarted service does not serve metrics on $MPORT (the edited setting)"
client 7272 2
sc_wait 15 metric_is "$FRAMES" 2 || fail "c2s text frames after the upgrade: '$(metric "$FRAMES")', want 2"
echo "ok: restarted as PID $MAIN with the edited configuration"

info "dpkg -r: service stopped, binary gone, configuration and state kept"
sc_exec dpkg -r wstrace </dev/null >"$TMP/remove.log" 2>&1 || { cat "$TMP/remove.log"; fail "dpkg -r"; }
sc_exec test ! -e "/proc/$MAIN" || fail "wstrace (PID $MAIN) still runs after dpkg -r"
expect_eq "$(prop ActiveState)" inactive "state after remove"
expect_eq "$(sc_net "$TCXQ" lo | paste -sd' ')" "ingress 0 egress 0" "tcx programs on lo after remove"
for f in /usr/sbin/wstrace "$UNIT" /usr/share/man/man8/wstrace.8.gz /usr/share/doc/wstrace; do
	sc_exec test ! -e "$f" || fail "$f left after dpkg -r"
done
expect_eq "$(conf_sum)" "$sum" "configuration after remove"
sc_exec test -s /var/lib/wstrace/wstrace.pcap || fail "the state directory did not survive dpkg -r (or the service wrote no pcap)"
expect_eq "$(sc_exec dpkg-query -W -f '${db:Status-Abbrev}' wstrace)" "rc " "dpkg status after remove"

info "dpkg -P: configuration and state gone, nothing left behind"
sc_exec dpkg -P wstrace </dev/null >"$TMP/purge.log" 2>&1 || { cat "$TMP/purge.log"; fail "dpkg -P"; }
for f in /etc/wstrace /var/lib/wstrace; do
	sc_exec test ! -e "$f" || fail "$f left after dpkg -P"
done
sc_exec rm /root/wstrace.deb
left=$(sc_exec find / -xdev \( -path /proc -o -path /sys -o -path /var/log/journal \) -prune -o -name '*wstrace*' -print)
expect_eq "$left" "" "files named wstrace after the purge"
snapshot >"$TMP/after.txt"
expect_eq "$(diff "$TMP/before.txt" "$TMP/after.txt")" "" "the root's files before install and after purge"
sc_exec dpkg-query -W wstrace >/dev/null 2>&1 && fail "dpkg still knows wstrace after the purge"
echo "ok: purged"
