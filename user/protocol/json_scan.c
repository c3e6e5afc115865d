// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * json_scan.c - single pass, non-recursive JSON validator (RFC 8259) that
 * picks out one top-level string member. Nesting is kept as one bit per
 * level (object or array), so depth is bounded by the bit count.
 */
#include <stdbool.h>
#include <string.h>

#include "json_scan.h"

_Static_assert(JSON_SCAN_MAX_DEPTH <= 64, "nesting kept in a uint64_t");

/* RFC 8259 section 2: insignificant whitespace. */
static size_t skip_ws(const uint8_t *p, size_t len, size_t i)
{
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Scans the string whose opening quote is at p[i] (section 7). On success
 * *end is the index of the closing quote.
 */
static int scan_string(const uint8_t *p, size_t len, size_t i, size_t *end)
{
	for (i++; i < len; i++) {
		uint8_t c = p[i];

		if (c == '"') {
			*end = i;
			return 0;
		}
		if (c < 0x20)
			return JSON_SCAN_MALFORMED; /* control characters must be escaped */
		if (c != '\\')
			continue;
		if (++i >= len)
			return JSON_SCAN_TRUNCATED;
		switch (p[i]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			break;
		case 'u':
			for (int k = 0; k < 4; k++) {
				if (++i >= len)
					return JSON_SCAN_TRUNCATED;
				if (hexval(p[i]) < 0)
					return JSON_SCAN_MALFORMED;
			}
			break;
		default:
			return JSON_SCAN_MALFORMED;
		}
	}
	return JSON_SCAN_TRUNCATED;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * Scans a number at p[i] (section 6): -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * *end is one past its last byte. What follows is judged by the caller.
 */
static int scan_number(const uint8_t *p, size_t len, size_t i, size_t *end)
{
	if (p[i] == '-')
		i++;
	if (i >= len)
		return JSON_SCAN_TRUNCATED;
	if (p[i] == '0') {
		i++;
	} else if (is_digit(p[i])) {
		while (i < len && is_digit(p[i]))
			i++;
	} else {
		return JSON_SCAN_MALFORMED;
	}
	if (i < len && p[i] == '.') {
		if (++i >= len)
			return JSON_SCAN_TRUNCATED;
		if (!is_digit(p[i]))
			return JSON_SCAN_MALFORMED;
		while (i < len && is_digit(p[i]))
			i++;
	}
	if (i < len && (p[i] == 'e' || p[i] == 'E')) {
		if (++i >= len)
			return JSON_SCAN_TRUNCATED;
		if (p[i] == '+' || p[i] == '-')
			if (++i >= len)
				return JSON_SCAN_TRUNCATED;
		if (!is_digit(p[i]))
			return JSON_SCAN_MALFORMED;
		while (i < len && is_digit(p[i]))
			i++;
	}
	*end = i;
	return 0;
}

/* true, false, null: a cut literal is truncated, a wrong one malformed. */
static int scan_literal(const uint8_t *p, size_t len, size_t i, size_t *end)
{
	static const char *const lits[] = { "true", "false", "null" };

	for (size_t k = 0; k < sizeof(lits) / sizeof(lits[0]); k++) {
		size_t n = strlen(lits[k]), avail = len - i;

		if (p[i] != (uint8_t)lits[k][0])
			continue;
		if (avail < n)
			return memcmp(p + i, lits[k], avail) == 0 ? JSON_SCAN_TRUNCATED
								  : JSON_SCAN_MALFORMED;
		if (memcmp(p + i, lits[k], n) != 0)
			return JSON_SCAN_MALFORMED;
		*end = i + n;
		return 0;
	}
	return JSON_SCAN_MALFORMED;
}

static size_t put_utf8(uint8_t out[4], uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | (cp >> 18));
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* Four hex digits at raw[i..i+4), or -1. */
static int32_t hex4(const uint8_t *raw, size_t rawlen, size_t i)
{
	int32_t v = 0;

	if (rawlen < 4 || i > rawlen - 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		int h = hexval(raw[i + k]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/*
 * Decodes the character at raw[*i] (an escape or one raw byte) into out;
 * returns its byte count, or JSON_SCAN_MALFORMED. Advances *i.
 */
static int decode_one(const uint8_t *raw, size_t rawlen, size_t *i, uint8_t out[4])
{
	int32_t hi, lo;
	size_t j = *i;

	if (raw[j] != '\\') {
		out[0] = raw[j];
		*i = j + 1;
		return 1;
	}
	if (++j >= rawlen)
		return JSON_SCAN_MALFORMED;
	*i = j + 1;
	switch (raw[j]) {
	case '"': case '\\': case '/':
		out[0] = raw[j];
		return 1;
	case 'b': out[0] = '\b'; return 1;
	case 'f': out[0] = '\f'; return 1;
	case 'n': out[0] = '\n'; return 1;
	case 'r': out[0] = '\r'; return 1;
	case 't': out[0] = '\t'; return 1;
	case 'u':
		break;
	default:
		return JSON_SCAN_MALFORMED;
	}
	hi = hex4(raw, rawlen, j + 1);
	if (hi < 0)
		return JSON_SCAN_MALFORMED;
	*i = j + 5;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return (int)put_utf8(out, 0xfffd); /* lone low surrogate */
	if (hi < 0xd800 || hi > 0xdbff)
		return (int)put_utf8(out, (uint32_t)hi);
	/* Section 7: a character outside the BMP is a surrogate pair. */
	if (*i + 1 < rawlen && raw[*i] == '\\' && raw[*i + 1] == 'u') {
		lo = hex4(raw, rawlen, *i + 2);
		if (lo >= 0xdc00 && lo <= 0xdfff) {
			*i += 6;
			return (int)put_utf8(out, 0x10000 + (((uint32_t)hi - 0xd800) << 10) +
						  ((uint32_t)lo - 0xdc00));
		}
	}
	return (int)put_utf8(out, 0xfffd);
}

/* Whether the raw member name raw[0..rawlen) decodes to key. */
static bool key_matches(const uint8_t *raw, size_t rawlen, const char *key, size_t klen)
{
	size_t i = 0, k = 0;
	uint8_t ch[4];

	while (i < rawlen) {
		int n = decode_one(raw, rawlen, &i, ch);

		if (n < 0 || (size_t)n > klen - k || memcmp(key + k, ch, (size_t)n) != 0)
			return false;
		k += (size_t)n;
	}
	return k == klen;
}

enum scan_state {
	ST_VALUE,       /* a value is expected */
	ST_FIRST_VALUE, /* after '[': a value or ']' */
	ST_FIRST_KEY,   /* after '{': a member name or '}' */
	ST_KEY,         /* after ',' in an object: a member name */
	ST_COLON,
	ST_AFTER,       /* after a value: ',' or the container's end */
};

int json_scan_top_string(const uint8_t *p, size_t len, const char *key,
			 const uint8_t **val, size_t *vlen)
{
	enum scan_state st = ST_VALUE;
	uint64_t is_obj = 0;  /* bit d-1: level d is an object */
	unsigned int depth = 0;
	size_t klen = key ? strlen(key) : 0;
	bool member = false;  /* the current top-level member is key */
	int found = JSON_SCAN_NO_KEY;
	const uint8_t *fv = NULL;
	size_t fl = 0, i, end;
	int err;

	if (val)
		*val = NULL;
	if (vlen)
		*vlen = 0;
	if (!p && len)
		return JSON_SCAN_MALFORMED;
	i = skip_ws(p, len, 0);
	if (i >= len)
		return JSON_SCAN_TRUNCATED;
	if (p[i] != '{')
		return p[i] == '[' || p[i] == '"' || p[i] == '-' || is_digit(p[i]) ||
		       p[i] == 't' || p[i] == 'f' || p[i] == 'n'
		       ? JSON_SCAN_NOT_OBJECT : JSON_SCAN_MALFORMED;

	for (;;) {
		uint8_t c;

		i = skip_ws(p, len, i);
		if (i >= len)
			return JSON_SCAN_TRUNCATED;
		c = p[i];
		switch (st) {
		case ST_FIRST_VALUE:
			if (c == ']')
				goto pop;
			st = ST_VALUE;
			/* fall through */
		case ST_VALUE:
			if (depth == 1 && member)
				found = JSON_SCAN_NOT_STRING; /* unless a string below */
			if (c == '{' || c == '[') {
				if (depth >= JSON_SCAN_MAX_DEPTH)
					return JSON_SCAN_TOO_DEEP;
				if (c == '{')
					is_obj |= 1ull << depth;
				else
					is_obj &= ~(1ull << depth);
				depth++;
				i++;
				st = c == '{' ? ST_FIRST_KEY : ST_FIRST_VALUE;
				continue;
			}
			if (c == '"') {
				err = scan_string(p, len, i, &end);
				if (err)
					return err;
				if (depth == 1 && member) {
					found = JSON_SCAN_OK;
					fv = p + i + 1;
					fl = end - i - 1;
				}
				i = end + 1;
			} else if (c == '-' || is_digit(c)) {
				err = scan_number(p, len, i, &end);
				if (err)
					return err;
				i = end;
			} else {
				err = scan_literal(p, len, i, &end);
				if (err)
					return err;
				i = end;
			}
			st = ST_AFTER;
			continue;
		case ST_FIRST_KEY:
			if (c == '}')
				goto pop;
			/* fall through */
		case ST_KEY:
			if (c != '"')
				return JSON_SCAN_MALFORMED;
			err = scan_string(p, len, i, &end);
			if (err)
				return err;
			if (depth == 1)
				member = key && key_matches(p + i + 1, end - i - 1, key, klen);
			i = end + 1;
			st = ST_COLON;
			continue;
		case ST_COLON:
			if (c != ':')
				return JSON_SCAN_MALFORMED;
			i++;
			st = ST_VALUE;
			continue;
		case ST_AFTER:
			if (c == ',') {
				i++;
				st = is_obj & (1ull << (depth - 1)) ? ST_KEY : ST_VALUE;
				continue;
			}
			if (c == (is_obj & (1ull << (depth - 1)) ? '}' : ']'))
				goto pop;
			return JSON_SCAN_MALFORMED;
		}
		return JSON_SCAN_MALFORMED; /* not reached */
pop:
		i++;
		depth--;
		st = ST_AFTER;
		if (depth > 0)
			continue;
		/* The top-level object ended: only whitespace may follow. */
		if (skip_ws(p, len, i) != len)
			return JSON_SCAN_MALFORMED;
		if (found == JSON_SCAN_OK) {
			if (val)
				*val = fv;
			if (vlen)
				*vlen = fl;
		}
		return found;
	}
}

int json_scan_unescape(const uint8_t *raw, size_t rawlen, char *out,
		       size_t outsize, size_t *outlen)
{
	size_t i = 0, o = 0;
	uint8_t ch[4];

	if (outlen)
		*outlen = 0;
	if (!out || outsize == 0)
		return JSON_SCAN_NO_SPACE;
	out[0] = '\0';
	while (i < rawlen) {
		int n = decode_one(raw, rawlen, &i, ch);

		if (n < 0)
			return n;
		if ((size_t)n >= outsize - o)
			return JSON_SCAN_NO_SPACE;
		memcpy(out + o, ch, (size_t)n);
		o += (size_t)n;
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return 0;
}

const char *json_scan_strerror(int err)
{
	switch (err) {
	case JSON_SCAN_OK: return "ok";
	case JSON_SCAN_NOT_OBJECT: return "not_object";
	case JSON_SCAN_NO_KEY: return "no_key";
	case JSON_SCAN_NOT_STRING: return "not_string";
	case JSON_SCAN_MALFORMED: return "malformed";
	case JSON_SCAN_TRUNCATED: return "truncated";
	case JSON_SCAN_TOO_DEEP: return "too_deep";
	case JSON_SCAN_NO_SPACE: return "no_space";
	default: return "unknown";
	}
}
