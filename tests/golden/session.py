#!/usr/bin/python3
"""The conversation recorded in tests/golden/chat.pcap (see make_capture.sh):
a workerman-chat style login and message with permessage-deflate, a
fragmented message, binary data, a ping, and a close; then a plain HTTP
request and an upgrade the server refuses."""
import asyncio
import http
import socket
import sys

import websockets


async def handler(ws, path=None):
    async for m in ws:
        await ws.send(m)


async def reject(path, headers):
    if path == "/forbidden":
        return (http.HTTPStatus.FORBIDDEN, [("Content-Type", "text/plain")], b"no\n")
    return None


async def main(port):
    async with websockets.serve(handler, "127.0.0.1", port, process_request=reject):
        async with websockets.connect("ws://127.0.0.1:%d/chat" % port,
                                      origin="http://127.0.0.1:55151") as ws:
            await ws.send('{"type":"login","client_name":"mynick","room_id":"1"}')
            await ws.recv()
            await ws.send('{"type":"say","to_client_id":"all","content":"hi, all ！"}')
            await ws.recv()
            await ws.send(["frag-one ", "frag-two"])
            await ws.recv()
            await ws.send(bytes(range(16)))
            await ws.recv()
            pong = await ws.ping(b"hb")
            await pong
            await ws.close(1001, "going away")
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        s.settimeout(0.5)
        try:
            s.recv(4096)
        except socket.timeout:
            pass
        s.close()
        try:
            async with websockets.connect("ws://127.0.0.1:%d/forbidden" % port):
                pass
        except Exception:
            pass
        await asyncio.sleep(0.2)

asyncio.run(main(int(sys.argv[1])))
