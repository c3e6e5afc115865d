/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http_redact.h - the redaction policy: which values of the opening
 * handshake are credentials or personal data that outputs hide unless
 * asked not to (--show-secrets), and copies with them replaced by
 * "<redacted>". Pure, like the parser whose strings it judges.
 */
#ifndef WST_HTTP_REDACT_H
#define WST_HTTP_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "http_upgrade.h"

/*
 * Whether a header's value is a credential or personal data that outputs
 * must redact unless asked not to: Cookie, Set-Cookie, Authorization,
 * Proxy-Authorization, and any name containing "auth", "token", "secret",
 * "passw", "session", "api-key"/"apikey"/"api_key", "csrf" or "xsrf"
 * (X-Api-Key, X-Auth-Token, ...). Sec-WebSocket-Key is a public nonce
 * and is not secret.
 */
bool http_header_is_secret(struct http_str name);

/*
 * Copies path to out with the values of secret-looking query parameters
 * (names as http_header_is_secret judges them, and key, sig, signature,
 * jwt, pwd, pass, code) replaced by "<redacted>": WebSocket clients often
 * authenticate with ?token=... Returns the length written; out must hold
 * HTTP_REDACTED_PATH_MAX(path.len) bytes (no NUL is written).
 */
#define HTTP_REDACTED_PATH_MAX(len) ((len) * 4 + 16)
size_t http_path_redact(struct http_str path, char *out);

/*
 * Sec-WebSocket-Protocol values: some applications authenticate with them
 * (Kubernetes' base64url.bearer.authorization.k8s.io.<token>, or
 * "access_token, <token>"). An element of the comma list is secret when it
 * holds a word http_header_is_secret() looks for, or bearer, jwt,
 * credential; when it starts with "eyJ" (a JSON web token); when it is 32
 * characters or more mixing letters and digits; or when it follows a bare
 * keyword of that kind (only letters, '-' and '_': "access_token").
 * Plain subprotocol names (chat, graphql-ws, v12.stomp, wamp.2.json,
 * base64.binary.k8s.io) are none of these and stay visible.
 * http_protocol_redact() copies list to out with each secret element
 * replaced by "<redacted>", blanks and commas as they are, and returns the
 * length written; out must hold HTTP_REDACTED_PROTOCOL_MAX(list.len) bytes
 * (no NUL is written).
 */
#define HTTP_REDACTED_PROTOCOL_MAX(len) ((len) * 10 + 10)
bool http_protocol_has_secret(struct http_str list);
size_t http_protocol_redact(struct http_str list, char *out);

#endif /* WST_HTTP_REDACT_H */
