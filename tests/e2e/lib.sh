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
	for ns in "${NAMESPACES[@]}"; do
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
