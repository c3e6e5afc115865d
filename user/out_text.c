// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* out_text.c - one human-readable line per event, in tcpdump's style. */
#include <inttypes.h>
#include <stdio.h>

#include "flow.h"
#include "output.h"

static void print_prefix(struct output *o, const struct wst_event *ev)
{
	char ts[32], src[WST_ENDPOINT_STRLEN], dst[WST_ENDPOINT_STRLEN];

	output_time_local(o, ev->ts_ns, ts, sizeof(ts));
	output_endpoints(ev, src, dst);
	fputs(ts, o->fp);
	if (o->verbose && ev->pkt)
		fprintf(o->fp, " %s %s", output_ifname(ev->pkt->r.ifindex),
			ev->pkt->r.dir == WST_DIR_EGRESS ? "Out" : ev->pkt->r.dir == WST_DIR_INGRESS ? "In " : "-  ");
	fprintf(o->fp, " %s > %s ", src, dst);
}

static void print_packet(struct output *o, const struct wst_event *ev)
{
	const struct wst_record *r = &ev->pkt->r;
	char flags[12];
	uint32_t seq = output_rel_seq(ev->flow, ev->dir, r->seq);

	pkt_format_flags(flags, sizeof(flags), r->tcp_flags);
	fprintf(o->fp, "[%s] seq %" PRIu32, flags, seq);
	if (r->payload_len)
		fprintf(o->fp, ":%" PRIu32, seq + r->payload_len);
	if (r->tcp_flags & WST_TCP_ACK)
		fprintf(o->fp, " ack %" PRIu32, output_rel_seq(ev->flow, !ev->dir, r->ack));
	fprintf(o->fp, " win %u len %" PRIu32, r->window, r->payload_len);
	if (r->cap_len < r->payload_len)
		fprintf(o->fp, " (captured %" PRIu32 ")", r->cap_len);
	if (ev->type == WST_EV_TCP_RETRANSMIT)
		fputs(" retransmit", o->fp);
	else if (ev->type == WST_EV_TCP_OUT_OF_ORDER)
		fputs(" out-of-order", o->fp);
	putc('\n', o->fp);
	if (o->hex && o->show_payload && r->cap_len)
		output_hex_dump(o->fp, ev->pkt->payload, r->cap_len);
}

void out_text_event(struct output *o, const struct wst_event *ev)
{
	print_prefix(o, ev);
	switch (ev->type) {
	case WST_EV_TCP_SYN:
	case WST_EV_TCP_SYNACK:
	case WST_EV_TCP_ACK:
	case WST_EV_TCP_DATA:
	case WST_EV_TCP_RETRANSMIT:
	case WST_EV_TCP_OUT_OF_ORDER:
	case WST_EV_TCP_FIN:
	case WST_EV_TCP_RST:
		print_packet(o, ev);
		return;
	case WST_EV_TCP_ESTABLISHED:
		fprintf(o->fp, "tcp-established %" PRIu64 "us\n", ev->u.established.handshake_us);
		return;
	case WST_EV_TCP_REFUSED:
		fputs("tcp-refused\n", o->fp);
		return;
	case WST_EV_TCP_HANDSHAKE_TIMEOUT:
		fprintf(o->fp, "tcp-handshake-timeout %.3fs\n", ev->u.timeout.waited_us / 1e6);
		return;
	case WST_EV_TCP_CLOSED:
		fprintf(o->fp, "tcp-closed %s %.6fs c2s %" PRIu64 "B %" PRIu64 "p s2c %" PRIu64 "B %" PRIu64 "p\n",
			wst_close_reason_name(ev->u.closed.reason), ev->u.closed.duration_us / 1e6,
			ev->u.closed.bytes[WST_C2S], ev->u.closed.pkts[WST_C2S],
			ev->u.closed.bytes[WST_S2C], ev->u.closed.pkts[WST_S2C]);
		return;
	case WST_EV_MAX:
		break;
	}
	fprintf(o->fp, "%s\n", wst_event_name(ev->type));
}
