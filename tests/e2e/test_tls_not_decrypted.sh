#!/usr/bin/env bash
# TLS that wstrace cannot read: gnutls-serv (GnuTLS, no OpenSSL calls to
# probe) on the watched port, with gnutls-cli clients (GnuTLS too, so no
# local OpenSSL end gives the plaintext away) over TLS 1.3 and TLS 1.2, each
# sending an HTTP upgrade request and a line the server echoes. Each
# connection is one tls_not_decrypted event with reason no_plaintext, the
# client's SNI and the version the ServerHello chose, named after its
# server process; a client that sends a ClientHello and resets is
# handshake_incomplete with its SNI. No HTTP or WebSocket event, no
# violation; the metrics count them and promtool accepts the scrape;
# wstrace exits 0.
. "$(dirname "$0")/lib.sh"
need_root
ws_need gnutls-serv command -v gnutls-serv
ws_need gnutls-cli command -v gnutls-cli
ws_need openssl command -v openssl
ws_need curl command -v curl
ws_need promtool command -v promtool

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$TMP/key.pem" \
	-out "$TMP/cert.pem" -days 1 -subj /CN=wstrace-test 2>"$TMP/openssl.err" ||
	{ cat "$TMP/openssl.err"; fail "cannot make a certificate"; }
METRICS_PORT=$((20000 + RANDOM % 20000))
ns=$(new_ns gnutls)
NAMESPACES+=("$ns")

start_wstrace "$ns" "$TMP/out.json" "$TMP/out.err" -i lo -p 7272 --json \
	--metrics "127.0.0.1:$METRICS_PORT"
# the uprobes are on (OpenSSL is probed): GnuTLS is what they cannot see
grep -q "TLS plaintext: probing" "$TMP/out.err" || { cat "$TMP/out.err"; fail "wstrace does not probe OpenSSL"; }
bg "$ns" gnutls-serv --echo --disable-client-cert --x509certfile "$TMP/cert.pem" \
	--x509keyfile "$TMP/key.pem" -p 7272 >"$TMP/server.out" 2>"$TMP/server.err"
wait_port "$ns" 7272

# client SNI PRIORITY: one connection; the server echoes what it sent.
client() {
	local out=$TMP/client-$1.out
	printf 'GET /chat HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello %s\n' \
		"$1" "$1" | ip netns exec "$ns" timeout 20 gnutls-cli --insecure --sni-hostname "$1" \
		--priority "$2" -p 7272 127.0.0.1 >"$out" 2>&1 || { cat "$out"; fail "gnutls-cli $1 failed"; }
	grep -q "Handshake was completed" "$out" || { cat "$out"; fail "$1: no handshake"; }
	grep -q "^hello $1" "$out" || { cat "$out"; fail "$1: the server did not echo"; }
}
info "gnutls-cli over TLS 1.3 and TLS 1.2"
client tls13.example.test 'NORMAL:-VERS-ALL:+VERS-TLS1.3'
client tls12.example.test 'NORMAL:-VERS-ALL:+VERS-TLS1.2'

info "a client that sends a ClientHello (SNI chat.example.test), reads the answer and resets"
ip netns exec "$ns" timeout 20 "$PY" -c '
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", 7272))
s.sendall(open(sys.argv[1], "rb").read())
s.settimeout(10)
assert s.recv(5)[:1] == b"\x16", "no handshake record from the server"
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$ROOT/tests/data/tls/client_openssl_tls13.bin" || fail "the aborting client failed"

settle "$ns" 7272
wait_until 30 prints 3 count_json "$TMP/out.json" 'e["event"] == "tls_not_decrypted"' ||
	fail "$(count_json "$TMP/out.json" 'e["event"] == "tls_not_decrypted"') tls_not_decrypted events, want 3"
ip netns exec "$ns" curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" >"$TMP/scrape.txt" ||
	fail "no scrape"
stop_wstrace
cat "$TMP/out.err"
grep "tls_not_decrypted" "$TMP/out.json"
grep -q "^not decrypted: 0 tls_off, 0 handshake_failed, 1 handshake_incomplete, 2 no_plaintext; 0 TLS hellos given up" \
	"$TMP/out.err" || fail "the summary does not count the reasons"

one() { # one FILTER WHAT: exactly one tls_not_decrypted event matches
	expect_eq "$(count_json "$TMP/out.json" "e['event'] == 'tls_not_decrypted' and ($1)")" 1 "$2"
}
one 'e["reason"] == "no_plaintext" and e["sni"] == "tls13.example.test" and e["version"] == "TLS1.3"
	and e["offered"] == "TLS1.3" and e.get("server_comm") == "gnutls-serv"' "TLS 1.3: no_plaintext, SNI, version, server"
one 'e["reason"] == "no_plaintext" and e["sni"] == "tls12.example.test" and e["version"] == "TLS1.2"
	and e["cipher"].startswith("0x")' "TLS 1.2: no_plaintext, SNI, version"
one 'e["reason"] == "handshake_incomplete" and e["sni"] == "chat.example.test" and e["alpn"] == "http/1.1"' \
	"the reset client: handshake_incomplete with its SNI"
expect_eq "$(count_json "$TMP/out.json" 'e["event"] == "ws_violation"')" 0 "violations"
expect_eq "$(count_json "$TMP/out.json" 'e["event"].startswith("ws_") or e["event"] == "http_request"')" 0 \
	"HTTP and WebSocket events"
expect_eq "$(count_json "$TMP/out.json" 'e["event"] == "tcp_closed"')" 3 "connections closed"

[ -s "$TMP/scrape.txt" ] || fail "empty scrape"
promtool check metrics <"$TMP/scrape.txt" || fail "promtool rejects the scrape"
expect_eq "$(sample "$TMP/scrape.txt" 'wstrace_tls_not_decrypted_total{reason="no_plaintext"}')" 2 "no_plaintext metric"
expect_eq "$(sample "$TMP/scrape.txt" 'wstrace_tls_not_decrypted_total{reason="handshake_incomplete"}')" 1 \
	"handshake_incomplete metric"
expect_eq "$(sample "$TMP/scrape.txt" 'wstrace_tls_not_decrypted_total{reason="tls_off"}')" 0 "tls_off metric"
expect_eq "$(sample "$TMP/scrape.txt" 'wstrace_tls_connections_total{outcome="not_decrypted"}')" 3 \
	"wstrace_tls_connections_total not_decrypted"
expect_eq "$(sample "$TMP/scrape.txt" 'wstrace_tls_connections_total{outcome="decrypted"}')" 0 \
	"wstrace_tls_connections_total decrypted"
echo "PASS"
