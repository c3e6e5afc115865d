/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * topn.h - which values of a label get a series of their own: the N
 * busiest by recent activity, the rest counted as "other".
 *
 * Each value seen is a candidate in a fixed-size table (a value that finds
 * no room is counted as untracked: its activity goes to "other"). A value
 * takes a free slot at once. Once all N are taken, topn_rank() (called at a
 * bounded cadence) decays every candidate's activity (half-life
 * TOPN_HALF_LIFE_NS) and adds what came since; an unnamed candidate takes
 * the slot of the least active named one when its activity is more than
 * TOPN_HYSTERESIS times that one's. The change callback says so: the slot
 * freed (value NULL), then named again; the caller restarts the slot's
 * series from zero, so every series it shows only goes up, and "other",
 * which only ever receives, never goes down. Then the least active unnamed
 * candidates are forgotten, leaving room for new values.
 *
 * Pure: no I/O, no clock (the caller passes the time). Single-threaded.
 */
#ifndef WST_TOPN_H
#define WST_TOPN_H

#include <stddef.h>
#include <stdint.h>

#define TOPN_VALUE_MAX 63                      /* bytes of a value kept */
#define TOPN_HALF_LIFE_NS (60ull * 1000000000) /* activity halves in a minute */
#define TOPN_HYSTERESIS 1.25                   /* a newcomer must be this much busier */

/* Slot slot (0..n-1) now names value (len bytes), or is free (value NULL). */
typedef void (*topn_change_fn)(void *ctx, int slot, const char *value, size_t len);

struct topn_stats {
	uint64_t promoted;    /* values that took a slot */
	uint64_t demoted;     /* values that gave theirs up */
	uint64_t untracked;   /* hits of values the candidate table had no room for */
	uint32_t candidates;  /* values followed now */
};

struct topn;

/* n slots, at most n_candidates values followed (at least n + 1). NULL on a
 * bad size or no memory. */
struct topn *topn_new(int n, int n_candidates, topn_change_fn fn, void *ctx);
void topn_free(struct topn *t);

/* One unit of activity of value: its slot, or n ("other"). */
int topn_hit(struct topn *t, const char *value, size_t len);

/* Re-ranks at monotonic time now_ns (see above). */
void topn_rank(struct topn *t, uint64_t now_ns);

struct topn_stats topn_stats(const struct topn *t);

#endif /* WST_TOPN_H */
