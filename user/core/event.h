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
struct http_request;
struct http_response;
struct ws_frame_header;
struct ws_message_info;
struct ws_control_info;

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
	/* HTTP and WebSocket, from the reassembled streams (ws_session.c). */
	WST_EV_HTTP_REQUEST,         /* a plain HTTP request: reported, then ignored */
	WST_EV_WS_UPGRADE,           /* the upgrade request */
	WST_EV_WS_ESTABLISHED,       /* 101 response */
	WST_EV_WS_UPGRADE_FAILED,    /* any other response */
	WST_EV_WS_FRAME,
	WST_EV_WS_MESSAGE,           /* assembled (and inflated) */
	WST_EV_WS_PING,
	WST_EV_WS_PONG,
	WST_EV_WS_CLOSE,
	WST_EV_WS_SESSION_END,
	WST_EV_WS_VIOLATION,
	WST_EV_WS_GAP,
	WST_EV_WS_RESYNC,
	/* From the output path (event_limit.c): events of one kind on one
	 * connection that were counted but not printed. */
	WST_EV_EVENTS_SUPPRESSED,
	WST_EV_MAX,
};

static inline bool wst_event_is_packet(enum wst_event_type t)
{
	return t <= WST_EV_TCP_RST;
}

static inline bool wst_event_is_ws(enum wst_event_type t)
{
	return t >= WST_EV_HTTP_REQUEST && t <= WST_EV_WS_RESYNC;
}

/* How a connection ended, for WST_EV_TCP_CLOSED. */
enum wst_close_reason {
	WST_CLOSE_FIN,     /* both sides sent FIN */
	WST_CLOSE_RST,     /* reset */
	WST_CLOSE_IDLE,    /* idle timeout */
	WST_CLOSE_EVICTED, /* flow table full */
	WST_CLOSE_END,     /* capture ended with the connection open */
};

/* The process behind one side of a connection (tracking/owners.c). */
struct wst_proc {
	uint32_t pid;
	uint64_t start_ns;       /* ns since boot: pid and start name the process */
	char comm[17];
	const char *cgroup;      /* cgroup v2 path, "" when unknown */
	const char *container;   /* 64 hex digits, or NULL: the cgroup names none */
};

/* Who is behind a connection, as far as known. */
struct wst_attrib {
	const struct wst_proc *server, *client; /* NULL: not known (or not local) */
	const char *forwarded_for;              /* the client behind a proxy, or NULL */
};

struct wst_event {
	enum wst_event_type type;
	uint64_t ts_ns;                 /* CLOCK_REALTIME */
	struct wst_flow *flow;          /* upper layers may hang state on flow->app */
	enum wst_flow_dir dir;          /* direction of the packet or initiator */
	const struct wst_packet *pkt;   /* NULL for timeouts and end of capture */
	/*
	 * Packet events: the packet belongs to the connection's byte streams,
	 * so upper layers decode it and may keep state for it. False for a
	 * RST, for every packet after tcp_closed, and after a reset for the
	 * resetting side's packets and the other side's that do not follow
	 * what it sent: those are reported and counted, never decoded, and
	 * upper layers must not create state for them.
	 */
	bool decode;
	/* Connection events of a live capture: who is behind it, or NULL. */
	const struct wst_attrib *attrib;
	union {
		struct {
			uint64_t handshake_us;  /* SYN to final ACK */
		} established;
		struct {
			/* first packet to end_ns: the close's own time, except
			 * after a reset linger, where it is the connection's
			 * last packet (the RST or a segment decoded after it) */
			uint64_t duration_us;
			uint64_t end_ns;
			uint64_t bytes[2];      /* payload bytes, by enum wst_flow_dir */
			uint64_t pkts[2];
			enum wst_close_reason reason;
		} closed;
		struct {
			uint64_t waited_us;
			bool synack_seen;       /* answered: only the final ACK is missing */
		} timeout;
		struct {
			const struct http_request *req;
			int check;             /* enum http_upgrade_check */
			const char *why;       /* reason the check failed, or NULL */
			/* the client behind a proxy (PROXY header, Forwarded...), or NULL */
			const char *forwarded_for;
		} upgrade;                     /* WS_UPGRADE, HTTP_REQUEST */
		struct {
			const struct http_response *resp;
			bool request_seen;     /* the upgrade request was captured */
			uint64_t latency_us;   /* request to response */
			const char *accept;    /* "ok", "mismatch", "missing", "unchecked" */
			int accept_check;      /* enum ws_accept_check */
			const char *why;
			bool deflate;          /* permessage-deflate in force */
		} response;                    /* WS_ESTABLISHED, WS_UPGRADE_FAILED */
		struct {
			const struct ws_frame_header *h;
			const uint8_t *payload; /* unmasked */
			size_t kept;
			bool truncated;
			/* The connection ended inside the frame: `seen` of
			 * its h->payload_len bytes went by (gaps included). */
			bool incomplete;
			uint64_t seen;
		} frame;
		const struct ws_message_info *message;
		struct {
			const struct ws_control_info *c;
			int64_t rtt_us;        /* pong: ping round trip, -1 if unmatched */
			const char *initiator; /* close: "client" or "server" closed first */
		} control;                     /* PING, PONG, CLOSE */
		struct {
			uint64_t duration_us;
			uint64_t frames[2], messages[2], bytes[2]; /* payload bytes */
			const char *how;       /* "close", "abnormal", "reset", "end" */
			uint16_t code;         /* close code, 1006 when abnormal, 0 none */
			const char *initiator; /* who sent the first close, or NULL */
		} session;
		struct {
			const char *kind;
			uint64_t detail;
		} violation;
		struct {
			const char *kind;      /* "stream", "in_frame", "deflate_context", ... */
			uint64_t bytes;        /* missing (0 = unknown) or skipped */
			bool boundary_lost;    /* frame boundaries no longer known */
		} loss;                        /* WS_GAP, WS_RESYNC */
		struct {
			enum wst_event_type kind; /* of the events not printed */
			uint64_t count;
		} suppressed;                  /* EVENTS_SUPPRESSED */
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
