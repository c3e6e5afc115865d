// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_ws_frame.c - RFC 6455 frame decoder: the section 5.7 examples fed
 * whole, byte by byte and split at every offset; violations; close codes;
 * gaps and resynchronisation. Inputs sit right before a PROT_NONE page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/ws_frame.h"
#include "guard_page.h"
#include "wsgen.h"

/* ---- event recorder ---- */

#define WFT_LOG_MAX (1 << 16)
#define WFT_DATA_MAX (1 << 17)

struct wft_rec {
	char log[WFT_LOG_MAX];
	size_t log_len;
	uint8_t data[WFT_DATA_MAX];  /* on_frame_data bytes of the frame */
	size_t data_len;
	uint64_t next_off;
	bool offsets_ok;
	int frames;
	int viol[WS_VIOL_MAX];
	uint64_t viol_detail[WS_VIOL_MAX];
	int lost, resyncs;
	uint64_t skipped;
	/* frames cut by ws_frame_decoder_end, and what was pending after it */
	int incomplete;
	uint64_t seen, end_pending;
	/* last frame */
	struct ws_frame_header h;
	uint8_t payload[WFT_DATA_MAX];
	uint8_t streamed[WFT_DATA_MAX];
	size_t kept, streamed_len;
	bool truncated;
};

static void wft_log(struct wft_rec *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->log + r->log_len, WFT_LOG_MAX - r->log_len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < WFT_LOG_MAX - r->log_len);
	r->log_len += (size_t)n;
}

static uint32_t wft_fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static void wft_on_start(void *ctx, const struct ws_frame_header *h)
{
	struct wft_rec *r = ctx;

	wft_log(r, "start op=%u fin=%d rsv=%d%d%d mask=%d len=%llu\n",
		h->opcode, h->fin, h->rsv1, h->rsv2, h->rsv3, h->masked,
		(unsigned long long)h->payload_len);
	r->data_len = 0;
	r->next_off = 0;
}

static void wft_on_data(void *ctx, const struct ws_frame_header *h,
			const uint8_t *data, size_t len, uint64_t off)
{
	struct wft_rec *r = ctx;

	(void)h;
	if (off < r->next_off)
		r->offsets_ok = false;
	r->next_off = off + len;
	assert_true(len > 0);
	if (r->data_len + len <= WFT_DATA_MAX) {
		memcpy(r->data + r->data_len, data, len);
		r->data_len += len;
	}
}

static void wft_on_frame(void *ctx, const struct ws_frame_header *h,
			 const uint8_t *payload, size_t kept, bool truncated)
{
	struct wft_rec *r = ctx;

	r->frames++;
	r->h = *h;
	assert_true(kept <= WFT_DATA_MAX);
	memcpy(r->payload, payload, kept);
	r->kept = kept;
	r->truncated = truncated;
	memcpy(r->streamed, r->data, r->data_len);
	r->streamed_len = r->data_len;
	wft_log(r, "frame op=%u kept=%zu trunc=%d kh=%08x streamed=%zu sh=%08x\n",
		h->opcode, kept, truncated, wft_fnv(payload, kept),
		r->data_len, wft_fnv(r->data, r->data_len));
}

static void wft_on_incomplete(void *ctx, const struct ws_frame_header *h,
			      const uint8_t *payload, size_t kept, uint64_t seen)
{
	struct wft_rec *r = ctx;

	r->incomplete++;
	r->h = *h;
	assert_true(kept <= WFT_DATA_MAX && kept <= seen);
	memcpy(r->payload, payload, kept);
	r->kept = kept;
	r->seen = seen;
	wft_log(r, "incomplete op=%u kept=%zu seen=%llu kh=%08x streamed=%zu sh=%08x\n",
		h->opcode, kept, (unsigned long long)seen, wft_fnv(payload, kept),
		r->data_len, wft_fnv(r->data, r->data_len));
}

static void wft_on_violation(void *ctx, enum ws_violation v, uint64_t detail)
{
	struct wft_rec *r = ctx;

	assert_true(v > WS_VIOL_NONE && v < WS_VIOL_MAX);
	r->viol[v]++;
	r->viol_detail[v] = detail;
	wft_log(r, "violation %s %llu\n", ws_violation_name(v),
		(unsigned long long)detail);
}

static void wft_on_lost(void *ctx)
{
	struct wft_rec *r = ctx;

	r->lost++;
	wft_log(r, "lost\n");
}

static void wft_on_resync(void *ctx, uint64_t skipped)
{
	struct wft_rec *r = ctx;

	r->resyncs++;
	r->skipped = skipped;
	wft_log(r, "resync %llu\n", (unsigned long long)skipped);
}

static int wft_nviol(const struct wft_rec *r)
{
	int n = 0;

	for (int v = 0; v < WS_VIOL_MAX; v++)
		n += r->viol[v];
	return n;
}

static struct wft_rec *wft_rec_new(void)
{
	struct wft_rec *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->offsets_ok = true;
	return r;
}

static void wft_init(struct ws_frame_decoder *d, struct wft_rec *r,
		     bool client, bool rsv1, size_t max_capture)
{
	struct ws_frame_config cfg = {
		.is_client_side = client,
		.rsv1_allowed = rsv1,
		.max_capture = max_capture,
	};
	struct ws_frame_callbacks cb = {
		.on_frame_start = wft_on_start,
		.on_frame_data = wft_on_data,
		.on_frame = wft_on_frame,
		.on_frame_incomplete = wft_on_incomplete,
		.on_violation = wft_on_violation,
		.on_lost = wft_on_lost,
		.on_resync = wft_on_resync,
		.ctx = r,
	};

	assert_int_equal(ws_frame_decoder_init(d, &cfg, &cb), 0);
}

/* Feeds buf in pieces split at the given offsets (sorted). */
static void wft_feed_split(struct ws_frame_decoder *d, const uint8_t *buf,
			   size_t len, const size_t *cuts, size_t ncuts)
{
	size_t prev = 0, i;

	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		assert_int_equal(ws_frame_decoder_feed(d, buf + prev, end - prev),
				 end - prev);
		prev = end;
	}
}

/* Decodes buf (client or server side) and returns the recorder. */
static struct wft_rec *wft_run(const uint8_t *buf, size_t len, bool client,
			       const size_t *cuts, size_t ncuts)
{
	struct ws_frame_decoder d;
	struct wft_rec *r = wft_rec_new();
	struct guard_buf g;
	uint8_t *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, buf, len);
	guard_copy(&g, buf, len);
	wft_init(&d, r, client, false, 1 << 17);
	wft_feed_split(&d, g.p, len, cuts, ncuts);
	/* A passive decoder never writes to its input. */
	assert_memory_equal(g.p, copy, len);
	/* The stream ends: a frame still open is reported (and logged). */
	ws_frame_decoder_end(&d);
	r->end_pending = ws_frame_decoder_pending_skip(&d);
	ws_frame_decoder_free(&d);
	guard_free(&g);
	free(copy);
	return r;
}

/* Same log whole, byte by byte, and split at each offset in [0, len]. */
static struct wft_rec *wft_run_all_splits(const uint8_t *buf, size_t len,
					  bool client, size_t stride)
{
	struct wft_rec *whole = wft_run(buf, len, client, NULL, 0);
	size_t k;

	for (k = 0; k <= len; k += (k < 24 || k + 24 > len) ? 1 : stride) {
		struct wft_rec *r = wft_run(buf, len, client, &k, 1);

		if (strcmp(r->log, whole->log))
			fail_msg("split at %zu:\n%s\nvs whole:\n%s", k, r->log,
				 whole->log);
		assert_true(r->offsets_ok);
		free(r);
	}
	if (len <= 4096) {
		size_t *cuts = malloc(len * sizeof(*cuts) + 1);
		struct wft_rec *r;

		assert_non_null(cuts);
		for (k = 0; k + 1 < len; k++)
			cuts[k] = k + 1;
		r = wft_run(buf, len, client, cuts, len ? len - 1 : 0);
		assert_string_equal(r->log, whole->log);
		free(r);
		free(cuts);
	}
	return whole;
}

/* ---- RFC 6455 5.7 examples ---- */

static const uint8_t ex_hello[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
static const uint8_t ex_hello_masked[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					   0x7f, 0x9f, 0x4d, 0x51, 0x58 };
static const uint8_t ex_frag1[] = { 0x01, 0x03, 0x48, 0x65, 0x6c };
static const uint8_t ex_frag2[] = { 0x80, 0x02, 0x6c, 0x6f };
static const uint8_t ex_ping[] = { 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
static const uint8_t ex_pong_masked[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					  0x7f, 0x9f, 0x4d, 0x51, 0x58 };

static void test_header_parse_examples(void **state)
{
	struct ws_frame_header h;
	struct guard_buf g;
	size_t k;

	(void)state;
	guard_copy(&g, ex_hello_masked, sizeof(ex_hello_masked));
	assert_int_equal(ws_frame_header_parse(g.p, sizeof(ex_hello_masked), &h), 6);
	assert_true(h.fin);
	assert_false(h.rsv1 || h.rsv2 || h.rsv3);
	assert_int_equal(h.opcode, WS_OP_TEXT);
	assert_true(h.masked);
	assert_int_equal(h.payload_len, 5);
	assert_memory_equal(h.mask, ex_hello_masked + 2, 4);
	guard_free(&g);
	/* Every truncation of the header asks for more, without over-read. */
	for (k = 0; k < 6; k++) {
		guard_copy(&g, ex_hello_masked, k);
		assert_int_equal(ws_frame_header_parse(g.p, k, &h), 0);
		guard_free(&g);
	}
	{
		const uint8_t b16[] = { 0x82, 0x7e, 0x01, 0x00 };
		const uint8_t b64[] = { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 };

		for (k = 0; k <= sizeof(b16); k++) {
			guard_copy(&g, b16, k);
			assert_int_equal(ws_frame_header_parse(g.p, k, &h),
					 k == sizeof(b16) ? 4 : 0);
			guard_free(&g);
		}
		assert_int_equal(h.payload_len, 256);
		assert_false(h.non_minimal_length);
		for (k = 0; k <= sizeof(b64); k++) {
			guard_copy(&g, b64, k);
			assert_int_equal(ws_frame_header_parse(g.p, k, &h),
					 k == sizeof(b64) ? 10 : 0);
			guard_free(&g);
		}
		assert_int_equal(h.payload_len, 65536);
		assert_false(h.masked);
		assert_false(h.non_minimal_length);
	}
}

/* Unmasking word at a time: every key phase, every length around its
 * 8 and 16 byte steps, against RFC 6455 5.3's byte by byte definition. */
static void test_unmask_every_phase(void **state)
{
	const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	uint8_t src[40], dst[41], want[40];

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	for (uint64_t pos = 0; pos < 8; pos++) {
		for (size_t n = 0; n <= sizeof(src); n++) {
			for (size_t i = 0; i < n; i++)
				want[i] = src[i] ^ mask[(pos + i) % 4];
			memset(dst, 0xee, sizeof(dst));
			ws_frame_unmask(dst, src, n, mask, pos);
			assert_memory_equal(dst, want, n);
			assert_int_equal(dst[n], 0xee); /* nothing written past n */
		}
	}
}

/* Whether all bytes written are ASCII: one high bit anywhere (in every
 * 16 and 8 byte step and the byte tail) makes it false. */
static void test_unmask_tells_ascii(void **state)
{
	const uint8_t mask[4] = { 0x37, 0x5a, 0x21, 0x3d };
	uint8_t src[40], dst[40];

	(void)state;
	for (uint64_t pos = 0; pos < 4; pos++) {
		for (size_t n = 0; n <= sizeof(src); n++) {
			for (size_t i = 0; i < n; i++)
				src[i] = (uint8_t)('a' + i % 26) ^ mask[(pos + i) % 4];
			assert_true(ws_frame_unmask(dst, src, n, mask, pos));
			for (size_t hi = 0; hi < n; hi++) {
				src[hi] ^= 0x80;
				assert_false(ws_frame_unmask(dst, src, n, mask, pos));
				src[hi] ^= 0x80;
			}
		}
	}
}

static void test_hello_unmasked(void **state)
{
	struct wft_rec *r;

	(void)state;
	r = wft_run_all_splits(ex_hello, sizeof(ex_hello), false, 1);
	assert_int_equal(r->frames, 1);
	assert_int_equal(r->h.opcode, WS_OP_TEXT);
	assert_true(r->h.fin);
	assert_memory_equal(r->payload, "Hello", 5);
	assert_int_equal(r->kept, 5);
	assert_false(r->truncated);
	assert_int_equal(r->streamed_len, 5);
	assert_memory_equal(r->streamed, "Hello", 5);
	assert_int_equal(r->lost + r->resyncs, 0);
	free(r);
}

static void test_hello_masked(void **state)
{
	struct wft_rec *r;
	int i, n = 0;

	(void)state;
	r = wft_run_all_splits(ex_hello_masked, sizeof(ex_hello_masked), true, 1);
	assert_int_equal(r->frames, 1);
	assert_memory_equal(r->payload, "Hello", 5);
	assert_memory_equal(r->streamed, "Hello", 5);
	for (i = 0; i < WS_VIOL_MAX; i++)
		n += r->viol[i];
	assert_int_equal(n, 0);
	free(r);
	/* The same bytes seen from the server side: masked server frame. */
	r = wft_run(ex_hello_masked, sizeof(ex_hello_masked), false, NULL, 0);
	assert_int_equal(r->viol[WS_VIOL_MASKED_SERVER_FRAME], 1);
	assert_memory_equal(r->payload, "Hello", 5); /* still decodable */
	free(r);
	r = wft_run(ex_hello, sizeof(ex_hello), true, NULL, 0);
	assert_int_equal(r->viol[WS_VIOL_UNMASKED_CLIENT_FRAME], 1);
	assert_int_equal(r->viol_detail[WS_VIOL_UNMASKED_CLIENT_FRAME], 1);
	assert_memory_equal(r->payload, "Hello", 5);
	free(r);
}

static void test_fragmented_and_control(void **state)
{
	uint8_t buf[64];
	size_t n = 0;
	struct wft_rec *r;

	(void)state;
	memcpy(buf + n, ex_frag1, sizeof(ex_frag1));
	n += sizeof(ex_frag1);
	memcpy(buf + n, ex_ping, sizeof(ex_ping));
	n += sizeof(ex_ping);
	memcpy(buf + n, ex_frag2, sizeof(ex_frag2));
	n += sizeof(ex_frag2);
	r = wft_run_all_splits(buf, n, false, 1);
	assert_int_equal(r->frames, 3);
	{
		char want[512];
		uint32_t hel = wft_fnv((const uint8_t *)"Hel", 3);
		uint32_t hello = wft_fnv((const uint8_t *)"Hello", 5);
		uint32_t lo = wft_fnv((const uint8_t *)"lo", 2);

		snprintf(want, sizeof(want),
			 "start op=1 fin=0 rsv=000 mask=0 len=3\n"
			 "frame op=1 kept=3 trunc=0 kh=%08x streamed=3 sh=%08x\n"
			 "start op=9 fin=1 rsv=000 mask=0 len=5\n"
			 "frame op=9 kept=5 trunc=0 kh=%08x streamed=5 sh=%08x\n"
			 "start op=0 fin=1 rsv=000 mask=0 len=2\n"
			 "frame op=0 kept=2 trunc=0 kh=%08x streamed=2 sh=%08x\n",
			 hel, hel, hello, hello, lo, lo);
		assert_string_equal(r->log, want);
	}
	assert_memory_equal(r->payload, "lo", 2);
	free(r);
	r = wft_run_all_splits(ex_pong_masked, sizeof(ex_pong_masked), true, 1);
	assert_int_equal(r->h.opcode, WS_OP_PONG);
	assert_memory_equal(r->payload, "Hello", 5);
	free(r);
}

static uint8_t *wft_make_binary(size_t plen, bool masked, size_t *out_len)
{
	size_t hl = plen < 126 ? 2 : plen <= 0xffff ? 4 : 10;
	size_t n = hl + (masked ? 4 : 0) + plen, i;
	uint8_t *b = malloc(n);
	const uint8_t key[4] = { 0xa1, 0x02, 0xff, 0x5c };

	assert_non_null(b);
	b[0] = 0x82;
	if (hl == 2) {
		b[1] = plen;
	} else if (hl == 4) {
		b[1] = 126;
		b[2] = plen >> 8;
		b[3] = plen;
	} else {
		b[1] = 127;
		for (i = 0; i < 8; i++)
			b[2 + i] = (uint64_t)plen >> (56 - 8 * i);
	}
	if (masked) {
		b[1] |= 0x80;
		memcpy(b + hl, key, 4);
		hl += 4;
	}
	for (i = 0; i < plen; i++)
		b[hl + i] = (uint8_t)(i * 7 + 3) ^ (masked ? key[i & 3] : 0);
	*out_len = n;
	return b;
}

static void wft_check_binary(const struct wft_rec *r, size_t plen)
{
	size_t i;

	assert_int_equal(r->frames, 1);
	assert_int_equal(r->h.opcode, WS_OP_BINARY);
	assert_int_equal(r->h.payload_len, plen);
	assert_int_equal(r->streamed_len, plen);
	for (i = 0; i < plen; i++)
		if (r->streamed[i] != (uint8_t)(i * 7 + 3) ||
		    (i < r->kept && r->payload[i] != (uint8_t)(i * 7 + 3)))
			fail_msg("byte %zu", i);
}

static void test_binary_256_and_64k(void **state)
{
	size_t n;
	uint8_t *b;
	struct wft_rec *r;

	(void)state;
	b = wft_make_binary(256, false, &n);
	assert_memory_equal(b, "\x82\x7e\x01\x00", 4);
	r = wft_run_all_splits(b, n, false, 1);
	wft_check_binary(r, 256);
	assert_int_equal(r->kept, 256);
	free(r);
	free(b);
	b = wft_make_binary(256, true, &n);
	r = wft_run_all_splits(b, n, true, 1);
	wft_check_binary(r, 256);
	free(r);
	free(b);
	/* 64 KiB: every offset in the first and last 24 bytes, then a
	 * stride of 251 (prime, so key offsets vary) in between. */
	b = wft_make_binary(65536, false, &n);
	assert_memory_equal(b, "\x82\x7f\0\0\0\0\0\x01\0\0", 10);
	r = wft_run_all_splits(b, n, false, 251);
	wft_check_binary(r, 65536);
	free(r);
	free(b);
	b = wft_make_binary(65536, true, &n);
	r = wft_run_all_splits(b, n, true, 251);
	wft_check_binary(r, 65536);
	free(r);
	free(b);
}

static void test_many_frames_one_buffer(void **state)
{
	uint8_t buf[4096];
	size_t n = 0, i;
	struct wft_rec *r;

	(void)state;
	for (i = 0; i < 100; i++) {
		memcpy(buf + n, ex_hello_masked, sizeof(ex_hello_masked));
		n += sizeof(ex_hello_masked);
		memcpy(buf + n, ex_pong_masked, sizeof(ex_pong_masked));
		n += sizeof(ex_pong_masked);
	}
	r = wft_run_all_splits(buf, n, true, 7);
	assert_int_equal(r->frames, 200);
	assert_int_equal(r->h.opcode, WS_OP_PONG);
	free(r);
}

static void test_capture_limit(void **state)
{
	size_t n;
	uint8_t *b = wft_make_binary(1000, true, &n);
	struct ws_frame_decoder d;
	struct wft_rec *r = wft_rec_new();
	struct guard_buf g;
	size_t i;

	(void)state;
	guard_copy(&g, b, n);
	wft_init(&d, r, true, false, 100);
	for (i = 0; i < n; i += 33)
		ws_frame_decoder_feed(&d, g.p + i, n - i < 33 ? n - i : 33);
	assert_int_equal(r->kept, 100);
	assert_true(r->truncated);
	wft_check_binary(r, 1000); /* streamed whole, unmasked */
	ws_frame_decoder_free(&d);
	guard_free(&g);
	free(r);
	free(b);
}

/* ---- violations ---- */

struct wft_vcase {
	const char *name;
	uint8_t bytes[32];
	size_t len;
	bool client;
	bool rsv1;
	enum ws_violation v;
	int frames;       /* frames still decoded */
};

static const struct wft_vcase vcases[] = {
	{ "control_too_long", { 0x89, 0x7e, 0x00, 0x7e }, 4, false, false,
	  WS_VIOL_CONTROL_TOO_LONG, 0 },
	{ "control_fragmented", { 0x09, 0x00 }, 2, false, false,
	  WS_VIOL_CONTROL_FRAGMENTED, 1 },
	{ "reserved_3", { 0x83, 0x00 }, 2, false, false,
	  WS_VIOL_RESERVED_OPCODE, 1 },
	{ "reserved_7", { 0x87, 0x01, 0x00 }, 3, false, false,
	  WS_VIOL_RESERVED_OPCODE, 1 },
	{ "reserved_b", { 0x8b, 0x00 }, 2, false, false,
	  WS_VIOL_RESERVED_OPCODE, 1 },
	{ "reserved_f", { 0x8f, 0x00 }, 2, false, false,
	  WS_VIOL_RESERVED_OPCODE, 1 },
	{ "rsv2", { 0xa1, 0x00 }, 2, false, false,
	  WS_VIOL_RSV_WITHOUT_EXTENSION, 1 },
	{ "rsv3", { 0x91, 0x00 }, 2, false, false,
	  WS_VIOL_RSV_WITHOUT_EXTENSION, 1 },
	{ "rsv1_no_deflate", { 0xc1, 0x00 }, 2, false, false,
	  WS_VIOL_RSV_WITHOUT_EXTENSION, 1 },
	{ "rsv1_on_ping", { 0xc9, 0x00 }, 2, false, true,
	  WS_VIOL_RSV1_ON_CONTROL, 1 },
	{ "rsv1_on_cont", { 0xc0, 0x00 }, 2, false, true,
	  WS_VIOL_RSV1_ON_CONTINUATION, 1 },
	{ "non_minimal_16", { 0x82, 0x7e, 0x00, 0x05, 1, 2, 3, 4, 5 }, 9,
	  false, false, WS_VIOL_NON_MINIMAL_LENGTH, 1 },
	{ "non_minimal_64", { 0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0x01, 0x00 }, 10,
	  false, false, WS_VIOL_NON_MINIMAL_LENGTH, 0 },
	{ "non_minimal_64_small", { 0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 1, 9 },
	  11, false, false, WS_VIOL_NON_MINIMAL_LENGTH, 1 },
	{ "length_top_bit", { 0x82, 0x7f, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff,
			      0xff, 0xff }, 10,
	  false, false, WS_VIOL_LENGTH_TOP_BIT, 0 },
	{ "close_1_byte", { 0x88, 0x01, 0x03 }, 3, false, false,
	  WS_VIOL_CLOSE_PAYLOAD_1_BYTE, 1 },
	{ "close_code_1005", { 0x88, 0x02, 0x03, 0xed }, 4, false, false,
	  WS_VIOL_INVALID_CLOSE_CODE, 1 },
	{ "close_reason_utf8", { 0x88, 0x04, 0x03, 0xe8, 'a', 0xff }, 6,
	  false, false, WS_VIOL_CLOSE_REASON_UTF8, 1 },
	{ "masked_server", { 0x82, 0x80, 1, 2, 3, 4 }, 6, false, false,
	  WS_VIOL_MASKED_SERVER_FRAME, 1 },
	{ "unmasked_client", { 0x82, 0x00 }, 2, true, false,
	  WS_VIOL_UNMASKED_CLIENT_FRAME, 1 },
};

static void test_violations(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct wft_vcase *c = &vcases[i];

		for (k = 0; k <= c->len; k++) {
			struct ws_frame_decoder d;
			struct wft_rec *r = wft_rec_new();
			struct guard_buf g;
			int j, total = 0;

			guard_copy(&g, c->bytes, c->len);
			wft_init(&d, r, c->client, c->rsv1, 4096);
			ws_frame_decoder_feed(&d, g.p, k);
			ws_frame_decoder_feed(&d, g.p + k, c->len - k);
			for (j = 0; j < WS_VIOL_MAX; j++)
				total += r->viol[j];
			if (r->viol[c->v] != 1 || total != 1 ||
			    r->frames != c->frames)
				fail_msg("%s split %zu: %s", c->name, k, r->log);
			ws_frame_decoder_free(&d);
			guard_free(&g);
			free(r);
		}
	}
}

static void test_violation_names(void **state)
{
	int v;

	(void)state;
	for (v = 0; v < WS_VIOL_MAX; v++) {
		const char *n = ws_violation_name(v);

		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
	}
	assert_string_equal(ws_violation_name(WS_VIOL_MASKED_SERVER_FRAME),
			    "masked_server_frame");
	assert_string_equal(ws_violation_name(WS_VIOL_MAX), "unknown");
	assert_string_equal(ws_violation_name(-1), "unknown");
}

/* After a top-bit length, a later good frame is found again. */
static void test_top_bit_then_resync(void **state)
{
	uint8_t buf[64];
	size_t n = 0;
	struct wft_rec *r;
	/* bad length, then bytes that can't start a header */
	const uint8_t bad[] = { 0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0xff, 0xff, 0xee };

	(void)state;
	memcpy(buf, bad, sizeof(bad));
	n = sizeof(bad);
	memcpy(buf + n, ex_hello, sizeof(ex_hello));
	n += sizeof(ex_hello);
	/* a candidate is only reported once the header after it is seen */
	r = wft_run_all_splits(buf, n, false, 1);
	assert_int_equal(r->resyncs, 0);
	assert_int_equal(r->frames, 0);
	free(r);
	memcpy(buf + n, ex_ping, sizeof(ex_ping));
	n += sizeof(ex_ping);
	r = wft_run_all_splits(buf, n, false, 1);
	assert_int_equal(r->viol[WS_VIOL_LENGTH_TOP_BIT], 1);
	assert_int_equal(r->lost, 1);
	assert_int_equal(r->resyncs, 1);
	assert_int_equal(r->skipped, sizeof(bad));
	assert_int_equal(r->frames, 2);
	assert_int_equal(r->h.opcode, WS_OP_PING);
	assert_memory_equal(r->payload, "Hello", 5);
	free(r);
}

/* ---- close frames ---- */

static void test_close_parse(void **state)
{
	static const struct {
		uint16_t code;
		bool valid;
	} codes[] = {
		{ 0, false }, { 999, false }, { 1000, true }, { 1001, true },
		{ 1002, true }, { 1003, true }, { 1004, false }, { 1005, false },
		{ 1006, false }, { 1007, true }, { 1011, true }, { 1014, true },
		{ 1015, false }, { 1016, false }, { 2999, false }, { 3000, true },
		{ 4999, true }, { 5000, false }, { 65535, false },
	};
	const uint8_t *reason;
	size_t rlen, i;
	uint16_t code;
	struct guard_buf g;

	(void)state;
	assert_int_equal(ws_close_parse(NULL, 0, &code, &reason, &rlen), 0);
	assert_int_equal(code, WS_CLOSE_NO_STATUS);
	assert_int_equal(rlen, 0);
	guard_copy(&g, "\x03", 1);
	assert_int_equal(ws_close_parse(g.p, 1, &code, &reason, &rlen),
			 -WS_VIOL_CLOSE_PAYLOAD_1_BYTE);
	guard_free(&g);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		uint8_t p[2] = { codes[i].code >> 8, codes[i].code & 0xff };

		guard_copy(&g, p, 2);
		assert_int_equal(ws_close_parse(g.p, 2, &code, &reason, &rlen),
				 codes[i].valid ? 0 : -WS_VIOL_INVALID_CLOSE_CODE);
		assert_int_equal(code, codes[i].code);
		assert_int_equal(ws_close_code_valid(codes[i].code),
				 codes[i].valid);
		guard_free(&g);
	}
	guard_copy(&g, "\x03\xe9" "bye \xef\xbc\x81", 9);
	assert_int_equal(ws_close_parse(g.p, 9, &code, &reason, &rlen), 0);
	assert_int_equal(code, 1001);
	assert_int_equal(rlen, 7);
	assert_memory_equal(reason, "bye \xef\xbc\x81", 7);
	/* Every truncation of the reason mid code point is invalid UTF-8. */
	assert_int_equal(ws_close_parse(g.p, 8, &code, &reason, &rlen),
			 -WS_VIOL_CLOSE_REASON_UTF8);
	guard_free(&g);
}

static void test_close_frames_decoded(void **state)
{
	/* masked close 1000 "ok" from the client */
	uint8_t f[] = { 0x88, 0x84, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2, 'o' ^ 3,
			'k' ^ 4 };
	struct wft_rec *r;

	(void)state;
	r = wft_run_all_splits(f, sizeof(f), true, 1);
	assert_int_equal(r->frames, 1);
	assert_memory_equal(r->payload, "\x03\xe8ok", 4);
	assert_int_equal(r->viol[WS_VIOL_INVALID_CLOSE_CODE], 0);
	free(r);
	f[6] = 0x0b ^ 1; /* 3048 is fine */
	r = wft_run(f, sizeof(f), true, NULL, 0);
	assert_int_equal(r->viol[WS_VIOL_INVALID_CLOSE_CODE], 0);
	free(r);
	f[6] = 0x07 ^ 1; /* 2024: reserved */
	r = wft_run(f, sizeof(f), true, NULL, 0);
	assert_int_equal(r->viol[WS_VIOL_INVALID_CLOSE_CODE], 1);
	assert_int_equal(r->viol_detail[WS_VIOL_INVALID_CLOSE_CODE], 0x07e8);
	free(r);
}

/* ---- gaps and resync ---- */

static void test_gap_inside_payload(void **state)
{
	size_t n;
	uint8_t *b = wft_make_binary(300, true, &n); /* header 8 bytes */
	struct ws_frame_decoder d;
	struct wft_rec *r = wft_rec_new();
	size_t i;

	(void)state;
	wft_init(&d, r, true, false, 4096);
	ws_frame_decoder_feed(&d, b, 8 + 100);
	assert_true(ws_frame_decoder_gap_is_inside(&d, 200));
	assert_false(ws_frame_decoder_gap_is_inside(&d, 201));
	assert_int_equal(ws_frame_decoder_gap(&d, 50), 0);
	ws_frame_decoder_feed(&d, b + 8 + 150, 150);
	assert_int_equal(r->frames, 1);
	assert_true(r->truncated);
	assert_int_equal(r->kept, 100); /* the contiguous prefix only */
	/* Bytes after the gap unmasked with the right key offset. */
	assert_int_equal(r->streamed_len, 250);
	for (i = 0; i < 250; i++) {
		size_t at = i < 100 ? i : i + 50;

		if (r->streamed[i] != (uint8_t)(at * 7 + 3))
			fail_msg("byte %zu", i);
	}
	/* Still in sync: the next frame decodes normally. */
	ws_frame_decoder_feed(&d, ex_hello_masked, sizeof(ex_hello_masked));
	assert_int_equal(r->frames, 2);
	assert_false(r->truncated);
	assert_memory_equal(r->payload, "Hello", 5);
	assert_int_equal(r->lost, 0);
	/* A gap that ends exactly at the frame end keeps sync too. */
	ws_frame_decoder_feed(&d, b, 8 + 10);
	assert_int_equal(ws_frame_decoder_gap(&d, 290), 0);
	assert_int_equal(r->frames, 3);
	assert_true(r->truncated);
	ws_frame_decoder_feed(&d, ex_hello_masked, sizeof(ex_hello_masked));
	assert_int_equal(r->frames, 4);
	assert_int_equal(r->lost + r->resyncs, 0);
	ws_frame_decoder_free(&d);
	free(r);
	free(b);
}

static void test_gap_across_header_resync(void **state)
{
	struct ws_frame_decoder d;
	struct wft_rec *r = wft_rec_new();
	size_t n;
	uint8_t *b = wft_make_binary(300, false, &n); /* header 4 bytes */
	/* Garbage that only looks like headers, each rejected:
	 * 0x83 reserved opcode, 0xa2 RSV2, 0x09 fragmented ping,
	 * 0x89 0xfe ping > 125, 0x82 0x85 masked from the server,
	 * 0xc2 RSV1 without deflate, 0x82 0x7e 0x00 0x10 non-minimal. */
	const uint8_t garbage[] = { 0x83, 0x00, 0xa2, 0x00, 0x09, 0x00,
				    0x89, 0x7e, 0x82, 0x85, 0xc2, 0x01,
				    0x82, 0x7e, 0x00, 0x10 };
	uint8_t buf[64];
	size_t m, k;

	(void)state;
	wft_init(&d, r, false, false, 4096);
	ws_frame_decoder_feed(&d, b, 4 + 100);
	/* The gap runs past the end of the 300-byte frame. */
	assert_false(ws_frame_decoder_gap_is_inside(&d, 250));
	assert_int_equal(ws_frame_decoder_gap(&d, 250), 1);
	assert_int_equal(r->frames, 1);
	assert_true(r->truncated);
	assert_int_equal(r->lost, 1);
	assert_true(ws_frame_decoder_is_lost(&d));
	ws_frame_decoder_free(&d);

	memcpy(buf, garbage, sizeof(garbage));
	m = sizeof(garbage);
	memcpy(buf + m, ex_hello, sizeof(ex_hello));
	m += sizeof(ex_hello);
	/* the header after "Hello" confirms it */
	memcpy(buf + m, ex_hello, 2);
	m += 2;
	for (k = 0; k <= m; k++) {
		struct guard_buf g;

		memset(r, 0, sizeof(*r));
		wft_init(&d, r, false, false, 4096);
		ws_frame_decoder_set_lost(&d);
		guard_copy(&g, buf, m);
		ws_frame_decoder_feed(&d, g.p, k);
		ws_frame_decoder_feed(&d, g.p + k, m - k);
		if (r->resyncs != 1 || r->skipped != sizeof(garbage) ||
		    r->frames != 1 || memcmp(r->payload, "Hello", 5))
			fail_msg("split %zu: %s", k, r->log);
		/* No violation is reported for skipped garbage. */
		assert_int_equal(r->viol[WS_VIOL_RESERVED_OPCODE], 0);
		ws_frame_decoder_free(&d);
		guard_free(&g);
	}
	free(r);
	free(b);
}

/* Resync needs the header: a partial one is held across calls. */
static void test_resync_then_stream(void **state)
{
	struct ws_frame_decoder d;
	struct wft_rec *r = wft_rec_new();
	uint8_t buf[256];
	size_t m = 0, i;

	(void)state;
	wft_init(&d, r, true, false, 4096);
	ws_frame_decoder_feed(&d, ex_hello_masked, 4);
	assert_int_equal(ws_frame_decoder_gap(&d, 3), 1);
	/* tail of the broken frame, then three good frames */
	buf[m++] = 0x4d;
	buf[m++] = 0x51;
	buf[m++] = 0x58;
	for (i = 0; i < 3; i++) {
		memcpy(buf + m, ex_hello_masked, sizeof(ex_hello_masked));
		m += sizeof(ex_hello_masked);
	}
	for (i = 0; i < m; i++)
		ws_frame_decoder_feed(&d, buf + i, 1);
	assert_int_equal(r->resyncs, 1);
	assert_int_equal(r->skipped, 3);
	assert_int_equal(r->frames, 3);
	assert_memory_equal(r->payload, "Hello", 5);
	assert_int_equal(r->lost, 1);
	ws_frame_decoder_free(&d);
	free(r);
}

/* A false candidate is caught by the header after it, never reported. */
static void test_resync_probation(void **state)
{
	/* (0x80 bytes: a masked or middle-fragment header from the server,
	 * so the scan inside the false span finds nothing before 0x81) */
	const uint8_t buf[] = { 0x77, 0x82, 0x02, 0x80, 0x80, 0x83, 0x00,
				0x81, 0x05, 'H', 'e', 'l', 'l', 'o',
				0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };
	struct wft_rec *r;
	size_t k;

	(void)state;
	for (k = 0; k <= sizeof(buf); k++) {
		struct ws_frame_decoder d;
		int v, nviol = 0;

		r = wft_rec_new();
		wft_init(&d, r, false, false, 4096);
		ws_frame_decoder_set_lost(&d);
		ws_frame_decoder_feed(&d, buf, k);
		ws_frame_decoder_feed(&d, buf + k, sizeof(buf) - k);
		for (v = 0; v < WS_VIOL_MAX; v++)
			nviol += r->viol[v];
		/* 0x82 0x02 looked fine, 0x83 after it did not: nothing
		 * reported for it; then the two real frames (the first
		 * confirmed by the second), after 7 bytes skipped. */
		if (r->lost != 1 || r->resyncs != 1 || r->frames != 2 ||
		    nviol != 0 || memcmp(r->payload, "Hello", 5) ||
		    r->skipped != 7 || strstr(r->log, "op=2"))
			fail_msg("split %zu: %s", k, r->log);
		ws_frame_decoder_free(&d);
		free(r);
	}
}

/* ---- candidates on probation ---- */

/* Decodes buf from the lost state, split at the given offsets. */
static struct wft_rec *wft_run_lost(const uint8_t *buf, size_t len,
				    bool client, size_t max_capture,
				    const size_t *cuts, size_t ncuts,
				    uint64_t *pending)
{
	struct ws_frame_decoder d;
	struct wft_rec *r = wft_rec_new();
	struct guard_buf g;

	guard_copy(&g, buf, len);
	wft_init(&d, r, client, false, max_capture);
	ws_frame_decoder_set_lost(&d);
	wft_feed_split(&d, g.p, len, cuts, ncuts);
	assert_memory_equal(g.p, buf, len);
	if (pending)
		*pending = ws_frame_decoder_pending_skip(&d);
	ws_frame_decoder_free(&d);
	guard_free(&g);
	return r;
}

/* Same log (and pending skip) whole, byte by byte, split anywhere. */
static struct wft_rec *wft_run_lost_all(const uint8_t *buf, size_t len,
					bool client, size_t max_capture,
					uint64_t *pending)
{
	uint64_t pw, pk;
	struct wft_rec *whole = wft_run_lost(buf, len, client, max_capture,
					     NULL, 0, &pw);
	size_t k, *cuts;

	for (k = 0; k <= len; k++) {
		struct wft_rec *r = wft_run_lost(buf, len, client, max_capture,
						 &k, 1, &pk);

		if (strcmp(r->log, whole->log) || pk != pw)
			fail_msg("split at %zu:\n%s\nvs whole:\n%s", k, r->log,
				 whole->log);
		assert_true(r->offsets_ok);
		free(r);
	}
	cuts = malloc(len * sizeof(*cuts) + 1);
	assert_non_null(cuts);
	for (k = 0; k + 1 < len; k++)
		cuts[k] = k + 1;
	{
		struct wft_rec *r = wft_run_lost(buf, len, client, max_capture,
						 cuts, len ? len - 1 : 0, &pk);

		assert_string_equal(r->log, whole->log);
		assert_int_equal(pk, pw);
		free(r);
	}
	free(cuts);
	if (pending)
		*pending = pw;
	return whole;
}

/*
 * Bytes inside a masked payload look like a binary frame whose span hides
 * the start of a real one; the byte at its end is no header. Nothing of
 * it is reported, and the real frame inside its span is found.
 */
static void test_resync_false_candidate_hides_frame(void **state)
{
	uint8_t buf[128];
	size_t n = 0, i;
	struct wft_rec *r;
	uint64_t pending;

	(void)state;
	/* binary, masked, 10 bytes: its span (16) ends at hello[8] = 0x4d,
	 * opcode 0xd: reserved. 0x8a (pong) then needs a mask bit and the
	 * other bytes have RSV bits set: none starts a frame. */
	buf[n++] = 0x82;
	buf[n++] = 0x8a;
	buf[n++] = 0x11;
	buf[n++] = 0x22;
	buf[n++] = 0x33;
	buf[n++] = 0x44;
	buf[n++] = 0x70;
	buf[n++] = 0x71;
	for (i = 0; i < 3; i++) {
		memcpy(buf + n, ex_hello_masked, sizeof(ex_hello_masked));
		n += sizeof(ex_hello_masked);
	}
	assert_int_equal(buf[16], 0x4d);
	r = wft_run_lost_all(buf, n, true, 4096, &pending);
	if (r->frames != 3 || r->resyncs != 1 || r->skipped != 8 ||
	    strstr(r->log, "op=2") || r->viol[WS_VIOL_RESERVED_OPCODE])
		fail_msg("%s", r->log);
	assert_memory_equal(r->payload, "Hello", 5);
	assert_int_equal(pending, 0);
	free(r);
	/* The last hello alone is never confirmed: not reported, and all
	 * of it is pending skip at the end of the stream. */
	r = wft_run_lost_all(buf, 8 + sizeof(ex_hello_masked), true, 4096,
			     &pending);
	assert_int_equal(r->frames + r->resyncs, 0);
	assert_string_equal(r->log, "lost\n");
	assert_int_equal(pending, 8 + sizeof(ex_hello_masked));
	free(r);
}

/* A masked 2-byte final candidate (first byte b0) with payload p, then
 * two real frames: refuted by its payload, the real ones found after it. */
static void candidate_refuted(uint8_t b0, const uint8_t key[4], const char *p)
{
	uint8_t buf[128];
	size_t n = 0, i;
	struct wft_rec *r;

	buf[n++] = b0;
	buf[n++] = 0x82;
	memcpy(buf + n, key, 4);
	n += 4;
	wsgen_mask(buf + n, p, 2, key);
	n += 2;
	for (i = 0; i < 2; i++) {
		memcpy(buf + n, ex_hello_masked, sizeof(ex_hello_masked));
		n += sizeof(ex_hello_masked);
	}
	r = wft_run_lost_all(buf, n, true, 4096, NULL);
	if (r->frames != 2 || r->skipped != 8 || r->resyncs != 1)
		fail_msg("%s", r->log);
	assert_memory_equal(r->payload, "Hello", 5);
	free(r);
}

/* Close and text candidates need a payload that makes sense. */
static void test_resync_false_control_and_text(void **state)
{
	const uint8_t key[4] = { 0x31, 0x32, 0x33, 0x34 }; /* RSV bits set */
	uint8_t buf[128];
	size_t n, i;
	struct wft_rec *r;

	(void)state;
	/* A close 1000 that looks perfect, but 0x83 after it: refuted. */
	n = 0;
	buf[n++] = 0x88;
	buf[n++] = 0x82;
	memcpy(buf + n, key, 4);
	n += 4;
	wsgen_mask(buf + n, "\x03\xe8", 2, key);
	n += 2;
	buf[n++] = 0x83;
	for (i = 0; i < 2; i++) {
		memcpy(buf + n, ex_pong_masked, sizeof(ex_pong_masked));
		n += sizeof(ex_pong_masked);
	}
	r = wft_run_lost_all(buf, n, true, 4096, NULL);
	if (r->frames != 2 || r->skipped != 9 || strstr(r->log, "op=8"))
		fail_msg("%s", r->log);
	free(r);
	/* A close with code 1005 (never sent, 7.4.1) followed by a real
	 * header: refuted by its payload. */
	n = 0;
	buf[n++] = 0x88;
	buf[n++] = 0x82;
	memcpy(buf + n, key, 4);
	n += 4;
	wsgen_mask(buf + n, "\x03\xed", 2, key);
	n += 2;
	for (i = 0; i < 2; i++) {
		memcpy(buf + n, ex_pong_masked, sizeof(ex_pong_masked));
		n += sizeof(ex_pong_masked);
	}
	r = wft_run_lost_all(buf, n, true, 4096, NULL);
	if (r->frames != 2 || r->skipped != 8 || strstr(r->log, "op=8") ||
	    r->viol[WS_VIOL_INVALID_CLOSE_CODE])
		fail_msg("%s", r->log);
	free(r);
	/* A final text frame whose bytes are not UTF-8 (0xc0 0x80). */
	candidate_refuted(0x81, key, "\xc0\x80");
	/* One of valid UTF-8 with C0 controls, as ASCII unmasked with
	 * ASCII gives inside a masked payload; a final continuation too. */
	candidate_refuted(0x81, key, "\x04\x0c");
	candidate_refuted(0x80, key, "\x04\x0c");
	/* A non-final frame followed by a new message (not a continuation,
	 * 5.4): refuted; the real ones are found after it. */
	n = 0;
	buf[n++] = 0x01;
	buf[n++] = 0x82;
	memcpy(buf + n, key, 4);
	n += 4;
	wsgen_mask(buf + n, "ab", 2, key);
	n += 2;
	for (i = 0; i < 2; i++) {
		memcpy(buf + n, ex_hello_masked, sizeof(ex_hello_masked));
		n += sizeof(ex_hello_masked);
	}
	r = wft_run_lost_all(buf, n, true, 4096, NULL);
	if (r->frames != 2 || r->skipped != 8 || strstr(r->log, "fin=0"))
		fail_msg("%s", r->log);
	free(r);
}

/* A real frame too long to hold: confirmed late, reported with the
 * capture prefix, truncated; the stream after it decodes in sync. */
static void test_resync_long_candidate(void **state)
{
	size_t n, m, i;
	uint8_t *b = wft_make_binary(300, false, &n); /* header 4 bytes */
	uint8_t *buf = malloc(n + 64);
	struct wft_rec *r;
	char want[512];

	(void)state;
	assert_non_null(buf);
	buf[0] = 0x77;
	buf[1] = 0x7f;
	memcpy(buf + 2, b, n);
	m = 2 + n;
	memcpy(buf + m, ex_ping, sizeof(ex_ping));
	m += sizeof(ex_ping);
	memcpy(buf + m, ex_hello, sizeof(ex_hello));
	m += sizeof(ex_hello);
	/* max_capture 16: the window holds 16 + 125 + 2 headers, < 304 */
	r = wft_run_lost_all(buf, m, false, 16, NULL);
	assert_int_equal(r->resyncs, 1);
	assert_int_equal(r->skipped, 2);
	assert_int_equal(r->frames, 3);
	{
		uint8_t pre[16];

		for (i = 0; i < 16; i++)
			pre[i] = (uint8_t)(i * 7 + 3);
		snprintf(want, sizeof(want),
			 "lost\nresync 2\n"
			 "start op=2 fin=1 rsv=000 mask=0 len=300\n"
			 "frame op=2 kept=16 trunc=1 kh=%08x streamed=16 sh=%08x\n"
			 "start op=9 fin=1 rsv=000 mask=0 len=5\n",
			 wft_fnv(pre, 16), wft_fnv(pre, 16));
		if (strncmp(r->log, want, strlen(want)))
			fail_msg("%s\nwant:\n%s", r->log, want);
	}
	free(r);
	/* The same frame is exact when it fits the window. */
	r = wft_run_lost(buf, m, false, 4096, NULL, 0, NULL);
	assert_int_equal(r->frames, 3);
	assert_true(strstr(r->log, "len=300\nframe op=2 kept=300 trunc=0") != NULL);
	free(r);
	/* A long false candidate is skipped whole: after its span, 0x83. */
	buf[2] = 0x82;
	buf[3] = 0x7e;
	buf[4] = 0x01;
	buf[5] = 0x2c; /* 300 */
	memset(buf + 6, 0x77, 300);
	buf[306] = 0x83;
	m = 307;
	for (i = 0; i < 2; i++) {
		memcpy(buf + m, ex_hello, sizeof(ex_hello));
		m += sizeof(ex_hello);
	}
	r = wft_run_lost_all(buf, m, false, 16, NULL);
	if (r->frames != 2 || r->skipped != 307 || strstr(r->log, "op=2"))
		fail_msg("%s", r->log);
	free(r);
	free(buf);
	free(b);
}

/* A gap while a candidate is on probation drops it, counted. */
static void test_resync_gap_on_probation(void **state)
{
	struct ws_frame_decoder d;
	struct wft_rec *r = wft_rec_new();

	(void)state;
	wft_init(&d, r, true, false, 4096);
	ws_frame_decoder_set_lost(&d);
	ws_frame_decoder_feed(&d, (const uint8_t *)"\x70\x71\x72", 3);
	ws_frame_decoder_feed(&d, ex_hello_masked, sizeof(ex_hello_masked));
	assert_int_equal(ws_frame_decoder_pending_skip(&d), 14);
	assert_int_equal(ws_frame_decoder_gap(&d, 100), 1);
	assert_int_equal(ws_frame_decoder_pending_skip(&d), 14);
	ws_frame_decoder_feed(&d, ex_hello_masked, 2);
	assert_int_equal(r->frames + r->resyncs, 0);
	ws_frame_decoder_feed(&d, ex_hello_masked + 2,
			      sizeof(ex_hello_masked) - 2);
	ws_frame_decoder_feed(&d, ex_hello_masked, sizeof(ex_hello_masked));
	assert_int_equal(r->resyncs, 1);
	assert_int_equal(r->skipped, 14);
	assert_int_equal(r->frames, 2);
	assert_int_equal(r->lost, 1);
	assert_int_equal(ws_frame_decoder_pending_skip(&d), 0);
	ws_frame_decoder_free(&d);
	free(r);
}

/*
 * Real client traffic (masked text frames of many lengths, some longer
 * than the window), entered at every offset: whatever is reported is the
 * exact tail of what was sent, and the skipped count adds up.
 */
static void test_resync_every_offset(void **state)
{
	enum { NF = 40 };
	uint8_t *buf = malloc(NF * 600);
	size_t start[NF + 1], plen[NF], n = 0, i, k;
	unsigned seed = 777;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < NF; i++) {
		uint8_t text[512], key[4];
		size_t j, len = rand_r(&seed) % (i % 7 == 6 ? 500 : 130);

		for (j = 0; j < len; j++)
			text[j] = 'a' + rand_r(&seed) % 26;
		for (j = 0; j < 4; j++)
			key[j] = (uint8_t)rand_r(&seed);
		start[i] = n;
		plen[i] = len;
		buf[n++] = 0x81;
		if (len < 126) {
			buf[n++] = 0x80 | len;
		} else {
			buf[n++] = 0x80 | 126;
			buf[n++] = len >> 8;
			buf[n++] = len & 0xff;
		}
		memcpy(buf + n, key, 4);
		n += 4;
		wsgen_mask(buf + n, text, len, key);
		n += len;
	}
	start[NF] = n;
	for (k = 0; k < start[NF - 3]; k++) {
		struct wft_rec *r = wft_run_lost(buf + k, n - k, true, 64, NULL,
						 0, NULL);
		size_t first = 0;

		while (start[first] < k)
			first++;
		/* found again at the first frame starting at or after k */
		if (r->resyncs != 1 || r->skipped != start[first] - k ||
		    r->frames != (int)(NF - first))
			fail_msg("offset %zu (frame %zu at %zu): %d frames, "
				 "skipped %llu\n%s", k, first, start[first],
				 r->frames, (unsigned long long)r->skipped,
				 r->log);
		assert_int_equal(r->h.payload_len, plen[NF - 1]);
		free(r);
	}
	free(buf);
}

/* Implausibly large lengths are not taken as headers while lost. */
static void test_resync_plausible_length(void **state)
{
	struct ws_frame_header h = { .fin = true, .opcode = WS_OP_BINARY };
	struct ws_frame_config cfg = { .max_plausible_len = 1000 };

	(void)state;
	h.payload_len = 1000;
	assert_true(ws_frame_header_plausible(&h, &cfg));
	h.payload_len = 1001;
	assert_false(ws_frame_header_plausible(&h, &cfg));
	cfg.max_plausible_len = 0;
	h.payload_len = WS_FRAME_DEFAULT_MAX_PLAUSIBLE + 1;
	assert_false(ws_frame_header_plausible(&h, &cfg));
	h.payload_len = 5;
	h.masked = true;
	assert_false(ws_frame_header_plausible(&h, &cfg));
	cfg.is_client_side = true;
	assert_true(ws_frame_header_plausible(&h, &cfg));
	h.rsv1 = true;
	assert_false(ws_frame_header_plausible(&h, &cfg));
	cfg.rsv1_allowed = true;
	assert_true(ws_frame_header_plausible(&h, &cfg));
	h.opcode = WS_OP_CONT;
	assert_false(ws_frame_header_plausible(&h, &cfg));
}

/* ---- the end of a stream inside a frame ---- */

/* A binary frame header declaring plen bytes, then `have` payload bytes. */
static size_t wft_long_frame(uint8_t *b, uint64_t plen, bool masked, size_t have)
{
	const uint8_t key[4] = { 0x01, 0x02, 0x03, 0x04 };
	size_t n = 0, i;

	b[n++] = 0x82;
	b[n++] = (masked ? 0x80 : 0) | 127;
	for (i = 0; i < 8; i++)
		b[n++] = (uint8_t)(plen >> (56 - 8 * i));
	if (masked) {
		memcpy(b + n, key, 4);
		n += 4;
	}
	for (i = 0; i < have; i++)
		b[n + i] = 'A' ^ (masked ? key[i & 3] : 0);
	return n + have;
}

/*
 * A frame declaring 2^62 bytes, 100 of them seen, then the connection
 * ends: reported once, with its length and the bytes seen, at every split.
 */
static void test_huge_frame_reported_at_end(void **state)
{
	uint8_t b[256], want[100];
	struct wft_rec *r;
	size_t n;

	(void)state;
	memset(want, 'A', sizeof(want));
	n = wft_long_frame(b, 1ull << 62, true, 100);
	r = wft_run_all_splits(b, n, true, 1);
	assert_int_equal(r->frames, 0);
	assert_int_equal(r->incomplete, 1);
	assert_int_equal(r->h.payload_len, 1ull << 62);
	assert_int_equal(r->seen, 100);
	assert_int_equal(r->kept, 100);
	assert_memory_equal(r->payload, want, 100);
	assert_int_equal(wft_nviol(r), 0);
	assert_int_equal(r->end_pending, 0);
	free(r);
	/* The largest length RFC 6455 5.2 allows, server side. */
	n = wft_long_frame(b, INT64_MAX, false, 7);
	r = wft_run_all_splits(b, n, false, 1);
	assert_int_equal(r->incomplete, 1);
	assert_int_equal(r->h.payload_len, INT64_MAX);
	assert_int_equal(r->seen, 7);
	free(r);
	/* The header alone: cut before any payload. */
	n = wft_long_frame(b, 1ull << 62, true, 0);
	r = wft_run_all_splits(b, n, true, 1);
	assert_int_equal(r->incomplete, 1);
	assert_int_equal(r->seen, 0);
	assert_int_equal(r->kept, 0);
	free(r);
}

/* Hundreds of megabytes of a hostile frame: streamed in bounded memory,
 * counted, and reported when the stream ends. */
static void test_huge_frame_bounded(void **state)
{
	const size_t chunk = 1 << 16, total = 64u << 20;
	struct ws_frame_decoder d;
	struct wft_rec *r = wft_rec_new();
	uint8_t *b = malloc(chunk + 32);
	size_t n, i;

	(void)state;
	assert_non_null(b);
	n = wft_long_frame(b, 1ull << 62, true, 0);
	wft_init(&d, r, true, false, 4096);
	ws_frame_decoder_feed(&d, b, n);
	memset(b, 'x', chunk);
	for (i = 0; i < total; i += chunk) {
		ws_frame_decoder_feed(&d, b, chunk);
		assert_true(d.cap_alloc <= 4096);
		assert_null(d.win);
	}
	assert_int_equal(d.state, WS_FRAME_ST_PAYLOAD);
	assert_int_equal(d.pos, total);
	assert_int_equal(r->frames, 0);
	assert_true(ws_frame_decoder_end(&d));
	assert_int_equal(r->incomplete, 1);
	assert_int_equal(r->seen, total);
	assert_int_equal(r->kept, 4096);
	assert_int_equal(d.frames, 1);
	assert_int_equal(d.cap_alloc, 0);
	/* Ended: nothing more to report, and the decoder expects a header. */
	assert_false(ws_frame_decoder_end(&d));
	assert_int_equal(r->incomplete, 1);
	ws_frame_decoder_feed(&d, ex_hello_masked, sizeof(ex_hello_masked));
	assert_int_equal(r->frames, 1);
	ws_frame_decoder_free(&d);
	free(r);
	free(b);
}

/* A header cut by the end is counted as skipped, never reported as a
 * frame; a lost decoder has nothing open to report. */
static void test_end_in_header_and_lost(void **state)
{
	uint8_t b[64];
	struct wft_rec *r;
	size_t n, k;

	(void)state;
	n = wft_long_frame(b, 1000, true, 0);
	for (k = 1; k < n; k++) {
		r = wft_run(b, k, true, NULL, 0);
		assert_int_equal(r->incomplete, 0);
		assert_int_equal(r->frames, 0);
		assert_int_equal(r->end_pending, k);
		free(r);
	}
	/* Lost (top bit set): what was held stays pending, no frame. */
	n = wft_long_frame(b, 1ull << 63, false, 20);
	r = wft_run(b, n, false, NULL, 0);
	assert_int_equal(r->viol[WS_VIOL_LENGTH_TOP_BIT], 1);
	assert_int_equal(r->incomplete, 0);
	assert_true(r->end_pending > 0);
	free(r);
	/* Between frames: nothing to report. */
	r = wft_run(ex_hello_masked, sizeof(ex_hello_masked), true, NULL, 0);
	assert_int_equal(r->frames, 1);
	assert_int_equal(r->incomplete, 0);
	assert_int_equal(r->end_pending, 0);
	free(r);
}

/* Random bytes never crash and the input is never written. */
static void test_random_garbage(void **state)
{
	uint8_t buf[2048], copy[2048];
	unsigned seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		struct ws_frame_decoder d;
		struct wft_rec *r = wft_rec_new();
		size_t i;

		for (i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(rand_r(&seed) >> 7);
		memcpy(copy, buf, sizeof(buf));
		wft_init(&d, r, round & 1, round & 2, 64);
		for (i = 0; i < sizeof(buf);) {
			size_t c = 1 + rand_r(&seed) % 97;

			if (c > sizeof(buf) - i)
				c = sizeof(buf) - i;
			ws_frame_decoder_feed(&d, buf + i, c);
			i += c;
			if (rand_r(&seed) % 13 == 0)
				ws_frame_decoder_gap(&d, rand_r(&seed) % 500);
		}
		assert_memory_equal(buf, copy, sizeof(buf));
		ws_frame_decoder_free(&d);
		free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_parse_examples),
		cmocka_unit_test(test_unmask_every_phase),
		cmocka_unit_test(test_unmask_tells_ascii),
		cmocka_unit_test(test_hello_unmasked),
		cmocka_unit_test(test_hello_masked),
		cmocka_unit_test(test_fragmented_and_control),
		cmocka_unit_test(test_binary_256_and_64k),
		cmocka_unit_test(test_many_frames_one_buffer),
		cmocka_unit_test(test_capture_limit),
		cmocka_unit_test(test_violations),
		cmocka_unit_test(test_violation_names),
		cmocka_unit_test(test_top_bit_then_resync),
		cmocka_unit_test(test_close_parse),
		cmocka_unit_test(test_close_frames_decoded),
		cmocka_unit_test(test_gap_inside_payload),
		cmocka_unit_test(test_gap_across_header_resync),
		cmocka_unit_test(test_resync_then_stream),
		cmocka_unit_test(test_resync_probation),
		cmocka_unit_test(test_resync_false_candidate_hides_frame),
		cmocka_unit_test(test_resync_false_control_and_text),
		cmocka_unit_test(test_resync_long_candidate),
		cmocka_unit_test(test_resync_gap_on_probation),
		cmocka_unit_test(test_resync_every_offset),
		cmocka_unit_test(test_resync_plausible_length),
		cmocka_unit_test(test_huge_frame_reported_at_end),
		cmocka_unit_test(test_huge_frame_bounded),
		cmocka_unit_test(test_end_in_header_and_lost),
		cmocka_unit_test(test_random_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
