// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_session.c - from TCP segments to WebSocket events (RFC 6455 sections 4
 * and 5, RFC 7692): stream reassembly, the HTTP upgrade, then one message
 * decoder per direction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tracking/flow.h"
#include "protocol/http_upgrade.h"
#include "protocol/ws_accept.h"
#include "protocol/ws_extensions.h"
#include "protocol/ws_message.h"
#include "ws_session.h"

enum ws_phase {
	WS_PHASE_HTTP,      /* waiting for the upgrade request and response */
	WS_PHASE_WS,        /* upgraded: frames */
	WS_PHASE_IGNORE,    /* not WebSocket (plain HTTP, garbage, failed upgrade) */
};

#define PING_SLOTS 4

struct ping_slot {
	uint64_t hash;     /* of the payload; 0 = free */
	uint64_t ts_ns;
};

struct ws_session;

/*
 * Memory: an idle connection should cost little. What only the handshake
 * needs lives behind a pointer freed once it is decided; a direction's
 * decoder exists only while it holds state (mid-frame, lost with bytes
 * to judge, or a compression context): between frames it is parked as a
 * few flags (ws_message_decoder_carry) and made again when bytes come.
 */

/* Callback context of one direction. */
struct ws_dir {
	struct ws_session *s;
	struct ws_message_decoder *dec; /* NULL while parked */
	struct ping_slot *pings;  /* PING_SLOTS pings this direction sent,
				   * from its first ping on */
	char *head;               /* HTTP head being accumulated */
	uint32_t head_len, head_alloc;
	uint8_t dir;              /* enum wst_flow_dir */
	uint8_t carry;            /* the parked decoder's flags */
	bool lost_pending;        /* the next decoder starts lost */
	/* permessage-deflate as negotiated for this direction's sender */
	bool deflate, no_context_takeover;
	uint8_t window_bits;
	struct stream_dir stream;
};

/* Until the upgrade is decided. */
struct ws_handshake {
	uint64_t request_ns;
	size_t key_len;
	char key[64];             /* Sec-WebSocket-Key, for the accept check */
};

struct ws_session {
	struct ws_layer *layer;
	struct wst_flow *flow;
	const struct wst_packet *pkt; /* the packet being decoded, or NULL */
	struct ws_handshake *hs;
	uint64_t ts_ns;
	uint64_t established_ns;
	uint8_t phase;            /* enum ws_phase */
	bool decoders_ready;      /* upgraded: directions configured */
	bool midstream;
	bool upgrade_seen;
	bool close_seen[2];
	uint8_t close_first;      /* enum wst_flow_dir */
	uint16_t close_code;
	uint64_t frames[2], messages[2], bytes[2];
	struct ws_dir d[2];
};

struct ws_layer {
	struct ws_layer_opts opts;
	struct wst_sink next;
	struct stream_budget budget;
	struct ws_stats stats;
};

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

const struct stream_budget *ws_layer_budget(const struct ws_layer *l)
{
	return &l->budget;
}

void ws_layer_free(struct ws_layer *l)
{
	free(l);
}

static void emit(struct ws_session *s, struct wst_event *ev, enum wst_event_type type, enum wst_flow_dir dir)
{
	ev->type = type;
	ev->ts_ns = s->ts_ns;
	ev->flow = s->flow;
	ev->dir = dir;
	ev->pkt = s->pkt;
	if (s->layer->next.on_event)
		s->layer->next.on_event(s->layer->next.ctx, ev);
}

static void emit_violation(struct ws_session *s, enum wst_flow_dir dir, const char *kind, uint64_t detail)
{
	struct wst_event ev = { .u.violation = { .kind = kind, .detail = detail } };

	s->layer->stats.violations++;
	emit(s, &ev, WST_EV_WS_VIOLATION, dir);
}

static void emit_loss(struct ws_session *s, enum wst_flow_dir dir, enum wst_event_type type,
		      const char *kind, uint64_t bytes, bool lost)
{
	struct wst_event ev = { .u.loss = { .kind = kind, .bytes = bytes, .boundary_lost = lost } };

	if (type == WST_EV_WS_GAP && !strcmp(kind, "stream")) {
		s->layer->stats.gaps++;
		s->layer->stats.gap_bytes += bytes;
	} else if (type == WST_EV_WS_GAP) {
		s->layer->stats.decode_losses++;
	} else {
		s->layer->stats.resyncs++;
		s->layer->stats.resync_bytes += bytes;
	}
	emit(s, &ev, type, dir);
}

/* FNV-1a: pings are matched to pongs by their payload (RFC 6455 5.5.3). */
static uint64_t payload_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h | 1; /* never 0, which marks a free slot */
}

/* Decoder callbacks: one direction's frames, messages, control frames. */

static void on_frame(void *ctx, const struct ws_frame_header *h, const uint8_t *payload,
		     size_t kept, bool truncated)
{
	struct ws_dir *d = ctx;
	struct ws_session *s = d->s;
	struct wst_event ev = { .u.frame = { .h = h, .payload = payload, .kept = kept, .truncated = truncated } };

	s->frames[d->dir]++;
	s->bytes[d->dir] += h->payload_len;
	s->layer->stats.frames[d->dir]++;
	s->layer->stats.bytes[d->dir] += h->payload_len;
	emit(s, &ev, WST_EV_WS_FRAME, d->dir);
}

/* The connection ended inside a frame: reported and counted all the same,
 * with the payload bytes that went by (not the length it declared). */
static void on_frame_incomplete(void *ctx, const struct ws_frame_header *h, const uint8_t *payload,
				size_t kept, uint64_t seen)
{
	struct ws_dir *d = ctx;
	struct ws_session *s = d->s;
	struct wst_event ev = { .u.frame = { .h = h, .payload = payload, .kept = kept, .truncated = true,
					     .incomplete = true, .seen = seen } };

	s->frames[d->dir]++;
	s->bytes[d->dir] += seen;
	s->layer->stats.frames[d->dir]++;
	s->layer->stats.bytes[d->dir] += seen;
	emit(s, &ev, WST_EV_WS_FRAME, d->dir);
}

static void on_message(void *ctx, const struct ws_message_info *m)
{
	struct ws_dir *d = ctx;
	struct ws_session *s = d->s;
	struct wst_event ev = { .u.message = m };

	s->messages[d->dir]++;
	s->layer->stats.messages[d->dir]++;
	emit(s, &ev, WST_EV_WS_MESSAGE, d->dir);
}

static void on_control(void *ctx, const struct ws_control_info *c)
{
	struct ws_dir *d = ctx;
	struct ws_session *s = d->s;
	struct wst_event ev = { .u.control = { .c = c, .rtt_us = -1 } };

	switch (c->opcode) {
	case WS_OP_PING: {
		struct ping_slot *slot;

		if (!d->pings)
			d->pings = calloc(PING_SLOTS, sizeof(*d->pings));
		if (!d->pings) {
			/* Not matched to its pong, still reported. */
			s->layer->stats.pings++;
			emit(s, &ev, WST_EV_WS_PING, d->dir);
			return;
		}
		slot = &d->pings[0];

		/* Keep the newest pings; the oldest slot is reused. */
		for (int i = 1; i < PING_SLOTS; i++)
			if (d->pings[i].ts_ns < slot->ts_ns)
				slot = &d->pings[i];
		slot->hash = payload_hash(c->payload, c->len);
		slot->ts_ns = s->ts_ns;
		s->layer->stats.pings++;
		emit(s, &ev, WST_EV_WS_PING, d->dir);
		return;
	}
	case WS_OP_PONG: {
		struct ws_dir *peer = &s->d[!d->dir];
		uint64_t hash = payload_hash(c->payload, c->len);

		for (int i = 0; peer->pings && i < PING_SLOTS; i++) {
			if (peer->pings[i].hash == hash && !c->truncated) {
				ev.u.control.rtt_us = (int64_t)((s->ts_ns - peer->pings[i].ts_ns) / 1000);
				peer->pings[i].hash = 0;
				s->layer->stats.rtt_matched++;
				break;
			}
		}
		s->layer->stats.pongs++;
		emit(s, &ev, WST_EV_WS_PONG, d->dir);
		return;
	}
	case WS_OP_CLOSE:
		if (!s->close_seen[0] && !s->close_seen[1]) {
			s->close_first = d->dir;
			s->close_code = c->close_code;
		}
		s->close_seen[d->dir] = true;
		ev.u.control.initiator = s->close_first == WST_C2S ? "client" : "server";
		s->layer->stats.closes++;
		emit(s, &ev, WST_EV_WS_CLOSE, d->dir);
		return;
	}
}

static void on_violation(void *ctx, enum ws_violation v, uint64_t detail)
{
	struct ws_dir *d = ctx;

	emit_violation(d->s, d->dir, ws_violation_name(v), detail);
}

static void on_loss(void *ctx, enum ws_loss l, uint64_t detail)
{
	struct ws_dir *d = ctx;

	switch (l) {
	case WS_LOSS_RESYNC:
		emit_loss(d->s, d->dir, WST_EV_WS_RESYNC, "resync", detail, false);
		break;
	case WS_LOSS_DEFLATE_CONTEXT:
	case WS_LOSS_NOT_INFLATED:
		emit_loss(d->s, d->dir, WST_EV_WS_GAP, ws_loss_name(l), detail, false);
		break;
	default:
		/* Stream gaps are reported where the stream reports them. */
		break;
	}
}

/* Configures both directions; their decoders come with their bytes. */
static void decoders_init(struct ws_session *s, const struct ws_deflate_params *dp)
{
	for (int dir = 0; dir < 2; dir++) {
		struct ws_dir *d = &s->d[dir];

		if (dp && dp->enabled) {
			d->deflate = true;
			d->no_context_takeover = dir == WST_C2S ? dp->client_no_context_takeover
								 : dp->server_no_context_takeover;
			d->window_bits = (uint8_t)(dir == WST_C2S ? dp->client_max_window_bits
								   : dp->server_max_window_bits);
		}
	}
	s->decoders_ready = true;
}

/* The direction's decoder, made (or made again after parking) if needed;
 * NULL before the upgrade or when memory is short. */
static struct ws_message_decoder *dec_get(struct ws_session *s, struct ws_dir *d)
{
	const struct ws_layer_opts *o = &s->layer->opts;
	struct ws_message_config cfg = {
		.is_client_side = d->dir == WST_C2S,
		.deflate = d->deflate,
		.no_context_takeover = d->no_context_takeover,
		.window_bits = d->window_bits,
		.max_frame_capture = o->max_frame_capture,
		.max_message_capture = o->max_message_capture,
		.max_inflate = o->max_inflate,
		.max_message_len = o->max_message,
	};
	struct ws_message_callbacks cb = {
		.on_frame = on_frame,
		.on_frame_incomplete = on_frame_incomplete,
		.on_message = on_message,
		.on_control = on_control,
		.on_violation = on_violation,
		.on_loss = on_loss,
		.ctx = d,
	};

	if (d->dec || !s->decoders_ready)
		return d->dec;
	d->dec = malloc(sizeof(*d->dec));
	if (!d->dec)
		goto lost;
	if (ws_message_decoder_init(d->dec, &cfg, &cb)) {
		/* Only a bad window_bits fails, and the extension parser
		 * keeps those out; decode nothing rather than guess. */
		free(d->dec);
		d->dec = NULL;
		goto lost;
	}
	ws_message_decoder_resume(d->dec, d->carry);
	if (d->lost_pending)
		ws_message_decoder_set_lost(d->dec);
	d->lost_pending = false;
	return d->dec;
lost:
	/* These bytes are not decoded: whatever comes next starts lost. */
	d->lost_pending = true;
	return NULL;
}

/* Frees the direction's decoder if it holds nothing but a few flags. */
static void dec_park(struct ws_dir *d)
{
	if (!d->dec || !ws_message_decoder_parkable(d->dec))
		return;
	d->carry = ws_message_decoder_carry(d->dec);
	ws_message_decoder_free(d->dec);
	free(d->dec);
	d->dec = NULL;
}

static void dec_free(struct ws_dir *d)
{
	if (!d->dec)
		return;
	ws_message_decoder_free(d->dec);
	free(d->dec);
	d->dec = NULL;
}

static void hs_free(struct ws_session *s)
{
	free(s->hs);
	s->hs = NULL;
}

static void head_free(struct ws_dir *d)
{
	free(d->head);
	d->head = NULL;
	d->head_len = 0;
	d->head_alloc = 0;
}

static void to_ignore(struct ws_session *s)
{
	s->phase = WS_PHASE_IGNORE;
	head_free(&s->d[0]);
	head_free(&s->d[1]);
	hs_free(s);
}

/*
 * Appends to the direction's HTTP head buffer; false when over the bound.
 * The buffer grows with the head (a few hundred bytes, usually) rather
 * than taking the bound at once: many handshakes at a time should not
 * each touch pages they never use.
 */
static bool head_append(struct ws_dir *d, const uint8_t *p, size_t len)
{
	size_t want, sz = d->head_alloc;
	char *n;

	if (d->head_len + len > HTTP_MAX_HEAD + 1)
		len = HTTP_MAX_HEAD + 1 - d->head_len; /* enough for the parser to say "too long" */
	want = d->head_len + len;
	if (want > sz) {
		sz = sz ? sz : 512;
		while (sz < want)
			sz *= 2;
		if (sz > HTTP_MAX_HEAD + 1)
			sz = HTTP_MAX_HEAD + 1;
		n = realloc(d->head, sz);
		if (!n)
			return false;
		d->head = n;
		d->head_alloc = (uint32_t)sz;
	}
	if (len)
		memcpy(d->head + d->head_len, p, len);
	d->head_len += (uint32_t)len;
	return true;
}

static const char *http_error_kind(int err)
{
	switch (err) {
	case HTTP_ERR_TOO_LONG: return "http_too_long";
	case HTTP_ERR_VERSION: return "http_version";
	default: return "http_syntax";
	}
}

static void feed_decoder(struct ws_session *s, enum wst_flow_dir dir, const uint8_t *p, size_t len)
{
	struct ws_dir *d = &s->d[dir];

	if (!len || !dec_get(s, d))
		return;
	ws_message_decoder_feed(d->dec, p, len);
	dec_park(d);
}

static void parse_request(struct ws_session *s)
{
	struct ws_dir *d = &s->d[WST_C2S];
	struct http_request *req = malloc(sizeof(*req));
	struct wst_event ev = { 0 };
	int n;

	if (!req)
		return;
	n = http_parse_request(d->head, d->head_len, req);
	if (n == HTTP_INCOMPLETE)
		goto out;
	if (n < 0) {
		s->layer->stats.not_http++;
		emit_violation(s, WST_C2S, http_error_kind(n), (uint64_t)d->head_len);
		to_ignore(s);
		goto out;
	}
	ev.u.upgrade.req = req;
	if (!req->upgrade_attempt) {
		/* Plain HTTP on the port: reported, then ignored. */
		s->layer->stats.http_requests++;
		emit(s, &ev, WST_EV_HTTP_REQUEST, WST_C2S);
		to_ignore(s);
		goto out;
	}
	s->upgrade_seen = true;
	if (!s->hs)
		s->hs = calloc(1, sizeof(*s->hs));
	if (s->hs)
		s->hs->request_ns = s->ts_ns;
	s->layer->stats.upgrades++;
	ev.u.upgrade.check = http_check_upgrade(req, &ev.u.upgrade.why);
	if (s->hs && req->ws_key.len && req->ws_key.len <= sizeof(s->hs->key)) {
		memcpy(s->hs->key, req->ws_key.p, req->ws_key.len);
		s->hs->key_len = req->ws_key.len;
	}
	emit(s, &ev, WST_EV_WS_UPGRADE, WST_C2S);
	if (ev.u.upgrade.check != HTTP_UPG_OK)
		emit_violation(s, WST_C2S, http_upgrade_check_name(ev.u.upgrade.check), 0);
	/* Bytes after the head wait in the buffer for the 101. */
	memmove(d->head, d->head + n, d->head_len - (size_t)n);
	d->head_len -= (size_t)n;
out:
	free(req);
}

static void parse_response(struct ws_session *s)
{
	struct ws_dir *d = &s->d[WST_S2C];
	struct http_response *resp = malloc(sizeof(*resp));
	struct wst_event ev = { 0 };
	struct ws_deflate_params dp;
	const char *why = NULL;
	int n, ext;

	if (!resp)
		return;
	n = http_parse_response(d->head, d->head_len, resp);
	if (n == HTTP_INCOMPLETE)
		goto out;
	if (n < 0) {
		s->layer->stats.not_http++;
		emit_violation(s, WST_S2C, http_error_kind(n), (uint64_t)d->head_len);
		to_ignore(s);
		goto out;
	}
	ev.u.response.resp = resp;
	ev.u.response.request_seen = s->upgrade_seen;
	ev.u.response.latency_us = s->hs && s->ts_ns > s->hs->request_ns ?
				   (s->ts_ns - s->hs->request_ns) / 1000 : 0;
	if (resp->status != 101) {
		s->layer->stats.upgrade_failed++;
		ev.u.response.accept = "unchecked";
		ev.u.response.accept_check = WS_ACC_NOT_101;
		emit(s, &ev, WST_EV_WS_UPGRADE_FAILED, WST_S2C);
		to_ignore(s);
		goto out;
	}
	if (s->hs && s->hs->key_len) {
		ev.u.response.accept_check = ws_accept_check_response(resp,
			(struct http_str){ s->hs->key, s->hs->key_len }, &ev.u.response.why);
		ev.u.response.accept = ev.u.response.accept_check == WS_ACC_OK ? "ok"
				       : resp->ws_accept.len ? "mismatch" : "missing";
	} else {
		ev.u.response.accept = "unchecked"; /* the request was not seen */
	}
	ext = ws_extensions_parse_response(resp->ws_extensions, &dp, &why);
	ev.u.response.deflate = dp.enabled;
	s->phase = WS_PHASE_WS;
	s->established_ns = s->ts_ns;
	s->layer->stats.established++;
	s->layer->stats.active++;
	emit(s, &ev, WST_EV_WS_ESTABLISHED, WST_S2C);
	if (s->hs && s->hs->key_len && ev.u.response.accept_check != WS_ACC_OK)
		emit_violation(s, WST_S2C, ws_accept_check_name(ev.u.response.accept_check), 0);
	if (ext < 0 || ext == WS_EXT_UNKNOWN)
		emit_violation(s, WST_S2C, ext == WS_EXT_UNKNOWN ? "extension_unknown" : "extension_invalid", 0);
	hs_free(s);
	decoders_init(s, &dp);
	/* What followed each head is the first frame data. */
	feed_decoder(s, WST_C2S, (const uint8_t *)s->d[WST_C2S].head, s->d[WST_C2S].head_len);
	feed_decoder(s, WST_S2C, (const uint8_t *)d->head + n, d->head_len - (size_t)n);
	head_free(&s->d[WST_C2S]);
	head_free(d);
out:
	free(resp);
}

static bool looks_like_http(enum wst_flow_dir dir, const uint8_t *p, size_t len)
{
	static const char *const starts[] = { "GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "DELETE " };

	if (dir == WST_S2C)
		return len >= 5 && memcmp(p, "HTTP/", 5) == 0;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		size_t n = strlen(starts[i]);

		if (len >= n && memcmp(p, starts[i], n) == 0)
			return true;
	}
	return false;
}

/* Picks up a connection whose handshake was not seen. */
static void start_midstream(struct ws_session *s)
{
	/*
	 * The extensions are unknown: allow RSV1 as permessage-deflate would,
	 * or compressed frames look implausible and resync latches onto bytes
	 * inside payloads. The decoder reports the lost compression context
	 * at the first compressed message.
	 */
	struct ws_deflate_params dp = { .enabled = true, .server_max_window_bits = 15,
					.client_max_window_bits = 15 };

	decoders_init(s, &dp);
	hs_free(s);
	s->phase = WS_PHASE_WS;
	s->established_ns = s->flow->first_ns;
	s->layer->stats.midstream++;
	s->layer->stats.active++;
	for (int dir = 0; dir < 2; dir++) {
		/* Set when the direction's first bytes make its decoder. */
		s->d[dir].lost_pending = true;
		emit_loss(s, dir, WST_EV_WS_GAP, "stream", 0, true);
	}
}

static void on_stream_data(void *ctx, const uint8_t *p, size_t len)
{
	struct ws_dir *d = ctx;
	struct ws_session *s = d->s;

	if (s->phase == WS_PHASE_HTTP && s->midstream && !s->upgrade_seen && !d->head_len &&
	    !looks_like_http(d->dir, p, len))
		start_midstream(s);
	switch (s->phase) {
	case WS_PHASE_HTTP:
		if (d->dir == WST_S2C && !s->d[WST_C2S].head_len && !s->upgrade_seen && !s->midstream) {
			/* The server spoke first: not an HTTP upgrade. */
			s->layer->stats.not_http++;
			emit_violation(s, WST_S2C, "server_spoke_first", len);
			to_ignore(s);
			return;
		}
		if (!head_append(d, p, len)) {
			to_ignore(s);
			return;
		}
		if (d->dir == WST_C2S && !s->upgrade_seen)
			parse_request(s);
		else if (d->dir == WST_S2C)
			parse_response(s);
		else if (d->head_len > HTTP_MAX_HEAD)
			to_ignore(s); /* client data before the 101, beyond the bound */
		return;
	case WS_PHASE_WS:
		feed_decoder(s, d->dir, p, len);
		return;
	case WS_PHASE_IGNORE:
		return;
	}
}

static void on_stream_gap(void *ctx, uint64_t missing)
{
	struct ws_dir *d = ctx;
	struct ws_session *s = d->s;
	bool lost = true;

	if (missing == 0 && s->phase == WS_PHASE_HTTP) {
		/*
		 * This direction starts mid-stream: whether it is WebSocket
		 * or still HTTP is decided by its first bytes (on_stream_data).
		 */
		s->midstream = true;
		return;
	}
	if (s->phase == WS_PHASE_IGNORE)
		return;
	if (s->phase == WS_PHASE_WS && s->decoders_ready) {
		if (!d->dec) {
			/* Parked between frames: any gap loses the boundary,
			 * as it would for the decoder (ws_frame_decoder_gap). */
			d->lost_pending = true;
		} else if (missing == 0) {
			ws_message_decoder_set_lost(d->dec);
		} else {
			lost = ws_message_decoder_gap(d->dec, missing) != 0;
			dec_park(d);
		}
	}
	emit_loss(s, d->dir, WST_EV_WS_GAP, "stream", missing, lost);
	if (s->phase == WS_PHASE_HTTP)
		to_ignore(s); /* an HTTP head with a hole cannot be parsed */
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

static void session_end(struct ws_layer *l, struct ws_session *s, const struct wst_event *tcp)
{
	for (int dir = 0; dir < 2; dir++) {
		stream_flush(&s->d[dir].stream, &l->budget, &stream_ops, &s->d[dir]);
		/* A frame or message still open ends here, said and counted. */
		if (s->d[dir].dec)
			ws_message_decoder_end(s->d[dir].dec);
		/* Bytes skipped while looking for frames, never confirmed: say so. */
		if (s->d[dir].dec && ws_message_decoder_pending_skip(s->d[dir].dec))
			emit_loss(s, dir, WST_EV_WS_GAP, "unsynced_at_end",
				  ws_message_decoder_pending_skip(s->d[dir].dec), true);
	}
	if (s->phase == WS_PHASE_HTTP && (s->d[WST_C2S].head_len || s->d[WST_S2C].head_len)) {
		/* Bytes that never made a whole HTTP head: not decoded, and said so. */
		s->layer->stats.not_http++;
		emit_violation(s, s->d[WST_C2S].head_len ? WST_C2S : WST_S2C, "http_incomplete",
			       s->d[WST_C2S].head_len + s->d[WST_S2C].head_len);
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
			ev.u.session.how = "close";
			ev.u.session.code = s->close_code;
			ev.u.session.initiator = s->close_first == WST_C2S ? "client" : "server";
		} else if (tcp->u.closed.reason == WST_CLOSE_RST) {
			ev.u.session.how = "reset";
			ev.u.session.code = 1006;
		} else if (tcp->u.closed.reason == WST_CLOSE_FIN) {
			ev.u.session.how = "abnormal"; /* TCP closed without a close frame: 1006 */
			ev.u.session.code = 1006;
		} else {
			ev.u.session.how = "end";
		}
		l->stats.active--;
		emit(s, &ev, WST_EV_WS_SESSION_END, WST_C2S);
	}
	for (int dir = 0; dir < 2; dir++) {
		stream_release(&s->d[dir].stream, &l->budget);
		head_free(&s->d[dir]);
		dec_free(&s->d[dir]);
		free(s->d[dir].pings);
	}
	hs_free(s);
	s->flow->app = NULL;
	free(s);
}

void ws_layer_event(void *ctx, const struct wst_event *ev)
{
	struct ws_layer *l = ctx;
	const struct wst_packet *pkt = ev->pkt;
	struct ws_session *s;

	if (l->next.on_event)
		l->next.on_event(l->next.ctx, ev);

	if (ev->type == WST_EV_TCP_CLOSED) {
		s = ev->flow->app;
		if (s) {
			s->pkt = pkt;
			s->ts_ns = ev->ts_ns;
			session_end(l, s, ev);
		}
		return;
	}
	/* Only what the tracker says belongs to the streams makes state: never
	 * a packet after tcp_closed, whose state nothing would free. */
	if (!wst_event_is_packet(ev->type) || !pkt || !ev->decode)
		return;
	if (pkt->r.payload_len == 0 && !(pkt->r.tcp_flags & WST_TCP_SYN) && !ev->flow->app)
		return; /* nothing to decode yet: no state for bare ACKs */
	s = session_get(l, ev->flow);
	if (!s || s->phase == WS_PHASE_IGNORE)
		return; /* not WebSocket: its bytes are not looked at again */
	s->pkt = pkt;
	s->ts_ns = ev->ts_ns;
	stream_segment(&s->d[ev->dir].stream, &l->budget, &stream_ops, &s->d[ev->dir], pkt->r.seq,
		       pkt->r.tcp_flags & WST_TCP_SYN, pkt->payload, pkt->r.cap_len, pkt->r.payload_len);
}
