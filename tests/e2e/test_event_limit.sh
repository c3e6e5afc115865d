#!/usr/bin/env bash
# A flood of empty frames on one connection (a generated capture: 50000
# frames in 50 ms, then one text frame 30 s later) is printed up to the
# event limit, and every event not printed is counted in events_suppressed
# lines (said when the connection prints again and at its end) and in the
# summary; a chat-like connection beside it loses nothing; --event-limit 0
# prints everything. Text and JSON, plain and sanitizer builds. Needs no
# privileges.
. "$(dirname "$0")/lib.sh"
[ -x "$WSTRACE" ] || fail "no wstrace binary at $WSTRACE (run make)"
FRAMES=50000
"$PY" "$ROOT/tests/e2e/flood_pcap.py" "$TMP/flood.pcap" $FRAMES || fail "cannot write the capture"

# run BINARY OUT ARGS...: wstrace -r of the capture, which must exit 0 in
# time with no sanitizer report.
run() {
	local bin=$1 out=$2 rc; shift 2
	timeout 120 "$bin" -r "$TMP/flood.pcap" "$@" >"$out" 2>"$out.err"; rc=$?
	wstrace_exit_ok "$rc" "$out.err" "-r flood.pcap $*"
}

# The binary asked for, and the sanitized one too when there is one.
BINS=("$WSTRACE")
[ -x "$ROOT/build-asan/wstrace" ] && [ "$ROOT/build-asan/wstrace" -ef "$WSTRACE" ] || BINS+=("$ROOT/build-asan/wstrace")
for bin in "${BINS[@]}"; do
	[ -x "$bin" ] || continue
	info "$bin"
	run "$bin" "$TMP/out.json" --json
	"$PY" -c 'import json, sys
frames = int(sys.argv[2])
ev = [json.loads(l) for l in open(sys.argv[1])]
def of(flow, name):
    return [e for e in ev if e["flow"] == flow and e["event"] == name]
said = {}
for e in of(1, "events_suppressed"):
    said[e["kind"]] = said.get(e["kind"], 0) + e["count"]
# Every frame is printed or counted: the empty ones, "after the flood", two closes.
fr, msg = len(of(1, "ws_frame")), len(of(1, "ws_message"))
assert fr + said.get("ws_frame", 0) == frames + 3, (fr, said)
assert msg + said.get("ws_message", 0) == frames + 1, (msg, said)
assert 10000 <= fr <= 10200, fr
print("ok: flood: %d ws_frame printed, %d counted in events_suppressed; %d lines in all" % (fr, said["ws_frame"], len(ev)))
assert len(ev) < 25000, len(ev)
after = [e for e in of(1, "ws_frame") if e.get("text") == "after the flood"]
i = ev.index(after[0])
assert ev[i - 1]["event"] == "events_suppressed" or ev[i - 2]["event"] == "events_suppressed", ev[i - 2:i]
end = of(1, "ws_session_end")[0]
assert end["frames_c2s"] == frames + 2 and end["messages_c2s"] == frames + 1, end
print("ok: the count is said when the connection prints again; the session end counts every frame")
assert not of(2, "events_suppressed")
assert len(of(2, "ws_frame")) == 42 and len(of(2, "ws_message")) == 40
print("ok: the chat connection beside it: all 42 frames and 40 messages printed")' "$TMP/out.json" $FRAMES ||
		fail "flood with the default limit (JSON)"
	grep -q "events not printed (over --event-limit" "$TMP/out.json.err" || { cat "$TMP/out.json.err"; fail "summary"; }

	run "$bin" "$TMP/out.txt"
	n=$(grep -c "40001 > 127.0.0.1:7272 WS binary fin masked 0B" "$TMP/out.txt")
	said=$(awk '/events-suppressed ws_frame/ { s += $7 } END { print s + 0 }' "$TMP/out.txt")
	expect_eq "$((n + said))" "$FRAMES" "text: empty frames printed ($n) + said suppressed ($said)"
	grep -q "events-suppressed ws_message" "$TMP/out.txt" && fail "text: ws_message lines are not printed for one-frame messages, nor counted"
	expect_eq "$(grep -c "40002 .*WS text fin.*hello" "$TMP/out.txt")" 40 "text: chat messages printed"

	run "$bin" "$TMP/all.json" --json --event-limit 0
	expect_eq "$(count_json "$TMP/all.json" 'e["event"] == "ws_frame" and e["flow"] == 1')" $((FRAMES + 3)) \
		"--event-limit 0: every frame printed"
	expect_eq "$(count_json "$TMP/all.json" 'e["event"] == "events_suppressed"')" 0 "--event-limit 0: nothing suppressed"
	run "$bin" "$TMP/tight.json" --json --event-limit 10 --event-burst 5
	expect_eq "$(count_json "$TMP/tight.json" 'e["event"] == "ws_frame" and e["flow"] == 2')" 42 \
		"--event-limit 10 --event-burst 5: the chat connection still prints every frame"
done
