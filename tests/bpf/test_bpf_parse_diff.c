// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_bpf_parse_diff.c - the kernel parser (bpf/parse.bpf.h, through
 * BPF_PROG_TEST_RUN) and the capture file parser (user/sources/packet_parse.c,
 * Ethernet link type) on the same frames: each must give the same record,
 * or both no record, and a first fragment of a watched port must be
 * counted by the kernel exactly when the user-space parser attributes it.
 * The frames: every case of the rules in bpf/wstrace.h, each whole, cut at
 * every length (with and without its IP length fixed to the cut), with
 * every header byte set to values that matter to some field, and with
 * random byte flips; then a snaplen run, and a check on a veth pair that a
 * VLAN tag the stack moved out of the frame (skb->vlan_present) counts
 * against the tag limit, as it does in a capture where libpcap puts it back.
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

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_packet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sources/capture.h"
#include "sources/packet_parse.h"
#include "guard_page.h"
#include "pktgen.h"
#include "wstrace.skel.h"
#include "bpf_kit.h" /* after the skeleton */

#define WS_PORT 7272
#define TC_ACT_UNSPEC_U32 0xffffffffu
#define SNAPLEN 10

enum outcome { OUT_NONE, OUT_REC, OUT_FRAG, OUT_REFUSED };

static const char *const outcome_names[] = { "no record", "record", "fragment", "refused" };

struct result {
	enum outcome out;
	struct wst_record r;
	uint8_t payload[PKTGEN_MAX];
};

struct loaded {
	struct wstrace_bpf *skel;
	struct ring_buffer *rb;
	int n;          /* records seen by the last run */
	size_t size;    /* of the first record */
	struct result *res;  /* the first record */
	uint32_t seqs[8];    /* sequence numbers of the first 8 */
};

static struct loaded g_full, g_snap;
static const char *g_load_error;

/* Outcomes over the whole run, so a test that compares nothing fails. */
static uint64_t g_seen[4];

static void need_kernel(void)
{
	if (!g_full.skel || !g_snap.skel)
		kit_no_kernel(g_load_error);
}

static int collect(void *ctx, void *data, size_t size)
{
	struct loaded *l = ctx;
	struct wst_packet pkt;

	if (l->n < 8 && size >= sizeof(pkt.r))
		l->seqs[l->n] = ((const struct wst_record *)data)->seq;
	if (l->n++ > 0)
		return 0;
	l->size = size;
	/* The live consumer's check comes first, as in capture.c. */
	if (capture_parse_record(data, size, 0, &pkt) < 0) {
		l->res->out = OUT_REFUSED;
		return 0;
	}
	l->res->out = OUT_REC;
	l->res->r = pkt.r;
	memcpy(l->res->payload, pkt.payload, pkt.r.cap_len);
	return 0;
}

static int load(struct loaded *l, uint32_t snaplen)
{
	return kit_load(&l->skel, &l->rb, snaplen, WS_PORT, collect, l);
}

static void unload(struct loaded *l)
{
	ring_buffer__free(l->rb);
	wstrace_bpf__destroy(l->skel);
	memset(l, 0, sizeof(*l));
}

static void counters(struct loaded *l, struct wst_counters *out)
{
	kit_counters(bpf_map__fd(l->skel->maps.counters), out);
}

/*
 * The kernel's answer for a frame: a record, a counted fragment, nothing,
 * or OUT_REFUSED when the test run itself refuses the frame (shorter than
 * an Ethernet header, or than the IP header its ethertype announces).
 */
static void kernel_parse(struct loaded *l, const uint8_t *frame, size_t len,
			 struct result *res)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
			    .data_size_in = len, .repeat = 1);
	struct wst_counters c0, c1;
	int err;

	memset(&res->r, 0, sizeof(res->r));
	res->out = OUT_NONE;
	l->n = 0;
	l->res = res;
	counters(l, &c0);
	err = bpf_prog_test_run_opts(bpf_program__fd(l->skel->progs.tc_ingress), &opts);
	if (err == -EINVAL) {
		res->out = OUT_REFUSED;
		return;
	}
	if (err)
		fail_msg("test run of a %zu-byte frame: %s", len, strerror(-err));
	assert_int_equal(opts.retval, TC_ACT_UNSPEC_U32);
	ring_buffer__consume(l->rb);
	counters(l, &c1);
	if (l->n > 1)
		fail_msg("%d records for one frame", l->n);
	if (res->out == OUT_REFUSED)
		fail_msg("the kernel made a record the consumer refuses (%zu bytes)", l->size);
	/* A record and the packet counter go together; a fragment is neither. */
	assert_int_equal(c1.v[WST_CNT_PKTS_INGRESS] - c0.v[WST_CNT_PKTS_INGRESS], l->n);
	if (c1.v[WST_CNT_FRAGMENTS] != c0.v[WST_CNT_FRAGMENTS]) {
		assert_int_equal(c1.v[WST_CNT_FRAGMENTS] - c0.v[WST_CNT_FRAGMENTS], 1);
		assert_int_equal(l->n, 0);
		res->out = OUT_FRAG;
	}
}

/*
 * The capture file parser's answer, with what the caller (main.c) and the
 * kernel's port map add: only watched ports make a record or a count.
 */
static void user_parse(const uint8_t *frame, size_t caplen, size_t wirelen,
		       struct result *res)
{
	struct guard_buf g;
	const uint8_t *data = guard_copy(&g, frame, caplen);
	const uint8_t *payload = NULL;
	int rc;

	rc = pkt_parse_frame(PKT_LINKTYPE_ETHERNET, data, (uint32_t)caplen,
			     (uint32_t)wirelen, &res->r, &payload);
	res->out = OUT_NONE;
	if (rc == 0) {
		res->out = OUT_REC;
		assert_true(payload >= data && payload + res->r.cap_len <= data + caplen);
		memcpy(res->payload, payload, res->r.cap_len);
	} else if (rc == PKT_ERR_FRAGMENT && res->r.family) {
		res->out = OUT_FRAG;
	}
	if (res->out != OUT_NONE && res->r.sport != WS_PORT && res->r.dport != WS_PORT)
		res->out = OUT_NONE;
	guard_free(&g);
}

/* What a mismatch report says. */
struct diff_ctx {
	const char *what;
	uint64_t compared, refused, mismatches;
};

static void dump(const uint8_t *frame, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, "%02x%s", frame[i], i % 32 == 31 ? "\n" : "");
	fprintf(stderr, "\n");
}

static const char *record_diff(const struct result *k, const struct result *u)
{
	const struct wst_record *a = &k->r, *b = &u->r;

#define SAME(f) if (a->f != b->f) return #f
	SAME(version);
	SAME(hdr_len);
	SAME(family);
	SAME(sport);
	SAME(dport);
	SAME(seq);
	SAME(ack);
	SAME(tcp_flags);
	SAME(tcp_doff);
	SAME(window);
	SAME(payload_len);
	SAME(cap_len);
	SAME(kind);
	SAME(_pad1);
#undef SAME
	if (memcmp(a->saddr, b->saddr, 16))
		return "saddr";
	if (memcmp(a->daddr, b->daddr, 16))
		return "daddr";
	if (memcmp(k->payload, u->payload, a->cap_len))
		return "payload";
	return NULL;
}

/* Both parsers on one frame (user side: caplen of len bytes captured). */
static void compare(struct diff_ctx *d, struct loaded *l, const uint8_t *frame,
		    size_t len, size_t caplen, const char *label)
{
	static struct result k, u;
	const char *why = NULL;

	kernel_parse(l, frame, len, &k);
	user_parse(frame, caplen, len, &u);
	if (k.out == OUT_REFUSED) {
		/* The kernel never gets such a frame; it cannot be a packet. */
		d->refused++;
		if (u.out == OUT_NONE)
			return;
		why = "the test run refused a frame the file parser accepts";
	} else {
		d->compared++;
		g_seen[k.out]++;
		if (k.out != u.out)
			why = "different outcomes";
		else if (k.out == OUT_REC)
			why = record_diff(&k, &u);
	}
	if (!why)
		return;
	if (d->mismatches++ < 5) {
		fprintf(stderr, "%s: %s, %zu bytes (%zu captured): kernel %s, file parser %s: %s\n",
			d->what, label, len, caplen, outcome_names[k.out], outcome_names[u.out], why);
		dump(frame, len);
	}
}

static void finish(struct diff_ctx *d)
{
	fprintf(stderr, "%s: %llu frames compared, %llu refused by the test run\n", d->what,
		(unsigned long long)d->compared, (unsigned long long)d->refused);
	if (d->mismatches)
		fail_msg("%s: %llu of %llu frames parsed differently", d->what,
			 (unsigned long long)d->mismatches, (unsigned long long)d->compared);
	assert_true(d->compared > 0);
}

/* ---- the cases: every rule of bpf/wstrace.h ---- */

static const char payload[] = "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";

struct dcase {
	const char *name;
	enum outcome expect; /* what the rules say */
	void (*build)(struct pktgen *g);
};

static void tcp(struct pktgen *g)
{
	pktgen_tcp(g, &pktgen_tcp_default);
	pktgen_data(g, payload, sizeof(payload) - 1);
}

static void v4(struct pktgen *g, uint16_t frag, size_t optlen)
{
	struct pktgen_ip ip = pktgen_v4_default;

	ip.frag = frag;
	ip.optlen = optlen;
	pktgen_eth(g);
	pktgen_ipv4(g, &ip);
}

static void v6(struct pktgen *g)
{
	pktgen_eth(g);
	pktgen_ipv6(g, &pktgen_v6_default);
}

#define CASE(n, e, body) \
	static void build_##n(struct pktgen *g) { body; } \
	static const struct dcase case_##n = { #n, e, build_##n };

CASE(v4, OUT_REC, v4(g, PKTGEN_IP_DF, 0); tcp(g))
CASE(v4_no_flags, OUT_REC, v4(g, 0, 0); tcp(g))
CASE(v4_syn_padded, OUT_REC, {
	struct pktgen_tcp t = pktgen_tcp_default;

	t.flags = WST_TCP_SYN;
	t.optlen = 4;
	v4(g, PKTGEN_IP_DF, 0);
	pktgen_tcp(g, &t);
})
CASE(v4_ip_options, OUT_REC, v4(g, 0, 12); tcp(g))
CASE(v4_ip_options_max, OUT_REC, v4(g, 0, 40); tcp(g))
CASE(v4_tcp_options_max, OUT_REC, {
	struct pktgen_tcp t = pktgen_tcp_default;

	t.optlen = 40;
	v4(g, 0, 40);
	pktgen_tcp(g, &t);
	pktgen_data(g, "x", 1);
})
CASE(v4_first_fragment, OUT_FRAG, v4(g, PKTGEN_IP_MF, 0); tcp(g))
CASE(v4_first_fragment_options, OUT_FRAG, v4(g, PKTGEN_IP_MF, 8); tcp(g))
CASE(v4_middle_fragment, OUT_NONE, v4(g, PKTGEN_IP_MF | 185, 0); tcp(g))
CASE(v4_last_fragment, OUT_NONE, v4(g, 185, 0); tcp(g))
CASE(v4_tiny_first_fragment, OUT_FRAG, {
	v4(g, PKTGEN_IP_MF, 0);
	pktgen_l4(g, PKTGEN_IPPROTO_TCP, "\xec\xed\x1c\x68", 4); /* ports only */
})
CASE(v4_udp, OUT_NONE, v4(g, 0, 0); pktgen_l4(g, PKTGEN_IPPROTO_UDP, "\xec\xed\x1c\x68\0\x10\0\0", 8))
CASE(v4_udp_fragment, OUT_NONE, v4(g, PKTGEN_IP_MF, 0); pktgen_l4(g, PKTGEN_IPPROTO_UDP, "\xec\xed\x1c\x68\0\x10\0\0", 8))
CASE(v4_ah, OUT_NONE, {
	v4(g, 0, 0);
	/* AH over IPv4 is not followed: TCP right after the IP header only. */
	pktgen_next_proto(g, PKTGEN_IPPROTO_AH);
	pktgen_data(g, "\x06\x04\0\0\0\0\x10\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0", 24);
	tcp(g);
})
CASE(v6, OUT_REC, v6(g); tcp(g))
CASE(v6_hopopts, OUT_REC, v6(g); pktgen_ipv6_ext(g, PKTGEN_IPPROTO_HOPOPTS, 8); tcp(g))
CASE(v6_routing, OUT_REC, v6(g); pktgen_ipv6_ext(g, PKTGEN_IPPROTO_ROUTING, 24); tcp(g))
CASE(v6_dstopts, OUT_REC, v6(g); pktgen_ipv6_ext(g, PKTGEN_IPPROTO_DSTOPTS, 16); tcp(g))
CASE(v6_ah, OUT_REC, v6(g); pktgen_ipv6_ext(g, PKTGEN_IPPROTO_AH, 24); tcp(g))
CASE(v6_ah_odd_words, OUT_REC, v6(g); pktgen_ipv6_ext(g, PKTGEN_IPPROTO_AH, 12); tcp(g))
CASE(v6_esp, OUT_NONE, {
	v6(g);
	pktgen_l4(g, PKTGEN_IPPROTO_ESP, "\0\0\x10\0\0\0\0\x01", 8);
	pktgen_data(g, payload, 16);
})
CASE(v6_atomic_fragment, OUT_REC, v6(g); pktgen_ipv6_frag(g, 0, false); tcp(g))
CASE(v6_first_fragment, OUT_FRAG, v6(g); pktgen_ipv6_frag(g, 0, true); tcp(g))
CASE(v6_first_fragment_chain, OUT_FRAG, {
	v6(g);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_HOPOPTS, 8);
	pktgen_ipv6_frag(g, 0, true);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_DSTOPTS, 8);
	tcp(g);
})
CASE(v6_middle_fragment, OUT_NONE, v6(g); pktgen_ipv6_frag(g, 100, true); tcp(g))
CASE(v6_last_fragment, OUT_NONE, v6(g); pktgen_ipv6_frag(g, 100, false); tcp(g))
CASE(v6_chain_mixed, OUT_REC, {
	v6(g);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_HOPOPTS, 8);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_DSTOPTS, 8);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_ROUTING, 24);
	pktgen_ipv6_frag(g, 0, false);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_AH, 24);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_DSTOPTS, 8);
	tcp(g);
})
CASE(v6_chain_at_limit, OUT_REC, {
	v6(g);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_HOPOPTS, 8);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_AH, 16);
	for (int i = 2; i < WST_MAX_IPV6_EXT; i++)
		pktgen_ipv6_ext(g, PKTGEN_IPPROTO_DSTOPTS, 8);
	tcp(g);
})
CASE(v6_chain_over_limit, OUT_NONE, {
	v6(g);
	for (int i = 0; i < WST_MAX_IPV6_EXT + 1; i++)
		pktgen_ipv6_ext(g, PKTGEN_IPPROTO_DSTOPTS, 8);
	tcp(g);
})
CASE(v6_udp, OUT_NONE, v6(g); pktgen_l4(g, PKTGEN_IPPROTO_UDP, "\xec\xed\x1c\x68\0\x10\0\0", 8))
CASE(v6_ext_then_icmp, OUT_NONE, {
	v6(g);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_HOPOPTS, 8);
	pktgen_l4(g, PKTGEN_IPPROTO_ICMPV6, "\x80\0\0\0\0\x01\0\x01", 8);
})
CASE(v6_no_next_header, OUT_NONE, v6(g); pktgen_l4(g, PKTGEN_IPPROTO_NONE, "", 0); pktgen_data(g, payload, 20))
CASE(vlan, OUT_REC, {
	pktgen_eth(g);
	pktgen_vlan(g, PKTGEN_ETH_P_8021Q, 100);
	pktgen_ipv4(g, &pktgen_v4_default);
	tcp(g);
})
CASE(qinq_v6_ext, OUT_REC, {
	pktgen_eth(g);
	pktgen_vlan(g, PKTGEN_ETH_P_8021AD, 100);
	pktgen_vlan(g, PKTGEN_ETH_P_8021Q, 200);
	pktgen_ipv6(g, &pktgen_v6_default);
	pktgen_ipv6_ext(g, PKTGEN_IPPROTO_AH, 24);
	tcp(g);
})
CASE(vlan_three_tags, OUT_NONE, {
	pktgen_eth(g);
	pktgen_vlan(g, PKTGEN_ETH_P_8021AD, 100);
	pktgen_vlan(g, PKTGEN_ETH_P_8021Q, 200);
	pktgen_vlan(g, PKTGEN_ETH_P_8021Q, 300);
	pktgen_ipv4(g, &pktgen_v4_default);
	tcp(g);
})
CASE(arp, OUT_NONE, {
	pktgen_eth(g);
	pktgen_ethertype(g, PKTGEN_ETH_P_ARP);
	pktgen_data(g, "\0\x01\x08\0\x06\x04\0\x01\x02\0\0\0\0\x02\xc0\0\x02\x01"
		       "\0\0\0\0\0\0\xc6\x33\x64\x02", 28);
})
/* Length 0: the frame's (a super-packet captured before segmentation). */
CASE(v4_length_zero, OUT_REC, v4(g, 0, 0); tcp(g))
CASE(v6_length_zero, OUT_REC, v6(g); pktgen_ipv6_ext(g, PKTGEN_IPPROTO_HOPOPTS, 8); tcp(g))
CASE(other_port, OUT_NONE, {
	struct pktgen_tcp t = pktgen_tcp_default;

	t.dport = 80;
	v4(g, 0, 0);
	pktgen_tcp(g, &t);
})

static const struct dcase *const cases[] = {
	&case_v4, &case_v4_no_flags, &case_v4_syn_padded, &case_v4_ip_options,
	&case_v4_ip_options_max, &case_v4_tcp_options_max, &case_v4_first_fragment,
	&case_v4_first_fragment_options, &case_v4_middle_fragment, &case_v4_last_fragment,
	&case_v4_tiny_first_fragment, &case_v4_udp, &case_v4_udp_fragment, &case_v4_ah,
	&case_v6, &case_v6_hopopts, &case_v6_routing, &case_v6_dstopts, &case_v6_ah,
	&case_v6_ah_odd_words, &case_v6_esp, &case_v6_atomic_fragment, &case_v6_first_fragment,
	&case_v6_first_fragment_chain, &case_v6_middle_fragment, &case_v6_last_fragment,
	&case_v6_chain_mixed, &case_v6_chain_at_limit, &case_v6_chain_over_limit, &case_v6_udp,
	&case_v6_ext_then_icmp, &case_v6_no_next_header, &case_vlan, &case_qinq_v6_ext,
	&case_vlan_three_tags, &case_arp, &case_v4_length_zero, &case_v6_length_zero,
	&case_other_port,
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

struct frame {
	uint8_t b[PKTGEN_MAX];
	size_t len, l3, payload;
};

static void build_case(const struct dcase *c, struct frame *f)
{
	struct pktgen g;

	pktgen_init(&g, f->b, sizeof(f->b));
	c->build(&g);
	f->len = pktgen_finish(&g);
	f->l3 = g.l3;
	f->payload = g.payload;
	if (c == &case_v4_syn_padded)
		f->len = pktgen_pad(&g, 60); /* Ethernet minimum: padding is not payload */
	if (c == &case_v4_length_zero)
		pktgen_put16(f->b + f->l3 + 2, 0);
	if (c == &case_v6_length_zero)
		pktgen_put16(f->b + f->l3 + 4, 0);
}

/* Each case whole: both parsers agree, and with what the rules say. */
static void test_cases(void **state)
{
	struct diff_ctx d = { .what = "cases" };
	static struct result k;
	struct frame f;

	(void)state;
	need_kernel();
	for (size_t i = 0; i < N_CASES; i++) {
		build_case(cases[i], &f);
		compare(&d, &g_full, f.b, f.len, f.len, cases[i]->name);
		kernel_parse(&g_full, f.b, f.len, &k);
		if (k.out != cases[i]->expect)
			fail_msg("%s: the kernel gives %s, the rules say %s", cases[i]->name,
				 outcome_names[k.out], outcome_names[cases[i]->expect]);
	}
	finish(&d);
}

/* IP length field of the frame's (outermost) IP header set to the cut. */
static void fix_ip_len(uint8_t *b, size_t l3, size_t cut)
{
	if (l3 == PKTGEN_NONE || cut < l3 + 6)
		return;
	if ((b[l3] >> 4) == 4)
		pktgen_put16(b + l3 + 2, (uint16_t)(cut - l3));
	else if (cut >= l3 + 40)
		pktgen_put16(b + l3 + 4, (uint16_t)(cut - l3 - 40));
}

/* Every case cut at every length: as it is, and with its IP length fixed. */
static void test_truncations(void **state)
{
	struct diff_ctx d = { .what = "truncations" };
	static uint8_t tmp[PKTGEN_MAX];
	char label[96];
	struct frame f;

	(void)state;
	need_kernel();
	for (size_t i = 0; i < N_CASES; i++) {
		build_case(cases[i], &f);
		for (size_t cut = 0; cut < f.len; cut++) {
			snprintf(label, sizeof(label), "%s cut at %zu", cases[i]->name, cut);
			compare(&d, &g_full, f.b, cut, cut, label);
			memcpy(tmp, f.b, cut);
			fix_ip_len(tmp, f.l3, cut);
			snprintf(label, sizeof(label), "%s cut at %zu, IP length fixed",
				 cases[i]->name, cut);
			compare(&d, &g_full, tmp, cut, cut, label);
		}
	}
	finish(&d);
}

/*
 * Every header byte of every case set to values that mean something to
 * some field: version/IHL nibbles, small lengths, next-header numbers
 * (0 43 44 50 51 59 60 6 17), ethertype halves, flag bits, and +-1.
 */
static void test_header_bytes(void **state)
{
	static const uint8_t vals[] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0f, 0x10, 0x11,
		0x1f, 0x20, 0x2b, 0x2c, 0x32, 0x33, 0x3b, 0x3c, 0x40, 0x44, 0x45, 0x46,
		0x4f, 0x50, 0x60, 0x80, 0x81, 0x86, 0x88, 0xa8, 0xdd, 0xf0, 0xff,
	};
	struct diff_ctx d = { .what = "header bytes" };
	static uint8_t tmp[PKTGEN_MAX];
	char label[96];
	struct frame f;

	(void)state;
	need_kernel();
	for (size_t i = 0; i < N_CASES; i++) {
		build_case(cases[i], &f);
		for (size_t at = 12; at < f.payload && at < f.len; at++) {
			for (size_t v = 0; v < sizeof(vals) + 2; v++) {
				uint8_t val = v < sizeof(vals) ? vals[v] :
					      (uint8_t)(f.b[at] + (v == sizeof(vals) ? 1 : -1));

				if (val == f.b[at])
					continue;
				memcpy(tmp, f.b, f.len);
				tmp[at] = val;
				snprintf(label, sizeof(label), "%s, byte %zu = 0x%02x",
					 cases[i]->name, at, val);
				compare(&d, &g_full, tmp, f.len, f.len, label);
			}
		}
	}
	finish(&d);
}

/* Random flips of header bytes, several at a time, with a fixed seed. */
static void test_random_flips(void **state)
{
	struct diff_ctx d = { .what = "random flips" };
	static uint8_t tmp[PKTGEN_MAX];
	uint32_t seed = 20261124;
	char label[96];
	struct frame f;

	(void)state;
	need_kernel();
	for (int iter = 0; iter < 30000; iter++) {
		const struct dcase *c = cases[(size_t)iter % N_CASES];
		int flips;

		build_case(c, &f);
		memcpy(tmp, f.b, f.len);
		seed = seed * 1103515245 + 12345;
		flips = 1 + (int)((seed >> 16) % 4);
		for (int m = 0; m < flips; m++) {
			size_t span = (f.payload < f.len ? f.payload : f.len) - 12;

			seed = seed * 1103515245 + 12345;
			tmp[12 + (seed >> 8) % span] ^= (uint8_t)(1u << ((seed >> 4) & 7));
		}
		snprintf(label, sizeof(label), "%s, flips %d (iteration %d)", c->name, flips, iter);
		compare(&d, &g_full, tmp, f.len, f.len, label);
	}
	finish(&d);
}

/*
 * The kernel at snaplen 10 and the file parser on a capture cut 10 bytes
 * into the payload: the same record, payload_len the whole, cap_len 10.
 */
static void test_snaplen(void **state)
{
	struct diff_ctx d = { .what = "snaplen" };
	struct frame f;
	size_t rec = 0;

	(void)state;
	need_kernel();
	for (size_t i = 0; i < N_CASES; i++) {
		size_t plen, cap;

		build_case(cases[i], &f);
		if (f.payload == PKTGEN_NONE || f.payload > f.len)
			continue;
		plen = f.len - f.payload;
		cap = f.payload + (plen < SNAPLEN ? plen : SNAPLEN);
		compare(&d, &g_snap, f.b, f.len, cap, cases[i]->name);
		rec += cases[i]->expect == OUT_REC;
	}
	finish(&d);
	assert_true(rec > 10);
}

/* ---- a real interface: tags the stack takes out of the frame ---- */

static bool g_netns;

static void setup_netns(void)
{
	if (unshare(CLONE_NEWNET) != 0)
		return;
	if (system("ip link set lo up && ip link add wspa type veth peer name wspb && "
		   "ip link set wspa up && ip link set wspb up"))
		return;
	g_netns = true;
}

/* A frame with nt tags (the outer one 802.1ad when there are more), seq given. */
static size_t tagged_frame(uint8_t *buf, int nt, uint32_t seq)
{
	static const uint16_t tpids[] = { PKTGEN_ETH_P_8021AD, PKTGEN_ETH_P_8021Q, PKTGEN_ETH_P_8021Q };
	struct pktgen_tcp t = pktgen_tcp_default;
	struct pktgen g;

	t.seq = seq;
	pktgen_init(&g, buf, PKTGEN_MAX);
	pktgen_eth(&g);
	for (int i = 0; i < nt; i++)
		pktgen_vlan(&g, nt == 1 ? PKTGEN_ETH_P_8021Q : tpids[i], (uint16_t)(10 + i));
	pktgen_ipv4(&g, &pktgen_v4_default);
	pktgen_tcp(&g, &t);
	pktgen_data(&g, payload, sizeof(payload) - 1);
	return pktgen_finish(&g);
}

/*
 * A frame with nt tags out of wspa, then a one-tag marker; once the
 * marker's record is in, whether the program on wspb's ingress made a
 * record of the frame. Both go through the backlog of the one CPU this
 * process is pinned to, in order.
 */
static void send_tagged(int ps, int nt, struct result *k)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	static uint8_t buf[PKTGEN_MAX], mark[PKTGEN_MAX];
	static struct result u;
	const uint32_t seq = 1000 + (uint32_t)nt, mark_seq = 9999;
	size_t len = tagged_frame(buf, nt, seq), mlen = tagged_frame(mark, 1, mark_seq);
	bool marked = false;
	int i, j;

	ll.sll_ifindex = (int)if_nametoindex("wspa");
	g_full.n = 0;
	g_full.res = k;
	k->out = OUT_NONE;
	assert_int_equal(sendto(ps, buf, len, 0, (struct sockaddr *)&ll, sizeof(ll)), (ssize_t)len);
	assert_int_equal(sendto(ps, mark, mlen, 0, (struct sockaddr *)&ll, sizeof(ll)), (ssize_t)mlen);
	for (i = 0; i < 200 && !marked; i++) {
		ring_buffer__poll(g_full.rb, 10);
		for (j = 0; j < g_full.n && j < 8; j++)
			marked |= g_full.seqs[j] == mark_seq;
	}
	assert_true(marked);
	if (g_full.seqs[0] == mark_seq)
		k->out = OUT_NONE; /* the frame made no record */
	else
		assert_int_equal(g_full.seqs[0], seq);
	/* The file parser on the frame as a capture on wspb holds it. */
	user_parse(buf, len, len, &u);
	assert_int_equal(k->out, u.out);
	if (k->out == OUT_REC)
		assert_null(record_diff(k, &u));
}

static void test_vlan_stripped(void **state)
{
	int ifb, link, ps, n;
	struct result k;
	cpu_set_t one;

	(void)state;
	need_kernel();
	if (!g_netns)
		fail_msg("could not set up the test network namespace");
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	ifb = (int)if_nametoindex("wspb");
	assert_true(ifb > 0);
	/* tcx ingress (BPF_TCX_INGRESS, not named by libbpf 1.1's headers). */
	link = bpf_link_create(bpf_program__fd(g_full.skel->progs.tc_ingress), ifb,
			       (enum bpf_attach_type)46, NULL);
	assert_true(link >= 0);
	ps = socket(AF_PACKET, SOCK_RAW, 0);
	assert_true(ps >= 0);
	for (n = 1; n <= WST_MAX_VLAN_TAGS + 1; n++) {
		send_tagged(ps, n, &k);
		/* The outer tag arrives in vlan_tci: the limit still holds. */
		if (k.out != (n <= WST_MAX_VLAN_TAGS ? OUT_REC : OUT_NONE))
			fail_msg("%d tags on the wire: %s", n, outcome_names[k.out]);
		if (k.out == OUT_REC)
			assert_int_equal(k.r.ifindex, ifb);
	}
	close(ps);
	close(link);
}

/* The comparisons covered every outcome. */
static void test_outcomes_seen(void **state)
{
	(void)state;
	need_kernel();
	fprintf(stderr, "outcomes: %llu records, %llu fragments, %llu no record\n",
		(unsigned long long)g_seen[OUT_REC], (unsigned long long)g_seen[OUT_FRAG],
		(unsigned long long)g_seen[OUT_NONE]);
	assert_true(g_seen[OUT_REC] > 1000);
	assert_true(g_seen[OUT_FRAG] > 100);
	assert_true(g_seen[OUT_NONE] > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_random_flips),
		cmocka_unit_test(test_snaplen),
		cmocka_unit_test(test_vlan_stripped),
		cmocka_unit_test(test_outcomes_seen),
	};
	int err, fails;

	err = load(&g_full, 0);
	if (!err)
		err = load(&g_snap, SNAPLEN);
	if (err)
		g_load_error = strerror(-err);
	else
		setup_netns();
	fails = cmocka_run_group_tests_name("bpf_parse_diff", tests, NULL, NULL);
	unload(&g_full);
	unload(&g_snap);
	return fails ? 1 : 0;
}
