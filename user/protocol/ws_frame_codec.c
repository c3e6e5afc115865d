// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_frame_codec.c - the RFC 6455 frame header (5.2) and close payload
 * (5.5.1, 7.4) codecs: pure functions of the bytes given.
 */
#include <string.h>

#include "utf8.h"
#include "ws_frame_codec.h"

const char *ws_opcode_name(uint8_t op)
{
	static const char *const names[] = { WS_OPCODES(WS_OPCODE_LABEL) };
	enum ws_opcode_index i = ws_opcode_index(op);

	return i == WS_OPI_RESERVED ? NULL : names[i];
}

enum ws_opcode_index ws_opcode_index(uint8_t op)
{
	switch (op) {
#define X(n, v, l, d) case v: return WS_OPI_##n;
	WS_OPCODES(X)
#undef X
	}
	return WS_OPI_RESERVED;
}

int ws_frame_header_parse(const uint8_t *buf, size_t len,
			  struct ws_frame_header *h)
{
	size_t need = 2;
	uint64_t plen;
	uint8_t len7;
	int i;

	if (len < 2)
		return 0;
	len7 = buf[1] & 0x7f;
	if (len7 == 126)
		need += 2;
	else if (len7 == 127)
		need += 8;
	if (buf[1] & 0x80)
		need += 4;
	if (len < need)
		return 0;

	h->fin = buf[0] & 0x80;
	h->rsv1 = buf[0] & 0x40;
	h->rsv2 = buf[0] & 0x20;
	h->rsv3 = buf[0] & 0x10;
	h->opcode = buf[0] & 0x0f;
	h->masked = buf[1] & 0x80;
	h->non_minimal_length = false;
	if (len7 < 126) {
		plen = len7;
		i = 2;
	} else if (len7 == 126) {
		plen = (uint64_t)buf[2] << 8 | buf[3];
		h->non_minimal_length = plen < 126;
		i = 4;
	} else {
		plen = 0;
		for (i = 2; i < 10; i++)
			plen = plen << 8 | buf[i];
		/* 5.2: the most significant bit MUST be 0. */
		if (plen >> 63)
			return -WS_VIOL_LENGTH_TOP_BIT;
		h->non_minimal_length = plen <= 0xffff;
	}
	h->payload_len = plen;
	if (h->masked)
		memcpy(h->mask, buf + i, 4);
	else
		memset(h->mask, 0, 4);
	h->header_len = need;
	return (int)need;
}

bool ws_close_code_valid(uint16_t code)
{
	/* 7.4.1: 1004-1006 and 1015 are reserved and never sent; 7.4.2:
	 * below 1000 unused, 1016-2999 for future RFCs, 3000-4999 for
	 * libraries and applications. 1012-1014 are IANA registered. */
	if (code >= 1000 && code <= 1003)
		return true;
	if (code >= 1007 && code <= 1014)
		return true;
	return code >= 3000 && code <= 4999;
}

int ws_close_parse(const uint8_t *p, size_t len, uint16_t *code,
		   const uint8_t **reason, size_t *reason_len)
{
	*reason = NULL;
	*reason_len = 0;
	if (len == 0) {
		/* 7.1.5: no status code is "1005 received". */
		*code = WS_CLOSE_NO_STATUS;
		return 0;
	}
	*code = 0;
	if (len == 1)
		return -WS_VIOL_CLOSE_PAYLOAD_1_BYTE;
	*code = (uint16_t)(p[0] << 8 | p[1]);
	*reason = p + 2;
	*reason_len = len - 2;
	if (!ws_close_code_valid(*code))
		return -WS_VIOL_INVALID_CLOSE_CODE;
	if (!utf8_valid(p + 2, len - 2))
		return -WS_VIOL_CLOSE_REASON_UTF8;
	return 0;
}
