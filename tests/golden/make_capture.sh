#!/usr/bin/env bash
# Records tests/golden/chat.pcap: session.py's conversation on port 7272, in
# a private namespace, with tcpdump -i lo (Ethernet link type). Needs root.
# The capture is committed; run this only to make a new one, then regen.sh.
. "$(dirname "$0")/../e2e/lib.sh"
[ "$(id -u)" -eq 0 ] || fail "needs root"
new_ns golden >/dev/null
NS=wst-golden-$E2E_ID
start_tcpdump "$NS" "$TMP/chat.pcap" -i lo tcp port 7272
ip netns exec "$NS" "$PY" "$ROOT/tests/golden/session.py" 7272 || fail "session.py failed"
settle "$NS" 7272
stop_tcpdump
cp "$TMP/chat.pcap" "$ROOT/tests/golden/chat.pcap"
