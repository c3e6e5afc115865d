#!/usr/bin/env bash
# /metrics for a fleet: TLS with client certificates and basic auth from a
# web config file (the exporter toolkit's format, --web-config), with
# certificates made here by openssl (a CA, the server, a client; a second CA
# and a client it signs, which the server must refuse) and a bcrypt hash.
# - curl checks each case: the right certificate and password (200), a wrong
#   or no password (401), no client certificate or one of the wrong CA (the
#   handshake fails), plain HTTP to the TLS port (400), TLS 1.2 with the
#   configured cipher suites only; each is counted in
#   wstrace_metrics_http_requests_total{code};
# - a real Prometheus scrapes over TLS with basic auth (scheme https,
#   tls_config, basic_auth) and its scrapes with a wrong password or without
#   the client certificate fail; promtool checks a scrape (not empty);
# - SIGHUP re-reads the file: a new password applies, a bad file is one line
#   naming the key and the running config stays;
# - a bad web config at start: exit 64 (content) or 66 (a file missing), one
#   line naming the key; a non-loopback address without TLS or auth warns.
# The runner runs it again with the sanitized binary (ASAN_E2E).
. "$(dirname "$0")/lib.sh"
need_root
for tool in prometheus promtool openssl curl; do
	command -v "$tool" >/dev/null || fail "$tool missing (Debian packages prometheus, openssl, curl)"
done
"$PY" -c 'import bcrypt' 2>/dev/null || fail "python3-bcrypt missing (Debian package python3-bcrypt)"

NS=$(new_ns tls)
MPORT=19274
PPORT=19091
PASS=scrape-s3cret
D=$TMP/web
mkdir -p "$D"

info "certificates (openssl) and a bcrypt hash"
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
make_ca() { # NAME CN
	ec_key "$D/$1.key"
	openssl req -x509 -new -key "$D/$1.key" -out "$D/$1.crt" -days 2 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign ||
		fail "openssl: CA $1"
}
make_leaf() { # NAME CA CN EXTENSIONS
	ec_key "$D/$1.key"
	openssl req -new -key "$D/$1.key" -out "$D/$1.csr" -subj "/CN=$3" || fail "openssl: request $1"
	printf '%s\n' "$4" basicConstraints=CA:FALSE keyUsage=digitalSignature >"$D/$1.ext"
	openssl x509 -req -in "$D/$1.csr" -CA "$D/$2.crt" -CAkey "$D/$2.key" -CAcreateserial -days 2 \
		-extfile "$D/$1.ext" -out "$D/$1.crt" 2>/dev/null || fail "openssl: certificate $1"
}
make_ca ca "wstrace test CA"
make_ca rogue "another CA"
make_leaf server ca wstrace "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
make_leaf client ca prometheus "extendedKeyUsage=clientAuth"
make_leaf rogue_client rogue prometheus "extendedKeyUsage=clientAuth"
openssl verify -CAfile "$D/ca.crt" "$D/server.crt" "$D/client.crt" >/dev/null || fail "openssl verify"
bcrypt_hash() { "$PY" -c 'import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(10)).decode())' "$1"; }
HASH=$(bcrypt_hash "$PASS")
case "$HASH" in '$2b$10$'*) ;; *) fail "no bcrypt hash: '$HASH'" ;; esac

# web_config PASSWORD_HASH: the file, paths relative to its folder.
web_config() {
	cat <<EOF
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS12
  cipher_suites:
    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
basic_auth_users:
  prometheus: '$1'
EOF
}
web_config "$HASH" >"$D/web.yml"

info "a bad web config at start: one line naming the key, exit 64 or 66"
PCAP=$ROOT/tests/data/pcap/lo_any_sll2.pcap
[ -r "$PCAP" ] || fail "no capture $PCAP"
start_fails() { # STATUS WANT_TEXT WHAT: wstrace with $D/bad.yml
	local want=$1 text=$2 what=$3 rc lines
	"$WSTRACE" --web-config "$D/bad.yml" -r "$PCAP" >/dev/null 2>"$TMP/bad.out"; rc=$?
	lines=$(wc -l <"$TMP/bad.out")
	[ "$rc" -eq "$want" ] && [ "$lines" -eq 1 ] && grep -qF -- "$text" "$TMP/bad.out" ||
		{ cat "$TMP/bad.out"; fail "$what: exit $rc with $lines lines, want $want and one line with '$text'"; }
	echo "ok: $what: exit $rc: $(cat "$TMP/bad.out")"
}
web_config "$HASH" | sed 's/TLS12/TLS9/' >"$D/bad.yml"
start_fails 64 "tls_server_config.min_version" "an unknown TLS version"
web_config 'plain-text' >"$D/bad.yml"
start_fails 64 "basic_auth_users.prometheus: not a bcrypt hash" "a password that is not a bcrypt hash"
web_config "$HASH" | sed 's/key_file: server.key/key_file: missing.key/' >"$D/bad.yml"
start_fails 66 "tls_server_config.key_file" "a key file that is missing"
rm -f "$D/bad.yml"
start_fails 66 "bad.yml" "a web config that is missing"

info "a non-loopback address without TLS or authentication warns"
# 0.0.0.0 in this namespace reaches only its lo; port 0 picks a free port.
start_wstrace "$NS" /dev/null "$TMP/open.err" -i lo -p 7272 -q --metrics 0.0.0.0:0
grep -q "metrics: the endpoint is not on loopback and has neither TLS nor basic authentication" "$TMP/open.err" ||
	{ cat "$TMP/open.err"; fail "no warning for an open non-loopback endpoint"; }
echo "ok: $(grep -m1 'not on loopback' "$TMP/open.err")"
stop_wstrace

info "wstrace with TLS, client certificates and basic auth on 0.0.0.0:$MPORT"
start_wstrace "$NS" /dev/null "$TMP/w.err" -i lo -p 7272 -q --metrics "0.0.0.0:$MPORT" --web-config "$D/web.yml"
WPID=$WSTRACE_PID
grep -q "metrics on https://0.0.0.0:$MPORT/metrics" "$TMP/w.err" || { cat "$TMP/w.err"; fail "no https endpoint said"; }
grep -q "not on loopback" "$TMP/w.err" && fail "a warning although TLS and authentication are on"
wait_port "$NS" "$MPORT"

URL=https://127.0.0.1:$MPORT/metrics
# scrape OUT CURL_ARGS...: curl in the namespace; prints the HTTP status
# (000 when no response came) and keeps the body in OUT.
scrape() {
	local out=$1; shift
	ip netns exec "$NS" curl -sS --max-time 10 -o "$out" -w '%{http_code}' "$@" 2>>"$TMP/curl.err"
}
GOOD=(--cacert "$D/ca.crt" --cert "$D/client.crt" --key "$D/client.key")
# count CODE: the counter of CODE in a fresh good scrape.
count() {
	scrape "$TMP/count.txt" "${GOOD[@]}" -u "prometheus:$PASS" "$URL" >/dev/null
	awk -v k="wstrace_metrics_http_requests_total{code=\"$1\"}" '$1 == k {print $2}' "$TMP/count.txt"
}

info "curl, case by case"
expect_eq "$(scrape "$TMP/scrape.txt" "${GOOD[@]}" -u "prometheus:$PASS" "$URL")" 200 "client certificate and password"
expect_ge "$(grep -c '^wstrace_' "$TMP/scrape.txt")" 50 "samples in the TLS scrape"
promtool check metrics <"$TMP/scrape.txt" || fail "promtool rejects the TLS scrape"
echo "ok: promtool accepts $(grep -c '^wstrace_' "$TMP/scrape.txt") samples"
expect_eq "$(scrape "$TMP/r.txt" "${GOOD[@]}" -u "prometheus:wrong" "$URL")" 401 "a wrong password"
expect_eq "$(scrape "$TMP/r.txt" "${GOOD[@]}" -u "nobody:$PASS" "$URL")" 401 "an unknown user"
expect_eq "$(scrape "$TMP/r.txt" "${GOOD[@]}" "$URL")" 401 "no password"
grep -q 'WWW-Authenticate' <(ip netns exec "$NS" curl -sS -D - -o /dev/null "${GOOD[@]}" "$URL") ||
	fail "401 without WWW-Authenticate"
expect_eq "$(scrape "$TMP/r.txt" --cacert "$D/ca.crt" -u "prometheus:$PASS" "$URL")" 000 "no client certificate"
expect_eq "$(scrape "$TMP/r.txt" --cacert "$D/ca.crt" --cert "$D/rogue_client.crt" --key "$D/rogue_client.key" \
	-u "prometheus:$PASS" "$URL")" 000 "a client certificate of another CA"
expect_eq "$(scrape "$TMP/plain.txt" -u "prometheus:$PASS" "http://127.0.0.1:$MPORT/metrics")" 400 "plain HTTP to the TLS port"
grep -q "HTTP request to an HTTPS server" "$TMP/plain.txt" || fail "the 400 does not say why"
# TLS 1.2 offers only what cipher_suites lists; a suite it does not list fails.
ip netns exec "$NS" curl -sv --max-time 10 -o /dev/null --tls-max 1.2 "${GOOD[@]}" -u "prometheus:$PASS" "$URL" \
	2>"$TMP/tls12.txt" || { cat "$TMP/tls12.txt"; fail "TLS 1.2 scrape"; }
grep -E "SSL connection using TLSv1.2 / ECDHE-ECDSA-AES(128|256)-GCM" "$TMP/tls12.txt" ||
	{ grep SSL "$TMP/tls12.txt"; fail "TLS 1.2 did not use a configured suite"; }
expect_eq "$(scrape "$TMP/r.txt" --tls-max 1.2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305 "${GOOD[@]}" \
	-u "prometheus:$PASS" "$URL")" 000 "TLS 1.2 with a suite not configured"
expect_ge "$(count 401)" 3 "401 counted"
expect_ge "$(count 400)" 1 "plain HTTP counted as 400"
expect_ge "$(count tls_client_cert_missing)" 1 "handshakes without a client certificate counted"
expect_ge "$(count tls_client_cert_invalid)" 1 "client certificates of another CA counted"
expect_ge "$(count tls_handshake_failed)" 1 "a handshake without a common suite counted"

info "a real Prometheus scrapes over TLS with basic auth"
# prom_job NAME PASSWORD WITH_CLIENT_CERT: one scrape job of wstrace over TLS.
prom_job() {
	cat <<EOF
  - job_name: $1
    scheme: https
    tls_config:
      ca_file: $D/ca.crt
EOF
	[ "$3" = yes ] && printf '      cert_file: %s\n      key_file: %s\n' "$D/client.crt" "$D/client.key"
	cat <<EOF
    basic_auth:
      username: prometheus
      password: $2
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
}
# Jobs that must fail: a wrong password, and no client certificate.
{
	printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n'
	prom_job wstrace "$PASS" yes
	prom_job wrong_password not-it yes
	prom_job no_client_cert "$PASS" no
} >"$TMP/prom.yml"
promtool check config "$TMP/prom.yml" >/dev/null || fail "promtool rejects the test's Prometheus configuration"
bg "$NS" prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn 2>"$TMP/prom.log"
api() { # PATH -> JSON
	ip netns exec "$NS" curl -sS --max-time 5 "http://127.0.0.1:$PPORT$1"
}
promql() { # QUERY -> the single value, or "none"
	api "/api/v1/query?query=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")" |
		"$PY" -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "none" if not r else "many")'
}
# promql_ge QUERY N: the query's single value is at least N.
promql_ge() { local v; v=$(promql "$1"); [ "$v" != none ] && [ "$v" != many ] && [ "${v%.*}" -ge "$2" ]; }
prom_ready() { api /-/ready >/dev/null 2>&1; }
wait_for 60 "prometheus to become ready" prom_ready
wait_for 60 "Prometheus to scrape wstrace over TLS" prints 1 promql 'up{job="wstrace"}'
wait_for 30 "samples of wstrace in Prometheus" prints 1 promql 'count(wstrace_build_info{job="wstrace"})'
# Prometheus staggers its targets' first scrapes over the interval: wait for
# each job's first result (up = 0; it never becomes 1 if the endpoint holds).
wait_for 30 "Prometheus with a wrong password: target down (up = 0)" prints 0 promql 'up{job="wrong_password"}'
wait_for 30 "Prometheus without a client certificate: target down (up = 0)" prints 0 promql 'up{job="no_client_cert"}'
# Its own scrapes, as wstrace counted them and Prometheus stored them.
wait_for 30 "Prometheus to store 401s of its wrong-password job" \
	promql_ge 'wstrace_metrics_http_requests_total{job="wstrace",code="401"}' 4
wait_for 30 "Prometheus to store handshakes without a client certificate" \
	promql_ge 'wstrace_metrics_http_requests_total{job="wstrace",code="tls_client_cert_missing"}' 2
info "the scrape log: Prometheus's targets"
api /api/v1/targets | "$PY" -c '
import json, sys
for t in sorted(json.load(sys.stdin)["data"]["activeTargets"], key=lambda t: t["labels"]["job"]):
    print("%-15s %-5s %s %s" % (t["labels"]["job"], t["health"], t["scrapeUrl"], t["lastError"] or "-"))' |
	tee "$TMP/targets.txt"
grep -q '^wstrace  *up  *https://' "$TMP/targets.txt" || fail "the TLS job is not up"
grep -q '^wrong_password  *down .*401' "$TMP/targets.txt" || fail "the wrong-password job is not down with 401"
grep -q '^no_client_cert  *down' "$TMP/targets.txt" || fail "the job without a client certificate is not down"

info "SIGHUP: a new password applies, a bad file keeps the running one"
NEW=new-s3cret
web_config "$(bcrypt_hash "$NEW")" >"$D/web.yml.new" && mv "$D/web.yml.new" "$D/web.yml"
kill -HUP "$WPID"
wait_for 30 "the reload to apply the web config" grep -q "reload: web config $D/web.yml applied" "$TMP/w.err"
expect_eq "$(scrape "$TMP/r.txt" "${GOOD[@]}" -u "prometheus:$NEW" "$URL")" 200 "the new password after the reload"
expect_eq "$(scrape "$TMP/r.txt" "${GOOD[@]}" -u "prometheus:$PASS" "$URL")" 401 "the old password after the reload"
web_config "$(bcrypt_hash "$NEW")" | sed 's/RequireAndVerifyClientCert/RequireVerifiedClientCert/' >"$D/web.yml.new" &&
	mv "$D/web.yml.new" "$D/web.yml"
kill -HUP "$WPID"
wait_for 30 "the reload to refuse the bad web config" grep -q "the running web config is kept" "$TMP/w.err"
line=$(grep "the running web config is kept" "$TMP/w.err")
echo "$line"
expect_eq "$(printf '%s\n' "$line" | wc -l)" 1 "lines about the bad web config"
case "$line" in *"tls_server_config.client_auth_type"*) ;; *) fail "the reload error does not name the key" ;; esac
expect_eq "$(scrape "$TMP/r.txt" "${GOOD[@]}" -u "prometheus:$NEW" "$URL")" 200 "the kept config still answers"
expect_eq "$(scrape "$TMP/r.txt" --cacert "$D/ca.crt" -u "prometheus:$NEW" "$URL")" 000 \
	"the kept config still requires the client certificate"
gone "$WPID" && fail "wstrace exited"

stop_wstrace "$WPID" "$TMP/w.err"
