/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * owners.h - who is behind each connection: the process that accepted it
 * (server side) and, for a local client, the one that connected it, joined
 * to the flows by 4-tuple; and the client behind a proxy.
 *
 * Bounded: at most max_conns connections are remembered, the least recently
 * used dropped first (counted); an entry goes when its connection closes.
 * A process is known by pid and start time, so a reused pid is another
 * process; it stays while a connection names it.
 */
#ifndef WST_OWNERS_H
#define WST_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wstrace.h"
#include "core/event.h"
#include "tracking/flow.h"

enum owner_side {
	OWNER_SERVER,
	OWNER_CLIENT,
};

/* Writes the cgroup v2 path of id into buf ("" when unknown). */
typedef void (*owners_cgroup_fn)(void *ctx, uint64_t cgroup_id, char *buf, size_t len);

struct owner_stats {
	uint64_t added;     /* owner records taken */
	uint64_t evicted;   /* connections forgotten to make room */
	uint64_t conns;     /* remembered now */
	uint64_t procs;     /* processes remembered now */
};

struct owners;

/* NULL when out of memory. fn may be NULL (no cgroup paths). */
struct owners *owners_new(uint32_t max_conns, owners_cgroup_fn fn, void *ctx);
void owners_free(struct owners *o);

/* The owner of one side of the connection key. 0 or -ENOMEM. */
int owners_add(struct owners *o, const struct flow_key *key, enum owner_side side,
	       const struct wst_task *task);
/* The client behind a proxy, as the connection's first bytes said. 0 or -ENOMEM. */
int owners_set_forwarded(struct owners *o, const struct flow_key *key, const char *addr);
/* Fills out; false when nothing is known of key. out's pointers live
 * until the next call that changes o. */
bool owners_lookup(struct owners *o, const struct flow_key *key, struct wst_attrib *out);
/* The connection is left out by the filters (its packets are dropped
 * until it is forgotten). 0 or -ENOMEM. */
int owners_set_filtered(struct owners *o, const struct flow_key *key);
bool owners_filtered(struct owners *o, const struct flow_key *key);
/* Whether the server side of key is known. */
bool owners_has_server(struct owners *o, const struct flow_key *key);
/* The connection is gone. */
void owners_forget(struct owners *o, const struct flow_key *key);
struct owner_stats owners_stats(const struct owners *o);

/* The flow key of a socket record's tuple: its local side is the server's
 * or the client's. */
void owners_key_from_tuple(const struct wst_tuple *t, enum owner_side side, struct flow_key *key);

#endif /* WST_OWNERS_H */
