/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * output.h - the human-readable and JSON-lines outputs.
 *
 * Both are sinks (struct wst_sink) fed the events in order. Shared helpers
 * (time stamps, endpoints, JSON strings, hex dumps) live in output.c.
 */
#ifndef WST_OUTPUT_H
#define WST_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "event.h"

enum output_format { OUTPUT_TEXT, OUTPUT_JSON };

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
};

void output_init(struct output *o, FILE *fp, enum output_format format);
void output_event(void *ctx, const struct wst_event *ev); /* a sink's on_event */

/* Shared by the formats. */
void output_time_local(struct output *o, uint64_t ts_ns, char *buf, size_t len); /* HH:MM:SS.uuuuuu */
void output_time_rfc3339(uint64_t ts_ns, char *buf, size_t len); /* 2026-11-24T17:50:00.523910Z */
const char *output_ifname(uint32_t ifindex); /* cached; "?" if unknown */
/* src and dst of an event: the packet's, or client > server for connection events. */
void output_endpoints(const struct wst_event *ev, char *src, char *dst);
/* Relative sequence number, as tcpdump prints it, when the ISN is known. */
uint32_t output_rel_seq(const struct wst_flow *f, enum wst_flow_dir dir, uint32_t seq);
/* JSON string with quotes; invalid UTF-8 bytes become U+FFFD. */
void output_json_string(FILE *fp, const uint8_t *s, size_t len);
/* JSON base64 string of the bytes, with quotes. */
void output_json_b64(FILE *fp, const uint8_t *p, size_t len);
/* Whether the kept bytes are text: valid UTF-8, a cut code point allowed at
 * the end when truncated. */
bool output_is_text(const uint8_t *p, size_t len, bool truncated);
/* len without a code point cut at the end (for truncated payloads). */
size_t output_utf8_whole_len(const uint8_t *p, size_t len);
/* Text preview: UTF-8 as is, control and invalid bytes escaped, at most max bytes. */
void output_text_preview(FILE *fp, const uint8_t *p, size_t len, size_t max);
/* "continuation", "text", ..., or NULL for a reserved opcode. */
const char *output_opcode_name(uint8_t opcode);
/* tcpdump -X style dump, each line prefixed by a tab. */
void output_hex_dump(FILE *fp, const uint8_t *p, size_t len);

void out_text_event(struct output *o, const struct wst_event *ev);
void out_json_event(struct output *o, const struct wst_event *ev);

#endif /* WST_OUTPUT_H */
