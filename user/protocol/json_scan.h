/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * json_scan.h - find one top-level string member of a JSON object (RFC 8259)
 * without building a tree: for counting chat messages by their "type".
 *
 * Pure and bounded: no allocation, no recursion, nesting limited to
 * JSON_SCAN_MAX_DEPTH, never reads outside p[0..len).
 */
#ifndef WST_JSON_SCAN_H
#define WST_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#define JSON_SCAN_MAX_DEPTH 64

enum json_scan_err {
	JSON_SCAN_OK = 0,
	JSON_SCAN_NOT_OBJECT = -1, /* valid start, but not an object ([..], "..", 1) */
	JSON_SCAN_NO_KEY = -2,     /* a valid object without that member */
	JSON_SCAN_NOT_STRING = -3, /* the member's value is not a string */
	JSON_SCAN_MALFORMED = -4,  /* not JSON (or bytes after the value) */
	JSON_SCAN_TRUNCATED = -5,  /* a valid prefix that ends too early */
	JSON_SCAN_TOO_DEEP = -6,   /* nesting beyond JSON_SCAN_MAX_DEPTH */
	JSON_SCAN_NO_SPACE = -7,   /* json_scan_unescape: output too small */
};

/*
 * Checks that p[0..len) is exactly one JSON value (surrounding whitespace
 * allowed) and, if it is an object, finds its top-level member named key
 * (compared after decoding the member name's escapes, so "ty\u0070e"
 * matches "type"). Members of nested objects never match. With duplicate
 * names the last one wins, as in most decoders (PHP's json_decode among
 * them). On success *val and *vlen give the string value's raw bytes
 * between the quotes, escapes left as they are (see json_scan_unescape()).
 * The whole input is validated, so a valid object followed by garbage is
 * JSON_SCAN_MALFORMED, a cut one JSON_SCAN_TRUNCATED. Strings are checked
 * for JSON escapes and control characters, not for UTF-8 validity.
 * Returns 0 or a negative enum json_scan_err.
 */
int json_scan_top_string(const uint8_t *p, size_t len, const char *key,
			 const uint8_t **val, size_t *vlen);

/*
 * Decodes the raw bytes of a JSON string (as returned above) into out,
 * NUL-terminated: \" \\ \/ \b \f \n \r \t and \uXXXX (surrogate pairs
 * joined, to UTF-8; a lone surrogate becomes U+FFFD). *outlen excludes the
 * NUL. Returns 0, JSON_SCAN_MALFORMED for a bad escape, or
 * JSON_SCAN_NO_SPACE when out (outsize bytes, NUL included) is too small.
 */
int json_scan_unescape(const uint8_t *raw, size_t rawlen, char *out,
		       size_t outsize, size_t *outlen);

/* "ok", "not_object", "no_key", "not_string", "malformed", "truncated", ... */
const char *json_scan_strerror(int err);

#endif /* WST_JSON_SCAN_H */
