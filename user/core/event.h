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

#include "kinds.h"
#include "packet.h"

struct wst_flow;
struct http_request;
struct http_response;
struct ws_frame_header;
struct ws_message_info;
struct ws_control_info;
struct tls_client_hello;
struct tls_server_hello;
struct wst_fanout;
struct wst_reply;

/* Direction within a connection, decided by the watched ports: `dir`. */
#define WST_FLOW_DIRS(X) \
	X(WST_C2S, "c2s", "client to server (towards a watched port)") \
	X(WST_S2C, "s2c", "server to client")

enum wst_flow_dir {
	WST_FLOW_DIRS(WST_KIND_ENUM)
};

/*
 * Event types, in the order the helpers below rely on: rows
 * X(ENUM_CONSTANT, "label", "documentation") as in kinds.h; the label is the
 * JSON `event` and the `event` label of wstrace_events_suppressed_total.
 */
#define WST_EVENT_TYPES(X) \
	/* One per packet: exactly one of these for each captured packet. */ \
	X(WST_EV_TCP_SYN, "tcp_syn", "a SYN") \
	X(WST_EV_TCP_SYNACK, "tcp_synack", "a SYN-ACK") \
	X(WST_EV_TCP_ACK, "tcp_ack", "no payload, no SYN/FIN/RST") \
	X(WST_EV_TCP_DATA, "tcp_data", "new payload bytes, in order") \
	X(WST_EV_TCP_RETRANSMIT, "tcp_retransmit", "payload or SYN/FIN already seen") \
	X(WST_EV_TCP_OUT_OF_ORDER, "tcp_out_of_order", "payload beyond the next expected byte") \
	X(WST_EV_TCP_FIN, "tcp_fin", "a FIN") \
	X(WST_EV_TCP_RST, "tcp_rst", "a reset") \
	/* Connection facts, derived from the packets. */ \
	X(WST_EV_TCP_ESTABLISHED, "tcp_established", "the handshake completed") \
	X(WST_EV_TCP_REFUSED, "tcp_refused", "the SYN was answered by a reset") \
	X(WST_EV_TCP_HANDSHAKE_TIMEOUT, "tcp_handshake_timeout", "the handshake never completed") \
	X(WST_EV_TCP_CLOSED, "tcp_closed", "the connection ended") \
	/* HTTP and WebSocket, from the reassembled streams (session/). */ \
	X(WST_EV_HTTP_REQUEST, "http_request", "a plain HTTP request: reported, then ignored") \
	X(WST_EV_WS_UPGRADE, "ws_upgrade", "the upgrade request") \
	X(WST_EV_WS_ESTABLISHED, "ws_established", "the 101 response") \
	X(WST_EV_WS_UPGRADE_FAILED, "ws_upgrade_failed", "any other response") \
	X(WST_EV_WS_FRAME, "ws_frame", "a frame") \
	X(WST_EV_WS_MESSAGE, "ws_message", "a message, assembled (and inflated)") \
	X(WST_EV_WS_PING, "ws_ping", "a ping") \
	X(WST_EV_WS_PONG, "ws_pong", "a pong") \
	X(WST_EV_WS_CLOSE, "ws_close", "a close frame") \
	X(WST_EV_WS_SESSION_END, "ws_session_end", "the session ended") \
	X(WST_EV_TLS_NOT_DECRYPTED, "tls_not_decrypted", "a TLS connection ended without its plaintext") \
	X(WST_EV_WS_VIOLATION, "ws_violation", "a protocol violation") \
	X(WST_EV_WS_GAP, "ws_gap", "bytes that could not be decoded") \
	X(WST_EV_WS_RESYNC, "ws_resync", "frame boundaries found again") \
	/* Across connections, with --correlate and --correlate-reply \
	 * (session/correlate.c). */ \
	X(WST_EV_WS_FANOUT, "ws_fanout", "a message's deliveries, when its window ends") \
	X(WST_EV_WS_REPLY, "ws_reply", "a request answered on its connection") \
	X(WST_EV_WS_REPLY_TIMEOUT, "ws_reply_timeout", "a request not answered within the window") \
	/* From the output path (event_limit.c): events of one kind on one \
	 * connection that were counted but not printed. */ \
	X(WST_EV_EVENTS_SUPPRESSED, "events_suppressed", "events counted but not printed")

enum wst_event_type {
	WST_EVENT_TYPES(WST_KIND_ENUM)
	WST_EV_MAX,
};

static inline bool wst_event_is_packet(enum wst_event_type t)
{
	return t <= WST_EV_TCP_RST;
}

static inline bool wst_event_is_ws(enum wst_event_type t)
{
	return t >= WST_EV_HTTP_REQUEST && t <= WST_EV_WS_REPLY_TIMEOUT;
}

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

/*
 * Events made once a packet, frame or message set their fields one by one:
 * the common ones and the member of u their type uses, nothing else.
 * Zeroing the whole event (128 bytes, a `rep stos`) twice a frame took a
 * third of the decoding time of small frames. Readers use only the member
 * of u that the type names.
 */
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
			enum wst_accept_result accept;
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
			enum wst_initiator initiator; /* close: who closed first */
		} control;                     /* PING, PONG, CLOSE */
		struct {
			uint64_t duration_us;
			uint64_t frames[2], messages[2], bytes[2]; /* payload bytes */
			enum wst_session_end how;
			uint16_t code;         /* close code, 1006 when abnormal, 0 none */
			enum wst_initiator initiator; /* who sent the first close, or NONE */
		} session;
		struct {
			enum wst_tls_reason reason;
			/* what the wire showed of the handshake, or NULL */
			const struct tls_client_hello *client;
			const struct tls_server_hello *server;
			/* the first fatal alert in the clear: its description
			 * (RFC 8446 6) and sender; -1 and NONE when none */
			int alert;
			enum wst_initiator alert_from;
		} tls;                         /* TLS_NOT_DECRYPTED */
		struct {
			enum ws_violation kind;
			uint64_t detail;
		} violation;
		struct {
			enum wst_gap_kind kind; /* WS_GAP only */
			uint64_t bytes;        /* missing (0 = unknown) or skipped */
			bool boundary_lost;    /* frame boundaries no longer known */
		} loss;                        /* WS_GAP, WS_RESYNC */
		const struct wst_fanout *fanout; /* WS_FANOUT */
		const struct wst_reply *reply;   /* WS_REPLY, WS_REPLY_TIMEOUT */
		struct {
			enum wst_event_type kind; /* of the events not printed */
			uint64_t count;
		} suppressed;                  /* EVENTS_SUPPRESSED */
	} u;
};

/* "tcp_syn", ...; "unknown" out of range. */
const char *wst_event_name(enum wst_event_type type);
/* "c2s", "s2c". */
const char *wst_flow_dir_name(enum wst_flow_dir dir);

/* Who closed first, from the direction of the first close frame. */
static inline enum wst_initiator wst_initiator_of(enum wst_flow_dir dir)
{
	return dir == WST_C2S ? WST_INITIATOR_CLIENT : WST_INITIATOR_SERVER;
}

/* An output: receives every event in order. */
struct wst_sink {
	void (*on_event)(void *ctx, const struct wst_event *ev);
	void *ctx;
};

#endif /* WST_EVENT_H */
