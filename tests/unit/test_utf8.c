// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_utf8.c - incremental UTF-8 validator: RFC 3629 cases, every split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/utf8.h"
#include "guard_page.h"

struct u8case {
	const char *name;
	const char *bytes;
	size_t len;
	bool valid;      /* whole input valid and complete */
	bool prefix_ok;  /* no invalid byte (may end mid code point) */
};

#define C(n, s, v, p) { n, s, sizeof(s) - 1, v, p }

static const struct u8case cases[] = {
	C("ascii", "hello", true, true),
	C("empty", "", true, true),
	C("chat", "hi, all \xef\xbc\x81", true, true), /* U+FF01 */
	C("2byte", "\xc3\xa9t\xc3\xa9", true, true),
	C("emoji", "\xf0\x9f\x98\x80", true, true),    /* U+1F600 */
	C("max", "\xf4\x8f\xbf\xbf", true, true),      /* U+10FFFF */
	C("e000", "\xee\x80\x80", true, true),         /* after surrogates */
	C("d7ff", "\xed\x9f\xbf", true, true),         /* before surrogates */
	C("overlong2", "\xc0\x80", false, false),
	C("overlong2b", "\xc1\xbf", false, false),
	C("overlong3", "\xe0\x80\x80", false, false),
	C("overlong3b", "\xe0\x9f\xbf", false, false),
	C("overlong4", "\xf0\x80\x80\x80", false, false),
	C("overlong4b", "\xf0\x8f\xbf\xbf", false, false),
	C("surrogate", "\xed\xa0\x80", false, false),
	C("surrogate_hi", "\xed\xbf\xbf", false, false),
	C("above_max", "\xf4\x90\x80\x80", false, false),
	C("f5", "\xf5\x80\x80\x80", false, false),
	C("ff", "a\xff", false, false),
	C("stray_cont", "a\x80" "b", false, false),
	C("trunc2", "a\xc3", false, true),
	C("trunc3", "\xef\xbc", false, true),
	C("trunc4", "\xf0\x9f\x98", false, true),
	C("short_seq", "\xe2\x82" "a", false, false),
};

static void test_cases_whole(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct u8case *c = &cases[i];
		struct utf8_state s = { 0 };
		struct guard_buf g;
		const uint8_t *p = guard_copy_ro(&g, c->bytes, c->len);
		bool ok = utf8_feed(&s, p, c->len);

		if (ok != c->prefix_ok || utf8_complete(&s) != c->valid ||
		    utf8_valid(p, c->len) != c->valid)
			fail_msg("case %s", c->name);
		guard_free(&g);
	}
}

/* The same verdict whatever the split into two or byte by byte. */
static void test_cases_split(void **state)
{
	size_t i, k, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct u8case *c = &cases[i];
		const uint8_t *p = (const uint8_t *)c->bytes;

		for (k = 0; k <= c->len; k++) {
			struct utf8_state s = { 0 };
			bool ok = utf8_feed(&s, p, k);

			ok = utf8_feed(&s, p + k, c->len - k) && ok;
			if (ok != c->prefix_ok || utf8_complete(&s) != c->valid)
				fail_msg("case %s split %zu", c->name, k);
		}
		{
			struct utf8_state s = { 0 };
			bool ok = true;

			for (j = 0; j < c->len; j++)
				ok = utf8_feed(&s, p + j, 1) && ok;
			if (ok != c->prefix_ok || utf8_complete(&s) != c->valid)
				fail_msg("case %s bytewise", c->name);
		}
	}
}

static void test_sticky_and_offset(void **state)
{
	struct utf8_state s = { 0 };
	const uint8_t bad[] = { 'a', 'b', 0xed, 0xa0, 0x80, 'c' };

	(void)state;
	assert_false(utf8_feed(&s, bad, sizeof(bad)));
	/* 0xa0 at offset 3 is where it went wrong. */
	assert_int_equal(s.count, 3);
	assert_false(utf8_feed(&s, (const uint8_t *)"ok", 2));
	assert_false(utf8_complete(&s));
	utf8_init(&s);
	assert_true(utf8_feed(&s, (const uint8_t *)"ok", 2));
}

/* The word-at-a-time ASCII path: a bad byte or a lead byte at every
 * offset of runs around its 8 and 16 byte steps, whole and split. */
static void test_ascii_runs(void **state)
{
	uint8_t buf[48];

	(void)state;
	for (size_t len = 1; len <= sizeof(buf); len++) {
		for (size_t at = 0; at < len; at++) {
			for (size_t cut = 0; cut <= len; cut += 5) {
				struct utf8_state s = { 0 };

				memset(buf, 'a', len);
				buf[at] = 0xff;
				assert_false(utf8_feed(&s, buf, cut) && utf8_feed(&s, buf + cut, len - cut));
				assert_int_equal(s.count, at);
				/* A 2-byte code point there: valid when it fits. */
				utf8_init(&s);
				buf[at] = 0xc3;
				if (at + 1 < len)
					buf[at + 1] = 0xa9;
				assert_true(utf8_feed(&s, buf, cut) && utf8_feed(&s, buf + cut, len - cut));
				assert_int_equal(s.count, len);
				assert_int_equal(utf8_complete(&s), at + 1 < len);
			}
		}
	}
}

/* Every code point (minus surrogates) encodes and validates. */
static void test_all_code_points(void **state)
{
	uint32_t cp;

	(void)state;
	for (cp = 0; cp <= 0x10ffff; cp++) {
		uint8_t b[4];
		size_t n;
		bool expect = !(cp >= 0xd800 && cp <= 0xdfff);

		if (cp < 0x80) {
			b[0] = cp;
			n = 1;
		} else if (cp < 0x800) {
			b[0] = 0xc0 | cp >> 6;
			b[1] = 0x80 | (cp & 0x3f);
			n = 2;
		} else if (cp < 0x10000) {
			b[0] = 0xe0 | cp >> 12;
			b[1] = 0x80 | ((cp >> 6) & 0x3f);
			b[2] = 0x80 | (cp & 0x3f);
			n = 3;
		} else {
			b[0] = 0xf0 | cp >> 18;
			b[1] = 0x80 | ((cp >> 12) & 0x3f);
			b[2] = 0x80 | ((cp >> 6) & 0x3f);
			b[3] = 0x80 | (cp & 0x3f);
			n = 4;
		}
		if (utf8_valid(b, n) != expect)
			fail_msg("U+%04X", cp);
	}
}

static void test_seq_len(void **state)
{
	(void)state;
	assert_int_equal(utf8_seq_len((const uint8_t *)"a", 1), 1);
	assert_int_equal(utf8_seq_len((const uint8_t *)"\xc3\xa9", 2), 2);
	assert_int_equal(utf8_seq_len((const uint8_t *)"\xef\xbc\x81!", 4), 3);
	assert_int_equal(utf8_seq_len((const uint8_t *)"\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(utf8_seq_len((const uint8_t *)"\xef\xbc", 2), 0);      /* cut */
	assert_int_equal(utf8_seq_len((const uint8_t *)"\xc0\x80", 2), 0);      /* overlong */
	assert_int_equal(utf8_seq_len((const uint8_t *)"\xed\xa0\x80", 3), 0); /* surrogate */
	assert_int_equal(utf8_seq_len((const uint8_t *)"\x80", 1), 0);          /* stray */
	assert_int_equal(utf8_seq_len((const uint8_t *)"\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(utf8_seq_len((const uint8_t *)"", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_len),
		cmocka_unit_test(test_cases_whole),
		cmocka_unit_test(test_cases_split),
		cmocka_unit_test(test_sticky_and_offset),
		cmocka_unit_test(test_ascii_runs),
		cmocka_unit_test(test_all_code_points),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
