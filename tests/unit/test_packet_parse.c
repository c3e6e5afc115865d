// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_packet_parse.c - crafted frames of every supported link type through
 * pkt_parse_frame(), each placed just before an unmapped page so that any
 * read past the captured length faults.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sources/packet_parse.h"
#include "guard_page.h"
#include "pktgen.h"

#define MAX_FRAME 4096

struct frame {
	uint8_t b[MAX_FRAME];
	size_t n;
};

static void put(struct frame *f, const void *p, size_t n)
{
	assert_true(f->n + n <= sizeof(f->b));
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put16(struct frame *f, uint16_t v)
{
	assert_true(f->n + 2 <= sizeof(f->b));
	pktgen_put16(f->b + f->n, v);
	f->n += 2;
}

static void set16(struct frame *f, size_t off, uint16_t v)
{
	pktgen_put16(f->b + off, v);
}

/* What a test packet holds; the expected record is derived from it. */
struct tcp_spec {
	int family;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	size_t tcp_optlen;  /* multiple of 4 */
	size_t ip_optlen;   /* IPv4 options, multiple of 4 */
	uint16_t ip4_frag;  /* IPv4 flags + fragment offset field */
	uint8_t proto;      /* IPv4 protocol / last IPv6 next header */
	int n_ext;          /* IPv6 extension headers */
	uint8_t ext[12];    /* their types: 0, 43, 60, 44 */
	uint16_t ip6_frag;  /* fragment header offset/M field */
	const uint8_t *payload;
	size_t plen;
};

static const uint8_t test_payload[] =
	"GET /chat HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\n\r\n";

static struct tcp_spec spec4(void)
{
	struct tcp_spec s = {
		.family = 4,
		.saddr = { 192, 0, 2, 1 },
		.daddr = { 198, 51, 100, 7 },
		.sport = 60653, .dport = 7272,
		.seq = 0xdeadbeef, .ack = 0x01020304,
		.flags = WST_TCP_PSH | WST_TCP_ACK,
		.win = 65283,
		.ip4_frag = 0x4000, /* DF */
		.proto = 6,
		.payload = test_payload,
		.plen = sizeof(test_payload) - 1,
	};
	return s;
}

static struct tcp_spec spec6(void)
{
	struct tcp_spec s = spec4();

	s.family = 6;
	for (int i = 0; i < 16; i++) {
		s.saddr[i] = (uint8_t)(0x20 + i);
		s.daddr[i] = (uint8_t)(0xf0 - i);
	}
	return s;
}

static size_t ext_len(uint8_t type)
{
	/* Destination options made 16 bytes long to exercise the length unit,
	 * AH 24 (its own unit): a 12-byte header and a 12-byte ICV. */
	if (type == 51)
		return 24;
	return type == 60 ? 16 : 8;
}

/* Length of the IP + TCP headers the spec produces. */
static size_t spec_hdrs(const struct tcp_spec *s)
{
	size_t n = 20 + s->tcp_optlen;

	if (s->family == 4)
		return n + 20 + s->ip_optlen;
	n += 40;
	for (int i = 0; i < s->n_ext; i++)
		n += ext_len(s->ext[i]);
	return n;
}

/* Pushes the IP packet: IP header(s), TCP header, payload. */
static void push_ip(struct pktgen *g, const struct tcp_spec *s)
{
	struct pktgen_ip ip = { .frag = s->ip4_frag, .optlen = s->ip_optlen, .ttl = 64 };
	struct pktgen_tcp t = {
		.sport = s->sport, .dport = s->dport, .seq = s->seq, .ack = s->ack,
		.flags = s->flags, .win = s->win, .optlen = s->tcp_optlen,
	};

	memcpy(ip.saddr, s->saddr, 16);
	memcpy(ip.daddr, s->daddr, 16);
	if (s->family == 4) {
		pktgen_ipv4(g, &ip);
	} else {
		pktgen_ipv6(g, &ip);
		for (int i = 0; i < s->n_ext; i++) {
			if (s->ext[i] == 44) {
				size_t at = g->len;

				pktgen_ipv6_frag(g, 0, false);
				pktgen_put16(g->buf + at + 2, s->ip6_frag); /* raw, reserved bits too */
			} else {
				pktgen_ipv6_ext(g, s->ext[i], ext_len(s->ext[i]));
			}
		}
	}
	if (s->proto != 6)
		pktgen_next_proto(g, s->proto); /* TCP-shaped bytes under another protocol */
	pktgen_tcp(g, &t);
	pktgen_data(g, s->payload, s->plen);
	pktgen_finish(g);
}

/* The frame begun in g (its link layer pushed): returns where IP starts. */
static size_t frame_done(struct pktgen *g, struct frame *f, const struct tcp_spec *s)
{
	push_ip(g, s);
	f->n = g->len;
	return g->l3;
}

static struct pktgen *frame_begin(struct pktgen *g, struct frame *f)
{
	pktgen_init(g, f->b, sizeof(f->b));
	return g;
}

/* Ethernet with the given VLAN TPIDs (outermost first). */
static size_t build_eth(struct frame *f, const struct tcp_spec *s,
			const uint16_t *tpids, int ntags)
{
	struct pktgen g;

	pktgen_eth(frame_begin(&g, f));
	for (int i = 0; i < ntags; i++)
		pktgen_vlan(&g, tpids[i], (uint16_t)(100 + i));
	return frame_done(&g, f, s);
}

static size_t build_sll(struct frame *f, const struct tcp_spec *s, uint16_t pkttype)
{
	struct pktgen g;

	pktgen_sll(frame_begin(&g, f), pkttype);
	return frame_done(&g, f, s);
}

static size_t build_sll2(struct frame *f, const struct tcp_spec *s,
			 uint8_t pkttype, uint32_t ifindex)
{
	struct pktgen g;

	pktgen_sll2(frame_begin(&g, f), pkttype, ifindex);
	return frame_done(&g, f, s);
}

static size_t build_null(struct frame *f, const struct tcp_spec *s,
			 uint32_t af, int big_endian)
{
	struct pktgen g;

	pktgen_null(frame_begin(&g, f), af, big_endian);
	return frame_done(&g, f, s);
}

static size_t build_raw(struct frame *f, const struct tcp_spec *s)
{
	struct pktgen g;

	return frame_done(frame_begin(&g, f), f, s);
}

/* Parses f (first caplen bytes, wire length wirelen) from a guarded copy. */
static int parse_guarded(int linktype, const struct frame *f, size_t caplen,
			 size_t wirelen, struct wst_record *rec,
			 size_t *payload_off)
{
	struct guard_buf g;
	const uint8_t *data = guard_copy(&g, f->b, caplen);
	const uint8_t *payload = NULL;
	int rc;

	rc = pkt_parse_frame(linktype, data, (uint32_t)caplen,
			     (uint32_t)wirelen, rec, &payload);
	if (rc == 0) {
		/* The payload lies inside the captured bytes. */
		assert_non_null(payload);
		assert_true(payload >= data);
		assert_true(payload + rec->cap_len <= data + caplen);
		assert_true(rec->cap_len <= rec->payload_len);
		assert_memory_equal(payload, f->b + (payload - data),
				    rec->cap_len);
		if (payload_off)
			*payload_off = (size_t)(payload - data);
	}
	guard_free(&g);
	return rc;
}

static void check_rec(const struct wst_record *r, const struct tcp_spec *s,
		      uint8_t dir, uint32_t ifindex)
{
	uint8_t zero[16] = { 0 };
	size_t alen = s->family == 4 ? 4 : 16;

	assert_int_equal(r->version, WST_RECORD_VERSION);
	assert_int_equal(r->hdr_len, sizeof(struct wst_record));
	assert_int_equal(r->ifindex, ifindex);
	assert_int_equal(r->ts_ns, 0);
	assert_int_equal(r->family, s->family);
	assert_int_equal(r->dir, dir);
	assert_int_equal(r->tcp_flags, s->flags);
	assert_int_equal(r->tcp_doff, 20 + s->tcp_optlen);
	assert_memory_equal(r->saddr, s->saddr, alen);
	assert_memory_equal(r->daddr, s->daddr, alen);
	assert_memory_equal(r->saddr + alen, zero, 16 - alen);
	assert_memory_equal(r->daddr + alen, zero, 16 - alen);
	assert_int_equal(r->sport, s->sport);
	assert_int_equal(r->dport, s->dport);
	assert_int_equal(r->seq, s->seq);
	assert_int_equal(r->ack, s->ack);
	assert_int_equal(r->window, s->win);
}

/* A whole frame parses into the spec's record with the whole payload. */
static void expect_ok(int linktype, const struct frame *f, size_t link_hlen,
		      const struct tcp_spec *s, uint8_t dir, uint32_t ifindex)
{
	struct wst_record r;
	size_t off = 0;

	assert_int_equal(parse_guarded(linktype, f, f->n, f->n, &r, &off), 0);
	check_rec(&r, s, dir, ifindex);
	assert_int_equal(r.payload_len, s->plen);
	assert_int_equal(r.cap_len, s->plen);
	assert_int_equal(off, link_hlen + spec_hdrs(s));
	assert_memory_equal(f->b + off, s->payload, s->plen);
}

static int parse_err(int linktype, const struct frame *f)
{
	struct wst_record r;

	return parse_guarded(linktype, f, f->n, f->n, &r, NULL);
}

/*
 * Every snapshot length from 0 to the whole frame: a cut header is
 * PKT_ERR_TRUNCATED, a cut payload gives a smaller cap_len.
 */
static void expect_truncations(int linktype, const struct frame *f,
			       size_t link_hlen, const struct tcp_spec *s,
			       uint8_t dir, uint32_t ifindex)
{
	size_t hdrs = link_hlen + spec_hdrs(s);

	assert_true(f->n == hdrs + s->plen);
	for (size_t caplen = 0; caplen <= f->n; caplen++) {
		struct wst_record r;
		int rc = parse_guarded(linktype, f, caplen, f->n, &r, NULL);

		if (caplen < hdrs) {
			if (rc != PKT_ERR_TRUNCATED)
				fail_msg("linktype %d caplen %zu: rc %d",
					 linktype, caplen, rc);
			continue;
		}
		assert_int_equal(rc, 0);
		check_rec(&r, s, dir, ifindex);
		assert_int_equal(r.payload_len, s->plen);
		assert_int_equal(r.cap_len, caplen - hdrs);
	}
}

static void test_ethernet_ipv4(void **state)
{
	struct tcp_spec s = spec4();
	struct frame f;
	size_t l = build_eth(&f, &s, NULL, 0);

	(void)state;
	expect_ok(1, &f, l, &s, WST_DIR_FILE, 0);
	expect_truncations(1, &f, l, &s, WST_DIR_FILE, 0);
}

static void test_ethernet_ipv6(void **state)
{
	struct tcp_spec s = spec6();
	struct frame f;
	size_t l = build_eth(&f, &s, NULL, 0);

	(void)state;
	expect_ok(1, &f, l, &s, WST_DIR_FILE, 0);
	expect_truncations(1, &f, l, &s, WST_DIR_FILE, 0);
}

static void test_ipv4_options_tcp_options(void **state)
{
	struct tcp_spec s = spec4();
	struct frame f;
	size_t l;

	(void)state;
	s.ip_optlen = 12;
	s.tcp_optlen = 12; /* e.g. NOP NOP timestamps */
	l = build_eth(&f, &s, NULL, 0);
	expect_ok(1, &f, l, &s, WST_DIR_FILE, 0);
	expect_truncations(1, &f, l, &s, WST_DIR_FILE, 0);

	/* The largest headers: IHL 15, doff 15. */
	s.ip_optlen = 40;
	s.tcp_optlen = 40;
	l = build_eth(&f, &s, NULL, 0);
	expect_ok(1, &f, l, &s, WST_DIR_FILE, 0);
	expect_truncations(1, &f, l, &s, WST_DIR_FILE, 0);
}

static void test_vlan(void **state)
{
	static const uint16_t one[] = { 0x8100 };
	static const uint16_t two[] = { 0x88a8, 0x8100 };
	static const uint16_t many[] = { 0x8100, 0x8100, 0x8100, 0x8100, 0x8100 };
	struct tcp_spec s4 = spec4(), s6 = spec6();
	struct frame f;
	size_t l;

	(void)state;
	l = build_eth(&f, &s4, one, 1);
	assert_int_equal(l, 18);
	expect_ok(1, &f, l, &s4, WST_DIR_FILE, 0);
	expect_truncations(1, &f, l, &s4, WST_DIR_FILE, 0);

	l = build_eth(&f, &s6, two, 2);
	assert_int_equal(l, 22);
	expect_ok(1, &f, l, &s6, WST_DIR_FILE, 0);
	expect_truncations(1, &f, l, &s6, WST_DIR_FILE, 0);

	/* WST_MAX_VLAN_TAGS tags are followed, one more is not. */
	l = build_eth(&f, &s4, many, WST_MAX_VLAN_TAGS);
	expect_ok(1, &f, l, &s4, WST_DIR_FILE, 0);
	build_eth(&f, &s4, many, WST_MAX_VLAN_TAGS + 1);
	assert_int_equal(parse_err(1, &f), PKT_ERR_MALFORMED);
}

static void test_ethernet_padding(void **state)
{
	struct tcp_spec s = spec4();
	struct frame f;
	struct wst_record r;
	size_t l;

	(void)state;
	/* A bare ACK is 54 bytes; Ethernet pads it to 60. */
	s.flags = WST_TCP_ACK;
	s.plen = 0;
	l = build_eth(&f, &s, NULL, 0);
	assert_int_equal(f.n, 54);
	put(&f, "\0\0\0\0\0\0", 6);
	assert_int_equal(parse_guarded(1, &f, f.n, f.n, &r, NULL), 0);
	check_rec(&r, &s, WST_DIR_FILE, 0);
	assert_int_equal(r.payload_len, 0);
	assert_int_equal(r.cap_len, 0);

	/* Same with 3 bytes of payload and padding, IPv6 too. */
	s.payload = (const uint8_t *)"abc";
	s.plen = 3;
	l = build_eth(&f, &s, NULL, 0);
	put(&f, "\xee\xee\xee", 3);
	assert_int_equal(parse_guarded(1, &f, f.n, f.n, &r, NULL), 0);
	assert_int_equal(r.payload_len, 3);
	assert_int_equal(r.cap_len, 3);

	s = spec6();
	s.plen = 2;
	l = build_eth(&f, &s, NULL, 0);
	put(&f, "\xee\xee\xee\xee", 4);
	assert_int_equal(parse_guarded(1, &f, f.n, f.n, &r, NULL), 0);
	assert_int_equal(r.payload_len, 2);
	assert_int_equal(r.cap_len, 2);
	(void)l;
}

static void test_linux_sll(void **state)
{
	struct tcp_spec s4 = spec4(), s6 = spec6();
	struct frame f;
	size_t l;

	(void)state;
	/* PACKET_HOST (0) is ingress, PACKET_OUTGOING (4) egress. */
	l = build_sll(&f, &s4, 0);
	expect_ok(113, &f, l, &s4, WST_DIR_INGRESS, 0);
	expect_truncations(113, &f, l, &s4, WST_DIR_INGRESS, 0);
	l = build_sll(&f, &s6, 4);
	expect_ok(113, &f, l, &s6, WST_DIR_EGRESS, 0);
	expect_truncations(113, &f, l, &s6, WST_DIR_EGRESS, 0);
	l = build_sll(&f, &s4, 3); /* PACKET_OTHERHOST */
	expect_ok(113, &f, l, &s4, WST_DIR_INGRESS, 0);
}

static void test_linux_sll2(void **state)
{
	struct tcp_spec s4 = spec4(), s6 = spec6();
	struct frame f;
	size_t l;

	(void)state;
	l = build_sll2(&f, &s4, 0, 1);
	expect_ok(276, &f, l, &s4, WST_DIR_INGRESS, 1);
	expect_truncations(276, &f, l, &s4, WST_DIR_INGRESS, 1);
	l = build_sll2(&f, &s6, 4, 0x01020304);
	expect_ok(276, &f, l, &s6, WST_DIR_EGRESS, 0x01020304);
	expect_truncations(276, &f, l, &s6, WST_DIR_EGRESS, 0x01020304);
}

static void test_sll_vlan(void **state)
{
	struct tcp_spec s = spec4();
	struct frame f, g;
	size_t l;

	(void)state;
	/* libpcap puts a stripped VLAN tag back after the cooked header. */
	l = build_sll2(&f, &s, 0, 3);
	g.n = 0;
	put16(&g, 0x8100);
	put(&g, f.b + 2, 18);
	put16(&g, 42);
	put16(&g, 0x0800);
	put(&g, f.b + l, f.n - l);
	expect_ok(276, &g, l + 4, &s, WST_DIR_INGRESS, 3);
	expect_truncations(276, &g, l + 4, &s, WST_DIR_INGRESS, 3);
}

static void test_raw_ip(void **state)
{
	static const int raw_types[] = { 101, 12, 14 };
	struct tcp_spec s4 = spec4(), s6 = spec6();
	struct frame f;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		build_raw(&f, &s4);
		expect_ok(raw_types[i], &f, 0, &s4, WST_DIR_FILE, 0);
		expect_truncations(raw_types[i], &f, 0, &s4, WST_DIR_FILE, 0);
		build_raw(&f, &s6);
		expect_ok(raw_types[i], &f, 0, &s6, WST_DIR_FILE, 0);
		expect_truncations(raw_types[i], &f, 0, &s6, WST_DIR_FILE, 0);
		/* Neither version 4 nor 6. */
		f.b[0] = 0x55;
		assert_int_equal(parse_err(raw_types[i], &f), PKT_ERR_MALFORMED);
	}
}

static void test_linktype_ipv4_ipv6(void **state)
{
	struct tcp_spec s4 = spec4(), s6 = spec6();
	struct frame f;

	(void)state;
	build_raw(&f, &s4);
	expect_ok(228, &f, 0, &s4, WST_DIR_FILE, 0);
	expect_truncations(228, &f, 0, &s4, WST_DIR_FILE, 0);
	/* An IPv4 packet in an IPv6 link type is a version mismatch. */
	assert_int_equal(parse_err(229, &f), PKT_ERR_MALFORMED);

	build_raw(&f, &s6);
	expect_ok(229, &f, 0, &s6, WST_DIR_FILE, 0);
	expect_truncations(229, &f, 0, &s6, WST_DIR_FILE, 0);
	assert_int_equal(parse_err(228, &f), PKT_ERR_MALFORMED);
}

static void test_null_loop(void **state)
{
	static const uint32_t v6_afs[] = { 24, 28, 30 };
	static const int types[] = { 0, 108 };
	struct tcp_spec s4 = spec4(), s6 = spec6();
	struct frame f;
	size_t l;

	(void)state;
	for (size_t t = 0; t < 2; t++) {
		for (int be = 0; be < 2; be++) {
			l = build_null(&f, &s4, 2, be);
			expect_ok(types[t], &f, l, &s4, WST_DIR_FILE, 0);
			expect_truncations(types[t], &f, l, &s4, WST_DIR_FILE, 0);
			for (size_t i = 0; i < 3; i++) {
				l = build_null(&f, &s6, v6_afs[i], be);
				expect_ok(types[t], &f, l, &s6, WST_DIR_FILE, 0);
			}
			expect_truncations(types[t], &f, l, &s6, WST_DIR_FILE, 0);
			/* AF_APPLETALK (16) or anything else is not IP. */
			build_null(&f, &s4, 16, be);
			assert_int_equal(parse_err(types[t], &f), PKT_ERR_NOT_TCP);
		}
	}
}

static void test_ipv6_extension_headers(void **state)
{
	struct tcp_spec s = spec6();
	struct frame f;
	size_t l;

	(void)state;
	/* Hop-by-hop, routing, destination options, atomic fragment. */
	s.n_ext = 4;
	s.ext[0] = 0;
	s.ext[1] = 43;
	s.ext[2] = 60;
	s.ext[3] = 44;
	s.ip6_frag = 0;
	s.tcp_optlen = 12;
	l = build_eth(&f, &s, NULL, 0);
	assert_int_equal(spec_hdrs(&s), 40 + 8 + 8 + 16 + 8 + 32);
	expect_ok(1, &f, l, &s, WST_DIR_FILE, 0);
	expect_truncations(1, &f, l, &s, WST_DIR_FILE, 0);

	/* WST_MAX_IPV6_EXT headers are followed, one more is malformed. */
	s.n_ext = WST_MAX_IPV6_EXT;
	for (int i = 0; i < s.n_ext; i++)
		s.ext[i] = 60;
	l = build_raw(&f, &s);
	expect_ok(101, &f, l, &s, WST_DIR_FILE, 0);
	s.n_ext = WST_MAX_IPV6_EXT + 1;
	s.ext[WST_MAX_IPV6_EXT] = 60;
	build_raw(&f, &s);
	assert_int_equal(parse_err(101, &f), PKT_ERR_MALFORMED);

	/* AH counts its length in 4-octet units, minus 2 (RFC 4302 2.2). */
	s.n_ext = 2;
	s.ext[0] = 0;
	s.ext[1] = 51;
	l = build_eth(&f, &s, NULL, 0);
	assert_int_equal(f.b[l + 40 + 8 + 1], 24 / 4 - 2);
	expect_ok(1, &f, l, &s, WST_DIR_FILE, 0);
	expect_truncations(1, &f, l, &s, WST_DIR_FILE, 0);
	/* ESP: encrypted, whatever follows is not seen. */
	s.n_ext = 1;
	s.ext[0] = 0;
	s.proto = 50;
	build_raw(&f, &s);
	assert_int_equal(parse_err(101, &f), PKT_ERR_NOT_TCP);
	s.proto = 6;

	/* An extension header running past the payload length. */
	s.n_ext = 1;
	s.ext[0] = 0;
	build_raw(&f, &s);
	f.b[41] = 200; /* hdr ext len: 1608 bytes */
	assert_int_equal(parse_err(101, &f), PKT_ERR_MALFORMED);

	/* Extension headers then UDP, ICMPv6, no next header. */
	s.n_ext = 2;
	s.ext[0] = 0;
	s.ext[1] = 60;
	s.proto = 17;
	build_raw(&f, &s);
	assert_int_equal(parse_err(101, &f), PKT_ERR_NOT_TCP);
	s.proto = 58;
	build_raw(&f, &s);
	assert_int_equal(parse_err(101, &f), PKT_ERR_NOT_TCP);
	s.proto = 59;
	build_raw(&f, &s);
	assert_int_equal(parse_err(101, &f), PKT_ERR_NOT_TCP);
}

/* The parse of a fragment: PKT_ERR_FRAGMENT, and the ports if it has them. */
static void expect_fragment(int linktype, const struct frame *f,
			    const struct tcp_spec *s, bool attributable)
{
	struct wst_record r;

	assert_int_equal(parse_guarded(linktype, f, f->n, f->n, &r, NULL),
			 PKT_ERR_FRAGMENT);
	if (!attributable) {
		assert_int_equal(r.family, 0);
		return;
	}
	assert_int_equal(r.family, s->family);
	assert_memory_equal(r.saddr, s->saddr, s->family == 4 ? 4 : 16);
	assert_memory_equal(r.daddr, s->daddr, s->family == 4 ? 4 : 16);
	assert_int_equal(r.sport, s->sport);
	assert_int_equal(r.dport, s->dport);
}

static void test_fragments(void **state)
{
	struct tcp_spec s = spec4();
	struct frame f;
	size_t l;

	(void)state;
	s.ip4_frag = 0x2000; /* MF, offset 0: first fragment */
	build_raw(&f, &s);
	expect_fragment(101, &f, &s, true);
	/* ...holding only the ports: still counted; without them, not. */
	f.n = 20 + 4;
	set16(&f, 2, 24);
	expect_fragment(101, &f, &s, true);
	f.n = 20 + 3;
	set16(&f, 2, 23);
	expect_fragment(101, &f, &s, false);
	s.ip4_frag = 0x0010; /* offset 128 bytes, last fragment */
	build_raw(&f, &s);
	expect_fragment(101, &f, &s, false);
	s.ip4_frag = 0x2010; /* a middle fragment */
	build_raw(&f, &s);
	expect_fragment(101, &f, &s, false);
	s.ip4_frag = 0x0000; /* no DF, not a fragment */
	l = build_raw(&f, &s);
	expect_ok(101, &f, l, &s, WST_DIR_FILE, 0);

	s = spec6();
	s.n_ext = 1;
	s.ext[0] = 44;
	s.ip6_frag = 0x0001; /* offset 0, M set: the chain goes on to TCP */
	build_raw(&f, &s);
	expect_fragment(101, &f, &s, true);
	s.n_ext = 3; /* hop-by-hop, fragment, destination options */
	s.ext[0] = 0;
	s.ext[1] = 44;
	s.ext[2] = 60;
	build_eth(&f, &s, NULL, 0);
	expect_fragment(1, &f, &s, true);
	s.n_ext = 1;
	s.ext[0] = 44;
	s.ip6_frag = 0x0100; /* offset 32 units, M clear */
	build_raw(&f, &s);
	expect_fragment(101, &f, &s, false);
	s.ip6_frag = 0x0101; /* a middle fragment */
	build_raw(&f, &s);
	expect_fragment(101, &f, &s, false);
	s.ip6_frag = 0x0006; /* reserved bits only: a whole packet */
	l = build_raw(&f, &s);
	expect_ok(101, &f, l, &s, WST_DIR_FILE, 0);
}

static void test_bogus_ipv4(void **state)
{
	struct tcp_spec s = spec4();
	struct frame f;
	size_t l = build_eth(&f, &s, NULL, 0);
	struct frame g;

	(void)state;
	/* IHL below 5. */
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		g = f;
		g.b[l] = (uint8_t)(0x40 | ihl);
		assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	}
	/* Version 6 behind ethertype IPv4, version 5. */
	g = f;
	g.b[l] = 0x65;
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	g.b[l] = 0x55;
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	/* IHL 15 in a frame shorter than 60 IP bytes. */
	s.plen = 0;
	l = build_eth(&f, &s, NULL, 0);
	g = f;
	g.b[l] = 0x4f;
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	/* Total length smaller than the IP header, than IP + TCP headers. */
	s = spec4();
	l = build_eth(&f, &s, NULL, 0);
	g = f;
	set16(&g, l + 2, 19);
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	set16(&g, l + 2, 39);
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	/* Total length larger than the frame on the wire. */
	set16(&g, l + 2, (uint16_t)(f.n - l + 1));
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	/* ...but fine when the frame was only cut by the snapshot. */
	{
		struct wst_record r;

		set16(&g, l + 2, (uint16_t)(f.n - l + 100));
		assert_int_equal(parse_guarded(1, &g, g.n, g.n + 100, &r, NULL), 0);
		assert_int_equal(r.payload_len, s.plen + 100);
		assert_int_equal(r.cap_len, s.plen);
	}
	/* TCP data offset below 5, and beyond the segment. */
	for (uint8_t doff = 0; doff < 5; doff++) {
		g = f;
		g.b[l + 20 + 12] = (uint8_t)(doff << 4);
		assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	}
	s.plen = 10;
	l = build_eth(&f, &s, NULL, 0);
	g = f;
	g.b[l + 20 + 12] = 0xf0; /* 60 > 20 + 10 */
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	g.b[l + 20 + 12] = 0x70; /* 28 <= 30: options eat the payload */
	{
		struct wst_record r;

		assert_int_equal(parse_guarded(1, &g, g.n, g.n, &r, NULL), 0);
		assert_int_equal(r.tcp_doff, 28);
		assert_int_equal(r.payload_len, 2);
	}
}

static void test_bogus_ipv6(void **state)
{
	struct tcp_spec s = spec6();
	struct frame f, g;
	size_t l = build_eth(&f, &s, NULL, 0);

	(void)state;
	g = f;
	g.b[l] = 0x45; /* version 4 behind ethertype IPv6 */
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	/* Payload length too small for the TCP header, larger than the wire. */
	g = f;
	set16(&g, l + 4, 19);
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	set16(&g, l + 4, (uint16_t)(f.n - l - 40 + 1));
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
	/* Doff beyond the payload length. */
	s.plen = 0;
	l = build_eth(&f, &s, NULL, 0);
	g = f;
	g.b[l + 40 + 12] = 0x60;
	assert_int_equal(parse_err(1, &g), PKT_ERR_MALFORMED);
}

static void test_gso_zero_length(void **state)
{
	static uint8_t big[3000];
	struct tcp_spec s = spec4();
	struct frame f;
	struct wst_record r;
	size_t l, hdrs;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	s.payload = big;
	s.plen = sizeof(big);
	l = build_eth(&f, &s, NULL, 0);
	hdrs = l + spec_hdrs(&s);
	set16(&f, l + 2, 0); /* tot_len 0: super-packet captured before TSO */
	/* 100 payload bytes captured of 70000 on the wire. */
	assert_int_equal(parse_guarded(1, &f, hdrs + 100, hdrs + 70000, &r, NULL), 0);
	check_rec(&r, &s, WST_DIR_FILE, 0);
	assert_int_equal(r.payload_len, 70000);
	assert_int_equal(r.cap_len, 100);

	s = spec6();
	s.payload = big;
	s.plen = sizeof(big);
	l = build_sll2(&f, &s, 4, 2);
	hdrs = l + spec_hdrs(&s);
	set16(&f, l + 4, 0); /* payload length 0: jumbogram / BIG TCP */
	assert_int_equal(parse_guarded(276, &f, f.n, hdrs + 200000, &r, NULL), 0);
	check_rec(&r, &s, WST_DIR_EGRESS, 2);
	assert_int_equal(r.payload_len, 200000);
	assert_int_equal(r.cap_len, sizeof(big));
}

static void test_not_tcp(void **state)
{
	struct tcp_spec s = spec4();
	struct frame f, g;
	size_t l;

	(void)state;
	/* UDP, ICMP in IPv4. */
	s.proto = 17;
	build_eth(&f, &s, NULL, 0);
	assert_int_equal(parse_err(1, &f), PKT_ERR_NOT_TCP);
	s.proto = 1;
	build_raw(&f, &s);
	assert_int_equal(parse_err(228, &f), PKT_ERR_NOT_TCP);
	/* A UDP fragment is still not TCP. */
	s.proto = 17;
	s.ip4_frag = 0x2000;
	build_raw(&f, &s);
	assert_int_equal(parse_err(101, &f), PKT_ERR_NOT_TCP);

	/* ARP, an 802.3 length field, LLDP. */
	s = spec4();
	l = build_eth(&f, &s, NULL, 0);
	g = f;
	set16(&g, 12, 0x0806);
	assert_int_equal(parse_err(1, &g), PKT_ERR_NOT_TCP);
	set16(&g, 12, 46);
	assert_int_equal(parse_err(1, &g), PKT_ERR_NOT_TCP);
	build_sll2(&g, &s, 0, 1);
	set16(&g, 0, 0x88cc);
	assert_int_equal(parse_err(276, &g), PKT_ERR_NOT_TCP);
	build_sll(&g, &s, 0);
	set16(&g, 14, 0x0806);
	assert_int_equal(parse_err(113, &g), PKT_ERR_NOT_TCP);
	(void)l;
}

static void test_linktype_unsupported(void **state)
{
	struct tcp_spec s = spec4();
	struct frame f;

	(void)state;
	build_raw(&f, &s);
	assert_int_equal(parse_err(147, &f), PKT_ERR_LINKTYPE); /* USER0 */
	assert_int_equal(parse_err(189, &f), PKT_ERR_LINKTYPE); /* USB_LINUX */
	assert_int_equal(parse_err(-1, &f), PKT_ERR_LINKTYPE);
	assert_false(pkt_parse_linktype_supported(189));
	assert_true(pkt_parse_linktype_supported(276));
	assert_true(pkt_parse_linktype_supported(1));
	assert_true(pkt_parse_linktype_supported(0));
}

static void test_strerror(void **state)
{
	static const int errs[] = {
		PKT_ERR_NOT_TCP, PKT_ERR_TRUNCATED, PKT_ERR_MALFORMED,
		PKT_ERR_FRAGMENT, PKT_ERR_LINKTYPE,
	};

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		assert_non_null(pkt_parse_strerror(errs[i]));
		assert_string_not_equal(pkt_parse_strerror(errs[i]),
					pkt_parse_strerror(-100));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(pkt_parse_strerror(errs[i]),
						pkt_parse_strerror(errs[j]));
	}
	assert_non_null(pkt_parse_strerror(-100));
}

/* Random byte flips of valid frames: any result, but no over-read. */
static void test_mutations(void **state)
{
	static const int types[] = { 1, 113, 276, 101, 228, 229, 0 };
	struct tcp_spec s;
	struct frame base[7], g;
	uint32_t seed = 12345;

	(void)state;
	s = spec6();
	s.n_ext = 2;
	s.ext[0] = 0;
	s.ext[1] = 44;
	s.tcp_optlen = 8;
	s.plen = 16;
	build_eth(&base[0], &s, (const uint16_t[]){ 0x8100 }, 1);
	build_sll(&base[1], &s, 4);
	build_sll2(&base[2], &s, 0, 7);
	build_raw(&base[3], &s);
	s = spec4();
	s.ip_optlen = 4;
	s.tcp_optlen = 4;
	s.plen = 16;
	build_raw(&base[4], &s);
	build_raw(&base[5], &s);
	build_null(&base[6], &s, 2, 0);

	for (int iter = 0; iter < 20000; iter++) {
		size_t k = (size_t)iter % 7;
		size_t caplen;
		struct wst_record r;
		int rc;

		g = base[k];
		for (int m = 0; m < 3; m++) {
			seed = seed * 1103515245 + 12345;
			g.b[(seed >> 8) % g.n] ^= (uint8_t)(1u << ((seed >> 4) & 7));
		}
		seed = seed * 1103515245 + 12345;
		caplen = (seed >> 8) % (g.n + 1);
		rc = parse_guarded(types[k], &g, caplen, g.n, &r, NULL);
		assert_true(rc <= 0 && rc >= PKT_ERR_LINKTYPE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet_ipv4),
		cmocka_unit_test(test_ethernet_ipv6),
		cmocka_unit_test(test_ipv4_options_tcp_options),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_ethernet_padding),
		cmocka_unit_test(test_linux_sll),
		cmocka_unit_test(test_linux_sll2),
		cmocka_unit_test(test_sll_vlan),
		cmocka_unit_test(test_raw_ip),
		cmocka_unit_test(test_linktype_ipv4_ipv6),
		cmocka_unit_test(test_null_loop),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_bogus_ipv4),
		cmocka_unit_test(test_bogus_ipv6),
		cmocka_unit_test(test_gso_zero_length),
		cmocka_unit_test(test_not_tcp),
		cmocka_unit_test(test_linktype_unsupported),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
