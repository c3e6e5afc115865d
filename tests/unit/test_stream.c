// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests: TCP stream reassembly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tracking/stream.h"

struct sink {
	uint8_t out[1 << 16];
	size_t n;
	uint64_t gaps[64];
	size_t gap_pos[64];
	int n_gaps;
};

static void on_data(void *ctx, const uint8_t *p, size_t len)
{
	struct sink *k = ctx;

	assert_true(k->n + len <= sizeof(k->out));
	memcpy(k->out + k->n, p, len);
	k->n += len;
}

static void on_gap(void *ctx, uint64_t missing)
{
	struct sink *k = ctx;

	assert_true(k->n_gaps < 64);
	k->gap_pos[k->n_gaps] = k->n;
	k->gaps[k->n_gaps++] = missing;
}

static const struct stream_ops ops = { .data = on_data, .gap = on_gap };

static struct stream_budget budget(void)
{
	return (struct stream_budget){ .max_bytes = STREAM_DEFAULT_MAX_BYTES,
				       .max_per_dir = STREAM_DEFAULT_MAX_PER_DIR };
}

static const uint8_t text[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
#define ISN 0xfffffff0u /* wraps inside the text */

static void seg(struct stream_dir *s, struct stream_budget *b, struct sink *k, uint32_t off, uint32_t len)
{
	stream_segment(s, b, &ops, k, ISN + 1 + off, false, text + off, len, len);
}

/* The fixture: one direction of a stream, its budget and what it delivers. */
struct fixture {
	struct stream_dir s;
	struct stream_budget b;
	struct sink k;
};

static int setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	x->b = budget();
	*state = x;
	return 0;
}

/* The same, the stream started by its SYN. */
static int setup_syn(void **state)
{
	struct fixture *x;

	if (setup(state))
		return -1;
	x = *state;
	stream_segment(&x->s, &x->b, &ops, &x->k, ISN, true, NULL, 0, 0);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	stream_release(&x->s, &x->b);
	free(x);
	return 0;
}

static void test_in_order(void **state)
{
	struct fixture *x = *state;
	struct stream_dir *s = &x->s;
	struct stream_budget *b = &x->b;
	struct sink *k = &x->k;

	seg(s, b, k, 0, 10);
	seg(s, b, k, 10, 20);
	seg(s, b, k, 30, 32);
	assert_int_equal(k->n, 62);
	assert_memory_equal(k->out, text, 62);
	assert_int_equal(k->n_gaps, 0);
}

static void test_retransmit_and_overlap(void **state)
{
	struct fixture *x = *state;
	struct stream_dir *s = &x->s;
	struct stream_budget *b = &x->b;
	struct sink *k = &x->k;

	seg(s, b, k, 0, 10);
	seg(s, b, k, 0, 10);  /* retransmitted */
	seg(s, b, k, 5, 15);  /* overlaps 5 old bytes */
	seg(s, b, k, 20, 42);
	assert_int_equal(k->n, 62);
	assert_memory_equal(k->out, text, 62);
	assert_int_equal(s->dup_bytes, 15);
}

static void test_out_of_order_held(void **state)
{
	struct fixture *x = *state;
	struct stream_dir *s = &x->s;
	struct stream_budget *b = &x->b;
	struct sink *k = &x->k;

	seg(s, b, k, 40, 22);
	seg(s, b, k, 20, 20);
	assert_int_equal(k->n, 0);
	assert_int_equal(b->held, 42);
	seg(s, b, k, 0, 20);
	assert_int_equal(k->n, 62);
	assert_memory_equal(k->out, text, 62);
	assert_int_equal(b->held, 0);
	assert_int_equal(k->n_gaps, 0);
}

static void test_snaplen_truncation_is_a_gap(void **state)
{
	struct fixture *x = *state;
	struct stream_dir *s = &x->s;
	struct stream_budget *b = &x->b;
	struct sink *k = &x->k;

	/* 30 bytes on the wire, 10 captured. */
	stream_segment(s, b, &ops, k, ISN + 1, false, text, 10, 30);
	seg(s, b, k, 30, 10);
	assert_int_equal(k->n, 20);
	assert_memory_equal(k->out, text, 10);
	assert_memory_equal(k->out + 10, text + 30, 10);
	assert_int_equal(k->n_gaps, 1);
	assert_int_equal(k->gaps[0], 20);
	assert_int_equal(k->gap_pos[0], 10);
}

static void test_midstream_start(void **state)
{
	struct fixture *x = *state;
	struct stream_dir *s = &x->s;
	struct stream_budget *b = &x->b;
	struct sink *k = &x->k;

	seg(s, b, k, 10, 10);
	seg(s, b, k, 20, 10);
	assert_int_equal(k->n_gaps, 1);
	assert_int_equal(k->gaps[0], 0); /* unknown amount */
	assert_int_equal(k->n, 20);
	assert_memory_equal(k->out, text + 10, 20);
}

static void test_hole_never_filled_flushes_with_gap(void **state)
{
	struct fixture *x = *state;
	struct stream_dir *s = &x->s;
	struct stream_budget *b = &x->b;
	struct sink *k = &x->k;

	seg(s, b, k, 0, 10);
	seg(s, b, k, 25, 10); /* 10..25 lost */
	seg(s, b, k, 35, 5);
	assert_int_equal(k->n, 10);
	stream_flush(s, b, &ops, k);
	assert_int_equal(k->n, 25);
	assert_int_equal(k->n_gaps, 1);
	assert_int_equal(k->gaps[0], 15);
	assert_int_equal(k->gap_pos[0], 10);
	assert_memory_equal(k->out + 10, text + 25, 15);
	assert_int_equal(b->held, 0);
}

static void test_budget_bounds_holding(void **state)
{
	struct fixture *x = *state;
	struct stream_dir *s = &x->s;
	struct stream_budget *b = &x->b;
	struct sink *k = &x->k;

	b->max_per_dir = 16;
	seg(s, b, k, 10, 10); /* held: 10 */
	seg(s, b, k, 20, 10); /* would be 20 > 16: give up the hole */
	assert_int_equal(b->overflows, 1);
	assert_int_equal(b->held, 0);
	assert_int_equal(k->n, 20);
	assert_int_equal(k->n_gaps, 1);
	assert_int_equal(k->gaps[0], 10);
	assert_memory_equal(k->out, text + 10, 20);
	/* The hole's bytes arriving late are old now. */
	seg(s, b, k, 0, 10);
	assert_int_equal(k->n, 20);
}

static void test_release_frees_held(void **state)
{
	struct fixture *x = *state;
	struct stream_dir *s = &x->s;
	struct stream_budget *b = &x->b;
	struct sink *k = &x->k;

	seg(s, b, k, 10, 10);
	seg(s, b, k, 30, 10);
	assert_int_equal(b->held, 20);
	stream_release(s, b);
	assert_int_equal(b->held, 0);
	assert_null(s->held);
}

/* Random segmentation, reordering and duplication: output is the input. */
static void test_random_reorder(void **state)
{
	static uint8_t data[20000];
	struct sink *k = calloc(1, sizeof(*k));
	unsigned seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)rand_r(&seed);
	for (int round = 0; round < 200; round++) {
		struct stream_dir s = { 0 };
		struct stream_budget b = budget();
		uint32_t offs[512], lens[512];
		int n = 0;
		uint32_t isn = (uint32_t)rand_r(&seed) * 2654435761u;

		memset(k, 0, sizeof(*k));
		for (uint32_t off = 0; off < sizeof(data); n++) {
			uint32_t len = 1 + rand_r(&seed) % 200;

			if (off + len > sizeof(data))
				len = sizeof(data) - off;
			offs[n] = off;
			lens[n] = len;
			off += len;
		}
		/* Local shuffles keep the reordering within the bounds. */
		for (int i = 0; i < n; i++) {
			int j = i + rand_r(&seed) % 8;

			if (j < n) {
				uint32_t t = offs[i]; offs[i] = offs[j]; offs[j] = t;
				t = lens[i]; lens[i] = lens[j]; lens[j] = t;
			}
		}
		stream_segment(&s, &b, &ops, k, isn, true, NULL, 0, 0);
		for (int i = 0; i < n; i++) {
			stream_segment(&s, &b, &ops, k, isn + 1 + offs[i], false, data + offs[i], lens[i], lens[i]);
			if (rand_r(&seed) % 5 == 0) /* a retransmission */
				stream_segment(&s, &b, &ops, k, isn + 1 + offs[i], false, data + offs[i], lens[i], lens[i]);
		}
		stream_flush(&s, &b, &ops, k);
		assert_int_equal(k->n_gaps, 0);
		assert_int_equal(k->n, sizeof(data));
		assert_memory_equal(k->out, data, sizeof(data));
		assert_int_equal(b.held, 0);
	}
	free(k);
}

/*
 * Behind a hole: segments in order (held at the tail), a block of them
 * reversed and retransmissions (placed by walking), then the hole filled;
 * then a second hole after the list was drained empty.
 */
static void test_many_held_behind_a_hole(void **state)
{
	static uint8_t data[6000];
	struct sink *k = calloc(1, sizeof(*k));
	struct stream_dir s = { 0 };
	struct stream_budget b = budget();
	const uint32_t isn = 77, len = 10;

	(void)state;
	assert_non_null(k);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	stream_segment(&s, &b, &ops, k, isn, true, NULL, 0, 0);
	/* [0, 10) is the hole; [10, 3000) arrives, the block [1000, 1200) reversed */
	for (uint32_t off = len; off < 3000; off += len) {
		uint32_t o = off >= 1000 && off < 1200 ? 1000 + 1190 - off : off;

		stream_segment(&s, &b, &ops, k, isn + 1 + o, false, data + o, len, len);
		if (o % 70 == 0) /* a retransmission of one held before */
			stream_segment(&s, &b, &ops, k, isn + 1 + o - len, false, data + o - len, len, len);
	}
	assert_int_equal(k->n, 0);
	assert_int_equal(s.held_bytes, 3000 - len);
	stream_segment(&s, &b, &ops, k, isn + 1, false, data, len, len);
	assert_int_equal(k->n, 3000);
	assert_memory_equal(k->out, data, 3000);
	assert_int_equal(b.held, 0);
	/* A second hole, [3000, 3010), once the list is empty again. */
	for (uint32_t off = 3010; off < 6000; off += len)
		stream_segment(&s, &b, &ops, k, isn + 1 + off, false, data + off, len, len);
	stream_segment(&s, &b, &ops, k, isn + 1 + 3000, false, data + 3000, len, len);
	assert_int_equal(k->n_gaps, 0);
	assert_int_equal(k->n, sizeof(data));
	assert_memory_equal(k->out, data, sizeof(data));
	assert_int_equal(b.held, 0);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, setup_syn, teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_and_overlap, setup_syn, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_held, setup_syn, teardown),
		cmocka_unit_test_setup_teardown(test_snaplen_truncation_is_a_gap, setup_syn, teardown),
		cmocka_unit_test_setup_teardown(test_midstream_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hole_never_filled_flushes_with_gap, setup_syn, teardown),
		cmocka_unit_test_setup_teardown(test_budget_bounds_holding, setup_syn, teardown),
		cmocka_unit_test_setup_teardown(test_release_frees_held, setup_syn, teardown),
		cmocka_unit_test(test_random_reorder),
		cmocka_unit_test(test_many_held_behind_a_hole),
	};

	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
