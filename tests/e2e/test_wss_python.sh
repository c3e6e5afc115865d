#!/usr/bin/env bash
# wss: python3-websockets over TLS (Python's ssl: the system's OpenSSL,
# driven through memory BIOs by asyncio), decoded from the plaintext the
# uprobes read, matched frame for frame against tshark decrypting a tcpdump
# capture with the client's key log. TLS 1.3 with the server started after
# wstrace (every connection spec of the ws tests: text, binary, fragments,
# 16/64-bit lengths, ping/pong, closes 1000/1001/4001, FIN, reset,
# permessage-deflate off, on, without context takeover, small windows);
# TLS 1.2 with the server started before wstrace. Every WebSocket event says
# "tls": true, the metrics say transport="wss". Then with --no-tls the same
# traffic is TLS not decrypted: no WebSocket event, no violation.
. "$(dirname "$0")/lib.sh"
need_root
ws_need tcpdump command -v tcpdump
ws_need tshark command -v tshark
ws_need openssl command -v openssl
ws_need curl command -v curl
ws_need "python3-websockets (apt-get install python3-websockets)" "$PY" -c "import websockets"
ws_need "OpenSSL's libssl.so.3" "$PY" -c "import ssl; assert ssl.OPENSSL_VERSION.startswith('OpenSSL 3')"

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

# wss_check LABEL TLSMAX ORDER SPECS...: ORDER is "after" (server started
# after wstrace) or "before".
wss_check() {
	local label=$1 tlsmax=$2 order=$3; shift 3
	local ns n=$# out want specs server_pid v
	ns=$(new_ns "$label")
	NAMESPACES+=("$ns")
	specs=$(IFS=,; echo "$*")
	export WS_TLS_MAX=$tlsmax SSLKEYLOGFILE=$TMP/$label.keys
	rm -f "$SSLKEYLOGFILE"

	start_tcpdump "$ns" "$TMP/$label.pcap" -i lo port 7272
	if [ "$order" = before ]; then
		bg "$ns" "$PY" "$P/ws_server.py" 127.0.0.1 7272 "$n" >"$TMP/server.out" 2>"$TMP/server.err"
		server_pid=${PIDS[-1]}
		wait_port "$ns" 7272
	fi
	start_wstrace "$ns" "$TMP/$label.json" "$TMP/$label.err" -i lo -p 7272 --json -s 0 \
		--metrics "127.0.0.1:$METRICS_PORT"
	grep -q "TLS plaintext: probing .*libssl" "$TMP/$label.err" ||
		{ cat "$TMP/$label.err"; fail "$label: wstrace probes no libssl"; }
	if [ "$order" = after ]; then
		bg "$ns" "$PY" "$P/ws_server.py" 127.0.0.1 7272 "$n" >"$TMP/server.out" 2>"$TMP/server.err"
		server_pid=${PIDS[-1]}
		wait_port "$ns" 7272
	fi
	info "$label: TLS up to $tlsmax, server started $order wstrace, connections $specs"
	out=$(ip netns exec "$ns" timeout 60 "$PY" "$P/ws_client.py" wss://127.0.0.1:7272/chat "$@" \
		2>"$TMP/client.err" | tr '\n' ' ')
	want=$(printf 'ok %.0s' "$@")
	[ "$out" = "$want" ] || { cat "$TMP/client.err" "$TMP/server.err"; fail "$label client: got '$out', want '$want'"; }
	wait_until 30 gone "$server_pid" || { cat "$TMP/server.err"; fail "$label server did not finish"; }
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
	[ -s "$SSLKEYLOGFILE" ] || fail "$label: the client wrote no key log: tshark cannot decrypt"

	info "$label: wstrace against tshark with the key log"
	"$PY" "$ROOT/tests/e2e/ws_compare.py" --pcap "$TMP/$label.pcap" --live "$TMP/$label.json" \
		--keylog "$SSLKEYLOGFILE" --expect "$specs" --label "$label" ||
		fail "$label: wstrace disagrees with tshark (see above)"
	"$PY" -c 'import sys; print(sys.argv[1] + ": versions in the capture:", open(sys.argv[2]).read().split()[0])' \
		"$label" "$SSLKEYLOGFILE"
}

# shellcheck disable=SC2086 # WS_SPECS is a list
wss_check wss13 1.3 after $WS_SPECS
wss_check wss12 1.2 before off:1000 on:4001 nocontext:1001 on:rst

info "--no-tls: the same traffic is TLS, not decrypted, never an HTTP violation"
ns=$(new_ns notls)
NAMESPACES+=("$ns")
export WS_TLS_MAX=1.3
start_wstrace "$ns" "$TMP/notls.json" "$TMP/notls.err" -i lo -p 7272 --json --no-tls \
	--metrics "127.0.0.1:$METRICS_PORT"
grep -q "TLS plaintext: probing" "$TMP/notls.err" && fail "--no-tls: uprobes attached"
bg "$ns" "$PY" "$P/ws_server.py" 127.0.0.1 7272 2 >"$TMP/server.out" 2>"$TMP/server.err"
server_pid=${PIDS[-1]}
wait_port "$ns" 7272
out=$(ip netns exec "$ns" timeout 60 "$PY" "$P/ws_client.py" wss://127.0.0.1:7272/chat on:1000 off:fin \
	2>"$TMP/client.err" | tr '\n' ' ')
[ "$out" = "ok ok " ] || { cat "$TMP/client.err"; fail "--no-tls client: got '$out'"; }
wait_until 30 gone "$server_pid" || fail "--no-tls server did not finish"
settle "$ns" 7272
wait_until 10 prints 2 count_json "$TMP/notls.json" 'e["event"] == "tcp_closed"' || fail "--no-tls: connections not closed"
v=$(metric "$ns" 'wstrace_tls_connections_total{outcome="not_decrypted"}')
expect_eq "$v" 2 "--no-tls: TLS connections not decrypted"
stop_wstrace
expect_eq "$(count_json "$TMP/notls.json" 'e["event"].startswith("ws_") or e["event"] == "http_request"')" 0 \
	"--no-tls: WebSocket and HTTP events"
expect_ge "$(count_json "$TMP/notls.json" 'e["event"] == "tcp_data"')" 10 "--no-tls: tcp_data events"
echo "PASS"
