/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ws_frame_internal.h - what the in-sync frame decoder (ws_frame.c) and
 * resynchronisation (ws_resync.c) call of each other. Only those two
 * include it; everyone else uses ws_frame.h.
 */
#ifndef WST_WS_FRAME_INTERNAL_H
#define WST_WS_FRAME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ws_frame.h"

/* ws_frame.c: a frame starts (its header checked when check is true),
 * its payload bytes, its end. */
void ws_frame_start(struct ws_frame_decoder *d, const struct ws_frame_header *h, bool check);
size_t ws_frame_feed_payload(struct ws_frame_decoder *d, const uint8_t *buf, size_t len);
void ws_frame_finish(struct ws_frame_decoder *d);
/* Payload bytes of a frame with header h kept for on_frame. */
size_t ws_frame_capture_limit(const struct ws_frame_decoder *d, const struct ws_frame_header *h);

/* ws_resync.c: sizes the window (at init; it is allocated when needed). */
void ws_resync_init(struct ws_frame_decoder *d);
/* Frees the window. */
void ws_resync_free(struct ws_frame_decoder *d);
/* Frame boundaries are lost: from now on bytes go to ws_resync_feed(). */
void ws_resync_enter(struct ws_frame_decoder *d);
/* Bytes while lost: consumed up to the point where the decoder is in sync
 * again (the return value), or all of them. */
size_t ws_resync_feed(struct ws_frame_decoder *d, const uint8_t *buf, size_t len);
/* The header in hb[0..n) cannot be followed: lost, and the bytes after its
 * first one are scanned again. */
void ws_resync_relost(struct ws_frame_decoder *d, const uint8_t *hb, size_t n);
/* Bytes fed while lost and not judged yet. */
uint64_t ws_resync_undecided(const struct ws_frame_decoder *d);
/* Empties the window. */
void ws_resync_clear(struct ws_frame_decoder *d);

/* The bytes held in the window: after a confirmed candidate, the stream
 * bytes that follow it, for the in-sync decoder to read again. */
static inline const uint8_t *ws_resync_window(const struct ws_frame_decoder *d)
{
	return d->win + d->win_off;
}

#endif /* WST_WS_FRAME_INTERNAL_H */
