// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_proxy_hdr.c - libFuzzer target for the PROXY protocol v1/v2 decoder
 * and the Forwarded / X-Forwarded-For / X-Real-IP parsers.
 *
 * fuzz-flags: -max_len=4096
 *
 * Input: byte 0 picks the parser (even: PROXY header; odd: the rest is an
 * HTTP request head whose proxy headers are read, and each line's value is
 * also given to both header parsers alone).
 *
 * Invariants checked (abort on violation):
 * - a PROXY header's length is <= the input, and every shorter prefix
 *   gives PROXY_INCOMPLETE or the same answer; the addresses are strings;
 * - a forwarded address is a NUL-terminated string of address characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http_upgrade.h"
#include "protocol/proxy_hdr.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static void check_addr(const char *a)
{
	size_t n = strnlen(a, PROXY_ADDR_MAX);

	CHECK(n < PROXY_ADDR_MAX);
	for (size_t i = 0; i < n; i++)
		CHECK(a[i] > 0x20 && a[i] < 0x7f && a[i] != '[' && a[i] != ']' && a[i] != ',');
}

static void fuzz_proxy(const uint8_t *d, size_t n)
{
	struct proxy_info pi;
	int whole = proxy_parse(d, n, &pi);

	CHECK(whole >= PROXY_BAD && (whole <= 0 || (size_t)whole <= n));
	if (whole > 0) {
		check_addr(pi.src);
		check_addr(pi.dst);
		CHECK(pi.version == 1 || pi.version == 2);
	}
	for (size_t i = 0; i < n; i++) {
		int r = proxy_parse(d, i, &pi);

		if (whole > 0 && i >= (size_t)whole)
			CHECK(r == whole);
		else
			CHECK(r == PROXY_INCOMPLETE || r == whole);
	}
}

static void fuzz_headers(const uint8_t *d, size_t n)
{
	struct http_request *req = malloc(sizeof(*req));
	char out[PROXY_ADDR_MAX];

	if (!req)
		return;
	if (http_parse_request((const char *)d, n, req) > 0) {
		if (fwd_from_request(req, out) != FWD_NONE)
			check_addr(out);
		else
			CHECK(out[0] == 0);
		for (size_t i = 0; i < req->n_headers; i++) {
			if (fwd_parse_forwarded(req->headers[i].value, out) == 0)
				check_addr(out);
			if (fwd_parse_x_forwarded_for(req->headers[i].value, out) == 0)
				check_addr(out);
		}
	}
	free(req);
	/* the raw bytes as one value too */
	if (fwd_parse_forwarded((struct http_str){ (const char *)d, n }, out) == 0)
		check_addr(out);
	if (fwd_parse_x_forwarded_for((struct http_str){ (const char *)d, n }, out) == 0)
		check_addr(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_headers(data + 1, size - 1);
	else
		fuzz_proxy(data + 1, size - 1);
	return 0;
}
