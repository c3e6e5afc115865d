#!/usr/bin/env bash
# wss: the npm ws package on node's https server (node's own OpenSSL, built
# in and exported: wstrace probes the node binary; node feeds OpenSSL from
# memory), decoded from the plaintext the uprobes read and matched frame
# for frame against tshark decrypting a tcpdump capture with the client's
# key log: TLS 1.3 with the server started after wstrace, TLS 1.2 with the
# server started before. Every WebSocket event says "tls": true, the
# metrics say transport="wss".
# Needs: npm ci --prefix tests/e2e/node
. "$(dirname "$0")/lib.sh"
need_root
WSMOD=$ROOT/tests/e2e/node/node_modules/ws
ws_need node command -v node
ws_need "the npm ws package (npm ci --prefix tests/e2e/node)" node -e "require('$WSMOD')"
ws_need "node exporting OpenSSL's SSL_write" sh -c 'nm -D "$(command -v node)" | grep -q " T SSL_write$"'

P=$ROOT/tests/e2e/peers
WSS_SERVER="node $P/ws_server.js"
WSS_PROBED=node
. "$ROOT/tests/e2e/wss_lib.sh"

wss_check wssnode13 1.3 after off:1000 on:1001 nocontext:4001 small:1000 on:fin off:rst
wss_check wssnode12 1.2 before on:1000 off:4001
echo "PASS"
