// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_frame.c - RFC 6455 section 5 frame decoding for a passive observer:
 * header parsing, unmasking while copying out (the caller's bytes are never
 * written), per-frame checks of sections 5.1, 5.2, 5.5 and 7.4, and
 * resynchronisation after stream gaps.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "ws_frame.h"

/* Unmasked bytes are handed to on_frame_data in chunks of this size. */
#define WS_FRAME_CHUNK 1024
/* Payload bytes of a resync candidate held on probation, at most (a huge
 * max_capture should not make every lost stream hold that much). */
#define WS_FRAME_PROBATION_MAX (64u << 10)
/* A capture buffer larger than this is freed at the end of its frame:
 * an idle connection should not hold the largest frame it ever sent. */
#define WS_FRAME_CAP_KEEP 1024

const char *ws_opcode_name(uint8_t op)
{
	switch (op) {
	case WS_OP_CONT: return "cont";
	case WS_OP_TEXT: return "text";
	case WS_OP_BINARY: return "binary";
	case WS_OP_CLOSE: return "close";
	case WS_OP_PING: return "ping";
	case WS_OP_PONG: return "pong";
	}
	return "reserved";
}

const char *ws_violation_name(enum ws_violation v)
{
	static const char *const names[WS_VIOL_MAX] = {
		[WS_VIOL_NONE] = "none",
		[WS_VIOL_UNMASKED_CLIENT_FRAME] = "unmasked_client_frame",
		[WS_VIOL_MASKED_SERVER_FRAME] = "masked_server_frame",
		[WS_VIOL_CONTROL_TOO_LONG] = "control_too_long",
		[WS_VIOL_CONTROL_FRAGMENTED] = "control_fragmented",
		[WS_VIOL_RESERVED_OPCODE] = "reserved_opcode",
		[WS_VIOL_RSV_WITHOUT_EXTENSION] = "rsv_without_extension",
		[WS_VIOL_RSV1_ON_CONTROL] = "rsv1_on_control",
		[WS_VIOL_RSV1_ON_CONTINUATION] = "rsv1_on_continuation",
		[WS_VIOL_NON_MINIMAL_LENGTH] = "non_minimal_length",
		[WS_VIOL_LENGTH_TOP_BIT] = "length_top_bit",
		[WS_VIOL_INVALID_UTF8] = "invalid_utf8",
		[WS_VIOL_INVALID_CLOSE_CODE] = "invalid_close_code",
		[WS_VIOL_CLOSE_PAYLOAD_1_BYTE] = "close_payload_1_byte",
		[WS_VIOL_CLOSE_REASON_UTF8] = "close_reason_invalid_utf8",
		[WS_VIOL_CONTINUATION_WITHOUT_START] = "continuation_without_start",
		[WS_VIOL_DATA_FRAME_IN_FRAGMENTED_MESSAGE] =
			"data_frame_in_fragmented_message",
		[WS_VIOL_DATA_AFTER_CLOSE] = "data_after_close",
		[WS_VIOL_MESSAGE_TOO_BIG] = "message_too_big",
		[WS_VIOL_INFLATE_ERROR] = "inflate_error",
		[WS_VIOL_INFLATE_TOO_BIG] = "inflate_too_big",
	};

	if ((unsigned)v >= WS_VIOL_MAX || !names[v])
		return "unknown";
	return names[v];
}

int ws_frame_header_parse(const uint8_t *buf, size_t len,
			  struct ws_frame_header *h)
{
	size_t need = 2;
	uint64_t plen;
	uint8_t len7;
	int i;

	if (len < 2)
		return 0;
	len7 = buf[1] & 0x7f;
	if (len7 == 126)
		need += 2;
	else if (len7 == 127)
		need += 8;
	if (buf[1] & 0x80)
		need += 4;
	if (len < need)
		return 0;

	h->fin = buf[0] & 0x80;
	h->rsv1 = buf[0] & 0x40;
	h->rsv2 = buf[0] & 0x20;
	h->rsv3 = buf[0] & 0x10;
	h->opcode = buf[0] & 0x0f;
	h->masked = buf[1] & 0x80;
	h->non_minimal_length = false;
	if (len7 < 126) {
		plen = len7;
		i = 2;
	} else if (len7 == 126) {
		plen = (uint64_t)buf[2] << 8 | buf[3];
		h->non_minimal_length = plen < 126;
		i = 4;
	} else {
		plen = 0;
		for (i = 2; i < 10; i++)
			plen = plen << 8 | buf[i];
		/* 5.2: the most significant bit MUST be 0. */
		if (plen >> 63)
			return -WS_VIOL_LENGTH_TOP_BIT;
		h->non_minimal_length = plen <= 0xffff;
	}
	h->payload_len = plen;
	if (h->masked)
		memcpy(h->mask, buf + i, 4);
	else
		memset(h->mask, 0, 4);
	h->header_len = need;
	return (int)need;
}

bool ws_close_code_valid(uint16_t code)
{
	/* 7.4.1: 1004-1006 and 1015 are reserved and never sent; 7.4.2:
	 * below 1000 unused, 1016-2999 for future RFCs, 3000-4999 for
	 * libraries and applications. 1012-1014 are IANA registered. */
	if (code >= 1000 && code <= 1003)
		return true;
	if (code >= 1007 && code <= 1014)
		return true;
	return code >= 3000 && code <= 4999;
}

int ws_close_parse(const uint8_t *p, size_t len, uint16_t *code,
		   const uint8_t **reason, size_t *reason_len)
{
	*reason = NULL;
	*reason_len = 0;
	if (len == 0) {
		/* 7.1.5: no status code is "1005 received". */
		*code = WS_CLOSE_NO_STATUS;
		return 0;
	}
	*code = 0;
	if (len == 1)
		return -WS_VIOL_CLOSE_PAYLOAD_1_BYTE;
	*code = (uint16_t)(p[0] << 8 | p[1]);
	*reason = p + 2;
	*reason_len = len - 2;
	if (!ws_close_code_valid(*code))
		return -WS_VIOL_INVALID_CLOSE_CODE;
	if (!utf8_valid(p + 2, len - 2))
		return -WS_VIOL_CLOSE_REASON_UTF8;
	return 0;
}

static uint64_t max_plausible(const struct ws_frame_config *cfg)
{
	return cfg->max_plausible_len ? cfg->max_plausible_len :
					WS_FRAME_DEFAULT_MAX_PLAUSIBLE;
}

/* Checks of the first header byte alone, used to skip garbage quickly. */
static bool first_byte_plausible(const struct ws_frame_config *cfg, uint8_t b)
{
	uint8_t op = b & 0x0f;

	if (ws_opcode_is_reserved(op))
		return false;
	if (b & 0x30)
		return false;
	if (b & 0x40) {
		/* RFC 7692 6.1: RSV1 only on the first frame of a message. */
		if (!cfg->rsv1_allowed || op == WS_OP_CONT ||
		    ws_opcode_is_control(op))
			return false;
	}
	if (ws_opcode_is_control(op) && !(b & 0x80))
		return false;
	return true;
}

/* Checks of the first two bytes, before the whole header is there. */
static bool prefix_plausible(const struct ws_frame_config *cfg,
			     const uint8_t *p, size_t len)
{
	if (len < 1 || !first_byte_plausible(cfg, p[0]))
		return false;
	if (len < 2)
		return true;
	if (!!(p[1] & 0x80) != cfg->is_client_side)
		return false;
	if (ws_opcode_is_control(p[0] & 0x0f) && (p[1] & 0x7f) > 125)
		return false;
	return true;
}

bool ws_frame_header_plausible(const struct ws_frame_header *h,
			       const struct ws_frame_config *cfg)
{
	uint8_t b0 = (h->fin ? 0x80 : 0) | (h->rsv1 ? 0x40 : 0) |
		     (h->rsv2 ? 0x20 : 0) | (h->rsv3 ? 0x10 : 0) | h->opcode;

	if (!first_byte_plausible(cfg, b0))
		return false;
	if (h->masked != cfg->is_client_side)
		return false;
	if (h->non_minimal_length)
		return false;
	if (ws_opcode_is_control(h->opcode) &&
	    h->payload_len > WS_FRAME_CONTROL_MAX)
		return false;
	/* Legal but rare, and what runs of zero bytes look like: an empty
	 * non-final frame, a middle fragment. Resync waits for the next
	 * final fragment or the next message instead. */
	if (!h->fin && (h->payload_len == 0 || h->opcode == WS_OP_CONT))
		return false;
	return h->payload_len <= max_plausible(cfg);
}

int ws_frame_decoder_init(struct ws_frame_decoder *d,
			  const struct ws_frame_config *cfg,
			  const struct ws_frame_callbacks *cb)
{
	memset(d, 0, sizeof(*d));
	if (cfg)
		d->cfg = *cfg;
	if (cb)
		d->cb = *cb;
	if (d->cfg.max_capture > WS_FRAME_CAPTURE_LIMIT)
		return -EINVAL;
	/* Control frames are always kept whole: close codes, ping/pong. */
	d->cap_size = d->cfg.max_capture > WS_FRAME_CONTROL_MAX ?
			      d->cfg.max_capture : WS_FRAME_CONTROL_MAX;
	/* The capture buffer is allocated per frame, sized to what it
	 * keeps (cap_reserve): most connections are idle most of the time. */
	/* Room for a candidate held whole (a header, the kept payload, the
	 * next header), twice: see struct ws_frame_decoder. */
	d->win_size = d->cap_size < WS_FRAME_PROBATION_MAX ?
			      d->cap_size : WS_FRAME_PROBATION_MAX;
	d->win_size = 2 * (d->win_size + 2 * WS_FRAME_HEADER_MAX);
	return 0;
}

void ws_frame_decoder_free(struct ws_frame_decoder *d)
{
	free(d->cap);
	d->cap = NULL;
	d->cap_alloc = 0;
	d->cap_size = 0;
	free(d->win);
	d->win = NULL;
}

/* Makes room for `want` captured bytes (never more than cap_size). Returns
 * the room there is: less than asked if memory is short. */
static size_t cap_reserve(struct ws_frame_decoder *d, size_t want)
{
	uint8_t *n;

	if (want <= d->cap_alloc)
		return d->cap_alloc;
	n = realloc(d->cap, want);
	if (!n)
		return d->cap_alloc;
	d->cap = n;
	d->cap_alloc = want;
	return want;
}

static void violation(struct ws_frame_decoder *d, enum ws_violation v,
		      uint64_t detail)
{
	if (d->cb.on_violation)
		d->cb.on_violation(d->cb.ctx, v, detail);
}

static void win_clear(struct ws_frame_decoder *d)
{
	d->win_off = 0;
	d->win_len = 0;
	d->cand = false;
	d->cand_long = false;
	d->cand_seen = 0;
}

/* Bytes fed while lost and not yet judged. */
static uint64_t undecided(const struct ws_frame_decoder *d)
{
	if (d->state != WS_FRAME_ST_LOST)
		return 0;
	if (d->cand && d->cand_long)
		return d->cand_seen + d->hdr_len;
	return d->win_len;
}

static void enter_lost(struct ws_frame_decoder *d)
{
	bool was_lost = d->state == WS_FRAME_ST_LOST;

	d->state = WS_FRAME_ST_LOST;
	d->hdr_len = 0;
	d->pos = 0;
	d->kept = 0;
	d->gap_in_frame = false;
	win_clear(d);
	if (!was_lost && d->cb.on_lost)
		d->cb.on_lost(d->cb.ctx);
}

/*
 * The window is allocated when bytes come while lost (most streams never
 * need it, and an idle lost stream holds none), and freed once back in
 * sync. The extra half is where bytes after a confirmed candidate wait
 * (see feed_internal). Without it the decoder stays lost, counting.
 */
static bool win_get(struct ws_frame_decoder *d)
{
	if (!d->win)
		d->win = malloc(d->win_size + d->win_size / 2);
	return d->win;
}

static void check_close(struct ws_frame_decoder *d)
{
	const uint8_t *reason;
	size_t rlen;
	uint16_t code;
	int r;

	r = ws_close_parse(d->cap, d->kept, &code, &reason, &rlen);
	if (r == -WS_VIOL_CLOSE_PAYLOAD_1_BYTE) {
		violation(d, WS_VIOL_CLOSE_PAYLOAD_1_BYTE, 1);
	} else if (r == -WS_VIOL_INVALID_CLOSE_CODE) {
		violation(d, WS_VIOL_INVALID_CLOSE_CODE, code);
	} else if (r == -WS_VIOL_CLOSE_REASON_UTF8) {
		struct utf8_state u = { 0 };

		utf8_feed(&u, reason, rlen);
		violation(d, WS_VIOL_CLOSE_REASON_UTF8, u.count);
	}
}

static void finish_frame(struct ws_frame_decoder *d)
{
	static const uint8_t none[1];
	bool truncated = d->gap_in_frame || d->kept < d->h.payload_len;

	if (d->h.opcode == WS_OP_CLOSE && !truncated)
		check_close(d);
	d->state = WS_FRAME_ST_HEADER;
	d->frames++;
	if (d->cb.on_frame)
		d->cb.on_frame(d->cb.ctx, &d->h, d->cap ? d->cap : none,
			       d->kept, truncated);
	d->pos = 0;
	d->kept = 0;
	d->gap_in_frame = false;
	if (d->cap_alloc > WS_FRAME_CAP_KEEP) {
		free(d->cap);
		d->cap = NULL;
		d->cap_alloc = 0;
	}
}

/* Reports what is wrong with a header when in sync (5.1, 5.2, 5.5). */
static void check_header(struct ws_frame_decoder *d,
			 const struct ws_frame_header *h)
{
	bool control = ws_opcode_is_control(h->opcode);
	uint64_t rsv = (h->rsv2 ? 0x20 : 0) | (h->rsv3 ? 0x10 : 0);

	if (h->masked != d->cfg.is_client_side)
		violation(d, h->masked ? WS_VIOL_MASKED_SERVER_FRAME :
					 WS_VIOL_UNMASKED_CLIENT_FRAME,
			  h->opcode);
	if (ws_opcode_is_reserved(h->opcode))
		violation(d, WS_VIOL_RESERVED_OPCODE, h->opcode);
	if (h->rsv1 && !d->cfg.rsv1_allowed)
		rsv |= 0x40;
	if (rsv)
		violation(d, WS_VIOL_RSV_WITHOUT_EXTENSION, rsv);
	if (h->rsv1 && d->cfg.rsv1_allowed) {
		/* RFC 7692 6.1: RSV1 marks the first frame of a message. */
		if (control)
			violation(d, WS_VIOL_RSV1_ON_CONTROL, h->opcode);
		else if (h->opcode == WS_OP_CONT)
			violation(d, WS_VIOL_RSV1_ON_CONTINUATION, 0);
	}
	if (h->non_minimal_length)
		violation(d, WS_VIOL_NON_MINIMAL_LENGTH, h->payload_len);
	if (control && h->payload_len > WS_FRAME_CONTROL_MAX)
		violation(d, WS_VIOL_CONTROL_TOO_LONG, h->payload_len);
	if (control && !h->fin)
		violation(d, WS_VIOL_CONTROL_FRAGMENTED, h->opcode);
}

static void start_frame(struct ws_frame_decoder *d,
			const struct ws_frame_header *h, bool check)
{
	d->h = *h;
	d->pos = 0;
	d->kept = 0;
	d->gap_in_frame = false;
	if (check)
		check_header(d, h);
	d->state = WS_FRAME_ST_PAYLOAD;
	if (d->cb.on_frame_start)
		d->cb.on_frame_start(d->cb.ctx, &d->h);
	if (h->payload_len == 0)
		finish_frame(d);
}

static void unmask(uint8_t *dst, const uint8_t *src, size_t n,
		   const uint8_t mask[4], uint64_t pos)
{
	uint8_t m[8];
	uint64_t m64, w;
	size_t i = 0;

	/* Eight bytes at a time: the key repeats every 4, so its phase holds. */
	for (int k = 0; k < 8; k++)
		m[k] = mask[(pos + k) & 3];
	memcpy(&m64, m, sizeof(m64));
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, src + i, sizeof(w));
		w ^= m64;
		memcpy(dst + i, &w, sizeof(w));
	}
	for (; i < n; i++)
		dst[i] = src[i] ^ mask[(pos + i) & 3];
}

/* Payload bytes of a data frame (or control frame) kept for on_frame. */
static size_t capture_limit(const struct ws_frame_decoder *d,
			    const struct ws_frame_header *h)
{
	return ws_opcode_is_control(h->opcode) ? d->cap_size :
						 d->cfg.max_capture;
}

static size_t feed_payload(struct ws_frame_decoder *d, const uint8_t *buf,
			   size_t len)
{
	uint64_t remaining = d->h.payload_len - d->pos;
	size_t n = len < remaining ? len : (size_t)remaining;
	size_t limit = capture_limit(d, &d->h);
	size_t done = 0;   /* bytes already unmasked into the capture */

	/* Keep a contiguous prefix only: nothing after a gap. */
	if (!d->gap_in_frame && d->kept < limit) {
		size_t c = limit - d->kept < n ? limit - d->kept : n;
		/* Sized once per frame to what it will keep. */
		size_t room = cap_reserve(d, d->h.payload_len < limit ?
					     (size_t)d->h.payload_len : limit);

		if (c > room - d->kept)
			c = room - d->kept;

		if (d->h.masked)
			unmask(d->cap + d->kept, buf, c, d->h.mask, d->pos);
		else
			memcpy(d->cap + d->kept, buf, c);
		d->kept += c;
		done = c;
	}
	if (d->cb.on_frame_data && n) {
		if (!d->h.masked) {
			d->cb.on_frame_data(d->cb.ctx, &d->h, buf, n, d->pos);
		} else {
			uint8_t tmp[WS_FRAME_CHUNK];
			size_t off = 0;

			/* Unmask once: hand over what the capture already holds. */
			if (done) {
				d->cb.on_frame_data(d->cb.ctx, &d->h, d->cap + d->kept - done,
						    done, d->pos);
				off = done;
			}

			while (off < n) {
				size_t c = n - off < sizeof(tmp) ? n - off :
								   sizeof(tmp);

				unmask(tmp, buf + off, c, d->h.mask,
				       d->pos + off);
				d->cb.on_frame_data(d->cb.ctx, &d->h, tmp, c,
						    d->pos + off);
				off += c;
			}
		}
	}
	d->pos += n;
	if (d->pos == d->h.payload_len)
		finish_frame(d);
	return n;
}

/*
 * Resynchronisation. While lost, bytes are collected in a window starting
 * at the scan position. A plausible header there is a candidate, held on
 * probation and reported to nobody until the header right after its span
 * (header + payload) is seen and plausible too, and its payload makes
 * sense (cand_payload_ok). Then the candidate is replayed through the
 * callbacks and decoding goes on in sync from the confirming header.
 * Otherwise the scan moves on by one byte, within the bytes held: a real
 * header inside a false candidate's span is still found.
 *
 * A candidate whose span does not fit the window ("long") keeps only its
 * header and capture prefix; the rest of its payload is counted, not held.
 * Confirmed, it is replayed with that prefix, truncated. Refuted, the scan
 * resumes after its span: a real header inside it is missed (the cost of
 * bounded memory; short false candidates are the common case, as random
 * bytes rarely carry a 16- or 64-bit length that fits).
 */

static const uint8_t *win_data(const struct ws_frame_decoder *d)
{
	return d->win + d->win_off;
}

static void win_append(struct ws_frame_decoder *d, const uint8_t *p,
		       size_t n)
{
	/* Never more than win_size / 2 is held (lost_need, feed_long);
	 * this clamp only keeps a broken invariant from overflowing. */
	if (n > d->win_size / 2 - d->win_len)
		n = d->win_size / 2 - d->win_len;
	if (d->win_off + d->win_len + n > d->win_size) {
		memmove(d->win, d->win + d->win_off, d->win_len);
		d->win_off = 0;
	}
	memcpy(d->win + d->win_off + d->win_len, p, n);
	d->win_len += n;
}

/* Drops n judged bytes from the front of the window. */
static void win_drop(struct ws_frame_decoder *d, size_t n, bool skipped)
{
	d->win_off += n;
	d->win_len -= n;
	if (skipped)
		d->skipped += n;
	if (d->win_len == 0)
		d->win_off = 0;
}

/* Bytes still missing for the whole header starting at p (0: complete). */
static size_t hdr_need(const uint8_t *p, size_t n)
{
	size_t need = 2;

	if (n < 2)
		return 2 - n;
	if ((p[1] & 0x7f) == 126)
		need += 2;
	else if ((p[1] & 0x7f) == 127)
		need += 8;
	if (p[1] & 0x80)
		need += 4;
	return need > n ? need - n : 0;
}

/*
 * 5.4: a data frame after a final one starts a message, after a non-final
 * one it continues it (control frames may come in between, and after one
 * we can't tell which).
 */
static bool sequence_ok(const struct ws_frame_header *cand,
			const struct ws_frame_header *next)
{
	if (ws_opcode_is_control(cand->opcode) ||
	    ws_opcode_is_control(next->opcode))
		return true;
	return cand->fin == (next->opcode != WS_OP_CONT);
}

/* The header after candidate c: 1 plausible, 0 more bytes needed,
 * -1 not a frame start. */
static int next_verdict(const struct ws_frame_config *cfg,
			const struct ws_frame_header *c, const uint8_t *p,
			size_t n)
{
	struct ws_frame_header h;
	int r;

	if (n == 0)
		return 0;
	r = ws_frame_header_parse(p, n, &h);
	if (r > 0)
		return ws_frame_header_plausible(&h, cfg) &&
		       sequence_ok(c, &h) ? 1 : -1;
	if (r == 0 && prefix_plausible(cfg, p, n))
		return 0;
	return -1;
}

static uint64_t cand_span(const struct ws_frame_decoder *d)
{
	return d->cand_h.header_len + d->cand_h.payload_len;
}

/*
 * What the candidate's payload says (it is still masked in the window):
 * a close frame needs a valid close payload (5.5.1, 7.4), an uncompressed
 * text frame valid UTF-8 so far (8.1), complete if final and whole. Bytes
 * inside a masked payload pass these far less often than header checks.
 */
static bool cand_payload_ok(const struct ws_frame_decoder *d,
			    const uint8_t *p, size_t held, bool whole)
{
	const struct ws_frame_header *h = &d->cand_h;
	uint8_t tmp[256];
	struct utf8_state u;
	size_t off, c;

	if (h->opcode == WS_OP_CLOSE) {
		const uint8_t *reason;
		uint16_t code;
		size_t rlen;

		/* Control payloads are <= 125 bytes: always held whole. */
		if (!whole || held > sizeof(tmp))
			return false;
		unmask(tmp, p, held, h->mask, 0);
		return ws_close_parse(tmp, held, &code, &reason, &rlen) == 0;
	}
	if (h->opcode != WS_OP_TEXT || h->rsv1)
		return true;
	utf8_init(&u);
	for (off = 0; off < held; off += c) {
		c = held - off < sizeof(tmp) ? held - off : sizeof(tmp);
		unmask(tmp, p + off, c, h->mask, off);
		if (!utf8_feed(&u, tmp, c))
			return false;
	}
	return !whole || !h->fin || utf8_complete(&u);
}

/*
 * The candidate is confirmed: report it as if decoded in sync, from its
 * `held` payload bytes, then drop `consumed` bytes from the window. What
 * remains there follows the candidate: feed_internal decodes it.
 */
static void replay(struct ws_frame_decoder *d, size_t held, size_t consumed)
{
	struct ws_frame_header h = d->cand_h;
	const uint8_t *p = win_data(d) + h.header_len;

	d->cand = false;
	d->cand_long = false;
	d->cand_seen = 0;
	d->state = WS_FRAME_ST_HEADER;
	if (d->cb.on_resync)
		d->cb.on_resync(d->cb.ctx, d->skipped);
	d->skipped = 0;
	start_frame(d, &h, false);
	if (d->state == WS_FRAME_ST_PAYLOAD && held)
		feed_payload(d, p, held);
	if (d->state == WS_FRAME_ST_PAYLOAD) {
		/* A long candidate: its payload went by unheld past the
		 * prefix, so it ends as if a gap had taken the rest. */
		d->pos = h.payload_len;
		d->gap_in_frame = true;
		finish_frame(d);
	}
	win_drop(d, consumed, false);
}

static void lost_scan(struct ws_frame_decoder *d);

/* Long candidate refuted: its span is skipped, the scan resumes on the
 * header bytes seen after it. */
static void refute_long(struct ws_frame_decoder *d)
{
	uint8_t next[WS_FRAME_HEADER_MAX];
	size_t n = d->hdr_len;

	memcpy(next, d->hdr, n);
	d->hdr_len = 0;
	d->skipped += d->cand_seen;
	win_clear(d);
	win_append(d, next, n);
	lost_scan(d);
}

static void confirm_long(struct ws_frame_decoder *d)
{
	uint8_t next[WS_FRAME_HEADER_MAX];
	size_t n = d->hdr_len;

	memcpy(next, d->hdr, n);
	d->hdr_len = 0;
	replay(d, d->win_len - d->cand_h.header_len, d->win_len);
	win_append(d, next, n);
}

/* Judges a long candidate once enough of the header after it is seen. */
static void judge_long(struct ws_frame_decoder *d)
{
	int v = next_verdict(&d->cfg, &d->cand_h, d->hdr, d->hdr_len);

	if (v == 0)
		return;
	if (v > 0 && cand_payload_ok(d, win_data(d) + d->cand_h.header_len,
				     d->win_len - d->cand_h.header_len, false))
		confirm_long(d);
	else
		refute_long(d);
}

static size_t held_max(const struct ws_frame_decoder *d)
{
	uint64_t keep = capture_limit(d, &d->cand_h);

	if (keep > d->win_size / 2 - 2 * WS_FRAME_HEADER_MAX)
		keep = d->win_size / 2 - 2 * WS_FRAME_HEADER_MAX;
	if (keep > d->cand_h.payload_len)
		keep = d->cand_h.payload_len;
	return d->cand_h.header_len + (size_t)keep;
}

/* The candidate at the window start is too long to hold whole. */
static void go_long(struct ws_frame_decoder *d)
{
	uint64_t span = cand_span(d);
	size_t n = d->win_len;

	d->cand_long = true;
	d->cand_seen = n;
	if (n > span) {
		/* Rescanned bytes reach past the span (by < 14 bytes, as
		 * the window holds less than span + a header). */
		d->hdr_len = (uint8_t)(n - span);
		memcpy(d->hdr, win_data(d) + span, d->hdr_len);
		d->cand_seen = span;
	}
	if (d->win_len > held_max(d))
		d->win_len = held_max(d);
	if (d->hdr_len)
		judge_long(d);
}

/* Bytes of a long candidate's span, then of the header after it. */
static size_t feed_long(struct ws_frame_decoder *d, const uint8_t *buf,
			size_t len)
{
	uint64_t span = cand_span(d);
	size_t i = 0;

	if (d->cand_seen < span) {
		uint64_t want = span - d->cand_seen;
		size_t n = len < want ? len : (size_t)want;
		size_t hm = held_max(d);

		if (d->cand_seen < hm) {
			size_t c = hm - (size_t)d->cand_seen;

			win_append(d, buf, c < n ? c : n);
		}
		d->cand_seen += n;
		i = n;
	}
	while (i < len) {
		d->hdr[d->hdr_len++] = buf[i++];
		if (next_verdict(&d->cfg, &d->cand_h, d->hdr, d->hdr_len) != 0) {
			/* judge again: confirm or refute, then stop here,
			 * the state has changed */
			judge_long(d);
			break;
		}
	}
	return i;
}

/*
 * Judges the window from its start as far as its bytes allow: drops bytes
 * that can't start a frame, takes a candidate, confirms or refutes it.
 */
static void lost_scan(struct ws_frame_decoder *d)
{
	struct ws_frame_header h;
	const uint8_t *w;
	uint64_t span;
	int r;

	while (d->state == WS_FRAME_ST_LOST && d->win_len > 0 &&
	       !d->cand_long) {
		w = win_data(d);
		if (!d->cand) {
			r = ws_frame_header_parse(w, d->win_len, &h);
			if (r == 0 && prefix_plausible(&d->cfg, w, d->win_len))
				return;
			if (r > 0 && ws_frame_header_plausible(&h, &d->cfg)) {
				d->cand = true;
				d->cand_h = h;
				if (cand_span(d) + WS_FRAME_HEADER_MAX >
				    d->win_size / 2) {
					go_long(d);
					return;
				}
				continue;
			}
			win_drop(d, 1, true);
			continue;
		}
		span = cand_span(d);
		if (d->win_len <= span)
			return;
		r = next_verdict(&d->cfg, &d->cand_h, w + span,
				 d->win_len - (size_t)span);
		if (r == 0)
			return;
		if (r > 0 && cand_payload_ok(d, w + d->cand_h.header_len,
					     (size_t)d->cand_h.payload_len,
					     true)) {
			replay(d, (size_t)d->cand_h.payload_len, (size_t)span);
			return;
		}
		/* Refuted: rescan from the byte after its first one. */
		d->cand = false;
		win_drop(d, 1, true);
	}
}

/* Bytes the window needs before the scan can judge anything more. */
static size_t lost_need(const struct ws_frame_decoder *d)
{
	const uint8_t *w = win_data(d);
	size_t n = d->win_len, need;
	uint64_t span;

	if (!d->cand) {
		need = hdr_need(w, n);
	} else {
		span = cand_span(d);
		if (n < span)
			need = (size_t)span - n + 2;
		else
			need = hdr_need(w + span, n - (size_t)span);
	}
	return need ? need : 1;
}

static size_t feed_lost(struct ws_frame_decoder *d, const uint8_t *buf,
			size_t len)
{
	size_t i = 0, n;

	if (!win_get(d)) {
		/* No window memory: nothing can be judged. */
		d->skipped += len;
		return len;
	}
	while (i < len && d->state == WS_FRAME_ST_LOST) {
		if (d->cand_long) {
			i += feed_long(d, buf + i, len - i);
			continue;
		}
		if (d->win_len == 0 && !first_byte_plausible(&d->cfg, buf[i])) {
			d->skipped++;
			i++;
			continue;
		}
		n = lost_need(d);
		if (n > len - i)
			n = len - i;
		win_append(d, buf + i, n);
		i += n;
		lost_scan(d);
	}
	return i;
}

/*
 * The header in hb[0..n) can't be followed: enter the lost state and
 * rescan what came after its first byte.
 */
static void relost(struct ws_frame_decoder *d, const uint8_t *hb, size_t n)
{
	uint8_t win[WS_FRAME_HEADER_MAX];

	n = n ? n - 1 : 0;
	memcpy(win, hb + 1, n);
	enter_lost(d);
	d->skipped += 1;
	if (!win_get(d)) {
		d->skipped += n;
		return;
	}
	win_append(d, win, n);
	lost_scan(d);
}

static size_t feed_header(struct ws_frame_decoder *d, const uint8_t *buf,
			  size_t len)
{
	struct ws_frame_header h;
	size_t i = 0;
	int r;

	if (d->hdr_len == 0) {
		r = ws_frame_header_parse(buf, len, &h);
		if (r > 0) {
			start_frame(d, &h, true);
			return (size_t)r;
		}
		if (r < 0) {
			/* 5.2: frames can't be delimited any more. */
			violation(d, WS_VIOL_LENGTH_TOP_BIT, 0);
			relost(d, buf, 10);
			return 10;
		}
	}
	/* Header split across calls: collect it byte by byte. */
	while (i < len) {
		d->hdr[d->hdr_len++] = buf[i++];
		r = ws_frame_header_parse(d->hdr, d->hdr_len, &h);
		if (r > 0) {
			d->hdr_len = 0;
			start_frame(d, &h, true);
			break;
		}
		if (r < 0) {
			uint8_t hb[WS_FRAME_HEADER_MAX];
			size_t n = d->hdr_len;

			memcpy(hb, d->hdr, n);
			violation(d, WS_VIOL_LENGTH_TOP_BIT, 0);
			relost(d, hb, n);
			break;
		}
	}
	return i;
}

static size_t feed_internal(struct ws_frame_decoder *d, const uint8_t *buf,
			    size_t len)
{
	size_t off = 0;

	while (off < len) {
		switch (d->state) {
		case WS_FRAME_ST_HEADER:
			off += feed_header(d, buf + off, len - off);
			break;
		case WS_FRAME_ST_PAYLOAD:
			off += feed_payload(d, buf + off, len - off);
			break;
		case WS_FRAME_ST_LOST:
			off += feed_lost(d, buf + off, len - off);
			break;
		}
		if (d->state != WS_FRAME_ST_LOST && d->win_len) {
			/*
			 * A candidate was confirmed with bytes after it in
			 * the window: the stream bytes just before `off`. Read
			 * them again from buf when they are all there, else
			 * from a copy. The copy is decoded with an empty
			 * window, so its own leftovers always lie inside it.
			 */
			size_t n = d->win_len;
			uint8_t *spare = d->win + d->win_size;

			if (n <= off) {
				off -= n;
				win_clear(d);
			} else if (buf != spare) {
				memcpy(spare, win_data(d), n);
				win_clear(d);
				feed_internal(d, spare, n);
			} else {
				/* Not reachable (see above); stay safe. */
				win_clear(d);
				enter_lost(d);
				d->skipped += n;
			}
		}
	}
	return len;
}

size_t ws_frame_decoder_feed(struct ws_frame_decoder *d, const uint8_t *buf,
			     size_t len)
{
	d->stream_off += len;
	feed_internal(d, buf, len);
	if (d->win && d->state != WS_FRAME_ST_LOST) {
		/* In sync again: the window is not needed until a loss. */
		free(d->win);
		d->win = NULL;
	}
	return len;
}

bool ws_frame_decoder_gap_is_inside(const struct ws_frame_decoder *d,
				    uint64_t missing)
{
	return d->state == WS_FRAME_ST_PAYLOAD &&
	       missing <= d->h.payload_len - d->pos;
}

int ws_frame_decoder_gap(struct ws_frame_decoder *d, uint64_t missing)
{
	if (missing == 0)
		return 0;
	d->stream_off += missing;
	if (ws_frame_decoder_gap_is_inside(d, missing)) {
		d->pos += missing;
		d->gap_in_frame = true;
		if (d->pos == d->h.payload_len)
			finish_frame(d);
		return 0;
	}
	if (d->state == WS_FRAME_ST_PAYLOAD) {
		/* The frame ended inside the gap; what follows is unknown. */
		d->gap_in_frame = true;
		finish_frame(d);
	} else if (d->state == WS_FRAME_ST_LOST) {
		/* The window is no longer contiguous: a candidate on
		 * probation can't be confirmed, all of it was skipped. */
		d->skipped += undecided(d);
	}
	enter_lost(d);
	return 1;
}

bool ws_frame_decoder_end(struct ws_frame_decoder *d)
{
	static const uint8_t none[1];
	bool cut = d->state == WS_FRAME_ST_PAYLOAD;

	if (d->state == WS_FRAME_ST_LOST)
		return false; /* what was held is counted by pending_skip */
	if (cut) {
		/* However long it said it was, it ends here: say so, once. */
		d->frames++;
		if (d->cb.on_frame_incomplete)
			d->cb.on_frame_incomplete(d->cb.ctx, &d->h,
						  d->cap ? d->cap : none,
						  d->kept, d->pos);
	} else {
		d->skipped += d->hdr_len;
	}
	d->state = WS_FRAME_ST_HEADER;
	d->hdr_len = 0;
	d->pos = 0;
	d->kept = 0;
	d->gap_in_frame = false;
	free(d->cap);
	d->cap = NULL;
	d->cap_alloc = 0;
	return cut;
}

void ws_frame_decoder_set_lost(struct ws_frame_decoder *d)
{
	if (d->state == WS_FRAME_ST_LOST)
		return;
	enter_lost(d);
}

uint64_t ws_frame_decoder_pending_skip(const struct ws_frame_decoder *d)
{
	return d->skipped + undecided(d);
}
