// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Exporter tests: events built as the TCP tracker and the WebSocket layer
 * build them, then exact sample lines of the exposition; snapshots through
 * exporter_update() and the collect callback; the json-key count and its
 * bound; the exposition checked by promtool when it is installed.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "core/ports.h"
#include "tracking/flow.h"
#include "tracking/tcp_track.h"
#include "protocol/http_upgrade.h"
#include "protocol/ws_accept.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_message.h"
#include "session/ws_session.h"
#include "sinks/exporter.h"
#include "pipeline.h"

struct fixture {
	struct exporter *e;
	struct wst_flow flow[4];
	struct wst_packet pkt;
	char *text;
};

static struct exporter *new_exporter(const char *json_key, int max_values, bool no_kernel)
{
	struct exporter_opts o = {
		.json_key = json_key,
		.json_key_max_values = max_values,
		.version = "1.2.3",
		.no_kernel = no_kernel,
	};
	struct exporter *e = NULL;

	assert_int_equal(exporter_new(&e, &o), 0);
	assert_non_null(e);
	return e;
}

static char *render(struct exporter *e)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(exporter_render(e, &buf, &len), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

/* Whether buf holds exactly this line. */
static bool has_line(const char *buf, const char *line)
{
	size_t n = strlen(line);
	const char *p = buf;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == buf || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

/* On a miss, shows the samples of the same metric for the diagnosis. */
static void show_samples(const char *buf, const char *line)
{
	size_t n = strcspn(line, "{ ");
	const char *p = buf;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len >= n && strncmp(p, line, n) == 0)
			print_message("  have: %.*s\n", (int)len, p);
		p += len + (eol ? 1 : 0);
	}
}

#define assert_line(buf, line)                                              \
	do {                                                                \
		if (!has_line((buf), (line))) {                             \
			show_samples((buf), (line));                        \
			fail_msg("missing line: %s", (line));               \
		}                                                           \
	} while (0)

static void event(struct exporter *e, enum wst_event_type type, struct wst_flow *f,
		  enum wst_flow_dir dir, const struct wst_packet *pkt)
{
	struct wst_event ev = { .type = type, .ts_ns = 1, .flow = f, .dir = dir, .pkt = pkt };

	exporter_event(e, &ev);
}

static void send_event(struct exporter *e, struct wst_event *ev, enum wst_event_type type,
		       enum wst_flow_dir dir, struct wst_flow *f)
{
	ev->type = type;
	ev->ts_ns = 1;
	ev->dir = dir;
	ev->flow = f;
	exporter_event(e, ev);
}

static void frame(struct exporter *e, struct wst_flow *f, enum wst_flow_dir dir,
		  uint8_t opcode, uint64_t len)
{
	struct ws_frame_header h = { .fin = true, .opcode = opcode, .payload_len = len,
				     .masked = dir == WST_C2S };
	struct wst_event ev = { .u.frame = { .h = &h, .kept = 0 } };

	send_event(e, &ev, WST_EV_WS_FRAME, dir, f);
}

static void message(struct exporter *e, struct wst_flow *f, enum wst_flow_dir dir,
		    uint8_t opcode, const char *data, size_t len)
{
	struct ws_message_info mi = {
		.opcode = opcode, .data = (const uint8_t *)data, .kept = len,
		.total_len = len, .wire_len = len, .frames = 1, .utf8_valid = true,
	};
	struct wst_event ev = { .u.message = &mi };

	send_event(e, &ev, WST_EV_WS_MESSAGE, dir, f);
}

static void text(struct exporter *e, enum wst_flow_dir dir, const char *s)
{
	message(e, NULL, dir, WS_OP_TEXT, s, strlen(s));
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	for (int i = 0; i < 4; i++)
		fx->flow[i].id = (uint64_t)i + 1;
	fx->e = new_exporter(NULL, 0, false);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	exporter_free(fx->e);
	free(fx->text);
	free(fx);
	return 0;
}

static void test_build_info_and_start(void **state)
{
	struct fixture *fx = *state;
	const char *p;
	double t;

	fx->text = render(fx->e);
	assert_line(fx->text, "wstrace_build_info{version=\"1.2.3\"} 1");
	assert_line(fx->text, "# TYPE wstrace_start_time_seconds gauge");
	p = strstr(fx->text, "\nwstrace_start_time_seconds ");
	assert_non_null(p);
	t = strtod(p + strlen("\nwstrace_start_time_seconds "), NULL);
	assert_true(fabs(t - (double)time(NULL)) < 60);
	/* Nothing counted yet: zero samples exist for every fixed series. */
	assert_line(fx->text, "wstrace_ws_frames_total{dir=\"s2c\",opcode=\"reserved\",transport=\"ws\"} 0");
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"1015\",initiator=\"server\"} 0");
	assert_line(fx->text, "wstrace_ws_upgrades_total{status=\"other\",transport=\"ws\"} 0");
	assert_line(fx->text, "wstrace_packets_total{direction=\"egress\"} 0");
	/* No json key: no app families. */
	assert_null(strstr(fx->text, "wstrace_ws_app_messages"));
}

static void test_tcp_events(void **state)
{
	struct fixture *fx = *state;
	struct exporter *e = fx->e;
	struct wst_flow *a = &fx->flow[0], *b = &fx->flow[1], *c = &fx->flow[2];
	struct wst_packet data = { .r = { .payload_len = 52, .cap_len = 52 } };
	struct wst_packet reply = { .r = { .payload_len = 1400 } };
	struct wst_event ev = { 0 };

	/* A three-way handshake (38us), data both ways, a retransmission. */
	event(e, WST_EV_TCP_SYN, a, WST_C2S, &fx->pkt);
	event(e, WST_EV_TCP_SYNACK, a, WST_S2C, &fx->pkt);
	event(e, WST_EV_TCP_ACK, a, WST_C2S, &fx->pkt);
	ev.u.established.handshake_us = 38;
	send_event(e, &ev, WST_EV_TCP_ESTABLISHED, WST_C2S, a);
	event(e, WST_EV_TCP_DATA, a, WST_C2S, &data);
	event(e, WST_EV_TCP_DATA, a, WST_S2C, &reply);
	event(e, WST_EV_TCP_RETRANSMIT, a, WST_S2C, &reply);
	event(e, WST_EV_TCP_OUT_OF_ORDER, a, WST_C2S, &data);
	/* A second handshake, slower (3 ms). */
	ev.u.established.handshake_us = 3000;
	send_event(e, &ev, WST_EV_TCP_ESTABLISHED, WST_C2S, c);

	/* Refused: RST from the server, then its tcp_closed (rst). */
	event(e, WST_EV_TCP_SYN, b, WST_C2S, &fx->pkt);
	event(e, WST_EV_TCP_RST, b, WST_S2C, &fx->pkt);
	event(e, WST_EV_TCP_REFUSED, b, WST_S2C, &fx->pkt);
	memset(&ev, 0, sizeof(ev));
	ev.u.closed.reason = WST_CLOSE_RST;
	send_event(e, &ev, WST_EV_TCP_CLOSED, WST_S2C, b);
	/* An established connection reset: a reset. */
	event(e, WST_EV_TCP_RST, a, WST_C2S, &fx->pkt);
	send_event(e, &ev, WST_EV_TCP_CLOSED, WST_C2S, a);
	/* Other endings. */
	ev.u.closed.reason = WST_CLOSE_FIN;
	send_event(e, &ev, WST_EV_TCP_CLOSED, WST_C2S, c);
	ev.u.closed.reason = WST_CLOSE_EVICTED;
	send_event(e, &ev, WST_EV_TCP_CLOSED, WST_C2S, c);
	ev.u.closed.reason = WST_CLOSE_IDLE;
	send_event(e, &ev, WST_EV_TCP_CLOSED, WST_C2S, c);
	ev.u.closed.reason = WST_CLOSE_END;
	send_event(e, &ev, WST_EV_TCP_CLOSED, WST_C2S, c);
	send_event(e, &ev, WST_EV_TCP_CLOSED, WST_C2S, c);
	memset(&ev, 0, sizeof(ev));
	ev.u.timeout.waited_us = 20000000;
	send_event(e, &ev, WST_EV_TCP_HANDSHAKE_TIMEOUT, WST_C2S, c);
	/* Answered with a SYN-ACK, the final ACK never came: incomplete. */
	ev.u.timeout.synack_seen = true;
	send_event(e, &ev, WST_EV_TCP_HANDSHAKE_TIMEOUT, WST_C2S, c);
	send_event(e, &ev, WST_EV_TCP_HANDSHAKE_TIMEOUT, WST_C2S, c);

	fx->text = render(e);
	assert_line(fx->text, "wstrace_tcp_packets_total{dir=\"c2s\"} 6");
	assert_line(fx->text, "wstrace_tcp_packets_total{dir=\"s2c\"} 4");
	assert_line(fx->text, "wstrace_tcp_payload_bytes_total{dir=\"c2s\"} 104");
	assert_line(fx->text, "wstrace_tcp_payload_bytes_total{dir=\"s2c\"} 2800");
	assert_line(fx->text, "wstrace_tcp_handshakes_total{outcome=\"established\"} 2");
	assert_line(fx->text, "wstrace_tcp_handshakes_total{outcome=\"refused\"} 1");
	assert_line(fx->text, "wstrace_tcp_handshakes_total{outcome=\"timeout\"} 1");
	assert_line(fx->text, "wstrace_tcp_handshakes_total{outcome=\"incomplete\"} 2");
	assert_line(fx->text, "wstrace_tcp_handshake_seconds_bucket{le=\"5e-05\"} 1");
	assert_line(fx->text, "wstrace_tcp_handshake_seconds_bucket{le=\"0.0025\"} 1");
	assert_line(fx->text, "wstrace_tcp_handshake_seconds_bucket{le=\"0.005\"} 2");
	assert_line(fx->text, "wstrace_tcp_handshake_seconds_bucket{le=\"+Inf\"} 2");
	assert_line(fx->text, "wstrace_tcp_handshake_seconds_count 2");
	assert_line(fx->text, "wstrace_tcp_handshake_seconds_sum 0.003038");
	assert_line(fx->text, "wstrace_tcp_resets_total 1");
	assert_line(fx->text, "wstrace_tcp_connections_closed_total{reason=\"rst\"} 2");
	assert_line(fx->text, "wstrace_tcp_connections_closed_total{reason=\"fin\"} 1");
	assert_line(fx->text, "wstrace_tcp_connections_closed_total{reason=\"idle\"} 1");
	assert_line(fx->text, "wstrace_tcp_connections_closed_total{reason=\"evicted\"} 1");
	assert_line(fx->text, "wstrace_tcp_connections_closed_total{reason=\"end\"} 2");
	assert_line(fx->text, "wstrace_tcp_connections_closed_total{reason=\"other\"} 0");
	assert_line(fx->text, "wstrace_flows_evicted_total 1");
	assert_line(fx->text, "wstrace_tcp_retransmits_total 1");
	assert_line(fx->text, "wstrace_tcp_out_of_order_total 1");
	/* Kernel families are only set by snapshots. */
	assert_line(fx->text, "wstrace_tcp_flags_total{flag=\"rst\"} 0");
}

static void test_upgrades(void **state)
{
	struct fixture *fx = *state;
	struct exporter *e = fx->e;
	struct http_request req = { .upgrade_attempt = true, .is_upgrade = true };
	struct http_response ok = { .minor_version = 1, .status = 101 };
	struct http_response resp = { .minor_version = 1 };
	static const int failed[] = { 400, 401, 403, 403, 404, 426, 500, 502, 503, 418, 200, 999 };
	struct wst_event ev = { 0 };

	ev.u.upgrade.req = &req;
	send_event(e, &ev, WST_EV_WS_UPGRADE, WST_C2S, &fx->flow[0]);
	send_event(e, &ev, WST_EV_HTTP_REQUEST, WST_C2S, &fx->flow[1]);
	memset(&ev, 0, sizeof(ev));
	ev.u.response.resp = &ok;
	ev.u.response.request_seen = true;
	ev.u.response.latency_us = 568;
	ev.u.response.accept = WST_ACCEPT_OK;
	send_event(e, &ev, WST_EV_WS_ESTABLISHED, WST_S2C, &fx->flow[0]);
	/* Request not seen (picked up after it): no latency. */
	ev.u.response.request_seen = false;
	ev.u.response.latency_us = 0;
	send_event(e, &ev, WST_EV_WS_ESTABLISHED, WST_S2C, &fx->flow[2]);
	ev.u.response.resp = &resp;
	ev.u.response.request_seen = true;
	ev.u.response.latency_us = 20000;
	ev.u.response.accept = WST_ACCEPT_UNCHECKED;
	for (size_t i = 0; i < sizeof(failed) / sizeof(failed[0]); i++) {
		resp.status = failed[i];
		send_event(e, &ev, WST_EV_WS_UPGRADE_FAILED, WST_S2C, &fx->flow[3]);
	}
	ev.u.response.resp = NULL; /* defensive: no response struct */
	send_event(e, &ev, WST_EV_WS_UPGRADE_FAILED, WST_S2C, &fx->flow[3]);

	fx->text = render(e);
	assert_line(fx->text, "wstrace_ws_upgrade_requests_total{transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_http_requests_total 1");
	assert_line(fx->text, "wstrace_ws_upgrades_total{status=\"101\",transport=\"ws\"} 2");
	assert_line(fx->text, "wstrace_ws_upgrades_total{status=\"400\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_upgrades_total{status=\"403\",transport=\"ws\"} 2");
	assert_line(fx->text, "wstrace_ws_upgrades_total{status=\"426\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_upgrades_total{status=\"503\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_upgrades_total{status=\"other\",transport=\"ws\"} 4");
	assert_line(fx->text, "wstrace_ws_upgrade_seconds_count 14");
	assert_line(fx->text, "wstrace_ws_upgrade_seconds_bucket{le=\"0.001\"} 1");
	assert_line(fx->text, "wstrace_ws_upgrade_seconds_bucket{le=\"0.01\"} 1");
	assert_line(fx->text, "wstrace_ws_upgrade_seconds_bucket{le=\"0.025\"} 14");
}

static void test_frames_and_messages(void **state)
{
	struct fixture *fx = *state;
	struct exporter *e = fx->e;
	struct wst_flow *f = &fx->flow[0];
	struct ws_message_info mi = { .opcode = WS_OP_TEXT, .total_len = 0, .wire_len = 300,
				      .compressed = true, .inflated = false, .frames = 1 };
	struct wst_event ev = { .u.message = &mi };
	static const char login[] = "{\"type\":\"login\",\"client_name\":\"mynick\",\"room_id\":\"1\"}";

	frame(e, f, WST_C2S, WS_OP_TEXT, 52);
	frame(e, f, WST_C2S, WS_OP_TEXT, 77);
	frame(e, f, WST_C2S, WS_OP_TEXT, 15);
	frame(e, f, WST_S2C, WS_OP_TEXT, 200);
	frame(e, f, WST_S2C, WS_OP_BINARY, 70000);
	frame(e, f, WST_C2S, WS_OP_CONT, 1);
	frame(e, f, WST_C2S, WS_OP_PING, 4);
	frame(e, f, WST_S2C, WS_OP_PONG, 4);
	frame(e, f, WST_S2C, WS_OP_CLOSE, 2);
	frame(e, f, WST_C2S, 0x3, 0);
	frame(e, f, WST_C2S, 0xb, 0);
	frame(e, f, WST_C2S, 0xf, 0);

	message(e, f, WST_C2S, WS_OP_TEXT, login, strlen(login)); /* 53 bytes */
	message(e, f, WST_C2S, WS_OP_TEXT, "x", 1);
	message(e, f, WST_S2C, WS_OP_BINARY, NULL, 0);
	message(e, f, WST_S2C, WS_OP_CONT, NULL, 0);   /* first frame not seen */
	/* Compressed but not inflated: counted, its size unknown. */
	send_event(e, &ev, WST_EV_WS_MESSAGE, WST_S2C, f);
	/* Incomplete: counted, size not observed. */
	mi.compressed = false;
	mi.incomplete = true;
	mi.total_len = 100;
	send_event(e, &ev, WST_EV_WS_MESSAGE, WST_S2C, f);
	/* Inflated: the inflated size. */
	mi.compressed = mi.inflated = true;
	mi.incomplete = false;
	mi.total_len = 5000;
	send_event(e, &ev, WST_EV_WS_MESSAGE, WST_S2C, f);
	/* Defensive: no header, no message. */
	ev.u.frame.h = NULL;
	send_event(e, &ev, WST_EV_WS_FRAME, WST_C2S, f);
	ev.u.message = NULL;
	send_event(e, &ev, WST_EV_WS_MESSAGE, WST_C2S, f);

	fx->text = render(e);
	assert_line(fx->text, "wstrace_ws_frames_total{dir=\"c2s\",opcode=\"text\",transport=\"ws\"} 3");
	assert_line(fx->text, "wstrace_ws_frames_total{dir=\"s2c\",opcode=\"text\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_frames_total{dir=\"s2c\",opcode=\"binary\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_frames_total{dir=\"c2s\",opcode=\"continuation\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_frames_total{dir=\"c2s\",opcode=\"ping\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_frames_total{dir=\"s2c\",opcode=\"pong\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_frames_total{dir=\"s2c\",opcode=\"close\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_frames_total{dir=\"c2s\",opcode=\"reserved\",transport=\"ws\"} 3");
	assert_line(fx->text, "wstrace_ws_frames_total{dir=\"c2s\",opcode=\"close\",transport=\"ws\"} 0");
	assert_line(fx->text, "wstrace_ws_frame_payload_bytes_total{dir=\"c2s\",transport=\"ws\"} 149");
	assert_line(fx->text, "wstrace_ws_frame_payload_bytes_total{dir=\"s2c\",transport=\"ws\"} 70206");

	assert_line(fx->text, "wstrace_ws_messages_total{dir=\"c2s\",type=\"text\",transport=\"ws\"} 2");
	assert_line(fx->text, "wstrace_ws_messages_total{dir=\"s2c\",type=\"text\",transport=\"ws\"} 3");
	assert_line(fx->text, "wstrace_ws_messages_total{dir=\"s2c\",type=\"binary\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_messages_total{dir=\"s2c\",type=\"unknown\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_messages_total{dir=\"c2s\",type=\"binary\",transport=\"ws\"} 0");
	assert_line(fx->text, "wstrace_ws_message_bytes_bucket{dir=\"c2s\",type=\"text\",transport=\"ws\",le=\"16\"} 1");
	assert_line(fx->text, "wstrace_ws_message_bytes_bucket{dir=\"c2s\",type=\"text\",transport=\"ws\",le=\"64\"} 2");
	assert_line(fx->text, "wstrace_ws_message_bytes_count{dir=\"c2s\",type=\"text\",transport=\"ws\"} 2");
	assert_line(fx->text, "wstrace_ws_message_bytes_sum{dir=\"c2s\",type=\"text\",transport=\"ws\"} 54");
	assert_line(fx->text, "wstrace_ws_message_bytes_count{dir=\"s2c\",type=\"text\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_message_bytes_sum{dir=\"s2c\",type=\"text\",transport=\"ws\"} 5000");
	assert_line(fx->text, "wstrace_ws_message_bytes_bucket{dir=\"s2c\",type=\"text\",transport=\"ws\",le=\"4096\"} 0");
	assert_line(fx->text, "wstrace_ws_message_bytes_bucket{dir=\"s2c\",type=\"text\",transport=\"ws\",le=\"16384\"} 1");
	assert_line(fx->text, "wstrace_ws_message_bytes_count{dir=\"s2c\",type=\"binary\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_message_bytes_bucket{dir=\"s2c\",type=\"binary\",transport=\"ws\",le=\"16\"} 1");
}

static void control(struct exporter *e, struct wst_flow *f, enum wst_event_type type,
		    enum wst_flow_dir dir, const struct ws_control_info *c, int64_t rtt,
		    enum wst_initiator initiator)
{
	struct wst_event ev = { .u.control = { .c = c, .rtt_us = rtt, .initiator = initiator } };

	send_event(e, &ev, type, dir, f);
}

static void test_closes_and_pings(void **state)
{
	struct fixture *fx = *state;
	struct exporter *e = fx->e;
	struct wst_flow *f = &fx->flow[0];
	uint8_t p1000[] = { 0x03, 0xe8 }, p4001[] = { 0x0f, 0xa1, 'b', 'y', 'e' };
	uint8_t p1005[] = { 0x03, 0xed }, p999[] = { 0x03, 0xe7 }, p1001[] = { 0x03, 0xe9 };
	struct ws_control_info c = { .opcode = WS_OP_CLOSE, .close_parsed = true,
				     .close_valid = true };
	struct ws_control_info ping = { .opcode = WS_OP_PING, .payload = (const uint8_t *)"p", .len = 1 };

	/* The client closes with 1000, the server answers: one closing handshake. */
	c.payload = p1000; c.len = 2; c.close_code = 1000;
	control(e, f, WST_EV_WS_CLOSE, WST_C2S, &c, -1, WST_INITIATOR_CLIENT);
	control(e, f, WST_EV_WS_CLOSE, WST_S2C, &c, -1, WST_INITIATOR_CLIENT);
	/* The server closes with 1001 (going away), the client answers. */
	c.payload = p1001; c.close_code = 1001;
	control(e, &fx->flow[1], WST_EV_WS_CLOSE, WST_S2C, &c, -1, WST_INITIATOR_SERVER);
	control(e, &fx->flow[1], WST_EV_WS_CLOSE, WST_C2S, &c, -1, WST_INITIATOR_SERVER);
	/* An application code, an empty close, codes that must not be sent. */
	c.payload = p4001; c.len = 5; c.close_code = 4001;
	control(e, f, WST_EV_WS_CLOSE, WST_C2S, &c, -1, WST_INITIATOR_CLIENT);
	c.payload = NULL; c.len = 0; c.close_code = WS_CLOSE_NO_STATUS;
	control(e, f, WST_EV_WS_CLOSE, WST_S2C, &c, -1, WST_INITIATOR_SERVER);
	c.payload = p1005; c.len = 2; c.close_code = 1005; c.close_valid = false;
	control(e, f, WST_EV_WS_CLOSE, WST_C2S, &c, -1, WST_INITIATOR_CLIENT);
	c.payload = p999; c.close_code = 999;
	control(e, f, WST_EV_WS_CLOSE, WST_S2C, &c, -1, WST_INITIATOR_SERVER);
	/* Payload cut by a gap: code unknown. */
	c.close_parsed = false; c.close_code = WS_CLOSE_NO_STATUS;
	control(e, f, WST_EV_WS_CLOSE, WST_C2S, &c, -1, WST_INITIATOR_CLIENT);
	/* No initiator or no info: ignored. */
	control(e, f, WST_EV_WS_CLOSE, WST_C2S, &c, -1, WST_INITIATOR_NONE);
	control(e, f, WST_EV_WS_CLOSE, WST_C2S, NULL, -1, WST_INITIATOR_CLIENT);

	/* Pings and pongs: only matched pongs give a round trip. */
	control(e, f, WST_EV_WS_PING, WST_S2C, &ping, -1, WST_INITIATOR_NONE);
	control(e, f, WST_EV_WS_PONG, WST_C2S, &ping, 420, WST_INITIATOR_NONE);
	control(e, f, WST_EV_WS_PONG, WST_C2S, &ping, -1, WST_INITIATOR_NONE);
	control(e, f, WST_EV_WS_PONG, WST_C2S, &ping, 0, WST_INITIATOR_NONE);
	control(e, f, WST_EV_WS_PONG, WST_C2S, &ping, 30000000, WST_INITIATOR_NONE);

	fx->text = render(e);
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"1000\",initiator=\"client\"} 1");
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"1000\",initiator=\"server\"} 0");
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"1001\",initiator=\"server\"} 1");
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"1001\",initiator=\"client\"} 0");
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"application\",initiator=\"client\"} 1");
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"none\",initiator=\"server\"} 1");
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"invalid\",initiator=\"client\"} 1");
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"invalid\",initiator=\"server\"} 1");
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"1005\",initiator=\"client\"} 0");
	assert_line(fx->text, "wstrace_ws_closes_total{code=\"unknown\",initiator=\"client\"} 1");
	assert_line(fx->text, "wstrace_ws_ping_rtt_seconds_count 3");
	assert_line(fx->text, "wstrace_ws_ping_rtt_seconds_bucket{le=\"5e-05\"} 1");
	assert_line(fx->text, "wstrace_ws_ping_rtt_seconds_bucket{le=\"0.0005\"} 2");
	assert_line(fx->text, "wstrace_ws_ping_rtt_seconds_bucket{le=\"10\"} 2");
	assert_line(fx->text, "wstrace_ws_ping_rtt_seconds_bucket{le=\"+Inf\"} 3");
	assert_line(fx->text, "wstrace_ws_ping_rtt_seconds_sum 30.00042");
}

static void session_end(struct exporter *e, enum wst_session_end how, uint64_t duration_us)
{
	struct wst_event ev = { .u.session = { .duration_us = duration_us, .how = how } };

	send_event(e, &ev, WST_EV_WS_SESSION_END, WST_C2S, NULL);
}

static void test_sessions(void **state)
{
	struct fixture *fx = *state;
	struct exporter *e = fx->e;

	session_end(e, WST_END_CLOSE, 90000000);       /* 90 s */
	session_end(e, WST_END_CLOSE, 50000);          /* 50 ms */
	session_end(e, WST_END_ABNORMAL, 2000000);
	session_end(e, WST_END_RESET, 100000000000ull);/* > 1 day */
	session_end(e, WST_END_END, 3600000000ull);    /* exactly 1 h: le is inclusive */
	session_end(e, WST_END_CLOSE, 1000000);
	/* Values outside the table: counted as other, never dropped. */
	session_end(e, WST_END_MAX, 1);
	session_end(e, (enum wst_session_end)-1, 1);

	fx->text = render(e);
	assert_line(fx->text, "wstrace_ws_session_ends_total{how=\"close\",transport=\"ws\"} 3");
	assert_line(fx->text, "wstrace_ws_session_ends_total{how=\"abnormal\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_session_ends_total{how=\"reset\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_session_ends_total{how=\"end\",transport=\"ws\"} 1");
	assert_line(fx->text, "wstrace_ws_session_ends_total{how=\"other\",transport=\"ws\"} 2");
	assert_line(fx->text, "wstrace_ws_session_duration_seconds_bucket{le=\"0.1\"} 3");
	assert_line(fx->text, "wstrace_ws_session_duration_seconds_bucket{le=\"1\"} 4");
	assert_line(fx->text, "wstrace_ws_session_duration_seconds_bucket{le=\"10\"} 5");
	assert_line(fx->text, "wstrace_ws_session_duration_seconds_bucket{le=\"300\"} 6");
	assert_line(fx->text, "wstrace_ws_session_duration_seconds_bucket{le=\"3600\"} 7");
	assert_line(fx->text, "wstrace_ws_session_duration_seconds_bucket{le=\"86400\"} 7");
	assert_line(fx->text, "wstrace_ws_session_duration_seconds_bucket{le=\"+Inf\"} 8");
	assert_line(fx->text, "wstrace_ws_session_duration_seconds_count 8");
}

static void violation(struct exporter *e, enum ws_violation kind)
{
	struct wst_event ev = { .u.violation = { .kind = kind } };

	send_event(e, &ev, WST_EV_WS_VIOLATION, WST_C2S, NULL);
}

static void test_violations(void **state)
{
	struct fixture *fx = *state;
	struct exporter *e = fx->e;
	char line[160];

	/* Every kind the layers emit has its own series, counted exactly. */
	for (int v = WS_VIOL_NONE + 1; v < WS_VIOL_MAX; v++)
		violation(e, v);
	violation(e, WS_VIOL_INVALID_UTF8);
	violation(e, WS_VIOL_MASKED_SERVER_FRAME);
	/* The handshake checks count as their violation. */
	violation(e, http_upgrade_check_violation(HTTP_UPG_HTTP_VERSION)); /* http_version */
	violation(e, http_upgrade_check_violation(HTTP_UPG_KEY));
	violation(e, ws_accept_check_violation(WS_ACC_ACCEPT));
	/* Values outside the table (none is not a violation). */
	violation(e, WS_VIOL_MAX);
	violation(e, (enum ws_violation)-1);
	violation(e, WS_VIOL_NONE);

	fx->text = render(e);
	for (int v = WS_VIOL_NONE + 1; v < WS_VIOL_MAX; v++) {
		int want = v == WS_VIOL_INVALID_UTF8 || v == WS_VIOL_MASKED_SERVER_FRAME ||
			   v == WS_VIOL_HTTP_VERSION || v == WS_VIOL_KEY || v == WS_VIOL_ACCEPT ? 2 : 1;

		snprintf(line, sizeof(line), "wstrace_ws_violations_total{kind=\"%s\"} %d",
			 ws_violation_name(v), want);
		assert_line(fx->text, line);
	}
	assert_line(fx->text, "wstrace_ws_violations_total{kind=\"http_syntax\"} 1");
	assert_line(fx->text, "wstrace_ws_violations_total{kind=\"http_version\"} 2");
	assert_line(fx->text, "wstrace_ws_violations_total{kind=\"key\"} 2");
	assert_line(fx->text, "wstrace_ws_violations_total{kind=\"accept\"} 2");
	assert_line(fx->text, "wstrace_ws_violations_total{kind=\"other\"} 3");
	assert_null(strstr(fx->text, "kind=\"unknown\""));
	assert_null(strstr(fx->text, "kind=\"none\""));
	/* Not violations: reported as http_request and ws_upgrade_failed. */
	assert_null(strstr(fx->text, "kind=\"not_upgrade\""));
	assert_null(strstr(fx->text, "kind=\"not_101\""));
}

static void loss(struct exporter *e, enum wst_event_type type, enum wst_gap_kind kind,
		 uint64_t bytes, bool lost)
{
	struct wst_event ev = { .u.loss = { .kind = kind, .bytes = bytes, .boundary_lost = lost } };

	send_event(e, &ev, type, WST_S2C, NULL);
}

static void test_losses(void **state)
{
	struct fixture *fx = *state;
	struct exporter *e = fx->e;

	loss(e, WST_EV_WS_GAP, WST_GAP_STREAM, 1448, true);
	loss(e, WST_EV_WS_GAP, WST_GAP_STREAM, 100, false);
	loss(e, WST_EV_WS_GAP, WST_GAP_STREAM, 0, true); /* unknown size */
	loss(e, WST_EV_WS_GAP, WST_GAP_DEFLATE_CONTEXT_LOST, 0, false);
	loss(e, WST_EV_WS_GAP, WST_GAP_NOT_INFLATED, 300, false);
	loss(e, WST_EV_WS_GAP, WST_GAP_NOT_INFLATED, 30, false);
	loss(e, WST_EV_WS_GAP, WST_GAP_UNSYNCED_AT_END, 114, true);
	/* Values outside the table. */
	loss(e, WST_EV_WS_GAP, WST_GAP_MAX, 5, false);
	loss(e, WST_EV_WS_GAP, (enum wst_gap_kind)-1, 5, false);
	loss(e, WST_EV_WS_RESYNC, WST_GAP_STREAM, 77, false); /* kind unused */
	loss(e, WST_EV_WS_RESYNC, WST_GAP_STREAM, 3, false);

	fx->text = render(e);
	assert_line(fx->text, "wstrace_ws_stream_gaps_total 3");
	assert_line(fx->text, "wstrace_ws_stream_gap_bytes_total 1548");
	assert_line(fx->text, "wstrace_ws_frame_sync_lost_total 2");
	assert_line(fx->text, "wstrace_ws_decode_losses_total{kind=\"deflate_context_lost\"} 1");
	assert_line(fx->text, "wstrace_ws_decode_losses_total{kind=\"not_inflated\"} 2");
	assert_line(fx->text, "wstrace_ws_decode_losses_total{kind=\"unsynced_at_end\"} 1");
	assert_line(fx->text, "wstrace_ws_decode_losses_total{kind=\"other\"} 2");
	assert_line(fx->text, "wstrace_ws_resyncs_total 2");
	assert_line(fx->text, "wstrace_ws_resync_skipped_bytes_total 80");
}

static void fill_sources(struct exporter_sources *src, struct wst_counters *k,
			 struct tcp_stats *tcp, struct ws_stats *ws, struct stream_budget *b)
{
	memset(k, 0, sizeof(*k));
	memset(tcp, 0, sizeof(*tcp));
	memset(ws, 0, sizeof(*ws));
	memset(b, 0, sizeof(*b));
	k->v[WST_CNT_PKTS_INGRESS] = 1000;
	k->v[WST_CNT_PKTS_EGRESS] = 900;
	k->v[WST_CNT_BYTES_INGRESS] = 123456;
	k->v[WST_CNT_BYTES_EGRESS] = 654321;
	k->v[WST_CNT_SYN] = 10;
	k->v[WST_CNT_SYNACK] = 9;
	k->v[WST_CNT_FIN] = 16;
	k->v[WST_CNT_RST] = 1;
	k->v[WST_CNT_RINGBUF_FULL] = 42;
	k->v[WST_CNT_TRUNCATED] = 7;
	k->v[WST_CNT_LOAD_ERRORS] = 2;
	k->v[WST_CNT_FRAGMENTS] = 12;
	k->v[WST_CNT_FILTERED] = 13;
	tcp->midstream = 3;
	tcp->late_packets = 12;
	tcp->evicted_packets = 13;
	ws->active = 4;
	ws->midstream = 1;
	b->overflows = 5;
	b->held = 4096;
	*src = (struct exporter_sources){
		.kernel = k, .tcp = tcp, .tcp_active = 11, .ws = ws, .budget = b,
		.bad_records = 6, .pcap_write_errors = 8,
	};
}

static void check_snapshot(const char *t)
{
	assert_line(t, "wstrace_packets_total{direction=\"ingress\"} 1000");
	assert_line(t, "wstrace_packets_total{direction=\"egress\"} 900");
	assert_line(t, "wstrace_bytes_total{direction=\"ingress\"} 123456");
	assert_line(t, "wstrace_bytes_total{direction=\"egress\"} 654321");
	assert_line(t, "wstrace_tcp_flags_total{flag=\"syn\"} 10");
	assert_line(t, "wstrace_tcp_flags_total{flag=\"synack\"} 9");
	assert_line(t, "wstrace_tcp_flags_total{flag=\"fin\"} 16");
	assert_line(t, "wstrace_tcp_flags_total{flag=\"rst\"} 1");
	assert_line(t, "wstrace_ringbuf_lost_total 42");
	assert_line(t, "wstrace_truncated_packets_total 7");
	assert_line(t, "wstrace_load_errors_total 2");
	assert_line(t, "wstrace_ip_fragments_total 12");
	assert_line(t, "wstrace_filtered_packets_total 13");
	assert_line(t, "wstrace_tcp_midstream_connections_total 3");
	assert_line(t, "wstrace_tcp_late_packets_total 12");
	assert_line(t, "wstrace_tcp_evicted_flow_packets_total 13");
	assert_line(t, "wstrace_tcp_connections 11");
	assert_line(t, "wstrace_ws_sessions 4");
	assert_line(t, "wstrace_ws_midstream_sessions_total 1");
	assert_line(t, "wstrace_reassembly_overflows_total 5");
	assert_line(t, "wstrace_reassembly_held_bytes 4096");
	assert_line(t, "wstrace_bad_records_total 6");
	assert_line(t, "wstrace_pcap_write_errors_total 8");
}

static void test_update(void **state)
{
	struct fixture *fx = *state;
	struct exporter_sources src;
	struct wst_counters k;
	struct tcp_stats tcp;
	struct ws_stats ws;
	struct stream_budget b;

	fill_sources(&src, &k, &tcp, &ws, &b);
	exporter_update(fx->e, &src);
	fx->text = render(fx->e);
	check_snapshot(fx->text);
	free(fx->text);

	/* Counters are set, not added: a second snapshot replaces the first. */
	k.v[WST_CNT_RINGBUF_FULL] = 43;
	ws.active = 0;
	exporter_update(fx->e, &src);
	/* NULL sources leave their families alone; scalars are set. */
	exporter_update(fx->e, &(struct exporter_sources){ .tcp_active = 2 });
	exporter_update(fx->e, NULL);
	fx->text = render(fx->e);
	assert_line(fx->text, "wstrace_ringbuf_lost_total 43");
	assert_line(fx->text, "wstrace_ws_sessions 0");
	assert_line(fx->text, "wstrace_tcp_connections 2");
	assert_line(fx->text, "wstrace_bad_records_total 0");
	assert_line(fx->text, "wstrace_packets_total{direction=\"ingress\"} 1000");
}

/* Events the output's limit held back are counted, per kind. */
static void test_events_suppressed(void **state)
{
	struct fixture *fx = *state;
	struct event_limit_opts lo = { .rate = 1, .burst = 1 };
	struct event_limit *l;
	struct wst_flow f = { .id = 1 };
	struct wst_event ev = { .type = WST_EV_WS_FRAME, .flow = &f, .ts_ns = 1 };

	assert_int_equal(event_limit_new(&l, &lo, (struct wst_sink){ 0 }), 0);
	for (int i = 0; i < 3; i++)
		event_limit_event(l, &ev);
	exporter_update(fx->e, &(struct exporter_sources){ .limit = l });
	fx->text = render(fx->e);
	assert_line(fx->text, "wstrace_events_suppressed_total{event=\"ws_frame\"} 2");
	assert_line(fx->text, "wstrace_events_suppressed_total{event=\"tcp_data\"} 0");
	assert_line(fx->text, "wstrace_events_suppressed_total{event=\"ws_violation\"} 0");
	assert_null(strstr(fx->text, "event=\"tcp_closed\""));
	event_limit_free(l);
}

struct collect_state {
	struct exporter_sources src;
	struct wst_counters k;
	struct tcp_stats tcp;
	struct ws_stats ws;
	struct stream_budget b;
	int calls;
};

static void collect(void *ctx, struct exporter_sources *src)
{
	struct collect_state *cs = ctx;

	cs->calls++;
	*src = cs->src;
}

static void test_collect_callback(void **state)
{
	struct fixture *fx = *state;
	struct collect_state cs = { 0 };

	fill_sources(&cs.src, &cs.k, &cs.tcp, &cs.ws, &cs.b);
	exporter_set_collect(fx->e, collect, &cs);
	fx->text = render(fx->e);
	assert_int_equal(cs.calls, 1);
	check_snapshot(fx->text);
	free(fx->text);
	cs.k.v[WST_CNT_PKTS_EGRESS] = 901;
	fx->text = render(fx->e);
	assert_int_equal(cs.calls, 2);
	assert_line(fx->text, "wstrace_packets_total{direction=\"egress\"} 901");
	/* Read back through the registry. */
	assert_non_null(exporter_metrics(fx->e));
}

static void test_no_kernel(void **state)
{
	struct exporter *e = new_exporter(NULL, 0, true);
	struct exporter_sources src;
	struct wst_counters k;
	struct tcp_stats tcp;
	struct ws_stats ws;
	struct stream_budget b;
	char *t;

	(void)state;
	fill_sources(&src, &k, &tcp, &ws, &b);
	exporter_update(e, &src);
	t = render(e);
	assert_null(strstr(t, "wstrace_packets_total"));
	assert_null(strstr(t, "wstrace_bytes_total"));
	assert_null(strstr(t, "wstrace_tcp_flags_total"));
	assert_null(strstr(t, "wstrace_ringbuf_lost_total"));
	assert_line(t, "wstrace_ws_sessions 4");
	assert_line(t, "wstrace_bad_records_total 6");
	free(t);
	exporter_free(e);
}

static void test_json_key_chat(void **state)
{
	struct exporter *e = new_exporter("type", 0, false);
	struct ws_message_info mi = { .opcode = WS_OP_TEXT };
	struct wst_event ev = { .u.message = &mi };
	static const char login[] = "{\"type\":\"login\",\"client_name\":\"mynick\",\"room_id\":\"1\"}";
	static const char say[] = "{\"type\":\"say\",\"to_client_id\":\"all\",\"content\":\"hi, all \xef\xbc\x81\"}";
	char *t;

	(void)state;
	text(e, WST_C2S, login);
	text(e, WST_C2S, say);
	text(e, WST_C2S, say);
	text(e, WST_C2S, "{\"type\":\"pong\"}");
	text(e, WST_S2C, "{\"type\":\"ping\"}");
	text(e, WST_S2C, "{\"type\":\"ping\"}");
	text(e, WST_S2C, "{\"type\":\"logout\",\"from_client_id\":\"7f00000108fc00000002\"}");
	text(e, WST_C2S, "{\"ty\\u0070e\":\"lo\\u0067in\"}");  /* escapes decoded */
	text(e, WST_C2S, " {\"a\":{\"type\":\"inner\"},\"type\":\"say\"} "); /* top level only */
	/* Not counted by value. */
	text(e, WST_C2S, "hello");
	text(e, WST_C2S, "[\"type\",\"login\"]");
	text(e, WST_C2S, "{\"content\":\"x\"}");
	text(e, WST_C2S, "{\"a\":{\"type\":\"inner\"}}");
	text(e, WST_C2S, "{\"type\":42}");
	text(e, WST_C2S, "{\"type\":\"x\"");
	text(e, WST_C2S, "{\"type\":\"x\"} trailing");
	message(e, NULL, WST_C2S, WS_OP_BINARY, login, strlen(login)); /* binary: ignored */
	message(e, NULL, WST_C2S, WS_OP_CONT, login, strlen(login));   /* unknown type: ignored */
	/* Whole JSON but the message is cut, incomplete or still compressed. */
	mi.data = (const uint8_t *)login;
	mi.kept = strlen(login);
	mi.total_len = 1000;
	mi.truncated = true;
	send_event(e, &ev, WST_EV_WS_MESSAGE, WST_S2C, NULL);
	mi.truncated = false;
	mi.incomplete = true;
	send_event(e, &ev, WST_EV_WS_MESSAGE, WST_S2C, NULL);
	mi.incomplete = false;
	mi.compressed = true;
	send_event(e, &ev, WST_EV_WS_MESSAGE, WST_S2C, NULL);
	mi.inflated = true; /* now it counts */
	send_event(e, &ev, WST_EV_WS_MESSAGE, WST_S2C, NULL);
	mi.data = NULL;
	mi.kept = 0;
	mi.compressed = mi.inflated = false;
	send_event(e, &ev, WST_EV_WS_MESSAGE, WST_S2C, NULL);

	t = render(e);
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"login\"} 2");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"say\"} 3");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"pong\"} 1");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"s2c\",value=\"ping\"} 2");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"s2c\",value=\"logout\"} 1");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"s2c\",value=\"login\"} 1");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"other\"} 0");
	assert_null(strstr(t, "value=\"inner\""));
	assert_null(strstr(t, "value=\"x\""));
	assert_line(t, "wstrace_ws_app_messages_unmatched_total{dir=\"c2s\",reason=\"not_object\"} 1");
	assert_line(t, "wstrace_ws_app_messages_unmatched_total{dir=\"c2s\",reason=\"no_key\"} 2");
	assert_line(t, "wstrace_ws_app_messages_unmatched_total{dir=\"c2s\",reason=\"not_string\"} 1");
	assert_line(t, "wstrace_ws_app_messages_unmatched_total{dir=\"c2s\",reason=\"invalid_json\"} 3");
	assert_line(t, "wstrace_ws_app_messages_unmatched_total{dir=\"s2c\",reason=\"not_decoded\"} 4");
	assert_line(t, "wstrace_ws_app_messages_unmatched_total{dir=\"c2s\",reason=\"not_decoded\"} 0");
	free(t);
	exporter_free(e);
}

static void test_json_key_bound(void **state)
{
	struct exporter *e = new_exporter("type", 3, false);
	char msg[400], line[200];
	char *t;

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(msg, sizeof(msg), "{\"type\":\"v%d\"}", i);
		text(e, WST_C2S, msg);
		text(e, WST_S2C, msg);
	}
	text(e, WST_C2S, "{\"type\":\"v0\"}");
	/* A client sending "other" is counted as other, not as a fourth value. */
	text(e, WST_C2S, "{\"type\":\"other\"}");
	t = render(e);
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"v0\"} 2");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"v1\"} 1");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"s2c\",value=\"v2\"} 1");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"other\"} 3");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"s2c\",value=\"other\"} 2");
	assert_null(strstr(t, "value=\"v3\""));
	free(t);
	exporter_free(e);

	/* Values longer than a label value may be, escapes and odd bytes. */
	e = new_exporter("type", 0, false);
	memset(line, 'a', 150);
	line[150] = '\0';
	snprintf(msg, sizeof(msg), "{\"type\":\"%s\"}", line);
	text(e, WST_C2S, msg);
	text(e, WST_C2S, "{\"type\":\"a\\\"b\\\\c\\nd\"}");
	t = render(e);
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"other\"} 1");
	/* Quote and backslash escaped in the exposition, the newline replaced. */
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"a\\\"b\\\\c?d\"} 1");
	free(t);
	exporter_free(e);
}

static void test_bad_options(void **state)
{
	struct exporter_opts o = { .json_key = "" };
	struct exporter *e = (struct exporter *)&o;

	(void)state;
	assert_int_equal(exporter_new(&e, &o), -EINVAL);
	assert_null(e);
	o.json_key = "type";
	o.json_key_max_values = METRICS_MAX_DYNAMIC + 1;
	assert_int_equal(exporter_new(&e, &o), -EINVAL);
	o.json_key_max_values = -1;
	assert_int_equal(exporter_new(&e, &o), -EINVAL);
	/* Defaults, no options at all. */
	assert_int_equal(exporter_new(&e, NULL), 0);
	assert_non_null(e);
	exporter_free(e);
	exporter_free(NULL);
}

/* The real layers in front: tracker -> WebSocket layer -> exporter. */
static void test_pipeline_chat(void **state)
{
	static const char login[] = "{\"type\":\"login\",\"client_name\":\"mynick\",\"room_id\":\"1\"}";
	static const char say[] = "{\"type\":\"say\",\"to_client_id\":\"all\",\"content\":\"hi, all \xef\xbc\x81\"}";
	static const uint8_t bye[] = { 0x03, 0xe8 };
	struct pipeline c;
	struct exporter *e = new_exporter("type", 0, false);
	struct exporter_sources src = { 0 };
	const struct ws_stats *st;
	char *t;

	(void)state;
	pipe_init(&c, (struct wst_sink){ exporter_event, e }, NULL, NULL);
	pipe_upgrade(&c);
	pipe_frame(&c, WST_C2S, WS_OP_TEXT, login, strlen(login));
	pipe_frame(&c, WST_S2C, WS_OP_TEXT, "{\"type\":\"ping\"}", 15);
	pipe_frame(&c, WST_C2S, WS_OP_TEXT, "{\"type\":\"pong\"}", 15);
	pipe_frame(&c, WST_C2S, WS_OP_TEXT, say, strlen(say));
	pipe_frame(&c, WST_S2C, WS_OP_PING, "hb", 2);
	pipe_frame(&c, WST_C2S, WS_OP_PONG, "hb", 2);
	/* The client closes, the server answers, TCP closes both ways. */
	pipe_frame(&c, WST_C2S, WS_OP_CLOSE, bye, 2);
	pipe_frame(&c, WST_S2C, WS_OP_CLOSE, bye, 2);
	pipe_pkt(&c, WST_S2C, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&c, WST_C2S, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&c, WST_S2C, WST_TCP_ACK, NULL, 0);
	tcp_tracker_finish(c.t, c.now + 1000000);

	st = ws_layer_stats(c.ws);
	src.tcp = tcp_tracker_stats(c.t);
	src.tcp_active = tcp_tracker_active(c.t);
	src.ws = st;
	src.budget = ws_layer_budget(c.ws);
	exporter_update(e, &src);
	t = render(e);
	assert_line(t, "wstrace_tcp_packets_total{dir=\"c2s\"} 9");
	assert_line(t, "wstrace_tcp_packets_total{dir=\"s2c\"} 7");
	assert_line(t, "wstrace_tcp_handshakes_total{outcome=\"established\"} 1");
	assert_line(t, "wstrace_tcp_handshake_seconds_count 1");
	assert_line(t, "wstrace_tcp_handshake_seconds_sum 0.002");
	assert_line(t, "wstrace_tcp_connections_closed_total{reason=\"fin\"} 1");
	assert_line(t, "wstrace_tcp_connections 0");
	assert_line(t, "wstrace_ws_upgrade_requests_total{transport=\"ws\"} 1");
	assert_line(t, "wstrace_ws_upgrades_total{status=\"101\",transport=\"ws\"} 1");
	assert_line(t, "wstrace_ws_upgrade_seconds_count 1");
	assert_line(t, "wstrace_ws_upgrade_seconds_sum 0.001");
	assert_line(t, "wstrace_ws_frames_total{dir=\"c2s\",opcode=\"text\",transport=\"ws\"} 3");
	assert_line(t, "wstrace_ws_frames_total{dir=\"s2c\",opcode=\"text\",transport=\"ws\"} 1");
	assert_line(t, "wstrace_ws_frames_total{dir=\"s2c\",opcode=\"ping\",transport=\"ws\"} 1");
	assert_line(t, "wstrace_ws_frames_total{dir=\"c2s\",opcode=\"pong\",transport=\"ws\"} 1");
	assert_line(t, "wstrace_ws_frames_total{dir=\"c2s\",opcode=\"close\",transport=\"ws\"} 1");
	assert_line(t, "wstrace_ws_frames_total{dir=\"s2c\",opcode=\"close\",transport=\"ws\"} 1");
	assert_int_equal(st->frames[WST_C2S], 5);
	assert_line(t, "wstrace_ws_messages_total{dir=\"c2s\",type=\"text\",transport=\"ws\"} 3");
	assert_line(t, "wstrace_ws_messages_total{dir=\"s2c\",type=\"text\",transport=\"ws\"} 1");
	assert_line(t, "wstrace_ws_message_bytes_sum{dir=\"c2s\",type=\"text\",transport=\"ws\"} 127");
	assert_line(t, "wstrace_ws_ping_rtt_seconds_count 1");
	assert_line(t, "wstrace_ws_ping_rtt_seconds_sum 0.001");
	assert_line(t, "wstrace_ws_closes_total{code=\"1000\",initiator=\"client\"} 1");
	assert_line(t, "wstrace_ws_closes_total{code=\"1000\",initiator=\"server\"} 0");
	assert_line(t, "wstrace_ws_session_ends_total{how=\"close\",transport=\"ws\"} 1");
	assert_line(t, "wstrace_ws_session_duration_seconds_count 1");
	assert_line(t, "wstrace_ws_sessions 0");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"login\"} 1");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"pong\"} 1");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"c2s\",value=\"say\"} 1");
	assert_line(t, "wstrace_ws_app_messages_total{dir=\"s2c\",value=\"ping\"} 1");
	assert_line(t, "wstrace_ws_stream_gaps_total 0");
	/* A clean exchange: no violation of any kind. */
	for (const char *p = strstr(t, "\nwstrace_ws_violations_total{"); p;
	     p = strstr(p + 1, "\nwstrace_ws_violations_total{"))
		assert_int_equal(strtoull(strchr(p, '}') + 2, NULL, 10), 0);
	free(t);
	pipe_free(&c);
	exporter_free(e);
}

/*
 * A frame declaring 2^62 bytes, 100 of them sent, then FIN: the limit is
 * reported at the header, and the frame, its message and its bytes are
 * counted when the connection ends (they used to vanish).
 */
static void test_pipeline_huge_frame(void **state)
{
	struct ws_layer_opts wo = { .max_message = 16u << 20 };
	struct exporter *e = new_exporter(NULL, 0, false);
	struct pipeline c;
	uint8_t f[14 + 100];
	const struct ws_stats *st;
	char *t;

	(void)state;
	pipe_init(&c, (struct wst_sink){ exporter_event, e }, NULL, &wo);
	pipe_upgrade(&c);
	f[0] = 0x82;
	f[1] = 0x80 | 127;
	memcpy(f + 2, "\x40\0\0\0\0\0\0\0", 8); /* 2^62 */
	memcpy(f + 10, "\x01\x02\x03\x04", 4);
	memset(f + 14, 'A', 100);
	pipe_pkt(&c, WST_C2S, WST_TCP_PSH | WST_TCP_ACK, f, sizeof(f));
	t = render(e);
	assert_line(t, "wstrace_ws_violations_total{kind=\"message_too_big\"} 1");
	assert_line(t, "wstrace_ws_frames_total{dir=\"c2s\",opcode=\"binary\",transport=\"ws\"} 0");
	free(t);
	pipe_pkt(&c, WST_C2S, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&c, WST_S2C, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&c, WST_C2S, WST_TCP_ACK, NULL, 0);
	tcp_tracker_finish(c.t, c.now + 1000000);
	st = ws_layer_stats(c.ws);
	assert_int_equal(st->frames[WST_C2S], 1);
	assert_int_equal(st->bytes[WST_C2S], 100);
	assert_int_equal(st->messages[WST_C2S], 1);
	t = render(e);
	assert_line(t, "wstrace_ws_frames_total{dir=\"c2s\",opcode=\"binary\",transport=\"ws\"} 1");
	assert_line(t, "wstrace_ws_frame_payload_bytes_total{dir=\"c2s\",transport=\"ws\"} 100");
	assert_line(t, "wstrace_ws_messages_total{dir=\"c2s\",type=\"binary\",transport=\"ws\"} 1");
	assert_line(t, "wstrace_ws_violations_total{kind=\"message_too_big\"} 1");
	assert_line(t, "wstrace_ws_session_ends_total{how=\"abnormal\",transport=\"ws\"} 1");
	free(t);
	pipe_free(&c);
	exporter_free(e);
}

/* A busy exposition with every family populated, checked by promtool. */
static void test_promtool(void **state)
{
	struct fixture *fx = *state;
	struct exporter *e = new_exporter("type", 0, false);
	struct exporter_sources src;
	struct wst_counters k;
	struct tcp_stats tcp;
	struct ws_stats ws;
	struct stream_budget b;
	char path[] = "/tmp/wstrace-test-exporter.XXXXXX";
	char cmd[128], *t;
	const char *promtool = "/usr/bin/promtool";
	int fd, rc;

	exporter_free(fx->e);
	fx->e = e;
	test_tcp_events(state);
	free(fx->text);
	test_frames_and_messages(state);
	free(fx->text);
	test_closes_and_pings(state);
	free(fx->text);
	test_violations(state);
	free(fx->text);
	test_losses(state);
	free(fx->text);
	fx->text = NULL;
	text(e, WST_C2S, "{\"type\":\"login\"}");
	text(e, WST_C2S, "{\"type\":\"sa\\\"y\\\\\"}");
	text(e, WST_C2S, "nope");
	fill_sources(&src, &k, &tcp, &ws, &b);
	exporter_update(e, &src);
	t = render(e);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	close(fd);
	free(t);
	if (access(promtool, X_OK) != 0) {
		const char *ci = getenv("CI");

		unlink(path);
		if (ci && strcmp(ci, "true") == 0)
			fail_msg("%s not installed (Debian package prometheus), required under CI=true",
				 promtool);
		print_message("promtool not installed: exposition not linted\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "%s check metrics < %s", promtool, path);
	rc = system(cmd);
	unlink(path);
	assert_true(rc != -1 && WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 0);
}

/* A session and n messages of a server process named comm. */
static void owner_traffic(struct exporter *e, const char *comm, int n)
{
	struct wst_proc p = { .pid = 42 };
	struct wst_attrib at = { .server = &p };
	struct ws_message_info mi = { .opcode = WS_OP_TEXT, .total_len = 10, .wire_len = 10, .frames = 1 };
	struct wst_event ev = { .attrib = &at };

	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	send_event(e, &ev, WST_EV_WS_ESTABLISHED, WST_S2C, NULL);
	for (int i = 0; i < n; i++) {
		ev.u.message = &mi;
		send_event(e, &ev, WST_EV_WS_MESSAGE, WST_C2S, NULL);
	}
}

static int count_lines(const char *t, const char *prefix)
{
	int n = 0;

	for (const char *l = t; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += strncmp(l, prefix, strlen(prefix)) == 0;
	return n;
}

/* --metrics-label process --metrics-label-top 1: the busiest is named, not
 * the first seen; every series and other only go up. */
static void test_owner_label_busiest(void **state)
{
	struct exporter_opts o = { .owner_label = "process", .owner_max_values = 1, .no_kernel = true };
	struct fixture *fx = *state;
	struct exporter *e;
	struct metrics *m;
	int f;
	char *t;

	assert_int_equal(exporter_new(&e, &o), 0);
	exporter_free(fx->e);
	fx->e = e;
	m = exporter_metrics(e);
	f = metrics_find(m, "wstrace_ws_owner_messages_total");
	assert_true(f >= 0);

	owner_traffic(e, "quiet", 1);   /* first seen: the free slot */
	exporter_rank_owners(e, 1000000000ull);
	t = render(e);
	assert_line(t, "wstrace_ws_owner_sessions_total{process=\"quiet\"} 1");
	assert_line(t, "wstrace_ws_owner_messages_total{dir=\"c2s\",process=\"quiet\"} 1");
	free(t);

	owner_traffic(e, "busy", 20);   /* seen later: other, until the rank */
	owner_traffic(e, "quiet", 1);
	t = render(e);
	assert_line(t, "wstrace_ws_owner_messages_total{dir=\"c2s\",process=\"other\"} 20");
	assert_line(t, "wstrace_ws_owner_messages_total{dir=\"c2s\",process=\"quiet\"} 2");
	free(t);

	exporter_rank_owners(e, 2000000000ull);
	owner_traffic(e, "busy", 5);
	owner_traffic(e, "quiet", 3);
	t = render(e);
	/* busy's series counts from its promotion; quiet's is gone, its
	 * later traffic in other, which never went down */
	assert_line(t, "wstrace_ws_owner_sessions_total{process=\"busy\"} 1");
	assert_line(t, "wstrace_ws_owner_messages_total{dir=\"c2s\",process=\"busy\"} 5");
	assert_line(t, "wstrace_ws_owner_messages_total{dir=\"c2s\",process=\"other\"} 23");
	assert_line(t, "wstrace_ws_owner_message_bytes_total{dir=\"c2s\",process=\"other\"} 230");
	assert_line(t, "wstrace_ws_owner_sessions_total{process=\"other\"} 2");
	assert_line(t, "wstrace_ws_owner_label_changes_total{change=\"promoted\"} 2");
	assert_line(t, "wstrace_ws_owner_label_changes_total{change=\"demoted\"} 1");
	assert_null(strstr(t, "process=\"quiet\""));
	/* at most N + 1 series per family and direction */
	assert_int_equal(count_lines(t, "wstrace_ws_owner_sessions_total{"), 2);
	assert_int_equal(count_lines(t, "wstrace_ws_owner_messages_total{dir=\"c2s\""), 2);
	free(t);

	/* a process called "other" is other, never a second "other" series */
	owner_traffic(e, "other", 1);
	exporter_rank_owners(e, 3000000000ull);
	t = render(e);
	assert_int_equal(count_lines(t, "wstrace_ws_owner_sessions_total{"), 2);
	assert_line(t, "wstrace_ws_owner_sessions_total{process=\"other\"} 3");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_info_and_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrades, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frames_and_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closes_and_pings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_violations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_losses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_suppressed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collect_callback, setup, teardown),
		cmocka_unit_test(test_no_kernel),
		cmocka_unit_test(test_json_key_chat),
		cmocka_unit_test(test_json_key_bound),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_pipeline_chat),
		cmocka_unit_test(test_pipeline_huge_frame),
		cmocka_unit_test_setup_teardown(test_promtool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_label_busiest, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
