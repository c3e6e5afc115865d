#!/usr/bin/env python3
"""Writes the wstrace Grafana dashboard (dist/grafana/wstrace.json).

    python3 dist/grafana/dashboard.py > dist/grafana/wstrace.json

The panels are the ROWS table below; the layout (ids, grid positions) is
computed, so adding a panel is one line in its row. Every query selects with
sel(), which applies the dashboard's job and instance variables: a new
variable (for example a transport or process label) is added there and in
VARIABLES. The test tests/e2e/test_dashboard.sh checks that the committed
JSON is what this script writes, evaluates every query against a real
Prometheus scraping wstrace, and checks the JSON offline.
"""
import json
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"


def sel(metric, *matchers):
    """metric{job=~"$job", instance=~"$instance", matchers...}"""
    m = ['job=~"$job"', 'instance=~"$instance"'] + list(matchers)
    return "%s{%s}" % (metric, ", ".join(m))


def rate(metric, *matchers, by=None, window=RATE, fn="rate"):
    """sum [by (labels)] (fn(metric{...}[window]))"""
    group = " by (%s) " % ", ".join(by) if by else ""
    return "sum%s(%s(%s[%s]))" % (group, fn, sel(metric, *matchers), window)


def q(expr, legend="", **extra):
    """A Prometheus query; refIds are given by position."""
    return dict(expr=expr, legend=legend, **extra)


def quantiles(bucket, by=(), qs=(0.5, 0.9, 0.99)):
    """histogram_quantile of a _bucket series at the usual percentiles."""
    labels = ", ".join(("le",) + tuple(by))
    suffix = "".join(" {{%s}}" % b for b in by)
    return [q("histogram_quantile(%g, sum by (%s) (rate(%s[%s])))"
              % (x, labels, sel(bucket), RATE), "p%g%s" % (x * 100, suffix))
            for x in qs]


def heatmap_q(bucket):
    return [q("sum by (le) (increase(%s[%s]))" % (sel(bucket), RATE), "{{le}}",
              format="heatmap")]


# Panel kinds: (type, width, height).
TS, STAT, HEAT, TABLE = ("timeseries", 12, 8), ("stat", 4, 4), ("heatmap", 12, 8), ("table", 8, 6)


def panel(kind, title, desc, queries, unit="short", **opts):
    return dict(kind=kind, title=title, desc=desc, queries=queries, unit=unit, opts=opts)


# Upper threshold lines drawn on ratio panels match the alert rules' defaults.
ROWS = [
    ("Traffic", [
        panel(STAT, "Open WebSocket sessions", "wstrace_ws_sessions: sessions open now.",
              [q("sum(%s)" % sel("wstrace_ws_sessions"))], "none"),
        panel(STAT, "Tracked TCP connections", "wstrace_tcp_connections: TCP connections tracked now.",
              [q("sum(%s)" % sel("wstrace_tcp_connections"))], "none"),
        panel(STAT, "Messages per second", "wstrace_ws_messages_total: WebSocket messages both ways.",
              [q(rate("wstrace_ws_messages_total"))], "cps"),
        panel(STAT, "Upgrades accepted", "Share of upgrade requests answered with 101 in the time range.",
              [q("%s / %s" % (rate("wstrace_ws_upgrades_total", 'status="101"', fn="increase",
                                   window="$__range"),
                              rate("wstrace_ws_upgrades_total", fn="increase", window="$__range")))],
              "percentunit", steps=[("red", None), ("orange", 0.9), ("green", 0.99)]),
        panel(STAT, "Protocol violations", "wstrace_ws_violations_total: violations in the time range.",
              [q(rate("wstrace_ws_violations_total", fn="increase", window="$__range"))], "none",
              steps=[("green", None), ("red", 1)]),
        panel(STAT, "Packets lost", "wstrace_ringbuf_lost_total: packets the kernel program dropped"
              " in the time range because the ring buffer was full.",
              [q(rate("wstrace_ringbuf_lost_total", fn="increase", window="$__range"))], "none",
              steps=[("green", None), ("red", 1)]),
        panel(TS, "Open sessions and connections", "wstrace_ws_sessions and wstrace_tcp_connections.",
              [q("sum(%s)" % sel("wstrace_ws_sessions"), "WebSocket sessions"),
               q("sum(%s)" % sel("wstrace_tcp_connections"), "TCP connections")], "none"),
        panel(TS, "Sessions opened and ended per second",
              "Upgrades answered with 101 (wstrace_ws_upgrades_total) and session ends"
              " (wstrace_ws_session_ends_total).",
              [q(rate("wstrace_ws_upgrades_total", 'status="101"'), "opened"),
               q(rate("wstrace_ws_session_ends_total"), "ended")], "cps"),
        panel(TS, "Messages per second by direction and type", "wstrace_ws_messages_total.",
              [q(rate("wstrace_ws_messages_total", by=["dir", "type"]), "{{dir}} {{type}}")], "cps"),
        panel(TS, "Frames per second by direction and opcode", "wstrace_ws_frames_total.",
              [q(rate("wstrace_ws_frames_total", by=["dir", "opcode"]), "{{dir}} {{opcode}}")], "cps"),
        panel(TS, "Message bytes per second by direction and type",
              "Whole messages, inflated when compressed (wstrace_ws_message_bytes_sum).",
              [q(rate("wstrace_ws_message_bytes_sum", by=["dir", "type"]), "{{dir}} {{type}}")], "Bps"),
        panel(TS, "Wire bytes per second by direction",
              "Frame payload (wstrace_ws_frame_payload_bytes_total) and TCP payload"
              " (wstrace_tcp_payload_bytes_total) as on the wire.",
              [q(rate("wstrace_ws_frame_payload_bytes_total", by=["dir"]), "frame payload {{dir}}"),
               q(rate("wstrace_tcp_payload_bytes_total", by=["dir"]), "TCP payload {{dir}}")], "Bps"),
        panel(TS, "Message size by direction", "wstrace_ws_message_bytes histogram.",
              quantiles("wstrace_ws_message_bytes_bucket", by=["dir"], qs=(0.5, 0.99)), "bytes"),
        panel(TS, "Messages per second by --json-key value",
              "wstrace_ws_app_messages_total (with --json-key), and text messages without the key"
              " (wstrace_ws_app_messages_unmatched_total).",
              [q(rate("wstrace_ws_app_messages_total", by=["dir", "value"]), "{{dir}} {{value}}"),
               q(rate("wstrace_ws_app_messages_unmatched_total", by=["dir", "reason"]),
                 "{{dir}} without it: {{reason}}")], "cps"),
    ]),
    ("Connections", [
        panel(TS, "TCP handshakes per second by outcome", "wstrace_tcp_handshakes_total.",
              [q(rate("wstrace_tcp_handshakes_total", by=["outcome"]), "{{outcome}}")], "cps"),
        panel(TS, "Upgrades per second by status",
              "Upgrade requests (wstrace_ws_upgrade_requests_total), their responses by status"
              " (wstrace_ws_upgrades_total), and plain HTTP requests (wstrace_ws_http_requests_total).",
              [q(rate("wstrace_ws_upgrades_total", by=["status"]), "{{status}}"),
               q(rate("wstrace_ws_upgrade_requests_total"), "requests"),
               q(rate("wstrace_ws_http_requests_total"), "plain HTTP requests")], "cps"),
        panel(TS, "Failed upgrade ratio", "Upgrade responses other than 101 among all"
              " (wstrace_ws_upgrades_total); the WstraceUpgradeFailures alert is at 10%.",
              [q("%s / %s" % (rate("wstrace_ws_upgrades_total", 'status!="101"'),
                              rate("wstrace_ws_upgrades_total")), "failed")],
              "percentunit", steps=[("green", None), ("red", 0.1)]),
        panel(TS, "TCP connections closed per second by reason",
              "wstrace_tcp_connections_closed_total, and connections ended by a reset"
              " (wstrace_tcp_resets_total).",
              [q(rate("wstrace_tcp_connections_closed_total", by=["reason"]), "{{reason}}"),
               q(rate("wstrace_tcp_resets_total"), "resets")], "cps"),
        panel(TS, "TCP handshake time", "SYN to final ACK (wstrace_tcp_handshake_seconds).",
              quantiles("wstrace_tcp_handshake_seconds_bucket"), "s"),
        panel(TS, "Upgrade time", "Upgrade request to response (wstrace_ws_upgrade_seconds).",
              quantiles("wstrace_ws_upgrade_seconds_bucket"), "s"),
        panel(HEAT, "TCP handshake time heatmap", "wstrace_tcp_handshake_seconds buckets.",
              heatmap_q("wstrace_tcp_handshake_seconds_bucket"), "s"),
        panel(HEAT, "Upgrade time heatmap", "wstrace_ws_upgrade_seconds buckets.",
              heatmap_q("wstrace_ws_upgrade_seconds_bucket"), "s"),
        panel(TS, "TCP flags per second", "Packets with SYN, SYN-ACK, FIN, RST seen by the kernel"
              " program (wstrace_tcp_flags_total).",
              [q(rate("wstrace_tcp_flags_total", by=["flag"]), "{{flag}}")], "pps"),
        panel(TS, "Retransmissions, out-of-order packets, mid-stream connections",
              "wstrace_tcp_retransmits_total, wstrace_tcp_out_of_order_total,"
              " wstrace_tcp_midstream_connections_total, and packets after their connection's"
              " close or reset, shown but not decoded (wstrace_tcp_late_packets_total).",
              [q(rate("wstrace_tcp_retransmits_total"), "retransmissions"),
               q(rate("wstrace_tcp_out_of_order_total"), "out of order"),
               q(rate("wstrace_tcp_midstream_connections_total"), "connections seen mid-stream"),
               q(rate("wstrace_tcp_late_packets_total"), "late packets (not decoded)")], "cps"),
    ]),
    ("Session ends", [
        panel(TS, "Closes per second by code and initiator",
              "Closing handshakes by the first close frame's code and sender (wstrace_ws_closes_total).",
              [q(rate("wstrace_ws_closes_total", by=["code", "initiator"]), "{{code}} by {{initiator}}")],
              "cps"),
        panel(TS, "Session ends per second by how", "close: close handshake; abnormal: TCP closed"
              " without one (1006); reset; end: capture stopped (wstrace_ws_session_ends_total).",
              [q(rate("wstrace_ws_session_ends_total", by=["how"]), "{{how}}")], "cps"),
        panel(TS, "Sessions ended without a close handshake",
              "Abnormal (1006) and reset ends among all ends but capture stops"
              " (wstrace_ws_session_ends_total); the WstraceAbnormalCloses alert is at 20% of both.",
              [q("%s / ignoring(how) group_left %s"
                 % (rate("wstrace_ws_session_ends_total", 'how=~"abnormal|reset"', by=["how"]),
                    rate("wstrace_ws_session_ends_total", 'how!="end"')), "{{how}}")],
              "percentunit", steps=[("green", None), ("red", 0.2)]),
        panel(TS, "Session duration", "101 response to session end (wstrace_ws_session_duration_seconds).",
              quantiles("wstrace_ws_session_duration_seconds_bucket"), "s"),
        panel(TS, "Ping round trip", "Ping to matching pong (wstrace_ws_ping_rtt_seconds).",
              quantiles("wstrace_ws_ping_rtt_seconds_bucket"), "s"),
        panel(HEAT, "Ping round trip heatmap", "wstrace_ws_ping_rtt_seconds buckets.",
              heatmap_q("wstrace_ws_ping_rtt_seconds_bucket"), "s"),
    ]),
    ("Delivery and replies (--correlate, --correlate-reply)", [
        panel(TS, "Delivery latency", "A client's message to each connection it reached"
              " (wstrace_ws_delivery_seconds; with --correlate KEY).",
              quantiles("wstrace_ws_delivery_seconds_bucket"), "s"),
        panel(TS, "Recipients per message", "Connections each followed message reached within its"
              " window (wstrace_ws_fanout_recipients).",
              quantiles("wstrace_ws_fanout_recipients_bucket"), "short"),
        panel(TS, "Messages delivered to nobody per second", "wstrace_ws_fanout_undelivered_total.",
              [q(rate("wstrace_ws_fanout_undelivered_total"), "undelivered")], "cps"),
        panel(TS, "Reply latency", "A request to the server's reply with the same value"
              " (wstrace_ws_reply_seconds; with --correlate-reply KEY).",
              quantiles("wstrace_ws_reply_seconds_bucket"), "s"),
        panel(TS, "Unanswered requests and windows closed early per second",
              "Requests not answered within the window (wstrace_ws_reply_timeouts_total) and"
              " windows closed early because too many were open"
              " (wstrace_ws_correlate_closed_early_total).",
              [q(rate("wstrace_ws_reply_timeouts_total"), "reply timeouts"),
               q(rate("wstrace_ws_correlate_closed_early_total", by=["kind"]), "closed early {{kind}}")],
              "cps"),
    ]),
    ("Protocol health", [
        panel(TS, "Violations per second by kind", "wstrace_ws_violations_total; kinds with none are"
              " not drawn.",
              [q(rate("wstrace_ws_violations_total", by=["kind"]) + " > 0", "{{kind}}")], "cps"),
        panel(TABLE, "Violations by kind in the time range", "wstrace_ws_violations_total.",
              [q("sort_desc(%s > 0)" % rate("wstrace_ws_violations_total", by=["kind"], fn="increase",
                                            window="$__range"), "", format="table", instant=True)],
              "none", width=12, height=8),
        panel(TS, "Decode losses per second by kind", "Data that could not be decoded other than"
              " stream gaps: compression context lost, messages left compressed, bytes left"
              " unsynced when a connection ended (wstrace_ws_decode_losses_total).",
              [q(rate("wstrace_ws_decode_losses_total", by=["kind"]), "{{kind}}")], "cps"),
        panel(TS, "Sessions picked up mid-stream per second",
              "Sessions whose upgrade was not seen (wstrace_ws_midstream_sessions_total).",
              [q(rate("wstrace_ws_midstream_sessions_total"), "sessions")], "cps"),
    ]),
    ("Tracer health", [
        panel(TABLE, "Running versions", "Instances by wstrace version (wstrace_build_info).",
              [q("count by (version) (%s)" % sel("wstrace_build_info"), "", format="table", instant=True)],
              "none"),
        panel(STAT, "Uptime", "Time since each wstrace started (wstrace_start_time_seconds).",
              [q("time() - %s" % sel("wstrace_start_time_seconds"), "{{instance}}")], "s",
              width=8, height=6),
        panel(STAT, "Losses in the time range", "Packets dropped with the ring buffer full, payloads"
              " cut at the snaplen, stream holes, connections evicted from a full flow table.",
              [q(rate("wstrace_ringbuf_lost_total", fn="increase", window="$__range"), "ring buffer full"),
               q(rate("wstrace_truncated_packets_total", fn="increase", window="$__range"), "truncated"),
               q(rate("wstrace_ws_stream_gaps_total", fn="increase", window="$__range"), "stream gaps"),
               q(rate("wstrace_flows_evicted_total", fn="increase", window="$__range"), "evicted")],
              "none", width=8, height=6, steps=[("green", None), ("orange", 1)]),
        panel(TS, "Packets per second seen and decoded",
              "Packets of watched ports seen by the kernel program by hook (wstrace_packets_total),"
              " decoded by user space by direction (wstrace_tcp_packets_total), and not copied"
              " because --pid, --comm or --cgroup leave their connection out"
              " (wstrace_filtered_packets_total).",
              [q(rate("wstrace_packets_total", by=["direction"]), "seen {{direction}}"),
               q(rate("wstrace_tcp_packets_total", by=["dir"]), "decoded {{dir}}"),
               q(rate("wstrace_filtered_packets_total"), "left out by filters")], "pps"),
        panel(TS, "Bytes per second seen by the kernel program", "IP bytes (wstrace_bytes_total).",
              [q(rate("wstrace_bytes_total", by=["direction"]), "{{direction}}")], "Bps"),
        panel(TS, "TLS plaintext per second",
              "wss connections decrypted and not (wstrace_tls_connections_total), SSL calls read by"
              " the uprobes (wstrace_tls_calls_total, wstrace_tls_plaintext_bytes_total), plaintext"
              " lost in the kernel (wstrace_tls_lost_total) or not joined to a connection"
              " (wstrace_tls_unjoined_records_total); connections not decrypted by reason"
              " (wstrace_tls_not_decrypted_total) and hellos on the wire given up"
              " (wstrace_tls_hello_errors_total).",
              [q(rate("wstrace_tls_connections_total", by=["outcome"]), "connections {{outcome}}"),
               q(rate("wstrace_tls_not_decrypted_total", by=["reason"]), "not decrypted {{reason}}"),
               q(rate("wstrace_tls_hello_errors_total", by=["kind"]), "hello given up {{kind}}"),
               q(rate("wstrace_tls_calls_total"), "SSL calls"),
               q(rate("wstrace_tls_plaintext_bytes_total"), "plaintext bytes"),
               q(rate("wstrace_tls_lost_total", by=["reason"]), "lost {{reason}}"),
               q(rate("wstrace_tls_unjoined_records_total", by=["reason"]), "not joined {{reason}}")],
              "cps"),
        panel(TS, "Kernel losses per second",
              "Ring buffer full (wstrace_ringbuf_lost_total), payloads cut at the snaplen"
              " (wstrace_truncated_packets_total), copy failures (wstrace_load_errors_total),"
              " malformed records (wstrace_bad_records_total), segments sent in IP fragments,"
              " which are not decoded (wstrace_ip_fragments_total).",
              [q(rate("wstrace_ringbuf_lost_total"), "ring buffer full"),
               q(rate("wstrace_truncated_packets_total"), "truncated by snaplen"),
               q(rate("wstrace_load_errors_total"), "copy errors"),
               q(rate("wstrace_bad_records_total"), "bad records"),
               q(rate("wstrace_ip_fragments_total"), "IP fragments")], "pps"),
        panel(TS, "Ring buffer loss ratio", "Packets dropped because the ring buffer was full among"
              " all packets seen by the kernel program.",
              [q("%s / %s" % (rate("wstrace_ringbuf_lost_total"), rate("wstrace_packets_total")), "lost")],
              "percentunit", steps=[("green", None), ("red", 0.001)]),
        panel(TS, "Stream gaps and resyncs per second",
              "Holes in reassembled streams (wstrace_ws_stream_gaps_total), after which frame"
              " boundaries were lost (wstrace_ws_frame_sync_lost_total) and found again"
              " (wstrace_ws_resyncs_total).",
              [q(rate("wstrace_ws_stream_gaps_total"), "gaps"),
               q(rate("wstrace_ws_frame_sync_lost_total"), "frame sync lost"),
               q(rate("wstrace_ws_resyncs_total"), "resyncs")], "cps"),
        panel(TS, "Bytes missing and skipped per second",
              "Bytes in stream holes (wstrace_ws_stream_gap_bytes_total) and skipped looking for a"
              " frame boundary (wstrace_ws_resync_skipped_bytes_total).",
              [q(rate("wstrace_ws_stream_gap_bytes_total"), "missing"),
               q(rate("wstrace_ws_resync_skipped_bytes_total"), "skipped")], "Bps"),
        panel(TS, "Flow table evictions and reassembly overflows per second",
              "Connections dropped from a full flow table (wstrace_flows_evicted_total), their"
              " later packets, counted but not tracked (wstrace_tcp_evicted_flow_packets_total),"
              " and stream holes given up at the out-of-order bound"
              " (wstrace_reassembly_overflows_total).",
              [q(rate("wstrace_flows_evicted_total"), "evicted connections"),
               q(rate("wstrace_reassembly_overflows_total"), "reassembly overflows"),
               q(rate("wstrace_tcp_evicted_flow_packets_total"), "packets of evicted connections")], "cps"),
        panel(TS, "Out-of-order bytes held", "wstrace_reassembly_held_bytes.",
              [q("sum(%s)" % sel("wstrace_reassembly_held_bytes"), "held")], "bytes"),
        panel(TS, "pcap write errors per second", "wstrace_pcap_write_errors_total (with -w).",
              [q(rate("wstrace_pcap_write_errors_total"), "errors")], "cps"),
        panel(TS, "Events not printed per second by kind", "Events counted but not printed"
              " because a connection went over --event-limit (wstrace_events_suppressed_total);"
              " kinds with none are not drawn.",
              [q(rate("wstrace_events_suppressed_total", by=["event"]) + " > 0", "{{event}}")], "cps"),
        panel(TS, "Metrics endpoint requests per second by code",
              "Answers of the /metrics endpoint by status, and requests and TLS handshakes that got"
              " none, by why (wstrace_metrics_http_requests_total): 401 is a wrong password,"
              " tls_client_cert_missing a scraper without its client certificate.",
              [q(rate("wstrace_metrics_http_requests_total", by=["code"]), "{{code}}")], "reqps"),
    ]),
]

VARIABLES = [
    {
        "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
        "hide": 0, "includeAll": False, "multi": False, "options": [],
        "refresh": 1, "regex": "", "skipUrlSync": False,
    },
] + [
    {
        "name": name, "label": name, "type": "query", "datasource": DS,
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "current": {"text": ["All"], "value": ["$__all"]}, "hide": 0, "includeAll": True,
        "allValue": ".+", "multi": True, "options": [], "refresh": 2, "regex": "",
        "skipUrlSync": False, "sort": 1,
    }
    for name, query in [
        ("job", "label_values(wstrace_build_info, job)"),
        ("instance", 'label_values(wstrace_build_info{job=~"$job"}, instance)'),
    ]
]


def thresholds(steps):
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def target(i, t):
    out = {"datasource": DS, "refId": chr(ord("A") + i), "expr": t["expr"],
           "legendFormat": t["legend"] or "__auto", "editorMode": "code"}
    if t.get("instant"):
        out.update(instant=True, range=False)
    else:
        out["range"] = True
    if t.get("format"):
        out["format"] = t["format"]
    return out


def options(ptype, unit):
    """The panel plugin's options (their types: npm @grafana/schema)."""
    legend = {"showLegend": True, "displayMode": "list", "placement": "bottom", "calcs": []}
    if ptype == "timeseries":
        return {"legend": legend, "tooltip": {"mode": "multi", "sort": "desc"}}
    if ptype == "stat":
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "orientation": "auto", "textMode": "auto", "colorMode": "value",
                "graphMode": "area", "justifyMode": "auto", "wideLayout": True,
                "showPercentChange": False, "percentChangeColorMode": "standard"}
    if ptype == "heatmap":
        return {"calculate": False, "cellGap": 1, "yAxis": {"axisPlacement": "left", "unit": unit},
                "color": {"mode": "scheme", "scheme": "Oranges", "fill": "dark-orange",
                          "scale": "exponential", "exponent": 0.5, "steps": 64, "reverse": False},
                "rowsFrame": {"layout": "auto"}, "filterValues": {"le": 1e-9},
                "tooltip": {"mode": "single", "yHistogram": False, "showColorScale": False},
                "legend": {"show": True}, "showValue": "never",
                "exemplars": {"color": "rgba(255,0,255,0.7)"}}
    return {"showHeader": True, "cellHeight": "sm", "frameIndex": 0}


def field_defaults(p):
    ptype, d = p["kind"][0], {"unit": p["unit"]}
    if ptype == "timeseries":
        d["min"] = 0
        d["color"] = {"mode": "palette-classic"}
        d["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                       "showPoints": "never", "spanNulls": False, "axisSoftMin": 0}
        if "steps" in p["opts"]:
            d["custom"]["thresholdsStyle"] = {"mode": "line"}
    if ptype != "heatmap":
        d["thresholds"] = thresholds(p["opts"].get("steps", [("green", None)]))
    if ptype == "stat":
        d["color"] = {"mode": "thresholds"}
    return d


class Layout:
    """Places panels left to right, wrapping at Grafana's 24 columns."""

    def __init__(self):
        self.x = self.y = self.line_h = 0

    def place(self, w, h):
        if self.x + w > 24:
            self.x, self.y, self.line_h = 0, self.y + self.line_h, 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.line_h = max(self.line_h, h)
        return pos

    def row(self):
        self.x, self.y = 0, self.y + self.line_h
        pos = {"h": 1, "w": 24, "x": 0, "y": self.y}
        self.y, self.line_h = self.y + 1, 0
        return pos


def build():
    panels, layout, next_id = [], Layout(), 1
    for title, row in ROWS:
        panels.append({"type": "row", "id": next_id, "title": title, "collapsed": False,
                       "gridPos": layout.row(), "panels": []})
        next_id += 1
        for p in row:
            ptype, w, h = p["kind"]
            w, h = p["opts"].get("width", w), p["opts"].get("height", h)
            panels.append({
                "type": ptype, "id": next_id, "title": p["title"], "description": p["desc"],
                "datasource": DS, "gridPos": layout.place(w, h),
                "targets": [target(i, t) for i, t in enumerate(p["queries"])],
                "fieldConfig": {"defaults": field_defaults(p), "overrides": []},
                "options": options(ptype, p["unit"]),
            })
            next_id += 1
    return {
        "title": "wstrace",
        "uid": "wstrace-overview",
        "description": "WebSocket traffic seen by wstrace: sessions, messages, handshakes,"
                       " session ends, protocol violations and the tracer's own losses.",
        "tags": ["wstrace", "websocket"],
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "schemaVersion": 41,
        "version": 1,
        "links": [],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard",
        }]},
        "templating": {"list": VARIABLES},
        "panels": panels,
    }


if __name__ == "__main__":
    json.dump(build(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
