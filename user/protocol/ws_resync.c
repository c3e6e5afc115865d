// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_resync.c - finding frame boundaries again after a stream gap (or a
 * mid-stream start), for the frame decoder of ws_frame.c: which headers
 * are plausible, the window of ws_resync_undecided bytes, candidates on probation,
 * and their replay once confirmed.
 */
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "ws_frame.h"
#include "ws_frame_internal.h"

/* Payload bytes of a resync candidate held on probation, at most (a huge
 * max_capture should not make every lost stream hold that much). */
#define WS_FRAME_PROBATION_MAX (64u << 10)

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

void ws_resync_init(struct ws_frame_decoder *d)
{
	/* Room for a candidate held whole (a header, the kept payload, the
	 * next header), twice: see struct ws_frame_decoder. */
	d->win_size = d->cap_size < WS_FRAME_PROBATION_MAX ?
			      d->cap_size : WS_FRAME_PROBATION_MAX;
	d->win_size = 2 * (d->win_size + 2 * WS_FRAME_HEADER_MAX);
}

void ws_resync_free(struct ws_frame_decoder *d)
{
	free(d->win);
	d->win = NULL;
}

void ws_resync_clear(struct ws_frame_decoder *d)
{
	d->win_off = 0;
	d->win_len = 0;
	d->cand = false;
	d->cand_long = false;
	d->cand_seen = 0;
}

/* Bytes fed while lost and not yet judged. */
uint64_t ws_resync_undecided(const struct ws_frame_decoder *d)
{
	if (d->state != WS_FRAME_ST_LOST)
		return 0;
	if (d->cand && d->cand_long)
		return d->cand_seen + d->hdr_len;
	return d->win_len;
}

void ws_resync_enter(struct ws_frame_decoder *d)
{
	bool was_lost = d->state == WS_FRAME_ST_LOST;

	d->state = WS_FRAME_ST_LOST;
	d->hdr_len = 0;
	d->pos = 0;
	d->kept = 0;
	d->gap_in_frame = false;
	ws_resync_clear(d);
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
	return ws_resync_window(d);
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
/*
 * C0 controls other than tab, LF and CR: text messages carry them escaped
 * (JSON) or not at all, while a false candidate inside a masked payload
 * unmasks ASCII with ASCII (the "mask" is payload bytes too), which gives
 * valid UTF-8 made of exactly such bytes.
 */
static bool has_control(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return true;
	return false;
}

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
		ws_frame_unmask(tmp, p, held, h->mask, 0);
		return ws_close_parse(tmp, held, &code, &reason, &rlen) == 0;
	}
	/* A final fragment's message type is unknown after a loss: one with
	 * control bytes is refuted even if binary (resync then waits for the
	 * next message; a fragment is lost, no garbage is shown). */
	if ((h->opcode != WS_OP_TEXT && h->opcode != WS_OP_CONT) || h->rsv1)
		return true;
	utf8_init(&u);
	for (off = 0; off < held; off += c) {
		c = held - off < sizeof(tmp) ? held - off : sizeof(tmp);
		ws_frame_unmask(tmp, p + off, c, h->mask, off);
		if (has_control(tmp, c) || (h->opcode == WS_OP_TEXT && !utf8_feed(&u, tmp, c)))
			return false;
	}
	return h->opcode != WS_OP_TEXT || !whole || !h->fin || utf8_complete(&u);
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
	ws_frame_start(d, &h, false);
	if (d->state == WS_FRAME_ST_PAYLOAD && held)
		ws_frame_feed_payload(d, p, held);
	if (d->state == WS_FRAME_ST_PAYLOAD) {
		/* A long candidate: its payload went by unheld past the
		 * prefix, so it ends as if a gap had taken the rest. */
		d->pos = h.payload_len;
		d->gap_in_frame = true;
		ws_frame_finish(d);
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
	ws_resync_clear(d);
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
	uint64_t keep = ws_frame_capture_limit(d, &d->cand_h);

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

size_t ws_resync_feed(struct ws_frame_decoder *d, const uint8_t *buf,
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
void ws_resync_relost(struct ws_frame_decoder *d, const uint8_t *hb, size_t n)
{
	uint8_t win[WS_FRAME_HEADER_MAX];

	n = n ? n - 1 : 0;
	memcpy(win, hb + 1, n);
	ws_resync_enter(d);
	d->skipped += 1;
	if (!win_get(d)) {
		d->skipped += n;
		return;
	}
	win_append(d, win, n);
	lost_scan(d);
}
