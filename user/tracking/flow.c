// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* flow.c - bounded hash table of TCP connections with per-timeout LRU lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow.h"

/* 64x64->128 multiply, folded: the mixing step of wyhash. */
static inline uint64_t flow_mix(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* Word-wise over the key (byte-wise FNV cost a multiply per byte), seeded
 * so that flows cannot be steered into one chain. */
static uint32_t flow_hash(const struct flow_table *t, const struct flow_key *k)
{
	uint64_t w[5], s = 0xa0761d6478bd642full ^ t->hash_seed, h;

	_Static_assert(sizeof(*k) == sizeof(w), "flow_key is five words");
	memcpy(w, k, sizeof(w));
	h = flow_mix(w[0] ^ s, w[1] ^ 0xe7037ed1a0b428dbull);
	h = flow_mix(w[2] ^ h, w[3] ^ 0x8ebc6af09c88c6e3ull);
	h = flow_mix(w[4] ^ h, s ^ 0x589965cc75374cc3ull);
	return (uint32_t)(h ^ (h >> 32));
}

int flow_table_init(struct flow_table *t, uint32_t max_flows)
{
	uint32_t nb = 16;
	struct timespec ts;

	memset(t, 0, sizeof(*t));
	if (max_flows == 0)
		return -EINVAL;
	if (max_flows > UINT32_MAX / FLOW_TOMBS_PER_FLOW)
		return -EINVAL;
	while (nb < max_flows && nb < (1u << 30))
		nb <<= 1;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->mask = nb - 1;
	t->max_flows = max_flows;
	t->tombs.max = max_flows * FLOW_TOMBS_PER_FLOW;
	t->next_id = 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t->hash_seed = (uint32_t)(ts.tv_nsec ^ ts.tv_sec);
	return 0;
}

static struct wst_flow *flow_of(struct flow_link *l)
{
	return (struct wst_flow *)((char *)l - offsetof(struct wst_flow, link));
}

static struct flow_tomb *tomb_of(struct flow_link *l)
{
	return (struct flow_tomb *)((char *)l - offsetof(struct flow_tomb, link));
}

void flow_table_destroy(struct flow_table *t)
{
	for (int l = 0; l < FLOW_TIMER_MAX; l++) {
		struct flow_link *k = t->lists[l].head;

		while (k) {
			struct flow_link *next = k->next;

			free(flow_of(k));
			k = next;
		}
	}
	for (struct flow_link *k = t->tombs.lru.head, *next; k; k = next) {
		next = k->next;
		free(tomb_of(k));
	}
	free(t->tombs.buckets);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

bool flow_key_from_packet(const struct wst_packet *pkt, const struct port_set *ports,
			  struct flow_key *key, enum wst_flow_dir *dir)
{
	const struct wst_record *r = &pkt->r;
	bool dst_watched = ports_has(ports, r->dport);
	bool src_watched = ports_has(ports, r->sport);

	if (!dst_watched && !src_watched)
		return false;
	/*
	 * The watched port is the server's. If both are watched, a SYN without
	 * ACK goes to the server; otherwise guess the lower port is the server.
	 */
	if (dst_watched && src_watched) {
		if ((r->tcp_flags & (WST_TCP_SYN | WST_TCP_ACK)) == WST_TCP_SYN)
			*dir = WST_C2S;
		else if ((r->tcp_flags & (WST_TCP_SYN | WST_TCP_ACK)) == (WST_TCP_SYN | WST_TCP_ACK))
			*dir = WST_S2C;
		else
			*dir = r->dport <= r->sport ? WST_C2S : WST_S2C;
	} else {
		*dir = dst_watched ? WST_C2S : WST_S2C;
	}
	memset(key, 0, sizeof(*key));
	key->family = r->family;
	if (*dir == WST_C2S) {
		key->cport = r->sport;
		key->sport = r->dport;
		memcpy(key->caddr, r->saddr, 16);
		memcpy(key->saddr, r->daddr, 16);
	} else {
		key->cport = r->dport;
		key->sport = r->sport;
		memcpy(key->caddr, r->daddr, 16);
		memcpy(key->saddr, r->saddr, 16);
	}
	return true;
}

void flow_key_reverse(const struct flow_key *key, struct flow_key *rev)
{
	*rev = *key;
	rev->cport = key->sport;
	rev->sport = key->cport;
	memcpy(rev->caddr, key->saddr, 16);
	memcpy(rev->saddr, key->caddr, 16);
}

struct wst_flow *flow_lookup(struct flow_table *t, const struct flow_key *key)
{
	struct wst_flow *f = t->buckets[flow_hash(t, key) & t->mask];

	for (; f; f = f->hnext)
		if (memcmp(&f->key, key, sizeof(*key)) == 0)
			return f;
	return NULL;
}

static void list_unlink(struct flow_list *l, struct flow_link *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
	l->n--;
}

static void list_append(struct flow_list *l, struct flow_link *k)
{
	k->next = NULL;
	k->prev = l->tail;
	if (l->tail)
		l->tail->next = k;
	else
		l->head = k;
	l->tail = k;
	l->n++;
}

struct wst_flow *flow_insert(struct flow_table *t, const struct flow_key *key, uint64_t now_ns)
{
	struct wst_flow *f;
	uint32_t b;

	if (flow_table_full(t))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = *key;
	f->id = t->next_id++;
	f->first_ns = f->last_ns = now_ns;
	b = flow_hash(t, key) & t->mask;
	f->hnext = t->buckets[b];
	t->buckets[b] = f;
	f->timer = FLOW_TIMER_IDLE;
	list_append(&t->lists[f->timer], &f->link);
	t->n++;
	return f;
}

void flow_remove(struct flow_table *t, struct wst_flow *f)
{
	struct wst_flow **pp = &t->buckets[flow_hash(t, &f->key) & t->mask];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	list_unlink(&t->lists[f->timer], &f->link);
	t->n--;
	free(f);
}

void flow_touch(struct flow_table *t, struct wst_flow *f, enum flow_timer timer, uint64_t now_ns)
{
	if (now_ns > f->last_ns)
		f->last_ns = now_ns;
	list_unlink(&t->lists[f->timer], &f->link);
	f->timer = timer;
	list_append(&t->lists[timer], &f->link);
}

struct wst_flow *flow_lru(const struct flow_table *t)
{
	struct wst_flow *best = NULL;

	for (int l = 0; l < FLOW_TIMER_MAX; l++) {
		struct wst_flow *f = flow_oldest(t, l);

		if (f && (!best || f->last_ns < best->last_ns))
			best = f;
	}
	return best;
}

/* The tombstone's hash chain link that points to key's entry (or the end). */
static struct flow_tomb **tomb_slot(struct flow_table *t, const struct flow_key *key)
{
	struct flow_tomb **pp = &t->tombs.buckets[flow_hash(t, key) & t->tombs.mask];

	while (*pp && memcmp(&(*pp)->key, key, sizeof(*key)))
		pp = &(*pp)->hnext;
	return pp;
}

static void tomb_remove(struct flow_table *t, struct flow_tomb **pp)
{
	struct flow_tomb *d = *pp;

	*pp = d->hnext;
	list_unlink(&t->tombs.lru, &d->link);
	free(d);
}

void flow_tomb_add(struct flow_table *t, const struct flow_key *key, uint64_t now_ns)
{
	struct flow_tombs *ts = &t->tombs;
	struct flow_tomb **pp, *d;

	if (!ts->buckets) {
		uint32_t nb = 16;

		/* Chains of two on average when full: a lookup is rare (a
		 * packet without a flow), the bucket array is not. */
		while (nb < ts->max / 2 && nb < (1u << 30))
			nb <<= 1;
		ts->buckets = calloc(nb, sizeof(*ts->buckets));
		if (!ts->buckets)
			return;
		ts->mask = nb - 1;
	}
	pp = tomb_slot(t, key);
	if (*pp) {
		flow_tomb_hit(t, key, now_ns);
		return;
	}
	if (ts->lru.n >= ts->max) {
		d = tomb_of(ts->lru.head);
		tomb_remove(t, tomb_slot(t, &d->key));
		ts->forgotten++;
		pp = tomb_slot(t, key); /* the chain may have changed */
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->key = *key;
	d->last_ns = now_ns;
	*pp = d;
	list_append(&ts->lru, &d->link);
}

bool flow_tomb_hit(struct flow_table *t, const struct flow_key *key, uint64_t now_ns)
{
	struct flow_tomb *d;

	if (!t->tombs.lru.n)
		return false;
	d = *tomb_slot(t, key);
	if (!d)
		return false;
	if (now_ns > d->last_ns)
		d->last_ns = now_ns;
	list_unlink(&t->tombs.lru, &d->link);
	list_append(&t->tombs.lru, &d->link);
	return true;
}

void flow_tomb_forget(struct flow_table *t, const struct flow_key *key)
{
	struct flow_tomb **pp;

	if (!t->tombs.lru.n)
		return;
	pp = tomb_slot(t, key);
	if (*pp)
		tomb_remove(t, pp);
}

void flow_tomb_expire(struct flow_table *t, uint64_t before_ns)
{
	struct flow_link *k;

	while ((k = t->tombs.lru.head) && tomb_of(k)->last_ns < before_ns)
		tomb_remove(t, tomb_slot(t, &tomb_of(k)->key));
}
