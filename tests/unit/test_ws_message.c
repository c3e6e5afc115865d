// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_ws_message.c - message assembly: fragmentation with interleaved
 * control frames, fragmentation violations, UTF-8 across fragments,
 * capture limits, close info, gaps and losses.
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
#include "guard_page.h"
#include "wsgen.h"

#define WMT_MAX_MSGS 64
#define WMT_DATA_MAX 4096

struct wmt_msg {
	struct ws_message_info info;
	uint8_t data[WMT_DATA_MAX];
};

struct wmt_rec {
	struct wmt_msg msgs[WMT_MAX_MSGS];
	int nmsgs;
	struct ws_control_info ctl[WMT_MAX_MSGS];
	uint8_t ctl_payload[WMT_MAX_MSGS][128];
	uint8_t ctl_reason[WMT_MAX_MSGS][128];
	int nctl;
	int nframes;
	int viol[WS_VIOL_MAX];
	uint64_t viol_detail[WS_VIOL_MAX];
	int loss[WS_LOSS_MAX];
	uint64_t loss_detail[WS_LOSS_MAX];
	int nincomplete;           /* frames cut by ws_message_decoder_end */
	uint64_t inc_len, inc_seen;
	int viol_at_nmsgs;         /* messages delivered at the last violation */
};

static void wmt_on_incomplete(void *ctx, const struct ws_frame_header *h,
			      const uint8_t *p, size_t kept, uint64_t seen)
{
	struct wmt_rec *r = ctx;

	(void)p;
	assert_true(kept <= seen);
	r->nincomplete++;
	r->inc_len = h->payload_len;
	r->inc_seen = seen;
}

static void wmt_on_frame(void *ctx, const struct ws_frame_header *h,
			 const uint8_t *p, size_t kept, bool truncated)
{
	struct wmt_rec *r = ctx;

	(void)h;
	(void)p;
	(void)kept;
	(void)truncated;
	r->nframes++;
}

static void wmt_on_message(void *ctx, const struct ws_message_info *m)
{
	struct wmt_rec *r = ctx;
	struct wmt_msg *dst;

	assert_true(r->nmsgs < WMT_MAX_MSGS);
	assert_true(m->kept <= WMT_DATA_MAX);
	assert_true(m->kept <= m->total_len || m->incomplete);
	dst = &r->msgs[r->nmsgs++];
	dst->info = *m;
	if (m->kept)
		memcpy(dst->data, m->data, m->kept);
	dst->info.data = dst->data;
}

static void wmt_on_control(void *ctx, const struct ws_control_info *c)
{
	struct wmt_rec *r = ctx;
	int i = r->nctl++;

	assert_true(i < WMT_MAX_MSGS);
	assert_true(c->len <= 128 && c->reason_len <= 128);
	r->ctl[i] = *c;
	r->ctl[i].h = NULL;
	memcpy(r->ctl_payload[i], c->payload, c->len);
	r->ctl[i].payload = r->ctl_payload[i];
	if (c->reason_len)
		memcpy(r->ctl_reason[i], c->reason, c->reason_len);
	r->ctl[i].reason = r->ctl_reason[i];
}

static void wmt_on_violation(void *ctx, enum ws_violation v, uint64_t detail)
{
	struct wmt_rec *r = ctx;

	assert_true(v > WS_VIOL_NONE && v < WS_VIOL_MAX);
	r->viol[v]++;
	r->viol_detail[v] = detail;
	r->viol_at_nmsgs = r->nmsgs;
}

static void wmt_on_loss(void *ctx, enum ws_loss l, uint64_t detail)
{
	struct wmt_rec *r = ctx;

	assert_true(l > WS_LOSS_NONE && l < WS_LOSS_MAX);
	r->loss[l]++;
	r->loss_detail[l] = detail;
}

static int wmt_nviol(const struct wmt_rec *r)
{
	int i, n = 0;

	for (i = 0; i < WS_VIOL_MAX; i++)
		n += r->viol[i];
	return n;
}

static void wmt_init(struct ws_message_decoder *m, struct wmt_rec *r,
		     const struct ws_message_config *cfg)
{
	struct ws_message_callbacks cb = {
		.on_frame = wmt_on_frame,
		.on_frame_incomplete = wmt_on_incomplete,
		.on_message = wmt_on_message,
		.on_control = wmt_on_control,
		.on_violation = wmt_on_violation,
		.on_loss = wmt_on_loss,
		.ctx = r,
	};

	memset(r, 0, sizeof(*r));
	assert_int_equal(ws_message_decoder_init(m, cfg, &cb), 0);
}

/* Appends one frame; masked with a fixed key when mask is set. */
static size_t wmt_frame(uint8_t *out, bool fin, uint8_t op, const void *p,
			size_t len, bool mask)
{
	static const uint8_t key[4] = { 0x11, 0x22, 0x33, 0x44 };

	return wsgen_frame(out, fin, op, p, len, mask ? key : NULL);
}

static const struct ws_message_config wmt_server = {
	.max_frame_capture = 256,
	.max_message_capture = WMT_DATA_MAX,
};
static const struct ws_message_config wmt_client = {
	.is_client_side = true,
	.max_frame_capture = 256,
	.max_message_capture = WMT_DATA_MAX,
};

/* Decodes buf split at k; input checked unchanged and guarded. */
static void wmt_run(struct wmt_rec *r, const struct ws_message_config *cfg,
		    const uint8_t *buf, size_t len, size_t k)
{
	struct ws_message_decoder m;
	struct guard_buf g;
	const uint8_t *p = guard_copy(&g, buf, len);

	wmt_init(&m, r, cfg);
	ws_message_decoder_feed(&m, p, k);
	ws_message_decoder_feed(&m, p + k, len - k);
	assert_memory_equal(p, buf, len);
	ws_message_decoder_free(&m);
	guard_free(&g);
}

/* RFC 6455 5.7: "Hel" + ping "Hello" + "lo", at every split. */
static void test_fragmented_with_ping(void **state)
{
	const uint8_t in[] = { 0x01, 0x03, 0x48, 0x65, 0x6c,
			       0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f,
			       0x80, 0x02, 0x6c, 0x6f };
	struct wmt_rec *r = malloc(sizeof(*r));
	size_t k;

	(void)state;
	assert_non_null(r);
	for (k = 0; k <= sizeof(in); k++) {
		wmt_run(r, &wmt_server, in, sizeof(in), k);
		assert_int_equal(r->nmsgs, 1);
		assert_int_equal(r->msgs[0].info.opcode, WS_OP_TEXT);
		assert_int_equal(r->msgs[0].info.kept, 5);
		assert_memory_equal(r->msgs[0].data, "Hello", 5);
		assert_int_equal(r->msgs[0].info.total_len, 5);
		assert_int_equal(r->msgs[0].info.wire_len, 5);
		assert_int_equal(r->msgs[0].info.frames, 2);
		assert_true(r->msgs[0].info.utf8_valid);
		assert_false(r->msgs[0].info.truncated);
		assert_false(r->msgs[0].info.incomplete);
		assert_false(r->msgs[0].info.compressed);
		assert_int_equal(r->nctl, 1);
		assert_int_equal(r->ctl[0].opcode, WS_OP_PING);
		assert_true(r->ctl[0].in_fragmented_message);
		assert_memory_equal(r->ctl[0].payload, "Hello", 5);
		assert_int_equal(r->nframes, 3);
		assert_int_equal(wmt_nviol(r), 0);
	}
	free(r);
}

static void test_masked_messages_and_close(void **state)
{
	uint8_t in[512];
	size_t n = 0, k;
	struct wmt_rec *r = malloc(sizeof(*r));
	const char *login = "{\"type\":\"login\",\"client_name\":\"mynick\",\"room_id\":\"1\"}";

	(void)state;
	assert_non_null(r);
	n += wmt_frame(in + n, true, WS_OP_TEXT, login, strlen(login), true);
	n += wmt_frame(in + n, true, WS_OP_BINARY, "\x00\x01\x02", 3, true);
	n += wmt_frame(in + n, true, WS_OP_PONG, "", 0, true);
	n += wmt_frame(in + n, true, WS_OP_CLOSE, "\x03\xe8" "bye", 5, true);
	for (k = 0; k <= n; k++) {
		wmt_run(r, &wmt_client, in, n, k);
		assert_int_equal(r->nmsgs, 2);
		assert_int_equal(r->msgs[0].info.kept, strlen(login));
		assert_memory_equal(r->msgs[0].data, login, strlen(login));
		assert_int_equal(r->msgs[1].info.opcode, WS_OP_BINARY);
		assert_memory_equal(r->msgs[1].data, "\x00\x01\x02", 3);
		assert_int_equal(r->nctl, 2);
		assert_int_equal(r->ctl[0].opcode, WS_OP_PONG);
		assert_int_equal(r->ctl[1].opcode, WS_OP_CLOSE);
		assert_true(r->ctl[1].close_parsed);
		assert_true(r->ctl[1].close_valid);
		assert_int_equal(r->ctl[1].close_code, 1000);
		assert_int_equal(r->ctl[1].reason_len, 3);
		assert_memory_equal(r->ctl[1].reason, "bye", 3);
		assert_int_equal(wmt_nviol(r), 0);
	}
	/* empty close: no status (1005 semantics); then data after close */
	n = wmt_frame(in, true, WS_OP_CLOSE, "", 0, false);
	n += wmt_frame(in + n, true, WS_OP_TEXT, "x", 1, false);
	wmt_run(r, &wmt_server, in, n, 0);
	assert_true(r->ctl[0].close_valid);
	assert_int_equal(r->ctl[0].close_code, WS_CLOSE_NO_STATUS);
	assert_int_equal(r->viol[WS_VIOL_DATA_AFTER_CLOSE], 1);
	assert_int_equal(r->nmsgs, 1);
	free(r);
}

static void test_fragmentation_violations(void **state)
{
	uint8_t in[256];
	size_t n;
	struct wmt_rec *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	/* continuation without a start */
	n = wmt_frame(in, true, WS_OP_CONT, "abc", 3, false);
	n += wmt_frame(in + n, true, WS_OP_TEXT, "ok", 2, false);
	wmt_run(r, &wmt_server, in, n, 0);
	assert_int_equal(r->viol[WS_VIOL_CONTINUATION_WITHOUT_START], 1);
	assert_int_equal(wmt_nviol(r), 1);
	assert_int_equal(r->nmsgs, 2);
	assert_int_equal(r->msgs[0].info.opcode, WS_OP_CONT);
	assert_memory_equal(r->msgs[1].data, "ok", 2);

	/* a new data frame while a message is in progress */
	n = wmt_frame(in, false, WS_OP_TEXT, "one", 3, false);
	n += wmt_frame(in + n, true, WS_OP_BINARY, "two", 3, false);
	n += wmt_frame(in + n, true, WS_OP_CONT, "three", 5, false);
	wmt_run(r, &wmt_server, in, n, 0);
	assert_int_equal(r->viol[WS_VIOL_DATA_FRAME_IN_FRAGMENTED_MESSAGE], 1);
	assert_int_equal(r->viol_detail[WS_VIOL_DATA_FRAME_IN_FRAGMENTED_MESSAGE],
			 WS_OP_BINARY);
	assert_int_equal(r->viol[WS_VIOL_CONTINUATION_WITHOUT_START], 1);
	assert_int_equal(r->nmsgs, 3);
	/* the abandoned message is delivered, marked incomplete */
	assert_memory_equal(r->msgs[0].data, "one", 3);
	assert_true(r->msgs[0].info.incomplete);
	assert_true(r->msgs[0].info.truncated);
	assert_memory_equal(r->msgs[1].data, "two", 3);
	assert_false(r->msgs[1].info.truncated);
	free(r);
}

/* "hi, all ！" (U+FF01) and an emoji, split into two fragments anywhere. */
static void test_utf8_across_fragments(void **state)
{
	const char *text = "hi, all \xef\xbc\x81 \xf0\x9f\x98\x80!";
	size_t len = strlen(text), k, j;
	uint8_t in[128];
	struct wmt_rec *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	for (k = 0; k <= len; k++) {
		size_t n = wmt_frame(in, false, WS_OP_TEXT, text, k, true);

		n += wmt_frame(in + n, true, WS_OP_CONT, text + k, len - k, true);
		for (j = 0; j <= n; j += 3) {
			wmt_run(r, &wmt_client, in, n, j);
			assert_int_equal(r->nmsgs, 1);
			assert_true(r->msgs[0].info.utf8_valid);
			assert_int_equal(r->msgs[0].info.kept, len);
			assert_memory_equal(r->msgs[0].data, text, len);
			assert_int_equal(wmt_nviol(r), 0);
		}
	}
	free(r);
}

static void test_utf8_invalid(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		uint64_t offset;
	} bad[] = {
		{ "a\xc0\x80", 3, 1 },
		{ "\xe0\x80\x80", 3, 1 },
		{ "\xf0\x80\x80\x80", 4, 1 },
		{ "ab\xed\xa0\x80", 5, 3 },
		{ "\xf4\x90\x80\x80", 4, 1 },
		{ "x\x80", 2, 1 },
		{ "ok\xef\xbc", 4, 4 },   /* ends inside a code point */
	};
	uint8_t in[64];
	size_t i, n;
	struct wmt_rec *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = wmt_frame(in, true, WS_OP_TEXT, bad[i].s, bad[i].len, false);
		wmt_run(r, &wmt_server, in, n, 0);
		assert_int_equal(r->nmsgs, 1);
		assert_false(r->msgs[0].info.utf8_valid);
		assert_int_equal(r->viol[WS_VIOL_INVALID_UTF8], 1);
		assert_int_equal(r->viol_detail[WS_VIOL_INVALID_UTF8],
				 bad[i].offset);
		/* binary is not checked */
		n = wmt_frame(in, true, WS_OP_BINARY, bad[i].s, bad[i].len, false);
		wmt_run(r, &wmt_server, in, n, 0);
		assert_true(r->msgs[0].info.utf8_valid);
		assert_int_equal(wmt_nviol(r), 0);
	}
	/* split mid code point then invalid continuation in next fragment */
	n = wmt_frame(in, false, WS_OP_TEXT, "\xef", 1, false);
	n += wmt_frame(in + n, true, WS_OP_CONT, "\xbc" "A", 2, false);
	wmt_run(r, &wmt_server, in, n, 0);
	assert_false(r->msgs[0].info.utf8_valid);
	assert_int_equal(r->viol[WS_VIOL_INVALID_UTF8], 1);
	free(r);
}

static void test_capture_limits(void **state)
{
	size_t len = 10000, n, i;
	uint8_t *payload = malloc(len), *in = malloc(len + 64);
	struct wmt_rec *r = malloc(sizeof(*r));
	struct ws_message_config cfg = wmt_client;

	(void)state;
	assert_non_null(payload);
	assert_non_null(in);
	assert_non_null(r);
	for (i = 0; i < len; i++)
		payload[i] = 'a' + i % 26;
	n = wmt_frame(in, false, WS_OP_TEXT, payload, 6000, true);
	n += wmt_frame(in + n, true, WS_OP_CONT, payload + 6000, 4000, true);
	cfg.max_message_capture = 100;
	cfg.max_message_len = 8000;
	wmt_run(r, &cfg, in, n, 7777);
	assert_int_equal(r->nmsgs, 1);
	assert_int_equal(r->msgs[0].info.kept, 100);
	assert_int_equal(r->msgs[0].info.total_len, 10000);
	assert_int_equal(r->msgs[0].info.wire_len, 10000);
	assert_true(r->msgs[0].info.truncated);
	assert_false(r->msgs[0].info.incomplete);
	assert_true(r->msgs[0].info.utf8_valid);
	assert_memory_equal(r->msgs[0].data, payload, 100);
	assert_int_equal(r->viol[WS_VIOL_MESSAGE_TOO_BIG], 1);
	assert_int_equal(r->viol_detail[WS_VIOL_MESSAGE_TOO_BIG], 8000);
	/* nothing kept at all (privacy mode) */
	cfg.max_message_capture = 0;
	cfg.max_message_len = 0;
	wmt_run(r, &cfg, in, n, 0);
	assert_int_equal(r->msgs[0].info.kept, 0);
	assert_int_equal(r->msgs[0].info.total_len, 10000);
	assert_true(r->msgs[0].info.utf8_valid);
	free(payload);
	free(in);
	free(r);
}

/* A client binary frame header declaring plen bytes (64-bit length). */
static size_t wmt_long_header(uint8_t *out, bool fin, uint8_t op, uint64_t plen)
{
	size_t n = 0;

	out[n++] = (fin ? 0x80 : 0) | op;
	out[n++] = 0x80 | 127;
	for (int i = 0; i < 8; i++)
		out[n++] = (uint8_t)(plen >> (56 - 8 * i));
	memcpy(out + n, "\x11\x22\x33\x44", 4);
	return n + 4;
}

/*
 * RFC 6455 10.4 limit: a header declaring more than the limit is reported
 * at once, before a byte of its payload; a message whose frames add up to
 * more, at the header that crosses it. Once per message.
 */
static void test_message_too_big_at_header(void **state)
{
	struct ws_message_config cfg = wmt_client;
	struct ws_message_decoder m;
	struct wmt_rec *r = malloc(sizeof(*r));
	uint8_t in[20000], pay[6000];
	size_t n, k;

	(void)state;
	assert_non_null(r);
	cfg.max_message_len = 8000;
	/* 2^62 bytes declared: the violation comes with the header alone. */
	n = wmt_long_header(in, true, WS_OP_BINARY, 1ull << 62);
	for (k = 1; k <= n; k++) {
		wmt_init(&m, r, &cfg);
		ws_message_decoder_feed(&m, in, k);
		assert_int_equal(r->viol[WS_VIOL_MESSAGE_TOO_BIG], k == n);
		ws_message_decoder_free(&m);
	}
	assert_int_equal(r->viol_detail[WS_VIOL_MESSAGE_TOO_BIG], 8000);
	/* Exactly the limit is allowed; one byte more is not. */
	n = wmt_long_header(in, true, WS_OP_BINARY, 8000);
	wmt_init(&m, r, &cfg);
	ws_message_decoder_feed(&m, in, n);
	/* (a 64-bit length this short is non_minimal_length: not judged here) */
	assert_int_equal(r->viol[WS_VIOL_MESSAGE_TOO_BIG], 0);
	ws_message_decoder_free(&m);
	n = wmt_long_header(in, true, WS_OP_BINARY, 8001);
	wmt_init(&m, r, &cfg);
	ws_message_decoder_feed(&m, in, n);
	assert_int_equal(r->viol[WS_VIOL_MESSAGE_TOO_BIG], 1);
	ws_message_decoder_free(&m);
	/* Fragments of 6000 + 4000: at the second header, once. */
	memset(pay, 'a', sizeof(pay));
	n = wmt_frame(in, false, WS_OP_TEXT, pay, 6000, true);
	k = n + wmt_frame(in + n, true, WS_OP_CONT, pay, 4000, true);
	wmt_init(&m, r, &cfg);
	ws_message_decoder_feed(&m, in, n + 8); /* up to the second header */
	assert_int_equal(r->viol[WS_VIOL_MESSAGE_TOO_BIG], 1);
	ws_message_decoder_feed(&m, in + n + 8, k - n - 8);
	assert_int_equal(r->viol[WS_VIOL_MESSAGE_TOO_BIG], 1);
	assert_int_equal(r->nmsgs, 1);
	assert_int_equal(r->msgs[0].info.total_len, 10000);
	/* The next message starts under the limit again. */
	n = wmt_frame(in, true, WS_OP_TEXT, pay, 10, true);
	ws_message_decoder_feed(&m, in, n);
	assert_int_equal(r->viol[WS_VIOL_MESSAGE_TOO_BIG], 1);
	assert_int_equal(r->nmsgs, 2);
	ws_message_decoder_free(&m);
	/* No limit: nothing reported. */
	cfg.max_message_len = 0;
	n = wmt_long_header(in, true, WS_OP_BINARY, 1ull << 62);
	wmt_init(&m, r, &cfg);
	ws_message_decoder_feed(&m, in, n);
	assert_int_equal(wmt_nviol(r), 0);
	ws_message_decoder_free(&m);
	free(r);
}

/* Client bytes, then the end of the stream; what ws_message_decoder_end said. */
static bool wmt_feed_end(struct wmt_rec *r, const uint8_t *in, size_t n)
{
	struct ws_message_decoder m;
	bool cut;

	wmt_init(&m, r, &wmt_client);
	ws_message_decoder_feed(&m, in, n);
	cut = ws_message_decoder_end(&m);
	ws_message_decoder_free(&m);
	return cut;
}

/*
 * The stream ends inside a frame, or between the fragments of a message:
 * the frame and the message are reported, marked, never dropped.
 */
static void test_end_reports_open_frame_and_message(void **state)
{
	struct ws_message_decoder m;
	struct wmt_rec *r = malloc(sizeof(*r));
	uint8_t in[512], pay[200];
	size_t n;

	(void)state;
	assert_non_null(r);
	memset(pay, 'A', sizeof(pay));
	/* 2^62 declared, 100 seen. */
	n = wmt_long_header(in, true, WS_OP_BINARY, 1ull << 62);
	for (size_t i = 0; i < 100; i++)
		in[n + i] = 'A' ^ "\x11\x22\x33\x44"[i & 3];
	wmt_init(&m, r, &wmt_client);
	ws_message_decoder_feed(&m, in, n + 100);
	assert_int_equal(r->nframes + r->nincomplete + r->nmsgs, 0);
	assert_true(ws_message_decoder_end(&m));
	assert_int_equal(r->nframes, 0);
	assert_int_equal(r->nincomplete, 1);
	assert_int_equal(r->inc_len, 1ull << 62);
	assert_int_equal(r->inc_seen, 100);
	assert_int_equal(r->nmsgs, 1);
	assert_true(r->msgs[0].info.incomplete);
	assert_true(r->msgs[0].info.truncated);
	assert_int_equal(r->msgs[0].info.opcode, WS_OP_BINARY);
	assert_int_equal(r->msgs[0].info.total_len, 100);
	assert_int_equal(r->msgs[0].info.wire_len, 100);
	assert_int_equal(r->msgs[0].info.kept, 100);
	assert_memory_equal(r->msgs[0].data, pay, 100);
	assert_false(ws_message_decoder_end(&m)); /* said once */
	assert_int_equal(r->nmsgs, 1);
	ws_message_decoder_free(&m);
	/* A message waiting for its last fragment. */
	n = wmt_frame(in, false, WS_OP_TEXT, "frag-one ", 9, true);
	assert_true(wmt_feed_end(r, in, n));
	assert_int_equal(r->nincomplete, 0);
	assert_int_equal(r->nmsgs, 1);
	assert_true(r->msgs[0].info.incomplete);
	assert_int_equal(r->msgs[0].info.total_len, 9);
	assert_memory_equal(r->msgs[0].data, "frag-one ", 9);
	/* A ping cut short is a frame, not a ping (no control callback). */
	n = wmt_frame(in, true, WS_OP_PING, pay, 100, true);
	assert_true(wmt_feed_end(r, in, n - 40));
	assert_int_equal(r->nincomplete, 1);
	assert_int_equal(r->inc_seen, 60);
	assert_int_equal(r->nctl, 0);
	assert_int_equal(r->nmsgs, 0);
	/* Between messages: nothing. */
	n = wmt_frame(in, true, WS_OP_TEXT, "hi", 2, true);
	assert_false(wmt_feed_end(r, in, n));
	assert_int_equal(r->nmsgs, 1);
	assert_int_equal(r->nincomplete, 0);
	free(r);
}

static void test_gap_inside_message(void **state)
{
	uint8_t in[512], text[200];
	size_t n, hl;
	struct ws_message_decoder m;
	struct wmt_rec *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	memset(text, 'z', sizeof(text));
	n = wmt_frame(in, true, WS_OP_TEXT, text, sizeof(text), true);
	hl = n - sizeof(text);
	n += wmt_frame(in + n, true, WS_OP_TEXT, "after", 5, true);
	wmt_init(&m, r, &wmt_client);
	ws_message_decoder_feed(&m, in, hl + 50);
	assert_int_equal(ws_message_decoder_gap(&m, 100), 0);
	ws_message_decoder_feed(&m, in + hl + 150, n - hl - 150);
	assert_int_equal(r->nmsgs, 2);
	assert_true(r->msgs[0].info.incomplete);
	assert_true(r->msgs[0].info.truncated);
	assert_int_equal(r->msgs[0].info.kept, 50);
	assert_int_equal(r->msgs[0].info.wire_len, 200);
	assert_int_equal(r->msgs[0].info.total_len, 200);
	assert_int_equal(r->loss[WS_LOSS_GAP_IN_FRAME], 1);
	assert_int_equal(r->loss_detail[WS_LOSS_GAP_IN_FRAME], 100);
	assert_int_equal(r->loss[WS_LOSS_STREAM_LOST], 0);
	assert_memory_equal(r->msgs[1].data, "after", 5);
	assert_false(r->msgs[1].info.truncated);
	assert_int_equal(wmt_nviol(r), 0);
	ws_message_decoder_free(&m);
	free(r);
}

/* Lost in the middle of a fragmented message, found again on its last
 * fragment: that continuation is no violation, just incomplete. */
static void test_lost_then_orphan_continuation(void **state)
{
	uint8_t in[512];
	size_t n, a, b;
	struct ws_message_decoder m;
	struct wmt_rec *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	a = wmt_frame(in, false, WS_OP_TEXT, "first part ", 11, false);
	b = a + wmt_frame(in + a, false, WS_OP_CONT, "middle ", 7, false);
	n = b + wmt_frame(in + b, true, WS_OP_CONT, "end", 3, false);
	n += wmt_frame(in + n, true, WS_OP_TEXT, "next", 4, false);
	wmt_init(&m, r, &wmt_server);
	ws_message_decoder_feed(&m, in, a + 1);
	/* lose the rest of the middle header and part of its payload */
	assert_int_equal(ws_message_decoder_gap(&m, 4), 1);
	ws_message_decoder_feed(&m, in + a + 5, n - a - 5);
	assert_int_equal(r->loss[WS_LOSS_STREAM_LOST], 1);
	assert_int_equal(r->loss[WS_LOSS_RESYNC], 1);
	/* "iddle " skipped (the middle fragment is not a resync point) */
	assert_int_equal(r->loss_detail[WS_LOSS_RESYNC], b - a - 5);
	assert_int_equal(r->nmsgs, 3);
	assert_memory_equal(r->msgs[0].data, "first part ", 11);
	assert_true(r->msgs[0].info.incomplete);
	assert_int_equal(r->msgs[1].info.opcode, WS_OP_CONT);
	assert_memory_equal(r->msgs[1].data, "end", 3);
	assert_true(r->msgs[1].info.incomplete);
	assert_memory_equal(r->msgs[2].data, "next", 4);
	assert_false(r->msgs[2].info.incomplete);
	assert_int_equal(wmt_nviol(r), 0);
	ws_message_decoder_free(&m);
	free(r);
}

/* Decodes buf from the lost state (mid-way attach), split at k. */
static void wmt_run_lost(struct wmt_rec *r, const struct ws_message_config *cfg,
			 const uint8_t *buf, size_t len, size_t k)
{
	struct ws_message_decoder m;
	struct guard_buf g;
	const uint8_t *p = guard_copy(&g, buf, len);

	wmt_init(&m, r, cfg);
	ws_message_decoder_set_lost(&m);
	ws_message_decoder_feed(&m, p, k);
	ws_message_decoder_feed(&m, p + k, len - k);
	assert_memory_equal(p, buf, len);
	ws_message_decoder_free(&m);
	guard_free(&g);
}

/*
 * Inside a masked payload, bytes that read as a close frame with a valid
 * code, then bytes that read as no header: no frame, no control frame, no
 * close state (data after it is no violation), at every split.
 */
static void test_false_close_while_lost(void **state)
{
	const uint8_t key[4] = { 0x31, 0x32, 0x33, 0x34 };
	uint8_t in[256];
	size_t n = 0, k, i;
	struct wmt_rec *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	in[n++] = 0x88;
	in[n++] = 0x82;
	memcpy(in + n, key, 4);
	n += 4;
	in[n++] = 0x03 ^ key[0];
	in[n++] = 0xe8 ^ key[1]; /* 1000 */
	in[n++] = 0x83;          /* reserved opcode: not a frame start */
	n += wmt_frame(in + n, true, WS_OP_TEXT, "one", 3, true);
	n += wmt_frame(in + n, true, WS_OP_TEXT, "two", 3, true);
	for (k = 0; k <= n; k++) {
		wmt_run_lost(r, &wmt_client, in, n, k);
		assert_int_equal(r->nctl, 0);
		assert_int_equal(r->nframes, 2);
		assert_int_equal(r->nmsgs, 2);
		assert_memory_equal(r->msgs[0].data, "one", 3);
		assert_memory_equal(r->msgs[1].data, "two", 3);
		for (i = 0; i < 2; i++) {
			assert_false(r->msgs[i].info.incomplete);
			assert_false(r->msgs[i].info.truncated);
		}
		assert_int_equal(wmt_nviol(r), 0);
		assert_int_equal(r->loss[WS_LOSS_RESYNC], 1);
		assert_int_equal(r->loss_detail[WS_LOSS_RESYNC], 9);
	}
	free(r);
}

/*
 * A message found again on a frame longer than the frame decoder can
 * hold on probation: exact up to the held prefix, then incomplete.
 */
static void test_long_frame_after_loss(void **state)
{
	uint8_t text[1000], *in = malloc(1200);
	struct ws_message_config cfg = wmt_client;
	struct wmt_rec *r = malloc(sizeof(*r));
	size_t n = 0, i;

	(void)state;
	assert_non_null(in);
	assert_non_null(r);
	for (i = 0; i < sizeof(text); i++)
		text[i] = 'a' + i % 26;
	in[n++] = 0x7f;
	n += wmt_frame(in + n, true, WS_OP_TEXT, text, sizeof(text), true);
	n += wmt_frame(in + n, true, WS_OP_TEXT, "after", 5, true);
	cfg.max_frame_capture = 100;
	wmt_run_lost(r, &cfg, in, n, n / 2);
	assert_int_equal(r->nmsgs, 2);
	assert_int_equal(r->msgs[0].info.kept, 100);
	assert_memory_equal(r->msgs[0].data, text, 100);
	assert_true(r->msgs[0].info.incomplete);
	assert_true(r->msgs[0].info.truncated);
	assert_int_equal(r->msgs[0].info.wire_len, sizeof(text));
	assert_int_equal(r->msgs[0].info.total_len, sizeof(text));
	assert_memory_equal(r->msgs[1].data, "after", 5);
	assert_false(r->msgs[1].info.incomplete);
	assert_int_equal(r->loss_detail[WS_LOSS_RESYNC], 1);
	/* held whole when the capture allows: exact */
	cfg.max_frame_capture = 1024;
	wmt_run_lost(r, &cfg, in, n, n / 2);
	assert_int_equal(r->msgs[0].info.kept, sizeof(text));
	assert_memory_equal(r->msgs[0].data, text, sizeof(text));
	assert_false(r->msgs[0].info.incomplete);
	assert_false(r->msgs[0].info.truncated);
	assert_true(r->msgs[0].info.utf8_valid);
	free(in);
	free(r);
}

/* Everything a decoder reported, compared field by field. */
static void wmt_same(const struct wmt_rec *a, const struct wmt_rec *b)
{
	int i;

	assert_int_equal(a->nmsgs, b->nmsgs);
	for (i = 0; i < a->nmsgs; i++) {
		const struct ws_message_info *x = &a->msgs[i].info, *y = &b->msgs[i].info;

		assert_int_equal(x->opcode, y->opcode);
		assert_int_equal(x->kept, y->kept);
		assert_int_equal(x->total_len, y->total_len);
		assert_int_equal(x->wire_len, y->wire_len);
		assert_int_equal(x->frames, y->frames);
		assert_int_equal(x->compressed, y->compressed);
		assert_int_equal(x->inflated, y->inflated);
		assert_int_equal(x->truncated, y->truncated);
		assert_int_equal(x->incomplete, y->incomplete);
		assert_int_equal(x->utf8_valid, y->utf8_valid);
		assert_memory_equal(a->msgs[i].data, b->msgs[i].data, x->kept);
	}
	assert_int_equal(a->nctl, b->nctl);
	for (i = 0; i < a->nctl; i++) {
		assert_int_equal(a->ctl[i].opcode, b->ctl[i].opcode);
		assert_int_equal(a->ctl[i].len, b->ctl[i].len);
		assert_int_equal(a->ctl[i].close_code, b->ctl[i].close_code);
		assert_memory_equal(a->ctl_payload[i], b->ctl_payload[i], a->ctl[i].len);
	}
	assert_int_equal(a->nframes, b->nframes);
	assert_memory_equal(a->viol, b->viol, sizeof(a->viol));
	assert_memory_equal(a->viol_detail, b->viol_detail, sizeof(a->viol_detail));
	assert_memory_equal(a->loss, b->loss, sizeof(a->loss));
	assert_memory_equal(a->loss_detail, b->loss_detail, sizeof(a->loss_detail));
}

/*
 * Parking: a decoder freed whenever it is parkable and made again with its
 * carried flags reports exactly what one decoder does, at every chunk
 * size. The stream needs each carried flag: it starts lost with deflate
 * on (context lost, said at the compressed message), resyncs on a ping so
 * that an orphan continuation follows (after_loss), and sends data after
 * its close (close_seen).
 */
static void test_park_resume_same_events(void **state)
{
	struct ws_message_config cfg = wmt_client;
	struct wmt_rec *ref = malloc(sizeof(*ref)), *got = malloc(sizeof(*got));
	struct ws_message_callbacks cb = {
		.on_frame = wmt_on_frame,
		.on_frame_incomplete = wmt_on_incomplete,
		.on_message = wmt_on_message,
		.on_control = wmt_on_control,
		.on_violation = wmt_on_violation,
		.on_loss = wmt_on_loss,
	};
	uint8_t *in = malloc(4096), bin[2000];
	struct ws_message_decoder m;
	size_t n = 0, k, off, parks;

	(void)state;
	assert_non_null(ref);
	assert_non_null(got);
	assert_non_null(in);
	for (k = 0; k < sizeof(bin); k++)
		bin[k] = (uint8_t)(k * 7);
	cfg.deflate = true;
	in[n++] = 0x7f;
	n += wmt_frame(in + n, true, WS_OP_PING, "p1", 2, true);
	n += wmt_frame(in + n, true, WS_OP_CONT, "ab", 2, true);
	n += wmt_frame(in + n, false, WS_OP_TEXT, "Hel", 3, true);
	n += wmt_frame(in + n, true, WS_OP_PING, "Hello", 5, true);
	n += wmt_frame(in + n, true, WS_OP_CONT, "lo", 2, true);
	n += wmt_frame(in + n, true, WS_OP_BINARY, bin, sizeof(bin), true);
	n += wmt_frame(in + n, true, WS_OP_TEXT, "zz", 2, true);
	in[n - 8] |= 0x40; /* RSV1: compressed, its context was lost */
	n += wmt_frame(in + n, true, WS_OP_CLOSE, "\x03\xe8", 2, true);
	n += wmt_frame(in + n, true, WS_OP_TEXT, "late", 4, true);

	wmt_init(&m, ref, &cfg);
	ws_message_decoder_set_lost(&m);
	ws_message_decoder_feed(&m, in, n);
	ws_message_decoder_free(&m);
	/* the stream says what it should, or the comparison proves little */
	assert_int_equal(ref->nmsgs, 5);
	assert_int_equal(ref->viol[WS_VIOL_CONTINUATION_WITHOUT_START], 0);
	assert_true(ref->msgs[0].info.incomplete);
	assert_int_equal(ref->viol[WS_VIOL_DATA_AFTER_CLOSE], 1);
	assert_int_equal(ref->loss[WS_LOSS_DEFLATE_CONTEXT], 1);
	assert_int_equal(ref->loss[WS_LOSS_NOT_INFLATED], 1);
	assert_int_equal(ref->loss[WS_LOSS_RESYNC], 1);
	assert_memory_equal(ref->msgs[2].data, bin, sizeof(bin));

	for (k = 1; k <= n; k++) {
		uint8_t carry = 0;
		bool live = true;

		cb.ctx = got;
		wmt_init(&m, got, &cfg);
		ws_message_decoder_set_lost(&m);
		parks = 0;
		for (off = 0; off < n; off += k) {
			size_t c = n - off < k ? n - off : k;

			if (!live) {
				assert_int_equal(ws_message_decoder_init(&m, &cfg, &cb), 0);
				ws_message_decoder_resume(&m, carry);
				live = true;
			}
			ws_message_decoder_feed(&m, in + off, c);
			/* in sync again: no resync window held */
			if (!ws_frame_decoder_is_lost(&m.fd))
				assert_null(m.fd.win);
			if (ws_message_decoder_parkable(&m)) {
				carry = ws_message_decoder_carry(&m);
				ws_message_decoder_free(&m);
				memset(&m, 0xa5, sizeof(m)); /* nothing may survive */
				live = false;
				parks++;
			}
		}
		if (live)
			ws_message_decoder_free(&m);
		wmt_same(ref, got);
		/* after each message and control frame out of one */
		if (k == 1)
			assert_int_equal(parks, 6);
	}
	free(in);
	free(ref);
	free(got);
}

/* Mid-frame, mid-message or lost, a decoder holds state: not parkable. */
static void test_not_parkable_with_state(void **state)
{
	struct ws_message_decoder m;
	struct wmt_rec *r = malloc(sizeof(*r));
	uint8_t in[64];
	size_t n;

	(void)state;
	assert_non_null(r);
	wmt_init(&m, r, &wmt_client);
	assert_true(ws_message_decoder_parkable(&m));
	n = wmt_frame(in, false, WS_OP_TEXT, "Hel", 3, true);
	ws_message_decoder_feed(&m, in, 1);     /* half a header */
	assert_false(ws_message_decoder_parkable(&m));
	ws_message_decoder_feed(&m, in + 1, n - 2); /* mid-payload */
	assert_false(ws_message_decoder_parkable(&m));
	ws_message_decoder_feed(&m, in + n - 1, 1); /* mid-message */
	assert_false(ws_message_decoder_parkable(&m));
	n = wmt_frame(in, true, WS_OP_CONT, "lo", 2, true);
	ws_message_decoder_feed(&m, in, n);
	assert_int_equal(r->nmsgs, 1);
	assert_true(ws_message_decoder_parkable(&m));
	ws_message_decoder_set_lost(&m);
	assert_false(ws_message_decoder_parkable(&m));
	ws_message_decoder_free(&m);
	free(r);
}

/* Buffers come with the bytes and a big one does not outlive its message. */
static void test_buffers_sized_to_need(void **state)
{
	struct ws_message_config cfg = wmt_client;
	struct ws_message_decoder m;
	struct wmt_rec *r = malloc(sizeof(*r));
	uint8_t *in = malloc(4200), big[3000];
	size_t n, i;

	(void)state;
	assert_non_null(r);
	assert_non_null(in);
	cfg.max_frame_capture = 4096;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)('a' + i % 26);
	wmt_init(&m, r, &cfg);
	assert_null(m.buf);
	assert_null(m.fd.cap);
	n = wmt_frame(in, true, WS_OP_TEXT, "hi", 2, true);
	ws_message_decoder_feed(&m, in, n);
	assert_int_equal(r->nmsgs, 1);
	assert_memory_equal(r->msgs[0].data, "hi", 2);
	/* a message of one small frame is the frame's capture: no copy */
	assert_null(m.buf);
	assert_true(m.fd.cap_alloc >= 2 && m.fd.cap_alloc <= 1024);
	/* fragmented, so the message buffer grows across frames */
	n = wmt_frame(in, false, WS_OP_TEXT, big, 1000, true);
	n += wmt_frame(in + n, true, WS_OP_CONT, big + 1000, 2000, true);
	for (i = 0; i < n; i += 7)
		ws_message_decoder_feed(&m, in + i, n - i < 7 ? n - i : 7);
	assert_int_equal(r->nmsgs, 2);
	assert_int_equal(r->msgs[1].info.kept, sizeof(big));
	assert_memory_equal(r->msgs[1].data, big, sizeof(big));
	assert_false(r->msgs[1].info.truncated);
	assert_null(m.buf);
	assert_null(m.fd.cap);
	ws_message_decoder_free(&m);
	free(in);
	free(r);
}

static void test_bad_close_and_names(void **state)
{
	uint8_t in[64];
	size_t n;
	struct wmt_rec *r = malloc(sizeof(*r));
	int l;

	(void)state;
	assert_non_null(r);
	n = wmt_frame(in, true, WS_OP_CLOSE, "\x03", 1, false);
	wmt_run(r, &wmt_server, in, n, 0);
	assert_int_equal(r->viol[WS_VIOL_CLOSE_PAYLOAD_1_BYTE], 1);
	assert_true(r->ctl[0].close_parsed);
	assert_false(r->ctl[0].close_valid);
	n = wmt_frame(in, true, WS_OP_CLOSE, "\x03\xee", 2, false); /* 1006 */
	wmt_run(r, &wmt_server, in, n, 0);
	assert_int_equal(r->viol[WS_VIOL_INVALID_CLOSE_CODE], 1);
	assert_int_equal(r->ctl[0].close_code, 1006);
	assert_false(r->ctl[0].close_valid);
	for (l = 1; l < WS_LOSS_MAX; l++)
		assert_string_not_equal(ws_loss_name(l), "unknown");
	assert_string_equal(ws_loss_name(WS_LOSS_MAX), "unknown");
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fragmented_with_ping),
		cmocka_unit_test(test_masked_messages_and_close),
		cmocka_unit_test(test_fragmentation_violations),
		cmocka_unit_test(test_utf8_across_fragments),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_capture_limits),
		cmocka_unit_test(test_message_too_big_at_header),
		cmocka_unit_test(test_end_reports_open_frame_and_message),
		cmocka_unit_test(test_gap_inside_message),
		cmocka_unit_test(test_lost_then_orphan_continuation),
		cmocka_unit_test(test_false_close_while_lost),
		cmocka_unit_test(test_long_frame_after_loss),
		cmocka_unit_test(test_bad_close_and_names),
		cmocka_unit_test(test_park_resume_same_events),
		cmocka_unit_test(test_not_parkable_with_state),
		cmocka_unit_test(test_buffers_sized_to_need),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
