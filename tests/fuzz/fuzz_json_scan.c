// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_json_scan.c - libFuzzer target for json_scan_top_string() and
 * json_scan_unescape().
 *
 * fuzz-flags: -max_len=4096
 *
 * Layout: byte 0 = key length K (mod 16), then K key bytes (cut at a NUL),
 * then the JSON text. The text is copied to an exact-size heap buffer so
 * ASan sees any over-read.
 *
 * Invariants checked (abort on violation):
 * - the result is one of the documented codes;
 * - a found value lies inside the input, between two quotes;
 * - its unescaping succeeds (it was validated) given enough room, and
 *   never yields more bytes than the raw form;
 * - whitespace appended never changes the answer for a whole value;
 * - every proper prefix of an accepted object is reported truncated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/json_scan.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static int scan_copy(const uint8_t *data, size_t len, const char *key,
		     const uint8_t **val, size_t *vlen, uint8_t **owned)
{
	uint8_t *p = malloc(len ? len : 1);

	CHECK(p);
	if (len)
		memcpy(p, data, len);
	*owned = p;
	return json_scan_top_string(p, len, key, val, vlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char key[17], out[4096 + 1];
	const uint8_t *val, *json;
	size_t k, len, vlen, olen;
	uint8_t *p, *q;
	int r, r2;

	if (size < 1)
		return 0;
	k = data[0] % 16;
	if (k > size - 1)
		k = size - 1;
	memcpy(key, data + 1, k);
	key[k] = '\0';
	json = data + 1 + k;
	len = size - 1 - k;

	r = scan_copy(json, len, key, &val, &vlen, &p);
	CHECK(r <= 0 && r >= JSON_SCAN_TOO_DEEP);
	if (r == JSON_SCAN_OK) {
		CHECK(val > p && vlen < len && (size_t)(val - p) + vlen < len);
		CHECK(val[-1] == '"' && val[vlen] == '"');
		r2 = json_scan_unescape(val, vlen, out, sizeof(out), &olen);
		CHECK(r2 == 0 && olen <= vlen && out[olen] == '\0');
	} else {
		CHECK(val == NULL && vlen == 0);
	}

	/* Trailing whitespace is insignificant after a whole value (a cut
	 * one may become malformed: a newline inside a string). */
	q = malloc(len + 2);
	CHECK(q);
	if (len)
		memcpy(q, json, len);
	q[len] = ' ';
	q[len + 1] = '\n';
	r2 = json_scan_top_string(q, len + 2, key, NULL, NULL);
	CHECK(r2 == r || (r == JSON_SCAN_TRUNCATED && r2 == JSON_SCAN_MALFORMED));
	free(q);

	/* Prefixes of an accepted object: only checked for short inputs. */
	if ((r == JSON_SCAN_OK || r == JSON_SCAN_NO_KEY || r == JSON_SCAN_NOT_STRING) &&
	    len <= 256) {
		size_t end = len;

		while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t' ||
				   p[end - 1] == '\n' || p[end - 1] == '\r'))
			end--;
		for (size_t cut = 0; cut < end; cut++) {
			uint8_t *c = malloc(cut ? cut : 1);

			CHECK(c);
			if (cut)
				memcpy(c, p, cut);
			CHECK(json_scan_top_string(c, cut, key, NULL, NULL) == JSON_SCAN_TRUNCATED);
			free(c);
		}
	}
	free(p);
	return 0;
}
