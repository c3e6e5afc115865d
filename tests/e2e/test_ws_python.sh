#!/usr/bin/env bash
# WebSocket decoding matched frame for frame against tshark, with Debian's
# python3-websockets as server and client on loopback: text, binary,
# fragments, 16/64-bit lengths, UTF-8, ping/pong, close codes 1000/1001/4001,
# a TCP close without a close frame, a reset, permessage-deflate off, on,
# and without context takeover. Also `wstrace -r` of a tcpdump capture of
# the same traffic gives the same WebSocket events as the live run.
. "$(dirname "$0")/lib.sh"
need_root
ws_need tcpdump command -v tcpdump
ws_need tshark command -v tshark
ws_need "python3-websockets (apt-get install python3-websockets)" "$PY" -c "import websockets"

P=$ROOT/tests/e2e/peers
"$PY" -c 'import websockets; print("python3-websockets", websockets.__version__)'
# shellcheck disable=SC2086 # WS_SPECS is a list
ws_peer_check wspy "$PY $P/ws_server.py" "$PY $P/ws_client.py" $WS_SPECS
