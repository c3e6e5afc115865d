'use strict';
// WebSocket echo server on the npm ws package, for end-to-end tests.
//
//   node ws_server.js HOST PORT CONNS
//
// Echoes every data message with its type. Text commands:
//   "cmd:ping"      send a ping with payload "srv-ping"
//   "cmd:frag"      send a fragmented text message "sfrag1" "sfrag2"
//   "cmd:close:N:R" close with code N and reason R
// permessage-deflate is accepted when offered, with threshold 0 so every
// message is compressed, and whatever no_context_takeover the client asks.
// Serves CONNS connections, then exits.
const path = require('path');
const { WebSocketServer } = require(path.join(__dirname, '..', 'node', 'node_modules', 'ws'));

const [host, port, conns] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
let done = 0;
const opts = { maxPayload: 1 << 22, perMessageDeflate: { threshold: 0 } };
let wss;
if (process.env.WS_TLS_CERT) {
	// wss: an https server (node's TLS, its built-in OpenSSL) with the PEM
	// files of WS_TLS_CERT and WS_TLS_KEY; WS_TLS_MAX=1.2 caps the version.
	const fs = require('fs');
	const server = require('https').createServer({
		cert: fs.readFileSync(process.env.WS_TLS_CERT),
		key: fs.readFileSync(process.env.WS_TLS_KEY),
		maxVersion: process.env.WS_TLS_MAX === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
	});
	wss = new WebSocketServer({ server, ...opts });
	server.listen(port, host, () => console.log('listening'));
} else {
	wss = new WebSocketServer({ host, port, ...opts });
	wss.on('listening', () => console.log('listening'));
}

wss.on('connection', (ws) => {
	ws.on('error', () => {});
	ws.on('message', (data, isBinary) => {
		const s = isBinary ? null : data.toString();
		if (s !== null && s.startsWith('cmd:')) {
			const cmd = s.split(':');
			if (cmd[1] === 'ping') {
				ws.ping('srv-ping');
			} else if (cmd[1] === 'frag') {
				ws.send('sfrag1', { fin: false });
				ws.send('sfrag2', { fin: true });
			} else if (cmd[1] === 'close') {
				ws.close(Number(cmd[2]), cmd.slice(3).join(':'));
			}
			return;
		}
		ws.send(data, { binary: isBinary });
	});
	ws.on('close', () => {
		if (++done >= conns)
			wss.close(() => setTimeout(() => process.exit(0), 200));
	});
});
setTimeout(() => { console.error('server: timeout'); process.exit(1); }, 50000).unref();
