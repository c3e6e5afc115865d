// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_ws_deflate.c - permessage-deflate (RFC 7692): the section 7.2.3
 * examples through the message decoder, messages compressed here with zlib
 * (window bits 9..15, with and without context takeover), the inflate cap,
 * corrupt and truncated compressed messages.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "protocol/ws_deflate.h"
#include "protocol/ws_message.h"
#include "guard_page.h"

#define WDT_MAX_MSGS 32
#define WDT_DATA_MAX (1 << 16)

struct wdt_rec {
	struct ws_message_info info[WDT_MAX_MSGS];
	uint8_t data[WDT_MAX_MSGS][WDT_DATA_MAX];
	int nmsgs;
	int viol[WS_VIOL_MAX];
	int loss[WS_LOSS_MAX];
};

static void wdt_on_message(void *ctx, const struct ws_message_info *m)
{
	struct wdt_rec *r = ctx;

	assert_true(r->nmsgs < WDT_MAX_MSGS);
	assert_true(m->kept <= WDT_DATA_MAX);
	r->info[r->nmsgs] = *m;
	if (m->kept)
		memcpy(r->data[r->nmsgs], m->data, m->kept);
	r->nmsgs++;
}

static void wdt_on_violation(void *ctx, enum ws_violation v, uint64_t detail)
{
	struct wdt_rec *r = ctx;

	(void)detail;
	if (getenv("WDT_DEBUG"))
		fprintf(stderr, "violation %s %llu\n", ws_violation_name(v),
			(unsigned long long)detail);
	r->viol[v]++;
}

static void wdt_on_loss(void *ctx, enum ws_loss l, uint64_t detail)
{
	struct wdt_rec *r = ctx;

	(void)detail;
	r->loss[l]++;
}

static int wdt_nviol(const struct wdt_rec *r)
{
	int i, n = 0;

	for (i = 0; i < WS_VIOL_MAX; i++)
		n += r->viol[i];
	return n;
}

static void wdt_init(struct ws_message_decoder *m, struct wdt_rec *r,
		     bool client, bool takeover, int bits, size_t max_inflate)
{
	struct ws_message_config cfg = {
		.is_client_side = client,
		.deflate = true,
		.no_context_takeover = !takeover,
		.window_bits = bits,
		.max_message_capture = WDT_DATA_MAX,
		.max_inflate = max_inflate,
	};
	struct ws_message_callbacks cb = {
		.on_message = wdt_on_message,
		.on_violation = wdt_on_violation,
		.on_loss = wdt_on_loss,
		.ctx = r,
	};

	memset(r, 0, sizeof(*r));
	assert_int_equal(ws_message_decoder_init(m, &cfg, &cb), 0);
}

/* Decodes buf split at k (server side, takeover as given). */
static void wdt_run(struct wdt_rec *r, bool takeover, const uint8_t *buf,
		    size_t len, size_t k)
{
	struct ws_message_decoder m;
	struct guard_buf g;
	const uint8_t *p = guard_copy(&g, buf, len);

	wdt_init(&m, r, false, takeover, 15, 0);
	ws_message_decoder_feed(&m, p, k);
	ws_message_decoder_feed(&m, p + k, len - k);
	assert_memory_equal(p, buf, len);
	ws_message_decoder_free(&m);
	guard_free(&g);
}

static void wdt_expect_hello(const struct wdt_rec *r, int i)
{
	assert_true(r->info[i].compressed);
	assert_true(r->info[i].inflated);
	assert_false(r->info[i].truncated);
	assert_int_equal(r->info[i].total_len, 5);
	assert_int_equal(r->info[i].kept, 5);
	assert_memory_equal(r->data[i], "Hello", 5);
	assert_true(r->info[i].utf8_valid);
}

/* The RFC 7692 7.2.3 examples, each at every split. */
static void test_rfc7692_examples(void **state)
{
	static const struct {
		const char *name;
		uint8_t b[32];
		size_t len;
		int nmsgs;
	} ex[] = {
		{ "7.2.3.1", { 0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07,
			       0x00 }, 9, 1 },
		{ "7.2.3.1 fragmented", { 0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80,
					  0x04, 0xc9, 0xc9, 0x07, 0x00 }, 11, 1 },
		{ "7.2.3.2 takeover", { 0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9,
					0xc9, 0x07, 0x00, 0xc1, 0x05, 0xf2,
					0x00, 0x11, 0x00, 0x00 }, 16, 2 },
		{ "7.2.3.3 stored", { 0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa,
				      0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f,
				      0x00 }, 13, 1 },
		{ "7.2.3.4 bfinal", { 0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9,
				      0xc9, 0x07, 0x00, 0x00 }, 10, 1 },
		{ "7.2.3.5 two blocks", { 0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00,
					  0x00, 0x00, 0xff, 0xff, 0xca, 0xc9,
					  0xc9, 0x07, 0x00 }, 15, 1 },
	};
	struct wdt_rec *r = malloc(sizeof(*r));
	size_t i, k;
	int j;

	(void)state;
	assert_non_null(r);
	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		for (k = 0; k <= ex[i].len; k++) {
			wdt_run(r, true, ex[i].b, ex[i].len, k);
			if (r->nmsgs != ex[i].nmsgs || wdt_nviol(r))
				fail_msg("%s split %zu", ex[i].name, k);
			for (j = 0; j < r->nmsgs; j++)
				wdt_expect_hello(r, j);
		}
	}
	/* 7.2.3.2 without context takeover: the second message refers to
	 * the first one's window, which is gone: an inflate error. */
	wdt_run(r, false, ex[2].b, ex[2].len, 0);
	assert_int_equal(r->nmsgs, 2);
	wdt_expect_hello(r, 0);
	assert_false(r->info[1].inflated);
	assert_true(r->info[1].truncated);
	assert_int_equal(r->viol[WS_VIOL_INFLATE_ERROR], 1);
	/* no takeover: no context to lose */
	assert_int_equal(r->loss[WS_LOSS_DEFLATE_CONTEXT], 0);
	free(r);
}

/* Compresses msg as a permessage-deflate sender does (7.2.1). */
static size_t wdt_compress(z_stream *zs, const uint8_t *msg, size_t len,
			   uint8_t *out, size_t cap)
{
	size_t n;

	zs->next_in = (Bytef *)msg;
	zs->avail_in = (uInt)len;
	zs->next_out = out;
	zs->avail_out = (uInt)cap;
	assert_int_equal(deflate(zs, Z_SYNC_FLUSH), Z_OK);
	assert_int_equal(zs->avail_in, 0);
	assert_true(zs->avail_out > 0);
	n = cap - zs->avail_out;
	assert_true(n >= 4);
	assert_memory_equal(out + n - 4, "\x00\x00\xff\xff", 4);
	return n - 4;
}

/* Frames payload into fragments of frag bytes (first one RSV1), masked. */
static size_t wdt_frames(uint8_t *out, uint8_t op, const uint8_t *p,
			 size_t len, size_t frag, bool rsv1, uint32_t seed)
{
	size_t n = 0, off = 0, i;
	bool first = true;

	do {
		size_t c = len - off < frag ? len - off : frag;
		uint8_t key[4] = { seed, seed >> 8, seed >> 16, seed >> 24 };

		out[n++] = (off + c == len ? 0x80 : 0) |
			   (first && rsv1 ? 0x40 : 0) | (first ? op : 0);
		if (c < 126) {
			out[n++] = 0x80 | c;
		} else {
			out[n++] = 0x80 | 126;
			out[n++] = c >> 8;
			out[n++] = c;
		}
		memcpy(out + n, key, 4);
		n += 4;
		for (i = 0; i < c; i++)
			out[n + i] = p[off + i] ^ key[i & 3];
		n += c;
		off += c;
		first = false;
		seed = seed * 1103515245u + 12345u;
	} while (off < len);
	return n;
}

/* Chat-like messages repeat themselves: back references across messages. */
static size_t wdt_chat_message(uint8_t *buf, int i)
{
	return (size_t)sprintf((char *)buf,
		"{\"type\":\"say\",\"from_client_id\":\"7f00000108fc0000000%d\","
		"\"from_client_name\":\"mynick\",\"to_client_id\":\"all\","
		"\"content\":\"hi, all \xef\xbc\x81 #%d\",\"time\":\"2024-01-0%d\"}",
		i % 10, i, i % 9 + 1);
}

static void test_zlib_roundtrip(void **state)
{
	uint8_t *wire = malloc(1 << 16), msg[512], comp[1024];
	size_t cl;
	struct wdt_rec *r = malloc(sizeof(*r));
	int bits, takeover, i;

	(void)state;
	assert_non_null(wire);
	assert_non_null(r);
	for (bits = 8; bits <= 15; bits++) {
		for (takeover = 0; takeover <= 1; takeover++) {
			struct ws_message_decoder m;
			z_stream zs = { 0 };
			size_t n = 0, k;
			size_t lens[12];

			/* zlib refuses a raw 8-bit window, senders use 9 */
			assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED,
						      bits == 8 ? -9 : -bits,
						      8, Z_DEFAULT_STRATEGY),
					 Z_OK);
			for (i = 0; i < 12; i++) {
				size_t ml = wdt_chat_message(msg, i);

				lens[i] = ml;
				if (!takeover)
					assert_int_equal(deflateReset(&zs), Z_OK);
				/* uncompressed messages may be mixed in (6.1);
				 * they don't enter the compressor's window */
				if (i == 5) {
					n += wdt_frames(wire + n, WS_OP_TEXT, msg,
							ml, 40, false, i);
					continue;
				}
				cl = wdt_compress(&zs, msg, ml, comp, sizeof(comp));
				n += wdt_frames(wire + n, WS_OP_TEXT, comp, cl,
						1 + i * 7, true, i);
			}
			deflateEnd(&zs);
			for (k = 0; k <= n; k += 97) {
				wdt_init(&m, r, true, takeover, bits, 0);
				ws_message_decoder_feed(&m, wire, k);
				ws_message_decoder_feed(&m, wire + k, n - k);
				ws_message_decoder_free(&m);
				assert_int_equal(r->nmsgs, 12);
				assert_int_equal(wdt_nviol(r), 0);
				for (i = 0; i < 12; i++) {
					wdt_chat_message(msg, i);
					assert_int_equal(r->info[i].total_len, lens[i]);
					assert_int_equal(r->info[i].kept, lens[i]);
					assert_memory_equal(r->data[i], msg, lens[i]);
					assert_int_equal(r->info[i].compressed, i != 5);
					assert_int_equal(r->info[i].inflated, i != 5);
					assert_true(r->info[i].utf8_valid);
				}
			}
		}
	}
	free(wire);
	free(r);
}

/* A message that inflates beyond the cap; what follows depends on
 * context takeover. */
static void test_inflate_cap(void **state)
{
	size_t big = 3u << 20, cl, n, cap = 1u << 20;
	uint8_t *zeros = calloc(1, big), *comp = malloc(1 << 16);
	uint8_t *wire = malloc(1 << 17), small[64], scomp[256];
	struct wdt_rec *r = malloc(sizeof(*r));
	int takeover;

	(void)state;
	assert_non_null(zeros);
	assert_non_null(comp);
	assert_non_null(wire);
	assert_non_null(r);
	for (takeover = 0; takeover <= 1; takeover++) {
		struct ws_message_decoder m;
		z_stream zs = { 0 };
		size_t sl;

		assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8,
					      Z_DEFAULT_STRATEGY), Z_OK);
		cl = wdt_compress(&zs, zeros, big, comp, 1 << 16);
		if (!takeover)
			deflateReset(&zs);
		sl = (size_t)sprintf((char *)small, "after the bomb");
		sl = wdt_compress(&zs, small, sl, scomp, sizeof(scomp));
		deflateEnd(&zs);
		n = wdt_frames(wire, WS_OP_BINARY, comp, cl, 60000, true, 1);
		n += wdt_frames(wire + n, WS_OP_TEXT, scomp, sl, 100, true, 2);
		wdt_init(&m, r, true, takeover, 15, cap);
		ws_message_decoder_feed(&m, wire, n);
		ws_message_decoder_free(&m);
		assert_int_equal(r->nmsgs, 2);
		assert_int_equal(r->viol[WS_VIOL_INFLATE_TOO_BIG], 1);
		assert_int_equal(r->info[0].total_len, cap);
		assert_int_equal(r->info[0].kept, WDT_DATA_MAX);
		assert_true(r->info[0].truncated);
		assert_false(r->info[0].inflated);
		assert_int_equal(r->info[0].wire_len, cl);
		if (takeover) {
			/* the window is unknown from here on */
			assert_int_equal(r->loss[WS_LOSS_DEFLATE_CONTEXT], 1);
			assert_int_equal(r->loss[WS_LOSS_NOT_INFLATED], 1);
			assert_false(r->info[1].inflated);
			assert_true(r->info[1].truncated);
			assert_int_equal(r->info[1].kept, 0);
		} else {
			assert_int_equal(r->loss[WS_LOSS_DEFLATE_CONTEXT], 0);
			assert_true(r->info[1].inflated);
			assert_memory_equal(r->data[1], "after the bomb", 14);
		}
	}
	free(zeros);
	free(comp);
	free(wire);
	free(r);
}

/* A gap inside a compressed message. */
static void test_truncated_compressed(void **state)
{
	const uint8_t hello2[] = { 0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9,
				   0x07, 0x00 };
	struct wdt_rec *r = malloc(sizeof(*r));
	int takeover;

	(void)state;
	assert_non_null(r);
	for (takeover = 0; takeover <= 1; takeover++) {
		struct ws_message_decoder m;

		wdt_init(&m, r, false, takeover, 15, 0);
		ws_message_decoder_feed(&m, hello2, 5);
		assert_int_equal(ws_message_decoder_gap(&m, 2), 0);
		ws_message_decoder_feed(&m, hello2 + 7, 2);
		ws_message_decoder_feed(&m, hello2, sizeof(hello2));
		ws_message_decoder_free(&m);
		assert_int_equal(r->nmsgs, 2);
		assert_true(r->info[0].incomplete);
		assert_false(r->info[0].inflated);
		assert_true(r->info[0].truncated);
		assert_int_equal(r->info[0].wire_len, 7);
		assert_int_equal(wdt_nviol(r), 0);
		if (takeover) {
			assert_int_equal(r->loss[WS_LOSS_DEFLATE_CONTEXT], 1);
			assert_false(r->info[1].inflated);
			assert_int_equal(r->loss[WS_LOSS_NOT_INFLATED], 1);
		} else {
			wdt_expect_hello(r, 1);
		}
	}
	/* stream lost with takeover: the context is gone too */
	{
		struct ws_message_decoder m;

		wdt_init(&m, r, false, true, 15, 0);
		ws_message_decoder_set_lost(&m);
		ws_message_decoder_feed(&m, hello2, sizeof(hello2));
		ws_message_decoder_feed(&m, hello2, sizeof(hello2));
		ws_message_decoder_free(&m);
		assert_int_equal(r->loss[WS_LOSS_DEFLATE_CONTEXT], 1);
		assert_int_equal(r->nmsgs, 2);
		assert_false(r->info[0].inflated);
		assert_false(r->info[1].inflated);
	}
	free(r);
}

static void test_corrupt_and_api(void **state)
{
	/* BTYPE 11 is reserved: invalid block type */
	const uint8_t bad[] = { 0xc1, 0x03, 0xff, 0xff, 0xff };
	struct wdt_rec *r = malloc(sizeof(*r));
	struct ws_deflate z;
	size_t k;

	(void)state;
	assert_non_null(r);
	for (k = 0; k <= sizeof(bad); k++) {
		wdt_run(r, true, bad, sizeof(bad), k);
		assert_int_equal(r->nmsgs, 1);
		assert_int_equal(r->viol[WS_VIOL_INFLATE_ERROR], 1);
		assert_false(r->info[0].inflated);
		/* The lost context is said at the next compressed message. */
		assert_int_equal(r->loss[WS_LOSS_DEFLATE_CONTEXT], 0);
	}
	{
		/* The bad message, then RFC 7692 7.2.3.1's "Hello". */
		const uint8_t two[] = { 0xc1, 0x03, 0xff, 0xff, 0xff,
					0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };

		for (k = 0; k <= sizeof(two); k++) {
			wdt_run(r, true, two, sizeof(two), k);
			assert_int_equal(r->nmsgs, 2);
			assert_int_equal(r->loss[WS_LOSS_DEFLATE_CONTEXT], 1);
			assert_false(r->info[1].inflated);
		}
	}
	assert_int_equal(ws_deflate_init(&z, 7, false, 0), -EINVAL);
	assert_int_equal(ws_deflate_init(&z, 16, false, 0), -EINVAL);
	assert_int_equal(ws_deflate_init(&z, 8, false, 0), 0);
	assert_int_equal(z.window_bits, 9);
	assert_int_equal(ws_deflate_begin(&z), 0);
	assert_int_equal(ws_deflate_inflate(&z, bad + 2, 3, NULL, NULL),
			 -WS_DEFLATE_E_DATA);
	assert_int_equal(ws_deflate_inflate(&z, bad + 2, 3, NULL, NULL),
			 -WS_DEFLATE_E_STATE);
	assert_int_equal(ws_deflate_begin(&z), 0); /* resets after failure */
	ws_deflate_free(&z);
	ws_deflate_free(&z); /* idempotent */
	assert_string_equal(ws_deflate_strerror(-WS_DEFLATE_E_TOO_BIG),
			    "inflated message too big");
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7692_examples),
		cmocka_unit_test(test_zlib_roundtrip),
		cmocka_unit_test(test_inflate_cap),
		cmocka_unit_test(test_truncated_compressed),
		cmocka_unit_test(test_corrupt_and_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
