/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcp_track.h - TCP connection tracking: handshake timing, retransmissions,
 * out-of-order segments, FIN/RST teardown, connections seen mid-stream.
 *
 * Every packet of a watched port yields exactly one per-packet event
 * (tcp_syn ... tcp_rst), followed by any connection facts it completes.
 * Every flow that is created ends with exactly one tcp_closed event, so
 * upper layers can free what they hang on flow->app there.
 * Time is the packets' time, so a capture file replays the same way.
 */
#ifndef WST_TCP_TRACK_H
#define WST_TCP_TRACK_H

#include <stdint.h>

#include "event.h"
#include "flow.h"
#include "packet.h"
#include "ports.h"

struct tcp_track_opts {
	uint32_t max_flows;            /* 0 = default */
	uint64_t handshake_timeout_ns; /* SYN seen, no completion */
	uint64_t idle_timeout_ns;      /* open connection, no packet */
	uint64_t linger_ns;            /* closed connection kept for late packets */
};

#define TCP_TRACK_DEFAULT_MAX_FLOWS 65536
#define TCP_TRACK_DEFAULT_HANDSHAKE_TIMEOUT_NS (20ULL * 1000000000)
#define TCP_TRACK_DEFAULT_IDLE_TIMEOUT_NS (900ULL * 1000000000)
#define TCP_TRACK_DEFAULT_LINGER_NS (2ULL * 1000000000)

struct tcp_stats {
	uint64_t packets, not_watched;
	uint64_t flows, midstream, established, refused, resets;
	uint64_t handshake_timeouts, closed, evicted, idle_expired;
	uint64_t retransmits, out_of_order;
};

struct tcp_tracker;

int tcp_tracker_new(struct tcp_tracker **out, const struct tcp_track_opts *opts,
		    const struct port_set *ports, struct wst_sink sink);
/* Ports may change at run time; the set must stay valid. */
void tcp_tracker_set_ports(struct tcp_tracker *t, const struct port_set *ports);
void tcp_tracker_packet(struct tcp_tracker *t, const struct wst_packet *pkt);
/* Applies timeouts up to now_ns (CLOCK_REALTIME). */
void tcp_tracker_expire(struct tcp_tracker *t, uint64_t now_ns);
/* End of capture: every open flow gets tcp_closed (reason "end"). */
void tcp_tracker_finish(struct tcp_tracker *t, uint64_t now_ns);
const struct tcp_stats *tcp_tracker_stats(const struct tcp_tracker *t);
uint64_t tcp_tracker_active(const struct tcp_tracker *t);
void tcp_tracker_free(struct tcp_tracker *t);

#endif /* WST_TCP_TRACK_H */
