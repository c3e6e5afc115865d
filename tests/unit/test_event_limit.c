// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests: the per-connection event limit in front of the outputs. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tracking/flow.h"
#include "sinks/event_limit.h"

#define SEC 1000000000ull

/* What reached the output. */
struct rec {
	uint64_t passed[WST_EV_MAX];
	uint64_t said[WST_EV_MAX];  /* counts in events_suppressed */
	int summaries;
	enum wst_event_type last;   /* type of the last event passed */
	enum wst_event_type before; /* and of the one before it */
};

static void on_out(void *ctx, const struct wst_event *ev)
{
	struct rec *r = ctx;

	if (ev->type == WST_EV_EVENTS_SUPPRESSED) {
		assert_non_null(ev->flow);
		assert_true(ev->u.suppressed.count > 0);
		assert_true(event_limit_applies(ev->u.suppressed.kind));
		r->said[ev->u.suppressed.kind] += ev->u.suppressed.count;
		r->summaries++;
	}
	r->passed[ev->type]++;
	r->before = r->last;
	r->last = ev->type;
}

static struct event_limit *new_limit(struct rec *r, uint32_t rate, uint32_t burst)
{
	struct event_limit_opts o = { .rate = rate, .burst = burst };
	struct event_limit *l;

	memset(r, 0, sizeof(*r));
	assert_int_equal(event_limit_new(&l, &o, (struct wst_sink){ on_out, r }), 0);
	return l;
}

static void send(struct event_limit *l, struct wst_flow *f, enum wst_event_type t, uint64_t ts)
{
	struct wst_event ev = { .type = t, .ts_ns = ts, .flow = f };

	event_limit_event(l, &ev);
}

static void test_bad_options(void **state)
{
	struct event_limit_opts o = { .rate = 0, .burst = 10 };
	struct event_limit *l;

	(void)state;
	assert_int_equal(event_limit_new(&l, &o, (struct wst_sink){ 0 }), -EINVAL);
	o = (struct event_limit_opts){ .rate = 10, .burst = 0 };
	assert_int_equal(event_limit_new(&l, &o, (struct wst_sink){ 0 }), -EINVAL);
	assert_int_equal(event_limit_new(&l, NULL, (struct wst_sink){ 0 }), -EINVAL);
}

/*
 * A burst, then the rate; the count is said before the next event of the
 * kind that is printed, and every event is either printed or counted.
 */
static void test_burst_rate_and_summary(void **state)
{
	struct wst_flow f = { .id = 1 };
	struct rec r;
	struct event_limit *l = new_limit(&r, 5, 10);

	(void)state;
	for (int i = 0; i < 100; i++)
		send(l, &f, WST_EV_WS_FRAME, 10 * SEC);
	assert_int_equal(r.passed[WST_EV_WS_FRAME], 10);
	assert_int_equal(event_limit_suppressed(l, WST_EV_WS_FRAME), 90);
	assert_int_equal(r.summaries, 0); /* nothing printed since */
	/* Other kinds and connections have their own buckets. */
	send(l, &f, WST_EV_WS_MESSAGE, 10 * SEC);
	assert_int_equal(r.passed[WST_EV_WS_MESSAGE], 1);
	assert_int_equal(r.summaries, 0); /* ws_frame has no token yet */
	/* A second later 5 tokens are back: the count, then the event. */
	send(l, &f, WST_EV_WS_FRAME, 11 * SEC);
	assert_int_equal(r.said[WST_EV_WS_FRAME], 90);
	assert_int_equal(r.before, WST_EV_EVENTS_SUPPRESSED);
	assert_int_equal(r.last, WST_EV_WS_FRAME);
	for (int i = 0; i < 10; i++)
		send(l, &f, WST_EV_WS_FRAME, 11 * SEC);
	assert_int_equal(r.passed[WST_EV_WS_FRAME], 15);
	assert_int_equal(event_limit_suppressed(l, WST_EV_WS_FRAME), 96);
	/* The connection ends: what is pending is said before it. */
	send(l, &f, WST_EV_TCP_CLOSED, 11 * SEC);
	assert_int_equal(r.last, WST_EV_TCP_CLOSED);
	assert_int_equal(r.said[WST_EV_WS_FRAME], 96);
	assert_int_equal(r.passed[WST_EV_WS_FRAME] + r.said[WST_EV_WS_FRAME], 111);
	assert_int_equal(event_limit_tracked(l), 0);
	event_limit_free(l);
}

/* Once-per-connection events always pass, and bring out the counts of
 * kinds whose tokens are back. */
static void test_connection_events_pass(void **state)
{
	struct wst_flow f = { .id = 7 }, g = { .id = 8 };
	struct rec r;
	struct event_limit *l = new_limit(&r, 1, 1);

	(void)state;
	send(l, &f, WST_EV_TCP_SYN, SEC);
	send(l, &f, WST_EV_TCP_SYN, SEC);
	for (int i = 0; i < 50; i++) {
		send(l, &f, WST_EV_TCP_ESTABLISHED, SEC);
		send(l, &f, WST_EV_WS_UPGRADE, SEC);
	}
	assert_int_equal(r.passed[WST_EV_TCP_ESTABLISHED], 50);
	assert_int_equal(r.passed[WST_EV_WS_UPGRADE], 50);
	assert_int_equal(r.passed[WST_EV_TCP_SYN], 1);
	/* Another connection is not affected. */
	send(l, &g, WST_EV_TCP_SYN, SEC);
	assert_int_equal(r.passed[WST_EV_TCP_SYN], 2);
	/* Two seconds on, a connection event brings out the SYN count. */
	send(l, &f, WST_EV_WS_ESTABLISHED, 3 * SEC);
	assert_int_equal(r.said[WST_EV_TCP_SYN], 1);
	assert_int_equal(r.last, WST_EV_WS_ESTABLISHED);
	/* tcp_closed, then ws_session_end: each forgets the connection. */
	send(l, &f, WST_EV_TCP_CLOSED, 3 * SEC);
	send(l, &f, WST_EV_WS_GAP, 3 * SEC);
	assert_int_equal(r.passed[WST_EV_WS_GAP], 1);
	send(l, &f, WST_EV_WS_SESSION_END, 3 * SEC);
	send(l, &g, WST_EV_TCP_CLOSED, 3 * SEC);
	assert_int_equal(event_limit_tracked(l), 0);
	event_limit_free(l);
}

/* Time stamps that step back refill nothing; events without a flow pass. */
static void test_time_backwards(void **state)
{
	struct wst_flow f = { .id = 3 };
	struct wst_event noflow = { .type = WST_EV_WS_FRAME };
	struct rec r;
	struct event_limit *l = new_limit(&r, 1000, 2);

	(void)state;
	send(l, &f, WST_EV_TCP_DATA, 100 * SEC);
	send(l, &f, WST_EV_TCP_DATA, 100 * SEC);
	send(l, &f, WST_EV_TCP_DATA, 50 * SEC);
	send(l, &f, WST_EV_TCP_DATA, 99 * SEC);
	assert_int_equal(r.passed[WST_EV_TCP_DATA], 2);
	assert_int_equal(event_limit_suppressed(l, WST_EV_TCP_DATA), 2);
	event_limit_event(l, &noflow);
	assert_int_equal(r.passed[WST_EV_WS_FRAME], 1);
	event_limit_free(l); /* with state held: freed (ASan checks) */
}

/*
 * Many connections: state for idle ones whose buckets are full again is
 * dropped, so the table follows the connections that print lately, not
 * all that ever did; one with a count to say is kept until it is said.
 */
static void test_idle_connections_forgotten(void **state)
{
	static struct wst_flow f[20000];
	struct wst_flow busy = { .id = 999999 };
	struct rec r;
	struct event_limit *l = new_limit(&r, 100, 100);

	(void)state;
	for (int i = 0; i < 102; i++)
		send(l, &busy, WST_EV_WS_PING, SEC);
	assert_int_equal(event_limit_suppressed(l, WST_EV_WS_PING), 2);
	/* 20000 connections, one event each, 10 ms apart: 200 seconds. */
	for (int i = 0; i < 20000; i++) {
		f[i].id = (uint64_t)i + 1;
		send(l, &f[i], WST_EV_TCP_SYN, 2 * SEC + (uint64_t)i * (SEC / 100));
	}
	assert_int_equal(r.passed[WST_EV_TCP_SYN], 20000);
	assert_true(event_limit_tracked(l) < 2500);
	/* The busy one still says its count, at its end. */
	send(l, &busy, WST_EV_TCP_CLOSED, 300 * SEC);
	assert_int_equal(r.said[WST_EV_WS_PING], 2);
	event_limit_free(l);
}

/* -q: nothing is printed, but connections are still forgotten at their end. */
static void test_forget(void **state)
{
	struct wst_flow f = { .id = 5 };
	struct wst_event end = { .type = WST_EV_WS_SESSION_END, .flow = &f };
	struct wst_event data = { .type = WST_EV_TCP_DATA, .flow = &f };
	struct rec r;
	struct event_limit *l = new_limit(&r, 10, 10);

	(void)state;
	send(l, &f, WST_EV_TCP_DATA, SEC);
	assert_int_equal(event_limit_tracked(l), 1);
	event_limit_forget(l, &data);
	assert_int_equal(event_limit_tracked(l), 1);
	event_limit_forget(l, &end);
	assert_int_equal(event_limit_tracked(l), 0);
	assert_int_equal(r.passed[WST_EV_WS_SESSION_END], 0);
	event_limit_free(l);
}

/* The kinds limited: what a peer can repeat, not what happens once. */
static void test_applies(void **state)
{
	(void)state;
	for (int t = WST_EV_TCP_SYN; t <= WST_EV_TCP_RST; t++)
		assert_true(event_limit_applies(t));
	assert_true(event_limit_applies(WST_EV_WS_FRAME));
	assert_true(event_limit_applies(WST_EV_WS_VIOLATION));
	assert_false(event_limit_applies(WST_EV_TCP_CLOSED));
	assert_false(event_limit_applies(WST_EV_WS_UPGRADE));
	assert_false(event_limit_applies(WST_EV_WS_SESSION_END));
	assert_false(event_limit_applies(WST_EV_EVENTS_SUPPRESSED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_burst_rate_and_summary),
		cmocka_unit_test(test_connection_events_pass),
		cmocka_unit_test(test_time_backwards),
		cmocka_unit_test(test_idle_connections_forgotten),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_applies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
