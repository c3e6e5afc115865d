"""IPv4/TCP packets built byte by byte (RFC 791, RFC 9293 3.1), checksums
included: for crafted captures and for packets no socket would send."""
import struct

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10


def csum(b):
    """The Internet checksum (RFC 1071)."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    """An IPv4 packet (src, dst: 4 bytes each) carrying one TCP segment."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0,
                     src, dst)
    return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + tcp + payload


def write_pcap(path, pkts, t0=1700000000):
    """A pcap file (link type raw IP) of (microseconds after t0, packet), in time order."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for us, p in sorted(pkts, key=lambda x: x[0]):
            f.write(struct.pack("<IIII", t0 + us // 1000000, us % 1000000, len(p), len(p)))
            f.write(p)
