# shellcheck shell=bash
# The wstrace unit in a container booted by systemd_container.sh, as the
# systemd and the Debian package tests drive it. Source after
# tests/e2e/lib.sh and tests/lib/systemd_container.sh; MPORT is the port
# of the metrics endpoint, TEXT the message text the client sends.
#
#   prop NAME              a property of wstrace.service (systemctl show)
#   state / is_state S     "ActiveState SubState", and whether it is S
#   scrape / metric M      the /metrics text, and the value of sample M
#   metric_is M V          sample M has value V
#   listening PORT         a TCP listener on the container's lo
#   server PORT            an echo WebSocket server there, until the test ends
#   client PORT N          N messages through it, answered (else the test fails)
#   journal_json F         JSON lines of wstrace's journal (to $TMP/journal.json)
#                          matching the python expression F on `e` (count_json)
#   journal_json_is F N    N of them
#   TCXQ                   the tcx_query tool (what is attached to an interface)
# Sourcing it requires root (or skips) and the tool.
need_root
TCXQ=$ROOT/$BUILD/tools/tcx_query
[ -x "$TCXQ" ] || fail "no $TCXQ (make tests-build)"
PEER=("$PY" "$ROOT/tests/e2e/peers/ws_simple.py")
TEXT=${TEXT:-"private chat text $E2E_ID"}
MPORT=${MPORT:-9272} # the default: the container has a network namespace of its own

prop() { sc_exec systemctl show --value -p "$1" wstrace; }
state() { echo "$(prop ActiveState) $(prop SubState)"; }
is_state() { [ "$(state)" = "$1" ]; }
scrape() { sc_net "$PY" -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://127.0.0.1:$MPORT/metrics"; }
metric() { scrape | awk -v m="$1" '$1==m {print $2}'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
journal_json() {
	sc_exec journalctl -u wstrace -o cat --no-pager | grep '^{' >"$TMP/journal.json"
	count_json "$TMP/journal.json" "$1"
}
journal_json_is() { [ "$(journal_json "$1")" = "$2" ]; }
listening() { sc_net ss -Hltn "sport = :$1" | grep -q .; }
server() {
	# nsenter itself (not a subshell) becomes the server, so PIDS holds its PID.
	nsenter --target "$SC_LEADER" --net "${PEER[@]}" server 127.0.0.1 "$1" 180 >/dev/null 2>"$TMP/server-$1.err" &
	PIDS+=("$!")
	sc_wait 15 listening "$1" || { cat "$TMP/server-$1.err"; fail "no server on port $1"; }
}
client() {
	expect_eq "$(sc_net timeout 30 "${PEER[@]}" client "ws://127.0.0.1:$1/" "$2" "$TEXT" 1000)" ok "client on $1, $2 messages"
}
