/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * stream.h - TCP stream reassembly, one direction at a time.
 *
 * Delivers payload bytes once and in order. Retransmitted bytes are dropped,
 * segments that arrive early are held (bounded per direction and in total),
 * and bytes that will never come (lost from the ring buffer, cut by snaplen,
 * or before a mid-stream start) are reported as a gap of known size, after
 * which delivery goes on.
 */
#ifndef WST_STREAM_H
#define WST_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Shared budget for bytes held out of order, across all streams. */
struct stream_budget {
	uint64_t max_bytes;  /* in total */
	uint32_t max_per_dir;
	uint64_t held;       /* now */
	uint64_t overflows;  /* holes given up because a bound was reached */
};

#define STREAM_DEFAULT_MAX_BYTES (64ull << 20)
/*
 * A hole waits while its direction holds at most this much after it: 16 ms
 * of a direction at 250 MB/s, long enough for a fast retransmission on lo
 * (256 KiB was not, at the bench's highest rate).
 */
#define STREAM_DEFAULT_MAX_PER_DIR (4u << 20)

struct stream_seg;

struct stream_dir {
	bool started;
	uint32_t next_seq;         /* the next byte to deliver */
	struct stream_seg *held;   /* sorted by seq, not overlapping next_seq */
	struct stream_seg *held_tail; /* its last: the place of most new ones */
	uint32_t held_bytes;
	uint64_t delivered, gap_bytes, gaps, dup_bytes;
};

struct stream_ops {
	void (*data)(void *ctx, const uint8_t *p, size_t len);
	/* missing bytes before the next data; 0 = unknown amount (mid-stream start) */
	void (*gap)(void *ctx, uint64_t missing);
};

/*
 * One TCP segment of this direction. payload holds cap_len of payload_len
 * bytes; the rest of the segment was not captured. syn: the segment's
 * sequence number is the ISN (data starts one later).
 */
void stream_segment(struct stream_dir *s, struct stream_budget *b, const struct stream_ops *ops,
		    void *ctx, uint32_t seq, bool syn, const uint8_t *payload, uint32_t cap_len,
		    uint32_t payload_len);
/* No more data will come (FIN, RST, end): deliver what is held, with gaps. */
void stream_flush(struct stream_dir *s, struct stream_budget *b, const struct stream_ops *ops, void *ctx);
/* Frees what is held. */
void stream_release(struct stream_dir *s, struct stream_budget *b);

#endif /* WST_STREAM_H */
