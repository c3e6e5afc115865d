#!/usr/bin/env bash
# wstrace started while WebSocket sessions are already running (a message
# every 100 ms each way): one session with permessage-deflate and context
# takeover (port 7272), one without compression (port 7273). It must pick both
# up: TCP events marked midstream, the stream gap at the start reported on
# both directions, frame boundaries found again (resync), every uncompressed
# message after that decoded exactly, compressed ones honestly reported as
# not inflated (the LZ77 window was never seen) rather than decoded wrongly,
# no invented frames, the close 1000 at the end, no crash.
. "$(dirname "$0")/lib.sh"
need_root
"$PY" -c 'import websockets' 2>/dev/null || skip "needs python3-websockets"

# Not NS=$(new_ns ...): in a subshell the name would miss the cleanup list.
new_ns mid >/dev/null
NS=wst-mid-$E2E_ID
LOAD="$PY $ROOT/tests/e2e/ws_load.py"
J=$TMP/live.json
COUNT=50 SIZE=48

bg "$NS" $LOAD server --port 7272 --echo >"$TMP/server-deflate.log" 2>&1
bg "$NS" $LOAD server --port 7273 --echo --no-deflate >"$TMP/server-plain.log" 2>&1
wait_port "$NS" 7272
wait_port "$NS" 7273

info "two sessions, a message every 100 ms for $((COUNT / 10)) s"
bg "$NS" $LOAD client --port 7272 --count $COUNT --interval 0.1 --size $SIZE --hold 0.3 --deadline 20 >"$TMP/client-deflate.log" 2>&1
CLIENT1=${PIDS[-1]}
bg "$NS" $LOAD client --port 7273 --count $COUNT --interval 0.1 --size $SIZE --hold 0.3 --deadline 20 --no-deflate >"$TMP/client-plain.log" 2>&1
CLIENT2=${PIDS[-1]}
both_open() { [ "$(cat "$TMP"/server-*.log | grep -c '^open ')" -ge 2 ]; }
wait_until 30 both_open
grep -q '^open .*permessage-deflate' "$TMP/server-deflate.log" || { cat "$TMP"/*.log; fail "the deflate session did not negotiate permessage-deflate"; }
grep -q '^open [0-9]* $' "$TMP/server-plain.log" || { cat "$TMP"/*.log; fail "the plain session is not open without extensions"; }
# A few messages go by unseen first: the server's end of each session has
# received the upgrade request and at least 5 messages (one segment each).
data_segments() {
	ip netns exec "$NS" ss -Htin state established "( sport = :$1 )" | sed -n 's/.* data_segs_in:\([0-9]*\).*/\1/p'
}
messages_sent() { [ "$(data_segments 7272)" -ge 6 ] && [ "$(data_segments 7273)" -ge 6 ]; } 2>/dev/null
wait_for 20 "5 messages on each session" messages_sent

info "wstrace starts now, mid-way through both sessions"
start_wstrace "$NS" "$J" "$TMP/live.err" -i lo -p 7272,7273 --json -w "$TMP/live.pcap"
for pid in $CLIENT1 $CLIENT2; do
	wait_until 30 gone "$pid"
	wait "$pid" || { cat "$TMP"/client-*.log; fail "a client failed"; }
done
settle "$NS" 7272 7273
stop_wstrace
cat "$TMP/live.err"
cat "$TMP"/client-*.log "$TMP"/server-*.log
grep -q '^0 packets lost' "$TMP/live.err" || fail "the live run lost packets"

info "text output (replay of the live capture, data messages left out)"
replay "$TMP/live.txt" -r "$TMP/live.pcap" -p 7272,7273
grep ' WS \| tcp-' "$TMP/live.txt" | grep -v 'WS text\|WS message' || true

# check NAME PYTHON: assertions over the events of each port's flow.
check() {
	"$PY" -c 'import json, sys
sys.path.insert(0, sys.argv[2])
from ws_load import check as valid, MSG_RE
SIZE = int(sys.argv[3])
ev = [json.loads(l) for l in open(sys.argv[1])]
def port(e):
    return "7272" if "127.0.0.1:7272" in (e["src"], e["dst"]) else "7273"
dfl = [e for e in ev if port(e) == "7272"]
plain = [e for e in ev if port(e) == "7273"]
def kind(es, name, d=None):
    return [e for e in es if e["event"] == name and (d is None or e.get("dir") == d)]
'"$2" "$J" "$ROOT/tests/e2e" "$SIZE" || fail "$1"
}

info "TCP: picked up mid-stream"
check "every event marked midstream, no handshake seen, both closed by FIN" '
assert ev and all(e.get("midstream") for e in ev), [e for e in ev if not e.get("midstream")][:2]
assert not kind(ev, "tcp_established") and not kind(ev, "tcp_syn")
assert len(kind(ev, "tcp_closed")) == 2 and all(e["reason"] == "fin" for e in kind(ev, "tcp_closed"))
assert not kind(ev, "ws_upgrade") and not kind(ev, "ws_established")
print("ok: %d events, all midstream; 2 connections closed by FIN" % len(ev))'

info "the uncompressed session (7273)"
check "a stream gap with lost boundaries on each direction, then a resync" '
for d in ("c2s", "s2c"):
    g = kind(plain, "ws_gap", d)
    assert any(e["kind"] == "stream" and e["boundary_lost"] for e in g), (d, g)
    assert kind(plain, "ws_resync", d), d
print("ok: ws_gap stream boundary_lost and ws_resync on c2s and s2c")'
check "every message after the resync decoded exactly, none missed" '
for d in ("c2s", "s2c"):
    m = kind(plain, "ws_message", d)
    assert all(e["type"] == "text" and not e["compressed"] and "text" in e and valid(e["text"], SIZE) for e in m), [e for e in m if not valid(e.get("text", ""), SIZE)][:2]
    seqs = [int(MSG_RE.match(e["text"]).group(2)) for e in m]
    assert len(seqs) >= 15, (d, len(seqs))
    # From the first one decoded to the last one sent, in order, no hole.
    assert seqs == list(range(seqs[0], 50)), (d, seqs)
    print("ok: %s: messages %d..49 decoded exactly (%d)" % (d, seqs[0], len(seqs)))'
check "no frame that was not sent" '
fr = kind(plain, "ws_frame")
bad = [e for e in fr if not (e["opcode"] == "text" and valid(e.get("text", ""), SIZE)) and e["opcode"] != "close"]
assert not bad, bad[:3]
assert not kind(plain, "ws_violation") and not kind(plain, "ws_ping") and not kind(plain, "ws_pong")
print("ok: %d frames, all text messages sent or the close; no violations" % len(fr))'
check "the close and the end of the session" '
c = kind(plain, "ws_close")
assert [e["dir"] for e in c] == ["c2s", "s2c"] and all(e["code"] == 1000 and e["reason"] == "done" for e in c), c
s = kind(plain, "ws_session_end")
assert len(s) == 1 and s[0]["how"] == "close" and s[0]["code"] == 1000 and s[0]["initiator"] == "client", s
print("ok: close 1000 \"done\" both ways, session end close 1000 by client")'

info "the compressed session (7272): honest about what cannot be inflated"
check "the start is reported (stream gap, resync, deflate context or not inflated)" '
for d in ("c2s", "s2c"):
    g = kind(dfl, "ws_gap", d)
    assert any(e["kind"] == "stream" and e["boundary_lost"] for e in g), (d, g)
    assert any(e["kind"].startswith("deflate_context") or e["kind"] == "not_inflated" for e in g), (d, g)
    assert kind(dfl, "ws_resync", d), d
print("ok: stream gap, resync and deflate loss reported on c2s and s2c")'
check "compressed messages found and left uninflated, never shown as text" '
for d in ("c2s", "s2c"):
    m = kind(dfl, "ws_message", d)
    assert all(e["compressed"] and not e["inflated"] and "text" not in e for e in m), [e for e in m if e["inflated"] or "text" in e][:2]
    assert len(m) >= 15, (d, len(m))
    nf = [e for e in kind(dfl, "ws_gap", d) if e["kind"] == "not_inflated"]
    assert len(nf) == len(m), (len(nf), len(m))
    print("ok: %s: %d compressed messages found, %d not_inflated gaps, none inflated" % (d, len(m), len(nf)))'
check "no invented frames: only RSV1 text frames and the close" '
fr = kind(dfl, "ws_frame")
bad = [e for e in fr if not ((e["opcode"] == "text" and e["rsv1"] and e["fin"]) or e["opcode"] == "close")]
assert not bad, bad[:3]
assert not kind(dfl, "ws_violation") and not kind(dfl, "ws_ping") and not kind(dfl, "ws_pong"), kind(dfl, "ws_violation")[:2]
print("ok: %d frames: compressed text and the close only; no violations" % len(fr))'
check "the close and the end of the session" '
c = kind(dfl, "ws_close")
assert [e["dir"] for e in c] == ["c2s", "s2c"] and all(e["code"] == 1000 and e["reason"] == "done" for e in c), c
s = kind(dfl, "ws_session_end")
assert len(s) == 1 and s[0]["how"] == "close" and s[0]["code"] == 1000, s
print("ok: close 1000 both ways, session end close 1000")'

info "live and replay agree"
key='import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e["event"].startswith("ws_"): print(e["event"], e["src"], e["dst"], e.get("kind",""), e.get("text",""), e.get("code",""))'
replay "$TMP/replay.json" -r "$TMP/live.pcap" -p 7272,7273 --json
same_events "$key" "live and -r WebSocket events" "$J" "$TMP/replay.json"
