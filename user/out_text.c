// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* out_text.c - one human-readable line per event, in tcpdump's style. */
#include <inttypes.h>
#include <stdio.h>

#include "flow.h"
#include "http_upgrade.h"
#include "output.h"
#include "ws_frame.h"
#include "ws_message.h"

#define PREVIEW_BYTES 256

static void text_http(FILE *fp, const char *name, struct http_str v)
{
	if (v.p)
		fprintf(fp, " %s=%.*s", name, (int)v.len, v.p);
}

/* "text fin rsv1 masked 52B": what tcpdump users read first. */
static void text_frame_header(FILE *fp, const struct ws_frame_header *h)
{
	const char *name = output_opcode_name(h->opcode);

	if (name)
		fputs(name, fp);
	else
		fprintf(fp, "opcode-%u", h->opcode);
	if (h->fin)
		fputs(" fin", fp);
	if (h->rsv1)
		fputs(" rsv1", fp);
	if (h->rsv2)
		fputs(" rsv2", fp);
	if (h->rsv3)
		fputs(" rsv3", fp);
	if (h->masked)
		fputs(" masked", fp);
	fprintf(fp, " %" PRIu64 "B", h->payload_len);
}

static void text_payload(struct output *o, const uint8_t *p, size_t kept, bool truncated, bool binary)
{
	if (truncated)
		fprintf(o->fp, " (captured %zu)", kept);
	if (!o->show_payload || !kept)
		return;
	putc(' ', o->fp);
	if (!binary && output_is_text(p, kept, truncated)) {
		output_text_preview(o->fp, p, kept, PREVIEW_BYTES);
	} else {
		fputs("0x", o->fp);
		for (size_t i = 0; i < kept && i < 32; i++)
			fprintf(o->fp, "%02x", p[i]);
		if (kept > 32)
			fputs("\u2026", o->fp);
	}
}

static void text_hex(struct output *o, const uint8_t *p, size_t kept)
{
	putc('\n', o->fp);
	if (o->hex && o->show_payload && kept)
		output_hex_dump(o->fp, p, kept);
}

static void print_ws(struct output *o, const struct wst_event *ev)
{
	FILE *fp = o->fp;

	switch (ev->type) {
	case WST_EV_HTTP_REQUEST: {
		const struct http_request *r = ev->u.upgrade.req;

		fprintf(fp, "HTTP %.*s %.*s", (int)r->method.len, r->method.p, (int)r->path.len, r->path.p);
		text_http(fp, "host", r->host);
		fputs(" (not an upgrade)\n", fp);
		return;
	}
	case WST_EV_WS_UPGRADE: {
		const struct http_request *r = ev->u.upgrade.req;

		fprintf(fp, "WS upgrade %.*s %.*s", (int)r->method.len, r->method.p, (int)r->path.len, r->path.p);
		text_http(fp, "host", r->host);
		text_http(fp, "origin", r->origin);
		text_http(fp, "protocol", r->ws_protocol);
		text_http(fp, "ext", r->ws_extensions);
		if (o->verbose) {
			text_http(fp, "key", r->ws_key);
			text_http(fp, "user-agent", r->user_agent);
		}
		if (ev->u.upgrade.check && ev->u.upgrade.why)
			fprintf(fp, " invalid: %s", ev->u.upgrade.why);
		putc('\n', fp);
		return;
	}
	case WST_EV_WS_ESTABLISHED:
	case WST_EV_WS_UPGRADE_FAILED: {
		const struct http_response *r = ev->u.response.resp;

		fprintf(fp, "WS %d", r->status);
		if (ev->type == WST_EV_WS_ESTABLISHED) {
			fprintf(fp, " accept=%s", ev->u.response.accept);
			text_http(fp, "protocol", r->ws_protocol);
			text_http(fp, "ext", r->ws_extensions);
			fprintf(fp, " ws-established %" PRIu64 "us\n", ev->u.response.latency_us);
		} else {
			fprintf(fp, " \"%.*s\" ws-upgrade-failed %" PRIu64 "us\n", (int)r->reason.len, r->reason.p,
				ev->u.response.latency_us);
		}
		return;
	}
	case WST_EV_WS_FRAME: {
		const struct ws_frame_header *h = ev->u.frame.h;

		fputs("WS ", fp);
		text_frame_header(fp, h);
		text_payload(o, ev->u.frame.payload, ev->u.frame.kept, ev->u.frame.truncated,
			     h->opcode != WS_OP_TEXT || h->rsv1);
		text_hex(o, ev->u.frame.payload, ev->u.frame.kept);
		return;
	}
	case WST_EV_WS_MESSAGE: {
		const struct ws_message_info *m = ev->u.message;
		const char *name = output_opcode_name(m->opcode);

		fprintf(fp, "WS message %s %" PRIu64 "B (%u frame%s%s%s%s)", name ? name : "reserved",
			m->total_len, m->frames, m->frames == 1 ? "" : "s", m->compressed ? (m->inflated ? ", inflated" : ", not inflated") : "",
			m->incomplete ? ", incomplete" : "",
			m->opcode == WS_OP_TEXT && !m->utf8_valid ? ", invalid UTF-8" : "");
		text_payload(o, m->data, m->kept, m->truncated,
			     m->opcode != WS_OP_TEXT || (m->compressed && !m->inflated));
		text_hex(o, m->data, m->kept);
		return;
	}
	case WST_EV_WS_PING:
	case WST_EV_WS_PONG: {
		const struct ws_control_info *c = ev->u.control.c;

		fputs("WS ", fp);
		text_frame_header(fp, c->h);
		if (ev->type == WST_EV_WS_PONG && ev->u.control.rtt_us >= 0)
			fprintf(fp, " rtt %" PRId64 "us", ev->u.control.rtt_us);
		text_payload(o, c->payload, c->len, c->truncated, false);
		text_hex(o, c->payload, c->len);
		return;
	}
	case WST_EV_WS_CLOSE: {
		const struct ws_control_info *c = ev->u.control.c;

		fputs("WS ", fp);
		text_frame_header(fp, c->h);
		if (c->close_parsed && c->close_code != 1005)
			fprintf(fp, " %u", c->close_code);
		else
			fputs(" no-code", fp);
		putc(' ', fp);
		output_json_string(fp, c->reason ? c->reason : (const uint8_t *)"", c->reason_len);
		fprintf(fp, " (%s closed first)\n", ev->u.control.initiator);
		return;
	}
	case WST_EV_WS_SESSION_END:
		fprintf(fp, "WS session-end %s", ev->u.session.how);
		if (ev->u.session.code)
			fprintf(fp, " %u", ev->u.session.code);
		if (ev->u.session.initiator)
			fprintf(fp, " by %s", ev->u.session.initiator);
		fprintf(fp, " %.6fs c2s %" PRIu64 " frames %" PRIu64 " msgs %" PRIu64 "B s2c %" PRIu64
			" frames %" PRIu64 " msgs %" PRIu64 "B\n",
			ev->u.session.duration_us / 1e6, ev->u.session.frames[0], ev->u.session.messages[0],
			ev->u.session.bytes[0], ev->u.session.frames[1], ev->u.session.messages[1],
			ev->u.session.bytes[1]);
		return;
	case WST_EV_WS_VIOLATION:
		fprintf(fp, "WS violation %s (%" PRIu64 ")\n", ev->u.violation.kind, ev->u.violation.detail);
		return;
	case WST_EV_WS_GAP:
		if (ev->u.loss.bytes)
			fprintf(fp, "WS gap %s %" PRIu64 "B missing%s\n", ev->u.loss.kind, ev->u.loss.bytes,
				ev->u.loss.boundary_lost ? ", frame boundary lost" : "");
		else
			fprintf(fp, "WS gap %s (started mid-stream)%s\n", ev->u.loss.kind,
				ev->u.loss.boundary_lost ? ", frame boundary lost" : "");
		return;
	case WST_EV_WS_RESYNC:
		fprintf(fp, "WS resync after %" PRIu64 "B skipped\n", ev->u.loss.bytes);
		return;
	default:
		fprintf(fp, "%s\n", wst_event_name(ev->type));
		return;
	}
}

/* Frame lines of control frames would repeat the ping/pong/close line;
 * single-frame plain messages would repeat the frame line. */
static bool text_skips(const struct wst_event *ev)
{
	if (ev->type == WST_EV_WS_FRAME)
		return ws_opcode_is_control(ev->u.frame.h->opcode) && !ws_opcode_is_reserved(ev->u.frame.h->opcode);
	if (ev->type == WST_EV_WS_MESSAGE)
		return ev->u.message->frames <= 1 && !ev->u.message->compressed;
	return false;
}

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
	if (text_skips(ev))
		return;
	print_prefix(o, ev);
	if (wst_event_is_packet(ev->type)) {
		print_packet(o, ev);
		return;
	}
	switch (ev->type) {
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
	default:
		print_ws(o, ev);
		return;
	}
}
