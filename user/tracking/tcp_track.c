// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcp_track.c - TCP state per connection, from packets seen passively (RFC 9293). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_track.h"

struct tcp_tracker {
	struct tcp_track_opts opts;
	const struct port_set *ports;
	struct wst_sink sink;
	struct flow_table flows;
	struct tcp_stats stats;
	uint64_t latest_ns; /* the newest packet's time: where a capture ends */
};

/* Sequence number comparisons modulo 2^32 (RFC 9293 3.4). */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

int tcp_tracker_new(struct tcp_tracker **out, const struct tcp_track_opts *opts,
		    const struct port_set *ports, struct wst_sink sink)
{
	struct tcp_tracker *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	if (opts)
		t->opts = *opts;
	if (!t->opts.max_flows)
		t->opts.max_flows = TCP_TRACK_DEFAULT_MAX_FLOWS;
	if (!t->opts.handshake_timeout_ns)
		t->opts.handshake_timeout_ns = TCP_TRACK_DEFAULT_HANDSHAKE_TIMEOUT_NS;
	if (!t->opts.idle_timeout_ns)
		t->opts.idle_timeout_ns = TCP_TRACK_DEFAULT_IDLE_TIMEOUT_NS;
	if (!t->opts.linger_ns)
		t->opts.linger_ns = TCP_TRACK_DEFAULT_LINGER_NS;
	if (!t->opts.reset_linger_ns)
		t->opts.reset_linger_ns = TCP_TRACK_DEFAULT_RESET_LINGER_NS;
	err = flow_table_init(&t->flows, t->opts.max_flows);
	if (err) {
		free(t);
		return err;
	}
	t->ports = ports;
	t->sink = sink;
	*out = t;
	return 0;
}

void tcp_tracker_set_ports(struct tcp_tracker *t, const struct port_set *ports)
{
	t->ports = ports;
}

static void emit(struct tcp_tracker *t, struct wst_event *ev)
{
	if (t->sink.on_event)
		t->sink.on_event(t->sink.ctx, ev);
}

static void emit_simple(struct tcp_tracker *t, enum wst_event_type type, struct wst_flow *f,
			enum wst_flow_dir dir, const struct wst_packet *pkt, uint64_t ts)
{
	struct wst_event ev = { .type = type, .ts_ns = ts, .flow = f, .dir = dir, .pkt = pkt };

	emit(t, &ev);
}

/* The one per-packet event; decode: see struct wst_event. */
static void emit_packet(struct tcp_tracker *t, enum wst_event_type type, struct wst_flow *f,
			enum wst_flow_dir dir, const struct wst_packet *pkt, bool decode)
{
	struct wst_event ev; /* once a packet: set field by field (event.h) */

	ev.type = type;
	ev.ts_ns = pkt->r.ts_ns;
	ev.flow = f;
	ev.dir = dir;
	ev.pkt = pkt;
	ev.decode = decode;
	ev.attrib = NULL;
	emit(t, &ev);
}

/*
 * The one tcp_closed of a flow. After a reset linger the connection ended
 * at its last packet, before the close is known (ts): its duration ends there.
 */
static void emit_closed(struct tcp_tracker *t, struct wst_flow *f, enum wst_close_reason reason,
			enum wst_flow_dir dir, const struct wst_packet *pkt, uint64_t ts)
{
	struct wst_event ev = { .type = WST_EV_TCP_CLOSED, .ts_ns = ts, .flow = f, .dir = dir, .pkt = pkt };
	uint64_t end = f->state == TCP_ST_RESET && f->last_ns < ts ? f->last_ns : ts;

	ev.u.closed.end_ns = end;
	ev.u.closed.duration_us = end > f->first_ns ? (end - f->first_ns) / 1000 : 0;
	ev.u.closed.reason = reason;
	for (int d = 0; d < 2; d++) {
		ev.u.closed.bytes[d] = f->half[d].bytes;
		ev.u.closed.pkts[d] = f->half[d].pkts;
	}
	f->state = TCP_ST_CLOSED;
	t->stats.closed++;
	emit(t, &ev);
}

/* Ends a flow that is still open (a reset one as reset), then frees it. */
static void flow_end(struct tcp_tracker *t, struct wst_flow *f, enum wst_close_reason reason, uint64_t ts)
{
	if (f->state == TCP_ST_RESET)
		reason = WST_CLOSE_RST;
	if (f->state != TCP_ST_CLOSED)
		emit_closed(t, f, reason, WST_C2S, NULL, ts);
	/* Upper layers let go of the flow at tcp_closed: anything left is a leak. */
	if (f->app)
		t->stats.app_leaks++;
	flow_remove(&t->flows, f);
}

static struct wst_flow *flow_new(struct tcp_tracker *t, const struct flow_key *key, uint64_t ts)
{
	if (flow_table_full(&t->flows)) {
		struct wst_flow *victim = flow_lru(&t->flows);

		if (!victim)
			return NULL;
		if (victim->state != TCP_ST_CLOSED && victim->state != TCP_ST_RESET)
			t->stats.evicted++;
		/* Its later packets must not look like a new connection. */
		flow_tomb_add(&t->flows, &victim->key, ts);
		t->stats.evicted_forgotten = t->flows.tombs.forgotten;
		flow_end(t, victim, WST_CLOSE_EVICTED, ts);
	}
	t->stats.flows++;
	return flow_insert(&t->flows, key, ts);
}

/* Classifies the packet's sequence space and updates its half. */
static enum wst_event_type classify(struct tcp_tracker *t, struct wst_flow *f, enum wst_flow_dir dir,
				    const struct wst_record *r)
{
	struct tcp_half *h = &f->half[dir];
	bool syn = r->tcp_flags & WST_TCP_SYN, fin = r->tcp_flags & WST_TCP_FIN;
	uint32_t seg_len = r->payload_len + syn + fin;
	uint32_t end = r->seq + seg_len;
	enum wst_event_type type;

	h->pkts++;
	if (r->tcp_flags & WST_TCP_RST)
		return WST_EV_TCP_RST;
	if (syn) {
		if (h->syn_seen && r->seq == h->isn) {
			t->stats.retransmits++;
			return WST_EV_TCP_RETRANSMIT;
		}
		h->syn_seen = true;
		h->isn = r->seq;
		h->high_seq = end;
		h->seq_known = true;
		h->bytes += r->payload_len;
		return (r->tcp_flags & WST_TCP_ACK) ? WST_EV_TCP_SYNACK : WST_EV_TCP_SYN;
	}
	if (seg_len == 0) {
		if (!h->seq_known) {
			h->seq_known = true;
			h->high_seq = r->seq;
		}
		return WST_EV_TCP_ACK;
	}
	type = fin ? WST_EV_TCP_FIN : WST_EV_TCP_DATA;
	if (!h->seq_known) {
		h->seq_known = true;
		h->bytes += r->payload_len;
		h->high_seq = end;
	} else if (seq_leq(end, h->high_seq)) {
		/* Nothing new: every byte (and the FIN) was seen before. */
		t->stats.retransmits++;
		return WST_EV_TCP_RETRANSMIT;
	} else if (seq_lt(h->high_seq, r->seq)) {
		/* Bytes before this segment are missing (reordering or loss). */
		t->stats.out_of_order++;
		h->bytes += r->payload_len;
		h->high_seq = end;
		type = WST_EV_TCP_OUT_OF_ORDER;
	} else {
		/* In order, possibly overlapping what was seen: count only new bytes. */
		uint32_t fresh = end - h->high_seq - fin;

		h->bytes += fresh < r->payload_len ? fresh : r->payload_len;
		h->high_seq = end;
	}
	if (fin && !h->fin_seen) {
		h->fin_seen = true;
		h->fin_seq = r->seq + r->payload_len;
	}
	return type;
}

static bool tomb_hit_reverse(struct tcp_tracker *t, const struct flow_key *key, uint64_t ts)
{
	struct flow_key rev;

	flow_key_reverse(key, &rev);
	return flow_tomb_hit(&t->flows, &rev, ts);
}

/* Applies what the packet's ACK number acknowledges on the other half. */
static void apply_ack(struct wst_flow *f, enum wst_flow_dir dir, const struct wst_record *r)
{
	struct tcp_half *o = &f->half[!dir];

	if (!(r->tcp_flags & WST_TCP_ACK))
		return;
	if (o->syn_seen && !o->syn_acked && seq_leq(o->isn + 1, r->ack))
		o->syn_acked = true;
	if (o->fin_seen && !o->fin_acked && seq_leq(o->fin_seq + 1, r->ack))
		o->fin_acked = true;
}

static enum flow_timer timer_for(const struct wst_flow *f)
{
	if (f->state == TCP_ST_RESET)
		return FLOW_TIMER_RESET;
	if (f->state == TCP_ST_CLOSED || (f->half[0].fin_seen && f->half[1].fin_seen))
		return FLOW_TIMER_LINGER;
	if (f->state < TCP_ST_ESTABLISHED)
		return FLOW_TIMER_HANDSHAKE;
	return FLOW_TIMER_IDLE;
}

/*
 * Whether a RST from dir waits for the other side's data in flight. Not
 * when nothing more can come from it: during the handshake (no data yet),
 * after its FIN, or after the resetting side's own FIN, whose RST refuses
 * data that came after its close (RFC 1122 4.2.2.13): a reply to a segment
 * already seen, not an abort crossing data on the wire. And only where the
 * other side's sequence space is known, to tell what follows it.
 */
static bool reset_lingers(const struct wst_flow *f, enum wst_flow_dir dir)
{
	return f->state == TCP_ST_ESTABLISHED && f->half[!dir].seq_known;
}

/*
 * After a reset, a segment of the other side still belongs to the
 * connection if it starts at or before the next byte expected of that
 * side (in order, or overlapping): data that was on the wire. Beyond a
 * gap, from the resetting side, or a SYN: not.
 */
static bool reset_accepts(const struct wst_flow *f, enum wst_flow_dir dir, const struct wst_record *r)
{
	const struct tcp_half *h = &f->half[dir];

	return dir != f->rst_dir && !(r->tcp_flags & (WST_TCP_SYN | WST_TCP_RST)) && h->seq_known &&
	       seq_leq(r->seq, h->high_seq);
}

/* The reset linger is over: the connection is reported closed. */
static void reset_close(struct tcp_tracker *t, struct wst_flow *f, enum wst_flow_dir dir,
			const struct wst_packet *pkt, uint64_t ts)
{
	emit_closed(t, f, WST_CLOSE_RST, dir, pkt, ts);
	flow_touch(&t->flows, f, FLOW_TIMER_LINGER, ts);
}

/*
 * A packet after the connection ended (tcp_closed sent), or after a reset
 * one it does not belong to: reported as what it is, counted, not decoded.
 * Classified on a copy, so it changes nothing of the connection.
 */
static void late_packet(struct tcp_tracker *t, struct wst_flow *f, enum wst_flow_dir dir,
			const struct wst_packet *pkt)
{
	struct tcp_half saved = f->half[dir];
	enum wst_event_type type = classify(t, f, dir, &pkt->r);

	f->half[dir] = saved;
	t->stats.late_packets++;
	emit_packet(t, type, f, dir, pkt, false);
	/* A closed flow lingers while late packets come; a reset one's linger
	 * counts from the RST, so they cannot hold it open. */
	if (f->state == TCP_ST_CLOSED)
		flow_touch(&t->flows, f, FLOW_TIMER_LINGER, pkt->r.ts_ns);
}

/* A packet of a reset connection waiting for the other side's data. */
static void reset_packet(struct tcp_tracker *t, struct wst_flow *f, enum wst_flow_dir dir,
			 const struct wst_packet *pkt)
{
	const struct wst_record *r = &pkt->r;
	bool other_rst = dir != f->rst_dir && (r->tcp_flags & WST_TCP_RST);
	enum wst_event_type type;

	if (!other_rst && !reset_accepts(f, dir, r)) {
		late_packet(t, f, dir, pkt);
		return;
	}
	type = classify(t, f, dir, r);
	apply_ack(f, dir, r);
	if (r->ts_ns > f->last_ns)
		f->last_ns = r->ts_ns;
	emit_packet(t, type, f, dir, pkt, !other_rst);
	/* Reset both ways, or the other side's FIN: nothing more can come. */
	if (other_rst || f->half[dir].fin_seen)
		reset_close(t, f, dir, pkt, r->ts_ns);
}

void tcp_tracker_packet(struct tcp_tracker *t, const struct wst_packet *pkt)
{
	const struct wst_record *r = &pkt->r;
	uint64_t ts = r->ts_ns;
	struct flow_key key;
	enum wst_flow_dir dir;
	enum wst_event_type type;
	struct wst_flow *f;
	bool syn_only = (r->tcp_flags & (WST_TCP_SYN | WST_TCP_ACK | WST_TCP_RST)) == WST_TCP_SYN;
	bool both = ports_has(t->ports, r->sport) && ports_has(t->ports, r->dport);

	t->stats.packets++;
	if (!flow_key_from_packet(pkt, t->ports, &key, &dir)) {
		t->stats.not_watched++;
		return;
	}
	if (ts > t->latest_ns)
		t->latest_ns = ts;
	tcp_tracker_expire(t, ts);

	f = flow_lookup(&t->flows, &key);
	/* Both ports watched: the roles were a guess, the other order may exist. */
	if (!f && both) {
		struct flow_key rev;

		flow_key_reverse(&key, &rev);
		f = flow_lookup(&t->flows, &rev);
		if (f) {
			key = rev;
			dir = !dir;
		}
	}
	/* A new SYN on an ended tuple, or with a new ISN, is a new connection. */
	if (f && syn_only && dir == WST_C2S &&
	    (f->state == TCP_ST_CLOSED || f->state == TCP_ST_RESET ||
	     (f->half[WST_C2S].syn_seen && f->half[WST_C2S].isn != r->seq) || f->midstream)) {
		flow_end(t, f, WST_CLOSE_END, ts);
		f = NULL;
	}
	if (!f) {
		if (syn_only) {
			flow_tomb_forget(&t->flows, &key);
		} else if (flow_tomb_hit(&t->flows, &key, ts) || (both && tomb_hit_reverse(t, &key, ts))) {
			/* The rest of an evicted connection: not a new one. */
			t->stats.evicted_packets++;
			return;
		}
		f = flow_new(t, &key, ts);
		if (!f)
			return; /* out of memory: counted as not tracked below */
		if (syn_only) {
			f->state = TCP_ST_SYN_SENT;
			f->syn_ns = ts;
		} else {
			f->state = TCP_ST_ESTABLISHED;
			f->midstream = true;
			t->stats.midstream++;
		}
	}
	if (f->state == TCP_ST_CLOSED) {
		late_packet(t, f, dir, pkt);
		return;
	}
	if (f->state == TCP_ST_RESET) {
		reset_packet(t, f, dir, pkt);
		return;
	}

	type = classify(t, f, dir, r);
	apply_ack(f, dir, r);
	if (f->state == TCP_ST_SYN_SENT && (r->tcp_flags & WST_TCP_SYN) && !syn_only)
		f->state = TCP_ST_SYN_RCVD;
	emit_packet(t, type, f, dir, pkt, type != WST_EV_TCP_RST);

	if (type == WST_EV_TCP_RST) {
		if (f->state < TCP_ST_ESTABLISHED && dir == WST_S2C) {
			t->stats.refused++;
			emit_simple(t, WST_EV_TCP_REFUSED, f, dir, pkt, ts);
		} else {
			t->stats.resets++;
			if (reset_lingers(f, dir)) {
				f->state = TCP_ST_RESET;
				f->rst_dir = (uint8_t)dir;
				f->rst_ns = ts;
				goto touch;
			}
		}
		emit_closed(t, f, WST_CLOSE_RST, dir, pkt, ts);
		goto touch;
	}
	if (f->state < TCP_ST_ESTABLISHED && f->half[WST_C2S].syn_acked && f->half[WST_S2C].syn_acked) {
		struct wst_event ev = { .type = WST_EV_TCP_ESTABLISHED, .ts_ns = ts, .flow = f,
					.dir = dir, .pkt = pkt };

		f->state = TCP_ST_ESTABLISHED;
		f->est_ns = ts;
		f->established_seen = true;
		t->stats.established++;
		ev.u.established.handshake_us = ts > f->syn_ns ? (ts - f->syn_ns) / 1000 : 0;
		emit(t, &ev);
	}
	if (f->state != TCP_ST_CLOSED && (f->half[0].fin_seen || f->half[1].fin_seen)) {
		if (f->state == TCP_ST_ESTABLISHED)
			f->state = TCP_ST_CLOSING;
		if (f->half[0].fin_acked && f->half[1].fin_acked)
			emit_closed(t, f, WST_CLOSE_FIN, dir, pkt, ts);
	}
touch:
	flow_touch(&t->flows, f, timer_for(f), ts);
}

void tcp_tracker_expire(struct tcp_tracker *t, uint64_t now_ns)
{
	struct wst_flow *f;

	/* First: these closes are dated at the end of their linger, before now. */
	while ((f = flow_oldest(&t->flows, FLOW_TIMER_RESET)) &&
	       f->rst_ns + t->opts.reset_linger_ns <= now_ns)
		reset_close(t, f, WST_C2S, NULL, f->rst_ns + t->opts.reset_linger_ns);
	while ((f = flow_oldest(&t->flows, FLOW_TIMER_HANDSHAKE)) &&
	       f->last_ns + t->opts.handshake_timeout_ns <= now_ns) {
		struct wst_event ev = { .type = WST_EV_TCP_HANDSHAKE_TIMEOUT, .ts_ns = now_ns,
					.flow = f, .dir = WST_C2S };

		ev.u.timeout.waited_us = (now_ns - f->first_ns) / 1000;
		/* Answered with a SYN-ACK: the client's final ACK is what never came. */
		ev.u.timeout.synack_seen = f->half[WST_S2C].syn_seen;
		if (ev.u.timeout.synack_seen)
			t->stats.handshake_incomplete++;
		else
			t->stats.handshake_timeouts++;
		emit(t, &ev);
		flow_end(t, f, WST_CLOSE_IDLE, now_ns);
	}
	while ((f = flow_oldest(&t->flows, FLOW_TIMER_IDLE)) &&
	       f->last_ns + t->opts.idle_timeout_ns <= now_ns) {
		t->stats.idle_expired++;
		flow_end(t, f, WST_CLOSE_IDLE, now_ns);
	}
	/* Both FINs seen but the last ACK not captured still counts as a FIN close. */
	while ((f = flow_oldest(&t->flows, FLOW_TIMER_LINGER)) &&
	       f->last_ns + t->opts.linger_ns <= now_ns)
		flow_end(t, f, WST_CLOSE_FIN, now_ns);
	/* An evicted connection silent for the idle timeout is gone. */
	if (now_ns > t->opts.idle_timeout_ns)
		flow_tomb_expire(&t->flows, now_ns - t->opts.idle_timeout_ns);
}

void tcp_tracker_finish(struct tcp_tracker *t, uint64_t now_ns)
{
	struct wst_flow *f;
	uint64_t end = now_ns > t->latest_ns ? now_ns : t->latest_ns;

	for (int l = 0; l < FLOW_TIMER_MAX; l++) {
		while ((f = flow_oldest(&t->flows, l))) {
			enum wst_close_reason reason = WST_CLOSE_END;
			uint64_t ts = now_ns > f->last_ns ? now_ns : f->last_ns;

			if (f->half[0].fin_seen && f->half[1].fin_seen)
				reason = WST_CLOSE_FIN;
			/* A reset linger cut short by the end of the capture
			 * ends there (no earlier: events stay in time order). */
			if (f->state == TCP_ST_RESET)
				ts = end < f->rst_ns + t->opts.reset_linger_ns ? end
									 : f->rst_ns + t->opts.reset_linger_ns;
			flow_end(t, f, reason, ts);
		}
	}
}

struct wst_flow *tcp_tracker_find(struct tcp_tracker *t, int family, const uint8_t saddr[16],
				  uint16_t sport, const uint8_t daddr[16], uint16_t dport,
				  enum wst_flow_dir *dir)
{
	struct wst_packet pkt = { .r = { .family = family, .sport = sport, .dport = dport,
					 .tcp_flags = WST_TCP_ACK } };
	struct flow_key key;

	memcpy(pkt.r.saddr, saddr, 16);
	memcpy(pkt.r.daddr, daddr, 16);
	/* the very key the packet path builds (flow.c), so both find one flow */
	if (!flow_key_from_packet(&pkt, t->ports, &key, dir))
		return NULL;
	return flow_lookup(&t->flows, &key);
}

const struct tcp_stats *tcp_tracker_stats(const struct tcp_tracker *t)
{
	return &t->stats;
}

uint64_t tcp_tracker_active(const struct tcp_tracker *t)
{
	return t->flows.n - t->flows.lists[FLOW_TIMER_LINGER].n;
}

void tcp_tracker_free(struct tcp_tracker *t)
{
	if (!t)
		return;
	flow_table_destroy(&t->flows);
	free(t);
}
