// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * out_json.c - one JSON object per line. The contract scripts rely on:
 * always "ts" (RFC 3339, microseconds, UTC), "event", "src", "dst", "flow".
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "flow.h"
#include "http_upgrade.h"
#include "output.h"
#include "ws_frame.h"
#include "ws_message.h"

static void json_str_field(FILE *fp, const char *name, const char *p, size_t len)
{
	fprintf(fp, ",\"%s\":", name);
	output_json_string(fp, (const uint8_t *)p, len);
}

static void json_http_field(FILE *fp, const char *name, struct http_str v)
{
	if (v.p)
		json_str_field(fp, name, v.p, v.len);
}

/* All headers, secret values redacted unless asked for. */
static void json_headers(struct output *o, const struct http_header *h, size_t n)
{
	fputs(",\"headers\":{", o->fp);
	for (size_t i = 0; i < n; i++) {
		if (i)
			putc(',', o->fp);
		output_json_string(o->fp, (const uint8_t *)h[i].name.p, h[i].name.len);
		putc(':', o->fp);
		if (!o->show_secrets && http_header_is_secret(h[i].name))
			fputs("\"<redacted>\"", o->fp);
		else
			output_json_string(o->fp, (const uint8_t *)h[i].value.p, h[i].value.len);
	}
	putc('}', o->fp);
}

/*
 * The payload as "text" when it is valid UTF-8, else "data_b64" (the JSON
 * contract, whatever the opcode); nothing when payloads are hidden. A cut
 * payload loses the code point the cut split, rather than show U+FFFD.
 */
static void json_payload(struct output *o, const uint8_t *p, size_t kept, bool truncated)
{
	if (truncated)
		fputs(",\"truncated\":true", o->fp);
	if (!o->show_payload || (truncated && !kept))
		return; /* nothing was kept: no empty "text" that reads as a real payload */
	if (output_is_text(p, kept, truncated)) {
		fputs(",\"text\":", o->fp);
		output_json_string(o->fp, p, truncated ? output_utf8_whole_len(p, kept) : kept);
	} else {
		fputs(",\"data_b64\":", o->fp);
		output_json_b64(o->fp, p, kept);
	}
}

static void json_opcode(FILE *fp, uint8_t opcode)
{
	const char *name = output_opcode_name(opcode);

	if (name)
		fprintf(fp, ",\"opcode\":\"%s\"", name);
	else
		fprintf(fp, ",\"opcode\":%u", opcode);
}

static void json_frame_header(FILE *fp, const struct ws_frame_header *h)
{
	json_opcode(fp, h->opcode);
	fprintf(fp, ",\"fin\":%s,\"rsv1\":%s,\"rsv2\":%s,\"rsv3\":%s,\"masked\":%s,\"len\":%" PRIu64,
		h->fin ? "true" : "false", h->rsv1 ? "true" : "false", h->rsv2 ? "true" : "false",
		h->rsv3 ? "true" : "false", h->masked ? "true" : "false", h->payload_len);
	if (h->masked)
		fprintf(fp, ",\"mask\":\"%02x%02x%02x%02x\"", h->mask[0], h->mask[1], h->mask[2], h->mask[3]);
}

static void print_ws_fields(struct output *o, const struct wst_event *ev)
{
	FILE *fp = o->fp;

	if (ev->type != WST_EV_WS_SESSION_END)
		fprintf(fp, ",\"dir\":\"%s\"", ev->dir == WST_C2S ? "c2s" : "s2c");
	switch (ev->type) {
	case WST_EV_HTTP_REQUEST:
	case WST_EV_WS_UPGRADE: {
		const struct http_request *r = ev->u.upgrade.req;

		json_http_field(fp, "method", r->method);
		json_http_field(fp, "path", r->path);
		json_http_field(fp, "host", r->host);
		json_http_field(fp, "origin", r->origin);
		json_http_field(fp, "user_agent", r->user_agent);
		if (ev->type == WST_EV_WS_UPGRADE) {
			json_http_field(fp, "key", r->ws_key);
			json_http_field(fp, "version", r->ws_version);
			json_http_field(fp, "protocol", r->ws_protocol);
			json_http_field(fp, "extensions", r->ws_extensions);
			fprintf(fp, ",\"valid\":%s", ev->u.upgrade.check == 0 ? "true" : "false");
			if (ev->u.upgrade.check && ev->u.upgrade.why)
				json_str_field(fp, "why", ev->u.upgrade.why, strlen(ev->u.upgrade.why));
		}
		json_headers(o, r->headers, r->n_headers);
		break;
	}
	case WST_EV_WS_ESTABLISHED:
	case WST_EV_WS_UPGRADE_FAILED: {
		const struct http_response *r = ev->u.response.resp;

		fprintf(fp, ",\"status\":%d", r->status);
		json_http_field(fp, "reason", r->reason);
		fprintf(fp, ",\"upgrade_us\":%" PRIu64, ev->u.response.latency_us);
		if (ev->type == WST_EV_WS_ESTABLISHED) {
			fprintf(fp, ",\"accept\":\"%s\",\"deflate\":%s", ev->u.response.accept,
				ev->u.response.deflate ? "true" : "false");
			json_http_field(fp, "protocol", r->ws_protocol);
			json_http_field(fp, "extensions", r->ws_extensions);
		}
		json_headers(o, r->headers, r->n_headers);
		break;
	}
	case WST_EV_WS_FRAME: {
		const struct ws_frame_header *h = ev->u.frame.h;

		json_frame_header(fp, h);
		json_payload(o, ev->u.frame.payload, ev->u.frame.kept, ev->u.frame.truncated);
		break;
	}
	case WST_EV_WS_MESSAGE: {
		const struct ws_message_info *m = ev->u.message;

		fprintf(fp, ",\"type\":\"%s\",\"len\":%" PRIu64 ",\"wire_len\":%" PRIu64
			",\"frames\":%u,\"compressed\":%s",
			output_opcode_name(m->opcode) ? output_opcode_name(m->opcode) : "reserved",
			m->total_len, m->wire_len, m->frames, m->compressed ? "true" : "false");
		if (m->compressed)
			fprintf(fp, ",\"inflated\":%s", m->inflated ? "true" : "false");
		if (m->incomplete)
			fputs(",\"incomplete\":true", fp);
		if (m->opcode == WS_OP_TEXT)
			fprintf(fp, ",\"utf8_valid\":%s", m->utf8_valid ? "true" : "false");
		json_payload(o, m->data, m->kept, m->truncated);
		break;
	}
	case WST_EV_WS_PING:
	case WST_EV_WS_PONG:
	case WST_EV_WS_CLOSE: {
		const struct ws_control_info *c = ev->u.control.c;

		json_frame_header(fp, c->h);
		if (ev->type == WST_EV_WS_PONG && ev->u.control.rtt_us >= 0)
			fprintf(fp, ",\"rtt_us\":%" PRId64, ev->u.control.rtt_us);
		if (ev->type == WST_EV_WS_CLOSE) {
			if (c->close_parsed && c->close_code != 1005)
				fprintf(fp, ",\"code\":%u", c->close_code);
			else
				fputs(",\"code\":null", fp);
			fputs(",\"reason\":", fp);
			output_json_string(fp, c->reason ? c->reason : (const uint8_t *)"", c->reason_len);
			fprintf(fp, ",\"initiator\":\"%s\",\"valid\":%s", ev->u.control.initiator,
				c->close_valid ? "true" : "false");
		} else {
			json_payload(o, c->payload, c->len, c->truncated);
		}
		break;
	}
	case WST_EV_WS_SESSION_END:
		fprintf(fp, ",\"how\":\"%s\",\"duration_us\":%" PRIu64, ev->u.session.how,
			ev->u.session.duration_us);
		if (ev->u.session.code)
			fprintf(fp, ",\"code\":%u", ev->u.session.code);
		if (ev->u.session.initiator)
			fprintf(fp, ",\"initiator\":\"%s\"", ev->u.session.initiator);
		fprintf(fp, ",\"frames_c2s\":%" PRIu64 ",\"frames_s2c\":%" PRIu64
			",\"messages_c2s\":%" PRIu64 ",\"messages_s2c\":%" PRIu64
			",\"bytes_c2s\":%" PRIu64 ",\"bytes_s2c\":%" PRIu64,
			ev->u.session.frames[0], ev->u.session.frames[1], ev->u.session.messages[0],
			ev->u.session.messages[1], ev->u.session.bytes[0], ev->u.session.bytes[1]);
		break;
	case WST_EV_WS_VIOLATION:
		fprintf(fp, ",\"kind\":\"%s\",\"detail\":%" PRIu64, ev->u.violation.kind, ev->u.violation.detail);
		break;
	case WST_EV_WS_GAP:
		fprintf(fp, ",\"kind\":\"%s\",\"bytes\":%" PRIu64 ",\"boundary_lost\":%s", ev->u.loss.kind,
			ev->u.loss.bytes, ev->u.loss.boundary_lost ? "true" : "false");
		break;
	case WST_EV_WS_RESYNC:
		fprintf(fp, ",\"skipped\":%" PRIu64, ev->u.loss.bytes);
		break;
	default:
		break;
	}
}

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

/* tcp_established, tcp_refused, tcp_handshake_timeout, tcp_closed */
static void print_tcp_fact_fields(struct output *o, const struct wst_event *ev)
{
	switch (ev->type) {
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
	default:
		break;
	}
}

void out_json_event(struct output *o, const struct wst_event *ev)
{
	char ts[48], src[WST_ENDPOINT_STRLEN], dst[WST_ENDPOINT_STRLEN];

	output_time_rfc3339(ev->ts_ns, ts, sizeof(ts));
	output_endpoints(ev, src, dst);
	fprintf(o->fp, "{\"ts\":\"%s\",\"event\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\",\"flow\":%" PRIu64,
		ts, wst_event_name(ev->type), src, dst, ev->flow->id);
	if (wst_event_is_packet(ev->type))
		print_packet_fields(o, ev);
	else if (wst_event_is_ws(ev->type))
		print_ws_fields(o, ev);
	else
		print_tcp_fact_fields(o, ev);
	if (ev->flow->midstream)
		fputs(",\"midstream\":true", o->fp);
	fputs("}\n", o->fp);
}
