#!/usr/bin/env bash
# The benchmark harness (tests/bench/run.sh) in miniature: two runs of short
# loads must give a row per run, shape and tool, a report with every target
# judged over the runs, tshark decrypting the wss load with the client's key
# log, wstrace's BPF run time and every frame decoded at a low rate, the
# floor programs' run time and the report's floor section, a churn
# load that really churns, an offline comparison where tshark decodes every
# frame of the 64 KiB packets; the "every run" rule must turn a loss in one
# run into "not met"; and the harness, stopped halfway, must leave no
# process, namespace or file behind.
. "$(dirname "$0")/lib.sh"
need_root
for t in tcpdump tshark openssl cc; do
	command -v "$t" >/dev/null || skip "needs $t"
done

RUN=$ROOT/tests/bench/run.sh
OUT=$TMP/bench
NS_BEFORE=$(ip netns list | awk '{print $1}' | grep '^wsbench-' | sort)

# Small and quick: 2 runs of 1 s loads, two tools on the ws shapes.
bench_env=(BENCH_WSTRACE="$WSTRACE" BENCH_RUNS=2 BENCH_DURATION=1 BENCH_CONNS=4 BENCH_RATE=2000
	BENCH_TOOLS="none wstrace-q" BENCH_SKIP="max1 correlate" BENCH_IDLE=200
	BENCH_OFFLINE_DURATION=0.1 BENCH_OFFLINE_REPS=1 BENCH_CHURN_RATE=100 BENCH_CHURN_CONNS=8
	BENCH_CATCHUP=3)
info "bench: 2 runs"
env "${bench_env[@]}" BENCH_OUT="$OUT" timeout -k 10 400 "$RUN" "$BUILD" > "$TMP/bench.out" 2> "$TMP/bench.log" ||
	{ tail -30 "$TMP/bench.log"; fail "run.sh exited with $?"; }

R=$OUT/results.tsv
[ -s "$R" ] || fail "no results.tsv"
col() { head -1 "$R" | tr '\t' '\n' | grep -nx "$1" | cut -d: -f1; }
field() { # SHAPE TOOL RUN COLUMN
	awk -F'\t' -v s="$1" -v t="$2" -v r="$3" -v c="$(col "$4")" '$1 == r && $2 == s && $3 == t { print $c }' "$R"
}
# Every configuration in both runs, each clean.
for sc in fixed max32-c4 churn; do
	for tool in none wstrace-q; do
		for run in 1 2; do
			st=$(field "$sc" "$tool" "$run" status)
			[ "$st" = ok ] || fail "run $run $sc/$tool: status '$st'"
		done
	done
done
for run in 1 2; do
	for tool in none tshark; do
		[ "$(field wss "$tool" "$run" status)" = ok ] || fail "run $run wss/$tool not ok"
	done
done
rows=$(($(wc -l < "$R") - 1))
# 9 per run at least; more when the binary has the options of the extra
# configurations (--no-tls, --no-owners: wss and churn with them off).
[ "$rows" -ge 18 ] && [ $((rows % 2)) -eq 0 ] || fail "expected 9 or more result rows per run, got $rows"
bad=$(awk -F'\t' -v c="$(col status)" 'NR > 1 && $c != "ok"' "$R" | head -3)
[ -z "$bad" ] || fail "result rows not ok: $bad"

for run in 1 2; do
	# wstrace's CPU includes its BPF programs' run time, and at 2000 msg/s
	# it decodes every frame the server verified.
	bpf=$(field fixed wstrace-q "$run" bpf_ns)
	[ "${bpf:-0}" -gt 0 ] || fail "run $run: no BPF run time for wstrace ($bpf)"
	frames=$(field fixed wstrace-q "$run" frames)
	[ "${frames:-0}" -ge 1000 ] || fail "run $run: server verified only '$frames' frames"
	[ "$(field fixed wstrace-q "$run" undecoded)" = 0 ] || fail "run $run: undecoded frames at 2000 msg/s"
	# tshark decrypted the TLS load with the key log the client wrote.
	lines=$(field wss tshark "$run" ws_lines)
	frames=$(field wss tshark "$run" frames)
	[ "${lines:-0}" -ge $(( ${frames:-1} * 9 / 10 )) ] && [ "${lines:-0}" -gt 0 ] ||
		fail "run $run: tshark showed $lines WebSocket packets for $frames frames of the wss load"
	# The churn load opened many more connections than it keeps open.
	acc=$(field churn none "$run" accepted)
	[ "${acc:-0}" -ge 40 ] || fail "run $run: churn accepted only '$acc' connections"
	# The socket owner programs ran for each connection: the server's
	# accept and the client's connect (enter and exit).
	acc=$(field churn wstrace-q "$run" accepted)
	own=$(field churn wstrace-q "$run" own_ns)
	runs=$(field churn wstrace-q "$run" own_cnt)
	[ "${own:-0}" -gt 0 ] || fail "run $run: no BPF run time of the socket owner programs ($own)"
	[ "${runs:-0}" -ge "${acc:-1}" ] || fail "run $run: socket owner programs ran $runs times for $acc connections"
	# The floor programs ran alone on the fixed-rate load: their BPF time.
	for tool in floor-copy floor-batched; do
		[ "$(field fixed "$tool" "$run" status)" = ok ] || fail "run $run fixed/$tool not ok"
		b=$(field fixed "$tool" "$run" bpf_ns)
		[ "${b:-0}" -gt 0 ] || fail "run $run: no BPF run time for $tool ($b)"
	done
done

# Offline: tshark (tree depth raised) and wstrace decode the whole capture.
O=$OUT/offline.tsv
for run in 1 2; do
	read -r wf inf < <(awk -F'\t' -v r="$run" '$1 == r && $2 == "wstrace -r" { print $4, $5 }' "$O")
	read -r tf < <(awk -F'\t' -v r="$run" '$1 == r && $2 == "tshark -r -q" { print $4 }' "$O")
	[ "${inf:-0}" -gt 10000 ] || fail "run $run: offline capture has '$inf' frames"
	[ "${wf:-0}" -ge "$inf" ] || fail "run $run: wstrace -r decoded $wf of $inf frames"
	[ "${tf:-0}" -ge $(( inf * 99 / 100 )) ] || fail "run $run: tshark -r decoded $tf of $inf frames"
	# the offline floor: start-up and reading the file, each a CPU time
	for f in "floor: wstrace start-up" "floor: reading the file"; do
		awk -F'\t' -v r="$run" -v f="$f" '$1 == r && $2 == f && $6 + $7 > 0 { ok = 1 } END { exit !ok }' "$O" ||
			fail "run $run: no CPU time for '$f'"
	done
done
[ "$(awk -F'\t' '$2 == "default"' "$OUT/idle.tsv" | wc -l)" -eq 1 ] || fail "no idle measurement"

# The report: the machine, and every target judged over the 2 runs.
REP=$OUT/report.md
grep -q "^## Machine and settings" "$REP" || fail "report has no machine section"
grep -q "load average at start" "$REP" || fail "report has no load average"
# Judged where this run measured it (the tools left out here leave 8 of
# the 16 targets not measured).
n=$(grep -cE '^\| .* \| (every run|median) \| .* \| [0-9]+/[0-9]+ \| (met|\*\*not met\*\*) \|$' "$REP")
all=$(grep -cE '^\| .* \| (every run|median) \| ' "$REP")
[ "$n" -ge 8 ] && [ "$all" -ge 16 ] ||
	{ cat "$REP"; fail "report judges $n targets of $all, expected at least 8 of 16"; }
grep -qE '^\| 32 frames/send, 4 conns, command-line defaults: 0 ring-buffer loss.* \| [0-2]/2 \|' "$REP" ||
	fail "report has no judged loss target for the 4-connection 32-frames shape"
grep -q "wstrace on wss: not supported\|wss / ws CPU per message" "$REP" || fail "report says nothing of wss"
grep -qE '^- floor-copy: its BPF time alone, [0-9,]+ ns per packet, is (above|below) the 300 ns' "$REP" ||
	{ grep -A12 "^## The floor" "$REP"; fail "report has no floor of this machine"; }
grep -qE '^- 100x tshark.s frames per CPU-second on this file means wstrace -r -q in at most [0-9.]+ ms' "$REP" ||
	{ grep -A12 "^#### The floor of this file" "$REP"; fail "report has no offline floor"; }
cmp -s "$REP" "$TMP/bench.out" || fail "report.md differs from what run.sh printed"
# the attribution cost per connection: the owner programs' BPF time, a number
grep -qE '^\| wstrace-q \(command-line defaults\) \| [0-9][0-9,]* (\([0-9,]+–[0-9,]+\) )?\| ' "$REP" ||
	{ grep -A4 "^Attribution cost" "$REP"; fail "report has no BPF time per connection of the socket owner programs"; }

# "every run": a loss in run 2 only makes the target not met, 1 of 2 runs.
mkdir "$TMP/edit"
cp "$OUT"/*.tsv "$TMP/edit/"
awk -F'\t' -v OFS='\t' -v c="$(col drops)" -v u="$(col undecoded)" \
	'$1 == 1 && $2 == "max32-c4" && $3 == "wstrace-q" { $c = 0; $u = 0 }
	 $1 == 2 && $2 == "max32-c4" && $3 == "wstrace-q" { $c = 5; $u = 0 } { print }' \
	"$R" > "$TMP/edit/results.tsv"
/usr/bin/python3 "$ROOT/tests/bench/report.py" "$TMP/edit" > "$TMP/edit.md" || fail "report.py failed on edited results"
grep -qE '^\| 32 frames/send, 4 conns, command-line defaults: 0 ring-buffer loss.*\| every run \| .*\(0–5\) \| 1/2 \| \*\*not met\*\* \|$' \
	"$TMP/edit.md" || { grep "32 frames" "$TMP/edit.md"; fail "one lossy run of two is not 'not met, 1/2'"; }
awk -F'\t' -v OFS='\t' -v c="$(col drops)" -v u="$(col undecoded)" \
	'$2 == "max32-c4" && $3 == "wstrace-q" { $c = 0; $u = 0 } { print }' "$R" > "$TMP/edit/results.tsv"
/usr/bin/python3 "$ROOT/tests/bench/report.py" "$TMP/edit" > "$TMP/edit.md"
grep -qE '^\| 32 frames/send, 4 conns, command-line defaults: 0 ring-buffer loss.*\| 2/2 \| met \|$' "$TMP/edit.md" ||
	{ grep "32 frames" "$TMP/edit.md"; fail "two clean runs are not 'met, 2/2'"; }

# Stopped halfway (TERM once results start), it cleans up after itself.
info "bench: interrupted"
OUT2=$TMP/bench2
env "${bench_env[@]}" BENCH_DURATION=3 BENCH_OUT="$OUT2" "$RUN" "$BUILD" > /dev/null 2> "$TMP/bench2.log" &
BPID=$!
PIDS+=("$BPID")
results() { [ -f "$OUT2/results.tsv" ] && [ "$(wc -l < "$OUT2/results.tsv")" -ge 3 ]; }
wait_until 120 results || { tail -20 "$TMP/bench2.log"; fail "no result from the interrupted bench in 120 s"; }
kill -TERM "$BPID"
wait_until 30 gone "$BPID" || fail "run.sh still running 30 s after TERM"
wait "$BPID"
rc=$?
[ "$rc" -eq 143 ] || fail "interrupted run.sh exited with $rc, not 143"
pgrep -f "$OUT2/" > /dev/null && { pgrep -af "$OUT2/"; fail "processes of the interrupted bench are left"; }
pgrep -f "$OUT/" > /dev/null && fail "processes of the first bench are left"
pgrep -f "/tmp/wsbench-$BPID\." > /dev/null && { pgrep -af "/tmp/wsbench-$BPID\."; fail "captures of the interrupted bench are left"; }
# A namespace left behind is one that was not there before and whose bench
# (the pid in its name) has ended; another bench running meanwhile is not ours.
left=$(ip netns list | awk '{print $1}' | grep '^wsbench-' | sort | comm -23 - <(echo "$NS_BEFORE") |
	while read -r ns; do [ -d "/proc/${ns#wsbench-}" ] || echo "$ns"; done)
[ -z "$left" ] || fail "a wsbench namespace is left: $left"
ls -d /tmp/wsbench-"$BPID".* 2>/dev/null && fail "the interrupted bench's temporary directory is left"
info "ok: $rows results, $n targets judged, cleanup after TERM"
