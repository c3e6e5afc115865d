"""Steady TCP traffic on 127.0.0.1:PORT: connections one after another, each
sending one byte and reading one back, with a short pause between them.

    steady_conns.py PORT N PROGRESS_FILE [STOP_FILE]

Makes N connections, or fewer if STOP_FILE appears first. Writes the number
of connections finished so far to PROGRESS_FILE (every 25, and at the end)
so a test can act at given points of the traffic; prints "sent K" when done.
Serves its own connections.
"""
import os
import socket
import sys
import threading
import time

port, total, progress = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
stop = sys.argv[4] if len(sys.argv) > 4 else None

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(512)


def serve():
    while True:
        c, _ = srv.accept()
        c.recv(10)
        c.sendall(b"y")
        c.close()


def report(n):
    tmp = progress + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % n)
    os.replace(tmp, progress)


threading.Thread(target=serve, daemon=True).start()
deadline = time.monotonic() + 120
done = 0
for i in range(total):
    if stop and os.path.exists(stop):
        break
    if time.monotonic() > deadline:
        sys.exit("steady_conns: out of time after %d connections" % i)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"x")
    s.recv(1)
    s.close()
    done = i + 1
    if done % 25 == 0:
        report(done)
    time.sleep(0.002)
report(done)
print("sent", done)
