// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pktgen.c - the test frame builder (see pktgen.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktgen.h"

const struct pktgen_ip pktgen_v4_default = {
	.saddr = { 192, 0, 2, 1 },
	.daddr = { 198, 51, 100, 2 },
	.frag = PKTGEN_IP_DF,
	.ttl = 64,
};

const struct pktgen_ip pktgen_v6_default = {
	.saddr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
	.daddr = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2 },
	.ttl = 64,
};

const struct pktgen_tcp pktgen_tcp_default = {
	.sport = 60653, .dport = 7272,
	.seq = 0x01020304, .ack = 0xa0b0c0d0,
	.flags = 0x18, /* PSH|ACK */
	.win = 512,
};

void pktgen_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void pktgen_put32(uint8_t *p, uint32_t v)
{
	pktgen_put16(p, (uint16_t)(v >> 16));
	pktgen_put16(p + 2, (uint16_t)v);
}

/* Room for n more bytes, zeroed; aborts on overflow (a test bug). */
static uint8_t *push(struct pktgen *g, size_t n)
{
	uint8_t *p;

	if (g->finished || n > g->cap - g->len) {
		fprintf(stderr, "pktgen: %s\n", g->finished ?
			"push after finish" : "frame too large for the buffer");
		abort();
	}
	p = g->buf + g->len;
	memset(p, 0, n);
	g->len += n;
	return p;
}

void pktgen_init(struct pktgen *g, uint8_t *buf, size_t cap)
{
	memset(g, 0, sizeof(*g));
	g->buf = buf;
	g->cap = cap;
	g->l3 = g->l4 = g->payload = PKTGEN_NONE;
	g->type_off = g->proto_off = PKTGEN_NONE;
}

void pktgen_ethertype(struct pktgen *g, uint16_t type)
{
	if (g->type_off != PKTGEN_NONE)
		pktgen_put16(g->buf + g->type_off, type);
	g->type_off = PKTGEN_NONE;
}

void pktgen_next_proto(struct pktgen *g, uint8_t proto)
{
	if (g->proto_off != PKTGEN_NONE)
		g->buf[g->proto_off] = proto;
	g->proto_off = PKTGEN_NONE;
}

void pktgen_eth(struct pktgen *g)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	uint8_t *p = push(g, 14);

	memcpy(p, macs, sizeof(macs));
	g->type_off = g->len - 2;
}

void pktgen_vlan(struct pktgen *g, uint16_t tpid, uint16_t tci)
{
	uint8_t *p;

	pktgen_ethertype(g, tpid);
	p = push(g, 4);
	pktgen_put16(p, tci);
	g->type_off = g->len - 2;
}

void pktgen_sll(struct pktgen *g, uint16_t pkttype)
{
	uint8_t *p = push(g, 16);

	pktgen_put16(p, pkttype);
	pktgen_put16(p + 2, 772); /* ARPHRD_LOOPBACK */
	pktgen_put16(p + 4, 6);
	g->type_off = g->len - 2;
}

void pktgen_sll2(struct pktgen *g, uint8_t pkttype, uint32_t ifindex)
{
	uint8_t *p = push(g, 20);

	pktgen_put32(p + 4, ifindex);
	pktgen_put16(p + 8, 1); /* ARPHRD_ETHER */
	p[10] = pkttype;
	p[11] = 6;
	p[12] = 2;
	p[17] = 1;
	g->type_off = g->len - 20;
}

void pktgen_null(struct pktgen *g, uint32_t af, bool big_endian)
{
	uint8_t *p = push(g, 4);

	if (big_endian) {
		pktgen_put32(p, af);
	} else {
		for (int i = 0; i < 4; i++)
			p[i] = (uint8_t)(af >> (8 * i));
	}
}

void pktgen_ipv4(struct pktgen *g, const struct pktgen_ip *ip)
{
	size_t ihl = 20 + ip->optlen;
	uint8_t *p;

	pktgen_ethertype(g, PKTGEN_ETH_P_IP);
	p = push(g, ihl);
	if (g->l3 == PKTGEN_NONE)
		g->l3 = (size_t)(p - g->buf);
	g->family = 4;
	p[0] = (uint8_t)(0x40 | (ihl / 4));
	pktgen_put16(p + 4, 0x4242); /* identification */
	pktgen_put16(p + 6, ip->frag);
	p[8] = ip->ttl;
	memcpy(p + 12, ip->saddr, 4);
	memcpy(p + 16, ip->daddr, 4);
	memset(p + 20, 1, ip->optlen); /* NOP options */
	g->proto_off = (size_t)(p - g->buf) + 9;
}

void pktgen_ipv6(struct pktgen *g, const struct pktgen_ip *ip)
{
	uint8_t *p;

	pktgen_ethertype(g, PKTGEN_ETH_P_IPV6);
	p = push(g, 40);
	if (g->l3 == PKTGEN_NONE)
		g->l3 = (size_t)(p - g->buf);
	g->family = 6;
	p[0] = 0x60;
	p[7] = ip->ttl;
	memcpy(p + 8, ip->saddr, 16);
	memcpy(p + 24, ip->daddr, 16);
	g->proto_off = (size_t)(p - g->buf) + 6;
}

void pktgen_ipv6_ext(struct pktgen *g, uint8_t type, size_t len)
{
	uint8_t *p;

	pktgen_next_proto(g, type);
	p = push(g, len);
	if (type == PKTGEN_IPPROTO_AH) {
		/* RFC 4302 2.2: length in 4-octet units, minus 2; SPI, sequence. */
		p[1] = (uint8_t)(len / 4 - 2);
		pktgen_put32(p + 4, 0x1000);
		if (len >= 12)
			pktgen_put32(p + 8, 1);
	} else {
		/* RFC 8200 4.2: PadN over the option area. */
		p[1] = (uint8_t)(len / 8 - 1);
		p[2] = 1;
		p[3] = (uint8_t)(len - 4);
	}
	g->proto_off = (size_t)(p - g->buf);
}

void pktgen_ipv6_frag(struct pktgen *g, uint16_t offset, bool more)
{
	uint8_t *p;

	pktgen_next_proto(g, PKTGEN_IPPROTO_FRAGMENT);
	p = push(g, 8);
	pktgen_put16(p + 2, (uint16_t)(offset << 3 | (more ? 1 : 0)));
	pktgen_put32(p + 4, 0xabcdef01); /* identification */
	g->proto_off = (size_t)(p - g->buf);
}

void pktgen_tcp(struct pktgen *g, const struct pktgen_tcp *t)
{
	size_t hl = 20 + t->optlen;
	uint8_t *p;

	pktgen_next_proto(g, PKTGEN_IPPROTO_TCP);
	p = push(g, hl);
	g->l4 = (size_t)(p - g->buf);
	pktgen_put16(p, t->sport);
	pktgen_put16(p + 2, t->dport);
	pktgen_put32(p + 4, t->seq);
	pktgen_put32(p + 8, t->ack);
	p[12] = (uint8_t)((hl / 4) << 4);
	p[13] = t->flags;
	pktgen_put16(p + 14, t->win);
	pktgen_put16(p + 16, 0x1234); /* checksum: nobody checks it */
	memset(p + 20, 1, t->optlen); /* NOP options */
	g->payload = g->len;
}

void pktgen_l4(struct pktgen *g, uint8_t proto, const void *p, size_t n)
{
	pktgen_next_proto(g, proto);
	g->l4 = g->len;
	if (n)
		memcpy(push(g, n), p, n);
	g->payload = g->len;
}

void pktgen_data(struct pktgen *g, const void *p, size_t n)
{
	if (g->payload == PKTGEN_NONE)
		g->payload = g->len;
	if (n)
		memcpy(push(g, n), p, n);
}

size_t pktgen_finish(struct pktgen *g)
{
	if (g->l3 != PKTGEN_NONE) {
		size_t ip_len = g->len - g->l3;
		uint8_t *p = g->buf + g->l3;

		if ((p[0] >> 4) == 4)
			pktgen_put16(p + 2, (uint16_t)ip_len);
		else
			pktgen_put16(p + 4, (uint16_t)(ip_len - 40));
	}
	g->finished = true;
	return g->len;
}

size_t pktgen_pad(struct pktgen *g, size_t len)
{
	if (len > g->cap)
		abort();
	if (len > g->len) {
		memset(g->buf + g->len, 0, len - g->len);
		g->len = len;
	}
	return g->len;
}
