/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * proxy_hdr.h - who the client really is behind a proxy: the PROXY protocol
 * header (HAProxy's proxy-protocol.txt, versions 1 and 2) at the start of a
 * stream, the Forwarded header (RFC 7239), X-Forwarded-For and X-Real-IP.
 *
 * Pure decoders: bytes in, an address string out, no state between calls.
 */
#ifndef WST_PROXY_HDR_H
#define WST_PROXY_HDR_H

#include <stddef.h>
#include <stdint.h>

#include "http_upgrade.h"

/* An address as text: IPv6 without brackets, or an obfuscated RFC 7239 name. */
#define PROXY_ADDR_MAX 64

enum proxy_result {
	PROXY_NONE = 0,        /* not a PROXY header: the stream starts otherwise */
	PROXY_INCOMPLETE = -1, /* could be one: need more bytes */
	PROXY_BAD = -2,        /* starts as one, but is malformed */
};

struct proxy_info {
	int version;                 /* 1 or 2 */
	int family;                  /* 4, 6, or 0 (UNKNOWN / LOCAL / unix) */
	char src[PROXY_ADDR_MAX];    /* "" when family is 0 */
	char dst[PROXY_ADDR_MAX];
	uint16_t sport, dport;
};

/* v1 lines are at most 107 bytes; v2 headers 16 + 65535. */
#define PROXY_V1_MAX 107
#define PROXY_V2_MAX (16 + 65535)

/*
 * Decodes the PROXY header at the start of buf: > 0 its length (the stream
 * proper starts after it), or an enum proxy_result. A longer prefix of the
 * same bytes never changes a non-incomplete answer.
 */
int proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *out);

/* Which request header gave forwarded_for. */
enum fwd_source {
	FWD_NONE = 0,
	FWD_FORWARDED,        /* Forwarded: for= */
	FWD_X_FORWARDED_FOR,
	FWD_X_REAL_IP,
};

/*
 * The original client as the request's proxy headers say: the first
 * element of Forwarded (for=), else of X-Forwarded-For, else X-Real-IP (the
 * first line of each). out gets the address without port or brackets, or an
 * RFC 7239 obfuscated identifier / "unknown" as given. Returns the source,
 * FWD_NONE when no header holds a usable value.
 */
enum fwd_source fwd_from_request(const struct http_request *req, char out[PROXY_ADDR_MAX]);

/* One header's value alone (for tests and fuzzing): 0, or -1 when unusable. */
int fwd_parse_forwarded(struct http_str v, char out[PROXY_ADDR_MAX]);
int fwd_parse_x_forwarded_for(struct http_str v, char out[PROXY_ADDR_MAX]);

#endif /* WST_PROXY_HDR_H */
