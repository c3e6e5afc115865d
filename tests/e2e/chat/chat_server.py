#!/usr/bin/python3
"""A stand-in for workerman-chat's gateway (Applications/Chat/Events.php with
GatewayWorker), speaking its JSON protocol over WebSocket:

  client -> server  {"type":"login","client_name":"mynick","room_id":"1"}
                    {"type":"say","to_client_id":"all","to_client_name":"all","content":"..."}
                    {"type":"pong"}
  server -> client  {"type":"ping"}                    every --ping seconds (pingData)
                    {"type":"login","client_id":...,"client_name":...,"time":...}
                        to the others in the room, then the same with
                        "client_list" to the one who logged in
                    {"type":"say","from_client_id":...,"from_client_name":...,
                     "to_client_id":"all","content":...,"time":...}  to the room,
                        or to its addressee only, the sender getting a copy
                        whose content starts "<b>you said to NAME: </b>"
                    {"type":"logout","from_client_id":...,"from_client_name":...,"time":...}

Messages are encoded as PHP's json_encode does by default: no spaces, "/" as
"\\/", non-ASCII as \\uXXXX escapes (so the server's copy of "hi, all ！"
carries "\\uff01" on the wire while the browser's carries UTF-8 bytes).

Every event is logged as one line on stdout (flushed), for the test to wait on.
Usage: chat_server.py [--host H] [--port 7272] [--ping SECONDS] [--no-deflate]
"""
import argparse
import asyncio
import html
import json
import sys
import time

import websockets

ROOMS = {}          # room_id -> {client_id: websocket}
SESSIONS = {}       # websocket -> {"client_id", "room_id", "client_name"}
COUNTER = [0]


def log(*args):
    print(*args, flush=True)


def php_json(obj):
    """json_encode() with PHP's default flags."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


def now():
    return time.strftime("%Y-%m-%d %H:%M:%S")


def client_id_for(ws):
    # GatewayWorker: bin2hex(pack('NnN', lan ip, inner port, connection id)).
    COUNTER[0] += 1
    return "%08x%04x%08x" % (0x7F000001, 2300, COUNTER[0])


async def send(ws, obj):
    try:
        await ws.send(php_json(obj))
    except websockets.ConnectionClosed:
        pass


async def send_to_group(room_id, obj):
    for ws in list(ROOMS.get(room_id, {}).values()):
        await send(ws, obj)


async def on_message(ws, cid, message):
    try:
        data = json.loads(message)
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    log("recv", cid, data.get("type"), php_json(data))
    t = data.get("type")
    if t == "pong":
        return
    if t == "login":
        if "room_id" not in data:
            raise ValueError("room_id not set")
        room_id = str(data["room_id"])
        name = html.escape(str(data.get("client_name", "")), quote=True)
        SESSIONS[ws] = {"client_id": cid, "room_id": room_id, "client_name": name}
        clients = {k: SESSIONS[w]["client_name"] for k, w in ROOMS.get(room_id, {}).items()}
        clients[cid] = name
        msg = {"type": "login", "client_id": cid, "client_name": name, "time": now()}
        await send_to_group(room_id, msg)
        ROOMS.setdefault(room_id, {})[cid] = ws
        msg["client_list"] = clients
        await send(ws, msg)
        return
    if t == "say":
        sess = SESSIONS.get(ws)
        if not sess:
            raise ValueError("room_id not set")
        content = html.escape(str(data.get("content", "")), quote=True).replace("\n", "<br />\n")
        msg = {
            "type": "say",
            "from_client_id": cid,
            "from_client_name": sess["client_name"],
            "to_client_id": "all",
            "content": content,
            "time": now(),
        }
        if data.get("to_client_id") != "all":
            # As Events.php: the message to its addressee, and to the sender
            # a copy whose content says to whom it went.
            msg["to_client_id"] = data.get("to_client_id")
            for w, s in list(SESSIONS.items()):
                if s["client_id"] == data.get("to_client_id"):
                    await send(w, msg)
            to_name = html.escape(str(data.get("to_client_name", "")), quote=True)
            await send(ws, dict(msg, content="<b>you said to " + to_name + ": </b>" + content))
            return
        await send_to_group(sess["room_id"], msg)


async def heartbeat(ws, interval):
    while True:
        await asyncio.sleep(interval)
        try:
            await ws.send('{"type":"ping"}')
        except websockets.ConnectionClosed:
            return


async def handler(ws, path=None, interval=1.0):
    cid = client_id_for(ws)
    log("open", cid, ws.remote_address[0], ws.remote_address[1],
        "ext=" + ",".join(e.name for e in ws.extensions))
    hb = asyncio.ensure_future(heartbeat(ws, interval))
    try:
        async for message in ws:
            await on_message(ws, cid, message)
    except websockets.ConnectionClosed:
        pass
    finally:
        hb.cancel()
        sess = SESSIONS.pop(ws, None)
        if sess:
            ROOMS.get(sess["room_id"], {}).pop(cid, None)
            await send_to_group(sess["room_id"], {"type": "logout", "from_client_id": cid,
                                                  "from_client_name": sess["client_name"], "time": now()})
        log("closed", cid, "code=%s" % ws.close_code, "reason=%r" % ws.close_reason)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7272)
    ap.add_argument("--ping", type=float, default=10.0)
    ap.add_argument("--no-deflate", action="store_true")
    a = ap.parse_args()
    kw = {"ping_interval": None}  # workerman sends app-level pings, not ping frames
    if a.no_deflate:
        kw["compression"] = None

    async def h(ws, path=None):
        await handler(ws, path, a.ping)

    async with websockets.serve(h, a.host, a.port, **kw):
        log("listening", a.host, a.port)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
