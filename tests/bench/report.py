#!/usr/bin/python3
"""Turns the benchmark's raw figures into tables, ratios and target checks.

report.py RESULTS.tsv OFFLINE.tsv IDLE.tsv  (written by tests/bench/run.sh)
Prints Markdown on stdout.
"""
import csv
import sys

SCENARIOS = {
    "fixed": "fixed rate, 1 frame per send",
    "max1": "highest rate, 1 frame per send",
    "max32": "highest rate, 32 frames per send",
}


def rows(path):
    try:
        with open(path) as f:
            return list(csv.DictReader(f, delimiter="\t"))
    except OSError:
        return []


def i(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def f(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


def cost_ns(r):
    """Capture CPU: the tool's processes plus its BPF programs' run time."""
    return i(r["proc_ns"]) + i(r["bpf_ns"])


def per(n, d):
    return n / d if d else float("nan")


def main():
    res = rows(sys.argv[1])
    off = rows(sys.argv[2]) if len(sys.argv) > 2 else []
    idle = rows(sys.argv[3]) if len(sys.argv) > 3 else []
    checks = []

    for sc, title in SCENARIOS.items():
        rs = [r for r in res if r["scenario"] == sc]
        if not rs:
            continue
        base = next((r for r in rs if r["tool"] == "none"), None)
        print(f"\n### {title}\n")
        print("| tool | msg/s (server) | vs none | packets | user ms | sys ms | BPF ms "
              "| CPU ns/packet | CPU ns/msg | peak RSS MiB | lost | gaps | undecoded frames |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rs:
            c = cost_ns(r)
            rate = i(r["msg_per_s"])
            vs = f"{100.0 * rate / i(base['msg_per_s']):.1f}%" if base and i(base["msg_per_s"]) else "-"
            cap = r["tool"] != "none"
            print(f"| {r['tool']} | {rate:,} | {vs} | {i(r['packets']):,} | "
                  f"{r['user_ms'] if cap else '-'} | {r['sys_ms'] if cap else '-'} | "
                  f"{i(r['bpf_ns']) / 1e6:.1f} | "
                  + (f"{per(c, i(r['packets'])):.0f} | {per(c, i(r['messages'])):.1f} | "
                     f"{i(r['hwm_kb']) / 1024:.1f} | " if cap else "- | - | - | ")
                  + f"{r['drops']} | {r['gaps']} | {r['undecoded']} |")
        w = next((r for r in rs if r["tool"] == "wstrace-q"), None)
        if w and cost_ns(w):
            print("\nwstrace -q is N times cheaper per message than (same run):")
            wc = per(cost_ns(w), i(w["messages"]))
            for r in rs:
                if r["tool"] in ("none", "wstrace-q"):
                    continue
                print(f"- {r['tool']}: {per(per(cost_ns(r), i(r['messages'])), wc):.2f}x")
        if w and sc == "fixed":
            ns_pkt = per(cost_ns(w), i(w["packets"]))
            wc = per(cost_ns(w), i(w["messages"]))
            checks.append(("fixed: wstrace CPU <= 1 us/packet", f"{ns_pkt:.0f} ns", ns_pkt <= 1000))
            for tool, want in (("tcpdump-A", 8), ("tshark", 20)):
                t = next((r for r in rs if r["tool"] == tool), None)
                if t:
                    x = per(per(cost_ns(t), i(t["messages"])), wc)
                    checks.append((f"fixed: {want}x cheaper than {tool}", f"{x:.1f}x", x >= want))
            checks.append(("fixed: every frame decoded", f"{w['undecoded']} undecoded",
                           w["undecoded"] == "0"))
        # At the highest rates the targets speak of the default settings:
        # the service's (wstrace-daemon), else the command line's.
        d = next((r for r in rs if r["tool"] == "wstrace-daemon"), None) or w
        if d and sc.startswith("max"):
            who = d["tool"]
            checks.append((f"{sc}: no ring buffer loss ({who})", f"{d['drops']} lost", d["drops"] == "0"))
            checks.append((f"{sc}: no undecoded frames ({who})", f"{d['undecoded']} undecoded",
                           d["undecoded"] == "0"))
            if base and i(base["msg_per_s"]):
                x = i(d["msg_per_s"]) / i(base["msg_per_s"])
                checks.append((f"{sc}: throughput within 5% of no capture ({who})", f"{100 * x:.1f}%",
                               x >= 0.95))

    if off:
        print("\n### offline, same capture file\n")
        print("| tool | packets | WebSocket frames | user s | sys s | packets per CPU-s | peak RSS MiB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        rate = {}
        for r in off:
            cpu = f(r["user_s"]) + f(r["sys_s"])
            rate[r["tool"]] = (per(i(r["packets"]), cpu), i(r["maxrss_kb"]))
            frames = f"{i(r['ws_frames']):,}" if r["ws_frames"] != "-" else "-"
            print(f"| {r['tool']} | {i(r['packets']):,} | {frames} | {r['user_s']} | "
                  f"{r['sys_s']} | {rate[r['tool']][0]:,.0f} | {i(r['maxrss_kb']) / 1024:.1f} |")
        w, t = rate.get("wstrace -r"), rate.get("tshark -r")
        if w and t:
            x = per(w[0], t[0])
            m = per(w[1], t[1])
            print(f"\nwstrace -r: {x:.1f}x tshark's packets per CPU-second, {m:.3f} of its memory")
            checks.append(("offline: >= 100x tshark per CPU-s", f"{x:.1f}x", x >= 100))
            checks.append(("offline: <= 1/10 of tshark's memory", f"{m:.3f}", m <= 0.1))
        # Like for like: both printing nothing, both printing a line per event.
        for a, b, what in (("wstrace -r", "tshark -r -q", "neither printing"),
                           ("wstrace -r text", "tshark -r", "both printing lines"),
                           ("wstrace -r json", "tshark -r", "JSON vs tshark's lines")):
            if rate.get(a) and rate.get(b):
                print(f"- {a} vs {b} ({what}): {per(rate[a][0], rate[b][0]):.1f}x packets per CPU-second")

    if idle:
        print("\n### idle connections\n")
        print("| case | connections | --max-flows | RssAnon before KiB | RssAnon idle KiB "
              "| peak RSS KiB | bytes per connection | connections seen | evicted |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in idle:
            print(f"| {r['case']} | {r['conns']} | {r['max_flows'] if r['max_flows'] != '0' else 'default'} | "
                  f"{r['rss_anon_before_kb']} | {r['rss_anon_idle_kb']} | {r['hwm_kb']} | "
                  f"{r['bytes_per_conn']} | {r['seen']} | {r['evicted']} |")
        d = next((r for r in idle if r["case"] == "default"), None)
        if d:
            checks.append(("idle: <= 1 KiB per tracked connection", f"{d['bytes_per_conn']} B",
                           i(d["bytes_per_conn"]) <= 1024))
        b = next((r for r in idle if r["case"] == "bounded"), None)
        if b and d and i(b["max_flows"]):
            ok = i(b["evicted"]) >= i(b["conns"]) - i(b["max_flows"]) and \
                i(b["rss_anon_idle_kb"]) - i(b["rss_anon_before_kb"]) <= \
                (i(d["rss_anon_idle_kb"]) - i(d["rss_anon_before_kb"])) * 0.5
            checks.append(("idle: flow table bounded by --max-flows",
                           f"{b['evicted']} evicted, {i(b['rss_anon_idle_kb']) - i(b['rss_anon_before_kb'])} KiB",
                           ok))

    if checks:
        print("\n### targets\n")
        print("| target | measured | met |")
        print("|---|---:|---|")
        for name, val, ok in checks:
            print(f"| {name} | {val} | {'yes' if ok else 'NO'} |")


if __name__ == "__main__":
    main()
