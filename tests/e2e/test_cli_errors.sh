#!/usr/bin/env bash
# A user mistake gets one clear line naming the problem (and the fix) and
# the exit status README lists (sysexits.h): 64 a bad option or value, on the
# command line or in the config file; 65 a capture file wstrace cannot read;
# 66 a file to read missing or unreadable; 69 no capture possible here (no
# such interface); 73 an output that cannot be created; 74 an output that
# cannot be written; 77 missing privileges. Reading a capture file needs no
# privileges.
. "$(dirname "$0")/lib.sh"
need_root
command -v setpriv >/dev/null || fail "setpriv missing (util-linux)"

NS=$(new_ns cli)
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"
# The checkout may sit where nobody cannot read (/root): give nobody copies.
chmod 755 "$TMP"
install -m 755 "$WSTRACE" "$TMP/wstrace-nobody"
install -m 644 "$ROOT/tests/data/pcap/lo_any_sll2.pcap" "$TMP/nobody.pcap"

# expect_error CODE PATTERN CMD...: exit status CODE and PATTERN on stderr.
expect_error() {
	local code=$1 pattern=$2 out rc; shift 2
	out=$("$@" 2>&1 >/dev/null); rc=$?
	[ "$rc" -eq "$code" ] || fail "$*: exit $rc, want $code (stderr: $out)"
	printf '%s\n' "$out" | grep -qE "$SANITIZER_REPORT" && fail "$*: a sanitizer report: $out"
	printf '%s\n' "$out" | grep -q -- "$pattern" || fail "$*: stderr lacks '$pattern': $out"
	echo "ok: $* -> exit $rc: $(printf '%s\n' "$out" | grep -- "$pattern" | head -1)"
}

info "command line"
expect_error 64 "bad port '0'" "$WSTRACE" -p 0
expect_error 64 "bad port 'http'" "$WSTRACE" -p 7272,http
expect_error 64 "too many ports" "$WSTRACE" -p "$(seq -s, 1000 1064)"
expect_error 64 "bad snaplen '70000'" "$WSTRACE" -s 70000
expect_error 64 "bad count '-1'" "$WSTRACE" -c -1
expect_error 64 "unexpected argument 'port'" "$WSTRACE" port 7272
expect_error 64 "bad size" "$WSTRACE" --ringbuf-kb 1
expect_error 64 "bad size '16MB'" "$WSTRACE" --max-message 16MB
expect_error 64 "bad rate 'x'" "$WSTRACE" --event-limit x
expect_error 64 "unrecognized option" "$WSTRACE" --no-such-option
out=$("$WSTRACE" --help) || fail "--help exited $?"
printf '%s\n' "$out" | grep -q "^EXIT STATUS" || fail "--help lists no exit statuses"
printf '%s\n' "$out" | grep -q "^  77  not enough privilege" || fail "--help: 77"
echo "ok: --help exits 0 and lists the exit statuses"

info "live capture"
expect_error 69 "no such interface" ip netns exec "$NS" "$WSTRACE" -i nosuchif0
expect_error 77 "run as root or grant CAP_BPF and CAP_NET_ADMIN" ip netns exec "$NS" $NOBODY "$TMP/wstrace-nobody" -i lo
expect_error 64 "invalid metrics address" ip netns exec "$NS" "$WSTRACE" -i lo --metrics 999.1.1.1:80
# A port taken by another listener: the endpoint cannot be created.
bg "$NS" "$PY" -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 9555)); s.listen(); time.sleep(60)'
wait_port "$NS" 9555
expect_error 73 "cannot listen on 9555 for metrics: Address already in use" ip netns exec "$NS" "$WSTRACE" -i lo --metrics 9555

# --stats 1: a summary every second and one at exit. Wait for two periodic
# ones (however long attaching takes on a loaded machine), then stop it.
# --no-tls: attaching the TLS uprobes takes seconds on a loaded machine.
ip netns exec "$NS" "$WSTRACE" -i lo -q --stats 1 --no-tls 2>"$TMP/stats.err" &
STATS_PID=$!
PIDS+=("$STATS_PID")
summaries() { grep -c "packets captured" "$TMP/stats.err"; }
summaries_reach() { [ "$(summaries)" -ge "$1" ]; }
wait_for 30 "two periodic summaries from --stats 1" summaries_reach 2
stop_wstrace "$STATS_PID" "$TMP/stats.err"
expect_ge "$(summaries)" 3 "summaries from --stats 1 (periodic and at exit)"

info "capture files"
printf 'this is not a capture file at all\n' >"$TMP/garbage.pcap"
expect_error 66 "No such file" "$WSTRACE" -r "$TMP/missing.pcap"
install -m 600 "$ROOT/tests/data/pcap/lo_any_sll2.pcap" "$TMP/private.pcap"
expect_error 66 "Permission denied" $NOBODY "$TMP/wstrace-nobody" -r "$TMP/private.pcap"
expect_error 65 "not a readable pcap or pcapng file" "$WSTRACE" -r "$TMP/garbage.pcap"
# A pcap header for LINKTYPE_USB_LINUX (189): valid file, link type we can't read.
"$PY" -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 189))' >"$TMP/usb.pcap"
expect_error 65 "link type USB_LINUX" "$WSTRACE" -r "$TMP/usb.pcap"
# Cut in the middle of a record: the packets before it, then a clear error.
cap=$ROOT/tests/data/pcap/lo_any_sll2.pcap
head -c $(( $(stat -c %s "$cap") - 7 )) "$cap" >"$TMP/cut.pcap"
expect_error 65 "truncated" "$WSTRACE" -r "$TMP/cut.pcap" -p 47272
out=$($NOBODY "$TMP/wstrace-nobody" -r "$TMP/nobody.pcap" -p 47272 --json 2>"$TMP/nobody.err") || { cat "$TMP/nobody.err"; fail "-r as nobody failed"; }
expect_ge "$(printf '%s\n' "$out" | grep -c '"event":"tcp_')" 1 "events from -r without privileges"

info "pcap output (-w) that cannot be written"
# A full disk: decoding goes on, the packets not written are counted, and
# the exit status says it (it used to be 0).
expect_error 74 "cannot write to /dev/full: No space left on device" "$WSTRACE" -r "$cap" -p 47272 -q -w /dev/full
"$WSTRACE" -r "$cap" -p 47272 -q -w /dev/full 2>"$TMP/full.err"
# Live: the file header alone fails at the first periodic flush.
expect_error 74 "cannot write to /dev/full" ip netns exec "$NS" timeout --preserve-status -s INT 2 "$WSTRACE" -i lo -q -w /dev/full
n=$(sed -n 's/^\([0-9]*\) packets not written to \/dev\/full$/\1/p' "$TMP/full.err")
expect_eq "$n" "$(sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$TMP/full.err")" "every packet counted as not written"
expect_error 73 "cannot create $TMP/no-such-dir/out.pcap" "$WSTRACE" -r "$cap" -p 47272 -q -w "$TMP/no-such-dir/out.pcap"

info "config file"
printf 'port = 7272\nthis line is wrong\n' >"$TMP/bad.conf"
expect_error 64 "bad.conf:2:" "$WSTRACE" --config "$TMP/bad.conf" -r "$cap"
printf 'port = 7272\nsnaplen = lots\n' >"$TMP/badval.conf"
expect_error 64 "badval.conf:2:" "$WSTRACE" --config "$TMP/badval.conf" -r "$cap"
printf 'max-message = 1T\n' >"$TMP/badsize.conf"
expect_error 64 "badsize.conf:1:" "$WSTRACE" --config "$TMP/badsize.conf" -r "$cap"
expect_error 66 "no such file" "$WSTRACE" --config "$TMP/none.conf" -r "$cap"
printf 'json = true\n' >"$TMP/private.conf"
chmod 600 "$TMP/private.conf"
expect_error 66 "Permission denied" $NOBODY "$TMP/wstrace-nobody" --config "$TMP/private.conf" -r "$TMP/nobody.pcap"
printf 'port = 9999\njson = true\n' >"$TMP/good.conf"
replay "$TMP/good.out" --config "$TMP/good.conf" -p 47272 -r "$cap"
expect_ge "$(grep -c '"event":"tcp_syn"' "$TMP/good.out")" 1 "config applied (json) and the command line wins (-p 47272)"
