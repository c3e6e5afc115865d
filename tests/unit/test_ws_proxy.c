// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests: a PROXY protocol header before the upgrade request, through
 * the TCP tracker and the WebSocket layer. Its source address becomes the
 * upgrade's forwarded_for, the request after it is decoded as usual, with
 * the header and the request split at every offset into two segments; a
 * proxy header in the request wins over nothing, a Forwarded header is used
 * without one; a malformed PROXY header is a proxy_protocol violation and
 * the connection is not decoded further.
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
#include "pipeline.h"
#include "recorder.h"

static char seen_fwd[64];
static int n_upgrades;

static void on_also(void *ctx, const struct wst_event *ev)
{
	(void)ctx;
	if (ev->type != WST_EV_WS_UPGRADE)
		return;
	n_upgrades++;
	snprintf(seen_fwd, sizeof(seen_fwd), "%s", ev->u.upgrade.forwarded_for ? ev->u.upgrade.forwarded_for : "");
}

/* A connection whose client sends head (cut at split) then the server's 101 and one frame. */
static void run(struct recorder *r, const uint8_t *head, size_t n, size_t split)
{
	struct pipeline p;

	rec_init(r);
	r->also = on_also;
	seen_fwd[0] = 0;
	n_upgrades = 0;
	pipe_init(&p, rec_sink(r), NULL, NULL);
	pipe_pkt(&p, WST_C2S, WST_TCP_SYN, NULL, 0);
	pipe_pkt(&p, WST_S2C, WST_TCP_SYN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&p, WST_C2S, WST_TCP_ACK, NULL, 0);
	if (split)
		pipe_pkt(&p, WST_C2S, WST_TCP_PSH | WST_TCP_ACK, head, (uint32_t)split);
	if (n > split)
		pipe_pkt(&p, WST_C2S, WST_TCP_PSH | WST_TCP_ACK, head + split, (uint32_t)(n - split));
	pipe_pkt(&p, WST_S2C, WST_TCP_PSH | WST_TCP_ACK, pipe_response, sizeof(pipe_response) - 1);
	pipe_frame(&p, WST_C2S, WS_OP_TEXT, "hi", 2);
	tcp_tracker_finish(p.t, 0); /* the session ends and is freed, as at a capture's end */
	pipe_free(&p);
}

static size_t with_request(uint8_t *buf, const void *hdr, size_t hn, const char *req)
{
	memcpy(buf, hdr, hn);
	memcpy(buf + hn, req, strlen(req));
	return hn + strlen(req);
}

static void test_proxy_v2_every_split(void **state)
{
	static const uint8_t v2[28] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
					0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c, 203, 0, 113, 7,
					10, 0, 0, 2, 0x9c, 0x40, 0x1c, 0x68 };
	uint8_t buf[1024];
	size_t n = with_request(buf, v2, sizeof(v2), pipe_request);
	struct recorder r;

	(void)state;
	for (size_t split = 0; split <= n; split++) {
		run(&r, buf, n, split);
		if (n_upgrades != 1 || strcmp(seen_fwd, "203.0.113.7") || rec_count(&r, WST_EV_WS_VIOLATION) ||
		    rec_count(&r, WST_EV_WS_MESSAGE) + rec_count(&r, WST_EV_WS_FRAME) < 1) {
			print_error("split %zu: %d upgrades, for=%s, %d violations\n", split, n_upgrades, seen_fwd,
				    rec_count(&r, WST_EV_WS_VIOLATION));
			fail();
		}
		assert_int_equal(rec_count(&r, WST_EV_WS_ESTABLISHED), 1);
		rec_free(&r);
	}
}

static void test_proxy_v1_and_headers(void **state)
{
	static const char v1[] = "PROXY TCP4 198.51.100.44 10.0.0.2 40000 7272\r\n";
	static const char fwd_req[] =
		"GET / HTTP/1.1\r\nHost: 127.0.0.1:7272\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Forwarded: for=\"[2001:db8::7]:4711\"\r\nSec-WebSocket-Version: 13\r\n\r\n";
	uint8_t buf[1024];
	struct recorder r;
	size_t n;

	(void)state;
	n = with_request(buf, v1, sizeof(v1) - 1, pipe_request);
	run(&r, buf, n, 0);
	assert_int_equal(n_upgrades, 1);
	assert_string_equal(seen_fwd, "198.51.100.44");
	rec_free(&r);
	/* both: the proxy's own header wins over what the request says */
	n = with_request(buf, v1, sizeof(v1) - 1, fwd_req);
	run(&r, buf, n, 0);
	assert_string_equal(seen_fwd, "198.51.100.44");
	rec_free(&r);
	n = with_request(buf, "", 0, fwd_req);
	run(&r, buf, n, 0);
	assert_string_equal(seen_fwd, "2001:db8::7");
	rec_free(&r);
	/* no proxy at all: nothing */
	n = with_request(buf, "", 0, pipe_request);
	run(&r, buf, n, 0);
	assert_int_equal(n_upgrades, 1);
	assert_string_equal(seen_fwd, "");
	assert_int_equal(rec_count(&r, WST_EV_WS_VIOLATION), 0);
	rec_free(&r);
}

static void test_bad_proxy_header(void **state)
{
	static const char bad[] = "PROXY TCP9 198.51.100.44 10.0.0.2 40000 7272\r\n";
	uint8_t buf[1024];
	size_t n = with_request(buf, bad, sizeof(bad) - 1, pipe_request);
	struct recorder r;
	int i;

	(void)state;
	run(&r, buf, n, 0);
	assert_int_equal(n_upgrades, 0);
	i = rec_find(&r, 0, WST_EV_WS_VIOLATION, WST_C2S);
	assert_true(i >= 0);
	assert_int_equal(r.ev[i].ev.u.violation.kind, WS_VIOL_PROXY_PROTOCOL);
	assert_int_equal(rec_count(&r, WST_EV_WS_ESTABLISHED), 0);
	rec_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxy_v2_every_split),
		cmocka_unit_test(test_proxy_v1_and_headers),
		cmocka_unit_test(test_bad_proxy_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
