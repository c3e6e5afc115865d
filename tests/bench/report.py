#!/usr/bin/python3
"""Turns the benchmark's raw figures into tables, ratios and target checks.

report.py OUT_DIR   (results.tsv, offline.tsv, idle.tsv, machine.tsv there,
                     written by tests/bench/run.sh)
Prints Markdown on stdout. Every figure over several runs is given as the
median and, in brackets, the smallest and largest value.
"""
import csv
import math
import os
import statistics
import sys

# The floor programs (tests/bench/floor.bpf.c) on the fixed-rate load.
FLOORS = (("floor-copy", "a timestamp, the packet's first 128 bytes and one ring buffer record per "
           "packet (no wakeup): the least a capture through a ring buffer costs here"),
          ("floor-batched", "the same without the ring buffer record: the least if records cost "
           "nothing (many packets a record)"))
TOOL_ORDER = ["none", "tcpdump-w", "tcpdump-A", "tshark", "wstrace-daemon", "wstrace-q",
              "wstrace-json", "wstrace-q-s0", "wstrace-daemon-noattr", "wstrace-q-noattr",
              "wstrace-q-corr"] + [tool for tool, _ in FLOORS]
WSTRACE_DEFAULTS = (("wstrace-daemon", "service defaults"), ("wstrace-q", "command-line defaults"))


def rows(path):
    try:
        with open(path) as fh:
            return list(csv.DictReader(fh, delimiter="\t"))
    except OSError:
        return []


def num(v):
    """A figure, or None when absent ('-', empty, not a number)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def div(n, d):
    return n / d if n is not None and d else None


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def spread(vals, fmt):
    """'median (min–max)' over the runs, or the one value."""
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    m = fmt(statistics.median(vals))
    if len(vals) == 1 or min(vals) == max(vals):
        return m
    return f"{m} ({fmt(min(vals))}–{fmt(max(vals))})"


def f0(x):
    return f"{x:,.0f}"


def f1(x):
    return f"{x:,.1f}"


def f2(x):
    return f"{x:,.2f}"


def pct(x):
    return f"{100 * x:.0f}%"


def times(x):
    return f"{x:.1f}x"


def mib(kb):
    return kb / 1024 if kb is not None else None


class Case:
    """One row of results.tsv with the figures derived from it."""

    def __init__(self, r):
        self.r = r
        self.run = r["run"]
        self.shape = r["shape"]
        self.tool = r["tool"]
        self.ok = r["status"] == "ok"
        self.captures = self.tool != "none"
        g = lambda k: num(r.get(k))
        self.msg_per_s = g("msg_per_s")
        self.messages = g("messages")
        self.packets = g("packets")
        proc, bpf = g("proc_ns"), g("bpf_ns")
        self.cpu = (proc or 0) + (bpf or 0) if self.captures and proc is not None else None
        self.bpf = bpf if self.captures else None
        self.ns_packet = div(self.cpu, self.packets)
        self.bpf_packet = div(self.bpf, self.packets)
        self.ns_msg = div(self.cpu, self.messages)
        self.srv_ns_msg = div(g("srv_ns"), self.messages)
        self.rss = mib(g("hwm_kb")) if self.captures else None
        self.accepted = g("accepted")
        self.load_s = g("load_s")
        self.us_conn = div(self.cpu, self.accepted * 1000 if self.accepted else None)
        # the socket owner programs (attribution) and user space alone, per connection
        own_ns, own_cnt = g("own_ns"), g("own_cnt")
        self.own_ns_conn = div(own_ns, self.accepted) if self.captures else None
        self.own_runs_conn = div(own_cnt, self.accepted) if self.captures else None
        self.user_us_conn = div(proc, self.accepted * 1000 if self.accepted else None) \
            if self.captures else None
        self.drops = g("drops")
        self.gaps = g("gaps")
        self.undecoded = g("undecoded")
        self.lagged = r.get("lagged") == "1"
        self.anon_growth = (g("anon1_kb") - g("anon0_kb")) if g("anon1_kb") is not None and \
            g("anon0_kb") is not None else None
        self.ws_lines = g("ws_lines")
        self.frames = g("frames")


class Results:
    def __init__(self, out):
        self.cases = [Case(r) for r in rows(os.path.join(out, "results.tsv"))]
        self.offline = rows(os.path.join(out, "offline.tsv"))
        self.idle = rows(os.path.join(out, "idle.tsv"))
        self.meta = {}
        try:
            with open(os.path.join(out, "machine.tsv")) as fh:
                for line in fh:
                    k, _, v = line.rstrip("\n").partition("\t")
                    self.meta[k] = v
        except OSError:
            pass
        self.runs = int(self.meta.get("runs", "0") or 0) or len({c.run for c in self.cases}) or 1

    def shapes(self):
        seen = []
        for c in self.cases:
            if c.shape not in seen:
                seen.append(c.shape)
        return seen

    def tools(self, shape):
        ts = {c.tool for c in self.cases if c.shape == shape}
        return sorted(ts, key=lambda t: (TOOL_ORDER.index(t) if t in TOOL_ORDER else 99, t))

    def get(self, shape, tool, run=None):
        return [c for c in self.cases if c.shape == shape and c.tool == tool and
                (run is None or c.run == run)]

    def one(self, shape, tool, run):
        cs = [c for c in self.get(shape, tool, run) if c.ok]
        return cs[0] if cs else None

    def per_run(self, shape, tool, f):
        """{run: f(case)} over the runs where the case ran cleanly."""
        out = {}
        for c in self.get(shape, tool):
            if c.ok:
                out[c.run] = f(c)
        return out

    def vs(self, shape, tool, other, f):
        """Per run: f(case) / f(other's case of the same run)."""
        out = {}
        for c in self.get(shape, tool):
            o = self.one(shape, other, c.run)
            if c.ok and o:
                out[c.run] = div(f(c), f(o))
        return out


def shape_title(shape, cs):
    c = cs[0].r if cs else {}
    conns, rate = c.get("conns", "?"), c.get("rate", "?")
    if shape == "fixed":
        return f"fixed rate: {int(float(rate)):,} msg/s, 1 frame per send, {conns} connections"
    if shape.startswith("max"):
        fps = shape[3:].split("-")[0]
        return f"highest rate, {fps} frame{'s' if fps != '1' else ''} per send, {conns} connections"
    if shape == "wss":
        return f"wss (TLS 1.3 through OpenSSL): {int(float(rate)):,} msg/s, 1 frame per send, {conns} connections"
    if shape == "churn":
        return f"connection churn: {conns} connections open, new ones replacing those that close"
    if shape == "correlate":
        return f"correlation windows: {int(float(rate)):,} JSON messages/s, each with a unique key value"
    return shape


def loss_cell(vals, runs):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    bad = sum(1 for v in vals if v > 0)
    worst = f"{max(vals):,.0f}"
    return worst if not bad else f"{worst} ({bad}/{len(vals)} runs)"


def print_shape(res, shape):
    cs_all = [c for c in res.cases if c.shape == shape]
    print(f"\n### {shape_title(shape, cs_all)}\n")
    churn = shape == "churn"
    head = ["tool", "runs", "msg/s (server)", "vs none", "vs tcpdump -w", "packets",
            "CPU ns/packet", "BPF ns/packet", "CPU ns/msg"]
    if churn:
        head += ["connections/s", "CPU µs/connection"]
    head += ["server CPU ns/msg", "peak RSS MiB", "lost", "gaps", "undecoded frames", "notes"]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 2) + "---|")
    notes_below = []
    for tool in res.tools(shape):
        cs = res.get(shape, tool)
        ok = [c for c in cs if c.ok]
        notes = []
        bad = [c for c in cs if not c.ok]
        if bad:
            notes.append("; ".join(sorted({f"run {c.run}: {c.r['status']}" for c in bad})))
        lag = sum(1 for c in ok if c.lagged)
        if lag:
            notes.append(f"still busy when stopped in {lag} run{'s' if lag > 1 else ''} (CPU is a lower bound)")
        vs_none = res.vs(shape, tool, "none", lambda c: c.msg_per_s)
        vs_tdw = res.vs(shape, tool, "tcpdump-w", lambda c: c.msg_per_s)
        cells = [tool, f"{len(ok)}/{len(cs)}", spread([c.msg_per_s for c in ok], f0),
                 spread(list(vs_none.values()), pct) if tool != "none" else "-",
                 spread(list(vs_tdw.values()), pct) if tool != "tcpdump-w" else "-",
                 spread([c.packets for c in ok], f0),
                 spread([c.ns_packet for c in ok], f0),
                 spread([c.bpf_packet for c in ok if c.bpf], f0),
                 spread([c.ns_msg for c in ok], f1)]
        if churn:
            cells += [spread([div(c.accepted, c.load_s) for c in ok], f0),
                      spread([c.us_conn for c in ok], f1)]
        cells += [spread([c.srv_ns_msg for c in ok], f0),
                  spread([c.rss for c in ok], f1),
                  loss_cell([c.drops for c in ok], res.runs),
                  loss_cell([c.gaps for c in ok], res.runs),
                  loss_cell([c.undecoded for c in ok], res.runs),
                  "; ".join(notes)]
        print("| " + " | ".join(cells) + " |")
        if shape == "wss" and tool == "tshark":
            lines = [c.ws_lines for c in ok if c.ws_lines is not None]
            frames = [c.frames for c in ok if c.frames is not None]
            if lines:
                notes_below.append(f"tshark decrypted with the client's key log: {spread(lines, f0)} "
                                   f"WebSocket packets shown for {spread(frames, f0)} client frames")
    for n in notes_below:
        print(f"\n{n}")

    # CPU per message of every other tool over wstrace's, run by run.
    ws = [(t, name) for t, name in WSTRACE_DEFAULTS if res.get(shape, t)]
    others = [t for t in res.tools(shape) if t != "none" and t not in dict(ws)]
    if ws and others:
        print(f"\nCPU per message of each tool over wstrace's (same run; above 1 means wstrace is cheaper):\n")
        print("| tool | " + " | ".join(f"vs {t} ({name})" for t, name in ws) + " |")
        print("|---|" + "---:|" * len(ws))
        for o in others + [t for t, _ in ws]:
            cells = []
            for t, _ in ws:
                if o == t:
                    cells.append("-")
                    continue
                r = {}
                for c in res.get(shape, o):
                    w = res.one(shape, t, c.run)
                    if c.ok and w:
                        r[c.run] = div(c.ns_msg, w.ns_msg)
                cells.append(spread(list(r.values()), f2))
            print(f"| {o} | " + " | ".join(cells) + " |")


def print_wss(res):
    """wss: the uprobe path against plain ws and tshark with a key log."""
    supported = res.meta.get("feature_tls", "no").startswith("yes")
    if not supported:
        print("\nwstrace on wss: not supported by this binary (its --help has no "
              f"{res.meta.get('feature_tls', '').split('(')[-1].rstrip(')') or 'TLS option'}); "
              "the load and tshark's decryption ran, wstrace did not.")
        return
    print("\nwstrace's CPU per message on wss (uprobes) over the same on plain ws (fixed rate, same run):\n")
    print("| configuration | wss / ws CPU per message | tshark with key log / wstrace on wss |")
    print("|---|---:|---:|")
    for t, name in WSTRACE_DEFAULTS:
        r, k = {}, {}
        for c in res.get("wss", t):
            plain = res.one("fixed", t, c.run)
            ts = res.one("wss", "tshark", c.run)
            if c.ok and plain:
                r[c.run] = div(c.ns_msg, plain.ns_msg)
            if c.ok and ts:
                k[c.run] = div(ts.ns_msg, c.ns_msg)
        print(f"| {t} ({name}) | {spread(list(r.values()), f2)} | {spread(list(k.values()), f1)} |")


def print_churn(res):
    sup = res.meta.get("feature_noattr", "no").startswith("yes")
    print("\nAttribution cost per accepted connection (the process/cgroup attribution): "
          "the BPF run time of the socket owner programs (accept/connect exits; "
          "kernel.bpf_stats_enabled run_time_ns over the connections the server accepted), "
          "and wstrace's user-space CPU with attribution minus without it, same run.\n")
    print("| configuration | socket owner BPF ns/connection | owner program runs/connection | "
          "user-space µs/connection, attribution on | off | user-space cost µs/connection | "
          "all CPU µs/connection, on | off | cost µs/connection |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t, name in WSTRACE_DEFAULTS:
        own = res.per_run("churn", t, lambda c: c.own_ns_conn)
        runs = res.per_run("churn", t, lambda c: c.own_runs_conn)
        u_on = res.per_run("churn", t, lambda c: c.user_us_conn)
        u_off = res.per_run("churn", t + "-noattr", lambda c: c.user_us_conn) if sup else {}
        on = res.per_run("churn", t, lambda c: c.us_conn)
        off = res.per_run("churn", t + "-noattr", lambda c: c.us_conn) if sup else {}
        du = [u_on[r] - u_off[r] for r in u_on if r in u_off and None not in (u_on[r], u_off[r])]
        d = [on[r] - off[r] for r in on if r in off and None not in (on[r], off[r])]
        print(f"| {t} ({name}) | {spread(list(own.values()), f0)} | {spread(list(runs.values()), f1)} | "
              f"{spread(list(u_on.values()), f1)} | {spread(list(u_off.values()), f1)} | {spread(du, f2)} | "
              f"{spread(list(on.values()), f1)} | {spread(list(off.values()), f1)} | {spread(d, f2)} |")
    if not sup:
        print("\nWithout attribution: not supported by this binary (no "
              f"{res.meta.get('feature_noattr', '').split('(')[-1].rstrip(')') or 'switch'} in --help); "
              "the figures above are the cost per connection as it stands.")


def print_correlate(res):
    if not res.meta.get("feature_correlate", "no").startswith("yes"):
        print("\n### correlation windows\n\nnot supported by this binary (no "
              f"{res.meta.get('feature_correlate', '').split('(')[-1].rstrip(')') or 'option'} in --help): "
              "memory per open correlation window not measured.")
        return
    per = {}
    for c in res.get("correlate", "wstrace-q-corr"):
        b = res.one("correlate", "wstrace-q", c.run)
        if c.ok and b and c.anon_growth is not None and b.anon_growth is not None and c.messages:
            per[c.run] = (c.anon_growth - b.anon_growth) * 1024 / c.messages
    print(f"\nMemory per open correlation window (RssAnon growth during the load with the option "
          f"minus without, per message; every message opens one): {spread(list(per.values()), f0)} bytes")


def offline_rates(res):
    """Per run: {tool: (frames per CPU-s, maxrss KiB, cpu s, frames)}."""
    out = {}
    for r in res.offline:
        cpu = (num(r["user_s"]) or 0) + (num(r["sys_s"]) or 0)
        frames = num(r["frames"])
        if frames is None:
            frames = num(r["frames_in_file"])
        out.setdefault(r["run"], {})[r["tool"]] = (div(frames, cpu), num(r["maxrss_kb"]), cpu, frames)
    return out


def print_offline(res):
    if not res.offline:
        return
    rates = offline_rates(res)
    r0 = res.offline[0]
    print(f"\n### offline, one capture of the 32-frames-per-send load "
          f"({int(num(r0['packets']) or 0):,} packets, {int(num(r0['frames_in_file']) or 0):,} client frames)\n")
    print("| tool | runs | frames decoded | CPU s | frames per CPU-s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    tools = []
    for r in res.offline:
        if r["tool"] not in tools and r["tool"] not in OFFLINE_FLOORS:
            tools.append(r["tool"])
    for t in tools:
        v = [rates[run][t] for run in rates if t in rates[run]]
        print(f"| {t} | {len(v)} | {spread([x[3] for x in v], f0)} | {spread([x[2] for x in v], lambda x: f'{x:.3f}')} | "
              f"{spread([x[0] for x in v], f0)} | {spread([mib(x[1]) for x in v], f1)} |")
    for a, b, what in (("wstrace -r", "tshark -r -q", "neither printing (the target's figure)"),
                       ("wstrace -r text", "tshark -r", "both printing a line per event / packet"),
                       ("wstrace -r json", "tshark -r", "JSON vs tshark's lines")):
        x = [div(rates[run][a][0], rates[run][b][0]) for run in rates if a in rates[run] and b in rates[run]]
        if x:
            print(f"- {a} vs {b} ({what}): {spread(x, f1)}x frames per CPU-second")
    print_offline_floor(rates)


OFFLINE_FLOORS = ("floor: wstrace start-up", "floor: reading the file")


def print_offline_floor(rates):
    """What no decoder saves on this file: start-up and reading it."""
    def cpu(tool):
        return med([rates[run][tool][2] for run in rates if tool in rates[run]])
    start, read, wst, tsh = (cpu(t) for t in OFFLINE_FLOORS + ("wstrace -r", "tshark -r -q"))
    frames = med([rates[run]["wstrace -r"][3] for run in rates if "wstrace -r" in rates[run]])
    if None in (start, read, wst, tsh) or not frames:
        return
    print(f"\n#### The floor of this file (CPU ms, median)\n")
    print("| part | CPU ms | ns per frame |")
    print("|---|---:|---:|")
    for what, v in (("wstrace's start-up and exit (the file's header, no packets)", start),
                    ("reading the file alone, every byte (tests/bench/read_floor.c, mapped as wstrace maps it)", read),
                    ("wstrace -r -q, whole", wst),
                    ("wstrace -r -q minus the two above: decoding", wst - start - read)):
        print(f"| {what} | {v * 1e3:.1f} | {v * 1e9 / frames:.1f} |")
    print(f"\n- 100x tshark's frames per CPU-second on this file means wstrace -r -q in at most "
          f"{tsh * 1e3 / 100:.1f} ms; start-up and reading alone take {(start + read) * 1e3:.1f} ms, "
          f"so decoding may cost at most {max(0.0, tsh / 100 - start - read) * 1e9 / frames:.1f} ns "
          f"per frame (it costs {(wst - start - read) * 1e9 / frames:.1f}).")
    print(f"- With decoding free, wstrace would be {tsh / (start + read):.0f}x tshark here; "
          f"30M frames per CPU-second allows {1e9 / 30e6:.1f} ns per frame in all, of which "
          f"start-up and reading take {(start + read) * 1e9 / frames:.1f}.")


def print_idle(res):
    if not res.idle:
        return
    print("\n### idle connections\n")
    print("| run | case | connections | --max-flows | RssAnon before KiB | RssAnon idle KiB "
          "| peak RSS KiB | bytes per connection | connections seen | evicted | status |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in res.idle:
        mf = r["max_flows"] if r["max_flows"] != "0" else "default"
        print(f"| {r['run']} | {r['case']} | {r['conns']} | {mf} | {r['rss_anon_before_kb']} | "
              f"{r['rss_anon_idle_kb']} | {r['hwm_kb']} | {r['bytes_per_conn']} | {r['seen']} | "
              f"{r['evicted']} | {r['status']} |")


class Target:
    """A target checked run by run: EVERY needs it in every run, MEDIAN in
    the median of the runs."""
    EVERY, MEDIAN = "every run", "median"

    def __init__(self, name, rule, per_run, ok, fmt, runs):
        self.name, self.rule, self.fmt = name, rule, fmt
        self.vals = {r: v for r, v in per_run.items() if v is not None}
        self.ok = ok
        self.runs = runs

    def row(self):
        if not self.vals:
            return f"| {self.name} | {self.rule} | not measured | - | - |"
        met = sum(1 for v in self.vals.values() if self.ok(v))
        if self.rule == Target.EVERY:
            verdict = met == self.runs
        else:
            verdict = self.ok(statistics.median(self.vals.values()))
        return (f"| {self.name} | {self.rule} | {spread(list(self.vals.values()), self.fmt)} | "
                f"{met}/{self.runs} | {'met' if verdict else '**not met**'} |")


def targets(res):
    t = []
    n = res.runs
    max_shapes = [s for s in res.shapes() if s.startswith("max")]

    # Issue 15: no loss and nothing undecoded at the highest rates, with
    # both defaults, in every run.
    for s in max_shapes:
        fps, conns = s[3:].split("-c")
        for tool, name in WSTRACE_DEFAULTS:
            per = res.per_run(s, tool, lambda c: (c.drops or 0) + (c.undecoded or 0)
                              if c.drops is not None and c.undecoded is not None else None)
            t.append(Target(f"{fps} frame{'s' if fps != '1' else ''}/send, {conns} conns, {name}: "
                            "0 ring-buffer loss and 0 undecoded frames (lost + undecoded)",
                            Target.EVERY, per, lambda v: v == 0, f0, n))
    for s in max_shapes:
        fps, conns = s[3:].split("-c")
        per = res.vs(s, "wstrace-daemon", "tcpdump-w", lambda c: c.msg_per_s)
        t.append(Target(f"{fps} frame{'s' if fps != '1' else ''}/send, {conns} conns: server throughput "
                        "with service defaults >= with tcpdump -w", Target.MEDIAN, per,
                        lambda v: v >= 1.0, pct, n))
    for tool, name in WSTRACE_DEFAULTS:
        per = res.per_run("fixed", tool, lambda c: c.ns_packet)
        t.append(Target(f"20k msg/s, {name}: <= 300 ns CPU per packet (user space + BPF)",
                        Target.MEDIAN, per, lambda v: v <= 300, lambda v: f"{v:,.0f} ns", n))
    for tool, name in WSTRACE_DEFAULTS:
        per = {}
        for c in res.get("fixed", "tshark"):
            w = res.one("fixed", tool, c.run)
            if c.ok and w:
                per[c.run] = div(c.ns_msg, w.ns_msg)
        t.append(Target(f"20k msg/s, {name}: >= 25x cheaper per message than tshark",
                        Target.MEDIAN, per, lambda v: v >= 25, times, n))
    rates = offline_rates(res)
    w = {r: v["wstrace -r"][0] for r, v in rates.items() if "wstrace -r" in v}
    t.append(Target("offline wstrace -r -q: >= 30M frames per CPU-second", Target.MEDIAN, w,
                    lambda v: v >= 30e6, lambda v: f"{v / 1e6:.1f}M", n))
    x = {r: div(v["wstrace -r"][0], v["tshark -r -q"][0]) for r, v in rates.items()
         if "wstrace -r" in v and "tshark -r -q" in v}
    t.append(Target("offline: >= 100x tshark's frames per CPU-second, same file", Target.MEDIAN, x,
                    lambda v: v >= 100, times, n))
    m = {r: div(v["wstrace -r"][1], v["tshark -r -q"][1]) for r, v in rates.items()
         if "wstrace -r" in v and "tshark -r -q" in v}
    t.append(Target("offline: < 1/10 of tshark's memory", Target.MEDIAN, m,
                    lambda v: v < 0.1, lambda v: f"{v:.3f}", n))
    per = {}
    for s in max_shapes:
        for c in res.get(s, "wstrace-daemon"):
            if c.ok and c.rss is not None:
                per[c.run] = max(per.get(c.run, 0), c.rss)
    t.append(Target("service peak RSS at the highest rates <= 64 MiB (largest of the shapes)",
                    Target.EVERY, per, lambda v: v <= 64, lambda v: f"{v:.1f} MiB", n))
    idle_runs = len({r["run"] for r in res.idle}) or 1
    d = {r["run"]: num(r["bytes_per_conn"]) for r in res.idle if r["case"] == "default"}
    t.append(Target("<= 1 KiB per idle tracked connection", Target.MEDIAN, d,
                    lambda v: v <= 1024, lambda v: f"{v:,.0f} B", idle_runs))

    # Issue 5's that still stand.
    per = {}
    for c in res.get("fixed", "tcpdump-A"):
        wq = res.one("fixed", "wstrace-q", c.run)
        if c.ok and wq:
            per[c.run] = div(c.ns_msg, wq.ns_msg)
    t.append(Target("20k msg/s, command-line defaults: >= 8x cheaper per message than tcpdump -A "
                    "(issue 5)", Target.MEDIAN, per, lambda v: v >= 8, times, n))
    for tool, name in WSTRACE_DEFAULTS:
        per = res.per_run("fixed", tool, lambda c: c.undecoded)
        t.append(Target(f"20k msg/s, {name}: every frame decoded (issue 5)", Target.EVERY, per,
                        lambda v: v == 0, lambda v: f"{v:,.0f} undecoded", n))
    bounded = {}
    dflt = {r["run"]: r for r in res.idle if r["case"] == "default"}
    for r in res.idle:
        if r["case"] == "bounded" and r["run"] in dflt and num(r["max_flows"]):
            dd = dflt[r["run"]]
            grow = (num(r["rss_anon_idle_kb"]) or 0) - (num(r["rss_anon_before_kb"]) or 0)
            dgrow = (num(dd["rss_anon_idle_kb"]) or 0) - (num(dd["rss_anon_before_kb"]) or 0)
            evicted_enough = (num(r["evicted"]) or 0) >= (num(r["conns"]) or 0) - num(r["max_flows"])
            bounded[r["run"]] = grow / dgrow if evicted_enough and dgrow > 0 else float("inf")
    t.append(Target("idle: --max-flows N/4 evicts and holds memory to <= half of unbounded (issue 5)",
                    Target.MEDIAN, bounded, lambda v: v <= 0.5,
                    lambda v: "not evicting" if v == float("inf") else f"{v:.2f} of unbounded", idle_runs))
    return t


def print_floor(res):
    rows_ = [(tool, what, [c for c in res.get("fixed", tool) if c.ok]) for tool, what in FLOORS]
    if not any(cs for _, _, cs in rows_):
        return
    print("\n## The floor here: 20k msg/s, 1 frame per send\n")
    print("Programs that do only what any capture must, on the fixed-rate load, each set alone "
          "(tests/bench/floor.bpf.c; no parsing, no port check, no counters). Per packet, "
          "median (min–max); CPU adds the loader's own, which drains the ring every 10 ms and "
          "reads nothing.\n")
    print("| programs | BPF ns/packet | CPU ns/packet | what they do |")
    print("|---|---:|---:|---|")
    for tool, what, cs in rows_:
        print(f"| {tool} | {spread([c.bpf_packet for c in cs], f0)} | "
              f"{spread([c.ns_packet for c in cs], f0)} | {what} |")
    print()
    for tool, _, cs in rows_:
        v = med([c.bpf_packet for c in cs])
        if v is not None:
            print(f"- {tool}: its BPF time alone, {v:,.0f} ns per packet, is "
                  f"{'above' if v > 300 else 'below'} the 300 ns per packet target (user space and BPF).")


def print_machine(res):
    m = res.meta
    if not m:
        return
    el = num(m.get("elapsed_s"))
    print("## Machine and settings\n")
    print(f"- {m.get('cpu', '?')}, {m.get('cores', '?')} CPUs, {m.get('memory', '?')}, "
          f"virtualisation: {m.get('virt', '?')}; Linux {m.get('kernel', '?')}")
    per_run = [m[k] for k in sorted((k for k in m if k.startswith("load_run")), key=lambda k: int(k[8:]))]
    print(f"- load average at start {m.get('load_start', '?')}, at end {m.get('load_end', '?')}"
          + (f"; 1-minute load at the start of each run: {', '.join(per_run)}" if per_run else ""))
    print(f"- {m.get('wstrace', '?')}; {m.get('tcpdump', '?')}; {m.get('tshark', '?')}; {m.get('openssl', '?')}")
    print(f"- {m.get('date', '?')}: {m.get('runs', '?')} runs, {m.get('duration', '?')} s of load per "
          f"configuration, {m.get('size', '?')}-byte messages, fixed rate {m.get('rate', '?')} msg/s, "
          f"highest-rate shapes with {m.get('conns', '?')} connections; churn: {m.get('churn', '?')}"
          + (f"; took {el / 60:.1f} min" if el else ""))
    print(f"- features of this wstrace: wss decoding {m.get('feature_tls', '?')}, attribution switch "
          f"{m.get('feature_noattr', '?')}, correlation {m.get('feature_correlate', '?')}")


def main():
    res = Results(sys.argv[1] if len(sys.argv) > 1 else ".")
    print("# wstrace benchmark\n")
    print_machine(res)
    ts = targets(res)
    print("\n## Targets\n")
    print(f"Over {res.runs} run{'s' if res.runs != 1 else ''}: \"every run\" is met only if it held in "
          "each run; \"median\" if the median of the runs meets it. Figures: median (min–max).\n")
    print("| target | rule | measured | runs met | verdict |")
    print("|---|---|---:|---:|---|")
    for x in ts:
        print(x.row())
    print_floor(res)
    print("\n## Load shapes\n")
    print("CPU: the capture tool's processes (user + system) plus its BPF programs' run time. "
          "lost: ring buffer (wstrace) or kernel drops (tcpdump, tshark), worst run; "
          "undecoded: frames the server verified minus frames wstrace decoded, worst run.")
    for s in res.shapes():
        print_shape(res, s)
        if s == "wss":
            print_wss(res)
        if s == "churn":
            print_churn(res)
    print_correlate(res)
    print_offline(res)
    print_idle(res)


if __name__ == "__main__":
    main()
