#!/usr/bin/python3
"""WebSocket peers (python3-websockets) for the end-to-end tests.

  ws_load.py server --port P [--echo] [--no-deflate] [--tls]
      Accepts sessions; with --echo sends every message back. Logs "open" and
      "closed <count>" lines on stdout.
  ws_load.py client --port P --conns K --count N [--interval S] [--size B]
                    [--hold S] [--no-deflate] [--deadline S] [--tls]
                    [--start-file F]
      K sessions at once, each sends N text messages (every S seconds, or as
      fast as it can with 0), then waits --hold seconds and closes with 1000.
      Prints "sent <conn> <n>" per session. Stops at --deadline seconds.
      With --start-file, every session opens, prints "idle <conn>" and sends
      nothing until the file F exists.
  --tls: wss, as ws_server.py and ws_client.py do it (WS_TLS_CERT and
  WS_TLS_KEY for the server, WS_TLS_CA for the client, SSLKEYLOGFILE for a
  key log the client writes).

Every message is message(conn, seq, size): recognisable, self-checking text,
so a test can tell a correctly decoded payload from garbage:
  "m:<conn>:<seq>:" followed by filler derived from both, padded to size.
"""
import argparse
import asyncio
import os
import re
import ssl
import sys
import time

import websockets

MSG_RE = re.compile(r"^m:(\d+):(\d+):")


def message(conn, seq, size):
    head = "m:%d:%d:" % (conn, seq)
    fill = "abcdefghijklmnopqrstuvwxyz0123456789"
    k = (conn * 7 + seq) % len(fill)
    body = (fill[k:] + fill[:k]) * (size // len(fill) + 1)
    return (head + body)[:max(size, len(head))]


def check(text, size):
    """True if text is exactly a message this tool sends."""
    m = MSG_RE.match(text)
    return bool(m) and text == message(int(m.group(1)), int(m.group(2)), size)


def tls_server():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.environ["WS_TLS_CERT"], os.environ["WS_TLS_KEY"])
    return ctx


def tls_client():
    ctx = ssl.create_default_context(cafile=os.environ["WS_TLS_CA"])
    ctx.check_hostname = False
    if os.environ.get("SSLKEYLOGFILE"):
        ctx.keylog_filename = os.environ["SSLKEYLOGFILE"]
    return ctx


async def serve(a):
    kw = {"ping_interval": None, "max_queue": None, "max_size": 2**22}
    if a.no_deflate:
        kw["compression"] = None
    if a.tls:
        kw["ssl"] = tls_server()

    async def handler(ws, path=None):
        print("open", ws.remote_address[1], ",".join(e.name for e in ws.extensions), flush=True)
        n = 0
        try:
            async for msg in ws:
                n += 1
                if a.echo:
                    await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        print("closed", n, ws.close_code, flush=True)

    async with websockets.serve(handler, a.host, a.port, **kw):
        print("listening", a.port, flush=True)
        await asyncio.Future()


async def one_client(a, conn, t_end):
    kw = {"ping_interval": None, "max_queue": None, "open_timeout": 10, "max_size": 2**22}
    if a.no_deflate:
        kw["compression"] = None
    if a.tls:
        kw["ssl"] = tls_client()
    sent = 0
    url = "%s://%s:%d/load" % ("wss" if a.tls else "ws", a.host, a.port)
    async with websockets.connect(url, **kw) as ws:
        if a.start_file:
            print("idle", conn, flush=True)
            while not os.path.exists(a.start_file) and time.monotonic() < t_end:
                await asyncio.sleep(0.05)
        for seq in range(a.count):
            if time.monotonic() > t_end:
                break
            await ws.send(message(conn, seq, a.size))
            sent += 1
            if a.interval > 0:
                await asyncio.sleep(a.interval)
            elif seq % 64 == 63:
                await asyncio.sleep(0)  # let the other sessions run
        end = min(time.monotonic() + a.hold, t_end)
        while time.monotonic() < end:
            # Drain echoes so the server never blocks on us.
            try:
                await asyncio.wait_for(ws.recv(), timeout=max(0.01, end - time.monotonic()))
            except asyncio.TimeoutError:
                break
        await ws.close(1000, "done")
    print("sent", conn, sent, flush=True)
    return sent


async def clients(a):
    t_end = time.monotonic() + a.deadline
    res = await asyncio.gather(*(one_client(a, c, t_end) for c in range(a.conns)))
    print("total", sum(res), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "client"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7272)
    ap.add_argument("--echo", action="store_true")
    ap.add_argument("--no-deflate", action="store_true")
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--hold", type=float, default=0.5)
    ap.add_argument("--deadline", type=float, default=30)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--start-file")
    a = ap.parse_args()
    try:
        if a.role == "server":
            asyncio.run(serve(a))
        else:
            asyncio.run(clients(a))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
