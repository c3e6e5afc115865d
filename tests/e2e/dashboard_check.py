#!/usr/bin/python3
"""Checks the Grafana dashboard and the Prometheus alert rules in dist/.

  dashboard_check.py offline DASHBOARD README
      The dashboard's structure as Grafana's schema wants it, as far as it can
      be checked offline: required fields, unique panel ids and titles, grid
      positions inside the 24 columns and not overlapping, rows holding their
      panels, every panel and target on the ${datasource} variable, every
      target with a refId and an expression, every variable used and every
      variable used defined, every wstrace metric selected by job and
      instance; and the README's panel list is the dashboard's.
  dashboard_check.py typescript DASHBOARD OUT.ts
      Writes a TypeScript file that types the dashboard with Grafana's own
      Dashboard type and each panel's options with its plugin's Options type
      (npm @grafana/schema); `tsc --strict` on it is the schema check.
  dashboard_check.py rules RULES TESTS README
      Every alert has a severity, a "for", a summary and a description; the
      promtool unit tests make every alert fire and show it quiet (after its
      "for"); the README's alert table is the rules'.
  dashboard_check.py queries DASHBOARD PROM_URL --job J --instance RE
        [--filled FILE] [--rules RULES] [--expect-empty]
      Evaluates the variable queries and every panel query through
      Prometheus's HTTP API with the template variables replaced. Every
      query must be accepted; every metric, label and label value it names
      must exist in what Prometheus scraped; legends must name labels of the
      results; every wstrace metric scraped must be on the dashboard; the
      queries listed in FILE ("panel title | refId" lines) must return a
      value above 0. --rules: every alert expression too, and every rule
      loaded in that Prometheus must be healthy. --expect-empty: with
      variables that match nothing, every query must return nothing (each
      one honours the filters).
  dashboard_check.py mutate KIND IN OUT
      Writes a broken copy of a dashboard (or rules test file), so the test
      can show that each check catches what it is for.
  dashboard_check.py value PROM_URL QUERY
      Prints the value of an instant query's one series, "none" or "many".

Exits 1 with the problems printed, 0 when all is well.
"""
import argparse
import json
import math
import re
import sys
import urllib.parse
import urllib.request

import yaml

DS_REF = {"type": "prometheus", "uid": "${datasource}"}
PANEL_TYPES = {"row", "timeseries", "stat", "heatmap", "table"}
BUILTINS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
            "__range_ms", "__from", "__to", "__dashboard", "__org", "__user"}
SEVERITIES = {"critical", "warning", "info"}
README_SECTION = "## Dashboard and alerts"

problems = []


def bad(msg):
    problems.append(msg)


def finish(what):
    if problems:
        for p in problems:
            print("FAIL: " + p)
        print("%s: %d problem(s)" % (what, len(problems)))
        sys.exit(1)
    print("ok: " + what)


def targets(dash):
    """(panel, target) for every query of every panel."""
    for p in dash.get("panels", []):
        for t in p.get("targets", []) or []:
            yield p, t


def readme_section(path):
    text = open(path, encoding="utf-8").read()
    start = text.find("\n" + README_SECTION + "\n")
    if start < 0:
        bad("README has no section %r" % README_SECTION)
        return ""
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


# --- PromQL, as far as the checks need it ------------------------------------

SELECTOR = re.compile(r'\b((?:wstrace_|up\b)[a-zA-Z0-9_]*)\s*(\{[^}]*\})?')
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
GROUPING = re.compile(r'\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)')


def selectors(expr):
    """(metric, [(label, op, value)], has_braces) for each metric named."""
    for m in SELECTOR.finditer(expr):
        matchers = MATCHER.findall(m.group(2) or "")
        yield m.group(1), matchers, m.group(2) is not None


def grouping_labels(expr):
    for _, labels in GROUPING.findall(expr):
        for lab in labels.split(","):
            if lab.strip():
                yield lab.strip()


def variables_in(text):
    return set(re.findall(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)", text))


# --- offline ------------------------------------------------------------------

def check_grid(panels):
    boxes = []
    row_y = [p["gridPos"]["y"] for p in panels if p.get("type") == "row" and "gridPos" in p]
    for p in panels:
        g = p.get("gridPos")
        name = "panel %s (%s)" % (p.get("id"), p.get("title"))
        if not isinstance(g, dict) or not all(isinstance(g.get(k), int) for k in "hwxy"):
            bad("%s: gridPos must have integer h, w, x, y" % name)
            continue
        if g["h"] < 1 or not 1 <= g["w"] <= 24 or g["x"] < 0 or g["x"] + g["w"] > 24 or g["y"] < 0:
            bad("%s: gridPos %s outside the 24-column grid" % (name, g))
        if p.get("type") == "row" and (g["h"] != 1 or g["w"] != 24 or g["x"] != 0):
            bad("%s: a row spans the grid (h 1, w 24, x 0), not %s" % (name, g))
        boxes.append((name, g))
    for i, (na, a) in enumerate(boxes):
        for nb, b in boxes[i + 1:]:
            if (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
                    and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]):
                bad("%s overlaps %s" % (na, nb))
    # A panel belongs to the row above it and must lie between it and the next.
    current, bounds = None, sorted(row_y)
    for p in panels:
        g = p.get("gridPos") or {}
        if p.get("type") == "row":
            current = g.get("y")
            continue
        if current is None:
            bad("panel %s (%s) comes before the first row" % (p.get("id"), p.get("title")))
            continue
        after = [y for y in bounds if y > current]
        limit = after[0] if after else math.inf
        if not (current < g.get("y", -1) and g.get("y", 0) + g.get("h", 0) <= limit):
            bad("panel %s (%s) at %s is not inside its row (y %s to %s)"
                % (p.get("id"), p.get("title"), g, current, limit))


def variable_query(v):
    """A variable's query: a string, or Prometheus's {"query": ...} form."""
    q = v.get("query", "")
    return str(q.get("query", "") if isinstance(q, dict) else q)


def check_variables(dash):
    tvars = (dash.get("templating") or {}).get("list")
    if not isinstance(tvars, list):
        bad("templating.list missing")
        return {}
    defined = {}
    for v in tvars:
        name = v.get("name")
        if not name or name in defined:
            bad("variable without a name or defined twice: %r" % name)
        defined[name] = v
        if v.get("type") not in {"query", "datasource", "custom", "constant", "interval",
                                 "textbox", "adhoc"}:
            bad("variable %s: unknown type %r" % (name, v.get("type")))
        if v.get("hide") not in (0, 1, 2):
            bad("variable %s: hide must be 0, 1 or 2" % name)
    ds = defined.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        bad("a variable 'datasource' of type datasource for prometheus is required")
    for name in ("job", "instance"):
        v = defined.get(name)
        if not v or v.get("type") != "query":
            bad("a query variable %r is required" % name)
            continue
        if v.get("datasource") != DS_REF:
            bad("variable %s: datasource must be %s" % (name, DS_REF))
        if not re.fullmatch(r"label_values\(wstrace_build_info(\{.*\})?, *%s\)" % name,
                            variable_query(v)):
            bad("variable %s: the query must be label_values(wstrace_build_info..., %s)" % (name, name))
    # Used: in a query, a datasource reference or another variable's query.
    text = json.dumps(dash.get("panels", [])) + json.dumps(
        [variable_query(v) for v in tvars] + [v.get("datasource") for v in tvars])
    used = variables_in(text)
    for name in defined:
        if name not in used:
            bad("variable %s is defined but never used" % name)
    for name in used - set(defined) - BUILTINS:
        bad("variable %s is used but not defined" % name)
    return defined


def offline(args):
    dash = json.load(open(args.dashboard, encoding="utf-8"))
    for key, typ in (("title", str), ("uid", str), ("schemaVersion", int), ("panels", list),
                     ("templating", dict), ("time", dict), ("editable", bool),
                     ("graphTooltip", int), ("tags", list), ("refresh", str),
                     ("annotations", dict)):
        if not isinstance(dash.get(key), typ):
            bad("dashboard field %s missing or not a %s" % (key, typ.__name__))
    if not re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", str(dash.get("uid", ""))):
        bad("uid must be 1 to 40 letters, digits, - or _")
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 39:
        bad("schemaVersion %r is older than Grafana 11's (39)" % dash.get("schemaVersion"))
    if dash.get("graphTooltip") not in (0, 1, 2):
        bad("graphTooltip must be 0, 1 or 2")
    time = dash.get("time") or {}
    if not (isinstance(time.get("from"), str) and isinstance(time.get("to"), str)):
        bad("time needs from and to")
    panels = dash.get("panels") or []
    ids, titles = set(), set()
    for p in panels:
        pid, title = p.get("id"), p.get("title")
        if not isinstance(pid, int) or pid in ids:
            bad("panel id %r is missing, not an integer, or not unique" % pid)
        ids.add(pid)
        if not isinstance(title, str) or not title or title in titles:
            bad("panel %r: title %r is missing or not unique" % (pid, title))
        titles.add(title)
        if p.get("type") not in PANEL_TYPES:
            bad("panel %r: type %r is not one of %s" % (pid, p.get("type"), sorted(PANEL_TYPES)))
        if p.get("type") == "row":
            if p.get("collapsed") is not False or p.get("panels") != []:
                bad("row %r: rows are expanded (collapsed false, panels [])" % pid)
            if "targets" in p:
                bad("row %r has targets" % pid)
            continue
        if p.get("datasource") != DS_REF:
            bad("panel %r (%s): datasource must be %s" % (pid, title, DS_REF))
        tgts = p.get("targets")
        if not isinstance(tgts, list) or not tgts:
            bad("panel %r (%s) has no targets" % (pid, title))
            continue
        refs = [t.get("refId") for t in tgts]
        if len(set(refs)) != len(refs) or not all(isinstance(r, str) and r for r in refs):
            bad("panel %r (%s): refIds %r missing or not unique" % (pid, title, refs))
        for t in tgts:
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                bad("panel %r (%s) target %s has no expr" % (pid, title, t.get("refId")))
                continue
            if t.get("datasource", DS_REF) != DS_REF:
                bad("panel %r (%s) target %s: datasource must be %s" % (pid, title, t.get("refId"), DS_REF))
            for metric, matchers, braces in selectors(expr):
                got = {(lab, op, val) for lab, op, val in matchers}
                if not {("job", "=~", "$job"), ("instance", "=~", "$instance")} <= got:
                    bad('panel %r (%s) target %s: %s is not selected by job=~"$job", instance=~"$instance"'
                        % (pid, title, t.get("refId"), metric))
            if "wstrace_" not in expr:
                bad("panel %r (%s) target %s reads no wstrace metric" % (pid, title, t.get("refId")))
    check_grid(panels)
    check_variables(dash)

    # The README lists the panels of each row: "- **Row**: title; title; ...".
    listed = []
    for row, items in re.findall(r"^- \*\*(.+?)\*\*: (.+)$", readme_section(args.readme), re.M):
        listed.append(("row", row))
        listed += [("panel", t.strip()) for t in items.rstrip(".").split("; ")]
    actual = [("row" if p.get("type") == "row" else "panel", p.get("title")) for p in panels]
    if listed != actual:
        missing = [a for a in actual if a not in listed]
        extra = [a for a in listed if a not in actual]
        bad("README panel list differs from the dashboard: missing %s, not on the dashboard %s%s"
            % (missing, extra, "" if missing or extra else ", order differs"))
    finish("dashboard structure (%d panels, %d queries)" % (len(panels), sum(1 for _ in targets(dash))))


# --- TypeScript ---------------------------------------------------------------

TS_PANELS = {"timeseries": ("TimeSeries", True), "stat": ("Stat", False),
             "heatmap": ("Heatmap", True), "table": ("Table", True)}

TS_HEAD = """// Generated by tests/e2e/dashboard_check.py: the dashboard typed with
// Grafana's own types (npm @grafana/schema). tsc --strict must accept it.
import type { Dashboard, Panel } from "@grafana/schema";
%s

// JSON holds Grafana's string enums as plain strings.
type Json<T> = T extends string ? `${T}` : T extends (infer E)[] ? Json<E>[]
  : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
type FieldConfigSource = NonNullable<Panel["fieldConfig"]>;
type Typed<O, F> = Json<Omit<Panel, "options" | "fieldConfig">> & {
  options: Json<O>;
  fieldConfig: Json<Omit<FieldConfigSource, "defaults">> & {
    defaults: Json<Omit<FieldConfigSource["defaults"], "custom">> & { custom?: Json<F> };
  };
};
"""


def typescript(args):
    dash = json.load(open(args.dashboard, encoding="utf-8"))
    imports, lines, names = [], [], []
    for ptype, (name, custom) in TS_PANELS.items():
        base = "@grafana/schema/dist/esm/raw/composable/%s/panelcfg/x/%sPanelCfg_types.gen" % (ptype, name)
        what = "Options as %sOptions" % name
        if custom:
            what += ", FieldConfig as %sFieldConfig" % name
        imports.append('import type { %s } from "%s";' % (what, base))
        lines.append("type %sPanel = Typed<%sOptions, %s>;"
                     % (name, name, "%sFieldConfig" % name if custom else "never"))
    for p in dash.get("panels", []):
        if p.get("type") == "row":
            continue
        if p.get("type") not in TS_PANELS:
            bad("panel %s: no TypeScript type for panel type %r" % (p.get("id"), p.get("type")))
            continue
        names.append("panel%d" % p["id"])
        lines.append("const %s: %sPanel = %s;" % (names[-1], TS_PANELS[p["type"]][0],
                                                   json.dumps(p, indent=1, ensure_ascii=False)))
    lines.append("const dashboard: Json<Dashboard> = %s;" % json.dumps(dash, indent=1, ensure_ascii=False))
    lines.append("export { dashboard, %s };" % ", ".join(names))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(TS_HEAD % "\n".join(imports) + "\n".join(lines) + "\n")
    finish("TypeScript written to %s (%d panels)" % (args.out, len(names)))


# --- rules --------------------------------------------------------------------

def duration_s(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total = 0.0
    for num, unit in re.findall(r"(\d+)(ms|s|m|h|d)", str(text)):
        total += int(num) * units[unit]
    return total


def instance_of(series):
    """The instance of an input series of wstrace's job (others prove nothing)."""
    m = re.search(r'instance="([^"]*)"', series)
    return m.group(1) if m and 'job="wstrace"' in series else None


def rules(args):
    doc = yaml.safe_load(open(args.rules, encoding="utf-8"))
    alerts = {}
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            name = r.get("alert")
            if not name:
                bad("a rule without an alert name (recording rules belong elsewhere)")
                continue
            if name in alerts:
                bad("alert %s defined twice" % name)
            alerts[name] = r
            if (r.get("labels") or {}).get("severity") not in SEVERITIES:
                bad("%s: severity label must be one of %s" % (name, sorted(SEVERITIES)))
            if duration_s(r.get("for", "")) <= 0:
                bad("%s: needs a 'for' duration" % name)
            ann = r.get("annotations") or {}
            for key in ("summary", "description"):
                if len(str(ann.get(key, "")).split()) < (3 if key == "summary" else 20):
                    bad("%s: the %s annotation is missing or too short to say what to do" % (name, key))

    tests = yaml.safe_load(open(args.tests, encoding="utf-8"))
    fires, quiet = set(), set()
    for group in tests.get("tests", []):
        instances = {instance_of(s["series"]) for s in group.get("input_series", [])} - {None}
        for case in group.get("alert_rule_test", []):
            name = case.get("alertname")
            if name not in alerts:
                bad("the tests name an unknown alert %r" % name)
                continue
            if duration_s(case.get("eval_time")) < duration_s(alerts[name].get("for", "")):
                continue  # still pending: says nothing about the threshold
            exp = case.get("exp_alerts") or []
            if exp:
                fires.add(name)
                alerted = {(a.get("exp_labels") or {}).get("instance") for a in exp}
                if instances - alerted:
                    quiet.add(name)
            elif group.get("input_series"):
                quiet.add(name)
    for name in alerts:
        if name not in fires:
            bad("%s: no unit test makes it fire" % name)
        if name not in quiet:
            bad("%s: no unit test shows it quiet under input series" % name)

    # README table: | `Alert` | severity | for | threshold |
    rows = re.findall(r"^\| `(Wstrace\w+)` \| (\w+) \| (\w+) \|", readme_section(args.readme), re.M)
    table = {n: (s, f) for n, s, f in rows}
    want = {n: (r["labels"]["severity"], r["for"]) for n, r in alerts.items()
            if isinstance(r.get("labels"), dict) and "severity" in r["labels"]}
    if table != want:
        bad("README alert table %s differs from the rules %s" % (sorted(table.items()), sorted(want.items())))
    finish("%d alerts: each fires and stays quiet in the unit tests, README table matches" % len(alerts))


# --- queries against Prometheus -----------------------------------------------

def api(base, path, **params):
    url = "%s/api/v1/%s?%s" % (base, path, urllib.parse.urlencode(params, doseq=True))
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # 400/422 carry the error as JSON
        try:
            return json.load(e)
        except ValueError:
            return {"status": "error", "error": "HTTP %d" % e.code}


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2)
        return values.get(name, m.group(0))
    return re.sub(r"\$\{([a-zA-Z_]\w*)\}|\$([a-zA-Z_]\w*)", repl, expr)


def series_values(result):
    for r in result:
        for v in ([r["value"]] if "value" in r else r.get("values", [])):
            try:
                yield float(v[1])
            except (TypeError, ValueError):
                pass


class Scrape:
    """What Prometheus holds: metric names, and per metric its label values."""

    def __init__(self, base, job):
        self.base, self.job = base, job
        names = api(base, "label/__name__/values", **{"match[]": '{job="%s"}' % job})
        self.names = set(names.get("data") or [])
        self.labels = {}

    def label_values(self, metric):
        if metric not in self.labels:
            out = {}
            data = api(self.base, "series", **{"match[]": '%s{job="%s"}' % (metric, self.job)})
            for s in data.get("data") or []:
                for k, v in s.items():
                    out.setdefault(k, set()).add(v)
            self.labels[metric] = out
        return self.labels[metric]


def check_names(where, expr, scrape):
    """Every metric, label and literal label value named must exist."""
    metrics = []
    for metric, matchers, _ in selectors(expr):
        if metric == "up":
            continue
        metrics.append(metric)
        if metric not in scrape.names:
            bad("%s: no metric %s in the scrape" % (where, metric))
            continue
        labels = scrape.label_values(metric)
        for lab, op, val in matchers:
            if lab not in labels:
                bad("%s: %s has no label %s" % (where, metric, lab))
            elif "$" not in val and op in ("=", "=~", "!="):
                # A list of alternatives (a|b) must name existing values only.
                words = val.split("|") if re.fullmatch(r"[\w:-]+(\|[\w:-]+)*", val) else None
                if op != "=~" or words:
                    missing = [w for w in (words or [val]) if w not in labels[lab]]
                else:
                    missing = [] if any(re.fullmatch(val, v) for v in labels[lab]) else [val]
                if missing:
                    bad('%s: %s{%s%s"%s"}: no value %s in the scrape (values: %s)'
                        % (where, metric, lab, op, val, missing, sorted(labels[lab])))
    known = set()
    for m in metrics:
        known |= set(scrape.label_values(m)) if m in scrape.names else set()
    for lab in grouping_labels(expr):
        if metrics and lab not in known:
            bad("%s: groups by %s, a label none of %s has" % (where, lab, sorted(set(metrics))))


def family(name):
    return re.sub(r"_(bucket|sum|count)$", "", name)


def queries(args):
    dash = json.load(open(args.dashboard, encoding="utf-8"))
    base = args.url.rstrip("/")
    values = {"job": args.job, "instance": args.instance, "datasource": "prometheus",
              "__rate_interval": args.rate_interval, "__interval": "15s",
              "__range": args.range, "__range_s": str(int(duration_s(args.range)))}
    scrape = Scrape(base, args.job)
    wstrace_names = {n for n in scrape.names if n.startswith("wstrace_")}
    if not args.expect_empty and len(wstrace_names) < 20:
        bad("Prometheus holds only %d wstrace metrics for job %s: nothing to check against"
            % (len(wstrace_names), args.job))
        finish("queries")

    # The variables: label_values(metric{...}, label), through the series API.
    for v in (dash.get("templating") or {}).get("list", []):
        if v.get("type") != "query":
            continue
        m = re.fullmatch(r"label_values\((.+), *(\w+)\)", variable_query(v))
        if not m:
            bad("variable %s: cannot evaluate %r" % (v.get("name"), variable_query(v)))
            continue
        match = substitute(m.group(1), values)
        data = api(base, "series", **{"match[]": match})
        got = sorted({s.get(m.group(2)) for s in data.get("data") or []} - {None})
        if data.get("status") != "success":
            bad("variable %s: %s" % (v["name"], data.get("error")))
        elif args.expect_empty:
            pass
        elif not any(re.fullmatch(values[v["name"]], g) for g in got):
            bad("variable %s offers %s, not the %s the test scrapes" % (v["name"], got, values[v["name"]]))
        else:
            print("variable %s: %s" % (v["name"], got))

    filled = []
    if args.filled:
        for line in open(args.filled, encoding="utf-8"):
            line = line.strip()
            if line and not line.startswith("#"):
                title, _, ref = line.rpartition("|")
                filled.append((title.strip(), ref.strip()))
    known = {(p.get("title"), t.get("refId")) for p, t in targets(dash)}
    for f in filled:
        if f not in known:
            bad("listed as filled but not on the dashboard: %s | %s" % f)

    used_families, n, nonempty = set(), 0, 0
    for p, t in targets(dash):
        n += 1
        where = "%s | %s" % (p.get("title"), t.get("refId"))
        expr = substitute(t["expr"], values)
        left = variables_in(expr)
        if left:
            bad("%s: variables left after substitution: %s" % (where, sorted(left)))
            continue
        used_families |= {family(m) for m, _, _ in selectors(expr)}
        r = api(base, "query", query=expr)
        if r.get("status") != "success":
            bad("%s: Prometheus rejects %s: %s" % (where, expr, r.get("error")))
            continue
        result = r["data"]["result"]
        if args.expect_empty:
            if result:
                bad("%s: returns data although job/instance match nothing: %s" % (where, expr))
            continue
        check_names(where, t["expr"], scrape)  # values from variables are not literals
        nonempty += bool(result)
        for lab in re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat", "")):
            for s in result:
                if lab not in s.get("metric", {}):
                    bad("%s: legend names {{%s}}, which the result %s lacks" % (where, lab, s.get("metric")))
                    break
        if (p.get("title"), t.get("refId")) in filled:
            vals = [x for x in series_values(result) if math.isfinite(x)]
            if not vals or max(vals) <= 0:
                bad("%s: the traffic should fill it, but it returns %s" % (where, result[:3]))
    if not args.expect_empty:
        for name in sorted({family(x) for x in wstrace_names} - used_families):
            bad("metric %s is exported but on no panel: add one in dist/grafana/dashboard.py" % name)

    if args.rules and not args.expect_empty:
        doc = yaml.safe_load(open(args.rules, encoding="utf-8"))
        for g in doc["groups"]:
            for rule in g["rules"]:
                where = "alert %s" % rule["alert"]
                r = api(base, "query", query=rule["expr"])
                if r.get("status") != "success":
                    bad("%s: Prometheus rejects %s: %s" % (where, rule["expr"], r.get("error")))
                check_names(where, rule["expr"], scrape)
        loaded = api(base, "rules").get("data", {}).get("groups", [])
        states = {r["name"]: r for grp in loaded for r in grp.get("rules", [])}
        for g in doc["groups"]:
            for rule in g["rules"]:
                s = states.get(rule["alert"])
                if not s:
                    bad("alert %s is not loaded in Prometheus" % rule["alert"])
                elif s.get("health") != "ok" or s.get("lastError"):
                    bad("alert %s: health %s %s" % (rule["alert"], s.get("health"), s.get("lastError", "")))
    finish("%d queries accepted%s" % (n, ", none returns data with filters that match nothing"
                                       if args.expect_empty else
                                       ", %d return data, %d listed as filled return values above 0"
                                       % (nonempty, len(filled))))


# --- mutations (to show the checks can fail) ----------------------------------

def mutate(args):
    data = (json.load(open(args.inp, encoding="utf-8")) if args.inp.endswith(".json")
            else yaml.safe_load(open(args.inp, encoding="utf-8")))
    panels = [p for p in data.get("panels", []) if p.get("type") not in (None, "row")]
    target = panels[1]["targets"][0] if panels else None
    k = args.kind
    if k == "dup-id":
        panels[3]["id"] = panels[2]["id"]
    elif k == "overlap":
        panels[3]["gridPos"] = dict(panels[2]["gridPos"])
    elif k == "outside-row":
        # Into the free space beside the last panel: no overlap, wrong row.
        last = panels[-1]["gridPos"]
        panels[0]["gridPos"] = {"h": 4, "w": 4, "x": last["x"] + last["w"], "y": last["y"]}
    elif k == "datasource":
        panels[1]["datasource"] = {"type": "prometheus", "uid": "prometheus"}
    elif k == "no-refid":
        del target["refId"]
    elif k == "no-filter":
        target["expr"] = target["expr"].replace(', instance=~"$instance"', "")
    elif k == "unused-var":
        data["templating"]["list"].append({"name": "spare", "type": "custom", "hide": 0, "query": "a"})
    elif k == "readme-title":
        panels[0]["title"] += " (renamed)"
    elif k == "bad-option":
        next(p for p in panels if p["type"] == "timeseries")["options"]["legend"]["displayMode"] = "lists"
    elif k == "syntax":
        target["expr"] = "sum(" + target["expr"]
    elif k == "unknown-metric":
        target["expr"] = target["expr"].replace("wstrace_", "wstrace_no_such_", 1)
    elif k == "label-value":
        t = next(t for p in panels for t in p["targets"] if 'status="101"' in t["expr"])
        t["expr"] = t["expr"].replace('status="101"', 'status="200"')
    elif k == "drop-quiet":
        # Keep only the firing expectations: no alert is shown quiet any more.
        for g in data["tests"]:
            g["input_series"] = [s for s in g["input_series"] if 'instance="a:' in s["series"]
                                 or "instance" not in s["series"]]
            g["alert_rule_test"] = [c for c in g["alert_rule_test"] if c.get("exp_alerts")]
    else:
        sys.exit("unknown mutation %s" % k)
    with open(args.out, "w", encoding="utf-8") as f:
        if args.out.endswith(".json"):
            json.dump(data, f, indent=2)
        else:
            yaml.safe_dump(data, f, sort_keys=False)


def value(args):
    r = api(args.url.rstrip("/"), "query", query=args.query)
    result = r.get("data", {}).get("result") if r.get("status") == "success" else None
    if result is None:
        sys.exit("query %s: %s" % (args.query, r.get("error")))
    print(result[0]["value"][1] if len(result) == 1 else "many" if result else "none")


# Subcommand: (function, positional arguments).
COMMANDS = {
    "offline": (offline, ["dashboard", "readme"]),
    "typescript": (typescript, ["dashboard", "out"]),
    "rules": (rules, ["rules", "tests", "readme"]),
    "queries": (queries, ["dashboard", "url"]),
    "mutate": (mutate, ["kind", "inp", "out"]),
    "value": (value, ["url", "query"]),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    parsers = {}
    for name, (_, positional) in COMMANDS.items():
        parsers[name] = sub.add_parser(name)
        for arg in positional:
            parsers[name].add_argument(arg)
    a = parsers["queries"]
    a.add_argument("--job", required=True)
    a.add_argument("--instance", required=True)
    a.add_argument("--filled")
    a.add_argument("--rules")
    a.add_argument("--expect-empty", action="store_true")
    a.add_argument("--rate-interval", default="1m")
    a.add_argument("--range", default="15m")
    args = ap.parse_args()
    COMMANDS[args.cmd][0](args)


if __name__ == "__main__":
    main()
