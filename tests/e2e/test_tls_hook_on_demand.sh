#!/usr/bin/env bash
# The TLS socket syscall hook (tls_sys_enter, a program run on every syscall
# of the host) is attached only once an SSL call is made: not while the
# wss server has OpenSSL loaded and is listening, then at its first
# connection, whose conversation (and every later one) is decoded whole and
# matched against tshark decrypting the capture; wstrace says when it
# attached the hook.
. "$(dirname "$0")/lib.sh"
need_root
ws_need "OpenSSL's libssl.so.3" "$PY" -c "import ssl; assert ssl.OPENSSL_VERSION.startswith('OpenSSL 3')"
ws_need bpftool command -v bpftool

P=$ROOT/tests/e2e/peers
WSS_SERVER="$PY $P/ws_server.py"
WSS_PROBED=libssl
. "$ROOT/tests/e2e/wss_lib.sh"

# hook_links PID: the links PID holds to a program named tls_sys_enter.
hook_links() {
	local fd id n=0
	for fd in /proc/"$1"/fdinfo/*; do
		grep -q "^link_type:" "$fd" 2>/dev/null || continue
		id=$(awk '/^prog_id:/ {print $2}' "$fd")
		[[ $(bpftool prog show id "$id" 2>/dev/null) == *" name tls_sys_enter "* ]] && n=$((n + 1))
	done
	echo "$n"
}

HOOKED="the socket syscall hook is attached"
specs=(off:1000 on:1001 off:fin)
wss_begin hook 1.3 after ${#specs[@]}
# wss_begin returns with the server listening: OpenSSL loaded and set up,
# no SSL call made yet.
expect_eq "$(hook_links "$WSTRACE_PID")" 0 "syscall hook links before any SSL call"
grep -q "$HOOKED" "$WSTRACE_ERR" && fail "wstrace says it attached the syscall hook before any SSL call"

out=$(ip netns exec "$WSS_NS" timeout 90 "$PY" "$P/ws_client.py" wss://127.0.0.1:7272/chat "${specs[@]}" \
	2>"$TMP/client.err" | tr '\n' ' ')
[ "$out" = "ok ok ok " ] || { cat "$TMP/client.err" "$TMP/server.err"; fail "client: got '$out'"; }
wait_until 10 grep -q "$HOOKED" "$WSTRACE_ERR" || { cat "$WSTRACE_ERR"; fail "no syscall hook after SSL calls"; }
expect_eq "$(hook_links "$WSTRACE_PID")" 1 "syscall hook links after the first SSL call"
# every frame of every connection, the first included, as tshark decrypts them
wss_end hook ${#specs[@]} "$(IFS=,; echo "${specs[*]}")"
echo "PASS"
