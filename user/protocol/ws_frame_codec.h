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

/* Opcodes, RFC 6455 5.2 and 11.8. */
enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

static inline bool ws_opcode_is_control(uint8_t op)
{
	return op & 0x8;
}

static inline bool ws_opcode_is_reserved(uint8_t op)
{
	return (op >= 0x3 && op <= 0x7) || op >= 0xb;
}

/* "cont", "text", "binary", "close", "ping", "pong", "reserved". */
const char *ws_opcode_name(uint8_t op);

/*
 * Protocol violations and limits, reported through on_violation callbacks
 * with a detail value (stated per kind). Named errors returned by parsers
 * in this module are the negated values; WS_VIOL_NONE is 0.
 */
enum ws_violation {
	WS_VIOL_NONE = 0,
	WS_VIOL_UNMASKED_CLIENT_FRAME,  /* 5.1; detail: opcode */
	WS_VIOL_MASKED_SERVER_FRAME,    /* 5.1; detail: opcode */
	WS_VIOL_CONTROL_TOO_LONG,       /* 5.5; detail: payload length */
	WS_VIOL_CONTROL_FRAGMENTED,     /* 5.5; detail: opcode */
	WS_VIOL_RESERVED_OPCODE,        /* 5.2; detail: opcode */
	WS_VIOL_RSV_WITHOUT_EXTENSION,  /* 5.2; detail: the RSV bits (0x70 mask) */
	WS_VIOL_RSV1_ON_CONTROL,        /* RFC 7692 6.1; detail: opcode */
	WS_VIOL_RSV1_ON_CONTINUATION,   /* RFC 7692 6.1; detail: 0 */
	WS_VIOL_NON_MINIMAL_LENGTH,     /* 5.2; detail: payload length */
	WS_VIOL_LENGTH_TOP_BIT,         /* 5.2; stream lost; detail: 0 */
	WS_VIOL_INVALID_UTF8,           /* 8.1; detail: offset in the message */
	WS_VIOL_INVALID_CLOSE_CODE,     /* 7.4; detail: the code */
	WS_VIOL_CLOSE_PAYLOAD_1_BYTE,   /* 5.5.1; detail: 1 */
	WS_VIOL_CLOSE_REASON_UTF8,      /* 5.5.1; detail: offset in the reason */
	WS_VIOL_CONTINUATION_WITHOUT_START, /* 5.4; detail: 0 */
	WS_VIOL_DATA_FRAME_IN_FRAGMENTED_MESSAGE, /* 5.4; detail: opcode */
	WS_VIOL_DATA_AFTER_CLOSE,       /* 5.5.1; detail: opcode */
	WS_VIOL_MESSAGE_TOO_BIG,        /* limit; detail: the limit */
	WS_VIOL_INFLATE_ERROR,          /* RFC 7692 bad DEFLATE data; detail: 0 */
	WS_VIOL_INFLATE_TOO_BIG,        /* limit; detail: the limit */
	WS_VIOL_MAX,
};

/* "unmasked_client_frame", ...; "unknown" out of range. */
const char *ws_violation_name(enum ws_violation v);

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
 */
static inline void ws_frame_unmask(uint8_t *dst, const uint8_t *src, size_t n,
				   const uint8_t mask[4], uint64_t pos)
{
	uint8_t m[8];
	uint64_t m64, w;
	size_t i = 0;

	/* Eight bytes at a time: the key repeats every 4, so its phase holds. */
	for (int k = 0; k < 8; k++)
		m[k] = mask[(pos + k) & 3];
	memcpy(&m64, m, sizeof(m64));
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, src + i, sizeof(w));
		w ^= m64;
		memcpy(dst + i, &w, sizeof(w));
	}
	for (; i < n; i++)
		dst[i] = src[i] ^ mask[(pos + i) & 3];
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
