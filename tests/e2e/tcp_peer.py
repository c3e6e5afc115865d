#!/usr/bin/python3
"""TCP peers for end-to-end tests: an echo server and clients that end
connections in chosen ways (FIN, RST, refused)."""
import socket
import struct
import sys
import time


def server(host, port, conns):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(16)
    s.settimeout(30)
    for _ in range(conns):
        c, _ = s.accept()
        c.settimeout(10)
        while True:
            try:
                data = c.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            c.sendall(data)
        c.close()


def client(host, port, mode, payload):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect((host, port))
    except ConnectionRefusedError:
        print("refused")
        return
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        got += s.recv(65536)
    assert got == payload, "echo mismatch"
    if mode == "rst":
        # SO_LINGER with a zero timeout: close() sends RST, not FIN.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    time.sleep(0.05)
    print("ok")


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        size = int(sys.argv[5]) if len(sys.argv) > 5 else 5
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4], (b"hello" * (size // 5 + 1))[:size])
