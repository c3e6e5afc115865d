// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_tls_join.c - libFuzzer target for the TLS plaintext path: ring
 * buffer records checked by capture_parse_tls_record(), joined to a
 * tracked connection by tls_join_plaintext(), decoded by the WebSocket
 * layer's byte path, alongside the connection's packets on the wire.
 *
 * fuzz-flags: -max_len=16384
 *
 * Layout: a connection 127.0.0.1:40000 <-> :7272 is opened (three-way
 * handshake); then items: a control byte, a length L and L bytes. Control
 * bits: 7 set: a packet on the wire (bit 0: to the client) carrying the
 * bytes; else a TLS record: 0 the client's SSL object (else the server's),
 * 1 written (else read), 2 socket unknown, 3 a MAP record (no data),
 * 4 SSL_free, 5 first seen mid-stream, 6 L bytes lost before it.
 *
 * Invariants checked (abort on violation), with leak detection on: every
 * record the reader builds is accepted; the event contract of
 * flow_check.h; at the end no flow and no WebSocket session open.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/capture_record.h"
#include "tracking/tcp_track.h"
#include "session/tls_join.h"
#include "session/ws_session.h"
#include "flow_check.h"

static void on_event(void *ctx, const struct wst_event *ev)
{
	flow_check_event(ctx, ev);
}

static void make_packet(struct wst_packet *p, int dir, uint8_t flags, uint32_t seq, uint32_t ack,
			uint64_t ts)
{
	memset(p, 0, sizeof(*p));
	p->r.version = WST_RECORD_VERSION;
	p->r.kind = WST_REC_PACKET;
	p->r.hdr_len = sizeof(p->r);
	p->r.family = 4;
	p->r.saddr[0] = p->r.daddr[0] = 127;
	p->r.saddr[3] = p->r.daddr[3] = 1;
	p->r.sport = dir ? 7272 : 40000;
	p->r.dport = dir ? 40000 : 7272;
	p->r.tcp_flags = flags;
	p->r.seq = seq;
	p->r.ack = ack;
	p->r.tcp_doff = 20;
	p->r.window = 1024;
	p->r.ts_ns = ts;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct flow_check z;
	static uint8_t rec[sizeof(struct wst_tls_rec) + 256];
	struct port_set ports;
	struct tcp_tracker *t = NULL;
	struct ws_layer *l = NULL;
	struct tls_join *j = NULL;
	struct wst_packet p;
	uint32_t next[2] = { 1000, 9000 };
	uint64_t off[2][2] = { { 0 } };
	uint64_t ts = 1700000000ull * 1000000000ull;
	size_t at = 0;

	flow_check_init(&z);
	memset(&ports, 0, sizeof(ports));
	ports_add(&ports, 7272);
	if (ws_layer_new(&l, NULL, (struct wst_sink){ on_event, &z }))
		return 0;
	if (tcp_tracker_new(&t, NULL, &ports, (struct wst_sink){ ws_layer_event, l }) ||
	    tls_join_new(&j, t, l)) {
		tcp_tracker_free(t);
		ws_layer_free(l);
		return 0;
	}
	make_packet(&p, 0, WST_TCP_SYN, next[0] - 1, 0, ts += 1000);
	flow_check_packet(&z, &p, 1, tcp_tracker_packet(t, &p));
	make_packet(&p, 1, WST_TCP_SYN | WST_TCP_ACK, next[1] - 1, next[0], ts += 1000);
	flow_check_packet(&z, &p, 1, tcp_tracker_packet(t, &p));
	make_packet(&p, 0, WST_TCP_ACK, next[0], next[1], ts += 1000);
	flow_check_packet(&z, &p, 1, tcp_tracker_packet(t, &p));

	while (size - at >= 2) {
		uint8_t ctl = data[at], len = data[at + 1];
		struct wst_tls_rec *r = (struct wst_tls_rec *)rec;
		struct wst_plaintext pt;
		int side = ctl & 1, dir = (ctl >> 1) & 1;

		at += 2;
		if (len > size - at)
			len = (uint8_t)(size - at);
		if (ctl & 0x80) {
			make_packet(&p, side, WST_TCP_ACK | WST_TCP_PSH, next[side], next[!side], ts += 1000);
			p.r.payload_len = p.r.cap_len = len;
			p.payload = data + at;
			next[side] += len;
			flow_check_packet(&z, &p, 1, tcp_tracker_packet(t, &p));
			at += len;
			continue;
		}
		memset(r, 0, sizeof(*r));
		r->version = WST_RECORD_VERSION;
		r->hdr_len = sizeof(*r);
		r->kind = ctl & 0x10 ? WST_REC_TLS_FREE : WST_REC_TLS_DATA;
		r->ts_ns = 1000 + at;
		r->ssl = side ? 0xc000 : 0x5000;
		r->tgid = side ? 2 : 1;
		r->dir = (uint8_t)dir;
		if (!(ctl & 4) || (ctl & 8)) {
			r->src = WST_TLS_SRC_SYSCALL;
			r->tuple.family = 4;
			r->tuple.laddr[0] = r->tuple.raddr[0] = 127;
			r->tuple.laddr[3] = r->tuple.raddr[3] = 1;
			r->tuple.lport = side ? 40000 : 7272;
			r->tuple.rport = side ? 7272 : 40000;
		}
		if (r->kind == WST_REC_TLS_DATA && (ctl & 8)) {
			r->flags = WST_TLS_F_MAP;
		} else if (r->kind == WST_REC_TLS_DATA) {
			if (!len)
				continue; /* the kernel sends no empty data record */
			r->flags = ctl & 0x20 ? WST_TLS_F_MIDSTREAM : 0;
			if (ctl & 0x40)
				off[side][dir] += len;
			r->offset = off[side][dir];
			r->call_len = r->cap_len = len;
			memcpy(rec + sizeof(*r), data + at, len);
			off[side][dir] += len;
		} else {
			off[side][0] = off[side][1] = 0;
		}
		FC_CHECK(capture_parse_tls_record(rec, sizeof(*r) + r->cap_len, 5, &pt) == 0);
		FC_CHECK(pt.r.ts_ns == r->ts_ns + 5 && pt.data == rec + sizeof(*r));
		/* a byte short is refused */
		FC_CHECK(capture_parse_tls_record(rec, sizeof(*r) + r->cap_len - 1, 5, &pt) != 0);
		FC_CHECK(capture_parse_tls_record(rec, sizeof(*r) + r->cap_len, 5, &pt) == 0);
		pt.r.ts_ns = ts += 1000;
		tls_join_plaintext(j, &pt);
		at += r->kind == WST_REC_TLS_DATA && !(ctl & 8) ? len : 0;
	}
	make_packet(&p, 0, WST_TCP_FIN | WST_TCP_ACK, next[0], next[1], ts += 1000);
	flow_check_packet(&z, &p, 1, tcp_tracker_packet(t, &p));
	tcp_tracker_finish(t, ts + 1);
	flow_check_settle(&z);
	FC_CHECK(tcp_tracker_active(t) == 0);
	FC_CHECK(ws_layer_stats(l)->active == 0);
	flow_check_finished(&z);
	tls_join_free(j);
	tcp_tracker_free(t);
	ws_layer_free(l);
	return 0;
}
