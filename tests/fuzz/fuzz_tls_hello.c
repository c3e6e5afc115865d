// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_tls_hello.c - libFuzzer target for the TLS hello reader
 * (protocol/tls_hello.c).
 *
 * fuzz-flags: -max_len=40000
 *
 * Input: byte 0: bit 0 picks the direction (1: from the server, a
 * ServerHello expected), bits 1-7 a piece size (0: whole); the rest is the
 * direction's bytes, fed in pieces of that size, and also given whole to
 * the hello parsers from its 6th byte (past a record header).
 *
 * Invariants checked (abort on violation):
 * - fed whole or in pieces, the reader ends in the same state (hello,
 *   error, record types, alert);
 * - the names are NUL-terminated at their lengths, within their bounds
 *   (they may hold NUL bytes: the sinks print them by length);
 * - once the reader stops wanting bytes it stays so, and holds no buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/tls_hello.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static void check_names(const struct tls_client_hello *c)
{
	CHECK(c->sni_len <= TLS_HELLO_SNI_MAX && c->sni[c->sni_len] == '\0');
	CHECK(c->alpn_len <= TLS_HELLO_ALPN_MAX && c->alpn[c->alpn_len] == '\0');
}

static void same(const struct tls_wire *a, const struct tls_wire *b)
{
	CHECK(a->error == b->error && a->hello_done == b->hello_done && a->types == b->types);
	CHECK(a->alert_seen == b->alert_seen && (!a->alert_seen || (a->alert_level == b->alert_level &&
								      a->alert_desc == b->alert_desc)));
	if (!a->hello_done)
		return;
	if (a->server) {
		CHECK(a->hello.s.version == b->hello.s.version && a->hello.s.cipher == b->hello.s.cipher &&
		      a->hello.s.retry == b->hello.s.retry);
	} else {
		check_names(&a->hello.c);
		CHECK(!memcmp(&a->hello.c, &b->hello.c, sizeof(a->hello.c)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_wire whole, parts;
	bool server, wants = true;
	size_t step;

	if (size < 1)
		return 0;
	server = data[0] & 1;
	step = data[0] >> 1;
	data++;
	size--;
	if (!step)
		step = size ? size : 1;

	tls_wire_init(&whole, server);
	tls_wire_feed(&whole, data, size);
	tls_wire_init(&parts, server);
	for (size_t at = 0; at < size; at += step) {
		size_t n = size - at < step ? size - at : step;
		bool w = tls_wire_feed(&parts, data + at, n);

		CHECK(wants || !w);
		wants = w;
		if (!w)
			CHECK(parts.msg == NULL);
	}
	same(&whole, &parts);
	tls_wire_gap(&parts);
	CHECK(!tls_wire_wants(&parts) && parts.msg == NULL);
	tls_wire_release(&whole);
	tls_wire_release(&parts);

	if (size > 5) {
		struct tls_client_hello c;
		struct tls_server_hello s;
		int rc = server ? tls_server_hello_parse(data + 5, size - 5, &s)
				: tls_client_hello_parse(data + 5, size - 5, &c);

		CHECK(rc >= 0 && rc < TLS_HELLO_ERR_MAX);
		if (!server)
			check_names(&c);
	}
	return 0;
}
