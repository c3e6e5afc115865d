// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * packet_parse.c - link layer (Ethernet/VLAN, Linux cooked v1/v2, raw IP,
 * BSD loopback), IPv4 (RFC 791), IPv6 (RFC 8200) and TCP (RFC 9293)
 * headers of a captured frame, into a struct wst_record.
 *
 * What is accepted is the rule set in bpf/wstrace.h, which the kernel
 * parser (bpf/parse.bpf.h) follows too.
 *
 * A snapshot can end anywhere: every read is checked against the captured
 * length first. Lengths the headers claim are checked against the wire
 * length (malformed) before the captured length (truncated).
 */
#include <stdbool.h>
#include <string.h>

#include "packet_parse.h"

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define SLL_HLEN 16
#define SLL2_HLEN 20
#define NULL_HLEN 4
#define IPV4_MIN_HLEN 20
#define IPV6_HLEN 40
#define TCP_MIN_HLEN 20

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_8021Q 0x8100
#define ETHERTYPE_8021AD 0x88a8

#define LINUX_PACKET_OUTGOING 4

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_TCP_ 6
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_DSTOPTS_ 60

#define IPV4_MF 0x2000
#define IPV4_OFFSET 0x1fff
#define IPV6_FRAG_OFFSET 0xfff8
#define IPV6_FRAG_MORE 0x0001

/* BSD AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS). */
#define BSD_AF_INET 2

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

/*
 * The IP packet as seen by the layer parsers: cap bytes present at p,
 * wire bytes on the wire (never less than cap).
 */
struct ip_view {
	const uint8_t *p;
	uint32_t cap;
	uint32_t wire;
};

/*
 * TCP header at offset l4 of an IP packet whose length (from the IP
 * header, or the wire for GSO) is ip_len and of which cap bytes were
 * captured (cap <= ip_len already).
 */
static int parse_tcp(const uint8_t *ip, uint32_t l4, uint32_t ip_len,
		     uint32_t cap, struct wst_record *rec,
		     const uint8_t **payload)
{
	const uint8_t *th;
	uint32_t doff;

	if (ip_len < l4 + TCP_MIN_HLEN)
		return PKT_ERR_MALFORMED;
	if (cap < l4 + TCP_MIN_HLEN)
		return PKT_ERR_TRUNCATED;
	th = ip + l4;
	doff = (uint32_t)(th[12] >> 4) * 4;
	/* RFC 9293 3.1: the data offset counts the 20 fixed bytes. */
	if (doff < TCP_MIN_HLEN || l4 + doff > ip_len)
		return PKT_ERR_MALFORMED;
	if (cap < l4 + doff)
		return PKT_ERR_TRUNCATED;

	rec->sport = get_be16(th);
	rec->dport = get_be16(th + 2);
	rec->seq = get_be32(th + 4);
	rec->ack = get_be32(th + 8);
	rec->tcp_flags = th[13];
	rec->window = get_be16(th + 14);
	rec->tcp_doff = (uint8_t)doff;
	rec->payload_len = ip_len - l4 - doff;
	rec->cap_len = cap - l4 - doff;
	*payload = th + doff;
	return 0;
}

/*
 * A first fragment of a TCP segment at l4: its ports, if they are inside
 * the packet and captured, make it attributable (rec->family set).
 */
static int fragment(const uint8_t *ip, uint32_t l4, uint32_t ip_len,
		    uint32_t cap, int family, struct wst_record *rec)
{
	if (l4 + 4 <= ip_len && l4 + 4 <= cap) {
		rec->family = (uint8_t)family;
		rec->sport = get_be16(ip + l4);
		rec->dport = get_be16(ip + l4 + 2);
	} else {
		memset(rec->saddr, 0, sizeof(rec->saddr));
		memset(rec->daddr, 0, sizeof(rec->daddr));
	}
	return PKT_ERR_FRAGMENT;
}

static int parse_ipv4(const struct ip_view *v, struct wst_record *rec,
		      const uint8_t **payload)
{
	const uint8_t *p = v->p;
	uint32_t ihl, tot_len, cap;
	uint16_t frag;

	if (v->cap < IPV4_MIN_HLEN)
		return PKT_ERR_TRUNCATED;
	if (p[0] >> 4 != 4)
		return PKT_ERR_MALFORMED;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	if (ihl < IPV4_MIN_HLEN || ihl > v->wire)
		return PKT_ERR_MALFORMED;
	if (ihl > v->cap)
		return PKT_ERR_TRUNCATED;
	tot_len = get_be16(p + 2);
	/* 0 on a TSO/GSO super-packet captured before segmentation. */
	if (tot_len == 0)
		tot_len = v->wire;
	else if (tot_len < ihl || tot_len > v->wire)
		return PKT_ERR_MALFORMED;
	if (p[9] != IPPROTO_TCP_)
		return PKT_ERR_NOT_TCP;
	/* The total length bounds the packet: Ethernet padding is not data. */
	cap = v->cap < tot_len ? v->cap : tot_len;

	/* RFC 791: MF set or a non-zero offset is a piece of a packet. */
	frag = get_be16(p + 6);
	if (frag & IPV4_OFFSET)
		return PKT_ERR_FRAGMENT; /* no TCP header in it */
	memcpy(rec->saddr, p + 12, 4);
	memcpy(rec->daddr, p + 16, 4);
	if (frag & IPV4_MF)
		return fragment(p, ihl, tot_len, cap, 4, rec);
	rec->family = 4;
	return parse_tcp(p, ihl, tot_len, cap, rec, payload);
}

static int parse_ipv6(const struct ip_view *v, struct wst_record *rec,
		      const uint8_t **payload)
{
	const uint8_t *p = v->p;
	uint32_t ip_len, cap, off, plen;
	bool first_fragment = false;
	uint8_t nh;

	if (v->cap < IPV6_HLEN)
		return PKT_ERR_TRUNCATED;
	if (p[0] >> 4 != 6)
		return PKT_ERR_MALFORMED;
	plen = get_be16(p + 4);
	/* 0: a jumbogram (RFC 2675) or a GSO super-packet; trust the wire. */
	if (plen == 0)
		ip_len = v->wire;
	else if (IPV6_HLEN + plen > v->wire)
		return PKT_ERR_MALFORMED;
	else
		ip_len = IPV6_HLEN + plen;
	cap = v->cap < ip_len ? v->cap : ip_len;

	nh = p[6];
	off = IPV6_HLEN;
	for (int i = 0;; i++) {
		uint32_t len;

		if (nh == IPPROTO_TCP_)
			break;
		if (nh != IPPROTO_HOPOPTS_ && nh != IPPROTO_ROUTING_ &&
		    nh != IPPROTO_DSTOPTS_ && nh != IPPROTO_FRAGMENT_ &&
		    nh != IPPROTO_AH_)
			return PKT_ERR_NOT_TCP; /* UDP, ICMPv6, no next header, ESP... */
		if (i == WST_MAX_IPV6_EXT)
			return PKT_ERR_MALFORMED;
		if (off + 8 > ip_len)
			return PKT_ERR_MALFORMED;
		if (off + 8 > cap)
			return PKT_ERR_TRUNCATED;
		if (nh == IPPROTO_FRAGMENT_) {
			uint16_t fo = get_be16(p + off + 2);

			/* RFC 8200 4.5: offset 0 and M clear is a whole packet. */
			if (fo & IPV6_FRAG_OFFSET)
				return PKT_ERR_FRAGMENT; /* no TCP header in it */
			if (fo & IPV6_FRAG_MORE)
				first_fragment = true;
			len = 8;
		} else {
			if (nh == IPPROTO_AH_) /* RFC 4302 2.2: in 4-octet units, minus 2 */
				len = ((uint32_t)p[off + 1] + 2) * 4;
			else /* RFC 8200 4.3-4.6: 8-octet units, not counting the first 8 */
				len = ((uint32_t)p[off + 1] + 1) * 8;
			if (off + len > ip_len)
				return PKT_ERR_MALFORMED;
			if (off + len > cap)
				return PKT_ERR_TRUNCATED;
		}
		nh = p[off];
		off += len;
	}

	memcpy(rec->saddr, p + 8, 16);
	memcpy(rec->daddr, p + 24, 16);
	if (first_fragment)
		return fragment(p, off, ip_len, cap, 6, rec);
	rec->family = 6;
	return parse_tcp(p, off, ip_len, cap, rec, payload);
}

/* Dispatches on the IP version nibble (raw IP link types). */
static int parse_ip_any(const struct ip_view *v, struct wst_record *rec,
			const uint8_t **payload)
{
	if (v->cap < 1)
		return PKT_ERR_TRUNCATED;
	switch (v->p[0] >> 4) {
	case 4:
		return parse_ipv4(v, rec, payload);
	case 6:
		return parse_ipv6(v, rec, payload);
	default:
		return PKT_ERR_MALFORMED;
	}
}

/*
 * The network layer at data + off. ethertype is the type field read just
 * before off; VLAN tags (802.1Q, 802.1ad, stacked) are skipped here.
 */
static int parse_ethertype(uint16_t ethertype, const uint8_t *data,
			   uint32_t off, uint32_t caplen, uint32_t wirelen,
			   struct wst_record *rec, const uint8_t **payload)
{
	struct ip_view v;

	for (int tags = 0; ethertype == ETHERTYPE_8021Q ||
			   ethertype == ETHERTYPE_8021AD; tags++) {
		if (tags == WST_MAX_VLAN_TAGS)
			return PKT_ERR_MALFORMED;
		if (caplen < off + VLAN_HLEN)
			return PKT_ERR_TRUNCATED;
		/* TCI (2 bytes), then the encapsulated type. */
		ethertype = get_be16(data + off + 2);
		off += VLAN_HLEN;
	}
	if (ethertype != ETHERTYPE_IPV4 && ethertype != ETHERTYPE_IPV6)
		return PKT_ERR_NOT_TCP;

	v.p = data + off;
	v.cap = caplen - off;
	v.wire = wirelen > off ? wirelen - off : 0;
	if (v.wire < v.cap)
		v.wire = v.cap;
	if (ethertype == ETHERTYPE_IPV4)
		return parse_ipv4(&v, rec, payload);
	return parse_ipv6(&v, rec, payload);
}

static int parse_null(const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		      struct wst_record *rec, const uint8_t **payload)
{
	struct ip_view v;
	uint32_t le, be;

	if (caplen < NULL_HLEN)
		return PKT_ERR_TRUNCATED;
	/* The writer's host order (NULL) or network order (LOOP): accept both. */
	le = get_le32(data);
	be = get_be32(data);
	v.p = data + NULL_HLEN;
	v.cap = caplen - NULL_HLEN;
	v.wire = wirelen > NULL_HLEN ? wirelen - NULL_HLEN : 0;
	if (v.wire < v.cap)
		v.wire = v.cap;
	if (le == BSD_AF_INET || be == BSD_AF_INET)
		return parse_ipv4(&v, rec, payload);
	if (le == 24 || le == 28 || le == 30 || be == 24 || be == 28 || be == 30)
		return parse_ipv6(&v, rec, payload);
	return PKT_ERR_NOT_TCP;
}

int pkt_parse_linktype_supported(int linktype)
{
	switch (linktype) {
	case PKT_LINKTYPE_NULL:
	case PKT_LINKTYPE_ETHERNET:
	case PKT_LINKTYPE_DLT_RAW1:
	case PKT_LINKTYPE_DLT_RAW2:
	case PKT_LINKTYPE_RAW:
	case PKT_LINKTYPE_LOOP:
	case PKT_LINKTYPE_LINUX_SLL:
	case PKT_LINKTYPE_IPV4:
	case PKT_LINKTYPE_IPV6:
	case PKT_LINKTYPE_LINUX_SLL2:
		return 1;
	default:
		return 0;
	}
}

int pkt_parse_frame(int linktype, const uint8_t *data, uint32_t caplen,
		    uint32_t wirelen, struct wst_record *rec,
		    const uint8_t **payload)
{
	struct ip_view v = { .p = data, .cap = caplen,
			     .wire = wirelen > caplen ? wirelen : caplen };

	memset(rec, 0, sizeof(*rec));
	rec->version = WST_RECORD_VERSION;
	rec->kind = WST_REC_PACKET;
	rec->hdr_len = sizeof(*rec);
	rec->dir = WST_DIR_FILE;
	*payload = NULL;

	switch (linktype) {
	case PKT_LINKTYPE_ETHERNET:
		if (caplen < ETH_HLEN)
			return PKT_ERR_TRUNCATED;
		return parse_ethertype(get_be16(data + 12), data, ETH_HLEN,
				       caplen, wirelen, rec, payload);
	case PKT_LINKTYPE_LINUX_SLL:
		/* pkttype(2) hatype(2) halen(2) addr(8) protocol(2) */
		if (caplen < SLL_HLEN)
			return PKT_ERR_TRUNCATED;
		rec->dir = get_be16(data) == LINUX_PACKET_OUTGOING ?
			   WST_DIR_EGRESS : WST_DIR_INGRESS;
		return parse_ethertype(get_be16(data + 14), data, SLL_HLEN,
				       caplen, wirelen, rec, payload);
	case PKT_LINKTYPE_LINUX_SLL2:
		/* protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8) */
		if (caplen < SLL2_HLEN)
			return PKT_ERR_TRUNCATED;
		rec->dir = data[10] == LINUX_PACKET_OUTGOING ?
			   WST_DIR_EGRESS : WST_DIR_INGRESS;
		rec->ifindex = get_be32(data + 4);
		return parse_ethertype(get_be16(data), data, SLL2_HLEN,
				       caplen, wirelen, rec, payload);
	case PKT_LINKTYPE_RAW:
	case PKT_LINKTYPE_DLT_RAW1:
	case PKT_LINKTYPE_DLT_RAW2:
		return parse_ip_any(&v, rec, payload);
	case PKT_LINKTYPE_IPV4:
		return parse_ipv4(&v, rec, payload);
	case PKT_LINKTYPE_IPV6:
		return parse_ipv6(&v, rec, payload);
	case PKT_LINKTYPE_NULL:
	case PKT_LINKTYPE_LOOP:
		return parse_null(data, caplen, wirelen, rec, payload);
	default:
		return PKT_ERR_LINKTYPE;
	}
}

const char *pkt_parse_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case PKT_ERR_NOT_TCP:
		return "not a TCP/IP packet";
	case PKT_ERR_TRUNCATED:
		return "header truncated by the snapshot length";
	case PKT_ERR_MALFORMED:
		return "malformed header";
	case PKT_ERR_FRAGMENT:
		return "IP fragment";
	case PKT_ERR_LINKTYPE:
		return "unsupported link type";
	default:
		return "unknown error";
	}
}
