/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * utf8.h - incremental UTF-8 validator (RFC 3629), for WebSocket text
 * messages whose code points may be split across frames (RFC 6455 5.6, 8.1).
 *
 * Rejects overlong forms, surrogates (U+D800..U+DFFF), code points above
 * U+10FFFF, stray continuation bytes and the bytes C0, C1, F5..FF.
 */
#ifndef WST_UTF8_H
#define WST_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ready when zeroed. */
struct utf8_state {
	uint8_t need;    /* continuation bytes still expected */
	uint8_t lo, hi;  /* allowed range of the next continuation byte */
	bool bad;        /* an invalid sequence was seen; sticky */
	uint64_t count;  /* bytes accepted before the first invalid one */
};

static inline void utf8_init(struct utf8_state *s)
{
	*s = (struct utf8_state){ 0 };
}

/*
 * Feeds len bytes. Returns false once an invalid sequence has been seen
 * (in this call or before); s->count then holds the offset of the byte
 * that made the input invalid.
 */
bool utf8_feed(struct utf8_state *s, const uint8_t *p, size_t len);

/* True if no invalid byte was seen and the input ends on a code point. */
static inline bool utf8_complete(const struct utf8_state *s)
{
	return !s->bad && s->need == 0;
}

/* Length (1-4) of the valid UTF-8 sequence at p, or 0 if it is invalid or
 * cut by n. */
size_t utf8_seq_len(const uint8_t *p, size_t n);

/* One-shot check of a whole buffer. */
bool utf8_valid(const uint8_t *p, size_t len);

#endif /* WST_UTF8_H */
