// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * output_buf.c - the buffer the outputs print into, and its writers:
 * numbers, time stamps, JSON strings and base64, text previews, hex.
 * Hand-written because printf costs more than the decoding it reports.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nettle/base64.h>

#include "protocol/utf8.h"
#include "output.h"

void output_drain(struct output *o)
{
	if (o->len)
		fwrite(o->buf, 1, o->len, o->fp);
	o->len = 0;
}

void output_write_slow(struct output *o, const void *p, size_t n)
{
	if (o->len + n > OUTPUT_BUF_SIZE) {
		output_drain(o);
		if (n > OUTPUT_BUF_SIZE) {
			fwrite(p, 1, n, o->fp);
			return;
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void output_printf(struct output *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = OUTPUT_BUF_SIZE - o->len;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < room) {
		o->len += (size_t)n;
		return;
	}
	/* It did not fit: again from an empty buffer, or straight to stdio. */
	output_drain(o);
	va_start(ap, fmt);
	if ((size_t)n < OUTPUT_BUF_SIZE)
		o->len = (size_t)vsnprintf(o->buf, OUTPUT_BUF_SIZE, fmt, ap);
	else
		vfprintf(o->fp, fmt, ap);
	va_end(ap);
}

static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

void output_u64(struct output *o, uint64_t v)
{
	char tmp[20], *p = tmp + sizeof(tmp);
	size_t n;
	char *d;

	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);

		v /= 100;
		p -= 2;
		memcpy(p, digit_pairs + 2 * r, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	n = (size_t)(tmp + sizeof(tmp) - p);
	d = output_reserve(o, n);
	memcpy(d, p, n);
	o->len += n;
}

/* Six digits, zero-padded (microseconds). */
static void put_usec6(char *d, unsigned v)
{
	for (int i = 5; i >= 0; i--) {
		d[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

void output_buf_time_local(struct output *o, uint64_t ts_ns)
{
	int64_t sec = (int64_t)(ts_ns / 1000000000);
	size_t n;
	char *d;

	if (sec != o->cached_sec) {
		time_t t = (time_t)sec;
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(o->cached_hms, sizeof(o->cached_hms), "%H:%M:%S", &tm);
		o->cached_sec = sec;
	}
	n = strlen(o->cached_hms);
	d = output_reserve(o, n + 7);
	memcpy(d, o->cached_hms, n);
	d[n] = '.';
	put_usec6(d + n + 1, (unsigned)(ts_ns % 1000000000 / 1000));
	o->len += n + 7;
}

void output_buf_time_rfc3339(struct output *o, uint64_t ts_ns)
{
	int64_t sec = (int64_t)(ts_ns / 1000000000);
	size_t n;
	char *d;

	if (sec != o->cached_utc_sec) {
		time_t t = (time_t)sec;
		struct tm tm;

		gmtime_r(&t, &tm);
		if (!strftime(o->cached_utc, sizeof(o->cached_utc), "%Y-%m-%dT%H:%M:%S", &tm))
			o->cached_utc[0] = '\0';
		o->cached_utc_sec = sec;
	}
	n = strlen(o->cached_utc);
	d = output_reserve(o, n + 8);
	memcpy(d, o->cached_utc, n);
	d[n] = '.';
	put_usec6(d + n + 1, (unsigned)(ts_ns % 1000000000 / 1000));
	d[n + 7] = 'Z';
	o->len += n + 8;
}
static const char hex_digits[] = "0123456789abcdef";

/* Bytes JSON strings and text previews copy as they are. */
#define PLAIN_JSON 1
#define PLAIN_TEXT 2
static const uint8_t plain_tab[256] = {
	[0x20 ... 0x21] = PLAIN_JSON | PLAIN_TEXT,
	[0x22] = PLAIN_TEXT, /* '"' */
	[0x23 ... 0x5b] = PLAIN_JSON | PLAIN_TEXT,
	/* 0x5c, '\\', is escaped in both */
	[0x5d ... 0x7e] = PLAIN_JSON | PLAIN_TEXT,
};

static inline bool plain_json(uint8_t c)
{
	return plain_tab[c] & PLAIN_JSON;
}

void output_buf_json_string(struct output *o, const uint8_t *s, size_t len)
{
	size_t i = 0;

	output_putc(o, '"');
	while (i < len) {
		uint8_t c = s[i];
		size_t n;

		if (plain_json(c)) {
			/* A run of plain ASCII, copied at once. */
			size_t j = i + 1;

			while (j < len && plain_json(s[j]))
				j++;
			output_write(o, s + i, j - i);
			i = j;
		} else if (c == '"' || c == '\\') {
			char *d = output_reserve(o, 2);

			d[0] = '\\';
			d[1] = (char)c;
			o->len += 2;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char *d = output_reserve(o, 6);

			d[0] = '\\';
			if (c == '\n' || c == '\r' || c == '\t') {
				d[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
				o->len += 2;
			} else {
				memcpy(d + 1, "u00", 3);
				d[4] = hex_digits[c >> 4];
				d[5] = hex_digits[c & 15];
				o->len += 6;
			}
			i++;
		} else if ((n = utf8_seq_len(s + i, len - i))) {
			output_write(o, s + i, n);
			i += n;
		} else {
			output_write(o, "\\ufffd", 6);
			i++;
		}
	}
	output_putc(o, '"');
}

void output_buf_hex_dump(struct output *o, const uint8_t *p, size_t len)
{
	for (size_t off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;
		/* tab, "0x", offset (up to 16 digits), 3, 40 hex, 1, 16, newline */
		char *d = output_reserve(o, 96), *start = d;

		*d++ = '\t';
		*d++ = '0';
		*d++ = 'x';
		if (off <= 0xffff) {
			for (int k = 3; k >= 0; k--)
				*d++ = hex_digits[(off >> (4 * k)) & 15];
		} else {
			d += snprintf(d, 20, "%zx", off);
		}
		*d++ = ':';
		*d++ = ' ';
		*d++ = ' ';
		for (size_t i = 0; i < 16; i++) {
			if (i < n) {
				*d++ = hex_digits[p[off + i] >> 4];
				*d++ = hex_digits[p[off + i] & 15];
			} else {
				*d++ = ' ';
				*d++ = ' ';
			}
			if (i & 1)
				*d++ = ' ';
		}
		*d++ = ' ';
		for (size_t i = 0; i < n; i++) {
			uint8_t c = p[off + i];

			*d++ = (char)(c >= 0x20 && c < 0x7f ? c : '.');
		}
		*d++ = '\n';
		o->len += (size_t)(d - start);
	}
}

void output_buf_hex(struct output *o, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char *d = output_reserve(o, 2);

		d[0] = hex_digits[p[i] >> 4];
		d[1] = hex_digits[p[i] & 15];
		o->len += 2;
	}
}

void output_buf_json_b64(struct output *o, const uint8_t *p, size_t len)
{
	output_putc(o, '"');
	/* 48 input bytes make 64 characters with no padding in between. */
	for (size_t off = 0; off < len; off += 48) {
		size_t n = len - off < 48 ? len - off : 48;
		char *d = output_reserve(o, BASE64_ENCODE_RAW_LENGTH(48));

		base64_encode_raw(d, n, p + off);
		o->len += BASE64_ENCODE_RAW_LENGTH(n);
	}
	output_putc(o, '"');
}

static inline bool plain_text(uint8_t c)
{
	return plain_tab[c] & PLAIN_TEXT;
}

void output_buf_text_preview(struct output *o, const uint8_t *p, size_t len, size_t max)
{
	size_t i = 0, end = len < max ? len : max;

	while (i < end) {
		uint8_t c = p[i];
		size_t n;

		if (plain_text(c)) {
			/* A run of plain ASCII, copied at once. */
			size_t j = i + 1;

			while (j < end && plain_text(p[j]))
				j++;
			output_write(o, p + i, j - i);
			i = j;
		} else if (c == '\\') {
			output_write(o, "\\\\", 2);
			i++;
		} else if (c == '\n') {
			output_write(o, "\\n", 2);
			i++;
		} else if (c == '\r') {
			output_write(o, "\\r", 2);
			i++;
		} else if (c == '\t') {
			output_write(o, "\\t", 2);
			i++;
		} else if (c >= 0x80 && (n = utf8_seq_len(p + i, end - i))) {
			output_write(o, p + i, n);
			i += n;
		} else {
			char *d = output_reserve(o, 4);

			d[0] = '\\';
			d[1] = 'x';
			d[2] = hex_digits[c >> 4];
			d[3] = hex_digits[c & 15];
			o->len += 4;
			i++;
		}
	}
	if (len > max)
		output_puts(o, "\u2026"); /* an ellipsis: more follows */
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
