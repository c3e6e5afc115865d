/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http_chars.h - character classes of HTTP/1.1 (RFC 7230), for the head
 * parser (http_upgrade.c) and the redaction policy (http_redact.c).
 */
#ifndef WST_HTTP_CHARS_H
#define WST_HTTP_CHARS_H

#include <stdbool.h>
#include <string.h>

static inline bool http_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool http_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 7230 section 3.2.6 tchar. */
static inline bool http_is_tchar(unsigned char c)
{
	return http_is_alpha(c) || http_is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* field-vchar / SP / HTAB (RFC 7230 section 3.2), obs-text included. */
static inline bool http_is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static inline bool http_is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline unsigned char http_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

#endif /* WST_HTTP_CHARS_H */
