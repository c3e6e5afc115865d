# Shared helpers for end-to-end tests. Source it; it sets a cleanup trap.
#
# Each test gets unique namespace names, ports and a temp directory, so tests
# can run side by side. Exit 77 means "skipped" (the runner counts it as a
# failure under CI=true).
#
# A test must be able to fail: wait for conditions (wait_for, tcp_settled),
# never for a fixed time; stop wstrace with stop_wstrace (exit status 0 and no
# sanitizer report, or the test fails); check an oracle produced something
# before comparing with it. WSTRACE_BUILD=build-asan runs the sanitized binary.
set -u

E2E_ID="$$$RANDOM"
E2E_ID=${E2E_ID:0:9}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${WSTRACE_BUILD:-build}
WSTRACE=$ROOT/$BUILD/wstrace
# ./wstrace stands in only when no build was asked for: a sanitized run must
# never quietly test the plain binary.
[ -x "$WSTRACE" ] || [ -n "${WSTRACE_BUILD:-}" ] || WSTRACE=$ROOT/wstrace
# Sanitized builds: every report is fatal and leaks are reported at exit (as in
# tests/run.sh). Reports go to stderr, which stop_wstrace and the cleanup read.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:abort_on_error=1}
SANITIZER_REPORT='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'
PY=/usr/bin/python3
TMP=$(mktemp -d "/tmp/wstrace-e2e-$E2E_ID.XXXXXX")
NAMESPACES=()
PIDS=()

# e2e_cleanup [STATUS]: the test's exit status is STATUS (default: $? when
# called, i.e. the status the EXIT trap was entered with), or 1 when a
# sanitizer report turns up. A test with its own EXIT trap passes the status
# it saw on entry, since the trap's other commands change $?.
e2e_cleanup() {
	local rc=${1:-$?} pid ns f
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		# Give each a moment to detach cleanly, then force.
		wait_until 2 gone "$pid"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# new_ns runs in $(...) subshells: find this test's namespaces by name.
	for ns in "${NAMESPACES[@]}" $(ip netns list 2>/dev/null | awk '{print $1}' | grep -- "-$E2E_ID\$"); do
		ip netns del "$ns" 2>/dev/null
	done
	# A sanitizer report in any stderr file fails the test, whatever it checked.
	for f in "$TMP"/*.err; do
		grep -qE "$SANITIZER_REPORT" "$f" 2>/dev/null || continue
		echo "FAIL: sanitizer report in $(basename "$f"):"
		grep -E -A 30 "$SANITIZER_REPORT" "$f" | head -n 60
		rc=1
	done
	rm -rf "$TMP"
	exit "$rc"
}
trap e2e_cleanup EXIT
[ -n "${E2E_KEEP:-}" ] && trap - EXIT

# cgroup_cleanup DIR: kill what is left in the cgroup v2 groups under DIR
# (the test's own, holding only processes it started), then remove them,
# deepest first. For a test's EXIT trap, before e2e_cleanup.
cgroup_cleanup() {
	local top=$1 d pid
	[ -d "$top" ] || return 0
	for d in $(find "$top" -depth -type d); do
		for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	done
	for d in $(find "$top" -depth -type d); do
		wait_until 5 prints "" cat "$d/cgroup.procs"
		rmdir "$d" 2>/dev/null || echo "warning: cannot remove cgroup $d"
	done
}

skip() { echo "skip: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
info() { echo "--- $*"; }

# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds; status 1
# once SECONDS (whole seconds) have passed without success.
wait_until() {
	local end=$(( ${EPOCHREALTIME/./} + $1 * 1000000 )); shift
	until "$@"; do
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# wait_for SECONDS WHAT CMD...: wait_until, or the test fails naming WHAT.
wait_for() {
	local secs=$1 what=$2; shift 2
	wait_until "$secs" "$@" || fail "waited ${secs}s for $what"
}

# prints VALUE CMD...: CMD prints exactly VALUE (a condition for wait_for).
prints() { [ "$("${@:2}")" = "$1" ]; }

# gone PID: the process has exited (and was reaped).
gone() { ! kill -0 "$1" 2>/dev/null; }

# tcp_settled NS PORT...: no TCP connection on these ports in NS is open or
# closing any more (only LISTEN and TIME-WAIT sockets are left). Every packet
# of those connections has then passed the TC hooks in NS, so it is in
# wstrace's ring buffer, which wstrace drains before it exits.
tcp_settled() {
	local ns=$1 port f=""; shift
	for port; do f="$f${f:+ or }sport = :$port or dport = :$port"; done
	! ip netns exec "$ns" ss -Htan "( $f )" | awk '$1 != "LISTEN" && $1 != "TIME-WAIT"' | grep -q .
}

# settle NS PORT...: wait (bounded) until tcp_settled.
settle() {
	local ns=$1; shift
	wait_until 30 tcp_settled "$ns" "$@" ||
		{ ip netns exec "$ns" ss -tan; fail "connections on ports $* in $ns did not close within 30s"; }
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v ip >/dev/null || skip "needs iproute2"
	[ -x "$WSTRACE" ] || fail "no wstrace binary at $WSTRACE (run make)"
}

# new_ns NAME: a namespace with lo up; prints its full name.
new_ns() {
	local ns="wst-$1-$E2E_ID"
	ip netns add "$ns" || fail "cannot create namespace $ns"
	NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up
	echo "$ns"
}

# veth_pair NS_A NS_B: a veth link between two namespaces with documentation
# addresses (198.51.100.1/.2, 2001:db8::1/::2) that are never routed.
veth_pair() {
	local a=$1 b=$2 va="wva$E2E_ID" vb="wvb$E2E_ID"
	ip link add "$va" netns "$a" type veth peer name "$vb" netns "$b" || fail "cannot create veth"
	ip -n "$a" addr add 198.51.100.1/24 dev "$va"
	ip -n "$b" addr add 198.51.100.2/24 dev "$vb"
	ip -n "$a" -6 addr add 2001:db8::1/64 dev "$va" nodad
	ip -n "$b" -6 addr add 2001:db8::2/64 dev "$vb" nodad
	ip -n "$a" link set "$va" up
	ip -n "$b" link set "$vb" up
	# Offloads stay as they are: GRO/GSO super-packets are part of the test.
}

# bg NS CMD...: run in the background in a namespace; the PID goes to PIDS.
bg() {
	local ns=$1; shift
	ip netns exec "$ns" "$@" &
	PIDS+=("$!")
}

# attached_or_gone PID ERR: wstrace has attached, or has exited.
attached_or_gone() { grep -q "listening on" "$2" 2>/dev/null || gone "$1"; }

# start_wstrace NS OUT ERR ARGS...: start wstrace with -v and wait until
# attached; WSTRACE_PID and WSTRACE_ERR name it for stop_wstrace.
start_wstrace() {
	local ns=$1 out=$2 err=$3; shift 3
	ip netns exec "$ns" "$WSTRACE" -v "$@" >"$out" 2>"$err" &
	WSTRACE_PID=$! WSTRACE_ERR=$err
	PIDS+=("$WSTRACE_PID")
	wait_until 30 attached_or_gone "$WSTRACE_PID" "$err" || { cat "$err"; fail "wstrace did not attach within 30s"; }
	gone "$WSTRACE_PID" && { cat "$err"; fail "wstrace exited early"; }
	return 0
}

# stop_pid PID [SIGNAL]: SIGNAL (default INT), wait (bounded); returns the
# process's exit status.
stop_pid() {
	local pid=$1 sig=${2:-INT}
	kill -"$sig" "$pid" 2>/dev/null
	wait_until 30 gone "$pid" || { kill -9 "$pid"; fail "process $pid did not stop on SIG$sig within 30s"; }
	wait "$pid" 2>/dev/null
}

# wstrace_exit_ok RC ERR WHAT: wstrace exited 0 and ERR holds no sanitizer
# report; otherwise the test fails (a crash or a leak at shutdown is a failure).
wstrace_exit_ok() {
	local rc=$1 err=$2 what=$3
	if [ "$rc" -ne 0 ] || grep -qE "$SANITIZER_REPORT" "$err" 2>/dev/null; then
		tail -n 40 "$err"
		[ "$rc" -eq 0 ] && fail "wstrace $what: exit status 0 but a sanitizer report on stderr"
		fail "wstrace $what: exit status $rc, want 0 (a crash, an abort or an error)"
	fi
	echo "ok: wstrace $what: exit status 0"
}

# stop_wstrace [PID [ERR [SIGNAL]]]: stop a live wstrace (default: the one
# start_wstrace started) with SIGNAL (default INT). SIGINT and SIGTERM make it
# print its summary and exit 0; anything else fails the test.
stop_wstrace() {
	local pid=${1:-$WSTRACE_PID} err=${2:-$WSTRACE_ERR} sig=${3:-INT} rc
	stop_pid "$pid" "$sig"; rc=$?
	wstrace_exit_ok "$rc" "$err" "after SIG$sig"
}

# replay OUT ARGS...: wstrace ARGS (typically -r FILE ...) with stdout to OUT
# and stderr to OUT.err; the test fails unless it exits 0 without a sanitizer
# report.
replay() {
	local out=$1 rc; shift
	"$WSTRACE" "$@" >"$out" 2>"$out.err"; rc=$?
	wstrace_exit_ok "$rc" "$out.err" "${*//$TMP\//}"
}

# start_tcpdump NS PCAP TCPDUMP_ARGS...: a reference capture in NS, started
# when tcpdump says it is listening; TCPDUMP_PID and TCPDUMP_ERR name it.
start_tcpdump() {
	local ns=$1 pcap=$2; shift 2
	TCPDUMP_ERR=$pcap.err
	bg "$ns" tcpdump --immediate-mode -B 32768 -U -s 0 -w "$pcap" "$@" 2>"$TCPDUMP_ERR"
	TCPDUMP_PID=${PIDS[-1]}
	wait_until 30 grep -q "listening on" "$TCPDUMP_ERR" || { cat "$TCPDUMP_ERR"; fail "tcpdump did not start"; }
}

# stop_tcpdump: stops it and checks that the reference is usable: exit 0, at
# least one packet captured, none dropped.
stop_tcpdump() {
	local rc n
	stop_pid "$TCPDUMP_PID"; rc=$?
	n=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$TCPDUMP_ERR")
	[ "$rc" -eq 0 ] || { cat "$TCPDUMP_ERR"; fail "tcpdump exited $rc"; }
	grep -q "^0 packets dropped by kernel" "$TCPDUMP_ERR" ||
		{ cat "$TCPDUMP_ERR"; fail "tcpdump dropped packets: the reference capture is incomplete"; }
	[ "${n:-0}" -gt 0 ] || { cat "$TCPDUMP_ERR"; fail "tcpdump captured nothing: no reference to compare with"; }
	echo "ok: tcpdump captured $n packets, dropped none"
}

# listening NS PORT: something listens on TCP PORT in NS.
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q .; }

# wait_port NS PORT: until something listens on PORT (bounded).
wait_port() {
	wait_for 30 "a listener on port $2 in $1" listening "$1" "$2"
}

# http_get NS URL: the body at URL, fetched from inside NS; fails unless the
# status is 200, or after 5 s.
http_get() {
	ip netns exec "$1" "$PY" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$2"
}

# sample FILE NAME{LABELS}: the value of that sample in a scrape saved in
# FILE, or 0 when it is absent.
sample() {
	awk -v m="$2" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }' "$1"
}

# count_json FILE FILTER: number of JSON lines matching a python expression on `e`.
count_json() {
	"$PY" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if eval(sys.argv[2]): n += 1
print(n)' "$1" "$2"
}

# same_events KEY WHAT A B: the python program KEY, which prints one line per
# event of the JSON lines file argv[1], prints the same lines for A and B, and
# at least one (two empty outputs agree on nothing).
same_events() {
	local key=$1 what=$2 a=$3 b=$4 n
	"$PY" -c "$key" "$a" >"$a.keys" || fail "cannot read $a"
	"$PY" -c "$key" "$b" >"$b.keys" || fail "cannot read $b"
	n=$(wc -l <"$a.keys")
	[ "$n" -gt 0 ] || fail "$what: no events to compare"
	diff "$a.keys" "$b.keys" || fail "$what: events differ"
	echo "ok: $what: $n events identical"
}

expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
	echo "ok: $3 = $2"
}

expect_ge() {
	[ "$1" -ge "$2" ] || fail "$3: got '$1', want at least '$2'"
	echo "ok: $3 = $1 (>= $2)"
}

# --- WebSocket peers against tshark (test_ws_python.sh, test_ws_node.sh) ---

# not_available WHY: a requirement is missing: skip, or fail under CI=true
# (where a missing tool is a broken setup, not a reason to skip).
not_available() {
	[ "${CI:-}" = "true" ] && fail "$* (CI=true: not skipping)"
	skip "$*"
}

# ws_need WHAT CMD...: CMD must succeed; otherwise not_available.
ws_need() {
	local what=$1; shift
	"$@" >/dev/null 2>&1 && return 0
	not_available "needs $what"
}

# ws_peer_check LABEL SERVER CLIENT SPEC...: in a fresh namespace, runs the
# SERVER command (args HOST PORT CONNS) and the CLIENT command (args URL
# SPEC...) on 127.0.0.1:7272 while tcpdump and wstrace --json -s 0 capture
# lo; then checks wstrace's events against tshark's dissection of the
# tcpdump capture, against `wstrace -r` of it, and against what the peers
# did (ws_compare.py). SPEC = DEFLATE:END, one connection each.
ws_peer_check() {
	local label=$1 server=$2 client=$3; shift 3
	local ns n=$# out want specs
	ns=$(new_ns "$label")
	NAMESPACES+=("$ns") # new_ns ran in a subshell: record it here for the cleanup
	specs=$(IFS=,; echo "$*")

	start_tcpdump "$ns" "$TMP/dump.pcap" -i lo port 7272
	start_wstrace "$ns" "$TMP/live.json" "$TMP/live.err" -i lo -p 7272 --json -s 0

	info "$label: server and client, connections $specs"
	# shellcheck disable=SC2086 # SERVER and CLIENT are commands with arguments
	bg "$ns" $server 127.0.0.1 7272 "$n" >"$TMP/server.out" 2>"$TMP/server.err"
	local server_pid=${PIDS[-1]}
	wait_port "$ns" 7272
	# shellcheck disable=SC2086
	out=$(ip netns exec "$ns" timeout 40 $client ws://127.0.0.1:7272/chat "$@" 2>"$TMP/client.err" | tr '\n' ' ')
	want=$(printf 'ok %.0s' "$@")
	[ "$out" = "$want" ] || { cat "$TMP/client.err" "$TMP/server.err"; fail "$label client: got '$out', want '$want'"; }
	echo "ok: $label client finished $n connections"
	wait_until 30 gone "$server_pid" || { cat "$TMP/server.err"; fail "$label server did not finish"; }
	settle "$ns" 7272
	stop_wstrace
	stop_tcpdump
	cat "$TMP/live.err"

	grep -q "^0 packets lost" "$TMP/live.err" || fail "wstrace lost packets (ring buffer)"
	grep -q "^0 payloads truncated" "$TMP/live.err" || fail "wstrace truncated payloads despite -s 0"
	replay "$TMP/file.json" -r "$TMP/dump.pcap" -p 7272 --json

	info "$label: wstrace against tshark, -r, and the peers"
	"$PY" "$ROOT/tests/e2e/ws_compare.py" --pcap "$TMP/dump.pcap" --live "$TMP/live.json" \
		--file "$TMP/file.json" --expect "$specs" --label "$label" || fail "$label: wstrace disagrees (see above)"
}

# The connections every WebSocket peer test makes (DEFLATE:END, see
# tests/e2e/peers/ws_client.py).
# shellcheck disable=SC2034 # used by the tests that source this file
WS_SPECS="off:1000 on:1001 nocontext:4001 off:fin on:rst nocontext:1000 on:4001 small:1000"

# --- attachments, programs and maps (instances, kill -9, reloads) ---

# hook_count NS DEV ingress|egress: tcx programs plus clsact filters on one hook.
hook_count() {
	local tcx cls
	tcx=$(ip netns exec "$1" "$ROOT/$BUILD/tools/tcx_query" "$2" | awk -v h="$3" '$1==h {print $2}')
	cls=$(tc -n "$1" filter show dev "$2" "$3" 2>/dev/null | grep -c ' handle ')
	echo $((tcx + cls))
}

# bpf_ids PID: the BPF programs and maps PID holds, as prog_id:N and map_id:N.
bpf_ids() { grep -h '^\(prog\|map\)_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $1 $2}' | sort -u; }

# expect_bpf_freed LABEL IDS...: every one is freed (bounded wait: the kernel
# frees them after a grace period).
expect_bpf_freed() {
	local label=$1
	shift
	[ $# -gt 0 ] || fail "no program or map ids recorded for $label"
	wait_until 10 bpf_all_freed "$@" || fail "programs and maps of $label still loaded:$(bpf_loaded "$@")"
	echo "ok: the $# programs and maps of $label are freed"
}

# bpf_loaded IDS...: those still loaded; bpf_all_freed IDS...: none is.
bpf_loaded() {
	local id
	for id; do
		case $id in
		prog_id:*) bpftool prog show id "${id#prog_id:}" >/dev/null 2>&1 && printf ' %s' "$id" ;;
		map_id:*) bpftool map show id "${id#map_id:}" >/dev/null 2>&1 && printf ' %s' "$id" ;;
		esac
	done
}
bpf_all_freed() { [ -z "$(bpf_loaded "$@")" ]; }
