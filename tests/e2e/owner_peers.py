#!/usr/bin/python3
"""Peers of test_owners.sh: a prefork WebSocket echo server and clients that
say who they are. Plain sockets, the RFC 6455 handshake by hand, so that what
each process did is exact.

  owner_peers.py prefork PORT WORKERS [CGROUP_FD]
      listens, joins the cgroup through CGROUP_FD (a cgroup.procs opened by
      the caller), forks WORKERS workers after listen; each worker prints
      "accepted PID CLIENT_PORT" per connection, echoes one message per
      connection until the client closes.
  owner_peers.py client PORT [--bind ADDR] [--proxy v1|v2 SRC] [--xff ADDR]
                 [--forwarded VALUE] [--wait FILE] [--cgroup-fd FD]
      one session: handshake, one text message echoed, close; prints
      "client PID LOCAL_PORT" once connected; with --wait, connects and
      upgrades, then waits for FILE before the message. $OWNER_CLIENT_PAUSE
      (seconds, default 0) is a pause after the upgrade: the rest of the
      session then comes after a tracer has seen the accept.

The server listens on, and clients connect to, $OWNER_HOST (default
127.0.0.1; an IPv6 address such as ::1 makes both IPv6).
"""
import base64
import hashlib
import os
import socket
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HOST = os.environ.get("OWNER_HOST", "127.0.0.1")
FAMILY = socket.AF_INET6 if ":" in HOST else socket.AF_INET


def say(*a):
    print(*a, flush=True)


def join_cgroup(fd):
    if fd is not None:
        os.write(fd, b"%d\n" % os.getpid())
        os.close(fd)


def recv_until(s, marker, limit=65536):
    buf = b""
    while marker not in buf:
        d = s.recv(4096)
        if not d:
            raise EOFError("closed before %r" % marker)
        buf += d
        if len(buf) > limit:
            raise ValueError("head too long")
    return buf


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError("closed")
        buf += d
    return buf


def read_frame(s):
    b0, b1 = recv_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", recv_exact(s, 8))[0]
    mask = recv_exact(s, 4) if b1 & 0x80 else None
    data = recv_exact(s, n)
    if mask:
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
    return b0 & 0x0F, data


def frame(op, data, masked):
    hdr = bytes([0x80 | op])
    n = len(data)
    mbit = 0x80 if masked else 0
    if n < 126:
        hdr += bytes([mbit | n])
    else:
        hdr += bytes([mbit | 126]) + struct.pack(">H", n)
    if not masked:
        return hdr + data
    mask = os.urandom(4)
    return hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(data))


V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def skip_proxy_header(c):
    """What follows a PROXY v1/v2 header (a proxy-aware server drops it)."""
    buf = recv_exact(c, 16)
    if buf.startswith(V2_SIG):
        return recv_exact(c, struct.unpack(">H", buf[14:16])[0]) and b""
    if buf.startswith(b"PROXY "):
        while b"\r\n" not in buf:
            buf += recv_exact(c, 1)
        return buf.split(b"\r\n", 1)[1]
    return buf


def serve_one(c):
    head = skip_proxy_header(c)
    while b"\r\n\r\n" not in head:
        d = c.recv(4096)
        if not d:
            raise EOFError("closed in the head")
        head += d
    key = b""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            key = line.split(b":", 1)[1].strip()
    acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
    while True:
        op, data = read_frame(c)
        if op == 8:
            c.sendall(frame(8, data[:2], False))
            return
        c.sendall(frame(op, data, False))


def prefork(port, workers, cg_fd):
    join_cgroup(cg_fd)
    s = socket.socket(FAMILY)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, port))
    s.listen(64)
    kids = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            while True:
                c, addr = s.accept()
                say("accepted", os.getpid(), addr[1])
                try:
                    serve_one(c)
                except (EOFError, OSError, ValueError):
                    pass
                c.close()
        kids.append(pid)
    say("workers", *kids)
    try:
        for k in kids:
            os.waitpid(k, 0)
    except KeyboardInterrupt:
        pass


def proxy_header(kind, src, dst, sport, dport):
    if kind == "v1":
        return b"PROXY TCP4 %s %s %d %d\r\n" % (src.encode(), dst.encode(), sport, dport)
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    addrs = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">HH", sport, dport)
    return sig + bytes([0x21, 0x11]) + struct.pack(">H", len(addrs)) + addrs


def client(port, args):
    bind = None
    proxy = None
    xff = None
    fwd = None
    wait = None
    cg_fd = None
    i = 0
    while i < len(args):
        if args[i] == "--bind":
            bind = args[i + 1]; i += 2
        elif args[i] == "--proxy":
            proxy = (args[i + 1], args[i + 2]); i += 3
        elif args[i] == "--xff":
            xff = args[i + 1]; i += 2
        elif args[i] == "--forwarded":
            fwd = args[i + 1]; i += 2
        elif args[i] == "--wait":
            wait = args[i + 1]; i += 2
        elif args[i] == "--cgroup-fd":
            cg_fd = int(args[i + 1]); i += 2
        else:
            raise SystemExit("bad argument " + args[i])
    join_cgroup(cg_fd)
    s = socket.socket(FAMILY)
    if bind:
        s.bind((bind, 0))
    s.settimeout(20)
    s.connect((HOST, port))
    say("client", os.getpid(), s.getsockname()[1])
    if proxy:
        s.sendall(proxy_header(proxy[0], proxy[1], "127.0.0.1", 40000, port))
    key = base64.b64encode(os.urandom(16))
    req = (b"GET /who HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (port, key))
    if xff:
        req += b"X-Forwarded-For: %s, 10.9.9.9\r\n" % xff.encode()
    if fwd:
        req += b"Forwarded: %s\r\n" % fwd.encode()
    s.sendall(req + b"\r\n")
    recv_until(s, b"\r\n\r\n")
    say("upgraded")
    time.sleep(float(os.environ.get("OWNER_CLIENT_PAUSE", "0")))
    if wait:
        end = time.time() + 60
        while not os.path.exists(wait) and time.time() < end:
            time.sleep(0.05)
    s.sendall(frame(1, b"hello from %d" % os.getpid(), True))
    op, data = read_frame(s)
    assert op == 1, op
    s.sendall(frame(8, struct.pack(">H", 1000), True))
    read_frame(s)
    s.close()


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "prefork":
        prefork(port, int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else None)
    elif mode == "client":
        client(port, sys.argv[3:])
    else:
        raise SystemExit("mode: prefork or client")


if __name__ == "__main__":
    main()
