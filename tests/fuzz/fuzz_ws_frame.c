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
 * The input is decoded twice, in those pieces and a byte at a time: without
 * deflate the callbacks, in order, must be the same (small messages are
 * taken whole only when their frame is all in one piece).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocol/ws_message.h"

struct fz_ctx {
	uint64_t sum;
	uint64_t trace; /* every callback, in order */
};

static void mix(struct fz_ctx *c, uint64_t v)
{
	c->trace = (c->trace ^ v) * 1099511628211ull;
}

static void mix_bytes(struct fz_ctx *c, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mix(c, p[i]);
}

static void fz_msg(void *ctx, const struct ws_message_info *m)
{
	struct fz_ctx *c = ctx;
	size_t i;

	/* touch every byte handed out, so ASan checks the pointers */
	for (i = 0; i < m->kept; i++)
		c->sum += m->data[i];
	if (m->kept > m->total_len && !m->incomplete)
		__builtin_trap();
	mix(c, 'M');
	mix(c, m->opcode | m->compressed << 8 | m->inflated << 9 | m->truncated << 10 |
		       m->incomplete << 11 | m->utf8_valid << 12);
	mix(c, m->kept);
	mix(c, m->total_len);
	mix(c, m->wire_len);
	mix(c, m->frames);
	mix_bytes(c, m->data, m->kept);
}

static void fz_ctl(void *ctx, const struct ws_control_info *ci)
{
	struct fz_ctx *c = ctx;
	size_t i;

	for (i = 0; i < ci->len; i++)
		c->sum += ci->payload[i];
	for (i = 0; i < ci->reason_len; i++)
		c->sum += ci->reason[i];
	mix(c, 'C');
	mix(c, ci->opcode | ci->truncated << 8 | ci->close_parsed << 9 | ci->close_valid << 10);
	mix(c, ci->close_code);
	mix_bytes(c, ci->payload, ci->len);
}

static void fz_frame(void *ctx, const struct ws_frame_header *h,
		     const uint8_t *p, size_t kept, bool truncated)
{
	struct fz_ctx *c = ctx;
	size_t i;

	if (kept > h->payload_len)
		__builtin_trap();
	for (i = 0; i < kept; i++)
		c->sum += p[i];
	mix(c, 'F');
	mix(c, h->fin | h->rsv1 << 1 | h->rsv2 << 2 | h->rsv3 << 3 | h->masked << 4 |
		       h->non_minimal_length << 5 | (uint64_t)h->opcode << 8 | (uint64_t)h->header_len << 16);
	mix(c, h->payload_len);
	mix(c, truncated);
	mix_bytes(c, h->mask, 4);
	mix_bytes(c, p, kept);
}

static void fz_viol(void *ctx, enum ws_violation v, uint64_t d)
{
	struct fz_ctx *c = ctx;

	c->sum += (uint64_t)v + d + (uint64_t)ws_violation_name(v)[0];
	mix(c, 'V');
	mix(c, v);
	mix(c, d);
}

static void fz_loss(void *ctx, enum ws_loss l, uint64_t d)
{
	struct fz_ctx *c = ctx;

	c->sum += (uint64_t)l + d;
	mix(c, 'L');
	mix(c, l);
	mix(c, d);
}

/* Feeds p[0..n): whole, or a byte at a time. */
static void feed(struct ws_message_decoder *m, const uint8_t *p, size_t n, bool bytewise)
{
	if (!bytewise) {
		ws_message_decoder_feed(m, p, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		ws_message_decoder_feed(m, p + i, 1);
}

/* Decodes the input; returns the trace of its callbacks. */
static uint64_t run(const uint8_t *data, size_t size, bool bytewise)
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
	uint8_t opt = data[0];
	size_t off = 1;

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
		feed(&m, data + off, n, bytewise);
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
	return c.trace;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint64_t pieces = run(data, size, false), bytes = run(data, size, true);

	/* Compressed garbage may inflate a byte or two before zlib finds the
	 * error, depending on how it was cut: compared without deflate. */
	if (!(data[0] & 2) && pieces != bytes)
		__builtin_trap();
	return 0;
}
