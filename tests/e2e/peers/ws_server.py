#!/usr/bin/python3
"""WebSocket echo server on python3-websockets, for end-to-end tests.

Echoes every data message with its type. Text commands:
  "cmd:ping"      send a ping with payload b"srv-ping" (wait for the pong)
  "cmd:frag"      send a fragmented text message "sfrag1" "sfrag2"
  "cmd:close:N:R" close with code N and reason R
Serves CONNS connections, then exits. With WS_TLS_CERT and WS_TLS_KEY in
the environment (PEM files) it serves wss (TLS from Python's ssl, OpenSSL);
WS_TLS_MAX=1.2 caps the version at TLS 1.2.
"""
import asyncio
import os
import ssl
import sys

import websockets


async def handler(ws, path=None):
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("cmd:"):
                cmd = msg.split(":", 3)
                if cmd[1] == "ping":
                    await (await ws.ping(b"srv-ping"))
                elif cmd[1] == "frag":
                    await ws.send(["sfrag1", "sfrag2"])
                elif cmd[1] == "close":
                    await ws.close(int(cmd[2]), cmd[3])
                    return
                continue
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    finally:
        handler.done += 1
        if handler.done >= handler.conns:
            handler.finished.set_result(None)


async def main(host, port, conns):
    handler.done = 0
    handler.conns = conns
    handler.finished = asyncio.get_running_loop().create_future()
    # compression="deflate" (the default) accepts permessage-deflate when
    # offered, with whatever no_context_takeover the client asks for.
    kw = {}
    if os.environ.get("WS_TLS_CERT"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.environ["WS_TLS_CERT"], os.environ["WS_TLS_KEY"])
        if os.environ.get("WS_TLS_MAX") == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        kw["ssl"] = ctx
    async with websockets.serve(handler, host, port, max_size=2**22, ping_interval=None, **kw):
        print("listening", flush=True)
        await asyncio.wait_for(handler.finished, 50)
        await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
