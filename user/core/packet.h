/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * packet.h - the user-space view of one captured TCP packet.
 *
 * Both sources (the ring buffer consumer and the pcap reader) produce a
 * struct wst_packet; everything after the source consumes only this.
 */
#ifndef WST_PACKET_H
#define WST_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "wstrace.h"

struct wst_packet {
	struct wst_record r;    /* ts_ns is CLOCK_REALTIME here */
	const uint8_t *payload; /* r.cap_len bytes, owned by the source */
};

/*
 * A record of TLS plaintext read or written by a process (WST_REC_TLS_DATA,
 * WST_REC_TLS_FREE), checked by its source: the bytes of one stream, in
 * order per direction.
 */
struct wst_plaintext {
	struct wst_tls_rec r;   /* ts_ns is CLOCK_REALTIME here */
	const uint8_t *data;    /* r.cap_len bytes, owned by the source */
};

/* Longest "[addr]:port" text, IPv6 with brackets, plus NUL. */
#define WST_ENDPOINT_STRLEN 56

/* Formats "a.b.c.d:port" or "[v6]:port" into buf (WST_ENDPOINT_STRLEN). */
void pkt_format_endpoint(char *buf, size_t len, int family,
			 const uint8_t addr[16], uint16_t port);

/* Formats the flags as tcpdump does: "S", "S.", ".", "P.", "F.", "R", "R."... */
void pkt_format_flags(char *buf, size_t len, uint8_t flags);

#endif /* WST_PACKET_H */
