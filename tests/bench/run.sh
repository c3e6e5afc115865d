#!/bin/bash
# Benchmark: wstrace against tcpdump and tshark under the same WebSocket load,
# on loopback inside a network namespace this script creates and removes.
#
#   tests/bench/run.sh BUILD_DIR
#
# Every load shape runs with every capture configuration, BENCH_RUNS times
# over (run 1: every shape and tool, then run 2, ...), so that each run
# compares tools under the same conditions and the report can say whether a
# target held in every run. Environment (all optional):
#   BENCH_RUNS      runs of every configuration (default 5)
#   BENCH_DURATION  seconds of load per configuration (default 3)
#   BENCH_RATE      messages/s of the fixed-rate and wss loads (default 20000)
#   BENCH_CONNS     connections of the highest-rate shapes, a list (default
#                   "16 50"); the fixed-rate and wss loads use the first
#   BENCH_SIZE      message size in bytes (default 64)
#   BENCH_CATCHUP   seconds tcpdump/tshark may take to catch up after the load
#                   before they are stopped (default 6; wstrace gets 30)
#   BENCH_CHURN_RATE  new connections/s of the churn load (default 2000)
#   BENCH_CHURN_MSGS  messages per connection of the churn load (default 4)
#   BENCH_CHURN_CONNS connections open at once in the churn load (default 50)
#   BENCH_OFFLINE_DURATION  seconds of the 32-frames-per-send load recorded
#                   for the offline comparison (default 0.5)
#   BENCH_OFFLINE_REPS  wstrace -r repetitions per measurement (default 5)
#   BENCH_IDLE      idle connections of the concurrency test (default 10000)
#   BENCH_IDLE_RUNS runs of the concurrency test (default 1)
#   BENCH_SKIP      parts to skip: fixed max1 max32 wss churn correlate offline
#                   idle floor, or one shape by name (e.g. max1-c50)
#   BENCH_TOOLS     capture configurations of the fixed-rate and highest-rate
#                   shapes (default "none tcpdump-w tcpdump-A tshark
#                   wstrace-daemon wstrace-q"; also wstrace-json, wstrace-q-s0);
#                   wss, churn and correlate have their own; the fixed-rate
#                   shape also runs the floor programs (floor-copy,
#                   floor-batched: tests/bench/floor.bpf.c) unless skipped
#   BENCH_WSTRACE   wstrace binary (default BUILD_DIR/wstrace)
#   BENCH_TLS_OPT, BENCH_NOATTR_OPT, BENCH_CORRELATE_OPT  the options whose
#                   presence in `wstrace --help` says the binary decodes wss,
#                   can turn process attribution off, and correlates messages
#                   (defaults --no-tls, --no-owners, --correlate)
#   BENCH_CORRELATE_KEY  the JSON key of the correlation load (default msg_id)
#   BENCH_KEEP      keep the temporary directory (and the offline capture)
#   BENCH_OUT       where the results go (default BUILD_DIR/bench)
#
# Results: BENCH_OUT/report.md (also on stdout), raw figures in results.tsv,
# offline.tsv, idle.tsv, machine.tsv, wstrace's summaries in logs/.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=${BENCH_OUT:-$BUILD/bench}
WSTRACE=${BENCH_WSTRACE:-$BUILD/wstrace}
WSLOAD=$OUT/wsload
RUNS=${BENCH_RUNS:-5}
DUR=${BENCH_DURATION:-3}
RATE=${BENCH_RATE:-20000}
CONNS_LIST=${BENCH_CONNS:-"16 50"}
SIZE=${BENCH_SIZE:-64}
CATCHUP=${BENCH_CATCHUP:-6}
CHURN_RATE=${BENCH_CHURN_RATE:-2000}
CHURN_MSGS=${BENCH_CHURN_MSGS:-4}
CHURN_CONNS=${BENCH_CHURN_CONNS:-50}
OFF_DUR=${BENCH_OFFLINE_DURATION:-0.5}
OFF_REPS=${BENCH_OFFLINE_REPS:-5}
IDLE=${BENCH_IDLE:-10000}
IDLE_RUNS=${BENCH_IDLE_RUNS:-1}
SKIP=" ${BENCH_SKIP:-} "
TOOLS=${BENCH_TOOLS:-"none tcpdump-w tcpdump-A tshark wstrace-daemon wstrace-q"}
TLS_OPT=${BENCH_TLS_OPT:---no-tls}
NOATTR_OPT=${BENCH_NOATTR_OPT:---no-owners}
CORR_OPT=${BENCH_CORRELATE_OPT:---correlate}
CORR_KEY=${BENCH_CORRELATE_KEY:-msg_id}
PORT=7272
WSTRACE_CATCHUP=30
# tshark stops dissecting a packet after gui.max_tree_depth (32) PDUs; a
# 64 KiB packet holds ~900 frames of 64 bytes. Offline it must decode all.
TSHARK_DEPTH=4096
# Loopback under this load retransmits (zero windows, D-SACK): without
# reassembly of out-of-order segments tshark loses the frame boundaries of
# a connection at the first retransmission and decodes none of its later
# frames (a third of them in one capture); wstrace reorders by default.
TSHARK_OFFLINE_OPTS=(-o "gui.max_tree_depth:$TSHARK_DEPTH" -o tcp.reassemble_out_of_order:TRUE)

die() { echo "bench: $*" >&2; exit 1; }
T0=$(date +%s)
note() { echo "--- [$(( $(date +%s) - T0 ))s] $*" >&2; }
skipped() { [[ $SKIP == *" $1 "* ]]; }
posint() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
number() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespace, eBPF)"
[ -x "$WSTRACE" ] || die "no wstrace at $WSTRACE (run make)"
for v in RUNS CATCHUP CHURN_RATE CHURN_MSGS CHURN_CONNS OFF_REPS IDLE IDLE_RUNS RATE SIZE; do
	posint "${!v}" || die "BENCH_${v/OFF_/OFFLINE_} must be a positive integer, not '${!v}'"
done
[ "$RUNS" -le 100 ] || die "BENCH_RUNS is at most 100"
number "$DUR" && number "$OFF_DUR" || die "BENCH_DURATION and BENCH_OFFLINE_DURATION are seconds"
for c in $CONNS_LIST; do posint "$c" || die "BENCH_CONNS is a list of connection counts, not '$c'"; done
C1=${CONNS_LIST%% *}
[ -n "$C1" ] || die "BENCH_CONNS is empty"
for t in ip tcpdump tshark openssl cc bpftool /usr/bin/python3 /usr/bin/time bc; do
	command -v "$t" >/dev/null || die "needs $t (sudo make test-deps)"
done
mkdir -p "$OUT" || die "cannot create $OUT"
cc -O2 -g -Wall -Wextra -Werror -pthread "$ROOT/tests/bench/wsload.c" -o "$WSLOAD" -lssl -lcrypto ||
	die "cannot build the load generator"
cc -O2 -Wall -Wextra -Werror "$ROOT/tests/bench/bpf_stats_hold.c" -o "$OUT/bpf_stats_hold" ||
	die "cannot build bpf_stats_hold"
cc -O2 -Wall -Wextra -Werror "$ROOT/tests/bench/read_floor.c" -o "$OUT/read_floor" ||
	die "cannot build read_floor"
# The floor: programs that do only what any capture must (floor.bpf.c), on
# the fixed-rate load, to show what this machine allows.
FLOOR_TOOLS=""
if ! skipped floor; then
	case $(uname -m) in
	x86_64) floor_arch=x86 ;;
	aarch64) floor_arch=arm64 ;;
	*) die "no BPF target architecture for $(uname -m) (BENCH_SKIP=floor runs without the floor)" ;;
	esac
	"${CLANG:-clang}" -g -O2 -target bpf -D__TARGET_ARCH_$floor_arch -I"$ROOT/vmlinux" -Wall -Werror \
		-c "$ROOT/tests/bench/floor.bpf.c" -o "$OUT/floor.bpf.o" &&
		cc -O2 -Wall -Wextra -Werror "$ROOT/tests/bench/floor.c" -o "$OUT/floor" -lbpf ||
		die "cannot build the floor programs (BENCH_SKIP=floor runs without them)"
	FLOOR_TOOLS="floor-copy floor-batched"
fi

# What this wstrace can do: features still to come are measured once its
# --help names their option, and reported as not supported until then.
HELP=$("$WSTRACE" --help 2>&1)
has_opt() { grep -qE -- "(^|[ ,])$1([ =,[]|$)" <<< "$HELP" && echo yes || echo no; }
HAS_TLS=$(has_opt "$TLS_OPT")
HAS_NOATTR=$(has_opt "$NOATTR_OPT")
HAS_CORR=$(has_opt "$CORR_OPT")

NS="wsbench-$$"
TMP=$(mktemp -d "/tmp/wsbench-$$.XXXXXX") || die "cannot create a temporary directory"
LOGS=$OUT/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
: > "$TMP/empty.conf" # the service's defaults, whatever /etc/wstrace holds
declare -A LIVE=() # pids this script started and has not stopped yet
OLD_STATS="" # set when the statistics are on through the sysctl

# Descendants of a pid, itself included (tshark runs dumpcap, timeout runs
# wsload).
tree_pids() {
	local f c kids
	echo "$1"
	for f in /proc/"$1"/task/*/children; do
		read -r -a kids 2>/dev/null < "$f" || continue
		for c in "${kids[@]}"; do tree_pids "$c"; done
	done
}

# True while PID is a child of this script (not a reused pid).
ours() {
	local line
	read -r line 2>/dev/null < /proc/"$1"/stat || return 1
	line=${line##*) }
	line=${line#* }
	[ "${line%% *}" = "$$" ]
}

# Stops what this script started: each pid and its descendants, TERM first.
stop_tree() { # PID [SECONDS]
	local p all i
	unset "LIVE[$1]"
	ours "$1" || { wait "$1" 2>/dev/null; return 0; }
	all=$(tree_pids "$1")
	kill -TERM $all 2>/dev/null
	for i in $(seq $(( ${2:-3} * 10 ))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	for p in $all; do kill -KILL "$p" 2>/dev/null; done
	wait "$1" 2>/dev/null
}

cleanup() {
	local p
	trap - INT TERM HUP
	for p in "${!LIVE[@]}"; do stop_tree "$p" 2; done
	ip netns del "$NS" 2>/dev/null
	[ -z "$OLD_STATS" ] || sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

ip netns add "$NS" || die "cannot create namespace $NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 \
	net.ipv4.ip_local_port_range="10000 65000"
ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null

nsx() { ip netns exec "$NS" "$@"; }

# Starts a command in the namespace in the background: its pid in BG.
bg_start() { # OUT ERR CMD...
	local out=$1 err=$2
	shift 2
	ip netns exec "$NS" "$@" < /dev/null > "$out" 2> "$err" &
	BG=$!
	LIVE[$BG]=1
}

# Runs a command in the namespace and waits for it: in the background, so
# that Ctrl-C or TERM reach the traps at once. Bounded by timeout.
fg_run() { # SECONDS OUT CMD...
	local limit=$1 out=$2 pid rc
	shift 2
	ip netns exec "$NS" timeout -k 5 "$limit" "$@" < /dev/null > "$out" 2>&1 &
	pid=$!
	LIVE[$pid]=1
	wait "$pid"
	rc=$?
	unset "LIVE[$pid]"
	return $rc
}

# "user_ticks sys_ticks run_ns hwm_kb rss_anon_kb" over a process tree.
proc_cpu() {
	local u=0 s=0 ns=0 hwm=0 anon=0 p f a line k v
	local -a st
	for p in $(tree_pids "$1"); do
		read -r line 2>/dev/null < /proc/"$p"/stat || continue
		# Fields after the command name: utime is the 12th, stime the 13th.
		read -r -a st <<< "${line##*) }"
		u=$((u + st[11])); s=$((s + st[12]))
		for f in /proc/"$p"/task/*/schedstat; do
			read -r a _ 2>/dev/null < "$f" && ns=$((ns + a))
		done
		while read -r k v _; do
			case $k in
			VmHWM:) hwm=$((hwm + v)) ;;
			RssAnon:) anon=$((anon + v)) ;;
			esac
		done 2>/dev/null < /proc/"$p"/status
	done
	echo "$u $s $ns $hwm $anon"
}

# "run_time_ns run_cnt own_ns own_cnt" of the BPF programs a pid holds open:
# the kernel shows them in each program fd's fdinfo (with
# kernel.bpf_stats_enabled). own_*: the socket owner programs alone, which
# attribute connections to processes: the tracepoints (accept/connect exits)
# and the tracing program btf_sys_exit (their fallback); the other tracing
# program, wss's tls_sys_enter, is not one of them (bpftool names it: the
# fdinfo has no name).
bpf_stats() {
	local id ty t c tt=0 cc=0 ot=0 oc=0
	while read -r id ty t c; do
		tt=$((tt + t)) cc=$((cc + c))
		if [ "$ty" = 5 ] || { [ "$ty" = 26 ] &&
			[[ $(bpftool prog show id "$id" 2>/dev/null) == *" name btf_sys_exit "* ]]; }; then
			ot=$((ot + t)) oc=$((oc + c))
		fi
	done < <(awk '
		FNR == 1 { ty = "" } # a link fd names a prog_id too, with no prog_type
		/^prog_type:/ { ty = $2 }
		/^prog_id:/ && ty != "" { id = $2; type[id] = ty }
		/^run_time_ns:/ && ty != "" { t[id] = $2 }
		/^run_cnt:/ && ty != "" { c[id] = $2 }
		END { for (i in t) print i, type[i], t[i], c[i] }' /proc/"$1"/fdinfo/* 2>/dev/null)
	echo "$tt $cc $ot $oc"
}

lo_packets() { nsx cat /sys/class/net/lo/statistics/tx_packets; }
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

wait_for() { # FILE PATTERN SECONDS [PID]: the pattern, while PID lives
	local i
	for i in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		[ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}

# Waits until a process tree has used no CPU for 0.3 s (it caught up), at
# most SECONDS: 1 if it was still busy.
wait_idle() { # PID SECONDS
	local prev cur i
	prev=$(proc_cpu "$1" | cut -d' ' -f3)
	for i in $(seq $(( $2 * 10 / 3 + 1 ))); do
		sleep 0.3
		cur=$(proc_cpu "$1" | cut -d' ' -f3)
		[ $((cur - prev)) -lt 3000000 ] && return 0
		prev=$cur
	done
	return 1
}

# Asks a tool to stop (TERM to it alone: tshark stops its dumpcap and
# prints its counts) and returns its exit status; killed after SECONDS.
stop_exit() { # PID SECONDS
	local i rc
	kill -TERM "$1" 2>/dev/null
	for i in $(seq $(( $2 * 10 ))); do ours "$1" || break; sleep 0.1; done
	ours "$1" && { stop_tree "$1" 1; return 137; }
	unset "LIVE[$1]"
	wait "$1"
	rc=$?
	return $rc
}

kv() { sed -n "s/^$2=//p" "$1" | head -1; }
num() { grep -oE "^[0-9]+ $2" "$1" | head -1 | cut -d' ' -f1; }

RESULTS=$OUT/results.tsv
COLS="run shape tool conns frames_per_send rate msg_per_s messages frames packets user_ms sys_ms proc_ns bpf_ns bpf_cnt own_ns own_cnt hwm_kb anon0_kb anon1_kb drops trunc gaps undecoded srv_ns accepted ws_lines busy_ms load_s lagged status"
tr ' ' '\t' <<< "$COLS" > "$RESULTS"

# The command line of a capture configuration, in CMD; READY is the line
# it prints once capturing; OUTF where its stdout goes.
tool_cmd() { # TOOL SHAPE
	local tool=$1 shape=$2 base=${1%-noattr}
	CMD=() READY="" OUTF=/dev/null
	base=${base%-corr}
	case $base in
	none) ;;
	tcpdump-w) CMD=(tcpdump -i lo -s 4096 -w /dev/null); READY="listening on" ;;
	tcpdump-A) CMD=(tcpdump -nn -A -s 4096 -i lo); READY="listening on" ;;
	tshark)
		READY="Capturing on"
		if [ "$shape" = wss ]; then
			# Decrypting with the client's key log; the lines are counted.
			CMD=(tshark -i lo -n -o "tls.keylog_file:$TMP/keylog" -d "tcp.port==$PORT,tls" -Y websocket)
			OUTF=$TMP/tshark.out
		else
			CMD=(tshark -i lo -n -d "tcp.port==$PORT,http" -Y websocket)
		fi ;;
	floor-copy) CMD=("$OUT/floor" "$OUT/floor.bpf.o" lo floor_tc_copy); READY=attached ;;
	floor-batched) CMD=("$OUT/floor" "$OUT/floor.bpf.o" lo floor_tc_load); READY=attached ;;
	wstrace-q) CMD=("$WSTRACE" -i lo -p "$PORT" -q -v); READY="listening on" ;;
	# Every event printed (no --event-limit): the cost of the whole output.
	wstrace-json) CMD=("$WSTRACE" -i lo -p "$PORT" --json -v --event-limit 0); READY="listening on" ;;
	wstrace-q-s0) CMD=("$WSTRACE" -i lo -p "$PORT" -q -v -s 0); READY="listening on" ;;
	# The service's defaults: whole packets, bigger ring, counters, no printing.
	wstrace-daemon) CMD=("$WSTRACE" --daemon --config "$TMP/empty.conf" -i lo -p "$PORT" \
		--metrics "127.0.0.1:$((PORT + 1))"); READY="listening on" ;;
	*) die "unknown tool $tool" ;;
	esac
	case $tool in
	*-noattr) CMD+=("$NOATTR_OPT") ;;
	*-corr) CMD+=("$CORR_OPT" "$CORR_KEY") ;;
	esac
}

# One row of results.tsv from the variables run_case sets.
row() {
	local c out=""
	for c in $COLS; do out+="${R[$c]:--}"$'\t'; done
	printf '%s\n' "${out%$'\t'}" >> "$RESULTS"
}

# run_case RUN SHAPE TOOL: one load with one capture configuration; the
# shape's server and client arguments are in SRV_ARGS and CLI_ARGS.
run_case() {
	local run=$1 sc=$2 tool=$3
	local tag=r$run-$sc-$tool
	local err=$TMP/$tag.err srv=$TMP/$tag.srv cli=$TMP/$tag.cli
	local tpid="" spid c0 c1 ce b0 b1 p0 p1 k0 k1 s0 s1 t_start t_end lagged=0 trc
	declare -gA R=()
	R[run]=$run R[shape]=$sc R[tool]=$tool R[conns]=$SH_CONNS R[frames_per_send]=$SH_FPS
	R[rate]=$SH_RATE R[status]=ok

	tool_cmd "$tool" "$sc"
	bg_start "$srv" "$srv.err" "$WSLOAD" server -p "$PORT" "${SRV_ARGS[@]}"
	spid=$BG
	if ! wait_for "$srv" "ready=1" 10 "$spid"; then
		R[status]="failed: server did not start"
		stop_tree "$spid"
		row; note "$sc/$tool: ${R[status]}"; return
	fi
	if [ ${#CMD[@]} -gt 0 ]; then
		[ "$OUTF" = /dev/null ] || : > "$OUTF"
		bg_start "$OUTF" "$err" "${CMD[@]}"
		tpid=$BG
		if ! wait_for "$err" "$READY" 30 "$tpid"; then
			R[status]="failed: capture did not start"
			cp "$err" "$LOGS/$tag.stderr" 2>/dev/null
			stop_tree "$tpid"; stop_tree "$spid"
			row; note "$sc/$tool: ${R[status]}"; return
		fi
		sleep 0.3
		c0=$(proc_cpu "$tpid")
		b0=$(bpf_stats "$tpid")
	fi
	s0=$(proc_cpu "$spid")
	p0=$(lo_packets)
	k0=$(busy_ticks)
	t_start=$(date +%s.%N)
	fg_run "$(printf '%.0f' "$(echo "$DUR + 60" | bc)")" "$cli" "$WSLOAD" client -p "$PORT" "${CLI_ARGS[@]}"
	local crc=$?
	[ "$crc" -eq 0 ] || R[status]="client exit $crc: $(kv "$cli" failed) failed connections"
	t_end=$(date +%s.%N)
	k1=$(busy_ticks)
	s1=$(proc_cpu "$spid")
	if [ -n "$tpid" ]; then
		ce=$(proc_cpu "$tpid")
		case $tool in wstrace*) trc=$WSTRACE_CATCHUP ;; *) trc=$CATCHUP ;; esac
		wait_idle "$tpid" "$trc" || lagged=1
		c1=$(proc_cpu "$tpid")
		b1=$(bpf_stats "$tpid")
	fi
	p1=$(lo_packets)
	stop_tree "$spid" 5
	if [ -n "$tpid" ]; then
		local rc
		stop_exit "$tpid" 10
		rc=$?
		case $tool in
		wstrace*) [ "$rc" -eq 0 ] || R[status]="wstrace exit $rc" ;;
		esac
	fi

	local u0 s0_ n0 u1 s1_ n1 hwm a0 a1
	read -r u0 s0_ n0 _ a0 <<< "${c0:-0 0 0 0 0}"
	read -r u1 s1_ n1 hwm _ <<< "${c1:-0 0 0 0 0}"
	local hwm_e
	read -r _ _ _ hwm_e a1 <<< "${ce:-0 0 0 0 0}"
	[ "$hwm_e" -le "$hwm" ] || hwm=$hwm_e # VmHWM only grows: the larger read
	local bt0 bc0 bt1 bc1 ot0 oc0 ot1 oc1
	read -r bt0 bc0 ot0 oc0 <<< "${b0:-0 0 0 0}"
	read -r bt1 bc1 ot1 oc1 <<< "${b1:-0 0 0 0}"
	R[msg_per_s]=$(kv "$srv" msg_per_s) R[messages]=$(kv "$srv" messages) R[frames]=$(kv "$srv" frames)
	R[accepted]=$(kv "$srv" accepted)
	R[packets]=$((p1 - p0))
	R[srv_ns]=$(( $(cut -d' ' -f3 <<< "$s1") - $(cut -d' ' -f3 <<< "$s0") ))
	R[busy_ms]=$(( (k1 - k0) * 1000 / HZ ))
	R[load_s]=$(echo "$t_end - $t_start" | bc)
	[ "$(kv "$srv" bad_payload)" = 0 ] || R[status]="server saw bad payloads"
	if [ -n "$tpid" ]; then
		R[user_ms]=$(( (u1 - u0) * 1000 / HZ )) R[sys_ms]=$(( (s1_ - s0_) * 1000 / HZ ))
		R[proc_ns]=$((n1 - n0)) R[bpf_ns]=$((bt1 - bt0)) R[bpf_cnt]=$((bc1 - bc0))
		R[own_ns]=$((ot1 - ot0)) R[own_cnt]=$((oc1 - oc0))
		R[hwm_kb]=$hwm R[anon0_kb]=$a0 R[anon1_kb]=$a1 R[lagged]=$lagged
	fi
	case $tool in
	tcpdump*) R[drops]=$(grep -oE '^[0-9]+ packets? dropped by kernel' "$err" | cut -d' ' -f1) ;;
	tshark*)
		R[drops]=$(grep -oE '[0-9]+ packets? dropped' "$err" | head -1 | cut -d' ' -f1)
		R[drops]=${R[drops]:-0}
		[ "$OUTF" = /dev/null ] || { R[ws_lines]=$(grep -c WebSocket "$OUTF"); rm -f "$OUTF"; } ;;
	wstrace*)
		R[drops]=$(num "$err" "packets lost")
		R[trunc]=$(num "$err" "payloads truncated")
		R[gaps]=$(grep -oE '[0-9]+ stream gaps' "$err" | cut -d' ' -f1)
		local dec sent=${R[frames]:-0}
		dec=$(num "$err" "frames c2s")
		[ -n "$dec" ] || R[status]="no summary from wstrace"
		R[undecoded]=$(( sent > ${dec:-0} ? sent - ${dec:-0} : 0 ))
		cp "$err" "$LOGS/$tag.stderr" ;;
	esac
	row
	note "r$run $sc/$tool: ${R[msg_per_s]:-?} msg/s, $(( (${R[proc_ns]:-0} + ${R[bpf_ns]:-0}) / 1000000 )) ms CPU, lost ${R[drops]:--}, undecoded ${R[undecoded]:--}${R[status]/#ok/}"
}
HZ=$(getconf CLK_TCK)

# Shapes: SH_CONNS, SH_FPS, SH_RATE for the table; SRV_ARGS, CLI_ARGS for wsload.
shape() { # NAME CONNS FRAMES_PER_SEND RATE [EXTRA CLIENT ARGS...]
	SH_CONNS=$2 SH_FPS=$3 SH_RATE=$4
	SRV_ARGS=()
	CLI_ARGS=(-c "$2" -s "$SIZE" -f "$3" -r "$4" -d "$DUR")
	shift 4
	CLI_ARGS+=("$@")
}

# The tools of a list in this run's order: rotated by one per run, so that
# no configuration always runs first or last (the machine drifts).
rotate() { # RUN TOOLS...
	local r=$1 n i
	shift
	n=$#
	[ "$n" -gt 0 ] || return 0
	local -a a=("$@")
	for ((i = 0; i < n; i++)); do echo "${a[$(( (i + r - 1) % n ))]}"; done
}

run_shape() { # RUN NAME TOOLS...
	local run=$1 name=$2 t
	shift 2
	for t in $(rotate "$run" "$@"); do run_case "$run" "$name" "$t"; done
}

# --- TLS material for the wss load: made for this run, removed with TMP.
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 -subj /CN=wsbench \
		> "$TMP/openssl.log" 2>&1 || { cat "$TMP/openssl.log" >&2; die "cannot make a certificate"; }
}

# --- Offline: one capture of the 32-frames-per-send load, decoded by
# wstrace -r and tshark -r in every run.
OFFLINE=$OUT/offline.tsv
printf 'run\ttool\tpackets\tframes\tframes_in_file\tuser_s\tsys_s\tmaxrss_kb\n' > "$OFFLINE"
PCAP=$TMP/offline.pcap
record_offline() {
	local spid tpid
	note "offline: recording $OFF_DUR s of the 32-frames-per-send load"
	bg_start "$TMP/off.srv" "$TMP/off.srv.err" "$WSLOAD" server -p "$PORT"
	spid=$BG
	wait_for "$TMP/off.srv" "ready=1" 10 "$spid" || die "offline: server did not start"
	# A 128 MiB buffer: the file must hold every frame.
	bg_start /dev/null "$TMP/off.tcpdump" tcpdump -i lo -s 0 -B 131072 -w "$PCAP"
	tpid=$BG
	wait_for "$TMP/off.tcpdump" "listening on" 20 "$tpid" || die "offline: tcpdump did not start"
	sleep 0.3
	fg_run 60 "$TMP/off.cli" "$WSLOAD" client -p "$PORT" -c "$C1" -s "$SIZE" -r 0 -f 32 -d "$OFF_DUR" ||
		note "offline: the client reported failed connections"
	# libpcap hands packets over a block at a time, at the latest after its
	# 1 s timeout: stopping sooner loses the last packets, uncounted.
	sleep 1.2
	stop_tree "$tpid" 10
	stop_tree "$spid" 5
	OFF_PKTS=$(tcpdump -r "$PCAP" 2>/dev/null | wc -l)
	OFF_FRAMES=$(kv "$TMP/off.srv" frames)
	OFF_DROPS=$(grep -oE '^[0-9]+ packets? dropped by kernel' "$TMP/off.tcpdump" | cut -d' ' -f1)
	head -c 24 "$PCAP" > "$TMP/off_header.pcap" # the same file with no packets
	# Every tool reads the file as it is at rest, not in the pages tcpdump
	# wrote: those are small folios, which a mapping takes a fault and a
	# page table entry per 4 KiB to read (2-3x the CPU for the same bytes);
	# a file read back from disk sits in large ones. Written out, dropped
	# from the page cache, read once.
	sync "$PCAP" && /usr/bin/python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$PCAP" && cat "$PCAP" > /dev/null ||
		die "offline: cannot put the capture at rest"
	note "offline: $OFF_PKTS packets, $OFF_FRAMES client frames, ${OFF_DROPS:-?} dropped by tcpdump, $(du -h "$PCAP" | cut -f1)"
}

# wstrace takes well under a second: its figures are over OFF_REPS runs
# (divided back), in microseconds (getrusage), not time(1)'s 10 ms steps,
# which a run of a few milliseconds would read as none.
off_cpu() { # RUN NAME CMD...: OFF_U OFF_S (per run), OFF_M (KiB)
	local run=$1 name=$2
	shift 2
	if ! /usr/bin/python3 -c '
import resource, subprocess, sys
for _ in range(int(sys.argv[1])):
    with open(sys.argv[2], "w") as err:
        if subprocess.call(sys.argv[3:], stdout=subprocess.DEVNULL, stderr=err):
            sys.exit(1)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime:.6f} {r.ru_stime:.6f} {r.ru_maxrss}")' \
		"$OFF_REPS" "$OFFERR" "$@" > "$TMP/off.time"; then
		note "offline: $name failed"
		cp "$TMP/off.wst" "$LOGS/r$run-offline-failed.stderr"
		return 1
	fi
	read -r OFF_U OFF_S OFF_M < <(tail -1 "$TMP/off.time")
	OFF_U=$(echo "scale=6; $OFF_U / $OFF_REPS" | bc)
	OFF_S=$(echo "scale=6; $OFF_S / $OFF_REPS" | bc)
}

off_row() { # RUN NAME FRAMES: a row of offline.tsv from off_cpu's figures
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$OFF_PKTS" "$3" "$OFF_FRAMES" \
		"$OFF_U" "$OFF_S" "$OFF_M" >> "$OFFLINE"
}

off_wstrace() { # RUN NAME ARGS...
	local run=$1 name=$2 dec s
	shift 2
	off_cpu "$run" "$name" "$WSTRACE" -r "$PCAP" -p "$PORT" "$@" || return
	dec=$(num "$TMP/off.wst" "frames c2s")
	s=$(grep -oE '[0-9]+ frames s2c' "$TMP/off.wst" | cut -d' ' -f1)
	off_row "$run" "$name" $(( ${dec:-0} + ${s:-0} ))
	cp "$TMP/off.wst" "$LOGS/r$run-offline-wstrace.stderr"
}

off_floor() { # RUN NAME CMD...
	local run=$1 name=$2
	shift 2
	off_cpu "$run" "$name" "$@" && off_row "$run" "$name" -
}

off_tshark() { # RUN NAME ARGS...
	local run=$1 name=$2 u s m frames
	shift 2
	/usr/bin/time -f '%U %S %M' -o "$TMP/off.time" timeout -k 5 600 \
		tshark -r "$PCAP" -n -d "tcp.port==$PORT,http" "${TSHARK_OFFLINE_OPTS[@]}" "$@" \
		> "$TMP/off.tshark" 2> "$TMP/off.tshark.err" || { note "offline: $name failed"; return; }
	# -z io,stat counts the opcode fields: one per frame tshark decoded.
	frames=$(awk -F'|' '/<>/ { gsub(/ /, "", $3); print $3; exit }' "$TMP/off.tshark")
	[ -n "$frames" ] || frames=-
	read -r u s m < <(tail -1 "$TMP/off.time")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$name" "$OFF_PKTS" "$frames" "$OFF_FRAMES" \
		"$u" "$s" "$m" >> "$OFFLINE"
	rm -f "$TMP/off.tshark"
}

measure_offline() { # RUN
	local run=$1
	export OFFERR=$TMP/off.wst
	note "r$run offline: wstrace -r and tshark -r on the capture"
	off_wstrace "$run" "wstrace -r" -q
	off_tshark "$run" "tshark -r -q" -q -z "io,stat,0,COUNT(websocket.opcode)websocket.opcode"
	# What no decoding can save: the process's start-up (a capture with no
	# packets) and reading the file alone (read_floor.c).
	off_floor "$run" "floor: wstrace start-up" "$WSTRACE" -r "$TMP/off_header.pcap" -q
	off_floor "$run" "floor: reading the file" "$OUT/read_floor" "$PCAP"
	# Like for like while printing (one line per event / packet): run 1 only.
	if [ "$run" -eq 1 ]; then
		off_wstrace "$run" "wstrace -r text" --event-limit 0
		off_wstrace "$run" "wstrace -r json" --json --event-limit 0
		off_tshark "$run" "tshark -r" -Y websocket
	fi
}

# --- Concurrency: many idle connections, memory per tracked connection,
# and the flow table bound (--max-flows) holding.
IDLE_TSV=$OUT/idle.tsv
printf 'run\tcase\tconns\tmax_flows\trss_anon_before_kb\trss_anon_idle_kb\thwm_kb\tbytes_per_conn\tseen\tevicted\tstatus\n' > "$IDLE_TSV"
idle_case() { # RUN NAME MAX_FLOWS (0 = default)
	local run=$1 name=$2 mf=$3 srcs=$(( IDLE / 5000 + 1 )) extra=() spid tpid cpid a0 a1 hwm up seen ev i st=ok
	[ "$mf" -gt 0 ] && extra=(--max-flows "$mf")
	bg_start "$TMP/idle.srv" "$TMP/idle.srv.err" "$WSLOAD" server -p "$PORT"
	spid=$BG
	wait_for "$TMP/idle.srv" "ready=1" 10 "$spid" || { note "idle: server did not start"; stop_tree "$spid"; return; }
	bg_start /dev/null "$TMP/idle.wst" "$WSTRACE" -i lo -p "$PORT" -q -v "${extra[@]}"
	tpid=$BG
	if ! wait_for "$TMP/idle.wst" "listening on" 30 "$tpid"; then
		note "idle: wstrace did not start"; stop_tree "$tpid"; stop_tree "$spid"; return
	fi
	sleep 0.3
	read -r _ _ _ _ a0 <<< "$(proc_cpu "$tpid")"
	bg_start "$TMP/idle.cli" "$TMP/idle.cli.err" timeout -k 5 60 "$WSLOAD" client -p "$PORT" -c "$IDLE" -S "$srcs" -i -d 6
	cpid=$BG
	# Sample memory in the idle phase: all connections open, nothing sent.
	for i in $(seq 300); do
		[ "$(nsx ss -Htn state established "( sport = :$PORT )" | wc -l)" -ge "$IDLE" ] && break
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 2
	read -r _ _ _ hwm a1 <<< "$(proc_cpu "$tpid")"
	wait "$cpid"
	stop_tree "$spid" 5
	stop_exit "$tpid" 10 || st="wstrace exit $?"
	up=$(kv "$TMP/idle.cli" upgraded)
	seen=$(num "$TMP/idle.wst" "connections seen")
	ev=$(grep -oE '[0-9]+ evicted$' "$TMP/idle.wst" | head -1 | cut -d' ' -f1)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$name" "${up:-0}" "$mf" "$a0" "$a1" "$hwm" \
		"$(( (a1 - a0) * 1024 / (${up:-0} > 0 ? up : 1) ))" "${seen:--}" "${ev:--}" "$st" >> "$IDLE_TSV"
	cp "$TMP/idle.wst" "$LOGS/r$run-idle-$name.stderr"
	note "idle/$name: $(tail -1 "$IDLE_TSV" | cut -f3-)"
}

# --- The machine and the settings, for the report.
MACHINE=$OUT/machine.tsv
meta() { printf '%s\t%s\n' "$1" "$2" >> "$MACHINE"; }
: > "$MACHINE"
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta cpu "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
meta cores "$(nproc)"
meta memory "$(awk '/MemTotal/{printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
meta kernel "$(uname -r)"
meta virt "$(systemd-detect-virt 2>/dev/null || echo unknown)"
meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
meta wstrace "$("$WSTRACE" --version 2>&1 | head -1) ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'))"
meta tcpdump "$(tcpdump --version 2>&1 | head -1)"
meta tshark "$(tshark --version 2>/dev/null | grep -m1 TShark)"
meta openssl "$(openssl version 2>&1)"
meta runs "$RUNS"
meta duration "$DUR"
meta rate "$RATE"
meta conns "$CONNS_LIST"
meta size "$SIZE"
meta catchup "$CATCHUP"
meta churn "$CHURN_CONNS connections open, $CHURN_RATE new connections/s, $CHURN_MSGS messages each"
meta feature_tls "$HAS_TLS ($TLS_OPT)"
meta feature_noattr "$HAS_NOATTR ($NOATTR_OPT)"
meta feature_correlate "$HAS_CORR ($CORR_OPT)"

echo "wstrace benchmark: $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "$RUNS runs; $DUR s per configuration; wss decoding: $HAS_TLS, attribution switch: $HAS_NOATTR, correlation: $HAS_CORR" >&2

# BPF run-time statistics: on while bpf_stats_hold runs (older kernels:
# the sysctl, put back at the end).
"$OUT/bpf_stats_hold" > "$TMP/stats.out" 2> "$TMP/stats.err" < /dev/null &
LIVE[$!]=1
if ! wait_for "$TMP/stats.out" "ready=1" 5 "$!"; then
	OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1 || die "cannot enable BPF run-time statistics"
fi

skipped wss || make_cert
: > "$TMP/keylog"
skipped offline || record_offline

for run in $(seq "$RUNS"); do
	note "run $run of $RUNS"
	meta "load_run$run" "$(cut -d' ' -f1 /proc/loadavg)"
	if ! skipped fixed; then
		shape fixed "$C1" 1 "$RATE"
		run_shape "$run" fixed $TOOLS $FLOOR_TOOLS
	fi
	for fps in 1 32; do
		skipped "max$fps" && continue
		for c in $CONNS_LIST; do
			skipped "max$fps-c$c" && continue
			shape "max$fps-c$c" "$c" "$fps" 0
			run_shape "$run" "max$fps-c$c" $TOOLS
		done
	done
	if ! skipped wss; then
		shape wss "$C1" 1 "$RATE" -T -k "$TMP/keylog"
		SRV_ARGS=(-T -C "$TMP/cert.pem" -K "$TMP/key.pem")
		w=(none tshark)
		[ "$HAS_TLS" = yes ] && w+=(wstrace-daemon wstrace-q)
		run_shape "$run" wss "${w[@]}"
	fi
	if ! skipped churn; then
		shape churn "$CHURN_CONNS" 1 "$((CHURN_RATE * CHURN_MSGS))" -m "$CHURN_MSGS" -S 16
		w=(none wstrace-daemon wstrace-q)
		[ "$HAS_NOATTR" = yes ] && w+=(wstrace-daemon-noattr wstrace-q-noattr)
		run_shape "$run" churn "${w[@]}"
	fi
	if ! skipped correlate && [ "$HAS_CORR" = yes ]; then
		# Every message opens a window (its id is unique): RssAnon at the
		# end of the load, with and without the option, per window.
		shape correlate "$C1" 1 "$RATE" -j "$CORR_KEY"
		SRV_ARGS=(-j "$CORR_KEY")
		run_shape "$run" correlate wstrace-q wstrace-q-corr
	fi
	skipped offline || measure_offline "$run"
done

if ! skipped idle; then
	for run in $(seq "$IDLE_RUNS"); do
		note "concurrency: $IDLE idle connections (run $run of $IDLE_RUNS)"
		idle_case "$run" default 0
		idle_case "$run" bounded $(( IDLE / 4 ))
	done
fi

meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
meta elapsed_s "$(( $(date +%s) - T0 ))"
/usr/bin/python3 "$ROOT/tests/bench/report.py" "$OUT" | tee "$OUT/report.md"
