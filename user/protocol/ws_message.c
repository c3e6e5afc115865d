// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_message.c - message assembly (RFC 6455 5.4, 5.6, 8.1) and
 * permessage-deflate (RFC 7692 6 and 7.2.2) for one direction.
 *
 * With context takeover every compressed message depends on all earlier
 * ones. So once any compressed byte is not inflated (a gap, lost frame
 * boundaries, an inflate error, or the inflate cap stopping a message half
 * way) the window is wrong for good: the direction is marked deflate_lost,
 * reported once as WS_LOSS_DEFLATE_CONTEXT, and later compressed messages
 * are delivered uninflated (WS_LOSS_NOT_INFLATED) rather than decoded
 * wrongly. Without context takeover each message starts afresh, so only
 * the message concerned is affected.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ws_message.h"

/* A message buffer larger than this is freed once its message is
 * delivered: an idle connection should not hold its largest message. */
#define WS_MESSAGE_BUF_KEEP 1024
/* The first allocation of a message buffer, at least. */
#define WS_MESSAGE_BUF_MIN 64

const char *ws_loss_name(enum ws_loss l)
{
	switch (l) {
	case WS_LOSS_NONE: return "none";
	case WS_LOSS_GAP_IN_FRAME: return "gap_in_frame";
	case WS_LOSS_STREAM_LOST: return "stream_lost";
	case WS_LOSS_RESYNC: return "resync";
	case WS_LOSS_DEFLATE_CONTEXT: return "deflate_context_lost";
	case WS_LOSS_NOT_INFLATED: return "not_inflated";
	case WS_LOSS_MAX: break;
	}
	return "unknown";
}

static void violation(struct ws_message_decoder *m, enum ws_violation v,
		      uint64_t detail)
{
	if (m->cb.on_violation)
		m->cb.on_violation(m->cb.ctx, v, detail);
}

static void loss(struct ws_message_decoder *m, enum ws_loss l, uint64_t detail)
{
	if (m->cb.on_loss)
		m->cb.on_loss(m->cb.ctx, l, detail);
}

/* Some compressed bytes will never be inflated. */
static void deflate_broken(struct ws_message_decoder *m)
{
	m->inflating = false;
	if (m->cfg.no_context_takeover || m->deflate_lost)
		return;
	m->deflate_lost = true;
	/* The window is wrong for good: nothing will be inflated again. */
	ws_deflate_free(&m->dfl);
	/* Said when a compressed message comes: a session that never
	 * compresses again (or never did: picked up mid-way) lost nothing. */
	m->deflate_loss_pending = true;
}

/*
 * Makes room for `want` kept bytes, growing geometrically up to
 * max_message_capture. Returns the room there is: less than asked if
 * memory is short (the message is then delivered truncated).
 */
static size_t buf_reserve(struct ws_message_decoder *m, size_t want)
{
	size_t cap = m->cfg.max_message_capture, sz = m->buf_alloc;
	uint8_t *n;

	if (want <= sz)
		return sz;
	sz = sz ? sz : WS_MESSAGE_BUF_MIN;
	while (sz < want && sz < cap)
		sz = sz > cap / 2 ? cap : sz * 2;
	if (sz > cap)
		sz = cap;
	n = realloc(m->buf, sz);
	if (!n)
		return m->buf_alloc;
	m->buf = n;
	m->buf_alloc = sz;
	return sz;
}

/* Message bytes, after inflation if any. */
static void append(struct ws_message_decoder *m, const uint8_t *p, size_t n)
{
	size_t cap = m->cfg.max_message_capture;

	if (!m->hole && m->kept < cap) {
		size_t c = cap - m->kept < n ? cap - m->kept : n;
		size_t room = buf_reserve(m, m->kept + c);

		if (c > room - m->kept)
			c = room - m->kept;

		memcpy(m->buf + m->kept, p, c);
		m->kept += c;
	}
	if (m->utf8_on && !m->utf8_bad && !utf8_feed(&m->u8, p, n)) {
		m->utf8_bad = true;
		violation(m, WS_VIOL_INVALID_UTF8, m->u8.count);
	}
	m->total += n;
	if (m->cfg.max_message_len && !m->too_big &&
	    m->total > m->cfg.max_message_len) {
		m->too_big = true;
		violation(m, WS_VIOL_MESSAGE_TOO_BIG, m->cfg.max_message_len);
	}
}

static void inflate_sink(void *ctx, const uint8_t *p, size_t n)
{
	append(ctx, p, n);
}

static void inflate_result(struct ws_message_decoder *m, int r)
{
	if (r == 0)
		return;
	if (r == -WS_DEFLATE_E_TOO_BIG)
		violation(m, WS_VIOL_INFLATE_TOO_BIG, m->dfl.max_out);
	else if (r == -WS_DEFLATE_E_DATA)
		violation(m, WS_VIOL_INFLATE_ERROR, 0);
	deflate_broken(m);
}

static void start_message(struct ws_message_decoder *m, uint8_t opcode,
			  bool compressed)
{
	m->in_msg = true;
	m->cur_msg_frame = true;
	m->opcode = opcode;
	m->compressed = compressed;
	m->inflating = false;
	m->incomplete = false;
	m->hole = false;
	m->utf8_on = opcode == WS_OP_TEXT;
	m->utf8_bad = false;
	m->too_big = false;
	utf8_init(&m->u8);
	m->kept = 0;
	m->total = 0;
	m->wire = 0;
	m->frames = 0;
	/* The window was lost before this message: don't even try. */
	m->skipped_inflate = compressed && m->deflate_lost;
	if (m->skipped_inflate && m->deflate_loss_pending) {
		m->deflate_loss_pending = false;
		loss(m, WS_LOSS_DEFLATE_CONTEXT, 0);
	}
	if (compressed && !m->deflate_lost) {
		m->inflating = true;
		/* zlib state (about 7 KiB, and the 32 KiB window once used)
		 * only from the first compressed message on. */
		if ((!m->dfl.ready &&
		     ws_deflate_init(&m->dfl, m->cfg.window_bits,
				     m->cfg.no_context_takeover,
				     m->cfg.max_inflate)) ||
		    ws_deflate_begin(&m->dfl))
			deflate_broken(m);
	}
}

static void end_message(struct ws_message_decoder *m)
{
	struct ws_message_info info = { 0 };
	bool whole_text;

	if (m->compressed && m->inflating && !m->incomplete)
		inflate_result(m, ws_deflate_end(&m->dfl, inflate_sink, m));
	if (m->skipped_inflate)
		loss(m, WS_LOSS_NOT_INFLATED, m->wire);
	/* 8.1: a text message must not end inside a code point. */
	whole_text = m->utf8_on && !m->incomplete &&
		     (!m->compressed || m->inflating);
	if (whole_text && !m->utf8_bad && !utf8_complete(&m->u8)) {
		m->utf8_bad = true;
		violation(m, WS_VIOL_INVALID_UTF8, m->u8.count);
	}

	info.opcode = m->opcode;
	info.data = m->buf;
	info.kept = m->kept;
	info.total_len = m->total;
	info.wire_len = m->wire;
	info.frames = m->frames;
	info.compressed = m->compressed;
	info.inflated = m->compressed && m->inflating && !m->incomplete;
	info.incomplete = m->incomplete;
	info.truncated = m->incomplete || m->kept < m->total ||
			 (m->compressed && !info.inflated);
	info.utf8_valid = !m->utf8_bad;
	m->in_msg = false;
	m->cur_msg_frame = false;
	if (m->cb.on_message)
		m->cb.on_message(m->cb.ctx, &info);
	if (m->buf_alloc > WS_MESSAGE_BUF_KEEP) {
		free(m->buf);
		m->buf = NULL;
		m->buf_alloc = 0;
	}
	/* Without context takeover nothing carries over to the next
	 * message: no zlib state is held between messages. */
	if (m->cfg.no_context_takeover)
		ws_deflate_free(&m->dfl);
}

/* Bytes of the message in progress are missing. */
static void message_gap(struct ws_message_decoder *m, uint64_t missing)
{
	m->incomplete = true;
	m->hole = true;
	m->utf8_on = false;
	m->wire += missing;
	if (!m->compressed)
		m->total += missing;
	if (m->compressed && m->inflating)
		deflate_broken(m);
}

/*
 * RFC 6455 10.4: a limit on message size. Judged on the lengths the
 * frames declare, so a frame claiming more than the limit is reported at
 * its header, not after the limit's worth of bytes (or never).
 */
static void check_declared_size(struct ws_message_decoder *m,
				const struct ws_frame_header *h)
{
	uint64_t max = m->cfg.max_message_len;

	if (!max || m->too_big)
		return;
	if (m->wire > max || h->payload_len > max - m->wire) {
		m->too_big = true;
		violation(m, WS_VIOL_MESSAGE_TOO_BIG, max);
	}
}

static void fr_start(void *ctx, const struct ws_frame_header *h)
{
	struct ws_message_decoder *m = ctx;

	m->cur_msg_frame = false;
	m->frame_pos = 0;
	if (ws_opcode_is_control(h->opcode) || ws_opcode_is_reserved(h->opcode))
		return;
	if (m->close_seen)
		violation(m, WS_VIOL_DATA_AFTER_CLOSE, h->opcode);
	if (h->opcode == WS_OP_CONT) {
		if (!m->in_msg) {
			/* After a loss the start may have been in the gap. */
			if (!m->after_loss)
				violation(m, WS_VIOL_CONTINUATION_WITHOUT_START, 0);
			start_message(m, WS_OP_CONT, false);
			m->incomplete = m->after_loss;
			m->utf8_on = false;
		}
		m->cur_msg_frame = true;
		m->frames++;
		check_declared_size(m, h);
		return;
	}
	if (m->in_msg) {
		/* 5.4: fragments of one message are not interleaved. */
		if (m->opcode != WS_OP_CONT || !m->incomplete)
			violation(m, WS_VIOL_DATA_FRAME_IN_FRAGMENTED_MESSAGE,
				  h->opcode);
		m->incomplete = true;
		if (m->compressed && m->inflating)
			deflate_broken(m);
		end_message(m);
	}
	m->after_loss = false;
	start_message(m, h->opcode, h->rsv1 && m->cfg.deflate);
	m->frames++;
	check_declared_size(m, h);
}

static void fr_data(void *ctx, const struct ws_frame_header *h,
		    const uint8_t *data, size_t len, uint64_t offset)
{
	struct ws_message_decoder *m = ctx;

	(void)h;
	if (!m->cur_msg_frame)
		return;
	/* Offsets jump over payload bytes that were never handed out. */
	if (offset > m->frame_pos)
		message_gap(m, offset - m->frame_pos);
	m->frame_pos = offset + len;
	m->wire += len;
	if (!m->compressed)
		append(m, data, len);
	else if (m->inflating)
		inflate_result(m, ws_deflate_inflate(&m->dfl, data, len,
						     inflate_sink, m));
}

static void fr_control(struct ws_message_decoder *m,
		       const struct ws_frame_header *h, const uint8_t *payload,
		       size_t kept, bool truncated)
{
	struct ws_control_info c = {
		.h = h,
		.opcode = h->opcode,
		.payload = payload,
		.len = kept,
		.truncated = truncated,
		.in_fragmented_message = m->in_msg,
	};

	if (h->opcode == WS_OP_CLOSE) {
		m->close_seen = true;
		if (!truncated) {
			c.close_parsed = true;
			c.close_valid = ws_close_parse(payload, kept,
						       &c.close_code, &c.reason,
						       &c.reason_len) == 0;
		}
	}
	if (m->cb.on_control)
		m->cb.on_control(m->cb.ctx, &c);
}

static void fr_end(void *ctx, const struct ws_frame_header *h,
		   const uint8_t *payload, size_t kept, bool truncated)
{
	struct ws_message_decoder *m = ctx;

	if (m->cb.on_frame)
		m->cb.on_frame(m->cb.ctx, h, payload, kept, truncated);
	if (ws_opcode_is_reserved(h->opcode))
		return;
	if (ws_opcode_is_control(h->opcode)) {
		fr_control(m, h, payload, kept, truncated);
		return;
	}
	/* A frame confirmed after a resync may end short of its length: the
	 * frame decoder held only its capture prefix (see on_resync). */
	if (m->cur_msg_frame && m->frame_pos < h->payload_len) {
		message_gap(m, h->payload_len - m->frame_pos);
		m->frame_pos = h->payload_len;
	}
	if (m->cur_msg_frame && h->fin)
		end_message(m);
	m->cur_msg_frame = false;
}

static void fr_incomplete(void *ctx, const struct ws_frame_header *h,
			  const uint8_t *payload, size_t kept, uint64_t seen)
{
	struct ws_message_decoder *m = ctx;

	if (m->cb.on_frame_incomplete)
		m->cb.on_frame_incomplete(m->cb.ctx, h, payload, kept, seen);
	/* A control frame that never ended is no ping, pong or close; a data
	 * frame leaves its message incomplete (delivered by the caller). */
	if (m->cur_msg_frame)
		message_gap(m, 0);
	m->cur_msg_frame = false;
}

static void fr_violation(void *ctx, enum ws_violation v, uint64_t detail)
{
	violation(ctx, v, detail);
}

static void fr_lost(void *ctx)
{
	struct ws_message_decoder *m = ctx;

	loss(m, WS_LOSS_STREAM_LOST, 0);
	if (m->in_msg) {
		message_gap(m, 0);
		end_message(m);
	}
	m->after_loss = true;
	/* The unseen bytes may have held compressed messages. */
	if (m->cfg.deflate) {
		m->inflating = false;
		deflate_broken(m);
	}
}

static void fr_resync(void *ctx, uint64_t skipped)
{
	loss(ctx, WS_LOSS_RESYNC, skipped);
}

int ws_message_decoder_init(struct ws_message_decoder *m,
			    const struct ws_message_config *cfg,
			    const struct ws_message_callbacks *cb)
{
	struct ws_frame_config fc = { 0 };
	struct ws_frame_callbacks fcb = {
		.on_frame_start = fr_start,
		.on_frame_data = fr_data,
		.on_frame = fr_end,
		.on_frame_incomplete = fr_incomplete,
		.on_violation = fr_violation,
		.on_lost = fr_lost,
		.on_resync = fr_resync,
		.ctx = m,
	};
	int err;

	memset(m, 0, sizeof(*m));
	if (cfg)
		m->cfg = *cfg;
	if (cb)
		m->cb = *cb;
	if (m->cfg.max_message_capture > WS_MESSAGE_CAPTURE_LIMIT)
		return -EINVAL;
	fc.is_client_side = m->cfg.is_client_side;
	fc.rsv1_allowed = m->cfg.deflate;
	fc.max_capture = m->cfg.max_frame_capture;
	fc.max_plausible_len = m->cfg.max_plausible_len;
	/* RFC 7692 7.1.2: 8..15 (0: not given, 15). Checked now, used
	 * at the first compressed message. */
	if (m->cfg.deflate && m->cfg.window_bits &&
	    (m->cfg.window_bits < 8 || m->cfg.window_bits > 15))
		return -EINVAL;
	err = ws_frame_decoder_init(&m->fd, &fc, &fcb);
	if (err)
		goto fail;
	/* Buffers and zlib state come with the bytes that need them. */
	return 0;
fail:
	ws_message_decoder_free(m);
	return err;
}

void ws_message_decoder_free(struct ws_message_decoder *m)
{
	ws_frame_decoder_free(&m->fd);
	ws_deflate_free(&m->dfl);
	free(m->buf);
	m->buf = NULL;
	m->buf_alloc = 0;
}

bool ws_message_decoder_parkable(const struct ws_message_decoder *m)
{
	const struct ws_frame_decoder *d = &m->fd;

	return d->state == WS_FRAME_ST_HEADER && d->hdr_len == 0 &&
	       d->skipped == 0 && !m->in_msg && !m->dfl.ready;
}

uint8_t ws_message_decoder_carry(const struct ws_message_decoder *m)
{
	return (m->deflate_lost ? WS_CARRY_DEFLATE_LOST : 0) |
	       (m->deflate_loss_pending ? WS_CARRY_DEFLATE_LOSS_PENDING : 0) |
	       (m->close_seen ? WS_CARRY_CLOSE_SEEN : 0) |
	       (m->after_loss ? WS_CARRY_AFTER_LOSS : 0);
}

void ws_message_decoder_resume(struct ws_message_decoder *m, uint8_t carry)
{
	m->deflate_lost = carry & WS_CARRY_DEFLATE_LOST;
	m->deflate_loss_pending = carry & WS_CARRY_DEFLATE_LOSS_PENDING;
	m->close_seen = carry & WS_CARRY_CLOSE_SEEN;
	m->after_loss = carry & WS_CARRY_AFTER_LOSS;
}

/*
 * A message of one small frame, taken whole by the frame decoder: reported
 * as fr_start, fr_data, fr_end and end_message would, without their calls
 * and copies. Its data is the frame's capture.
 */
static void whole_message(struct ws_message_decoder *m)
{
	const struct ws_frame_header *h = &m->fd.h;
	const uint8_t *p = m->fd.cap;
	size_t n = (size_t)h->payload_len;
	struct ws_message_info info;
	bool text = h->opcode == WS_OP_TEXT;

	m->after_loss = false;
	m->utf8_bad = false;
	if (text && m->fd.cap_ascii) {
		m->u8 = (struct utf8_state){ .count = n }; /* valid, complete */
	} else if (text) {
		utf8_init(&m->u8);
		if (!utf8_feed(&m->u8, p, n)) {
			m->utf8_bad = true;
			violation(m, WS_VIOL_INVALID_UTF8, m->u8.count);
		}
	}
	if (m->count_only) {
		m->tally.frames++;
		m->tally.messages++;
		m->tally.bytes += n;
	} else if (m->cb.on_frame) {
		m->cb.on_frame(m->cb.ctx, h, p, n, false);
	}
	if (text && !m->utf8_bad && !utf8_complete(&m->u8)) {
		m->utf8_bad = true;
		violation(m, WS_VIOL_INVALID_UTF8, m->u8.count);
	}
	if (m->count_only)
		return;
	info = (struct ws_message_info){ .opcode = h->opcode, .data = p, .kept = n, .total_len = n,
					 .wire_len = n, .frames = 1, .utf8_valid = !m->utf8_bad };
	if (m->cb.on_message)
		m->cb.on_message(m->cb.ctx, &info);
}

/* The longest frame taken whole (the frame decoder keeps no larger
 * capture between frames). */
#define WS_MESSAGE_WHOLE_MAX 1024

size_t ws_message_decoder_feed(struct ws_message_decoder *m,
			       const uint8_t *buf, size_t len)
{
	size_t off = 0, max = WS_MESSAGE_WHOLE_MAX, n;

	/*
	 * Between messages, small single-frame messages are taken whole;
	 * everything else goes through the frame decoder's callbacks, up to
	 * the next frame boundary at a time.
	 */
	if (m->cfg.max_message_capture < max)
		max = m->cfg.max_message_capture;
	if (m->cfg.max_message_len && m->cfg.max_message_len < max)
		max = (size_t)m->cfg.max_message_len;
	while (off < len) {
		if (!m->in_msg && !m->close_seen) {
			while ((n = ws_frame_decoder_take(&m->fd, buf + off, len - off, max))) {
				off += n;
				whole_message(m);
			}
			if (off == len)
				break;
		}
		n = ws_frame_decoder_to_boundary(&m->fd, buf + off, len - off);
		ws_frame_decoder_feed(&m->fd, buf + off, n);
		off += n;
	}
	return len;
}

int ws_message_decoder_gap(struct ws_message_decoder *m, uint64_t missing)
{
	if (missing == 0)
		return 0;
	if (ws_frame_decoder_gap_is_inside(&m->fd, missing)) {
		loss(m, WS_LOSS_GAP_IN_FRAME, missing);
		if (m->cur_msg_frame) {
			message_gap(m, missing);
			m->frame_pos = m->fd.pos + missing;
		}
	} else if (m->cur_msg_frame) {
		/* The rest of this frame is in the gap, and maybe more. */
		message_gap(m, m->fd.h.payload_len - m->fd.pos);
		m->frame_pos = m->fd.h.payload_len;
	}
	return ws_frame_decoder_gap(&m->fd, missing);
}

bool ws_message_decoder_end(struct ws_message_decoder *m)
{
	bool cut = ws_frame_decoder_end(&m->fd);

	if (m->in_msg) {
		message_gap(m, 0);
		end_message(m);
		cut = true;
	}
	return cut;
}

void ws_message_decoder_set_lost(struct ws_message_decoder *m)
{
	ws_frame_decoder_set_lost(&m->fd);
}
