#!/usr/bin/env bash
# Packets after the end of connections, under load: rounds of spoofed tuples
# (a client RST, then an upgrade request and its 101, from a raw socket) make
# no WebSocket session, leak nothing (wstrace's RSS flat between rounds) and
# leave the sessions gauge at 0; every such packet is reported and counted as
# late, or as a packet of an evicted connection once the flow table is full.
# Bounded: ROUNDS x TUPLES tuples, each round paced and waited for. The flow
# table (--max-flows) and its tombstones are full by the end of the first
# round, so later rounds need no new memory whatever the timers do.
. "$(dirname "$0")/lib.sh"
need_root

ROUNDS=${E2E_LATE_ROUNDS:-3}
TUPLES=${E2E_LATE_TUPLES:-10000}
# Anonymous memory a round may add once the first has set malloc's high-water
# mark (a round adds a few KB here). Before the fix each tuple kept a
# session: 3.3 MB more per round of 10000.
RSS_TOLERANCE_KB=2048
MAX_FLOWS=2000
MPORT=9272

NS=$(new_ns late)
start_wstrace "$NS" "$TMP/out" "$TMP/err" -i lo -p 7272 -q --ringbuf-kb 65536 --max-flows "$MAX_FLOWS" --metrics "127.0.0.1:$MPORT"

scrape() {
	http_get "$NS" "http://127.0.0.1:$MPORT/metrics" >"$TMP/metrics" || fail "scrape failed"
	grep -q '^wstrace_tcp_packets_total' "$TMP/metrics" || fail "scrape without wstrace_tcp_packets_total"
}
# metric NAME: the sum of NAME's samples in the last scrape.
metric() { awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d\n", s }' "$TMP/metrics"; }
rss_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$WSTRACE_PID/status"; }

# processed: every packet the kernel program saw is decoded or counted as
# a packet of an evicted connection.
processed() {
	local k d e
	scrape
	k=$(metric wstrace_packets_total) d=$(metric wstrace_tcp_packets_total)
	e=$(metric wstrace_tcp_evicted_flow_packets_total)
	[ "$k" -gt 0 ] && [ "$k" = "$((d + e))" ]
}

start=$(date +%s)
for r in $(seq 1 "$ROUNDS"); do
	sent=$(ip netns exec "$NS" timeout 60 "$PY" "$ROOT/tests/e2e/late_flood.py" 7272 $(((r - 1) * TUPLES)) "$TUPLES") ||
		fail "flood round $r failed"
	expect_eq "$sent" "$TUPLES" "round $r tuples sent"
	wait_for 30 "round $r decoded" processed
	gone "$WSTRACE_PID" && fail "wstrace died in round $r"
	rss=$(rss_kb)
	echo "round $r: RssAnon ${rss} KB, $(metric wstrace_packets_total) packets"
	[ "$r" -eq 1 ] && rss1=$rss
done
secs=$(($(date +%s) - start))

scrape
tuples=$((ROUNDS * TUPLES))
packets=$(metric wstrace_tcp_packets_total)
evicted=$(metric wstrace_tcp_evicted_flow_packets_total)
expect_ge "$((packets + evicted))" $((3 * tuples)) "packets seen (ours and the kernel's answers)"
expect_eq "$(metric wstrace_ringbuf_lost_total)" 0 "packets lost"
expect_eq "$(metric wstrace_ws_sessions)" 0 "WebSocket sessions open"
expect_eq "$(metric wstrace_ws_upgrade_requests_total)" 0 "upgrades decoded after a reset"
expect_eq "$(metric wstrace_tcp_connections)" 0 "connections open"
expect_eq "$(metric 'wstrace_tcp_connections_closed_total{reason="rst"}')" "$tuples" "closed by their RST"
expect_eq "$(metric wstrace_flows_evicted_total)" 0 "open connections evicted"
# Each tuple's first packet is its RST (the flow, closed at once); every later
# one is late, or of an evicted (closed) flow, and none is decoded.
expect_eq "$(metric wstrace_tcp_late_packets_total)" $((packets - tuples)) "late packets"
growth=$((rss - rss1))
echo "RSS after round 1: ${rss1} KB, after round $ROUNDS: ${rss} KB (growth ${growth} KB, tolerance ${RSS_TOLERANCE_KB} KB), ${secs}s"
[ "$growth" -le "$RSS_TOLERANCE_KB" ] || fail "RSS grew by ${growth} KB over $((ROUNDS - 1)) rounds of $TUPLES tuples"

stop_wstrace
grep -q "decoder state left" "$TMP/err" && fail "flows freed with decoder state: $(cat "$TMP/err")"
echo "ok: no flow freed with decoder state"
