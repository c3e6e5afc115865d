/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ws_accept.h - Sec-WebSocket-Accept (RFC 6455 section 4.2.2 item 5.4)
 * and the checks of a 101 response (section 4.1, client side).
 */
#ifndef WST_WS_ACCEPT_H
#define WST_WS_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

#include "http_upgrade.h"

#define WS_ACCEPT_LEN 28 /* base64 of a 20-byte SHA-1 digest */

/*
 * out = base64(SHA-1(key || "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")),
 * NUL-terminated. The key is used as given (the caller trims it).
 */
void ws_accept_compute(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1]);

/* Whether accept (OWS-trimmed) is the answer to key (OWS-trimmed). */
bool ws_accept_matches(struct http_str key, struct http_str accept);

enum ws_accept_check {
	WS_ACC_OK = 0,
	WS_ACC_NOT_101 = -1,      /* a refused upgrade, not a violation */
	WS_ACC_UPGRADE = -2,      /* Upgrade: websocket missing (4.1 item 2) */
	WS_ACC_CONNECTION = -3,   /* Connection: upgrade missing (4.1 item 3) */
	WS_ACC_ACCEPT = -4,       /* accept missing, repeated or wrong (4.1 item 4) */
	WS_ACC_DUPLICATE = -5,    /* Sec-WebSocket-Protocol/-Extensions repeated (11.3) */
};

/*
 * Checks a response to an upgrade request whose Sec-WebSocket-Key was key.
 * Returns WS_ACC_OK, WS_ACC_NOT_101 for any other status (the handshake
 * failed, not a protocol violation), or the first violation of a 101.
 * *why (if why is not NULL) gets a sentence.
 */
int ws_accept_check_response(const struct http_response *resp,
			     struct http_str key, const char **why);
/*
 * The violation a failed check is counted as: WS_VIOL_NONE for WS_ACC_OK
 * and WS_ACC_NOT_101 (a refused upgrade, reported as ws_upgrade_failed).
 */
enum ws_violation ws_accept_check_violation(int check);

#endif /* WST_WS_ACCEPT_H */
