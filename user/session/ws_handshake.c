// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_handshake.c - the opening handshake of a connection (RFC 6455 section
 * 4): each direction's HTTP head gathered in a bounded buffer, the request
 * and its response parsed and checked, the 101 that upgrades it (its
 * extensions configure the frame decoders); and connections picked up
 * mid-stream, or that turn out not to be WebSocket.
 */
#include <stdlib.h>
#include <string.h>

#include "tracking/flow.h"
#include "protocol/http_upgrade.h"
#include "protocol/proxy_hdr.h"
#include "protocol/ws_accept.h"
#include "ws_session_internal.h"

static void hs_free(struct ws_session *s)
{
	free(s->hs);
	s->hs = NULL;
}

static void head_free(struct ws_dir *d)
{
	free(d->head);
	d->head = NULL;
	d->head_len = 0;
	d->head_alloc = 0;
}

void ws_handshake_ignore(struct ws_session *s)
{
	s->phase = WS_PHASE_IGNORE;
	head_free(&s->d[0]);
	head_free(&s->d[1]);
	hs_free(s);
}

/*
 * Appends to the direction's HTTP head buffer; false when over the bound.
 * The buffer grows with the head (a few hundred bytes, usually) rather
 * than taking the bound at once: many handshakes at a time should not
 * each touch pages they never use.
 */
static bool head_append(struct ws_dir *d, const uint8_t *p, size_t len)
{
	size_t want, sz = d->head_alloc;
	char *n;

	if (d->head_len + len > HTTP_MAX_HEAD + 1)
		len = HTTP_MAX_HEAD + 1 - d->head_len; /* enough for the parser to say "too long" */
	want = d->head_len + len;
	if (want > sz) {
		sz = sz ? sz : 512;
		while (sz < want)
			sz *= 2;
		if (sz > HTTP_MAX_HEAD + 1)
			sz = HTTP_MAX_HEAD + 1;
		n = realloc(d->head, sz);
		if (!n)
			return false;
		d->head = n;
		d->head_alloc = (uint32_t)sz;
	}
	if (len)
		memcpy(d->head + d->head_len, p, len);
	d->head_len += (uint32_t)len;
	return true;
}

static void parse_request(struct ws_session *s)
{
	struct ws_dir *d = &s->d[WST_C2S];
	struct http_request *req = malloc(sizeof(*req));
	struct wst_event ev = { 0 };
	int n;

	if (!req)
		return;
	n = http_parse_request(d->head, d->head_len, req);
	if (n == HTTP_INCOMPLETE)
		goto out;
	if (n < 0) {
		s->layer->stats.not_http++;
		ws_session_violation(s, WST_C2S, http_error_violation(n), (uint64_t)d->head_len);
		ws_handshake_ignore(s);
		goto out;
	}
	ev.u.upgrade.req = req;
	if (!req->upgrade_attempt) {
		/* Plain HTTP on the port: reported, then ignored. */
		s->layer->stats.http_requests++;
		ws_session_emit(s, &ev, WST_EV_HTTP_REQUEST, WST_C2S);
		ws_handshake_ignore(s);
		goto out;
	}
	s->upgrade_seen = true;
	if (!s->forwarded_for) {
		char fwd[PROXY_ADDR_MAX];

		if (fwd_from_request(req, fwd) != FWD_NONE)
			s->forwarded_for = strdup(fwd);
	}
	ev.u.upgrade.forwarded_for = s->forwarded_for;
	if (!s->hs)
		s->hs = calloc(1, sizeof(*s->hs));
	if (s->hs)
		s->hs->request_ns = s->ts_ns;
	s->layer->stats.upgrades++;
	ev.u.upgrade.check = http_check_upgrade(req, &ev.u.upgrade.why);
	if (s->hs && req->ws_key.len && req->ws_key.len <= sizeof(s->hs->key)) {
		memcpy(s->hs->key, req->ws_key.p, req->ws_key.len);
		s->hs->key_len = req->ws_key.len;
	}
	ws_session_emit(s, &ev, WST_EV_WS_UPGRADE, WST_C2S);
	if (ev.u.upgrade.check != HTTP_UPG_OK)
		ws_session_violation(s, WST_C2S, http_upgrade_check_violation(ev.u.upgrade.check), 0);
	/* Bytes after the head wait in the buffer for the 101. */
	memmove(d->head, d->head + n, d->head_len - (size_t)n);
	d->head_len -= (size_t)n;
out:
	free(req);
}

static void parse_response(struct ws_session *s)
{
	struct ws_dir *d = &s->d[WST_S2C];
	struct http_response *resp = malloc(sizeof(*resp));
	struct wst_event ev = { 0 };
	struct ws_deflate_params dp;
	const char *why = NULL;
	int n, ext;

	if (!resp)
		return;
	n = http_parse_response(d->head, d->head_len, resp);
	if (n == HTTP_INCOMPLETE)
		goto out;
	if (n < 0) {
		s->layer->stats.not_http++;
		ws_session_violation(s, WST_S2C, http_error_violation(n), (uint64_t)d->head_len);
		ws_handshake_ignore(s);
		goto out;
	}
	ev.u.response.resp = resp;
	ev.u.response.request_seen = s->upgrade_seen;
	ev.u.response.latency_us = s->hs && s->ts_ns > s->hs->request_ns ?
				   (s->ts_ns - s->hs->request_ns) / 1000 : 0;
	if (resp->status != 101) {
		s->layer->stats.upgrade_failed++;
		ev.u.response.accept = WST_ACCEPT_UNCHECKED;
		ev.u.response.accept_check = WS_ACC_NOT_101;
		ws_session_emit(s, &ev, WST_EV_WS_UPGRADE_FAILED, WST_S2C);
		ws_handshake_ignore(s);
		goto out;
	}
	if (s->hs && s->hs->key_len) {
		ev.u.response.accept_check = ws_accept_check_response(resp,
			(struct http_str){ s->hs->key, s->hs->key_len }, &ev.u.response.why);
		ev.u.response.accept = ev.u.response.accept_check == WS_ACC_OK ? WST_ACCEPT_OK
				       : resp->ws_accept.len ? WST_ACCEPT_MISMATCH : WST_ACCEPT_MISSING;
	} else {
		ev.u.response.accept = WST_ACCEPT_UNCHECKED; /* the request was not seen */
	}
	ext = ws_extensions_parse_response(resp->ws_extensions, &dp, &why);
	ev.u.response.deflate = dp.enabled;
	s->phase = WS_PHASE_WS;
	s->established_ns = s->ts_ns;
	s->layer->stats.established++;
	s->layer->stats.active++;
	ws_session_emit(s, &ev, WST_EV_WS_ESTABLISHED, WST_S2C);
	if (s->hs && s->hs->key_len && ev.u.response.accept_check != WS_ACC_OK)
		ws_session_violation(s, WST_S2C, ws_accept_check_violation(ev.u.response.accept_check), 0);
	if (ext < 0 || ext == WS_EXT_UNKNOWN)
		ws_session_violation(s, WST_S2C, ext == WS_EXT_UNKNOWN ? WS_VIOL_EXTENSION_UNKNOWN
									     : WS_VIOL_EXTENSION_INVALID, 0);
	hs_free(s);
	ws_frames_init(s, &dp);
	/* What followed each head is the first frame data. */
	ws_frames_feed(s, WST_C2S, (const uint8_t *)s->d[WST_C2S].head, s->d[WST_C2S].head_len);
	ws_frames_feed(s, WST_S2C, (const uint8_t *)d->head + n, d->head_len - (size_t)n);
	head_free(&s->d[WST_C2S]);
	head_free(d);
out:
	free(resp);
}

static bool looks_like_http(enum wst_flow_dir dir, const uint8_t *p, size_t len)
{
	static const char *const starts[] = { "GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "DELETE " };

	if (dir == WST_S2C)
		return len >= 5 && memcmp(p, "HTTP/", 5) == 0;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		size_t n = strlen(starts[i]);

		if (len >= n && memcmp(p, starts[i], n) == 0)
			return true;
	}
	return false;
}

/* Picks up a connection whose handshake was not seen. */
static void start_midstream(struct ws_session *s)
{
	/*
	 * The extensions are unknown: allow RSV1 as permessage-deflate would,
	 * or compressed frames look implausible and resync latches onto bytes
	 * inside payloads. The decoder reports the lost compression context
	 * at the first compressed message.
	 */
	struct ws_deflate_params dp = { .enabled = true, .server_max_window_bits = 15,
					.client_max_window_bits = 15 };

	ws_frames_init(s, &dp);
	hs_free(s);
	s->phase = WS_PHASE_WS;
	s->established_ns = s->flow->first_ns;
	s->layer->stats.midstream++;
	s->layer->stats.active++;
	for (int dir = 0; dir < 2; dir++) {
		/* Set when the direction's first bytes make its decoder. */
		s->d[dir].lost_pending = true;
		ws_session_gap(s, dir, WST_GAP_STREAM, 0, true);
	}
}

bool ws_handshake_midstream(struct ws_session *s, struct ws_dir *d, const uint8_t *p, size_t len)
{
	if (!s->midstream || s->upgrade_seen || d->head_len || looks_like_http(d->dir, p, len))
		return false;
	start_midstream(s);
	return true;
}

/*
 * A PROXY protocol header before the request (a load balancer's): its
 * source is the client; the request follows it. False while more bytes are
 * needed, or when the connection is given up (a bad header).
 */
static bool proxy_header(struct ws_session *s, struct ws_dir *d)
{
	struct proxy_info pi;
	int n = proxy_parse((const uint8_t *)d->head, d->head_len, &pi);

	if (n == PROXY_INCOMPLETE && d->head_len <= HTTP_MAX_HEAD)
		return false;
	s->proxy_checked = true;
	if (n == PROXY_NONE)
		return true;
	if (n < 0) {
		/* malformed, or longer than an HTTP head may be */
		s->layer->stats.not_http++;
		ws_session_violation(s, WST_C2S, WS_VIOL_PROXY_PROTOCOL, d->head_len);
		ws_handshake_ignore(s);
		return false;
	}
	if (pi.src[0] && !s->forwarded_for)
		s->forwarded_for = strdup(pi.src);
	memmove(d->head, d->head + n, d->head_len - (size_t)n);
	d->head_len -= (uint32_t)n;
	return d->head_len > 0;
}

void ws_handshake_data(struct ws_session *s, struct ws_dir *d, const uint8_t *p, size_t len)
{
	if (d->dir == WST_S2C && !s->d[WST_C2S].head_len && !s->upgrade_seen && !s->midstream) {
		/* The server spoke first: not an HTTP upgrade. */
		s->layer->stats.not_http++;
		ws_session_violation(s, WST_S2C, WS_VIOL_SERVER_SPOKE_FIRST, len);
		ws_handshake_ignore(s);
		return;
	}
	if (!head_append(d, p, len)) {
		ws_handshake_ignore(s);
		return;
	}
	if (d->dir == WST_C2S && !s->upgrade_seen && !s->proxy_checked && !proxy_header(s, d))
		return;
	if (d->dir == WST_C2S && !s->upgrade_seen)
		parse_request(s);
	else if (d->dir == WST_S2C)
		parse_response(s);
	else if (d->head_len > HTTP_MAX_HEAD)
		ws_handshake_ignore(s); /* client data before the 101, beyond the bound */
}

void ws_handshake_end(struct ws_session *s)
{
	if (s->phase == WS_PHASE_HTTP && (s->d[WST_C2S].head_len || s->d[WST_S2C].head_len)) {
		/* Bytes that never made a whole HTTP head: not decoded, and said so. */
		s->layer->stats.not_http++;
		ws_session_violation(s, s->d[WST_C2S].head_len ? WST_C2S : WST_S2C, WS_VIOL_HTTP_INCOMPLETE,
				     s->d[WST_C2S].head_len + s->d[WST_S2C].head_len);
	}
}

void ws_handshake_free(struct ws_session *s)
{
	free(s->forwarded_for);
	s->forwarded_for = NULL;
	head_free(&s->d[WST_C2S]);
	head_free(&s->d[WST_S2C]);
	hs_free(s);
}
