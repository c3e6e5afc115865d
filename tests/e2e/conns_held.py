#!/usr/bin/python3
"""N real connections to 127.0.0.1:PORT held open at once (clients from
127.0.0.1-8), then a request on each, then all closed with FIN: more
connections than a small flow table holds, each with packets after its
handshake. Prints "ok N"."""
import resource
import socket
import sys
import time

n, port = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < 2 * n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * n + 64), hard))
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(4096)
srv.settimeout(10)
clients, served = [], []
for i in range(n):
    c = socket.socket()
    c.settimeout(10)
    c.bind(("127.0.0.%d" % (1 + i % 8), 0))
    c.connect(("127.0.0.1", port))
    clients.append(c)
    served.append(srv.accept()[0])
for c in clients:
    c.sendall(b"GET / HTTP/1.1\r\n\r\n")
for s in served:
    s.settimeout(10)
    got = b""
    while len(got) < 18:
        got += s.recv(100)
for c in clients:
    c.close()
for s in served:
    s.close()
time.sleep(0.2)
print("ok", n)
