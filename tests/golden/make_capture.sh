#!/usr/bin/env bash
# Records tests/golden/chat.pcap: session.py's conversation on port 7272, in
# a private namespace, with tcpdump -i lo (Ethernet link type). Needs root.
# The capture is committed; run this only to make a new one, then regen.sh.
set -eu
cd "$(dirname "$0")"
ns=wst-golden-$$
trap 'ip netns del "$ns" 2>/dev/null' EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" tcpdump -i lo --immediate-mode -U -s 0 -w chat.pcap tcp port 7272 2>tcpdump.err &
pid=$!
for _ in $(seq 1 50); do grep -q listening tcpdump.err && break; sleep 0.1; done
sleep 0.5 # libpcap drops what arrives while it installs its filter
ip netns exec "$ns" /usr/bin/python3 session.py 7272
sleep 0.5
kill -INT "$pid"; wait "$pid" || true
rm -f tcpdump.err
