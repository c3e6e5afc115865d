// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_tcp_track.c - libFuzzer target for the TCP tracker: packets of a
 * few connections in any order, with any flags, sequence numbers, times
 * and a small flow table, then the end of the capture.
 *
 * fuzz-flags: -max_len=6000
 *
 * Layout: byte 0 = options (bits 0-2: flow table size - 1), then 6-byte
 * packets: connection and direction (bits 0-2 connection: 4-tuple k, IPv6
 * for k >= 4, 7 on ports nobody watches; bit 3 server to client), TCP
 * flags, a signed 16-bit offset of the sequence number from the highest
 * byte sent that way, a payload length in units of 4 bytes (at most 64
 * captured), and a time step (255: 1000 s, past every timeout).
 *
 * Invariants checked (abort on violation): the event contract of
 * flow_check.h (one per-packet event per watched packet, none for others
 * or for the later packets of a connection evicted from the full table;
 * one tcp_closed per flow, then late packets only), at most max_flows open,
 * none after the end of the capture.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracking/tcp_track.h"
#include "flow_check.h"

static void on_event(void *ctx, const struct wst_event *ev)
{
	flow_check_event(ctx, ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t payload[64];
	struct tcp_track_opts opts = { 0 };
	struct port_set ports;
	struct tcp_tracker *t;
	static struct flow_check z;
	uint32_t high[8][2];
	uint64_t ts = 1700000000ull * 1000000000ull;
	size_t off = 1;

	if (size < 1)
		return 0;
	flow_check_init(&z);
	memset(&ports, 0, sizeof(ports));
	ports_add(&ports, 7272);
	opts.max_flows = 1 + (data[0] & 7);
	for (int k = 0; k < 8; k++) {
		high[k][0] = 1000u * (uint32_t)k + 0xfffffe00u;
		high[k][1] = 5000000u * (uint32_t)k;
	}
	if (tcp_tracker_new(&t, &opts, &ports, (struct wst_sink){ on_event, &z }))
		return 0;

	while (size - off >= 6) {
		const uint8_t *o = data + off;
		int k = o[0] & 7, dir = (o[0] >> 3) & 1;
		int16_t delta = (int16_t)(o[2] << 8 | o[3]);
		uint32_t len = (uint32_t)o[4] * 4;
		struct wst_packet p;
		bool watched = k != 7;
		uint64_t evicted;
		uint16_t cport = (uint16_t)(40000 + k), sport = watched ? 7272 : 9999;

		off += 6;
		memset(&p, 0, sizeof(p));
		p.r.version = WST_RECORD_VERSION;
		p.r.kind = WST_REC_PACKET;
		p.r.hdr_len = sizeof(p.r);
		p.r.family = k >= 4 && k != 7 ? 6 : 4;
		p.r.saddr[0] = p.r.daddr[0] = 10;
		p.r.saddr[3] = (uint8_t)(dir ? 1 : 2);
		p.r.daddr[3] = (uint8_t)(dir ? 2 : 1);
		p.r.sport = dir ? sport : cport;
		p.r.dport = dir ? cport : sport;
		p.r.tcp_flags = o[1];
		p.r.seq = high[k][dir] + (uint32_t)(int32_t)delta;
		p.r.ack = high[k][!dir];
		p.r.window = 512;
		p.r.tcp_doff = 20;
		p.r.payload_len = len;
		p.r.cap_len = len < sizeof(payload) ? len : sizeof(payload);
		p.payload = payload;
		ts += o[5] == 255 ? 1000ull * 1000000000ull : (uint64_t)o[5] * 10000000ull;
		p.r.ts_ns = ts;
		if ((int32_t)(p.r.seq + len - high[k][dir]) > 0)
			high[k][dir] = p.r.seq + len;

		tcp_tracker_expire(t, ts);
		flow_check_settle(&z);
		/* A packet of an evicted connection is counted, not reported. */
		evicted = tcp_tracker_stats(t)->evicted_packets;
		flow_check_packet(&z, &p, watched && tcp_tracker_stats(t)->evicted_packets == evicted,
				  tcp_tracker_packet(t, &p));
		FC_CHECK(tcp_tracker_active(t) <= opts.max_flows);
	}
	tcp_tracker_finish(t, ts + 1);
	flow_check_settle(&z);
	FC_CHECK(tcp_tracker_active(t) == 0);
	flow_check_finished(&z);
	tcp_tracker_free(t);
	return 0;
}
