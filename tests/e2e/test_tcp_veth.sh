#!/usr/bin/env bash
# End to end across a veth pair between two namespaces (client in one, server
# in the other), IPv4 and IPv6, with wstrace on "any" in the server's
# namespace started BEFORE the veth exists (so it must follow the new
# interface), then again in clsact mode. Checks the events, the bytes each
# way (GSO super-packets included), and that nothing stays attached.
. "$(dirname "$0")/lib.sh"
need_root
command -v tc >/dev/null || skip "needs tc (iproute2)"

A=$(new_ns cli)
B=$(new_ns srv)
PEER="$PY $ROOT/tests/e2e/tcp_peer.py"
VB="wvb$E2E_ID"

run_traffic() {
	bg "$B" $PEER server 198.51.100.2 7272 2
	local spid=${PIDS[-1]}
	bg "$B" $PEER server 2001:db8::2 7272 1
	local spid6=${PIDS[-1]}
	wait_port "$B" 7272
	r1=$(ip netns exec "$A" $PEER client 198.51.100.2 7272 fin 100000)
	r2=$(ip netns exec "$A" $PEER client 2001:db8::2 7272 fin 20000)
	r3=$(ip netns exec "$A" $PEER client 198.51.100.2 7272 rst 10)
	r4=$(ip netns exec "$A" $PEER client 198.51.100.2 7299 fin 5)
	expect_eq "$r1 $r2 $r3 $r4" "ok ok ok refused" "peer results"
	wait "$spid" "$spid6" 2>/dev/null
	settle "$B" 7272 7299
}

check_events() {
	local J=$1 not_http=$2
	expect_eq "$(count_json "$J" 'e["event"]=="tcp_established"')" 3 "established"
	expect_eq "$(count_json "$J" 'e["event"]=="tcp_closed" and e["reason"]=="fin" and e["src"].startswith("198.51.100.1:") and e["bytes_c2s"]==100000 and e["bytes_s2c"]==100000')" 1 "IPv4 100000 bytes each way"
	expect_eq "$(count_json "$J" 'e["event"]=="tcp_closed" and e["reason"]=="fin" and e["src"].startswith("[2001:db8::1]:") and e["dst"]=="[2001:db8::2]:7272" and e["bytes_c2s"]==20000 and e["bytes_s2c"]==20000')" 1 "IPv6 20000 bytes each way"
	expect_eq "$(count_json "$J" 'e["event"]=="tcp_closed" and e["reason"]=="rst" and e["bytes_c2s"]==10')" 1 "reset"
	expect_eq "$(count_json "$J" 'e["event"]=="tcp_refused" and e["dst"]=="198.51.100.2:7299"')" 1 "refused"
	# Retransmissions can be real (a tail loss probe resends a segment); reordering is not on a veth.
	expect_eq "$(count_json "$J" 'e["event"]=="tcp_out_of_order"')" 0 "no out-of-order segments on a veth"
	expect_eq "$(count_json "$J" 'e["event"]=="ws_violation" and e["kind"] in ("http_syntax","http_too_long","http_incomplete")')" "$not_http" "plain bytes on the port are not HTTP (counted)"
	# veth passes TSO super-packets: one record must carry more than an MTU.
	expect_ge "$("$PY" -c 'import json,sys; print(max([json.loads(l).get("len",0) for l in open(sys.argv[1])]))' "$J")" 1501 "largest segment (GSO)"
}

info "tcx on any, veth created after start"
start_wstrace "$B" "$TMP/tcx.json" "$TMP/tcx.err" -p 7272,7299 --json
veth_pair "$A" "$B"
wait_until 30 grep -q "attached to $VB" "$TMP/tcx.err" || { cat "$TMP/tcx.err"; fail "did not follow the new interface"; }
run_traffic
stop_wstrace
cat "$TMP/tcx.err"
# Whole packets (the default): the three plain-bytes connections are each judged not HTTP.
check_events "$TMP/tcx.json" 3
expect_eq "$(count_json "$TMP/tcx.json" 'e["event"]=="ws_gap"')" 0 "no gaps with whole packets"
grep -q "^0 packets lost" "$TMP/tcx.err" || fail "ring buffer losses"

info "clsact on the veth"
start_wstrace "$B" "$TMP/cls.json" "$TMP/cls.err" -i "$VB" -p 7272,7299 --json --clsact -s 4096
ip -n "$B" filter show dev "$VB" ingress >/dev/null 2>&1
expect_ge "$(tc -n "$B" filter show dev "$VB" ingress | grep -c bpf)" 1 "clsact ingress filter while running"
run_traffic
stop_wstrace
# -s 4096: GSO packets are cut, the heads have holes: gaps, not violations.
check_events "$TMP/cls.json" 1
expect_ge "$(count_json "$TMP/cls.json" 'e["event"]=="ws_gap"')" 2 "gaps reported for cut packets"
expect_eq "$(tc -n "$B" filter show dev "$VB" ingress | grep -c bpf)" 0 "ingress filters left after exit"
expect_eq "$(tc -n "$B" filter show dev "$VB" egress | grep -c bpf)" 0 "egress filters left after exit"
expect_eq "$(tc -n "$B" qdisc show dev "$VB" | grep -c clsact)" 0 "clsact qdisc left after exit"
