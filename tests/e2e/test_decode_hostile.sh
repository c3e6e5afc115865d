#!/usr/bin/env bash
# Hostile frame lengths in a capture (tests/data/repro/hostile_len62_len63_ctrl.pcap,
# port 7277): a frame declaring 2^62 bytes followed by 100 bytes and a FIN,
# a length with its top bit set, and oversized control frames. Each is
# reported (violation at the header, the frame and its message at the end
# of the connection, marked incomplete, with the bytes seen), counted in
# the session's end, in bounded time and memory; the same with the
# sanitizer build when there is one. Needs no privileges.
. "$(dirname "$0")/lib.sh"
[ -x "$WSTRACE" ] || fail "no wstrace binary at $WSTRACE (run make)"
CAP=$ROOT/tests/data/repro/hostile_len62_len63_ctrl.pcap

# run BINARY OUT ARGS...: wstrace -r of the capture, which must exit 0 in
# time with no sanitizer report.
run() {
	local bin=$1 out=$2 rc; shift 2
	timeout 60 "$bin" -r "$CAP" -p 7277 "$@" >"$out" 2>"$out.err"; rc=$?
	wstrace_exit_ok "$rc" "$out.err" "-r ${CAP##*/} $*"
}

check() {
	"$PY" -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
def of(flow, name):
    return [e for e in ev if e["flow"] == flow and e["event"] == name]
'"$2" "$1" || fail "$3"
}

# The binary asked for, and the sanitized one too when there is one.
BINS=("$WSTRACE")
[ -x "$ROOT/build-asan/wstrace" ] && [ "$ROOT/build-asan/wstrace" -ef "$WSTRACE" ] || BINS+=("$ROOT/build-asan/wstrace")
for bin in "${BINS[@]}"; do
	[ -x "$bin" ] || continue
	info "$bin"
	run "$bin" "$TMP/out.json" --json
	check "$TMP/out.json" '
v = of(1, "ws_violation")
assert [x["kind"] for x in v] == ["message_too_big"] and v[0]["detail"] == 16 << 20, v
f = of(1, "ws_frame")
assert len(f) == 1 and f[0]["len"] == 1 << 62 and f[0]["incomplete"] and f[0]["seen"] == 100, f
assert f[0]["truncated"] and f[0]["text"] == "A" * 100, f
# The violation came with the header, long before the end of the connection.
assert ev.index(v[0]) < ev.index(of(1, "tcp_fin")[0]) < ev.index(f[0]), "order"
m = of(1, "ws_message")
assert len(m) == 1 and m[0]["incomplete"] and m[0]["len"] == 100 and m[0]["type"] == "binary", m
s = of(1, "ws_session_end")[0]
assert s["frames_c2s"] == 1 and s["messages_c2s"] == 1 and s["bytes_c2s"] == 100 and s["how"] == "abnormal", s
print("ok: 2^62-byte frame: message_too_big at its header, then ws_frame incomplete (100 bytes seen), counted at the session end")
assert [x["kind"] for x in of(2, "ws_violation")] == ["length_top_bit"]
g = of(2, "ws_gap")
assert len(g) == 1 and g[0]["kind"] == "unsynced_at_end" and g[0]["bytes"] == 114, g
assert of(2, "ws_session_end")[0]["frames_c2s"] == 0
print("ok: top bit set: length_top_bit, and the 114 bytes left undecoded reported at the end")
v = of(3, "ws_violation")
assert [(x["kind"], x["detail"]) for x in v] == [("control_too_long", 200), ("control_too_long", 70000), ("control_too_long", 302)], v
assert [x["opcode"] for x in of(3, "ws_frame")] == ["ping", "pong", "close"]
s = of(3, "ws_session_end")[0]
assert s["frames_c2s"] == 3 and s["how"] == "close" and s["code"] == 1000, s
print("ok: oversized control frames decoded and reported")' "events of the hostile capture"

	run "$bin" "$TMP/out.txt"
	grep -q "WS binary fin masked 4611686018427387904B (incomplete, 100B seen) 0x41414141" "$TMP/out.txt" ||
		{ grep WS "$TMP/out.txt"; fail "text: no incomplete frame line"; }
	grep -q "WS session-end abnormal 1006 .* c2s 1 frames 1 msgs 100B" "$TMP/out.txt" ||
		fail "text: session end does not count the frame"
	grep -q "^4 frames c2s" "$TMP/out.txt.err" || { cat "$TMP/out.txt.err"; fail "summary: frames"; }
	echo "ok: text lines and summary"

	run "$bin" "$TMP/nolimit.json" --json --max-message 0
	expect_eq "$(count_json "$TMP/nolimit.json" 'e["event"] == "ws_violation" and e["kind"] == "message_too_big"')" 0 \
		"message_too_big with --max-message 0"
	run "$bin" "$TMP/small.json" --json --max-message 64
	expect_eq "$(count_json "$TMP/small.json" 'e["event"] == "ws_violation" and e["kind"] == "message_too_big" and e["detail"] == 64')" 1 \
		"message_too_big with --max-message 64"
done
