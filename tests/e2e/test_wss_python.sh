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
# traffic is TLS not decrypted (tls_not_decrypted, reason tls_off): no
# WebSocket event, no violation.
. "$(dirname "$0")/lib.sh"
need_root
ws_need "OpenSSL's libssl.so.3" "$PY" -c "import ssl; assert ssl.OPENSSL_VERSION.startswith('OpenSSL 3')"

P=$ROOT/tests/e2e/peers
WSS_SERVER="$PY $P/ws_server.py"
WSS_PROBED=libssl
. "$ROOT/tests/e2e/wss_lib.sh"

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
v=$(metric "$ns" 'wstrace_tls_not_decrypted_total{reason="tls_off"}')
expect_eq "$v" 2 "--no-tls: not decrypted, reason tls_off"
stop_wstrace
# the client connects to an address: no SNI (RFC 6066 3)
expect_eq "$(count_json "$TMP/notls.json" '(e["event"] == "tls_not_decrypted" and e["reason"] == "tls_off"
	and e["version"] == "TLS1.3" and "sni" not in e)')" 2 "--no-tls: tls_not_decrypted events, reason tls_off"
expect_eq "$(count_json "$TMP/notls.json" 'e["event"].startswith("ws_") or e["event"] == "http_request"')" 0 \
	"--no-tls: WebSocket and HTTP events"
expect_ge "$(count_json "$TMP/notls.json" 'e["event"] == "tcp_data"')" 10 "--no-tls: tcp_data events"
echo "PASS"
