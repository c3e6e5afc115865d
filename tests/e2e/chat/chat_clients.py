#!/usr/bin/python3
"""Chat clients for the fan-out test: log in to rooms of the chat stand-in,
say things, and measure each message's end-to-end time from the sender's
send to the last copy received by any client.

  chat_clients.py URL TAG [--no-deflate]

TAG ends every content, so that runs side by side never share a value.

Rooms: three clients in room 1 (alice, bob, carol), one in room 2 (dave).
Messages (content, then who should receive a copy with that content):
  alice to all of room 1 "hi, all ！"  -> alice, bob, carol
  dave to all of room 2   "anyone?"    -> dave
  alice to bob            "psst bob"   -> bob (alice gets a rewritten copy)
  carol to a client id nobody has "hello?" -> nobody
Prints one JSON line per message: content, recipients expected, e2e_us.
"""
import asyncio
import json
import sys
import time

import websockets

MESSAGES = [
    ("alice", "all", "hi, all \uff01", ["alice", "bob", "carol"]),
    ("dave", "all", "anyone?", ["dave"]),
    ("alice", "bob", "psst bob", ["bob"]),
    ("carol", "7f0000010000ffffffff", "hello?", []),
]
ROOMS = {"alice": "1", "bob": "1", "carol": "1", "dave": "2"}


async def main(url, tag, deflate):
    kw = {} if deflate else {"compression": None}
    conns, ids, got = {}, {}, {n: [] for n in ROOMS}
    for name, room in ROOMS.items():
        ws = await websockets.connect(url, **kw)
        await ws.send(json.dumps({"type": "login", "client_name": name, "room_id": room},
                                 ensure_ascii=False))
        while True:
            m = json.loads(await ws.recv())
            if m.get("type") == "login" and "client_list" in m:
                ids[name] = m["client_id"]
                break
        conns[name] = ws

    async def reader(name, ws):
        try:
            async for raw in ws:
                m = json.loads(raw)
                if m.get("type") == "say":
                    got[name].append((m["content"], time.time()))
        except websockets.ConnectionClosed:
            pass

    readers = [asyncio.ensure_future(reader(n, w)) for n, w in conns.items()]
    for sender, to, content, want in MESSAGES:
        content += " " + tag
        to_id = ids.get(to, to)
        t0 = time.time()
        await conns[sender].send(json.dumps({"type": "say", "to_client_id": to_id,
                                             "to_client_name": to, "content": content},
                                            ensure_ascii=False))
        # Every expected copy, and a moment for unexpected ones to show.
        deadline = t0 + 5
        while time.time() < deadline:
            if all(any(c == content for c, _ in got[n]) for n in want):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        times = [t for n in ROOMS for c, t in got[n] if c == content]
        who = sorted(n for n in ROOMS if any(c == content for c, _ in got[n]))
        if who != sorted(want):
            print("unexpected recipients for %r: %s" % (content, who), file=sys.stderr)
            sys.exit(1)
        print(json.dumps({"content": content, "recipients": len(want),
                          "e2e_us": int((max(times) - t0) * 1e6) if times else 0},
                         ensure_ascii=False), flush=True)
    for ws in conns.values():
        await ws.close(1000, "bye")
    for r in readers:
        r.cancel()


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2], "--no-deflate" not in sys.argv), 60))
