#!/usr/bin/env bash
# wss at its edges, python3-websockets on both ends over the system's
# OpenSSL:
# - many connections at once: 20 clients in parallel, each with the ws
#   tests' whole conversation (64 KiB messages among it: one SSL_write on
#   one side, many 16 KiB SSL_reads on the other), every frame matched
#   against tshark decrypting a tcpdump capture with the key log;
# - wstrace started mid-session: sessions opened and idle before it starts,
#   then they talk: every message after that decoded (the uncompressed
#   ones exactly, frame for frame with tshark), marked mid-stream, the
#   compressed ones honestly not inflated (the LZ77 window is unknown);
# - handshakes that never finish: a ClientHello then FIN, a ClientHello
#   then RST, a TLS record of garbage, plain garbage: no HTTP or WebSocket
#   event, no violation, the TLS ones counted as not decrypted; a real
#   session after them still decoded.
# (Losses from a tiny ring buffer: test_wss_loss.sh.)
. "$(dirname "$0")/lib.sh"
need_root

P=$ROOT/tests/e2e/peers
LOAD="$PY $ROOT/tests/e2e/ws_load.py"
WSS_SERVER="$PY $P/ws_server.py"
WSS_PROBED=libssl
. "$ROOT/tests/e2e/wss_lib.sh"

# --- many connections at once ---
specs=()
for _ in $(seq 20); do specs+=(on:1000); done
WSS_PARALLEL=1 wss_check wssmany 1.3 after "${specs[@]}"


# --- handshakes that never finish ---
cat >"$TMP/abort.py" <<'EOF'
import os, socket, ssl, struct, sys
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def client_hello():
    # a real one, from OpenSSL through memory BIOs
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    out = ssl.MemoryBIO()
    tls = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="abort.test")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()

s = socket.create_connection((host, port), timeout=10)
if mode == "hello-fin":
    s.sendall(client_hello())
elif mode == "hello-rst":
    s.sendall(client_hello())
    s.recv(1)  # the server has answered: now a reset, not a FIN
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("ok", mode)
    sys.exit(0)
elif mode == "garbage-tls":
    s.sendall(b"\x16\x03\x01\x00\x40" + os.urandom(64))
elif mode == "garbage":
    s.sendall(b"\x00\xff\x00 not TLS, not HTTP \xff\x00" * 8)
s.shutdown(socket.SHUT_WR)
while s.recv(4096):  # until the server closes
    pass
s.close()
print("ok", mode)
EOF
ns=$(new_ns abort)
NAMESPACES+=("$ns")
start_wstrace "$ns" "$TMP/abort.json" "$TMP/abort.err" -i lo -p 7272 --json -s 0 --metrics "127.0.0.1:$METRICS_PORT"
bg "$ns" $LOAD server --tls --port 7272 --echo >"$TMP/abort-server.log" 2>&1
wait_port "$ns" 7272
for mode in hello-fin hello-rst garbage-tls garbage; do
	out=$(ip netns exec "$ns" timeout 20 "$PY" "$TMP/abort.py" 127.0.0.1 7272 $mode 2>&1)
	expect_eq "$out" "ok $mode" "a client that aborts: $mode"
done
info "then a real session"
ip netns exec "$ns" timeout 30 $LOAD client --tls --port 7272 --count 3 --interval 0 --hold 0.3 >"$TMP/abort-client.log" 2>&1 ||
	{ cat "$TMP/abort-client.log" "$TMP/abort-server.log"; fail "the session after the aborted handshakes failed"; }
settle "$ns" 7272
wait_until 10 prints 5 count_json "$TMP/abort.json" 'e["event"] == "tcp_closed"' ||
	fail "$(count_json "$TMP/abort.json" 'e["event"] == "tcp_closed"') connections closed, want 5"
v=$(metric "$ns" 'wstrace_tls_connections_total{outcome="not_decrypted"}')
expect_eq "$v" 3 "TLS connections not decrypted (hello-fin, hello-rst, garbage-tls)"
v=$(metric "$ns" 'wstrace_tls_connections_total{outcome="decrypted"}')
expect_eq "$v" 1 "TLS connections decrypted (the real session)"
stop_wstrace
cat "$TMP/abort.err"
check_abort() {
	"$PY" -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
'"$2" "$TMP/abort.json" || fail "$1"
}
check_abort "the aborted handshakes: TCP events only; the garbage: one http_syntax violation" '
ws = [e for e in ev if e["event"].startswith(("ws_", "http_"))]
v = [e for e in ws if e["event"] == "ws_violation"]
# bytes that are neither TLS nor HTTP are what they are on any port: the
# one connection that sent them is reported, once, as not HTTP
assert len(v) == 1 and v[0]["kind"] == "http_syntax" and v[0]["detail"] == 192 and "tls" not in v[0], v
session = {e["flow"] for e in ws} - {v[0]["flow"]}
assert len(session) == 1, ws[:3]
tls_aborted = [e for e in ev if e["flow"] not in session | {v[0]["flow"]}]
ends = sorted(e["reason"] for e in tls_aborted if e["event"] == "tcp_closed")
assert ends == ["fin", "fin", "rst"], ends
print("ok: 3 aborted TLS handshakes with TCP events only (2 closed by FIN, 1 by RST); the garbage one violation")'
check_abort "the real session after them decoded" '
assert not [e for e in ev if e["event"] in ("http_request", "ws_upgrade_failed", "ws_gap")]
m = [e for e in ev if e["event"] == "ws_message"]
assert len(m) == 6 and all(e["tls"] for e in m), m
print("ok: no gap; the session after them: 6 messages, all tls")'
echo "PASS"
