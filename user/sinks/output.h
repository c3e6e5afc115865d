/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * output.h - the human-readable and JSON-lines outputs.
 *
 * Both are one sink (struct wst_sink, output_event) fed the events in
 * order: output.c dispatches to the format (out_text.c, out_json.c) and
 * holds what they share about connections; output_buf.c the buffer they
 * print into with its writers (time stamps, JSON strings, hex dumps).
 */
#ifndef WST_OUTPUT_H
#define WST_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/event.h"
#include "tracking/flow.h"

enum output_format { OUTPUT_TEXT, OUTPUT_JSON };

/*
 * Events are formatted into buf by hand (printf costs more than the decoding
 * it reports) and handed to stdio with one fwrite per event, so stdio's
 * buffering mode (line buffered on a terminal) is unchanged.
 */
#define OUTPUT_BUF_SIZE 16384
#define OUTPUT_EP_CACHE 64

/* The two endpoints of a flow as text, cached by flow id. */
struct output_ep {
	uint64_t id;
	struct flow_key key;
	bool valid;
	uint8_t clen, slen;
	char c[WST_ENDPOINT_STRLEN], s[WST_ENDPOINT_STRLEN];
};

struct output {
	FILE *fp;
	enum output_format format;
	bool hex;          /* -X: hex and ASCII dump of payload */
	bool verbose;      /* -v: interface and direction on every line */
	bool show_payload; /* print payload bytes at all (off in the daemon) */
	bool show_secrets; /* print Cookie, Authorization... values */
	/* Cached wall clock second, so time stamps cost no localtime() each. */
	int64_t cached_sec;
	char cached_hms[16];
	int64_t cached_utc_sec;
	char cached_utc[24]; /* 2026-11-24T17:50:00 */
	size_t len;          /* bytes pending in buf */
	struct output_ep ep[OUTPUT_EP_CACHE];
	char buf[OUTPUT_BUF_SIZE];
};

void output_init(struct output *o, FILE *fp, enum output_format format);
void output_event(void *ctx, const struct wst_event *ev); /* a sink's on_event */

/* Shared by the formats. */
/* Relative sequence number, as tcpdump prints it, when the ISN is known. */
uint32_t output_rel_seq(const struct wst_flow *f, enum wst_flow_dir dir, uint32_t seq);
/* Whether the kept bytes are text: valid UTF-8, a cut code point allowed at
 * the end when truncated. */
bool output_is_text(const uint8_t *p, size_t len, bool truncated);
/* len without a code point cut at the end (for truncated payloads). */
size_t output_utf8_whole_len(const uint8_t *p, size_t len);

/* Buffer writers (output_buf.c): what the formats print with. */
void output_drain(struct output *o); /* hands buf to stdio */
void output_write_slow(struct output *o, const void *p, size_t n);
void output_printf(struct output *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void output_u64(struct output *o, uint64_t v);
/* JSON string with quotes; invalid UTF-8 bytes become U+FFFD. */
void output_buf_json_string(struct output *o, const uint8_t *s, size_t len);
/* JSON base64 string of the bytes, with quotes. */
void output_buf_json_b64(struct output *o, const uint8_t *p, size_t len);
/* Text preview: UTF-8 as is, control and invalid bytes escaped, at most max bytes. */
void output_buf_text_preview(struct output *o, const uint8_t *p, size_t len, size_t max);
/* tcpdump -X style dump, each line prefixed by a tab. */
void output_buf_hex_dump(struct output *o, const uint8_t *p, size_t len);
void output_buf_hex(struct output *o, const uint8_t *p, size_t len); /* "0a1b..." */
/* A correlated value: the JSON string or number, or without payloads
 * (--no-payload, the service) its hash as "#0123456789abcdef". */
void output_buf_corr_value(struct output *o, const uint8_t *v, size_t len, bool number,
			   uint64_t hash);
/* HH:MM:SS.uuuuuu and 2026-11-24T17:50:00.523910Z into buf, seconds cached. */
void output_buf_time_local(struct output *o, uint64_t ts_ns);
void output_buf_time_rfc3339(struct output *o, uint64_t ts_ns);
/* src and dst of an event: the packet's, or client > server for
 * connection events; cached per flow. */
void output_buf_endpoints(struct output *o, const struct wst_event *ev, const char **src, size_t *slen,
			  const char **dst, size_t *dlen);

static inline void output_write(struct output *o, const void *p, size_t n)
{
	if (__builtin_expect(o->len + n > OUTPUT_BUF_SIZE, 0)) {
		output_write_slow(o, p, n);
		return;
	}
	__builtin_memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* Room for n (<= OUTPUT_BUF_SIZE) more bytes at the returned pointer. */
static inline char *output_reserve(struct output *o, size_t n)
{
	if (o->len + n > OUTPUT_BUF_SIZE)
		output_drain(o);
	return o->buf + o->len;
}

static inline void output_putc(struct output *o, char c)
{
	if (o->len >= OUTPUT_BUF_SIZE)
		output_drain(o);
	o->buf[o->len++] = c;
}

/* A string constant or short string. */
static inline void output_puts(struct output *o, const char *s)
{
	output_write(o, s, __builtin_strlen(s));
}

struct http_str;
/*
 * The request path as outputs show it: secret query values redacted unless
 * show_secrets. *to_free is set to what the caller frees (or NULL).
 */
struct http_str output_shown_path(const struct output *o, struct http_str path, char **to_free);
/* A Sec-WebSocket-Protocol value as outputs show it: elements that carry
 * credentials redacted unless show_secrets (http_protocol_redact). */
struct http_str output_shown_protocol(const struct output *o, struct http_str v, char **to_free);

void out_text_event(struct output *o, const struct wst_event *ev);
/* Events the text format leaves out (they would repeat another line). */
bool out_text_skips(const struct wst_event *ev);
/* Connection events, which carry who is behind the connection (ev->attrib). */
static inline bool output_shows_attrib(const struct wst_event *ev)
{
	switch (ev->type) {
	case WST_EV_TCP_ESTABLISHED:
	case WST_EV_TCP_CLOSED:
	case WST_EV_WS_UPGRADE:
	case WST_EV_WS_ESTABLISHED:
	case WST_EV_WS_SESSION_END:
	case WST_EV_TLS_NOT_DECRYPTED:
		return true;
	default:
		return false;
	}
}

/* Whether output_event() prints anything for ev. */
static inline bool output_shows(const struct output *o, const struct wst_event *ev)
{
	return o->format == OUTPUT_JSON || !out_text_skips(ev);
}
void out_json_event(struct output *o, const struct wst_event *ev);

#endif /* WST_OUTPUT_H */
