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

#include "ports.h"
#include "tcp_track.h"

#define CLIENT_PORT 50000
#define SERVER_PORT 7272
#define MS 1000000ULL

struct seen {
	enum wst_event_type type;
	enum wst_flow_dir dir;
	uint64_t flow_id;
	struct wst_event ev;
};

struct fixture {
	struct port_set ports;
	struct tcp_tracker *t;
	struct seen ev[256];
	int n;
	uint64_t now;
};

static void collect(void *ctx, const struct wst_event *ev)
{
	struct fixture *fx = ctx;

	assert_true(fx->n < 256);
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
	tcp_tracker_free(fx->t);
	free(fx);
}

/* Sends one packet; client index picks the client port (several flows). */
static void send_pkt(struct fixture *fx, int client, enum wst_flow_dir dir, uint8_t flags,
		     uint32_t seq, uint32_t ack, uint32_t len, uint64_t after_ns)
{
	struct wst_packet p;
	static const uint8_t payload[1] = { 0 };
	uint8_t caddr[4] = { 10, 0, 0, 1 }, saddr[4] = { 10, 0, 0, 2 };
	uint16_t cport = CLIENT_PORT + client;

	memset(&p, 0, sizeof(p));
	fx->now += after_ns;
	p.r.version = WST_RECORD_VERSION;
	p.r.hdr_len = sizeof(p.r);
	p.r.ts_ns = fx->now;
	p.r.family = 4;
	p.r.tcp_flags = flags;
	p.r.seq = seq;
	p.r.ack = ack;
	p.r.window = 512;
	p.r.payload_len = len;
	p.payload = payload;
	if (dir == WST_C2S) {
		memcpy(p.r.saddr, caddr, 4);
		memcpy(p.r.daddr, saddr, 4);
		p.r.sport = cport;
		p.r.dport = SERVER_PORT;
	} else {
		memcpy(p.r.saddr, saddr, 4);
		memcpy(p.r.daddr, caddr, 4);
		p.r.sport = SERVER_PORT;
		p.r.dport = cport;
	}
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

static void test_reset_established(void **state)
{
	struct fixture *fx = fixture_new(0);

	(void)state;
	handshake(fx, 0);
	send_pkt(fx, 0, WST_S2C, R | A, 5001, 1001, 0, MS);
	assert_int_equal(fx->ev[4].type, WST_EV_TCP_RST);
	assert_int_equal(fx->ev[4].dir, WST_S2C);
	assert_int_equal(fx->ev[5].type, WST_EV_TCP_CLOSED);
	assert_int_equal(fx->ev[5].ev.u.closed.reason, WST_CLOSE_RST);
	/* A late packet on the reset flow belongs to it and closes nothing again. */
	send_pkt(fx, 0, WST_C2S, A, 1001, 5001, 0, MS);
	assert_int_equal(fx->n, 7);
	assert_int_equal(fx->ev[6].flow_id, fx->ev[0].flow_id);
	assert_int_equal(tcp_tracker_stats(fx->t)->closed, 1);
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
	assert_int_equal(fx->ev[2].type, WST_EV_TCP_CLOSED);
	assert_int_equal(tcp_tracker_stats(fx->t)->handshake_timeouts, 1);
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
		cmocka_unit_test(test_simultaneous_open),
		cmocka_unit_test(test_fin_from_server_first),
		cmocka_unit_test(test_fin_without_last_ack_closes_after_linger),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_retransmit_and_out_of_order),
		cmocka_unit_test(test_sequence_wraparound),
		cmocka_unit_test(test_handshake_timeout),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_eviction_when_full),
		cmocka_unit_test(test_port_reuse_is_new_flow),
		cmocka_unit_test(test_unwatched_ignored),
		cmocka_unit_test(test_ports_parse),
	};

	return cmocka_run_group_tests_name("tcp_track", tests, NULL, NULL);
}
