/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parse.bpf.h - header parsers for the TC capture program (kernel only).
 *
 * wst_parse_direct() reads the common layout in place from the linear part
 * of the skb. The other parsers read through bpf_skb_load_bytes into a small
 * stack copy, so non-linear skbs parse the same as linear ones, and every
 * helper return is checked: a header that does not fit in the packet makes
 * the parser fail.
 * Offsets are relative to skb->data, which at the TC hooks is the start of
 * the link-layer header (or of the IP header on devices without one).
 */
#ifndef WST_PARSE_BPF_H
#define WST_PARSE_BPF_H

#define WST_ETH_HLEN 14
#define WST_ETH_P_IP 0x0800
#define WST_ETH_P_IPV6 0x86DD
#define WST_ETH_P_8021Q 0x8100
#define WST_ETH_P_8021AD 0x88A8
#define WST_VLAN_HLEN 4

#define WST_IPPROTO_HOPOPTS 0
#define WST_IPPROTO_TCP 6
#define WST_IPPROTO_ROUTING 43
#define WST_IPPROTO_FRAGMENT 44
#define WST_IPPROTO_AH 51
#define WST_IPPROTO_DSTOPTS 60

#define WST_IP_MF 0x2000
#define WST_IP_OFFMASK 0x1fff
#define WST_IP6_FRAG_OFFSET 0xfff8
#define WST_IP6_FRAG_MORE 0x0001

/*
 * What a parser concluded. The rules are the shared ones in wstrace.h;
 * user/sources/packet_parse.c follows the same.
 */
enum wst_parse_res {
	WST_PARSE_SKIP = -1, /* not a packet to capture: done with it */
	WST_PARSE_SLOW = 0,  /* not the common layout: use the loading parsers */
	WST_PARSE_OK = 1,    /* parsed; ports not yet checked */
	WST_PARSE_FRAG = 2,  /* first fragment of a TCP segment: ports only */
};

/* What the parsers found out about one packet. */
struct wst_pkt_info {
	__u32 l3_off;      /* IP header, from skb->data */
	__u32 l4_off;      /* TCP header */
	__u32 ip_len;      /* IP packet length: header + payload */
	__u32 payload_off; /* TCP payload */
	__u32 payload_len;
};

static __always_inline int wst_is_vlan(__u16 proto)
{
	return proto == WST_ETH_P_8021Q || proto == WST_ETH_P_8021AD;
}

/*
 * Finds the IP header. skb->protocol is the network protocol the stack
 * decided on; the Ethernet header (if any) must agree with it, or carry VLAN
 * tags still in the packet (the outer tag is usually already in
 * skb->vlan_tci, but QinQ inner tags and test runs keep tags in the data).
 * Devices without a link-layer header (tun, wireguard, ipip) start with the
 * IP header itself; they are recognised by an Ethernet type field that does
 * not match and an IP version nibble that does.
 * Returns the L3 ethertype (host order) or 0 if not IPv4/IPv6.
 */
static __always_inline __u16 wst_parse_l2(struct __sk_buff *skb, __u32 *l3_off)
{
	__u16 skb_proto = bpf_ntohs((__u16)skb->protocol);
	__u8 eth[WST_ETH_HLEN];
	__u16 proto;
	__u32 off = WST_ETH_HLEN;
	/* A tag already taken out of the frame counts against the limit. */
	__u32 tags = skb->vlan_present ? 1 : 0;
	__u8 ver;
	int i;

	if (skb_proto != WST_ETH_P_IP && skb_proto != WST_ETH_P_IPV6 &&
	    !wst_is_vlan(skb_proto))
		return 0;
	if (bpf_skb_load_bytes(skb, 0, eth, sizeof(eth)) < 0)
		return 0;
	proto = ((__u16)eth[12] << 8) | eth[13];

	if (proto == skb_proto || wst_is_vlan(proto)) {
		for (i = 0; i < WST_MAX_VLAN_TAGS; i++) {
			__u8 tag[WST_VLAN_HLEN];

			if (!wst_is_vlan(proto))
				break;
			if (tags >= WST_MAX_VLAN_TAGS)
				return 0;
			if (bpf_skb_load_bytes(skb, off, tag, sizeof(tag)) < 0)
				return 0;
			proto = ((__u16)tag[2] << 8) | tag[3];
			off += WST_VLAN_HLEN;
			tags++;
		}
		if (proto != WST_ETH_P_IP && proto != WST_ETH_P_IPV6)
			return 0;
		*l3_off = off;
		return proto;
	}

	/* No link-layer header: the packet starts with the IP header. */
	ver = eth[0] >> 4;
	if (skb_proto == WST_ETH_P_IP && ver == 4) {
		*l3_off = 0;
		return WST_ETH_P_IP;
	}
	if (skb_proto == WST_ETH_P_IPV6 && ver == 6) {
		*l3_off = 0;
		return WST_ETH_P_IPV6;
	}
	return 0;
}

/*
 * GSO/GRO super-packets (and BIG TCP, whose IPv4 tot_len or IPv6
 * payload_len is 0) declare a length that is not the real one: use skb->len.
 */
static __always_inline int wst_skb_is_gso(struct __sk_buff *skb)
{
	return skb->gso_segs > 1 || skb->gso_size != 0;
}

/*
 * The IP length: the header's (IPv4 total length, IPv6 40 + payload
 * length), or the frame's when that is 0 (BIG TCP, jumbograms) or the skb
 * is a GSO/GRO super-packet.
 */
static __always_inline __u32 wst_ip_len(struct __sk_buff *skb, __u32 hdr_len,
					__u32 avail)
{
	if (hdr_len == 0 || wst_skb_is_gso(skb))
		return avail;
	return hdr_len;
}

/*
 * IPv4 (RFC 791), options skipped by IHL. WST_PARSE_OK, WST_PARSE_FRAG
 * (pi->l4_off set, the TCP header possibly cut) or WST_PARSE_SKIP.
 */
static __always_inline int wst_parse_ipv4(struct __sk_buff *skb,
					  struct wst_pkt_info *pi,
					  struct wst_record *rec)
{
	struct iphdr ip;
	__u32 ihl, tot_len, avail;
	__u16 frag;

	if (bpf_skb_load_bytes(skb, pi->l3_off, &ip, sizeof(ip)) < 0)
		return WST_PARSE_SKIP;
	if (ip.version != 4 || ip.ihl < 5)
		return WST_PARSE_SKIP;
	ihl = (__u32)ip.ihl * 4;
	if (skb->len < pi->l3_off)
		return WST_PARSE_SKIP;
	avail = skb->len - pi->l3_off;
	tot_len = wst_ip_len(skb, bpf_ntohs(ip.tot_len), avail);
	if (tot_len < ihl || tot_len > avail)
		return WST_PARSE_SKIP;
	if (ip.protocol != WST_IPPROTO_TCP)
		return WST_PARSE_SKIP;

	pi->l4_off = pi->l3_off + ihl;
	pi->ip_len = tot_len;
	rec->family = 4;
	__builtin_memcpy(rec->saddr, &ip.saddr, 4);
	__builtin_memcpy(rec->daddr, &ip.daddr, 4);
	frag = bpf_ntohs(ip.frag_off);
	if (frag & WST_IP_OFFMASK)
		return WST_PARSE_SKIP; /* not the first fragment: no TCP header */
	if (frag & WST_IP_MF)
		return WST_PARSE_FRAG;
	return WST_PARSE_OK;
}

/*
 * IPv6 (RFC 8200) with up to WST_MAX_IPV6_EXT extension headers. Returns
 * as wst_parse_ipv4().
 */
static __always_inline int wst_parse_ipv6(struct __sk_buff *skb,
					  struct wst_pkt_info *pi,
					  struct wst_record *rec)
{
	struct ipv6hdr ip6;
	__u32 off, tot_len, avail;
	__u8 nexthdr;
	int i, first_frag = 0;

	if (bpf_skb_load_bytes(skb, pi->l3_off, &ip6, sizeof(ip6)) < 0)
		return WST_PARSE_SKIP;
	if (ip6.version != 6)
		return WST_PARSE_SKIP;
	if (skb->len < pi->l3_off)
		return WST_PARSE_SKIP;
	avail = skb->len - pi->l3_off;
	tot_len = bpf_ntohs(ip6.payload_len);
	if (tot_len)
		tot_len += sizeof(ip6);
	tot_len = wst_ip_len(skb, tot_len, avail);
	if (tot_len > avail)
		return WST_PARSE_SKIP;

	nexthdr = ip6.nexthdr;
	off = pi->l3_off + sizeof(ip6);
	for (i = 0; i < WST_MAX_IPV6_EXT; i++) {
		__u8 ext[4];

		if (nexthdr == WST_IPPROTO_TCP)
			break;
		if (nexthdr != WST_IPPROTO_HOPOPTS &&
		    nexthdr != WST_IPPROTO_ROUTING &&
		    nexthdr != WST_IPPROTO_FRAGMENT &&
		    nexthdr != WST_IPPROTO_DSTOPTS && nexthdr != WST_IPPROTO_AH)
			return WST_PARSE_SKIP;
		if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)) < 0)
			return WST_PARSE_SKIP;
		if (nexthdr == WST_IPPROTO_FRAGMENT) {
			__u16 fo = ((__u16)ext[2] << 8) | ext[3];

			if (fo & WST_IP6_FRAG_OFFSET)
				return WST_PARSE_SKIP; /* no TCP header */
			if (fo & WST_IP6_FRAG_MORE)
				first_frag = 1;
			off += 8;
		} else if (nexthdr == WST_IPPROTO_AH) {
			off += ((__u32)ext[1] + 2) * 4; /* RFC 4302 2.2 */
		} else {
			off += ((__u32)ext[1] + 1) * 8;
		}
		nexthdr = ext[0];
	}
	if (nexthdr != WST_IPPROTO_TCP)
		return WST_PARSE_SKIP;
	if (off - pi->l3_off > tot_len)
		return WST_PARSE_SKIP;

	pi->l4_off = off;
	pi->ip_len = tot_len;
	rec->family = 6;
	__builtin_memcpy(rec->saddr, &ip6.saddr, 16);
	__builtin_memcpy(rec->daddr, &ip6.daddr, 16);
	return first_frag ? WST_PARSE_FRAG : WST_PARSE_OK;
}

/* The ports of a first fragment, if they are inside it. */
static __always_inline int wst_parse_frag_ports(struct __sk_buff *skb,
						struct wst_pkt_info *pi,
						struct wst_record *rec)
{
	__u8 ports[4];

	if (pi->l4_off - pi->l3_off + sizeof(ports) > pi->ip_len)
		return WST_PARSE_SKIP;
	if (bpf_skb_load_bytes(skb, pi->l4_off, ports, sizeof(ports)) < 0)
		return WST_PARSE_SKIP;
	rec->sport = ((__u16)ports[0] << 8) | ports[1];
	rec->dport = ((__u16)ports[2] << 8) | ports[3];
	return WST_PARSE_FRAG;
}

/* TCP (RFC 9293), options skipped by the data offset. Returns 0 or -1. */
static __always_inline int wst_parse_tcp(struct __sk_buff *skb,
					 struct wst_pkt_info *pi,
					 struct wst_record *rec)
{
	__u8 th[20];
	__u32 doff, l4_len;

	if (bpf_skb_load_bytes(skb, pi->l4_off, th, sizeof(th)) < 0)
		return -1;
	doff = (__u32)(th[12] >> 4) * 4;
	if (doff < sizeof(th))
		return -1;
	if (pi->l4_off - pi->l3_off > pi->ip_len)
		return -1;
	l4_len = pi->ip_len - (pi->l4_off - pi->l3_off);
	if (doff > l4_len)
		return -1;

	pi->payload_off = pi->l4_off + doff;
	pi->payload_len = l4_len - doff;
	rec->sport = ((__u16)th[0] << 8) | th[1];
	rec->dport = ((__u16)th[2] << 8) | th[3];
	rec->seq = ((__u32)th[4] << 24) | ((__u32)th[5] << 16) |
		   ((__u32)th[6] << 8) | th[7];
	rec->ack = ((__u32)th[8] << 24) | ((__u32)th[9] << 16) |
		   ((__u32)th[10] << 8) | th[11];
	rec->tcp_doff = doff;
	rec->tcp_flags = th[13];
	rec->window = ((__u16)th[14] << 8) | th[15];
	return 0;
}

/* Fills the record from a TCP header the caller bounds-checked. */
static __always_inline int wst_parse_tcp_direct(const struct tcphdr *th,
						struct wst_pkt_info *pi,
						struct wst_record *rec)
{
	__u32 doff = (__u32)th->doff * 4;
	__u32 l4_len = pi->ip_len - (pi->l4_off - pi->l3_off);

	if (doff < sizeof(*th) || doff > l4_len)
		return WST_PARSE_SKIP;
	pi->payload_off = pi->l4_off + doff;
	pi->payload_len = l4_len - doff;
	rec->seq = bpf_ntohl(th->seq);
	rec->ack = bpf_ntohl(th->ack_seq);
	rec->tcp_doff = doff;
	rec->tcp_flags = ((const __u8 *)th)[13];
	rec->window = bpf_ntohs(th->window);
	return WST_PARSE_OK;
}

/*
 * The common case without a helper call: Ethernet (no tag in the data) +
 * IPv4 without options or IPv6 without extension headers + TCP, all in the
 * linear part of the skb, read in place (reads only; the skb is not pulled
 * or changed). sport/dport are filled first so the caller can check the
 * port map before anything else. Anything else is WST_PARSE_SLOW, and the
 * loading parsers above decide, so results are the same either way.
 */
static __always_inline int wst_parse_direct(struct __sk_buff *skb,
					    struct wst_pkt_info *pi,
					    struct wst_record *rec)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u32 avail, tot_len;

	if ((void *)(eth + 1) > end)
		return WST_PARSE_SLOW;
	/* Both in network order. */
	if (eth->h_proto != (__u16)skb->protocol)
		return WST_PARSE_SLOW;
	avail = skb->len - WST_ETH_HLEN; /* skb->len >= linear length */
	if (eth->h_proto == bpf_htons(WST_ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		th = (void *)(ip + 1);
		if ((void *)(th + 1) > end)
			return WST_PARSE_SLOW;
		if (((__u8 *)ip)[0] != 0x45)
			return WST_PARSE_SLOW; /* options, or not IPv4 */
		if (ip->protocol != WST_IPPROTO_TCP)
			return WST_PARSE_SKIP;
		if (ip->frag_off & bpf_htons(WST_IP_MF | WST_IP_OFFMASK))
			return WST_PARSE_SLOW; /* fragments: counted there */
		tot_len = wst_ip_len(skb, bpf_ntohs(ip->tot_len), avail);
		if (tot_len < sizeof(*ip) || tot_len > avail)
			return WST_PARSE_SKIP;
		pi->l4_off = WST_ETH_HLEN + sizeof(*ip);
		rec->family = 4;
		__builtin_memcpy(rec->saddr, &ip->saddr, 4);
		__builtin_memcpy(rec->daddr, &ip->daddr, 4);
	} else if (eth->h_proto == bpf_htons(WST_ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		th = (void *)(ip6 + 1);
		if ((void *)(th + 1) > end)
			return WST_PARSE_SLOW;
		if (ip6->version != 6)
			return WST_PARSE_SKIP;
		if (ip6->nexthdr != WST_IPPROTO_TCP)
			return WST_PARSE_SLOW; /* extension headers */
		tot_len = bpf_ntohs(ip6->payload_len);
		if (tot_len)
			tot_len += sizeof(*ip6);
		tot_len = wst_ip_len(skb, tot_len, avail);
		if (tot_len < sizeof(*ip6) || tot_len > avail)
			return WST_PARSE_SKIP;
		pi->l4_off = WST_ETH_HLEN + sizeof(*ip6);
		rec->family = 6;
		__builtin_memcpy(rec->saddr, &ip6->saddr, 16);
		__builtin_memcpy(rec->daddr, &ip6->daddr, 16);
	} else {
		return WST_PARSE_SLOW;
	}
	pi->l3_off = WST_ETH_HLEN;
	pi->ip_len = tot_len;
	rec->sport = bpf_ntohs(th->source);
	rec->dport = bpf_ntohs(th->dest);
	return wst_parse_tcp_direct(th, pi, rec);
}

#endif /* WST_PARSE_BPF_H */
