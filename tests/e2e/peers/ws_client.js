'use strict';
// WebSocket client on the npm ws package, for end-to-end tests.
//
//   node ws_client.js URL SPEC...    SPEC = DEFLATE:END, one connection each
//   DEFLATE: off | on (context takeover) | nocontext (no context takeover
//            both ways) | small (context takeover, 512-byte LZ77 windows
//            both ways); threshold 0: every message is compressed
//   END:     1000 (client closes) | 1001 (server closes, "going away")
//            | 4001 (client closes, "custom reason") | fin (TCP FIN, no
//            close frame) | rst (TCP reset)
// Prints "ok" per connection whose echoes all came back.
const path = require('path');
const crypto = require('crypto');
const WebSocket = require(path.join(__dirname, '..', 'node', 'node_modules', 'ws'));

const BIG = crypto.randomBytes(70000);
const MESSAGES = [
	'hello',
	'hi, all \uff01',
	Buffer.from([...Array(256).keys()]),
	Array.from({ length: 300 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''), // 16-bit length
	BIG,                                   // 64-bit length
	Buffer.alloc(70000),                   // 64-bit length, compresses well
	'\uff01'.repeat(25000),                // 75000 bytes of 3-byte UTF-8
	'',                                    // empty text
	Buffer.alloc(0),                       // empty binary
	BIG.subarray(0, 125),                  // longest 7-bit length
	BIG.subarray(0, 126),                  // shortest 16-bit length
	BIG.subarray(0, 65535),                // longest 16-bit length
	BIG.subarray(0, 65536),                // shortest 64-bit length
];

function open(url, deflate) {
	let pmd = false;
	if (deflate === 'on')
		pmd = { threshold: 0 };
	else if (deflate === 'nocontext')
		pmd = { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true };
	else if (deflate === 'small')
		pmd = { threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 9 };
	const ws = new WebSocket(url, { perMessageDeflate: pmd, maxPayload: 1 << 22 });
	const queue = [], waiters = [];
	ws.on('message', (data, isBinary) => {
		const m = isBinary ? Buffer.from(data) : data.toString();
		if (waiters.length)
			waiters.shift()(m);
		else
			queue.push(m);
	});
	ws.recv = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
	ws.on('error', (e) => { console.error('client:', e.message); process.exit(1); });
	return new Promise((resolve) => ws.on('open', () => resolve(ws)));
}

function same(a, b) {
	return Buffer.isBuffer(a) ? Buffer.isBuffer(b) && a.equals(b) : a === b;
}

async function expect(ws, want) {
	const got = await ws.recv();
	if (!same(got, want)) {
		console.error('client: echo differs');
		process.exit(1);
	}
}

const closed = (ws) => new Promise((r) => ws.on('close', r));

async function one(url, spec) {
	const [deflate, end] = spec.split(':');
	const ws = await open(url, deflate);
	const gone = closed(ws);
	for (const m of MESSAGES) {
		ws.send(m);
		await expect(ws, m);
	}
	ws.send('frag1', { fin: false });          // fragmented text
	ws.send('frag2', { fin: false });
	ws.send('frag3', { fin: true });
	await expect(ws, 'frag1frag2frag3');
	ws.send(Buffer.from([1, 2]), { fin: false }); // fragmented binary
	ws.send(Buffer.from([3]), { fin: true });
	await expect(ws, Buffer.from([1, 2, 3]));
	await new Promise((r) => { ws.once('pong', r); ws.ping('cli-ping'); }); // ping with payload
	await new Promise((r) => { ws.once('pong', r); ws.ping(); });           // empty ping
	const midPong = new Promise((r) => ws.once('pong', r));
	ws.send('in', { fin: false });             // a ping between fragments
	ws.ping('mid');
	ws.send('ter', { fin: true });
	await expect(ws, 'inter');
	await midPong;
	ws.pong('unsolicited');
	const srvPing = new Promise((r) => ws.once('ping', r));
	ws.send('cmd:ping');                       // the server pings us
	await srvPing;
	ws.send('cmd:frag');                       // the server fragments
	await expect(ws, 'sfrag1sfrag2');
	ws.send('last');
	await expect(ws, 'last');
	if (end === '1000') {
		ws.close(1000);
	} else if (end === '4001') {
		ws.close(4001, 'custom reason');
	} else if (end === '1001') {
		ws.send('cmd:close:1001:going away');
	} else if (end === 'fin') {
		ws._socket.end();
	} else if (end === 'rst') {
		ws._socket.resetAndDestroy();
	}
	await gone;
	console.log('ok');
}

(async () => {
	const t = setTimeout(() => { console.error('client: timeout'); process.exit(1); }, 40000);
	for (const spec of process.argv.slice(3)) {
		await one(process.argv[2], spec);
		await new Promise((r) => setTimeout(r, 100));
	}
	clearTimeout(t);
})();
