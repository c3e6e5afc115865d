#!/usr/bin/python3
"""Matches wstrace's WebSocket events against tshark, frame for frame.

  ws_compare.py --pcap DUMP --live LIVE.json [--file FILE.json]
                [--expect SPEC,SPEC...] [--connections N] [--port 7272]
                [--label NAME] [--keylog KEYS]

DUMP is a tcpdump capture of the traffic LIVE.json (wstrace --json -s 0)
saw; FILE.json is `wstrace -r DUMP --json` of the same capture.

1. tshark dissects DUMP. Every WebSocket frame, per connection and
   direction in order, must agree with wstrace's ws_frame events: opcode,
   FIN, RSV1-3, mask bit and key, payload length, unmasked payload (up to
   wstrace's per-frame capture). Control frames must come with a ws_ping /
   ws_pong / ws_close event carrying the same header and payload.
2. Messages are assembled from tshark's frames (fragments concatenated,
   permessage-deflate inflated with zlib per RFC 7692 section 7.2.2, with
   or without context takeover as negotiated in tshark's 101 response) and
   must agree with wstrace's ws_message events. Where tshark inflated a
   message itself, and its result is reliable (see tshark_inflated_ok), it
   must agree too.
3. FILE.json must hold the same WebSocket events as LIVE.json, except for
   timings (capture timestamps differ between the two).
4. With --connections, tshark must find WebSocket frames on N connections.
5. With --expect, wstrace's own view of each connection (in order) must be
   what the peers did: SPEC = DEFLATE:END as given to the test clients.

Exits 1 on any disagreement (printing it), or when nothing was compared.
"""
import argparse
import base64
import json
import subprocess
import sys
import zlib

OPCODES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
CONTROL_EVENTS = {8: "ws_close", 9: "ws_ping", 10: "ws_pong"}
# wstrace's default capture per frame and per message (ws_session.h).
FRAME_CAP = 4096
MESSAGE_CAP = 65536

errors = []


def err(msg):
    errors.append(msg)
    if len(errors) <= 40:
        print("MISMATCH: " + msg)


def short(b, n=48):
    if b is None:
        return "None"
    s = b[:n].hex()
    return s + ("...(%d bytes)" % len(b) if len(b) > n else "")


# --- tshark ----------------------------------------------------------------

def get(pairs, key, default=None):
    for k, v in pairs:
        if k == key:
            return v
    return default


def find(pairs, key):
    """A field anywhere in a layer's tree (first match, depth first)."""
    for k, v in pairs:
        if k == key:
            return v
        if isinstance(v, list) and v and isinstance(v[0], tuple):
            r = find(v, key)
            if r is not None:
                return r
    return None


def raw_bytes(pairs, key):
    """The bytes of a field from its KEY_raw entry ([hex, pos, len, ...])."""
    r = get(pairs, key + "_raw")
    if r is None:
        return None
    if r and isinstance(r[0], list):  # repeated field: first occurrence
        r = r[0]
    return bytes.fromhex(r[0])


def endpoint(ip, port):
    return "[%s]:%s" % (ip, port) if ":" in ip else "%s:%s" % (ip, port)


def tshark_parse(pcap, port, keylog=None):
    """Returns ({conn: {dir: [frame]}}, {conn: extensions}, conn order).
    conn is the client endpoint "ip:port"; dir "c2s" or "s2c". With a key
    log the port is TLS, decrypted by tshark with the peers' keys."""
    decode = ["-d", "tcp.port==%d,http" % port]
    if keylog:
        decode = ["-o", "tls.keylog_file:" + keylog, "-d", "tcp.port==%d,tls" % port]
    # A retransmission (loopback under load) would otherwise cost tshark
    # the frame boundaries of the rest of its connection.
    cmd = ["tshark", "-r", pcap, "-o", "tcp.reassemble_out_of_order:TRUE"] + decode + [
           "-Y", "tcp.port == %d and (websocket or http.response.code == 101)" % port,
           "-T", "json", "-x"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("tshark failed: " + p.stderr.decode(errors="replace"))
    # Keep duplicate keys and their order: one packet may hold several
    # websocket layers, each followed by the layer its payload went to.
    pkts = json.loads(p.stdout, object_pairs_hook=list)
    frames, exts, order = {}, {}, []
    for pkt in pkts:
        layers = get(get(pkt, "_source"), "layers")
        src = dst = sport = dport = None
        last = None  # the frame of this packet the next data layer belongs to
        for name, layer in layers:
            if name in ("ip", "ipv6"):
                src = get(layer, name + ".src")
                dst = get(layer, name + ".dst")
            elif name == "tcp":
                sport = int(get(layer, "tcp.srcport"))
                dport = int(get(layer, "tcp.dstport"))
            elif name == "http" and sport == port:
                if find(layer, "http.response.code") == "101":
                    conn = endpoint(dst, dport)
                    exts[conn] = get(layer, "http.sec_websocket_extensions", "")
            elif name == "websocket":
                c2s = dport == port
                conn = endpoint(src, sport) if c2s else endpoint(dst, dport)
                if conn not in frames:
                    frames[conn] = {"c2s": [], "s2c": []}
                    order.append(conn)
                last = ws_frame_of(layer, "c2s" if c2s else "s2c")
                frames[conn][last["dir"]].append(last)
            elif name in ("data_raw", "data-text-lines_raw") and last is not None:
                # What the websocket dissector handed on: the inflated
                # or reassembled payload of the frame just before.
                if last["dissected"] is None:
                    last["dissected"] = bytes.fromhex(layer[0])
    return frames, exts, order


def ws_frame_of(w, d):
    rsv = int(get(w, "websocket.rsv"), 16)
    length = get(w, "websocket.payload_length_ext_64") or get(w, "websocket.payload_length_ext_16") \
        or get(w, "websocket.payload_length")
    f = {
        "dir": d,
        "opcode": int(get(w, "websocket.opcode")),
        "fin": get(w, "websocket.fin") == "1",
        "rsv1": bool(rsv & 4), "rsv2": bool(rsv & 2), "rsv3": bool(rsv & 1),
        "masked": get(w, "websocket.mask") == "1",
        "len": int(length),
        "mask": None,
        "payload": raw_bytes(w, "websocket.payload") or b"",
        "dissected": None,
    }
    if f["masked"]:
        f["mask"] = raw_bytes(w, "websocket.masking_key").hex()
    sub = get(w, "websocket.payload")
    if isinstance(sub, list):
        text = raw_bytes(sub, "websocket.payload.text")
        if text is not None:
            f["dissected"] = text
    return f


# --- wstrace ---------------------------------------------------------------

def load_events(path):
    with open(path) as fp:
        return [json.loads(line) for line in fp if line.strip()]


def client_of(e):
    return e["src"] if e.get("dir", "c2s") == "c2s" else e["dst"]


def ev_payload(e):
    """(bytes, truncated); a truncated text may end in U+FFFD for the
    bytes of a code point cut by the capture limit: those are dropped."""
    trunc = bool(e.get("truncated"))
    if "text" in e:
        t = e["text"]
        if trunc:
            t = t.rstrip("\ufffd")
        return t.encode("utf-8"), trunc
    if "data_b64" in e:
        return base64.b64decode(e["data_b64"]), trunc
    return None, trunc


def payload_agrees(e, want, cap):
    """wstrace's kept payload vs the whole payload `want`."""
    got, trunc = ev_payload(e)
    if got is None:
        return "no payload in the event"
    if len(want) > cap:
        if not trunc:
            return "not marked truncated though %d bytes > capture %d" % (len(want), cap)
        if len(got) < cap - 3 or not want.startswith(got):
            return "kept prefix %s is not the first %d bytes %s" % (short(got), cap, short(want))
        return None
    if trunc:
        return "marked truncated though all %d bytes fit" % len(want)
    if got != want:
        return "payload %s, want %s" % (short(got), short(want))
    return None


def by_conn(events, names):
    out = {}
    for e in events:
        if e["event"] in names:
            out.setdefault(client_of(e), {"c2s": [], "s2c": []})[e["dir"]].append(e)
    return out


# --- comparisons -----------------------------------------------------------

HEADER = ("fin", "rsv1", "rsv2", "rsv3", "masked", "len")


def header_diff(e, f):
    d = []
    want_op = OPCODES.get(f["opcode"], f["opcode"])
    if e.get("opcode") != want_op:
        d.append("opcode %r want %r" % (e.get("opcode"), want_op))
    for k in HEADER:
        if e.get(k) != f[k]:
            d.append("%s %r want %r" % (k, e.get(k), f[k]))
    if f["masked"] and e.get("mask") != f["mask"]:
        d.append("mask %r want %r" % (e.get("mask"), f["mask"]))
    return d


def compare_frames(tframes, wframes, wcontrols):
    n = 0
    for conn in tframes:
        for d in ("c2s", "s2c"):
            ts = tframes[conn][d]
            ws = wframes.get(conn, {}).get(d, [])
            cs = wcontrols.get(conn, {}).get(d, [])
            if len(ts) != len(ws):
                err("%s %s: tshark has %d frames, wstrace %d ws_frame events" % (conn, d, len(ts), len(ws)))
            ci = 0
            for i, (f, e) in enumerate(zip(ts, ws)):
                where = "%s %s frame %d" % (conn, d, i)
                diff = header_diff(e, f)
                if diff:
                    err("%s: %s" % (where, ", ".join(diff)))
                    continue
                why = payload_agrees(e, f["payload"], FRAME_CAP if f["opcode"] < 8 else 125)
                if why:
                    err("%s (%s): %s" % (where, OPCODES.get(f["opcode"]), why))
                n += 1
                if f["opcode"] in CONTROL_EVENTS:
                    if ci >= len(cs):
                        err("%s: control frame without a %s event" % (where, CONTROL_EVENTS[f["opcode"]]))
                        continue
                    c = cs[ci]
                    ci += 1
                    if c["event"] != CONTROL_EVENTS[f["opcode"]]:
                        err("%s: %s event, want %s" % (where, c["event"], CONTROL_EVENTS[f["opcode"]]))
                        continue
                    diff = header_diff(c, f)
                    if diff:
                        err("%s: %s event header: %s" % (where, c["event"], ", ".join(diff)))
                    if f["opcode"] == 8:
                        why = close_agrees(c, f["payload"])
                    else:
                        why = payload_agrees(c, f["payload"], 125)
                    if why:
                        err("%s: %s event: %s" % (where, c["event"], why))
            if ci != len(cs):
                err("%s %s: %d control events, %d control frames" % (conn, d, len(cs), ci))
    return n


def close_agrees(c, payload):
    if len(payload) >= 2:
        code = int.from_bytes(payload[:2], "big")
        reason = payload[2:].decode("utf-8")
    else:
        code, reason = None, ""
    if c.get("code") != code or c.get("reason") != reason:
        return "code %r reason %r, want %r %r" % (c.get("code"), c.get("reason"), code, reason)
    return None


def deflate_params(ext):
    """permessage-deflate from a Sec-WebSocket-Extensions response:
    None when not negotiated, else (client_nct, server_nct)."""
    if not ext:
        return None
    for offer in ext.split(","):
        parts = [p.strip() for p in offer.split(";")]
        if parts[0] == "permessage-deflate":
            names = {p.split("=")[0].strip() for p in parts[1:]}
            return ("client_no_context_takeover" in names, "server_no_context_takeover" in names)
    return None


def tshark_messages(frames, pmd, d):
    """Messages from one direction's frames, inflated with zlib."""
    nct = pmd is not None and (pmd[0] if d == "c2s" else pmd[1])
    inflater = zlib.decompressobj(-15)
    out, cur = [], None
    fragmented_compressed_before = False
    for f in frames:
        if f["opcode"] >= 8:
            continue
        if f["opcode"] != 0:
            cur = {"opcode": f["opcode"], "frames": [], "compressed": pmd is not None and f["rsv1"]}
        if cur is None:
            continue  # continuation without a start: wstrace reports it as a violation
        cur["frames"].append(f)
        if not f["fin"]:
            continue
        wire = b"".join(x["payload"] for x in cur["frames"])
        m = {"opcode": cur["opcode"], "frames": len(cur["frames"]), "wire_len": len(wire),
             "compressed": cur["compressed"], "tshark": None, "tshark_ok": False}
        if cur["compressed"]:
            if nct:
                inflater = zlib.decompressobj(-15)
            # RFC 7692 7.2.2: append 00 00 ff ff, inflate.
            m["data"] = inflater.decompress(wire + b"\x00\x00\xff\xff")
            m["tshark"] = f["dissected"]
            m["tshark_ok"], m["tshark_why"] = tshark_inflated_ok(cur, nct, fragmented_compressed_before, m["data"])
            if m["tshark_why"] == EMPTY and m["tshark"] not in (None, wire):
                m["tshark_ok"], m["tshark_why"] = True, None  # not the known quirk: compare
            if len(cur["frames"]) > 1:
                fragmented_compressed_before = True
        else:
            m["data"] = wire
        out.append(m)
        cur = None
    return out


EMPTY = "empty: when inflating gives 0 bytes, tshark hands on the compressed bytes"


def tshark_inflated_ok(cur, nct, fragmented_before, data):
    """Whether tshark 4.0's own inflation of this message can be trusted.
    It inflates single frames with RSV1 only: a fragmented compressed
    message is reassembled but left compressed, and its bytes never reach
    tshark's inflater, so with context takeover the LZ77 window tshark
    uses for later messages of that direction lacks them (back references
    into that message come out wrong). And when a message inflates to
    nothing, packet-websocket.c makes no decompressed tvb and dissects the
    compressed payload instead (only then: checked by the caller)."""
    if not data:
        return False, EMPTY
    if len(cur["frames"]) > 1:
        return False, "fragmented: tshark does not inflate fragmented compressed messages"
    if fragmented_before and not nct:
        return False, "after a fragmented compressed message with context takeover: tshark's window misses it"
    return True, None


def compare_messages(tframes, exts, wmsgs):
    counts = {"messages": 0, "inflated": 0, "tshark_agree": 0, "tshark_skip": {}}
    for conn in tframes:
        pmd = deflate_params(exts.get(conn))
        for d in ("c2s", "s2c"):
            ms = tshark_messages(tframes[conn][d], pmd, d)
            ws = wmsgs.get(conn, {}).get(d, [])
            if len(ms) != len(ws):
                err("%s %s: %d messages from tshark's frames, wstrace %d ws_message events" % (conn, d, len(ms), len(ws)))
            for i, (m, e) in enumerate(zip(ms, ws)):
                where = "%s %s message %d" % (conn, d, i)
                want = {"type": OPCODES[m["opcode"]], "frames": m["frames"], "wire_len": m["wire_len"],
                        "compressed": m["compressed"], "len": len(m["data"])}
                got = {k: e.get(k) for k in want}
                if got != want:
                    err("%s: %s, want %s" % (where, got, want))
                    continue
                if m["compressed"] and e.get("inflated") is not True:
                    err("%s: compressed but inflated=%r" % (where, e.get("inflated")))
                if m["opcode"] == 1 and e.get("utf8_valid") is not True:
                    err("%s: text with utf8_valid=%r" % (where, e.get("utf8_valid")))
                if e.get("incomplete"):
                    err("%s: marked incomplete" % where)
                why = payload_agrees(e, m["data"], MESSAGE_CAP)
                if why:
                    err("%s (%s%s): %s" % (where, want["type"], ", compressed" if m["compressed"] else "", why))
                counts["messages"] += 1
                if not m["compressed"]:
                    continue
                counts["inflated"] += 1
                if m["tshark_ok"]:
                    if m["tshark"] is None:
                        err("%s: tshark did not inflate a single-frame compressed message" % where)
                    elif m["tshark"] != m["data"]:
                        err("%s: tshark inflated %s, zlib %s" % (where, short(m["tshark"]), short(m["data"])))
                    else:
                        counts["tshark_agree"] += 1
                else:
                    skip = counts["tshark_skip"].setdefault(m["tshark_why"], [0, 0])
                    skip[0] += 1
                    if m["tshark"] != m["data"]:
                        skip[1] += 1
    return counts


TIMINGS = ("ts", "upgrade_us", "duration_us", "rtt_us")


def live_only(key):
    """Who is behind a connection: a capture file has no processes."""
    return key.startswith(("server_", "client_")) or key == "forwarded_for"


def ws_view(events):
    out = []
    for e in events:
        if not (e["event"].startswith("ws_") or e["event"].startswith("http_")):
            continue
        k = {x: y for x, y in e.items() if x not in TIMINGS and not live_only(x)}
        if e["event"] == "ws_pong":
            k["rtt"] = "rtt_us" in e
        out.append(json.dumps(k, sort_keys=True))
    return out


def compare_live_file(live, file):
    a, b = ws_view(live), ws_view(file)
    if a == b:
        return len(a)
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            err("live and -r differ at WebSocket event %d:\n  live: %s\n  -r:   %s" % (i, x[:400], y[:400]))
            break
    else:
        err("live has %d WebSocket events, -r %d" % (len(a), len(b)))
    return 0


# --- wstrace's own view ----------------------------------------------------

END_CLOSE = {  # END: (first close dir, code, reason, initiator)
    "1000": ("c2s", 1000, "", "client"),
    "1001": ("s2c", 1001, "going away", "server"),
    "4001": ("c2s", 4001, "custom reason", "client"),
}


def check_expect(events, specs, exts):
    flows = []
    per = {}
    for e in events:
        if e["event"] == "ws_upgrade":
            flows.append(e["flow"])
        per.setdefault(e["flow"], []).append(e)
    if len(flows) != len(specs):
        err("%d ws_upgrade events, %d connections made" % (len(flows), len(specs)))
        return
    for e in events:
        if e["event"] in ("ws_violation", "ws_gap", "ws_resync", "ws_upgrade_failed", "http_request"):
            err("unexpected event: %s" % json.dumps(e)[:300])
    for spec, flow in zip(specs, flows):
        deflate, end = spec.split(":")
        evs = per[flow]
        where = "connection %s (flow %d)" % (spec, flow)

        def only(name):
            got = [e for e in evs if e["event"] == name]
            if len(got) != 1:
                err("%s: %d %s events, want 1" % (where, len(got), name))
                return {}
            return got[0]
        up, est, end_ev = only("ws_upgrade"), only("ws_established"), only("ws_session_end")
        if up.get("valid") is not True:
            err("%s: upgrade not valid: %s" % (where, up.get("why")))
        if est.get("accept") != "ok":
            err("%s: accept %r" % (where, est.get("accept")))
        ext = est.get("extensions", "")
        conn = est.get("dst")
        if conn in exts and ext != exts[conn]:
            err("%s: extensions %r, tshark %r" % (where, ext, exts[conn]))
        pmd = deflate_params(ext)
        if est.get("deflate") != (deflate != "off") or (pmd is not None) != (deflate != "off"):
            err("%s: deflate %r, extensions %r" % (where, est.get("deflate"), ext))
        if deflate == "nocontext" and pmd != (True, True):
            err("%s: no_context_takeover not negotiated: %r" % (where, ext))
        if deflate in ("on", "small") and pmd != (False, False):
            err("%s: context takeover not negotiated: %r" % (where, ext))
        if deflate == "small" and not ("server_max_window_bits=9" in ext and "client_max_window_bits=9" in ext):
            err("%s: 9-bit windows not negotiated: %r" % (where, ext))
        pings = [e for e in evs if e["event"] == "ws_ping"]
        pongs = [e for e in evs if e["event"] == "ws_pong"]
        if len(pings) != 4:
            err("%s: %d pings, want 4 (client: with payload, empty, between fragments; server)" % (where, len(pings)))
        for p in pings:
            matched = [q for q in pongs if q["dir"] != p["dir"] and ev_payload(q) == ev_payload(p)]
            if len(matched) != 1 or not isinstance(matched[0].get("rtt_us"), int) or matched[0]["rtt_us"] < 0:
                err("%s: pong for ping %r without rtt_us: %r" % (where, ev_payload(p)[0], matched))
        unsolicited = [q for q in pongs if q.get("text") == "unsolicited"]
        if len(unsolicited) != 1 or "rtt_us" in unsolicited[0]:
            err("%s: unsolicited pong wrong: %r" % (where, unsolicited))
        if len(pongs) != len(pings) + 1:
            err("%s: %d pongs for %d pings and one unsolicited pong" % (where, len(pongs), len(pings)))
        closes = [e for e in evs if e["event"] == "ws_close"]
        if end in END_CLOSE:
            d, code, reason, who = END_CLOSE[end]
            got = [(c["dir"], c.get("code"), c.get("reason"), c.get("initiator"), c.get("valid")) for c in closes]
            want = [(d, code, reason, who, True), ("s2c" if d == "c2s" else "c2s", code, reason, who, True)]
            if got != want:
                err("%s: close frames %r, want %r" % (where, got, want))
            want_end = ("close", code, who)
        else:
            if closes:
                err("%s: close frames seen for END=%s" % (where, end))
            want_end = ("abnormal" if end == "fin" else "reset", 1006, None)
        got_end = (end_ev.get("how"), end_ev.get("code"), end_ev.get("initiator"))
        if got_end != want_end:
            err("%s: session end %r, want %r" % (where, got_end, want_end))
        for d in ("c2s", "s2c"):
            nf = len([e for e in evs if e["event"] == "ws_frame" and e["dir"] == d])
            nm = len([e for e in evs if e["event"] == "ws_message" and e["dir"] == d])
            if end_ev.get("frames_" + d) != nf or end_ev.get("messages_" + d) != nm:
                err("%s: session end counts %s frames %r messages %r, events %d %d" % (
                    where, d, end_ev.get("frames_" + d), end_ev.get("messages_" + d), nf, nm))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--live", required=True)
    ap.add_argument("--file")
    ap.add_argument("--expect", help="DEFLATE:END,... one per connection, in order")
    ap.add_argument("--port", type=int, default=7272)
    ap.add_argument("--label", default="peer")
    ap.add_argument("--connections", type=int, help="connections tshark must find frames on")
    ap.add_argument("--keylog", help="TLS key log: the port is wss, every WebSocket event must say tls")
    a = ap.parse_args()

    tframes, exts, order = tshark_parse(a.pcap, a.port, a.keylog)
    live = load_events(a.live)
    if a.keylog:
        ws_evs = [e for e in live if e["event"].startswith("ws_") or e["event"] == "http_request"]
        if not ws_evs:
            err("no WebSocket events")
        for e in ws_evs:
            if e.get("tls") is not True:
                err("%s at %s without \"tls\": true" % (e["event"], e["ts"]))
                break
    wframes = by_conn(live, ("ws_frame",))
    wcontrols = by_conn(live, ("ws_ping", "ws_pong", "ws_close"))
    wmsgs = by_conn(live, ("ws_message",))
    for conn in wframes:
        if conn not in tframes:
            err("%s: wstrace has frames, tshark none" % conn)
    nframes = compare_frames(tframes, wframes, wcontrols)
    c = compare_messages(tframes, exts, wmsgs)
    nfile = compare_live_file(live, load_events(a.file)) if a.file else None
    if a.expect:
        check_expect(live, a.expect.split(","), exts)
        # The oracle must have seen every connection, or a missing one could
        # go unnoticed wherever wstrace missed it too.
        if len(order) != len(a.expect.split(",")):
            err("tshark found WebSocket frames on %d connections, %d were made" % (len(order), len(a.expect.split(","))))

    if a.connections is not None and len(order) != a.connections:
        err("tshark found WebSocket frames on %d connections, want %d" % (len(order), a.connections))

    print("%s: %d frames compared with tshark (%d connections), %d messages, %d of them inflated"
          % (a.label, nframes, len(order), c["messages"], c["inflated"]))
    print("%s: %d inflated messages agree with tshark's own inflation" % (a.label, c["tshark_agree"]))
    for why, (n, wrong) in sorted(c["tshark_skip"].items()):
        print("%s: %d inflated messages checked against zlib only, tshark 4.0 wrong for %d of them (%s)"
              % (a.label, n, wrong, why))
    if nfile is not None:
        print("%s: live and -r agree on %d WebSocket events" % (a.label, nfile))
    if nframes == 0:
        err("no frames compared")
    if errors:
        print("%s: %d disagreements" % (a.label, len(errors)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
