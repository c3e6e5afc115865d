// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ws_accept.c - the opening handshake's accept value (RFC 6455 section 4). */
#include <string.h>

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include "ws_accept.h"

/* RFC 6455 section 1.3. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

_Static_assert(BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) == WS_ACCEPT_LEN, "accept value length");

void ws_accept_compute(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1])
{
	uint8_t md[SHA1_DIGEST_SIZE];
	struct sha1_ctx ctx;

	/* Hashing in two updates avoids copying a key of any length. */
	sha1_init(&ctx);
	sha1_update(&ctx, key_len, (const uint8_t *)key);
	sha1_update(&ctx, sizeof(ws_guid) - 1, (const uint8_t *)ws_guid);
	sha1_digest(&ctx, sizeof(md), md);
	base64_encode_raw(out, sizeof(md), md);
	out[WS_ACCEPT_LEN] = '\0';
}

static struct http_str trim_ows(struct http_str s)
{
	if (!s.p)
		return s;
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

bool ws_accept_matches(struct http_str key, struct http_str accept)
{
	char want[WS_ACCEPT_LEN + 1];

	key = trim_ows(key);
	accept = trim_ows(accept);
	if (!key.p || !accept.p || accept.len != WS_ACCEPT_LEN)
		return false;
	ws_accept_compute(key.p, key.len, want);
	return !memcmp(want, accept.p, WS_ACCEPT_LEN);
}

static int check_result(int code, const char *text, const char **why)
{
	if (why)
		*why = text;
	return code;
}

int ws_accept_check_response(const struct http_response *resp,
			     struct http_str key, const char **why)
{
	if (resp->status != 101)
		return check_result(WS_ACC_NOT_101, "upgrade refused", why);
	if (!http_token_list_has(resp->upgrade, "websocket"))
		return check_result(WS_ACC_UPGRADE,
				    "101 without Upgrade: websocket", why);
	if (!http_token_list_has(resp->connection, "upgrade"))
		return check_result(WS_ACC_CONNECTION,
				    "101 without Connection: upgrade", why);
	if (!resp->ws_accept.p)
		return check_result(WS_ACC_ACCEPT, "Sec-WebSocket-Accept missing", why);
	if (resp->dup_fields & HTTP_F_WS_ACCEPT)
		return check_result(WS_ACC_ACCEPT, "Sec-WebSocket-Accept repeated", why);
	if (!ws_accept_matches(key, resp->ws_accept))
		return check_result(WS_ACC_ACCEPT,
				    "Sec-WebSocket-Accept does not match the key", why);
	if (resp->dup_fields & (HTTP_F_WS_PROTOCOL | HTTP_F_WS_EXTENSIONS))
		return check_result(WS_ACC_DUPLICATE,
				    "Sec-WebSocket-Protocol or -Extensions repeated in 101", why);
	return check_result(WS_ACC_OK, "valid 101 response", why);
}

enum ws_violation ws_accept_check_violation(int check)
{
	switch (check) {
	case WS_ACC_UPGRADE: return WS_VIOL_UPGRADE;
	case WS_ACC_CONNECTION: return WS_VIOL_CONNECTION;
	case WS_ACC_ACCEPT: return WS_VIOL_ACCEPT;
	case WS_ACC_DUPLICATE: return WS_VIOL_DUPLICATE;
	default: return WS_VIOL_NONE; /* ok, or not a 101 */
	}
}
