#!/usr/bin/env bash
# --correlate and --correlate-reply on real traffic, with Debian's
# python3-websockets in a test namespace.
#
# Fan-out: the workerman-chat stand-in (tests/e2e/chat) with permessage-deflate
# on one port and off on another; clients in two rooms say to all, to one
# client, and to a client id nobody has. Each message's ws_fanout event must
# name as many recipients as the server sent copies to, latencies positive
# and within the clients' own send-to-last-receipt time; the client sends
# UTF-8 ("！") and the server \uff01, which must match.
# Reply: a JSON-RPC style server answers ids out of order and skips one:
# one ws_reply per answer, its latency at least the server's own measure of
# the time it held the request and close to it, and one ws_reply_timeout.
. "$(dirname "$0")/lib.sh"
need_root
ws_need "python3-websockets (apt-get install python3-websockets)" "$PY" -c "import websockets"

NS=$(new_ns corr)
C=$ROOT/tests/e2e/chat
P=$ROOT/tests/e2e/peers
bg "$NS" "$PY" "$C/chat_server.py" --port 7272 --ping 60 >"$TMP/chat1.log" 2>&1
bg "$NS" "$PY" "$C/chat_server.py" --port 7273 --ping 60 --no-deflate >"$TMP/chat2.log" 2>&1
bg "$NS" "$PY" "$P/rpc_server.py" 127.0.0.1 7274 >"$TMP/rpc.log" 2>&1
wait_port "$NS" 7272
wait_port "$NS" 7273
wait_port "$NS" 7274

start_wstrace "$NS" "$TMP/ev.jsonl" "$TMP/ws.err" -i lo -p 7272,7273,7274 --json -s 0 -w "$TMP/c.pcap" \
	--correlate content --correlate-reply id --correlate-window 2
ip netns exec "$NS" "$PY" "$C/chat_clients.py" ws://127.0.0.1:7272/ deflate >"$TMP/deflate.jsonl" ||
	fail "chat clients (deflate) failed"
ip netns exec "$NS" "$PY" "$C/chat_clients.py" ws://127.0.0.1:7273/ plain --no-deflate >"$TMP/plain.jsonl" ||
	fail "chat clients (no deflate) failed"
ip netns exec "$NS" "$PY" "$P/rpc_client.py" ws://127.0.0.1:7274/ >"$TMP/rpc_client.log" ||
	fail "rpc client failed"
expect_eq "$(cat "$TMP/rpc_client.log")" "answered 5 2 4 1" "rpc replies out of order"
grep -q 'ext=permessage-deflate' "$TMP/chat1.log" || fail "the deflate server did not negotiate permessage-deflate"

# 8 fan-outs and 1 reply timeout, each 2 s after its message.
fanouts() { count_json "$TMP/ev.jsonl" 'e["event"] == "ws_fanout"'; }
timeouts() { count_json "$TMP/ev.jsonl" 'e["event"] == "ws_reply_timeout"'; }
wait_for 30 "8 ws_fanout events" prints 8 fanouts
wait_for 30 "1 ws_reply_timeout event" prints 1 timeouts
stop_wstrace

"$PY" - "$TMP/ev.jsonl" "$TMP/deflate.jsonl" "$TMP/plain.jsonl" <<'EOF' || fail "fan-out events do not match what the clients saw"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
fan = [e for e in ev if e["event"] == "ws_fanout"]
for path, port in ((sys.argv[2], "7272"), (sys.argv[3], "7273")):
    sent = [json.loads(l) for l in open(path)]
    assert len(sent) == 4, (path, sent)
    for s in sent:
        got = [e for e in fan if e["value"] == s["content"] and e["dst"].endswith(":" + port)]
        assert len(got) == 1, (s, got)
        e = got[0]
        assert e["key"] == "content" and e["dir"] == "c2s", e
        assert e["recipients"] == s["recipients"], (s, e)
        if s["recipients"]:
            # positive, ordered, and no later than the clients saw the last copy
            assert 0 < e["latency_min_us"] <= e["latency_p50_us"] <= e["latency_max_us"], e
            assert e["latency_max_us"] <= s["e2e_us"] + 1000, (s, e)
        else:
            assert "latency_min_us" not in e, e
        print("ok: port %s %r: %d recipients, latency max %s us (clients: %d us)" % (
            port, s["content"], e["recipients"], e.get("latency_max_us"), s["e2e_us"]))
# the deflated copies were inflated and matched too
assert any(e["value"] == "hi, all \uff01 deflate" and e["recipients"] == 3 for e in fan)
EOF
echo "ok: every message's recipients and latencies match the clients'"

"$PY" - "$TMP/ev.jsonl" "$TMP/rpc.log" <<'EOF' || fail "reply events do not match the server's log"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
rep = {e["value"]: e for e in ev if e["event"] == "ws_reply"}
served = {int(l.split()[1]): int(l.split()[2]) for l in open(sys.argv[2]) if l.startswith("served")}
assert sorted(served) == [1, 2, 4, 5], served
assert sorted(rep) == [1, 2, 4, 5], rep
for i, us in sorted(served.items()):
    lat = rep[i]["latency_us"]
    # The wire sees the request before the server reads it and the reply
    # after the server sends it: never less than the server's own measure;
    # more by the server's scheduling delay, tens of ms on a busy machine.
    assert us - 1000 <= lat <= us + 50000, (i, lat, us)
    print("ok: id %d: wstrace %d us, server %d us" % (i, lat, us))
to = [e for e in ev if e["event"] == "ws_reply_timeout"]
assert len(to) == 1 and to[0]["value"] == 3 and to[0]["waited_us"] >= 2000000, to
print("ok: id 3 timed out after %d us" % to[0]["waited_us"])
EOF

# The capture file gives the same answers; without payloads (as the service
# runs) the values are hashes, the same hash for the same value.
replay "$TMP/replay.jsonl" -r "$TMP/c.pcap" -p 7272,7273,7274 --json --no-payload --correlate content \
	--correlate-reply id --correlate-window 2
"$PY" - "$TMP/ev.jsonl" "$TMP/replay.jsonl" <<'EOF' || fail "the replay's correlation differs from the live run's"
import json, sys, re
def corr(path):
    return [json.loads(l) for l in open(path) if '"ws_fanout"' in l or '"ws_reply' in l]
live, rep = corr(sys.argv[1]), corr(sys.argv[2])
assert len(live) == 13 and len(rep) == len(live), (len(live), len(rep))
# (a timeout's wait ends with the file there, not 2 s later)
key = lambda e: (e["event"], e["flow"], e.get("recipients"), e.get("latency_us"))
assert sorted(map(key, live)) == sorted(map(key, rep)), (sorted(map(key, live)), sorted(map(key, rep)))
hashes = {}
for l, r in zip(sorted(live, key=key), sorted(rep, key=key)):
    assert re.fullmatch(r"#[0-9a-f]{16}", r["value"]), r
    assert hashes.setdefault(json.dumps(l["value"]), r["value"]) == r["value"], (l, r)
print("ok: replay: %d correlation events equal the live run's, values hashed" % len(rep))
EOF
