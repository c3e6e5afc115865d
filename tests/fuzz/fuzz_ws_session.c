// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_ws_session.c - libFuzzer target for the WebSocket session layer
 * behind the TCP tracker: two connections to port 7272 carrying scripted
 * segments (an upgrade, frames, anything) in order or not, with gaps,
 * retransmissions, snaplen cuts, FIN, RST and idle time.
 *
 * fuzz-flags: -max_len=16384
 *
 * Layout: byte 0 = options (bit 0: a three-way handshake first; bit 1:
 * small capture, inflate and reassembly limits), then segments: a control
 * byte, a length L and L payload bytes. Control bits: 0 server to client;
 * 1 the second connection; 2-3 sequence (0 next, 1 after a hole of L
 * bytes, 2 the previous segment's again, 3 1000 bytes ahead); 4 FIN;
 * 5 RST; 6 only 16 bytes captured; 7 a minute passes first.
 *
 * Invariants checked (abort on violation), with leak detection on: the
 * event contract of flow_check.h (packets after a close must not open a
 * session nobody ends), and after the end of the capture no flow and no
 * WebSocket session open.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracking/tcp_track.h"
#include "session/ws_session.h"
#include "flow_check.h"

static void on_event(void *ctx, const struct wst_event *ev)
{
	flow_check_event(ctx, ev);
}

struct conn {
	uint32_t next[2]; /* next sequence number each way */
	uint32_t last[2]; /* sequence number of the previous segment */
};

/* A packet of connection k (127.0.0.1:4000k <-> :7272), dir 1 = to the client. */
static void make_packet(struct wst_packet *p, const struct conn *c, int k, int dir,
			uint8_t flags, uint32_t seq, uint64_t ts)
{
	memset(p, 0, sizeof(*p));
	p->r.version = WST_RECORD_VERSION;
	p->r.kind = WST_REC_PACKET;
	p->r.hdr_len = sizeof(p->r);
	p->r.family = 4;
	p->r.saddr[0] = p->r.daddr[0] = 127;
	p->r.saddr[3] = p->r.daddr[3] = 1;
	p->r.sport = dir ? 7272 : (uint16_t)(40000 + k);
	p->r.dport = dir ? (uint16_t)(40000 + k) : 7272;
	p->r.tcp_flags = flags;
	p->r.seq = seq;
	p->r.ack = c->next[!dir];
	p->r.tcp_doff = 20;
	p->r.window = 1024;
	p->r.ts_ns = ts;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct flow_check z;
	struct ws_layer_opts lo = { 0 };
	struct port_set ports;
	struct tcp_tracker *t = NULL;
	struct ws_layer *l = NULL;
	struct wst_packet p;
	struct conn c[2];
	uint64_t ts = 1700000000ull * 1000000000ull;
	size_t off = 1;

	if (size < 1)
		return 0;
	flow_check_init(&z);
	memset(&ports, 0, sizeof(ports));
	ports_add(&ports, 7272);
	if (data[0] & 2) {
		lo.max_frame_capture = 64;
		lo.max_message_capture = 128;
		lo.max_inflate = 4096;
		lo.max_held_bytes = 3000;
		lo.max_held_per_dir = 2000;
	}
	if (ws_layer_new(&l, &lo, (struct wst_sink){ on_event, &z }))
		return 0;
	if (tcp_tracker_new(&t, NULL, &ports, (struct wst_sink){ ws_layer_event, l })) {
		ws_layer_free(l);
		return 0;
	}
	for (int k = 0; k < 2; k++) {
		c[k].next[0] = c[k].last[0] = 0x10000000u * (uint32_t)(k + 1);
		c[k].next[1] = c[k].last[1] = 0xfffff000u - 0x1000u * (uint32_t)k;
	}

	for (int i = 0; i < 2 * 3 && (data[0] & 1); i++) {
		/* SYN, SYN-ACK, ACK of each connection. */
		static const uint8_t hs[3][2] = { { 0, 0x02 }, { 1, 0x12 }, { 0, 0x10 } };
		int k = i / 3, dir = hs[i % 3][0];
		uint8_t flags = hs[i % 3][1];

		make_packet(&p, &c[k], k, dir, flags,
			    c[k].next[dir] - (flags & WST_TCP_SYN ? 1 : 0), ts += 1000);
		flow_check_packet(&z, &p, 1, tcp_tracker_packet(t, &p));
	}

	while (size - off >= 2) {
		uint8_t ctl = data[off], len = data[off + 1];
		int dir = ctl & 1, k = (ctl >> 1) & 1;
		uint32_t seq;

		off += 2;
		if (len > size - off)
			len = (uint8_t)(size - off);
		switch ((ctl >> 2) & 3) {
		case 0: seq = c[k].next[dir]; break;
		case 1: seq = c[k].next[dir] + len; break;
		case 2: seq = c[k].last[dir]; break;
		default: seq = c[k].next[dir] + 1000; break;
		}
		if (ctl & 0x80) {
			ts += 60ull * 1000000000ull;
			tcp_tracker_expire(t, ts);
			flow_check_settle(&z);
		}
		make_packet(&p, &c[k], k, dir,
			    WST_TCP_ACK | (len ? WST_TCP_PSH : 0) | (ctl & 0x10 ? WST_TCP_FIN : 0) |
			    (ctl & 0x20 ? WST_TCP_RST : 0), seq, ts += 1000);
		p.r.payload_len = len;
		p.r.cap_len = ctl & 0x40 && len > 16 ? 16 : len;
		p.payload = data + off;
		off += len;

		c[k].last[dir] = seq;
		if ((int32_t)(seq + len - c[k].next[dir]) > 0)
			c[k].next[dir] = seq + len + (ctl & 0x10 ? 1 : 0);
		flow_check_packet(&z, &p, 1, tcp_tracker_packet(t, &p));
	}
	tcp_tracker_finish(t, ts + 1);
	flow_check_settle(&z);
	FC_CHECK(tcp_tracker_active(t) == 0);
	FC_CHECK(ws_layer_stats(l)->active == 0);
	flow_check_finished(&z);
	tcp_tracker_free(t);
	ws_layer_free(l);
	return 0;
}
