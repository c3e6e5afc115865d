/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ws_session_internal.h - the per-connection state of the WebSocket layer
 * and the calls between its three files: ws_session.c (the layer, the
 * session's life and accounting, the packet and byte entry points),
 * ws_handshake.c (the HTTP upgrade) and ws_frames.c (the frame and
 * message decoders' callbacks turned into events). Only they include it.
 */
#ifndef WST_WS_SESSION_INTERNAL_H
#define WST_WS_SESSION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "tracking/stream.h"
#include "protocol/tls_hello.h"
#include "protocol/ws_extensions.h"
#include "protocol/ws_message.h"
#include "ws_session.h"

enum ws_phase {
	WS_PHASE_HTTP,      /* waiting for the upgrade request and response */
	WS_PHASE_WS,        /* upgraded: frames */
	WS_PHASE_IGNORE,    /* not WebSocket (plain HTTP, garbage, failed upgrade) */
};

#define PING_SLOTS 4

struct ping_slot {
	uint64_t hash;     /* of the payload; 0 = free */
	uint64_t ts_ns;
};

struct ws_session;

/*
 * Memory: an idle connection should cost little. What only the handshake
 * needs lives behind a pointer freed once it is decided; a direction's
 * decoder exists only while it holds state (mid-frame, lost with bytes
 * to judge, or a compression context): between frames it is parked as a
 * few flags (ws_message_decoder_carry) and made again when bytes come.
 */

/* Callback context of one direction. */
struct ws_dir {
	struct ws_session *s;
	struct ws_message_decoder *dec; /* NULL while parked */
	struct ping_slot *pings;  /* PING_SLOTS pings this direction sent,
				   * from its first ping on */
	char *head;               /* HTTP head being accumulated */
	uint32_t head_len, head_alloc;
	uint8_t dir;              /* enum wst_flow_dir */
	uint8_t carry;            /* the parked decoder's flags */
	uint8_t kept;             /* 1 + its slot in layer->kept while its
				   * parkable decoder is kept made, else 0 */
	bool lost_pending;        /* the next decoder starts lost */
	bool wire_seen;           /* the packet path gave this direction bytes */
	/* permessage-deflate as negotiated for this direction's sender */
	bool deflate, no_context_takeover;
	uint8_t window_bits;
	struct stream_dir stream;
};

/* Until the upgrade is decided. */
struct ws_handshake {
	uint64_t request_ns;
	size_t key_len;
	char key[64];             /* Sec-WebSocket-Key, for the accept check */
};

/* TLS on the wire: what the handshake shows, by enum wst_flow_dir (the
 * s2c reader expects the ServerHello). */
struct ws_tls {
	struct tls_wire w[2];
};

struct ws_session {
	struct ws_layer *layer;
	struct wst_flow *flow;
	const struct wst_packet *pkt; /* the packet being decoded, or NULL */
	struct ws_handshake *hs;
	uint64_t ts_ns;
	uint64_t established_ns;
	uint8_t phase;            /* enum ws_phase */
	bool decoders_ready;      /* upgraded: directions configured */
	bool midstream;
	bool decrypted;           /* TLS plaintext came by the byte path */
	struct ws_tls *tls;       /* TLS on the wire from its first byte, or NULL */
	bool upgrade_seen;
	bool proxy_checked;       /* the stream's start was looked at for a PROXY header */
	char *forwarded_for;      /* the client behind a proxy (PROXY header), or NULL */
	bool close_seen[2];
	uint8_t close_first;      /* enum wst_flow_dir */
	uint16_t close_code;
	uint64_t frames[2], messages[2], bytes[2];
	struct ws_dir d[2];
};

/*
 * Parkable decoders kept made, at most this many: parking after every
 * packet (malloc, init, free) was a third of user space at one frame per
 * packet. Past this many the oldest kept one is parked, so idle
 * connections still cost only their flags.
 */
#define WS_KEPT_DECODERS 64

struct ws_layer {
	struct ws_layer_opts opts;
	struct wst_sink next;
	struct stream_budget budget;
	struct ws_stats stats;
	bool no_frame_events; /* ws_layer_frame_events(l, false) */
	uint32_t kept_hand;   /* the slot the next kept decoder takes */
	struct ws_dir *kept[WS_KEPT_DECODERS];
};

/* ws_session.c: an event of the session to the next sink, and the
 * kinds the layer counts on the way. */
void ws_session_emit(struct ws_session *s, struct wst_event *ev, enum wst_event_type type,
		     enum wst_flow_dir dir);
void ws_session_violation(struct ws_session *s, enum wst_flow_dir dir, enum ws_violation kind, uint64_t detail);
void ws_session_gap(struct ws_session *s, enum wst_flow_dir dir, enum wst_gap_kind kind, uint64_t bytes,
		    bool lost);
void ws_session_resync(struct ws_session *s, enum wst_flow_dir dir, uint64_t skipped);

/* ws_handshake.c: bytes of a direction before the upgrade is decided. */
void ws_handshake_data(struct ws_session *s, struct ws_dir *d, const uint8_t *p, size_t len);
/* A connection that started mid-stream: picks it up as WebSocket if these
 * first bytes of a direction do not look like HTTP. True if it did. */
bool ws_handshake_midstream(struct ws_session *s, struct ws_dir *d, const uint8_t *p, size_t len);
/* Not WebSocket: the heads are dropped, the connection is ignored. */
void ws_handshake_ignore(struct ws_session *s);
/* The connection ends: bytes that never made a whole head are said. */
void ws_handshake_end(struct ws_session *s);
/* Frees what the handshake holds. */
void ws_handshake_free(struct ws_session *s);

/* ws_frames.c: configures both directions' decoders (dp NULL: no deflate). */
void ws_frames_init(struct ws_session *s, const struct ws_deflate_params *dp);
/* Bytes of an upgraded direction. */
void ws_frames_feed(struct ws_session *s, enum wst_flow_dir dir, const uint8_t *p, size_t len);
/* A gap in an upgraded direction: whether frame boundaries are lost. */
bool ws_frames_gap(struct ws_session *s, struct ws_dir *d, uint64_t missing);
/* The direction ends: a frame or message still open is said and counted. */
void ws_frames_end(struct ws_session *s, struct ws_dir *d);
/* Frees the direction's decoder and ping slots. */
void ws_frames_free(struct ws_dir *d);

#endif /* WST_WS_SESSION_INTERNAL_H */
