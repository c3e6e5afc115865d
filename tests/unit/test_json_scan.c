// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * json_scan tests: workerman-chat messages, nested objects holding the same
 * key, escapes in names and values, whitespace, every truncation, garbage,
 * depth bound. Inputs end at a guard page, so an over-read faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/json_scan.h"
#include "guard_page.h"

/* Scans s (no NUL) from a guard-page copy; returns the code, value in out. */
static int scan(const char *s, size_t len, const char *key, char *out, size_t outsize)
{
	struct guard_buf g;
	const uint8_t *p = guard_copy(&g, s, len);
	const uint8_t *v = (const uint8_t *)"x";
	size_t vl = 99;
	int r;

	r = json_scan_top_string(p, len, key, &v, &vl);
	if (r == 0) {
		assert_true(v >= p && vl <= len && (size_t)(v - p) <= len - vl);
		if (out) {
			assert_true(vl < outsize);
			memcpy(out, v, vl);
			out[vl] = '\0';
		}
	} else {
		assert_null(v);
		assert_int_equal(vl, 0);
	}
	guard_free(&g);
	return r;
}

static int scan_str(const char *s, const char *key, char *out, size_t outsize)
{
	return scan(s, strlen(s), key, out, outsize);
}

static void want_value(const char *json, const char *key, const char *want)
{
	char out[256];

	assert_int_equal(scan_str(json, key, out, sizeof(out)), JSON_SCAN_OK);
	assert_string_equal(out, want);
}

static void test_workerman_chat(void **state)
{
	(void)state;
	want_value("{\"type\":\"login\",\"client_name\":\"mynick\",\"room_id\":\"1\"}",
		     "type", "login");
	want_value("{\"type\":\"login\",\"client_name\":\"mynick\",\"room_id\":\"1\"}",
		     "client_name", "mynick");
	want_value("{\"type\":\"login\",\"client_name\":\"mynick\",\"room_id\":\"1\"}",
		     "room_id", "1");
	want_value("{\"type\":\"say\",\"to_client_id\":\"all\",\"content\":\"hi, all \xef\xbc\x81\"}",
		     "type", "say");
	want_value("{\"type\":\"say\",\"to_client_id\":\"all\",\"content\":\"hi, all \xef\xbc\x81\"}",
		     "content", "hi, all \xef\xbc\x81");
	want_value("{\"type\":\"ping\"}", "type", "ping");
	want_value("{\"type\":\"pong\"}", "type", "pong");
	/* A server broadcast: the client list is a nested object. */
	want_value("{\"type\":\"login\",\"client_id\":\"7f0000010b5400000001\","
		     "\"client_name\":\"mynick\",\"client_list\":{\"7f0000010b5400000001\":"
		     "\"mynick\"},\"time\":\"2024-06-04 17:50:03\"}", "type", "login");
	assert_int_equal(scan_str("{\"type\":\"ping\"}", "content", NULL, 0),
			 JSON_SCAN_NO_KEY);
}

static void test_nested_same_key(void **state)
{
	(void)state;
	/* Inner members never match, before or after the top-level one. */
	want_value("{\"a\":{\"type\":\"inner\"},\"type\":\"outer\"}", "type", "outer");
	want_value("{\"type\":\"outer\",\"a\":{\"type\":\"inner\"}}", "type", "outer");
	want_value("{\"a\":[{\"type\":\"x\"},[\"type\",\"y\"]],\"type\":\"z\"}", "type", "z");
	assert_int_equal(scan_str("{\"a\":{\"type\":\"inner\"}}", "type", NULL, 0),
			 JSON_SCAN_NO_KEY);
	assert_int_equal(scan_str("{\"a\":[\"type\",\"x\"]}", "type", NULL, 0),
			 JSON_SCAN_NO_KEY);
	/* A value that spells the key is not a name. */
	assert_int_equal(scan_str("{\"a\":\"type\",\"b\":\"x\"}", "type", NULL, 0),
			 JSON_SCAN_NO_KEY);
	/* The member itself holding an object with the key. */
	assert_int_equal(scan_str("{\"type\":{\"type\":\"x\"}}", "type", NULL, 0),
			 JSON_SCAN_NOT_STRING);
}

static void test_not_string(void **state)
{
	static const char *const vals[] = {
		"1", "-0.5e+3", "true", "false", "null", "[]", "{}", "[\"a\"]", "{\"a\":1}",
	};
	char json[64];

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		snprintf(json, sizeof(json), "{\"type\":%s}", vals[i]);
		assert_int_equal(scan_str(json, "type", NULL, 0), JSON_SCAN_NOT_STRING);
		snprintf(json, sizeof(json), "{\"x\":%s,\"type\":\"ok\"}", vals[i]);
		want_value(json, "type", "ok");
	}
}

static void test_duplicates_last_wins(void **state)
{
	(void)state;
	want_value("{\"type\":\"a\",\"type\":\"b\"}", "type", "b");
	assert_int_equal(scan_str("{\"type\":\"a\",\"type\":1}", "type", NULL, 0),
			 JSON_SCAN_NOT_STRING);
	want_value("{\"type\":1,\"type\":\"c\"}", "type", "c");
}

static void test_escapes(void **state)
{
	char out[64];
	size_t n;

	(void)state;
	/* Escaped member names are compared decoded. */
	want_value("{\"ty\\u0070e\":\"x\"}", "type", "x");
	want_value("{\"\\u0074\\u0079\\u0070\\u0065\":\"x\"}", "type", "x");
	want_value("{\"a\\\"b\":\"q\"}", "a\"b", "q");
	want_value("{\"a\\/b\":\"q\"}", "a/b", "q");
	want_value("{\"caf\\u00e9\":\"q\"}", "caf\xc3\xa9", "q");
	want_value("{\"\\ud83d\\ude00\":\"smile\"}", "\xf0\x9f\x98\x80", "smile");
	/* Near misses. */
	assert_int_equal(scan_str("{\"typ\\u0065x\":\"x\"}", "type", NULL, 0), JSON_SCAN_NO_KEY);
	assert_int_equal(scan_str("{\"typ\":\"x\"}", "type", NULL, 0), JSON_SCAN_NO_KEY);
	assert_int_equal(scan_str("{\"type\\u0000\":\"x\"}", "type", NULL, 0), JSON_SCAN_NO_KEY);
	assert_int_equal(scan_str("{\"TYPE\":\"x\"}", "type", NULL, 0), JSON_SCAN_NO_KEY);
	/* Values come back raw; escaped quotes do not end them. */
	want_value("{\"type\":\"say \\\"hi\\\" \\\\\",\"n\":1}", "type", "say \\\"hi\\\" \\\\");
	want_value("{\"content\":\"\\\\\",\"type\":\"t\"}", "type", "t");
	want_value("{\"type\":\"\"}", "type", "");

	/* Unescaping. */
	assert_int_equal(json_scan_unescape((const uint8_t *)"a\\\"b\\\\c\\/\\n\\t\\r\\b\\f", 19,
					    out, sizeof(out), &n), 0);
	assert_int_equal(n, 11);
	assert_memory_equal(out, "a\"b\\c/\n\t\r\b\f", 12);
	assert_int_equal(json_scan_unescape((const uint8_t *)"\\u00e9\\u20ac\\ud83d\\ude00", 24,
					    out, sizeof(out), &n), 0);
	assert_string_equal(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	/* Lone surrogates become U+FFFD. */
	assert_int_equal(json_scan_unescape((const uint8_t *)"\\ud83dx\\ude00", 13,
					    out, sizeof(out), &n), 0);
	assert_string_equal(out, "\xef\xbf\xbdx\xef\xbf\xbd");
	assert_int_equal(json_scan_unescape((const uint8_t *)"\\ud83d\\u0041", 12,
					    out, sizeof(out), &n), 0);
	assert_string_equal(out, "\xef\xbf\xbd" "A");
	/* Bad escapes, a cut escape, and space. */
	assert_int_equal(json_scan_unescape((const uint8_t *)"\\x", 2, out, sizeof(out), &n),
			 JSON_SCAN_MALFORMED);
	assert_int_equal(json_scan_unescape((const uint8_t *)"\\u12", 4, out, sizeof(out), &n),
			 JSON_SCAN_MALFORMED);
	assert_int_equal(json_scan_unescape((const uint8_t *)"\\", 1, out, sizeof(out), &n),
			 JSON_SCAN_MALFORMED);
	assert_int_equal(json_scan_unescape((const uint8_t *)"abcd", 4, out, 4, &n),
			 JSON_SCAN_NO_SPACE);
	assert_int_equal(json_scan_unescape((const uint8_t *)"abcd", 4, out, 5, &n), 0);
	assert_string_equal(out, "abcd");
	assert_int_equal(json_scan_unescape((const uint8_t *)"", 0, out, 1, &n), 0);
	assert_int_equal(n, 0);
}

static void test_whitespace(void **state)
{
	(void)state;
	want_value(" \t\r\n{ \"type\" \n:\t\"ws\" , \"a\" : [ 1 , 2 ] } \r\n", "type", "ws");
	want_value("{\"a\":[ ],\"b\":{ },\"type\":\"e\"}", "type", "e");
	/* Form feed and vertical tab are not JSON whitespace. */
	assert_int_equal(scan_str("{\f\"type\":\"x\"}", "type", NULL, 0), JSON_SCAN_MALFORMED);
	assert_int_equal(scan_str("{\"type\":\"x\"}\v", "type", NULL, 0), JSON_SCAN_MALFORMED);
}

static void test_not_object(void **state)
{
	static const char *const inputs[] = {
		"[{\"type\":\"x\"}]", "\"type\"", "1", "-1", "true", "false", "null", " [ ]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		assert_int_equal(scan_str(inputs[i], "type", NULL, 0), JSON_SCAN_NOT_OBJECT);
}

static void test_garbage(void **state)
{
	static const char *const inputs[] = {
		"hello", "{type:\"x\"}", "{\"type\" \"x\"}", "{\"type\":\"x\",}",
		"{\"type\":\"x\"}}", "{\"type\":\"x\"} {}", "{\"type\":\"x\"]", "{\"a\":[1}",
		"{\"a\":01}", "{\"a\":1.}x", "{\"a\":.5}", "{\"a\":+1}", "{\"a\":1e}",
		"{\"a\":-}", "{\"a\":tru}", "{\"a\":nul1}", "{\"a\":True}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}", "{,}", "{\"a\":1,,\"b\":2}",
		"{\"a\"}", "{\"a\":}", "{\"a\":[,]}", "{\"a\":[1,]}", "{\"a\":1 2}",
		"{\"type\":\"x\"}\x00", "\x00", "{\"a\":\"b\"\"c\"}", "}", "]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		size_t len = strlen(inputs[i]);

		if (len == 0 || i == sizeof(inputs) / sizeof(inputs[0]) - 5)
			len++; /* the embedded NUL cases */
		assert_int_equal(scan(inputs[i], len, "type", NULL, 0), JSON_SCAN_MALFORMED);
	}
	/* Empty and whitespace-only inputs are cut before the object. */
	assert_int_equal(scan("", 0, "type", NULL, 0), JSON_SCAN_TRUNCATED);
	assert_int_equal(scan_str(" \n", "type", NULL, 0), JSON_SCAN_TRUNCATED);
	assert_int_equal(json_scan_top_string(NULL, 0, "type", NULL, NULL), JSON_SCAN_TRUNCATED);
	assert_int_equal(json_scan_top_string(NULL, 3, "type", NULL, NULL), JSON_SCAN_MALFORMED);
	/* No key asked: the object is only validated. */
	assert_int_equal(scan_str("{\"type\":\"x\"}", NULL, NULL, 0), JSON_SCAN_NO_KEY);
}

/* Every proper prefix of a valid object is truncated, never anything else. */
static void test_truncation_every_length(void **state)
{
	static const char *const inputs[] = {
		"{\"type\":\"login\",\"client_name\":\"mynick\",\"room_id\":\"1\"}",
		"{\"type\":\"say\",\"to_client_id\":\"all\",\"content\":\"hi, all \xef\xbc\x81\"}",
		" { \"n\" : -12.5e-3 , \"t\" : true , \"f\" : false , \"z\" : null ,"
		" \"a\" : [ 0 , 1E+2 , { } , [ ] , \"\\u00e9\\\"\" ] , \"type\" : \"ok\" }",
		"{\"ty\\u0070e\":\"x\",\"o\":{\"type\":{\"deep\":[[[\"v\"]]]}}}",
	};

	(void)state;
	for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++) {
		size_t len = strlen(inputs[k]);

		/* The whole input is fine, trailing spaces do not matter. */
		assert_true(scan(inputs[k], len, "type", NULL, 0) == JSON_SCAN_OK);
		for (size_t cut = 0; cut < len; cut++)
			assert_int_equal(scan(inputs[k], cut, "type", NULL, 0),
					 JSON_SCAN_TRUNCATED);
	}
}

static void test_depth(void **state)
{
	char buf[8 * JSON_SCAN_MAX_DEPTH + 64];
	size_t n = 0;
	int d;

	(void)state;
	/* The top-level object plus 63 arrays: exactly the limit. */
	n = (size_t)snprintf(buf, sizeof(buf), "{\"a\":");
	for (d = 1; d < JSON_SCAN_MAX_DEPTH; d++)
		buf[n++] = '[';
	for (d = 1; d < JSON_SCAN_MAX_DEPTH; d++)
		buf[n++] = ']';
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"type\":\"deep\"}");
	assert_int_equal(scan(buf, n, "type", NULL, 0), JSON_SCAN_OK);

	/* One more level is refused. */
	n = (size_t)snprintf(buf, sizeof(buf), "{\"a\":");
	for (d = 0; d < JSON_SCAN_MAX_DEPTH; d++)
		buf[n++] = '[';
	assert_int_equal(scan(buf, n, "type", NULL, 0), JSON_SCAN_TOO_DEEP);

	/* Mixed nesting with names at each level. */
	n = 0;
	for (d = 0; d <= JSON_SCAN_MAX_DEPTH; d++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{\"k\":");
	assert_true(n < sizeof(buf));
	assert_int_equal(scan(buf, n, "type", NULL, 0), JSON_SCAN_TOO_DEEP);
}

/* Pseudo-random bytes and mutations of a valid message: no crash, no over-read. */
static void test_random_garbage(void **state)
{
	static const char base[] = "{\"type\":\"say\",\"a\":[1,{\"b\":\"\\u00e9\"}],\"c\":null}";
	static const char alphabet[] = "{}[]:,\"\\u0123456789abcdefnulltrue -.eE \t";
	uint8_t buf[64];
	uint32_t x = 12345;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = strlen(base), i;
		int r;

		memcpy(buf, base, len);
		for (int m = 0; m < 3; m++) {
			x = x * 1103515245u + 12345u;
			i = (x >> 8) % len;
			x = x * 1103515245u + 12345u;
			buf[i] = (x >> 20) & 1 ? alphabet[(x >> 8) % (sizeof(alphabet) - 1)]
					       : (uint8_t)(x >> 12);
		}
		x = x * 1103515245u + 12345u;
		len -= (x >> 8) % 4;
		r = scan((const char *)buf, len, "type", NULL, 0);
		assert_true(r <= 0 && r >= JSON_SCAN_TOO_DEEP);
	}
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(json_scan_strerror(JSON_SCAN_OK), "ok");
	assert_string_equal(json_scan_strerror(JSON_SCAN_TRUNCATED), "truncated");
	assert_string_equal(json_scan_strerror(JSON_SCAN_NOT_STRING), "not_string");
	assert_string_equal(json_scan_strerror(-99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workerman_chat),
		cmocka_unit_test(test_nested_same_key),
		cmocka_unit_test(test_not_string),
		cmocka_unit_test(test_duplicates_last_wins),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_truncation_every_length),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
