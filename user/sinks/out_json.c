// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * out_json.c - one JSON object per line. The contract scripts rely on:
 * always "ts" (RFC 3339, microseconds, UTC), "event", "src", "dst", "flow".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracking/flow.h"
#include "protocol/http_redact.h"
#include "protocol/http_upgrade.h"
#include "protocol/tls_hello.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_message.h"
#include "session/correlate.h"
#include "ifname.h"
#include "output.h"

/* ,"name": */
static inline __attribute__((always_inline)) void json_key(struct output *o, const char *name)
{
	size_t n = strlen(name);
	char *d = output_reserve(o, n + 4);

	d[0] = ',';
	d[1] = '"';
	memcpy(d + 2, name, n);
	d[n + 2] = '"';
	d[n + 3] = ':';
	o->len += n + 4;
}

static inline __attribute__((always_inline)) void json_u64(struct output *o, const char *name, uint64_t v)
{
	json_key(o, name);
	output_u64(o, v);
}

static inline __attribute__((always_inline)) void json_bool(struct output *o, const char *name, bool v)
{
	json_key(o, name);
	if (v)
		output_write(o, "true", 4);
	else
		output_write(o, "false", 5);
}

/* A string known to need no escaping (names, flags, constants). */
static inline __attribute__((always_inline)) void json_plain(struct output *o, const char *name, const char *v)
{
	size_t n = strlen(v);
	char *d;

	json_key(o, name);
	d = output_reserve(o, n + 2);
	d[0] = '"';
	memcpy(d + 1, v, n);
	d[n + 1] = '"';
	o->len += n + 2;
}

static void json_str_field(struct output *o, const char *name, const char *p, size_t len)
{
	json_key(o, name);
	output_buf_json_string(o, (const uint8_t *)p, len);
}

static void json_http_field(struct output *o, const char *name, struct http_str v)
{
	if (v.p)
		json_str_field(o, name, v.p, v.len);
}

/* Sec-WebSocket-Protocol: may carry a bearer token. */
static void json_protocol(struct output *o, const char *name, struct http_str v)
{
	char *tmp;

	json_http_field(o, name, output_shown_protocol(o, v, &tmp));
	free(tmp);
}

/* All headers, secret values redacted unless asked for. */
static void json_headers(struct output *o, const struct http_header *h, size_t n)
{
	output_puts(o, ",\"headers\":{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			output_putc(o, ',');
		output_buf_json_string(o, (const uint8_t *)h[i].name.p, h[i].name.len);
		output_putc(o, ':');
		if (!o->show_secrets && http_header_is_secret(h[i].name)) {
			output_puts(o, "\"<redacted>\"");
		} else if (http_str_ieq(h[i].name, "sec-websocket-protocol")) {
			char *tmp;
			struct http_str v = output_shown_protocol(o, h[i].value, &tmp);

			output_buf_json_string(o, (const uint8_t *)v.p, v.len);
			free(tmp);
		} else {
			output_buf_json_string(o, (const uint8_t *)h[i].value.p, h[i].value.len);
		}
	}
	output_putc(o, '}');
}

/*
 * The payload as "text" when it is valid UTF-8, else "data_b64" (the JSON
 * contract, whatever the opcode); nothing when payloads are hidden. A cut
 * payload loses the code point the cut split, rather than show U+FFFD.
 */
static void json_payload(struct output *o, const uint8_t *p, size_t kept, bool truncated)
{
	if (truncated)
		output_puts(o, ",\"truncated\":true");
	if (!o->show_payload || (truncated && !kept))
		return; /* nothing was kept: no empty "text" that reads as a real payload */
	if (output_is_text(p, kept, truncated)) {
		output_puts(o, ",\"text\":");
		output_buf_json_string(o, p, truncated ? output_utf8_whole_len(p, kept) : kept);
	} else {
		output_puts(o, ",\"data_b64\":");
		output_buf_json_b64(o, p, kept);
	}
}

static void json_opcode(struct output *o, uint8_t opcode)
{
	const char *name = ws_opcode_name(opcode);

	if (name)
		json_plain(o, "opcode", name);
	else
		output_printf(o, ",\"opcode\":%u", opcode);
}

static void json_frame_header(struct output *o, const struct ws_frame_header *h)
{
	json_opcode(o, h->opcode);
	json_bool(o, "fin", h->fin);
	json_bool(o, "rsv1", h->rsv1);
	json_bool(o, "rsv2", h->rsv2);
	json_bool(o, "rsv3", h->rsv3);
	json_bool(o, "masked", h->masked);
	json_u64(o, "len", h->payload_len);
	if (h->masked) {
		json_key(o, "mask");
		output_putc(o, '"');
		output_buf_hex(o, h->mask, 4);
		output_putc(o, '"');
	}
}

/* tls_not_decrypted: the reason and what the handshake showed. */
static void json_tls(struct output *o, const struct wst_event *ev)
{
	const struct tls_client_hello *c = ev->u.tls.client;
	const struct tls_server_hello *s = ev->u.tls.server;
	char buf[8];

	json_plain(o, "reason", wst_tls_reason_name(ev->u.tls.reason));
	if (c && c->sni_len)
		json_str_field(o, "sni", c->sni, c->sni_len);
	if (c && c->alpn_len)
		json_str_field(o, "alpn", c->alpn, c->alpn_len);
	if (c)
		json_plain(o, "offered", tls_version_name(c->max_version, buf));
	if (s) {
		json_plain(o, "version", tls_version_name(s->version, buf));
		output_printf(o, ",\"cipher\":\"0x%04x\"", s->cipher);
	}
	if (ev->u.tls.alert >= 0) {
		json_u64(o, "alert", (uint64_t)ev->u.tls.alert);
		json_plain(o, "alert_from", wst_initiator_name(ev->u.tls.alert_from));
	}
}

static void print_ws_fields(struct output *o, const struct wst_event *ev)
{
	if (ev->type != WST_EV_WS_SESSION_END && ev->type != WST_EV_TLS_NOT_DECRYPTED)
		json_plain(o, "dir", wst_flow_dir_name(ev->dir));
	switch (ev->type) {
	case WST_EV_HTTP_REQUEST:
	case WST_EV_WS_UPGRADE: {
		const struct http_request *r = ev->u.upgrade.req;

		json_http_field(o, "method", r->method);
		{
			char *tmp;

			json_http_field(o, "path", output_shown_path(o, r->path, &tmp));
			free(tmp);
		}
		json_http_field(o, "host", r->host);
		json_http_field(o, "origin", r->origin);
		json_http_field(o, "user_agent", r->user_agent);
		if (ev->type == WST_EV_WS_UPGRADE) {
			json_http_field(o, "key", r->ws_key);
			json_http_field(o, "version", r->ws_version);
			json_protocol(o, "protocol", r->ws_protocol);
			json_http_field(o, "extensions", r->ws_extensions);
			output_printf(o, ",\"valid\":%s", ev->u.upgrade.check == 0 ? "true" : "false");
			if (ev->u.upgrade.check && ev->u.upgrade.why)
				json_str_field(o, "why", ev->u.upgrade.why, strlen(ev->u.upgrade.why));
		}
		json_headers(o, r->headers, r->n_headers);
		break;
	}
	case WST_EV_WS_ESTABLISHED:
	case WST_EV_WS_UPGRADE_FAILED: {
		const struct http_response *r = ev->u.response.resp;

		output_printf(o, ",\"status\":%d", r->status);
		json_http_field(o, "reason", r->reason);
		output_printf(o, ",\"upgrade_us\":%" PRIu64, ev->u.response.latency_us);
		if (ev->type == WST_EV_WS_ESTABLISHED) {
			output_printf(o, ",\"accept\":\"%s\",\"deflate\":%s", wst_accept_result_name(ev->u.response.accept),
				ev->u.response.deflate ? "true" : "false");
			json_protocol(o, "protocol", r->ws_protocol);
			json_http_field(o, "extensions", r->ws_extensions);
		}
		json_headers(o, r->headers, r->n_headers);
		break;
	}
	case WST_EV_WS_FRAME: {
		const struct ws_frame_header *h = ev->u.frame.h;

		json_frame_header(o, h);
		if (ev->u.frame.incomplete) {
			output_puts(o, ",\"incomplete\":true");
			json_u64(o, "seen", ev->u.frame.seen);
		}
		json_payload(o, ev->u.frame.payload, ev->u.frame.kept, ev->u.frame.truncated);
		break;
	}
	case WST_EV_WS_MESSAGE: {
		const struct ws_message_info *m = ev->u.message;

		json_plain(o, "type", ws_opcode_name(m->opcode) ? ws_opcode_name(m->opcode) : "reserved");
		json_u64(o, "len", m->total_len);
		json_u64(o, "wire_len", m->wire_len);
		json_u64(o, "frames", m->frames);
		json_bool(o, "compressed", m->compressed);
		if (m->compressed)
			json_bool(o, "inflated", m->inflated);
		if (m->incomplete)
			output_puts(o, ",\"incomplete\":true");
		if (m->opcode == WS_OP_TEXT)
			json_bool(o, "utf8_valid", m->utf8_valid);
		json_payload(o, m->data, m->kept, m->truncated);
		break;
	}
	case WST_EV_WS_PING:
	case WST_EV_WS_PONG:
	case WST_EV_WS_CLOSE: {
		const struct ws_control_info *c = ev->u.control.c;

		json_frame_header(o, c->h);
		if (ev->type == WST_EV_WS_PONG && ev->u.control.rtt_us >= 0)
			output_printf(o, ",\"rtt_us\":%" PRId64, ev->u.control.rtt_us);
		if (ev->type == WST_EV_WS_CLOSE) {
			if (c->close_parsed && c->close_code != 1005)
				output_printf(o, ",\"code\":%u", c->close_code);
			else
				output_puts(o, ",\"code\":null");
			output_puts(o, ",\"reason\":");
			output_buf_json_string(o, c->reason ? c->reason : (const uint8_t *)"", c->reason_len);
			output_printf(o, ",\"initiator\":\"%s\",\"valid\":%s", wst_initiator_name(ev->u.control.initiator),
				c->close_valid ? "true" : "false");
		} else {
			json_payload(o, c->payload, c->len, c->truncated);
		}
		break;
	}
	case WST_EV_WS_SESSION_END:
		output_printf(o, ",\"how\":\"%s\",\"duration_us\":%" PRIu64, wst_session_end_name(ev->u.session.how),
			ev->u.session.duration_us);
		if (ev->u.session.code)
			output_printf(o, ",\"code\":%u", ev->u.session.code);
		if (ev->u.session.initiator)
			output_printf(o, ",\"initiator\":\"%s\"", wst_initiator_name(ev->u.session.initiator));
		output_printf(o, ",\"frames_c2s\":%" PRIu64 ",\"frames_s2c\":%" PRIu64
			",\"messages_c2s\":%" PRIu64 ",\"messages_s2c\":%" PRIu64
			",\"bytes_c2s\":%" PRIu64 ",\"bytes_s2c\":%" PRIu64,
			ev->u.session.frames[0], ev->u.session.frames[1], ev->u.session.messages[0],
			ev->u.session.messages[1], ev->u.session.bytes[0], ev->u.session.bytes[1]);
		break;
	case WST_EV_TLS_NOT_DECRYPTED:
		json_tls(o, ev);
		break;
	case WST_EV_WS_VIOLATION:
		output_printf(o, ",\"kind\":\"%s\",\"detail\":%" PRIu64, ws_violation_name(ev->u.violation.kind),
			      ev->u.violation.detail);
		break;
	case WST_EV_WS_GAP:
		output_printf(o, ",\"kind\":\"%s\",\"bytes\":%" PRIu64 ",\"boundary_lost\":%s",
			wst_gap_kind_name(ev->u.loss.kind), ev->u.loss.bytes, ev->u.loss.boundary_lost ? "true" : "false");
		break;
	case WST_EV_WS_RESYNC:
		output_printf(o, ",\"skipped\":%" PRIu64, ev->u.loss.bytes);
		break;
	case WST_EV_WS_FANOUT: {
		const struct wst_fanout *f = ev->u.fanout;

		json_plain(o, "key", f->key);
		output_puts(o, ",\"value\":");
		output_buf_corr_value(o, f->value, f->value_len, f->number, f->value_hash);
		json_u64(o, "recipients", f->recipients);
		if (f->n_latency) {
			json_u64(o, "latency_min_us", f->latency_min_us);
			json_u64(o, "latency_p50_us", f->latency_p50_us);
			json_u64(o, "latency_max_us", f->latency_max_us);
		}
		json_u64(o, "missed", f->missed);
		if (f->untracked)
			json_u64(o, "untracked", f->untracked);
		if (f->early)
			json_bool(o, "early", true);
		break;
	}
	case WST_EV_WS_REPLY:
	case WST_EV_WS_REPLY_TIMEOUT: {
		const struct wst_reply *r = ev->u.reply;

		json_plain(o, "key", r->key);
		output_puts(o, ",\"value\":");
		output_buf_corr_value(o, r->value, r->value_len, r->number, r->value_hash);
		json_u64(o, ev->type == WST_EV_WS_REPLY ? "latency_us" : "waited_us", r->latency_us);
		if (r->early)
			json_bool(o, "early", true);
		break;
	}
	default:
		break;
	}
}

static void print_packet_fields(struct output *o, const struct wst_event *ev)
{
	const struct wst_record *r = &ev->pkt->r;
	char flags[12];

	pkt_format_flags(flags, sizeof(flags), r->tcp_flags);
	json_plain(o, "dir", wst_flow_dir_name(ev->dir));
	json_plain(o, "flags", flags);
	json_u64(o, "seq", r->seq);
	json_u64(o, "ack", r->ack);
	json_u64(o, "win", r->window);
	json_u64(o, "len", r->payload_len);
	if (r->cap_len < r->payload_len)
		json_u64(o, "captured", r->cap_len);
	if (r->ifindex)
		json_plain(o, "iface", ifname_lookup(r->ifindex));
	if (o->hex && o->show_payload && r->cap_len) {
		output_puts(o, ",\"payload_hex\":\"");
		output_buf_hex(o, ev->pkt->payload, r->cap_len);
		output_putc(o, '"');
	}
}

/* tcp_established, tcp_refused, tcp_handshake_timeout, tcp_closed, events_suppressed */
static void print_tcp_fact_fields(struct output *o, const struct wst_event *ev)
{
	switch (ev->type) {
	case WST_EV_EVENTS_SUPPRESSED:
		json_plain(o, "kind", wst_event_name(ev->u.suppressed.kind));
		json_u64(o, "count", ev->u.suppressed.count);
		break;
	case WST_EV_TCP_ESTABLISHED:
		output_printf(o, ",\"handshake_us\":%" PRIu64, ev->u.established.handshake_us);
		break;
	case WST_EV_TCP_HANDSHAKE_TIMEOUT:
		output_printf(o, ",\"waited_us\":%" PRIu64 ",\"synack_seen\":%s", ev->u.timeout.waited_us,
			      ev->u.timeout.synack_seen ? "true" : "false");
		break;
	case WST_EV_TCP_CLOSED:
		output_printf(o, ",\"reason\":\"%s\",\"duration_us\":%" PRIu64
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

static void json_proc(struct output *o, const char *side, const struct wst_proc *p)
{
	char key[32];

	if (!p)
		return;
	output_printf(o, ",\"%s_pid\":%u", side, p->pid);
	snprintf(key, sizeof(key), "%s_comm", side);
	json_str_field(o, key, p->comm, strlen(p->comm));
	if (p->cgroup && p->cgroup[0]) {
		snprintf(key, sizeof(key), "%s_cgroup", side);
		json_str_field(o, key, p->cgroup, strlen(p->cgroup));
	}
	if (p->container) {
		snprintf(key, sizeof(key), "%s_container", side);
		json_str_field(o, key, p->container, strlen(p->container));
	}
}

/* Who is behind the connection: live capture only, so capture files give the same lines. */
static void json_attrib(struct output *o, const struct wst_event *ev)
{
	const struct wst_attrib *a = ev->attrib;

	if (!a || !output_shows_attrib(ev))
		return;
	json_proc(o, "server", a->server);
	json_proc(o, "client", a->client);
	if (a->forwarded_for)
		json_str_field(o, "forwarded_for", a->forwarded_for, strlen(a->forwarded_for));
}

void out_json_event(struct output *o, const struct wst_event *ev)
{
	const char *src, *dst;
	size_t slen, dlen;

	output_puts(o, "{\"ts\":\"");
	output_buf_time_rfc3339(o, ev->ts_ns);
	output_puts(o, "\",\"event\":\"");
	output_puts(o, wst_event_name(ev->type));
	output_puts(o, "\",\"src\":\"");
	output_buf_endpoints(o, ev, &src, &slen, &dst, &dlen);
	output_write(o, src, slen);
	output_puts(o, "\",\"dst\":\"");
	output_write(o, dst, dlen);
	output_putc(o, '"');
	json_u64(o, "flow", ev->flow->id);
	if (wst_event_is_packet(ev->type))
		print_packet_fields(o, ev);
	else if (wst_event_is_ws(ev->type))
		print_ws_fields(o, ev);
	else
		print_tcp_fact_fields(o, ev);
	json_attrib(o, ev);
	if (ev->flow->midstream)
		output_puts(o, ",\"midstream\":true");
	if (ev->flow->tls && wst_event_is_ws(ev->type) && ev->type != WST_EV_TLS_NOT_DECRYPTED)
		output_puts(o, ",\"tls\":true");
	output_write(o, "}\n", 2);
}
