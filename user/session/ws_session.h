/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ws_session.h - the WebSocket layer: a sink that takes the TCP tracker's
 * events, reassembles each direction, parses the HTTP upgrade, decodes the
 * frames and messages of upgraded connections, and passes TCP and
 * WebSocket events on to the next sink, in order.
 *
 * Per-connection state hangs on flow->app and is freed at tcp_closed,
 * which the tracker sends exactly once per flow.
 *
 * Two ways in: the packet path (ws_layer_event, the tracker's sink, which
 * reassembles each direction), and the byte path (ws_layer_data,
 * ws_layer_gap, ws_layer_end) for a source whose bytes already come in
 * order per direction, such as TLS plaintext read at the library. The
 * packet path's reassembled bytes take the byte path's way, so both decode
 * alike.
 */
#ifndef WST_WS_SESSION_H
#define WST_WS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "protocol/tls_hello.h"
#include "tracking/stream.h"

struct ws_layer_opts {
	size_t max_frame_capture;   /* payload bytes kept per frame; 0 = default */
	size_t max_message_capture; /* message bytes kept; 0 = default */
	size_t max_inflate;         /* inflated bytes per message; 0 = default */
	uint64_t max_message;       /* message_too_big above this; 0 = no limit */
	uint64_t max_held_bytes;    /* out-of-order bytes held in total; 0 = default */
	uint32_t max_held_per_dir;  /* and per direction; 0 = default */
	bool tls_off;               /* no TLS plaintext is read (--no-tls, a capture file) */
};

#define WS_LAYER_DEFAULT_FRAME_CAPTURE 4096
#define WS_LAYER_DEFAULT_MESSAGE_CAPTURE 65536
#define WS_LAYER_DEFAULT_INFLATE (1u << 20)
/* The --max-message default: far above chat traffic, well below what a
 * hostile 64-bit length claims (and the longest frame resync believes). */
#define WS_LAYER_DEFAULT_MAX_MESSAGE (16ull << 20)

struct ws_stats {
	uint64_t sessions;        /* connections with payload seen */
	uint64_t upgrades;        /* upgrade requests */
	uint64_t established, upgrade_failed, http_requests, not_http;
	uint64_t midstream;       /* WebSocket sessions picked up mid-way */
	uint64_t frames[2], messages[2], bytes[2];
	uint64_t violations, gaps, gap_bytes, resyncs, resync_bytes;
	uint64_t decode_losses;   /* compression context lost, messages not inflated */
	uint64_t pings, pongs, closes, rtt_matched;
	uint64_t active;          /* WebSocket sessions open now */
	uint64_t tls_wire;        /* connections seen to carry TLS on the wire */
	uint64_t tls_decrypted;   /* connections whose TLS plaintext came in */
	uint64_t tls_undecrypted; /* ended TLS connections with no plaintext */
	uint64_t tls_not_decrypted[WST_TLS_REASON_MAX]; /* the same, by reason */
	/* hellos given up, by enum tls_hello_error (from 1) */
	uint64_t tls_hello_errors[TLS_HELLO_ERR_MAX - 1];
};

struct ws_layer;

int ws_layer_new(struct ws_layer **out, const struct ws_layer_opts *opts, struct wst_sink next);
/* The sink entry point: ctx is the ws_layer. */
void ws_layer_event(void *ctx, const struct wst_event *ev);
/*
 * Whether ws_frame and ws_message events go to the next sink (the default),
 * or are only counted: two calls down the chain a frame, where nothing
 * reads them (no output, metrics, --top or correlation).
 */
void ws_layer_frame_events(struct ws_layer *l, bool on);
/*
 * The byte path. Bytes of direction dir of connection f, in order, seen at
 * ts_ns; a gap of `missing` bytes of it that will never be seen (0: an
 * unknown amount, the direction is picked up mid-stream); the connection's
 * end, with its tcp_closed event (whose reason and end time end the
 * session; its flow's state is freed). Events of the byte path carry no
 * packet. The WebSocket events go to the next sink; the caller passes the
 * connection's own events (tcp_closed) on itself.
 */
/* f is TLS and its plaintext takes the byte path: its packets' payload is
 * no longer decoded, its WebSocket events are the TLS ones. */
void ws_layer_tls(struct ws_layer *l, struct wst_flow *f, uint64_t ts_ns);
void ws_layer_data(struct ws_layer *l, struct wst_flow *f, enum wst_flow_dir dir, uint64_t ts_ns,
		   const uint8_t *p, size_t len);
void ws_layer_gap(struct ws_layer *l, struct wst_flow *f, enum wst_flow_dir dir, uint64_t ts_ns,
		  uint64_t missing);
void ws_layer_end(struct ws_layer *l, const struct wst_event *closed);
/* One connection's WebSocket accounting so far, as its ws_session_end
 * will report it: frame payload bytes, by enum wst_flow_dir. */
struct ws_session_counts {
	uint64_t frames[2], messages[2], bytes[2];
};

/* The counts of the session on flow f, for a sink during one of its
 * events; false when f carries no upgraded WebSocket session. */
bool ws_layer_session_counts(const struct wst_flow *f, struct ws_session_counts *out);
/* The client behind a proxy (PROXY header, Forwarded...) of the session on
 * f, or NULL; valid during one of its events. */
const char *ws_layer_forwarded_for(const struct wst_flow *f);
const struct ws_stats *ws_layer_stats(const struct ws_layer *l);
const struct stream_budget *ws_layer_budget(const struct ws_layer *l);
void ws_layer_free(struct ws_layer *l);

#endif /* WST_WS_SESSION_H */
