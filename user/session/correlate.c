// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * correlate.c - fan-out and reply windows (see correlate.h).
 *
 * Windows live in one list in the order they opened, which is also the
 * order they end (every window is as long), so closing the due ones looks
 * at the head only. A hash of (kind, key, value, and for replies the
 * connection) finds the windows a message belongs to. Recipients of a
 * fan-out are kept sorted by flow id: servers tend to broadcast in the
 * order clients connected, so most deliveries append.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"
#include "protocol/json_scan.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_message.h"
#include "tracking/flow.h"

enum corr_kind { CORR_FANOUT, CORR_REPLY };

struct corr_rcpt {
	uint64_t flow_id;
	uint32_t lat_us;
};

struct corr_win {
	struct corr_win *hnext;       /* hash chain */
	struct corr_win *prev, *next; /* in opening order */
	uint64_t open_ns, deadline_ns;
	uint64_t hash;                /* bucket hash: kind, key, value (, flow) */
	uint64_t value_hash;          /* corr_value_hash() */
	/* the connection the message came from, for the event */
	struct flow_key fkey;
	uint64_t flow_id;
	bool midstream;
	uint8_t kind;                 /* enum corr_kind */
	uint8_t key;                  /* index into its kind's keys */
	bool number;
	uint32_t value_len;
	uint64_t untracked;
	uint32_t n_rcpt, cap_rcpt;
	struct corr_rcpt *rcpt;       /* sorted by flow_id */
	uint8_t value[];
};

struct corr_sess {
	struct corr_sess *next;
	uint64_t flow_id;
};

struct corr {
	struct wst_sink sink;
	char *keys[2][CORR_MAX_KEYS]; /* by enum corr_kind */
	int n_keys[2];
	uint64_t window_ns;
	uint32_t max_open, max_deliveries;
	struct corr_win **bucket;
	uint32_t n_buckets;           /* power of two */
	struct corr_win *head, *tail; /* oldest first */
	uint32_t n_open;
	struct corr_sess **sess;      /* open WebSocket sessions by flow id */
	uint32_t n_sess_buckets, n_sess;
	size_t bytes;
	uint64_t last_ns;             /* the latest event's time */
	uint8_t scratch[CORR_MAX_VALUE];
};

uint64_t corr_value_hash(const uint8_t *v, size_t len, bool number)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = (h ^ (number ? 'n' : 's')) * 0x100000001b3ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ v[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

static uint64_t win_hash(uint64_t value_hash, enum corr_kind kind, int key, uint64_t flow_id)
{
	return mix(mix(mix(value_hash, kind), (uint64_t)key), kind == CORR_REPLY ? flow_id : 0);
}

int corr_extract(const uint8_t *msg, size_t msg_len, const char *key, uint8_t *out,
		 size_t *len, bool *number)
{
	const uint8_t *raw;
	size_t rawlen, n;

	if (json_scan_top_scalar(msg, msg_len, key, &raw, &rawlen, number) != JSON_SCAN_OK)
		return 0;
	if (*number) {
		if (rawlen > CORR_MAX_VALUE)
			return 0;
		memcpy(out, raw, rawlen);
		*len = rawlen;
		return 1;
	}
	/* Decoding never makes a string longer; the NUL needs one more. */
	if (json_scan_unescape(raw, rawlen, (char *)out, CORR_MAX_VALUE, &n) != 0)
		return 0;
	*len = n;
	return 1;
}

static void sess_grow(struct corr *c)
{
	uint32_t nb = c->n_sess_buckets * 2;
	struct corr_sess **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (uint32_t i = 0; i < c->n_sess_buckets; i++) {
		struct corr_sess *s = c->sess[i], *next;

		for (; s; s = next) {
			next = s->next;
			s->next = b[s->flow_id & (nb - 1)];
			b[s->flow_id & (nb - 1)] = s;
		}
	}
	c->bytes += (nb - c->n_sess_buckets) * sizeof(*b);
	free(c->sess);
	c->sess = b;
	c->n_sess_buckets = nb;
}

static struct corr_sess **sess_find(struct corr *c, uint64_t id)
{
	struct corr_sess **pp = &c->sess[id & (c->n_sess_buckets - 1)];

	while (*pp && (*pp)->flow_id != id)
		pp = &(*pp)->next;
	return pp;
}

static void sess_add(struct corr *c, uint64_t id)
{
	struct corr_sess **pp = sess_find(c, id), *s;

	if (*pp || !(s = malloc(sizeof(*s))))
		return;
	s->flow_id = id;
	s->next = NULL;
	*pp = s;
	c->n_sess++;
	c->bytes += sizeof(*s);
	if (c->n_sess > 2 * c->n_sess_buckets)
		sess_grow(c);
}

static void sess_del(struct corr *c, uint64_t id)
{
	struct corr_sess **pp = sess_find(c, id), *s = *pp;

	if (!s)
		return;
	*pp = s->next;
	free(s);
	c->n_sess--;
	c->bytes -= sizeof(*s);
}

static void win_unlink(struct corr *c, struct corr_win *w)
{
	struct corr_win **pp = &c->bucket[w->hash & (c->n_buckets - 1)];

	while (*pp != w)
		pp = &(*pp)->hnext;
	*pp = w->hnext;
	if (w->prev)
		w->prev->next = w->next;
	else
		c->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		c->tail = w->prev;
	c->n_open--;
}

static void win_free(struct corr *c, struct corr_win *w)
{
	c->bytes -= sizeof(*w) + w->value_len + (size_t)w->cap_rcpt * sizeof(*w->rcpt);
	free(w->rcpt);
	free(w);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void emit(struct corr *c, const struct corr_win *w, enum wst_event_type type, uint64_t ts,
		 const void *info)
{
	struct wst_flow f;
	struct wst_event ev = { .type = type, .ts_ns = ts, .flow = &f, .dir = WST_C2S };

	/* The connection may be gone: the event names it from the window. */
	memset(&f, 0, sizeof(f));
	f.key = w->fkey;
	f.id = w->flow_id;
	f.midstream = w->midstream;
	if (type == WST_EV_WS_FANOUT)
		ev.u.fanout = info;
	else
		ev.u.reply = info;
	c->sink.on_event(c->sink.ctx, &ev);
}

static uint64_t open_reached(struct corr *c, const struct corr_win *w)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < w->n_rcpt; i++)
		n += *sess_find(c, w->rcpt[i].flow_id) != NULL;
	return n;
}

/* Removes w and reports it: a fan-out's count, or a reply that never came. */
static void win_close(struct corr *c, struct corr_win *w, uint64_t ts, bool early)
{
	win_unlink(c, w);
	if (w->kind == CORR_FANOUT) {
		uint32_t *lat = w->n_rcpt ? malloc(w->n_rcpt * sizeof(*lat)) : NULL;
		uint64_t reached = open_reached(c, w) + w->untracked;
		struct wst_fanout fo = {
			.key = c->keys[CORR_FANOUT][w->key], .value = w->value,
			.value_len = w->value_len, .number = w->number, .value_hash = w->value_hash,
			.recipients = w->n_rcpt + w->untracked, .untracked = w->untracked,
			.missed = c->n_sess > reached ? c->n_sess - reached : 0, .early = early,
		};

		if (lat) {
			for (uint32_t i = 0; i < w->n_rcpt; i++)
				lat[i] = w->rcpt[i].lat_us;
			qsort(lat, w->n_rcpt, sizeof(*lat), cmp_u32);
			fo.latency_min_us = lat[0];
			fo.latency_p50_us = lat[(w->n_rcpt - 1) / 2];
			fo.latency_max_us = lat[w->n_rcpt - 1];
			fo.latency_us = lat;
			fo.n_latency = w->n_rcpt;
		}
		emit(c, w, WST_EV_WS_FANOUT, ts, &fo);
		free(lat);
	} else {
		struct wst_reply r = {
			.key = c->keys[CORR_REPLY][w->key], .value = w->value, .value_len = w->value_len,
			.number = w->number, .value_hash = w->value_hash,
			.latency_us = ts > w->open_ns ? (ts - w->open_ns) / 1000 : 0, .early = early,
		};

		emit(c, w, WST_EV_WS_REPLY_TIMEOUT, ts, &r);
	}
	win_free(c, w);
}

void corr_tick(struct corr *c, uint64_t now_ns)
{
	/* A message at the window's last nanosecond still counts. */
	while (c->head && c->head->deadline_ns < now_ns)
		win_close(c, c->head, c->head->deadline_ns, false);
}

void corr_flush(struct corr *c, uint64_t now_ns)
{
	if (!now_ns)
		now_ns = c->last_ns;
	while (c->head) {
		struct corr_win *w = c->head;

		win_close(c, w, now_ns < w->deadline_ns ? now_ns : w->deadline_ns, false);
	}
}

static void win_open(struct corr *c, const struct wst_event *ev, enum corr_kind kind, int key,
		     const uint8_t *v, size_t len, bool number)
{
	struct corr_win *w;
	uint64_t vh = corr_value_hash(v, len, number);

	if (c->n_open >= c->max_open)
		win_close(c, c->head, ev->ts_ns, true);
	w = malloc(sizeof(*w) + len);
	if (!w)
		return;
	memset(w, 0, sizeof(*w));
	w->open_ns = ev->ts_ns;
	w->deadline_ns = ev->ts_ns + c->window_ns;
	w->value_hash = vh;
	w->hash = win_hash(vh, kind, key, ev->flow->id);
	w->fkey = ev->flow->key;
	w->flow_id = ev->flow->id;
	w->midstream = ev->flow->midstream;
	w->kind = (uint8_t)kind;
	w->key = (uint8_t)key;
	w->number = number;
	w->value_len = (uint32_t)len;
	memcpy(w->value, v, len);
	w->hnext = c->bucket[w->hash & (c->n_buckets - 1)];
	c->bucket[w->hash & (c->n_buckets - 1)] = w;
	w->prev = c->tail;
	if (c->tail)
		c->tail->next = w;
	else
		c->head = w;
	c->tail = w;
	c->n_open++;
	c->bytes += sizeof(*w) + len;
}

static bool win_matches(const struct corr_win *w, uint64_t hash, enum corr_kind kind, int key,
			const uint8_t *v, size_t len, bool number, uint64_t flow_id)
{
	return w->hash == hash && w->kind == kind && w->key == key && w->number == number &&
	       w->value_len == len && (kind == CORR_FANOUT || w->flow_id == flow_id) &&
	       memcmp(w->value, v, len) == 0;
}

/* Index of flow_id in w's recipients, or where it would go (*found false). */
static uint32_t rcpt_find(const struct corr_win *w, uint64_t flow_id, bool *found)
{
	uint32_t lo = 0, hi = w->n_rcpt;

	/* Appending is the common case. */
	if (hi && w->rcpt[hi - 1].flow_id < flow_id) {
		*found = false;
		return hi;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (w->rcpt[mid].flow_id < flow_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < w->n_rcpt && w->rcpt[lo].flow_id == flow_id;
	return lo;
}

static void deliver(struct corr *c, struct corr_win *w, uint64_t flow_id, uint64_t ts, uint32_t at)
{
	uint64_t lat = ts > w->open_ns ? (ts - w->open_ns) / 1000 : 0;

	if (w->n_rcpt == w->cap_rcpt) {
		uint32_t cap = w->cap_rcpt ? w->cap_rcpt * 2 : 8;
		struct corr_rcpt *r;

		if (cap > c->max_deliveries)
			cap = c->max_deliveries;
		if (cap <= w->n_rcpt || !(r = realloc(w->rcpt, cap * sizeof(*r)))) {
			w->untracked++;
			return;
		}
		c->bytes += (size_t)(cap - w->cap_rcpt) * sizeof(*r);
		w->rcpt = r;
		w->cap_rcpt = cap;
	}
	memmove(&w->rcpt[at + 1], &w->rcpt[at], (w->n_rcpt - at) * sizeof(*w->rcpt));
	w->rcpt[at] = (struct corr_rcpt){ .flow_id = flow_id, .lat_us = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat };
	w->n_rcpt++;
}

/* A server-to-client message with a value: the oldest window it answers. */
static void match(struct corr *c, const struct wst_event *ev, enum corr_kind kind, int key,
		  const uint8_t *v, size_t len, bool number)
{
	uint64_t vh = corr_value_hash(v, len, number);
	uint64_t h = win_hash(vh, kind, key, ev->flow->id);
	struct corr_win *best = NULL, *w;
	uint32_t best_at = 0;

	for (w = c->bucket[h & (c->n_buckets - 1)]; w; w = w->hnext) {
		bool found = false;
		uint32_t at = 0;

		if (!win_matches(w, h, kind, key, v, len, number, ev->flow->id))
			continue;
		if (kind == CORR_FANOUT) {
			at = rcpt_find(w, ev->flow->id, &found);
			if (found)
				continue; /* this connection already had it */
		}
		if (!best || w->open_ns < best->open_ns ||
		    (w->open_ns == best->open_ns && w->deadline_ns <= best->deadline_ns)) {
			best = w;
			best_at = at;
		}
	}
	if (!best)
		return;
	if (kind == CORR_FANOUT) {
		deliver(c, best, ev->flow->id, ev->ts_ns, best_at);
	} else {
		struct wst_reply r = {
			.key = c->keys[CORR_REPLY][key], .value = best->value,
			.value_len = best->value_len, .number = number, .value_hash = vh,
			.latency_us = ev->ts_ns > best->open_ns ? (ev->ts_ns - best->open_ns) / 1000 : 0,
		};
		struct wst_event out = *ev;

		win_unlink(c, best);
		out.type = WST_EV_WS_REPLY;
		out.pkt = NULL;
		out.u.reply = &r;
		c->sink.on_event(c->sink.ctx, &out);
		win_free(c, best);
	}
}

static void on_message(struct corr *c, const struct wst_event *ev)
{
	const struct ws_message_info *m = ev->u.message;

	/* Whole text messages only: a cut value would never match. */
	if (m->opcode != WS_OP_TEXT || m->truncated || m->incomplete || !m->data ||
	    (m->compressed && !m->inflated))
		return;
	sess_add(c, ev->flow->id);
	for (int kind = CORR_FANOUT; kind <= CORR_REPLY; kind++) {
		for (int k = 0; k < c->n_keys[kind]; k++) {
			size_t len;
			bool number;

			if (!corr_extract(m->data, m->kept, c->keys[kind][k], c->scratch, &len, &number))
				continue;
			if (ev->dir == WST_C2S)
				win_open(c, ev, kind, k, c->scratch, len, number);
			else
				match(c, ev, kind, k, c->scratch, len, number);
		}
	}
}

void corr_event(struct corr *c, const struct wst_event *ev)
{
	if (ev->ts_ns > c->last_ns)
		c->last_ns = ev->ts_ns;
	corr_tick(c, ev->ts_ns);
	switch (ev->type) {
	case WST_EV_WS_ESTABLISHED:
		sess_add(c, ev->flow->id);
		break;
	case WST_EV_WS_SESSION_END:
		sess_del(c, ev->flow->id);
		break;
	case WST_EV_WS_MESSAGE:
		on_message(c, ev);
		break;
	default:
		break;
	}
}

uint32_t corr_open_windows(const struct corr *c)
{
	return c->n_open;
}

size_t corr_bytes(const struct corr *c)
{
	return c->bytes;
}

static int copy_keys(struct corr *c, enum corr_kind kind, const char *const *keys, int n)
{
	if (n < 0 || n > CORR_MAX_KEYS)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if (!keys[i] || !*keys[i])
			return -EINVAL;
		if (!(c->keys[kind][i] = strdup(keys[i])))
			return -ENOMEM;
		c->n_keys[kind]++;
	}
	return 0;
}

int corr_new(struct corr **out, const struct corr_opts *o, struct wst_sink sink)
{
	struct corr *c;
	int rc;

	*out = NULL;
	if (o->n_fanout_keys + o->n_reply_keys == 0 || !sink.on_event)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sink = sink;
	c->window_ns = o->window_ns ? o->window_ns : CORR_DEFAULT_WINDOW_NS;
	c->max_open = o->max_open ? o->max_open : CORR_DEFAULT_MAX_OPEN;
	c->max_deliveries = o->max_deliveries ? o->max_deliveries : CORR_DEFAULT_MAX_DELIVERIES;
	c->n_buckets = 64;
	while (c->n_buckets < c->max_open && c->n_buckets < (1u << 20))
		c->n_buckets *= 2;
	c->n_sess_buckets = 256;
	c->bucket = calloc(c->n_buckets, sizeof(*c->bucket));
	c->sess = calloc(c->n_sess_buckets, sizeof(*c->sess));
	rc = !c->bucket || !c->sess ? -ENOMEM : 0;
	if (!rc)
		rc = copy_keys(c, CORR_FANOUT, o->fanout_keys, o->n_fanout_keys);
	if (!rc)
		rc = copy_keys(c, CORR_REPLY, o->reply_keys, o->n_reply_keys);
	if (rc) {
		corr_free(c);
		return rc;
	}
	c->bytes = sizeof(*c) + c->n_buckets * sizeof(*c->bucket) + c->n_sess_buckets * sizeof(*c->sess);
	*out = c;
	return 0;
}

void corr_free(struct corr *c)
{
	if (!c)
		return;
	while (c->head) {
		struct corr_win *w = c->head;

		win_unlink(c, w);
		win_free(c, w);
	}
	for (uint32_t i = 0; c->sess && i < c->n_sess_buckets; i++) {
		struct corr_sess *s = c->sess[i], *next;

		for (; s; s = next) {
			next = s->next;
			free(s);
		}
	}
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < c->n_keys[k]; i++)
			free(c->keys[k][i]);
	free(c->sess);
	free(c->bucket);
	free(c);
}
