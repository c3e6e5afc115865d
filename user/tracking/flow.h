/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * flow.h - the table of TCP connections, keyed by the 5-tuple.
 *
 * Client and server roles come from the watched ports. The table is
 * bounded: when full, the least recently active flow is evicted (and
 * counted). Each flow sits on one timeout list, ordered by last activity,
 * so expiry looks only at list heads.
 *
 * An evicted flow leaves a tombstone: its key, so that the rest of its
 * packets are known as an evicted connection's, not taken for a new one
 * (which would be evicted in turn and counted again). Tombstones are
 * bounded too (FLOW_TOMBS_PER_FLOW per flow slot, 72 bytes each, and a
 * bucket array allocated at the first eviction) and the least recently seen
 * is forgotten first.
 */
#ifndef WST_FLOW_H
#define WST_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/packet.h"
#include "core/ports.h"

/* Links of an intrusive list (flows on their timeout list, tombstones). */
struct flow_link {
	struct flow_link *prev, *next;
};

struct flow_list {
	struct flow_link *head, *tail;
	uint64_t n;
};

/* Which timeout a flow waits for. */
enum flow_timer {
	FLOW_TIMER_HANDSHAKE, /* SYN seen, handshake not complete */
	FLOW_TIMER_IDLE,      /* open connection */
	FLOW_TIMER_RESET,     /* reset, waiting for the other side's data in flight;
			       * ordered by the time of the RST */
	FLOW_TIMER_LINGER,    /* closed, kept briefly to absorb late packets */
	FLOW_TIMER_MAX,
};

struct flow_key {
	uint8_t family;
	uint8_t _pad[3];
	uint16_t cport, sport;  /* client and server ports, host order */
	uint8_t caddr[16], saddr[16];
};

enum tcp_state {
	TCP_ST_SYN_SENT,    /* client SYN seen */
	TCP_ST_SYN_RCVD,    /* server SYN(-ACK) seen */
	TCP_ST_ESTABLISHED,
	TCP_ST_CLOSING,     /* a FIN seen */
	TCP_ST_RESET,       /* reset by one side, not yet reported closed: the
			     * other side's data in flight is still decoded */
	TCP_ST_CLOSED,      /* tcp_closed sent: both FINs acknowledged, or reset */
};

/* What the TCP tracker knows of one direction. */
struct tcp_half {
	uint32_t isn;
	uint32_t high_seq;   /* one past the highest sequence number seen */
	uint32_t fin_seq;
	bool seq_known;
	bool syn_seen, syn_acked, fin_seen, fin_acked;
	uint64_t bytes;      /* new payload bytes (retransmissions excluded) */
	uint64_t pkts;
};

struct wst_flow {
	struct flow_key key;
	uint64_t id;          /* stable for the connection, never reused in a run */
	struct wst_flow *hnext;              /* hash chain */
	struct flow_link link;               /* timeout list */
	enum flow_timer timer;
	enum tcp_state state;
	bool midstream;       /* first seen without its handshake */
	bool established_seen;
	uint8_t rst_dir;      /* TCP_ST_RESET: who sent the RST */
	/* last_ns: the last packet that belonged to the connection (after a
	 * RST only those still decoded) */
	uint64_t first_ns, syn_ns, est_ns, last_ns;
	uint64_t rst_ns;      /* TCP_ST_RESET: when the RST was seen */
	struct tcp_half half[2]; /* by enum wst_flow_dir */
	void *app;            /* state of the protocol above TCP (WebSocket) */
	/* TLS: the payload on the wire is TLS (ciphertext); the plaintext, when
	 * it can be had, comes from tls_stream, a stream of one process's TLS
	 * library (0: none yet) */
	bool tls;
	uint64_t tls_stream;
};

/* Tombstones per flow slot: an evicted connection needs remembering while
 * it lives, and 4 of them cost about what one tracked flow does without its
 * session; so the table may be overcommitted 5 times before counts degrade. */
#define FLOW_TOMBS_PER_FLOW 4

/* The key of a flow dropped from the full table. */
struct flow_tomb {
	struct flow_key key;
	struct flow_tomb *hnext;
	struct flow_link link;  /* least recently seen first */
	uint64_t last_ns;
};

struct flow_tombs {
	struct flow_tomb **buckets; /* allocated at the first eviction */
	uint32_t mask;
	uint32_t max;
	struct flow_list lru;
	uint64_t forgotten;         /* dropped to make room */
};

struct flow_table {
	struct wst_flow **buckets;
	uint32_t mask;
	uint32_t max_flows;
	uint64_t n;
	uint64_t next_id;
	uint32_t hash_seed;
	struct flow_list lists[FLOW_TIMER_MAX];
	struct flow_tombs tombs;
};

int flow_table_init(struct flow_table *t, uint32_t max_flows);
void flow_table_destroy(struct flow_table *t); /* frees flows; app must be freed first */

/*
 * Builds the key of pkt and its direction. Returns false if neither port
 * is watched (the packet is not ours).
 */
bool flow_key_from_packet(const struct wst_packet *pkt, const struct port_set *ports,
			  struct flow_key *key, enum wst_flow_dir *dir);

/* The key with client and server swapped. */
void flow_key_reverse(const struct flow_key *key, struct flow_key *rev);
struct wst_flow *flow_lookup(struct flow_table *t, const struct flow_key *key);
/* Adds a new flow; the caller must make room first (flow_table_full). */
struct wst_flow *flow_insert(struct flow_table *t, const struct flow_key *key, uint64_t now_ns);
void flow_remove(struct flow_table *t, struct wst_flow *f); /* unlinks and frees */
static inline bool flow_table_full(const struct flow_table *t) { return t->n >= t->max_flows; }

/* Marks activity: moves f to the tail of the list for timer. */
void flow_touch(struct flow_table *t, struct wst_flow *f, enum flow_timer timer, uint64_t now_ns);
/* The least recently active flow on a list, or NULL. */
static inline struct wst_flow *flow_oldest(const struct flow_table *t, enum flow_timer timer)
{
	struct flow_link *l = t->lists[timer].head;

	return l ? (struct wst_flow *)((char *)l - offsetof(struct wst_flow, link)) : NULL;
}
/* The least recently active flow of all, for eviction. */
struct wst_flow *flow_lru(const struct flow_table *t);

/* Remembers the key of a flow evicted now; when full, forgets the least
 * recently seen tombstone. Out of memory, remembers nothing. */
void flow_tomb_add(struct flow_table *t, const struct flow_key *key, uint64_t now_ns);
/* Whether key belongs to an evicted flow; a hit counts as activity. */
bool flow_tomb_hit(struct flow_table *t, const struct flow_key *key, uint64_t now_ns);
/* The tuple is used by a new connection. */
void flow_tomb_forget(struct flow_table *t, const struct flow_key *key);
/* Forgets tombstones not seen since before_ns. */
void flow_tomb_expire(struct flow_table *t, uint64_t before_ns);

#endif /* WST_FLOW_H */
