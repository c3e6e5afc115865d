#!/usr/bin/env bash
# A tiny ring buffer (--ringbuf-kb 8) under load (a bulk flood and steady
# connections), while reloads move the capture between lo and any and
# between tcx and clsact: the ring overflows (records lost), yet the kernel
# program's SYN count equals the connections made, and at exit its packet
# count equals the packets processed plus those lost, exactly: a reload
# loses nothing that is not counted and counts nothing twice.
. "$(dirname "$0")/lib.sh"
need_root

new_ns ring >/dev/null
new_ns ringp >/dev/null
NS=wst-ring-$E2E_ID
veth_pair "$NS" "wst-ringp-$E2E_ID"
PORT=7283
PORT2=7284
CONF=$TMP/wstrace.conf
ERR=$TMP/w.err

# Four connections writing 16 KiB chunks to a reader until STOP exists.
cat >"$TMP/flood.py" <<'EOF'
import os, socket, sys, threading, time
port, stop = int(sys.argv[1]), sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
def drain(c):
    while c.recv(1 << 20):
        pass
def serve():
    while True:
        c, _ = srv.accept()
        threading.Thread(target=drain, args=(c,), daemon=True).start()
sent = [0] * 4
def send(i):
    s = socket.create_connection(("127.0.0.1", port))
    chunk = b"z" * 16384
    deadline = time.monotonic() + 60
    while not os.path.exists(stop) and time.monotonic() < deadline:
        s.sendall(chunk)
        sent[i] += len(chunk)
    s.close()
threading.Thread(target=serve, daemon=True).start()
ts = [threading.Thread(target=send, args=(i,)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print("sent", sum(sent))
EOF

MPORT=19283
conf() { printf 'metrics = 127.0.0.1:%s\n%s\n' "$MPORT" "$1" >"$CONF"; }
kernel_packets() {
	http_get "$NS" "http://127.0.0.1:$MPORT/metrics" | awk '$1 ~ /^wstrace_packets_total[{]/ {s += $2} END {print s + 0}'
}
outcomes() { grep -c "reloaded:\|reload failed\|reload: keeping" "$ERR"; }
outcomes_above() { [ "$(outcomes)" -gt "$1" ]; }
packets_reach() { [ "$(kernel_packets)" -ge "$1" ]; }

conf "interface = lo"
# -s 4096: whole packets of 64 KiB would never fit the ring, only be lost.
start_wstrace "$NS" /dev/null "$ERR" --config "$CONF" -p $PORT,$PORT2 -q -s 4096 --ringbuf-kb 8
WPID=$WSTRACE_PID

info "load, and reloads while it runs"
bg "$NS" "$PY" "$TMP/flood.py" $PORT "$TMP/stop" >"$TMP/flood.out" 2>&1
FLOOD=${PIDS[-1]}
bg "$NS" "$PY" "$ROOT/tests/e2e/steady_conns.py" $PORT2 100000 "$TMP/progress" "$TMP/stop" >"$TMP/steady.out" 2>&1
STEADY=${PIDS[-1]}
for c in "interface = any" "interface = lo
clsact = true" "interface = any
clsact = true" "interface = lo" "interface = any
clsact = true" "interface = any"; do
	# Load between reloads: the kernel's packet count grows first.
	before=$(outcomes)
	wait_until 20 packets_reach $(($(kernel_packets) + 3000)) || fail "the load does not reach the kernel program"
	gone "$FLOOD" && { cat "$TMP/flood.out"; fail "load ended early"; }
	conf "$c"
	kill -HUP "$WPID"
	wait_until 20 outcomes_above "$before" || { cat "$ERR"; fail "no outcome for reload '$c'"; }
done
touch "$TMP/stop"
both_gone() { gone "$FLOOD" && gone "$STEADY"; }
wait_until 60 both_gone || fail "the load did not stop"
wait "$FLOOD" || { cat "$TMP/flood.out"; fail "load failed"; }
wait "$STEADY" || { cat "$TMP/steady.out"; fail "steady connections failed"; }
grep -q "^sent [1-9]" "$TMP/flood.out" || { cat "$TMP/flood.out"; fail "no load was sent"; }
conns=$(sed -n 's/^sent \([0-9]*\)$/\1/p' "$TMP/steady.out")
expect_ge "${conns:-0}" 100 "steady connections made"
syn_metric() {
	http_get "$NS" "http://127.0.0.1:$MPORT/metrics" | awk '$1 == "wstrace_tcp_flags_total{flag=\"syn\"}" {print $2}'
}
# The flood's 4 connections and the steady ones: the kernel counts each SYN
# when it sees it, whether or not the ring had room for the record.
expect_eq "$(syn_metric)" $((conns + 4)) "SYNs counted by the kernel program"

info "stop: kernel count = processed + lost"
gone "$WPID" && { cat "$ERR"; fail "wstrace died under load"; }
stop_wstrace "$WPID" "$ERR"
grep -v "^[0-9]" "$ERR"
expect_eq "$(grep -c 'reload failed' "$ERR")" 0 "failed reloads"
captured=$(sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$ERR")
seen=$(sed -n 's/^\([0-9]*\) packets seen by the kernel program$/\1/p' "$ERR")
lost=$(sed -n 's/^\([0-9]*\) packets lost (ring buffer full)$/\1/p' "$ERR")
load_errors=$(sed -n 's/^\([0-9]*\) packets not copied (load errors)$/\1/p' "$ERR")
[ -n "$captured" ] && [ -n "$seen" ] && [ -n "$lost" ] || { cat "$ERR"; fail "summary lines missing"; }
expect_ge "$captured" 1 "packets processed"
expect_ge "$lost" 1 "packets lost (ring buffer full)"
expect_eq "$seen" "$((captured + lost + ${load_errors:-0}))" "kernel count = processed + lost"
