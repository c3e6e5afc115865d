#!/usr/bin/env bash
# wss decoding and process attribution under the shipped unit, with its
# capabilities and sandbox, under a real systemd (the container of
# test_service_systemd.sh, with python3-websockets in it): a wss echo
# server (Python's ssl, the container's libssl.so.3) runs in a unit of its
# own; a client on the container's lo sends text messages. The service's
# metrics count them as wss frames, its JSON events in the journal carry
# "tls": true and name the server's pid, comm and cgroup, and the journal
# has no line saying the uprobes, the socket owner programs or the cgroup
# paths were refused. tracefs is mounted in the container first, as
# systemd mounts it on a host it boots: the unit must let the accept and
# connect syscall tracepoints attach through it.
. "$(dirname "$0")/../e2e/lib.sh"
. "$ROOT/tests/lib/systemd_container.sh"
. "$ROOT/tests/lib/wstrace_unit.sh"
why=$(sc_need) || not_available "$why"
ws_need openssl command -v openssl
ws_need "python3-websockets (apt-get install python3-websockets)" "$PY" -c "import websockets"

CONF=/etc/wstrace/wstrace.conf
PORT=7272 # the configuration's default
SRV=/srv/wss # in the container: the server's script and certificate
N=3

trap 'sc_on_exit; e2e_cleanup' EXIT

info "Debian root with systemd, python3-websockets and the libraries wstrace links"
pkgs=$(sc_runtime_packages "$WSTRACE") || fail "cannot tell wstrace's runtime packages"
# shellcheck disable=SC2086 # one package per word
sc_image $pkgs python3-websockets || fail "cannot build the Debian root"
sc_boot "wst-$E2E_ID" || fail "the container did not boot"
make -C "$ROOT" --no-print-directory BUILD="$BUILD" PREFIX=/usr/local DESTDIR="$(sc_rootfs)" install \
	>"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "make install"; }
sc_exec systemctl daemon-reload || fail "daemon-reload"

# A certificate for 127.0.0.1, which the client checks.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>"$TMP/openssl.err" ||
	{ cat "$TMP/openssl.err"; fail "cannot make a certificate"; }
mkdir -p "$(sc_rootfs)$SRV"
cp "$TMP/cert.pem" "$TMP/key.pem" "$ROOT/tests/e2e/peers/ws_simple.py" "$(sc_rootfs)$SRV/"

info "systemctl start with json = true, tracefs mounted"
sc_exec mount -t tracefs nodev /sys/kernel/tracing || fail "cannot mount tracefs in the container"
echo "json = true" >>"$(sc_rootfs)$CONF"
sc_exec systemctl start wstrace || fail "systemctl start wstrace"
expect_eq "$(state)" "active running" "state after start"
MAIN=$(prop MainPID)
# uprobes are uprobe_multi links (bpf() only): the perf events are the
# syscall tracepoints of accept, accept4 and connect (enter and exit).
expect_eq "$(sc_exec ls -l "/proc/$MAIN/fd" | grep -c 'perf_event')" 4 "perf events of the main process"

info "a wss server in a unit of its own, a client on lo"
sc_exec systemd-run --quiet --unit=wss-echo -p Environment=WS_TLS_CERT=$SRV/cert.pem \
	-p Environment=WS_TLS_KEY=$SRV/key.pem /usr/bin/python3 $SRV/ws_simple.py server 127.0.0.1 $PORT 120 ||
	fail "systemd-run of the server"
sc_wait 15 listening $PORT || { sc_exec journalctl -u wss-echo --no-pager; fail "no wss server on $PORT"; }
cpid=$(sc_exec systemctl show --value -p MainPID wss-echo)
# wstrace names processes by their pid in the host's pid namespace (what
# the BPF programs see): the server's, found from its pid in the container.
host_pid() {
	local p ns
	ns=$(readlink "/proc/$SC_LEADER/ns/pid")
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] || continue
		[ "$(awk '$1 == "NSpid:" {print $NF}' "$p/status" 2>/dev/null)" = "$1" ] && { echo "${p#/proc/}"; return 0; }
	done
	return 1
}
hpid=$(host_pid "$cpid") || fail "no host pid for the server's pid $cpid in the container"
echo "ok: server: pid $cpid in the container, $hpid on the host"
out=$(WS_TLS_CA=$TMP/cert.pem sc_net timeout 30 "${PEER[@]}" client "wss://127.0.0.1:$PORT/" $N "$TEXT" 1000)
expect_eq "$out" ok "wss client, $N messages"

info "metrics: wss frames, nothing left undecrypted"
frames='wstrace_ws_frames_total{dir="c2s",opcode="text",transport="wss"}'
sc_wait 15 metric_is "$frames" $N || fail "$frames: '$(metric "$frames")', want $N"
echo "ok: $frames = $N"
undecrypted=$(metric 'wstrace_tls_connections_total{outcome="not_decrypted"}')
expect_eq "${undecrypted:-0}" 0 "TLS connections not decrypted"

info "the journal: events of the wss session name the server"
# The session's last event: the journal is read once it is there.
ended='e["event"]=="ws_session_end" and e.get("tls") is True'
sc_wait 15 journal_json_is "$ended" 1 || fail "wss ws_session_end events in the journal: $(journal_json "$ended"), want 1"
for ev in tcp_established ws_upgrade ws_session_end; do
	"$PY" - "$TMP/journal.json" "$ev" "$hpid" <<-'EOF' || fail "$ev: the server's fields"
	import json, sys
	path, ev, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
	es = [e for e in map(json.loads, open(path)) if e["event"] == ev and e.get("dst", "").endswith(":7272")]
	if len(es) != 1:
	    sys.exit(f"{len(es)} {ev} events, want 1")
	e = es[0]
	got = {k: e.get(k) for k in ("server_pid", "server_comm", "server_cgroup")}
	want = {"server_pid": pid, "server_comm": "python3", "server_cgroup": "/system.slice/wss-echo.service"}
	if got != want:
	    sys.exit(f"{ev}: got {got}, want {want}")
	print(f"ok: {ev}: {got}")
	EOF
done
expect_eq "$(grep -c "$TEXT" "$TMP/journal.json")" 0 "payload text in the journal"

info "the journal: nothing refused"
sc_exec journalctl -u wstrace -o cat --no-pager | grep -v '^{' >"$TMP/journal.log"
refused='TLS plaintext off|cannot attach|not attributed|no cgroup v2 mount|cannot list the open sockets'
if grep -E "$refused" "$TMP/journal.log"; then
	fail "the journal says a hook or a lookup was refused"
fi
echo "ok: no line in the journal matches '$refused'"

sc_exec systemctl stop wstrace || fail "systemctl stop wstrace"
expect_eq "$(prop Result)" success "result"
expect_eq "$(prop ExecMainStatus)" 0 "exit status of wstrace"
echo "PASS"
