/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pktgen.h - builds test frames layer by layer, as Cilium's pktgen.h does
 * for its BPF tests: push the link layer, IP, extension headers, TCP and
 * payload in order, then pktgen_finish() fills what depends on what
 * follows (ethertypes, next-header and protocol fields, IP lengths).
 * Used by the BPF program tests, the packet parser unit tests and the
 * differential test of the two parsers (tests/fuzz/make_seeds.py builds
 * its seed packets the same way).
 *
 *	struct pktgen g;
 *	uint8_t buf[PKTGEN_MAX];
 *
 *	pktgen_init(&g, buf, sizeof(buf));
 *	pktgen_eth(&g);
 *	pktgen_ipv4(&g, &pktgen_v4_default);
 *	pktgen_tcp(&g, &pktgen_tcp_default);
 *	pktgen_data(&g, "hello", 5);
 *	len = pktgen_finish(&g);
 *
 * Fields are written in network order. Nothing is checked for sense: a
 * test may push any chain and then break any field by offset. Overflowing
 * the buffer aborts (a test bug, not a test result).
 */
#ifndef WST_TEST_PKTGEN_H
#define WST_TEST_PKTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKTGEN_MAX 4096
#define PKTGEN_NONE ((size_t)-1)

#define PKTGEN_ETH_P_IP 0x0800
#define PKTGEN_ETH_P_IPV6 0x86dd
#define PKTGEN_ETH_P_8021Q 0x8100
#define PKTGEN_ETH_P_8021AD 0x88a8
#define PKTGEN_ETH_P_ARP 0x0806

#define PKTGEN_IPPROTO_HOPOPTS 0
#define PKTGEN_IPPROTO_TCP 6
#define PKTGEN_IPPROTO_UDP 17
#define PKTGEN_IPPROTO_ROUTING 43
#define PKTGEN_IPPROTO_FRAGMENT 44
#define PKTGEN_IPPROTO_ESP 50
#define PKTGEN_IPPROTO_AH 51
#define PKTGEN_IPPROTO_ICMPV6 58
#define PKTGEN_IPPROTO_NONE 59
#define PKTGEN_IPPROTO_DSTOPTS 60

/* IPv4 flags and fragment offset field. */
#define PKTGEN_IP_DF 0x4000
#define PKTGEN_IP_MF 0x2000

struct pktgen {
	uint8_t *buf;
	size_t cap, len;
	/* Offsets of the layers pushed, PKTGEN_NONE until pushed. */
	size_t l3, l4, payload;
	int family;          /* of the last IP header pushed: 4 or 6 */
	size_t type_off;     /* 2-byte ethertype the next layer fills */
	size_t proto_off;    /* 1-byte protocol / next header the next layer fills */
	bool finished;
};

struct pktgen_ip {
	uint8_t saddr[16], daddr[16]; /* IPv4 in the first 4 bytes */
	uint16_t frag;   /* IPv4: flags + offset field (PKTGEN_IP_DF...) */
	size_t optlen;   /* IPv4 options (NOPs), a multiple of 4, at most 40 */
	uint8_t ttl;
};

struct pktgen_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;   /* WST_TCP_* bits */
	uint16_t win;
	size_t optlen;   /* options (NOPs), a multiple of 4, at most 40 */
};

/* Documentation addresses (RFC 5737, RFC 3849) and a WebSocket segment. */
extern const struct pktgen_ip pktgen_v4_default;
extern const struct pktgen_ip pktgen_v6_default;
extern const struct pktgen_tcp pktgen_tcp_default; /* 60653 > 7272, PSH|ACK */

void pktgen_init(struct pktgen *g, uint8_t *buf, size_t cap);

/* Link layers. The type field is filled by the next layer pushed. */
void pktgen_eth(struct pktgen *g);
void pktgen_vlan(struct pktgen *g, uint16_t tpid, uint16_t tci);
/* Linux cooked v1 (pkttype 0 host, 4 outgoing) and v2. */
void pktgen_sll(struct pktgen *g, uint16_t pkttype);
void pktgen_sll2(struct pktgen *g, uint8_t pkttype, uint32_t ifindex);
/* BSD loopback: the address family, in host (little-endian) or network order. */
void pktgen_null(struct pktgen *g, uint32_t af, bool big_endian);
/* Sets the pending link type field now (e.g. ARP, or a wrong type). */
void pktgen_ethertype(struct pktgen *g, uint16_t type);

/* IP. Lengths are filled by pktgen_finish() unless set by hand after. */
void pktgen_ipv4(struct pktgen *g, const struct pktgen_ip *ip);
void pktgen_ipv6(struct pktgen *g, const struct pktgen_ip *ip);
/*
 * An IPv6 extension header of len bytes: hop-by-hop, routing and
 * destination options (len a multiple of 8, padded with PadN), AH (len a
 * multiple of 4, at least 8; its length field is len / 4 - 2).
 */
void pktgen_ipv6_ext(struct pktgen *g, uint8_t type, size_t len);
/* An IPv6 fragment header: offset in 8-byte units, M flag. */
void pktgen_ipv6_frag(struct pktgen *g, uint16_t offset, bool more);
/* Sets the pending protocol / next header field now (ESP, UDP, none...). */
void pktgen_next_proto(struct pktgen *g, uint8_t proto);

void pktgen_tcp(struct pktgen *g, const struct pktgen_tcp *t);
/* Bytes of an upper layer that is not TCP (UDP, ICMPv6, ESP...). */
void pktgen_l4(struct pktgen *g, uint8_t proto, const void *p, size_t n);
void pktgen_data(struct pktgen *g, const void *p, size_t n);

/* Fills pending type fields and IP lengths; returns the frame length. */
size_t pktgen_finish(struct pktgen *g);
/* Pads the frame with zeros to len bytes (Ethernet minimum), after finish. */
size_t pktgen_pad(struct pktgen *g, size_t len);

/* Writers for tests that break fields by hand. */
void pktgen_put16(uint8_t *p, uint16_t v);
void pktgen_put32(uint8_t *p, uint32_t v);

#endif /* WST_TEST_PKTGEN_H */
