# Shared helpers for end-to-end tests. Source it; it sets a cleanup trap.
#
# Each test gets unique namespace names, ports and a temp directory, so tests
# can run side by side. Exit 77 means "skipped" (the runner counts it as a
# failure under CI=true).
set -u

E2E_ID="$$$RANDOM"
E2E_ID=${E2E_ID:0:9}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${WSTRACE_BUILD:-build}
WSTRACE=$ROOT/$BUILD/wstrace
[ -x "$WSTRACE" ] || WSTRACE=$ROOT/wstrace
PY=/usr/bin/python3
TMP=$(mktemp -d "/tmp/wstrace-e2e-$E2E_ID.XXXXXX")
NAMESPACES=()
PIDS=()

e2e_cleanup() {
	local pid ns
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		# Give each a moment to detach cleanly, then force.
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# new_ns runs in $(...) subshells: find this test's namespaces by name.
	for ns in "${NAMESPACES[@]}" $(ip netns list 2>/dev/null | awk '{print $1}' | grep -- "-$E2E_ID\$"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap e2e_cleanup EXIT
[ -n "${E2E_KEEP:-}" ] && trap - EXIT

skip() { echo "skip: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
info() { echo "--- $*"; }

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

# start_wstrace NS OUT ERR ARGS...: start wstrace with -v and wait until attached.
start_wstrace() {
	local ns=$1 out=$2 err=$3; shift 3
	ip netns exec "$ns" "$WSTRACE" -v "$@" >"$out" 2>"$err" &
	WSTRACE_PID=$!
	PIDS+=("$WSTRACE_PID")
	for _ in $(seq 1 100); do
		grep -q "listening on" "$err" 2>/dev/null && return 0
		kill -0 "$WSTRACE_PID" 2>/dev/null || { cat "$err"; fail "wstrace exited early"; }
		sleep 0.1
	done
	cat "$err"
	fail "wstrace did not attach within 10s"
}

# stop_pid PID: SIGINT and wait (bounded).
stop_pid() {
	local pid=$1
	kill -INT "$pid" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; fail "process $pid did not stop on SIGINT"; }
	wait "$pid" 2>/dev/null
	return 0
}

# wait_port NS PORT: until something listens on PORT (bounded).
wait_port() {
	local ns=$1 port=$2
	for _ in $(seq 1 100); do
		ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	fail "nothing listens on port $port in $ns"
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

expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
	echo "ok: $3 = $2"
}

expect_ge() {
	[ "$1" -ge "$2" ] || fail "$3: got '$1', want at least '$2'"
	echo "ok: $3 = $1 (>= $2)"
}

# --- WebSocket peers against tshark (test_ws_python.sh, test_ws_node.sh) ---

# ws_need WHAT CMD...: CMD must succeed; otherwise skip, or fail under CI=true
# (where a missing tool is a broken setup, not a reason to skip).
ws_need() {
	local what=$1; shift
	"$@" >/dev/null 2>&1 && return 0
	[ "${CI:-}" = "true" ] && fail "needs $what (CI=true: not skipping)"
	skip "needs $what"
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

	bg "$ns" tcpdump -i lo --immediate-mode -B 32768 -U -s 0 -w "$TMP/dump.pcap" port 7272 2>"$TMP/tcpdump.err"
	local tcpdump_pid=${PIDS[-1]}
	for _ in $(seq 1 50); do grep -q listening "$TMP/tcpdump.err" && break; sleep 0.1; done
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
	for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$server_pid" 2>/dev/null && { cat "$TMP/server.err"; fail "$label server did not finish"; }
	sleep 0.3
	stop_pid "$WSTRACE_PID"
	stop_pid "$tcpdump_pid"
	cat "$TMP/live.err"

	grep -q "^0 packets dropped by kernel" "$TMP/tcpdump.err" || { cat "$TMP/tcpdump.err"; fail "tcpdump dropped packets: the reference capture is incomplete"; }
	grep -q "^0 packets lost" "$TMP/live.err" || fail "wstrace lost packets (ring buffer)"
	grep -q "^0 payloads truncated" "$TMP/live.err" || fail "wstrace truncated payloads despite -s 0"
	"$WSTRACE" -r "$TMP/dump.pcap" -p 7272 --json >"$TMP/file.json" 2>"$TMP/file.err" || { cat "$TMP/file.err"; fail "wstrace -r failed"; }

	info "$label: wstrace against tshark, -r, and the peers"
	"$PY" "$ROOT/tests/e2e/ws_compare.py" --pcap "$TMP/dump.pcap" --live "$TMP/live.json" \
		--file "$TMP/file.json" --expect "$specs" --label "$label" || fail "$label: wstrace disagrees (see above)"
}

# The connections every WebSocket peer test makes (DEFLATE:END, see
# tests/e2e/peers/ws_client.py).
# shellcheck disable=SC2034 # used by the tests that source this file
WS_SPECS="off:1000 on:1001 nocontext:4001 off:fin on:rst nocontext:1000 on:4001 small:1000"
