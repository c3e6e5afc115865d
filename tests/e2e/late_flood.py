#!/usr/bin/python3
"""Packets after the end of connections, sent with a raw socket: for each of
COUNT tuples (clients 127.2.x.y, numbered from FIRST, to 127.0.0.1:PORT) a
client RST, then a WebSocket upgrade request and the server's 101 on the
same tuple, as an attacker would spoof them. Paced, so that a capture keeps
up. Prints the number of tuples sent."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawtcp import ACK, PSH, RST, packet  # noqa: E402

REQ = (b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
RESP = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
BATCH, PAUSE = 500, 0.02

port, first, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
assert first + count <= 65536, "tuples are numbered below 65536"
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
srv = bytes([127, 0, 0, 1])
for i in range(first, first + count):
    cli = bytes([127, 2, i >> 8, i & 255])
    caddr = socket.inet_ntoa(cli)
    cport = 20000 + i % 40000
    raw.sendto(packet(cli, srv, cport, port, 1000, 5000, RST | ACK), ("127.0.0.1", 0))
    raw.sendto(packet(cli, srv, cport, port, 1000, 5000, PSH | ACK, REQ), ("127.0.0.1", 0))
    raw.sendto(packet(srv, cli, port, cport, 5000, 1000 + len(REQ), PSH | ACK, RESP), (caddr, 0))
    if (i - first) % BATCH == BATCH - 1:
        time.sleep(PAUSE)
print(count)
