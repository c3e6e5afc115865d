/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ws_frame_codec.h - the bytes of RFC 6455 frames: opcodes, the frame
 * header (5.2), unmasking (5.3) and the close payload (5.5.1, 7.4). Pure
 * functions of the bytes given; the decoder of one direction of a
 * connection is ws_frame.h.
 */
#ifndef WST_WS_FRAME_CODEC_H
#define WST_WS_FRAME_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/kinds.h"

/*
 * Opcodes, RFC 6455 5.2 and 11.8: X(NAME, value, "label", "documentation").
 * The label is the JSON `opcode`, the text output's word and the `opcode`
 * label of wstrace_ws_frames_total (then `reserved` for the others).
 */
#define WS_OPCODES(X) \
	X(CONT, 0x0, "continuation", "continues a fragmented message") \
	X(TEXT, 0x1, "text", "starts a text message") \
	X(BINARY, 0x2, "binary", "starts a binary message") \
	X(CLOSE, 0x8, "close", "the closing handshake") \
	X(PING, 0x9, "ping", "a ping") \
	X(PONG, 0xa, "pong", "a pong")

enum ws_opcode {
#define X(n, v, l, d) WS_OP_##n = v,
	WS_OPCODES(X)
#undef X
};

/* An opcode's row in WS_OPCODES; WS_OPI_RESERVED for the others. */
enum ws_opcode_index {
#define X(n, v, l, d) WS_OPI_##n,
	WS_OPCODES(X)
#undef X
	WS_OPI_RESERVED,
};

#define WS_OPCODE_LABEL(n, v, l, d) l,

static inline bool ws_opcode_is_control(uint8_t op)
{
	return op & 0x8;
}

static inline bool ws_opcode_is_reserved(uint8_t op)
{
	return (op >= 0x3 && op <= 0x7) || op >= 0xb;
}

/* "continuation", "text", ...; NULL for a reserved opcode. */
const char *ws_opcode_name(uint8_t op);
enum ws_opcode_index ws_opcode_index(uint8_t op);

/*
 * Protocol violations and limits (enum ws_violation, core/kinds.h),
 * reported through on_violation callbacks with a detail value (stated per
 * kind in README.md). Named errors returned by parsers in this module are
 * the negated values.
 */

struct ws_frame_header {
	bool fin, rsv1, rsv2, rsv3, masked;
	bool non_minimal_length;  /* length encoded in more bytes than needed */
	uint8_t opcode;
	uint8_t header_len;       /* 2..14 */
	uint8_t mask[4];          /* valid if masked */
	uint64_t payload_len;
};

/* Longest header: 2 + 8 (64-bit length) + 4 (masking key). */
#define WS_FRAME_HEADER_MAX 14

/*
 * Parses a frame header at buf (RFC 6455 5.2). Returns the header size
 * (2..14), 0 if more bytes are needed, or -WS_VIOL_LENGTH_TOP_BIT when a
 * 64-bit length has its most significant bit set (the frame cannot be
 * delimited). A non-minimal length is accepted and flagged in h.
 * Reads at most WS_FRAME_HEADER_MAX bytes and never beyond len.
 */
int ws_frame_header_parse(const uint8_t *buf, size_t len,
			  struct ws_frame_header *h);

/*
 * Copies n payload bytes from src to dst unmasked with mask (5.3); pos is
 * the offset of src[0] in the payload. The source is never written.
 * Returns true if every byte written is ASCII: a text payload that is needs
 * no UTF-8 check, and this pass already read every byte.
 */
static inline bool ws_frame_unmask(uint8_t *dst, const uint8_t *src, size_t n,
				   const uint8_t mask[4], uint64_t pos)
{
	unsigned int sh = (unsigned int)(pos & 3) * 8;
	uint32_t m32;
	uint64_t m64, w, w2, any = 0;
	size_t i = 0;

	/*
	 * Sixteen, then eight bytes at a time: the key repeats every 4, so
	 * the key word rotated to pos's phase fits every word (in memory
	 * order, which is the low byte first on a little-endian machine).
	 */
	memcpy(&m32, mask, sizeof(m32));
	if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && sh)
		m32 = m32 >> sh | m32 << (32 - sh);
	else if (sh)
		m32 = m32 << sh | m32 >> (32 - sh);
	m64 = (uint64_t)m32 << 32 | m32;
	for (; i + 16 <= n; i += 16) {
		memcpy(&w, src + i, sizeof(w));
		memcpy(&w2, src + i + 8, sizeof(w2));
		w ^= m64;
		w2 ^= m64;
		any |= w | w2;
		memcpy(dst + i, &w, sizeof(w));
		memcpy(dst + i + 8, &w2, sizeof(w2));
	}
	if (i + 8 <= n) {
		memcpy(&w, src + i, sizeof(w));
		w ^= m64;
		any |= w;
		memcpy(dst + i, &w, sizeof(w));
		i += 8;
	}
	for (; i < n; i++) {
		dst[i] = src[i] ^ mask[(pos + i) & 3];
		any |= dst[i];
	}
	return !(any & 0x8080808080808080ull);
}

/* Close codes, RFC 6455 7.4.1. */
#define WS_CLOSE_NO_STATUS 1005

/*
 * Parses a close frame payload (RFC 6455 5.5.1). Returns 0 when valid:
 * *code is the status code, or WS_CLOSE_NO_STATUS for an empty payload.
 * Otherwise a negated violation: -WS_VIOL_CLOSE_PAYLOAD_1_BYTE,
 * -WS_VIOL_INVALID_CLOSE_CODE (*code set), -WS_VIOL_CLOSE_REASON_UTF8
 * (*code and the reason set). reason points into p (not NUL-terminated).
 */
int ws_close_parse(const uint8_t *p, size_t len, uint16_t *code,
		   const uint8_t **reason, size_t *reason_len);

/* RFC 6455 7.4: may this code appear in a close frame? */
bool ws_close_code_valid(uint16_t code);

#endif /* WST_WS_FRAME_CODEC_H */
