// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of Sec-WebSocket-Extensions parsing and permessage-deflate
 * negotiation: RFC 7692 examples, quoted values, bad parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/ws_extensions.h"
#include "guard_page.h"

#define S(lit) (struct http_str){ (lit), sizeof(lit) - 1 }

static void assert_str(struct http_str s, const char *want)
{
	assert_non_null(s.p);
	if (s.len != strlen(want) || memcmp(s.p, want, s.len)) {
		print_error("got \"%.*s\", want \"%s\"\n", (int)s.len, s.p, want);
		fail();
	}
}

/* Parses a response value placed right before an unmapped page. */
static int response(const char *value, struct ws_deflate_params *out, const char **why)
{
	struct guard_buf g;
	size_t len = strlen(value);
	const char *p = (const char *)guard_copy(&g, value, len);
	int rc = ws_extensions_parse_response((struct http_str){ p, len }, out, why);

	guard_free(&g);
	return rc;
}

static int offer(const char *value, struct ws_deflate_params *out, const char **why)
{
	struct guard_buf g;
	size_t len = strlen(value);
	const char *p = (const char *)guard_copy(&g, value, len);
	int rc = ws_extensions_parse_offer((struct http_str){ p, len }, out, why);

	guard_free(&g);
	return rc;
}

static void test_iterator(void **state)
{
	struct http_str v = S("permessage-deflate; client_max_window_bits; "
			      "server_max_window_bits=10, permessage-deflate;"
			      "client_max_window_bits=\"12\" ,, x-foo");
	struct ws_ext ext;
	size_t pos = 0;

	(void)state;
	assert_int_equal(ws_extensions_next(v, &pos, &ext, NULL), 1);
	assert_str(ext.name, "permessage-deflate");
	assert_int_equal(ext.n_params, 2);
	assert_str(ext.params[0].name, "client_max_window_bits");
	assert_false(ext.params[0].has_value);
	assert_str(ext.params[1].name, "server_max_window_bits");
	assert_true(ext.params[1].has_value);
	assert_false(ext.params[1].quoted);
	assert_str(ext.params[1].value, "10");

	assert_int_equal(ws_extensions_next(v, &pos, &ext, NULL), 1);
	assert_str(ext.name, "permessage-deflate");
	assert_int_equal(ext.n_params, 1);
	assert_true(ext.params[0].quoted);
	assert_str(ext.params[0].value, "12");

	assert_int_equal(ws_extensions_next(v, &pos, &ext, NULL), 1);
	assert_str(ext.name, "x-foo");
	assert_int_equal(ext.n_params, 0);
	assert_int_equal(ws_extensions_next(v, &pos, &ext, NULL), 0);
	assert_int_equal(ws_extensions_next(v, &pos, &ext, NULL), 0);
}

static void test_iterator_quoted_comma(void **state)
{
	struct http_str v = S("foo; bar=\"a,\\\"b\" ; baz, qux");
	struct ws_ext ext;
	size_t pos = 0;

	(void)state;
	assert_int_equal(ws_extensions_next(v, &pos, &ext, NULL), 1);
	assert_str(ext.name, "foo");
	assert_int_equal(ext.n_params, 2);
	assert_str(ext.params[0].value, "a,\\\"b");
	assert_str(ext.params[1].name, "baz");
	assert_int_equal(ws_extensions_next(v, &pos, &ext, NULL), 1);
	assert_str(ext.name, "qux");
	assert_int_equal(ws_extensions_next(v, &pos, &ext, NULL), 0);
}

static void test_iterator_syntax(void **state)
{
	static const char *const bad[] = {
		";", "permessage-deflate;", "permessage-deflate; =1",
		"permessage-deflate; a=", "permessage-deflate; a=\"unterminated",
		"permessage-deflate; a=\"x\\", "a b", "a; b c", "a; b=\"x\"y",
		"a; b=c d", "\"quoted\"", "a=1", "a; b=\"\x01\"", "a;;b",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ws_deflate_params p;
		const char *why = NULL;
		int rc = response(bad[i], &p, &why);

		if (rc != WS_EXT_ERR_SYNTAX) {
			print_error("\"%s\": %d\n", bad[i], rc);
			fail();
		}
		assert_non_null(why);
	}
}

static void test_too_many_params(void **state)
{
	char v[512] = "x";
	struct ws_ext ext;
	size_t pos = 0;

	(void)state;
	for (int i = 0; i < WS_EXT_MAX_PARAMS; i++)
		strcat(v, "; p");
	assert_int_equal(ws_extensions_next((struct http_str){ v, strlen(v) }, &pos, &ext, NULL), 1);
	assert_int_equal(ext.n_params, WS_EXT_MAX_PARAMS);
	strcat(v, "; p");
	pos = 0;
	assert_int_equal(ws_extensions_next((struct http_str){ v, strlen(v) }, &pos, &ext, NULL),
			 WS_EXT_ERR_TOO_MANY);
}

/* RFC 7692 section 7.1 / 5 examples, as the offer. */
static void test_rfc7692_offers(void **state)
{
	struct ws_deflate_params p;

	(void)state;
	assert_int_equal(offer("permessage-deflate; client_max_window_bits; server_max_window_bits=10",
			       &p, NULL), WS_EXT_OK);
	assert_true(p.enabled);
	assert_true(p.client_max_window_bits_set);
	assert_int_equal(p.client_max_window_bits, 15);
	assert_true(p.server_max_window_bits_set);
	assert_int_equal(p.server_max_window_bits, 10);
	assert_false(p.server_no_context_takeover);
	assert_false(p.client_no_context_takeover);

	/* Section 5.1: a preferred offer with a fallback; the first is reported. */
	assert_int_equal(offer("permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
			       "permessage-deflate; client_max_window_bits", &p, NULL), WS_EXT_OK);
	assert_int_equal(p.server_max_window_bits, 10);

	/* Browser offer. */
	assert_int_equal(offer("permessage-deflate; client_max_window_bits", &p, NULL), WS_EXT_OK);
	assert_true(p.client_max_window_bits_set);
	assert_false(p.server_max_window_bits_set);

	assert_int_equal(offer("x-webkit-deflate-frame, permessage-deflate", &p, NULL),
			 WS_EXT_UNKNOWN);
	assert_true(p.enabled);

	assert_int_equal(offer("", &p, NULL), WS_EXT_OK);
	assert_false(p.enabled);
	assert_int_equal(ws_extensions_parse_offer((struct http_str){ NULL, 0 }, &p, NULL), WS_EXT_OK);
	assert_false(p.enabled);
}

static void test_rfc7692_responses(void **state)
{
	struct ws_deflate_params p;
	const char *why = NULL;

	(void)state;
	assert_int_equal(response("permessage-deflate", &p, &why), WS_EXT_OK);
	assert_true(p.enabled);
	assert_int_equal(p.server_max_window_bits, 15);
	assert_int_equal(p.client_max_window_bits, 15);
	assert_false(p.server_no_context_takeover);
	assert_false(p.client_no_context_takeover);

	assert_int_equal(response("permessage-deflate; server_max_window_bits=10", &p, NULL), WS_EXT_OK);
	assert_int_equal(p.server_max_window_bits, 10);
	assert_int_equal(p.client_max_window_bits, 15);

	/* Section 7.1.3 style: both directions without context takeover. */
	assert_int_equal(response("permessage-deflate;server_no_context_takeover;"
				  "client_no_context_takeover", &p, NULL), WS_EXT_OK);
	assert_true(p.server_no_context_takeover);
	assert_true(p.client_no_context_takeover);

	assert_int_equal(response(" PerMessage-Deflate ; Client_Max_Window_Bits = 8 ; "
				  "server_max_window_bits=15 ", &p, NULL), WS_EXT_OK);
	assert_int_equal(p.client_max_window_bits, 8);
	assert_true(p.client_max_window_bits_set);
	assert_int_equal(p.server_max_window_bits, 15);

	/* Absent header: nothing in force. */
	assert_int_equal(ws_extensions_parse_response((struct http_str){ NULL, 0 }, &p, &why),
			 WS_EXT_OK);
	assert_false(p.enabled);
}

static void test_quoted_values(void **state)
{
	struct ws_deflate_params p;

	(void)state;
	assert_int_equal(response("permessage-deflate; server_max_window_bits=\"10\"", &p, NULL),
			 WS_EXT_OK);
	assert_int_equal(p.server_max_window_bits, 10);
	/* quoted-pair escapes are removed before the value is read. */
	assert_int_equal(response("permessage-deflate; client_max_window_bits=\"1\\2\"", &p, NULL),
			 WS_EXT_OK);
	assert_int_equal(p.client_max_window_bits, 12);
	assert_int_equal(response("permessage-deflate; client_max_window_bits=\"\\9\"", &p, NULL),
			 WS_EXT_OK);
	assert_int_equal(p.client_max_window_bits, 9);
	assert_int_equal(response("permessage-deflate; client_max_window_bits=\"\"", &p, NULL),
			 WS_EXT_ERR_PARAM);
	assert_int_equal(response("permessage-deflate; client_max_window_bits=\" 9\"", &p, NULL),
			 WS_EXT_ERR_PARAM);
	assert_int_equal(response("permessage-deflate; client_max_window_bits=\"9 \"", &p, NULL),
			 WS_EXT_ERR_PARAM);
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *v;
		int want;
	} cases[] = {
		{ "permessage-deflate; server_max_window_bits=7", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; server_max_window_bits=16", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; server_max_window_bits=0", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; server_max_window_bits=010", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; server_max_window_bits=08", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; server_max_window_bits=+9", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; server_max_window_bits=abc", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; server_max_window_bits=1000000000000000000009", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; server_max_window_bits", WS_EXT_ERR_PARAM },
		/* A response's client_max_window_bits needs a value (7.1.2.2). */
		{ "permessage-deflate; client_max_window_bits", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; server_no_context_takeover=1", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; client_no_context_takeover=\"\"", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; foo", WS_EXT_ERR_PARAM },
		{ "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
		  WS_EXT_ERR_DUPLICATE },
		{ "permessage-deflate; client_max_window_bits=9; client_max_window_bits=10",
		  WS_EXT_ERR_DUPLICATE },
		{ "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
		  WS_EXT_ERR_DUPLICATE },
		{ "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
		  WS_EXT_ERR_DUPLICATE },
		/* One PMCE at most in a response (RFC 7692 section 5). */
		{ "permessage-deflate, permessage-deflate", WS_EXT_ERR_DUPLICATE },
		{ ",", WS_EXT_ERR_SYNTAX },
		{ "", WS_EXT_ERR_SYNTAX },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ws_deflate_params p;
		const char *why = NULL;
		int rc = response(cases[i].v, &p, &why);

		if (rc != cases[i].want) {
			print_error("\"%s\": got %d want %d (%s)\n", cases[i].v, rc,
				    cases[i].want, why ? why : "-");
			fail();
		}
		assert_non_null(why);
	}
}

static void test_unknown_extension(void **state)
{
	struct ws_deflate_params p;
	const char *why = NULL;

	(void)state;
	assert_int_equal(response("x-webkit-deflate-frame", &p, &why), WS_EXT_UNKNOWN);
	assert_false(p.enabled);
	assert_non_null(why);
	assert_int_equal(response("permessage-deflate; server_no_context_takeover, mux", &p, NULL),
			 WS_EXT_UNKNOWN);
	assert_true(p.enabled);
	assert_true(p.server_no_context_takeover);
}

static void test_agreement(void **state)
{
	static const char offer_v[] =
		"permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
		"permessage-deflate; client_no_context_takeover";
	struct ws_deflate_params p;
	const char *why = NULL;

	(void)state;
	/* Answers the first offer. */
	assert_int_equal(response("permessage-deflate; server_max_window_bits=10; "
				  "client_max_window_bits=12", &p, NULL), WS_EXT_OK);
	assert_int_equal(ws_extensions_check_agreement(S(offer_v), &p, &why), WS_EXT_OK);
	/* Answers the second offer; server_no_context_takeover may be added. */
	assert_int_equal(response("permessage-deflate; server_no_context_takeover", &p, NULL), WS_EXT_OK);
	assert_int_equal(ws_extensions_check_agreement(S(offer_v), &p, NULL), WS_EXT_OK);
	/* A larger server window than the one offer that asked for one... */
	assert_int_equal(response("permessage-deflate; server_max_window_bits=12; "
				  "client_max_window_bits=12", &p, NULL), WS_EXT_OK);
	/* ...and client_max_window_bits, which the second did not offer. */
	assert_int_equal(ws_extensions_check_agreement(S(offer_v), &p, &why),
			 WS_EXT_ERR_NOT_OFFERED);
	assert_non_null(why);
	/* Nothing offered at all. */
	assert_int_equal(response("permessage-deflate", &p, NULL), WS_EXT_OK);
	assert_int_equal(ws_extensions_check_agreement((struct http_str){ NULL, 0 }, &p, NULL),
			 WS_EXT_ERR_NOT_OFFERED);
	assert_int_equal(ws_extensions_check_agreement(S("x-foo"), &p, NULL),
			 WS_EXT_ERR_NOT_OFFERED);
	/* An invalid offer can't have been accepted. */
	assert_int_equal(ws_extensions_check_agreement(S("permessage-deflate; foo"), &p, NULL),
			 WS_EXT_ERR_NOT_OFFERED);
	/* Nothing accepted is always fine. */
	assert_int_equal(response("x-foo", &p, NULL), WS_EXT_UNKNOWN);
	assert_int_equal(ws_extensions_check_agreement(S("x-foo"), &p, NULL), WS_EXT_OK);
}

/* Every prefix of valid values: no over-read, and never a bogus success
 * with more parameters than the prefix holds. */
static void test_truncation(void **state)
{
	static const char *const values[] = {
		"permessage-deflate; client_max_window_bits=\"1\\2\"; server_no_context_takeover",
		"permessage-deflate;server_max_window_bits=10, x-foo; a=\"b,c\"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		size_t len = strlen(values[i]);

		for (size_t k = 0; k <= len; k++) {
			struct ws_deflate_params p;
			struct guard_buf g;
			const char *buf = (const char *)guard_copy(&g, values[i], k);
			struct http_str v = { buf, k };
			int rc = ws_extensions_parse_response(v, &p, NULL);

			assert_true(rc >= WS_EXT_ERR_NOT_OFFERED && rc <= WS_EXT_UNKNOWN);
			if (rc == WS_EXT_OK && i == 0)
				assert_false(p.server_no_context_takeover && k < len);
			ws_extensions_parse_offer(v, &p, NULL);
			guard_free(&g);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iterator),
		cmocka_unit_test(test_iterator_quoted_comma),
		cmocka_unit_test(test_iterator_syntax),
		cmocka_unit_test(test_too_many_params),
		cmocka_unit_test(test_rfc7692_offers),
		cmocka_unit_test(test_rfc7692_responses),
		cmocka_unit_test(test_quoted_values),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_unknown_extension),
		cmocka_unit_test(test_agreement),
		cmocka_unit_test(test_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
