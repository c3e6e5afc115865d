#!/usr/bin/python3
"""A JSON-RPC style WebSocket server for the reply test: each request
{"id":N,"delay_ms":D,...} is answered with {"id":N,"result":...} after D ms,
so replies leave out of order; a request with "skip":true is never
answered. Logs "served ID MICROSECONDS" (from the request's receipt to
just before the reply's send, as the server measures it: the wire time
between them can only be longer) for each reply, flushed.

  rpc_server.py HOST PORT
"""
import asyncio
import json
import sys
import time

import websockets


async def handler(ws, path=None):
    async def answer(req, t0):
        await asyncio.sleep(req.get("delay_ms", 0) / 1000)
        # Measured up to the send: the reply is on the wire after this.
        held = int((time.monotonic() - t0) * 1e6)
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": req.get("method")}))
        print("served", req["id"], held, flush=True)

    tasks = []
    try:
        async for raw in ws:
            t0 = time.monotonic()
            req = json.loads(raw)
            if not req.get("skip"):
                tasks.append(asyncio.ensure_future(answer(req, t0)))
    except websockets.ConnectionClosed:
        pass
    await asyncio.gather(*tasks, return_exceptions=True)


async def main(host, port):
    async with websockets.serve(handler, host, port, compression=None):
        print("listening", host, port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
