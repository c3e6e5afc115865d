// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_ws_deflate.c - libFuzzer target for the permessage-deflate
 * inflater alone. Byte 0: bits 0-2 window bits - 8, bit 3 no context
 * takeover; then records of one length byte and that many bytes, each a
 * message, fed in two pieces.
 */
#include <stddef.h>
#include <stdint.h>

#include "protocol/ws_deflate.h"

static void fz_sink(void *ctx, const uint8_t *d, size_t n)
{
	uint64_t *sum = ctx;
	size_t i;

	for (i = 0; i < n; i++)
		*sum += d[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_deflate z;
	uint64_t sum = 0;
	size_t off = 1;

	if (size < 1)
		return 0;
	if (ws_deflate_init(&z, 8 + (data[0] & 7), data[0] & 8, 1 << 16))
		return 0;
	while (off < size) {
		size_t n = data[off++], half;

		if (n > size - off)
			n = size - off;
		half = n / 2;
		if (ws_deflate_begin(&z) == 0) {
			ws_deflate_inflate(&z, data + off, half, fz_sink, &sum);
			ws_deflate_inflate(&z, data + off + half, n - half,
					   fz_sink, &sum);
			ws_deflate_end(&z, fz_sink, &sum);
		}
		off += n;
	}
	ws_deflate_free(&z);
	return (int)(sum & 0);
}
