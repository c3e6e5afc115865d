// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_stream.c - libFuzzer target for TCP stream reassembly: both
 * directions of a connection sharing a small out-of-order budget, fed
 * segments that overlap, repeat, arrive early, skip ahead and wrap around
 * the sequence space.
 *
 * fuzz-flags: -max_len=4096
 *
 * Layout: byte 0 = options (bit 0: the budget is tiny, so it overflows),
 * then 5-byte operations:
 *   op (bits 0-1: 3 = flush, else a segment; bit 2 SYN; bit 3 the other
 *   direction), a signed 16-bit offset of the segment's sequence number
 *   from the highest byte sent so far in that direction, a length in
 *   units of 3 bytes, and the captured part of it out of 255.
 * Every payload byte is a function of its sequence number, so the bytes
 * delivered can be checked wherever they come from.
 *
 * Invariants checked (abort on violation):
 * - each delivered byte is the byte of the sequence number the delivery
 *   has reached: in order, once, with gaps counted in between;
 * - after a known gap or data, the position agrees with the stream's own;
 * - the held bytes never pass the budget, and nothing is held after a
 *   flush; the budget's count returns to 0 when all is released.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracking/stream.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static inline uint8_t byte_at(uint32_t seq, int dir)
{
	return (uint8_t)((seq * 2654435761u) >> 24) ^ (uint8_t)dir;
}

struct side {
	struct stream_dir s;
	int dir;
	bool pos_known;
	uint32_t pos;      /* sequence number of the next byte delivered */
	uint32_t high;     /* one past the highest byte sent */
	bool sent;
};

static void on_data(void *ctx, const uint8_t *p, size_t len)
{
	struct side *sd = ctx;

	CHECK(len > 0);
	if (!sd->pos_known) {
		/* After a mid-stream start: the stream says where it is. */
		sd->pos = sd->s.next_seq;
		sd->pos_known = true;
	}
	for (size_t i = 0; i < len; i++)
		CHECK(p[i] == byte_at(sd->pos + (uint32_t)i, sd->dir));
	sd->pos += (uint32_t)len;
}

static void on_gap(void *ctx, uint64_t missing)
{
	struct side *sd = ctx;

	if (missing == 0) {
		sd->pos_known = false; /* unknown amount: mid-stream start */
		return;
	}
	CHECK(missing < (1ull << 32));
	if (sd->pos_known)
		sd->pos += (uint32_t)missing;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct stream_ops ops = { .data = on_data, .gap = on_gap };
	static uint8_t payload[256 * 3];
	struct stream_budget b = { 0 };
	struct side side[2];
	size_t off = 1;

	if (size < 1)
		return 0;
	memset(side, 0, sizeof(side));
	side[1].dir = 1;
	side[0].high = 0xfffff000u; /* wraps around soon */
	side[1].high = 1000;
	b.max_bytes = data[0] & 1 ? 1500 : 64 << 10;
	b.max_per_dir = data[0] & 1 ? 1000 : 32 << 10;

	while (size - off >= 5) {
		const uint8_t *o = data + off;
		struct side *sd = &side[(o[0] >> 3) & 1];
		int16_t delta = (int16_t)(o[1] << 8 | o[2]);
		uint32_t len = (uint32_t)o[3] * 3, cap = len * o[4] / 255;
		uint32_t seq = sd->high + (uint32_t)(int32_t)delta;
		bool syn = o[0] & 4;
		uint32_t end;

		off += 5;
		if ((o[0] & 3) == 3) {
			stream_flush(&sd->s, &b, &ops, sd);
			CHECK(sd->s.held == NULL && sd->s.held_bytes == 0);
			continue;
		}
		for (uint32_t i = 0; i < cap; i++)
			payload[i] = byte_at(seq + (syn ? 1 : 0) + i, sd->dir);
		stream_segment(&sd->s, &b, &ops, sd, seq, syn, payload, cap, len);
		end = seq + (syn ? 1 : 0) + len;
		if (!sd->sent || (int32_t)(end - sd->high) > 0)
			sd->high = end;
		sd->sent = true;
		CHECK(sd->s.held_bytes <= b.max_per_dir);
		CHECK(b.held <= b.max_bytes);
		CHECK(b.held == (uint64_t)side[0].s.held_bytes + side[1].s.held_bytes);
		if (sd->pos_known && sd->s.started)
			CHECK(sd->pos == sd->s.next_seq);
	}
	for (int d = 0; d < 2; d++) {
		stream_flush(&side[d].s, &b, &ops, &side[d]);
		CHECK(side[d].s.held == NULL);
		if (side[d].pos_known && side[d].s.started)
			CHECK(side[d].pos == side[d].s.next_seq);
		stream_release(&side[d].s, &b);
	}
	CHECK(b.held == 0);
	return 0;
}
