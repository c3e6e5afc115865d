/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * flow.h - the table of TCP connections, keyed by the 5-tuple.
 *
 * Client and server roles come from the watched ports. The table is
 * bounded: when full, the least recently active flow is evicted (and
 * counted). Each flow sits on one timeout list, ordered by last activity,
 * so expiry looks only at list heads.
 */
#ifndef WST_FLOW_H
#define WST_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "packet.h"
#include "ports.h"

struct flow_list {
	struct wst_flow *head, *tail;
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
	struct wst_flow *lprev, *lnext;      /* timeout list */
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
};

struct flow_table {
	struct wst_flow **buckets;
	uint32_t mask;
	uint32_t max_flows;
	uint64_t n;
	uint64_t next_id;
	uint32_t hash_seed;
	struct flow_list lists[FLOW_TIMER_MAX];
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
	return t->lists[timer].head;
}
/* The least recently active flow of all, for eviction. */
struct wst_flow *flow_lru(const struct flow_table *t);

#endif /* WST_FLOW_H */
