// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * top.c - the live view's model: the session table fed by events, the
 * header's numbers read from the registry, rates, quantiles, sorting and
 * filtering.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracking/flow.h"
#include "protocol/json_scan.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_message.h"
#include "top.h"

struct counter_ref {
	int family;
	int i0;                 /* first label's index; -1: every series */
};

struct top {
	struct metrics *m;
	char *json_key;
	uint32_t max_rows;
	struct top_row *rows;
	uint32_t n, cap;
	uint32_t *index;        /* open addressing: row + 1 by flow id, 0 free */
	uint32_t index_mask;
	uint64_t untracked;

	struct counter_ref ref[TOP_C_MAX];
	int conns, sessions, closes;
	int hist[TOP_H_MAX];
	int n_bounds[TOP_H_MAX];
	/* per-bucket counts at each of the last TOP_WINDOW + 1 refreshes */
	uint64_t (*hist_ring)[TOP_H_MAX][METRICS_MAX_BUCKETS + 1];
	unsigned int ring_pos, ring_fill;

	uint64_t last_ns;       /* the last refresh */
	struct top_totals tot;
};

static const char *const counter_family[TOP_C_MAX] = {
#define X(name, family, value) family,
	TOP_COUNTERS(X)
#undef X
};
static const char *const counter_value[TOP_C_MAX] = {
#define X(name, family, value) value,
	TOP_COUNTERS(X)
#undef X
};

static int label_index(const struct metrics *m, int family, const char *value)
{
	int n = metrics_label_count(m, family, 0);

	for (int i = 0; i < n; i++) {
		const char *v = metrics_label_value(m, family, 0, i);

		if (v && strcmp(v, value) == 0)
			return i;
	}
	return -ENOENT;
}

/* The registry's families by name, once: a missing one reads as absent
 * (kernel families when no kernel program runs). */
static void resolve(struct top *t)
{
	for (int i = 0; i < TOP_C_MAX; i++) {
		t->ref[i].family = metrics_find(t->m, counter_family[i]);
		t->ref[i].i0 = -1;
		if (t->ref[i].family >= 0 && counter_value[i]) {
			t->ref[i].i0 = label_index(t->m, t->ref[i].family, counter_value[i]);
			if (t->ref[i].i0 < 0)
				t->ref[i].family = -1;
		}
		t->tot.have[i] = t->ref[i].family >= 0;
	}
	t->conns = metrics_find(t->m, "wstrace_tcp_connections");
	t->sessions = metrics_find(t->m, "wstrace_ws_sessions");
	t->closes = metrics_find(t->m, "wstrace_ws_closes_total");
	t->hist[TOP_H_UPGRADE] = metrics_find(t->m, "wstrace_ws_upgrade_seconds");
	t->hist[TOP_H_RTT] = metrics_find(t->m, "wstrace_ws_ping_rtt_seconds");
	t->hist[TOP_H_DELIVERY] = metrics_find(t->m, "wstrace_ws_delivery_seconds");
	t->hist[TOP_H_REPLY] = metrics_find(t->m, "wstrace_ws_reply_seconds");
}

int top_new(struct top **out, const struct top_opts *o, struct metrics *m)
{
	static const struct top_opts defaults;
	struct top *t;

	*out = NULL;
	if (!m)
		return -EINVAL;
	if (!o)
		o = &defaults;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->m = m;
	t->max_rows = o->max_rows ? o->max_rows : TOP_DEFAULT_MAX_ROWS;
	t->hist_ring = calloc(TOP_WINDOW + 1, sizeof(*t->hist_ring));
	if (!t->hist_ring || (o->json_key && *o->json_key && !(t->json_key = strdup(o->json_key)))) {
		top_free(t);
		return -ENOMEM;
	}
	resolve(t);
	for (int h = 0; h < TOP_H_MAX; h++)
		t->tot.p50[h] = t->tot.p99[h] = -1;
	*out = t;
	return 0;
}

void top_free(struct top *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->index);
	free(t->hist_ring);
	free(t->json_key);
	free(t);
}

const struct top_totals *top_totals(const struct top *t)
{
	return &t->tot;
}

const struct top_row *top_rows(const struct top *t, size_t *n)
{
	*n = t->n;
	return t->rows;
}

uint64_t top_untracked(const struct top *t)
{
	return t->untracked;
}

/* The session table: rows in an array, found by flow id through an
 * open-addressed index rebuilt whenever rows move. */

static uint32_t hash_id(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return (uint32_t)id;
}

static void index_put(struct top *t, uint64_t id, uint32_t row)
{
	uint32_t i = hash_id(id) & t->index_mask;

	while (t->index[i])
		i = (i + 1) & t->index_mask;
	t->index[i] = row + 1;
}

static void index_rebuild(struct top *t)
{
	memset(t->index, 0, (t->index_mask + 1) * sizeof(*t->index));
	for (uint32_t r = 0; r < t->n; r++)
		index_put(t, t->rows[r].flow_id, r);
}

static struct top_row *row_find(struct top *t, uint64_t id)
{
	uint32_t i;

	if (!t->index)
		return NULL;
	for (i = hash_id(id) & t->index_mask; t->index[i]; i = (i + 1) & t->index_mask)
		if (t->rows[t->index[i] - 1].flow_id == id)
			return &t->rows[t->index[i] - 1];
	return NULL;
}

/* Drops ended rows whose time is up (all ended ones when `all`). */
static void rows_compact(struct top *t, uint64_t now_ns, bool all)
{
	uint32_t w = 0;

	for (uint32_t r = 0; r < t->n; r++) {
		const struct top_row *row = &t->rows[r];

		if (row->ended && (all || (row->expire_ns && now_ns >= row->expire_ns)))
			continue;
		if (w != r)
			t->rows[w] = *row;
		w++;
	}
	if (w != t->n) {
		t->n = w;
		index_rebuild(t);
	}
}

static int rows_grow(struct top *t)
{
	uint32_t cap = t->cap ? t->cap * 2 : 64, mask;
	struct top_row *rows;
	uint32_t *index;

	if (cap > t->max_rows)
		cap = t->max_rows;
	if (cap <= t->cap)
		return -ENOSPC;
	for (mask = 1; mask < cap * 2; mask <<= 1)
		;
	rows = realloc(t->rows, cap * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	t->rows = rows;
	index = calloc(mask, sizeof(*index));
	if (!index)
		return -ENOMEM;
	free(t->index);
	t->index = index;
	t->index_mask = mask - 1;
	t->cap = cap;
	index_rebuild(t);
	return 0;
}

static struct top_row *row_add(struct top *t, const struct wst_event *ev)
{
	const struct flow_key *k = &ev->flow->key;
	struct top_row *row;

	if (t->n == t->cap && rows_grow(t)) {
		/* Full: ended rows make room before their time. */
		rows_compact(t, 0, true);
		if (t->n == t->cap) {
			t->untracked++;
			return NULL;
		}
	}
	row = &t->rows[t->n];
	memset(row, 0, sizeof(*row));
	row->flow_id = ev->flow->id;
	pkt_format_endpoint(row->client, sizeof(row->client), k->family, k->caddr, k->cport);
	row->sport = k->sport;
	row->start_ns = ev->ts_ns;
	row->rtt_us = -1;
	index_put(t, row->flow_id, t->n);
	t->n++;
	return row;
}

/* The last message's key value, printable: other bytes become '?'. */
static void take_key(struct top *t, struct top_row *row, const struct ws_message_info *mi)
{
	char value[256];
	const uint8_t *raw;
	size_t rawlen, n;

	if (!t->json_key || !mi || mi->opcode != WS_OP_TEXT || !mi->data || mi->truncated ||
	    mi->incomplete || (mi->compressed && !mi->inflated))
		return;
	if (json_scan_top_string(mi->data, mi->kept, t->json_key, &raw, &rawlen) != JSON_SCAN_OK)
		return;
	if (json_scan_unescape(raw, rawlen, value, sizeof(value), &n) != JSON_SCAN_OK)
		return;
	if (n >= sizeof(row->key))
		n = sizeof(row->key) - 1;
	for (size_t i = 0; i < n; i++)
		row->key[i] = value[i] >= 0x20 && value[i] < 0x7f ? value[i] : '?';
	row->key[n] = '\0';
}

/* Who the session is: the server process from the event's attribution,
 * the forwarded client from it or from the session's own handshake. */
static void take_owner(struct top_row *row, const struct wst_event *ev)
{
	const struct wst_attrib *a = ev->attrib;
	const struct wst_proc *p = a ? a->server : NULL;
	const char *fwd = a && a->forwarded_for ? a->forwarded_for : ws_layer_forwarded_for(ev->flow);

	if (fwd && !row->fwd[0])
		snprintf(row->fwd, sizeof(row->fwd), "%s", fwd);
	if (!p || (p->pid == row->pid && row->comm[0]))
		return;
	row->pid = p->pid;
	snprintf(row->comm, sizeof(row->comm), "%s", p->comm);
	row->container[0] = '\0';
	if (p->container)
		snprintf(row->container, sizeof(row->container), "%.*s", TOP_CONTAINER_SHORT, p->container);
	row->cgroup[0] = '\0';
	if (p->cgroup) {
		size_t n = strlen(p->cgroup);

		/* the end of a long path: the leaf names the unit or container */
		snprintf(row->cgroup, sizeof(row->cgroup), "%s",
			 p->cgroup + (n >= sizeof(row->cgroup) ? n - (sizeof(row->cgroup) - 1) : 0));
	}
}

static void session_ended(struct top_row *row, const struct wst_event *ev)
{
	const char *how = wst_session_end_name(ev->u.session.how);

	row->ended = true;
	row->end_ns = ev->ts_ns > row->start_ns ? ev->ts_ns : row->start_ns;
	for (int d = 0; d < 2; d++) {
		row->c.frames[d] = ev->u.session.frames[d];
		row->c.messages[d] = ev->u.session.messages[d];
		row->c.bytes[d] = ev->u.session.bytes[d];
	}
	if (ev->u.session.code)
		snprintf(row->how, sizeof(row->how), "%s %u", how, ev->u.session.code);
	else
		snprintf(row->how, sizeof(row->how), "%s", how);
	row->rate = 0;
}

void top_event(void *ctx, const struct wst_event *ev)
{
	struct top *t = ctx;
	struct ws_session_counts c;
	struct top_row *row;
	bool ws;

	if (!ev->flow || wst_event_is_packet(ev->type))
		return;
	/* An upgraded session's end always follows its tcp_closed. */
	if (!wst_event_is_ws(ev->type))
		return;
	row = row_find(t, ev->flow->id);
	if (ev->type == WST_EV_WS_SESSION_END) {
		if (row && !row->ended) {
			take_owner(row, ev);
			session_ended(row, ev);
		}
		return;
	}
	/* Upgraded sessions only: the 101, or frames of one picked up mid-way. */
	ws = ws_layer_session_counts(ev->flow, &c);
	if (!ws)
		return;
	if (!row || row->ended) {
		if (row)
			return; /* ended; nothing more belongs to it */
		row = row_add(t, ev);
		if (!row)
			return;
	}
	row->c = c;
	take_owner(row, ev);
	switch (ev->type) {
	case WST_EV_WS_MESSAGE:
		take_key(t, row, ev->u.message);
		break;
	case WST_EV_WS_PONG:
		if (ev->u.control.rtt_us >= 0)
			row->rtt_us = ev->u.control.rtt_us;
		break;
	case WST_EV_WS_VIOLATION:
		row->violations++;
		break;
	case WST_EV_WS_GAP:
	case WST_EV_WS_RESYNC:
		row->gaps++;
		break;
	default:
		break;
	}
}

double top_rate(uint64_t now, uint64_t before, uint64_t dt_ns)
{
	/* A counter set lower (a restart of its source) is no negative rate. */
	if (!dt_ns || now < before)
		return 0;
	return (double)(now - before) * 1e9 / (double)dt_ns;
}

double top_quantile(const double *bounds, const uint64_t *counts, int n, double q)
{
	uint64_t total = 0, below = 0;
	double rank, lo;

	for (int i = 0; i <= n; i++)
		total += counts[i];
	if (!total || n < 1)
		return -1;
	rank = q * (double)total;
	for (int i = 0; i < n; i++) {
		if ((double)(below + counts[i]) >= rank && counts[i]) {
			lo = i ? bounds[i - 1] : 0;
			return lo + (bounds[i] - lo) * (rank - (double)below) / (double)counts[i];
		}
		below += counts[i];
	}
	return bounds[n - 1]; /* in the +Inf bucket: the highest bound, as Prometheus */
}

static void refresh_hist(struct top *t)
{
	unsigned int pos = t->ring_pos, old;

	for (int h = 0; h < TOP_H_MAX; h++) {
		const double *bounds;
		const uint64_t *counts;
		int n = metrics_histogram_buckets(t->m, t->hist[h], 0, &bounds, &counts);

		t->n_bounds[h] = n > 0 ? n : 0;
		if (n > 0)
			memcpy(t->hist_ring[pos][h], counts, (size_t)(n + 1) * sizeof(*counts));
	}
	if (t->ring_fill < TOP_WINDOW + 1)
		t->ring_fill++;
	/* Since start until the ring is full, then newest minus the oldest
	 * kept: TOP_WINDOW refreshes back. */
	old = (pos + 1) % (TOP_WINDOW + 1);
	for (int h = 0; h < TOP_H_MAX; h++) {
		const double *bounds;
		const uint64_t *counts;
		uint64_t delta[METRICS_MAX_BUCKETS + 1];
		int n = t->n_bounds[h];

		t->tot.p50[h] = t->tot.p99[h] = -1;
		if (n <= 0 || metrics_histogram_buckets(t->m, t->hist[h], 0, &bounds, &counts) != n)
			continue;
		for (int i = 0; i <= n; i++) {
			uint64_t a = t->hist_ring[pos][h][i];
			uint64_t b = t->ring_fill == TOP_WINDOW + 1 ? t->hist_ring[old][h][i] : 0;

			delta[i] = a >= b ? a - b : 0;
		}
		t->tot.p50[h] = top_quantile(bounds, delta, n, 0.5);
		t->tot.p99[h] = top_quantile(bounds, delta, n, 0.99);
	}
	t->ring_pos = (pos + 1) % (TOP_WINDOW + 1);
}

void top_refresh(struct top *t, uint64_t now_ns)
{
	uint64_t dt = t->last_ns && now_ns > t->last_ns ? now_ns - t->last_ns : 0;
	struct top_totals *tot = &t->tot;

	for (int i = 0; i < TOP_C_MAX; i++) {
		uint64_t v = t->ref[i].family >= 0 ? metrics_counter_sum(t->m, t->ref[i].family, t->ref[i].i0) : 0;

		tot->rate[i] = top_rate(v, tot->c[i], dt);
		tot->c[i] = v;
	}
	tot->conns = metrics_gauge_value(t->m, t->conns, 0);
	tot->sessions = metrics_gauge_value(t->m, t->sessions, 0);
	tot->n_closes = 0;
	for (int i = 0; i < metrics_label_count(t->m, t->closes, 0) &&
			tot->n_closes < (int)(sizeof(tot->close_code) / sizeof(tot->close_code[0])); i++) {
		uint64_t v = metrics_counter_sum(t->m, t->closes, i);

		if (!v)
			continue;
		tot->close_code[tot->n_closes] = metrics_label_value(t->m, t->closes, 0, i);
		tot->close_count[tot->n_closes++] = v;
	}
	refresh_hist(t);

	rows_compact(t, now_ns, false);
	for (uint32_t r = 0; r < t->n; r++) {
		struct top_row *row = &t->rows[r];
		uint64_t msgs = row->c.messages[0] + row->c.messages[1];

		if (row->ended) {
			if (!row->expire_ns)
				row->expire_ns = now_ns + TOP_LINGER_NS;
			row->rate = 0;
			continue;
		}
		if (dt)
			row->rate = top_rate(msgs, row->prev_msgs, dt);
		row->prev_msgs = msgs;
	}
	t->last_ns = now_ns;
}

const char *top_sort_name(enum top_sort s)
{
	static const char *const names[TOP_SORT_MAX] = { "rate", "bytes", "age", "rtt", "server" };

	return (unsigned int)s < TOP_SORT_MAX ? names[s] : "rate";
}

struct sort_by {
	enum top_sort key;
	bool reverse;
};

/* Larger first for rate, bytes and RTT; oldest first for age; by name
 * for the server. */
static int cmp_rows(const void *pa, const void *pb, void *ctx)
{
	const struct top_row *a = *(const struct top_row *const *)pa;
	const struct top_row *b = *(const struct top_row *const *)pb;
	const struct sort_by *by = ctx;
	int c = 0;

	if (a->ended != b->ended)
		return a->ended ? 1 : -1;
	if (a->ended)
		c = a->end_ns > b->end_ns ? -1 : a->end_ns < b->end_ns;
	else {
		switch (by->key) {
		case TOP_SORT_BYTES: {
			uint64_t x = a->c.bytes[0] + a->c.bytes[1], y = b->c.bytes[0] + b->c.bytes[1];

			c = x > y ? -1 : x < y;
			break;
		}
		case TOP_SORT_AGE:
			c = a->start_ns < b->start_ns ? -1 : a->start_ns > b->start_ns;
			break;
		case TOP_SORT_RTT:
			c = a->rtt_us > b->rtt_us ? -1 : a->rtt_us < b->rtt_us;
			break;
		case TOP_SORT_SERVER:
			/* by name, then pid; unknown servers last */
			if (!a->pid != !b->pid)
				c = a->pid ? -1 : 1;
			else if (!(c = strcmp(a->comm, b->comm)))
				c = a->pid < b->pid ? -1 : a->pid > b->pid;
			break;
		default:
			c = a->rate > b->rate ? -1 : a->rate < b->rate;
			break;
		}
		if (by->reverse)
			c = -c;
	}
	if (!c) /* stable across refreshes: the older connection first */
		c = a->flow_id < b->flow_id ? -1 : a->flow_id > b->flow_id;
	return c;
}

void top_sort_rows(const struct top_row **rows, size_t n, enum top_sort key, bool reverse)
{
	struct sort_by by = { key, reverse };

	qsort_r(rows, n, sizeof(*rows), cmp_rows, &by);
}

bool top_row_matches(const struct top_row *r, const char *filter)
{
	char port[8], pid[16];

	if (!filter || !*filter)
		return true;
	snprintf(port, sizeof(port), "%u", r->sport);
	snprintf(pid, sizeof(pid), "%u", r->pid);
	return strstr(r->client, filter) || strstr(port, filter) || strstr(r->key, filter) ||
	       strstr(r->fwd, filter) ||
	       (r->pid && (strstr(pid, filter) || strstr(r->comm, filter) || strstr(r->container, filter) ||
			   strstr(r->cgroup, filter))) ||
	       (r->ended && (strstr(r->how, filter) || strstr("ended", filter)));
}
