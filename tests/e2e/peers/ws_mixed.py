#!/usr/bin/python3
"""WebSocket traffic of every kind a dashboard shows (Debian python3-websockets).

  ws_mixed.py server HOST PORT SECONDS
      Echo server. /kick: the server sends one message and closes (1008);
      /forbidden: the upgrade is refused with 403.
  ws_mixed.py hold URL CONNS SECONDS SIZE
      CONNS sessions that each send a JSON text message of SIZE bytes every
      0.2 s and read its echo; prints "ready" once all are open, closes them
      (1000) after SECONDS.
  ws_mixed.py burst URL REFUSED_PORT
      One of everything, then prints "ok": sessions with text (JSON "type"
      values, and text without it), binary messages and pings that close
      with 1000, 1001 and 4001; a session the server closes; two upgrades
      refused with 403; a plain HTTP request; two sessions that end without a
      close frame and one reset; a client frame without a mask (a protocol
      violation); a connection refused on REFUSED_PORT.
  ws_mixed.py say URL COUNT SECONDS
      One session that sends COUNT JSON messages of type "say" spread over
      SECONDS, reading each echo, then closes (1000) and prints "ok".

Every run is bounded in time; a failure exits non-zero with a message.
"""
import asyncio
import base64
import http
import os
import socket
import struct
import sys
import time
import urllib.parse

import websockets

TIMEOUT = 10


async def echo(ws, path):
    try:
        if path == "/kick":
            await ws.send("bye")
            await ws.close(1008, "kicked")
            return
        async for m in ws:
            await ws.send(m)
    except websockets.ConnectionClosed:
        pass


async def refuse(path, headers):
    if path == "/forbidden":
        return http.HTTPStatus.FORBIDDEN, [], b"forbidden\n"
    return None


async def server(host, port, seconds):
    # No pings from the server: the test counts the round trips it asks for.
    async with websockets.serve(echo, host, port, compression=None, process_request=refuse,
                                ping_interval=None):
        await asyncio.sleep(seconds)


async def hold_one(url, seconds, size, opened):
    async with websockets.connect(url, compression=None, ping_interval=None) as ws:
        opened.release()
        pad = "x" * max(0, size - 30)
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            await ws.send('{"type":"tick","n":%d,"pad":"%s"}' % (i, pad))
            await asyncio.wait_for(ws.recv(), TIMEOUT)
            i += 1
            await asyncio.sleep(0.2)
        await ws.close(1000, "done")


async def hold(url, conns, seconds, size):
    opened = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(hold_one(url, seconds, size, opened)) for _ in range(conns)]
    for _ in range(conns):
        await asyncio.wait_for(opened.acquire(), TIMEOUT)
    print("ready", flush=True)
    await asyncio.gather(*tasks)


async def chat(url, code):
    async with websockets.connect(url, compression=None, ping_interval=None) as ws:
        for text in ('{"type":"login","client_name":"mynick"}', '{"type":"say","content":"hi, all ！"}',
                     '{"type":"say","content":"again"}', "not json"):
            await ws.send(text)
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        await ws.send(bytes(range(64)))
        await asyncio.wait_for(ws.recv(), TIMEOUT)
        for _ in range(2):
            pong = await ws.ping(b"hb")
            await asyncio.wait_for(pong, TIMEOUT)
        await ws.close(code, "done")


async def kicked(url):
    async with websockets.connect(url + "kick", compression=None, ping_interval=None) as ws:
        await asyncio.wait_for(ws.recv(), TIMEOUT)
        try:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        except websockets.ConnectionClosed as e:
            if e.rcvd is None or e.rcvd.code != 1008:
                raise RuntimeError("kick: closed with %r, want 1008" % e.rcvd)
            return
    raise RuntimeError("kick: the server did not close")


async def forbidden(url):
    try:
        async with websockets.connect(url + "forbidden", compression=None):
            pass
    except websockets.InvalidStatusCode as e:
        if e.status_code == 403:
            return
        raise
    raise RuntimeError("forbidden: the upgrade was accepted")


def raw_session(host, port):
    """A socket past a real upgrade, for what the library will not do."""
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /raw HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (host, port, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("raw: connection closed during the upgrade")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError("raw: upgrade answered %r" % head.split(b"\r\n")[0])
    return s


def read_until_closed(s):
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        try:
            if not s.recv(4096):
                return
        except (ConnectionResetError, socket.timeout):
            return
    raise RuntimeError("raw: the server did not close")


def plain_http(host, port):
    with socket.create_connection((host, port), timeout=TIMEOUT) as s:
        s.sendall(("GET /index.html HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (host, port)).encode())
        read_until_closed(s)


def abnormal(host, port):
    s = raw_session(host, port)
    s.close()  # FIN without a close frame: 1006


def reset(host, port):
    s = raw_session(host, port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def unmasked(host, port):
    s = raw_session(host, port)
    s.sendall(b"\x81\x02hi")  # RFC 6455 5.1: a client must mask its frames
    read_until_closed(s)  # the server fails the connection
    s.close()


def refused(host, port):
    try:
        socket.create_connection((host, port), timeout=TIMEOUT).close()
    except ConnectionRefusedError:
        return
    raise RuntimeError("port %d is open, want refused" % port)


async def say(url, count, seconds):
    async with websockets.connect(url, compression=None, ping_interval=None) as ws:
        for i in range(count):
            await ws.send('{"type":"say","content":"later %d"}' % i)
            await asyncio.wait_for(ws.recv(), TIMEOUT)
            await asyncio.sleep(seconds / count)
        await ws.close(1000, "done")
    print("ok")


async def burst(url, refused_port):
    u = urllib.parse.urlsplit(url)
    host, port = u.hostname, u.port
    for code in (1000, 1001, 4001):
        await chat(url, code)
    await kicked(url)
    for _ in range(2):
        await forbidden(url)
    loop = asyncio.get_running_loop()
    for fn, p in ((plain_http, port), (abnormal, port), (abnormal, port), (reset, port),
                  (unmasked, port), (refused, refused_port)):
        await loop.run_in_executor(None, fn, host, p)
    print("ok")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "server":
        coro = server(args[0], int(args[1]), float(args[2]))
    elif cmd == "hold":
        coro = hold(args[0], int(args[1]), float(args[2]), int(args[3]))
    elif cmd == "burst":
        coro = burst(args[0], int(args[1]))
    elif cmd == "say":
        coro = say(args[0], int(args[1]), float(args[2]))
    else:
        sys.exit(__doc__)
    asyncio.run(asyncio.wait_for(coro, 120))


if __name__ == "__main__":
    main()
