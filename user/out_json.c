// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * out_json.c - one JSON object per line. The contract scripts rely on:
 * always "ts" (RFC 3339, microseconds, UTC), "event", "src", "dst", "flow".
 */
#include <inttypes.h>
#include <stdio.h>

#include "flow.h"
#include "output.h"

static void print_packet_fields(struct output *o, const struct wst_event *ev)
{
	const struct wst_record *r = &ev->pkt->r;
	char flags[12];

	pkt_format_flags(flags, sizeof(flags), r->tcp_flags);
	fprintf(o->fp, ",\"dir\":\"%s\",\"flags\":\"%s\",\"seq\":%" PRIu32 ",\"ack\":%" PRIu32
		",\"win\":%u,\"len\":%" PRIu32,
		ev->dir == WST_C2S ? "c2s" : "s2c", flags, r->seq, r->ack, r->window, r->payload_len);
	if (r->cap_len < r->payload_len)
		fprintf(o->fp, ",\"captured\":%" PRIu32, r->cap_len);
	if (r->ifindex)
		fprintf(o->fp, ",\"iface\":\"%s\"", output_ifname(r->ifindex));
	if (o->hex && o->show_payload && r->cap_len) {
		fputs(",\"payload_hex\":\"", o->fp);
		for (uint32_t i = 0; i < r->cap_len; i++)
			fprintf(o->fp, "%02x", ev->pkt->payload[i]);
		putc('"', o->fp);
	}
}

void out_json_event(struct output *o, const struct wst_event *ev)
{
	char ts[48], src[WST_ENDPOINT_STRLEN], dst[WST_ENDPOINT_STRLEN];

	output_time_rfc3339(ev->ts_ns, ts, sizeof(ts));
	output_endpoints(ev, src, dst);
	fprintf(o->fp, "{\"ts\":\"%s\",\"event\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\",\"flow\":%" PRIu64,
		ts, wst_event_name(ev->type), src, dst, ev->flow->id);
	switch (ev->type) {
	case WST_EV_TCP_SYN:
	case WST_EV_TCP_SYNACK:
	case WST_EV_TCP_ACK:
	case WST_EV_TCP_DATA:
	case WST_EV_TCP_RETRANSMIT:
	case WST_EV_TCP_OUT_OF_ORDER:
	case WST_EV_TCP_FIN:
	case WST_EV_TCP_RST:
		print_packet_fields(o, ev);
		break;
	case WST_EV_TCP_ESTABLISHED:
		fprintf(o->fp, ",\"handshake_us\":%" PRIu64, ev->u.established.handshake_us);
		break;
	case WST_EV_TCP_HANDSHAKE_TIMEOUT:
		fprintf(o->fp, ",\"waited_us\":%" PRIu64, ev->u.timeout.waited_us);
		break;
	case WST_EV_TCP_CLOSED:
		fprintf(o->fp, ",\"reason\":\"%s\",\"duration_us\":%" PRIu64
			",\"bytes_c2s\":%" PRIu64 ",\"bytes_s2c\":%" PRIu64
			",\"pkts_c2s\":%" PRIu64 ",\"pkts_s2c\":%" PRIu64,
			wst_close_reason_name(ev->u.closed.reason), ev->u.closed.duration_us,
			ev->u.closed.bytes[WST_C2S], ev->u.closed.bytes[WST_S2C],
			ev->u.closed.pkts[WST_C2S], ev->u.closed.pkts[WST_S2C]);
		break;
	case WST_EV_TCP_REFUSED:
	case WST_EV_MAX:
		break;
	}
	if (ev->flow->midstream)
		fputs(",\"midstream\":true", o->fp);
	fputs("}\n", o->fp);
}
