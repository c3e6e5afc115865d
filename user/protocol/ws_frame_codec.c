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
	switch (op) {
	case WS_OP_CONT: return "cont";
	case WS_OP_TEXT: return "text";
	case WS_OP_BINARY: return "binary";
	case WS_OP_CLOSE: return "close";
	case WS_OP_PING: return "ping";
	case WS_OP_PONG: return "pong";
	}
	return "reserved";
}

const char *ws_violation_name(enum ws_violation v)
{
	static const char *const names[WS_VIOL_MAX] = {
		[WS_VIOL_NONE] = "none",
		[WS_VIOL_UNMASKED_CLIENT_FRAME] = "unmasked_client_frame",
		[WS_VIOL_MASKED_SERVER_FRAME] = "masked_server_frame",
		[WS_VIOL_CONTROL_TOO_LONG] = "control_too_long",
		[WS_VIOL_CONTROL_FRAGMENTED] = "control_fragmented",
		[WS_VIOL_RESERVED_OPCODE] = "reserved_opcode",
		[WS_VIOL_RSV_WITHOUT_EXTENSION] = "rsv_without_extension",
		[WS_VIOL_RSV1_ON_CONTROL] = "rsv1_on_control",
		[WS_VIOL_RSV1_ON_CONTINUATION] = "rsv1_on_continuation",
		[WS_VIOL_NON_MINIMAL_LENGTH] = "non_minimal_length",
		[WS_VIOL_LENGTH_TOP_BIT] = "length_top_bit",
		[WS_VIOL_INVALID_UTF8] = "invalid_utf8",
		[WS_VIOL_INVALID_CLOSE_CODE] = "invalid_close_code",
		[WS_VIOL_CLOSE_PAYLOAD_1_BYTE] = "close_payload_1_byte",
		[WS_VIOL_CLOSE_REASON_UTF8] = "close_reason_invalid_utf8",
		[WS_VIOL_CONTINUATION_WITHOUT_START] = "continuation_without_start",
		[WS_VIOL_DATA_FRAME_IN_FRAGMENTED_MESSAGE] =
			"data_frame_in_fragmented_message",
		[WS_VIOL_DATA_AFTER_CLOSE] = "data_after_close",
		[WS_VIOL_MESSAGE_TOO_BIG] = "message_too_big",
		[WS_VIOL_INFLATE_ERROR] = "inflate_error",
		[WS_VIOL_INFLATE_TOO_BIG] = "inflate_too_big",
	};

	if ((unsigned)v >= WS_VIOL_MAX || !names[v])
		return "unknown";
	return names[v];
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
