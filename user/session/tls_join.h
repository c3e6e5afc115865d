/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_join.h - TLS plaintext into the connections the TCP tracker follows.
 *
 * A stream is one TLS object of one process ((tgid, ssl) in the records);
 * its socket's 4-tuple names the tracked flow, and its bytes enter the
 * WebSocket layer's byte path (ws_layer_data) in the flow's direction:
 * what the process reads comes from its peer, what it writes goes to it.
 * The flow is then TLS (ws_layer_tls): its packets' payload, ciphertext,
 * is not decoded. One stream feeds a flow: when both ends are traced (a
 * local client with OpenSSL too), the server's does (taking over from the
 * client's, which has data first, where it stopped), the other is
 * counted. Records sent before their socket was known are held, bounded,
 * until it is. The offsets of each record say what is missing: a gap.
 */
#ifndef WST_TLS_JOIN_H
#define WST_TLS_JOIN_H

#include <stdint.h>

#include "core/packet.h"
#include "tracking/tcp_track.h"
#include "ws_session.h"

struct tls_join_stats {
	uint64_t records;       /* data records fed to a flow */
	uint64_t bytes;         /* plaintext bytes fed */
	uint64_t streams;       /* streams seen */
	uint64_t no_flow;       /* records of a socket with no open tracked flow */
	uint64_t other_side;    /* records of a flow another stream feeds */
	uint64_t held;          /* records held until their socket was known */
	uint64_t unjoined;      /* records dropped: socket never known, holding bound,
				 * stream table full */
	uint64_t gaps, gap_bytes; /* plaintext missing (truncated calls, lost records) */
	uint64_t reaped;        /* streams forgotten with the table full: connection gone */
};

/* Bounds: streams at once (when full, those whose connection is gone are
 * forgotten), and bytes held before their socket is known. */
#define TLS_JOIN_MAX_STREAMS 16384
#define TLS_JOIN_MAX_HELD (256u << 10)
#define TLS_JOIN_MAX_HELD_ALL (16u << 20) /* and for all streams together */

struct tls_join;

int tls_join_new(struct tls_join **out, struct tcp_tracker *t, struct ws_layer *l);
/* One checked record (WST_REC_TLS_DATA or WST_REC_TLS_FREE). */
void tls_join_plaintext(struct tls_join *j, const struct wst_plaintext *pt);
const struct tls_join_stats *tls_join_stats(const struct tls_join *j);
void tls_join_free(struct tls_join *j);

#endif /* WST_TLS_JOIN_H */
