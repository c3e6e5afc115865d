// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* recorder.c - the event recorder of the test kit (see recorder.h). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/event.h"
#include "tracking/flow.h"
#include "protocol/http_upgrade.h"
#include "protocol/tls_hello.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_message.h"
#include "recorder.h"

void rec_init(struct recorder *r)
{
	memset(r, 0, sizeof(*r));
}

void rec_clear(struct recorder *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->ev[i].out);
	r->n = 0;
	r->last_ts = 0;
}

void rec_free(struct recorder *r)
{
	rec_clear(r);
	free(r->ev);
	if (r->mem)
		fclose(r->mem);
	free(r->mem_buf);
	free(r->o);
	memset(r, 0, sizeof(*r));
}

void rec_render(struct recorder *r, enum output_format format)
{
	assert_null(r->o);
	r->o = malloc(sizeof(*r->o));
	assert_non_null(r->o);
	r->mem = open_memstream(&r->mem_buf, &r->mem_len);
	assert_non_null(r->mem);
	output_init(r->o, r->mem, format);
}

/* What the output sink printed for ev. */
static char *rendered(struct recorder *r, const struct wst_event *ev)
{
	char *s;

	output_event(r->o, ev);
	assert_int_equal(fflush(r->mem), 0);
	s = strndup(r->mem_buf + r->mem_off, r->mem_len - r->mem_off);
	assert_non_null(s);
	r->mem_off = r->mem_len;
	return s;
}

/* A line being written: what does not fit is cut. */
struct line {
	char *p;
	size_t len, n;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (l->n >= l->len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(l->p + l->n, l->len - l->n, fmt, ap);
	va_end(ap);
	if (w > 0)
		l->n += (size_t)w < l->len - l->n ? (size_t)w : l->len - l->n - 1;
}

static void put_hex(struct line *l, const char *name, const uint8_t *p, size_t n)
{
	put(l, " %s=", name);
	for (size_t i = 0; p && i < n && i < 48; i++)
		put(l, "%02x", p[i]);
	if (n > 48)
		put(l, "..");
}

static void put_str(struct line *l, const char *name, struct http_str s)
{
	if (s.p)
		put(l, " %s=%.*s", name, (int)(s.len < 80 ? s.len : 80), s.p);
}

static void put_frame(struct line *l, const struct ws_frame_header *h)
{
	if (!h)
		return;
	put(l, " op=%u%s%s%s%s%s len=%" PRIu64, h->opcode, h->fin ? " fin" : "", h->rsv1 ? " rsv1" : "",
	    h->rsv2 ? " rsv2" : "", h->rsv3 ? " rsv3" : "", h->masked ? " masked" : "", h->payload_len);
}

void rec_describe(const struct wst_event *ev, char *buf, size_t len)
{
	struct line l = { buf, len, 0 };

	buf[0] = '\0';
	put(&l, "%s %s", wst_event_name(ev->type), ev->dir == WST_C2S ? "c2s" : "s2c");
	if (wst_event_is_packet(ev->type)) {
		if (ev->pkt)
			put(&l, " flags=%02x seq=%" PRIu32 " ack=%" PRIu32 " len=%" PRIu32 " cap=%" PRIu32,
			    ev->pkt->r.tcp_flags, ev->pkt->r.seq, ev->pkt->r.ack, ev->pkt->r.payload_len,
			    ev->pkt->r.cap_len);
		put(&l, "%s", ev->decode ? " decode" : "");
		return;
	}
	switch (ev->type) {
	case WST_EV_TCP_HANDSHAKE_TIMEOUT:
		put(&l, " synack_seen=%d", ev->u.timeout.synack_seen);
		break;
	case WST_EV_TCP_CLOSED:
		put(&l, " reason=%s bytes=%" PRIu64 "/%" PRIu64 " pkts=%" PRIu64 "/%" PRIu64,
		    wst_close_reason_name(ev->u.closed.reason), ev->u.closed.bytes[0], ev->u.closed.bytes[1],
		    ev->u.closed.pkts[0], ev->u.closed.pkts[1]);
		break;
	case WST_EV_HTTP_REQUEST:
	case WST_EV_WS_UPGRADE:
		if (ev->u.upgrade.req) {
			put_str(&l, "method", ev->u.upgrade.req->method);
			put_str(&l, "path", ev->u.upgrade.req->path);
		}
		put(&l, " check=%d why=%s", ev->u.upgrade.check, ev->u.upgrade.why ? ev->u.upgrade.why : "-");
		break;
	case WST_EV_WS_ESTABLISHED:
	case WST_EV_WS_UPGRADE_FAILED:
		if (ev->u.response.resp)
			put(&l, " status=%d", ev->u.response.resp->status);
		put(&l, " seen=%d accept=%s/%d deflate=%d", ev->u.response.request_seen,
		    wst_accept_result_name(ev->u.response.accept), ev->u.response.accept_check,
		    ev->u.response.deflate);
		break;
	case WST_EV_WS_FRAME:
		put_frame(&l, ev->u.frame.h);
		put(&l, " kept=%zu%s", ev->u.frame.kept, ev->u.frame.truncated ? " truncated" : "");
		if (ev->u.frame.incomplete)
			put(&l, " incomplete seen=%" PRIu64, ev->u.frame.seen);
		put_hex(&l, "payload", ev->u.frame.payload, ev->u.frame.kept);
		break;
	case WST_EV_WS_MESSAGE: {
		const struct ws_message_info *m = ev->u.message;

		put(&l, " op=%u len=%" PRIu64 " wire=%" PRIu64 " frames=%u%s%s%s%s%s", m->opcode, m->total_len,
		    m->wire_len, m->frames, m->compressed ? " compressed" : "", m->inflated ? " inflated" : "",
		    m->truncated ? " truncated" : "", m->incomplete ? " incomplete" : "",
		    m->utf8_valid ? "" : " bad-utf8");
		put_hex(&l, "data", m->data, m->kept);
		break;
	}
	case WST_EV_WS_PING:
	case WST_EV_WS_PONG:
	case WST_EV_WS_CLOSE: {
		const struct ws_control_info *c = ev->u.control.c;

		put_frame(&l, c->h);
		put(&l, "%s%s", c->truncated ? " truncated" : "", c->in_fragmented_message ? " in-message" : "");
		put_hex(&l, "payload", c->payload, c->len);
		if (ev->type == WST_EV_WS_PONG)
			put(&l, " matched=%d", ev->u.control.rtt_us >= 0);
		if (ev->type == WST_EV_WS_CLOSE)
			put(&l, " code=%u parsed=%d valid=%d initiator=%s", c->close_code, c->close_parsed,
			    c->close_valid, ev->u.control.initiator ? wst_initiator_name(ev->u.control.initiator) : "-");
		break;
	}
	case WST_EV_WS_SESSION_END:
		put(&l, " how=%s code=%u initiator=%s frames=%" PRIu64 "/%" PRIu64 " messages=%" PRIu64 "/%" PRIu64
		    " bytes=%" PRIu64 "/%" PRIu64,
		    wst_session_end_name(ev->u.session.how), ev->u.session.code,
		    ev->u.session.initiator ? wst_initiator_name(ev->u.session.initiator) : "-",
		    ev->u.session.frames[0], ev->u.session.frames[1], ev->u.session.messages[0],
		    ev->u.session.messages[1], ev->u.session.bytes[0], ev->u.session.bytes[1]);
		break;
	case WST_EV_WS_VIOLATION:
		put(&l, " kind=%s detail=%" PRIu64, ws_violation_name(ev->u.violation.kind), ev->u.violation.detail);
		break;
	case WST_EV_WS_GAP:
	case WST_EV_WS_RESYNC:
		put(&l, " kind=%s bytes=%" PRIu64 "%s",
		    ev->type == WST_EV_WS_GAP ? wst_gap_kind_name(ev->u.loss.kind) : "-", ev->u.loss.bytes,
		    ev->u.loss.boundary_lost ? " boundary-lost" : "");
		break;
	case WST_EV_TLS_NOT_DECRYPTED: {
		const struct tls_client_hello *c = ev->u.tls.client;
		const struct tls_server_hello *s = ev->u.tls.server;

		put(&l, " reason=%s", wst_tls_reason_name(ev->u.tls.reason));
		if (c)
			put(&l, " sni=%s alpn=%s offered=%04x", c->sni, c->alpn, c->max_version);
		if (s)
			put(&l, " version=%04x cipher=%04x", s->version, s->cipher);
		if (ev->u.tls.alert >= 0)
			put(&l, " alert=%d from=%s", ev->u.tls.alert, wst_initiator_name(ev->u.tls.alert_from));
		break;
	}
	case WST_EV_EVENTS_SUPPRESSED:
		put(&l, " kind=%s count=%" PRIu64, wst_event_name(ev->u.suppressed.kind), ev->u.suppressed.count);
		break;
	default:
		break;
	}
}

void rec_event(void *ctx, const struct wst_event *ev)
{
	struct recorder *r = ctx;
	struct rec_event *e;

	/* Events come in time order, whatever ends a connection. */
	if (r->n && ev->ts_ns < r->last_ts)
		fail_msg("%s at %llu after an event at %llu", wst_event_name(ev->type),
			 (unsigned long long)ev->ts_ns, (unsigned long long)r->last_ts);
	r->last_ts = ev->ts_ns;
	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 256;
		struct rec_event *p = realloc(r->ev, (size_t)cap * sizeof(*p));

		assert_non_null(p);
		r->ev = p;
		r->cap = cap;
	}
	e = &r->ev[r->n++];
	e->type = ev->type;
	e->dir = ev->dir;
	e->ts_ns = ev->ts_ns;
	e->flow_id = ev->flow ? ev->flow->id : 0;
	e->decode = ev->decode;
	e->ev = *ev;
	rec_describe(ev, e->desc, sizeof(e->desc));
	e->out = r->o ? rendered(r, ev) : NULL;
	if (r->also)
		r->also(r->also_ctx, ev);
}

int rec_find(const struct recorder *r, int from, enum wst_event_type type, int dir)
{
	for (int i = from; i < r->n; i++)
		if (r->ev[i].type == type && (dir < 0 || r->ev[i].dir == (enum wst_flow_dir)dir))
			return i;
	return -1;
}

int rec_count(const struct recorder *r, enum wst_event_type type)
{
	int n = 0;

	for (int i = 0; i < r->n; i++)
		n += r->ev[i].type == type;
	return n;
}

void rec_expect_has(const struct recorder *r, int i, const char *text)
{
	if (i < 0 || i >= r->n)
		fail_msg("no event %d (%d recorded) to hold \"%s\"", i, r->n, text);
	if (!strstr(r->ev[i].desc, text))
		fail_msg("event %d: want \"%s\" in\n  %s", i, text, r->ev[i].desc);
}

void rec_expect_types(const struct recorder *r, const enum wst_event_type *want, int n)
{
	for (int i = 0; i < n && i < r->n; i++)
		if (r->ev[i].type != want[i])
			fail_msg("event %d: got %s, want %s", i, wst_event_name(r->ev[i].type),
				 wst_event_name(want[i]));
	assert_int_equal(r->n, n);
}

/* The next index at or after i that keep keeps, or r->n. */
static int next_kept(const struct recorder *r, int i, bool (*keep)(enum wst_event_type))
{
	while (i < r->n && keep && !keep(r->ev[i].type))
		i++;
	return i;
}

void rec_expect_same(const struct recorder *a, const struct recorder *b,
		     bool (*keep)(enum wst_event_type), const char *label)
{
	int i = next_kept(a, 0, keep), j = next_kept(b, 0, keep), k = 0;

	while (i < a->n && j < b->n) {
		const char *x = a->ev[i].out, *y = b->ev[j].out;

		if (strcmp(a->ev[i].desc, b->ev[j].desc))
			fail_msg("%s: event %d differs:\n  %s\n  %s", label, k, a->ev[i].desc, b->ev[j].desc);
		if (x && y && strcmp(x, y))
			fail_msg("%s: event %d prints differently:\n  %s  %s", label, k, x, y);
		i = next_kept(a, i + 1, keep);
		j = next_kept(b, j + 1, keep);
		k++;
	}
	if (i < a->n || j < b->n)
		fail_msg("%s: after %d events, only one run has more: %s", label, k,
			 i < a->n ? a->ev[i].desc : b->ev[j].desc);
}
