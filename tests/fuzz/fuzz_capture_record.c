// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_capture_record.c - libFuzzer target for capture_parse_record(), the
 * check of a ring buffer record before any field is trusted.
 *
 * fuzz-flags: -max_len=512
 *
 * Layout: the record bytes as the ring buffer would hand them over, copied
 * to an exact-size heap buffer so ASan sees any over-read; the monotonic
 * to real time offset comes from the input length.
 *
 * Invariants checked (abort on violation): an accepted record has the
 * current version and header size, family 4 or 6, a hook direction,
 * cap_len <= payload_len, and its payload inside the record; a record
 * refused stays refused when one byte shorter.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/capture_record.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	int64_t offset = (int64_t)size * 1000003 - 500000;
	struct wst_packet pkt;
	int rc;

	CHECK(copy);
	memcpy(copy, data, size);
	rc = capture_parse_record(copy, size, offset, &pkt);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		const struct wst_record *r = (const struct wst_record *)copy;

		CHECK(pkt.r.version == WST_RECORD_VERSION);
		CHECK(pkt.r.kind == WST_REC_PACKET);
		CHECK(pkt.r.hdr_len == sizeof(struct wst_record));
		CHECK(pkt.r.family == 4 || pkt.r.family == 6);
		CHECK(pkt.r.dir == WST_DIR_INGRESS || pkt.r.dir == WST_DIR_EGRESS);
		CHECK(pkt.r.cap_len <= pkt.r.payload_len);
		CHECK(pkt.payload == copy + sizeof(struct wst_record));
		CHECK(sizeof(struct wst_record) + pkt.r.cap_len <= size);
		CHECK(pkt.r.ts_ns == (uint64_t)((int64_t)r->ts_ns + offset));
	} else if (size > 0) {
		/* Shorter never makes a refused record acceptable. */
		CHECK(capture_parse_record(copy, size - 1, offset, &pkt) != 0);
	}
	free(copy);
	return 0;
}
