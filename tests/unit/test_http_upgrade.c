// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the HTTP upgrade head parser and Sec-WebSocket-Accept: real
 * client and server heads, every prefix of every head, bare-LF variants,
 * garbage, limits; all input placed read-only right before an unmapped page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/http_redact.h"
#include "protocol/http_upgrade.h"
#include "protocol/ws_accept.h"
#include "guard_page.h"

#define S(lit) (struct http_str){ (lit), sizeof(lit) - 1 }

/* Input ends at a PROT_NONE page and is itself read-only: the parser may
 * neither read past it nor write to it. */
static const char *ro_copy(struct guard_buf *g, const char *src, size_t len)
{
	return (const char *)guard_copy_ro(g, src, len);
}

static void assert_str(struct http_str s, const char *want)
{
	assert_non_null(s.p);
	if (s.len != strlen(want) || memcmp(s.p, want, s.len)) {
		print_error("got \"%.*s\", want \"%s\"\n", (int)s.len, s.p, want);
		fail();
	}
}

static void assert_absent(struct http_str s)
{
	assert_null(s.p);
	assert_int_equal(s.len, 0);
}

/* Same fields, pointers at the same offsets of their own buffers. */
static void assert_same_str(struct http_str a, const char *abase,
			    struct http_str b, const char *bbase)
{
	assert_int_equal(a.len, b.len);
	assert_true((a.p == NULL) == (b.p == NULL));
	if (a.p)
		assert_int_equal(a.p - abase, b.p - bbase);
}

static void assert_same_request(const struct http_request *a, const char *abase,
				const struct http_request *b, const char *bbase)
{
	assert_same_str(a->method, abase, b->method, bbase);
	assert_same_str(a->path, abase, b->path, bbase);
	assert_int_equal(a->minor_version, b->minor_version);
	assert_int_equal(a->n_headers, b->n_headers);
	for (size_t i = 0; i < a->n_headers; i++) {
		assert_same_str(a->headers[i].name, abase, b->headers[i].name, bbase);
		assert_same_str(a->headers[i].value, abase, b->headers[i].value, bbase);
	}
	assert_same_str(a->host, abase, b->host, bbase);
	assert_same_str(a->ws_key, abase, b->ws_key, bbase);
	assert_same_str(a->ws_extensions, abase, b->ws_extensions, bbase);
	assert_int_equal(a->is_upgrade, b->is_upgrade);
	assert_int_equal(a->dup_fields, b->dup_fields);
}

static void assert_same_response(const struct http_response *a, const char *abase,
				 const struct http_response *b, const char *bbase)
{
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->minor_version, b->minor_version);
	assert_same_str(a->reason, abase, b->reason, bbase);
	assert_int_equal(a->n_headers, b->n_headers);
	for (size_t i = 0; i < a->n_headers; i++) {
		assert_same_str(a->headers[i].name, abase, b->headers[i].name, bbase);
		assert_same_str(a->headers[i].value, abase, b->headers[i].value, bbase);
	}
	assert_same_str(a->ws_accept, abase, b->ws_accept, bbase);
	assert_same_str(a->content_length, abase, b->content_length, bbase);
}

/*
 * Parses msg[0..k) for every k (the caller's buffer growing one byte at a
 * time, i.e. the head split at every offset): INCOMPLETE until the answer
 * is known, then always that answer, equal to want. For a complete head
 * the fields must match those of the whole message.
 */
static void check_request_prefixes(const char *msg, size_t len, int want)
{
	struct http_request whole, part;
	struct guard_buf gw, gp;
	const char *w = ro_copy(&gw, msg, len);
	int rc, first = 0;

	assert_int_equal(http_parse_request(w, len, &whole), want);
	for (size_t k = 0; k <= len; k++) {
		const char *p = ro_copy(&gp, msg, k);

		rc = http_parse_request(p, k, &part);
		if (first) {
			assert_int_equal(rc, first);
		} else if (rc != HTTP_INCOMPLETE) {
			assert_int_equal(rc, want);
			first = rc;
		}
		if (rc > 0) {
			assert_true((size_t)rc <= k);
			assert_same_request(&part, p, &whole, w);
		}
		guard_free(&gp);
	}
	assert_int_equal(first, want);
	if (want > 0)
		assert_int_equal(http_parse_request(w, (size_t)want - 1, &part),
				 HTTP_INCOMPLETE);
	guard_free(&gw);
}

static void check_response_prefixes(const char *msg, size_t len, int want)
{
	struct http_response whole, part;
	struct guard_buf gw, gp;
	const char *w = ro_copy(&gw, msg, len);
	int rc, first = 0;

	assert_int_equal(http_parse_response(w, len, &whole), want);
	for (size_t k = 0; k <= len; k++) {
		const char *p = ro_copy(&gp, msg, k);

		rc = http_parse_response(p, k, &part);
		if (first) {
			assert_int_equal(rc, first);
		} else if (rc != HTTP_INCOMPLETE) {
			assert_int_equal(rc, want);
			first = rc;
		}
		if (rc > 0)
			assert_same_response(&part, p, &whole, w);
		guard_free(&gp);
	}
	assert_int_equal(first, want);
	guard_free(&gw);
}

/* msg with every CRLF turned into LF; caller frees. */
static char *bare_lf(const char *msg, size_t len, size_t *out_len)
{
	char *out = malloc(len + 1);
	size_t n = 0;

	assert_non_null(out);
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n')
			continue;
		out[n++] = msg[i];
	}
	*out_len = n;
	return out;
}

static const char chromium_req[] =
	"GET /chat?room=1 HTTP/1.1\r\n"
	"Host: 127.0.0.1:7272\r\n"
	"Connection: Upgrade\r\n"
	"Pragma: no-cache\r\n"
	"Cache-Control: no-cache\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n"
	"Upgrade: websocket\r\n"
	"Origin: http://127.0.0.1:55151\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"Accept-Encoding: gzip, deflate, br\r\n"
	"Accept-Language: en-US,en;q=0.9\r\n"
	"Cookie: PHPSESSID=0123456789abcdef; theme=dark\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
	"\r\n";

static const char python_req[] =
	"GET / HTTP/1.1\r\n"
	"Host: localhost:8765\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
	"User-Agent: Python/3.11 websockets/10.4\r\n"
	"\r\n";

static const char workerman_req[] =
	"GET / HTTP/1.1\r\n"
	"Host: 127.0.0.1:7272\r\n"
	"Connection: Upgrade\r\n"
	"Pragma: no-cache\r\n"
	"Cache-Control: no-cache\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0\r\n"
	"Upgrade: websocket\r\n"
	"Origin: http://127.0.0.1:55151\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
	"\r\n";

static const char resp_101[] =
	"HTTP/1.1 101 Switching Protocols\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	"\r\n";

/* What workerman writes (no "s"), for the workerman_req key. */
static const char resp_101_workerman[] =
	"HTTP/1.1 101 Switching Protocol\r\n"
	"Upgrade: websocket\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Accept: C/0nmHhBztSRGR1CwL6Tf4ZjwpY=\r\n"
	"\r\n";

static void test_chromium_request(void **state)
{
	struct http_request req;
	struct guard_buf g;
	size_t len = sizeof(chromium_req) - 1;
	const char *p = ro_copy(&g, chromium_req, len);
	const char *why = NULL;

	(void)state;
	assert_int_equal(http_parse_request(p, len, &req), (int)len);
	assert_str(req.method, "GET");
	assert_str(req.path, "/chat?room=1");
	assert_int_equal(req.minor_version, 1);
	assert_int_equal(req.n_headers, 13);
	assert_str(req.headers[0].name, "Host");
	assert_str(req.headers[10].name, "Cookie");
	assert_str(req.headers[10].value, "PHPSESSID=0123456789abcdef; theme=dark");
	assert_str(req.host, "127.0.0.1:7272");
	assert_str(req.origin, "http://127.0.0.1:55151");
	assert_str(req.user_agent, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
		   "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36");
	assert_str(req.upgrade, "websocket");
	assert_str(req.connection, "Upgrade");
	assert_str(req.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
	assert_str(req.ws_version, "13");
	assert_absent(req.ws_protocol);
	assert_str(req.ws_extensions, "permessage-deflate; client_max_window_bits");
	assert_int_equal(req.dup_fields, 0);
	assert_true(req.upgrade_attempt);
	assert_true(req.is_upgrade);
	assert_int_equal(http_check_upgrade(&req, &why), HTTP_UPG_OK);
	assert_non_null(why);
	assert_true(http_header_is_secret(req.headers[10].name));
	assert_false(http_header_is_secret(req.headers[0].name));
	guard_free(&g);
}

static void test_python_request(void **state)
{
	struct http_request req;
	struct guard_buf g;
	size_t len = sizeof(python_req) - 1;
	const char *p = ro_copy(&g, python_req, len);

	(void)state;
	assert_int_equal(http_parse_request(p, len, &req), (int)len);
	assert_str(req.path, "/");
	assert_str(req.host, "localhost:8765");
	assert_absent(req.origin);
	assert_str(req.user_agent, "Python/3.11 websockets/10.4");
	assert_str(req.ws_key, "x3JJHMbDL1EzLkh9GBhXDw==");
	assert_true(req.is_upgrade);
	assert_int_equal(http_check_upgrade(&req, NULL), HTTP_UPG_OK);
	guard_free(&g);
}

static void test_workerman_request(void **state)
{
	struct http_request req;
	struct guard_buf g;
	size_t len = sizeof(workerman_req) - 1;
	const char *p = ro_copy(&g, workerman_req, len);

	(void)state;
	assert_int_equal(http_parse_request(p, len, &req), (int)len);
	assert_str(req.host, "127.0.0.1:7272");
	assert_str(req.origin, "http://127.0.0.1:55151");
	assert_true(req.is_upgrade);
	assert_int_equal(http_check_upgrade(&req, NULL), HTTP_UPG_OK);
	guard_free(&g);
}

static void test_request_prefixes(void **state)
{
	const char *msgs[] = { chromium_req, python_req, workerman_req };

	(void)state;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		size_t len = strlen(msgs[i]), lf_len;
		char *lf = bare_lf(msgs[i], len, &lf_len);

		check_request_prefixes(msgs[i], len, (int)len);
		check_request_prefixes(lf, lf_len, (int)lf_len);
		free(lf);
	}
}

static void test_bare_lf_request(void **state)
{
	size_t len;
	char *lf = bare_lf(chromium_req, sizeof(chromium_req) - 1, &len);
	struct http_request req;
	struct guard_buf g;
	const char *p = ro_copy(&g, lf, len);

	(void)state;
	assert_int_equal(len, sizeof(chromium_req) - 1 - 15);
	assert_int_equal(http_parse_request(p, len, &req), (int)len);
	assert_int_equal(req.n_headers, 13);
	assert_str(req.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
	assert_str(req.ws_extensions, "permessage-deflate; client_max_window_bits");
	assert_true(req.is_upgrade);
	guard_free(&g);
	free(lf);
}

/* Bytes after the head (a pipelined frame) are not consumed. */
static void test_request_followed_by_data(void **state)
{
	char buf[1024];
	size_t len = sizeof(python_req) - 1;
	struct http_request req;
	struct guard_buf g;
	const char *p;

	(void)state;
	memcpy(buf, python_req, len);
	memcpy(buf + len, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
	p = ro_copy(&g, buf, len + 11);
	assert_int_equal(http_parse_request(p, len + 11, &req), (int)len);
	guard_free(&g);
}

static void test_leading_empty_lines(void **state)
{
	static const char msg[] = "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_request req;

	(void)state;
	assert_int_equal(http_parse_request(msg, sizeof(msg) - 1, &req),
			 (int)sizeof(msg) - 1);
	assert_str(req.method, "GET");
	assert_str(req.host, "a");
}

static void test_responses(void **state)
{
	struct http_response resp;
	struct guard_buf g;
	size_t len = sizeof(resp_101) - 1;
	const char *p = ro_copy(&g, resp_101, len);
	const char *why = NULL;

	(void)state;
	assert_int_equal(http_parse_response(p, len, &resp), (int)len);
	assert_int_equal(resp.status, 101);
	assert_int_equal(resp.minor_version, 1);
	assert_str(resp.reason, "Switching Protocols");
	assert_int_equal(resp.n_headers, 3);
	assert_str(resp.upgrade, "websocket");
	assert_str(resp.connection, "Upgrade");
	assert_str(resp.ws_accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_absent(resp.content_length);
	assert_int_equal(ws_accept_check_response(&resp, S("dGhlIHNhbXBsZSBub25jZQ=="), &why),
			 WS_ACC_OK);
	/* The answer to another key. */
	assert_int_equal(ws_accept_check_response(&resp, S("x3JJHMbDL1EzLkh9GBhXDw=="), &why),
			 WS_ACC_ACCEPT);
	assert_int_equal(ws_accept_check_violation(WS_ACC_ACCEPT), WS_VIOL_ACCEPT);
	assert_string_equal(ws_violation_name(ws_accept_check_violation(WS_ACC_ACCEPT)), "accept");
	assert_int_equal(ws_accept_check_violation(WS_ACC_NOT_101), WS_VIOL_NONE); /* not a violation */
	guard_free(&g);

	len = sizeof(resp_101_workerman) - 1;
	p = ro_copy(&g, resp_101_workerman, len);
	assert_int_equal(http_parse_response(p, len, &resp), (int)len);
	assert_int_equal(resp.status, 101);
	assert_str(resp.reason, "Switching Protocol");
	assert_int_equal(ws_accept_check_response(&resp, S("AQIDBAUGBwgJCgsMDQ4PEA=="), NULL),
			 WS_ACC_OK);
	guard_free(&g);
}

static void test_response_wrong_accept(void **state)
{
	static const char msg[] =
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n"
		"\r\n";
	static const char no_upgrade[] =
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"\r\n";
	static const char dup_accept[] =
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"\r\n";
	struct http_response resp;
	const struct http_str key = S("dGhlIHNhbXBsZSBub25jZQ==");

	(void)state;
	assert_int_equal(http_parse_response(msg, sizeof(msg) - 1, &resp), (int)sizeof(msg) - 1);
	assert_int_equal(ws_accept_check_response(&resp, key, NULL), WS_ACC_ACCEPT);
	assert_int_equal(http_parse_response(no_upgrade, sizeof(no_upgrade) - 1, &resp),
			 (int)sizeof(no_upgrade) - 1);
	assert_int_equal(ws_accept_check_response(&resp, key, NULL), WS_ACC_UPGRADE);
	assert_int_equal(http_parse_response(dup_accept, sizeof(dup_accept) - 1, &resp),
			 (int)sizeof(dup_accept) - 1);
	assert_true(resp.dup_fields & HTTP_F_WS_ACCEPT);
	assert_int_equal(ws_accept_check_response(&resp, key, NULL), WS_ACC_ACCEPT);
}

static void test_error_responses(void **state)
{
	static const struct {
		const char *head, *body;
		int status;
		uint64_t clen;
	} cases[] = {
		{ "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
		  "Content-Length: 11\r\nConnection: close\r\n\r\n", "Bad Request", 400, 11 },
		{ "HTTP/1.1 403 Forbidden\r\nServer: workerman\r\nContent-Length: 9\r\n\r\n",
		  "Forbidden", 403, 9 },
		{ "HTTP/1.0 404 Not Found\nContent-Length: 19\nContent-Type: text/html\n\n",
		  "<h1>Not Found</h1>\n", 404, 19 },
		{ "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
		  "Content-Length: 0\r\n\r\n", "", 426, 0 },
	};
	char buf[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t hl = strlen(cases[i].head), bl = strlen(cases[i].body);
		struct http_response resp;
		struct guard_buf g;
		const char *p;
		uint64_t clen = 99;

		memcpy(buf, cases[i].head, hl);
		memcpy(buf + hl, cases[i].body, bl);
		p = ro_copy(&g, buf, hl + bl);
		assert_int_equal(http_parse_response(p, hl + bl, &resp), (int)hl);
		assert_int_equal(resp.status, cases[i].status);
		assert_int_equal(http_parse_content_length(resp.content_length, &clen), 0);
		assert_int_equal(clen, cases[i].clen);
		assert_int_equal(clen, bl);
		assert_int_equal(ws_accept_check_response(&resp, S("dGhlIHNhbXBsZSBub25jZQ=="), NULL),
				 WS_ACC_NOT_101);
		guard_free(&g);
		check_response_prefixes(buf, hl + bl, (int)hl);
	}
}

static void test_response_prefixes(void **state)
{
	const char *msgs[] = { resp_101, resp_101_workerman, "HTTP/1.1 101\r\n\r\n" };

	(void)state;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		size_t len = strlen(msgs[i]), lf_len;
		char *lf = bare_lf(msgs[i], len, &lf_len);

		check_response_prefixes(msgs[i], len, (int)len);
		check_response_prefixes(lf, lf_len, (int)lf_len);
		free(lf);
	}
}

static void test_bad_responses(void **state)
{
	static const struct {
		const char *msg;
		int want;
	} cases[] = {
		{ "HTTP/1.1 1x1 OK\r\n\r\n", HTTP_ERR_STATUS },
		{ "HTTP/1.1 10\r\n\r\n", HTTP_ERR_STATUS },
		{ "HTTP/1.1 1011 OK\r\n\r\n", HTTP_ERR_STATUS },
		{ "HTTP/2.0 101 OK\r\n\r\n", HTTP_ERR_VERSION },
		{ "HTTP/1.1  101 OK\r\n\r\n", HTTP_ERR_STATUS },
		{ "http/1.1 101 OK\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n folded\r\n\r\n", HTTP_ERR_FOLDING },
		{ "HTTP/1.1 101 O\x01K\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03", HTTP_ERR_SYNTAX },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_response_prefixes(cases[i].msg, strlen(cases[i].msg), cases[i].want);
}

static void test_garbage_requests(void **state)
{
	/* Start of a TLS 1.2 ClientHello. */
	static const char tls[] =
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x8a\x4b\x10\x00\xff"
		"\x00\x20\x5c\x1d\x00\x00\x00\x13\x01\x13\x02\x13\x03\xc0\x2b\x00";
	static const char nul_value[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	static const char nul_method[] = "G\0T / HTTP/1.1\r\n\r\n";
	static const struct {
		const char *msg;
		int want;
	} cases[] = {
		{ "GET\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET \r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET  / HTTP/1.1\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET /\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.1 \r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.x\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTPS/1.1\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/3.0\r\n\r\n", HTTP_ERR_VERSION },
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HTTP_ERR_VERSION },
		{ "GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.1\r\n: x\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.1\r\nHo\x80st: x\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.1\rX", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.1\r\nHost: a\r\n\rX", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.1\r\nHost: a\x1b[31m\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", HTTP_ERR_FOLDING },
		{ "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", HTTP_ERR_FOLDING },
		{ "G(T / HTTP/1.1\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "GET /a\x01 HTTP/1.1\r\n\r\n", HTTP_ERR_SYNTAX },
		{ "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", HTTP_ERR_SYNTAX },
	};

	(void)state;
	check_request_prefixes(tls, sizeof(tls) - 1, HTTP_ERR_SYNTAX);
	check_request_prefixes(nul_value, sizeof(nul_value) - 1, HTTP_ERR_SYNTAX);
	check_request_prefixes(nul_method, sizeof(nul_method) - 1, HTTP_ERR_SYNTAX);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_request_prefixes(cases[i].msg, strlen(cases[i].msg), cases[i].want);
}

static void test_too_long(void **state)
{
	size_t cap = 24 * 1024, len = 0;
	char *buf = malloc(cap);
	struct http_request req;
	struct guard_buf g;
	const char *p;

	(void)state;
	assert_non_null(buf);
	/* 20 KiB of headers (fewer than HTTP_MAX_HEADERS lines). */
	len += (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: 127.0.0.1:7272\r\n");
	for (int i = 0; i < 40; i++) {
		len += (size_t)sprintf(buf + len, "X-Pad-%02d: ", i);
		memset(buf + len, 'a', 500);
		len += 500;
		len += (size_t)sprintf(buf + len, "\r\n");
	}
	len += (size_t)sprintf(buf + len, "\r\n");
	assert_true(len > 20 * 1024 && len < cap);
	p = ro_copy(&g, buf, len);
	assert_int_equal(http_parse_request(p, len, &req), HTTP_ERR_TOO_LONG);
	/* The answer is known once HTTP_MAX_HEAD bytes are there, not before. */
	assert_int_equal(http_parse_request(p, HTTP_MAX_HEAD, &req), HTTP_ERR_TOO_LONG);
	assert_int_equal(http_parse_request(p, HTTP_MAX_HEAD - 1, &req), HTTP_INCOMPLETE);
	guard_free(&g);

	/* One endless header value. */
	len = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nX: ");
	memset(buf + len, 'b', cap - len);
	p = ro_copy(&g, buf, cap);
	assert_int_equal(http_parse_request(p, cap, &req), HTTP_ERR_TOO_LONG);
	assert_int_equal(http_parse_request(p, HTTP_MAX_HEAD - 1, &req), HTTP_INCOMPLETE);
	guard_free(&g);

	/* A head of exactly HTTP_MAX_HEAD bytes is accepted. */
	len = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nX: ");
	memset(buf + len, 'c', HTTP_MAX_HEAD - len - 4);
	memcpy(buf + HTTP_MAX_HEAD - 4, "\r\n\r\n", 4);
	p = ro_copy(&g, buf, HTTP_MAX_HEAD);
	assert_int_equal(http_parse_request(p, HTTP_MAX_HEAD, &req), HTTP_MAX_HEAD);
	assert_int_equal(req.headers[0].value.len, HTTP_MAX_HEAD - len - 4);
	guard_free(&g);

	/* Endless empty lines are bounded too. */
	memset(buf, '\n', cap);
	assert_int_equal(http_parse_request(buf, cap, &req), HTTP_ERR_TOO_LONG);
	free(buf);
}

static void test_header_count(void **state)
{
	char buf[4096];
	struct http_request req;
	size_t len;
	struct guard_buf g;
	const char *p;

	(void)state;
	for (int n = HTTP_MAX_HEADERS; n <= 100; n += 100 - HTTP_MAX_HEADERS) {
		len = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n");
		for (int i = 0; i < n; i++)
			len += (size_t)sprintf(buf + len, "H%d: %d\r\n", i, i);
		len += (size_t)sprintf(buf + len, "\r\n");
		p = ro_copy(&g, buf, len);
		if (n == HTTP_MAX_HEADERS) {
			assert_int_equal(http_parse_request(p, len, &req), (int)len);
			assert_int_equal(req.n_headers, HTTP_MAX_HEADERS);
			assert_str(req.headers[HTTP_MAX_HEADERS - 1].name, "H63");
			assert_str(req.headers[HTTP_MAX_HEADERS - 1].value, "63");
		} else {
			assert_int_equal(http_parse_request(p, len, &req), HTTP_ERR_TOO_LONG);
		}
		guard_free(&g);
	}
}

static void test_plain_get(void **state)
{
	static const char msg[] =
		"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
	struct http_request req;
	const char *why = NULL;

	(void)state;
	assert_int_equal(http_parse_request(msg, sizeof(msg) - 1, &req), (int)sizeof(msg) - 1);
	assert_false(req.upgrade_attempt);
	assert_false(req.is_upgrade);
	assert_int_equal(http_check_upgrade(&req, &why), HTTP_UPG_NOT_UPGRADE);
	/* A plain request, not a violation. */
	assert_int_equal(http_upgrade_check_violation(HTTP_UPG_NOT_UPGRADE), WS_VIOL_NONE);
	assert_int_equal(http_upgrade_check_violation(HTTP_UPG_HTTP_VERSION), WS_VIOL_HTTP_VERSION);
}

static void test_connection_token_list(void **state)
{
	/* Firefox style, mixed case, value OWS. */
	static const char msg[] =
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade \r\n"
		"Upgrade:WebSocket\r\nSec-WebSocket-Key:  dGhlIHNhbXBsZSBub25jZQ==\t\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n";
	/* Repeated Connection lines form one list. */
	static const char split[] =
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n"
		"Upgrade: websocket\r\nConnection: upgrade\r\n\r\n";
	static const char h2c[] =
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
		"Upgrade: h2c\r\n\r\n";
	static const char upgrades[] =
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrades\r\n"
		"Upgrade: websocket\r\n\r\n";
	struct http_request req;

	(void)state;
	assert_true(http_parse_request(msg, sizeof(msg) - 1, &req) > 0);
	assert_str(req.connection, "keep-alive, Upgrade");
	assert_str(req.upgrade, "WebSocket");
	assert_str(req.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
	assert_true(req.is_upgrade);
	assert_int_equal(http_check_upgrade(&req, NULL), HTTP_UPG_OK);

	assert_true(http_parse_request(split, sizeof(split) - 1, &req) > 0);
	assert_true(req.dup_fields & HTTP_F_CONNECTION);
	assert_str(req.connection, "keep-alive");
	assert_true(req.is_upgrade);

	assert_true(http_parse_request(h2c, sizeof(h2c) - 1, &req) > 0);
	assert_false(req.is_upgrade);
	assert_true(http_parse_request(upgrades, sizeof(upgrades) - 1, &req) > 0);
	assert_false(req.is_upgrade);
}

static void test_token_list(void **state)
{
	(void)state;
	assert_true(http_token_list_has(S("keep-alive, Upgrade"), "upgrade"));
	assert_true(http_token_list_has(S(" upgrade ,"), "upgrade"));
	assert_true(http_token_list_has(S(",,Upgrade,,"), "upgrade"));
	assert_true(http_token_list_has(S("Upgrade\t"), "upgrade"));
	assert_true(http_token_list_has(S("UPGRADE"), "upgrade"));
	assert_false(http_token_list_has(S("upgrades"), "upgrade"));
	assert_false(http_token_list_has(S("keep-alive"), "upgrade"));
	assert_false(http_token_list_has(S("up grade"), "upgrade"));
	assert_false(http_token_list_has(S(""), "upgrade"));
	assert_false(http_token_list_has(S(",,"), "upgrade"));
	assert_false(http_token_list_has((struct http_str){ NULL, 0 }, "upgrade"));
	/* The list ends where its length says, not at a NUL. */
	assert_false(http_token_list_has((struct http_str){ "upgrade", 6 }, "upgrade"));
}

static void test_secret_headers(void **state)
{
	(void)state;
	assert_true(http_header_is_secret(S("Cookie")));
	assert_true(http_header_is_secret(S("COOKIE")));
	assert_true(http_header_is_secret(S("Set-Cookie")));
	assert_true(http_header_is_secret(S("Authorization")));
	assert_true(http_header_is_secret(S("Proxy-Authorization")));
	assert_true(http_header_is_secret(S("X-Api-Key")));
	assert_true(http_header_is_secret(S("X-Auth-Token")));
	assert_true(http_header_is_secret(S("X-CSRF-Token")));
	assert_true(http_header_is_secret(S("X-Session-Id")));
	assert_false(http_header_is_secret(S("Host")));
	assert_false(http_header_is_secret(S("Origin")));
	assert_false(http_header_is_secret(S("User-Agent")));
	assert_false(http_header_is_secret(S("Sec-WebSocket-Key")));
	assert_false(http_header_is_secret(S("Cookies-Are-Fine-Here-Not"))); /* not an exact name */
	assert_false(http_header_is_secret((struct http_str){ NULL, 0 }));
}

static void test_check_upgrade(void **state)
{
	static const struct {
		const char *msg;
		int want;
	} cases[] = {
		{ "POST / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  HTTP_UPG_METHOD },
		{ "GET / HTTP/1.0\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  HTTP_UPG_HTTP_VERSION },
		{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  HTTP_UPG_NO_HOST },
		{ "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Version: 13\r\n\r\n", HTTP_UPG_KEY },
		{ "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n", HTTP_UPG_KEY },
		/* base64 of 20 bytes */
		{ "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  HTTP_UPG_KEY },
		/* right length, a character outside base64 */
		{ "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!=\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  HTTP_UPG_KEY },
		{ "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		  "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  HTTP_UPG_KEY },
		{ "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
		  HTTP_UPG_WS_VERSION },
		{ "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", HTTP_UPG_WS_VERSION },
		{ "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13, 8\r\n\r\n",
		  HTTP_UPG_WS_VERSION },
	};
	struct http_request req;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		size_t len = strlen(cases[i].msg);

		assert_int_equal(http_parse_request(cases[i].msg, len, &req), (int)len);
		assert_int_equal(http_check_upgrade(&req, &why), cases[i].want);
		assert_non_null(why);
	}
	assert_true(http_ws_key_valid(S("AQIDBAUGBwgJCgsMDQ4PEA==")));
	assert_false(http_ws_key_valid(S("AQIDBAUGBwgJCgsMDQ4PEA=")));
	assert_false(http_ws_key_valid(S("AQIDBAUGBwgJCgsMDQ4PEAA=")));
}

static void test_ws_accept(void **state)
{
	char out[WS_ACCEPT_LEN + 1];

	(void)state;
	/* RFC 6455 section 1.3. */
	ws_accept_compute("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ws_accept_compute("x3JJHMbDL1EzLkh9GBhXDw==", 24, out);
	assert_string_equal(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
	/* SHA-1 of the GUID alone. */
	ws_accept_compute("", 0, out);
	assert_string_equal(out, "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w=");

	assert_true(ws_accept_matches(S("dGhlIHNhbXBsZSBub25jZQ=="),
				      S("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")));
	assert_true(ws_accept_matches(S(" dGhlIHNhbXBsZSBub25jZQ==\t"),
				      S("\ts3pPLMBiTxaQ9kYGzzhZRbK+xOo= ")));
	assert_false(ws_accept_matches(S("dGhlIHNhbXBsZSBub25jZQ=="),
				       S("s3pPLMBiTxaQ9kYGzzhZRbK+xOo")));
	assert_false(ws_accept_matches(S("dGhlIHNhbXBsZSBub25jZQ=="),
				       S("S3pPLMBiTxaQ9kYGzzhZRbK+xOo=")));
	assert_false(ws_accept_matches(S("x3JJHMbDL1EzLkh9GBhXDw=="),
				       S("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")));
	assert_false(ws_accept_matches((struct http_str){ NULL, 0 },
				       S("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")));
	assert_false(ws_accept_matches(S("dGhlIHNhbXBsZSBub25jZQ=="),
				       (struct http_str){ NULL, 0 }));
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(http_strerror(HTTP_ERR_TOO_LONG),
			    "head too long or too many header fields");
	assert_string_not_equal(http_strerror(HTTP_ERR_SYNTAX), http_strerror(HTTP_ERR_FOLDING));
	assert_string_equal(http_strerror(-1000), "unknown HTTP error");
}

static void test_content_length(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(http_parse_content_length(S("0"), &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(http_parse_content_length(S("18446744073709551615"), &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(http_parse_content_length(S("18446744073709551616"), &v), HTTP_ERR_SYNTAX);
	assert_int_equal(http_parse_content_length(S("-1"), &v), HTTP_ERR_SYNTAX);
	assert_int_equal(http_parse_content_length(S("1 2"), &v), HTTP_ERR_SYNTAX);
	assert_int_equal(http_parse_content_length(S(""), &v), HTTP_ERR_SYNTAX);
}

static void expect_redacted(const char *path, const char *want)
{
	char out[HTTP_REDACTED_PATH_MAX(256)];
	struct http_str in = { path, strlen(path) };
	size_t n;

	assert_true(strlen(path) <= 256);
	n = http_path_redact(in, out);
	assert_true(n <= HTTP_REDACTED_PATH_MAX(in.len));
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
}

/* Query values that authenticate are not shown; the rest stays as it is. */
static void test_path_redact(void **state)
{
	(void)state;
	expect_redacted("/", "/");
	expect_redacted("/chat", "/chat");
	expect_redacted("/chat?room=1", "/chat?room=1");
	expect_redacted("/ws?token=abc&room=1", "/ws?token=<redacted>&room=1");
	expect_redacted("/ws?room=1&access_token=a.b.c", "/ws?room=1&access_token=<redacted>");
	expect_redacted("/ws?KEY=1;sig=2&x", "/ws?KEY=<redacted>;sig=<redacted>&x");
	expect_redacted("/ws?session_id=9#frag=1", "/ws?session_id=<redacted>#frag=1");
	expect_redacted("/ws?token", "/ws?token");
	expect_redacted("/ws?token=", "/ws?token=<redacted>");
	expect_redacted("/ws?=v&&a=b", "/ws?=v&&a=b");
	/* The worst expansion stays within the documented bound. */
	expect_redacted("?k=&k=&k=", "?k=&k=&k=");
	expect_redacted("?pwd=&pwd=", "?pwd=<redacted>&pwd=<redacted>");
}

/* want NULL: nothing secret, shown as it is. */
static void expect_protocol(const char *list, const char *want)
{
	char out[HTTP_REDACTED_PROTOCOL_MAX(256)];
	struct http_str in = { list, strlen(list) };
	size_t n;

	assert_true(strlen(list) <= 256);
	if (http_protocol_has_secret(in) != (want != NULL))
		fail_msg("'%s': has_secret %d", list, !want);
	n = http_protocol_redact(in, out);
	assert_true(n <= HTTP_REDACTED_PROTOCOL_MAX(in.len));
	if (!want)
		want = list;
	if (n != strlen(want) || memcmp(out, want, n))
		fail_msg("'%s' -> '%.*s', want '%s'", list, (int)n, out, want);
}

/*
 * Sec-WebSocket-Protocol: bearer tokens go, subprotocol names stay, and
 * what surrounds them (blanks, commas) is kept as written.
 */
static void test_protocol_redact(void **state)
{
	(void)state;
	/* Registered and common subprotocols: nothing hidden. */
	expect_protocol("", NULL);
	expect_protocol("chat", NULL);
	expect_protocol("graphql-ws", NULL);
	expect_protocol("graphql-transport-ws, graphql-ws", NULL);
	expect_protocol("v12.stomp, v11.stomp, v10.stomp", NULL);
	expect_protocol("wamp.2.json,wamp.2.msgpack", NULL);
	expect_protocol("mqtt", NULL);
	expect_protocol("actioncable-v1-json, actioncable-unsupported", NULL);
	expect_protocol("v4.channel.k8s.io, base64.channel.k8s.io", NULL);
	/* Kubernetes: the bearer token in a subprotocol, the others stay. */
	expect_protocol("base64url.bearer.authorization.k8s.io.ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRw, "
			"base64.binary.k8s.io",
			"<redacted>, base64.binary.k8s.io");
	/* A keyword, then the token as the next element. */
	expect_protocol("access_token, abc123", "<redacted>, <redacted>");
	expect_protocol("Authorization,s3cr3t,chat", "<redacted>,<redacted>,chat");
	expect_protocol("Bearer  x  ,  graphql-ws", "<redacted>  ,  graphql-ws");
	expect_protocol("  Bearer  ,  x  ,chat", "  <redacted>  ,  <redacted>  ,chat");
	/* A JSON web token alone, and a long opaque value. */
	expect_protocol("chat, eyJhbGciOiJIUzI1NiJ9.e30.abc", "chat, <redacted>");
	expect_protocol("0123456789abcdef0123456789abcdef", "<redacted>");
	expect_protocol("3f2b1c9e-6d4a-4b8e-9f1a-2c7d5e8b0a41", "<redacted>");
	/* Secret words as header names know them. */
	expect_protocol("x-api-key.1234", "<redacted>");
	expect_protocol("session-42, chat", "<redacted>, chat");
	/* Empty elements and stray commas, as written. */
	expect_protocol(",chat,,", NULL);
	expect_protocol(" , token ,", " , <redacted> ,");
	/* The worst expansion stays within the documented bound. */
	expect_protocol("t,t,t", NULL);
	expect_protocol("jwt,j,j", "<redacted>,<redacted>,j");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_redact),
		cmocka_unit_test(test_protocol_redact),
		cmocka_unit_test(test_chromium_request),
		cmocka_unit_test(test_python_request),
		cmocka_unit_test(test_workerman_request),
		cmocka_unit_test(test_request_prefixes),
		cmocka_unit_test(test_bare_lf_request),
		cmocka_unit_test(test_request_followed_by_data),
		cmocka_unit_test(test_leading_empty_lines),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_response_wrong_accept),
		cmocka_unit_test(test_error_responses),
		cmocka_unit_test(test_response_prefixes),
		cmocka_unit_test(test_bad_responses),
		cmocka_unit_test(test_garbage_requests),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_header_count),
		cmocka_unit_test(test_plain_get),
		cmocka_unit_test(test_connection_token_list),
		cmocka_unit_test(test_token_list),
		cmocka_unit_test(test_secret_headers),
		cmocka_unit_test(test_check_upgrade),
		cmocka_unit_test(test_ws_accept),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_content_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
