// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * utf8.c - incremental UTF-8 validation, RFC 3629 section 4 (the syntax of
 * UTF-8 byte sequences), written as a small hand-made state machine: the
 * lead byte decides how many continuation bytes follow and the range the
 * first of them must fall in; that range is what excludes overlong forms,
 * surrogates and code points above U+10FFFF.
 */
#include <string.h>

#include "utf8.h"

bool utf8_feed(struct utf8_state *s, const uint8_t *p, size_t len)
{
	size_t i;

	if (s->bad)
		return false;
	for (i = 0; i < len; i++) {
		uint8_t c;

		/* ASCII fast path: sixteen, then eight bytes without a high
		 * bit at a time, counted once (p may alias s: a local). */
		if (!s->need && len - i >= 8) {
			size_t start = i;
			uint64_t w, w2;

			for (; len - i >= 16; i += 16) {
				memcpy(&w, p + i, sizeof(w));
				memcpy(&w2, p + i + 8, sizeof(w2));
				if ((w | w2) & 0x8080808080808080ull)
					break;
			}
			for (; len - i >= 8; i += 8) {
				memcpy(&w, p + i, sizeof(w));
				if (w & 0x8080808080808080ull)
					break;
			}
			s->count += i - start;
		}
		if (i == len)
			break;
		c = p[i];

		if (s->need) {
			if (c < s->lo || c > s->hi)
				goto invalid;
			s->need--;
			/* Only the first continuation byte is restricted. */
			s->lo = 0x80;
			s->hi = 0xbf;
			s->count++;
			continue;
		}
		if (c < 0x80) {
			s->count++;
			continue;
		}
		s->lo = 0x80;
		s->hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			s->need = 1;
		} else if (c == 0xe0) {
			s->need = 2;
			s->lo = 0xa0; /* no overlong 3-byte form */
		} else if (c >= 0xe1 && c <= 0xec) {
			s->need = 2;
		} else if (c == 0xed) {
			s->need = 2;
			s->hi = 0x9f; /* no surrogates */
		} else if (c >= 0xee && c <= 0xef) {
			s->need = 2;
		} else if (c == 0xf0) {
			s->need = 3;
			s->lo = 0x90; /* no overlong 4-byte form */
		} else if (c >= 0xf1 && c <= 0xf3) {
			s->need = 3;
		} else if (c == 0xf4) {
			s->need = 3;
			s->hi = 0x8f; /* nothing above U+10FFFF */
		} else {
			/* stray continuation, C0/C1 (overlong), F5..FF */
			goto invalid;
		}
		s->count++;
	}
	return true;
invalid:
	s->bad = true;
	return false;
}

bool utf8_valid(const uint8_t *p, size_t len)
{
	struct utf8_state s = { 0 };

	return utf8_feed(&s, p, len) && utf8_complete(&s);
}

size_t utf8_seq_len(const uint8_t *p, size_t n)
{
	struct utf8_state s;

	/* The validator above decides, one byte at a time: one set of rules. */
	utf8_init(&s);
	for (size_t i = 0; i < n && i < 4; i++) {
		if (!utf8_feed(&s, p + i, 1))
			return 0;
		if (!s.need)
			return i + 1;
	}
	return 0;
}
