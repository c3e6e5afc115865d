// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the TLS hello reader on real first flights captured from
 * OpenSSL (Python's ssl) and GnuTLS (gnutls-cli, gnutls-serv) clients and
 * servers, TLS 1.3 and 1.2 (tests/data/tls/, values checked with tshark):
 * whole, split at every offset, one byte at a time, split across records;
 * every truncation and corrupt lengths, input ending at a guard page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/tls_hello.h"
#include "guard_page.h"

struct blob {
	uint8_t *p;
	size_t len;
};

static struct blob load(const char *name)
{
	char path[256];
	struct blob b = { malloc(1 << 16), 0 };
	FILE *f;

	snprintf(path, sizeof(path), "tests/data/tls/%s.bin", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s not found: run from the top of the tree", path);
	assert_non_null(b.p);
	b.len = fread(b.p, 1, 1 << 16, f);
	fclose(f);
	assert_true(b.len > 5);
	return b;
}

/* Feeds b in pieces of `step` bytes after a first piece of `first`, each at a guard page. */
static void feed_split(struct tls_wire *w, const uint8_t *p, size_t len, size_t first, size_t step)
{
	size_t at = 0;

	while (at < len) {
		size_t n = at == 0 ? first : step;
		struct guard_buf g;

		if (n > len - at)
			n = len - at;
		tls_wire_feed(w, guard_copy(&g, p + at, n), n);
		guard_free(&g);
		at += n;
	}
}

static void check_client(const struct tls_wire *w, const char *sni, const char *alpn, uint16_t max)
{
	assert_int_equal(w->error, 0);
	assert_true(w->hello_done);
	assert_int_equal(w->hello.c.sni_len, strlen(sni));
	assert_string_equal(w->hello.c.sni, sni);
	assert_string_equal(w->hello.c.alpn, alpn);
	assert_int_equal(w->hello.c.legacy_version, TLS_VERSION_1_2);
	assert_int_equal(w->hello.c.max_version, max);
	assert_null(w->msg);
}

static void check_server(const struct tls_wire *w, uint16_t version, uint16_t cipher)
{
	assert_int_equal(w->error, 0);
	assert_true(w->hello_done);
	assert_int_equal(w->hello.s.version, version);
	assert_int_equal(w->hello.s.cipher, cipher);
	assert_false(w->hello.s.retry);
	assert_null(w->msg);
}

struct want {
	const char *file;
	bool server;
	const char *sni, *alpn;
	uint16_t version, cipher;
};

static const struct want wants[] = {
	{ "client_openssl_tls13", false, "chat.example.test", "http/1.1", TLS_VERSION_1_3, 0 },
	{ "client_openssl_tls12", false, "chat.example.test", "http/1.1", TLS_VERSION_1_2, 0 },
	{ "client_gnutls", false, "gnutls.example.test", "http/1.1", TLS_VERSION_1_3, 0 },
	{ "server_gnutls_tls13", true, NULL, NULL, TLS_VERSION_1_3, 0x1302 },
	{ "server_gnutls_tls12", true, NULL, NULL, TLS_VERSION_1_2, 0xc02c },
	{ "server_openssl_tls13", true, NULL, NULL, TLS_VERSION_1_3, 0x1302 },
	{ "server_openssl_tls12", true, NULL, NULL, TLS_VERSION_1_2, 0xc02c },
};

static void check(const struct want *wt, const struct tls_wire *w)
{
	if (wt->server)
		check_server(w, wt->version, wt->cipher);
	else
		check_client(w, wt->sni, wt->alpn, wt->version);
}

/* Whole, at every split point, and a byte at a time. */
static void test_captured_hellos(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		struct blob b = load(wants[i].file);
		struct tls_wire w;

		tls_wire_init(&w, wants[i].server);
		feed_split(&w, b.p, b.len, b.len, b.len);
		check(&wants[i], &w);
		/* the records after the hello were walked: types of the flight */
		assert_true(w.types & TLS_CT_BIT(TLS_CT_HANDSHAKE));
		for (size_t cut = 1; cut < b.len; cut++) {
			tls_wire_init(&w, wants[i].server);
			feed_split(&w, b.p, b.len, cut, b.len);
			check(&wants[i], &w);
			tls_wire_release(&w);
		}
		tls_wire_init(&w, wants[i].server);
		feed_split(&w, b.p, b.len, 1, 1);
		check(&wants[i], &w);
		free(b.p);
	}
}

/* The first record of b (a hello in one record) re-cut into records of `size` bytes. */
static size_t rerecord(const struct blob *b, size_t size, uint8_t *out)
{
	size_t body = (size_t)(b->p[3] << 8 | b->p[4]), o = 0;

	for (size_t at = 0; at < body; at += size) {
		size_t n = body - at < size ? body - at : size;

		memcpy(out + o, b->p, 3);
		out[o + 3] = (uint8_t)(n >> 8);
		out[o + 4] = (uint8_t)n;
		memcpy(out + o + 5, b->p + 5 + at, n);
		o += 5 + n;
	}
	return o;
}

/* A hello split across TLS records (RFC 8446 5.1 allows any fragmentation). */
static void test_hello_across_records(void **state)
{
	struct blob b = load("client_gnutls");
	uint8_t *out = malloc(1 << 17);

	(void)state;
	assert_non_null(out);
	for (size_t size = 1; size <= 64; size++) {
		size_t n = rerecord(&b, size, out);
		struct tls_wire w;

		tls_wire_init(&w, false);
		feed_split(&w, out, n, n, n);
		check_client(&w, "gnutls.example.test", "http/1.1", TLS_VERSION_1_3);
		tls_wire_init(&w, false);
		feed_split(&w, out, n, 7, 13);
		check_client(&w, "gnutls.example.test", "http/1.1", TLS_VERSION_1_3);
	}
	free(out);
	free(b.p);
}

/* Every truncation of a hello message: an error, never a read past the end. */
static void test_truncated_messages(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		struct blob b = load(wants[i].file);
		const uint8_t *msg = b.p + 5;
		size_t len = (size_t)(msg[1] << 16 | msg[2] << 8 | msg[3]) + 4;

		assert_true(len <= b.len - 5);
		for (size_t cut = 0; cut <= len; cut++) {
			struct guard_buf g;
			const uint8_t *p = guard_copy(&g, msg, cut);
			struct tls_client_hello c;
			struct tls_server_hello s;
			int rc = wants[i].server ? tls_server_hello_parse(p, cut, &s) : tls_client_hello_parse(p, cut, &c);

			guard_free(&g);
			if (cut == len)
				assert_int_equal(rc, 0);
			else
				assert_int_equal(rc, TLS_HELLO_ERR_MALFORMED);
		}
		free(b.p);
	}
}

/* Each length field of a ClientHello made absurd in turn: an error or a
 * parse, never a crash or an over-read (the guard page would fault). */
static void test_corrupt_lengths(void **state)
{
	struct blob b = load("client_openssl_tls13");
	const uint8_t *msg = b.p + 5;
	size_t len = b.len - 5;

	(void)state;
	for (size_t at = 0; at + 1 < len; at++)
		for (int v = 0; v < 4; v++) {
			static const uint16_t vals[] = { 0x0000, 0x0001, 0x7fff, 0xffff };
			uint8_t *m = malloc(len);
			struct guard_buf g;
			struct tls_client_hello c;
			const uint8_t *p;
			int rc;

			assert_non_null(m);
			memcpy(m, msg, len);
			m[at] = (uint8_t)(vals[v] >> 8);
			m[at + 1] = (uint8_t)vals[v];
			p = guard_copy(&g, m, len);
			rc = tls_client_hello_parse(p, len, &c);
			assert_true(rc >= 0 && rc < TLS_HELLO_ERR_MAX);
			assert_true(c.sni_len <= TLS_HELLO_SNI_MAX && c.alpn_len <= TLS_HELLO_ALPN_MAX);
			assert_int_equal(c.sni[c.sni_len], '\0');
			guard_free(&g);
			free(m);
		}
	free(b.p);
}

static void test_wire_errors(void **state)
{
	static const uint8_t http[] = "GET / HTTP/1.1\r\n";
	static const uint8_t huge_record[] = { 22, 3, 1, 0x48, 0x01 };
	/* a handshake record whose message claims 1 MiB */
	static const uint8_t huge_hello[] = { 22, 3, 1, 0, 4, 1, 0x10, 0, 0 };
	static const uint8_t server_first[] = { 22, 3, 3, 0, 4, 2, 0, 0, 0 };
	static const uint8_t alert[] = { 21, 3, 3, 0, 2, 2, 40 };
	struct tls_wire w;

	(void)state;
	tls_wire_init(&w, false);
	assert_false(tls_wire_feed(&w, http, sizeof(http) - 1));
	assert_int_equal(w.error, TLS_HELLO_ERR_NOT_TLS);
	assert_string_equal(tls_hello_error_name(w.error), "not_tls");

	tls_wire_init(&w, false);
	assert_false(tls_wire_feed(&w, huge_record, sizeof(huge_record)));
	assert_int_equal(w.error, TLS_HELLO_ERR_NOT_TLS);

	tls_wire_init(&w, false);
	assert_false(tls_wire_feed(&w, huge_hello, sizeof(huge_hello)));
	assert_int_equal(w.error, TLS_HELLO_ERR_TOO_LONG);
	assert_null(w.msg);

	/* a ServerHello where a ClientHello belongs */
	tls_wire_init(&w, false);
	assert_false(tls_wire_feed(&w, server_first, sizeof(server_first)));
	assert_int_equal(w.error, TLS_HELLO_ERR_NOT_HELLO);
	/* a ServerHello of 0 bytes: too short */
	tls_wire_init(&w, true);
	assert_false(tls_wire_feed(&w, server_first, sizeof(server_first)));
	assert_int_equal(w.error, TLS_HELLO_ERR_MALFORMED);

	/* a plaintext alert (fatal, handshake_failure), a byte at a time */
	tls_wire_init(&w, true);
	for (size_t i = 0; i < sizeof(alert); i++)
		assert_true(tls_wire_feed(&w, alert + i, 1));
	assert_true(w.alert_seen);
	assert_int_equal(w.alert_level, 2);
	assert_int_equal(w.alert_desc, 40);

	/* a gap before the hello: given up; after it, nothing changes */
	tls_wire_init(&w, false);
	assert_true(tls_wire_feed(&w, huge_hello, 6));
	tls_wire_gap(&w);
	assert_int_equal(w.error, TLS_HELLO_ERR_GAP);
	assert_null(w.msg);
	assert_false(tls_wire_wants(&w));
}

/* Done once the hello and an application_data record are seen. */
static void test_wants_until_application_data(void **state)
{
	struct blob b = load("client_openssl_tls12");
	static const uint8_t appdata[] = { 23, 3, 3, 0, 3, 1, 2, 3 };
	struct tls_wire w;

	(void)state;
	tls_wire_init(&w, false);
	assert_true(tls_wire_feed(&w, b.p, b.len));
	assert_true(w.hello_done);
	assert_false(tls_wire_feed(&w, appdata, sizeof(appdata)));
	assert_int_equal(w.error, 0);
	free(b.p);
}

static void test_grease_and_names(void **state)
{
	/* ClientHello: version 1.2, no session id, one suite, null compression,
	 * supported_versions { GREASE 0x7a7a, 1.2 }, ALPN with GREASE-like and
	 * a name too long to fit after the first, SNI with an empty name then one. */
	uint8_t m[512], *p = m + 4;
	size_t n;
	struct tls_client_hello c;
	char buf[8];

	(void)state;
	*p++ = 3, *p++ = 3;
	memset(p, 0, 32), p += 32;
	*p++ = 0;
	*p++ = 0, *p++ = 2, *p++ = 0x13, *p++ = 0x01;
	*p++ = 1, *p++ = 0;
	uint8_t *exts = p;
	p += 2;
	/* supported_versions */
	*p++ = 0, *p++ = 43, *p++ = 0, *p++ = 5, *p++ = 4, *p++ = 0x7a, *p++ = 0x7a, *p++ = 3, *p++ = 3;
	/* server_name: an empty host_name, then "a.b" */
	*p++ = 0, *p++ = 0, *p++ = 0, *p++ = 11, *p++ = 0, *p++ = 9;
	*p++ = 0, *p++ = 0, *p++ = 0;
	*p++ = 0, *p++ = 0, *p++ = 3, *p++ = 'a', *p++ = '.', *p++ = 'b';
	/* ALPN: "h2", then a 62-byte name that no longer fits */
	*p++ = 0, *p++ = 16, *p++ = 0, *p++ = 68, *p++ = 0, *p++ = 66;
	*p++ = 2, *p++ = 'h', *p++ = '2';
	*p++ = 62;
	memset(p, 'x', 62), p += 62;
	n = (size_t)(p - exts - 2);
	exts[0] = (uint8_t)(n >> 8), exts[1] = (uint8_t)n;
	n = (size_t)(p - m - 4);
	m[0] = 1, m[1] = 0, m[2] = (uint8_t)(n >> 8), m[3] = (uint8_t)n;
	assert_int_equal(tls_client_hello_parse(m, (size_t)(p - m), &c), 0);
	assert_int_equal(c.max_version, TLS_VERSION_1_2);
	assert_string_equal(c.sni, "a.b");
	assert_string_equal(c.alpn, "h2");
	assert_true(c.alpn_cut);
	assert_string_equal(tls_version_name(TLS_VERSION_1_3, buf), "TLS1.3");
	assert_string_equal(tls_version_name(0x7f1c, buf), "0x7f1c");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured_hellos),
		cmocka_unit_test(test_hello_across_records),
		cmocka_unit_test(test_truncated_messages),
		cmocka_unit_test(test_corrupt_lengths),
		cmocka_unit_test(test_wire_errors),
		cmocka_unit_test(test_wants_until_application_data),
		cmocka_unit_test(test_grease_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
