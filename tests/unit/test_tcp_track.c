// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests: flow table and TCP state machine, on crafted records. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/ports.h"
#include "tracking/tcp_track.h"
#include "pipeline.h"

#define CLIENT_PORT 50000
#define MS 1000000ULL

struct seen {
	enum wst_event_type type;
	enum wst_flow_dir dir;
	uint64_t flow_id;
	struct wst_event ev;
};

#define MAX_SEEN 1024

struct fixture {
	struct port_set ports;
	struct tcp_tracker *t;
	struct seen ev[MAX_SEEN];
	int n;
	uint64_t now;
	uint64_t last_ts;
	bool grab_app;         /* misbehave: hang state on every flow (leak check) */
};

static void collect(void *ctx, const struct wst_event *ev)
{
	struct fixture *fx = ctx;
	static int dummy_app;

	assert_true(fx->n < MAX_SEEN);
	/* Events come in time order, whatever ends a connection. */
	if (ev->ts_ns < fx->last_ts)
		fail_msg("%s at %llu after an event at %llu", wst_event_name(ev->type),
			 (unsigned long long)ev->ts_ns, (unsigned long long)fx->last_ts);
	fx->last_ts = ev->ts_ns;
	/* Only packet events may be decoded, and never a RST. */
	if (ev->decode)
		assert_true(wst_event_is_packet(ev->type) && ev->type != WST_EV_TCP_RST);
	if (fx->grab_app)
		ev->flow->app = &dummy_app;
	else if (ev->type == WST_EV_TCP_CLOSED)
		ev->flow->app = NULL;
	fx->ev[fx->n].type = ev->type;
	fx->ev[fx->n].dir = ev->dir;
	fx->ev[fx->n].flow_id = ev->flow->id;
	fx->ev[fx->n].ev = *ev;
	fx->n++;
}

static struct fixture *fixture_new(uint32_t max_flows)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct tcp_track_opts o = { .max_flows = max_flows };
	char err[128];

	assert_non_null(fx);
	assert_int_equal(ports_parse(&fx->ports, "7272", err, sizeof(err)), 0);
	assert_int_equal(tcp_tracker_new(&fx->t, &o, &fx->ports,
					 (struct wst_sink){ .on_event = collect, .ctx = fx }), 0);
	fx->now = 1700000000ULL * 1000000000ULL;
	return fx;
}

static void fixture_free(struct fixture *fx)
{
	/* Whatever the test did, the flows it saw were let go of at tcp_closed. */
	if (!fx->grab_app) {
		tcp_tracker_finish(fx->t, fx->last_ts > fx->now ? fx->last_ts : fx->now);
		assert_int_equal(tcp_tracker_stats(fx->t)->app_leaks, 0);
	}
	tcp_tracker_free(fx->t);
	free(fx);
}

/* Sends one packet; client index picks the client port (several flows). */
static void send_pkt(struct fixture *fx, int client, enum wst_flow_dir dir, uint8_t flags,
		     uint32_t seq, uint32_t ack, uint32_t len, uint64_t after_ns)
{
	struct wst_packet p;

	fx->now += after_ns;
	pipe_fill(&p, dir, (uint16_t)(CLIENT_PORT + client), flags, seq, ack, NULL, len, fx->now);
	tcp_tracker_packet(fx->t, &p);
}

#define S WST_TCP_SYN
#define A WST_TCP_ACK
#define F WST_TCP_FIN
#define R WST_TCP_RST
#define P WST_TCP_PSH

static void handshake(struct fixture *fx, int client)
{
	send_pkt(fx, client, WST_C2S, S, 1000, 0, 0, MS);
	send_pkt(fx, client, WST_S2C, S | A, 5000, 1001, 0, MS);
	send_pkt(fx, client, WST_C2S, A, 1001, 5001, 0, MS);
}

static void expect_types(struct fixture *fx, const enum wst_event_type *want, int n)
{
	for (int i = 0; i < n && i < fx->n; i++)
		if (fx->ev[i].type != want[i])
			fail_msg("event %d: got %s, want %s", i, wst_event_name(fx->ev[i].type),
				 wst_event_name(want[i]));
	assert_int_equal(fx->n, n);
}

static void test_normal_handshake_and_fin(void **state)
{
	struct fixture *fx = fixture_new(0);
	static const enum wst_event_type want[] = {
		WST_EV_TCP_SYN, WST_EV_TCP_SYNACK, WST_EV_TCP_ACK, WST_EV_TCP_ESTABLISHED,
		WST_EV_TCP_DATA, WST_EV_TCP_ACK, WST_EV_TCP_DATA,
		WST_EV_TCP_FIN, WST_EV_TCP_FIN, WST_EV_TCP_ACK, WST_EV_TCP_CLOSED,
	};

	(void)state;
	handshake(fx, 0);
	send_pkt(fx, 0, WST_C2S, P | A, 1001, 5001, 100, MS);
	send_pkt(fx, 0, WST_S2C, A, 5001, 1101, 0, MS);
	send_pkt(fx, 0, WST_S2C, P | A, 5001, 1101, 30, MS);
	send_pkt(fx, 0, WST_C2S, F | A, 1101, 5031, 0, MS);
	send_pkt(fx, 0, WST_S2C, F | A, 5031, 1102, 0, MS);
	send_pkt(fx, 0, WST_C2S, A, 1102, 5032, 0, MS);
	expect_types(fx, want, sizeof(want) / sizeof(want[0]));
	/* The handshake took SYN to final ACK: 2 ms. */
	assert_int_equal(fx->ev[3].ev.u.established.handshake_us, 2000);
	assert_int_equal(fx->ev[10].ev.u.closed.reason, WST_CLOSE_FIN);
	assert_int_equal(fx->ev[10].ev.u.closed.bytes[WST_C2S], 100);
	assert_int_equal(fx->ev[10].ev.u.closed.bytes[WST_S2C], 30);
	assert_int_equal(fx->ev[10].ev.u.closed.duration_us, 8000);
	assert_int_equal(fx->ev[0].dir, WST_C2S);
	assert_int_equal(fx->ev[1].dir, WST_S2C);
	assert_int_equal(tcp_tracker_stats(fx->t)->established, 1);
	assert_int_equal(tcp_tracker_stats(fx->t)->closed, 1);
	assert_int_equal(tcp_tracker_active(fx->t), 0);
	fixture_free(fx);
}

static void test_retransmitted_syn(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	send_pkt(fx, 0, WST_C2S, S, 1000, 0, 0, MS);
	send_pkt(fx, 0, WST_C2S, S, 1000, 0, 0, 1000 * MS);
	send_pkt(fx, 0, WST_S2C, S | A, 5000, 1001, 0, MS);
	send_pkt(fx, 0, WST_C2S, A, 1001, 5001, 0, MS);
	assert_int_equal(fx->ev[1].type, WST_EV_TCP_RETRANSMIT);
	assert_int_equal(fx->ev[4].type, WST_EV_TCP_ESTABLISHED);
	/* Handshake time counts from the first SYN. */
	assert_int_equal(fx->ev[4].ev.u.established.handshake_us, 1002000);
	assert_int_equal(fx->ev[0].flow_id, fx->ev[4].flow_id);
	assert_int_equal(tcp_tracker_stats(fx->t)->retransmits, 1);
	fixture_free(fx);
}

static void test_refused(void **state)
{
	struct fixture *fx = fixture_new(0);
	static const enum wst_event_type want[] = {
		WST_EV_TCP_SYN, WST_EV_TCP_RST, WST_EV_TCP_REFUSED, WST_EV_TCP_CLOSED,
	};

	(void)state;
	send_pkt(fx, 0, WST_C2S, S, 1000, 0, 0, MS);
	send_pkt(fx, 0, WST_S2C, R | A, 0, 1001, 0, MS);
	expect_types(fx, want, 4);
	assert_int_equal(fx->ev[3].ev.u.closed.reason, WST_CLOSE_RST);
	assert_int_equal(tcp_tracker_stats(fx->t)->refused, 1);
	assert_int_equal(tcp_tracker_stats(fx->t)->resets, 0);
	fixture_free(fx);
}

static void test_rst_during_handshake_from_client(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	send_pkt(fx, 0, WST_C2S, S, 1000, 0, 0, MS);
	send_pkt(fx, 0, WST_S2C, S | A, 5000, 1001, 0, MS);
	send_pkt(fx, 0, WST_C2S, R, 1001, 0, 0, MS);
	assert_int_equal(fx->n, 4);
	assert_int_equal(fx->ev[2].type, WST_EV_TCP_RST);
	assert_int_equal(fx->ev[3].type, WST_EV_TCP_CLOSED);
	assert_int_equal(tcp_tracker_stats(fx->t)->refused, 0);
	assert_int_equal(tcp_tracker_stats(fx->t)->resets, 1);
	assert_int_equal(tcp_tracker_stats(fx->t)->established, 0);
	fixture_free(fx);
}

#define RL TCP_TRACK_DEFAULT_RESET_LINGER_NS

/* Time passes without packets: timeouts up to then. */
static void advance(struct fixture *fx, uint64_t ns)
{
	fx->now += ns;
	tcp_tracker_expire(fx->t, fx->now);
}

static const struct seen *last(const struct fixture *fx)
{
	assert_true(fx->n > 0);
	return &fx->ev[fx->n - 1];
}

/*
 * A reset does not end an established connection at once: what the other
 * side had on the wire is still its own (decoded) until the reset linger
 * ends, and then comes the one tcp_closed (rst).
 */
static void test_reset_established(void **state)
{
	struct fixture *fx = fixture_new(0);
	uint64_t first, rst;

	(void)state;
	handshake(fx, 0);
	first = fx->ev[0].ev.ts_ns;
	send_pkt(fx, 0, WST_S2C, R | A, 5001, 1001, 0, MS);
	rst = fx->now;
	assert_int_equal(fx->n, 5);
	assert_int_equal(fx->ev[4].type, WST_EV_TCP_RST);
	assert_int_equal(fx->ev[4].dir, WST_S2C);
	assert_false(fx->ev[4].ev.decode);
	assert_int_equal(tcp_tracker_stats(fx->t)->resets, 1);
	/* The client's ACK follows what it sent: part of the connection. */
	send_pkt(fx, 0, WST_C2S, A, 1001, 5001, 0, MS);
	assert_int_equal(fx->n, 6);
	assert_true(fx->ev[5].ev.decode);
	assert_int_equal(tcp_tracker_stats(fx->t)->closed, 0);
	assert_int_equal(tcp_tracker_active(fx->t), 1);
	advance(fx, RL - 2 * MS);
	assert_int_equal(fx->n, 6);
	advance(fx, MS);
	assert_int_equal(fx->n, 7);
	assert_int_equal(fx->ev[6].type, WST_EV_TCP_CLOSED);
	assert_int_equal(fx->ev[6].ev.u.closed.reason, WST_CLOSE_RST);
	/* Dated at the end of the linger; lasting until its last packet. */
	assert_int_equal(fx->ev[6].ev.ts_ns, rst + RL);
	assert_int_equal(fx->ev[6].ev.u.closed.end_ns, rst + MS);
	assert_int_equal(fx->ev[6].ev.u.closed.duration_us, (rst + MS - first) / 1000);
	assert_int_equal(fx->ev[6].ev.u.closed.pkts[WST_C2S], 3);
	assert_int_equal(fx->ev[6].ev.u.closed.pkts[WST_S2C], 2);
	assert_int_equal(tcp_tracker_active(fx->t), 0);
	/* A late packet on the reset flow belongs to it, closes nothing again,
	 * and is not decoded. */
	send_pkt(fx, 0, WST_C2S, A, 1001, 5001, 0, MS);
	assert_int_equal(fx->n, 8);
	assert_int_equal(fx->ev[7].flow_id, fx->ev[0].flow_id);
	assert_false(fx->ev[7].ev.decode);
	assert_int_equal(tcp_tracker_stats(fx->t)->closed, 1);
	assert_int_equal(tcp_tracker_stats(fx->t)->late_packets, 1);
	fixture_free(fx);
}

/* After a client's RST: the server's segments that follow what it sent are
 * decoded and counted; the client's and those beyond a gap are not. */
static void test_reset_linger_other_side(void **state)
{
	struct fixture *fx = fixture_new(0);
	const struct seen *c;

	(void)state;
	handshake(fx, 0);
	send_pkt(fx, 0, WST_C2S, P | A, 1001, 5001, 100, MS);   /* 1001..1101 */
	send_pkt(fx, 0, WST_S2C, P | A, 5001, 1101, 50, MS);    /* 5001..5051 */
	send_pkt(fx, 0, WST_C2S, R | A, 1101, 5051, 0, MS);
	fx->n = 0;
	send_pkt(fx, 0, WST_S2C, P | A, 5051, 1101, 30, MS);    /* in order */
	send_pkt(fx, 0, WST_S2C, P | A, 5071, 1101, 20, MS);    /* overlaps: 10 new */
	send_pkt(fx, 0, WST_S2C, P | A, 5200, 1101, 10, MS);    /* beyond a gap */
	send_pkt(fx, 0, WST_C2S, P | A, 1101, 5051, 10, MS);    /* the resetting side */
	send_pkt(fx, 0, WST_C2S, R, 1101, 0, 0, MS);            /* and its RST again */
	send_pkt(fx, 0, WST_S2C, P | A, 5051, 1101, 30, MS);    /* retransmitted */
	assert_int_equal(fx->n, 6);
	assert_int_equal(fx->ev[0].type, WST_EV_TCP_DATA);
	assert_true(fx->ev[0].ev.decode);
	assert_int_equal(fx->ev[1].type, WST_EV_TCP_DATA);
	assert_true(fx->ev[1].ev.decode);
	assert_int_equal(fx->ev[2].type, WST_EV_TCP_OUT_OF_ORDER);
	assert_false(fx->ev[2].ev.decode);
	assert_int_equal(fx->ev[3].type, WST_EV_TCP_DATA);
	assert_false(fx->ev[3].ev.decode);
	assert_int_equal(fx->ev[4].type, WST_EV_TCP_RST);
	assert_false(fx->ev[4].ev.decode);
	assert_int_equal(fx->ev[5].type, WST_EV_TCP_RETRANSMIT);
	assert_true(fx->ev[5].ev.decode);
	assert_int_equal(tcp_tracker_stats(fx->t)->late_packets, 3);
	advance(fx, RL);
	c = last(fx);
	assert_int_equal(c->type, WST_EV_TCP_CLOSED);
	assert_int_equal(c->ev.u.closed.reason, WST_CLOSE_RST);
	/* Counts include what was decoded after the RST, and nothing else. */
	assert_int_equal(c->ev.u.closed.bytes[WST_C2S], 100);
	assert_int_equal(c->ev.u.closed.bytes[WST_S2C], 50 + 30 + 10);
	assert_int_equal(c->ev.u.closed.pkts[WST_C2S], 4);
	assert_int_equal(c->ev.u.closed.pkts[WST_S2C], 5);
	assert_int_equal(c->ev.u.closed.end_ns, fx->ev[5].ev.ts_ns);
	assert_int_equal(tcp_tracker_stats(fx->t)->resets, 1);
	assert_int_equal(tcp_tracker_stats(fx->t)->closed, 1);
	fixture_free(fx);
}

/* The other side's FIN or RST: nothing more can come, the close is at once. */
static void test_reset_linger_ends_early(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	handshake(fx, 0);
	send_pkt(fx, 0, WST_C2S, R | A, 1001, 5001, 0, MS);
	send_pkt(fx, 0, WST_S2C, F | P | A, 5001, 1001, 8, MS);
	assert_int_equal(fx->n, 7);
	assert_int_equal(fx->ev[5].type, WST_EV_TCP_FIN);
	assert_true(fx->ev[5].ev.decode);
	assert_int_equal(fx->ev[6].type, WST_EV_TCP_CLOSED);
	assert_int_equal(fx->ev[6].ev.u.closed.reason, WST_CLOSE_RST);
	assert_int_equal(fx->ev[6].ev.ts_ns, fx->ev[5].ev.ts_ns);
	assert_int_equal(fx->ev[6].ev.u.closed.bytes[WST_S2C], 8);

	handshake(fx, 1);
	send_pkt(fx, 1, WST_S2C, R | A, 5001, 1001, 0, MS);
	send_pkt(fx, 1, WST_C2S, R, 1001, 0, 0, MS);
	assert_int_equal(last(fx)->type, WST_EV_TCP_CLOSED);
	assert_int_equal(last(fx)->ev.u.closed.reason, WST_CLOSE_RST);
	assert_int_equal(last(fx)->ev.ts_ns, fx->now);
	assert_int_equal(tcp_tracker_stats(fx->t)->resets, 2);
	assert_int_equal(tcp_tracker_active(fx->t), 0);
	fixture_free(fx);
}

/* When nothing can be in flight, or nothing could be told apart, a RST
 * closes at once as before. */
static void test_reset_immediate(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	/* After the resetting side's own FIN: its RST refuses data that came later. */
	handshake(fx, 0);
	send_pkt(fx, 0, WST_C2S, F | A, 1001, 5001, 0, MS);
	send_pkt(fx, 0, WST_S2C, P | A, 5001, 1002, 20, MS);
	send_pkt(fx, 0, WST_C2S, R, 1002, 0, 0, MS);
	assert_int_equal(last(fx)->type, WST_EV_TCP_CLOSED);
	/* After the other side's FIN: it has sent everything. */
	handshake(fx, 1);
	send_pkt(fx, 1, WST_S2C, F | A, 5001, 1001, 0, MS);
	send_pkt(fx, 1, WST_C2S, R | A, 1001, 5002, 0, MS);
	assert_int_equal(last(fx)->type, WST_EV_TCP_CLOSED);
	/* First seen with its RST: the other side's sequence space is unknown. */
	send_pkt(fx, 2, WST_C2S, R | A, 1001, 5001, 0, MS);
	assert_int_equal(last(fx)->type, WST_EV_TCP_CLOSED);
	assert_int_equal(tcp_tracker_stats(fx->t)->closed, 3);
	assert_int_equal(tcp_tracker_stats(fx->t)->resets, 3);
	fixture_free(fx);
}

/* A new SYN on the tuple ends the linger: the old connection closes first. */
static void test_reset_linger_new_syn(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	handshake(fx, 0);
	send_pkt(fx, 0, WST_C2S, R | A, 1001, 5001, 0, MS);
	send_pkt(fx, 0, WST_C2S, S, 90000, 0, 0, MS);
	assert_int_equal(fx->n, 7);
	assert_int_equal(fx->ev[5].type, WST_EV_TCP_CLOSED);
	assert_int_equal(fx->ev[5].ev.u.closed.reason, WST_CLOSE_RST);
	assert_int_equal(fx->ev[5].ev.ts_ns, fx->now);
	assert_int_equal(fx->ev[5].flow_id, fx->ev[0].flow_id);
	assert_int_equal(fx->ev[6].type, WST_EV_TCP_SYN);
	assert_int_not_equal(fx->ev[6].flow_id, fx->ev[0].flow_id);
	assert_int_equal(tcp_tracker_stats(fx->t)->flows, 2);
	fixture_free(fx);
}

/* The end of a capture cuts a linger short; the close is dated at the last
 * packet of the capture, so events stay in time order. */
static void test_reset_linger_end_of_capture(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	handshake(fx, 0);
	send_pkt(fx, 0, WST_C2S, R | A, 1001, 5001, 0, MS);
	handshake(fx, 1);
	send_pkt(fx, 1, WST_C2S, P | A, 1001, 5001, 10, 100 * MS);
	tcp_tracker_finish(fx->t, 0);
	assert_int_equal(tcp_tracker_stats(fx->t)->closed, 2);
	for (int i = 0; i < fx->n; i++)
		if (fx->ev[i].type == WST_EV_TCP_CLOSED && fx->ev[i].flow_id == fx->ev[0].flow_id) {
			assert_int_equal(fx->ev[i].ev.u.closed.reason, WST_CLOSE_RST);
			assert_int_equal(fx->ev[i].ev.ts_ns, fx->now);
		}
	fixture_free(fx);
}

/* Packets do not hold a reset connection open: the linger counts from the RST. */
static void test_reset_linger_not_extended(void **state)
{
	struct fixture *fx = fixture_new(0);
	uint32_t seq = 5001;
	uint64_t rst;

	(void)state;
	handshake(fx, 0);
	send_pkt(fx, 0, WST_C2S, R | A, 1001, 5001, 0, MS);
	rst = fx->now;
	while (fx->now + 50 * MS < rst + RL) {
		send_pkt(fx, 0, WST_S2C, P | A, seq, 1001, 10, 50 * MS);
		seq += 10;
		assert_true(last(fx)->ev.decode);
	}
	send_pkt(fx, 0, WST_S2C, P | A, seq, 1001, 10, 50 * MS);
	assert_int_equal(fx->ev[fx->n - 2].type, WST_EV_TCP_CLOSED);
	assert_int_equal(fx->ev[fx->n - 2].ev.ts_ns, rst + RL);
	assert_false(last(fx)->ev.decode);
	fixture_free(fx);
}

/* After tcp_closed, packets are reported (classified as ever) but never
 * decoded: a late retransmission, a SYN-ACK, data after a RST. */
static void test_late_packets_after_close(void **state)
{
	struct fixture *fx = fixture_new(0);
	uint64_t id;

	(void)state;
	handshake(fx, 0);
	id = fx->ev[0].flow_id;
	send_pkt(fx, 0, WST_C2S, P | A, 1001, 5001, 5, MS);
	send_pkt(fx, 0, WST_C2S, F | A, 1006, 5001, 0, MS);
	send_pkt(fx, 0, WST_S2C, F | A, 5001, 1007, 0, MS);
	send_pkt(fx, 0, WST_C2S, A, 1007, 5002, 0, MS);
	assert_int_equal(last(fx)->type, WST_EV_TCP_CLOSED);
	fx->n = 0;
	send_pkt(fx, 0, WST_C2S, P | A, 1001, 5001, 5, MS);
	send_pkt(fx, 0, WST_S2C, S | A, 7000, 1001, 0, MS);
	send_pkt(fx, 0, WST_S2C, P | A, 5002, 1007, 20, MS);
	assert_int_equal(fx->n, 3);
	assert_int_equal(fx->ev[0].type, WST_EV_TCP_RETRANSMIT);
	assert_int_equal(fx->ev[1].type, WST_EV_TCP_SYNACK);
	assert_int_equal(fx->ev[2].type, WST_EV_TCP_DATA);
	for (int i = 0; i < 3; i++) {
		assert_false(fx->ev[i].ev.decode);
		assert_int_equal(fx->ev[i].flow_id, id);
	}
	/* RST first, then data: the repro of the leak, many tuples. */
	for (int c = 1; c <= 50; c++) {
		send_pkt(fx, c, WST_C2S, R | A, 1000, 1, 0, MS);
		send_pkt(fx, c, WST_C2S, P | A, 1000, 1, 25, 1);
		assert_false(last(fx)->ev.decode);
	}
	assert_int_equal(tcp_tracker_stats(fx->t)->closed, 51);
	assert_int_equal(tcp_tracker_stats(fx->t)->late_packets, 53);
	assert_int_equal(tcp_tracker_stats(fx->t)->retransmits, 1);
	fixture_free(fx);
}

/* The check behind the contract: a flow freed with state on flow->app. */
static void test_app_leak_detected(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	fx->grab_app = true;
	handshake(fx, 0);
	send_pkt(fx, 1, WST_C2S, R | A, 1000, 1, 0, MS);
	send_pkt(fx, 1, WST_C2S, P | A, 1000, 1, 25, MS);
	tcp_tracker_finish(fx->t, fx->now);
	assert_int_equal(tcp_tracker_stats(fx->t)->app_leaks, 2);
	fixture_free(fx);
}

static void simultaneous_open(const char *ports)
{
	struct fixture *fx = fixture_new(0);
	struct port_set set;
	char err[64];

	assert_int_equal(ports_parse(&set, ports, err, sizeof(err)), 0);
	tcp_tracker_set_ports(fx->t, &set);
	send_pkt(fx, 0, WST_C2S, S, 1000, 0, 0, MS);
	send_pkt(fx, 0, WST_S2C, S, 5000, 0, 0, MS);
	send_pkt(fx, 0, WST_C2S, S | A, 1000, 5001, 0, MS);
	send_pkt(fx, 0, WST_S2C, S | A, 5000, 1001, 0, MS);
	assert_int_equal(tcp_tracker_stats(fx->t)->flows, 1);
	assert_int_equal(tcp_tracker_stats(fx->t)->established, 1);
	assert_int_equal(fx->ev[fx->n - 1].type, WST_EV_TCP_ESTABLISHED);
	assert_int_equal(fx->ev[fx->n - 1].ev.u.established.handshake_us, 3000);
	fixture_free(fx);
}

static void test_simultaneous_open(void **state)
{
	(void)state;
	simultaneous_open("7272");
	/* Both ports watched: roles are a guess, still one flow. */
	simultaneous_open("7272,50000");
}

static void test_fin_from_server_first(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	handshake(fx, 0);
	send_pkt(fx, 0, WST_S2C, F | A, 5001, 1001, 0, MS);
	send_pkt(fx, 0, WST_C2S, F | A, 1001, 5002, 0, MS);
	assert_int_equal(tcp_tracker_stats(fx->t)->closed, 0);
	send_pkt(fx, 0, WST_S2C, A, 5002, 1002, 0, MS);
	assert_int_equal(fx->ev[fx->n - 1].type, WST_EV_TCP_CLOSED);
	assert_int_equal(fx->ev[fx->n - 1].ev.u.closed.reason, WST_CLOSE_FIN);
	fixture_free(fx);
}

static void test_fin_without_last_ack_closes_after_linger(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	handshake(fx, 0);
	send_pkt(fx, 0, WST_C2S, F | A, 1001, 5001, 0, MS);
	send_pkt(fx, 0, WST_S2C, F | A, 5001, 1002, 0, MS);
	assert_int_equal(tcp_tracker_stats(fx->t)->closed, 0);
	tcp_tracker_expire(fx->t, fx->now + TCP_TRACK_DEFAULT_LINGER_NS);
	assert_int_equal(fx->ev[fx->n - 1].type, WST_EV_TCP_CLOSED);
	assert_int_equal(fx->ev[fx->n - 1].ev.u.closed.reason, WST_CLOSE_FIN);
	assert_int_equal(tcp_tracker_active(fx->t), 0);
	fixture_free(fx);
}

static void test_midstream(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	send_pkt(fx, 0, WST_S2C, P | A, 9000, 2000, 50, MS);
	send_pkt(fx, 0, WST_C2S, P | A, 2000, 9050, 20, MS);
	send_pkt(fx, 0, WST_S2C, P | A, 9050, 2020, 50, MS);
	assert_int_equal(fx->n, 3);
	assert_int_equal(fx->ev[0].type, WST_EV_TCP_DATA);
	assert_int_equal(fx->ev[1].type, WST_EV_TCP_DATA);
	assert_int_equal(fx->ev[2].type, WST_EV_TCP_DATA);
	assert_true(fx->ev[0].ev.flow->midstream);
	assert_int_equal(tcp_tracker_stats(fx->t)->midstream, 1);
	assert_int_equal(tcp_tracker_stats(fx->t)->established, 0);
	tcp_tracker_finish(fx->t, fx->now);
	assert_int_equal(fx->ev[3].type, WST_EV_TCP_CLOSED);
	assert_int_equal(fx->ev[3].ev.u.closed.reason, WST_CLOSE_END);
	assert_int_equal(fx->ev[3].ev.u.closed.bytes[WST_S2C], 100);
	fixture_free(fx);
}

static void test_retransmit_and_out_of_order(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	handshake(fx, 0);
	send_pkt(fx, 0, WST_C2S, P | A, 1001, 5001, 100, MS);  /* 1001..1101 */
	send_pkt(fx, 0, WST_C2S, P | A, 1001, 5001, 100, MS);  /* same again */
	send_pkt(fx, 0, WST_C2S, P | A, 1201, 5001, 100, MS);  /* 1101..1201 missing */
	send_pkt(fx, 0, WST_C2S, P | A, 1101, 5001, 100, MS);  /* the hole, late */
	send_pkt(fx, 0, WST_C2S, P | A, 1251, 5001, 100, MS);  /* overlaps 50 new bytes past 1301? no: 1251..1351 */
	assert_int_equal(fx->ev[4].type, WST_EV_TCP_DATA);
	assert_int_equal(fx->ev[5].type, WST_EV_TCP_RETRANSMIT);
	assert_int_equal(fx->ev[6].type, WST_EV_TCP_OUT_OF_ORDER);
	assert_int_equal(fx->ev[7].type, WST_EV_TCP_RETRANSMIT);
	assert_int_equal(fx->ev[8].type, WST_EV_TCP_DATA);
	assert_int_equal(tcp_tracker_stats(fx->t)->retransmits, 2);
	assert_int_equal(tcp_tracker_stats(fx->t)->out_of_order, 1);
	tcp_tracker_finish(fx->t, fx->now);
	/* New bytes: 100 + 100 + 50 (the overlap counts once). */
	assert_int_equal(fx->ev[fx->n - 1].ev.u.closed.bytes[WST_C2S], 250);
	fixture_free(fx);
}

static void test_sequence_wraparound(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	send_pkt(fx, 0, WST_C2S, S, 0xffffff00u, 0, 0, MS);
	send_pkt(fx, 0, WST_S2C, S | A, 5000, 0xffffff01u, 0, MS);
	send_pkt(fx, 0, WST_C2S, A, 0xffffff01u, 5001, 0, MS);
	send_pkt(fx, 0, WST_C2S, P | A, 0xffffff01u, 5001, 0x200, MS); /* wraps */
	send_pkt(fx, 0, WST_C2S, P | A, 0x101u, 5001, 0x10, MS);
	send_pkt(fx, 0, WST_C2S, P | A, 0xffffff01u, 5001, 0x200, MS);
	assert_int_equal(fx->ev[4].type, WST_EV_TCP_DATA);
	assert_int_equal(fx->ev[5].type, WST_EV_TCP_DATA);
	assert_int_equal(fx->ev[6].type, WST_EV_TCP_RETRANSMIT);
	fixture_free(fx);
}

static void test_handshake_timeout(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	send_pkt(fx, 0, WST_C2S, S, 1000, 0, 0, MS);
	tcp_tracker_expire(fx->t, fx->now + TCP_TRACK_DEFAULT_HANDSHAKE_TIMEOUT_NS - 1);
	assert_int_equal(fx->n, 1);
	tcp_tracker_expire(fx->t, fx->now + TCP_TRACK_DEFAULT_HANDSHAKE_TIMEOUT_NS);
	assert_int_equal(fx->n, 3);
	assert_int_equal(fx->ev[1].type, WST_EV_TCP_HANDSHAKE_TIMEOUT);
	assert_false(fx->ev[1].ev.u.timeout.synack_seen);
	assert_int_equal(fx->ev[2].type, WST_EV_TCP_CLOSED);
	assert_int_equal(tcp_tracker_stats(fx->t)->handshake_timeouts, 1);
	assert_int_equal(tcp_tracker_stats(fx->t)->handshake_incomplete, 0);
	assert_int_equal(tcp_tracker_active(fx->t), 0);
	fixture_free(fx);
}

static void test_idle_timeout(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	handshake(fx, 0);
	tcp_tracker_expire(fx->t, fx->now + TCP_TRACK_DEFAULT_IDLE_TIMEOUT_NS);
	assert_int_equal(fx->ev[fx->n - 1].type, WST_EV_TCP_CLOSED);
	assert_int_equal(fx->ev[fx->n - 1].ev.u.closed.reason, WST_CLOSE_IDLE);
	assert_int_equal(tcp_tracker_stats(fx->t)->idle_expired, 1);
	fixture_free(fx);
}

static void test_eviction_when_full(void **state)
{
	struct fixture *fx = fixture_new(4);
	uint64_t first_id;

	(void)state;
	for (int c = 0; c < 4; c++)
		handshake(fx, c);
	first_id = fx->ev[0].flow_id;
	assert_int_equal(tcp_tracker_active(fx->t), 4);
	/* Client 1 is active again, so client 0 is the least recent. */
	send_pkt(fx, 1, WST_C2S, P | A, 1001, 5001, 10, MS);
	fx->n = 0;
	handshake(fx, 4);
	assert_int_equal(fx->ev[0].type, WST_EV_TCP_CLOSED);
	assert_int_equal(fx->ev[0].flow_id, first_id);
	assert_int_equal(fx->ev[0].ev.u.closed.reason, WST_CLOSE_EVICTED);
	assert_int_equal(tcp_tracker_stats(fx->t)->evicted, 1);
	assert_int_equal(tcp_tracker_active(fx->t), 4);
	fixture_free(fx);
}

/* Data from client c, as a held-open connection sends it after its handshake. */
static void data_from(struct fixture *fx, int c)
{
	send_pkt(fx, c, WST_C2S, P | A, 1001, 5001, 18, MS);
}

/*
 * The rest of an evicted connection is counted as such, not taken for a
 * new mid-stream connection (which would evict another, and so on): each
 * connection is seen once and evicted once.
 */
static void test_eviction_tombstones(void **state)
{
	struct fixture *fx = fixture_new(4);
	const struct tcp_stats *st = tcp_tracker_stats(fx->t);

	(void)state;
	for (int c = 0; c < 8; c++)
		handshake(fx, c);
	assert_int_equal(st->evicted, 4);
	fx->n = 0;
	for (int c = 0; c < 8; c++)
		data_from(fx, c);
	/* Only the four tracked connections report their data. */
	assert_int_equal(fx->n, 4);
	send_pkt(fx, 0, WST_S2C, P | A, 5001, 1019, 30, MS);
	send_pkt(fx, 0, WST_C2S, F | A, 1019, 5031, 0, MS);
	assert_int_equal(fx->n, 4);
	assert_int_equal(st->flows, 8);
	assert_int_equal(st->midstream, 0);
	assert_int_equal(st->evicted, 4);
	assert_int_equal(st->evicted_packets, 6);
	assert_int_equal(tcp_tracker_active(fx->t), 4);
	/* A new SYN on an evicted tuple is a new connection. */
	fx->n = 0;
	handshake(fx, 0);
	data_from(fx, 0);
	assert_int_equal(st->flows, 9);
	assert_int_equal(st->evicted, 5);
	assert_int_equal(last(fx)->type, WST_EV_TCP_DATA);
	assert_true(last(fx)->ev.decode);
	assert_int_equal(st->evicted_packets, 6);
	fixture_free(fx);
}

/* Tombstones are bounded (FLOW_TOMBS_PER_FLOW per slot): the least recently
 * seen is forgotten first, counted, and its tuple looks new again. */
static void test_tombstones_bounded(void **state)
{
	struct fixture *fx = fixture_new(1);
	const struct tcp_stats *st = tcp_tracker_stats(fx->t);

	(void)state;
	for (int c = 0; c <= FLOW_TOMBS_PER_FLOW + 2; c++)
		handshake(fx, c);
	assert_int_equal(st->evicted, FLOW_TOMBS_PER_FLOW + 2);
	assert_int_equal(st->evicted_forgotten, 2);
	data_from(fx, 2);
	assert_int_equal(st->evicted_packets, 1);
	assert_int_equal(st->midstream, 0);
	data_from(fx, 0);
	assert_int_equal(st->midstream, 1);
	assert_int_equal(st->evicted_forgotten, 3);
	fixture_free(fx);
}

/* An evicted connection silent for the idle timeout is forgotten. */
static void test_tombstone_expiry(void **state)
{
	struct fixture *fx = fixture_new(1);
	const struct tcp_stats *st = tcp_tracker_stats(fx->t);

	(void)state;
	handshake(fx, 0);
	handshake(fx, 1);
	data_from(fx, 0);
	assert_int_equal(st->evicted_packets, 1);
	advance(fx, TCP_TRACK_DEFAULT_IDLE_TIMEOUT_NS);
	data_from(fx, 0);
	assert_int_equal(st->evicted_packets, 1);
	assert_int_equal(st->midstream, 1);
	assert_int_equal(st->evicted_forgotten, 0);
	fixture_free(fx);
}

/* Answered with a SYN-ACK but never completed: not a timeout of the SYN. */
static void test_handshake_incomplete(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	send_pkt(fx, 0, WST_C2S, S, 1000, 0, 0, MS);
	send_pkt(fx, 0, WST_S2C, S | A, 5000, 1001, 0, MS);
	advance(fx, TCP_TRACK_DEFAULT_HANDSHAKE_TIMEOUT_NS);
	assert_int_equal(fx->n, 4);
	assert_int_equal(fx->ev[2].type, WST_EV_TCP_HANDSHAKE_TIMEOUT);
	assert_true(fx->ev[2].ev.u.timeout.synack_seen);
	assert_int_equal(fx->ev[2].ev.u.timeout.waited_us, TCP_TRACK_DEFAULT_HANDSHAKE_TIMEOUT_NS / 1000 + 1000);
	assert_int_equal(tcp_tracker_stats(fx->t)->handshake_incomplete, 1);
	assert_int_equal(tcp_tracker_stats(fx->t)->handshake_timeouts, 0);
	fixture_free(fx);
}

static void test_port_reuse_is_new_flow(void **state)
{
	struct fixture *fx = fixture_new(0);
	uint64_t id1;

	(void)state;
	handshake(fx, 0);
	id1 = fx->ev[0].flow_id;
	send_pkt(fx, 0, WST_C2S, R, 1001, 0, 0, MS);
	send_pkt(fx, 0, WST_C2S, S, 77777, 0, 0, MS);
	assert_int_equal(fx->ev[fx->n - 1].type, WST_EV_TCP_SYN);
	assert_int_not_equal(fx->ev[fx->n - 1].flow_id, id1);
	assert_int_equal(tcp_tracker_stats(fx->t)->flows, 2);
	fixture_free(fx);
}

static void test_unwatched_ignored(void **state)
{
	struct fixture *fx = fixture_new(0);
	struct port_set other;
	char err[64];

	(void)state;
	assert_int_equal(ports_parse(&other, "8080", err, sizeof(err)), 0);
	tcp_tracker_set_ports(fx->t, &other);
	handshake(fx, 0);
	assert_int_equal(fx->n, 0);
	assert_int_equal(tcp_tracker_stats(fx->t)->not_watched, 3);
	fixture_free(fx);
}

static void test_ports_parse(void **state)
{
	struct port_set s;
	char err[160];
	char many[512] = "";

	(void)state;
	assert_int_equal(ports_parse(&s, "7272", err, sizeof(err)), 0);
	assert_int_equal(s.n, 1);
	assert_true(ports_has(&s, 7272));
	assert_false(ports_has(&s, 7273));
	assert_int_equal(ports_parse(&s, "1,65535,80,80", err, sizeof(err)), 0);
	assert_int_equal(s.n, 3);
	assert_true(ports_has(&s, 65535));
	assert_int_equal(ports_parse(&s, "0", err, sizeof(err)), -EINVAL);
	assert_int_equal(ports_parse(&s, "65536", err, sizeof(err)), -EINVAL);
	assert_int_equal(ports_parse(&s, "80,,81", err, sizeof(err)), -EINVAL);
	assert_int_equal(ports_parse(&s, "http", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'http'"));
	assert_int_equal(ports_parse(&s, "-1", err, sizeof(err)), -EINVAL);
	assert_int_equal(ports_parse(&s, "", err, sizeof(err)), -EINVAL);
	assert_int_equal(ports_parse(&s, "80,", err, sizeof(err)), -EINVAL);
	for (int i = 1; i <= 65; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%d", i > 1 ? "," : "", 1000 + i);
	assert_int_equal(ports_parse(&s, many, err, sizeof(err)), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal_handshake_and_fin),
		cmocka_unit_test(test_retransmitted_syn),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_rst_during_handshake_from_client),
		cmocka_unit_test(test_reset_established),
		cmocka_unit_test(test_reset_linger_other_side),
		cmocka_unit_test(test_reset_linger_ends_early),
		cmocka_unit_test(test_reset_immediate),
		cmocka_unit_test(test_reset_linger_new_syn),
		cmocka_unit_test(test_reset_linger_end_of_capture),
		cmocka_unit_test(test_reset_linger_not_extended),
		cmocka_unit_test(test_late_packets_after_close),
		cmocka_unit_test(test_app_leak_detected),
		cmocka_unit_test(test_simultaneous_open),
		cmocka_unit_test(test_fin_from_server_first),
		cmocka_unit_test(test_fin_without_last_ack_closes_after_linger),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_retransmit_and_out_of_order),
		cmocka_unit_test(test_sequence_wraparound),
		cmocka_unit_test(test_handshake_timeout),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_eviction_when_full),
		cmocka_unit_test(test_eviction_tombstones),
		cmocka_unit_test(test_tombstones_bounded),
		cmocka_unit_test(test_tombstone_expiry),
		cmocka_unit_test(test_handshake_incomplete),
		cmocka_unit_test(test_port_reuse_is_new_flow),
		cmocka_unit_test(test_unwatched_ignored),
		cmocka_unit_test(test_ports_parse),
	};

	return cmocka_run_group_tests_name("tcp_track", tests, NULL, NULL);
}
