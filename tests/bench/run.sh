#!/bin/bash
# Benchmark: wstrace against tcpdump and tshark under the same WebSocket load,
# on loopback inside a network namespace this script creates and removes.
#
#   tests/bench/run.sh BUILD_DIR
#
# Environment (all optional):
#   BENCH_DURATION  seconds of load per configuration (default 5)
#   BENCH_RATE      messages/s of the fixed-rate load (default 20000)
#   BENCH_CONNS     connections of the throughput loads (default 16)
#   BENCH_SIZE      message size in bytes (default 64)
#   BENCH_IDLE      idle connections of the concurrency test (default 10000)
#   BENCH_SKIP      space-separated parts to skip: fixed max1 max32 offline idle
#   BENCH_WSTRACE   wstrace binary (default BUILD_DIR/wstrace)
#   BENCH_TOOLS     capture configurations to run (default: all six)
#   BENCH_KEEP      keep the temporary directory
#
# Results: a table on stdout, raw figures in BUILD_DIR/bench/results.tsv.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=$BUILD/bench
WSTRACE=${BENCH_WSTRACE:-$BUILD/wstrace}
WSLOAD=$OUT/wsload
DUR=${BENCH_DURATION:-5}
RATE=${BENCH_RATE:-20000}
CONNS=${BENCH_CONNS:-16}
SIZE=${BENCH_SIZE:-64}
IDLE=${BENCH_IDLE:-10000}
SKIP=" ${BENCH_SKIP:-} "
PORT=7272
PY=/usr/bin/python3
HZ=$(getconf CLK_TCK)

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "--- $*" >&2; }
skipped() { [[ $SKIP == *" $1 "* ]]; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespace, eBPF)"
[ -x "$WSTRACE" ] || die "no wstrace at $WSTRACE (run make)"
for t in ip tcpdump tshark bpftool $PY; do
	command -v "$t" >/dev/null || die "needs $t"
done
mkdir -p "$OUT" || die "cannot create $OUT"
cc -O2 -g -Wall -Wextra -Werror -pthread "$ROOT/tests/bench/wsload.c" -o "$WSLOAD" -lcrypto ||
	die "cannot build the load generator"

NS="wsbench-$$"
TMP=$(mktemp -d "/tmp/wsbench-$$.XXXXXX")
: > "$TMP/empty.conf" # the service's defaults, whatever /etc/wstrace holds
PIDS=()
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || die "cannot create namespace $NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null
sysctl -qw kernel.bpf_stats_enabled=1 || die "cannot enable BPF run-time statistics"

nsx() { ip netns exec "$NS" "$@"; }

# Descendants of a pid, itself included.
tree_pids() {
	local p=$1 c
	echo "$p"
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
		tree_pids "$c"
	done
}

# "user_ticks sys_ticks run_ns hwm_kb rss_anon_kb" over a process tree.
proc_cpu() {
	local u=0 s=0 ns=0 hwm=0 anon=0 p f a b
	for p in $(tree_pids "$1"); do
		[ -r /proc/"$p"/stat ] || continue
		# Fields after the command name: utime is the 12th, stime the 13th.
		read -r a b < <(sed 's/.*) //' /proc/"$p"/stat | awk '{print $12, $13}')
		u=$((u + a)); s=$((s + b))
		for f in /proc/"$p"/task/*/schedstat; do
			read -r a _ < "$f" 2>/dev/null && ns=$((ns + a))
		done
		a=$(awk '/^VmHWM:/{print $2}' /proc/"$p"/status 2>/dev/null)
		hwm=$((hwm + ${a:-0}))
		a=$(awk '/^RssAnon:/{print $2}' /proc/"$p"/status 2>/dev/null)
		anon=$((anon + ${a:-0}))
	done
	echo "$u $s $ns $hwm $anon"
}

# "run_time_ns run_cnt" of the BPF programs a pid holds open (their ids
# come from its file descriptors' fdinfo).
bpf_stats() {
	local ids
	ids=$(grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
	bpftool prog show -j 2>/dev/null | $PY -c '
import json, sys
ids = {int(x) for x in sys.argv[1].split()}; t = c = 0
for p in json.load(sys.stdin):
    if p.get("id") in ids:
        t += p.get("run_time_ns", 0); c += p.get("run_cnt", 0)
print(t, c)' "$ids"
}

lo_packets() { nsx cat /sys/class/net/lo/statistics/tx_packets; }
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

wait_for() { # FILE PATTERN SECONDS
	local i
	for i in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Waits until a process tree has used no CPU for a while (it caught up).
wait_idle() {
	local pid=$1 prev cur i
	prev=$(proc_cpu "$pid" | cut -d' ' -f3)
	for i in $(seq 60); do
		sleep 0.3
		cur=$(proc_cpu "$pid" | cut -d' ' -f3)
		[ $((cur - prev)) -lt 3000000 ] && return 0
		prev=$cur
	done
	return 1
}

kv() { sed -n "s/^$2=//p" "$1" | head -1; }
num() { grep -oE "^[0-9]+ $2" "$1" | head -1 | cut -d' ' -f1; }

RESULTS=$OUT/results.tsv
printf 'scenario\ttool\tmsg_per_s\tmessages\tframes_expected\tpackets\tuser_ms\tsys_ms\tproc_ns\tbpf_ns\tbpf_cnt\thwm_kb\tdrops\tgaps\tundecoded\tbusy_ms\tload_s\n' > "$RESULTS"

# run_case SCENARIO TOOL CLIENT_ARGS...
run_case() {
	local sc=$1 tool=$2; shift 2
	local err=$TMP/$sc-$tool.err srv=$TMP/$sc-$tool.srv cli=$TMP/$sc-$tool.cli
	local tpid="" spid c0 c1 b0 b1 p0 p1 k0 k1 t_start t_end
	local drops="" gaps="" undec="" ready="" cmd=()

	case $tool in
	none) ;;
	tcpdump-w) cmd=(tcpdump -i lo -s 4096 -w /dev/null); ready="listening on" ;;
	tcpdump-A) cmd=(tcpdump -nn -A -s 4096 -i lo); ready="listening on" ;;
	tshark) cmd=(tshark -i lo -n -d "tcp.port==$PORT,http" -Y websocket); ready="Capturing on" ;;
	wstrace-q) cmd=("$WSTRACE" -i lo -p "$PORT" -q -v); ready="listening on" ;;
	# Every event printed (no --event-limit): the cost of the whole output.
	wstrace-json) cmd=("$WSTRACE" -i lo -p "$PORT" --json -v --event-limit 0); ready="listening on" ;;
	wstrace-q-s0) cmd=("$WSTRACE" -i lo -p "$PORT" -q -v -s 0); ready="listening on" ;;
	# The service's defaults: whole packets, bigger ring, counters, no printing.
	wstrace-daemon) cmd=("$WSTRACE" --daemon --config "$TMP/empty.conf" -i lo -p "$PORT" --metrics "127.0.0.1:$((PORT + 1))"); ready="listening on" ;;
	*) die "unknown tool $tool" ;;
	esac

	ip netns exec "$NS" "$WSLOAD" server -p "$PORT" > "$srv" 2>&1 &
	spid=$!
	PIDS+=("$spid")
	wait_for "$srv" "ready=1" 5 || die "$sc/$tool: server did not start"
	if [ ${#cmd[@]} -gt 0 ]; then
		ip netns exec "$NS" "${cmd[@]}" > /dev/null 2> "$err" &
		tpid=$!
		PIDS+=("$tpid")
		wait_for "$err" "$ready" 20 || { cat "$err" >&2; die "$sc/$tool: capture did not start"; }
		sleep 0.5
		c0=$(proc_cpu "$tpid")
		b0=$(bpf_stats "$tpid")
	fi
	p0=$(lo_packets)
	k0=$(busy_ticks)
	t_start=$(date +%s.%N)
	nsx "$WSLOAD" client -p "$PORT" "$@" > "$cli" 2>&1 || note "$sc/$tool: client reported failed connections"
	t_end=$(date +%s.%N)
	k1=$(busy_ticks)
	if [ -n "$tpid" ]; then
		wait_idle "$tpid" || note "$sc/$tool: capture still busy 18 s after the load"
		c1=$(proc_cpu "$tpid")
		b1=$(bpf_stats "$tpid")
	fi
	p1=$(lo_packets)
	kill -TERM "$spid"
	wait "$spid" 2>/dev/null
	if [ -n "$tpid" ]; then
		kill -TERM "$tpid"
		wait "$tpid" 2>/dev/null
	fi

	local msgs frames rate
	msgs=$(kv "$srv" messages)
	frames=$(kv "$srv" frames)
	rate=$(kv "$srv" msg_per_s)
	[ "$(kv "$srv" bad_payload)" = 0 ] || note "$sc/$tool: server saw bad payloads"
	set -- ${c0:-0 0 0 0 0}
	local u0=$1 s0=$2 n0=$3
	set -- ${c1:-0 0 0 0 0}
	local u1=$1 s1=$2 n1=$3 hwm=$4
	set -- ${b0:-0 0}
	local bt0=$1 bc0=$2
	set -- ${b1:-0 0}
	local bt1=$1 bc1=$2
	case $tool in
	tcpdump*) drops=$(grep -oE '^[0-9]+ packets? dropped by kernel' "$err" | cut -d' ' -f1) ;;
	tshark) drops=$(grep -oE '[0-9]+ packets? dropped' "$err" | head -1 | cut -d' ' -f1); drops=${drops:-0} ;;
	wstrace*)
		drops=$(num "$err" "packets lost")
		gaps=$(grep -oE '[0-9]+ stream gaps' "$err" | cut -d' ' -f1)
		local dec
		dec=$(grep -oE '^[0-9]+ frames c2s' "$err" | cut -d' ' -f1)
		undec=$(( frames > ${dec:-0} ? frames - ${dec:-0} : 0 ))
		;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$sc" "$tool" "$rate" "$msgs" "$frames" "$((p1 - p0))" \
		"$(( (u1 - u0) * 1000 / HZ ))" "$(( (s1 - s0) * 1000 / HZ ))" "$((n1 - n0))" \
		"$((bt1 - bt0))" "$((bc1 - bc0))" "$hwm" "${drops:--}" "${gaps:--}" "${undec:--}" \
		"$(( (k1 - k0) * 1000 / HZ ))" "$(echo "$t_end - $t_start" | bc)" >> "$RESULTS"
	cp "$err" "$OUT/$sc-$tool.stderr" 2>/dev/null
	note "$sc/$tool: $(tail -1 "$RESULTS" | cut -f3-)"
}

TOOLS=${BENCH_TOOLS:-"none tcpdump-w tcpdump-A tshark wstrace-q wstrace-json wstrace-daemon"}

echo "wstrace benchmark: $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), Linux $(uname -r)"
echo "load: $CONNS connections, $SIZE-byte messages, $DUR s per configuration"

if ! skipped fixed; then
	note "fixed rate: $RATE msg/s, one frame per send"
	for t in $TOOLS; do
		run_case fixed "$t" -c "$CONNS" -s "$SIZE" -r "$RATE" -f 1 -d "$DUR"
	done
fi
if ! skipped max1; then
	note "highest rate, one frame per send"
	for t in $TOOLS; do
		run_case max1 "$t" -c "$CONNS" -s "$SIZE" -r 0 -f 1 -d "$DUR"
	done
fi
if ! skipped max32; then
	note "highest rate, 32 frames per send"
	for t in $TOOLS; do
		run_case max32 "$t" -c "$CONNS" -s "$SIZE" -r 0 -f 32 -d "$DUR"
	done
fi

# Offline: the same capture file through wstrace -r and tshark -r.
OFFLINE=$OUT/offline.tsv
printf 'tool\tpackets\tws_frames\tuser_s\tsys_s\tmaxrss_kb\n' > "$OFFLINE"
if ! skipped offline; then
	note "offline: recording a capture file"
	PCAP=$TMP/offline.pcap
	ip netns exec "$NS" "$WSLOAD" server -p "$PORT" > "$TMP/off.srv" 2>&1 &
	spid=$!; PIDS+=("$spid")
	wait_for "$TMP/off.srv" "ready=1" 5
	ip netns exec "$NS" tcpdump -i lo -s 0 -w "$PCAP" 2> "$TMP/off.tcpdump" &
	tpid=$!; PIDS+=("$tpid")
	wait_for "$TMP/off.tcpdump" "listening on" 10
	sleep 0.5
	nsx "$WSLOAD" client -p "$PORT" -c "$CONNS" -s "$SIZE" -r 50000 -f 1 -d "$DUR" > "$TMP/off.cli"
	sleep 0.5
	kill -TERM "$tpid"; wait "$tpid" 2>/dev/null
	kill -TERM "$spid"; wait "$spid" 2>/dev/null
	off_pkts=$(tcpdump -r "$PCAP" 2>/dev/null | wc -l)
	off_frames=$(kv "$TMP/off.srv" frames)
	note "offline: $off_pkts packets, $off_frames client frames, $(du -h "$PCAP" | cut -f1)"
	# wstrace takes well under a second: its figures are over OFF_REPS runs
	# (divided back), so the 10 ms timer resolution does not dominate.
	# Both tools are measured twice: printing nothing (wstrace -q, tshark -q:
	# decoding only) and printing a line per event (wstrace's default text,
	# tshark's summary line per WebSocket packet), output to /dev/null.
	OFF_REPS=${BENCH_OFFLINE_REPS:-5}
	off_wstrace() { # NAME ARGS...
		local name=$1; shift
		/usr/bin/time -f '%U %S %M' -o "$TMP/off.time.w" sh -c \
			'n=$1; shift; for i in $(seq "$n"); do "$@" > /dev/null 2> "$OFFERR" || exit 1; done' \
			sh "$OFF_REPS" "$WSTRACE" -r "$PCAP" -p "$PORT" "$@"
		dec=$(grep -oE '^[0-9]+ frames c2s' "$TMP/off.wst" | cut -d' ' -f1)
		read -r u s m < <(tail -1 "$TMP/off.time.w")
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$off_pkts" "${dec:-0}" \
			"$(printf %.3f "$(echo "scale=4; $u / $OFF_REPS" | bc)")" "$(printf %.3f "$(echo "scale=4; $s / $OFF_REPS" | bc)")" "$m" >> "$OFFLINE"
	}
	export OFFERR=$TMP/off.wst
	off_wstrace "wstrace -r" -q
	off_wstrace "wstrace -r text" --event-limit 0
	off_wstrace "wstrace -r json" --json --event-limit 0
	/usr/bin/time -f '%U %S %M' -o "$TMP/off.time.t" tshark -r "$PCAP" -n -d "tcp.port==$PORT,http" \
		-Y websocket > "$TMP/off.tshark" 2>/dev/null
	read -r u s m < <(tail -1 "$TMP/off.time.t")
	printf 'tshark -r\t%s\t%s\t%s\t%s\t%s\n' "$off_pkts" "$(grep -c WebSocket "$TMP/off.tshark")" "$u" "$s" "$m" >> "$OFFLINE"
	/usr/bin/time -f '%U %S %M' -o "$TMP/off.time.t" tshark -r "$PCAP" -n -d "tcp.port==$PORT,http" \
		-Y websocket -q > /dev/null 2>&1
	read -r u s m < <(tail -1 "$TMP/off.time.t")
	printf 'tshark -r -q\t%s\t%s\t%s\t%s\t%s\n' "$off_pkts" "-" "$u" "$s" "$m" >> "$OFFLINE"
	cp "$TMP/off.wst" "$OUT/offline-wstrace.stderr"
	rm -f "$TMP/off.tshark"
	[ -n "${BENCH_KEEP:-}" ] && note "offline: capture kept at $PCAP" || rm -f "$PCAP"
fi

# Concurrency: many idle connections, memory per tracked connection, and
# the flow table bound (--max-flows) holding.
IDLE_TSV=$OUT/idle.tsv
printf 'case\tconns\tmax_flows\trss_anon_before_kb\trss_anon_idle_kb\thwm_kb\tbytes_per_conn\tseen\tevicted\n' > "$IDLE_TSV"
idle_case() { # NAME MAX_FLOWS (0 = default)
	local name=$1 mf=$2 srcs=$(( IDLE / 5000 + 1 )) extra=()
	[ "$mf" -gt 0 ] && extra=(--max-flows "$mf")
	ip netns exec "$NS" "$WSLOAD" server -p "$PORT" > "$TMP/idle.srv" 2>&1 &
	spid=$!; PIDS+=("$spid")
	wait_for "$TMP/idle.srv" "ready=1" 5
	ip netns exec "$NS" "$WSTRACE" -i lo -p "$PORT" -q -v "${extra[@]}" > /dev/null 2> "$TMP/idle.wst" &
	tpid=$!; PIDS+=("$tpid")
	wait_for "$TMP/idle.wst" "listening on" 20
	sleep 0.5
	set -- $(proc_cpu "$tpid"); a0=$5
	ip netns exec "$NS" "$WSLOAD" client -p "$PORT" -c "$IDLE" -S "$srcs" -i -d 6 > "$TMP/idle.cli" 2>&1 &
	cpid=$!; PIDS+=("$cpid")
	# Sample memory in the idle phase: all connections open, nothing sent.
	for _ in $(seq 300); do
		[ "$(nsx ss -Htn state established "( sport = :$PORT )" | wc -l)" -ge "$IDLE" ] && break
		sleep 0.1
	done
	sleep 2
	set -- $(proc_cpu "$tpid"); a1=$5; hwm=$4
	wait "$cpid"
	kill -TERM "$spid"; wait "$spid" 2>/dev/null
	kill -TERM "$tpid"; wait "$tpid" 2>/dev/null
	up=$(kv "$TMP/idle.cli" upgraded)
	seen=$(grep -oE '^[0-9]+ connections seen' "$TMP/idle.wst" | cut -d' ' -f1)
	ev=$(grep -oE '[0-9]+ evicted' "$TMP/idle.wst" | cut -d' ' -f1)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$up" "$mf" "$a0" "$a1" "$hwm" \
		"$(( (a1 - a0) * 1024 / (up > 0 ? up : 1) ))" "$seen" "$ev" >> "$IDLE_TSV"
	cp "$TMP/idle.wst" "$OUT/idle-$name.stderr"
	note "idle/$name: $(tail -1 "$IDLE_TSV" | cut -f2-)"
}
if ! skipped idle; then
	note "concurrency: $IDLE idle connections"
	idle_case default 0
	idle_case bounded $(( IDLE / 4 ))
fi

$PY "$ROOT/tests/bench/report.py" "$RESULTS" "$OFFLINE" "$IDLE_TSV" | tee "$OUT/report.md"
