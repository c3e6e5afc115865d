// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_frame.c - RFC 6455 section 5 frame decoding for a passive observer,
 * in sync: headers and payloads in turn, unmasking while copying out (the
 * caller's bytes are never written), the per-frame checks of sections 5.1,
 * 5.2, 5.5 and 7.4, and gaps. What happens once frame boundaries are lost
 * is ws_resync.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "ws_frame.h"
#include "ws_frame_internal.h"

/* Unmasked bytes are handed to on_frame_data in chunks of this size. */
#define WS_FRAME_CHUNK 1024
/* A capture buffer larger than this is freed at the end of its frame:
 * an idle connection should not hold the largest frame it ever sent. */
#define WS_FRAME_CAP_KEEP 1024

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
	ws_resync_init(d);
	return 0;
}

void ws_frame_decoder_free(struct ws_frame_decoder *d)
{
	free(d->cap);
	d->cap = NULL;
	d->cap_alloc = 0;
	d->cap_size = 0;
	ws_resync_free(d);
}

size_t ws_frame_cap_reserve(struct ws_frame_decoder *d, size_t want)
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

void ws_frame_finish(struct ws_frame_decoder *d)
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

void ws_frame_start(struct ws_frame_decoder *d,
			const struct ws_frame_header *h, bool check)
{
	if (h != &d->h)
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
		ws_frame_finish(d);
}

/* Payload bytes of a data frame (or control frame) kept for on_frame. */
size_t ws_frame_capture_limit(const struct ws_frame_decoder *d,
			    const struct ws_frame_header *h)
{
	return ws_opcode_is_control(h->opcode) ? d->cap_size :
						 d->cfg.max_capture;
}

size_t ws_frame_feed_payload(struct ws_frame_decoder *d, const uint8_t *buf,
			   size_t len)
{
	uint64_t remaining = d->h.payload_len - d->pos;
	size_t n = len < remaining ? len : (size_t)remaining;
	size_t limit = ws_frame_capture_limit(d, &d->h);
	size_t done = 0;   /* bytes already unmasked into the capture */

	/* Keep a contiguous prefix only: nothing after a gap. */
	if (!d->gap_in_frame && d->kept < limit) {
		size_t c = limit - d->kept < n ? limit - d->kept : n;
		/* Sized once per frame to what it will keep. */
		size_t room = ws_frame_cap_reserve(d, d->h.payload_len < limit ?
					     (size_t)d->h.payload_len : limit);

		if (c > room - d->kept)
			c = room - d->kept;

		if (d->h.masked)
			ws_frame_unmask(d->cap + d->kept, buf, c, d->h.mask, d->pos);
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

				ws_frame_unmask(tmp, buf + off, c, d->h.mask,
				       d->pos + off);
				d->cb.on_frame_data(d->cb.ctx, &d->h, tmp, c,
						    d->pos + off);
				off += c;
			}
		}
	}
	d->pos += n;
	if (d->pos == d->h.payload_len)
		ws_frame_finish(d);
	return n;
}

static size_t feed_header(struct ws_frame_decoder *d, const uint8_t *buf,
			  size_t len)
{
	size_t i = 0;
	int r;

	/*
	 * Parsed straight into d->h (unused between frames): copying a header
	 * just written a byte field at a time stalls the load (no store
	 * forwarding), a tenth of the decoding time of small frames.
	 */
	if (d->hdr_len == 0) {
		r = ws_frame_header_parse(buf, len, &d->h);
		if (r > 0) {
			ws_frame_start(d, &d->h, true);
			return (size_t)r;
		}
		if (r < 0) {
			/* 5.2: frames can't be delimited any more. */
			violation(d, WS_VIOL_LENGTH_TOP_BIT, 0);
			ws_resync_relost(d, buf, 10);
			return 10;
		}
	}
	/* Header split across calls: collect it byte by byte. */
	while (i < len) {
		d->hdr[d->hdr_len++] = buf[i++];
		r = ws_frame_header_parse(d->hdr, d->hdr_len, &d->h);
		if (r > 0) {
			d->hdr_len = 0;
			ws_frame_start(d, &d->h, true);
			break;
		}
		if (r < 0) {
			uint8_t hb[WS_FRAME_HEADER_MAX];
			size_t n = d->hdr_len;

			memcpy(hb, d->hdr, n);
			violation(d, WS_VIOL_LENGTH_TOP_BIT, 0);
			ws_resync_relost(d, hb, n);
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
			off += ws_frame_feed_payload(d, buf + off, len - off);
			break;
		case WS_FRAME_ST_LOST:
			off += ws_resync_feed(d, buf + off, len - off);
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
				ws_resync_clear(d);
			} else if (buf != spare) {
				memcpy(spare, ws_resync_window(d), n);
				ws_resync_clear(d);
				feed_internal(d, spare, n);
			} else {
				/* Not reachable (see above); stay safe. */
				ws_resync_clear(d);
				ws_resync_enter(d);
				d->skipped += n;
			}
		}
	}
	return len;
}

size_t ws_frame_decoder_to_boundary(const struct ws_frame_decoder *d,
				    const uint8_t *buf, size_t len)
{
	struct ws_frame_header h;
	int r;

	switch (d->state) {
	case WS_FRAME_ST_PAYLOAD: {
		uint64_t rest = d->h.payload_len - d->pos;

		/* Never 0: the caller's loop must move on. */
		return rest && rest < len ? (size_t)rest : len;
	}
	case WS_FRAME_ST_HEADER:
		if (d->hdr_len) { /* a split header: completed, then its payload */
			size_t rest = (size_t)WS_FRAME_HEADER_MAX - d->hdr_len;

			return rest < len ? rest : len;
		}
		r = ws_frame_header_parse(buf, len, &h);
		if (r > 0 && h.payload_len <= len - (size_t)r)
			return (size_t)r + (size_t)h.payload_len;
		break;
	case WS_FRAME_ST_LOST:
		break;
	}
	return len;
}

size_t ws_frame_decoder_feed(struct ws_frame_decoder *d, const uint8_t *buf,
			     size_t len)
{
	feed_internal(d, buf, len);
	if (d->win && d->state != WS_FRAME_ST_LOST)
		ws_resync_free(d); /* in sync again: not needed until a loss */
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
	if (ws_frame_decoder_gap_is_inside(d, missing)) {
		d->pos += missing;
		d->gap_in_frame = true;
		if (d->pos == d->h.payload_len)
			ws_frame_finish(d);
		return 0;
	}
	if (d->state == WS_FRAME_ST_PAYLOAD) {
		/* The frame ended inside the gap; what follows is unknown. */
		d->gap_in_frame = true;
		ws_frame_finish(d);
	} else if (d->state == WS_FRAME_ST_LOST) {
		/* The window is no longer contiguous: a candidate on
		 * probation can't be confirmed, all of it was skipped. */
		d->skipped += ws_resync_undecided(d);
	}
	ws_resync_enter(d);
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
	ws_resync_enter(d);
}

uint64_t ws_frame_decoder_pending_skip(const struct ws_frame_decoder *d)
{
	return d->skipped + ws_resync_undecided(d);
}
