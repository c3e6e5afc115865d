/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pipeline.h - the real layers, tracker -> WebSocket layer -> a test's
 * sink, fed with one crafted connection (10.0.0.1:40000 to 10.0.0.2:7272).
 * Each direction's sequence number advances with what it sends, so tests
 * write the conversation and not the arithmetic; pipe_at() sends at
 * another sequence number (gaps, retransmissions).
 *
 *	struct pipeline p;
 *	pipe_init(&p, (struct wst_sink){ on_event, ctx }, NULL, NULL);
 *	pipe_upgrade(&p);
 *	pipe_frame(&p, WST_C2S, WS_OP_TEXT, "hi", 2);
 *	...
 *	pipe_free(&p);
 */
#ifndef WST_TEST_PIPELINE_H
#define WST_TEST_PIPELINE_H

#include <stdint.h>
#include <string.h>

#include "core/ports.h"
#include "tracking/tcp_track.h"
#include "protocol/ws_frame.h"
#include "session/ws_session.h"

#define PIPE_SERVER_PORT 7272
#define PIPE_CLIENT_PORT 40000
#define PIPE_STEP_NS 1000000ULL /* packets 1 ms apart */

struct pipeline {
	struct tcp_tracker *t;
	struct ws_layer *ws;
	struct port_set ports;
	uint32_t seq[2];       /* next sequence number, by enum wst_flow_dir */
	uint64_t now;          /* the last packet's time */
};

static inline void pipe_init(struct pipeline *p, struct wst_sink out, const struct tcp_track_opts *o,
			     const struct ws_layer_opts *wo)
{
	memset(p, 0, sizeof(*p));
	p->seq[WST_C2S] = 1000;
	p->seq[WST_S2C] = 5000;
	p->now = 1700000000ULL * 1000000000ULL;
	ports_add(&p->ports, PIPE_SERVER_PORT);
	assert_int_equal(ws_layer_new(&p->ws, wo, out), 0);
	assert_int_equal(tcp_tracker_new(&p->t, o, &p->ports, (struct wst_sink){ ws_layer_event, p->ws }), 0);
}

static inline void pipe_free(struct pipeline *p)
{
	tcp_tracker_free(p->t);
	ws_layer_free(p->ws);
}

/* A packet of the crafted connection (client port cport) at time ts;
 * payload may be NULL for the tracker alone, which never reads it. */
static inline void pipe_fill(struct wst_packet *pkt, enum wst_flow_dir dir, uint16_t cport, uint8_t flags,
			     uint32_t seq, uint32_t ack, const void *payload, uint32_t len, uint64_t ts)
{
	static const uint8_t caddr[4] = { 10, 0, 0, 1 }, saddr[4] = { 10, 0, 0, 2 };

	memset(pkt, 0, sizeof(*pkt));
	pkt->r.version = WST_RECORD_VERSION;
	pkt->r.kind = WST_REC_PACKET;
	pkt->r.hdr_len = sizeof(pkt->r);
	pkt->r.ts_ns = ts;
	pkt->r.family = 4;
	pkt->r.tcp_flags = flags;
	pkt->r.tcp_doff = 20;
	pkt->r.seq = seq;
	pkt->r.ack = ack;
	pkt->r.window = 512;
	pkt->r.payload_len = len;
	pkt->r.cap_len = payload ? len : 0;
	pkt->payload = payload;
	memcpy(pkt->r.saddr, dir == WST_C2S ? caddr : saddr, 4);
	memcpy(pkt->r.daddr, dir == WST_C2S ? saddr : caddr, 4);
	pkt->r.sport = dir == WST_C2S ? cport : PIPE_SERVER_PORT;
	pkt->r.dport = dir == WST_C2S ? PIPE_SERVER_PORT : cport;
}

/* One packet at sequence number seq, 1 ms after the last one. */
static inline void pipe_at(struct pipeline *p, enum wst_flow_dir dir, uint8_t flags, uint32_t seq,
			   const void *payload, uint32_t len)
{
	struct wst_packet pkt;

	p->now += PIPE_STEP_NS;
	pipe_fill(&pkt, dir, PIPE_CLIENT_PORT, flags, seq, p->seq[!dir], payload, len, p->now);
	tcp_tracker_packet(p->t, &pkt);
}

/* One packet at the direction's next sequence number, which it advances. */
static inline void pipe_pkt(struct pipeline *p, enum wst_flow_dir dir, uint8_t flags,
			    const void *payload, uint32_t len)
{
	uint32_t seq = p->seq[dir];

	p->seq[dir] += len + ((flags & (WST_TCP_SYN | WST_TCP_FIN)) ? 1 : 0);
	pipe_at(p, dir, flags, seq, payload, len);
}

/* One frame (payload < 126 bytes) as bytes; masked from the client (RFC 6455 5.3). */
static inline uint32_t pipe_frame_bytes(uint8_t *f, enum wst_flow_dir dir, uint8_t opcode,
					const void *payload, size_t len)
{
	static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t n = 0;

	assert_true(len <= 125);
	f[n++] = 0x80 | opcode;
	f[n++] = (uint8_t)len | (dir == WST_C2S ? 0x80 : 0);
	if (dir == WST_C2S) {
		memcpy(f + n, mask, 4);
		n += 4;
	}
	for (size_t i = 0; i < len; i++)
		f[n + i] = ((const uint8_t *)payload)[i] ^ (dir == WST_C2S ? mask[i % 4] : 0);
	return (uint32_t)(n + len);
}

static inline void pipe_frame(struct pipeline *p, enum wst_flow_dir dir, uint8_t opcode,
			      const void *payload, size_t len)
{
	uint8_t f[2 + 4 + 125];

	pipe_pkt(p, dir, WST_TCP_PSH | WST_TCP_ACK, f, pipe_frame_bytes(f, dir, opcode, payload, len));
}

/* The RFC 6455 1.3 key and its accept value. */
static const char pipe_request[] =
	"GET / HTTP/1.1\r\nHost: 127.0.0.1:7272\r\nUpgrade: websocket\r\n"
	"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Origin: http://127.0.0.1:55151\r\nSec-WebSocket-Version: 13\r\n\r\n";
static const char pipe_response[] =
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

static inline void pipe_handshake(struct pipeline *p)
{
	pipe_pkt(p, WST_C2S, WST_TCP_SYN, NULL, 0);
	pipe_pkt(p, WST_S2C, WST_TCP_SYN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(p, WST_C2S, WST_TCP_ACK, NULL, 0);
}

/* The TCP handshake, the upgrade request and its 101. */
static inline void pipe_upgrade(struct pipeline *p)
{
	pipe_handshake(p);
	pipe_pkt(p, WST_C2S, WST_TCP_PSH | WST_TCP_ACK, pipe_request, sizeof(pipe_request) - 1);
	pipe_pkt(p, WST_S2C, WST_TCP_PSH | WST_TCP_ACK, pipe_response, sizeof(pipe_response) - 1);
}

#endif /* WST_TEST_PIPELINE_H */
