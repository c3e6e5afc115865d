/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * event.h - decoded events, from the TCP tracker and the WebSocket decoder
 * to the outputs (text, JSON lines, metrics).
 *
 * An event points into the packet and flow it came from; both stay valid
 * only for the duration of the sink callback.
 */
#ifndef WST_EVENT_H
#define WST_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

struct wst_flow;

/* Direction within a connection, decided by the watched ports. */
enum wst_flow_dir {
	WST_C2S = 0, /* client to server (towards a watched port) */
	WST_S2C = 1,
};

enum wst_event_type {
	/* One per packet: exactly one of these for each captured packet. */
	WST_EV_TCP_SYN,
	WST_EV_TCP_SYNACK,
	WST_EV_TCP_ACK,          /* no payload, no SYN/FIN/RST */
	WST_EV_TCP_DATA,         /* new payload bytes, in order */
	WST_EV_TCP_RETRANSMIT,   /* payload or SYN/FIN already seen */
	WST_EV_TCP_OUT_OF_ORDER, /* payload beyond the next expected byte */
	WST_EV_TCP_FIN,
	WST_EV_TCP_RST,
	/* Connection facts, derived from the packets. */
	WST_EV_TCP_ESTABLISHED,
	WST_EV_TCP_REFUSED,
	WST_EV_TCP_HANDSHAKE_TIMEOUT,
	WST_EV_TCP_CLOSED,
	WST_EV_MAX,
};

/* How a connection ended, for WST_EV_TCP_CLOSED. */
enum wst_close_reason {
	WST_CLOSE_FIN,     /* both sides sent FIN */
	WST_CLOSE_RST,     /* reset */
	WST_CLOSE_IDLE,    /* idle timeout */
	WST_CLOSE_EVICTED, /* flow table full */
	WST_CLOSE_END,     /* capture ended with the connection open */
};

struct wst_event {
	enum wst_event_type type;
	uint64_t ts_ns;                 /* CLOCK_REALTIME */
	struct wst_flow *flow;          /* upper layers may hang state on flow->app */
	enum wst_flow_dir dir;          /* direction of the packet or initiator */
	const struct wst_packet *pkt;   /* NULL for timeouts and end of capture */
	union {
		struct {
			uint64_t handshake_us;  /* SYN to final ACK */
		} established;
		struct {
			uint64_t duration_us;
			uint64_t bytes[2];      /* payload bytes, by enum wst_flow_dir */
			uint64_t pkts[2];
			enum wst_close_reason reason;
		} closed;
		struct {
			uint64_t waited_us;
		} timeout;
	} u;
};

const char *wst_event_name(enum wst_event_type type); /* "tcp_syn", ... */
const char *wst_close_reason_name(enum wst_close_reason reason);

/* An output: receives every event in order. */
struct wst_sink {
	void (*on_event)(void *ctx, const struct wst_event *ev);
	void *ctx;
};

#endif /* WST_EVENT_H */
