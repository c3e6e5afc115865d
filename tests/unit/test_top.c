// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --top's model and formatting: sessions through the real tracker and
 * WebSocket layer into the view and the exporter side by side, the header
 * read back from the exporter's registry, rates, quantiles, sorting,
 * filtering, the linger of ended sessions, and every line of the screen at
 * 80x24 (and smaller and larger).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/ports.h"
#include "tracking/flow.h"
#include "tracking/tcp_track.h"
#include "protocol/ws_frame.h"
#include "session/correlate.h"
#include "session/ws_session.h"
#include "sinks/exporter.h"
#include "sinks/top.h"
#include "pipeline.h"

#define SEC 1000000000ull

struct fixture {
	struct pipeline p;        /* the tracker and layer; its own connection unused */
	struct exporter *e;
	struct top *top;
	struct conn {
		uint16_t cport;
		uint32_t seq[2];
	} c[3];
	const struct wst_attrib *attrib; /* given to every event, as a live capture does */
	char screen[40][TOP_MAX_WIDTH + 1];
	enum top_attr attr[40];
	int lines, max_y;
};

static void both(void *ctx, const struct wst_event *ev)
{
	struct fixture *fx = ctx;
	struct wst_event copy;

	if (fx->attrib) {
		copy = *ev;
		copy.attrib = fx->attrib;
		ev = &copy;
	}
	exporter_event(fx->e, ev);
	top_event(fx->top, ev);
}

static int setup_with(void **state, uint32_t max_rows)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct exporter_opts eo = { .json_key = "type", .no_kernel = true };
	struct top_opts to = { .json_key = "type", .max_rows = max_rows };

	assert_non_null(fx);
	assert_int_equal(exporter_new(&fx->e, &eo), 0);
	assert_int_equal(top_new(&fx->top, &to, exporter_metrics(fx->e)), 0);
	pipe_init(&fx->p, (struct wst_sink){ both, fx }, NULL, NULL);
	for (int i = 0; i < 3; i++) {
		fx->c[i].cport = (uint16_t)(40001 + i);
		fx->c[i].seq[WST_C2S] = 1000;
		fx->c[i].seq[WST_S2C] = 5000;
	}
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 0);
}

static int setup_small(void **state)
{
	return setup_with(state, 2);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	tcp_tracker_finish(fx->p.t, fx->p.now); /* the sessions still open end */
	pipe_free(&fx->p);
	top_free(fx->top);
	exporter_free(fx->e);
	free(fx);
	return 0;
}

/* A packet of connection i, at its next sequence number. */
static void pkt(struct fixture *fx, int i, enum wst_flow_dir dir, uint8_t flags, const void *payload, uint32_t len)
{
	struct conn *c = &fx->c[i];
	struct wst_packet pk;
	uint32_t seq = c->seq[dir];

	c->seq[dir] += len + ((flags & (WST_TCP_SYN | WST_TCP_FIN)) ? 1 : 0);
	fx->p.now += PIPE_STEP_NS;
	pipe_fill(&pk, dir, c->cport, flags, seq, c->seq[!dir], payload, len, fx->p.now);
	tcp_tracker_packet(fx->p.t, &pk);
}

static void frame(struct fixture *fx, int i, enum wst_flow_dir dir, uint8_t opcode, const char *payload)
{
	uint8_t f[2 + 4 + 125];

	pkt(fx, i, dir, WST_TCP_PSH | WST_TCP_ACK, f, pipe_frame_bytes(f, dir, opcode, payload, strlen(payload)));
}

static void upgrade_with(struct fixture *fx, int i, const char *request)
{
	pkt(fx, i, WST_C2S, WST_TCP_SYN, NULL, 0);
	pkt(fx, i, WST_S2C, WST_TCP_SYN | WST_TCP_ACK, NULL, 0);
	pkt(fx, i, WST_C2S, WST_TCP_ACK, NULL, 0);
	pkt(fx, i, WST_C2S, WST_TCP_PSH | WST_TCP_ACK, request, (uint32_t)strlen(request));
	pkt(fx, i, WST_S2C, WST_TCP_PSH | WST_TCP_ACK, pipe_response, sizeof(pipe_response) - 1);
}

static void upgrade(struct fixture *fx, int i)
{
	upgrade_with(fx, i, pipe_request);
}

/* The close handshake (1000 from the client) and both FINs. */
static void close_normal(struct fixture *fx, int i)
{
	frame(fx, i, WST_C2S, WS_OP_CLOSE, "\x03\xe8" "bye");
	frame(fx, i, WST_S2C, WS_OP_CLOSE, "\x03\xe8");
	pkt(fx, i, WST_S2C, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pkt(fx, i, WST_C2S, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pkt(fx, i, WST_S2C, WST_TCP_ACK, NULL, 0);
}

static void refresh(struct fixture *fx, uint64_t now)
{
	struct exporter_sources src = {
		.tcp = tcp_tracker_stats(fx->p.t),
		.tcp_active = tcp_tracker_active(fx->p.t),
		.ws = ws_layer_stats(fx->p.ws),
	};

	exporter_update(fx->e, &src);
	top_refresh(fx->top, now);
}

static const struct top_row *row_of(struct fixture *fx, uint16_t cport)
{
	char want[32];
	size_t n;
	const struct top_row *rows = top_rows(fx->top, &n);

	snprintf(want, sizeof(want), "10.0.0.1:%u", cport);
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].client, want) == 0)
			return &rows[i];
	return NULL;
}

static void collect(void *ctx, int y, const char *text, enum top_attr attr)
{
	struct fixture *fx = ctx;

	assert_true(y >= 0 && y < 40);
	snprintf(fx->screen[y], sizeof(fx->screen[y]), "%s", text);
	fx->attr[y] = attr;
	fx->lines++;
	if (y > fx->max_y)
		fx->max_y = y;
}

static void render(struct fixture *fx, const struct top_view *v, int w, int h, uint64_t now)
{
	memset(fx->screen, 0, sizeof(fx->screen));
	fx->lines = fx->max_y = 0;
	top_render(fx->top, v, w, h, now, collect, fx);
	assert_true(fx->lines <= h);
	assert_true(fx->max_y < h);
	for (int y = 0; y < h && y < 40; y++)
		assert_true((int)strlen(fx->screen[y]) <= w);
}

/* A screen line holding s, or -1. */
static int find_line(struct fixture *fx, const char *s)
{
	for (int y = 0; y < 40; y++)
		if (strstr(fx->screen[y], s))
			return y;
	return -1;
}

static void test_formats(void **state)
{
	char b[32];

	(void)state;
	top_fmt_count(b, sizeof(b), 99999);
	assert_string_equal(b, "99999");
	top_fmt_count(b, sizeof(b), 123456);
	assert_string_equal(b, "123K");
	top_fmt_count(b, sizeof(b), 12345678);
	assert_string_equal(b, "12M");
	top_fmt_bytes(b, sizeof(b), 100000);
	assert_string_equal(b, "97K");
	top_fmt_bytes(b, sizeof(b), 5ull << 30);
	assert_string_equal(b, "5120M");
	top_fmt_rate(b, sizeof(b), 12.34);
	assert_string_equal(b, "12.3");
	top_fmt_rate(b, sizeof(b), 1234.4);
	assert_string_equal(b, "1234");
	top_fmt_rate(b, sizeof(b), -1);
	assert_string_equal(b, "0.0");
	top_fmt_us(b, sizeof(b), -1);
	assert_string_equal(b, "-");
	top_fmt_us(b, sizeof(b), 250);
	assert_string_equal(b, "250us");
	top_fmt_us(b, sizeof(b), 4500);
	assert_string_equal(b, "4.5ms");
	top_fmt_us(b, sizeof(b), 120000);
	assert_string_equal(b, "120ms");
	top_fmt_us(b, sizeof(b), 2500000);
	assert_string_equal(b, "2.5s");
	top_fmt_age(b, sizeof(b), 42 * SEC);
	assert_string_equal(b, "0:42");
	top_fmt_age(b, sizeof(b), 3599 * SEC);
	assert_string_equal(b, "59:59");
	top_fmt_age(b, sizeof(b), (3600 + 120) * SEC);
	assert_string_equal(b, "1h02");
	top_fmt_age(b, sizeof(b), (3 * 86400 + 4 * 3600) * SEC);
	assert_string_equal(b, "3d04");
	/* Every number column is 5 wide at most, whatever the value. */
	top_fmt_count(b, sizeof(b), UINT64_MAX);
	assert_true(strlen(b) <= 20);
	top_fmt_bytes(b, sizeof(b), 99999ull << 20);
	assert_true(strlen(b) <= 5);
}

static void test_rate_and_quantile(void **state)
{
	static const double bounds[] = { 0.001, 0.01, 0.1 };
	uint64_t counts[4] = { 0, 10, 0, 0 };

	(void)state;
	assert_true(top_rate(30, 10, 2 * SEC) == 10.0);
	assert_true(top_rate(30, 10, 0) == 0.0);
	assert_true(top_rate(5, 10, SEC) == 0.0); /* a counter that went down */
	assert_true(top_quantile(bounds, (uint64_t[4]){ 0 }, 3, 0.5) < 0);
	/* All in (0.001, 0.01]: the median halfway, as histogram_quantile. */
	assert_true(top_quantile(bounds, counts, 3, 0.5) > 0.0054 && top_quantile(bounds, counts, 3, 0.5) < 0.0056);
	counts[3] = 90; /* most above every bound: the highest bound */
	assert_true(top_quantile(bounds, counts, 3, 0.99) == 0.1);
}

static struct top_row make_row(const char *client, uint64_t id, double rate, uint64_t bytes, uint64_t start,
			       int64_t rtt)
{
	struct top_row r = { .flow_id = id, .sport = 7272, .start_ns = start, .rate = rate, .rtt_us = rtt };

	snprintf(r.client, sizeof(r.client), "%s", client);
	r.c.bytes[0] = bytes;
	return r;
}

static void test_row_80_columns(void **state)
{
	char line[TOP_MAX_WIDTH + 1], head[TOP_MAX_WIDTH + 1];
	struct top_row r = make_row("127.0.0.1:45678", 1, 2.5, 123456, 100 * SEC, 1234);

	(void)state;
	r.c.messages[0] = 120;
	r.c.messages[1] = 118;
	r.c.bytes[1] = 4567;
	snprintf(r.key, sizeof(r.key), "say-something-long");
	/* No process known: the server's port in its cell. */
	top_format_row(line, sizeof(line), &r, 80, 162 * SEC);
	assert_string_equal(line, "  127.0.0.1:45678   :7272       1:02   120   118  120K  4567   2.5 1.2ms say-som");
	assert_int_equal(strlen(line), 80);
	top_format_heading(head, sizeof(head), 80);
	assert_string_equal(head, "  CLIENT            SERVER       AGE   C>S   S>C B:C>S B:S>C MSG/S   RTT KEY");
	/* Columns line up: the heading's C>S ends where the count does. */
	assert_int_equal(strstr(head, "C>S") - head + 3, strstr(line, "120 ") - line + 3);
	assert_int_equal(strstr(head, "SERVER") - head, strstr(line, ":7272") - line);

	/* Marks, and an ended session in place of rate, RTT and key. */
	r.violations = 1;
	r.ended = true;
	r.end_ns = 130 * SEC;
	snprintf(r.how, sizeof(r.how), "abnormal 1006");
	top_format_row(line, sizeof(line), &r, 80, 500 * SEC);
	assert_string_equal(line, "! 127.0.0.1:45678   :7272       0:30   120   118  120K  4567 ended abnormal 1006");
	r.violations = 0;
	r.gaps = 2;
	top_format_row(line, sizeof(line), &r, 80, 500 * SEC);
	assert_int_equal(line[0], '~');

	/* A long endpoint is cut from the left: its port stays. */
	r = make_row("198.51.100.1:45678", 3, 0, 0, 0, -1);
	top_format_row(line, sizeof(line), &r, 80, SEC);
	assert_non_null(strstr(line, "  ...51.100.1:45678 :7272 "));
	r = make_row("[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:45678", 2, 0, 0, 0, -1);
	top_format_row(line, sizeof(line), &r, 80, SEC);
	assert_true(strlen(line) <= 80);
	assert_non_null(strstr(line, "  ..eee:ffff]:45678 "));
	/* Wider: the whole endpoint, and more of the key. */
	top_format_row(line, sizeof(line), &r, 160, SEC);
	assert_non_null(strstr(line, "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:45678"));
	/* Narrower than 80 still fits. */
	for (int w = 1; w < 80; w++) {
		top_format_row(line, sizeof(line), &r, w, SEC);
		assert_true((int)strlen(line) <= w);
		top_format_heading(line, sizeof(line), w);
		assert_true((int)strlen(line) <= w);
	}
}

static void set_owner(struct top_row *r, uint32_t pid, const char *comm, const char *container, const char *cgroup)
{
	r->pid = pid;
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
	snprintf(r->container, sizeof(r->container), "%s", container);
	snprintf(r->cgroup, sizeof(r->cgroup), "%s", cgroup);
}

/* Who the session is: the server's pid/comm in its column, the forwarded
 * client after a '>'; at 80 names and ids are cut to fit, wider screens
 * show them whole with the port, the container and the cgroup. */
static void test_row_owner(void **state)
{
	static const char cg[] = "/system.slice/docker-0123456789abcdef0123456789abcdef"
				 "0123456789abcdef0123456789abcdef.scope";
	char line[TOP_MAX_WIDTH + 1], head[TOP_MAX_WIDTH + 1];
	struct top_row r = make_row("127.0.0.1:45678", 1, 2.5, 300, 100 * SEC, 1234);

	(void)state;
	r.c.messages[0] = 3;
	r.c.messages[1] = 4;
	r.c.bytes[1] = 80;
	snprintf(r.key, sizeof(r.key), "say");
	set_owner(&r, 4242, "node", "", "/user.slice/chat.service");
	top_format_row(line, sizeof(line), &r, 80, 162 * SEC);
	assert_string_equal(line, "  127.0.0.1:45678   4242/node   1:02     3     4   300    80   2.5 1.2ms say");

	/* A proxy header's client, marked; the peer (the proxy) left out. */
	snprintf(r.fwd, sizeof(r.fwd), "203.0.113.77");
	top_format_row(line, sizeof(line), &r, 80, 162 * SEC);
	assert_string_equal(line, "  >203.0.113.77     4242/node   1:02     3     4   300    80   2.5 1.2ms say");
	/* A long one is cut from the left, the mark kept. */
	snprintf(r.fwd, sizeof(r.fwd), "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
	top_format_row(line, sizeof(line), &r, 80, 162 * SEC);
	assert_non_null(strstr(line, "  >..dddd:eeee:ffff 4242/node "));

	/* A long name and a 7-digit pid at 80: the pid whole, the name cut,
	 * the line still 80. */
	r.fwd[0] = '\0';
	set_owner(&r, 4194303, "averyverylongcm", "0123456789ab", cg);
	r.ended = true;
	r.end_ns = 130 * SEC;
	snprintf(r.how, sizeof(r.how), "abnormal 1006");
	top_format_row(line, sizeof(line), &r, 80, 500 * SEC);
	assert_string_equal(line, "  127.0.0.1:45678   4194303/av  0:30     3     4   300    80 ended abnormal 1006");

	/* Wide: the whole name, the port, the container and the cgroup's
	 * end; the heading over each. */
	r.ended = false;
	top_format_row(line, sizeof(line), &r, 200, 162 * SEC);
	top_format_heading(head, sizeof(head), 200);
	assert_true(strlen(line) <= 200);
	assert_non_null(strstr(line, " 4194303/averyverylongcm "));
	assert_non_null(strstr(line, " 7272 "));
	assert_non_null(strstr(line, " 0123456789ab "));
	assert_non_null(strstr(line, "cdef.scope"));
	assert_int_equal(strstr(head, "PORT") - head + 4, strstr(line, " 7272 ") - line + 5);
	assert_int_equal(strstr(head, "CONTAINER") - head, strstr(line, "0123456789ab") - line);
	assert_int_equal(strstr(head, "CGROUP") - head, strstr(line, "..") - line);
	/* An ended row's end stays in its place: the container follows. */
	r.ended = true;
	top_format_row(line, sizeof(line), &r, 200, 500 * SEC);
	assert_non_null(strstr(line, " ended abnormal 1006 "));
	assert_int_equal(strstr(head, "CONTAINER") - head, strstr(line, "0123456789ab") - line);
	/* Outside a container: a dash. */
	set_owner(&r, 4242, "node", "", "/user.slice/chat.service");
	r.ended = false;
	top_format_row(line, sizeof(line), &r, 200, 162 * SEC);
	assert_int_equal(strstr(head, "CONTAINER") - head, strstr(line, " - ") - line + 1);
	assert_non_null(strstr(line, " /user.slice/chat.service"));

	/* Every width fits, heading and row. */
	set_owner(&r, 4194303, "averyverylongcm", "0123456789ab", cg);
	snprintf(r.fwd, sizeof(r.fwd), "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
	for (int w = 1; w <= TOP_MAX_WIDTH + 10; w++) {
		top_format_row(line, sizeof(line), &r, w, SEC);
		assert_true((int)strlen(line) <= w);
		top_format_heading(head, sizeof(head), w);
		assert_true((int)strlen(head) <= w);
	}
}

static void test_sort_and_filter(void **state)
{
	struct top_row r[4] = {
		make_row("10.0.0.1:1", 1, 5.0, 100, 30 * SEC, 300),
		make_row("10.0.0.2:2", 2, 9.0, 50, 10 * SEC, -1),
		make_row("10.0.0.3:3", 3, 1.0, 900, 20 * SEC, 900),
		make_row("10.0.0.4:4", 4, 0, 5000, 5 * SEC, 5000),
	};
	const struct top_row *p[4];

	(void)state;
	r[3].ended = true;
	r[3].end_ns = 40 * SEC;
	snprintf(r[3].how, sizeof(r[3].how), "close 1000");
	snprintf(r[0].key, sizeof(r[0].key), "login");
#define ORDER(key, rev, a, b, c, d) do { \
		for (int i = 0; i < 4; i++) \
			p[i] = &r[i]; \
		top_sort_rows(p, 4, key, rev); \
		assert_int_equal(p[0]->flow_id, a); \
		assert_int_equal(p[1]->flow_id, b); \
		assert_int_equal(p[2]->flow_id, c); \
		assert_int_equal(p[3]->flow_id, d); \
	} while (0)
	/* Open sessions by the key, the ended one last whatever the key. */
	ORDER(TOP_SORT_RATE, false, 2, 1, 3, 4);
	ORDER(TOP_SORT_RATE, true, 3, 1, 2, 4);
	ORDER(TOP_SORT_BYTES, false, 3, 1, 2, 4);
	ORDER(TOP_SORT_AGE, false, 2, 3, 1, 4);
	ORDER(TOP_SORT_RTT, false, 3, 1, 2, 4);
	/* By the server's name, then pid; unknown servers after. */
	set_owner(&r[0], 30, "python3", "", "");
	set_owner(&r[2], 20, "node", "", "");
	set_owner(&r[1], 10, "python3", "abcdef012345", "/docker/x");
	ORDER(TOP_SORT_SERVER, false, 3, 2, 1, 4);
	r[1].pid = 0;
	ORDER(TOP_SORT_SERVER, false, 3, 1, 2, 4);
	r[1].pid = 10;
#undef ORDER
	assert_string_equal(top_sort_name(TOP_SORT_RTT), "rtt");
	assert_string_equal(top_sort_name(TOP_SORT_SERVER), "server");
	/* The filter finds the server's name, pid, container and cgroup, and
	 * the forwarded client. */
	assert_true(top_row_matches(&r[2], "node"));
	assert_false(top_row_matches(&r[0], "node"));
	assert_true(top_row_matches(&r[0], "python"));
	assert_true(top_row_matches(&r[1], "abcdef"));
	assert_true(top_row_matches(&r[1], "/docker"));
	assert_false(top_row_matches(&r[0], "/docker"));
	assert_false(top_row_matches(&r[3], "python")); /* no server known */
	snprintf(r[3].fwd, sizeof(r[3].fwd), "203.0.113.77");
	assert_true(top_row_matches(&r[3], "203.0.113"));
	assert_true(top_row_matches(&r[0], ""));
	assert_true(top_row_matches(&r[0], "10.0.0.1"));
	assert_true(top_row_matches(&r[0], "7272"));
	assert_true(top_row_matches(&r[0], "logi"));
	assert_false(top_row_matches(&r[1], "logi"));
	assert_true(top_row_matches(&r[3], "ended"));
	assert_true(top_row_matches(&r[3], "close 1000"));
	assert_false(top_row_matches(&r[2], "ended"));
}

/* Sessions through the real layers: counts are the layer's, the key
 * the last text message's, the RTT the pong's; marks; the end. */
static void test_sessions(void **state)
{
	struct fixture *fx = *state;
	struct ws_session_counts c;
	const struct top_row *r;
	uint64_t t0;

	upgrade(fx, 0);
	upgrade(fx, 1);
	frame(fx, 0, WST_C2S, WS_OP_TEXT, "{\"type\":\"login\"}");
	frame(fx, 0, WST_S2C, WS_OP_TEXT, "{\"type\":\"welcome\"}");
	frame(fx, 0, WST_C2S, WS_OP_TEXT, "{\"type\":\"say\",\"text\":\"hi\"}");
	frame(fx, 0, WST_S2C, WS_OP_PING, "p1");
	frame(fx, 0, WST_C2S, WS_OP_PONG, "p1");
	frame(fx, 1, WST_C2S, WS_OP_BINARY, "bin");
	frame(fx, 1, WST_S2C, 0x3, "x"); /* reserved opcode: a violation */

	r = row_of(fx, 40001);
	assert_non_null(r);
	assert_int_equal(r->sport, 7272);
	assert_int_equal(r->c.messages[WST_C2S], 2);
	assert_int_equal(r->c.messages[WST_S2C], 1);
	/* frame payload bytes: 16 + 26 + 2 (pong) c2s; 18 + 2 (ping) s2c */
	assert_int_equal(r->c.bytes[WST_C2S], 44);
	assert_int_equal(r->c.bytes[WST_S2C], 20);
	assert_string_equal(r->key, "say");
	assert_true(r->rtt_us >= 0);
	assert_int_equal(r->violations, 0);
	assert_false(r->ended);
	r = row_of(fx, 40002);
	assert_non_null(r);
	assert_int_equal(r->c.messages[WST_C2S], 1);
	assert_string_equal(r->key, "");
	assert_true(r->violations > 0);
	assert_int_equal(r->rtt_us, -1);

	/* The header: the registry's totals. */
	t0 = fx->p.now;
	refresh(fx, t0);
	assert_int_equal(top_totals(fx->top)->c[TOP_C_MSG_C2S], 3);
	assert_int_equal(top_totals(fx->top)->c[TOP_C_MSG_S2C], 1);
	assert_int_equal(top_totals(fx->top)->c[TOP_C_UPG_OK], 2);
	assert_true(top_totals(fx->top)->sessions == 2);
	assert_true(top_totals(fx->top)->c[TOP_C_VIOLATIONS] > 0);
	assert_false(top_totals(fx->top)->have[TOP_C_RINGBUF_FULL]); /* no kernel families here */
	assert_true(top_totals(fx->top)->p50[TOP_H_RTT] >= 0);
	assert_true(top_totals(fx->top)->p50[TOP_H_UPGRADE] >= 0);

	/* Rates over a refresh: 4 messages in 2 seconds on session 0. */
	for (int k = 0; k < 4; k++)
		frame(fx, 0, WST_C2S, WS_OP_TEXT, "{\"type\":\"say\"}");
	refresh(fx, t0 + 2 * SEC);
	assert_true(row_of(fx, 40001)->rate == 2.0);
	assert_true(row_of(fx, 40002)->rate == 0.0);
	assert_true(top_totals(fx->top)->rate[TOP_C_MSG_C2S] == 2.0);
	assert_false(ws_layer_session_counts(NULL, &c));

	/* Session 0 ends with a close handshake: kept, marked, then gone. */
	close_normal(fx, 0);
	r = row_of(fx, 40001);
	assert_non_null(r);
	assert_true(r->ended);
	assert_string_equal(r->how, "close 1000");
	assert_int_equal(r->c.messages[WST_C2S], 6);
	refresh(fx, t0 + 3 * SEC);
	assert_int_equal(top_totals(fx->top)->n_closes, 1);
	assert_string_equal(top_totals(fx->top)->close_code[0], "1000");
	assert_true(top_totals(fx->top)->sessions == 1);
	refresh(fx, t0 + 3 * SEC + TOP_LINGER_NS - 1);
	assert_non_null(row_of(fx, 40001));
	refresh(fx, t0 + 3 * SEC + TOP_LINGER_NS);
	assert_null(row_of(fx, 40001));
	assert_non_null(row_of(fx, 40002));

	/* A session ended by a reset says so. */
	pkt(fx, 1, WST_C2S, WST_TCP_RST, NULL, 0);
	tcp_tracker_expire(fx->p.t, fx->p.now + 60 * SEC);
	r = row_of(fx, 40002);
	assert_non_null(r);
	assert_true(r->ended);
	assert_string_equal(r->how, "reset 1006");
}

/* Sessions of a live capture: the events' attribution names the server
 * (the container id cut to 12 digits) and the forwarded client; without
 * one, a proxy header in the upgrade request still names the client. */
static void test_sessions_owner(void **state)
{
	static const char container[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct fixture *fx = *state;
	struct wst_proc srv = { .pid = 4242, .comm = "chatd", .cgroup = "/system.slice/docker-x.scope",
				.container = container };
	struct wst_attrib at = { .server = &srv, .forwarded_for = "203.0.113.77" };
	struct top_view v = { .title = "lo port 7272" };
	const struct top_row *r;

	fx->attrib = &at;
	upgrade(fx, 0);
	frame(fx, 0, WST_C2S, WS_OP_TEXT, "{\"type\":\"login\"}");
	r = row_of(fx, 40001);
	assert_non_null(r);
	assert_int_equal(r->pid, 4242);
	assert_string_equal(r->comm, "chatd");
	assert_string_equal(r->container, "0123456789ab");
	assert_string_equal(r->cgroup, "/system.slice/docker-x.scope");
	assert_string_equal(r->fwd, "203.0.113.77");

	/* No attribution (not known, or --no-owners): the handshake's
	 * X-Forwarded-For, and the server's port in its cell. */
	fx->attrib = NULL;
	upgrade_with(fx, 1,
		     "GET / HTTP/1.1\r\nHost: 127.0.0.1:7272\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		     "X-Forwarded-For: 198.51.100.9, 10.1.1.1\r\nSec-WebSocket-Version: 13\r\n\r\n");
	r = row_of(fx, 40002);
	assert_non_null(r);
	assert_int_equal(r->pid, 0);
	assert_string_equal(r->fwd, "198.51.100.9");
	upgrade(fx, 2);
	r = row_of(fx, 40003);
	assert_non_null(r);
	assert_string_equal(r->fwd, "");

	refresh(fx, fx->p.now);
	render(fx, &v, 80, 24, fx->p.now);
	assert_true(find_line(fx, "  >203.0.113.77     4242/chatd ") > 0);
	assert_true(find_line(fx, "  >198.51.100.9     :7272 ") > 0);
	assert_true(find_line(fx, "  10.0.0.1:40003    :7272 ") > 0);
	render(fx, &v, 160, 24, fx->p.now);
	assert_true(find_line(fx, " 4242/chatd ") > 0);
	assert_true(find_line(fx, " 0123456789ab") > 0);
	assert_true(find_line(fx, "CONTAINER") > 0);
	/* The filter by the server's name. */
	snprintf(v.filter, sizeof(v.filter), "chatd");
	render(fx, &v, 80, 24, fx->p.now);
	assert_true(find_line(fx, "4242/chatd") > 0);
	assert_true(find_line(fx, ":7272 ") < 0);

	/* The end keeps who it was. */
	close_normal(fx, 0);
	r = row_of(fx, 40001);
	assert_non_null(r);
	assert_true(r->ended);
	assert_int_equal(r->pid, 4242);
}

/* Quantiles cover about the last minute: since start at first, then the
 * last TOP_WINDOW refreshes. */
static void test_quantile_window(void **state)
{
	struct fixture *fx = *state;
	uint64_t t0;
	int k;

	upgrade(fx, 0);
	frame(fx, 0, WST_S2C, WS_OP_PING, "p1");
	frame(fx, 0, WST_C2S, WS_OP_PONG, "p1");
	t0 = fx->p.now;
	for (k = 1; k <= TOP_WINDOW; k++) {
		refresh(fx, t0 + (uint64_t)k * SEC);
		assert_true(top_totals(fx->top)->p50[TOP_H_RTT] >= 0);
	}
	refresh(fx, t0 + (uint64_t)k++ * SEC);
	assert_true(top_totals(fx->top)->p50[TOP_H_RTT] < 0);
	assert_true(top_totals(fx->top)->p99[TOP_H_UPGRADE] < 0);
	frame(fx, 0, WST_S2C, WS_OP_PING, "p2");
	frame(fx, 0, WST_C2S, WS_OP_PONG, "p2");
	refresh(fx, t0 + (uint64_t)k * SEC);
	assert_true(top_totals(fx->top)->p50[TOP_H_RTT] >= 0);
}

/* A full table counts what it cannot show; an ended row makes room. */
static void test_table_full(void **state)
{
	struct fixture *fx = *state;

	upgrade(fx, 0);
	upgrade(fx, 1);
	upgrade(fx, 2);
	frame(fx, 2, WST_C2S, WS_OP_TEXT, "x");
	assert_non_null(row_of(fx, 40001));
	assert_non_null(row_of(fx, 40002));
	assert_null(row_of(fx, 40003));
	assert_true(top_untracked(fx->top) >= 1);
	close_normal(fx, 0);
	frame(fx, 2, WST_C2S, WS_OP_TEXT, "y");
	assert_non_null(row_of(fx, 40003));
	assert_null(row_of(fx, 40001));
}

/* The whole screen at 80x24: title, totals, heading, every session,
 * keys on the last line, nothing wider than the screen. */
/* --correlate and --correlate-reply: their latencies in the header once
 * the registry has some, from the same histograms /metrics serves. */
static void test_render_correlate(void **state)
{
	struct fixture *fx = *state;
	struct top_view v = { .title = "lo port 7272" };
	static const uint32_t lat[] = { 1000, 2000, 40000 };
	struct wst_fanout fo = {
		.key = "content", .value = (const uint8_t *)"hi", .value_len = 2, .recipients = 3,
		.latency_min_us = 1000, .latency_p50_us = 2000, .latency_max_us = 40000,
		.latency_us = lat, .n_latency = 3,
	};
	struct wst_reply rp = { .key = "id", .value = (const uint8_t *)"7", .value_len = 1,
				.number = true, .latency_us = 12000 };
	struct wst_flow f = { .id = 99 };
	struct wst_event ev = { .type = WST_EV_WS_FANOUT, .flow = &f, .dir = WST_C2S };

	upgrade(fx, 0);
	ev.ts_ns = fx->p.now;
	ev.u.fanout = &fo;
	both(fx, &ev);
	ev.type = WST_EV_WS_REPLY;
	ev.u.reply = &rp;
	both(fx, &ev);
	refresh(fx, fx->p.now);
	render(fx, &v, 80, 24, fx->p.now);
	assert_true(find_line(fx, "delivery p50 ") > 0);
	assert_true(find_line(fx, "reply p50 ") > 0);
	assert_true(top_totals(fx->top)->p50[TOP_H_DELIVERY] > 0);
	assert_true(top_totals(fx->top)->p99[TOP_H_REPLY] > 0);
}

static void test_render(void **state)
{
	struct fixture *fx = *state;
	struct top_view v = { .title = "eth0 port 7272" };
	int y;

	upgrade(fx, 0);
	upgrade(fx, 1);
	upgrade(fx, 2);
	frame(fx, 0, WST_C2S, WS_OP_TEXT, "{\"type\":\"login\"}");
	close_normal(fx, 2);
	refresh(fx, fx->p.now);
	render(fx, &v, 80, 24, fx->p.now);
	assert_int_equal(find_line(fx, "wstrace --top  eth0 port 7272"), 0);
	assert_int_equal(fx->attr[0], TOP_ATTR_TITLE);
	assert_true(find_line(fx, "TCP open 2") > 0);
	assert_true(find_line(fx, "WS  open 2") > 0);
	assert_true(find_line(fx, "msgs c>s 1 ") > 0); /* the login; close frames are no messages */
	assert_true(find_line(fx, "lost: ") > 0);
	assert_true(find_line(fx, "ringbuf-full") < 0); /* no kernel family in this registry */
	assert_true(find_line(fx, "closes 1000:1") > 0);
	assert_true(find_line(fx, "delivery p50") < 0); /* no --correlate traffic */
	y = find_line(fx, "CLIENT");
	assert_true(y > 0);
	assert_int_equal(fx->attr[y], TOP_ATTR_HEADING);
	assert_true(find_line(fx, "10.0.0.1:40001 ") > y);
	assert_true(find_line(fx, "10.0.0.1:40002 ") > y);
	assert_true(find_line(fx, "ended close 1000") > y);
	assert_int_equal(fx->attr[find_line(fx, "ended close 1000")], TOP_ATTR_DIM);
	assert_true(find_line(fx, " login") > y);
	assert_non_null(strstr(fx->screen[23], "q quit"));
	assert_non_null(strstr(fx->screen[23], "2 open, 3 shown"));

	/* Filter, pause, sort: said on the title line; the filter applies. */
	snprintf(v.filter, sizeof(v.filter), "40002");
	v.paused = true;
	v.sort = TOP_SORT_BYTES;
	render(fx, &v, 80, 24, fx->p.now);
	assert_non_null(strstr(fx->screen[0], "sort bytes"));
	assert_non_null(strstr(fx->screen[0], "filter /40002"));
	assert_non_null(strstr(fx->screen[0], "PAUSED"));
	assert_true(find_line(fx, "10.0.0.1:40002 ") > 0);
	assert_true(find_line(fx, "10.0.0.1:40001 ") < 0);
	v.editing = true;
	render(fx, &v, 80, 24, fx->p.now);
	assert_non_null(strstr(fx->screen[23], "filter: 40002_"));

	/* Small and large screens: within bounds, keys still last. */
	v = (struct top_view){ 0 };
	render(fx, &v, 40, 10, fx->p.now);
	assert_non_null(strstr(fx->screen[9], "open"));
	render(fx, &v, 20, 3, fx->p.now);
	render(fx, &v, 1, 1, fx->p.now);
	render(fx, &v, 300, 40, fx->p.now);
	assert_true(find_line(fx, "10.0.0.1:40001 ") > 0);
	/* Wide: the header fits in fewer lines than at 80. */
	assert_true(find_line(fx, "CLIENT") < 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_rate_and_quantile),
		cmocka_unit_test(test_row_80_columns),
		cmocka_unit_test(test_row_owner),
		cmocka_unit_test(test_sort_and_filter),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quantile_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_render, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_correlate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
