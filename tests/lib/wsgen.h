/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * wsgen.h - WebSocket frames as a peer puts them on the wire (RFC 6455
 * 5.2): the header with the shortest length encoding, the payload masked
 * with the key given (5.3; NULL: unmasked, as a server sends).
 *
 *	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
 *	uint8_t b[64];
 *	size_t n = wsgen_frame(b, true, WS_OP_TEXT, "hi", 2, key);
 */
#ifndef WST_TEST_WSGEN_H
#define WST_TEST_WSGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WSGEN_FIN 0x80
#define WSGEN_RSV1 0x40

/* The header: b0 is the first byte (FIN, RSV bits, opcode). Returns its
 * length (2 to 14 bytes). */
static inline size_t wsgen_header(uint8_t *out, uint8_t b0, uint64_t len, const uint8_t *key)
{
	uint8_t m = key ? 0x80 : 0;
	size_t n = 0;

	out[n++] = b0;
	if (len < 126) {
		out[n++] = m | (uint8_t)len;
	} else if (len <= 0xffff) {
		out[n++] = m | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = m | 127;
		for (int i = 0; i < 8; i++)
			out[n++] = (uint8_t)(len >> (56 - 8 * i));
	}
	if (key) {
		memcpy(out + n, key, 4);
		n += 4;
	}
	return n;
}

/* p[0..len) masked with key into out (copied as is when key is NULL). */
static inline void wsgen_mask(uint8_t *out, const void *p, size_t len, const uint8_t *key)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < len; i++)
		out[i] = s[i] ^ (key ? key[i & 3] : 0);
}

/* A whole frame; returns its length. */
static inline size_t wsgen_frame(uint8_t *out, bool fin, uint8_t op, const void *p, size_t len,
				 const uint8_t *key)
{
	size_t n = wsgen_header(out, (uint8_t)((fin ? WSGEN_FIN : 0) | op), len, key);

	wsgen_mask(out + n, p, len, key);
	return n + len;
}

#endif /* WST_TEST_WSGEN_H */
