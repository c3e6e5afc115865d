#!/usr/bin/env bash
# The Grafana dashboard (dist/grafana/wstrace.json) and the Prometheus alert
# rules (dist/prometheus/wstrace-alerts.yml):
# - the dashboard is what dist/grafana/dashboard.py writes;
# - promtool checks the rules, and its unit tests
#   (tests/prometheus/wstrace-alerts.test.yml) make every alert fire and
#   show it quiet; the README's alert table is the rules';
# - the dashboard's structure offline (ids, grid, datasource variable,
#   refIds, variables, README panel list), and its types against Grafana's
#   own schema (npm @grafana/schema, checked by tsc --strict);
# - a real Prometheus scrapes two real wstrace instances, one under every
#   kind of WebSocket traffic and one made to lose data (snaplen 64, a flow
#   table of 2, more connections than it remembers evicted); every query of the dashboard and every alert expression is
#   evaluated through its HTTP API with the template variables replaced:
#   all are accepted, name only metrics, labels and values that exist, and
#   those listed below return values above 0; with filters that match
#   nothing, every query returns nothing; every rule loaded is healthy.
# Each check is also shown to reject a broken copy of its input.
# Needs: prometheus (promtool), python3-yaml, python3-websockets,
# npm ci --prefix tests/e2e/node (typescript, @grafana/schema).
. "$(dirname "$0")/lib.sh"
need_root
command -v prometheus >/dev/null || fail "prometheus missing (Debian package prometheus)"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"
"$PY" -c 'import yaml, websockets' 2>/dev/null || fail "needs python3-yaml and python3-websockets"
NODE=$ROOT/tests/e2e/node/node_modules
ws_need "the npm typescript and @grafana/schema packages (npm ci --prefix tests/e2e/node)" \
	test -x "$NODE/.bin/tsc" -a -f "$NODE/@grafana/schema/package.json"

CHECK=("$PY" "$ROOT/tests/e2e/dashboard_check.py")
MIXED=("$PY" "$ROOT/tests/e2e/peers/ws_mixed.py")
DASH=$ROOT/dist/grafana/wstrace.json
RULES=$ROOT/dist/prometheus/wstrace-alerts.yml
TESTS=$ROOT/tests/prometheus/wstrace-alerts.test.yml
README=$ROOT/README.md

# must_fail LABEL CMD...: CMD (a check given a broken input) must fail.
must_fail() {
	local label=$1; shift
	if "$@" >"$TMP/must_fail.out" 2>&1; then
		cat "$TMP/must_fail.out"
		fail "$label: the check accepted a broken input"
	fi
	echo "ok: $label is caught: $(grep -m1 -E 'FAIL|error' "$TMP/must_fail.out")"
}

info "the committed dashboard is what dist/grafana/dashboard.py writes"
"$PY" "$ROOT/dist/grafana/dashboard.py" >"$TMP/generated.json" || fail "dashboard.py failed"
cmp -s "$TMP/generated.json" "$DASH" || { diff -u "$DASH" "$TMP/generated.json" | head -40
	fail "dist/grafana/wstrace.json is stale: python3 dist/grafana/dashboard.py > dist/grafana/wstrace.json"; }
echo "ok: dist/grafana/wstrace.json is up to date"

info "alert rules: promtool check rules and promtool test rules"
promtool check rules "$RULES" || fail "promtool check rules"
promtool test rules "$TESTS" || fail "promtool test rules"
"${CHECK[@]}" rules "$RULES" "$TESTS" "$README" || fail "alert rules coverage"
mkdir -p "$TMP/mut/dist/prometheus" "$TMP/mut/tests/prometheus"
sed 's/) > 0\.1$/) > 0.5/' "$RULES" >"$TMP/mut/dist/prometheus/wstrace-alerts.yml"
cmp -s "$RULES" "$TMP/mut/dist/prometheus/wstrace-alerts.yml" && fail "the threshold mutation changed nothing"
cp "$TESTS" "$TMP/mut/tests/prometheus/"
must_fail "a changed alert threshold" promtool test rules "$TMP/mut/tests/prometheus/wstrace-alerts.test.yml"
"${CHECK[@]}" mutate drop-quiet "$TESTS" "$TMP/quiet.test.yml"
must_fail "alerts never shown quiet" "${CHECK[@]}" rules "$RULES" "$TMP/quiet.test.yml" "$README"

info "dashboard structure, offline"
"${CHECK[@]}" offline "$DASH" "$README" || fail "dashboard structure"
for m in dup-id overlap outside-row datasource no-refid no-filter unused-var readme-title; do
	"${CHECK[@]}" mutate "$m" "$DASH" "$TMP/$m.json"
	must_fail "mutation $m" "${CHECK[@]}" offline "$TMP/$m.json" "$README"
done

info "dashboard types against Grafana's schema (@grafana/schema $(node -p "require('$NODE/@grafana/schema/package.json').version"), tsc $("$NODE/.bin/tsc" --version))"
mkdir "$TMP/ts"
ln -s "$NODE" "$TMP/ts/node_modules"
cat >"$TMP/ts/tsconfig.json" <<'EOF'
{ "compilerOptions": { "strict": true, "noEmit": true, "module": "esnext",
  "moduleResolution": "bundler", "target": "es2020", "skipLibCheck": true },
  "files": ["check.ts"] }
EOF
ts_check() { # DASHBOARD
	"${CHECK[@]}" typescript "$1" "$TMP/ts/check.ts" && (cd "$TMP/ts" && node_modules/.bin/tsc -p .)
}
ts_check "$DASH" || fail "the dashboard does not type-check against @grafana/schema"
echo "ok: tsc --strict accepts the dashboard and every panel's options"
"${CHECK[@]}" mutate bad-option "$DASH" "$TMP/bad-option.json"
must_fail "a legend display mode Grafana does not know" ts_check "$TMP/bad-option.json"

info "a real Prometheus scrapes two wstrace instances under real WebSocket traffic"
new_ns dash >/dev/null
new_ns lossy >/dev/null
NS=wst-dash-$E2E_ID
NS2=wst-lossy-$E2E_ID
veth_pair "$NS" "$NS2" # $NS 198.51.100.1, $NS2 198.51.100.2
M1=19281 M2=19282 PPORT=19091
I1=127.0.0.1:$M1 I2=198.51.100.2:$M2

promql() { # QUERY -> the value of its one series, "none" or "many"
	ip netns exec "$NS" "${CHECK[@]}" value "http://127.0.0.1:$PPORT" "$1"
}
prom_ready() { http_get "$NS" "http://127.0.0.1:$PPORT/-/ready" >/dev/null 2>&1; }

start_wstrace "$NS" /dev/null "$TMP/w1.err" -i lo -p 7272,7273 -q --json-key type --metrics "$I1"
W1=$WSTRACE_PID
start_wstrace "$NS2" /dev/null "$TMP/w2.err" -i lo -p 7274 -q -s 64 --max-flows 2 --metrics "$I2"
W2=$WSTRACE_PID

cat >"$TMP/prom.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $RULES
scrape_configs:
  - job_name: wstrace
    static_configs:
      - targets: ['$I1', '$I2']
EOF
promtool check config "$TMP/prom.yml" >/dev/null || fail "promtool rejects the test's Prometheus configuration"
bg "$NS" prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn
wait_for 60 "prometheus to be ready" prom_ready
# A rate needs a sample from before the traffic: wait for a scrape of both.
wait_for 60 "Prometheus to scrape both wstrace instances" prints 2 promql 'sum(up{job="wstrace"})'
echo "ok: both wstrace targets scraped before the traffic"

bg "$NS" "${MIXED[@]}" server 127.0.0.1 7272 100
bg "$NS2" "${MIXED[@]}" server 127.0.0.1 7274 100
wait_port "$NS" 7272
wait_port "$NS2" 7274
# Long-lived sessions: 2 on the main instance; 12 on the lossy one, whose
# messages (300 bytes) outgrow its snaplen and whose flows outnumber its
# flow table (2) and the evicted tuples it remembers (4 per slot), so that
# forgotten ones come back mid-stream and lose frame sync.
bg "$NS" "${MIXED[@]}" hold ws://127.0.0.1:7272/ 2 80 100 >"$TMP/hold1.out" 2>&1
bg "$NS2" "${MIXED[@]}" hold ws://127.0.0.1:7274/ 12 80 300 >"$TMP/hold2.out" 2>&1
holds_ready() { grep -q ready "$TMP/hold1.out" && grep -q ready "$TMP/hold2.out"; }
wait_until 30 holds_ready || { cat "$TMP"/hold*.out; fail "long-lived sessions did not open within 30s"; }
out=$(ip netns exec "$NS" timeout 60 "${MIXED[@]}" burst ws://127.0.0.1:7272/ 7273 2>&1)
[ "$out" = ok ] || { echo "$out"; fail "the burst of traffic failed"; }
echo "ok: long-lived sessions open, burst of traffic done"

info "wstrace's own counts (the oracle) after the burst"
# 8 sessions end in the burst: 3 chats, the kicked one, 2 abnormal, 1 reset,
# the unmasked one.
ends=0
# burst_counted: scrapes both into m1.txt and m2.txt; true once they hold it all.
burst_counted() {
	http_get "$NS" "http://$I1/metrics" >"$TMP/m1.txt" || return 1
	http_get "$NS2" "http://$I2/metrics" >"$TMP/m2.txt" || return 1
	ends=$(grep -E '^wstrace_ws_session_ends_total' "$TMP/m1.txt" | awk '{ s += $2 } END { print s + 0 }')
	[ "$ends" -ge 8 ] && [ "$(sample "$TMP/m2.txt" wstrace_flows_evicted_total)" != 0 ] &&
		[ "$(sample "$TMP/m2.txt" wstrace_ws_stream_gaps_total)" != 0 ]
}
# Bounded; what is still missing then is named by the checks below.
wait_until 30 burst_counted || true
expect_eq "$ends" 8 "sessions ended on the main instance"
expect_eq "$(sample "$TMP/m1.txt" 'wstrace_ws_session_ends_total{how="abnormal",transport="ws"}')" 2 "abnormal ends (1006)"
expect_eq "$(sample "$TMP/m1.txt" 'wstrace_ws_session_ends_total{how="reset",transport="ws"}')" 1 "reset ends"
expect_eq "$(sample "$TMP/m1.txt" 'wstrace_ws_upgrades_total{status="403",transport="ws"}')" 2 "upgrades refused with 403"
expect_eq "$(sample "$TMP/m1.txt" 'wstrace_ws_violations_total{kind="unmasked_client_frame"}')" 1 "unmasked client frames"
expect_eq "$(sample "$TMP/m1.txt" 'wstrace_ws_closes_total{code="1008",initiator="server"}')" 1 "close 1008 by the server"
expect_eq "$(sample "$TMP/m1.txt" 'wstrace_ws_ping_rtt_seconds_count')" 6 "ping round trips"
expect_eq "$(sample "$TMP/m1.txt" 'wstrace_ws_http_requests_total')" 1 "plain HTTP requests"
expect_eq "$(sample "$TMP/m1.txt" 'wstrace_tcp_handshakes_total{outcome="refused"}')" 1 "refused connections"
expect_eq "$(sample "$TMP/m1.txt" 'wstrace_ws_app_messages_total{dir="c2s",value="say"}')" 6 "JSON type=say c2s"
expect_eq "$(sample "$TMP/m1.txt" 'wstrace_ws_sessions')" 2 "sessions open on the main instance"
expect_ge "$(sample "$TMP/m2.txt" wstrace_truncated_packets_total)" 1 "lossy instance: payloads truncated"
expect_ge "$(sample "$TMP/m2.txt" wstrace_ws_stream_gaps_total)" 1 "lossy instance: stream gaps"
expect_ge "$(sample "$TMP/m2.txt" wstrace_flows_evicted_total)" 1 "lossy instance: connections evicted"

info "Prometheus has scraped what wstrace counted"
prom_has_burst() {
	[ "$(promql "sum(wstrace_ws_session_ends_total{instance=\"$I1\"})")" = 8 ] &&
		[ "$(promql "wstrace_flows_evicted_total{instance=\"$I2\"} > 0")" != none ]
}
wait_until 60 prom_has_burst || true
expect_eq "$(promql "sum(wstrace_ws_session_ends_total{instance=\"$I1\"})")" 8 "session ends in Prometheus"
[ "$(promql "wstrace_flows_evicted_total{instance=\"$I2\"} > 0")" != none ] || fail "Prometheus has not scraped the lossy instance"
# The burst's messages of each --json-key value can all fall between two
# scrapes, so that Prometheus first sees their series at its final count
# and no rate: three more "say" messages over 2.5 s, scraped as they come.
out=$(ip netns exec "$NS" timeout 30 "${MIXED[@]}" say ws://127.0.0.1:7272/ 3 2.5 2>&1)
[ "$out" = ok ] || { echo "$out"; fail "the later say messages failed"; }
say_scraped() {
	[ "$(promql "wstrace_ws_app_messages_total{instance=\"$I1\",dir=\"c2s\",value=\"say\"}")" = 9 ]
}
wait_until 30 say_scraped || fail "Prometheus has not scraped the later say messages: $(promql "wstrace_ws_app_messages_total{instance=\"$I1\",dir=\"c2s\",value=\"say\"}")"
echo "ok: later say messages scraped"

info "every dashboard query and alert expression through Prometheus's API"
# The queries this traffic must fill with a value above 0 ("panel | refId").
cat >"$TMP/filled.txt" <<'EOF'
Open WebSocket sessions | A
Tracked TCP connections | A
Messages per second | A
Upgrades accepted | A
Protocol violations | A
Open sessions and connections | A
Open sessions and connections | B
Sessions opened and ended per second | A
Sessions opened and ended per second | B
Messages per second by direction and type | A
Frames per second by direction and opcode | A
Message bytes per second by direction and type | A
Wire bytes per second by direction | A
Wire bytes per second by direction | B
Message size by direction | A
Message size by direction | B
Messages per second by --json-key value | A
Messages per second by --json-key value | B
TCP handshakes per second by outcome | A
Upgrades per second by status | A
Upgrades per second by status | B
Upgrades per second by status | C
Failed upgrade ratio | A
TCP connections closed per second by reason | A
TCP connections closed per second by reason | B
TCP handshake time | A
TCP handshake time | C
Upgrade time | A
Upgrade time | C
TCP handshake time heatmap | A
Upgrade time heatmap | A
TCP flags per second | A
Retransmissions, out-of-order packets, mid-stream connections | C
Closes per second by code and initiator | A
Session ends per second by how | A
Sessions ended without a close handshake | A
Session duration | A
Session duration | C
Ping round trip | A
Ping round trip | C
Ping round trip heatmap | A
Violations per second by kind | A
Violations by kind in the time range | A
Decode losses per second by kind | A
Sessions picked up mid-stream per second | A
Running versions | A
Uptime | A
Losses in the time range | B
Losses in the time range | C
Losses in the time range | D
Packets per second seen and decoded | A
Packets per second seen and decoded | B
Bytes per second seen by the kernel program | A
Kernel losses per second | B
Stream gaps and resyncs per second | A
Stream gaps and resyncs per second | B
Bytes missing and skipped per second | A
Flow table evictions and reassembly overflows per second | A
Flow table evictions and reassembly overflows per second | C
EOF
# Grafana's $__rate_interval is at least 4 scrape intervals; 5m keeps the
# burst in every window however slow this machine is.
ip netns exec "$NS" "${CHECK[@]}" queries "$DASH" "http://127.0.0.1:$PPORT" --job wstrace --instance '.+' \
	--rate-interval 5m --range 15m --filled "$TMP/filled.txt" --rules "$RULES" ||
	fail "dashboard queries against Prometheus"
ip netns exec "$NS" "${CHECK[@]}" queries "$DASH" "http://127.0.0.1:$PPORT" --job wstrace --instance "$I2" \
	--rate-interval 5m --range 15m || fail "dashboard queries for one instance"
ip netns exec "$NS" "${CHECK[@]}" queries "$DASH" "http://127.0.0.1:$PPORT" --job wstrace --instance 'no-such:1' \
	--rate-interval 5m --range 15m --expect-empty || fail "a query ignores the instance variable"
ip netns exec "$NS" "${CHECK[@]}" queries "$DASH" "http://127.0.0.1:$PPORT" --job no-such-job --instance '.+' \
	--rate-interval 5m --range 15m --expect-empty || fail "a query ignores the job variable"
for m in syntax unknown-metric label-value; do
	"${CHECK[@]}" mutate "$m" "$DASH" "$TMP/$m.json"
	must_fail "mutation $m" ip netns exec "$NS" "${CHECK[@]}" queries "$TMP/$m.json" "http://127.0.0.1:$PPORT" \
		--job wstrace --instance '.+' --rate-interval 5m --range 15m
done
must_fail "a filled query returning nothing" ip netns exec "$NS" "${CHECK[@]}" queries "$DASH" "http://127.0.0.1:$PPORT" \
	--job wstrace --instance "$I2" --rate-interval 5m --range 15m --filled "$TMP/filled.txt"

info "both wstrace instances stop cleanly"
stop_wstrace "$W1" "$TMP/w1.err"
stop_wstrace "$W2" "$TMP/w2.err"
