#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets that take structured input
(tests/fuzz/corpus/NAME/) from the committed captures and the unit tests'
vectors. Run from anywhere; rewrites only the files it names.

    tests/fuzz/make_seeds.py

The layouts are the ones documented at the top of each tests/fuzz/fuzz_*.c.
"""
import os
import shutil
import struct

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CORPUS = os.path.join(TOP, "tests", "fuzz", "corpus")
CAPTURES = [
    "tests/golden/chat.pcap",
    "tests/data/pcap/lo_any_sll2.pcap",
    "tests/data/pcap/lo_any_sll2_snap96.pcap",
    "tests/data/pcap/veth_any_sll2.pcap",
]
# fuzz_packet.c's types[] order.
LINKTYPE_INDEX = {0: 0, 1: 1, 12: 2, 14: 3, 101: 4, 108: 5, 113: 6, 228: 7, 229: 8, 276: 9}
SLL2_HLEN = 20


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pcap_frames(path):
    """(linktype, [(caplen, wirelen, bytes)]) of a classic pcap file."""
    with open(os.path.join(TOP, path), "rb") as f:
        d = f.read()
    magic = struct.unpack("<I", d[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(e + "I", d[20:24])[0]
    off, frames = 24, []
    while off + 16 <= len(d):
        _, _, incl, orig = struct.unpack(e + "IIII", d[off:off + 16])
        frames.append((incl, orig, d[off + 16:off + 16 + incl]))
        off += 16 + incl
    return linktype, frames


def ip_of(linktype, frame):
    hl = {1: 14, 101: 0, 276: SLL2_HLEN, 113: 16}[linktype]
    return frame[hl:]


def tcp_segments(linktype, frames):
    """(src port, dst port, flags, seq, payload) of each IPv4/IPv6 TCP frame."""
    out = []
    for _, _, fr in frames:
        ip = ip_of(linktype, fr)
        if not ip:
            continue
        if ip[0] >> 4 == 4:
            ihl = (ip[0] & 15) * 4
            tot = struct.unpack(">H", ip[2:4])[0]
            if ip[9] != 6:
                continue
            l4, end = ihl, tot
        elif ip[0] >> 4 == 6 and ip[6] == 6:
            l4, end = 40, 40 + struct.unpack(">H", ip[4:6])[0]
        else:
            continue
        th = ip[l4:]
        sp, dp, seq = struct.unpack(">HHI", th[:8])
        doff = (th[12] >> 4) * 4
        out.append((sp, dp, th[13], seq, ip[l4 + doff:end]))
    return out


# ---- IP packets made here, like tests/lib/pktgen.c does ----

def tcp_hdr(sport=60653, dport=7272, flags=0x18, optlen=0):
    return struct.pack(">HHIIBBHHH", sport, dport, 0x01020304, 0xA0B0C0D0,
                       ((20 + optlen) // 4) << 4, flags, 512, 0x1234, 0) + b"\x01" * optlen


def ipv4(payload, proto=6, frag=0x4000, optlen=0):
    ihl = 20 + optlen
    return struct.pack(">BBHHHBBH4s4s", 0x40 | ihl // 4, 0, ihl + len(payload), 0x4242, frag,
                       64, proto, 0, bytes([192, 0, 2, 1]), bytes([198, 51, 100, 2])) \
        + b"\x01" * optlen + payload


def ipv6(exts, payload):
    """exts: [(type, bytes)] of extension headers, each with its next header filled here."""
    chain = b""
    types = [t for t, _ in exts] + [6]
    for i, (_, body) in enumerate(exts):
        chain += bytes([types[i + 1]]) + body[1:]
    src = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1])
    dst = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 10 + [0xab, 2])
    return struct.pack(">IHBB16s16s", 0x60000000, len(chain) + len(payload), types[0], 64,
                       src, dst) + chain + payload


def ipv6_esp(payload):
    v6 = ipv6([], payload)
    return v6[:6] + bytes([50]) + v6[7:]


def ext(length):
    return bytes([0, length // 8 - 1, 1, length - 4]) + b"\0" * (length - 4)


def ah(length):
    return bytes([0, length // 4 - 2, 0, 0]) + struct.pack(">II", 0x1000, 1) + b"\0" * (length - 12)


def frag6(offset, more):
    return bytes([0, 0]) + struct.pack(">HI", offset << 3 | more, 0xABCDEF01)


def packet_seeds():
    data = b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"
    seg = tcp_hdr() + data
    made = {
        "v4": ipv4(seg),
        "v4_options": ipv4(tcp_hdr(optlen=12) + data, optlen=12),
        "v4_first_fragment": ipv4(seg, frag=0x2000),
        "v4_middle_fragment": ipv4(seg, frag=0x2000 | 185),
        "v6": ipv6([], seg),
        "v6_ext_chain": ipv6([(0, ext(8)), (43, ext(24)), (44, frag6(0, 0)), (51, ah(24)),
                              (60, ext(16))], seg),
        "v6_first_fragment": ipv6([(44, frag6(0, 1))], seg),
        "v6_esp": ipv6_esp(b"\0\0\x10\0\0\0\0\x01" + b"x" * 16),
    }
    for name, ip in made.items():
        write("packet", "wrapped_" + name, b"\x80\x00" + ip)
        eth = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + (b"\x86\xdd" if ip[0] >> 4 == 6 else b"\x08\x00")
        write("packet", "eth_" + name, bytes([LINKTYPE_INDEX[1], 0]) + eth + ip)
    # QinQ and the raw link type, cut by a snapshot.
    qinq = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x88\xa8\0\x64\x81\x00\0\xc8\x08\x00" + made["v4"]
    write("packet", "eth_qinq_v4", bytes([LINKTYPE_INDEX[1], 0]) + qinq)
    write("packet", "raw_v6_snap", bytes([LINKTYPE_INDEX[101], 3]) + made["v6_ext_chain"][:120])
    # Frames of the committed captures (a few of each).
    for path in CAPTURES:
        lt, frames = pcap_frames(path)
        base = os.path.splitext(os.path.basename(path))[0]
        for i, (incl, orig, fr) in enumerate(frames[:4] + frames[-2:]):
            extra = min(255, (orig - incl + 63) // 64)
            write("packet", "%s_%d" % (base, i), bytes([LINKTYPE_INDEX[lt], extra]) + fr)


def record(family=4, direction=0, payload=b"hello", payload_len=None, version=2):
    payload_len = len(payload) if payload_len is None else payload_len
    return struct.pack("<HHIQBBBB16s16sHHIIHHIII", version, 80, 1, 123456789, family, direction,
                       0x18, 20, bytes([127, 0, 0, 1] + [0] * 12), bytes([127, 0, 0, 1] + [0] * 12),
                       40000, 7272, 1, 2, 512, 0, payload_len, len(payload), 0) + payload


def record_seeds():
    write("capture_record", "ok_v4", record())
    write("capture_record", "ok_v6_egress_cut", record(family=6, direction=1, payload_len=3000))
    write("capture_record", "bad_version", record(version=1))
    write("capture_record", "bad_family", record(family=5))
    write("capture_record", "short", record()[:83])
    write("capture_record", "empty_payload", record(payload=b""))


def stream_seeds():
    def op(kind, dirn, delta, units, capfrac):
        return struct.pack(">BhBB", kind | dirn << 3, delta, units, capfrac)
    write("stream", "in_order", b"\0" + op(4, 0, 0, 0, 255) + op(0, 0, 0, 10, 255) +
          op(0, 0, 0, 20, 255) + op(0, 1, 0, 5, 255) + op(3, 0, 0, 0, 0))
    write("stream", "out_of_order", b"\0" + op(0, 0, 0, 10, 255) + op(0, 0, 90, 10, 255) +
          op(0, 0, -60, 10, 255) + op(0, 0, -120, 40, 255))
    write("stream", "overlap_snaplen", b"\0" + op(0, 0, 0, 50, 100) + op(0, 0, -75, 50, 255) +
          op(0, 1, 0, 30, 0) + op(0, 1, -30, 60, 255))
    write("stream", "overflow", b"\x01" + b"".join(op(0, i & 1, 700, 200, 255) for i in range(8)) +
          op(3, 0, 0, 0, 0) + op(3, 1, 0, 0, 0))


def track_seeds():
    def pkt(k, dirn, flags, delta, units, dt):
        return struct.pack(">BBhBB", k | dirn << 3, flags, delta, units, dt)
    hs = pkt(0, 0, 0x02, 0, 0, 1) + pkt(0, 1, 0x12, 0, 0, 1) + pkt(0, 0, 0x10, 1, 0, 1)
    data = pkt(0, 0, 0x18, 1, 10, 1) + pkt(0, 1, 0x18, 1, 5, 1)
    fin = pkt(0, 0, 0x11, 0, 0, 1) + pkt(0, 1, 0x11, 0, 0, 1) + pkt(0, 0, 0x10, 1, 0, 1)
    write("tcp_track", "handshake_data_fin", b"\x07" + hs + data + fin)
    write("tcp_track", "refused", b"\x07" + pkt(1, 0, 0x02, 0, 0, 1) + pkt(1, 1, 0x14, 0, 0, 1))
    write("tcp_track", "reset_then_data", b"\x07" + hs + pkt(0, 1, 0x04, 0, 0, 1) +
          pkt(0, 0, 0x18, 0, 10, 1) + pkt(0, 1, 0x12, 0, 0, 1))
    write("tcp_track", "midstream_evictions", b"\x01" + b"".join(
        pkt(k, k & 1, 0x18, 0, 4, 3) for k in range(8)) + pkt(2, 0, 0x10, 0, 0, 255))
    write("tcp_track", "retransmits", b"\x03" + hs + data + data + pkt(0, 0, 0x18, -40, 10, 1))


def session_seeds():
    """The golden chat capture as segments of connection 0, handshake made by the target."""
    lt, frames = pcap_frames("tests/golden/chat.pcap")
    out = b"\x01"
    for sp, dp, flags, _, pl in tcp_segments(lt, frames):
        dirn = 1 if sp == 7272 else 0
        for i in range(0, len(pl), 255):
            chunk = pl[i:i + 255]
            out += bytes([dirn, len(chunk)]) + chunk
    write("ws_session", "chat", out)
    # The same with the response lost, then cut short by a reset.
    write("ws_session", "chat_small_limits", b"\x03" + out[1:600] + b"\x21\x00")
    upgrade = (b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    hello = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
    two = (bytes([0, len(upgrade)]) + upgrade + bytes([1, len(resp)]) + resp +
           bytes([0, len(hello)]) + hello + bytes([2, len(upgrade)]) + upgrade)
    write("ws_session", "two_connections_gap_fin", b"\x01" + two + bytes([0x04, 5]) + b"\x81\x03abc" +
          bytes([0x11, 0]) + bytes([0x10, 0]))
    # Regression: data after the connection was reset must not open a
    # session nobody ends (the leak of packets after a close).
    write("ws_session", "regress-packets-after-close-rst-then-upgrade",
          b"\x01" + bytes([0, len(upgrade)]) + upgrade + bytes([1, len(resp)]) + resp +
          bytes([0x20, 0]) + bytes([0, len(upgrade)]) + upgrade + bytes([1, len(resp)]) + resp)


def config_seeds():
    shutil.copy(os.path.join(TOP, "dist", "wstrace.conf"), os.path.join(CORPUS, "config", "dist"))
    write("config", "all_keys", b"interface = lo\ninterface = eth0\nport = 7272,8080\nsnaplen = 0\n"
          b"json = true\nshow-payload = no\nmetrics = [::1]:9272\njson-key = type\n"
          b"max-flows = 100\nringbuf-kb = 1024\nwakeup-kb = 0\nstats = 5\n")
    write("config", "crlf_bom_comments", b"\xef\xbb\xbf# c\r\n\r\n  port=1  \r\n#x = y\r\nverbose = on\r\n")
    write("config", "errors", b"port = 70000\n= x\nnot a pair\nunknown = 1\n")


def webconfig_seeds():
    # The exporter toolkit's web configuration, as wstrace reads it (--web-config).
    h = b"$2y$10$KBohgU5jAj39ykSIJBCLXuE6YpzJKiH1LMbdwNmJdDSBvxzmquuUe"
    write("webconfig", "all_keys", b"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
          b"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
          b"  client_allowed_sans: [prometheus.example]\n  min_version: TLS12\n  max_version: TLS13\n"
          b"  prefer_server_cipher_suites: true\n  cipher_suites:\n"
          b"    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
          b"    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
          b"  curve_preferences: [X25519, CurveP256]\n"
          b"http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n"
          b"    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\n"
          b"basic_auth_users:\n  prometheus: " + h + b"\n  'other': '" + h + b"'\n"
          b"rate_limit:\n  interval: 100ms\n  burst: 10\n")
    write("webconfig", "inline_pem", b"tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n"
          b"    MIIB\n    -----END CERTIFICATE-----\n  key: \"k\"\n  client_ca: >\n    ca\n"
          b"  client_auth_type: VerifyClientCertIfGiven\n")
    write("webconfig", "flow_and_anchors", b"{tls_server_config: {cert_file: &f a, key_file: *f, "
          b"min_version: TLS13, cipher_suites: [TLS_AES_128_GCM_SHA256]}, basic_auth_users: {}}\n")
    write("webconfig", "errors", b"tls_server_config:\n  cert_file: a\n  bogus: [1, {x: y}]\n"
          b"basic_auth_users:\n  a:b: secret\n---\nrate_limit: 1\n")
    write("webconfig", "empty", b"")


def pipeline_seeds():
    for path in CAPTURES + ["tests/data/pcap/lo_any_sll2.pcapng"]:
        shutil.copy(os.path.join(TOP, path), os.path.join(CORPUS, "pipeline", os.path.basename(path)))
    # regress-*: inputs that found defects, kept as they are (not made here).


def proxy_hdr_seeds():
    sig = bytes([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A])
    write("proxy_hdr", "v1_tcp4", b"\x00PROXY TCP4 192.0.2.7 127.0.0.1 56324 7272\r\nGET / HTTP/1.1\r\n")
    write("proxy_hdr", "v1_tcp6", b"\x00PROXY TCP6 2001:db8::1 ::1 4000 7272\r\n")
    write("proxy_hdr", "v1_unknown", b"\x00PROXY UNKNOWN\r\n")
    write("proxy_hdr", "v2_inet", b"\x00" + sig + bytes([0x21, 0x11, 0, 12, 198, 51, 100, 9, 127, 0, 0, 1,
                                                       0xDC, 0x04, 0x1C, 0x68]) + b"GET")
    write("proxy_hdr", "v2_inet6_tlv", b"\x00" + sig + bytes([0x21, 0x21, 0, 40]) + bytes(36) + b"\x04\x00\x01\x00")
    write("proxy_hdr", "v2_local", b"\x00" + sig + bytes([0x20, 0x00, 0, 0]))
    write("proxy_hdr", "headers", b"\x01GET / HTTP/1.1\r\nHost: x\r\nForwarded: for=\"[2001:db8::1]:80\";proto=http, "
          b"for=1.2.3.4\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\nX-Real-IP: 10.0.0.3\r\n\r\n")


def tls_hello_seeds():
    # byte 0: bit 0 the direction (1: server), bits 1-7 the piece size
    for name in sorted(os.listdir(os.path.join(TOP, "tests", "data", "tls"))):
        server = name.startswith("server_")
        with open(os.path.join(TOP, "tests", "data", "tls", name), "rb") as f:
            data = f.read()
        write("tls_hello", name[:-4], bytes([int(server)]) + data)
        write("tls_hello", name[:-4] + "_pieces", bytes([int(server) | 7 << 1]) + data)


def main():
    for t in ("packet", "capture_record", "stream", "tcp_track", "ws_session", "config",
              "webconfig", "pipeline", "proxy_hdr", "tls_hello"):
        os.makedirs(os.path.join(CORPUS, t), exist_ok=True)
    packet_seeds()
    record_seeds()
    stream_seeds()
    track_seeds()
    session_seeds()
    config_seeds()
    webconfig_seeds()
    pipeline_seeds()
    proxy_hdr_seeds()
    tls_hello_seeds()


if __name__ == "__main__":
    main()
