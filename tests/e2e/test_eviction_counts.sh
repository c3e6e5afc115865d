#!/usr/bin/env bash
# More real connections than the flow table holds (500 held open with
# --max-flows 100): each is counted once, none is taken for a mid-stream
# connection, exactly the 400 beyond the bound are evicted, and the packets
# they send afterwards are counted as packets of evicted connections (in the
# summary and in /metrics), not tracked.
. "$(dirname "$0")/lib.sh"
need_root

CONNS=500
MAX=100
MPORT=9273
NS=$(new_ns evict)
start_wstrace "$NS" "$TMP/out" "$TMP/err" -i lo -p 7272 -q --max-flows "$MAX" --metrics "127.0.0.1:$MPORT"
r=$(ip netns exec "$NS" timeout 60 "$PY" "$ROOT/tests/e2e/conns_held.py" "$CONNS" 7272) || fail "peers failed: $r"
expect_eq "$r" "ok $CONNS" "connections made"

settle "$NS" 7272
scrape() {
	http_get "$NS" "http://127.0.0.1:$MPORT/metrics" >"$TMP/metrics" || fail "scrape failed"
	grep -q '^wstrace_tcp_packets_total' "$TMP/metrics" || fail "scrape without wstrace_tcp_packets_total"
}
# all_counted: every packet the kernel program saw is decoded or counted as evicted.
all_counted() {
	scrape
	k=$(awk '/^wstrace_packets_total\{/ { s += $2 } END { printf "%d\n", s }' "$TMP/metrics")
	d=$(awk '/^wstrace_tcp_packets_total\{/ { s += $2 } END { printf "%d\n", s }' "$TMP/metrics")
	e=$(awk '/^wstrace_tcp_evicted_flow_packets_total / { printf "%d\n", $2 }' "$TMP/metrics")
	[ "$k" -gt 0 ] && [ "$k" = "$((d + ${e:-0}))" ]
}
wait_for 30 "every packet decoded or counted as evicted" all_counted
stop_wstrace
cat "$TMP/err"

grep -q "^0 packets lost (ring buffer full)$" "$TMP/err" || fail "packets lost: counts below would not be exact"
line=$(grep "connections seen" "$TMP/err")
expect_eq "$line" "$CONNS connections seen, $CONNS established, 0 refused, 0 reset, 0 handshake timeouts, 0 seen mid-stream, $((CONNS - MAX)) evicted" "connections"
ev=$(sed -n 's/^\([0-9]*\) packets of evicted connections (not tracked), \([0-9]*\) evicted connections forgotten$/\1 \2/p' "$TMP/err")
[ -n "$ev" ] || fail "no evicted-packets line in the summary"
# Each evicted connection sends at least its request and its FIN afterwards.
expect_ge "${ev% *}" $((2 * (CONNS - MAX))) "packets of evicted connections"
expect_eq "${ev#* }" 0 "evicted connections forgotten"
expect_eq "$e" "${ev% *}" "wstrace_tcp_evicted_flow_packets_total as in the summary"
