// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Correlator tests: messages as the WebSocket layer reports them, on a few
 * connections, and the fan-out and reply events that come out: windows,
 * one delivery per connection, the oldest window first, bounds, value
 * normalisation (escapes, surrogate pairs, numbers), what is ignored, and
 * the memory given back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tracking/flow.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_message.h"
#include "session/correlate.h"

#define MS 1000000ull
#define T0 (1700000000ull * 1000000000ull)

/* What one emitted event said, copied: the event lives during the call. */
struct seen {
	enum wst_event_type type;
	uint64_t ts, flow_id;
	char value[64];
	bool number, early;
	uint64_t recipients, untracked, missed, lat_min, lat_p50, lat_max, latency;
	size_t n_latency;
};

struct fx {
	struct corr *c;
	struct wst_flow flow[8];
	struct seen ev[32];
	int n;
};

static void record(void *ctx, const struct wst_event *ev)
{
	struct fx *f = ctx;
	struct seen *s;

	assert_true(f->n < 32);
	s = &f->ev[f->n++];
	memset(s, 0, sizeof(*s));
	s->type = ev->type;
	s->ts = ev->ts_ns;
	s->flow_id = ev->flow->id;
	if (ev->type == WST_EV_WS_FANOUT) {
		const struct wst_fanout *o = ev->u.fanout;

		assert_true(o->value_len < sizeof(s->value));
		memcpy(s->value, o->value, o->value_len);
		assert_int_equal(o->value_hash, corr_value_hash(o->value, o->value_len, o->number));
		s->number = o->number;
		s->early = o->early;
		s->recipients = o->recipients;
		s->untracked = o->untracked;
		s->missed = o->missed;
		s->lat_min = o->latency_min_us;
		s->lat_p50 = o->latency_p50_us;
		s->lat_max = o->latency_max_us;
		s->n_latency = o->n_latency;
	} else {
		const struct wst_reply *r = ev->u.reply;

		assert_true(r->value_len < sizeof(s->value));
		memcpy(s->value, r->value, r->value_len);
		s->number = r->number;
		s->early = r->early;
		s->latency = r->latency_us;
	}
}

static struct fx *fx_new(const char *fanout, const char *reply, uint32_t max_open, uint32_t max_del)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *fk[1] = { fanout }, *rk[1] = { reply };
	struct corr_opts o = {
		.fanout_keys = fk, .n_fanout_keys = fanout ? 1 : 0,
		.reply_keys = rk, .n_reply_keys = reply ? 1 : 0,
		.window_ns = 1000 * MS, .max_open = max_open, .max_deliveries = max_del,
	};

	assert_non_null(f);
	for (int i = 0; i < 8; i++) {
		f->flow[i].id = (uint64_t)i + 1;
		f->flow[i].key.family = 4;
		f->flow[i].key.cport = (uint16_t)(40000 + i);
		f->flow[i].key.sport = 7272;
	}
	assert_int_equal(corr_new(&f->c, &o, (struct wst_sink){ .on_event = record, .ctx = f }), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	corr_free(f->c);
	free(f);
}

static void session(struct fx *f, int conn, enum wst_event_type type, uint64_t ts)
{
	struct wst_event ev = { .type = type, .ts_ns = ts, .flow = &f->flow[conn], .dir = WST_C2S };

	corr_event(f->c, &ev);
}

static void msg_op(struct fx *f, int conn, enum wst_flow_dir dir, uint64_t ts, const char *text,
		   uint8_t opcode, bool truncated)
{
	struct ws_message_info m = {
		.opcode = opcode, .data = (const uint8_t *)text, .kept = strlen(text),
		.total_len = strlen(text), .frames = 1, .truncated = truncated, .utf8_valid = true,
	};
	struct wst_event ev = { .type = WST_EV_WS_MESSAGE, .ts_ns = ts, .flow = &f->flow[conn], .dir = dir };

	ev.u.message = &m;
	corr_event(f->c, &ev);
}

static void msg(struct fx *f, int conn, enum wst_flow_dir dir, uint64_t ts, const char *text)
{
	msg_op(f, conn, dir, ts, text, WS_OP_TEXT, false);
}

/* workerman-chat: the client's UTF-8, the server's \u escape, to the room. */
static void test_fanout_room(void **state)
{
	struct fx *f = fx_new("content", NULL, 0, 0);
	const char *say = "{\"type\":\"say\",\"to_client_id\":\"all\",\"content\":\"hi, all \xef\xbc\x81\"}";
	const char *out = "{\"type\":\"say\",\"from_client_id\":\"7f00\",\"content\":\"hi, all \\uff01\","
			  "\"time\":\"2026-11-30 19:00:00\"}";

	(void)state;
	for (int i = 0; i < 5; i++)
		session(f, i, WST_EV_WS_ESTABLISHED, T0);
	msg(f, 0, WST_C2S, T0 + 10 * MS, say);
	msg(f, 2, WST_S2C, T0 + 12 * MS, out);
	msg(f, 0, WST_S2C, T0 + 11 * MS, out);
	msg(f, 1, WST_S2C, T0 + 16 * MS, out);
	msg(f, 1, WST_S2C, T0 + 17 * MS, out); /* the same connection again: one delivery */
	assert_int_equal(f->n, 0);
	assert_int_equal(corr_open_windows(f->c), 1);
	corr_tick(f->c, T0 + 1010 * MS); /* the window's last instant: still open */
	assert_int_equal(f->n, 0);
	corr_tick(f->c, T0 + 1011 * MS);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->ev[0].type, WST_EV_WS_FANOUT);
	assert_int_equal(f->ev[0].flow_id, 1);
	assert_string_equal(f->ev[0].value, "hi, all \xef\xbc\x81");
	assert_false(f->ev[0].number);
	assert_int_equal(f->ev[0].recipients, 3);
	assert_int_equal(f->ev[0].n_latency, 3);
	assert_int_equal(f->ev[0].lat_min, 1000);
	assert_int_equal(f->ev[0].lat_p50, 2000);
	assert_int_equal(f->ev[0].lat_max, 6000);
	assert_int_equal(f->ev[0].missed, 2); /* connections 4 and 5 */
	assert_int_equal(f->ev[0].ts, T0 + 1010 * MS);
	assert_int_equal(corr_open_windows(f->c), 0);
	fx_free(f);
}

/* Two messages with one value: each connection's first copy answers the
 * older, its second the newer. A closed session is not missed. */
static void test_fanout_same_value_twice(void **state)
{
	struct fx *f = fx_new("content", NULL, 0, 0);

	(void)state;
	for (int i = 0; i < 3; i++)
		session(f, i, WST_EV_WS_ESTABLISHED, T0);
	msg(f, 0, WST_C2S, T0, "{\"content\":\"hi\"}");
	msg(f, 1, WST_C2S, T0 + 100 * MS, "{\"content\":\"hi\"}");
	msg(f, 1, WST_S2C, T0 + 101 * MS, "{\"content\":\"hi\"}");
	msg(f, 1, WST_S2C, T0 + 102 * MS, "{\"content\":\"hi\"}");
	msg(f, 2, WST_S2C, T0 + 103 * MS, "{\"content\":\"hi\"}");
	session(f, 2, WST_EV_WS_SESSION_END, T0 + 200 * MS);
	corr_tick(f->c, T0 + 5000 * MS);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->ev[0].flow_id, 1);
	assert_int_equal(f->ev[0].recipients, 2);
	assert_int_equal(f->ev[0].lat_min, 101000);
	assert_int_equal(f->ev[0].missed, 1); /* connection 1: open, never got it */
	assert_int_equal(f->ev[1].flow_id, 2);
	assert_int_equal(f->ev[1].recipients, 1);
	assert_int_equal(f->ev[1].lat_min, 2000);
	fx_free(f);
}

static void test_fanout_nobody(void **state)
{
	struct fx *f = fx_new("content", NULL, 0, 0);

	(void)state;
	session(f, 0, WST_EV_WS_ESTABLISHED, T0);
	msg(f, 0, WST_C2S, T0, "{\"type\":\"say\",\"to_client_id\":\"nobody\",\"content\":\"psst\"}");
	msg(f, 0, WST_S2C, T0 + 1 * MS, "{\"content\":\"psst!\"}"); /* another value */
	msg(f, 0, WST_S2C, T0 + 2 * MS, "{\"Content\":\"psst\"}");  /* another key */
	corr_flush(f->c, 0);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->ev[0].recipients, 0);
	assert_int_equal(f->ev[0].n_latency, 0);
	assert_int_equal(f->ev[0].missed, 1);
	/* At the time of the last event seen, before the window's end. */
	assert_int_equal(f->ev[0].ts, T0 + 2 * MS);
	fx_free(f);
}

/* JSON-RPC: answered out of order, one never; only on its own connection. */
static void test_reply(void **state)
{
	struct fx *f = fx_new(NULL, "id", 0, 0);

	(void)state;
	msg(f, 0, WST_C2S, T0, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}");
	msg(f, 0, WST_C2S, T0 + 1 * MS, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"b\"}");
	msg(f, 0, WST_C2S, T0 + 2 * MS, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"c\"}");
	msg(f, 1, WST_S2C, T0 + 3 * MS, "{\"id\":2,\"result\":0}"); /* another connection */
	msg(f, 0, WST_S2C, T0 + 5 * MS, "{\"id\":\"2\",\"result\":0}"); /* a string */
	msg(f, 0, WST_S2C, T0 + 6 * MS, "{\"id\":2.0,\"result\":0}");   /* written otherwise */
	assert_int_equal(f->n, 0);
	msg(f, 0, WST_S2C, T0 + 31 * MS, "{\"id\":2,\"result\":0}");
	msg(f, 0, WST_S2C, T0 + 50 * MS, "{\"result\":0,\"id\":1}");
	msg(f, 0, WST_S2C, T0 + 60 * MS, "{\"result\":0,\"id\":1}"); /* answered already */
	assert_int_equal(f->n, 2);
	assert_int_equal(f->ev[0].type, WST_EV_WS_REPLY);
	assert_string_equal(f->ev[0].value, "2");
	assert_true(f->ev[0].number);
	assert_int_equal(f->ev[0].latency, 30000);
	assert_int_equal(f->ev[1].type, WST_EV_WS_REPLY);
	assert_string_equal(f->ev[1].value, "1");
	assert_int_equal(f->ev[1].latency, 50000);
	corr_tick(f->c, T0 + 2000 * MS);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->ev[2].type, WST_EV_WS_REPLY_TIMEOUT);
	assert_string_equal(f->ev[2].value, "3");
	assert_int_equal(f->ev[2].latency, 1000000);
	assert_int_equal(corr_open_windows(f->c), 0);
	fx_free(f);
}

static int ext(const char *m, uint8_t *out, size_t *len, bool *number)
{
	return corr_extract((const uint8_t *)m, strlen(m), "k", out, len, number);
}

/* \ud83d\ude00 is U+1F600; a lone surrogate is U+FFFD; \/ is /. */
static void test_normalise(void **state)
{
	uint8_t out[CORR_MAX_VALUE];
	size_t len;
	bool number;

	(void)state;
	assert_int_equal(ext("{\"k\":\"\\ud83d\\ude00 a\\/b\"}", out, &len, &number), 1);
	assert_int_equal(len, 8);
	assert_memory_equal(out, "\xf0\x9f\x98\x80 a/b", 8);
	assert_false(number);
	assert_int_equal(ext("{\"k\":\"\\ud83d\"}", out, &len, &number), 1);
	assert_memory_equal(out, "\xef\xbf\xbd", 3);
	assert_int_equal(ext("{\"k\":-1.5e3}", out, &len, &number), 1);
	assert_true(number);
	assert_int_equal(len, 6);
	assert_memory_equal(out, "-1.5e3", 6);
	/* Not scalars, not objects, not JSON: no value. */
	assert_int_equal(ext("{\"k\":[1]}", out, &len, &number), 0);
	assert_int_equal(ext("{\"k\":null}", out, &len, &number), 0);
	assert_int_equal(ext("[\"k\"]", out, &len, &number), 0);
	assert_int_equal(ext("{\"k\":\"a\"", out, &len, &number), 0);
	assert_int_equal(ext("{\"x\":{\"k\":1}}", out, &len, &number), 0);
	/* A string and a number with the same text are different values. */
	assert_true(corr_value_hash((const uint8_t *)"1", 1, true) !=
		    corr_value_hash((const uint8_t *)"1", 1, false));
}

static void test_value_too_long(void **state)
{
	struct fx *f = fx_new("content", NULL, 0, 0);
	char *m = malloc(CORR_MAX_VALUE + 32);

	(void)state;
	assert_non_null(m);
	strcpy(m, "{\"content\":\"");
	memset(m + 12, 'a', CORR_MAX_VALUE);
	strcpy(m + 12 + CORR_MAX_VALUE, "\"}");
	msg(f, 0, WST_C2S, T0, m);
	assert_int_equal(corr_open_windows(f->c), 0);
	m[12 + CORR_MAX_VALUE - 1] = '"'; /* 1023 bytes: followed */
	strcpy(m + 12 + CORR_MAX_VALUE, "}");
	msg(f, 0, WST_C2S, T0, m);
	assert_int_equal(corr_open_windows(f->c), 1);
	free(m);
	fx_free(f);
}

/* Binary, cut, and compressed-but-not-inflated messages are not followed. */
static void test_ignored(void **state)
{
	struct fx *f = fx_new("content", NULL, 0, 0);
	struct ws_message_info m = {
		.opcode = WS_OP_TEXT, .data = (const uint8_t *)"{\"content\":\"x\"}", .kept = 15,
		.compressed = true, .inflated = false,
	};
	struct wst_event ev = { .type = WST_EV_WS_MESSAGE, .ts_ns = T0, .flow = &f->flow[0], .dir = WST_C2S };

	(void)state;
	msg_op(f, 0, WST_C2S, T0, "{\"content\":\"x\"}", WS_OP_BINARY, false);
	msg_op(f, 0, WST_C2S, T0, "{\"content\":\"x\"}", WS_OP_TEXT, true);
	ev.u.message = &m;
	corr_event(f->c, &ev);
	assert_int_equal(corr_open_windows(f->c), 0);
	m.inflated = true;
	corr_event(f->c, &ev);
	assert_int_equal(corr_open_windows(f->c), 1);
	fx_free(f);
}

/* At most 2 windows: the oldest closes early, said so. At most 2 tracked
 * deliveries: the third is counted. */
static void test_bounds(void **state)
{
	struct fx *f = fx_new("content", NULL, 2, 2);
	size_t base = corr_bytes(f->c);

	(void)state;
	msg(f, 0, WST_C2S, T0, "{\"content\":\"a\"}");
	msg(f, 0, WST_C2S, T0 + 1 * MS, "{\"content\":\"b\"}");
	for (int i = 0; i < 3; i++)
		msg(f, i, WST_S2C, T0 + 2 * MS, "{\"content\":\"b\"}");
	assert_int_equal(f->n, 0);
	msg(f, 0, WST_C2S, T0 + 3 * MS, "{\"content\":\"c\"}");
	assert_int_equal(f->n, 1);
	assert_string_equal(f->ev[0].value, "a");
	assert_true(f->ev[0].early);
	assert_int_equal(f->ev[0].ts, T0 + 3 * MS);
	assert_true(corr_bytes(f->c) > base);
	corr_flush(f->c, T0 + 4 * MS);
	assert_int_equal(f->n, 3);
	assert_string_equal(f->ev[1].value, "b");
	assert_false(f->ev[1].early);
	assert_int_equal(f->ev[1].recipients, 3);
	assert_int_equal(f->ev[1].untracked, 1);
	assert_int_equal(f->ev[1].n_latency, 2);
	assert_string_equal(f->ev[2].value, "c");
	/* Every window's bytes given back (the sessions' are kept). */
	assert_int_equal(corr_open_windows(f->c), 0);
	for (int i = 0; i < 3; i++)
		session(f, i, WST_EV_WS_SESSION_END, T0 + 5 * MS);
	assert_int_equal(corr_bytes(f->c), base);
	fx_free(f);
}

/* Deliveries out of connection order still land once each. */
static void test_recipients_any_order(void **state)
{
	struct fx *f = fx_new("content", NULL, 0, 0);
	static const int order[] = { 5, 1, 7, 3, 0, 6, 2, 4, 3, 5, 0 };

	(void)state;
	msg(f, 0, WST_C2S, T0, "{\"content\":\"x\"}");
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		msg(f, order[i], WST_S2C, T0 + (i + 1) * MS, "{\"content\":\"x\"}");
	corr_flush(f->c, 0);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->ev[0].recipients, 8);
	assert_int_equal(f->ev[0].lat_max, 8000);
	fx_free(f);
}

static void test_bad_options(void **state)
{
	struct corr *c = NULL;
	const char *empty[1] = { "" };
	struct corr_opts none = { 0 };
	struct corr_opts bad = { .fanout_keys = empty, .n_fanout_keys = 1 };

	(void)state;
	assert_int_equal(corr_new(&c, &none, (struct wst_sink){ .on_event = record }), -EINVAL);
	assert_int_equal(corr_new(&c, &bad, (struct wst_sink){ .on_event = record }), -EINVAL);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fanout_room),
		cmocka_unit_test(test_fanout_same_value_twice),
		cmocka_unit_test(test_fanout_nobody),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_value_too_long),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_recipients_any_order),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
