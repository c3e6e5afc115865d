// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_packet.c - libFuzzer target for pkt_parse_frame(), every link type.
 *
 * fuzz-flags: -max_len=2048
 *
 * Layout: byte 0 = mode, byte 1 = how much of the frame was cut by the
 * snapshot (wire length = captured + byte 1 * 64), then the bytes.
 * - mode < 0x80: one frame of link type types[mode % N_TYPES];
 * - mode >= 0x80: the bytes are an IP packet, wrapped in each link layer
 *   (Ethernet, 802.1Q, Linux cooked v1 and v2, BSD loopback both byte
 *   orders, raw): every wrapping must give the same answer, as the link
 *   layer is all they differ in.
 * Each frame is copied to an exact-size heap buffer so ASan sees any
 * over-read.
 *
 * Invariants checked (abort on violation):
 * - the result is 0 or one of the documented errors;
 * - a record is version WST_RECORD_VERSION, family 4 or 6, data offset
 *   20..60, cap_len <= payload_len, and its payload lies inside the frame
 *   and ends exactly at the captured bytes or the IP packet's end;
 * - a fragment is attributed (family set) only with its ports.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/packet_parse.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static const int types[] = {
	PKT_LINKTYPE_NULL, PKT_LINKTYPE_ETHERNET, PKT_LINKTYPE_DLT_RAW1,
	PKT_LINKTYPE_DLT_RAW2, PKT_LINKTYPE_RAW, PKT_LINKTYPE_LOOP,
	PKT_LINKTYPE_LINUX_SLL, PKT_LINKTYPE_IPV4, PKT_LINKTYPE_IPV6,
	PKT_LINKTYPE_LINUX_SLL2, 147 /* unsupported */,
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

struct answer {
	int rc;
	struct wst_record r;
	size_t payload_off; /* from the IP header */
};

static void parse_one(int linktype, const uint8_t *frame, size_t caplen,
		      uint32_t extra, size_t link_hlen, struct answer *a)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	const uint8_t *payload = NULL;

	CHECK(copy);
	memcpy(copy, frame, caplen);
	a->rc = pkt_parse_frame(linktype, copy, (uint32_t)caplen,
				(uint32_t)caplen + extra, &a->r, &payload);
	CHECK(a->rc <= 0 && a->rc >= PKT_ERR_LINKTYPE);
	if (a->rc == 0) {
		CHECK(a->r.version == WST_RECORD_VERSION);
		CHECK(a->r.kind == WST_REC_PACKET);
		CHECK(a->r.hdr_len == sizeof(a->r));
		CHECK(a->r.family == 4 || a->r.family == 6);
		CHECK(a->r.tcp_doff >= 20 && a->r.tcp_doff <= 60);
		CHECK(a->r.cap_len <= a->r.payload_len);
		CHECK(payload && payload >= copy + link_hlen);
		CHECK((size_t)(payload - copy) + a->r.cap_len <= caplen);
		a->payload_off = (size_t)(payload - copy) - link_hlen;
	} else if (a->rc == PKT_ERR_FRAGMENT) {
		CHECK(a->r.family == 0 || a->r.family == 4 || a->r.family == 6);
	} else {
		CHECK(pkt_parse_strerror(a->rc)[0]);
	}
	free(copy);
}

static bool same(const struct answer *a, const struct answer *b)
{
	if (a->rc != b->rc)
		return false;
	if (a->rc == PKT_ERR_FRAGMENT)
		return a->r.family == b->r.family && a->r.sport == b->r.sport &&
		       a->r.dport == b->r.dport;
	if (a->rc)
		return true;
	return a->payload_off == b->payload_off && a->r.family == b->r.family &&
	       !memcmp(a->r.saddr, b->r.saddr, 16) && !memcmp(a->r.daddr, b->r.daddr, 16) &&
	       a->r.sport == b->r.sport && a->r.dport == b->r.dport &&
	       a->r.seq == b->r.seq && a->r.ack == b->r.ack &&
	       a->r.tcp_flags == b->r.tcp_flags && a->r.tcp_doff == b->r.tcp_doff &&
	       a->r.window == b->r.window && a->r.payload_len == b->r.payload_len &&
	       a->r.cap_len == b->r.cap_len;
}

/* A link layer before an IP packet: where its type field goes. */
struct wrap {
	int linktype;
	size_t hlen;
	int type_at;   /* the ethertype, big-endian; -1 if none */
	int af_at;     /* BSD loopback address family byte; -1 if none */
};

static const struct wrap wraps[] = {
	{ PKT_LINKTYPE_ETHERNET, 14, 12, -1 },
	{ PKT_LINKTYPE_ETHERNET, 18, 16, -1 },    /* 802.1Q tag at 12 */
	{ PKT_LINKTYPE_LINUX_SLL, 16, 14, -1 },
	{ PKT_LINKTYPE_LINUX_SLL2, 20, 0, -1 },
	{ PKT_LINKTYPE_NULL, 4, -1, 0 },          /* host order */
	{ PKT_LINKTYPE_LOOP, 4, -1, 3 },          /* network order */
};

/* The IP packet ip behind each link layer: one answer for all. */
static void wrapped(const uint8_t *ip, size_t len, uint32_t extra)
{
	static uint8_t frame[2048 + 64];
	int ver = len ? ip[0] >> 4 : 0;
	uint16_t et = ver == 6 ? 0x86dd : 0x0800;
	struct answer base, a;

	/* Raw IP decides by the version nibble; the others by their type field. */
	if (len > 2048 || (ver != 4 && ver != 6))
		return;
	parse_one(PKT_LINKTYPE_RAW, ip, len, extra, 0, &base);
	parse_one(ver == 6 ? PKT_LINKTYPE_IPV6 : PKT_LINKTYPE_IPV4, ip, len, extra, 0, &a);
	CHECK(same(&base, &a));
	for (size_t i = 0; i < sizeof(wraps) / sizeof(wraps[0]); i++) {
		const struct wrap *w = &wraps[i];

		memset(frame, 0, w->hlen);
		if (w->hlen == 18) {
			frame[12] = 0x81; /* 802.1Q, VLAN 7 */
			frame[15] = 7;
		}
		if (w->type_at >= 0) {
			frame[w->type_at] = (uint8_t)(et >> 8);
			frame[w->type_at + 1] = (uint8_t)et;
		}
		if (w->af_at >= 0)
			frame[w->af_at] = ver == 6 ? 24 : 2;
		memcpy(frame + w->hlen, ip, len);
		parse_one(w->linktype, frame, w->hlen + len, extra, w->hlen, &a);
		CHECK(same(&base, &a));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct answer a;
	uint32_t extra;

	if (size < 2)
		return 0;
	extra = (uint32_t)data[1] * 64;
	if (data[0] >= 0x80) {
		wrapped(data + 2, size - 2, extra);
		return 0;
	}
	parse_one(types[data[0] % N_TYPES], data + 2, size - 2, extra, 0, &a);
	return 0;
}
