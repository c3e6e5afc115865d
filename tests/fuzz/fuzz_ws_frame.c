// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_ws_frame.c - libFuzzer target: the message decoder (and the frame
 * decoder under it) for both directions, with and without
 * permessage-deflate, the input cut into pieces and gaps by its own bytes.
 *
 * Layout: byte 0 = options (bit 0 client side, bit 1 deflate, bit 2 no
 * context takeover, bits 3-5 window bits - 8, bit 6 gaps on),
 * then records: 1 length byte L, then L data bytes; if gaps are on and
 * L has its top bit set, a gap of (L & 0x7f) * 7 bytes follows the data.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocol/ws_message.h"

struct fz_ctx {
	uint64_t sum;
};

static void fz_msg(void *ctx, const struct ws_message_info *m)
{
	struct fz_ctx *c = ctx;
	size_t i;

	/* touch every byte handed out, so ASan checks the pointers */
	for (i = 0; i < m->kept; i++)
		c->sum += m->data[i];
	if (m->kept > m->total_len && !m->incomplete)
		__builtin_trap();
}

static void fz_ctl(void *ctx, const struct ws_control_info *ci)
{
	struct fz_ctx *c = ctx;
	size_t i;

	for (i = 0; i < ci->len; i++)
		c->sum += ci->payload[i];
	for (i = 0; i < ci->reason_len; i++)
		c->sum += ci->reason[i];
}

static void fz_frame(void *ctx, const struct ws_frame_header *h,
		     const uint8_t *p, size_t kept, bool truncated)
{
	struct fz_ctx *c = ctx;
	size_t i;

	(void)truncated;
	if (kept > h->payload_len)
		__builtin_trap();
	for (i = 0; i < kept; i++)
		c->sum += p[i];
}

static void fz_viol(void *ctx, enum ws_violation v, uint64_t d)
{
	struct fz_ctx *c = ctx;

	c->sum += (uint64_t)v + d + (uint64_t)ws_violation_name(v)[0];
}

static void fz_loss(void *ctx, enum ws_loss l, uint64_t d)
{
	struct fz_ctx *c = ctx;

	c->sum += (uint64_t)l + d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_ctx c = { 0 };
	struct ws_message_callbacks cb = {
		.on_frame = fz_frame,
		.on_message = fz_msg,
		.on_control = fz_ctl,
		.on_violation = fz_viol,
		.on_loss = fz_loss,
		.ctx = &c,
	};
	struct ws_message_config cfg = { 0 };
	struct ws_message_decoder m;
	uint8_t opt;
	size_t off = 1;

	if (size < 1)
		return 0;
	opt = data[0];
	cfg.is_client_side = opt & 1;
	cfg.deflate = opt & 2;
	cfg.no_context_takeover = opt & 4;
	cfg.window_bits = 8 + ((opt >> 3) & 7);
	cfg.max_frame_capture = 64;
	cfg.max_message_capture = 256;
	cfg.max_inflate = 1 << 16;
	cfg.max_message_len = 1 << 15;
	cfg.max_plausible_len = 1 << 20;
	if (ws_message_decoder_init(&m, &cfg, &cb))
		return 0;
	while (off < size) {
		size_t l = data[off++];
		size_t n = l & 0x7f;

		if (!(opt & 0x40))
			n = l;
		if (n > size - off)
			n = size - off;
		ws_message_decoder_feed(&m, data + off, n);
		off += n;
		if ((opt & 0x40) && (l & 0x80))
			ws_message_decoder_gap(&m, (l & 0x7f) * 7);
	}
	/* what a candidate on probation still holds at the end */
	c.sum += ws_message_decoder_pending_skip(&m);
	if (!ws_frame_decoder_is_lost(&m.fd) &&
	    ws_message_decoder_pending_skip(&m))
		__builtin_trap();
	/* the connection ends: whatever is open is reported */
	ws_message_decoder_end(&m);
	ws_message_decoder_free(&m);
	return 0;
}
