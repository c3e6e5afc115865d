// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tls_join.c - TLS plaintext streams into tracked flows (see tls_join.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tracking/flow.h"
#include "tls_join.h"

#define TLS_JOIN_BUCKETS 4096

/* A record held until its stream's socket is known. */
struct tls_held {
	struct tls_held *next;
	struct wst_tls_rec r;
	uint8_t data[];
};

struct tls_stream {
	struct tls_stream *next;   /* hash chain */
	uint64_t ssl;
	uint32_t tgid;
	uint64_t id;               /* what flow->tls_stream holds */
	bool known;                /* tuple is the socket */
	bool midstream;            /* first seen past its start */
	bool server;               /* the process is the connection's server */
	bool fed;                  /* it has fed its flow (next_off says how far) */
	struct wst_tuple tuple;
	uint64_t next_off[2];      /* by enum wst_tls_dir */
	struct tls_held *held, *held_tail;
	size_t held_bytes;
};

struct tls_join {
	struct tcp_tracker *tracker;
	struct ws_layer *ws;
	struct tls_stream *buckets[TLS_JOIN_BUCKETS];
	uint64_t n, next_id;
	size_t held_bytes;         /* of every stream */
	struct tls_join_stats stats;
};

int tls_join_new(struct tls_join **out, struct tcp_tracker *t, struct ws_layer *l)
{
	struct tls_join *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->tracker = t;
	j->ws = l;
	*out = j;
	return 0;
}

const struct tls_join_stats *tls_join_stats(const struct tls_join *j)
{
	return &j->stats;
}

static struct tls_stream **bucket(struct tls_join *j, uint32_t tgid, uint64_t ssl)
{
	uint64_t h = (ssl ^ ((uint64_t)tgid << 32 | tgid)) * 0x9e3779b97f4a7c15ull;

	return &j->buckets[h >> 52 & (TLS_JOIN_BUCKETS - 1)];
}

static void held_free(struct tls_join *j, struct tls_stream *s)
{
	j->held_bytes -= s->held_bytes;
	while (s->held) {
		struct tls_held *h = s->held;

		s->held = h->next;
		free(h);
	}
	s->held_tail = NULL;
	s->held_bytes = 0;
}

/*
 * The stream's end (SSL_free), with the bytes it read and wrote in all:
 * what its last records would have brought (lost when the ring buffer was
 * full, with no later record to show the hole) is a gap too, said on the
 * session while its connection is open, counted in any case.
 */
static void stream_tail(struct tls_join *j, struct tls_stream *s, const struct wst_tls_rec *r)
{
	/* by enum wst_tls_dir; a saturated write count is no count */
	uint64_t end[2] = { r->offset, r->call_len == UINT32_MAX ? 0 : r->call_len };
	const struct wst_tuple *t = &s->tuple;
	enum wst_flow_dir l2r;
	struct wst_flow *f;

	if (!s->fed)
		return;
	f = tcp_tracker_find(j->tracker, t->family, t->laddr, t->lport, t->raddr, t->rport, &l2r);
	for (int d = WST_TLS_READ; d <= WST_TLS_WRITE; d++) {
		uint64_t missing = end[d] > s->next_off[d] ? end[d] - s->next_off[d] : 0;
		/* what the process writes goes from its side to the peer */
		enum wst_flow_dir dir = (d == WST_TLS_WRITE) == s->server ? WST_S2C : WST_C2S;

		if (!missing)
			continue;
		j->stats.gaps++;
		j->stats.gap_bytes += missing;
		if (f && f->state != TCP_ST_CLOSED && f->tls_stream == s->id)
			ws_layer_gap(j->ws, f, dir, r->ts_ns, missing);
	}
}

static void stream_remove(struct tls_join *j, const struct wst_tls_rec *r)
{
	uint32_t tgid = r->tgid;
	uint64_t ssl = r->ssl;

	for (struct tls_stream **pp = bucket(j, tgid, ssl); *pp; pp = &(*pp)->next) {
		struct tls_stream *s = *pp;

		if (s->tgid != tgid || s->ssl != ssl)
			continue;
		stream_tail(j, s, r);
		*pp = s->next;
		j->stats.unjoined += !s->known && s->held;
		held_free(j, s);
		free(s);
		j->n--;
		return;
	}
}

/* Whether s's connection is gone (closed, or no longer tracked). */
static bool stream_gone(struct tls_join *j, const struct tls_stream *s)
{
	const struct wst_tuple *t = &s->tuple;
	enum wst_flow_dir d;
	struct wst_flow *f;

	if (!s->known)
		return false;
	f = tcp_tracker_find(j->tracker, t->family, t->laddr, t->lport, t->raddr, t->rport, &d);
	return !f || f->state == TCP_ST_CLOSED;
}

/*
 * The table is full: forget the streams whose connection is gone (a
 * process that ended without SSL_free, a connection closed long ago).
 */
static void stream_reap(struct tls_join *j)
{
	for (int b = 0; b < TLS_JOIN_BUCKETS; b++)
		for (struct tls_stream **pp = &j->buckets[b]; *pp;) {
			struct tls_stream *s = *pp;

			if (!stream_gone(j, s)) {
				pp = &s->next;
				continue;
			}
			*pp = s->next;
			held_free(j, s);
			free(s);
			j->n--;
			j->stats.reaped++;
		}
}

static struct tls_stream *stream_get(struct tls_join *j, uint32_t tgid, uint64_t ssl)
{
	struct tls_stream **b = bucket(j, tgid, ssl), *s;

	for (s = *b; s; s = s->next)
		if (s->tgid == tgid && s->ssl == ssl)
			return s;
	if (j->n >= TLS_JOIN_MAX_STREAMS)
		stream_reap(j);
	if (j->n >= TLS_JOIN_MAX_STREAMS)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->tgid = tgid;
	s->ssl = ssl;
	s->id = ++j->next_id;
	s->next = *b;
	*b = s;
	j->n++;
	j->stats.streams++;
	return s;
}

/* A new connection on the same TLS object (SSL_set_fd again): start over. */
static void stream_restart(struct tls_join *j, struct tls_stream *s)
{
	held_free(j, s);
	s->id = ++j->next_id;
	s->known = false;
	s->midstream = false;
	s->fed = false;
	memset(s->next_off, 0, sizeof(s->next_off));
}

static struct tls_stream *stream_by_id(struct tls_join *j, uint64_t id)
{
	for (int b = 0; b < TLS_JOIN_BUCKETS; b++)
		for (struct tls_stream *s = j->buckets[b]; s; s = s->next)
			if (s->id == id)
				return s;
	return NULL;
}

/*
 * A server's own plaintext takes over the flow from its local client's,
 * which came first (the client writes first): both carry the same bytes
 * at the same offsets, so the server's resumes where the client's
 * stopped. Once per connection; then the client's is the other end's.
 */
static bool take_over(struct tls_join *j, struct tls_stream *s, struct wst_flow *f)
{
	struct tls_stream *o;

	if (!s->server || s->midstream || !(o = stream_by_id(j, f->tls_stream)) || o->server ||
	    o->midstream)
		return false;
	s->next_off[WST_TLS_READ] = o->next_off[WST_TLS_WRITE];
	s->next_off[WST_TLS_WRITE] = o->next_off[WST_TLS_READ];
	f->tls_stream = s->id;
	o->fed = false; /* its end is not the flow's any more */
	return true;
}

static void feed(struct tls_join *j, struct tls_stream *s, const struct wst_tls_rec *r,
		 const uint8_t *data)
{
	const struct wst_tuple *t = &s->tuple;
	enum wst_flow_dir l2r, dir;
	struct wst_flow *f;
	uint64_t off = r->offset, want;
	size_t len = r->cap_len;

	f = tcp_tracker_find(j->tracker, t->family, t->laddr, t->lport, t->raddr, t->rport, &l2r);
	if (!f || f->state == TCP_ST_CLOSED) {
		j->stats.no_flow++;
		return;
	}
	s->server = l2r == WST_S2C;
	if (!f->tls_stream) {
		f->tls_stream = s->id;
		ws_layer_tls(j->ws, f, r->ts_ns);
		if (s->midstream) {
			/* its first bytes may be anywhere: the mid-stream rules decide */
			ws_layer_gap(j->ws, f, WST_C2S, r->ts_ns, 0);
			ws_layer_gap(j->ws, f, WST_S2C, r->ts_ns, 0);
		}
	} else if (f->tls_stream != s->id && !take_over(j, s, f)) {
		j->stats.other_side++;
		s->fed = false;
		return;
	}
	want = s->next_off[r->dir & 1];
	/* what the process writes goes from its side (local) to the peer */
	dir = r->dir == WST_TLS_WRITE ? l2r : l2r == WST_C2S ? WST_S2C : WST_C2S;
	if (off > want) {
		j->stats.gaps++;
		j->stats.gap_bytes += off - want;
		ws_layer_gap(j->ws, f, dir, r->ts_ns, off - want);
	} else if (off < want) {
		/* bytes already fed: only the rest */
		if (want - off >= len)
			return;
		data += want - off;
		len -= want - off;
		off = want;
	}
	s->next_off[r->dir & 1] = off + len;
	s->fed = true;
	j->stats.records++;
	j->stats.bytes += len;
	ws_layer_data(j->ws, f, dir, r->ts_ns, data, len);
}

static void hold(struct tls_join *j, struct tls_stream *s, const struct wst_plaintext *pt)
{
	struct tls_held *h;

	if (s->held_bytes + pt->r.cap_len > TLS_JOIN_MAX_HELD ||
	    j->held_bytes + pt->r.cap_len > TLS_JOIN_MAX_HELD_ALL ||
	    !(h = malloc(sizeof(*h) + pt->r.cap_len))) {
		j->stats.unjoined++;
		return;
	}
	h->next = NULL;
	h->r = pt->r;
	memcpy(h->data, pt->data, pt->r.cap_len);
	if (s->held_tail)
		s->held_tail->next = h;
	else
		s->held = h;
	s->held_tail = h;
	s->held_bytes += pt->r.cap_len;
	j->held_bytes += pt->r.cap_len;
	j->stats.held++;
}

void tls_join_plaintext(struct tls_join *j, const struct wst_plaintext *pt)
{
	const struct wst_tls_rec *r = &pt->r;
	struct tls_stream *s;

	if (r->kind == WST_REC_TLS_FREE) {
		stream_remove(j, r);
		return;
	}
	s = stream_get(j, r->tgid, r->ssl);
	if (!s) {
		j->stats.unjoined += !(r->flags & WST_TLS_F_MAP);
		return;
	}
	if (!s->known && !s->held && (r->flags & WST_TLS_F_MIDSTREAM))
		s->midstream = true;
	if (r->src == WST_TLS_SRC_NONE) {
		hold(j, s, pt);
		return;
	}
	if (s->known && memcmp(&s->tuple, &r->tuple, sizeof(s->tuple))) {
		stream_restart(j, s);
		s->midstream = r->flags & WST_TLS_F_MIDSTREAM;
	}
	s->tuple = r->tuple;
	if (!s->known) {
		s->known = true;
		/* what came before the socket was known, in order */
		for (struct tls_held *h = s->held; h; h = h->next)
			feed(j, s, &h->r, h->data);
		held_free(j, s);
	}
	if (!(r->flags & WST_TLS_F_MAP))
		feed(j, s, r, pt->data);
}

void tls_join_free(struct tls_join *j)
{
	if (!j)
		return;
	for (int b = 0; b < TLS_JOIN_BUCKETS; b++)
		while (j->buckets[b]) {
			struct tls_stream *s = j->buckets[b];

			j->buckets[b] = s->next;
			held_free(j, s);
			free(s);
		}
	free(j);
}
