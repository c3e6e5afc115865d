#!/usr/bin/env bash
# Reloads under steady traffic: about 3000 connections on lo, one after the
# other, while the daemon is sent SIGHUP 10 times, spread over the traffic: lo <-> any (any adds a veth),
# tcx <-> clsact, both at once, and two that fail (a missing interface, a bad
# config line). Every SYN is counted exactly once by the kernel program and
# by the decoder, nothing is lost, each failed reload says one line and
# changes nothing, the daemon keeps running, and once stopped it leaves
# nothing attached.
. "$(dirname "$0")/lib.sh"
need_root
TCXQ=$ROOT/$BUILD/tools/tcx_query
[ -x "$TCXQ" ] || fail "no $TCXQ (make tests-build)"

new_ns rl >/dev/null
new_ns rlp >/dev/null
NS=wst-rl-$E2E_ID
veth_pair "$NS" "wst-rlp-$E2E_ID"
VETH=wva$E2E_ID
PORT=7291
MPORT=19291
GAP=150   # connections at least before each reload, and after the last
MAXN=20000
CONF=$TMP/wstrace.conf
ERR=$TMP/d.err

scrape() { http_get "$NS" "http://127.0.0.1:$MPORT/metrics"; }
# metric NAME: the sum of NAME's samples over its labels.
metric() { scrape | awk -v m="$1" 'index($1, m) == 1 && (length($1) == length(m) || substr($1, length(m) + 1, 1) == "{") {s += $2} END {print s + 0}'; }

conf() { printf 'port = %s\nmetrics = 127.0.0.1:%s\n%s\n' "$PORT" "$MPORT" "$1" >"$CONF"; }
outcomes() { grep -c "reloaded:\|reload failed\|reload: keeping" "$ERR"; }
outcomes_above() { [ "$(outcomes)" -gt "$1" ]; }

# hooks DEV DIR: "tcx" or "clsact" if exactly one of ours is on it, "-" if none.
hooks() {
	local tcx cls
	tcx=$(ip netns exec "$NS" "$TCXQ" "$1" | awk -v h="$2" '$1==h {print $2}')
	cls=$(($(hook_count "$NS" "$1" "$2") - tcx))
	case "$tcx $cls" in
	"1 0") echo tcx ;;
	"0 1") echo clsact ;;
	"0 0") echo - ;;
	*) echo "tcx=$tcx,clsact=$cls" ;;
	esac
}
state() { echo "lo:$(hooks lo ingress) $VETH:$(hooks "$VETH" ingress)/$(hooks "$VETH" egress)"; }

# reload CONFIG WANT: write the config, SIGHUP, wait for the outcome line;
# WANT is the attachment state after it, or "failed" (then unchanged, and
# said in one "reload failed" line; checked at the end, after the counts).
LATE=""
reload() {
	local before was
	before=$(outcomes)
	was=$(state)
	conf "$1"
	kill -HUP "$DPID"
	wait_until 20 outcomes_above "$before" || { cat "$ERR"; fail "no outcome for reload '$1'"; }
	if [ "$2" = failed ]; then
		expect_eq "$(state)" "$was" "attachments after failed reload '$(echo "$1" | paste -sd' ')'"
		tail -n 1 "$ERR" | grep -q "reload failed: .*; the running settings are kept" ||
			LATE="$LATE; reload '$1' said: $(tail -n 1 "$ERR")"
	else
		expect_eq "$(state)" "$2" "attachments after reload '$(echo "$1" | paste -sd' ')'"
	fi
}

conf "interface = lo"
start_wstrace "$NS" /dev/null "$ERR" --daemon --config "$CONF"
DPID=$WSTRACE_PID
expect_eq "$(state)" "lo:tcx $VETH:-/-" "attachments at start"

info "steady connections, 10 reloads, each after at least $GAP more connections"
bg "$NS" "$PY" "$ROOT/tests/e2e/steady_conns.py" $PORT $MAXN "$TMP/progress" "$TMP/stop" >"$TMP/traffic.out" 2>&1
TRAFFIC=${PIDS[-1]}
progress() { cat "$TMP/progress" 2>/dev/null || echo 0; }
# progress_reaches N: the traffic made N connections (or it ended).
progress_reaches() { [ "$(progress)" -ge "$1" ] || gone "$TRAFFIC"; }
ANY_TCX="lo:tcx $VETH:tcx/tcx"
ANY_CLS="lo:clsact $VETH:clsact/clsact"
LO_TCX="lo:tcx $VETH:-/-"
LO_CLS="lo:clsact $VETH:-/-"
steps=(
	"interface = any|$ANY_TCX"
	"interface = lo
clsact = true|$LO_CLS"
	"interface = nope$E2E_ID|failed"
	"interface = any
clsact = true|$ANY_CLS"
	"interface = lo|$LO_TCX"
	"interface = lo
no-such-setting = 1|failed"
	"interface = lo
clsact = true|$LO_CLS"
	"interface = any|$ANY_TCX"
	"interface = any
clsact = true|$ANY_CLS"
	"interface = lo|$LO_TCX"
)
at=0
for i in "${!steps[@]}"; do
	at=$((at + GAP))
	wait_until 60 progress_reaches $at
	[ "$(progress)" -ge $at ] || { cat "$TMP/traffic.out"; fail "traffic stalled before $at connections"; }
	reload "${steps[$i]%|*}" "${steps[$i]#*|}"
	at=$(progress)
done
# Traffic on across the last reload too, then stop it.
wait_until 60 progress_reaches $((at + GAP))
touch "$TMP/stop"
wait_until 30 gone "$TRAFFIC" || fail "the traffic did not stop"
wait "$TRAFFIC" || { cat "$TMP/traffic.out"; fail "traffic failed"; }
N=$(sed -n 's/^sent \([0-9]*\)$/\1/p' "$TMP/traffic.out")
[ -n "$N" ] || { cat "$TMP/traffic.out"; fail "traffic did not finish"; }
expect_ge "$N" $((11 * GAP)) "connections made"

info "every SYN once"
gone "$DPID" && { cat "$ERR"; fail "the daemon died"; }
handshakes_reach() { [ "$(metric 'wstrace_tcp_handshakes_total')" -ge "$1" ]; }
wait_until 20 handshakes_reach $N
expect_eq "$(metric 'wstrace_tcp_flags_total{flag="syn"}')" $N "SYNs counted by the kernel program"
expect_eq "$(metric 'wstrace_tcp_handshakes_total{outcome="established"}')" $N "handshakes decoded"
expect_eq "$(metric 'wstrace_ringbuf_lost_total')" 0 "packets lost"
expect_eq "$(metric 'wstrace_tcp_packets_total')" "$(metric 'wstrace_packets_total')" "packets decoded = packets seen by the kernel program"
[ -z "$LATE" ] || fail "failed reloads not said in one line${LATE}"
expect_eq "$(grep -c 'reload failed' "$ERR")" 2 "failed reloads reported"
expect_eq "$(grep -c 'wstrace: failed' "$ERR")" 0 "other failures reported"

info "stop"
stop_wstrace "$DPID" "$ERR" TERM
captured=$(sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$ERR")
seen=$(sed -n 's/^\([0-9]*\) packets seen by the kernel program$/\1/p' "$ERR")
[ -n "$captured" ] && [ "$captured" -gt 0 ] || { cat "$ERR"; fail "no summary"; }
expect_eq "$captured" "$seen" "packets captured = packets seen by the kernel program"
for dev in lo "$VETH"; do
	expect_eq "$(ip netns exec "$NS" "$TCXQ" "$dev" | paste -sd' ')" "ingress 0 egress 0" "tcx programs on $dev after exit"
	expect_eq "$(tc -n "$NS" qdisc show dev "$dev" | grep -c clsact)" 0 "clsact qdisc on $dev after exit"
done
