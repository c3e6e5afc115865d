#!/usr/bin/env bash
# /metrics under real use: a live scrape passes promtool; a real Prometheus
# server scrapes wstrace while real WebSocket peers talk, and its query API
# returns the counts that were sent (messages, upgrades, close codes, JSON
# "type" values); slow and hostile HTTP clients neither stall the endpoint
# nor make capture lose anything.
. "$(dirname "$0")/lib.sh"
need_root
command -v prometheus >/dev/null || fail "prometheus missing (Debian package prometheus)"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"

NS=$(new_ns met)
PEER="$PY $ROOT/tests/e2e/peers/ws_simple.py"
MPORT=19273
PPORT=19090

promql() { # QUERY -> the single value, or "none"
	ip netns exec "$NS" "$PY" -c '
import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(sys.argv[2]))
r = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "none" if not r else "many")' "$PPORT" "$1"
}

start_wstrace "$NS" /dev/null "$TMP/w.err" -i lo -p 7272 -q --metrics "127.0.0.1:$MPORT" --json-key type
WPID=$WSTRACE_PID

cat >"$TMP/prom.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: wstrace
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
bg "$NS" prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn
prom_ready() { http_get "$NS" "http://127.0.0.1:$PPORT/-/ready" >/dev/null 2>&1; }
wait_for 60 "prometheus to become ready" prom_ready

info "traffic from real peers"
bg "$NS" $PEER server 127.0.0.1 7272 60
wait_port "$NS" 7272
expect_eq "$(ip netns exec "$NS" $PEER client ws://127.0.0.1:7272/ 5 '{"type":"say","content":"hi, all ！"}' 1000)" ok "client 1"
expect_eq "$(ip netns exec "$NS" $PEER client ws://127.0.0.1:7272/ 2 '{"type":"login","client_name":"mynick"}' 4001)" ok "client 2"

info "slow and hostile HTTP clients against /metrics while capture runs"
# They say "holding N" once all are connected and have sent their partial
# requests, then hold them until stopped (at most 60 s).
ip netns exec "$NS" "$PY" - "$MPORT" >"$TMP/slow.log" <<'EOF' &
import socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(200):            # more than the endpoint keeps: 64
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")   # never finished
        held.append(s)
    except OSError:
        pass
big = socket.create_connection(("127.0.0.1", port), timeout=2)
try:
    big.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 100000 + b"\r\n\r\n")
except OSError:
    pass
print("holding", len(held), flush=True)
time.sleep(60)
EOF
SLOW=$!
PIDS+=("$SLOW")
wait_for 60 "the slow clients to connect" grep -q '^holding' "$TMP/slow.log"
expect_ge "$(awk '/^holding/ {print $2}' "$TMP/slow.log")" 65 "slow clients holding a connection (the endpoint keeps 64)"
start=$(date +%s%N)
http_get "$NS" "http://127.0.0.1:$MPORT/metrics" >"$TMP/scrape.txt" || fail "scrape failed while slow clients held connections"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "scrape under slow clients took ${ms} ms"
[ "$ms" -lt 3000 ] || fail "scrape stalled (${ms} ms)"
expect_eq "$(ip netns exec "$NS" $PEER client ws://127.0.0.1:7272/ 3 '{"type":"ping"}' 1001)" ok "client 3 while slow clients wait"
gone "$SLOW" && fail "the slow clients gave up before the checks ended"
stop_pid "$SLOW" TERM

info "a burst of 1000 connects, then a scrape gets the whole exposition"
ip netns exec "$NS" "$PY" - "$MPORT" <<'EOF' || fail "the burst client failed"
import socket, sys
port, held, n = int(sys.argv[1]), [], 0
for i in range(1000):             # half closed at once, half held to the end
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        continue
    n += 1
    if i % 2:
        held.append(s)
    else:
        s.close()
print("burst: %d connects, %d held" % (n, len(held)))
sys.exit(0 if n >= 900 else 1)
EOF
http_get "$NS" "http://127.0.0.1:$MPORT/metrics" >"$TMP/burst.txt" || fail "scrape failed after the burst"
expect_ge "$(grep -c '^wstrace_' "$TMP/burst.txt")" 50 "samples in the scrape after 1000 connects"
tail -n 1 "$TMP/burst.txt" | grep -q '^wstrace_' || fail "the scrape after the burst is cut short"

info "promtool check metrics on a live scrape"
c2s_text() {
	http_get "$NS" "http://127.0.0.1:$MPORT/metrics" | awk '$1 == "wstrace_ws_messages_total{dir=\"c2s\",type=\"text\",transport=\"ws\"}" {print $2}'
}
wait_for 30 "/metrics to count the 10 messages sent" prints 10 c2s_text
http_get "$NS" "http://127.0.0.1:$MPORT/metrics" >"$TMP/scrape.txt"
# An empty scrape passes promtool: check there is something to judge first.
expect_ge "$(grep -c '^wstrace_' "$TMP/scrape.txt")" 50 "samples in the scrape"
promtool check metrics <"$TMP/scrape.txt" || fail "promtool rejects the exposition"
echo "ok: promtool accepts $(grep -c '^wstrace_' "$TMP/scrape.txt") samples"
grep -E '^wstrace_(ws_messages_total|ws_upgrades_total|ws_closes_total\{code="(1000|1001)|ws_app_messages_total|ringbuf_lost_total|packets_total)' "$TMP/scrape.txt"

info "Prometheus's view"
# A scrape that came after every connection was closed and counted.
wait_for 30 "a Prometheus scrape after the 3 connections closed" \
	prints 3 promql 'sum(wstrace_tcp_connections_closed_total)'
expect_eq "$(promql 'wstrace_ws_messages_total{dir="c2s",type="text",transport="ws"}')" 10 "c2s text messages (5 + 2 + 3)"
expect_eq "$(promql 'wstrace_ws_messages_total{dir="s2c",type="text",transport="ws"}')" 10 "s2c text messages (echoes)"
expect_eq "$(promql 'wstrace_ws_upgrades_total{status="101",transport="ws"}')" 3 "completed upgrades, one per connection"
expect_eq "$(promql 'wstrace_ws_closes_total{code="1000",initiator="client"}')" 1 "close 1000 by the client"
expect_eq "$(promql 'wstrace_ws_closes_total{code="1001",initiator="client"}')" 1 "close 1001 by the client"
expect_eq "$(promql 'wstrace_ws_closes_total{code="application",initiator="client"}')" 1 "close 4001 (application range)"
expect_eq "$(promql 'wstrace_ws_app_messages_total{dir="c2s",value="say"}')" 5 "JSON type=say c2s"
expect_eq "$(promql 'wstrace_ws_app_messages_total{dir="c2s",value="login"}')" 2 "JSON type=login c2s"
expect_eq "$(promql 'wstrace_ws_app_messages_total{dir="s2c",value="ping"}')" 3 "JSON type=ping s2c"
expect_eq "$(promql 'wstrace_tcp_handshakes_total{outcome="established"}')" 3 "TCP handshakes"
expect_eq "$(promql 'wstrace_ringbuf_lost_total')" 0 "ring buffer losses"
expect_eq "$(promql 'wstrace_ws_sessions')" 0 "no session left open"

stop_wstrace "$WPID"
grep -q "^0 packets lost" "$TMP/w.err" || { cat "$TMP/w.err"; fail "capture lost packets"; }
