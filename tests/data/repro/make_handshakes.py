#!/usr/bin/python3
"""Writes handshake_timeouts.pcap (raw IP): a SYN never answered, a SYN
answered with a SYN-ACK whose final ACK never comes, and 30 s later a whole
connection, whose first packet lets the 20 s handshake timeout pass on
packet time. The two must be told apart. Deterministic."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e"))
from rawtcp import ACK, FIN, SYN, packet, write_pcap  # noqa: E402

C, S = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 254])
SPORT = 7272

pkts = [
    (0, packet(C, S, 40010, SPORT, 1000, 0, SYN)),                    # never answered
    (100000, packet(C, S, 40011, SPORT, 2000, 0, SYN)),
    (100100, packet(S, C, SPORT, 40011, 9000, 2001, SYN | ACK)),     # no final ACK
    (30000000, packet(C, S, 40012, SPORT, 3000, 0, SYN)),
    (30000100, packet(S, C, SPORT, 40012, 7000, 3001, SYN | ACK)),
    (30000200, packet(C, S, 40012, SPORT, 3001, 7001, ACK)),
    (30000300, packet(C, S, 40012, SPORT, 3001, 7001, FIN | ACK)),
    (30000400, packet(S, C, SPORT, 40012, 7001, 3002, FIN | ACK)),
    (30000500, packet(C, S, 40012, SPORT, 3002, 7002, ACK)),
]
write_pcap(sys.argv[1] if len(sys.argv) > 1 else "handshake_timeouts.pcap", pkts)
