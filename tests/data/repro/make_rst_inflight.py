#!/usr/bin/python3
"""Writes rst_inflight_close.pcap (raw IP): a WebSocket client sends its close
frame and aborts with a RST while the server's close frame is on the wire; the
server's frame arrives after the RST, and the client's stack answers it with a
second RST. A second connection a second later lets the reset linger end on
packet time. Deterministic: run it again to get the same bytes."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e"))
from rawtcp import ACK, FIN, PSH, RST, SYN, packet, write_pcap  # noqa: E402

T0 = 1700000000
C, S = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 254])
CPORT, SPORT = 40000, 7272


def frame(opcode, payload, masked):
    mask = b"\x37\xfa\x21\x3d"
    if not masked:
        return bytes([0x80 | opcode, len(payload)]) + payload
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(
        b ^ mask[i % 4] for i, b in enumerate(payload))


REQ = (b"GET /chat HTTP/1.1\r\nHost: 10.0.0.254:7272\r\nUpgrade: websocket\r\n"
       b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       b"Sec-WebSocket-Version: 13\r\n\r\n")
RESP = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")


def conversation(cport, t, reset):
    """(time in us, packet) of one connection starting at t."""
    out, cs, ss = [], 1000, 5000

    def c2s(dt, flags, data=b""):
        nonlocal cs
        out.append((t + dt, packet(C, S, cport, SPORT, cs, ss, flags, data)))
        cs += len(data) + (1 if flags & (SYN | FIN) else 0)

    def s2c(dt, flags, data=b""):
        nonlocal ss
        out.append((t + dt, packet(S, C, SPORT, cport, ss, cs, flags, data)))
        ss += len(data) + (1 if flags & (SYN | FIN) else 0)

    out.append((t, packet(C, S, cport, SPORT, cs, 0, SYN)))
    cs += 1
    s2c(100, SYN | ACK)
    c2s(200, ACK)
    c2s(300, PSH | ACK, REQ)
    s2c(400, PSH | ACK, RESP)
    c2s(1000, PSH | ACK, frame(1, b"hello", True))
    s2c(1100, PSH | ACK, frame(1, b"hello back", False))
    bye = struct.pack("!H", 1001) + b"going away"
    c2s(2000, PSH | ACK, frame(8, bye, True))
    if reset:
        c2s(2010, RST | ACK)                       # the client aborts
        s2c(2200, PSH | ACK, frame(8, bye, False))  # the server's answer, in flight
        out.append((t + 2210, packet(C, S, cport, SPORT, cs, 0, RST)))  # refused
    else:
        s2c(2200, PSH | ACK, frame(8, bye, False))
        s2c(2300, FIN | ACK)
        c2s(2400, FIN | ACK)
        s2c(2500, ACK)
    return out


pkts = conversation(CPORT, 0, True) + conversation(CPORT + 1, 1000000, False)
write_pcap(sys.argv[1] if len(sys.argv) > 1 else "rst_inflight_close.pcap", pkts, T0)
