// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests: the formatting helpers the text and JSON outputs share. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/packet.h"
#include "protocol/http_upgrade.h"
#include "sinks/output.h"

/* Output goes to a memory stream; mem_end() returns it (caller frees). */
static char *mem_buf;
static size_t mem_len;
static struct output mem_out; /* large: not on the stack */

static struct output *mem_begin(void)
{
	FILE *fp = open_memstream(&mem_buf, &mem_len);

	assert_non_null(fp);
	output_init(&mem_out, fp, OUTPUT_TEXT);
	return &mem_out;
}

static char *mem_end(struct output *o)
{
	output_drain(o);
	fclose(o->fp);
	return mem_buf;
}

/* Runs call with o writing to memory; returns what it wrote (caller frees). */
#define CAPTURE(call) ({ struct output *o = mem_begin(); call; mem_end(o); })

static void expect_json(const char *in, size_t len, const char *want)
{
	char *got = CAPTURE(output_buf_json_string(o, (const uint8_t *)in, len));

	assert_string_equal(got, want);
	free(got);
}

static void test_json_string(void **state)
{
	(void)state;
	expect_json("plain", 5, "\"plain\"");
	expect_json("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	expect_json("l1\nl2\t\r", 7, "\"l1\\nl2\\t\\r\"");
	expect_json("\x01\x7f", 2, "\"\\u0001\\u007f\"");
	/* UTF-8 stays as it is: U+FF01 and an emoji. */
	expect_json("hi, all \xef\xbc\x81", 11, "\"hi, all \xef\xbc\x81\"");
	expect_json("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");
	/* Invalid bytes become U+FFFD: stray continuation, overlong, surrogate, cut. */
	expect_json("\x80", 1, "\"\\ufffd\"");
	expect_json("\xc0\x80", 2, "\"\\ufffd\\ufffd\"");
	expect_json("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");
	expect_json("a\xef\xbc", 3, "\"a\\ufffd\\ufffd\"");
	expect_json("\0", 1, "\"\\u0000\"");
}

static void test_b64(void **state)
{
	static const struct { const char *in; const char *out; } v[] = {
		{ "", "\"\"" }, { "f", "\"Zg==\"" }, { "fo", "\"Zm8=\"" }, { "foo", "\"Zm9v\"" },
		{ "foobar", "\"Zm9vYmFy\"" },
	};
	uint8_t big[100];
	char *got;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		got = CAPTURE(output_buf_json_b64(o, (const uint8_t *)v[i].in, strlen(v[i].in)));
		assert_string_equal(got, v[i].out);
		free(got);
	}
	/* Across the 48-byte chunks: no padding in the middle. */
	memset(big, 0xff, sizeof(big));
	got = CAPTURE(output_buf_json_b64(o, big, sizeof(big)));
	assert_int_equal(strlen(got), 2 + 136);
	assert_true(strcspn(got + 1, "=") >= 134); /* padding only at the end */
	assert_string_equal(got + 129, "/////w==\"");
	free(got);
}

static void test_is_text_and_whole_len(void **state)
{
	const uint8_t bang[] = "all \xef\xbc\x81"; /* 7 bytes */

	(void)state;
	assert_true(output_is_text(bang, 7, false));
	/* Cut inside the code point: text only if the payload was truncated. */
	assert_false(output_is_text(bang, 6, false));
	assert_true(output_is_text(bang, 6, true));
	assert_int_equal(output_utf8_whole_len(bang, 7), 7);
	assert_int_equal(output_utf8_whole_len(bang, 6), 4);
	assert_int_equal(output_utf8_whole_len(bang, 5), 4);
	assert_int_equal(output_utf8_whole_len(bang, 4), 4);
	assert_int_equal(output_utf8_whole_len((const uint8_t *)"\xf0\x9f\x98", 3), 0);
	assert_int_equal(output_utf8_whole_len((const uint8_t *)"", 0), 0);
	assert_false(output_is_text((const uint8_t *)"\xff", 1, true));
	assert_true(output_is_text((const uint8_t *)"", 0, false));
}

static void test_text_preview(void **state)
{
	char *got;

	(void)state;
	got = CAPTURE(output_buf_text_preview(o, (const uint8_t *)"a\nb\\c\x01\xef\xbc\x81", 9, 100));
	assert_string_equal(got, "a\\nb\\\\c\\x01\xef\xbc\x81");
	free(got);
	got = CAPTURE(output_buf_text_preview(o, (const uint8_t *)"abcdef", 6, 3));
	assert_string_equal(got, "abc\xe2\x80\xa6");
	free(got);
}

static void test_flags_and_endpoints(void **state)
{
	char buf[WST_ENDPOINT_STRLEN];
	uint8_t v4[16] = { 127, 0, 0, 1 };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	(void)state;
	pkt_format_flags(buf, sizeof(buf), WST_TCP_SYN);
	assert_string_equal(buf, "S");
	pkt_format_flags(buf, sizeof(buf), WST_TCP_SYN | WST_TCP_ACK);
	assert_string_equal(buf, "S.");
	pkt_format_flags(buf, sizeof(buf), WST_TCP_PSH | WST_TCP_ACK);
	assert_string_equal(buf, "P.");
	pkt_format_flags(buf, sizeof(buf), WST_TCP_FIN | WST_TCP_ACK);
	assert_string_equal(buf, "F.");
	pkt_format_flags(buf, sizeof(buf), WST_TCP_RST);
	assert_string_equal(buf, "R");
	pkt_format_flags(buf, sizeof(buf), 0);
	assert_string_equal(buf, "none");
	pkt_format_endpoint(buf, sizeof(buf), 4, v4, 7272);
	assert_string_equal(buf, "127.0.0.1:7272");
	pkt_format_endpoint(buf, sizeof(buf), 6, v6, 443);
	assert_string_equal(buf, "[2001:db8::1]:443");
}

/* The zone is set here, not taken from the machine: a POSIX TZ string needs no
 * tzdata, and tzset() makes the C library read it even if an earlier call
 * (gmtime_r does) already loaded the environment's zone. */
static void set_zone(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static void test_times(void **state)
{
	char *got;

	(void)state;
	got = CAPTURE(output_buf_time_rfc3339(o, 1795542600523910123ull));
	assert_string_equal(got, "2026-11-24T17:50:00.523910Z");
	free(got);
	set_zone("UTC0");
	/* The cached second is reused; the microseconds are not. */
	got = CAPTURE(output_buf_time_local(o, 1795542600523910123ull);
		      output_putc(o, ' ');
		      output_buf_time_local(o, 1795542600000001000ull));
	assert_string_equal(got, "17:50:00.523910 17:50:00.000001");
	free(got);
	/* Local time is the zone's, half-hour offsets either side of UTC
	 * included; the UTC form never moves. */
	static const struct { const char *tz, *want; } zones[] = {
		{ "IST-5:30", "23:20:00.523910 2026-11-24T17:50:00.523910Z" },
		{ "NST3:30", "14:20:00.523910 2026-11-24T17:50:00.523910Z" },
	};
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		set_zone(zones[i].tz);
		got = CAPTURE(output_buf_time_local(o, 1795542600523910123ull);
			      output_putc(o, ' ');
			      output_buf_time_rfc3339(o, 1795542600523910123ull));
		assert_string_equal(got, zones[i].want);
		free(got);
	}
}

static void test_hex_dump(void **state)
{
	char *got;

	(void)state;
	got = CAPTURE(output_buf_hex_dump(o, (const uint8_t *)"GET / HTTP/1.1\r\nHost", 20));
	assert_string_equal(got,
		"\t0x0000:  4745 5420 2f20 4854 5450 2f31 2e31 0d0a  GET / HTTP/1.1..\n"
		"\t0x0010:  486f 7374                                Host\n");
	free(got);
}

/* An upgrade request and its 101 through an output; what it printed. */
static char *print_upgrade(enum output_format fmt, bool show_secrets, const char *req_head,
			   const char *resp_head)
{
	static struct http_request req;
	static struct http_response resp;
	struct wst_flow flow = { .id = 7, .key = { .family = 4, .cport = 40000, .sport = 7272 } };
	struct wst_event ev = { .type = WST_EV_WS_UPGRADE, .flow = &flow, .dir = WST_C2S };
	struct output *o = mem_begin();

	assert_true(http_parse_request(req_head, strlen(req_head), &req) > 0);
	assert_true(http_parse_response(resp_head, strlen(resp_head), &resp) > 0);
	o->format = fmt;
	o->show_secrets = show_secrets;
	ev.u.upgrade.req = &req;
	output_event(o, &ev);
	ev.type = WST_EV_WS_ESTABLISHED;
	ev.dir = WST_S2C;
	ev.u.response.resp = &resp;
	ev.u.response.accept = "ok";
	output_event(o, &ev);
	return mem_end(o);
}

/*
 * Bearer tokens passed as subprotocols are redacted like Authorization in
 * both formats: the request's protocol field and headers, and the 101's;
 * plain subprotocol names stay; --show-secrets shows all.
 */
static void test_protocol_redacted(void **state)
{
	static const char token[] = "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkltOXd";
	char req[512], *got;
	static const char resp[] =
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Protocol: access_token\r\n\r\n";

	(void)state;
	snprintf(req, sizeof(req),
		 "GET /api HTTP/1.1\r\nHost: k8s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		 "Sec-WebSocket-Protocol: base64url.bearer.authorization.k8s.io.%s, base64.binary.k8s.io\r\n"
		 "\r\n", token);
	for (int fmt = OUTPUT_TEXT; fmt <= OUTPUT_JSON; fmt++) {
		got = print_upgrade(fmt, false, req, resp);
		if (strstr(got, token) || strstr(got, "bearer") || strstr(got, "access_token"))
			fail_msg("a secret shown:\n%s", got);
		if (fmt == OUTPUT_JSON) {
			assert_non_null(strstr(got, "\"protocol\":\"<redacted>, base64.binary.k8s.io\""));
			assert_non_null(strstr(got, "\"Sec-WebSocket-Protocol\":\"<redacted>, base64.binary.k8s.io\""));
			assert_non_null(strstr(got, "\"protocol\":\"<redacted>\""));
			assert_non_null(strstr(got, "\"Sec-WebSocket-Protocol\":\"<redacted>\""));
		} else {
			assert_non_null(strstr(got, " protocol=<redacted>, base64.binary.k8s.io"));
			assert_non_null(strstr(got, "WS 101 accept=ok protocol=<redacted> "));
		}
		free(got);
		got = print_upgrade(fmt, true, req, resp);
		assert_non_null(strstr(got, token));
		assert_non_null(strstr(got, "access_token"));
		assert_null(strstr(got, "<redacted>"));
		free(got);
	}
	/* Plain subprotocols: as they are. */
	snprintf(req, sizeof(req),
		 "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		 "Sec-WebSocket-Protocol: graphql-transport-ws, graphql-ws\r\n\r\n");
	got = print_upgrade(OUTPUT_JSON, false, req,
			    "HTTP/1.1 101 OK\r\nSec-WebSocket-Protocol: graphql-ws\r\n\r\n");
	assert_non_null(strstr(got, "\"protocol\":\"graphql-transport-ws, graphql-ws\""));
	assert_non_null(strstr(got, "\"protocol\":\"graphql-ws\""));
	assert_null(strstr(got, "<redacted>"));
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_is_text_and_whole_len),
		cmocka_unit_test(test_text_preview),
		cmocka_unit_test(test_flags_and_endpoints),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_hex_dump),
		cmocka_unit_test(test_protocol_redacted),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
