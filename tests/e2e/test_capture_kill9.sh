#!/usr/bin/env bash
# kill -9 in every mode mix (clsact->tcx, tcx->clsact, clsact->clsact,
# tcx->tcx): the next start, whatever its mode, leaves exactly one attachment
# per hook (lo ingress, both directions of a veth), frees every program and
# map of the killed instance, sees each SYN once, and once it exits leaves no
# tcx link, filter, clsact qdisc, program or map behind.
. "$(dirname "$0")/lib.sh"
need_root
TCXQ=$ROOT/$BUILD/tools/tcx_query
[ -x "$TCXQ" ] || fail "no $TCXQ (make tests-build)"

new_ns k9 >/dev/null
new_ns k9p >/dev/null
NS=wst-k9-$E2E_ID
veth_pair "$NS" "wst-k9p-$E2E_ID"
VETH=wva$E2E_ID
PORT=7282
N=20

expect_hooks() { # expect_hooks N LABEL: N attachments on each captured hook, none on lo egress
	expect_eq "$(hook_count "$NS" lo ingress) $(hook_count "$NS" "$VETH" ingress) $(hook_count "$NS" "$VETH" egress)" \
		"$1 $1 $1" "attachments on lo in, $VETH in, $VETH out $2"
	expect_eq "$(hook_count "$NS" lo egress)" 0 "attachments on lo egress $2"
}

expect_no_qdisc() {
	expect_eq "$(tc -n "$NS" qdisc show | grep -c clsact)" 0 "clsact qdiscs $1"
}

mode_args() { [ "$1" = clsact ] && echo --clsact; }
syns() { grep -c '"event":"tcp_syn"' "$TMP/second.json"; }
syns_reach() { [ "$(syns)" -ge "$1" ]; }

mix() {
	local m1=$1 m2=$2 first second1 second_ids first_ids syn
	info "kill -9 of a $m1 instance, then a $m2 start"
	# shellcheck disable=SC2046 # mode_args gives zero or one word
	start_wstrace "$NS" /dev/null "$TMP/first.err" -i any -p $PORT -q $(mode_args "$m1")
	first=$WSTRACE_PID
	grep -q "listening on 3 hooks ($m1)" "$TMP/first.err" || { cat "$TMP/first.err"; fail "first instance did not attach 3 hooks in $m1 mode"; }
	mapfile -t first_ids < <(bpf_ids "$first")
	kill -9 "$first"
	wait "$first" 2>/dev/null
	if [ "$m1" = clsact ]; then
		expect_hooks 1 "with the killed instance's filters left"
	else
		expect_hooks 0 "after the tcx instance was killed"
	fi

	# shellcheck disable=SC2046
	start_wstrace "$NS" "$TMP/second.json" "$TMP/second.err" -i any -p $PORT --json $(mode_args "$m2")
	second1=$WSTRACE_PID
	grep -q "listening on 3 hooks ($m2)" "$TMP/second.err" || { cat "$TMP/second.err"; fail "second instance not in $m2 mode"; }
	mapfile -t second_ids < <(bpf_ids "$second1")
	expect_hooks 1 "after the restart"
	if [ "$m1" = clsact ]; then
		grep -q "removed 1 stale filter on lo" "$TMP/second.err" || { cat "$TMP/second.err"; fail "the killed instance's filter on lo was not reported as removed"; }
		[ "$m2" = tcx ] && expect_no_qdisc "after the restart in tcx mode"
	fi
	expect_bpf_freed "the killed $m1 instance" "${first_ids[@]}"

	ip netns exec "$NS" timeout 60 "$PY" "$ROOT/tests/e2e/steady_conns.py" "$PORT" "$N" "$TMP/progress" \
		>"$TMP/traffic.out" 2>&1 || { cat "$TMP/traffic.out"; fail "traffic failed"; }
	wait_until 20 syns_reach $N
	stop_wstrace "$second1" "$TMP/second.err"
	syn=$(syns)
	expect_eq "$syn" $N "SYNs seen by the second instance"

	expect_hooks 0 "after the second instance exited"
	expect_no_qdisc "after the second instance exited"
	expect_bpf_freed "the second instance" "${second_ids[@]}"
	rm -f "$TMP/first.err" "$TMP/second.err" "$TMP/second.json"
}

mix clsact tcx
mix tcx clsact
mix clsact clsact
mix tcx tcx
