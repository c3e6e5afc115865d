#!/usr/bin/python3
"""Sends JSON-RPC style requests on one connection and waits for the
answers: ids 1..5 with delays 120, 40, -, 80, 10 ms (id 3 is never
answered), then closes.  rpc_client.py URL"""
import asyncio
import json
import sys

import websockets

REQUESTS = [(1, 120), (2, 40), (3, None), (4, 80), (5, 10)]


async def main(url):
    async with websockets.connect(url, compression=None) as ws:
        for i, d in REQUESTS:
            req = {"jsonrpc": "2.0", "id": i, "method": "m%d" % i}
            if d is None:
                req["skip"] = True
            else:
                req["delay_ms"] = d
            await ws.send(json.dumps(req))
        order = []
        for _ in range(sum(1 for _, d in REQUESTS if d is not None)):
            order.append(json.loads(await ws.recv())["id"])
        print("answered", *order, flush=True)
        await ws.close(1000, "done")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1]), 30))
