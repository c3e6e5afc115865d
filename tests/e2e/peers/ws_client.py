#!/usr/bin/python3
"""WebSocket client on python3-websockets, for end-to-end tests.

  ws_client.py [--parallel] URL SPEC...
                    SPEC = DEFLATE:END, one connection each, in order (with
                    --parallel: all at once)
  DEFLATE: off | on (context takeover) | nocontext (no context takeover both ways)
           | small (context takeover, 512-byte LZ77 windows both ways)
  END:     1000 (client closes) | 1001 (server closes, "going away")
           | 4001 (client closes, "custom reason") | fin (TCP FIN, no close
           frame) | rst (TCP reset)
Prints "ok" per connection whose echoes all came back.
A wss:// URL trusts the certificate in WS_TLS_CA; SSLKEYLOGFILE names a key
log (Python's ssl writes it), for tshark to decrypt a capture.
"""
import asyncio
import os
import random
import socket
import ssl
import struct
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

BIG = random.Random(7272).randbytes(70000)
# (what is sent, what comes back)
MESSAGES = [
    "hello",
    "hi, all \uff01",
    bytes(range(256)),
    "".join(chr(ord("a") + i % 26) for i in range(300)),  # 16-bit length
    BIG,                                                    # 64-bit length
    b"\x00" * 70000,                                        # 64-bit, compresses well
    "\uff01" * 25000,                                       # 75000 bytes of 3-byte UTF-8
    "",                                                     # empty text
    b"",                                                    # empty binary
    BIG[:125],                                              # longest 7-bit length
    BIG[:126],                                              # shortest 16-bit length
    BIG[:65535],                                            # longest 16-bit length
    BIG[:65536],                                            # shortest 64-bit length
]


async def one(url, deflate, end):
    kw = {"max_size": 2**22, "ping_interval": None}
    if deflate == "off":
        kw["compression"] = None
    elif deflate == "nocontext":
        kw["compression"] = None
        kw["extensions"] = [ClientPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True,
            client_max_window_bits=True)]
    elif deflate == "small":
        kw["compression"] = None
        kw["extensions"] = [ClientPerMessageDeflateFactory(
            server_max_window_bits=9, client_max_window_bits=9)]
    if url.startswith("wss:"):
        ctx = ssl.create_default_context(cafile=os.environ["WS_TLS_CA"])
        ctx.check_hostname = False
        if os.environ.get("SSLKEYLOGFILE"):
            ctx.keylog_filename = os.environ["SSLKEYLOGFILE"]
        kw["ssl"] = ctx
    ws = await websockets.connect(url, **kw)
    for m in MESSAGES:
        await ws.send(m)
        if await ws.recv() != m:
            raise SystemExit("echo differs")
    await ws.send(["frag1", "frag2", "frag3"])  # fragmented text
    if await ws.recv() != "frag1frag2frag3":
        raise SystemExit("fragmented echo differs")
    await ws.send([b"\x01\x02", b"\x03"])         # fragmented binary
    if await ws.recv() != b"\x01\x02\x03":
        raise SystemExit("fragmented echo differs")
    await (await ws.ping(b"cli-ping"))           # ping with payload
    await (await ws.ping(b""))                   # empty ping

    async def interleaved():                     # a ping between fragments
        yield "in"
        pong_mid.append(await ws.ping(b"mid"))
        yield "ter"
    pong_mid = []
    await ws.send(interleaved())
    if await ws.recv() != "inter":
        raise SystemExit("interleaved echo differs")
    await pong_mid[0]
    await ws.pong(b"unsolicited")                # unsolicited pong
    await ws.send("cmd:ping")                     # the server pings us
    await ws.send("cmd:frag")                     # the server fragments
    if await ws.recv() != "sfrag1sfrag2":
        raise SystemExit("server fragments differ")
    await ws.send("last")
    if await ws.recv() != "last":
        raise SystemExit("echo differs")
    if end == "1000":
        await ws.close(1000)
    elif end == "4001":
        await ws.close(4001, "custom reason")
    elif end == "1001":
        await ws.send("cmd:close:1001:going away")
        await ws.wait_closed()
    elif end == "fin":
        ws.transport.close()
        await ws.wait_closed()
    elif end == "rst":
        sock = ws.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ws.transport.abort()
        await asyncio.sleep(0.1)
    print("ok", flush=True)


async def main(url, specs):
    for spec in specs:
        deflate, end = spec.split(":")
        await asyncio.wait_for(one(url, deflate, end), 20)
        await asyncio.sleep(0.1)


async def parallel(url, specs):
    await asyncio.wait_for(asyncio.gather(*(one(url, *s.split(":")) for s in specs)), 60)


if __name__ == "__main__":
    if sys.argv[1] == "--parallel":
        asyncio.run(parallel(sys.argv[2], sys.argv[3:]))
    else:
        asyncio.run(main(sys.argv[1], sys.argv[2:]))
