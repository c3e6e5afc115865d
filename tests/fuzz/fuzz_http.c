// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_http.c - libFuzzer target for the upgrade head parsers, token lists,
 * handshake checks and Sec-WebSocket-Extensions parsing.
 *
 * fuzz-flags: -max_len=20000
 *
 * Invariants checked (abort on violation):
 * - a complete head's length is <= the input and <= HTTP_MAX_HEAD, and
 *   every returned string lies inside the head;
 * - a prefix gives HTTP_INCOMPLETE or the same answer as the whole input,
 *   and the byte before a complete head's end is never enough;
 * - header names are tokens, values hold no CR/LF and no edge OWS;
 * - extension iteration moves forward and stays inside the value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/http_redact.h"
#include "protocol/http_upgrade.h"
#include "protocol/ws_accept.h"
#include "protocol/ws_extensions.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static void check_in(struct http_str s, const char *base, size_t len)
{
	if (!s.p) {
		CHECK(s.len == 0);
		return;
	}
	CHECK(s.p >= base && s.len <= len && (size_t)(s.p - base) <= len - s.len);
}

static void check_header(const struct http_header *h, const char *base, size_t len)
{
	check_in(h->name, base, len);
	check_in(h->value, base, len);
	CHECK(h->name.len > 0);
	for (size_t i = 0; i < h->name.len; i++)
		CHECK(h->name.p[i] > 0x20 && h->name.p[i] != ':' && h->name.p[i] != 0x7f);
	for (size_t i = 0; i < h->value.len; i++)
		CHECK(h->value.p[i] != '\r' && h->value.p[i] != '\n' && h->value.p[i] != 0);
	if (h->value.len) {
		CHECK(h->value.p[0] != ' ' && h->value.p[0] != '\t');
		CHECK(h->value.p[h->value.len - 1] != ' ' &&
		      h->value.p[h->value.len - 1] != '\t');
	}
}

static void check_extensions(struct http_str v)
{
	struct ws_deflate_params p;
	struct ws_ext ext;
	size_t pos = 0, last = 0;
	int rc, n = 0;

	while ((rc = ws_extensions_next(v, &pos, &ext, NULL)) == 1) {
		CHECK(pos > last);
		CHECK(pos <= v.len);
		check_in(ext.name, v.p, v.len);
		CHECK(ext.n_params <= WS_EXT_MAX_PARAMS);
		for (size_t i = 0; i < ext.n_params; i++) {
			check_in(ext.params[i].name, v.p, v.len);
			check_in(ext.params[i].value, v.p, v.len);
		}
		last = pos;
		CHECK(++n <= (int)v.len); /* each extension takes at least a byte */
	}
	CHECK(rc <= 0);
	rc = ws_extensions_parse_response(v, &p, NULL);
	CHECK(rc >= WS_EXT_ERR_NOT_OFFERED && rc <= WS_EXT_UNKNOWN);
	CHECK(p.server_max_window_bits >= 8 && p.server_max_window_bits <= 15);
	CHECK(p.client_max_window_bits >= 8 && p.client_max_window_bits <= 15);
	if (rc >= 0)
		ws_extensions_check_agreement(v, &p, NULL);
	rc = ws_extensions_parse_offer(v, &p, NULL);
	CHECK(rc >= WS_EXT_ERR_NOT_OFFERED && rc <= WS_EXT_UNKNOWN);
}

static void fuzz_request(const char *buf, size_t len)
{
	static struct http_request req, part;
	int rc = http_parse_request(buf, len, &req);

	CHECK(rc >= HTTP_ERR_STATUS);
	if (rc > 0) {
		CHECK((size_t)rc <= len && rc <= HTTP_MAX_HEAD);
		CHECK(req.n_headers <= HTTP_MAX_HEADERS);
		check_in(req.method, buf, (size_t)rc);
		check_in(req.path, buf, (size_t)rc);
		CHECK(req.minor_version >= 0 && req.minor_version <= 9);
		for (size_t i = 0; i < req.n_headers; i++)
			check_header(&req.headers[i], buf, (size_t)rc);
		check_in(req.ws_key, buf, (size_t)rc);
		CHECK(!req.is_upgrade || req.upgrade_attempt);
		CHECK(http_check_upgrade(&req, NULL) <= 0);
		if (req.is_upgrade)
			CHECK(http_token_list_has(req.upgrade, "websocket") ||
			      (req.dup_fields & HTTP_F_UPGRADE));
		check_extensions(req.ws_extensions);
		/* The head is complete exactly at its last byte. */
		CHECK(http_parse_request(buf, (size_t)rc - 1, &part) == HTTP_INCOMPLETE);
		CHECK(http_parse_request(buf, (size_t)rc, &part) == rc);
	}
	if (len > 0) {
		/* A shorter input never gives a different final answer. */
		int half = http_parse_request(buf, len / 2, &part);
		int most = http_parse_request(buf, len - 1, &part);

		CHECK(half == HTTP_INCOMPLETE || half == rc);
		CHECK(most == HTTP_INCOMPLETE || most == rc);
	}
}

static void fuzz_response(const char *buf, size_t len, struct http_str key)
{
	static struct http_response resp, part;
	int rc = http_parse_response(buf, len, &resp);
	uint64_t clen;

	CHECK(rc >= HTTP_ERR_STATUS);
	if (rc > 0) {
		CHECK((size_t)rc <= len && rc <= HTTP_MAX_HEAD);
		CHECK(resp.status >= 0 && resp.status <= 999);
		check_in(resp.reason, buf, (size_t)rc);
		for (size_t i = 0; i < resp.n_headers; i++)
			check_header(&resp.headers[i], buf, (size_t)rc);
		if (resp.content_length.p)
			http_parse_content_length(resp.content_length, &clen);
		CHECK(ws_accept_check_response(&resp, key, NULL) <= 0);
		check_extensions(resp.ws_extensions);
		CHECK(http_parse_response(buf, (size_t)rc - 1, &part) == HTTP_INCOMPLETE);
	}
	if (len > 0) {
		int most = http_parse_response(buf, len - 1, &part);

		CHECK(most == HTTP_INCOMPLETE || most == rc);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_str all = { buf, size };
	bool up;

	fuzz_request(buf, size);
	fuzz_response(buf, size, (struct http_str){ "dGhlIHNhbXBsZSBub25jZQ==", 24 });

	up = http_token_list_has(all, "upgrade");
	if (up) {
		/* Then "upgrade" occurs somewhere, in any case. */
		bool found = false;

		for (size_t i = 0; i + 7 <= size && !found; i++)
			found = !strncasecmp(buf + i, "upgrade", 7);
		CHECK(found);
	}
	http_header_is_secret(all);
	http_ws_key_valid(all);
	check_extensions(all);
	if (size > 0 && size <= 256 && !strchr(" \t", buf[0]) && !strchr(" \t", buf[size - 1])) {
		char acc[WS_ACCEPT_LEN + 1];

		ws_accept_compute(buf, size, acc);
		CHECK(ws_accept_matches(all, (struct http_str){ acc, WS_ACCEPT_LEN }));
	}
	return 0;
}
