// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * output.c - the text and JSON outputs as a sink: the format dispatch, what
 * the formats share about a connection (its endpoints as text, relative
 * sequence numbers) and the redaction of what they show. The buffer they
 * print into and its escapers are output_buf.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>

#include "tracking/flow.h"
#include "protocol/http_redact.h"
#include "protocol/http_upgrade.h"
#include "output.h"

void output_init(struct output *o, FILE *fp, enum output_format format)
{
	memset(o, 0, sizeof(*o));
	o->fp = fp;
	o->format = format;
	o->show_payload = true;
	o->cached_sec = -1;
	o->cached_utc_sec = -1;
}

void output_event(void *ctx, const struct wst_event *ev)
{
	struct output *o = ctx;

	if (o->format == OUTPUT_JSON)
		out_json_event(o, ev);
	else
		out_text_event(o, ev);
	output_drain(o);
}
uint32_t output_rel_seq(const struct wst_flow *f, enum wst_flow_dir dir, uint32_t seq)
{
	const struct tcp_half *h = &f->half[dir];

	return h->syn_seen ? seq - h->isn : seq;
}

void output_buf_endpoints(struct output *o, const struct wst_event *ev, const char **src, size_t *slen,
			  const char **dst, size_t *dlen)
{
	const struct wst_flow *f = ev->flow;
	struct output_ep *e = &o->ep[f->id % OUTPUT_EP_CACHE];
	bool c2s = ev->dir == WST_C2S;

	/* The key is compared too: flows of unit tests may share an id. */
	if (!e->valid || e->id != f->id || memcmp(&e->key, &f->key, sizeof(e->key))) {
		const struct flow_key *k = &f->key;

		pkt_format_endpoint(e->c, WST_ENDPOINT_STRLEN, k->family, k->caddr, k->cport);
		pkt_format_endpoint(e->s, WST_ENDPOINT_STRLEN, k->family, k->saddr, k->sport);
		e->clen = (uint8_t)strlen(e->c);
		e->slen = (uint8_t)strlen(e->s);
		e->key = *k;
		e->id = f->id;
		e->valid = true;
	}
	/* Connection facts read client > server. */
	if ((ev->type >= WST_EV_TCP_ESTABLISHED && ev->type <= WST_EV_TCP_CLOSED) ||
	    ev->type == WST_EV_WS_SESSION_END || ev->type == WST_EV_TLS_NOT_DECRYPTED ||
	    ev->type == WST_EV_EVENTS_SUPPRESSED)
		c2s = true;
	if (c2s) {
		*src = e->c, *slen = e->clen;
		*dst = e->s, *dlen = e->slen;
	} else {
		*src = e->s, *slen = e->slen;
		*dst = e->c, *dlen = e->clen;
	}
}
/* v through a redact function, in a buffer of max bytes the caller frees. */
static struct http_str shown_redacted(struct http_str v, size_t max, size_t (*redact)(struct http_str, char *),
				      char **to_free)
{
	char *buf = malloc(max);

	if (!buf)
		return (struct http_str){ "<not shown: out of memory>", 26 };
	*to_free = buf;
	return (struct http_str){ buf, redact(v, buf) };
}

struct http_str output_shown_path(const struct output *o, struct http_str path, char **to_free)
{
	*to_free = NULL;
	if (o->show_secrets || !path.p || !memchr(path.p, '?', path.len))
		return path;
	return shown_redacted(path, HTTP_REDACTED_PATH_MAX(path.len), http_path_redact, to_free);
}

struct http_str output_shown_protocol(const struct output *o, struct http_str v, char **to_free)
{
	*to_free = NULL;
	if (o->show_secrets || !v.p || !http_protocol_has_secret(v))
		return v;
	return shown_redacted(v, HTTP_REDACTED_PROTOCOL_MAX(v.len), http_protocol_redact, to_free);
}

void output_buf_corr_value(struct output *o, const uint8_t *v, size_t len, bool number,
			   uint64_t hash)
{
	if (!o->show_payload)
		output_printf(o, "\"#%016" PRIx64 "\"", hash);
	else if (number)
		output_write(o, v, len);
	else
		output_buf_json_string(o, v, len);
}
