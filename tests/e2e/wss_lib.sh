# shellcheck shell=bash
# wss_lib.sh - wss end-to-end checks shared by test_wss_python.sh and
# test_wss_node.sh and the other wss tests (sourced after lib.sh): the
# tools they need, a test certificate, and
# wss_check, which runs the python3-websockets client over TLS against
# $WSS_SERVER with wstrace and tcpdump, then matches wstrace's events frame
# for frame against tshark decrypting the capture with the client's key log.

ws_need tcpdump command -v tcpdump
ws_need tshark command -v tshark
ws_need openssl command -v openssl
ws_need curl command -v curl
ws_need "python3-websockets (apt-get install python3-websockets)" "$PY" -c "import websockets"

P=$ROOT/tests/e2e/peers
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 \
	-subj /CN=wstrace-test 2>"$TMP/openssl.err" || { cat "$TMP/openssl.err"; fail "cannot make a certificate"; }
export WS_TLS_CERT=$TMP/cert.pem WS_TLS_KEY=$TMP/key.pem WS_TLS_CA=$TMP/cert.pem
METRICS_PORT=$((20000 + RANDOM % 20000))

# metric NS NAME{LABELS}: its value in wstrace's /metrics, or nothing.
metric() {
	ip netns exec "$1" curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
		awk -v k="$2" '$1 == k {print $2}'
}

# wss_veth NAME: namespaces NS (the server's and wstrace's) and CNS (the
# clients', whose own OpenSSL is then in a namespace wstrace leaves alone,
# as a remote client's is) joined by a veth pair; IF is NS's end, SRV its
# address.
wss_veth() {
	new_ns "$1" >/dev/null
	new_ns "$1c" >/dev/null
	NS=wst-$1-$E2E_ID CNS=wst-$1c-$E2E_ID
	veth_pair "$NS" "$CNS"
	IF=wva$E2E_ID SRV=198.51.100.1
}

# wss_check LABEL TLSMAX ORDER SPECS...: ORDER is "after" (server started
# after wstrace) or "before"; the server is $WSS_SERVER (a command that
# takes HOST PORT CONNS), the client python3-websockets with a key log
# (all connections at once with WSS_PARALLEL=1).
wss_check() {
	local label=$1 tlsmax=$2 order=$3; shift 3
	local out want
	wss_begin "$label" "$tlsmax" "$order" $#
	info "$label: TLS up to $tlsmax, server started $order wstrace, connections $(IFS=,; echo "$*")"
	out=$(ip netns exec "$WSS_NS" timeout 90 "$PY" "$P/ws_client.py" ${WSS_PARALLEL:+--parallel} \
		wss://127.0.0.1:7272/chat "$@" 2>"$TMP/client.err" | tr '\n' ' ')
	want=$(printf 'ok %.0s' "$@")
	[ "$out" = "$want" ] || { cat "$TMP/client.err" "$TMP/server.err"; fail "$label client: got '$out', want '$want'"; }
	wss_end "$label" $# "$(IFS=,; echo "$*")"
}

# wss_begin LABEL TLSMAX ORDER CONNS: a namespace (WSS_NS) with tcpdump,
# wstrace and $WSS_SERVER for CONNS connections on 127.0.0.1:7272, started
# in ORDER; SSLKEYLOGFILE names the key log the client is to write.
wss_begin() {
	local label=$1 tlsmax=$2 order=$3 n=$4
	WSS_NS=$(new_ns "$label")
	NAMESPACES+=("$WSS_NS")
	WSS_TLSMAX=$tlsmax
	export WS_TLS_MAX=$tlsmax SSLKEYLOGFILE=$TMP/$label.keys
	rm -f "$SSLKEYLOGFILE"

	start_tcpdump "$WSS_NS" "$TMP/$label.pcap" -i lo port 7272
	[ "$order" = before ] && wss_server "$n"
	start_wstrace "$WSS_NS" "$TMP/$label.json" "$TMP/$label.err" -i lo -p 7272 --json -s 0 \
		--metrics "127.0.0.1:$METRICS_PORT"
	grep -q "TLS plaintext: probing .*$WSS_PROBED" "$TMP/$label.err" ||
		{ cat "$TMP/$label.err"; fail "$label: wstrace does not probe $WSS_PROBED"; }
	[ "$order" = after ] && wss_server "$n"
	return 0
}

# wss_server CONNS: $WSS_SERVER in WSS_NS (WSS_SERVER_PID), listening.
wss_server() {
	# shellcheck disable=SC2086 # WSS_SERVER is a command with arguments
	bg "$WSS_NS" $WSS_SERVER 127.0.0.1 7272 "$1" >"$TMP/server.out" 2>"$TMP/server.err"
	WSS_SERVER_PID=${PIDS[-1]}
	wait_port "$WSS_NS" 7272
}

# wss_end LABEL CONNS [SPECS]: once the client is done: the server ends,
# every session ends, the metrics say wss, nothing was lost, and wstrace's
# frames agree with tshark's decryption of the capture (and with SPECS,
# DEFLATE:END,... as ws_compare.py --expect checks them).
wss_end() {
	local label=$1 n=$2 specs=${3:-} ns=$WSS_NS v
	wait_until 60 gone "$WSS_SERVER_PID" || { cat "$TMP/server.err"; fail "$label server did not finish"; }
	settle "$ns" 7272
	wait_until 10 prints "$n" count_json "$TMP/$label.json" 'e["event"] == "ws_session_end"' ||
		fail "$label: $(count_json "$TMP/$label.json" 'e["event"] == "ws_session_end"') session ends, want $n"
	v=$(metric "$ns" 'wstrace_ws_upgrades_total{status="101",transport="wss"}')
	expect_eq "$v" "$n" "$label: wstrace_ws_upgrades_total{status=\"101\",transport=\"wss\"}"
	v=$(metric "$ns" 'wstrace_ws_messages_total{dir="c2s",type="text",transport="ws"}')
	expect_eq "$v" 0 "$label: text messages counted as ws"
	v=$(metric "$ns" 'wstrace_tls_connections_total{outcome="decrypted"}')
	expect_eq "$v" "$n" "$label: TLS connections decrypted"
	stop_wstrace
	stop_tcpdump
	cat "$TMP/$label.err"
	grep -q "^0 packets lost" "$TMP/$label.err" || fail "$label: wstrace lost packets (ring buffer)"
	grep -q "^0 TLS plaintext records lost (ring buffer full), 0 calls truncated, 0 unreadable" \
		"$TMP/$label.err" || fail "$label: TLS plaintext lost"
	expect_eq "$(count_json "$TMP/$label.json" 'e["event"] == "ws_violation"')" 0 "$label: violations"
	expect_eq "$(count_json "$TMP/$label.json" 'e["event"] == "ws_gap"')" 0 "$label: gaps"
	expect_eq "$(count_json "$TMP/$label.json" 'e["event"] == "tls_not_decrypted"')" 0 "$label: not decrypted"
	[ -s "$SSLKEYLOGFILE" ] || fail "$label: the client wrote no key log: tshark cannot decrypt"

	info "$label: wstrace against tshark with the key log"
	"$PY" "$ROOT/tests/e2e/ws_compare.py" --pcap "$TMP/$label.pcap" --live "$TMP/$label.json" \
		--keylog "$SSLKEYLOGFILE" ${specs:+--expect "$specs"} --connections "$n" --label "$label" ||
		fail "$label: wstrace disagrees with tshark (see above)"
	# the version the ServerHellos chose: 1.3 says so in supported_versions
	v=$(tshark -r "$TMP/$label.pcap" -Y "tls.handshake.type == 2" -T fields \
		-e tls.handshake.extensions.supported_version 2>/dev/null | sort -u | tr '\n' ' ')
	expect_eq "$v" "$([ "$WSS_TLSMAX" = 1.3 ] && echo '0x0304 ' || echo ' ')" \
		"$label: TLS version of the ServerHellos ($WSS_TLSMAX)"
}
