// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_capture_record.c - the ring buffer record checks of user/sources/capture_record.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>

#include "sources/capture_record.h"

#define PAYLOAD 37

static size_t make(uint8_t *buf, uint32_t cap_len)
{
	struct wst_record r;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.version = WST_RECORD_VERSION;
	r.kind = WST_REC_PACKET;
	r.hdr_len = sizeof(r);
	r.ifindex = 3;
	r.ts_ns = 1000;
	r.family = 6;
	r.dir = WST_DIR_EGRESS;
	r.tcp_flags = WST_TCP_ACK | WST_TCP_PSH;
	r.tcp_doff = 32;
	r.saddr[0] = 0xfe;
	r.daddr[15] = 1;
	r.sport = 7272;
	r.dport = 50000;
	r.seq = 0xdeadbeef;
	r.ack = 42;
	r.window = 1000;
	r.payload_len = PAYLOAD;
	r.cap_len = cap_len;
	memcpy(buf, &r, sizeof(r));
	for (i = 0; i < cap_len; i++)
		buf[sizeof(r) + i] = (uint8_t)(i + 1);
	return sizeof(r) + cap_len;
}

static void test_valid(void **state)
{
	uint8_t buf[sizeof(struct wst_record) + PAYLOAD];
	struct wst_packet pkt;
	size_t len = make(buf, PAYLOAD);

	(void)state;
	assert_int_equal(capture_parse_record(buf, len, 5000, &pkt), 0);
	assert_int_equal(pkt.r.ts_ns, 6000);
	assert_ptr_equal(pkt.payload, buf + sizeof(struct wst_record));
	assert_int_equal(pkt.r.cap_len, PAYLOAD);
	assert_int_equal(pkt.r.seq, 0xdeadbeef);
	assert_int_equal(pkt.r.sport, 7272);
	assert_int_equal(pkt.payload[PAYLOAD - 1], PAYLOAD);
	/* The ring buffer slot may be larger than the record (size class). */
	assert_int_equal(capture_parse_record(buf, len, 0, &pkt), 0);
	/* A negative offset (clock set back) still converts. */
	assert_int_equal(capture_parse_record(buf, len, -400, &pkt), 0);
	assert_int_equal(pkt.r.ts_ns, 600);
}

/* Every record shorter than header + cap_len is rejected, and no byte past
 * the given size is read (each copy is exactly that long under ASan). */
static void test_truncated(void **state)
{
	uint8_t buf[sizeof(struct wst_record) + PAYLOAD];
	struct wst_packet pkt;
	size_t len = make(buf, PAYLOAD), cut;

	(void)state;
	for (cut = 0; cut < len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);

		assert_non_null(p);
		memcpy(p, buf, cut);
		assert_int_equal(capture_parse_record(p, cut, 0, &pkt), -EINVAL);
		free(p);
	}
}

static void test_bad_fields(void **state)
{
	uint8_t buf[sizeof(struct wst_record) + PAYLOAD + 64];
	struct wst_record *r = (struct wst_record *)buf;
	struct wst_packet pkt;
	size_t len;

	(void)state;
	len = make(buf, 8);
	r->version = WST_RECORD_VERSION + 1;
	assert_int_equal(capture_parse_record(buf, len, 0, &pkt), -EINVAL);
	len = make(buf, 8);
	r->kind = WST_REC_TLS_DATA; /* not a packet: another reader's record */
	assert_int_equal(capture_parse_record(buf, len, 0, &pkt), -EINVAL);
	len = make(buf, 8);
	r->hdr_len = sizeof(*r) + 8;
	assert_int_equal(capture_parse_record(buf, len, 0, &pkt), -EINVAL);
	len = make(buf, 8);
	r->payload_len = 7; /* cap_len > payload_len */
	assert_int_equal(capture_parse_record(buf, len, 0, &pkt), -EINVAL);
	len = make(buf, 8);
	r->family = 5;
	assert_int_equal(capture_parse_record(buf, len, 0, &pkt), -EINVAL);
	len = make(buf, 8);
	r->dir = WST_DIR_FILE;
	assert_int_equal(capture_parse_record(buf, len, 0, &pkt), -EINVAL);
	/* A huge cap_len must not wrap the size check. */
	len = make(buf, 8);
	r->cap_len = 0xffffffffu;
	r->payload_len = 0xffffffffu;
	assert_int_equal(capture_parse_record(buf, len, 0, &pkt), -EINVAL);
	/* Headers only, family 4. */
	len = make(buf, 0);
	r->family = 4;
	assert_int_equal(capture_parse_record(buf, len, 0, &pkt), 0);
	assert_int_equal(pkt.r.cap_len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_fields),
	};

	return cmocka_run_group_tests_name("capture_record", tests, NULL, NULL);
}
