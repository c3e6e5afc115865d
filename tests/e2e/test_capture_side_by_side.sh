#!/usr/bin/env bash
# Instances side by side: two or three wstrace processes on the same hook, in
# tcx mode, clsact mode and mixed, each sees every SYN of a known number of
# connections. One of them stops (its filters and, in clsact mode, possibly
# the qdisc the others use are at stake) and the others still see every SYN.
# When all have stopped, nothing of theirs is left: no tcx link, filter,
# clsact qdisc, program or map.
. "$(dirname "$0")/lib.sh"
need_root
TCXQ=$ROOT/$BUILD/tools/tcx_query
[ -x "$TCXQ" ] || fail "no $TCXQ (make tests-build)"

new_ns side >/dev/null
NS=wst-side-$E2E_ID
PORT=7281
N=20

syns() { grep -c '"event":"tcp_syn"' "$TMP/$1.json" 2>/dev/null; }

# traffic ROUND: N connections to PORT, served by the client itself.
traffic() {
	ip netns exec "$NS" timeout 60 "$PY" "$ROOT/tests/e2e/steady_conns.py" "$PORT" "$N" "$TMP/progress" \
		>"$TMP/traffic.out" 2>&1 || { cat "$TMP/traffic.out"; fail "traffic round $1 failed"; }
}

# wait_syns NAME WANT: until NAME's output has WANT SYNs (bounded). The
# exact count is checked once the instance has exited and drained its ring.
syns_reach() { [ "$(syns "$1")" -ge "$2" ]; }
wait_syns() { wait_until 20 syns_reach "$1" "$2" || fail "$1 saw $(syns "$1") SYNs, want $2"; }

expect_clean() {
	expect_eq "$(hook_count "$NS" lo ingress) $(hook_count "$NS" lo egress)" "0 0" "attachments on lo"
	expect_eq "$(tc -n "$NS" qdisc show dev lo | grep -c clsact)" 0 "clsact qdiscs on lo"
}

# scenario MODE...: one instance per MODE (tcx or clsact), started in order;
# N connections; the first stops; N more; the others stop; all cleaned up.
scenario() {
	local modes=("$@") names=() pids=() all_ids=() i name
	info "side by side: ${modes[*]}"
	for i in "${!modes[@]}"; do
		name="i$i-${modes[$i]}"
		names+=("$name")
		: >"$TMP/$name.json"
		if [ "${modes[$i]}" = clsact ]; then
			start_wstrace "$NS" "$TMP/$name.json" "$TMP/$name.err" -i lo -p $PORT --json --clsact
		else
			start_wstrace "$NS" "$TMP/$name.json" "$TMP/$name.err" -i lo -p $PORT --json
		fi
		pids+=("$WSTRACE_PID")
		grep -q "(${modes[$i]}, ingress only)" "$TMP/$name.err" || { cat "$TMP/$name.err"; fail "$name did not attach in ${modes[$i]} mode"; }
	done
	grep -h "stale" "$TMP"/i*.err && fail "an instance removed a live instance's filter as stale"
	for i in "${!names[@]}"; do
		mapfile -t -O "${#all_ids[@]}" all_ids < <(bpf_ids "${pids[$i]}")
	done
	[ "${#all_ids[@]}" -ge "${#names[@]}" ] || fail "no program ids found for the instances"

	traffic 1
	for name in "${names[@]}"; do wait_syns "$name" $N; done

	stop_wstrace "${pids[0]}" "$TMP/${names[0]}.err"
	expect_eq "$(syns "${names[0]}")" $N "SYNs seen by ${names[0]}, stopped after round 1"
	traffic 2
	for i in "${!names[@]}"; do
		[ "$i" -eq 0 ] && continue
		wait_syns "${names[$i]}" $((2 * N))
	done
	for i in "${!names[@]}"; do
		[ "$i" -eq 0 ] && continue
		stop_wstrace "${pids[$i]}" "$TMP/${names[$i]}.err"
		expect_eq "$(syns "${names[$i]}")" $((2 * N)) "SYNs seen by ${names[$i]} in both rounds"
	done
	expect_clean
	expect_bpf_freed "the instances" "${all_ids[@]}"
	rm -f "$TMP"/i*.json "$TMP"/i*.err
}

scenario tcx tcx
scenario clsact clsact
scenario tcx clsact
scenario clsact tcx clsact
scenario clsact clsact clsact
