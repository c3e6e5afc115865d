#!/usr/bin/python3
"""Long-lived WebSocket sessions at known counts, for the --top test.

  top_peers.py server HOST PORT
      echoes every message (ws_simple.py's echo); no keepalive pings, so
      the counts are the clients' alone
  top_peers.py clients URL N BASE DIR
      N sessions; session i sends BASE * (i + 1) text messages
      {"type":"say<i>","n":k}, each after the echo of the one before, then one
      ping (and its pong), then writes DIR/ready.<i> with
      "<local port> <messages> <payload bytes client to server> <payload bytes
      server to client>" and stays open until DIR/close.<i> or DIR/close.all
      exists; then closes with code 1000. Everything ends within 300 s.
"""
import asyncio
import json
import os
import sys
import time

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from ws_simple import echo  # noqa: E402

DEADLINE = time.monotonic() + 300
PING = b"top-ping"


async def server(host, port):
    async with websockets.serve(echo, host, port, ping_interval=None, compression=None):
        while time.monotonic() < DEADLINE:
            await asyncio.sleep(0.5)


async def session(url, i, count, ctl):
    c2s = s2c = 0
    async with websockets.connect(url, ping_interval=None, compression=None) as ws:
        for k in range(count):
            msg = json.dumps({"type": "say%d" % i, "n": k}, separators=(",", ":"))
            await ws.send(msg)
            back = await ws.recv()
            assert back == msg, (back, msg)
            c2s += len(msg)
            s2c += len(back)
        await (await ws.ping(PING))
        c2s += len(PING)
        s2c += len(PING)
        port = ws.local_address[1] if hasattr(ws, "local_address") else ws.transport.get_extra_info("sockname")[1]
        tmp = os.path.join(ctl, "ready.%d.tmp" % i)
        with open(tmp, "w") as f:
            f.write("%d %d %d %d\n" % (port, count, c2s, s2c))
        os.rename(tmp, os.path.join(ctl, "ready.%d" % i))
        while time.monotonic() < DEADLINE:
            if os.path.exists(os.path.join(ctl, "close.%d" % i)) or os.path.exists(os.path.join(ctl, "close.all")):
                break
            await asyncio.sleep(0.05)
        await ws.close(1000, "bye")


async def clients(url, n, base, ctl):
    await asyncio.gather(*(session(url, i, base * (i + 1), ctl) for i in range(n)))


def main():
    if sys.argv[1] == "server":
        asyncio.run(server(sys.argv[2], int(sys.argv[3])))
    else:
        asyncio.run(clients(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))


if __name__ == "__main__":
    main()
