// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_frames.c - the frames of an upgraded connection (RFC 6455 section 5,
 * RFC 7692): one message decoder per direction, made when bytes come and
 * parked between frames, whose callbacks become the session's events and
 * counts; pings matched to their pongs; who closed first.
 */
#include <stdlib.h>

#include "ws_session_internal.h"

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

/* Frames, messages and payload bytes of a direction, in the session and the layer. */
static inline void add_counts(struct ws_dir *d, uint64_t frames, uint64_t messages, uint64_t bytes)
{
	struct ws_session *s = d->s;
	struct ws_stats *st = &s->layer->stats;

	s->frames[d->dir] += frames;
	s->messages[d->dir] += messages;
	s->bytes[d->dir] += bytes;
	st->frames[d->dir] += frames;
	st->messages[d->dir] += messages;
	st->bytes[d->dir] += bytes;
}

/* Decoder callbacks: one direction's frames, messages, control frames. */

static void on_frame(void *ctx, const struct ws_frame_header *h, const uint8_t *payload,
		     size_t kept, bool truncated)
{
	struct ws_dir *d = ctx;
	struct ws_session *s = d->s;
	struct wst_event ev; /* once a frame: set field by field (event.h) */

	add_counts(d, 1, 0, h->payload_len);
	if (s->layer->no_frame_events)
		return;
	ev.u.frame.h = h;
	ev.u.frame.payload = payload;
	ev.u.frame.kept = kept;
	ev.u.frame.truncated = truncated;
	ev.u.frame.incomplete = false;
	ev.u.frame.seen = 0;
	ws_session_emit(s, &ev, WST_EV_WS_FRAME, d->dir);
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

	add_counts(d, 1, 0, seen);
	ws_session_emit(s, &ev, WST_EV_WS_FRAME, d->dir);
}

static void on_message(void *ctx, const struct ws_message_info *m)
{
	struct ws_dir *d = ctx;
	struct ws_session *s = d->s;
	struct wst_event ev; /* once a message: set field by field (event.h) */

	add_counts(d, 0, 1, 0);
	if (s->layer->no_frame_events)
		return;
	ev.u.message = m;
	ws_session_emit(s, &ev, WST_EV_WS_MESSAGE, d->dir);
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
			ws_session_emit(s, &ev, WST_EV_WS_PING, d->dir);
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
		ws_session_emit(s, &ev, WST_EV_WS_PING, d->dir);
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
		ws_session_emit(s, &ev, WST_EV_WS_PONG, d->dir);
		return;
	}
	case WS_OP_CLOSE:
		if (!s->close_seen[0] && !s->close_seen[1]) {
			s->close_first = d->dir;
			s->close_code = c->close_code;
		}
		s->close_seen[d->dir] = true;
		ev.u.control.initiator = wst_initiator_of(s->close_first);
		s->layer->stats.closes++;
		ws_session_emit(s, &ev, WST_EV_WS_CLOSE, d->dir);
		return;
	}
}

static void on_violation(void *ctx, enum ws_violation v, uint64_t detail)
{
	struct ws_dir *d = ctx;

	ws_session_violation(d->s, d->dir, v, detail);
}

static void on_loss(void *ctx, enum ws_loss l, uint64_t detail)
{
	struct ws_dir *d = ctx;

	switch (l) {
	case WS_LOSS_RESYNC:
		ws_session_resync(d->s, d->dir, detail);
		break;
	case WS_LOSS_DEFLATE_CONTEXT:
		ws_session_gap(d->s, d->dir, WST_GAP_DEFLATE_CONTEXT_LOST, detail, false);
		break;
	case WS_LOSS_NOT_INFLATED:
		ws_session_gap(d->s, d->dir, WST_GAP_NOT_INFLATED, detail, false);
		break;
	default:
		/* Stream gaps are reported where the stream reports them. */
		break;
	}
}

/* Configures both directions; their decoders come with their bytes. */
void ws_frames_init(struct ws_session *s, const struct ws_deflate_params *dp)
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

/* The counts of what the decoder tallied instead of calling back. */
static void take_tally(struct ws_dir *d)
{
	struct ws_message_tally *t = &d->dec->tally;

	if (!t->frames)
		return;
	add_counts(d, t->frames, t->messages, t->bytes);
	*t = (struct ws_message_tally){ 0 };
}

static void kept_remove(struct ws_dir *d)
{
	if (!d->kept)
		return;
	d->s->layer->kept[d->kept - 1] = NULL;
	d->kept = 0;
}

/* Frees the direction's decoder if it holds nothing but a few flags. */
static void dec_park(struct ws_dir *d)
{
	if (!d->dec || !ws_message_decoder_parkable(d->dec))
		return;
	kept_remove(d);
	d->carry = ws_message_decoder_carry(d->dec);
	ws_message_decoder_free(d->dec);
	free(d->dec);
	d->dec = NULL;
}

static void dec_free(struct ws_dir *d)
{
	if (!d->dec)
		return;
	kept_remove(d);
	ws_message_decoder_free(d->dec);
	free(d->dec);
	d->dec = NULL;
}

/*
 * After bytes or a gap: a parkable decoder is kept made (in the slot of
 * the oldest kept one, which is parked), one holding state is not in a
 * slot.
 */
static void dec_settle(struct ws_dir *d)
{
	struct ws_layer *l = d->s->layer;
	struct ws_dir *oldest;
	uint32_t i;

	if (!ws_message_decoder_parkable(d->dec)) {
		kept_remove(d);
		return;
	}
	if (d->kept)
		return;
	i = l->kept_hand++ % WS_KEPT_DECODERS;
	oldest = l->kept[i];
	if (oldest) {
		/* Out of its slot first: parked if it still may be. */
		oldest->kept = 0;
		dec_park(oldest);
	}
	l->kept[i] = d;
	d->kept = (uint8_t)(i + 1);
}

void ws_frames_feed(struct ws_session *s, enum wst_flow_dir dir, const uint8_t *p, size_t len)
{
	struct ws_dir *d = &s->d[dir];

	if (!len || !dec_get(s, d))
		return;
	/* Nothing reads frame or message events: whole ones are counted in
	 * a tally, taken here once per packet instead of twice per frame. */
	ws_message_decoder_count_only(d->dec, s->layer->no_frame_events);
	ws_message_decoder_feed(d->dec, p, len);
	take_tally(d);
	dec_settle(d);
}

bool ws_frames_gap(struct ws_session *s, struct ws_dir *d, uint64_t missing)
{
	bool lost = true;

	if (!s->decoders_ready)
		return lost;
	if (!d->dec) {
		/* Parked between frames: any gap loses the boundary,
		 * as it would for the decoder (ws_frame_decoder_gap). */
		d->lost_pending = true;
	} else {
		if (missing == 0)
			ws_message_decoder_set_lost(d->dec);
		else
			lost = ws_message_decoder_gap(d->dec, missing) != 0;
		dec_settle(d);
	}
	return lost;
}

void ws_frames_end(struct ws_session *s, struct ws_dir *d)
{
	if (!d->dec)
		return;
	/* A frame or message still open ends here, said and counted. */
	ws_message_decoder_end(d->dec);
	/* Bytes skipped while looking for frames, never confirmed: say so. */
	if (ws_message_decoder_pending_skip(d->dec))
		ws_session_gap(s, d->dir, WST_GAP_UNSYNCED_AT_END,
				ws_message_decoder_pending_skip(d->dec), true);
}

void ws_frames_free(struct ws_dir *d)
{
	dec_free(d);
	free(d->pings);
	d->pings = NULL;
}
