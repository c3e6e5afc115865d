#!/usr/bin/env bash
# The service, with the test playing systemd: sd_notify readiness only after
# attachment, STATUS, STOPPING at SIGTERM; daemon defaults print no payload
# byte and no cookie value (and do with show-payload); SIGHUP with a changed
# port set changes what is captured and keeps the counters; kill -9 and a
# restart leave exactly one attachment per hook (tcx and clsact); the unit
# file passes systemd-analyze verify.
. "$(dirname "$0")/lib.sh"
need_root
TCXQ=$ROOT/$BUILD/tools/tcx_query
[ -x "$TCXQ" ] || fail "no $TCXQ (make tests-build)"

NS=$(new_ns svc)
PEER="$PY $ROOT/tests/e2e/peers/ws_simple.py"
CONF=$TMP/wstrace.conf
NOTIFY=$TMP/notify.sock
MPORT=19272
SECRET=secret-cookie-$E2E_ID
TEXT="private chat text $E2E_ID"

scrape() { http_get "$NS" "http://127.0.0.1:$MPORT/metrics"; }
metric() { scrape | awk -v m="$1" '$1==m {print $2}'; }
notified() { [ "$(grep -c "$1" "$TMP/notify.log" 2>/dev/null)" -ge "$2" ]; }
wait_notify() { # wait_notify PATTERN COUNT
	wait_until 30 notified "$1" "$2" || { cat "$TMP/notify.log"; cat "$TMP/d.err"; fail "no $2 × $1 from the daemon"; }
}
# events FILTER: how many of the daemon's JSON events match (see count_json).
events() { count_json "$TMP/d.json" "$1"; }
tcx_ingress() { ip netns exec "$NS" "$TCXQ" lo | head -1; }
clsact_filters() { tc -n "$NS" filter show dev lo ingress | grep -c cls_ingress; }

info "systemd-analyze verify"
if command -v systemd-analyze >/dev/null; then
	sed "s|^ExecStart=/usr/local/sbin/wstrace|ExecStart=$WSTRACE|" "$ROOT/dist/wstrace.service" >"$TMP/wstrace.service"
	systemd-analyze verify "$TMP/wstrace.service" || fail "systemd-analyze verify rejects the unit"
	echo "ok: unit verified"
else
	fail "systemd-analyze missing (Debian package systemd)"
fi

cat >"$CONF" <<EOF
# test config
interface = lo
port = 7272
json = true
metrics = 127.0.0.1:$MPORT
EOF

info "daemon start: READY=1 after attach"
bg "$NS" "$PY" "$ROOT/tests/e2e/notify_listen.py" "$NOTIFY" 60 "$TMP/notify.log"
wait_for 30 "the notify socket" test -S "$NOTIFY"
NOTIFY_SOCKET=$NOTIFY ip netns exec "$NS" "$WSTRACE" --daemon --config "$CONF" >"$TMP/d.json" 2>"$TMP/d.err" &
DPID=$!
PIDS+=("$DPID")
wait_notify '^READY=1$' 1
grep -q "listening on" "$TMP/d.err" || fail "READY=1 before the programs were attached"
bg "$NS" $PEER server 127.0.0.1 7272 40
bg "$NS" $PEER server 127.0.0.1 7273 40
wait_port "$NS" 7272
wait_port "$NS" 7273
# 7273 first: once the 7272 connection's close is out, anything captured on
# 7273 (which is not watched) would be out too, the ring buffer being in order.
expect_eq "$(ip netns exec "$NS" $PEER client ws://127.0.0.1:7273/ 2 "$TEXT" 1001)" ok "client on 7273"
expect_eq "$(ip netns exec "$NS" $PEER client "ws://127.0.0.1:7272/?token=$SECRET&room=1" 3 "$TEXT" 1000 "session=$SECRET")" ok "client on 7272"
wait_for 30 "the 7272 connection's close in the daemon's output" \
	prints 1 events 'e["event"]=="tcp_closed" and e["dst"]=="127.0.0.1:7272"'
wait_notify '^STATUS=' 1

info "daemon defaults: metadata, no payloads, no secrets"
J=$TMP/d.json
expect_eq "$(count_json "$J" 'e["event"]=="ws_frame" and e["dst"]=="127.0.0.1:7272" and e["opcode"]=="text"')" 3 "text frames c2s on 7272"
expect_eq "$(count_json "$J" '"text" in e or "data_b64" in e')" 0 "payload fields in daemon output"
expect_eq "$(grep -c "$SECRET" "$J" "$TMP/d.err" | awk -F: '{s+=$2} END {print s}')" 0 "cookie value anywhere"
expect_eq "$(grep -c "private chat text" "$J" "$TMP/d.err" | awk -F: '{s+=$2} END {print s}')" 0 "chat text anywhere"
expect_eq "$(count_json "$J" 'e["event"]=="ws_upgrade" and e["headers"].get("Cookie")=="<redacted>"')" 1 "cookie redacted"
expect_eq "$(count_json "$J" 'e["event"]=="ws_upgrade" and e["path"]=="/?token=<redacted>&room=1"')" 1 "query token redacted"
expect_eq "$(count_json "$J" 'e["event"]=="tcp_syn" and e["dst"]=="127.0.0.1:7273"')" 0 "port 7273 not watched yet"
frames_before=$(metric 'wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}')
expect_eq "$frames_before" 3 "c2s text frames in /metrics"

info "SIGHUP: port 7273 and payloads on"
sed -i 's/^port = 7272$/port = 7273/' "$CONF"
echo "show-payload = true" >>"$CONF"
kill -HUP "$DPID"
wait_notify '^RELOADING=1' 1
wait_notify '^READY=1$' 2
expect_eq "$(ip netns exec "$NS" $PEER client ws://127.0.0.1:7273/ 2 "$TEXT" 4001 "session=$SECRET")" ok "client on 7273 after reload"
wait_for 30 "the 7273 connection's close in the daemon's output" \
	prints 1 events 'e["event"]=="tcp_closed" and e["dst"]=="127.0.0.1:7273"'
expect_eq "$(count_json "$J" 'e["event"]=="tcp_syn" and e["dst"]=="127.0.0.1:7273"')" 1 "port 7273 captured after SIGHUP"
expect_eq "$(count_json "$J" 'e["event"]=="ws_frame" and e.get("text")=="'"$TEXT"'"')" 4 "payload shown after show-payload = true"
expect_eq "$(grep -c "$SECRET" "$J")" 0 "cookie still redacted"
expect_eq "$(metric 'wstrace_ws_frames_total{dir="c2s",opcode="text",transport="ws"}')" 5 "counters kept across SIGHUP (3 + 2)"
expect_eq "$(ip netns exec "$NS" "$TCXQ" lo | head -1)" "ingress 1 tc_ingress" "one ingress program on lo after reload"

info "SIGTERM: STOPPING=1, detached"
stop_wstrace "$DPID" "$TMP/d.err" TERM
wait_notify '^STOPPING=1$' 1
expect_eq "$(ip netns exec "$NS" "$TCXQ" lo | head -1)" "ingress 0" "nothing attached after SIGTERM"

info "kill -9 and restart, tcx (every mode mix: test_capture_kill9.sh)"
ip netns exec "$NS" "$WSTRACE" -i lo -q >/dev/null 2>"$TMP/k1.err" &
K=$!; PIDS+=("$K")
wait_for 30 "the tcx program on lo" prints "ingress 1 tc_ingress" tcx_ingress
kill -9 "$K"; wait "$K" 2>/dev/null
wait_for 10 "the tcx link to go with the killed process" prints "ingress 0" tcx_ingress
expect_eq "$(ip netns exec "$NS" "$TCXQ" lo | head -1)" "ingress 0" "tcx link gone with the killed process"
start_wstrace "$NS" /dev/null "$TMP/k2.err" -i lo -q
expect_eq "$(ip netns exec "$NS" "$TCXQ" lo | head -1)" "ingress 1 tc_ingress" "one tcx program after restart"
stop_wstrace

info "kill -9 and restart, clsact"
ip netns exec "$NS" "$WSTRACE" -i lo -q --clsact >/dev/null 2>"$TMP/c1.err" &
K=$!; PIDS+=("$K")
wait_for 30 "the clsact filter on lo" prints 1 clsact_filters
kill -9 "$K"; wait "$K" 2>/dev/null
expect_eq "$(clsact_filters)" 1 "stale clsact filter after kill -9"
start_wstrace "$NS" /dev/null "$TMP/c2.err" -i lo -q --clsact
expect_eq "$(clsact_filters)" 1 "exactly one clsact filter after restart"
grep -q "stale" "$TMP/c2.err" || fail "the stale filter was not reported as removed"
stop_wstrace
expect_eq "$(clsact_filters)" 0 "no clsact filter after a clean exit"
expect_eq "$(tc -n "$NS" qdisc show dev lo | grep -c clsact)" 0 "no clsact qdisc after a clean exit"

info "capabilities dropped after setup; interfaces that come up later still attach"
printf 'interface = any\nmetrics = off\n' >"$TMP/any.conf"
ip netns exec "$NS" "$WSTRACE" --daemon --config "$TMP/any.conf" >/dev/null 2>"$TMP/any.err" &
APID=$!; PIDS+=("$APID")
# Capabilities are dropped before "listening on".
wait_for 30 "the daemon to attach" grep -q "listening on" "$TMP/any.err"
# CAP_DAC_READ_SEARCH (2: cgroup ids to paths), CAP_NET_ADMIN (12),
# CAP_PERFMON (38), CAP_BPF (39): nothing else.
expect_eq "$(awk '/^CapEff/ {print $2}' /proc/$APID/status)" 000000c000001004 "effective capabilities"
expect_eq "$(awk '/^CapBnd/ {print $2}' /proc/$APID/status)" 000000c000001004 "bounding set"
NS2=$(new_ns peer)
ip link add "wsd$E2E_ID" netns "$NS" type veth peer name "wse$E2E_ID" netns "$NS2"
ip -n "$NS" link set "wsd$E2E_ID" up
wait_until 30 grep -q "attached to wsd$E2E_ID" "$TMP/any.err" ||
	{ cat "$TMP/any.err"; fail "no attach to a new interface after dropping capabilities"; }
expect_eq "$(ip netns exec "$NS" "$TCXQ" "wsd$E2E_ID" | awk '{print $2}' | paste -sd' ')" "1 1" "ingress and egress on the new veth"
stop_wstrace "$APID" "$TMP/any.err"
