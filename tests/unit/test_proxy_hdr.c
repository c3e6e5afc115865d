// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the proxy decoders: PROXY protocol v1 and v2 (every prefix of
 * every header, corrupt bytes), the Forwarded / X-Forwarded-For /
 * X-Real-IP headers (lists, quoting, IPv6 in brackets, ports, garbage) and
 * the container id in cgroup paths. Input ends at a guard page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/container_id.h"
#include "protocol/http_upgrade.h"
#include "protocol/proxy_hdr.h"
#include "guard_page.h"

static int parse_guarded(const void *buf, size_t len, struct proxy_info *pi)
{
	struct guard_buf g;
	const uint8_t *p = guard_copy(&g, buf, len);
	int n = proxy_parse(p, len, pi);

	guard_free(&g);
	return n;
}

/* Every strict prefix is incomplete; the whole is n bytes and gives want. */
static void check_whole(const void *buf, size_t len, size_t hdr_len, const char *src, uint16_t sport)
{
	struct proxy_info pi;

	for (size_t i = 0; i < hdr_len; i++) {
		int n = parse_guarded(buf, i, &pi);

		if (n != PROXY_INCOMPLETE) {
			print_error("prefix %zu: %d\n", i, n);
			fail();
		}
	}
	for (size_t i = hdr_len; i <= len; i++) {
		assert_int_equal(parse_guarded(buf, i, &pi), (int)hdr_len);
		assert_string_equal(pi.src, src);
		assert_int_equal(pi.sport, sport);
	}
}

static void test_v1(void **state)
{
	static const char tcp4[] = "PROXY TCP4 192.0.2.7 127.0.0.1 56324 7272\r\nGET / HTTP/1.1\r\n";
	static const char tcp6[] = "PROXY TCP6 2001:db8::1 ::1 4000 7272\r\n";
	static const char unk[] = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
	struct proxy_info pi;

	(void)state;
	check_whole(tcp4, sizeof(tcp4) - 1, 43, "192.0.2.7", 56324);
	assert_int_equal(pi.family = 0, 0);
	assert_int_equal(parse_guarded(tcp4, sizeof(tcp4) - 1, &pi), 43);
	assert_int_equal(pi.version, 1);
	assert_int_equal(pi.family, 4);
	assert_string_equal(pi.dst, "127.0.0.1");
	assert_int_equal(pi.dport, 7272);
	check_whole(tcp6, sizeof(tcp6) - 1, sizeof(tcp6) - 1, "2001:db8::1", 4000);
	assert_int_equal(parse_guarded(unk, sizeof(unk) - 1, &pi), (int)sizeof(unk) - 1);
	assert_int_equal(pi.family, 0);
	assert_string_equal(pi.src, "");
}

static void test_v1_bad(void **state)
{
	static const char *const bad[] = {
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",   /* too many fields */
		"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",    /* double space */
		"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\n",
		"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",         /* v6 in a v4 line */
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",       /* bare LF */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
		"PROXY \r\n",
	};
	char longline[200];
	struct proxy_info pi;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = parse_guarded(bad[i], strlen(bad[i]), &pi);

		if (n != PROXY_BAD) {
			print_error("%s: %d\n", bad[i], n);
			fail();
		}
	}
	/* no CRLF within 107 bytes */
	memset(longline, 'A', sizeof(longline));
	memcpy(longline, "PROXY TCP4 ", 11);
	assert_int_equal(parse_guarded(longline, 106, &pi), PROXY_INCOMPLETE);
	assert_int_equal(parse_guarded(longline, sizeof(longline), &pi), PROXY_BAD);
	/* not PROXY at all */
	assert_int_equal(parse_guarded("GET / HTTP/1.1\r\n", 16, &pi), PROXY_NONE);
	assert_int_equal(parse_guarded("PROXZ", 5, &pi), PROXY_NONE);
	assert_int_equal(parse_guarded("\r\nGET", 5, &pi), PROXY_NONE);
	assert_int_equal(parse_guarded("", 0, &pi), PROXY_INCOMPLETE);
}

static const uint8_t v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

static size_t v2_build(uint8_t *b, uint8_t cmd, uint8_t fam, const uint8_t *addr, size_t alen, size_t tlv)
{
	size_t len = alen + tlv;

	memcpy(b, v2_sig, 12);
	b[12] = cmd;
	b[13] = fam;
	b[14] = (uint8_t)(len >> 8);
	b[15] = (uint8_t)len;
	memcpy(b + 16, addr, alen);
	memset(b + 16 + alen, 0x04, tlv); /* a TLV's bytes: skipped */
	return 16 + len;
}

static void test_v2(void **state)
{
	static const uint8_t a4[12] = { 198, 51, 100, 9, 127, 0, 0, 1, 0xdc, 0x04, 0x1c, 0x68 };
	uint8_t a6[36] = { 0x20, 0x01, 0x0d, 0xb8 };
	uint8_t b[512];
	struct proxy_info pi;
	size_t n;

	(void)state;
	n = v2_build(b, 0x21, 0x11, a4, sizeof(a4), 0);
	memcpy(b + n, "GET", 3);
	check_whole(b, n + 3, n, "198.51.100.9", 56324);
	assert_int_equal(pi.family = 0, 0);
	parse_guarded(b, n, &pi);
	assert_int_equal(pi.version, 2);
	assert_int_equal(pi.dport, 7272);
	n = v2_build(b, 0x21, 0x11, a4, sizeof(a4), 20); /* with TLVs */
	check_whole(b, n, n, "198.51.100.9", 56324);
	a6[15] = 1;
	a6[31] = 1;
	a6[32] = 0x0f;
	a6[33] = 0xa0;
	n = v2_build(b, 0x21, 0x21, a6, sizeof(a6), 0);
	check_whole(b, n, n, "2001:db8::1", 4000);
	/* LOCAL: a health check, no address */
	n = v2_build(b, 0x20, 0x00, a4, 0, 0);
	assert_int_equal(parse_guarded(b, n, &pi), 16);
	assert_int_equal(pi.family, 0);
}

static void test_v2_bad(void **state)
{
	static const uint8_t a4[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2 };
	uint8_t b[64];
	struct proxy_info pi;
	size_t n;

	(void)state;
	n = v2_build(b, 0x31, 0x11, a4, sizeof(a4), 0); /* version 3 */
	assert_int_equal(parse_guarded(b, n, &pi), PROXY_BAD);
	assert_int_equal(parse_guarded(b, 13, &pi), PROXY_BAD); /* known from byte 13 on */
	n = v2_build(b, 0x22, 0x11, a4, sizeof(a4), 0); /* command 2 */
	assert_int_equal(parse_guarded(b, n, &pi), PROXY_BAD);
	n = v2_build(b, 0x21, 0x41, a4, sizeof(a4), 0); /* family 4 */
	assert_int_equal(parse_guarded(b, n, &pi), PROXY_BAD);
	n = v2_build(b, 0x21, 0x21, a4, sizeof(a4), 0); /* INET6 with 12 bytes */
	assert_int_equal(parse_guarded(b, n, &pi), PROXY_BAD);
	/* a wrong signature byte: not PROXY v2 */
	n = v2_build(b, 0x21, 0x11, a4, sizeof(a4), 0);
	b[7] = 'X';
	assert_int_equal(parse_guarded(b, n, &pi), PROXY_NONE);
}

/* Corrupting any one byte never crashes nor reads past the input. */
static void test_corrupt(void **state)
{
	static const uint8_t a4[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2 };
	static const char v1[] = "PROXY TCP4 192.0.2.7 127.0.0.1 56324 7272\r\n";
	uint8_t b[64], c[64];
	struct proxy_info pi;
	size_t n = v2_build(b, 0x21, 0x11, a4, sizeof(a4), 0);

	(void)state;
	for (size_t i = 0; i < n; i++)
		for (int v = 0; v < 256; v += 17) {
			memcpy(c, b, n);
			c[i] = (uint8_t)v;
			int r = parse_guarded(c, n, &pi);

			assert_true(r >= PROXY_BAD && r <= (int)n);
		}
	for (size_t i = 0; i < sizeof(v1) - 1; i++)
		for (int v = 0; v < 256; v += 7) {
			memcpy(c, v1, sizeof(v1) - 1);
			c[i] = (uint8_t)v;
			int r = parse_guarded(c, sizeof(v1) - 1, &pi);

			assert_true(r >= PROXY_BAD && r <= (int)sizeof(v1) - 1);
		}
}

#define S(lit) (struct http_str){ (lit), sizeof(lit) - 1 }

/* want NULL: the value must be rejected. */
static void fwd_check(int (*fn)(struct http_str, char *), struct http_str v, const char *want)
{
	char out[PROXY_ADDR_MAX];
	struct guard_buf g;
	const char *p = (const char *)guard_copy(&g, v.p, v.len);
	int r = fn((struct http_str){ p, v.len }, out);

	guard_free(&g);
	if ((r == 0) != (want != NULL)) {
		print_error("%.*s: %s\n", (int)v.len, v.p, r == 0 ? out : "rejected");
		fail();
	}
	if (want)
		assert_string_equal(out, want);
}

#define fwd_ok(fn, v, want) fwd_check(fn, v, want)
#define fwd_bad(fn, v) fwd_check(fn, v, NULL)

static void test_forwarded(void **state)
{
	(void)state;
	fwd_ok(fwd_parse_forwarded, S("for=192.0.2.60;proto=http;by=203.0.113.43"), "192.0.2.60");
	fwd_ok(fwd_parse_forwarded, S("For=\"[2001:db8:cafe::17]:4711\""), "2001:db8:cafe::17");
	fwd_ok(fwd_parse_forwarded, S("for=192.0.2.43, for=198.51.100.17"), "192.0.2.43");
	fwd_ok(fwd_parse_forwarded, S("proto=https; for=\"192.0.2.1:80\""), "192.0.2.1");
	fwd_ok(fwd_parse_forwarded, S("for=_hidden"), "_hidden");
	fwd_ok(fwd_parse_forwarded, S("for=unknown"), "unknown");
	fwd_ok(fwd_parse_forwarded, S("by=\"a,b\";for=10.0.0.1"), "10.0.0.1");
	fwd_bad(fwd_parse_forwarded, S("proto=http"));
	fwd_bad(fwd_parse_forwarded, S("for=\"[2001:db8::1"));
	fwd_bad(fwd_parse_forwarded, S("for=\"unterminated"));
	fwd_bad(fwd_parse_forwarded, S("for=<script>"));
	fwd_bad(fwd_parse_forwarded, S("garbage"));
	fwd_bad(fwd_parse_forwarded, S(""));
	fwd_bad(fwd_parse_forwarded, S("for="));
}

static void test_x_forwarded_for(void **state)
{
	(void)state;
	fwd_ok(fwd_parse_x_forwarded_for, S("203.0.113.195, 70.41.3.18, 150.172.238.178"), "203.0.113.195");
	fwd_ok(fwd_parse_x_forwarded_for, S("  127.0.0.5  "), "127.0.0.5");
	fwd_ok(fwd_parse_x_forwarded_for, S("2001:db8:85a3:8d3:1319:8a2e:370:7348"), "2001:db8:85a3:8d3:1319:8a2e:370:7348");
	fwd_ok(fwd_parse_x_forwarded_for, S("[2001:db8::1]:443, 10.0.0.1"), "2001:db8::1");
	fwd_ok(fwd_parse_x_forwarded_for, S("192.0.2.1:5000"), "192.0.2.1");
	fwd_bad(fwd_parse_x_forwarded_for, S(", 10.0.0.1"));
	fwd_bad(fwd_parse_x_forwarded_for, S("a b"));
	fwd_bad(fwd_parse_x_forwarded_for, S("[::1"));
	fwd_bad(fwd_parse_x_forwarded_for, S("[::1]x"));
	fwd_bad(fwd_parse_x_forwarded_for, S("1111111111222222222233333333334444444444555555555566666666667777777777"));
}

static void test_from_request(void **state)
{
	static const char head[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Real-IP: 10.1.1.1\r\n"
				   "X-Forwarded-For: 10.2.2.2\r\nForwarded: for=10.3.3.3\r\n\r\n";
	static const char head2[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Real-IP: 10.1.1.1\r\n"
				    "X-Forwarded-For: junk junk\r\n\r\n";
	static const char head3[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_request req;
	char out[PROXY_ADDR_MAX];

	(void)state;
	assert_true(http_parse_request(head, sizeof(head) - 1, &req) > 0);
	assert_int_equal(fwd_from_request(&req, out), FWD_FORWARDED);
	assert_string_equal(out, "10.3.3.3");
	assert_true(http_parse_request(head2, sizeof(head2) - 1, &req) > 0);
	assert_int_equal(fwd_from_request(&req, out), FWD_X_REAL_IP);
	assert_string_equal(out, "10.1.1.1");
	assert_true(http_parse_request(head3, sizeof(head3) - 1, &req) > 0);
	assert_int_equal(fwd_from_request(&req, out), FWD_NONE);
	assert_string_equal(out, "");
}

static void cid(const char *path, const char *want)
{
	char out[CONTAINER_ID_LEN + 1];
	int r = container_id_from_cgroup(path, out);

	if (!want) {
		if (r == 0) {
			print_error("%s: got %s\n", path, out);
			fail();
		}
		return;
	}
	if (r != 0) {
		print_error("%s: no id\n", path);
		fail();
	}
	assert_string_equal(out, want);
}

#define ID1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void test_container_id(void **state)
{
	(void)state;
	cid("/system.slice/docker-" ID1 ".scope", ID1);                       /* docker, systemd driver */
	cid("/docker/" ID1, ID1);                                             /* docker, cgroupfs driver */
	cid("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/"
	    "cri-containerd-" ID1 ".scope", ID1);                             /* containerd CRI */
	cid("/kubepods/besteffort/pod12345678-aaaa-bbbb-cccc-1234567890ab/" ID1, ID1); /* cgroupfs kubepods */
	cid("/kubepods.slice/kubepods-pod1.slice/crio-" ID1 ".scope", ID1);    /* CRI-O */
	cid("/machine.slice/libpod-" ID1 ".scope", ID1);                      /* podman */
	cid("/machine.slice/libpod-" ID1 ".scope/container", ID1);            /* podman, nested */
	cid("/system.slice/docker-" ID1 ".scope/docker/" ID2, ID2);           /* innermost */
	cid("/user.slice/user-0.slice/session-3.scope", NULL);                /* systemd, no container */
	cid("/system.slice/nginx.service", NULL);
	cid("/", NULL);
	cid("", NULL);
	cid("/docker/" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL); /* upper case */
	cid("/docker/0123", NULL);
	cid("/system.slice/docker-" ID1 "0.scope", NULL);                     /* 65 digits */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v1_bad),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v2_bad),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_forwarded),
		cmocka_unit_test(test_x_forwarded_for),
		cmocka_unit_test(test_from_request),
		cmocka_unit_test(test_container_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
