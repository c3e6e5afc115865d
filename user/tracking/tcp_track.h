/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcp_track.h - TCP connection tracking: handshake timing, retransmissions,
 * out-of-order segments, FIN/RST teardown, connections seen mid-stream.
 *
 * Every packet of a watched port yields exactly one per-packet event
 * (tcp_syn ... tcp_rst), followed by any connection facts it completes;
 * only the later packets of a connection evicted from the full table are
 * counted (evicted_packets) instead, as they have no flow to report on.
 * Every flow that is created ends with exactly one tcp_closed event, so
 * upper layers can free what they hang on flow->app there; packets after
 * it are still reported, with ev->decode false, and must create no state
 * (a flow freed with flow->app set is counted in app_leaks).
 *
 * A RST of an established connection does not end it at once: the other
 * side may have had data on the wire, which is still decoded for the reset
 * linger if it follows what that side sent (see tcp_track.c).
 * Time is the packets' time, so a capture file replays the same way.
 */
#ifndef WST_TCP_TRACK_H
#define WST_TCP_TRACK_H

#include <stdint.h>

#include "core/event.h"
#include "core/packet.h"
#include "core/ports.h"
#include "flow.h"

struct tcp_track_opts {
	uint32_t max_flows;            /* 0 = default */
	uint64_t handshake_timeout_ns; /* SYN seen, no completion */
	uint64_t idle_timeout_ns;      /* open connection, no packet */
	uint64_t linger_ns;            /* closed connection kept for late packets */
	uint64_t reset_linger_ns;      /* after a RST, the other side's data in flight */
};

#define TCP_TRACK_DEFAULT_MAX_FLOWS 65536
#define TCP_TRACK_DEFAULT_HANDSHAKE_TIMEOUT_NS (20ULL * 1000000000)
#define TCP_TRACK_DEFAULT_IDLE_TIMEOUT_NS (900ULL * 1000000000)
#define TCP_TRACK_DEFAULT_LINGER_NS (2ULL * 1000000000)
/*
 * What the other side sent before the RST reached it arrives within about
 * a round trip of the RST at a capture point near its receiver: 500 ms
 * covers most paths (intercontinental and mobile RTTs of 150-400 ms) and
 * the 50 ms a batched ring buffer read may wait, while a reset connection
 * is reported at most half a second late.
 */
#define TCP_TRACK_DEFAULT_RESET_LINGER_NS (500ULL * 1000000)

struct tcp_stats {
	uint64_t packets, not_watched;
	uint64_t flows, midstream, established, refused, resets;
	uint64_t handshake_timeouts;   /* SYN never answered */
	uint64_t handshake_incomplete; /* SYN-ACK seen, final ACK never */
	uint64_t closed, evicted, idle_expired;
	uint64_t retransmits, out_of_order;
	uint64_t late_packets;    /* reported but not decoded: after the close, or
				   * after a reset not from the other side's stream */
	uint64_t evicted_packets; /* of evicted connections: counted, not tracked */
	uint64_t evicted_forgotten; /* tombstones dropped to make room */
	uint64_t app_leaks;       /* flows freed with upper-layer state: a bug */
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
/*
 * The tracked flow a packet from (saddr, sport) to (daddr, dport) would
 * belong to, and that packet's direction in it; NULL if none (not a
 * watched port, or not tracked). For sources that know a connection by its
 * addresses, not by a packet (TLS plaintext).
 */
struct wst_flow *tcp_tracker_find(struct tcp_tracker *t, int family, const uint8_t saddr[16],
				  uint16_t sport, const uint8_t daddr[16], uint16_t dport,
				  enum wst_flow_dir *dir);
const struct tcp_stats *tcp_tracker_stats(const struct tcp_tracker *t);
uint64_t tcp_tracker_active(const struct tcp_tracker *t);
void tcp_tracker_free(struct tcp_tracker *t);

#endif /* WST_TCP_TRACK_H */
