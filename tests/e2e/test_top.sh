#!/usr/bin/env bash
# wstrace --top in a real terminal (tmux): real WebSocket sessions between two
# namespaces, each sending a known number of messages; the screen shows every
# open session with its client endpoint, the server's pid and name (the
# process the test started), message and byte counts as sent, the
# ping's RTT and the last --json-key value, and header totals that match; the
# filter, sort and pause keys; it still renders after the window is resized
# larger and smaller; a session that closes is shown as ended; q exits with
# status 0 and gives the terminal back (the alternate screen left), and so do
# Ctrl-C and a crash. Without a terminal --top refuses with status 64.
. "$(dirname "$0")/lib.sh"
need_root
ws_need "tmux (Debian package tmux)" command -v tmux
ws_need "python3-websockets" "$PY" -c "import websockets"

info "without a terminal: refused with status 64"
"$WSTRACE" --top -i lo </dev/null >"$TMP/notty.out" 2>"$TMP/notty.log"
expect_eq "$?" 64 "exit status of --top with stdout not a terminal"
grep -q "terminal" "$TMP/notty.log" || fail "no message saying a terminal is needed: $(cat "$TMP/notty.log")"
[ -s "$TMP/notty.out" ] && fail "--top without a terminal wrote to stdout"

NSC=$(new_ns topc)
NSS=$(new_ns tops)
veth_pair "$NSC" "$NSS"
VS=wvb$E2E_ID
PORT=7272
CLIENT=198.51.100.1
SOCK=wstrace-top-$E2E_ID
N=3
BASE=7
mkdir -p "$TMP/ctl"

tmx() { tmux -L "$SOCK" "$@"; }
# The tmux server goes first; lib.sh's cleanup then sees the test's status.
trap 'rc=$?; tmux -L "$SOCK" kill-server 2>/dev/null; (exit "$rc"); e2e_cleanup' EXIT

screen() { tmx capture-pane -p -t top; }
shows() { screen | grep -qF -- "$1"; }
shows_re() { screen | grep -qE -- "$1"; }
# wait_screen SECONDS WHAT CMD...: wait_until, or fail showing the screen.
wait_screen() {
	local secs=$1 what=$2; shift 2
	wait_until "$secs" "$@" && return 0
	echo "--- the screen:"
	screen
	fail "waited ${secs}s for $what"
}

# start_top NAME: wstrace --top in the pane's shell, as a user would type it;
# its PID in $TMP/NAME.pid, stderr in $TMP/NAME.err; the shell then says
# TOP-EXIT=<status>.
start_top() {
	local name=$1
	rm -f "$TMP/$name.pid"
	cat >"$TMP/$name.sh" <<EOF
echo \$\$ >"$TMP/$name.pid"
exec ip netns exec "$NSS" "$WSTRACE" --top -i "$VS" -p $PORT --json-key type 2>"$TMP/$name.err"
EOF
	tmx send-keys -t top "clear; bash $TMP/$name.sh; echo TOP-EXIT=\$?" Enter
	wait_for 30 "$name to start" test -s "$TMP/$name.pid"
	PIDS+=("$(cat "$TMP/$name.pid")")
	wait_screen 30 "the --top screen" shows "wstrace --top"
}

# left_ok WHAT NAME: the program is gone, the shell said status 0, the
# terminal is back (the alternate screen left, the view not on it), and the
# summary went to stderr.
left_ok() {
	local what=$1 name=$2
	wait_screen 30 "wstrace to exit after $what" shows "TOP-EXIT="
	shows "TOP-EXIT=0" || { screen; fail "exit status after $what is not 0"; }
	expect_eq "$(tmx display -p -t top '#{alternate_on}')" 0 "alternate screen in use after $what"
	shows "q quit" && { screen; fail "the view is still on the screen after $what"; }
	grep -q "packets captured" "$TMP/$name.err" || fail "no summary on stderr after $what: $(cat "$TMP/$name.err")"
	echo "ok: $what: status 0, terminal restored"
}

tmx -f /dev/null new-session -d -s top -x 80 -y 24 "bash --norc --noprofile"
tmx set -g status off
start_top top

info "$N sessions sending $BASE, $((2 * BASE)), ... messages each"
bg "$NSS" "$PY" "$ROOT/tests/e2e/top_peers.py" server 198.51.100.2 "$PORT"
SPID=${PIDS[-1]}
wait_port "$NSS" "$PORT"
# The server's name as the kernel has it: what its row must show.
SCOMM=$(cat "/proc/$SPID/comm")
[ -n "$SCOMM" ] || fail "no name for the server process $SPID"
bg "$NSC" "$PY" "$ROOT/tests/e2e/top_peers.py" clients "ws://198.51.100.2:$PORT/" "$N" "$BASE" "$TMP/ctl"
CLIENTS_PID=${PIDS[-1]}
all_ready() { for ((i = 0; i < N; i++)); do [ -s "$TMP/ctl/ready.$i" ] || return 1; done; }
wait_for 60 "the sessions to have sent their messages" all_ready
declare -a CPORT MSGS C2S S2C
TOTAL_MSGS=0 TOTAL_C2S=0 TOTAL_S2C=0
for ((i = 0; i < N; i++)); do
	read -r CPORT[i] MSGS[i] C2S[i] S2C[i] <"$TMP/ctl/ready.$i"
	TOTAL_MSGS=$((TOTAL_MSGS + MSGS[i]))
	TOTAL_C2S=$((TOTAL_C2S + C2S[i]))
	TOTAL_S2C=$((TOTAL_S2C + S2C[i]))
	expect_eq "${MSGS[i]}" "$((BASE * (i + 1)))" "messages session $i sent"
done

# row_line I: session I's row (its client port is its own).
row_line() { screen | grep -E "^. [^ ]*:${CPORT[$1]} "; }
# row_ok I: session I's row, whatever the width: client endpoint (whole, or
# cut from the left to fit), the server's pid and name (the name cut to the
# column at 80), the server port where the screen has its column, messages
# and payload bytes each way as sent, an RTT, the last key; no violation or
# gap mark.
row_ok() {
	local i=$1 line client server sport=$PORT age m1 m2 b1 b2 rate rtt key want="$CLIENT:${CPORT[$1]}"
	line=$(row_line "$i") || return 1
	[ "${line:0:2}" = "  " ] || return 1
	if screen | grep -qE "^  CLIENT .* PORT "; then
		read -r client server sport age m1 m2 b1 b2 rate rtt key _ <<<"$line"
	else
		read -r client server age m1 m2 b1 b2 rate rtt key _ <<<"$line"
	fi
	{ [ "$client" = "$want" ] || [[ "$client" == ..* && "$want" == *"${client#..}" ]]; } &&
		[[ "$server" == "$SPID/"* && "$SPID/$SCOMM" == "$server"* ]] && [ "$sport" = "$PORT" ] &&
		[ "$m1" = "${MSGS[i]}" ] && [ "$m2" = "${MSGS[i]}" ] &&
		[ "$b1" = "${C2S[i]}" ] && [ "$b2" = "${S2C[i]}" ] &&
		[ "$rtt" != "-" ] && [ -n "$rtt" ] && [ "$key" = "say$i" ]
}
rows_ok() { for ((i = 0; i < N; i++)); do row_ok "$i" || return 1; done; }
header_ok() {
	shows "TCP open $N " && shows "WS  open $N " &&
		shows_re "msgs c>s $TOTAL_MSGS [0-9.]+/s  s>c $TOTAL_MSGS [0-9.]+/s" &&
		shows_re "bytes c>s $TOTAL_C2S [0-9.]+/s  s>c $TOTAL_S2C [0-9.]+/s" &&
		shows "lost: ringbuf-full 0 " && shows_re "ping rtt p50 [0-9.]+(us|ms|s) "
}
wait_screen 20 "every session's row with its counts" rows_ok
wait_screen 20 "header totals: $N connections and sessions, $TOTAL_MSGS messages each way" header_ok
info "the screen at 80x24:"
screen

info "keys: filter, sort, pause"
tmx send-keys -t top / "$CLIENT:${CPORT[1]}" Enter
filtered() { row_ok 1 && ! row_ok 0 && ! row_ok 2 && shows "filter /$CLIENT"; }
wait_screen 10 "only session 1 under the filter" filtered
tmx send-keys -t top / Enter
wait_screen 10 "every session without a filter" rows_ok
tmx send-keys -t top s
wait_screen 10 "sort by bytes" shows "sort bytes"
tmx send-keys -t top p
wait_screen 10 "the pause" shows "PAUSED"
tmx send-keys -t top p
not_paused() { ! shows PAUSED; }
wait_screen 10 "the end of the pause" not_paused

info "resized to 120x40, then 60x15, then back to 80x24"
tmx resize-window -t top -x 120 -y 40
# Wide: the port column, the server's whole name on every row, the key
# further right.
wide() {
	[ "$(tmx display -p -t top '#{window_width}')" = 120 ] && rows_ok &&
		[ "$(screen | grep -F "CLIENT" | awk '{ print index($0, "KEY") }')" -gt 80 ] &&
		[ "$(screen | grep -cE "^  $CLIENT:[0-9]+ +$SPID/$SCOMM +$PORT ")" = "$N" ]
}
wait_screen 20 "the view at 120 columns" wide
tmx resize-window -t top -x 60 -y 15
narrow() {
	[ "$(tmx display -p -t top '#{window_width}')" = 60 ] && shows "wstrace --top" && shows "CLIENT" &&
		screen | sed -n 15p | grep -q "open" && shows ":${CPORT[0]} "
}
wait_screen 20 "the view at 60x15" narrow
tmx resize-window -t top -x 80 -y 24
wait_screen 20 "the view back at 80x24" rows_ok

info "session 0 closes: shown as ended"
touch "$TMP/ctl/close.0"
ended() { row_line 0 | grep -qF "ended close 1000" && shows "WS  open $((N - 1)) "; }
wait_screen 20 "session 0 shown as ended with close 1000" ended
row_ok 1 && row_ok 2 || { screen; fail "the open sessions' rows changed when session 0 closed"; }

info "q quits"
tmx send-keys -t top q
left_ok "q" top
wstrace_exit_ok 0 "$TMP/top.err" "after q"

info "Ctrl-C quits too"
start_top ctrlc
tmx send-keys -t top C-c
left_ok "Ctrl-C" ctrlc

info "a crash gives the terminal back"
start_top crash
kill -SEGV "$(cat "$TMP/crash.pid")"
# 139: SIGSEGV; 134: a sanitizer's report ends in abort().
wait_screen 30 "wstrace to die of SIGSEGV" shows_re "TOP-EXIT=(139|134)"
expect_eq "$(tmx display -p -t top '#{alternate_on}')" 0 "alternate screen in use after a crash"
shows "q quit" && { screen; fail "the view is still on the screen after a crash"; }
# The sanitized build reports the signal: not a fault of the test.
mv "$TMP/crash.err" "$TMP/crash.log"

touch "$TMP/ctl/close.all"
wait_for 30 "the clients to close" gone "$CLIENTS_PID"
echo "ok: --top"
