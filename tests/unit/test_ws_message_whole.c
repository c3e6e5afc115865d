// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_ws_message_whole.c - small single-frame messages are taken whole
 * (ws_frame_decoder_take): the callbacks, their order and their bytes must
 * be exactly those of the frame-by-frame path. A byte at a time the whole
 * path is never taken (it needs a frame's every byte), so each random
 * stream is decoded whole, a byte at a time and in random pieces, and the
 * three traces compared. The streams mix frames the whole path takes with
 * every kind it must leave alone: violations of each check it skips,
 * fragments, control frames, lengths around its limits, invalid UTF-8;
 * some are picked up mid-stream, some have bytes missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/ws_message.h"
#include "wsgen.h"

/* Every callback, in order, with its arguments and bytes. */
struct trace {
	uint8_t *b;
	size_t len, alloc;
	int whole_frames; /* messages of one frame (how often the path could be taken) */
	/* what a counter would see: callbacks plus the count-only tally */
	uint64_t frames, messages, frame_bytes, violations, tallied;
};

static void put(struct trace *t, const void *p, size_t n)
{
	if (t->len + n > t->alloc) {
		t->alloc = (t->len + n) * 2;
		t->b = realloc(t->b, t->alloc);
		assert_non_null(t->b);
	}
	memcpy(t->b + t->len, p, n);
	t->len += n;
}

static void put_u64(struct trace *t, uint64_t v)
{
	put(t, &v, sizeof(v));
}

static void put_header(struct trace *t, const struct ws_frame_header *h)
{
	uint8_t f[] = { h->fin, h->rsv1, h->rsv2, h->rsv3, h->masked, h->non_minimal_length,
			h->opcode, h->header_len };

	put(t, f, sizeof(f));
	put(t, h->mask, 4);
	put_u64(t, h->payload_len);
}

/* A frame, ended (F, the last value: truncated) or cut (I: bytes seen). */
static void put_frame(struct trace *t, const char *tag, const struct ws_frame_header *h,
		      const uint8_t *p, size_t kept, uint64_t last)
{
	put(t, tag, 1);
	put_header(t, h);
	put_u64(t, kept);
	put_u64(t, last);
	put(t, p, kept);
}

static void on_frame(void *ctx, const struct ws_frame_header *h, const uint8_t *p, size_t kept,
		     bool truncated)
{
	struct trace *t = ctx;

	t->frames++;
	t->frame_bytes += h->payload_len;
	put_frame(ctx, "F", h, p, kept, truncated);
}

static void on_incomplete(void *ctx, const struct ws_frame_header *h, const uint8_t *p, size_t kept,
			  uint64_t seen)
{
	put_frame(ctx, "I", h, p, kept, seen);
}

static void on_message(void *ctx, const struct ws_message_info *m)
{
	struct trace *t = ctx;
	uint8_t f[] = { m->opcode, m->compressed, m->inflated, m->truncated, m->incomplete,
			m->utf8_valid };

	t->messages++;
	put(t, "M", 1);
	put(t, f, sizeof(f));
	put_u64(t, m->kept);
	put_u64(t, m->total_len);
	put_u64(t, m->wire_len);
	put_u64(t, m->frames);
	if (m->kept)
		put(t, m->data, m->kept);
	t->whole_frames += m->frames == 1;
}

static void on_control(void *ctx, const struct ws_control_info *c)
{
	struct trace *t = ctx;
	uint8_t f[] = { c->opcode, c->truncated, c->in_fragmented_message, c->close_parsed,
			c->close_valid };

	put(t, "C", 1);
	put(t, f, sizeof(f));
	put_u64(t, c->len);
	put(t, c->payload, c->len);
	put_u64(t, c->close_code);
}

static void on_violation(void *ctx, enum ws_violation v, uint64_t detail)
{
	struct trace *t = ctx;

	t->violations++;
	put(t, "V", 1);
	put_u64(t, v);
	put_u64(t, detail);
}

static void on_loss(void *ctx, enum ws_loss l, uint64_t detail)
{
	struct trace *t = ctx;

	put(t, "L", 1);
	put_u64(t, l);
	put_u64(t, detail);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16) % n;
}

/* One frame of a random kind, appended at out; returns its length. */
static size_t random_frame(uint8_t *out, bool client)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	static const char *texts[] = { "hi", "{\"msg_id\":1}", "h\xc3\xa9llo", "\xf0\x9f\x98\x80",
				       "bad\xff", "cut\xe2\x82", "\xed\xa0\x80" };
	/* Around the whole path's limits: 125/126 (the 16-bit length), the
	 * capture limits of the configurations, 1024/1025 (its own). */
	static const size_t lens[] = { 0, 1, 7, 8, 9, 16, 17, 64, 125, 126, 127, 255, 256, 257,
				       1023, 1024, 1025, 2000 };
	uint8_t p[2048], b0;
	const uint8_t *k = client ? key : NULL;
	size_t len, n, i;
	uint32_t kind = rnd(20);

	if (kind < 6) { /* text, valid or not */
		const char *s = texts[rnd(sizeof(texts) / sizeof(texts[0]))];

		return wsgen_frame(out, true, WS_OP_TEXT, s, strlen(s), k);
	}
	len = lens[rnd(sizeof(lens) / sizeof(lens[0]))];
	for (i = 0; i < len; i++)
		p[i] = kind == 6 ? (uint8_t)('a' + i % 26) : (uint8_t)rnd(256);
	switch (kind) {
	case 6: /* long ASCII text */
		return wsgen_frame(out, true, WS_OP_TEXT, p, len, k);
	case 7: case 8: case 9: /* binary */
		return wsgen_frame(out, true, WS_OP_BINARY, p, len, k);
	case 10: /* a fragment: first, continuation or last */
		b0 = (uint8_t)(rnd(2) ? WS_OP_CONT : WS_OP_TEXT);
		return wsgen_frame(out, rnd(2), b0, "ab", 2, k);
	case 11: /* masked the wrong way */
		return wsgen_frame(out, true, WS_OP_BINARY, p, len % 100, client ? NULL : key);
	case 12: /* RSV bits */
		n = wsgen_header(out, (uint8_t)(WSGEN_FIN | (0x10 << rnd(3)) | WS_OP_BINARY), 4, k);
		wsgen_mask(out + n, "abcd", 4, k);
		return n + 4;
	case 13: /* a length not in its shortest form */
		out[0] = WSGEN_FIN | WS_OP_BINARY;
		out[1] = (uint8_t)((k ? 0x80 : 0) | 126);
		out[2] = 0;
		out[3] = 5;
		n = 4;
		if (k) {
			memcpy(out + n, k, 4);
			n += 4;
		}
		wsgen_mask(out + n, "hello", 5, k);
		return n + 5;
	case 14: /* reserved opcode */
		return wsgen_frame(out, true, 3 + rnd(5), p, len % 50, k);
	case 15: /* ping or pong */
		return wsgen_frame(out, true, rnd(2) ? WS_OP_PING : WS_OP_PONG, p, len % 126, k);
	case 16: /* close, rarely: data after it is a violation */
		if (rnd(4))
			return wsgen_frame(out, true, WS_OP_BINARY, p, 3, k);
		return wsgen_frame(out, true, WS_OP_CLOSE, "\x03\xe8", 2, k);
	default: /* empty final frames of each data opcode */
		return wsgen_frame(out, true, (uint8_t)(rnd(3)), NULL, 0, k);
	}
}

/* Bytes of the stream never seen: [at, at + missing). */
struct gap {
	size_t at, missing;
};

/*
 * Decodes in[0..len) whole (how 0), a byte at a time (1) or in random
 * pieces (2), from the lost state if lost (picked up mid-stream), with the
 * gaps reported where they are.
 */
static void decode_as(struct trace *t, const struct ws_message_config *cfg, const uint8_t *in,
		      size_t len, int how, bool lost, const struct gap *gaps, int ngaps,
		      bool count_only)
{
	struct ws_message_callbacks cb = {
		.on_frame = on_frame, .on_frame_incomplete = on_incomplete,
		.on_message = on_message, .on_control = on_control,
		.on_violation = on_violation, .on_loss = on_loss, .ctx = t,
	};
	struct ws_message_decoder m;
	size_t off = 0, n, end;
	int g = 0;

	memset(t, 0, sizeof(*t));
	assert_int_equal(ws_message_decoder_init(&m, cfg, &cb), 0);
	ws_message_decoder_count_only(&m, count_only);
	if (lost)
		ws_message_decoder_set_lost(&m);
	while (off < len) {
		if (g < ngaps && off == gaps[g].at) {
			ws_message_decoder_gap(&m, gaps[g].missing);
			off += gaps[g++].missing;
			continue;
		}
		end = g < ngaps ? gaps[g].at : len;
		n = how == 0 ? end - off : how == 1 ? 1 : 1 + rnd(300);
		if (n > end - off)
			n = end - off;
		ws_message_decoder_feed(&m, in + off, n);
		off += n;
	}
	ws_message_decoder_end(&m);
	t->frames += m.tally.frames;
	t->messages += m.tally.messages;
	t->frame_bytes += m.tally.bytes;
	t->tallied = m.tally.frames;
	ws_message_decoder_free(&m);
}

static void decode(struct trace *t, const struct ws_message_config *cfg, const uint8_t *in,
		   size_t len, int how, bool lost, const struct gap *gaps, int ngaps)
{
	decode_as(t, cfg, in, len, how, lost, gaps, ngaps, false);
}

static void test_whole_frames_report_the_same(void **state)
{
	const struct ws_message_config cfgs[] = {
		{ .is_client_side = true, .max_frame_capture = 4096, .max_message_capture = 65536 },
		{ .max_frame_capture = 4096, .max_message_capture = 65536 },
		/* capture limits below the frames' lengths */
		{ .is_client_side = true, .max_frame_capture = 16, .max_message_capture = 8 },
		{ .is_client_side = true, .max_frame_capture = 8, .max_message_capture = 65536 },
		/* a message limit, and deflate negotiated (RSV1 allowed) */
		{ .is_client_side = true, .max_frame_capture = 4096, .max_message_capture = 65536,
		  .max_message_len = 100 },
		{ .max_frame_capture = 4096, .max_message_capture = 65536, .deflate = true },
	};
	size_t cap = 1 << 20;
	uint8_t *in = malloc(cap);
	struct trace whole, bytes, pieces, counted;
	int streams = 0, taken = 0;
	uint64_t tallied = 0;

	(void)state;
	assert_non_null(in);
	for (size_t c = 0; c < sizeof(cfgs) / sizeof(cfgs[0]); c++) {
		for (int s = 0; s < 100; s++) {
			size_t len = 0;
			int frames = 1 + (int)rnd(60);

			for (int f = 0; f < frames && len + 2100 < cap; f++)
				len += random_frame(in + len, cfgs[c].is_client_side);
			struct gap gaps[2];
			int ngaps = 0;
			bool lost = rnd(4) == 0;

			/* Sometimes cut short: the last frame ends inside the stream. */
			if (rnd(3) == 0 && len)
				len -= 1 + rnd(len < 20 ? (uint32_t)len : 20);
			/* Sometimes bytes missing, once or twice, in order. */
			for (int i = rnd(4) == 0 ? 1 + (int)rnd(2) : 0; i > 0 && len > 100; i--) {
				size_t at = (ngaps ? gaps[0].at + gaps[0].missing : 0) + rnd(len / 2);

				if (at + 60 >= len)
					break;
				gaps[ngaps++] = (struct gap){ at, 1 + rnd(40) };
			}
			decode(&whole, &cfgs[c], in, len, 0, lost, gaps, ngaps);
			decode(&bytes, &cfgs[c], in, len, 1, lost, gaps, ngaps);
			decode(&pieces, &cfgs[c], in, len, 2, lost, gaps, ngaps);
			assert_int_equal(whole.len, bytes.len);
			assert_memory_equal(whole.b, bytes.b, bytes.len);
			assert_int_equal(pieces.len, bytes.len);
			assert_memory_equal(pieces.b, bytes.b, bytes.len);
			/* Counting only: the same counts, the same violations. */
			decode_as(&counted, &cfgs[c], in, len, (int)rnd(3), lost, gaps, ngaps, true);
			assert_int_equal(counted.frames, bytes.frames);
			assert_int_equal(counted.messages, bytes.messages);
			assert_int_equal(counted.frame_bytes, bytes.frame_bytes);
			assert_int_equal(counted.violations, bytes.violations);
			tallied += counted.tallied;
			free(counted.b);
			streams++;
			taken += whole.whole_frames;
			free(whole.b);
			free(bytes.b);
			free(pieces.b);
		}
	}
	/* The comparison means something only if single-frame messages came. */
	assert_true(streams == 600);
	assert_true(taken > 1000);
	assert_true(tallied > 300);
	free(in);
}

/* Decoded whole and a byte at a time: the same trace. */
static void same_both_ways(const struct ws_message_config *cfg, const uint8_t *in, size_t len,
			   bool lost, const struct gap *gaps, int ngaps, struct trace *whole)
{
	struct trace bytes;

	decode(whole, cfg, in, len, 0, lost, gaps, ngaps);
	decode(&bytes, cfg, in, len, 1, lost, gaps, ngaps);
	assert_int_equal(whole->len, bytes.len);
	assert_memory_equal(whole->b, bytes.b, bytes.len);
	free(bytes.b);
}

/*
 * Picked up mid-stream, a continuation may belong to a start never seen;
 * once a whole message came, one is a violation again (the whole path
 * ends the "after a loss" leniency as a message start does).
 */
static void test_whole_message_ends_after_loss(void **state)
{
	static const uint8_t key[4] = { 1, 2, 3, 4 };
	const struct ws_message_config cfg = { .is_client_side = true, .max_frame_capture = 4096,
					       .max_message_capture = 65536 };
	uint8_t in[128];
	size_t n = 0;
	struct trace t;
	uint64_t v = WS_VIOL_CONTINUATION_WITHOUT_START;
	uint8_t rec[1 + 8];
	struct gap split = { 0, 0 }; /* a gap of 0 bytes: only a new feed */

	(void)state;
	n += wsgen_frame(in + n, true, WS_OP_CONT, "ab", 2, key);
	n += wsgen_frame(in + n, true, WS_OP_CONT, "cd", 2, key);
	n += wsgen_frame(in + n, true, WS_OP_PING, "p", 1, key);
	/* Resynchronised on "cd" in the piece fed while lost (confirmed by
	 * the ping's header): the next piece is in sync, and "yo", the first
	 * message start since the loss, taken whole. */
	split.at = n;
	n += wsgen_frame(in + n, true, WS_OP_TEXT, "yo", 2, key);
	n += wsgen_frame(in + n, true, WS_OP_CONT, "ef", 2, key);
	n += wsgen_frame(in + n, true, WS_OP_TEXT, "ok", 2, key);
	same_both_ways(&cfg, in, n, true, &split, 1, &t);
	rec[0] = 'V';
	memcpy(rec + 1, &v, sizeof(v));
	assert_non_null(memmem(t.b, t.len, rec, sizeof(rec)));
	free(t.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_frames_report_the_same),
		cmocka_unit_test(test_whole_message_ends_after_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
