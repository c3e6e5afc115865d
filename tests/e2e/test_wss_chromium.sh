#!/usr/bin/env bash
# wss with a browser: headless chromium (its own BoringSSL, which wstrace
# does not see) as the client of the python3-websockets wss server (the
# system's OpenSSL, which it does). The page (peers/wss_page.html) sends
# text, UTF-8, binary and 70000-byte messages, each echoed, permessage-deflate
# as chromium negotiates it, a ping from the server, a fragmented message,
# and closes with 1000. Chromium writes a key log (SSLKEYLOGFILE) and trusts
# the test's certificate (--ignore-certificate-errors); wstrace's frames,
# decoded from the server's plaintext, must agree with tshark's decryption
# of a tcpdump capture frame for frame, and say what the page did.
. "$(dirname "$0")/lib.sh"
need_root
CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
	ws_need "chromium (apt-get install chromium)" false

P=$ROOT/tests/e2e/peers
WSS_SERVER="$PY $P/ws_server.py"
WSS_PROBED=libssl
. "$ROOT/tests/e2e/wss_lib.sh"

wss_begin chromium 1.3 after 1
info "chromium: the page's wss connection to the python server"
bg "$WSS_NS" env SSLKEYLOGFILE="$SSLKEYLOGFILE" "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	--disable-quic --no-first-run --disable-background-networking --disable-component-update \
	--disable-sync --disable-dev-shm-usage --ignore-certificate-errors \
	--user-data-dir="$(mktemp -d "$TMP/profile.XXXXXX")" \
	"file://$P/wss_page.html?port=7272" >"$TMP/browser.log" 2>&1
BROWSER=${PIDS[-1]}
if ! wait_until 60 gone "$WSS_SERVER_PID"; then
	cat "$TMP/browser.log" "$TMP/server.err"
	fail "the page's connection did not end within 60 s"
fi
stop_pid "$BROWSER"
wss_end chromium 1

# check WHAT PYTHON: assertions over the events (list ev).
check() {
	"$PY" -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
def kind(name, d=None):
    return [e for e in ev if e["event"] == name and (d is None or e["dir"] == d)]
'"$2" "$TMP/chromium.json" || fail "$1"
}
info "what the page did, as wstrace decoded it"
check "the upgrade is chromium's, over TLS, with permessage-deflate" '
up = kind("ws_upgrade")
assert len(up) == 1 and "Chrome" in up[0].get("user_agent", "") and up[0]["tls"], up
est = kind("ws_established")
assert len(est) == 1 and est[0]["accept"] == "ok" and est[0]["deflate"], est
print("ok: one upgrade from chromium, accepted, deflate in force")'
check "every message each way, echoed exactly, compressed and inflated" '
for d in ("c2s", "s2c"):
    m = kind("ws_message", d)
    lens = [e["len"] for e in m]
    assert lens[:8] == [5, 11, 256, 70000, 70000, 75000, 0, 4], (d, lens)
    assert all(e.get("inflated") or not e["compressed"] for e in m), d
    assert all(e["utf8_valid"] for e in m if e["type"] == "text"), d
    assert [e["type"] for e in m][:8] == ["text", "text", "binary", "text", "binary", "text", "text", "text"], d
c, s = kind("ws_message", "c2s"), kind("ws_message", "s2c")
assert [e["text"] for e in c[8:]] == ["cmd:ping", "cmd:frag"], c[8:]
assert len(s) == 9 and s[8]["text"] == "sfrag1sfrag2" and s[8]["frames"] >= 2, s[8:]
assert c[1]["text"] == s[1]["text"] == "hi, all \uff01"
print("ok: 10 messages c2s, 9 s2c (the echoes and the fragmented one), lengths and types as sent")'
check "the server ping answered by the browser, the close 1000 bye" '
p, q = kind("ws_ping", "s2c"), kind("ws_pong", "c2s")
assert len(p) == 1 and p[0]["text"] == "srv-ping" and len(q) == 1 and q[0]["text"] == "srv-ping" and q[0]["rtt_us"] >= 0, (p, q)
c = kind("ws_close")
assert [(e["dir"], e["code"], e["reason"]) for e in c] == [("c2s", 1000, "bye"), ("s2c", 1000, "bye")], c
end = kind("ws_session_end")
assert len(end) == 1 and end[0]["how"] == "close" and end[0]["code"] == 1000 and end[0]["initiator"] == "client", end
print("ok: ping srv-ping, pong with rtt, close 1000 bye by the client")'
echo "PASS"
