#!/usr/bin/python3
"""Plays systemd's side of sd_notify: binds a datagram socket and prints each
message it receives (one per line, newlines inside shown as '|')."""
import os
import socket
import sys

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
s.settimeout(float(sys.argv[2]) if len(sys.argv) > 2 else 60)
with open(sys.argv[3] if len(sys.argv) > 3 else "/dev/stdout", "a", buffering=1) as out:
    try:
        while True:
            msg = s.recv(4096).decode(errors="replace")
            out.write(msg.replace("\n", "|") + "\n")
    except socket.timeout:
        pass
