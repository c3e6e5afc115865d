// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* out_text.c - one human-readable line per event, in tcpdump's style. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracking/flow.h"
#include "protocol/http_upgrade.h"
#include "protocol/tls_hello.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_message.h"
#include "session/correlate.h"
#include "ifname.h"
#include "output.h"

#define PREVIEW_BYTES 256

static void text_http(struct output *o, const char *name, struct http_str v)
{
	if (v.p)
		output_printf(o, " %s=%.*s", name, (int)v.len, v.p);
}

static void text_proc(struct output *o, const char *side, const struct wst_proc *p)
{
	if (!p)
		return;
	output_printf(o, " %s=%u/%s", side, p->pid, p->comm);
	if (p->container)
		output_printf(o, " container=%.12s", p->container);
}

/* Who is behind the connection (live capture): the server, a local client, the proxied client. */
static void text_attrib(struct output *o, const struct wst_event *ev)
{
	const struct wst_attrib *a = ev->attrib;

	if (!a)
		return;
	text_proc(o, "server", a->server);
	text_proc(o, "client", a->client);
	if (a->forwarded_for)
		output_printf(o, " for=%s", a->forwarded_for);
}

/* Sec-WebSocket-Protocol: may carry a bearer token. */
static void text_protocol(struct output *o, struct http_str v)
{
	char *tmp;

	text_http(o, "protocol", output_shown_protocol(o, v, &tmp));
	free(tmp);
}

/* "text fin rsv1 masked 52B": what tcpdump users read first. */
static void text_frame_header(struct output *o, const struct ws_frame_header *h)
{
	const char *name = ws_opcode_name(h->opcode);

	if (name)
		output_write(o, name, strlen(name));
	else
		output_printf(o, "opcode-%u", h->opcode);
	if (h->fin)
		output_puts(o, " fin");
	if (h->rsv1)
		output_puts(o, " rsv1");
	if (h->rsv2)
		output_puts(o, " rsv2");
	if (h->rsv3)
		output_puts(o, " rsv3");
	if (h->masked)
		output_puts(o, " masked");
	output_putc(o, ' ');
	output_u64(o, h->payload_len);
	output_putc(o, 'B');
}

/* The preview; "(captured N)" when said is true. */
static void text_payload_said(struct output *o, const uint8_t *p, size_t kept, bool truncated, bool binary,
			      bool said)
{
	if (said)
		output_printf(o, " (captured %zu)", kept);
	if (!o->show_payload || !kept)
		return;
	output_putc(o, ' ');
	if (!binary && output_is_text(p, kept, truncated)) {
		output_buf_text_preview(o, p, kept, PREVIEW_BYTES);
	} else {
		output_puts(o, "0x");
		output_buf_hex(o, p, kept < 32 ? kept : 32);
		if (kept > 32)
			output_puts(o, "\u2026");
	}
}

static void text_payload(struct output *o, const uint8_t *p, size_t kept, bool truncated, bool binary)
{
	text_payload_said(o, p, kept, truncated, binary, truncated);
}

static void text_hex(struct output *o, const uint8_t *p, size_t kept)
{
	output_putc(o, '\n');
	if (o->hex && o->show_payload && kept)
		output_buf_hex_dump(o, p, kept);
}

static void print_ws(struct output *o, const struct wst_event *ev)
{
	/* WebSocket over TLS, decoded from its plaintext */
	const char *ws = ev->flow->tls ? "WSS" : "WS";

		switch (ev->type) {
	case WST_EV_HTTP_REQUEST: {
		const struct http_request *r = ev->u.upgrade.req;

		{
			char *tmp;
			struct http_str path = output_shown_path(o, r->path, &tmp);

			output_printf(o, "HTTP %.*s %.*s", (int)r->method.len, r->method.p, (int)path.len, path.p);
			free(tmp);
		}
		text_http(o, "host", r->host);
		output_puts(o, " (not an upgrade)\n");
		return;
	}
	case WST_EV_WS_UPGRADE: {
		const struct http_request *r = ev->u.upgrade.req;

		{
			char *tmp;
			struct http_str path = output_shown_path(o, r->path, &tmp);

			output_printf(o, "%s upgrade %.*s %.*s", ws, (int)r->method.len, r->method.p, (int)path.len, path.p);
			free(tmp);
		}
		text_http(o, "host", r->host);
		text_http(o, "origin", r->origin);
		text_protocol(o, r->ws_protocol);
		text_http(o, "ext", r->ws_extensions);
		if (o->verbose) {
			text_http(o, "key", r->ws_key);
			text_http(o, "user-agent", r->user_agent);
		}
		if (ev->u.upgrade.check && ev->u.upgrade.why)
			output_printf(o, " invalid: %s", ev->u.upgrade.why);
		text_attrib(o, ev);
		output_putc(o, '\n');
		return;
	}
	case WST_EV_WS_ESTABLISHED:
	case WST_EV_WS_UPGRADE_FAILED: {
		const struct http_response *r = ev->u.response.resp;

		output_printf(o, "%s %d", ws, r->status);
		if (ev->type == WST_EV_WS_ESTABLISHED) {
			output_printf(o, " accept=%s", wst_accept_result_name(ev->u.response.accept));
			text_protocol(o, r->ws_protocol);
			text_http(o, "ext", r->ws_extensions);
			output_printf(o, " ws-established %" PRIu64 "us\n", ev->u.response.latency_us);
		} else {
			output_printf(o, " \"%.*s\" ws-upgrade-failed %" PRIu64 "us\n", (int)r->reason.len, r->reason.p,
				ev->u.response.latency_us);
		}
		return;
	}
	case WST_EV_WS_FRAME: {
		const struct ws_frame_header *h = ev->u.frame.h;

		output_printf(o, "%s ", ws);
		text_frame_header(o, h);
		if (ev->u.frame.incomplete) {
			/* Cut by the end of the connection: how much went by. */
			output_puts(o, " (incomplete, ");
			output_u64(o, ev->u.frame.seen);
			output_puts(o, "B seen)");
		}
		text_payload_said(o, ev->u.frame.payload, ev->u.frame.kept, ev->u.frame.truncated,
				  h->opcode != WS_OP_TEXT || h->rsv1,
				  ev->u.frame.truncated &&
					  !(ev->u.frame.incomplete && ev->u.frame.kept == ev->u.frame.seen));
		text_hex(o, ev->u.frame.payload, ev->u.frame.kept);
		return;
	}
	case WST_EV_WS_MESSAGE: {
		const struct ws_message_info *m = ev->u.message;
		const char *name = ws_opcode_name(m->opcode);

		output_printf(o, "%s message %s %" PRIu64 "B (%u frame%s%s%s%s)", ws, name ? name : "reserved",
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

		output_printf(o, "%s ", ws);
		text_frame_header(o, c->h);
		if (ev->type == WST_EV_WS_PONG && ev->u.control.rtt_us >= 0)
			output_printf(o, " rtt %" PRId64 "us", ev->u.control.rtt_us);
		text_payload(o, c->payload, c->len, c->truncated, false);
		text_hex(o, c->payload, c->len);
		return;
	}
	case WST_EV_WS_CLOSE: {
		const struct ws_control_info *c = ev->u.control.c;

		output_printf(o, "%s ", ws);
		text_frame_header(o, c->h);
		if (c->close_parsed && c->close_code != 1005)
			output_printf(o, " %u", c->close_code);
		else
			output_puts(o, " no-code");
		output_putc(o, ' ');
		output_buf_json_string(o, c->reason ? c->reason : (const uint8_t *)"", c->reason_len);
		output_printf(o, " (%s closed first)\n", wst_initiator_name(ev->u.control.initiator));
		return;
	}
	case WST_EV_WS_SESSION_END:
		output_printf(o, "%s session-end %s", ws, wst_session_end_name(ev->u.session.how));
		if (ev->u.session.code)
			output_printf(o, " %u", ev->u.session.code);
		if (ev->u.session.initiator)
			output_printf(o, " by %s", wst_initiator_name(ev->u.session.initiator));
		output_printf(o, " %.6fs c2s %" PRIu64 " frames %" PRIu64 " msgs %" PRIu64 "B s2c %" PRIu64
			" frames %" PRIu64 " msgs %" PRIu64 "B",
			ev->u.session.duration_us / 1e6, ev->u.session.frames[0], ev->u.session.messages[0],
			ev->u.session.bytes[0], ev->u.session.frames[1], ev->u.session.messages[1],
			ev->u.session.bytes[1]);
		text_attrib(o, ev);
		output_putc(o, '\n');
		return;
	case WST_EV_WS_VIOLATION:
		output_printf(o, "%s violation %s (%" PRIu64 ")\n", ws, ws_violation_name(ev->u.violation.kind),
			ev->u.violation.detail);
		return;
	case WST_EV_WS_GAP:
		if (ev->u.loss.bytes)
			output_printf(o, "%s gap %s %" PRIu64 "B missing%s\n", ws, wst_gap_kind_name(ev->u.loss.kind),
				ev->u.loss.bytes,
				ev->u.loss.boundary_lost ? ", frame boundary lost" : "");
		else
			output_printf(o, "%s gap %s (started mid-stream)%s\n", ws, wst_gap_kind_name(ev->u.loss.kind),
				ev->u.loss.boundary_lost ? ", frame boundary lost" : "");
		return;
	case WST_EV_WS_RESYNC:
		output_printf(o, "%s resync after %" PRIu64 "B skipped\n", ws, ev->u.loss.bytes);
		return;
	case WST_EV_WS_FANOUT: {
		const struct wst_fanout *f = ev->u.fanout;

		output_printf(o, "WS fanout %s=", f->key);
		output_buf_corr_value(o, f->value, f->value_len, f->number, f->value_hash);
		output_printf(o, " to %" PRIu64 " missed %" PRIu64, f->recipients, f->missed);
		if (f->n_latency)
			output_printf(o, " latency min %.3fms p50 %.3fms max %.3fms",
				      f->latency_min_us / 1e3, f->latency_p50_us / 1e3, f->latency_max_us / 1e3);
		output_puts(o, f->early ? " (closed early)\n" : "\n");
		return;
	}
	case WST_EV_WS_REPLY:
	case WST_EV_WS_REPLY_TIMEOUT: {
		const struct wst_reply *r = ev->u.reply;

		output_printf(o, "WS %s %s=", ev->type == WST_EV_WS_REPLY ? "reply" : "reply-timeout", r->key);
		output_buf_corr_value(o, r->value, r->value_len, r->number, r->value_hash);
		output_printf(o, " %s %.3fms%s\n", ev->type == WST_EV_WS_REPLY ? "after" : "waited",
			      r->latency_us / 1e3, r->early ? " (closed early)" : "");
		return;
	}
	default:
		output_printf(o, "%s\n", wst_event_name(ev->type));
		return;
	}
}

/* Frame lines of control frames would repeat the ping/pong/close line;
 * single-frame plain messages would repeat the frame line. */
bool out_text_skips(const struct wst_event *ev)
{
	/* A control frame cut short has no ping/pong/close line: keep it. */
	if (ev->type == WST_EV_WS_FRAME)
		return ws_opcode_is_control(ev->u.frame.h->opcode) && !ws_opcode_is_reserved(ev->u.frame.h->opcode) &&
		       !ev->u.frame.incomplete;
	if (ev->type == WST_EV_WS_MESSAGE)
		return ev->u.message->frames <= 1 && !ev->u.message->compressed;
	return false;
}

/* "TLS not-decrypted no_plaintext sni=... version=TLS1.3 ...": a connection
 * whose plaintext never came, and what its handshake showed. */
static void text_tls(struct output *o, const struct wst_event *ev)
{
	const struct tls_client_hello *c = ev->u.tls.client;
	const struct tls_server_hello *s = ev->u.tls.server;
	char buf[8];

	output_printf(o, "TLS not-decrypted %s", wst_tls_reason_name(ev->u.tls.reason));
	if (c && c->sni_len) {
		output_puts(o, " sni=");
		output_buf_text_preview(o, (const uint8_t *)c->sni, c->sni_len, TLS_HELLO_SNI_MAX);
	}
	if (c && c->alpn_len) {
		output_puts(o, " alpn=");
		output_buf_text_preview(o, (const uint8_t *)c->alpn, c->alpn_len, TLS_HELLO_ALPN_MAX);
	}
	if (c)
		output_printf(o, " offered=%s", tls_version_name(c->max_version, buf));
	if (s)
		output_printf(o, " version=%s cipher=0x%04x", tls_version_name(s->version, buf), s->cipher);
	if (ev->u.tls.alert >= 0)
		output_printf(o, " alert=%d from %s", ev->u.tls.alert, wst_initiator_name(ev->u.tls.alert_from));
	text_attrib(o, ev);
	output_putc(o, '\n');
}

static void print_prefix(struct output *o, const struct wst_event *ev)
{
	const char *src, *dst;
	size_t slen, dlen;
	char *d;

	output_buf_time_local(o, ev->ts_ns);
	if (o->verbose && ev->pkt)
		output_printf(o, " %s %s", ifname_lookup(ev->pkt->r.ifindex),
			      ev->pkt->r.dir == WST_DIR_EGRESS ? "Out" : ev->pkt->r.dir == WST_DIR_INGRESS ? "In " : "-  ");
	output_buf_endpoints(o, ev, &src, &slen, &dst, &dlen);
	d = output_reserve(o, slen + dlen + 5);
	*d++ = ' ';
	memcpy(d, src, slen);
	d += slen;
	memcpy(d, " > ", 3);
	d += 3;
	memcpy(d, dst, dlen);
	d[dlen] = ' ';
	o->len += slen + dlen + 5;
}

static void print_packet(struct output *o, const struct wst_event *ev)
{
	const struct wst_record *r = &ev->pkt->r;
	char flags[12];
	uint32_t seq = output_rel_seq(ev->flow, ev->dir, r->seq);

	pkt_format_flags(flags, sizeof(flags), r->tcp_flags);
	output_putc(o, '[');
	output_write(o, flags, strlen(flags));
	output_puts(o, "] seq ");
	output_u64(o, seq);
	if (r->payload_len) {
		output_putc(o, ':');
		output_u64(o, (uint32_t)(seq + r->payload_len));
	}
	if (r->tcp_flags & WST_TCP_ACK) {
		output_puts(o, " ack ");
		output_u64(o, output_rel_seq(ev->flow, !ev->dir, r->ack));
	}
	output_puts(o, " win ");
	output_u64(o, r->window);
	output_puts(o, " len ");
	output_u64(o, r->payload_len);
	if (r->cap_len < r->payload_len)
		output_printf(o, " (captured %" PRIu32 ")", r->cap_len);
	if (ev->type == WST_EV_TCP_RETRANSMIT)
		output_puts(o, " retransmit");
	else if (ev->type == WST_EV_TCP_OUT_OF_ORDER)
		output_puts(o, " out-of-order");
	output_putc(o, '\n');
	if (o->hex && o->show_payload && r->cap_len)
		output_buf_hex_dump(o, ev->pkt->payload, r->cap_len);
}

void out_text_event(struct output *o, const struct wst_event *ev)
{
	if (out_text_skips(ev))
		return;
	print_prefix(o, ev);
	if (wst_event_is_packet(ev->type)) {
		print_packet(o, ev);
		return;
	}
	switch (ev->type) {
	case WST_EV_TCP_ESTABLISHED:
		output_printf(o, "tcp-established %" PRIu64 "us\n", ev->u.established.handshake_us);
		return;
	case WST_EV_TCP_REFUSED:
		output_puts(o, "tcp-refused\n");
		return;
	case WST_EV_TCP_HANDSHAKE_TIMEOUT:
		output_printf(o, "tcp-handshake-timeout %.3fs%s\n", ev->u.timeout.waited_us / 1e6,
			      ev->u.timeout.synack_seen ? " incomplete (SYN-ACK seen, no final ACK)" : "");
		return;
	case WST_EV_EVENTS_SUPPRESSED:
		output_printf(o, "events-suppressed %s %" PRIu64 " not printed (--event-limit)\n",
			      wst_event_name(ev->u.suppressed.kind), ev->u.suppressed.count);
		return;
	case WST_EV_TLS_NOT_DECRYPTED:
		text_tls(o, ev);
		return;
	case WST_EV_TCP_CLOSED:
		output_printf(o, "tcp-closed %s %.6fs c2s %" PRIu64 "B %" PRIu64 "p s2c %" PRIu64 "B %" PRIu64 "p\n",
			wst_close_reason_name(ev->u.closed.reason), ev->u.closed.duration_us / 1e6,
			ev->u.closed.bytes[WST_C2S], ev->u.closed.pkts[WST_C2S],
			ev->u.closed.bytes[WST_S2C], ev->u.closed.pkts[WST_S2C]);
		return;
	default:
		print_ws(o, ev);
		return;
	}
}
