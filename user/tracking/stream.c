// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* stream.c - in-order delivery of one direction of a TCP connection. */
#include <stdlib.h>
#include <string.h>

#include "stream.h"

struct stream_seg {
	struct stream_seg *next;
	uint32_t seq;
	uint32_t cap_len;     /* bytes in data */
	uint32_t payload_len; /* bytes on the wire; the tail past cap_len is lost */
	uint8_t data[];
};

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

static void report_gap(struct stream_dir *s, const struct stream_ops *ops, void *ctx, uint64_t missing)
{
	s->gaps++;
	s->gap_bytes += missing;
	ops->gap(ctx, missing);
}

/* Delivers a segment that starts at or before next_seq and ends after it. */
static void deliver(struct stream_dir *s, const struct stream_ops *ops, void *ctx, uint32_t seq,
		    const uint8_t *payload, uint32_t cap_len, uint32_t payload_len)
{
	uint32_t skip = s->next_seq - seq;
	uint32_t end = seq + payload_len;

	s->dup_bytes += skip;
	if (skip < cap_len) {
		ops->data(ctx, payload + skip, cap_len - skip);
		s->delivered += cap_len - skip;
		if (cap_len < payload_len)
			report_gap(s, ops, ctx, payload_len - cap_len);
	} else {
		/* What is new was not captured (snaplen). */
		report_gap(s, ops, ctx, end - s->next_seq);
	}
	s->next_seq = end;
}

static struct stream_seg *pop_held(struct stream_dir *s, struct stream_budget *b)
{
	struct stream_seg *seg = s->held;

	s->held = seg->next;
	if (!s->held)
		s->held_tail = NULL;
	s->held_bytes -= seg->cap_len;
	b->held -= seg->cap_len;
	return seg;
}

/* Delivers held segments that have become contiguous. */
static void drain(struct stream_dir *s, struct stream_budget *b, const struct stream_ops *ops, void *ctx)
{
	while (s->held && seq_leq(s->held->seq, s->next_seq)) {
		struct stream_seg *seg = pop_held(s, b);

		if (seq_lt(s->next_seq, seg->seq + seg->payload_len))
			deliver(s, ops, ctx, seg->seq, seg->data, seg->cap_len, seg->payload_len);
		else
			s->dup_bytes += seg->payload_len;
		free(seg);
	}
}

/* Gives up on holes: everything held is delivered, each hole as a gap. */
static void flush_held(struct stream_dir *s, struct stream_budget *b, const struct stream_ops *ops, void *ctx)
{
	while (s->held) {
		if (seq_lt(s->next_seq, s->held->seq)) {
			report_gap(s, ops, ctx, s->held->seq - s->next_seq);
			s->next_seq = s->held->seq;
		}
		drain(s, b, ops, ctx);
	}
}

static bool hold(struct stream_dir *s, struct stream_budget *b, uint32_t seq,
		 const uint8_t *payload, uint32_t cap_len, uint32_t payload_len)
{
	struct stream_seg **pp = &s->held, *seg;

	if (s->held_bytes + cap_len > b->max_per_dir || b->held + cap_len > b->max_bytes)
		return false;
	/*
	 * Behind a hole the segments mostly come in order: after the last
	 * one held, without walking the list (thousands of small segments
	 * wait behind a lost one; walking made holding quadratic).
	 */
	if (s->held_tail && seq_lt(s->held_tail->seq, seq)) {
		pp = &s->held_tail->next;
	} else {
		while (*pp && seq_lt((*pp)->seq, seq))
			pp = &(*pp)->next;
		if (*pp && (*pp)->seq == seq && (*pp)->payload_len >= payload_len) {
			s->dup_bytes += payload_len; /* the same early segment again */
			return true;
		}
	}
	seg = malloc(sizeof(*seg) + cap_len);
	if (!seg)
		return false;
	seg->seq = seq;
	seg->cap_len = cap_len;
	seg->payload_len = payload_len;
	memcpy(seg->data, payload, cap_len);
	seg->next = *pp;
	*pp = seg;
	if (!seg->next)
		s->held_tail = seg;
	s->held_bytes += cap_len;
	b->held += cap_len;
	return true;
}

void stream_segment(struct stream_dir *s, struct stream_budget *b, const struct stream_ops *ops,
		    void *ctx, uint32_t seq, bool syn, const uint8_t *payload, uint32_t cap_len,
		    uint32_t payload_len)
{
	if (cap_len > payload_len)
		cap_len = payload_len;
	if (syn) {
		if (!s->started) {
			s->started = true;
			s->next_seq = seq + 1;
		}
		seq += 1;
	}
	if (!s->started) {
		/* Mid-stream: what came before is unknown. */
		s->started = true;
		s->next_seq = seq;
		report_gap(s, ops, ctx, 0);
	}
	if (payload_len == 0)
		return;
	if (seq_leq(seq + payload_len, s->next_seq)) {
		s->dup_bytes += payload_len;
		return;
	}
	if (seq_leq(seq, s->next_seq)) {
		deliver(s, ops, ctx, seq, payload, cap_len, payload_len);
		drain(s, b, ops, ctx);
		return;
	}
	if (hold(s, b, seq, payload, cap_len, payload_len))
		return;
	/* No room to wait for the hole: deliver in order with gaps. */
	b->overflows++;
	flush_held(s, b, ops, ctx);
	if (seq_lt(s->next_seq, seq)) {
		report_gap(s, ops, ctx, seq - s->next_seq);
		s->next_seq = seq;
	}
	deliver(s, ops, ctx, seq, payload, cap_len, payload_len);
	drain(s, b, ops, ctx);
}

void stream_flush(struct stream_dir *s, struct stream_budget *b, const struct stream_ops *ops, void *ctx)
{
	flush_held(s, b, ops, ctx);
}

void stream_release(struct stream_dir *s, struct stream_budget *b)
{
	while (s->held)
		free(pop_held(s, b));
}
