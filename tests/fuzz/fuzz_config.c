// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_config.c - libFuzzer target for the configuration file parser,
 * with every pair applied to the options as wstrace does it.
 *
 * fuzz-flags: -max_len=8192 -dict=tests/fuzz/config.dict
 *
 * Layout: the file's text, as bytes (NULs and all), copied to an
 * exact-size heap buffer so ASan sees any over-read.
 *
 * Invariants checked (abort on violation):
 * - the result is 0 or -EINVAL; an error names the file and a line;
 * - keys handed over are non-empty, with no blank, '=' or '#' at either
 *   end, and values have no LF or edge blanks (a CR inside a line, other
 *   than before its LF, is data);
 * - the options stay within their bounds (ports, interfaces);
 * - the text with a comment line put first gives the same answer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/config.h"
#include "service/options.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static int apply(void *ctx, const char *key, const char *value, unsigned int line)
{
	char err[320];
	size_t kl = strlen(key), vl = strlen(value);
	int rc;

	CHECK(line >= 1);
	CHECK(kl > 0 && key[0] != ' ' && key[0] != '\t' && key[kl - 1] != ' ' &&
	      key[kl - 1] != '\t' && !strchr(key, '=') && key[0] != '#');
	CHECK(!strchr(value, '\n'));
	CHECK(vl == 0 || (value[0] != ' ' && value[0] != '\t' &&
			  value[vl - 1] != ' ' && value[vl - 1] != '\t'));
	/* What main.c's config handler does. */
	if (!strcmp(key, "config"))
		return -ENOENT;
	err[0] = '\0';
	rc = options_apply(ctx, key, value, err, sizeof(err));
	if (rc && rc != -ENOENT)
		CHECK(err[0]);
	return rc == -ENOENT ? -ENOENT : rc ? -EINVAL : 0;
}

static int parse(const char *text, size_t len, bool daemon, struct options *o,
		 char *err, size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	CHECK(copy);
	memcpy(copy, text, len);
	options_defaults(o, daemon);
	err[0] = '\0';
	rc = config_parse_buffer("fuzz.conf", copy, len, apply, o, err, errlen);
	free(copy);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct options o, o2;
	static char text[8192 + 16];
	char err[512], err2[512];
	int rc, rc2;

	if (size > 8192)
		return 0;
	rc = parse((const char *)data, size, size & 1, &o, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL || rc == -EFBIG);
	if (rc)
		CHECK(!strncmp(err, "fuzz.conf", 9));
	CHECK(o.ports.n >= 0 && o.ports.n <= PORTS_MAX);
	CHECK(o.n_ifaces >= 0 && o.n_ifaces <= OPTIONS_MAX_IFACES);

	/* A comment line first changes nothing but the line numbers. */
	if (size >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		return 0; /* a BOM is only a BOM at the very start */
	memcpy(text, "# fuzz\n", 7);
	memcpy(text + 7, data, size);
	rc2 = parse(text, size + 7, size & 1, &o2, err2, sizeof(err2));
	CHECK(rc == rc2);
	if (!rc)
		CHECK(!memcmp(&o, &o2, sizeof(o)));
	return 0;
}
