// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * owners.c - the connection owner table (see owners.h): a hash of
 * connections by flow key on an LRU list, and a hash of processes by pid
 * and start time, reference counted by the connections that name them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/container_id.h"
#include "protocol/proxy_hdr.h"
#include "owners.h"

#define CGROUP_PATH_MAX 512

struct owner_proc {
	struct owner_proc *hnext;
	struct wst_proc p;
	uint64_t cgroup_id;
	uint32_t refs;
	char cgroup[CGROUP_PATH_MAX];
	char container[CONTAINER_ID_LEN + 1];
};

struct owner_conn {
	struct flow_key key;
	struct owner_conn *hnext;
	struct owner_conn *prev, *next; /* LRU: head is the oldest */
	struct owner_proc *side[2];     /* by enum owner_side */
	char fwd[PROXY_ADDR_MAX];       /* "" = none */
	bool filtered;                  /* left out by the filters: packets dropped */
};

struct owners {
	struct owner_conn **conns;
	struct owner_proc **procs;
	uint32_t mask;                 /* both tables */
	uint32_t max_conns;
	struct owner_conn *head, *tail;
	owners_cgroup_fn cgroup_fn;
	void *cgroup_ctx;
	struct owner_stats st;
};

static uint32_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static uint32_t proc_hash(uint32_t pid, uint64_t start)
{
	uint64_t k[2] = { pid, start };

	return hash_bytes(k, sizeof(k));
}

struct owners *owners_new(uint32_t max_conns, owners_cgroup_fn fn, void *ctx)
{
	struct owners *o = calloc(1, sizeof(*o));
	uint32_t n = 64;

	if (!o)
		return NULL;
	if (max_conns == 0)
		max_conns = 1;
	while (n < max_conns && n < (1u << 24))
		n <<= 1;
	o->mask = n - 1;
	o->max_conns = max_conns;
	o->cgroup_fn = fn;
	o->cgroup_ctx = ctx;
	o->conns = calloc(n, sizeof(*o->conns));
	o->procs = calloc(n, sizeof(*o->procs));
	if (!o->conns || !o->procs) {
		owners_free(o);
		return NULL;
	}
	return o;
}

static void proc_put(struct owners *o, struct owner_proc *p)
{
	struct owner_proc **pp;

	if (!p || --p->refs)
		return;
	for (pp = &o->procs[proc_hash(p->p.pid, p->p.start_ns) & o->mask]; *pp; pp = &(*pp)->hnext)
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	o->st.procs--;
	free(p);
}

static struct owner_proc *proc_get(struct owners *o, const struct wst_task *t)
{
	uint32_t h = proc_hash(t->tgid, t->start_ns) & o->mask;
	struct owner_proc *p;

	for (p = o->procs[h]; p; p = p->hnext)
		if (p->p.pid == t->tgid && p->p.start_ns == t->start_ns)
			break;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->p.pid = t->tgid;
		p->p.start_ns = t->start_ns;
		p->hnext = o->procs[h];
		o->procs[h] = p;
		o->st.procs++;
	}
	/* the latest name (after an exec) and cgroup (after a move) */
	memcpy(p->p.comm, t->comm, sizeof(t->comm));
	p->p.comm[sizeof(t->comm)] = 0;
	if (!p->p.cgroup || p->cgroup_id != t->cgroup_id) {
		p->cgroup_id = t->cgroup_id;
		p->cgroup[0] = 0;
		if (o->cgroup_fn)
			o->cgroup_fn(o->cgroup_ctx, t->cgroup_id, p->cgroup, sizeof(p->cgroup));
		p->p.cgroup = p->cgroup;
		p->p.container = container_id_from_cgroup(p->cgroup, p->container) == 0 ?
				 p->container : NULL;
	}
	p->refs++;
	return p;
}

static struct owner_conn **conn_slot(struct owners *o, const struct flow_key *key)
{
	struct owner_conn **pp = &o->conns[hash_bytes(key, sizeof(*key)) & o->mask];

	while (*pp && memcmp(&(*pp)->key, key, sizeof(*key)))
		pp = &(*pp)->hnext;
	return pp;
}

static void lru_unlink(struct owners *o, struct owner_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		o->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		o->tail = c->prev;
	c->prev = c->next = NULL;
}

static void lru_append(struct owners *o, struct owner_conn *c)
{
	c->prev = o->tail;
	c->next = NULL;
	if (o->tail)
		o->tail->next = c;
	else
		o->head = c;
	o->tail = c;
}

static void conn_remove(struct owners *o, struct owner_conn **slot)
{
	struct owner_conn *c = *slot;

	*slot = c->hnext;
	lru_unlink(o, c);
	proc_put(o, c->side[OWNER_SERVER]);
	proc_put(o, c->side[OWNER_CLIENT]);
	o->st.conns--;
	free(c);
}

/* The entry of key, made (evicting the oldest when full) if need be. */
static struct owner_conn *conn_get(struct owners *o, const struct flow_key *key)
{
	struct owner_conn **slot = conn_slot(o, key), *c = *slot;

	if (c) {
		lru_unlink(o, c);
		lru_append(o, c);
		return c;
	}
	if (o->st.conns >= o->max_conns && o->head) {
		o->st.evicted++;
		conn_remove(o, conn_slot(o, &o->head->key));
		slot = conn_slot(o, key);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->key = *key;
	*slot = c;
	lru_append(o, c);
	o->st.conns++;
	return c;
}

int owners_add(struct owners *o, const struct flow_key *key, enum owner_side side,
	       const struct wst_task *task)
{
	struct owner_conn *c = conn_get(o, key);
	struct owner_proc *p;

	if (!c)
		return -ENOMEM;
	p = proc_get(o, task);
	if (!p)
		return -ENOMEM;
	proc_put(o, c->side[side]);
	c->side[side] = p;
	o->st.added++;
	return 0;
}

int owners_set_forwarded(struct owners *o, const struct flow_key *key, const char *addr)
{
	struct owner_conn *c = conn_get(o, key);

	if (!c)
		return -ENOMEM;
	strncpy(c->fwd, addr, sizeof(c->fwd) - 1);
	return 0;
}

bool owners_lookup(struct owners *o, const struct flow_key *key, struct wst_attrib *out)
{
	struct owner_conn *c = *conn_slot(o, key);

	memset(out, 0, sizeof(*out));
	if (!c)
		return false;
	/* in use: the last to be forgotten */
	lru_unlink(o, c);
	lru_append(o, c);
	out->server = c->side[OWNER_SERVER] ? &c->side[OWNER_SERVER]->p : NULL;
	out->client = c->side[OWNER_CLIENT] ? &c->side[OWNER_CLIENT]->p : NULL;
	out->forwarded_for = c->fwd[0] ? c->fwd : NULL;
	return out->server || out->client || out->forwarded_for;
}

int owners_set_filtered(struct owners *o, const struct flow_key *key)
{
	struct owner_conn *c = conn_get(o, key);

	if (!c)
		return -ENOMEM;
	c->filtered = true;
	return 0;
}

bool owners_filtered(struct owners *o, const struct flow_key *key)
{
	struct owner_conn *c = *conn_slot(o, key);

	return c && c->filtered;
}

bool owners_has_server(struct owners *o, const struct flow_key *key)
{
	struct owner_conn *c = *conn_slot(o, key);

	return c && c->side[OWNER_SERVER];
}

void owners_forget(struct owners *o, const struct flow_key *key)
{
	struct owner_conn **slot = conn_slot(o, key);

	if (*slot)
		conn_remove(o, slot);
}

struct owner_stats owners_stats(const struct owners *o)
{
	return o->st;
}

void owners_free(struct owners *o)
{
	if (!o)
		return;
	while (o->head)
		conn_remove(o, conn_slot(o, &o->head->key));
	free(o->conns);
	free(o->procs);
	free(o);
}

void owners_key_from_tuple(const struct wst_tuple *t, enum owner_side side, struct flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->family = t->family;
	if (side == OWNER_SERVER) {
		key->sport = t->lport;
		key->cport = t->rport;
		memcpy(key->saddr, t->laddr, 16);
		memcpy(key->caddr, t->raddr, 16);
	} else {
		key->cport = t->lport;
		key->sport = t->rport;
		memcpy(key->caddr, t->laddr, 16);
		memcpy(key->saddr, t->raddr, 16);
	}
}
