#!/usr/bin/env bash
# The reference scenario: a workerman-chat style server (page on 55151,
# WebSocket gateway on 7272, JSON protocol, app-level {"type":"ping"}
# heartbeats), two headless chromium browsers logging in as "mynick", one
# saying "hi, all ！" (U+FF01). wstrace runs live on lo; the test checks that
# it reports both TCP and WebSocket handshakes (permessage-deflate, as
# chromium negotiates it), the inflated login/say/heartbeat messages with
# their exact UTF-8 bytes, the broadcasts to both browsers, and how each
# session ends (the page closes with 1000), and with --correlate content one
# ws_fanout naming both browsers as recipients. The text output (replayed with -r
# from the live -w capture) is printed for a reader.
. "$(dirname "$0")/lib.sh"
need_root
CHROMIUM=$(command -v chromium || command -v chromium-browser) || skip "needs chromium (apt-get install chromium)"
"$PY" -c 'import websockets' 2>/dev/null || skip "needs python3-websockets"

# Not NS=$(new_ns ...): in a subshell the name would miss the cleanup list.
new_ns chat >/dev/null
NS=wst-chat-$E2E_ID
CHAT=$ROOT/tests/e2e/chat
J=$TMP/live.json

start_wstrace "$NS" "$J" "$TMP/live.err" -i lo -p 7272 --json -w "$TMP/live.pcap" --correlate content

info "chat server on 7272 (heartbeat every second), page on 55151"
bg "$NS" "$PY" "$CHAT/chat_server.py" --host 127.0.0.1 --port 7272 --ping 1 >"$TMP/server.log" 2>&1
bg "$NS" "$PY" -m http.server 55151 --bind 127.0.0.1 --directory "$CHAT" >"$TMP/http.log" 2>&1
wait_port "$NS" 7272
wait_port "$NS" 55151

# browser NAME QUERY: a headless chromium on the chat page.
browser() {
	local name=$1 query=$2
	bg "$NS" "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--disable-dev-shm-usage --user-data-dir="$(mktemp -d "$TMP/profile-$name.XXXXXX")" \
		"http://127.0.0.1:55151/index.html?$query" >"$TMP/chromium-$name.log" 2>&1
}

# wait_log PATTERN COUNT SECONDS: until the server log has COUNT matching lines.
logged() { [ "$(grep -c -- "$1" "$TMP/server.log")" -ge "$2" ]; }
wait_log() {
	wait_until "$3" logged "$1" "$2" && return 0
	cat "$TMP/server.log"
	fail "server log: wanted $2 lines matching '$1' within $3 s, got $(grep -c -- "$1" "$TMP/server.log")"
}

info "browser A logs in, then browser B logs in and says hi"
browser a "name=mynick"
BROWSER_A=${PIDS[-1]}
wait_log '^recv .* login ' 1 30
browser b "name=mynick&say=1"
BROWSER_B=${PIDS[-1]}
wait_log '^recv .* say ' 1 20
info "both pages close their WebSocket after the broadcast"
wait_log '^closed ' 2 20
settle "$NS" 7272
stop_pid "$BROWSER_A"
stop_pid "$BROWSER_B"
stop_wstrace
cat "$TMP/server.log"
cat "$TMP/live.err"

info "wstrace text output (replay of the live capture)"
replay "$TMP/live.txt" -r "$TMP/live.pcap" -p 7272
cat "$TMP/live.txt"

grep -q '^0 packets lost' "$TMP/live.err" || fail "the live run lost packets: the checks below would not be exact"

info "TCP and WebSocket handshakes"
expect_eq "$(count_json "$J" 'e["event"]=="tcp_established" and e["dst"]=="127.0.0.1:7272"')" 2 "TCP handshakes to 7272"
expect_eq "$(count_json "$J" 'e["event"]=="ws_upgrade" and e["origin"]=="http://127.0.0.1:55151" and e["valid"] and "permessage-deflate" in e.get("extensions","")')" 2 "upgrades from the page's origin offering permessage-deflate"
expect_eq "$(count_json "$J" 'e["event"]=="ws_established" and e["status"]==101 and e["accept"]=="ok" and e["deflate"] and "permessage-deflate" in e.get("extensions","")')" 2 "101 with a correct accept, deflate in force"
expect_eq "$(count_json "$J" 'e["event"]=="ws_upgrade" and "Chrome" in e.get("user_agent","")')" 2 "user agent is chromium"

# check NAME PYTHON: assertions over all events (list `ev`); prints what it checked.
check() {
	"$PY" -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
msgs = [e for e in ev if e["event"] == "ws_message"]
c2s = [e for e in msgs if e["dir"] == "c2s"]
s2c = [e for e in msgs if e["dir"] == "s2c"]
def j(e):
    return json.loads(e["text"])
'"$2" "$J" || fail "$1"
}

info "messages, inflated"
check "every data message compressed and inflated, valid UTF-8" '
bad = [e for e in msgs if not (e["type"] == "text" and e["compressed"] and e["inflated"] and e["utf8_valid"] and "text" in e)]
assert not bad, bad[:3]
print("ok: %d messages, all compressed with RSV1 and inflated" % len(msgs))
assert all(e["len"] == len(e["text"].encode()) for e in msgs)
assert any(e["wire_len"] != e["len"] for e in msgs)
print("ok: len is the inflated length, wire_len the compressed one")'
check "two logins as mynick, one per connection, as the page wrote them" '
want = "{\"type\":\"login\",\"client_name\":\"mynick\",\"room_id\":\"1\"}"
logins = [e for e in c2s if e["text"] == want]
assert len(logins) == 2 and len({e["src"] for e in logins}) == 2, logins
print("ok: 2 logins c2s, from 2 connections:", want)'
check "the say message c2s with the exact UTF-8 bytes of hi, all ！" '
want = "{\"type\":\"say\",\"to_client_id\":\"all\",\"to_client_name\":\"all\",\"content\":\"hi, all \uff01\"}"
says = [e for e in c2s if e["text"] == want]
assert len(says) == 1, [e["text"] for e in c2s]
assert "hi, all \uff01".encode() == b"hi, all \xef\xbc\x81"
assert says[0]["len"] == len(want.encode()) == len(want) + 2, says[0]["len"]
print("ok: say c2s, %d bytes, content ends in EF BC 81" % says[0]["len"])'
check "login broadcasts: A sees both logins, B its own (with client_list)" '
logins = [e for e in s2c if j(e)["type"] == "login"]
assert len(logins) == 3, [e["text"] for e in logins]
assert all(j(e)["client_name"] == "mynick" for e in logins)
with_list = [e for e in logins if "client_list" in j(e)]
assert len(with_list) == 2 and len({e["dst"] for e in with_list}) == 2
assert sorted(len(j(e)["client_list"]) for e in with_list) == [1, 2]
print("ok: 3 login messages s2c, 2 with client_list (1 and 2 users)")'
check "the say broadcast reaches both browsers, content intact" '
says = [e for e in s2c if j(e)["type"] == "say"]
assert len(says) == 2 and len({e["dst"] for e in says}) == 2, says
for e in says:
    d = j(e)
    assert d["content"] == "hi, all \uff01" and d["from_client_name"] == "mynick" and d["to_client_id"] == "all", d
    assert "\\uff01" in e["text"], e["text"]  # PHP json_encode escapes non-ASCII
print("ok: 2 say messages s2c, content \"hi, all \uff01\" (sent as \\uff01 escapes)")'
check "--correlate content: the say reached both browsers, the escaped copies matched the UTF-8 one" '
fan = [e for e in ev if e["event"] == "ws_fanout"]
assert len(fan) == 1, fan
f = fan[0]
assert f["value"] == "hi, all \uff01" and f["recipients"] == 2 and f["missed"] == 0, f
assert 0 < f["latency_min_us"] <= f["latency_max_us"] < 10000000, f
print("ok: ws_fanout content=%s to %d, latency %d..%d us" % (f["value"], f["recipients"], f["latency_min_us"], f["latency_max_us"]))'
check "heartbeats: pings s2c, answered by pongs c2s on both connections" '
pings = [e for e in s2c if e["text"] == "{\"type\":\"ping\"}"]
pongs = [e for e in c2s if e["text"] == "{\"type\":\"pong\"}"]
assert len({e["dst"] for e in pings}) == 2 and len({e["src"] for e in pongs}) == 2, (len(pings), len(pongs))
assert len(pongs) >= 2 and len(pongs) <= len(pings)
print("ok: %d heartbeat pings s2c, %d pongs c2s" % (len(pings), len(pongs)))'
check "frames: client frames masked, server frames not, RSV1 only on data frames" '
fr = [e for e in ev if e["event"] == "ws_frame"]
assert fr and all(e["masked"] == (e["dir"] == "c2s") for e in fr)
assert all(e["rsv1"] == (e["opcode"] == "text") for e in fr), [e for e in fr if e["rsv1"] != (e["opcode"] == "text")][:2]
print("ok: %d frames, masking and RSV1 as RFC 6455/7692 want" % len(fr))'

info "how the sessions end"
check "each browser closed with 1000, the server echoed it" '
closes = [e for e in ev if e["event"] == "ws_close"]
cc = [e for e in closes if e["dir"] == "c2s"]
sc = [e for e in closes if e["dir"] == "s2c"]
assert len(cc) == 2 and all(e["code"] == 1000 and e["reason"] == "bye" and e["initiator"] == "client" and e["valid"] for e in cc), cc
assert len(sc) == 2 and all(e["code"] == 1000 and e["initiator"] == "client" for e in sc), sc
ends = [e for e in ev if e["event"] == "ws_session_end"]
assert len(ends) == 2 and all(e["how"] == "close" and e["code"] == 1000 and e["initiator"] == "client" for e in ends), ends
assert sum(e["messages_c2s"] for e in ends) == len(c2s) and sum(e["messages_s2c"] for e in ends) == len(s2c)
print("ok: 2 client closes 1000 \"bye\", 2 server replies, 2 session ends (close 1000 by client)")'
expect_eq "$(count_json "$J" 'e["event"]=="tcp_closed" and e["reason"]=="fin"')" 2 "TCP connections closed by FIN"
expect_eq "$(count_json "$J" 'e["event"] in ("ws_violation","ws_gap","ws_resync","ws_upgrade_failed","http_request")')" 0 "violations, gaps, resyncs, failed upgrades"

info "live and replay agree"
key='import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e["event"].startswith("ws_"): print(e["event"], e["src"], e["dst"], e.get("text",""), e.get("code",""))'
replay "$TMP/replay.json" -r "$TMP/live.pcap" -p 7272 --json --correlate content
same_events "$key" "live and -r WebSocket events" "$J" "$TMP/replay.json"
grep -q 'hi, all ！' "$TMP/live.txt" || fail "the text output does not show hi, all ！"
echo "ok: the text output shows hi, all ！"
