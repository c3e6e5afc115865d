#!/usr/bin/env bash
# The unit under a real systemd: a Debian root booted with systemd as PID 1
# in its own namespaces (network: lo only), `make install` into it, then
# systemctl start reaches READY (Type=notify) with only CAP_BPF,
# CAP_NET_ADMIN, CAP_PERFMON and CAP_DAC_READ_SEARCH
# and the sandbox applied; /metrics counts a
# real WebSocket session on lo; systemctl reload applies a new port set and
# json = true with the counters kept, and the JSON events reach the journal;
# kill -9 of the main process is restarted by systemd with exactly one
# attachment per hook, in tcx and in clsact mode; systemctl stop exits
# cleanly and leaves nothing attached; systemd-analyze security stays at
# or under EXPOSURE_MAX.
. "$(dirname "$0")/../e2e/lib.sh"
. "$ROOT/tests/lib/systemd_container.sh"
. "$ROOT/tests/lib/wstrace_unit.sh"
why=$(sc_need) || not_available "$why"

# The most `systemd-analyze security wstrace` may report (README, "Running
# as a service"). What is left is what a BPF tracer needs: root, CAP_BPF,
# CAP_NET_ADMIN, the host network, sockets; and for process attribution
# CAP_DAC_READ_SEARCH (cgroup paths, 0.2) and perf_event_open (the syscall
# tracepoints instead of a program on every syscall exit, 0.2).
EXPOSURE_MAX=2.3
UNIT=/usr/local/lib/systemd/system/wstrace.service
CONF=/etc/wstrace/wstrace.conf

trap 'sc_on_exit; e2e_cleanup' EXIT

info "Debian root with systemd and the libraries wstrace links"
pkgs=$(sc_runtime_packages "$WSTRACE") || fail "cannot tell wstrace's runtime packages"
echo "runtime packages: $(paste -sd' ' <<<"$pkgs")"
t0=$(date +%s)
# shellcheck disable=SC2086 # one package per word
sc_image $pkgs || fail "cannot build the Debian root"
echo "ok: root $SC_IMAGE ($(($(date +%s) - t0))s)"

info "boot systemd as PID 1"
t0=$(date +%s)
sc_boot "wst-$E2E_ID" || fail "the container did not boot"
echo "ok: booted in $(($(date +%s) - t0))s: $(sc_exec systemctl --version | head -n1)"
expect_eq "$(sc_exec cat /proc/1/comm)" systemd "PID 1 in the container"
expect_eq "$(sc_exec ls /sys/class/net | paste -sd' ')" lo "interfaces in the container"

info "make install into the container"
make -C "$ROOT" --no-print-directory BUILD="$BUILD" PREFIX=/usr/local DESTDIR="$(sc_rootfs)" install \
	>"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "make install"; }
sc_exec systemctl daemon-reload || fail "daemon-reload"
out=$(sc_exec systemd-analyze verify "$UNIT" 2>&1) || { echo "$out"; fail "systemd-analyze verify in the container"; }
expect_eq "$out" "" "systemd-analyze verify output"
# systemd only logs directives it does not know or cannot apply, and goes on.
expect_eq "$(sc_exec journalctl -b -o cat --no-pager | grep -c 'wstrace\.service:[0-9]*:')" 0 \
	"unit lines systemd ignored"

info "systemctl start: READY=1 with the shipped configuration"
sc_exec systemctl start wstrace || fail "systemctl start wstrace"
expect_eq "$(state)" "active running" "state after start"
MAIN=$(prop MainPID)
[ "$MAIN" -gt 1 ] || fail "no main PID"
has_status() { prop StatusText | grep -q packets; }
sc_wait 15 has_status ||
	fail "no STATUS= from the daemon: '$(prop StatusText)'"
echo "ok: status '$(prop StatusText)'"

info "capabilities and sandbox of the main process"
sc_exec cat "/proc/$MAIN/status" >"$TMP/status"
field() { awk -v f="$1:" '$1==f {print $2}' "$TMP/status"; }
# CAP_DAC_READ_SEARCH (2), CAP_NET_ADMIN (12), CAP_PERFMON (38), CAP_BPF (39): nothing else.
expect_eq "$(field CapEff)" 000000c000001004 "effective capabilities"
expect_eq "$(field CapPrm)" 000000c000001004 "permitted capabilities"
expect_eq "$(field CapBnd)" 000000c000001004 "bounding set"
expect_eq "$(field CapInh)" 0000000000000000 "inheritable capabilities"
expect_eq "$(field CapAmb)" 0000000000000000 "ambient capabilities"
expect_eq "$(field NoNewPrivs)" 1 "NoNewPrivs"
expect_eq "$(field Seccomp)" 2 "seccomp filter mode"
sc_exec cat "/proc/$MAIN/mountinfo" >"$TMP/mountinfo"
# mountinfo: field 5 is the mount point, 6 its options; after " - " the
# type, source and super block options.
mnt() { awk -v m="$1" '$5==m {print}' "$TMP/mountinfo" | tail -n1; }
ro() { mnt "$1" | awk '{print $6}' | grep -qw ro; }
ro / || fail "/ is writable (ProtectSystem=strict): $(mnt /)"
ro /sys || fail "/sys is writable (ProtectKernelTunables): $(mnt /sys)"
[ -z "$(mnt /etc/wstrace)" ] || ro /etc/wstrace || fail "the configuration is writable: $(mnt /etc/wstrace)"
mnt /var/lib/wstrace | awk '{print $6}' | grep -qw rw || fail "state directory not writable: $(mnt /var/lib/wstrace)"
mnt /proc | grep -q 'hidepid=invisible' || fail "/proc without hidepid=invisible (ProtectProc): $(mnt /proc)"
mnt /proc | grep -q 'subset=pid' || fail "/proc without subset=pid (ProcSubset): $(mnt /proc)"
mnt /dev | grep -q ' - tmpfs ' || fail "/dev is not private (PrivateDevices): $(mnt /dev)"
mnt /tmp | grep -q systemd-private || fail "/tmp is not private (PrivateTmp): $(mnt /tmp)"
mnt /home | grep -q inaccessible || fail "/home is not hidden (ProtectHome): $(mnt /home)"
echo "ok: /, /sys, /etc/wstrace read-only; state directory writable; private /dev and /tmp; /proc hidepid=invisible,subset=pid; /home hidden"

info "traffic on lo: /metrics counts it"
server 7272
client 7272 3
out=$(scrape)
[ -n "$out" ] || fail "empty scrape"
grep -q '^wstrace_build_info' <<<"$out" || { echo "$out" | head; fail "no wstrace_build_info in the scrape"; }
sc_wait 10 metric_is 'wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}' 3 ||
	fail "c2s text frames in /metrics: '$(metric 'wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}')', want 3"
expect_eq "$(metric 'wstrace_tcp_handshakes_total{outcome="established"}')" 1 "handshakes in /metrics"
expect_eq "$(journal_json True)" 0 "JSON lines in the journal with json = false"

info "systemctl reload: ports 7272,7273 and json = true; counters kept"
printf 'port = 7272,7273\njson = true\n' >>"$(sc_rootfs)$CONF"
sc_exec systemctl reload wstrace || fail "systemctl reload wstrace"
server 7273
# Connect until a handshake on 7273 is counted: then the new port set is in
# the kernel map, and RELOADING=1 (sent before) is behind us.
probe() {
	sc_net "$PY" -c 'import socket; socket.create_connection(("127.0.0.1", 7273), 2).close()'
	[ "$(metric 'wstrace_tcp_handshakes_total{outcome="established"}')" -gt 1 ]
}
sc_wait 15 probe || fail "port 7273 not captured after reload"
sc_wait 10 is_state "active running" || fail "not READY again after reload: $(state)"
expect_eq "$(prop MainPID)" "$MAIN" "main PID kept by reload"
expect_eq "$(prop NRestarts)" 0 "restarts"
client 7273 2
sc_wait 10 metric_is 'wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}' 5 ||
	fail "c2s text frames after reload: '$(metric 'wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}')', want 3 + 2"
echo "ok: counters kept across reload (3 + 2)"
sc_wait 10 journal_json_is 'e["event"]=="ws_frame" and e["dst"]=="127.0.0.1:7273" and e["opcode"]=="text"' 2 ||
	fail "ws_frame events in the journal: $(journal_json 'e["event"]=="ws_frame" and e["dst"]=="127.0.0.1:7273" and e["opcode"]=="text"'), want 2"
echo "ok: JSON events in the journal ($(wc -l <"$TMP/journal.json") lines)"
expect_eq "$(grep -c "private chat text" "$TMP/journal.json")" 0 "payload text in the journal"

info "kill -9 of the main process: systemd restarts it (Restart=on-failure)"
# kill9_restarted: kill -9 the main process, wait for systemd's restart
# (one more automatic restart, a new main PID, READY); sets MAIN.
kill9_restarted() {
	local before old=$MAIN
	before=$(prop NRestarts)
	sc_exec bash -c "kill -9 $old" || fail "kill -9 $old"
	restarted() { [ "$(prop NRestarts)" = $((before + 1)) ] && is_state "active running" && [ "$(prop MainPID)" != "$old" ]; }
	sc_wait 30 restarted || fail "not restarted: $(state), NRestarts $(prop NRestarts) (was $before), main PID $(prop MainPID)"
	MAIN=$(prop MainPID)
	echo "ok: restarted by systemd as PID $MAIN"
}
kill9_restarted
expect_eq "$(sc_net "$TCXQ" lo | paste -sd' ')" "ingress 1 tc_ingress egress 0" "tcx programs on lo after the restart"
expect_eq "$(sc_net tc filter show dev lo ingress | grep -c cls_ingress)" 0 "clsact filters on lo"
client 7272 1
sc_wait 10 metric_is 'wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}' 1 ||
	fail "c2s text frames after the restart: '$(metric 'wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}')', want 1"
echo "ok: the restarted daemon captures"

info "clsact mode: kill -9 and restart leave exactly one filter"
echo "clsact = true" >>"$(sc_rootfs)$CONF"
sc_exec systemctl restart wstrace || fail "systemctl restart wstrace"
expect_eq "$(state)" "active running" "state after restart with clsact = true"
filters() { sc_net tc filter show dev lo ingress | grep -c cls_ingress; }
expect_eq "$(filters)" 1 "clsact filters on lo"
MAIN=$(prop MainPID)
kill9_restarted
expect_eq "$(filters)" 1 "clsact filters on lo after kill -9 and restart"
expect_eq "$(sc_net "$TCXQ" lo | paste -sd' ')" "ingress 0 egress 0" "tcx programs on lo in clsact mode"
client 7272 1
sc_wait 10 metric_is 'wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}' 1 ||
	fail "c2s text frames in clsact mode: '$(metric 'wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}')', want 1"
echo "ok: the restarted daemon captures in clsact mode"

info "systemctl stop: clean exit, nothing attached"
sc_exec systemctl stop wstrace || fail "systemctl stop wstrace"
expect_eq "$(state)" "inactive dead" "state after stop"
expect_eq "$(prop Result)" success "result"
expect_eq "$(prop ExecMainStatus)" 0 "exit status of wstrace"
expect_eq "$(sc_net "$TCXQ" lo | paste -sd' ')" "ingress 0 egress 0" "tcx programs on lo after stop"
expect_eq "$(filters)" 0 "clsact filters on lo after stop"
expect_eq "$(sc_net tc qdisc show dev lo | grep -c clsact)" 0 "clsact qdiscs on lo after stop"

info "a bad config value: the unit fails once with status 64, no restart loop"
cp "$(sc_rootfs)$CONF" "$TMP/good.conf"
echo "snaplen = lots" >>"$(sc_rootfs)$CONF"
before=$(prop NRestarts)
sc_exec systemctl start wstrace && fail "systemctl start succeeded with a bad config value"
failed() { [ "$(prop ActiveState)" = failed ]; }
sc_wait 15 failed || fail "not failed with a bad config: $(state)"
expect_eq "$(prop ExecMainStatus)" 64 "exit status with a bad config value"
# RestartSec=2s: a restart would have come by now.
sleep 3
expect_eq "$(prop NRestarts)" "$before" "automatic restarts after a bad config"
sc_exec journalctl -u wstrace --no-pager -n 20 | grep -q "snaplen" ||
	fail "the journal does not name the bad key"
cp "$TMP/good.conf" "$(sc_rootfs)$CONF"
sc_exec systemctl reset-failed wstrace
echo "ok: failed once with status 64, the journal names the key"

info "systemd-analyze security"
sc_exec systemd-analyze security --no-pager wstrace >"$TMP/security.txt" 2>&1
cat "$TMP/security.txt"
score=$(sed -n 's/.*Overall exposure level for wstrace.service: \([0-9.]*\).*/\1/p' "$TMP/security.txt")
[ -n "$score" ] || fail "no exposure level in systemd-analyze security's output"
awk -v s="$score" -v m="$EXPOSURE_MAX" 'BEGIN {exit !(s <= m)}' ||
	fail "exposure $score is above the ceiling $EXPOSURE_MAX"
echo "ok: exposure $score (ceiling $EXPOSURE_MAX)"
