#!/usr/bin/env bash
# TLS plaintext lost to a full ring buffer (--ringbuf-kb 64, the records of
# the TLS path are up to 16 KiB each): a python3-websockets wss echo
# server (the system's OpenSSL) under 8 clients in another namespace
# (across a veth pair, so only the server's plaintext is read), each
# sending 40 messages of 20000 bytes as fast as it can. The ring overflows:
# the records lost are counted (summary and wstrace_tls_lost_total), each
# hole is reported as a ws_gap of its TLS session, the decoder finds the
# frames again instead of decoding garbage (every frame a text or close
# one, every whole message shown exactly one that was sent), and the
# kernel's plaintext byte count equals the bytes decoded plus the bytes
# the holes count (those at a stream's very end found at SSL_free).
. "$(dirname "$0")/lib.sh"
need_root
WSS_PROBED=libssl
. "$ROOT/tests/e2e/wss_lib.sh"
LOAD="$PY $ROOT/tests/e2e/ws_load.py"
CONNS=8 COUNT=40 SIZE=20000
J=$TMP/live.json

wss_veth wssloss

start_wstrace "$NS" "$J" "$TMP/live.err" -i "$IF" -p 7272 --json -s 64 --ringbuf-kb 64 \
	--metrics "127.0.0.1:$METRICS_PORT"
grep -q "TLS plaintext: probing .*libssl" "$TMP/live.err" || { cat "$TMP/live.err"; fail "wstrace does not probe libssl"; }
bg "$NS" $LOAD server --tls --host $SRV --port 7272 --echo --no-deflate >"$TMP/server.log" 2>&1
wait_port "$NS" 7272
info "$CONNS clients, $COUNT messages of $SIZE bytes each, echoed"
ip netns exec "$CNS" timeout 90 $LOAD client --tls --host $SRV --port 7272 --conns $CONNS --count $COUNT \
	--size $SIZE --interval 0 --hold 1 --deadline 60 --no-deflate >"$TMP/client.log" 2>&1 ||
	{ cat "$TMP/client.log" "$TMP/server.log"; fail "the clients failed"; }
grep -q "^total $((CONNS * COUNT))$" "$TMP/client.log" || { cat "$TMP/client.log"; fail "not every message sent"; }
settle "$NS" 7272
scrape() { ip netns exec "$NS" curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" >"$TMP/scrape"; }
scrape || fail "no scrape"
gone "$WSTRACE_PID" && { cat "$TMP/live.err"; fail "wstrace died under load"; }
stop_wstrace
cat "$TMP/live.err"

info "the losses are counted"
lost=$(sed -n 's/^\([0-9]*\) TLS plaintext records lost (ring buffer full), .*/\1/p' "$TMP/live.err")
expect_ge "${lost:-0}" 1 "TLS plaintext records lost (ring buffer full), summary"
expect_eq "$(sample "$TMP/scrape" 'wstrace_tls_lost_total{reason="ringbuf_full"}')" "$lost" \
	"wstrace_tls_lost_total{reason=\"ringbuf_full\"}"
kbytes=$(sample "$TMP/scrape" wstrace_tls_plaintext_bytes_total)
expect_ge "$kbytes" $((2 * CONNS * COUNT * SIZE)) "plaintext bytes the kernel saw (at least every message each way)"

info "each hole is a gap of its session; what is shown is what was sent"
"$PY" -c 'import json, sys
sys.path.insert(0, sys.argv[2])
from ws_load import check as valid
SIZE = int(sys.argv[3])
ev = [json.loads(l) for l in open(sys.argv[1])]
ws = [e for e in ev if e["event"].startswith("ws_")]
assert ws and all(e.get("tls") is True for e in ws), [e for e in ws if e.get("tls") is not True][:2]
gaps = [e for e in ev if e["event"] == "ws_gap" and e["kind"] == "stream"]
assert gaps and all(e["bytes"] > 0 for e in gaps), gaps[:3]
fr = [e for e in ev if e["event"] == "ws_frame"]
assert all(e["opcode"] in ("text", "close") for e in fr), [e for e in fr if e["opcode"] not in ("text", "close")][:3]
m = [e for e in ev if e["event"] == "ws_message"]
assert all(e["type"] == "text" for e in m), [e for e in m if e["type"] != "text"][:3]
whole = [e for e in m if "text" in e and not e.get("truncated") and not e.get("incomplete")]
bad = [e for e in whole if not valid(e["text"], SIZE)]
assert not bad, [(e["flow"], e["dir"], e["len"], e["text"][:40]) for e in bad[:3]]
assert len(whole) >= 10, len(whole)
v = [e for e in ev if e["event"] == "ws_violation"]
print("ok: %d stream gaps (%d bytes) on %d sessions; %d whole messages shown, every one exactly as sent; %d messages in all, %d violations"
      % (len(gaps), sum(e["bytes"] for e in gaps), len({e["flow"] for e in gaps}), len(whole), len(m), len(v)))
' "$J" "$ROOT/tests/e2e" "$SIZE" || fail "gaps or garbage"

info "kernel count = decoded + lost"
joined=$(sed -n 's/.* plaintext records joined (\([0-9]*\) bytes), .*/\1/p' "$TMP/live.err")
holes=$(sed -n 's/.* bytes), \([0-9]*\) gaps ([0-9]* bytes), .*/\1/p' "$TMP/live.err")
gapb=$(sed -n 's/.* gaps (\([0-9]*\) bytes), [0-9]* not joined .*/\1/p' "$TMP/live.err")
[ -n "$joined" ] && [ -n "$holes" ] && [ -n "$gapb" ] || fail "summary lines missing"
expect_ge "$gapb" 1 "bytes of the holes in the plaintext streams"
# Holes at a stream's very end are found at SSL_free, from its totals.
expect_eq "$kbytes" $((joined + gapb)) "kernel plaintext bytes = bytes decoded ($joined) + bytes of the holes ($gapb)"
# Each hole a ws_gap event, but those found after the connection's close.
events=$(count_json "$J" 'e["event"] == "ws_gap" and e["kind"] == "stream"')
[ "$events" -ge 1 ] && [ "$events" -le "$holes" ] || fail "$events ws_gap events for $holes holes"
echo "ok: $events ws_gap events for $holes holes"
echo "PASS"
