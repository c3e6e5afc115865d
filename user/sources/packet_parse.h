/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * packet_parse.h - one link-layer frame from a capture file to the
 * struct wst_record the kernel program produces.
 *
 * Pure: no I/O, no globals. Every read is bounded by caplen.
 */
#ifndef WST_PACKET_PARSE_H
#define WST_PACKET_PARSE_H

#include <stdint.h>

#include "core/packet.h"

/* libpcap LINKTYPE_ / DLT_ values understood by pkt_parse_frame(). */
enum pkt_linktype {
	PKT_LINKTYPE_NULL = 0,        /* BSD loopback, AF in host order */
	PKT_LINKTYPE_ETHERNET = 1,
	PKT_LINKTYPE_DLT_RAW1 = 12,   /* DLT_RAW on most BSDs */
	PKT_LINKTYPE_DLT_RAW2 = 14,   /* DLT_RAW on OpenBSD */
	PKT_LINKTYPE_RAW = 101,
	PKT_LINKTYPE_LOOP = 108,      /* OpenBSD loopback, AF in network order */
	PKT_LINKTYPE_LINUX_SLL = 113,
	PKT_LINKTYPE_IPV4 = 228,
	PKT_LINKTYPE_IPV6 = 229,
	PKT_LINKTYPE_LINUX_SLL2 = 276,
};

enum pkt_parse_err {
	PKT_ERR_NOT_TCP = -1,   /* not IP, or IP but not TCP (ARP, UDP, ICMP...) */
	PKT_ERR_TRUNCATED = -2, /* a header is cut by the snapshot length */
	PKT_ERR_MALFORMED = -3, /* bogus version, IHL, doff or lengths */
	PKT_ERR_FRAGMENT = -4,  /* an IP fragment other than a whole packet */
	PKT_ERR_LINKTYPE = -5,  /* link type not supported */
};

/* True if pkt_parse_frame() knows the link type. */
int pkt_parse_linktype_supported(int linktype);

/*
 * Parses one frame of the given link type. caplen bytes are present at
 * data; wirelen is the frame's length on the wire. On success (0) fills
 * every field of *rec except ts_ns (left 0, set by the caller) and points
 * *payload at the rec->cap_len captured payload bytes inside data.
 * Otherwise returns a negative enum pkt_parse_err and *rec is undefined,
 * except for PKT_ERR_FRAGMENT: rec->family is then 4 or 6, with the
 * addresses and ports, if the fragment is the first of a TCP segment and
 * holds its ports (the kernel program counts such fragments on watched
 * ports), and 0 otherwise.
 * What is accepted follows the rules in bpf/wstrace.h: WST_MAX_VLAN_TAGS,
 * WST_MAX_IPV6_EXT, fragments.
 */
int pkt_parse_frame(int linktype, const uint8_t *data, uint32_t caplen,
		    uint32_t wirelen, struct wst_record *rec,
		    const uint8_t **payload);

/* "not TCP", "truncated header", ... for a pkt_parse_frame() error. */
const char *pkt_parse_strerror(int err);

#endif /* WST_PACKET_PARSE_H */
