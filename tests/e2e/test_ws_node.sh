#!/usr/bin/env bash
# WebSocket decoding matched frame for frame against tshark, with the npm ws
# package under node as server and client on loopback: text, binary,
# fragments, 16/64-bit lengths, UTF-8, ping/pong, close codes 1000/1001/4001,
# a TCP close without a close frame, a reset, permessage-deflate off, on
# (threshold 0: every message compressed) and without context takeover.
# Also `wstrace -r` of a tcpdump capture gives the same WebSocket events.
# Needs: npm ci --prefix tests/e2e/node
. "$(dirname "$0")/lib.sh"
need_root
ws_need tcpdump command -v tcpdump
ws_need tshark command -v tshark
ws_need node command -v node
WSMOD=$ROOT/tests/e2e/node/node_modules/ws
ws_need "the npm ws package (npm ci --prefix tests/e2e/node)" node -e "require('$WSMOD')"

P=$ROOT/tests/e2e/peers
echo "node $(node --version), ws $(node -p "require('$WSMOD/package.json').version")"
# shellcheck disable=SC2086 # WS_SPECS is a list
ws_peer_check wsnode "node $P/ws_server.js" "node $P/ws_client.js" $WS_SPECS
