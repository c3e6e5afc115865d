// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests: the session layer (session/) on scripted byte streams. A
 * conversation (upgrade, data, control and fragmented frames, a close each
 * way) goes through the TCP tracker and the WebSocket layer whole, then
 * with each of its pieces split at every offset into two segments, then
 * one byte a segment, then through the byte path (ws_layer_data) as a
 * source of ordered bytes would give it: every run must give the same
 * WebSocket events as the whole one, and the packet runs must print the
 * same JSON lines through the real output. The whole run is itself held
 * to the conversation's events (chat_events), so no run passes on empty
 * output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tracking/tcp_track.h"
#include "session/ws_session.h"
#include "session/ws_session_internal.h" /* WS_KEPT_DECODERS */
#include "pipeline.h"
#include "recorder.h"
#include "wsgen.h"

/* One piece of the conversation: bytes one side sends at once. */
struct piece {
	enum wst_flow_dir dir;
	uint8_t b[512];
	size_t n;
};

#define MAX_PIECES 16

struct script {
	struct piece p[MAX_PIECES];
	int n;
};

static struct piece *add(struct script *s, enum wst_flow_dir dir)
{
	struct piece *p;

	assert_true(s->n < MAX_PIECES);
	p = &s->p[s->n++];
	p->dir = dir;
	p->n = 0;
	return p;
}

static void add_bytes(struct script *s, enum wst_flow_dir dir, const void *b, size_t n)
{
	struct piece *p = add(s, dir);

	assert_true(n <= sizeof(p->b));
	memcpy(p->b, b, n);
	p->n = n;
}

/* Appends a frame (RFC 6455 5.2) to p: masked from the client (5.3). */
static void frame(struct piece *p, bool fin, uint8_t opcode, const void *payload, size_t len)
{
	static const uint8_t mask[4] = { 0xa1, 0x07, 0x5c, 0xe2 };

	assert_true(p->n + 8 + len <= sizeof(p->b));
	p->n += wsgen_frame(p->b + p->n, fin, opcode, payload, len, p->dir == WST_C2S ? mask : NULL);
}

/* The conversation: the upgrade, messages each way (one fragmented, one
 * longer than 125 bytes), a ping and its pong, a close each way. */
static void chat(struct script *s)
{
	uint8_t blob[200];
	struct piece *p;

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	memset(s, 0, sizeof(*s));
	add_bytes(s, WST_C2S, pipe_request, sizeof(pipe_request) - 1);
	add_bytes(s, WST_S2C, pipe_response, sizeof(pipe_response) - 1);
	frame(add(s, WST_C2S), true, WS_OP_TEXT, "{\"type\":\"login\"}", 16);
	p = add(s, WST_S2C);
	frame(p, true, WS_OP_TEXT, "welcome", 7);
	frame(p, true, WS_OP_PING, "hb", 2); /* two frames in one segment */
	frame(add(s, WST_C2S), true, WS_OP_PONG, "hb", 2);
	p = add(s, WST_C2S);
	frame(p, false, WS_OP_TEXT, "frag-", 5);
	frame(p, true, WS_OP_PING, "in", 2); /* a control frame inside a message */
	frame(p, true, WS_OP_CONT, "ment", 4);
	frame(add(s, WST_S2C), true, WS_OP_BINARY, blob, sizeof(blob));
	frame(add(s, WST_C2S), true, WS_OP_CLOSE, "\x03\xe8" "bye", 5);
	frame(add(s, WST_S2C), true, WS_OP_CLOSE, "\x03\xe8", 2);
}

/* A split: piece `piece` cut at offset `at` (0: whole); step 1 sends
 * every piece one byte a segment. */
struct split {
	int piece;
	size_t at;
	size_t step;
};

typedef void send_fn(void *ctx, int piece, enum wst_flow_dir dir, const uint8_t *p, size_t n);

/* Calls send with each segment of the script, cut as sp says. */
static void segments(const struct script *s, struct split sp, send_fn *send, void *ctx)
{
	for (int i = 0; i < s->n; i++) {
		const struct piece *pc = &s->p[i];
		size_t off = 0;

		while (off < pc->n) {
			size_t n = pc->n - off;

			if (sp.step)
				n = sp.step;
			else if (i == sp.piece && sp.at && off < sp.at)
				n = sp.at;
			send(ctx, i, pc->dir, pc->b + off, n);
			off += n;
		}
	}
}

/* Every segment of a piece is sent at the piece's time (10 ms apart), so
 * that however a piece is cut its events carry the same times and print
 * the same. */
#define PIECE_NS (10 * PIPE_STEP_NS)

static void send_packet(void *ctx, int piece, enum wst_flow_dir dir, const uint8_t *b, size_t n)
{
	struct pipeline *p = ctx;

	p->now = PIPE_T0 + (uint64_t)(piece + 1) * PIECE_NS - PIPE_STEP_NS; /* pipe_at adds a step */
	pipe_pkt(p, dir, WST_TCP_PSH | WST_TCP_ACK, b, (uint32_t)n);
}

/* Through the tracker and the WebSocket layer, then the FINs. */
static void run_packets(struct recorder *r, const struct script *s, struct split sp)
{
	struct pipeline p;

	rec_clear(r);
	pipe_init(&p, rec_sink(r), NULL, NULL);
	pipe_handshake(&p);
	segments(s, sp, send_packet, &p);
	pipe_pkt(&p, WST_C2S, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&p, WST_S2C, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&p, WST_C2S, WST_TCP_ACK, NULL, 0);
	tcp_tracker_finish(p.t, 0);
	assert_int_equal(ws_layer_stats(p.ws)->active, 0);
	assert_int_equal(tcp_tracker_stats(p.t)->app_leaks, 0);
	pipe_free(&p);
}

/* A source of ordered bytes: one connection, its own clock. */
struct byte_source {
	struct ws_layer *l;
	struct wst_flow f;
	uint64_t ts;
};

static void send_bytes(void *ctx, int piece, enum wst_flow_dir dir, const uint8_t *b, size_t n)
{
	struct byte_source *src = ctx;

	(void)piece;
	src->ts += 1000000;
	ws_layer_data(src->l, &src->f, dir, src->ts, b, n);
}

/* The same bytes through the byte path, as a source of ordered bytes
 * per direction gives them; the connection ends with a FIN close. */
static void run_bytes(struct recorder *r, const struct script *s, struct split sp)
{
	struct byte_source src = { .f = { .id = 1 }, .ts = PIPE_T0 };
	struct wst_event closed = { .type = WST_EV_TCP_CLOSED, .flow = &src.f };

	rec_clear(r);
	assert_int_equal(ws_layer_new(&src.l, NULL, rec_sink(r)), 0);
	segments(s, sp, send_bytes, &src);
	closed.ts_ns = src.ts + 1000000;
	closed.u.closed.reason = WST_CLOSE_FIN;
	ws_layer_end(src.l, &closed);
	assert_null(src.f.app);
	assert_int_equal(ws_layer_stats(src.l)->active, 0);
	ws_layer_free(src.l);
}

static bool ws_only(enum wst_event_type t)
{
	return wst_event_is_ws(t);
}

/* What the whole run prints (JSON lines): each WebSocket event of the
 * conversation in order, with its direction and a piece of its line. */
static const struct want {
	const char *event, *dir, *has;
} chat_events[] = {
	{ "ws_upgrade", "c2s", "\"method\":\"GET\",\"path\":\"/\"" },
	{ "ws_established", "s2c", "\"status\":101,\"reason\":\"Switching Protocols\",\"upgrade_us\":10000,\"accept\":\"ok\"" },
	{ "ws_frame", "c2s", "\"opcode\":\"text\",\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"masked\":true,\"len\":16,\"mask\":\"a1075ce2\"" },
	{ "ws_message", "c2s", "\"type\":\"text\",\"len\":16,\"wire_len\":16,\"frames\":1,\"compressed\":false,\"utf8_valid\":true,\"text\":\"{\\\"type\\\":\\\"login\\\"}\"" },
	{ "ws_frame", "s2c", "\"opcode\":\"text\",\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"masked\":false,\"len\":7,\"text\":\"welcome\"" },
	{ "ws_message", "s2c", "\"type\":\"text\",\"len\":7,\"wire_len\":7,\"frames\":1" },
	{ "ws_frame", "s2c", "\"opcode\":\"ping\",\"fin\":true" },
	{ "ws_ping", "s2c", "\"len\":2,\"text\":\"hb\"" },
	{ "ws_frame", "c2s", "\"opcode\":\"pong\",\"fin\":true" },
	{ "ws_pong", "c2s", "\"rtt_us\":10000,\"text\":\"hb\"" },
	{ "ws_frame", "c2s", "\"opcode\":\"text\",\"fin\":false,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"masked\":true,\"len\":5,\"mask\":\"a1075ce2\",\"text\":\"frag-\"" },
	{ "ws_frame", "c2s", "\"opcode\":\"ping\",\"fin\":true" },
	{ "ws_ping", "c2s", "\"text\":\"in\"" },
	{ "ws_frame", "c2s", "\"opcode\":\"continuation\",\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"masked\":true,\"len\":4,\"mask\":\"a1075ce2\",\"text\":\"ment\"" },
	{ "ws_message", "c2s", "\"type\":\"text\",\"len\":9,\"wire_len\":9,\"frames\":2,\"compressed\":false,\"utf8_valid\":true,\"text\":\"frag-ment\"" },
	{ "ws_frame", "s2c", "\"opcode\":\"binary\",\"fin\":true,\"rsv1\":false,\"rsv2\":false,\"rsv3\":false,\"masked\":false,\"len\":200,\"data_b64\":\"AAcOFRwj" },
	{ "ws_message", "s2c", "\"type\":\"binary\",\"len\":200,\"wire_len\":200,\"frames\":1,\"compressed\":false,\"data_b64\":\"AAcOFRwj" },
	{ "ws_frame", "c2s", "\"opcode\":\"close\",\"fin\":true" },
	{ "ws_close", "c2s", "\"len\":5,\"mask\":\"a1075ce2\",\"code\":1000,\"reason\":\"bye\",\"initiator\":\"client\",\"valid\":true" },
	{ "ws_frame", "s2c", "\"opcode\":\"close\",\"fin\":true" },
	{ "ws_close", "s2c", "\"len\":2,\"code\":1000,\"reason\":\"\",\"initiator\":\"client\",\"valid\":true" },
	{ "ws_session_end", NULL, "\"how\":\"close\",\"duration_us\":73000,\"code\":1000,\"initiator\":\"client\",\"frames_c2s\":6,\"frames_s2c\":4,\"messages_c2s\":2,\"messages_s2c\":2,\"bytes_c2s\":34,\"bytes_s2c\":211" },
};

/* The whole run prints the whole conversation, and nothing else. */
static void check_reference(const struct recorder *r)
{
	size_t k = 0;
	char want[64];

	for (int i = 0; i < r->n; i++) {
		const struct want *w = &chat_events[k];
		const char *out = r->ev[i].out;

		if (!wst_event_is_ws(r->ev[i].type))
			continue;
		if (k == sizeof(chat_events) / sizeof(chat_events[0]))
			fail_msg("an event more than the conversation's: %s", out);
		assert_non_null(out);
		snprintf(want, sizeof(want), "\"event\":\"%s\",", w->event);
		if (!strstr(out, want) || !strstr(out, w->has))
			fail_msg("event %zu: want %s with %s, got\n  %s", k, w->event, w->has, out);
		snprintf(want, sizeof(want), "\"dir\":\"%s\"", w->dir ? w->dir : "");
		if (w->dir ? !strstr(out, want) : !!strstr(out, "\"dir\":"))
			fail_msg("event %zu: want direction %s, got\n  %s", k, w->dir ? w->dir : "none", out);
		k++;
	}
	assert_int_equal(k, sizeof(chat_events) / sizeof(chat_events[0]));
}

/* Every piece cut at every offset: the same WebSocket events. */
static void test_split_every_offset(void **state)
{
	struct recorder whole, split;
	struct script s;
	char label[64];
	int runs = 0;

	(void)state;
	chat(&s);
	rec_init(&whole);
	rec_init(&split);
	rec_render(&whole, OUTPUT_JSON);
	rec_render(&split, OUTPUT_JSON);
	run_packets(&whole, &s, (struct split){ 0 });
	check_reference(&whole);
	for (int i = 0; i < s.n; i++) {
		for (size_t at = 1; at < s.p[i].n; at++) {
			snprintf(label, sizeof(label), "piece %d cut at %zu", i, at);
			run_packets(&split, &s, (struct split){ .piece = i, .at = at });
			rec_expect_same(&whole, &split, ws_only, label);
			runs++;
		}
	}
	assert_true(runs > 500);
	run_packets(&split, &s, (struct split){ .step = 1 });
	rec_expect_same(&whole, &split, ws_only, "one byte a segment");
	rec_free(&whole);
	rec_free(&split);
}

/* The byte path decodes as the packet path does, however the bytes come. */
static void test_byte_path(void **state)
{
	struct recorder whole, bytes;
	struct script s;
	char label[64];

	(void)state;
	chat(&s);
	rec_init(&whole);
	rec_init(&bytes);
	run_packets(&whole, &s, (struct split){ 0 });
	run_bytes(&bytes, &s, (struct split){ 0 });
	rec_expect_same(&whole, &bytes, ws_only, "byte path");
	for (int i = 0; i < s.n; i++) {
		for (size_t at = 1; at < s.p[i].n; at += 7) {
			snprintf(label, sizeof(label), "byte path, piece %d cut at %zu", i, at);
			run_bytes(&bytes, &s, (struct split){ .piece = i, .at = at });
			rec_expect_same(&whole, &bytes, ws_only, label);
		}
	}
	run_bytes(&bytes, &s, (struct split){ .step = 1 });
	rec_expect_same(&whole, &bytes, ws_only, "byte path, one byte a call");
	rec_free(&whole);
	rec_free(&bytes);
}

/* A gap the source reports inside a frame's payload: the frame is cut,
 * the boundary stays known, the next frame decodes. */
static void test_byte_path_gap(void **state)
{
	struct wst_flow f = { .id = 7 };
	struct wst_event closed = { .type = WST_EV_TCP_CLOSED, .flow = &f };
	struct recorder r;
	struct ws_layer *l;
	struct script s;
	struct piece *p;
	int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	p = add(&s, WST_S2C);
	frame(p, true, WS_OP_TEXT, "0123456789", 10);
	frame(p, true, WS_OP_TEXT, "next", 4);
	rec_init(&r);
	assert_int_equal(ws_layer_new(&l, NULL, rec_sink(&r)), 0);
	ws_layer_data(l, &f, WST_C2S, 1, (const uint8_t *)pipe_request, sizeof(pipe_request) - 1);
	ws_layer_data(l, &f, WST_S2C, 2, (const uint8_t *)pipe_response, sizeof(pipe_response) - 1);
	ws_layer_data(l, &f, WST_S2C, 3, p->b, 5);          /* header and "012" */
	ws_layer_gap(l, &f, WST_S2C, 4, 4);                 /* "3456" never seen */
	ws_layer_data(l, &f, WST_S2C, 5, p->b + 9, p->n - 9);
	closed.ts_ns = 6;
	closed.u.closed.reason = WST_CLOSE_END;
	ws_layer_end(l, &closed);

	i = rec_find(&r, 0, WST_EV_WS_GAP, WST_S2C);
	assert_true(i >= 0);
	assert_non_null(strstr(r.ev[i].desc, "kind=stream bytes=4"));
	assert_null(strstr(r.ev[i].desc, "boundary-lost"));
	i = rec_find(&r, i, WST_EV_WS_FRAME, WST_S2C);
	assert_true(i >= 0);
	assert_non_null(strstr(r.ev[i].desc, "len=10 kept=3 truncated"));
	i = rec_find(&r, i + 1, WST_EV_WS_FRAME, WST_S2C);
	assert_true(i >= 0);
	assert_non_null(strstr(r.ev[i].desc, "payload=6e657874")); /* "next" */
	assert_int_equal(rec_count(&r, WST_EV_WS_SESSION_END), 1);
	assert_int_equal(rec_count(&r, WST_EV_WS_RESYNC), 0);
	ws_layer_free(l);
	rec_free(&r);
}

/*
 * More connections than decoders are kept made: each message of each
 * connection comes in two halves, the first halves of all connections
 * before any second half, so decoders wait mid-frame while others are
 * kept and parked in turn. Every connection must still decode exactly its
 * own messages, in order.
 */
#define MANY_CONNS (3 * WS_KEPT_DECODERS + 5)
#define MANY_ROUNDS 6

/* The conversation of the test below; frame_events off as with -q. */
static void many_connections(struct recorder *r, bool frame_events, struct ws_stats *stats)
{
	static struct wst_flow f[MANY_CONNS];
	struct wst_event closed = { .type = WST_EV_TCP_CLOSED };
	static const uint8_t mask[4] = { 0x3c, 0x91, 0x07, 0xd4 };
	struct ws_layer *l;
	uint64_t ts = 1;

	memset(f, 0, sizeof(f));
	assert_int_equal(ws_layer_new(&l, NULL, rec_sink(r)), 0);
	ws_layer_frame_events(l, frame_events);
	for (int c = 0; c < MANY_CONNS; c++) {
		f[c].id = (uint64_t)c + 1;
		ws_layer_data(l, &f[c], WST_C2S, ts++, (const uint8_t *)pipe_request,
			      sizeof(pipe_request) - 1);
		ws_layer_data(l, &f[c], WST_S2C, ts++, (const uint8_t *)pipe_response,
			      sizeof(pipe_response) - 1);
	}
	for (int m = 0; m < MANY_ROUNDS; m++) {
		uint8_t fr[MANY_CONNS][64];
		size_t n[MANY_CONNS];

		for (int c = 0; c < MANY_CONNS; c++) {
			char text[32];
			int len = snprintf(text, sizeof(text), "m=%d c=%d", m, c);

			n[c] = wsgen_frame(fr[c], true, WS_OP_TEXT, text, (size_t)len, mask);
			/* every third connection sends its message whole */
			ws_layer_data(l, &f[c], WST_C2S, ts++, fr[c], c % 3 ? 5 : n[c]);
		}
		for (int c = 0; c < MANY_CONNS; c++)
			if (c % 3)
				ws_layer_data(l, &f[c], WST_C2S, ts++, fr[c] + 5, n[c] - 5);
	}
	for (int c = 0; c < MANY_CONNS; c++) {
		closed.flow = &f[c];
		closed.ts_ns = ts++;
		closed.u.closed.reason = WST_CLOSE_FIN;
		ws_layer_end(l, &closed);
	}
	*stats = *ws_layer_stats(l);
	assert_int_equal(stats->active, 0);
	ws_layer_free(l);
}

static void test_more_connections_than_kept_decoders(void **state)
{
	int next[MANY_CONNS] = { 0 };
	struct ws_stats with, without;
	struct recorder r, quiet;

	(void)state;
	rec_init(&r);
	many_connections(&r, true, &with);
	for (int i = 0; i < r.n; i++) {
		char text[32], hex[80];
		int c = (int)r.ev[i].flow_id - 1, len;

		assert_int_not_equal(r.ev[i].type, WST_EV_WS_VIOLATION);
		if (r.ev[i].type != WST_EV_WS_MESSAGE)
			continue;
		assert_true(c >= 0 && c < MANY_CONNS && next[c] < MANY_ROUNDS);
		len = snprintf(text, sizeof(text), "m=%d c=%d", next[c]++, c);
		for (int k = 0; k < len; k++)
			snprintf(hex + 2 * k, 3, "%02x", (uint8_t)text[k]);
		if (!strstr(r.ev[i].desc, hex))
			fail_msg("flow %d: %s, want the text %s", c + 1, r.ev[i].desc, text);
	}
	for (int c = 0; c < MANY_CONNS; c++)
		assert_int_equal(next[c], MANY_ROUNDS);
	assert_int_equal(with.messages[WST_C2S], MANY_CONNS * MANY_ROUNDS);
	/* Nothing reads frame events (-q): whole messages only counted, the
	 * same counts, and each session's end says the same numbers. */
	rec_init(&quiet);
	many_connections(&quiet, false, &without);
	assert_int_equal(rec_count(&quiet, WST_EV_WS_MESSAGE), 0);
	assert_memory_equal(with.frames, without.frames, sizeof(with.frames));
	assert_memory_equal(with.messages, without.messages, sizeof(with.messages));
	assert_memory_equal(with.bytes, without.bytes, sizeof(with.bytes));
	assert_int_equal(rec_count(&quiet, WST_EV_WS_SESSION_END), MANY_CONNS);
	for (int i = 0, j = 0; i < r.n; i++) {
		if (r.ev[i].type != WST_EV_WS_SESSION_END)
			continue;
		j = rec_find(&quiet, j, WST_EV_WS_SESSION_END, -1);
		assert_true(j >= 0);
		assert_string_equal(r.ev[i].desc, quiet.ev[j].desc);
		j++;
	}
	rec_free(&quiet);
	rec_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_every_offset),
		cmocka_unit_test(test_byte_path),
		cmocka_unit_test(test_byte_path_gap),
		cmocka_unit_test(test_more_connections_than_kept_decoders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
