// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tls_record.c - see tls_record.h. */
#include "tls_record.h"

#define TLS_MAX_CIPHERTEXT (16384 + 2048)

bool tls_record_start(const uint8_t *p, size_t len)
{
	if (len < 1 || p[0] < 20 || p[0] > 23)
		return false;
	if (len >= 2 && p[1] != 3)
		return false;
	if (len >= 3 && p[2] > 4)
		return false;
	if (len >= 5 && ((unsigned int)p[3] << 8 | p[4]) > TLS_MAX_CIPHERTEXT)
		return false;
	return true;
}
