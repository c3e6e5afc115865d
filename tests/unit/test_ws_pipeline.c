// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tracker and the WebSocket layer together, on how connections end:
 * packets after a close make no session (and leak none), and after a
 * reset the other side's data in flight is still decoded, its session
 * ending after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tracking/tcp_track.h"
#include "protocol/ws_message.h"
#include "session/ws_session.h"
#include "pipeline.h"

#define RL TCP_TRACK_DEFAULT_RESET_LINGER_NS
#define MAX_SEEN 256

struct seen {
	enum wst_event_type type;
	enum wst_flow_dir dir;
	uint64_t ts;
	bool decode;
	const char *how;     /* ws_session_end */
	uint16_t code;
	uint64_t duration_us;
	uint64_t frames[2];
};

struct rec {
	struct seen ev[MAX_SEEN];
	int n;
};

static void record(void *ctx, const struct wst_event *ev)
{
	struct rec *r = ctx;
	struct seen *s = &r->ev[r->n];

	assert_true(r->n < MAX_SEEN);
	if (r->n && ev->ts_ns < r->ev[r->n - 1].ts)
		fail_msg("%s out of time order", wst_event_name(ev->type));
	s->type = ev->type;
	s->dir = ev->dir;
	s->ts = ev->ts_ns;
	s->decode = ev->decode;
	if (ev->type == WST_EV_WS_SESSION_END) {
		s->how = ev->u.session.how;
		s->code = ev->u.session.code;
		s->duration_us = ev->u.session.duration_us;
		memcpy(s->frames, ev->u.session.frames, sizeof(s->frames));
	}
	r->n++;
}

/* Index of the first event of type after from (dir < 0: any), or -1. */
static int find(const struct rec *r, int from, enum wst_event_type type, int dir)
{
	for (int i = from; i < r->n; i++)
		if (r->ev[i].type == type && (dir < 0 || r->ev[i].dir == (enum wst_flow_dir)dir))
			return i;
	return -1;
}

static int count(const struct rec *r, enum wst_event_type type)
{
	int n = 0;

	for (int i = 0; i < r->n; i++)
		n += r->ev[i].type == type;
	return n;
}

/* Ends the capture and checks that nothing is left: no session open, no
 * state on a freed flow, every established session ended once. */
static void finish(struct pipeline *p, struct rec *r)
{
	tcp_tracker_finish(p->t, 0);
	assert_int_equal(ws_layer_stats(p->ws)->active, 0);
	assert_int_equal(tcp_tracker_stats(p->t)->app_leaks, 0);
	assert_int_equal(count(r, WST_EV_WS_ESTABLISHED), count(r, WST_EV_WS_SESSION_END));
	assert_int_equal(tcp_tracker_active(p->t), 0);
}

/* Defect: a RST, then an upgrade and its 101 on the same tuple made a
 * session that nothing ended (sessions gauge stuck, memory leaked). */
static void test_upgrade_after_rst(void **state)
{
	struct pipeline p;
	struct rec r = { 0 };

	(void)state;
	pipe_init(&p, (struct wst_sink){ record, &r }, NULL, NULL);
	pipe_pkt(&p, WST_C2S, WST_TCP_RST | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&p, WST_C2S, WST_TCP_PSH | WST_TCP_ACK, pipe_request, sizeof(pipe_request) - 1);
	pipe_pkt(&p, WST_S2C, WST_TCP_PSH | WST_TCP_ACK, pipe_response, sizeof(pipe_response) - 1);
	/* Reported, not decoded. */
	assert_int_equal(r.n, 4);
	assert_int_equal(r.ev[1].type, WST_EV_TCP_CLOSED);
	assert_false(r.ev[2].decode);
	assert_false(r.ev[3].decode);
	assert_int_equal(ws_layer_stats(p.ws)->sessions, 0);
	assert_int_equal(count(&r, WST_EV_WS_UPGRADE), 0);
	finish(&p, &r);
	assert_int_equal(tcp_tracker_stats(p.t)->late_packets, 2);
	pipe_free(&p);
}

/* A session closed by FIN; then a SYN-ACK and data on its tuple. */
static void test_synack_after_close(void **state)
{
	struct pipeline p;
	struct rec r = { 0 };
	int closed;

	(void)state;
	pipe_init(&p, (struct wst_sink){ record, &r }, NULL, NULL);
	pipe_upgrade(&p);
	pipe_pkt(&p, WST_C2S, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&p, WST_S2C, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&p, WST_C2S, WST_TCP_ACK, NULL, 0);
	closed = find(&r, 0, WST_EV_TCP_CLOSED, -1);
	assert_true(closed > 0);
	assert_int_equal(find(&r, closed, WST_EV_WS_SESSION_END, -1), closed + 1);
	pipe_at(&p, WST_S2C, WST_TCP_SYN | WST_TCP_ACK, 9000, NULL, 0);
	pipe_at(&p, WST_S2C, WST_TCP_PSH | WST_TCP_ACK, 9001, pipe_response, sizeof(pipe_response) - 1);
	assert_int_equal(r.n, closed + 4);
	assert_int_equal(ws_layer_stats(p.ws)->sessions, 1);
	assert_int_equal(ws_layer_stats(p.ws)->active, 0);
	finish(&p, &r);
	pipe_free(&p);
}

/* A harmless late retransmission after a FIN close made a mid-stream session. */
static void test_retransmit_after_fin(void **state)
{
	static const uint8_t hi[] = { 0x81, 0x02, 'h', 'i' };
	struct pipeline p;
	struct rec r = { 0 };
	int n;

	(void)state;
	pipe_init(&p, (struct wst_sink){ record, &r }, NULL, NULL);
	pipe_upgrade(&p);
	pipe_pkt(&p, WST_S2C, WST_TCP_PSH | WST_TCP_ACK, hi, sizeof(hi));
	pipe_pkt(&p, WST_C2S, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&p, WST_S2C, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&p, WST_C2S, WST_TCP_ACK, NULL, 0);
	n = r.n;
	assert_int_equal(r.ev[n - 1].type, WST_EV_WS_SESSION_END);
	pipe_at(&p, WST_S2C, WST_TCP_PSH | WST_TCP_ACK, p.seq[WST_S2C] - 1 - sizeof(hi), hi, sizeof(hi));
	assert_int_equal(r.n, n + 1);
	assert_int_equal(r.ev[n].type, WST_EV_TCP_RETRANSMIT);
	assert_false(r.ev[n].decode);
	assert_int_equal(ws_layer_stats(p.ws)->sessions, 1);
	assert_int_equal(ws_layer_stats(p.ws)->midstream, 0);
	assert_int_equal(ws_layer_stats(p.ws)->gaps, 0);
	finish(&p, &r);
	pipe_free(&p);
}

/*
 * The client sends its close frame and resets while the server's close
 * frame is on the wire: the server's frame is decoded, and tcp_closed and
 * the session end come after it, when the reset linger ends.
 */
static void test_rst_then_close_frame_in_flight(void **state)
{
	static const uint8_t bye[] = { 0x03, 0xe8 };
	struct pipeline p;
	struct rec r = { 0 };
	int srv_close, closed, end;
	uint64_t rst, established;

	(void)state;
	pipe_init(&p, (struct wst_sink){ record, &r }, NULL, NULL);
	pipe_upgrade(&p);
	established = p.now;
	pipe_frame(&p, WST_C2S, WS_OP_CLOSE, bye, 2);
	pipe_pkt(&p, WST_C2S, WST_TCP_RST | WST_TCP_ACK, NULL, 0);
	rst = p.now;
	pipe_frame(&p, WST_S2C, WS_OP_CLOSE, bye, 2);
	/* The client's stack answers the frame with another reset: not decoded. */
	pipe_pkt(&p, WST_C2S, WST_TCP_RST, NULL, 0);
	srv_close = find(&r, 0, WST_EV_WS_CLOSE, WST_S2C);
	assert_true(srv_close > 0);
	assert_int_equal(find(&r, 0, WST_EV_TCP_CLOSED, -1), -1);
	tcp_tracker_expire(p.t, rst + RL);
	closed = find(&r, 0, WST_EV_TCP_CLOSED, -1);
	end = find(&r, 0, WST_EV_WS_SESSION_END, -1);
	assert_true(srv_close < closed && closed < end);
	assert_string_equal(r.ev[end].how, "close");
	assert_int_equal(r.ev[end].code, 1000);
	assert_int_equal(r.ev[end].frames[WST_C2S], 1);
	assert_int_equal(r.ev[end].frames[WST_S2C], 1);
	assert_int_equal(r.ev[end].ts, rst + RL);
	/* The session lasted until the server's close frame, not the linger. */
	assert_int_equal(r.ev[end].duration_us, (r.ev[srv_close].ts - established) / 1000);
	assert_int_equal(ws_layer_stats(p.ws)->closes, 2);
	assert_int_equal(ws_layer_stats(p.ws)->gaps, 0);
	finish(&p, &r);
	pipe_free(&p);
}

/* Only what follows the other side's stream: a frame beyond a gap is not
 * decoded (and no gap is reported after the session). */
static void test_rst_then_frame_beyond_gap(void **state)
{
	static const uint8_t bye[] = { 0x03, 0xe8 };
	uint8_t f[16];
	struct pipeline p;
	struct rec r = { 0 };
	uint32_t n;

	(void)state;
	pipe_init(&p, (struct wst_sink){ record, &r }, NULL, NULL);
	pipe_upgrade(&p);
	pipe_frame(&p, WST_C2S, WS_OP_CLOSE, bye, 2);
	pipe_pkt(&p, WST_C2S, WST_TCP_RST | WST_TCP_ACK, NULL, 0);
	n = pipe_frame_bytes(f, WST_S2C, WS_OP_CLOSE, bye, 2);
	pipe_at(&p, WST_S2C, WST_TCP_PSH | WST_TCP_ACK, p.seq[WST_S2C] + 100, f, n);
	assert_false(r.ev[r.n - 1].decode);
	tcp_tracker_expire(p.t, p.now + RL);
	assert_int_equal(r.ev[r.n - 1].type, WST_EV_WS_SESSION_END);
	assert_string_equal(r.ev[r.n - 1].how, "close");
	assert_int_equal(r.ev[r.n - 1].frames[WST_S2C], 0);
	assert_int_equal(count(&r, WST_EV_WS_GAP), 0);
	finish(&p, &r);
	pipe_free(&p);
}

/* An abort without close frames: the server's data in flight is decoded,
 * and the session ended by the reset. */
static void test_rst_then_data_in_flight(void **state)
{
	struct pipeline p;
	struct rec r = { 0 };

	(void)state;
	pipe_init(&p, (struct wst_sink){ record, &r }, NULL, NULL);
	pipe_upgrade(&p);
	pipe_pkt(&p, WST_C2S, WST_TCP_RST | WST_TCP_ACK, NULL, 0);
	pipe_frame(&p, WST_S2C, WS_OP_TEXT, "late news", 9);
	assert_true(find(&r, 0, WST_EV_WS_FRAME, WST_S2C) > 0);
	tcp_tracker_finish(p.t, 0);
	assert_int_equal(r.ev[r.n - 1].type, WST_EV_WS_SESSION_END);
	assert_string_equal(r.ev[r.n - 1].how, "reset");
	assert_int_equal(r.ev[r.n - 1].code, 1006);
	assert_int_equal(ws_layer_stats(p.ws)->messages[WST_S2C], 1);
	finish(&p, &r);
	pipe_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upgrade_after_rst),
		cmocka_unit_test(test_synack_after_close),
		cmocka_unit_test(test_retransmit_after_fin),
		cmocka_unit_test(test_rst_then_close_frame_in_flight),
		cmocka_unit_test(test_rst_then_frame_beyond_gap),
		cmocka_unit_test(test_rst_then_data_in_flight),
	};

	return cmocka_run_group_tests_name("ws_pipeline", tests, NULL, NULL);
}
