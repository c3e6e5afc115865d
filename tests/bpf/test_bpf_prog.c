// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_bpf_prog.c - the TC capture programs on crafted frames through
 * BPF_PROG_TEST_RUN, then user/sources/capture.c attached to real interfaces (lo and
 * a veth pair) in a network namespace of this process's own.
 *
 * Needs root. Outside CI a non-root run skips; under CI=true it fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_packet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"
#include "sources/capture.h"
#include "sources/clsact.h"
#include "pktgen.h"
#include "wstrace.skel.h"
#include "bpf_kit.h" /* after the skeleton */

#define WS_PORT 7272
#define TC_ACT_UNSPEC_U32 0xffffffffu
#define MAX_RECS 16

struct rec_copy {
	size_t size;
	struct wst_record r;
	uint8_t payload[4096];
};

struct collector {
	int n;
	struct rec_copy recs[MAX_RECS];
};

struct loaded {
	struct wstrace_bpf *skel;
	struct ring_buffer *rb;
	struct collector col;
};

static struct loaded g_full;  /* snaplen 0 */
static struct loaded g_snap;  /* snaplen 10 */
static const char *g_load_error;

static void need_kernel(void)
{
	if (!g_full.skel || !g_snap.skel)
		kit_no_kernel(g_load_error);
}

static int collect(void *ctx, void *data, size_t size)
{
	struct collector *col = ctx;
	struct rec_copy *rc;

	if (col->n >= MAX_RECS)
		return 0;
	rc = &col->recs[col->n++];
	rc->size = size;
	memcpy(&rc->r, data, size < sizeof(rc->r) ? size : sizeof(rc->r));
	if (size > sizeof(rc->r)) {
		size_t more = size - sizeof(rc->r);

		memcpy(rc->payload, (uint8_t *)data + sizeof(rc->r),
		       more < sizeof(rc->payload) ? more : sizeof(rc->payload));
	}
	return 0;
}

static int load(struct loaded *l, uint32_t snaplen)
{
	return kit_load(&l->skel, &l->rb, snaplen, WS_PORT, collect, &l->col);
}

static void unload(struct loaded *l)
{
	ring_buffer__free(l->rb);
	wstrace_bpf__destroy(l->skel);
	memset(l, 0, sizeof(*l));
}

/* Runs the program on a frame; asserts the packet passes. Returns records. */
static int run_prog(struct loaded *l, struct bpf_program *prog,
		    const uint8_t *frame, size_t len)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
			    .data_size_in = len, .repeat = 1);
	int err;

	l->col.n = 0;
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (err)
		fail_msg("test run of a %zu-byte frame: %s", len, strerror(-err));
	assert_int_equal(opts.retval, TC_ACT_UNSPEC_U32);
	ring_buffer__consume(l->rb);
	return l->col.n;
}

static int run_in(struct loaded *l, const uint8_t *frame, size_t len)
{
	return run_prog(l, l->skel->progs.tc_ingress, frame, len);
}

static void counters(struct loaded *l, struct wst_counters *out)
{
	kit_counters(bpf_map__fd(l->skel->maps.counters), out);
}

/* ---- frame builder ---- */

struct spec {
	int family;        /* 4 or 6 */
	int n_vlan;        /* tags in the frame */
	int ip_opt;        /* IPv4 option bytes, multiple of 4 */
	int v6_ext;        /* IPv6 extension headers (hop-by-hop, then dest opts) */
	bool v6_frag;      /* add a fragment header */
	uint16_t frag_off; /* fragment offset in 8-byte units */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	int tcp_opt;       /* TCP option bytes, multiple of 4 */
	const void *payload;
	size_t plen;
	size_t pad_to;     /* Ethernet minimum-size padding */
};

struct built {
	size_t len, l3, l4, pl;
};

#define v4_src pktgen_v4_default.saddr
#define v4_dst pktgen_v4_default.daddr
#define v6_src pktgen_v6_default.saddr
#define v6_dst pktgen_v6_default.daddr

static struct built build(uint8_t *buf, const struct spec *s)
{
	struct pktgen_ip ip = s->family == 4 ? pktgen_v4_default : pktgen_v6_default;
	struct pktgen_tcp t = {
		.sport = s->sport, .dport = s->dport, .seq = s->seq, .ack = s->ack,
		.flags = s->flags, .win = s->win, .optlen = s->tcp_opt,
	};
	struct built b = { 0 };
	struct pktgen g;
	int i;

	pktgen_init(&g, buf, 4096);
	pktgen_eth(&g);
	for (i = 0; i < s->n_vlan; i++) /* outer tag 802.1ad when there are two */
		pktgen_vlan(&g, i == 0 && s->n_vlan == 2 ? 0x88a8 : 0x8100, 100 + i);
	if (s->family == 4) {
		ip.frag = s->frag_off;
		ip.optlen = s->ip_opt;
		pktgen_ipv4(&g, &ip);
	} else {
		pktgen_ipv6(&g, &ip);
		for (i = 0; i < s->v6_ext; i++) /* hop-by-hop, then dest opts */
			pktgen_ipv6_ext(&g, i == 0 ? 0 : 60, 8);
		if (s->v6_frag)
			pktgen_ipv6_frag(&g, s->frag_off, false);
	}
	pktgen_tcp(&g, &t);
	pktgen_data(&g, s->payload, s->plen);
	pktgen_finish(&g);
	b.l3 = g.l3;
	b.l4 = g.l4;
	b.pl = g.payload;
	b.len = pktgen_pad(&g, s->pad_to);
	return b;
}

static const char hello[] = "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";

static struct spec base4(void)
{
	struct spec s = {
		.family = 4, .sport = 60653, .dport = WS_PORT,
		.seq = 0x01020304, .ack = 0xa0b0c0d0,
		.flags = WST_TCP_PSH | WST_TCP_ACK, .win = 512,
		.payload = hello, .plen = sizeof(hello) - 1,
	};
	return s;
}

static void check_rec(const struct rec_copy *rc, const struct spec *s, int dir)
{
	const struct wst_record *r = &rc->r;
	struct wst_packet pkt;

	assert_true(rc->size >= sizeof(*r) + r->cap_len);
	assert_int_equal(capture_parse_record(r, rc->size, 0, &pkt), 0);
	assert_int_equal(r->version, WST_RECORD_VERSION);
	assert_int_equal(r->hdr_len, sizeof(*r));
	assert_int_equal(r->family, s->family);
	assert_int_equal(r->dir, dir);
	assert_true(r->ts_ns > 0);
	if (s->family == 4) {
		assert_memory_equal(r->saddr, v4_src, 4);
		assert_memory_equal(r->daddr, v4_dst, 4);
	} else {
		assert_memory_equal(r->saddr, v6_src, 16);
		assert_memory_equal(r->daddr, v6_dst, 16);
	}
	assert_int_equal(r->sport, s->sport);
	assert_int_equal(r->dport, s->dport);
	assert_int_equal(r->seq, s->seq);
	assert_int_equal(r->ack, s->ack);
	assert_int_equal(r->tcp_flags, s->flags);
	assert_int_equal(r->window, s->win);
	assert_int_equal(r->tcp_doff, 20 + s->tcp_opt);
	assert_int_equal(r->payload_len, s->plen);
	assert_int_equal(r->kind, WST_REC_PACKET);
	assert_int_equal(r->_pad1, 0);
}

static void check_full(const struct rec_copy *rc, const struct spec *s, int dir)
{
	check_rec(rc, s, dir);
	assert_int_equal(rc->r.cap_len, s->plen);
	if (s->plen)
		assert_memory_equal(rc->payload, s->payload, s->plen);
}

/*
 * Ring space of a record with cap payload bytes: exact up to 256 bytes, then
 * the power-of-two size class from 512 up.
 */
static size_t rec_size(size_t cap)
{
	size_t room = 512;

	if (cap <= 256)
		return sizeof(struct wst_record) + cap;
	while (room < cap)
		room *= 2;
	return sizeof(struct wst_record) + room;
}

/* ---- BPF_PROG_TEST_RUN tests ---- */

static void test_ipv4_payload(void **state)
{
	struct spec s = base4();
	uint8_t buf[4096];
	struct built b;

	(void)state;
	need_kernel();
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);
	/* A short payload takes its own size in the ring, not 4 KiB. */
	assert_int_equal(g_full.col.recs[0].size,
			 sizeof(struct wst_record) + s.plen);

	/* Source port matches too, and the egress program says egress. */
	s.sport = WS_PORT;
	s.dport = 40000;
	b = build(buf, &s);
	assert_int_equal(run_prog(&g_full, g_full.skel->progs.tc_egress, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_EGRESS);
}

static void test_size_classes(void **state)
{
	static uint8_t big[3000];
	struct spec s = base4();
	uint8_t buf[4096];
	size_t lens[] = { 0, 1, 64, 65, 128, 129, 255, 256, 257, 511, 512, 513,
			  1024, 1025, 2048, 2049, 2900 };
	size_t i;
	struct built b;

	(void)state;
	need_kernel();
	for (i = 0; i < sizeof(big); i++)
		big[i] = i * 7 + 3;
	s.payload = big;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		s.plen = lens[i];
		s.flags = WST_TCP_ACK;
		b = build(buf, &s);
		assert_int_equal(run_in(&g_full, buf, b.len), 1);
		check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);
		/* A bare ACK is a bare header: ring space follows cap_len. */
		assert_int_equal(g_full.col.recs[0].size, rec_size(s.plen));
		assert_int_equal(g_full.col.recs[0].size,
				 s.plen <= 256 ? sizeof(struct wst_record) + s.plen :
				 s.plen <= 512 ? sizeof(struct wst_record) + 512 :
				 s.plen <= 1024 ? sizeof(struct wst_record) + 1024 :
				 s.plen <= 2048 ? sizeof(struct wst_record) + 2048 :
						  sizeof(struct wst_record) + 4096);
	}
}

static void test_ipv6_ext(void **state)
{
	struct spec s = base4();
	uint8_t buf[4096];
	struct built b;

	(void)state;
	need_kernel();
	s.family = 6;
	s.v6_ext = 2;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);

	/* First fragment carries the TCP header. */
	s.v6_frag = true;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);

	/* A non-first fragment does not. */
	s.frag_off = 100;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 0);

	/* Too many extension headers to follow. */
	s.v6_frag = false;
	s.frag_off = 0;
	s.v6_ext = WST_MAX_IPV6_EXT + 1;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 0);
}

static void test_vlan(void **state)
{
	struct spec s = base4();
	uint8_t buf[4096];
	struct built b;

	(void)state;
	need_kernel();
	s.n_vlan = 1;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);

	s.n_vlan = 2; /* QinQ */
	s.family = 6;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);
}

static void test_options(void **state)
{
	struct spec s = base4();
	uint8_t buf[4096];
	struct built b;

	(void)state;
	need_kernel();
	s.ip_opt = 8;
	s.tcp_opt = 12;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);

	s.ip_opt = 40; /* IHL 15, TCP doff 15 */
	s.tcp_opt = 40;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);
}

static void test_padding(void **state)
{
	struct spec s = base4();
	uint8_t buf[4096];
	struct built b;

	(void)state;
	need_kernel();
	/* A SYN padded to the Ethernet minimum: the padding is not payload. */
	s.flags = WST_TCP_SYN;
	s.plen = 0;
	s.pad_to = 60;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);
}

/* GSO super-packets (BIG TCP: IPv4 tot_len 0) take their length from skb->len. */
static void test_gso(void **state)
{
	struct __sk_buff ctx = { .gso_segs = 2, .gso_size = 20 }, ctx_out;
	uint8_t out[4096];
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .ctx_out = &ctx_out,
			    .ctx_size_out = sizeof(ctx_out), .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);
	struct spec s = base4();
	uint8_t buf[4096];
	struct built b;
	int fam, err;

	(void)state;
	need_kernel();
	for (fam = 4; fam <= 6; fam += 2) {
		s.family = fam;
		b = build(buf, &s);
		if (fam == 4)
			pktgen_put16(buf + b.l3 + 2, 0);
		else
			pktgen_put16(buf + b.l3 + 4, 0);
		opts.data_in = buf;
		opts.data_size_in = b.len;
		opts.data_size_out = sizeof(out);
		opts.ctx_size_out = sizeof(ctx_out);
		g_full.col.n = 0;
		err = bpf_prog_test_run_opts(
			bpf_program__fd(g_full.skel->progs.tc_ingress), &opts);
		if (err)
			fail_msg("IPv%d GSO test run: %s", fam, strerror(-err));
		assert_int_equal(opts.retval, TC_ACT_UNSPEC_U32);
		ring_buffer__consume(g_full.rb);
		assert_int_equal(g_full.col.n, 1);
		check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);
	}
}

static void test_snaplen(void **state)
{
	struct wst_counters c0, c1;
	struct spec s = base4();
	uint8_t buf[4096];
	struct built b;

	(void)state;
	need_kernel();
	counters(&g_snap, &c0);
	b = build(buf, &s);
	assert_int_equal(run_in(&g_snap, buf, b.len), 1);
	check_rec(&g_snap.col.recs[0], &s, WST_DIR_INGRESS);
	assert_int_equal(g_snap.col.recs[0].r.cap_len, 10);
	assert_memory_equal(g_snap.col.recs[0].payload, hello, 10);
	assert_int_equal(g_snap.col.recs[0].size, sizeof(struct wst_record) + 10);
	counters(&g_snap, &c1);
	assert_int_equal(c1.v[WST_CNT_TRUNCATED], c0.v[WST_CNT_TRUNCATED] + 1);

	/* Shorter than snaplen: whole, not counted as truncated. */
	s.plen = 5;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_snap, buf, b.len), 1);
	check_full(&g_snap.col.recs[0], &s, WST_DIR_INGRESS);
	counters(&g_snap, &c0);
	assert_int_equal(c0.v[WST_CNT_TRUNCATED], c1.v[WST_CNT_TRUNCATED]);
}

static void test_other_port(void **state)
{
	struct wst_counters c0, c1;
	struct spec s = base4();
	uint8_t buf[4096];
	struct built b;

	(void)state;
	need_kernel();
	counters(&g_full, &c0);
	s.sport = 50000;
	s.dport = 80;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 0);
	/* The same over IPv6 and with IPv4 options (the loading parsers). */
	s.family = 6;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 0);
	s.family = 4;
	s.ip_opt = 4;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 0);
	counters(&g_full, &c1);
	assert_memory_equal(&c0, &c1, sizeof(c0));

	/* The watched port is the higher one, either side, either family. */
	s = base4();
	s.sport = 443;
	s.dport = WS_PORT;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);
	s.sport = WS_PORT;
	s.dport = 80;
	s.family = 6;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);
}

static void set_port(struct loaded *l, uint32_t port, uint8_t v)
{
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(l->skel->maps.ports),
					     &port, &v, 0), 0);
}

static void test_port_map_runtime(void **state)
{
	struct spec s = base4();
	uint8_t buf[4096];
	struct built b;

	(void)state;
	need_kernel();
	b = build(buf, &s);
	set_port(&g_full, WS_PORT, 0);
	assert_int_equal(run_in(&g_full, buf, b.len), 0);
	set_port(&g_full, WS_PORT, 1);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);

	s.dport = 9000;
	b = build(buf, &s);
	assert_int_equal(run_in(&g_full, buf, b.len), 0);
	set_port(&g_full, 9000, 1);
	assert_int_equal(run_in(&g_full, buf, b.len), 1);
	check_full(&g_full.col.recs[0], &s, WST_DIR_INGRESS);
	set_port(&g_full, 9000, 0);
	assert_int_equal(run_in(&g_full, buf, b.len), 0);
}

static void test_malformed(void **state)
{
	struct wst_counters c0, c1;
	struct spec s = base4();
	uint8_t buf[4096], tmp[4096];
	struct built b;
	size_t cut;

	(void)state;
	need_kernel();
	counters(&g_full, &c0);
	b = build(buf, &s);

	/* Bad IHL (< 5 words). */
	memcpy(tmp, buf, b.len);
	tmp[b.l3] = 0x44;
	assert_int_equal(run_in(&g_full, tmp, b.len), 0);
	/* IHL pointing past the IP total length. */
	tmp[b.l3] = 0x4f;
	pktgen_put16(tmp + b.l3 + 2, 40);
	assert_int_equal(run_in(&g_full, tmp, b.len), 0);
	/* Wrong IP version. */
	memcpy(tmp, buf, b.len);
	tmp[b.l3] = 0x55;
	assert_int_equal(run_in(&g_full, tmp, b.len), 0);
	/* Bad TCP data offset: below 5 words, and past the packet. */
	memcpy(tmp, buf, b.len);
	tmp[b.l4 + 12] = 4 << 4;
	assert_int_equal(run_in(&g_full, tmp, b.len), 0);
	tmp[b.l4 + 12] = 15 << 4;
	pktgen_put16(tmp + b.l3 + 2, 20 + 20 + 10);
	assert_int_equal(run_in(&g_full, tmp, b.l3 + 50), 0);
	/* IP total length beyond the frame. */
	memcpy(tmp, buf, b.len);
	pktgen_put16(tmp + b.l3 + 2, 1400);
	assert_int_equal(run_in(&g_full, tmp, b.len), 0);
	/* IP total length shorter than its own headers. */
	pktgen_put16(tmp + b.l3 + 2, 30);
	assert_int_equal(run_in(&g_full, tmp, b.len), 0);
	/* Not TCP (UDP to the watched port). */
	memcpy(tmp, buf, b.len);
	tmp[b.l3 + 9] = 17;
	assert_int_equal(run_in(&g_full, tmp, b.len), 0);
	/* Non-first IPv4 fragment. */
	memcpy(tmp, buf, b.len);
	pktgen_put16(tmp + b.l3 + 6, 0x2000 | 10);
	assert_int_equal(run_in(&g_full, tmp, b.len), 0);
	/* Truncated at every length through the TCP header. The test run
	 * itself refuses an IP frame shorter than an IP header (-EINVAL). */
	for (cut = 14; cut < b.l4 + 20; cut++) {
		DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = tmp,
				    .data_size_in = cut, .repeat = 1);
		int err;

		memcpy(tmp, buf, cut);
		if (cut > b.l3 + 4)
			pktgen_put16(tmp + b.l3 + 2, cut - b.l3);
		g_full.col.n = 0;
		err = bpf_prog_test_run_opts(
			bpf_program__fd(g_full.skel->progs.tc_ingress), &opts);
		if (err == -EINVAL && cut < b.l3 + 20)
			continue;
		assert_int_equal(err, 0);
		assert_int_equal(opts.retval, TC_ACT_UNSPEC_U32);
		ring_buffer__consume(g_full.rb);
		assert_int_equal(g_full.col.n, 0);
	}
	/* ARP with the watched port's bytes where TCP ports would be. */
	memcpy(tmp, buf, b.len);
	pktgen_put16(tmp + 12, 0x0806);
	assert_int_equal(run_in(&g_full, tmp, b.len), 0);
	/* IPv6 ethertype with an IPv4 header in it. */
	pktgen_put16(tmp + 12, 0x86dd);
	assert_int_equal(run_in(&g_full, tmp, b.len), 0);

	counters(&g_full, &c1);
	assert_memory_equal(&c0, &c1, sizeof(c0));
}

static void test_counters(void **state)
{
	struct wst_counters c0, c1;
	struct spec s = base4();
	uint8_t buf[4096];
	size_t ip_bytes = 0, eg_bytes;
	struct built b;
	uint8_t flags[] = {
		WST_TCP_SYN, WST_TCP_SYN | WST_TCP_ACK, WST_TCP_ACK,
		WST_TCP_FIN | WST_TCP_ACK, WST_TCP_RST, WST_TCP_RST | WST_TCP_ACK,
		WST_TCP_SYN, WST_TCP_PSH | WST_TCP_ACK,
	};
	size_t i;

	(void)state;
	need_kernel();
	counters(&g_full, &c0);
	for (i = 0; i < sizeof(flags); i++) {
		s.flags = flags[i];
		b = build(buf, &s);
		assert_int_equal(run_in(&g_full, buf, b.len), 1);
		ip_bytes += b.len - b.l3;
	}
	s.flags = WST_TCP_FIN | WST_TCP_ACK;
	b = build(buf, &s);
	eg_bytes = b.len - b.l3;
	assert_int_equal(run_prog(&g_full, g_full.skel->progs.tc_egress, buf, b.len), 1);
	counters(&g_full, &c1);

#define DELTA(k) (c1.v[k] - c0.v[k])
	assert_int_equal(DELTA(WST_CNT_PKTS_INGRESS), sizeof(flags));
	assert_int_equal(DELTA(WST_CNT_BYTES_INGRESS), ip_bytes);
	assert_int_equal(DELTA(WST_CNT_PKTS_EGRESS), 1);
	assert_int_equal(DELTA(WST_CNT_BYTES_EGRESS), eg_bytes);
	assert_int_equal(DELTA(WST_CNT_SYN), 2);
	assert_int_equal(DELTA(WST_CNT_SYNACK), 1);
	assert_int_equal(DELTA(WST_CNT_FIN), 2);
	assert_int_equal(DELTA(WST_CNT_RST), 2);
	assert_int_equal(DELTA(WST_CNT_RINGBUF_FULL), 0);
	assert_int_equal(DELTA(WST_CNT_TRUNCATED), 0);
	assert_int_equal(DELTA(WST_CNT_LOAD_ERRORS), 0);
#undef DELTA
}

static struct wst_skip_key skip_key(int family, uint16_t sport, uint16_t dport, bool reverse)
{
	struct wst_skip_key k = { .sport = reverse ? dport : sport, .dport = reverse ? sport : dport };
	size_t n = family == 4 ? 4 : 16;

	memcpy(reverse ? k.daddr : k.saddr, family == 4 ? v4_src : v6_src, n);
	memcpy(reverse ? k.saddr : k.daddr, family == 4 ? v4_dst : v6_dst, n);
	return k;
}

/*
 * --pid/--comm/--cgroup in the kernel: a connection in skip_flows is not
 * copied (but counted) only while owner_filter is set; a SYN on its tuple
 * removes both directions and is copied.
 */
static void test_skip_flows(void **state)
{
	struct loaded *l = &g_full;
	int fd, family;
	uint8_t one = 1, v;
	uint8_t buf[4096];
	struct wst_counters c0, c1;

	(void)state;
	need_kernel();
	fd = bpf_map__fd(l->skel->maps.skip_flows);
	for (family = 4; family <= 6; family += 2) {
		struct spec s = base4();
		struct wst_skip_key k = skip_key(family, s.sport, s.dport, false);
		struct wst_skip_key r = skip_key(family, s.sport, s.dport, true);
		struct built b;

		s.family = family;
		b = build(buf, &s);
		assert_int_equal(bpf_map_update_elem(fd, &k, &one, BPF_ANY), 0);
		assert_int_equal(bpf_map_update_elem(fd, &r, &one, BPF_ANY), 0);
		counters(l, &c0);
		/* no filter set: the map is not looked at */
		assert_int_equal(run_in(l, buf, b.len), 1);
		l->skel->bss->owner_filter = 1;
		assert_int_equal(run_in(l, buf, b.len), 0);
		counters(l, &c1);
		assert_int_equal(c1.v[WST_CNT_FILTERED] - c0.v[WST_CNT_FILTERED], 1);
		assert_int_equal(c1.v[WST_CNT_PKTS_INGRESS] - c0.v[WST_CNT_PKTS_INGRESS], 2);
		/* another connection's packets are copied */
		s.sport++;
		b = build(buf, &s);
		assert_int_equal(run_in(l, buf, b.len), 1);
		s.sport--;
		/* a SYN on the tuple: a new connection, copied, its entries gone */
		s.flags = WST_TCP_SYN;
		s.plen = 0;
		b = build(buf, &s);
		assert_int_equal(run_in(l, buf, b.len), 1);
		assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), -ENOENT);
		assert_int_equal(bpf_map_lookup_elem(fd, &r, &v), -ENOENT);
		s = base4();
		s.family = family;
		b = build(buf, &s);
		assert_int_equal(run_in(l, buf, b.len), 1);
		l->skel->bss->owner_filter = 0;
	}
}

static void test_ringbuf_full(void **state)
{
	struct wst_counters c0, c1;
	struct spec s = base4();
	uint8_t buf[4096];
	struct built b;
	int i, n = 0;

	(void)state;
	need_kernel();
	/* 1 MiB ring, 2128-byte records: the ring fills before 600 runs. */
	static uint8_t big[2000];
	s.payload = big;
	s.plen = sizeof(big);
	b = build(buf, &s);
	counters(&g_full, &c0);
	for (i = 0; i < 600; i++) {
		DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf,
				    .data_size_in = b.len, .repeat = 1);

		assert_int_equal(bpf_prog_test_run_opts(
			bpf_program__fd(g_full.skel->progs.tc_ingress), &opts), 0);
		assert_int_equal(opts.retval, TC_ACT_UNSPEC_U32);
	}
	counters(&g_full, &c1);
	g_full.col.n = 0;
	n = ring_buffer__consume(g_full.rb);
	assert_true(n > 0 && n < 600);
	assert_int_equal(c1.v[WST_CNT_RINGBUF_FULL] - c0.v[WST_CNT_RINGBUF_FULL],
			 600 - n);
}

/* One pass through a hook with both modes attached: records made. */
static int run_pass(struct loaded *l, const uint8_t *frame, size_t len)
{
	int n = run_prog(l, l->skel->progs.tc_ingress, frame, len);

	return n + run_prog(l, l->skel->progs.cls_ingress, frame, len);
}

/*
 * The switch between tcx and clsact (bpf/handoff.bpf.h): with handoff on,
 * the clsact filter of a pass records exactly when the tcx program of the
 * same pass did not; the note is per hook, consumed, and forgotten at a new
 * epoch. Notes are per CPU: the test stays on one.
 */
static void test_handoff(void **state)
{
	struct wstrace_bpf *sk = g_full.skel;
	struct spec s = base4();
	uint8_t buf[4096];
	cpu_set_t one, was;
	struct built b;

	(void)state;
	need_kernel();
	assert_int_equal(sched_getaffinity(0, sizeof(was), &was), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	b = build(buf, &s);

	/* Steady states: each program on its own records. */
	assert_int_equal(run_prog(&g_full, sk->progs.tc_ingress, buf, b.len), 1);
	assert_int_equal(run_prog(&g_full, sk->progs.cls_ingress, buf, b.len), 1);
	sk->bss->tcx_idle = 1;
	assert_int_equal(run_prog(&g_full, sk->progs.tc_ingress, buf, b.len), 0);

	sk->bss->handoff_epoch++;
	sk->bss->handoff = 1;
	/* tcx idle: the filter records. */
	assert_int_equal(run_pass(&g_full, buf, b.len), 1);
	assert_int_equal(g_full.col.n, 1);
	/* tcx records: the filter does not. */
	sk->bss->tcx_idle = 0;
	assert_int_equal(run_prog(&g_full, sk->progs.tc_ingress, buf, b.len), 1);
	assert_int_equal(run_prog(&g_full, sk->progs.cls_ingress, buf, b.len), 0);
	/* The note was consumed: a filter pass without a tcx run records. */
	assert_int_equal(run_prog(&g_full, sk->progs.cls_ingress, buf, b.len), 1);
	/* Another hook's note (egress) does not count for this one. */
	assert_int_equal(run_prog(&g_full, sk->progs.tc_egress, buf, b.len), 1);
	assert_int_equal(run_prog(&g_full, sk->progs.cls_ingress, buf, b.len), 1);
	/* Nested passes: each filter finds its own pass's note. */
	assert_int_equal(run_prog(&g_full, sk->progs.tc_ingress, buf, b.len), 1);
	sk->bss->tcx_idle = 1;
	assert_int_equal(run_pass(&g_full, buf, b.len), 1);
	assert_int_equal(run_prog(&g_full, sk->progs.cls_ingress, buf, b.len), 0);
	/* A new epoch forgets the notes left. */
	sk->bss->tcx_idle = 0;
	assert_int_equal(run_prog(&g_full, sk->progs.tc_ingress, buf, b.len), 1);
	sk->bss->handoff_epoch++;
	assert_int_equal(run_prog(&g_full, sk->progs.cls_ingress, buf, b.len), 1);

	sk->bss->handoff = 0;
	sk->bss->tcx_idle = 0;
	assert_int_equal(sched_setaffinity(0, sizeof(was), &was), 0);
}

/* ---- attach tests: real interfaces in a private network namespace ---- */

static bool g_netns;

struct seen {
	int n, syn, synack, data, veth_in, veth_out;
	int ifa, ifb;
};

static void on_packet(void *ctx, const struct wst_packet *pkt)
{
	struct seen *sn = ctx;
	struct timespec now;
	int64_t diff;

	sn->n++;
	/* Realtime timestamps: within a minute of now. */
	clock_gettime(CLOCK_REALTIME, &now);
	diff = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - (int64_t)pkt->r.ts_ns;
	assert_true(diff >= 0 && diff < 60LL * 1000000000);
	if (pkt->r.tcp_flags == WST_TCP_SYN)
		sn->syn++;
	if (pkt->r.tcp_flags == (WST_TCP_SYN | WST_TCP_ACK))
		sn->synack++;
	if (pkt->r.cap_len == 5 && !memcmp(pkt->payload, "hello", 5))
		sn->data++;
	if (pkt->r.sport == 40404 && pkt->r.ifindex == (uint32_t)sn->ifa &&
	    pkt->r.dir == WST_DIR_EGRESS)
		sn->veth_out++;
	if (pkt->r.sport == 40404 && pkt->r.ifindex == (uint32_t)sn->ifb &&
	    pkt->r.dir == WST_DIR_INGRESS)
		sn->veth_in++;
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	return rc == 0 ? 0 : -1;
}

/* Lines of a command's output that contain needle. */
static int cmd_count(const char *cmd, const char *needle)
{
	char line[512];
	int found = 0;
	FILE *f = popen(cmd, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (getenv("WSTRACE_DEBUG"))
			fprintf(stderr, "%s: %s", cmd, line);
		if (strstr(line, needle))
			found++;
	}
	pclose(f);
	return found;
}

static bool cmd_has(const char *cmd, const char *needle)
{
	return cmd_count(cmd, needle) > 0;
}

/* tcx programs named name on ifname's hook (bpftool 7.1 does not list tcx). */
static int tcx_count(const char *ifname, int attach_type, const char *name)
{
	__u32 ids[16], cnt = 16, flags = 0, i;
	int ifindex = if_nametoindex(ifname), n = 0;

	if (!ifindex)
		return -1;
	if (bpf_prog_query(ifindex, attach_type, 0, &flags, ids, &cnt))
		return errno == ENOENT ? 0 : -errno;
	for (i = 0; i < cnt; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    !strcmp(info.name, name))
			n++;
		close(fd);
	}
	return n;
}

#define TCX_IN 46
#define TCX_OUT 47

static void need_netns(void)
{
	need_kernel();
	if (!g_netns)
		fail_msg("could not set up the test network namespace");
}

/* A TCP exchange on 127.0.0.1:7272 and one raw frame out of wsta. */
static void make_traffic(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(WS_PORT),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_ll ll = { .sll_family = AF_PACKET };
	struct spec s = base4();
	uint8_t buf[4096];
	int l, cl, sv, one = 1, ps;
	struct built b;

	l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	cl = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cl, (struct sockaddr *)&a, sizeof(a)), 0);
	sv = accept(l, NULL, NULL);
	assert_true(sv >= 0);
	assert_int_equal(send(cl, "hello", 5, 0), 5);
	close(cl);
	close(sv);
	close(l);

	ps = socket(AF_PACKET, SOCK_RAW, 0);
	assert_true(ps >= 0);
	ll.sll_ifindex = if_nametoindex("wsta");
	ll.sll_halen = 6;
	s.sport = 40404;
	b = build(buf, &s);
	assert_int_equal(sendto(ps, buf, b.len, 0, (struct sockaddr *)&ll,
				sizeof(ll)), (ssize_t)b.len);
	close(ps);
}

static void poll_until(struct capture *c, struct seen *sn)
{
	int i;

	for (i = 0; i < 40; i++) {
		assert_true(capture_poll(c, 50) >= 0);
		if (sn->syn && sn->synack && sn->data && sn->veth_in && sn->veth_out)
			break;
	}
}

static void attach_mode(bool force_clsact)
{
	const char *ifs[] = { "lo", "wsta", "wstb" };
	const uint16_t ports[] = { WS_PORT };
	struct capture_opts o = {
		.ifaces = ifs, .n_ifaces = 3, .ports = ports, .n_ports = 1,
		.force_clsact = force_clsact,
	};
	struct seen sn = { .ifa = if_nametoindex("wsta"), .ifb = if_nametoindex("wstb") };
	struct wst_counters wc;
	struct capture *c = NULL;

	assert_int_equal(capture_open(&c, &o, on_packet, &sn), 0);
	assert_int_equal(capture_n_attached(c), 5); /* lo: ingress only */
	assert_int_equal(capture_uses_tcx(c), !force_clsact);
	assert_true(capture_epoll_fd(c) >= 0);
	assert_int_equal(capture_netlink_fd(c), -1);
	if (force_clsact) {
		assert_true(cmd_has("tc filter show dev wsta ingress", "cls_ingress"));
		assert_true(cmd_has("tc filter show dev wsta egress", "cls_egress"));
		assert_false(cmd_has("tc filter show dev lo egress", "cls_egress"));
	} else {
		assert_int_equal(tcx_count("wsta", TCX_IN, "tc_ingress"), 1);
		assert_int_equal(tcx_count("wsta", TCX_OUT, "tc_egress"), 1);
		assert_int_equal(tcx_count("wstb", TCX_IN, "tc_ingress"), 1);
		assert_int_equal(tcx_count("lo", TCX_IN, "tc_ingress"), 1);
		assert_int_equal(tcx_count("lo", TCX_OUT, "tc_egress"), 0);
		assert_false(cmd_has("tc qdisc show", "clsact"));
	}

	make_traffic();
	poll_until(c, &sn);
	/* lo is hooked on ingress only: each packet once. */
	assert_int_equal(sn.syn, 1);
	assert_int_equal(sn.synack, 1);
	assert_int_equal(sn.data, 1);
	assert_int_equal(sn.veth_out, 1);
	assert_int_equal(sn.veth_in, 1);
	assert_int_equal(capture_bad_records(c), 0);
	assert_int_equal(capture_read_counters(c, &wc), 0);
	assert_int_equal(wc.v[WST_CNT_PKTS_INGRESS] + wc.v[WST_CNT_PKTS_EGRESS],
			 (uint64_t)sn.n);
	assert_true(wc.v[WST_CNT_SYN] >= 1 && wc.v[WST_CNT_SYNACK] >= 1);

	/* Ports changed at run time: nothing more is seen. */
	assert_int_equal(capture_set_ports(c, NULL, 0), 0);
	memset(&sn, 0, sizeof(sn));
	make_traffic();
	assert_true(capture_poll(c, 100) >= 0);
	assert_int_equal(sn.n, 0);

	capture_close(c);
	assert_int_equal(tcx_count("wsta", TCX_IN, "tc_ingress"), 0);
	assert_int_equal(tcx_count("wsta", TCX_OUT, "tc_egress"), 0);
	assert_int_equal(tcx_count("wstb", TCX_IN, "tc_ingress"), 0);
	assert_int_equal(tcx_count("lo", TCX_IN, "tc_ingress"), 0);
	assert_false(cmd_has("tc filter show dev wsta ingress", "cls_ingress"));
	assert_false(cmd_has("tc qdisc show", "clsact"));
}

/* Batched wakeups: records below the threshold still arrive through poll. */
static void test_wakeup_batch(void **state)
{
	const char *ifs[] = { "lo" };
	const uint16_t ports[] = { WS_PORT };
	struct capture_opts o = {
		.ifaces = ifs, .n_ifaces = 1, .ports = ports, .n_ports = 1,
		.wakeup_bytes = 1 << 20, .snaplen = 3,
	};
	struct seen sn = { 0 };
	struct capture *c = NULL;
	struct wst_counters wc;
	int i;

	(void)state;
	need_netns();
	assert_int_equal(capture_open(&c, &o, on_packet, &sn), 0);
	assert_int_equal(capture_n_attached(c), 1);
	make_traffic();
	for (i = 0; i < 20 && sn.n < 7; i++)
		assert_true(capture_poll(c, 10) >= 0);
	/* SYN, SYN-ACK, ACK, data, ACK, FIN x2, ACK: at least 7. */
	assert_true(sn.n >= 7);
	assert_int_equal(sn.syn, 1);
	assert_int_equal(sn.data, 0); /* 3-byte snaplen: "hel" only */
	assert_int_equal(capture_read_counters(c, &wc), 0);
	assert_true(wc.v[WST_CNT_TRUNCATED] >= 1);
	capture_close(c);
}

struct bulk {
	uint64_t payload, captured, max_cap;
	int bad;
	bool seq_known;
	uint32_t high; /* one past the highest client byte seen */
};

static void on_bulk(void *ctx, const struct wst_packet *pkt)
{
	struct bulk *bk = ctx;
	uint32_t i;

	if (pkt->r.sport != WS_PORT + 1 && pkt->r.dport != WS_PORT + 1)
		return;
	if (pkt->r.dport != WS_PORT + 1 || !pkt->r.payload_len)
		return;
	/* A loaded machine may retransmit on lo: count each byte once. */
	if (!bk->seq_known) {
		bk->seq_known = true;
		bk->high = pkt->r.seq;
	}
	if ((int32_t)(pkt->r.seq + pkt->r.payload_len - bk->high) <= 0)
		return;
	if (pkt->r.seq != bk->high)
		bk->bad++; /* a hole: something was not captured */
	bk->high = pkt->r.seq + pkt->r.payload_len;
	bk->payload += pkt->r.payload_len;
	bk->captured += pkt->r.cap_len;
	if (pkt->r.cap_len > bk->max_cap)
		bk->max_cap = pkt->r.cap_len;
	for (i = 0; i < pkt->r.cap_len; i++)
		if (pkt->payload[i] != 0x5a)
			bk->bad++;
}

/* A bulk transfer on lo (MTU 64 KiB, so large and non-linear skbs): every
 * payload byte is captured whole, whatever the packet size. */
static void test_bulk_lo(void **state)
{
	const char *ifs[] = { "lo" };
	const uint16_t ports[] = { WS_PORT + 1 };
	struct capture_opts o = {
		.ifaces = ifs, .n_ifaces = 1, .ports = ports, .n_ports = 1,
		.ringbuf_bytes = 16 << 20,
	};
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(WS_PORT + 1),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static uint8_t chunk[100000];
	struct bulk bk = { 0 };
	struct capture *c = NULL;
	struct wst_counters wc;
	size_t total = 0, got = 0;
	int l, cl, sv, one = 1, i;

	(void)state;
	need_netns();
	memset(chunk, 0x5a, sizeof(chunk));
	assert_int_equal(capture_open(&c, &o, on_bulk, &bk), 0);
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	cl = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cl, (struct sockaddr *)&a, sizeof(a)), 0);
	sv = accept(l, NULL, NULL);
	assert_true(sv >= 0);
	for (i = 0; i < 20; i++) {
		ssize_t n = send(cl, chunk, sizeof(chunk), 0);

		assert_true(n > 0);
		total += n;
		while (got < total) {
			ssize_t r = recv(sv, chunk, sizeof(chunk), 0);

			assert_true(r > 0);
			got += r;
		}
		memset(chunk, 0x5a, sizeof(chunk));
		assert_true(capture_poll(c, 0) >= 0);
	}
	close(cl);
	close(sv);
	close(l);
	for (i = 0; i < 10; i++)
		assert_true(capture_poll(c, 10) >= 0);
	assert_int_equal(capture_read_counters(c, &wc), 0);
	assert_int_equal(wc.v[WST_CNT_RINGBUF_FULL], 0);
	assert_int_equal(wc.v[WST_CNT_LOAD_ERRORS], 0);
	assert_int_equal(bk.payload, total);
	assert_int_equal(bk.captured, total);
	assert_int_equal(bk.bad, 0);
	assert_true(bk.max_cap > 4096); /* the large size classes were used */
	capture_close(c);
}

static void test_attach_tcx(void **state)
{
	(void)state;
	need_netns();
	attach_mode(false);
}

static void test_attach_clsact(void **state)
{
	(void)state;
	need_netns();
	attach_mode(true);
}

/* Leaves a filter as a killed run would: at our priority, its owner gone. */
static void leave_orphan(uint32_t handle)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, topts, .handle = handle, .priority = CLSACT_PRIO);
	struct wstrace_bpf *old;
	int err;

	hook.ifindex = if_nametoindex("wsta");
	old = wstrace_bpf__open_and_load();
	assert_non_null(old);
	err = bpf_tc_hook_create(&hook);
	assert_true(err == 0 || err == -EEXIST);
	topts.prog_fd = bpf_program__fd(old->progs.cls_ingress);
	assert_int_equal(bpf_tc_attach(&hook, &topts), 0);
	wstrace_bpf__destroy(old); /* "kill -9": the filter stays */
}

/*
 * Filters left by killed runs (the handle of an older version, and one of
 * this scheme) are removed at start, whatever mode the new run uses; a
 * qdisc they leave empty goes, one with another filter stays.
 */
static void test_clsact_stale(void **state)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, fopts, .handle = 1, .priority = 1);
	const char *ifs[] = { "wsta" };
	struct capture_opts o = { .ifaces = ifs, .n_ifaces = 1, .force_clsact = true };
	struct seen sn = { 0 };
	struct capture *c = NULL;
	struct wstrace_bpf *other;

	(void)state;
	need_netns();
	hook.ifindex = if_nametoindex("wsta");

	/* Only orphans in the qdisc: both go, and the qdisc with them. */
	leave_orphan(0x7773);
	leave_orphan(CLSACT_HANDLE_BASE + 1);
	assert_true(cmd_has("tc filter show dev wsta ingress", "handle 0x7773 "));
	o.force_clsact = false;
	assert_int_equal(capture_open(&c, &o, on_packet, &sn), 0);
	assert_true(capture_uses_tcx(c));
	assert_false(cmd_has("tc filter show dev wsta ingress", "cls_ingress"));
	assert_false(cmd_has("tc qdisc show dev wsta", "clsact"));
	capture_close(c);

	/* Another program's filter shares the qdisc: it and the qdisc stay. */
	leave_orphan(CLSACT_HANDLE_BASE + 1);
	other = wstrace_bpf__open_and_load();
	assert_non_null(other);
	fopts.prog_fd = bpf_program__fd(other->progs.tc_egress);
	assert_int_equal(bpf_tc_attach(&hook, &fopts), 0);
	o.force_clsact = true;
	assert_int_equal(capture_open(&c, &o, on_packet, &sn), 0);
	assert_int_equal(capture_n_attached(c), 2);
	assert_int_equal(cmd_count("tc filter show dev wsta ingress", "cls_ingress"), 1);
	capture_close(c);
	assert_false(cmd_has("tc filter show dev wsta ingress", "cls_ingress"));
	assert_true(cmd_has("tc filter show dev wsta ingress", "tc_egress"));
	assert_true(cmd_has("tc qdisc show dev wsta", "clsact"));
	wstrace_bpf__destroy(other);
	assert_int_equal(sh("tc qdisc del dev wsta clsact"), 0);
}

static void test_attach_any(void **state)
{
	const uint16_t ports[] = { WS_PORT };
	struct capture_opts o = { .ports = ports, .n_ports = 1 };
	struct seen sn = { 0 };
	struct capture *c = NULL;
	int n0, i, got = 0;

	(void)state;
	need_netns();
	assert_int_equal(capture_open(&c, &o, on_packet, &sn), 0);
	n0 = capture_n_attached(c);
	assert_int_equal(n0, 5);
	assert_true(capture_netlink_fd(c) >= 0);

	assert_int_equal(sh("ip link add wstc type veth peer name wstd && "
			    "ip link set wstc up"), 0);
	for (i = 0; i < 20 && capture_n_attached(c) < n0 + 2; i++) {
		int r = capture_handle_netlink(c);

		assert_true(r >= 0);
		got += r;
		usleep(20000);
	}
	assert_int_equal(capture_n_attached(c), n0 + 2);
	assert_true(got >= 1);
	assert_int_equal(tcx_count("wstc", TCX_IN, "tc_ingress"), 1);
	assert_int_equal(tcx_count("wstc", TCX_OUT, "tc_egress"), 1);

	assert_int_equal(sh("ip link del wstc"), 0);
	for (i = 0; i < 20 && capture_n_attached(c) > n0; i++) {
		assert_true(capture_handle_netlink(c) >= 0);
		usleep(20000);
	}
	assert_int_equal(capture_n_attached(c), n0);
	capture_close(c);
}

/*
 * Reconfiguration in place: interfaces added and dropped, tcx <-> clsact,
 * and a failure that leaves everything as it was.
 */
static void test_reconfigure(void **state)
{
	const char *lo[] = { "lo" }, *lo_wsta[] = { "lo", "wsta" }, *bad[] = { "lo", "wst-nonesuch" };
	const uint16_t ports[] = { WS_PORT };
	struct capture_opts o = { .ifaces = lo, .n_ifaces = 1, .ports = ports, .n_ports = 1 };
	struct seen sn = { .ifa = if_nametoindex("wsta"), .ifb = if_nametoindex("wstb") };
	struct capture *c = NULL;
	char err[256];

	(void)state;
	need_netns();
	assert_int_equal(capture_open(&c, &o, on_packet, &sn), 0);
	assert_int_equal(capture_n_attached(c), 1);

	/* Add wsta, switch to clsact. */
	o.ifaces = lo_wsta;
	o.n_ifaces = 2;
	o.force_clsact = true;
	assert_int_equal(capture_reconfigure(c, &o, err, sizeof(err)), 0);
	assert_int_equal(capture_n_attached(c), 3);
	assert_false(capture_uses_tcx(c));
	assert_int_equal(tcx_count("lo", TCX_IN, "tc_ingress"), 0);
	assert_int_equal(cmd_count("tc filter show dev lo ingress", "cls_ingress"), 1);
	assert_int_equal(cmd_count("tc filter show dev wsta egress", "cls_egress"), 1);
	make_traffic();
	poll_until(c, &sn);
	assert_int_equal(sn.syn, 1);
	assert_int_equal(sn.veth_out, 1);

	/* A missing interface: nothing changes. */
	o.ifaces = bad;
	o.force_clsact = false;
	assert_int_equal(capture_reconfigure(c, &o, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "wst-nonesuch"));
	assert_int_equal(capture_n_attached(c), 3);
	assert_false(capture_uses_tcx(c));
	assert_int_equal(cmd_count("tc filter show dev wsta ingress", "cls_ingress"), 1);
	assert_int_equal(tcx_count("wsta", TCX_IN, "tc_ingress"), 0);

	/*
	 * Every interface, back to tcx: the filters go; the emptied qdiscs stay
	 * until exit (removing one stops the device's queue for a moment).
	 */
	o.n_ifaces = 0;
	assert_int_equal(capture_reconfigure(c, &o, err, sizeof(err)), 0);
	assert_true(capture_uses_tcx(c));
	assert_int_equal(capture_n_attached(c), 5);
	assert_true(capture_netlink_fd(c) >= 0);
	assert_int_equal(tcx_count("wstb", TCX_OUT, "tc_egress"), 1);
	assert_false(cmd_has("tc filter show dev lo ingress", "cls_ingress"));
	assert_false(cmd_has("tc filter show dev wsta egress", "cls_egress"));
	assert_int_equal(cmd_count("tc qdisc show", "clsact"), 2);

	/* Only lo again. */
	o.ifaces = lo;
	o.n_ifaces = 1;
	assert_int_equal(capture_reconfigure(c, &o, err, sizeof(err)), 0);
	assert_int_equal(capture_n_attached(c), 1);
	assert_int_equal(capture_netlink_fd(c), -1);
	assert_int_equal(tcx_count("wsta", TCX_IN, "tc_ingress"), 0);

	/* lo in clsact again: the parked qdisc is ours again, and goes at exit. */
	o.force_clsact = true;
	assert_int_equal(capture_reconfigure(c, &o, err, sizeof(err)), 0);
	assert_int_equal(cmd_count("tc filter show dev lo ingress", "cls_ingress"), 1);
	capture_close(c);
	assert_int_equal(tcx_count("lo", TCX_IN, "tc_ingress"), 0);
	assert_false(cmd_has("tc qdisc show", "clsact"));
}

static void test_unknown_iface(void **state)
{
	const char *ifs[] = { "wst-nonesuch" };
	struct capture_opts o = { .ifaces = ifs, .n_ifaces = 1 };
	struct seen sn = { 0 };
	struct capture *c = (struct capture *)&sn;

	(void)state;
	need_netns();
	assert_int_equal(capture_open(&c, &o, on_packet, &sn), -ENODEV);
	assert_null(c);
	capture_close(NULL);
}

static void setup_netns(void)
{
	if (unshare(CLONE_NEWNET) != 0)
		return;
	if (sh("ip link set lo up && "
	       "ip link add wsta type veth peer name wstb && "
	       "ip link set wsta up && ip link set wstb up"))
		return;
	g_netns = true;
}

int main(void)
{
	/* One group, so the runner's count of passed tests covers all. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_payload),
		cmocka_unit_test(test_size_classes),
		cmocka_unit_test(test_ipv6_ext),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_gso),
		cmocka_unit_test(test_snaplen),
		cmocka_unit_test(test_other_port),
		cmocka_unit_test(test_port_map_runtime),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_skip_flows),
		cmocka_unit_test(test_ringbuf_full),
		cmocka_unit_test(test_handoff),
		cmocka_unit_test(test_attach_tcx),
		cmocka_unit_test(test_wakeup_batch),
		cmocka_unit_test(test_bulk_lo),
		cmocka_unit_test(test_attach_clsact),
		cmocka_unit_test(test_clsact_stale),
		cmocka_unit_test(test_attach_any),
		cmocka_unit_test(test_reconfigure),
		cmocka_unit_test(test_unknown_iface),
	};
	int err, fails;

	if (getenv("WSTRACE_DEBUG"))
		wst_log_verbosity = WST_LOG_DEBUG;
	err = load(&g_full, 0);
	if (!err)
		err = load(&g_snap, 10);
	if (err)
		g_load_error = strerror(-err);
	if (!err)
		setup_netns();

	fails = cmocka_run_group_tests_name("bpf_prog", tests, NULL, NULL);
	unload(&g_full);
	unload(&g_snap);
	return fails ? 1 : 0;
}
