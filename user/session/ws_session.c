// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_session.c - the WebSocket layer (RFC 6455 sections 4 and 5, RFC 7692):
 * one session per connection, fed in order by the TCP tracker's events
 * (each direction reassembled here) or by a source of ordered bytes;
 * bytes go to the handshake (ws_handshake.c) until the upgrade is decided,
 * then to the frame decoders (ws_frames.c). Here: the session's life, its
 * accounting and its end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/tls_record.h"
#include "tracking/flow.h"
#include "ws_session_internal.h"

int ws_layer_new(struct ws_layer **out, const struct ws_layer_opts *opts, struct wst_sink next)
{
	struct ws_layer *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	if (opts)
		l->opts = *opts;
	if (!l->opts.max_frame_capture)
		l->opts.max_frame_capture = WS_LAYER_DEFAULT_FRAME_CAPTURE;
	if (!l->opts.max_message_capture)
		l->opts.max_message_capture = WS_LAYER_DEFAULT_MESSAGE_CAPTURE;
	if (!l->opts.max_inflate)
		l->opts.max_inflate = WS_LAYER_DEFAULT_INFLATE;
	l->budget.max_bytes = l->opts.max_held_bytes ? l->opts.max_held_bytes : STREAM_DEFAULT_MAX_BYTES;
	l->budget.max_per_dir = l->opts.max_held_per_dir ? l->opts.max_held_per_dir : STREAM_DEFAULT_MAX_PER_DIR;
	l->next = next;
	*out = l;
	return 0;
}

const struct ws_stats *ws_layer_stats(const struct ws_layer *l)
{
	return &l->stats;
}

bool ws_layer_session_counts(const struct wst_flow *f, struct ws_session_counts *out)
{
	const struct ws_session *s = f ? f->app : NULL;

	if (!s || s->phase != WS_PHASE_WS)
		return false;
	for (int dir = 0; dir < 2; dir++) {
		out->frames[dir] = s->frames[dir];
		out->messages[dir] = s->messages[dir];
		out->bytes[dir] = s->bytes[dir];
	}
	return true;
}

const char *ws_layer_forwarded_for(const struct wst_flow *f)
{
	const struct ws_session *s = f ? f->app : NULL;

	return s ? s->forwarded_for : NULL;
}

const struct stream_budget *ws_layer_budget(const struct ws_layer *l)
{
	return &l->budget;
}

void ws_layer_frame_events(struct ws_layer *l, bool on)
{
	l->no_frame_events = !on;
}

void ws_layer_free(struct ws_layer *l)
{
	free(l);
}

void ws_session_emit(struct ws_session *s, struct wst_event *ev, enum wst_event_type type, enum wst_flow_dir dir)
{
	ev->type = type;
	ev->ts_ns = s->ts_ns;
	ev->flow = s->flow;
	ev->dir = dir;
	ev->pkt = s->pkt;
	ev->decode = false;
	ev->attrib = NULL;
	if (s->layer->next.on_event)
		s->layer->next.on_event(s->layer->next.ctx, ev);
}

void ws_session_violation(struct ws_session *s, enum wst_flow_dir dir, enum ws_violation kind, uint64_t detail)
{
	struct wst_event ev = { .u.violation = { .kind = kind, .detail = detail } };

	s->layer->stats.violations++;
	ws_session_emit(s, &ev, WST_EV_WS_VIOLATION, dir);
}

void ws_session_gap(struct ws_session *s, enum wst_flow_dir dir, enum wst_gap_kind kind, uint64_t bytes,
		    bool lost)
{
	struct wst_event ev = { .u.loss = { .kind = kind, .bytes = bytes, .boundary_lost = lost } };

	if (kind == WST_GAP_STREAM) {
		s->layer->stats.gaps++;
		s->layer->stats.gap_bytes += bytes;
	} else {
		s->layer->stats.decode_losses++;
	}
	ws_session_emit(s, &ev, WST_EV_WS_GAP, dir);
}

void ws_session_resync(struct ws_session *s, enum wst_flow_dir dir, uint64_t skipped)
{
	struct wst_event ev = { .u.loss = { .bytes = skipped } };

	s->layer->stats.resyncs++;
	s->layer->stats.resync_bytes += skipped;
	ws_session_emit(s, &ev, WST_EV_WS_RESYNC, dir);
}

/* Ordered bytes of one direction, wherever they come from. */
static void session_data(struct ws_dir *d, const uint8_t *p, size_t len)
{
	struct ws_session *s = d->s;

	if (s->phase == WS_PHASE_HTTP)
		ws_handshake_midstream(s, d, p, len);
	switch (s->phase) {
	case WS_PHASE_HTTP:
		ws_handshake_data(s, d, p, len);
		return;
	case WS_PHASE_WS:
		ws_frames_feed(s, d->dir, p, len);
		return;
	case WS_PHASE_IGNORE:
		return;
	}
}

/* `missing` bytes of one direction will never come (0: an unknown amount,
 * the direction starts mid-stream). */
static void session_gap(struct ws_dir *d, uint64_t missing)
{
	struct ws_session *s = d->s;
	bool lost = true;

	if (missing == 0 && s->phase == WS_PHASE_HTTP) {
		/*
		 * This direction starts mid-stream: whether it is WebSocket
		 * or still HTTP is decided by its first bytes (session_data).
		 */
		s->midstream = true;
		return;
	}
	if (s->phase == WS_PHASE_HTTP && s->midstream && !s->upgrade_seen && !d->head_len) {
		/*
		 * Known bytes lost before a mid-stream direction's first ones
		 * (TLS plaintext written before its connection's first packet
		 * after start): said, and its first bytes still decide.
		 */
		ws_session_gap(s, d->dir, WST_GAP_STREAM, missing, true);
		return;
	}
	if (s->phase == WS_PHASE_IGNORE)
		return;
	if (s->phase == WS_PHASE_WS)
		lost = ws_frames_gap(s, d, missing);
	ws_session_gap(s, d->dir, WST_GAP_STREAM, missing, lost);
	if (s->phase == WS_PHASE_HTTP)
		ws_handshake_ignore(s); /* an HTTP head with a hole cannot be parsed */
}

/*
 * TLS seen on the wire: its hellos are read from the first byte of each
 * direction, unless the connection was picked up mid-stream (the
 * handshake went by before).
 */
static void tls_start(struct ws_session *s)
{
	if (s->tls || s->midstream || s->flow->midstream)
		return;
	s->tls = malloc(sizeof(*s->tls));
	if (!s->tls)
		return;
	tls_wire_init(&s->tls->w[WST_C2S], false);
	tls_wire_init(&s->tls->w[WST_S2C], true);
}

/* Whether the wire still has something to tell: the client's hello and
 * first encrypted record, the ServerHello. */
static bool tls_wants(const struct ws_session *s)
{
	const struct tls_wire *w;

	if (!s || !s->tls)
		return false;
	w = s->tls->w;
	return tls_wire_wants(&w[WST_C2S]) || (tls_wire_wants(&w[WST_S2C]) && !w[WST_S2C].hello_done);
}

/* The packet path's bytes: TLS on the wire is ciphertext, never decoded;
 * only its handshake is read. */
static void on_stream_data(void *ctx, const uint8_t *p, size_t len)
{
	struct ws_dir *d = ctx;
	struct ws_session *s = d->s;

	if (!s->flow->tls && !d->wire_seen) {
		d->wire_seen = true;
		/* HTTP starts with a letter and a frame with 0x14-0x17 is
		 * invalid (RSV3, reserved opcode): this is a TLS record */
		if (tls_record_start(p, len)) {
			s->flow->tls = true;
			s->layer->stats.tls_wire++;
			tls_start(s);
		}
	}
	if (s->flow->tls) {
		if (s->tls)
			tls_wire_feed(&s->tls->w[d->dir], p, len);
		return;
	}
	session_data(d, p, len);
}

static void on_stream_gap(void *ctx, uint64_t missing)
{
	struct ws_dir *d = ctx;

	if (!d->s->flow->tls)
		session_gap(d, missing);
	else if (d->s->tls)
		tls_wire_gap(&d->s->tls->w[d->dir]);
}

static const struct stream_ops stream_ops = { .data = on_stream_data, .gap = on_stream_gap };

static struct ws_session *session_get(struct ws_layer *l, struct wst_flow *f)
{
	struct ws_session *s = f->app;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->layer = l;
	s->flow = f;
	for (int dir = 0; dir < 2; dir++) {
		s->d[dir].s = s;
		s->d[dir].dir = dir;
	}
	f->app = s;
	l->stats.sessions++;
	return s;
}

/* Why a TLS connection's plaintext never came (kinds.h). */
static enum wst_tls_reason tls_reason(const struct ws_session *s)
{
	const struct tls_wire *c, *sv;
	bool c_data, s_data, done;

	if (s->layer->opts.tls_off)
		return WST_TLS_OFF;
	if (!s->tls)
		return WST_TLS_NO_PLAINTEXT; /* picked up mid-stream: after its handshake */
	c = &s->tls->w[WST_C2S];
	sv = &s->tls->w[WST_S2C];
	c_data = c->types & TLS_CT_BIT(TLS_CT_APPLICATION_DATA);
	s_data = sv->types & TLS_CT_BIT(TLS_CT_APPLICATION_DATA);
	/*
	 * The client encrypts once it has the server's flight: its Finished
	 * (TLS 1.3) or its data (1.2); early data comes before the
	 * ServerHello, hence the ServerHello too. Before 1.3 the server's
	 * data also says so.
	 */
	done = (c_data && (sv->hello_done || sv->error)) ||
	       (sv->hello_done && sv->hello.s.version < TLS_VERSION_1_3 && s_data);
	if (done)
		return WST_TLS_NO_PLAINTEXT;
	if ((c->alert_seen && c->alert_level == 2) || (sv->alert_seen && sv->alert_level == 2))
		return WST_TLS_HANDSHAKE_FAILED;
	return WST_TLS_HANDSHAKE_INCOMPLETE;
}

/* A TLS connection ends without its plaintext: said once, counted. */
static void tls_not_decrypted(struct ws_layer *l, struct ws_session *s)
{
	struct wst_event ev = { .u.tls = { .reason = tls_reason(s), .alert = -1 } };

	if (s->tls) {
		const struct tls_wire *w = s->tls->w;

		if (w[WST_C2S].hello_done)
			ev.u.tls.client = &w[WST_C2S].hello.c;
		if (w[WST_S2C].hello_done)
			ev.u.tls.server = &w[WST_S2C].hello.s;
		for (int dir = 0; dir < 2 && ev.u.tls.alert < 0; dir++)
			if (w[dir].alert_seen && w[dir].alert_level == 2) {
				ev.u.tls.alert = w[dir].alert_desc;
				ev.u.tls.alert_from = wst_initiator_of(dir);
			}
	}
	l->stats.tls_undecrypted++;
	l->stats.tls_not_decrypted[ev.u.tls.reason]++;
	ws_session_emit(s, &ev, WST_EV_TLS_NOT_DECRYPTED, WST_C2S);
}

static void session_end(struct ws_layer *l, struct ws_session *s, const struct wst_event *tcp)
{
	for (int dir = 0; dir < 2; dir++) {
		stream_flush(&s->d[dir].stream, &l->budget, &stream_ops, &s->d[dir]);
		ws_frames_end(s, &s->d[dir]);
	}
	ws_handshake_end(s);
	if (s->flow->tls && !s->decrypted)
		tls_not_decrypted(l, s);
	if (s->tls)
		for (int dir = 0; dir < 2; dir++) {
			struct tls_wire *w = &s->tls->w[dir];

			if (w->error)
				l->stats.tls_hello_errors[w->error - 1]++;
			tls_wire_release(w);
		}
	if (s->phase == WS_PHASE_WS) {
		struct wst_event ev = { 0 };
		bool closed = s->close_seen[0] || s->close_seen[1];

		/* To where the connection ended (before a reset linger's end). */
		uint64_t end = tcp->u.closed.end_ns && tcp->u.closed.end_ns < s->ts_ns ? tcp->u.closed.end_ns
										       : s->ts_ns;

		ev.u.session.duration_us = end > s->established_ns ? (end - s->established_ns) / 1000 : 0;
		for (int dir = 0; dir < 2; dir++) {
			ev.u.session.frames[dir] = s->frames[dir];
			ev.u.session.messages[dir] = s->messages[dir];
			ev.u.session.bytes[dir] = s->bytes[dir];
		}
		if (closed) {
			ev.u.session.how = WST_END_CLOSE;
			ev.u.session.code = s->close_code;
			ev.u.session.initiator = wst_initiator_of(s->close_first);
		} else if (tcp->u.closed.reason == WST_CLOSE_RST) {
			ev.u.session.how = WST_END_RESET;
			ev.u.session.code = 1006;
		} else if (tcp->u.closed.reason == WST_CLOSE_FIN) {
			ev.u.session.how = WST_END_ABNORMAL; /* TCP closed without a close frame: 1006 */
			ev.u.session.code = 1006;
		} else {
			ev.u.session.how = WST_END_END;
		}
		l->stats.active--;
		ws_session_emit(s, &ev, WST_EV_WS_SESSION_END, WST_C2S);
	}
	for (int dir = 0; dir < 2; dir++) {
		stream_release(&s->d[dir].stream, &l->budget);
		ws_frames_free(&s->d[dir]);
	}
	ws_handshake_free(s);
	free(s->tls);
	s->flow->app = NULL;
	free(s);
}

/* The packet path: the TCP tracker's events, each direction reassembled. */
void ws_layer_event(void *ctx, const struct wst_event *ev)
{
	struct ws_layer *l = ctx;
	const struct wst_packet *pkt = ev->pkt;
	struct ws_session *s;

	if (l->next.on_event)
		l->next.on_event(l->next.ctx, ev);

	if (ev->type == WST_EV_TCP_CLOSED) {
		ws_layer_end(l, ev);
		return;
	}
	/* Only what the tracker says belongs to the streams makes state: never
	 * a packet after tcp_closed, whose state nothing would free. */
	if (!wst_event_is_packet(ev->type) || !pkt || !ev->decode)
		return;
	if (pkt->r.payload_len == 0 && !(pkt->r.tcp_flags & WST_TCP_SYN) && !ev->flow->app)
		return; /* nothing to decode yet: no state for bare ACKs */
	/* TLS on the wire: its plaintext, if any, takes the byte path; the
	 * packets are read only for the handshake */
	if (ev->flow->tls && !tls_wants(ev->flow->app))
		return;
	s = session_get(l, ev->flow);
	if (!s || s->phase == WS_PHASE_IGNORE)
		return; /* not WebSocket: its bytes are not looked at again */
	s->pkt = pkt;
	s->ts_ns = ev->ts_ns;
	stream_segment(&s->d[ev->dir].stream, &l->budget, &stream_ops, &s->d[ev->dir], pkt->r.seq,
		       pkt->r.tcp_flags & WST_TCP_SYN, pkt->payload, pkt->r.cap_len, pkt->r.payload_len);
}

/* The byte path: a session for f, at ts_ns, with no packet. */
static struct ws_session *session_at(struct ws_layer *l, struct wst_flow *f, uint64_t ts_ns)
{
	struct ws_session *s = session_get(l, f);

	if (!s)
		return NULL;
	s->pkt = NULL;
	s->ts_ns = ts_ns;
	return s;
}

void ws_layer_tls(struct ws_layer *l, struct wst_flow *f, uint64_t ts_ns)
{
	struct ws_session *s = session_at(l, f, ts_ns);

	f->tls = true;
	if (s && !s->decrypted) {
		s->decrypted = true;
		l->stats.tls_decrypted++;
	}
}

void ws_layer_data(struct ws_layer *l, struct wst_flow *f, enum wst_flow_dir dir, uint64_t ts_ns,
		   const uint8_t *p, size_t len)
{
	struct ws_session *s = session_at(l, f, ts_ns);

	if (s && len)
		session_data(&s->d[dir], p, len);
}

void ws_layer_gap(struct ws_layer *l, struct wst_flow *f, enum wst_flow_dir dir, uint64_t ts_ns,
		  uint64_t missing)
{
	struct ws_session *s = session_at(l, f, ts_ns);

	if (s)
		session_gap(&s->d[dir], missing);
}

void ws_layer_end(struct ws_layer *l, const struct wst_event *closed)
{
	struct ws_session *s = closed->flow->app;

	if (!s)
		return;
	s->pkt = closed->pkt;
	s->ts_ns = closed->ts_ns;
	session_end(l, s, closed);
}
