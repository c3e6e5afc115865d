#!/usr/bin/env bash
# wstrace started while wss sessions are open: python3-websockets over the
# system's OpenSSL, three sessions without compression (port 7273) and
# three with permessage-deflate and context takeover (port 7272), opened
# and idle before wstrace starts; then each sends 20 messages (echoed).
# The clients are in another namespace, across a veth pair, as remote
# clients are: only the server's plaintext is read.
# The plaintext that follows is picked up with the mid-stream rules of ws
# (as test_ws_midstream.sh checks them for plain ws): every event marked
# midstream, no upgrade seen, every uncompressed message decoded exactly
# (all 20 of each session, each way) and frame for frame as tshark decrypts
# the capture with the key log, the compressed ones found but honestly not
# inflated (their LZ77 window was never seen), the closes 1000, no
# violation, no crash.
. "$(dirname "$0")/lib.sh"
need_root

WSS_PROBED=libssl
. "$ROOT/tests/e2e/wss_lib.sh"
LOAD="$PY $ROOT/tests/e2e/ws_load.py"
COUNT=20 SIZE=300 CONNS=3
export SSLKEYLOGFILE=$TMP/keys
J=$TMP/live.json

wss_veth wssmid
start_tcpdump "$NS" "$TMP/dump.pcap" -i "$IF" port 7272 or port 7273
bg "$NS" $LOAD server --tls --host $SRV --port 7272 --echo >"$TMP/server-deflate.log" 2>&1
bg "$NS" $LOAD server --tls --host $SRV --port 7273 --echo --no-deflate >"$TMP/server-plain.log" 2>&1
wait_port "$NS" 7272
wait_port "$NS" 7273

info "$CONNS sessions on each port, open and idle"
bg "$CNS" $LOAD client --tls --host $SRV --port 7272 --conns $CONNS --count $COUNT --interval 0.02 --size $SIZE --hold 0.3 \
	--deadline 40 --start-file "$TMP/go" >"$TMP/client-deflate.log" 2>&1
CLIENT1=${PIDS[-1]}
bg "$CNS" $LOAD client --tls --host $SRV --port 7273 --conns $CONNS --count $COUNT --interval 0.02 --size $SIZE --hold 0.3 \
	--deadline 40 --start-file "$TMP/go" --no-deflate >"$TMP/client-plain.log" 2>&1
CLIENT2=${PIDS[-1]}
all_idle() { [ "$(cat "$TMP"/client-*.log | grep -c '^idle ')" -eq $((2 * CONNS)) ]; }
wait_for 30 "$((2 * CONNS)) idle sessions" all_idle
grep -q '^open .*permessage-deflate' "$TMP/server-deflate.log" ||
	{ cat "$TMP"/*.log; fail "the deflate sessions did not negotiate permessage-deflate"; }

info "wstrace starts now; then the sessions talk"
start_wstrace "$NS" "$J" "$TMP/live.err" -i "$IF" -p 7272,7273 --json -s 0 --metrics "127.0.0.1:$METRICS_PORT"
grep -q "TLS plaintext: probing .*libssl" "$TMP/live.err" || { cat "$TMP/live.err"; fail "wstrace does not probe libssl"; }
touch "$TMP/go"
for pid in $CLIENT1 $CLIENT2; do
	wait_until 60 gone "$pid" || fail "a client did not finish"
	wait "$pid" || { cat "$TMP"/client-*.log; fail "a client failed"; }
done
grep -q "^total $((CONNS * COUNT))$" "$TMP/client-plain.log" || { cat "$TMP/client-plain.log"; fail "plain client"; }
grep -q "^total $((CONNS * COUNT))$" "$TMP/client-deflate.log" || { cat "$TMP/client-deflate.log"; fail "deflate client"; }
settle "$NS" 7272 7273
v=$(metric "$NS" 'wstrace_tls_connections_total{outcome="decrypted"}')
expect_eq "$v" $((2 * CONNS)) "TLS connections decrypted"
stop_wstrace
stop_tcpdump
cat "$TMP/live.err"
grep -q '^0 packets lost' "$TMP/live.err" || fail "the live run lost packets"
grep -q " 0 gaps (0 bytes), 0 not joined" "$TMP/live.err" || fail "TLS plaintext not joined, or with gaps"
grep -q "^0 TLS plaintext records lost (ring buffer full), 0 calls truncated, 0 unreadable" \
	"$TMP/live.err" || fail "TLS plaintext lost"

# check NAME PYTHON: assertions over the events of each port's flows.
check() {
	"$PY" -c 'import json, sys
sys.path.insert(0, sys.argv[2])
from ws_load import check as valid, MSG_RE
SIZE, COUNT, CONNS = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ev = [json.loads(l) for l in open(sys.argv[1])]
def port(e):
    return "7272" if "198.51.100.1:7272" in (e["src"], e["dst"]) else "7273"
dfl = [e for e in ev if port(e) == "7272"]
plain = [e for e in ev if port(e) == "7273"]
def kind(es, name, d=None):
    return [e for e in es if e["event"] == name and (d is None or e.get("dir") == d)]
'"$2" "$J" "$ROOT/tests/e2e" "$SIZE" "$COUNT" "$CONNS" || fail "$1"
}

info "picked up mid-stream, over TLS"
check "every event marked midstream, no handshake seen, every connection closed by FIN" '
assert ev and all(e.get("midstream") for e in ev), [e for e in ev if not e.get("midstream")][:2]
assert not kind(ev, "tcp_established") and not kind(ev, "ws_upgrade") and not kind(ev, "ws_established")
c = kind(ev, "tcp_closed")
assert len(c) == 2 * CONNS and all(e["reason"] == "fin" for e in c), c
w = [e for e in ev if e["event"].startswith("ws_")]
assert w and all(e.get("tls") is True for e in w), [e for e in w if e.get("tls") is not True][:2]
assert not kind(ev, "ws_violation") and not kind(ev, "http_request"), kind(ev, "ws_violation")[:2]
print("ok: %d events, all midstream, WebSocket ones all tls; %d connections closed by FIN; no violation" % (len(ev), len(c)))'
check "uncompressed (7273): every message of every session decoded exactly, each way" '
for d in ("c2s", "s2c"):
    m = kind(plain, "ws_message", d)
    bad = [e for e in m if not (e["type"] == "text" and not e["compressed"] and valid(e.get("text", ""), SIZE))]
    assert not bad, bad[:2]
    got = sorted((int(MSG_RE.match(e["text"]).group(1)), int(MSG_RE.match(e["text"]).group(2))) for e in m)
    assert got == sorted((c, s) for c in range(CONNS) for s in range(COUNT)), (d, len(got))
    print("ok: %s: all %d messages decoded exactly" % (d, len(m)))'
check "uncompressed (7273): the closes and the session ends" '
c = kind(plain, "ws_close")
assert len(c) == 2 * CONNS and all(e["code"] == 1000 and e["reason"] == "done" for e in c), c
s = kind(plain, "ws_session_end")
assert len(s) == CONNS and all(e["how"] == "close" and e["code"] == 1000 for e in s), s
print("ok: %d closes 1000 \"done\", %d session ends" % (len(c), len(s)))'
check "compressed (7272): found, reported as not inflated, never shown as text" '
for d in ("c2s", "s2c"):
    m = kind(dfl, "ws_message", d)
    assert len(m) == CONNS * COUNT, (d, len(m))
    assert all(e["compressed"] and not e["inflated"] and "text" not in e for e in m), [e for e in m if e["inflated"] or "text" in e][:2]
    nf = [e for e in kind(dfl, "ws_gap", d) if e["kind"] == "not_inflated"]
    assert len(nf) == len(m), (len(nf), len(m))
    print("ok: %s: %d compressed messages, %d not_inflated gaps, none inflated" % (d, len(m), len(nf)))
fr = kind(dfl, "ws_frame")
bad = [e for e in fr if not ((e["opcode"] == "text" and e["rsv1"] and e["fin"]) or e["opcode"] == "close")]
assert not bad, bad[:3]
s = kind(dfl, "ws_session_end")
assert len(s) == CONNS and all(e["how"] == "close" and e["code"] == 1000 for e in s), s
print("ok: %d frames: compressed text and the closes only; %d session ends, close 1000" % (len(fr), len(s)))'

info "uncompressed (7273): wstrace against tshark with the key log"
# tshark saw the handshakes (tcpdump started first); the sessions sent no
# frame before wstrace started, so both must have every frame.
[ -s "$SSLKEYLOGFILE" ] || fail "the clients wrote no key log: tshark cannot decrypt"
"$PY" -c 'import json, sys
with open(sys.argv[2], "w") as f:
    for l in open(sys.argv[1]):
        if json.loads(l).get("dst", "").endswith(":7273") or json.loads(l).get("src", "").endswith(":7273"):
            f.write(l)' "$J" "$TMP/plain.json"
"$PY" "$ROOT/tests/e2e/ws_compare.py" --pcap "$TMP/dump.pcap" --live "$TMP/plain.json" --port 7273 \
	--keylog "$SSLKEYLOGFILE" --connections $CONNS --label wssmid || fail "wstrace disagrees with tshark (see above)"
echo "PASS"
