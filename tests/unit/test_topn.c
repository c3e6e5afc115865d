// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the busiest-values ranking behind --metrics-label: free slots
 * taken at once, a busy late value displacing a quiet early one at the
 * next rank (and not a merely equal one), activity decaying, the
 * candidate table's bound (untracked values, room made again), and the
 * change callback's order (freed, then named).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sinks/topn.h"

#define SEC 1000000000ull

struct log {
	char names[8][TOPN_VALUE_MAX + 1]; /* per slot, "" when free */
	int changes;
	char last[256];
};

static void on_change(void *ctx, int slot, const char *v, size_t len)
{
	struct log *l = ctx;
	size_t n = strlen(l->last);

	assert_true(slot >= 0 && slot < 8);
	if (v) {
		/* a slot is freed before it is named again */
		assert_string_equal(l->names[slot], "");
		memcpy(l->names[slot], v, len);
		l->names[slot][len] = 0;
	} else {
		assert_string_not_equal(l->names[slot], "");
		l->names[slot][0] = 0;
	}
	l->changes++;
	snprintf(l->last + n, sizeof(l->last) - n, "%s%d:%s", n ? " " : "", slot, v ? l->names[slot] : "-");
}

static int hits(struct topn *t, const char *v, int n)
{
	int slot = -1;

	for (int i = 0; i < n; i++)
		slot = topn_hit(t, v, strlen(v));
	return slot;
}

static void test_free_slots_taken_at_once(void **state)
{
	struct log l = { 0 };
	struct topn *t = topn_new(2, 8, on_change, &l);

	(void)state;
	assert_non_null(t);
	assert_int_equal(topn_hit(t, "a", 1), 0);
	assert_int_equal(topn_hit(t, "b", 1), 1);
	assert_int_equal(topn_hit(t, "c", 1), 2); /* other */
	assert_int_equal(topn_hit(t, "a", 1), 0);
	assert_string_equal(l.last, "0:a 1:b");
	assert_int_equal(topn_stats(t).promoted, 2);
	assert_int_equal(topn_stats(t).candidates, 3);
	topn_free(t);
}

/* The bug this replaces: the first value seen kept its series for good. */
static void test_busy_late_value_displaces_quiet_early_one(void **state)
{
	struct log l = { 0 };
	struct topn *t = topn_new(1, 8, on_change, &l);

	(void)state;
	assert_int_equal(hits(t, "quiet", 1), 0);
	assert_int_equal(hits(t, "busy", 100), 1); /* other until the rank */
	topn_rank(t, 1 * SEC);
	assert_string_equal(l.names[0], "busy");
	assert_string_equal(l.last, "0:quiet 0:- 0:busy");
	assert_int_equal(hits(t, "busy", 1), 0);
	assert_int_equal(hits(t, "quiet", 1), 1);
	assert_int_equal(topn_stats(t).demoted, 1);
	/* quiet stays quiet: nothing changes */
	hits(t, "busy", 10);
	topn_rank(t, 2 * SEC);
	assert_string_equal(l.names[0], "busy");
	assert_int_equal(l.changes, 3);
	topn_free(t);
}

static void test_equal_activity_keeps_the_named_value(void **state)
{
	struct log l = { 0 };
	struct topn *t = topn_new(1, 8, on_change, &l);

	(void)state;
	hits(t, "first", 10);
	hits(t, "second", 12); /* busier, but not by a quarter */
	topn_rank(t, SEC);
	assert_string_equal(l.names[0], "first");
	hits(t, "second", 20);
	topn_rank(t, 2 * SEC); /* 22 against 10: a quarter and more */
	assert_string_equal(l.names[0], "second");
	topn_free(t);
}

static void test_activity_decays(void **state)
{
	struct log l = { 0 };
	struct topn *t = topn_new(1, 8, on_change, &l);

	(void)state;
	hits(t, "old", 100);
	topn_rank(t, SEC);
	/* ten minutes later, 100 has halved ten times: 5 recent ones win */
	hits(t, "new", 5);
	topn_rank(t, SEC + 10 * 60 * SEC);
	assert_string_equal(l.names[0], "new");
	topn_free(t);
}

static void test_candidate_bound(void **state)
{
	struct log l = { 0 };
	struct topn *t = topn_new(1, 4, on_change, &l);
	char v[16];

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		hits(t, v, 1);
	}
	assert_int_equal(topn_stats(t).candidates, 4);
	assert_int_equal(topn_stats(t).untracked, 6);
	assert_int_equal(hits(t, "late", 50), 1); /* no room: other */
	topn_rank(t, SEC);
	/* (4 - 1) / 2 unnamed kept: room for new values again */
	assert_true(topn_stats(t).candidates <= 2);
	hits(t, "late", 50);
	topn_rank(t, 2 * SEC);
	assert_string_equal(l.names[0], "late");
	assert_true(topn_stats(t).candidates <= 4);
	topn_free(t);
}

static void test_long_values_and_bad_sizes(void **state)
{
	char big[200];
	struct topn *t = topn_new(2, 4, NULL, NULL);

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(topn_hit(t, big, sizeof(big)), 0);
	assert_int_equal(topn_hit(t, big, TOPN_VALUE_MAX), 0); /* the same, cut */
	topn_rank(t, SEC);
	topn_rank(t, SEC); /* no time passed: no decay, no harm */
	topn_free(t);
	assert_null(topn_new(0, 4, NULL, NULL));
	assert_null(topn_new(4, 4, NULL, NULL));
	topn_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_slots_taken_at_once),
		cmocka_unit_test(test_busy_late_value_displaces_quiet_early_one),
		cmocka_unit_test(test_equal_activity_keeps_the_named_value),
		cmocka_unit_test(test_activity_decays),
		cmocka_unit_test(test_candidate_bound),
		cmocka_unit_test(test_long_values_and_bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
