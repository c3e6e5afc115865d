// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * topn.c - the N busiest label values (see topn.h): candidates in a fixed
 * array, found through a chained hash of array indexes.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "topn.h"

/* An unnamed candidate less active than this (one hit, six half-lives
 * ago) is forgotten at the next rank. */
#define TOPN_MIN_SCORE (1.0 / 64)

struct cand {
	char v[TOPN_VALUE_MAX + 1];
	uint8_t len;
	bool used;
	int32_t next;      /* hash chain, or free list */
	int32_t slot;      /* -1: unnamed ("other") */
	uint64_t hits;     /* since the last rank */
	double score;      /* decayed activity up to the last rank */
};

struct topn {
	int n, n_cand;
	uint32_t mask;     /* hash buckets - 1 */
	struct cand *c;
	int32_t *heads;
	int32_t *slot_of;  /* candidate per slot, -1 when free */
	int32_t *order;    /* scratch for rank */
	int32_t free_head;
	int free_slots;
	uint64_t last_ns;
	topn_change_fn fn;
	void *ctx;
	struct topn_stats st;
};

static uint32_t hash(const char *v, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)v[i]) * 16777619u;
	return h;
}

struct topn *topn_new(int n, int n_candidates, topn_change_fn fn, void *ctx)
{
	struct topn *t;
	uint32_t nb = 16;

	if (n < 1 || n_candidates <= n || n_candidates > (1 << 20))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	while (nb < 2u * (uint32_t)n_candidates)
		nb <<= 1;
	t->n = n;
	t->n_cand = n_candidates;
	t->mask = nb - 1;
	t->fn = fn;
	t->ctx = ctx;
	t->c = calloc(n_candidates, sizeof(*t->c));
	t->heads = malloc(nb * sizeof(*t->heads));
	t->slot_of = malloc(n * sizeof(*t->slot_of));
	t->order = malloc(n_candidates * sizeof(*t->order));
	if (!t->c || !t->heads || !t->slot_of || !t->order) {
		topn_free(t);
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		t->heads[i] = -1;
	for (int i = 0; i < n; i++)
		t->slot_of[i] = -1;
	for (int i = 0; i < n_candidates; i++)
		t->c[i].next = i + 1 < n_candidates ? i + 1 : -1;
	t->free_head = 0;
	t->free_slots = n;
	return t;
}

void topn_free(struct topn *t)
{
	if (!t)
		return;
	free(t->c);
	free(t->heads);
	free(t->slot_of);
	free(t->order);
	free(t);
}

static void name(struct topn *t, int32_t ci, int slot)
{
	struct cand *c = &t->c[ci];

	c->slot = slot;
	t->slot_of[slot] = ci;
	t->st.promoted++;
	if (t->fn)
		t->fn(t->ctx, slot, c->v, c->len);
}

static void unname(struct topn *t, int32_t ci)
{
	struct cand *c = &t->c[ci];
	int slot = c->slot;

	t->slot_of[slot] = -1;
	c->slot = -1;
	t->st.demoted++;
	if (t->fn)
		t->fn(t->ctx, slot, NULL, 0);
}

static int free_slot(const struct topn *t)
{
	for (int i = 0; i < t->n; i++)
		if (t->slot_of[i] < 0)
			return i;
	return -1;
}

int topn_hit(struct topn *t, const char *value, size_t len)
{
	uint32_t b;
	int32_t ci;
	struct cand *c;

	if (len > TOPN_VALUE_MAX)
		len = TOPN_VALUE_MAX;
	b = hash(value, len) & t->mask;
	for (ci = t->heads[b]; ci >= 0; ci = t->c[ci].next)
		if (t->c[ci].len == len && memcmp(t->c[ci].v, value, len) == 0)
			break;
	if (ci < 0) {
		if (t->free_head < 0) {
			t->st.untracked++;
			return t->n;
		}
		ci = t->free_head;
		c = &t->c[ci];
		t->free_head = c->next;
		memset(c, 0, sizeof(*c));
		memcpy(c->v, value, len);
		c->len = (uint8_t)len;
		c->used = true;
		c->slot = -1;
		c->next = t->heads[b];
		t->heads[b] = ci;
		t->st.candidates++;
	}
	c = &t->c[ci];
	c->hits++;
	/* a free slot is taken at once: nobody is displaced */
	if (c->slot < 0 && t->free_slots > 0) {
		t->free_slots--;
		name(t, ci, free_slot(t));
	}
	return c->slot >= 0 ? c->slot : t->n;
}

static void forget(struct topn *t, int32_t ci)
{
	struct cand *c = &t->c[ci];
	int32_t *pp = &t->heads[hash(c->v, c->len) & t->mask];

	while (*pp != ci)
		pp = &t->c[*pp].next;
	*pp = c->next;
	c->used = false;
	c->next = t->free_head;
	t->free_head = ci;
	t->st.candidates--;
}

/* Most active first; equal ones by value, so the order is the same every run. */
static int by_score(const void *a, const void *b, void *ctx)
{
	const struct topn *t = ctx;
	const struct cand *x = &t->c[*(const int32_t *)a];
	const struct cand *y = &t->c[*(const int32_t *)b];

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->v, y->v, x->len);
}

/* The unnamed candidates, most active first, in t->order; their number. */
static int unnamed(struct topn *t)
{
	int n = 0;

	for (int32_t i = 0; i < t->n_cand; i++)
		if (t->c[i].used && t->c[i].slot < 0)
			t->order[n++] = i;
	qsort_r(t->order, n, sizeof(*t->order), by_score, t);
	return n;
}

void topn_rank(struct topn *t, uint64_t now_ns)
{
	double decay = 1;
	int n_un, keep;

	if (t->last_ns && now_ns > t->last_ns)
		decay = exp2(-(double)(now_ns - t->last_ns) / (double)TOPN_HALF_LIFE_NS);
	t->last_ns = now_ns;
	for (int32_t i = 0; i < t->n_cand; i++) {
		struct cand *c = &t->c[i];

		if (c->used) {
			c->score = c->score * decay + (double)c->hits;
			c->hits = 0;
		}
	}
	/* the busiest unnamed against the least active named, while it wins */
	n_un = unnamed(t);
	for (int u = 0; u < n_un; u++) {
		int32_t ci = t->order[u], worst = -1;
		int slot;

		if (t->c[ci].score <= 0)
			break;
		if (t->free_slots > 0) {
			t->free_slots--;
			name(t, ci, free_slot(t));
			continue;
		}
		for (int s = 0; s < t->n; s++)
			if (worst < 0 || t->c[t->slot_of[s]].score < t->c[worst].score)
				worst = t->slot_of[s];
		if (!(t->c[ci].score > t->c[worst].score * TOPN_HYSTERESIS))
			break;
		slot = t->c[worst].slot;
		unname(t, worst);
		name(t, ci, slot);
	}
	/* room for new values: the less active half of the unnamed goes */
	keep = (t->n_cand - t->n) / 2;
	n_un = unnamed(t);
	for (int u = 0; u < n_un; u++)
		if (u >= keep || t->c[t->order[u]].score < TOPN_MIN_SCORE)
			forget(t, t->order[u]);
}

struct topn_stats topn_stats(const struct topn *t)
{
	return t->st;
}
