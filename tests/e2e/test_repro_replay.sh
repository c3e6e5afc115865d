#!/usr/bin/env bash
# Captures of defects found under attack (tests/data/repro/), replayed with -r
# through the AddressSanitizer/UBSan build with leak detection on: no leak, no
# crash, every ws_established followed by its ws_session_end, events in time
# order, the expected text output (NAME.txt, with the summary); and a server
# close frame in flight after a client's reset decoded as tshark decodes it.
#
#   rst_then_upgrade     RST, then an upgrade and its 101 on the tuple: no session
#   fin_then_retransmit  a late retransmission after a FIN close: no session
#   leak_rst_then_data   1000 tuples of RST then data: no session, nothing leaked
#   rst_inflight_close   client close frame, RST, the server's close frame after it
#                        (made by make_rst_inflight.py)
#   handshake_timeouts   a SYN never answered and one answered but never completed,
#                        told apart (made by make_handshakes.py)
#
# REGEN=1 rewrites the NAME.txt files from the plain build.
. "$(dirname "$0")/lib.sh"
case $ASAN_OPTIONS in *detect_leaks=1*) ;; *) fail "ASAN_OPTIONS without detect_leaks=1: $ASAN_OPTIONS" ;; esac
DATA=$ROOT/tests/data/repro
ASAN=$ROOT/${WSTRACE_ASAN_BUILD:-build-asan}/wstrace
[ -x "$WSTRACE" ] || fail "no wstrace binary at $WSTRACE (run make)"
if [ ! -x "$ASAN" ]; then
	[ "${CI:-}" = "true" ] && fail "no sanitizer build at $ASAN (make test-asan; CI=true: not skipping)"
	skip "no sanitizer build at $ASAN (make test-asan)"
fi
export TZ=UTC

if [ -n "${REGEN:-}" ]; then
	for cap in "$DATA"/*.pcap; do
		case $cap in *leak_rst_then_data*) continue ;; esac
		"$WSTRACE" -r "$cap" >"${cap%.pcap}.txt" 2>&1
	done
	exit 0
fi

# replay_sanitized NAME: the sanitizer build (leak detection on, see lib.sh)
# on NAME.pcap, JSON and text; checks what holds for every capture and
# leaves the outputs in $TMP.
replay_sanitized() {
	local name=$1 rc
	for fmt in json text; do
		"$ASAN" -r "$DATA/$name.pcap" $([ $fmt = json ] && echo --json) \
			>"$TMP/$name.$fmt" 2>"$TMP/$name.$fmt.err"
		rc=$?
		wstrace_exit_ok "$rc" "$TMP/$name.$fmt.err" "-r $name.pcap ($fmt, sanitized)"
	done
	[ -s "$TMP/$name.json" ] || fail "$name: no JSON events at all"
	"$PY" - "$TMP/$name.json" <<'PY' || fail "$name: sessions or time order"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ts = [e["ts"] for e in ev]
assert ts == sorted(ts), "events out of time order"
open_ = {}
for e in ev:
    if e["event"] == "ws_established":
        assert e["flow"] not in open_, "two sessions on flow %s" % e["flow"]
        open_[e["flow"]] = True
    elif e["event"] == "ws_session_end":
        assert open_.pop(e["flow"], None), "session end without ws_established"
assert not open_, "sessions never ended: %s" % sorted(open_)
PY
	echo "ok: $name: no leak, sessions all ended, events in time order"
}

summary() { grep -c -x -F "$2" "$TMP/$1.text.err" >/dev/null || { cat "$TMP/$1.text.err"; fail "$1: no summary line '$2'"; }; }

for name in rst_then_upgrade fin_then_retransmit rst_inflight_close handshake_timeouts; do
	replay_sanitized "$name"
	cat "$TMP/$name.text" "$TMP/$name.text.err" >"$TMP/$name.all"
	diff "$TMP/$name.all" "$DATA/$name.txt" || fail "$name: text output differs from $name.txt"
	echo "ok: $name: text output as expected"
done
expect_eq "$(count_json "$TMP/rst_then_upgrade.json" 'e["event"].startswith("ws_")')" 0 "WebSocket events after a reset tuple"
expect_eq "$(count_json "$TMP/fin_then_retransmit.json" 'e["event"]=="ws_gap"')" 0 "gaps after the FIN close"
expect_eq "$(count_json "$TMP/handshake_timeouts.json" 'e["event"]=="tcp_handshake_timeout" and e["src"].endswith(":40010") and not e["synack_seen"]')" 1 "SYN never answered"
expect_eq "$(count_json "$TMP/handshake_timeouts.json" 'e["event"]=="tcp_handshake_timeout" and e["src"].endswith(":40011") and e["synack_seen"]')" 1 "SYN-ACK without final ACK"

replay_sanitized leak_rst_then_data
summary leak_rst_then_data "1000 connections seen, 0 established, 0 refused, 1000 reset, 0 handshake timeouts, 1000 seen mid-stream, 0 evicted"
summary leak_rst_then_data "1000 packets after their connection's close or reset (not decoded)"
summary leak_rst_then_data "0 WebSocket upgrades, 0 established, 0 failed, 0 picked up mid-stream, 0 plain HTTP requests, 0 not HTTP"
expect_eq "$(count_json "$TMP/leak_rst_then_data.json" 'e["event"]=="tcp_closed"')" 1000 "one tcp_closed per tuple"
expect_eq "$(count_json "$TMP/leak_rst_then_data.json" 'e["event"] in ("tcp_rst","tcp_data")')" 2000 "every packet reported"

info "the server's close frame after the client's reset, against tshark"
command -v tshark >/dev/null || { [ "${CI:-}" = "true" ] && fail "needs tshark"; skip "needs tshark"; }
want=$(tshark -r "$DATA/rst_inflight_close.pcap" -d tcp.port==7272,http -Y websocket \
	-T fields -e ip.src -e websocket.opcode 2>/dev/null | sort | tr '\n' ' ')
[ -n "$want" ] || fail "tshark dissected no WebSocket frame"
got=$("$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "ws_frame":
        print("%s\t%d" % (e["src"].split(":")[0], {"text": 1, "close": 8}[e["opcode"]]))' "$TMP/rst_inflight_close.json" | sort | tr '\n' ' ')
expect_eq "$got" "$want" "frames (sender, opcode) as tshark dissects them"
end=$(count_json "$TMP/rst_inflight_close.json" 'e["event"]=="ws_session_end" and e["how"]=="close" and e["frames_s2c"]==2')
expect_eq "$end" 2 "sessions ended by close, the server's close frame counted"
