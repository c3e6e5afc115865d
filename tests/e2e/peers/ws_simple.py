#!/usr/bin/python3
"""Small WebSocket peers for the service tests (Debian python3-websockets).

  ws_simple.py server HOST PORT SECONDS         echo server
  ws_simple.py client URL N TEXT [CODE] [COOKIE] send N text messages, close with CODE
With WS_TLS_CERT and WS_TLS_KEY (PEM files) the server serves wss (Python's
ssl: OpenSSL); a wss:// URL trusts the certificate in WS_TLS_CA.
"""
import asyncio
import os
import ssl
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for m in ws:
            await ws.send(m)
    except websockets.ConnectionClosed:
        pass


def tls_server():
    if not os.environ.get("WS_TLS_CERT"):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.environ["WS_TLS_CERT"], os.environ["WS_TLS_KEY"])
    return ctx


def tls_client(url):
    if not url.startswith("wss://"):
        return None
    return ssl.create_default_context(cafile=os.environ["WS_TLS_CA"])


async def server(host, port, seconds):
    async with websockets.serve(echo, host, port, compression=None, ssl=tls_server()):
        await asyncio.sleep(seconds)


async def client(url, n, text, code, cookie):
    headers = {"Cookie": cookie} if cookie else None
    async with websockets.connect(url, compression=None, extra_headers=headers,
                                  ssl=tls_client(url)) as ws:
        for i in range(n):
            await ws.send(text)
            await ws.recv()
        await ws.close(code, "done")
    print("ok")


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(server(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
    else:
        code = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
        cookie = sys.argv[6] if len(sys.argv) > 6 else None
        asyncio.run(client(sys.argv[2], int(sys.argv[3]), sys.argv[4], code, cookie))
