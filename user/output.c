// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* output.c - helpers shared by the text and JSON outputs. */
#include <net/if.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "flow.h"
#include "output.h"
#include "utf8.h"

void output_init(struct output *o, FILE *fp, enum output_format format)
{
	memset(o, 0, sizeof(*o));
	o->fp = fp;
	o->format = format;
	o->show_payload = true;
	o->cached_sec = -1;
}

void output_event(void *ctx, const struct wst_event *ev)
{
	struct output *o = ctx;

	if (o->format == OUTPUT_JSON)
		out_json_event(o, ev);
	else
		out_text_event(o, ev);
}

void output_time_local(struct output *o, uint64_t ts_ns, char *buf, size_t len)
{
	int64_t sec = (int64_t)(ts_ns / 1000000000);

	if (sec != o->cached_sec) {
		time_t t = (time_t)sec;
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(o->cached_hms, sizeof(o->cached_hms), "%H:%M:%S", &tm);
		o->cached_sec = sec;
	}
	snprintf(buf, len, "%s.%06u", o->cached_hms, (unsigned)(ts_ns % 1000000000 / 1000));
}

void output_time_rfc3339(uint64_t ts_ns, char *buf, size_t len)
{
	time_t t = (time_t)(ts_ns / 1000000000);
	struct tm tm;
	char day[32];

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06uZ", day, (unsigned)(ts_ns % 1000000000 / 1000));
}

/* Interface names rarely change; a small cache avoids an ioctl per packet. */
#define IFNAME_CACHE 64
static struct {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
} ifname_cache[IFNAME_CACHE];

const char *output_ifname(uint32_t ifindex)
{
	unsigned slot = ifindex % IFNAME_CACHE;

	if (ifindex == 0)
		return "-";
	if (ifname_cache[slot].ifindex != ifindex) {
		if (!if_indextoname(ifindex, ifname_cache[slot].name))
			snprintf(ifname_cache[slot].name, IF_NAMESIZE, "if%u", ifindex);
		ifname_cache[slot].ifindex = ifindex;
	}
	return ifname_cache[slot].name;
}

void output_endpoints(const struct wst_event *ev, char *src, char *dst)
{
	const struct flow_key *k = &ev->flow->key;
	bool c2s = ev->dir == WST_C2S;

	/* Connection facts read client > server. */
	if ((ev->type >= WST_EV_TCP_ESTABLISHED && ev->type <= WST_EV_TCP_CLOSED) ||
	    ev->type == WST_EV_WS_SESSION_END)
		c2s = true;
	if (c2s) {
		pkt_format_endpoint(src, WST_ENDPOINT_STRLEN, k->family, k->caddr, k->cport);
		pkt_format_endpoint(dst, WST_ENDPOINT_STRLEN, k->family, k->saddr, k->sport);
	} else {
		pkt_format_endpoint(src, WST_ENDPOINT_STRLEN, k->family, k->saddr, k->sport);
		pkt_format_endpoint(dst, WST_ENDPOINT_STRLEN, k->family, k->caddr, k->cport);
	}
}

uint32_t output_rel_seq(const struct wst_flow *f, enum wst_flow_dir dir, uint32_t seq)
{
	const struct tcp_half *h = &f->half[dir];

	return h->syn_seen ? seq - h->isn : seq;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid (RFC 3629). */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0; /* overlong or surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

void output_json_string(FILE *fp, const uint8_t *s, size_t len)
{
	size_t i = 0;

	putc('"', fp);
	while (i < len) {
		uint8_t c = s[i];
		size_t n;

		if (c == '"' || c == '\\') {
			putc('\\', fp);
			putc(c, fp);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': fputs("\\n", fp); break;
			case '\r': fputs("\\r", fp); break;
			case '\t': fputs("\\t", fp); break;
			default: fprintf(fp, "\\u%04x", c); break;
			}
			i++;
		} else if (c < 0x80) {
			putc(c, fp);
			i++;
		} else if ((n = utf8_seq_len(s + i, len - i))) {
			fwrite(s + i, 1, n, fp);
			i += n;
		} else {
			fputs("\\ufffd", fp);
			i++;
		}
	}
	putc('"', fp);
}

void output_hex_dump(FILE *fp, const uint8_t *p, size_t len)
{
	for (size_t off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;

		fprintf(fp, "\t0x%04zx:  ", off);
		for (size_t i = 0; i < 16; i++) {
			if (i < n)
				fprintf(fp, "%02x", p[off + i]);
			else
				fputs("  ", fp);
			if (i & 1)
				putc(' ', fp);
		}
		putc(' ', fp);
		for (size_t i = 0; i < n; i++) {
			uint8_t c = p[off + i];

			putc(c >= 0x20 && c < 0x7f ? c : '.', fp);
		}
		putc('\n', fp);
	}
}

void output_json_b64(FILE *fp, const uint8_t *p, size_t len)
{
	unsigned char out[65];

	putc('"', fp);
	/* 48 input bytes make 64 characters with no padding in between. */
	for (size_t off = 0; off < len; off += 48) {
		size_t n = len - off < 48 ? len - off : 48;
		int w = EVP_EncodeBlock(out, p + off, (int)n);

		fwrite(out, 1, (size_t)w, fp);
	}
	putc('"', fp);
}

bool output_is_text(const uint8_t *p, size_t len, bool truncated)
{
	struct utf8_state u;

	utf8_init(&u);
	if (!utf8_feed(&u, p, len))
		return false;
	return truncated || utf8_complete(&u);
}

size_t output_utf8_whole_len(const uint8_t *p, size_t len)
{
	/* Back over at most 3 continuation bytes to the last lead byte. */
	for (size_t back = 1; back <= 4 && back <= len; back++) {
		uint8_t c = p[len - back];

		if ((c & 0xc0) == 0x80)
			continue;
		if (c >= 0xc0 && utf8_seq_len(p + len - back, back) == 0)
			return len - back; /* a lead byte whose sequence is cut */
		break;
	}
	return len;
}

void output_text_preview(FILE *fp, const uint8_t *p, size_t len, size_t max)
{
	size_t i = 0, end = len < max ? len : max;

	while (i < end) {
		uint8_t c = p[i];
		size_t n;

		if (c == '\\') {
			fputs("\\\\", fp);
			i++;
		} else if (c >= 0x20 && c < 0x7f) {
			putc(c, fp);
			i++;
		} else if (c == '\n') {
			fputs("\\n", fp);
			i++;
		} else if (c == '\r') {
			fputs("\\r", fp);
			i++;
		} else if (c == '\t') {
			fputs("\\t", fp);
			i++;
		} else if (c >= 0x80 && (n = utf8_seq_len(p + i, end - i))) {
			fwrite(p + i, 1, n, fp);
			i += n;
		} else {
			fprintf(fp, "\\x%02x", c);
			i++;
		}
	}
	if (len > max)
		fputs("\u2026", fp); /* an ellipsis: more follows */
}

const char *output_opcode_name(uint8_t opcode)
{
	switch (opcode) {
	case 0x0: return "continuation";
	case 0x1: return "text";
	case 0x2: return "binary";
	case 0x8: return "close";
	case 0x9: return "ping";
	case 0xa: return "pong";
	}
	return NULL;
}
