/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ws_frame.h - RFC 6455 frame decoder for one direction of a connection,
 * as seen by a passive observer.
 *
 * Incremental: bytes are fed as they arrive (a header split across calls,
 * many frames in one call, 64-bit lengths). Results come through callbacks.
 * The input is never modified: payloads are unmasked while copied out.
 * The session layer reports missing stream bytes with ws_frame_decoder_gap();
 * when a frame boundary is no longer certain the decoder is "lost" and looks
 * for a plausible header to resynchronise on. Such a candidate is held, not
 * reported, until the header right after it is seen and plausible too; only
 * then is it replayed through the callbacks (see on_resync).
 */
#ifndef WST_WS_FRAME_H
#define WST_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ws_frame_codec.h"

struct ws_frame_config {
	/* Frames of this direction are written by the client: they must be
	 * masked; server frames must not be (5.1). */
	bool is_client_side;
	/* permessage-deflate negotiated: RSV1 allowed on data frames. */
	bool rsv1_allowed;
	/* Payload bytes of each data frame kept for on_frame; the rest are
	 * streamed through on_frame_data and counted. Control frames are kept
	 * whole up to WS_FRAME_CONTROL_MAX bytes whatever this says. */
	size_t max_capture;
	/* Longest frame considered plausible while resynchronising;
	 * 0 means WS_FRAME_DEFAULT_MAX_PLAUSIBLE. Not a limit in sync. */
	uint64_t max_plausible_len;
};

#define WS_FRAME_CONTROL_MAX 125
#define WS_FRAME_DEFAULT_MAX_PLAUSIBLE (16ull << 20)
/* Bound on max_capture, so a configuration cannot ask for huge buffers. */
#define WS_FRAME_CAPTURE_LIMIT (64u << 20)

/* Every callback is optional. */
struct ws_frame_callbacks {
	/* A header was decoded (violations about it were reported before). */
	void (*on_frame_start)(void *ctx, const struct ws_frame_header *h);
	/* Unmasked payload bytes of the current frame, in order; offset is
	 * their position in the payload (it jumps over gaps). */
	void (*on_frame_data)(void *ctx, const struct ws_frame_header *h,
			      const uint8_t *data, size_t len, uint64_t offset);
	/* End of a frame: the first kept payload bytes, unmasked. truncated:
	 * kept < payload length (capture limit or a gap inside the payload). */
	void (*on_frame)(void *ctx, const struct ws_frame_header *h,
			 const uint8_t *payload, size_t kept, bool truncated);
	/* The stream ended inside a frame (ws_frame_decoder_end): instead of
	 * on_frame, its header, the first kept payload bytes, and `seen`, how
	 * much of its declared payload went by (bytes of gaps included). */
	void (*on_frame_incomplete)(void *ctx, const struct ws_frame_header *h,
				    const uint8_t *payload, size_t kept,
				    uint64_t seen);
	void (*on_violation)(void *ctx, enum ws_violation v, uint64_t detail);
	/* The decoder no longer knows where frames start. */
	void (*on_lost)(void *ctx);
	/* Resynchronised after discarding `skipped` bytes fed while lost
	 * (bytes of reported gaps are not counted). Called once the candidate
	 * frame is confirmed by a plausible header right after it; the
	 * candidate's own callbacks follow at once, as if decoded in sync.
	 * A candidate too long to hold whole (its span, header and payload,
	 * more than 14 bytes beyond max_capture, or beyond 64 KiB) keeps
	 * only its capture prefix while on probation and is replayed with
	 * it: on_frame_data stops there and on_frame says truncated, as for
	 * a frame with a gap in its payload. The window that holds a
	 * candidate is allocated on the first loss (about three times the
	 * held size: max_capture or 125, capped at 64 KiB) when bytes come while
	 * lost, and freed once in sync again. */
	void (*on_resync)(void *ctx, uint64_t skipped);
	void *ctx;
};

enum ws_frame_state {
	WS_FRAME_ST_HEADER = 0,
	WS_FRAME_ST_PAYLOAD,
	WS_FRAME_ST_LOST,
};

struct ws_frame_decoder {
	struct ws_frame_config cfg;
	struct ws_frame_callbacks cb;
	enum ws_frame_state state;
	uint8_t hdr[WS_FRAME_HEADER_MAX]; /* partial header; while lost, the
					   * header after a long candidate */
	uint8_t hdr_len;
	struct ws_frame_header h;         /* current frame */
	uint64_t pos;                     /* payload offset of the next byte */
	bool gap_in_frame;                /* bytes of the current payload missing */
	uint8_t *cap;                     /* capture buffer, cap_alloc bytes */
	size_t cap_alloc;                 /* grown per frame up to cap_size */
	size_t cap_size;                  /* capture limit */
	size_t kept;
	bool cap_ascii;                   /* taken whole: every byte below 0x80 */
	uint64_t skipped;                 /* bytes discarded while lost */
	uint64_t frames;                  /* frames completed */
	/*
	 * Lost: bytes not decided yet, from the scan position on, at
	 * win[win_off .. win_off + win_len); win_size is twice the span a
	 * candidate may have to be held whole (cap_size + 2 headers), so
	 * dropping a byte is O(1) and compaction amortised.
	 */
	uint8_t *win;
	size_t win_size, win_off, win_len;
	bool cand;                        /* win starts with a candidate header */
	bool cand_long;                   /* its span does not fit: the payload
					   * past the held prefix is only counted */
	struct ws_frame_header cand_h;
	uint64_t cand_seen;               /* long candidate: span bytes seen */
};

/*
 * Sets up d (allocates nothing: buffers come with the bytes that need
 * them). Returns 0 or -EINVAL.
 * cb may be NULL. Release with ws_frame_decoder_free().
 */
int ws_frame_decoder_init(struct ws_frame_decoder *d,
			  const struct ws_frame_config *cfg,
			  const struct ws_frame_callbacks *cb);
void ws_frame_decoder_free(struct ws_frame_decoder *d);

/* Consumes all len bytes (the return value is always len). */
size_t ws_frame_decoder_feed(struct ws_frame_decoder *d,
			     const uint8_t *buf, size_t len);

/* Makes room for want captured bytes (never more than cap_size), for
 * ws_frame_decoder_take() below. Returns the room there is: less than asked
 * if memory is short. */
size_t ws_frame_cap_reserve(struct ws_frame_decoder *d, size_t want);

/*
 * The common frame, taken whole: while in sync between frames, a final
 * text or binary frame without RSV bits, masked as this side must, its
 * length minimal and at most max (and the capture limit), all of it in
 * buf: its header goes to d->h, its unmasked payload to d->cap (and
 * whether that is all ASCII to d->cap_ascii), and it is counted as fed.
 * Returns its size, or 0 (buf is then fed as usual, with
 * ws_frame_decoder_feed). No callback is called: the caller reports it, as
 * on_frame_start, on_frame_data and on_frame would (check_header would
 * find nothing to say of it). Skips the callbacks for small frames; inline
 * because it runs once per frame (6% of `wstrace -r -q` as a call).
 */
static inline size_t ws_frame_decoder_take(struct ws_frame_decoder *d,
					   const uint8_t *buf, size_t len,
					   size_t max)
{
	struct ws_frame_header *h = &d->h;
	bool masked = d->cfg.is_client_side;
	size_t hl = masked ? 6 : 2, n, room;

	if (d->state != WS_FRAME_ST_HEADER || d->hdr_len || len < hl ||
	    (buf[0] != (0x80 | WS_OP_TEXT) && buf[0] != (0x80 | WS_OP_BINARY)) ||
	    (bool)(buf[1] & 0x80) != masked)
		return 0;
	n = buf[1] & 0x7f;
	if (n == 126) {
		hl += 2;
		if (len < hl)
			return 0;
		n = (size_t)buf[2] << 8 | buf[3];
		if (n < 126)
			return 0; /* non-minimal: a violation to report */
	} else if (n == 127) {
		return 0;
	}
	room = n ? n : 1; /* a capture even for an empty payload */
	if (n > max || n > d->cfg.max_capture || n > len - hl ||
	    (d->cap_alloc < room && ws_frame_cap_reserve(d, room) < n))
		return 0;
	*h = (struct ws_frame_header){ .fin = true, .masked = masked, .opcode = buf[0] & 0x0f,
				       .header_len = (uint8_t)hl, .payload_len = n };
	if (masked)
		memcpy(h->mask, buf + hl - 4, 4);
	/* An unmasked payload is "unmasked" with the zero key, h->mask. */
	d->cap_ascii = ws_frame_unmask(d->cap, buf + hl, n, h->mask, 0);
	d->frames++;
	return hl + n;
}

/*
 * How many of the len bytes at buf to feed so the decoder ends on a frame
 * boundary (where ws_frame_decoder_take may take the next frame): the rest
 * of the current frame, or one whole frame at its header; len when the
 * boundary is not in buf or frames are lost.
 */
size_t ws_frame_decoder_to_boundary(const struct ws_frame_decoder *d,
				    const uint8_t *buf, size_t len);

/* True if a gap of `missing` bytes would fall entirely inside the payload
 * of the current frame (the next frame boundary stays certain). */
bool ws_frame_decoder_gap_is_inside(const struct ws_frame_decoder *d,
				    uint64_t missing);

/*
 * `missing` stream bytes will never be seen. Inside the current payload:
 * they are skipped, the frame is marked truncated, returns 0. Otherwise the
 * current frame (if any) ends truncated, the decoder becomes lost and
 * returns 1. A gap of 0 bytes is a no-op.
 */
int ws_frame_decoder_gap(struct ws_frame_decoder *d, uint64_t missing);

/*
 * The stream ends (the connection closed): a frame whose payload was still
 * expected, however long it declared to be, is reported through
 * on_frame_incomplete and counted in `frames`; the bytes of a header cut
 * short are added to the skipped ones (ws_frame_decoder_pending_skip).
 * The decoder then waits for a header again. Returns true if a frame was
 * cut short.
 */
bool ws_frame_decoder_end(struct ws_frame_decoder *d);

/* Forces the lost state, e.g. when attaching to a stream mid-way. */
void ws_frame_decoder_set_lost(struct ws_frame_decoder *d);

/* True while lost, a candidate on probation included. */
static inline bool ws_frame_decoder_is_lost(const struct ws_frame_decoder *d)
{
	return d->state == WS_FRAME_ST_LOST;
}

/*
 * Bytes fed since the last resync that on_resync has not reported: those
 * discarded, plus those still undecided (a candidate on probation, a
 * partial header). At the end of a stream they are what was skipped.
 */
uint64_t ws_frame_decoder_pending_skip(const struct ws_frame_decoder *d);

/*
 * Whether a parsed header is a believable frame start for this direction:
 * non-reserved opcode, RSV bits allowed by the negotiated extension, mask
 * bit right, minimal length, control frames <= 125 bytes with FIN, length
 * within max_plausible_len, not an empty non-final frame nor a middle
 * fragment (opcode 0 without FIN: zero bytes look like that). Used to
 * resynchronise: the header found and the one after it must both pass,
 * and follow each other as 5.4 allows (after a final data frame a new
 * message, after a non-final one a continuation, control frames aside).
 * The candidate's payload must also make sense where it can be judged: a
 * close frame a valid close payload (7.4, 5.5.1), an uncompressed text
 * frame valid UTF-8 (complete if final and held whole). If any check
 * fails, nothing is reported and the scan resumes at the byte after the
 * candidate's first byte (after its span if that was too long to hold).
 */
bool ws_frame_header_plausible(const struct ws_frame_header *h,
			       const struct ws_frame_config *cfg);

#endif /* WST_WS_FRAME_H */
