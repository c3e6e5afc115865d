// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kinds.c - the labels of the kind tables of kinds.h and event.h. */
#include "event.h"
#include "kinds.h"

#define ROW(n, l, d) { l, d },
#define ARRAY_SIZE(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct wst_kind_row event_rows[] = { WST_EVENT_TYPES(ROW) };
static const struct wst_kind_row dir_rows[] = { WST_FLOW_DIRS(ROW) };
static const struct wst_kind_row reason_rows[] = { WST_CLOSE_REASONS(ROW) };
static const struct wst_kind_row end_rows[] = { WST_SESSION_ENDS(ROW) };
static const struct wst_kind_row initiator_rows[] = { WST_INITIATORS(ROW) };
static const struct wst_kind_row accept_rows[] = { WST_ACCEPT_RESULTS(ROW) };
static const struct wst_kind_row gap_rows[] = { WST_GAP_KINDS(ROW) };
static const struct wst_kind_row violation_rows[] = { WS_VIOLATIONS(ROW) };
static const struct wst_kind_row tls_reason_rows[] = { WST_TLS_REASONS(ROW) };

_Static_assert(ARRAY_SIZE(event_rows) == WST_EV_MAX, "one row per event type");
_Static_assert(ARRAY_SIZE(violation_rows) == WS_VIOL_MAX - 1, "one row per violation");

#define TABLE(what, rows, first) { what, rows, ARRAY_SIZE(rows), first }

const struct wst_kind_table wst_kind_tables[] = {
	TABLE("event", event_rows, 0),
	TABLE("direction", dir_rows, 0),
	TABLE("close reason", reason_rows, 0),
	TABLE("session end", end_rows, 0),
	TABLE("initiator", initiator_rows, WST_INITIATOR_CLIENT),
	TABLE("accept result", accept_rows, 0),
	TABLE("gap kind", gap_rows, 0),
	TABLE("violation", violation_rows, WS_VIOL_NONE + 1),
	TABLE("tls reason", tls_reason_rows, 0),
};
const int wst_n_kind_tables = ARRAY_SIZE(wst_kind_tables);

static const char *label(const struct wst_kind_row *rows, int n, int first, int v)
{
	if (v < first || v - first >= n)
		return "unknown";
	return rows[v - first].label;
}

const char *wst_event_name(enum wst_event_type type)
{
	return label(event_rows, ARRAY_SIZE(event_rows), 0, (int)type);
}

const char *wst_flow_dir_name(enum wst_flow_dir dir)
{
	return label(dir_rows, ARRAY_SIZE(dir_rows), 0, (int)dir);
}

const char *wst_close_reason_name(enum wst_close_reason r)
{
	return label(reason_rows, ARRAY_SIZE(reason_rows), 0, (int)r);
}

const char *wst_session_end_name(enum wst_session_end how)
{
	return label(end_rows, ARRAY_SIZE(end_rows), 0, (int)how);
}

const char *wst_initiator_name(enum wst_initiator who)
{
	if (who == WST_INITIATOR_NONE)
		return NULL;
	return label(initiator_rows, ARRAY_SIZE(initiator_rows), WST_INITIATOR_CLIENT, (int)who);
}

const char *wst_accept_result_name(enum wst_accept_result a)
{
	return label(accept_rows, ARRAY_SIZE(accept_rows), 0, (int)a);
}

const char *wst_gap_kind_name(enum wst_gap_kind k)
{
	return label(gap_rows, ARRAY_SIZE(gap_rows), 0, (int)k);
}

const char *wst_tls_reason_name(enum wst_tls_reason r)
{
	return label(tls_reason_rows, ARRAY_SIZE(tls_reason_rows), 0, (int)r);
}

const char *ws_violation_name(enum ws_violation v)
{
	if (v == WS_VIOL_NONE)
		return "none";
	return label(violation_rows, ARRAY_SIZE(violation_rows), WS_VIOL_NONE + 1, (int)v);
}
