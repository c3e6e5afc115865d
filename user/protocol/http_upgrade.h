/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http_upgrade.h - HTTP/1.1 message heads of the WebSocket opening handshake
 * (RFC 7230 section 3 message syntax, RFC 6455 section 4).
 *
 * Zero-copy, picohttpparser style: every string is a (pointer, length) pair
 * into the caller's bytes, which are never modified. The parsers keep no
 * state between calls: the caller accumulates the head in its own bounded
 * buffer and calls again with more bytes. A call returns
 *   > 0               the head is complete: its length, blank line included
 *   HTTP_INCOMPLETE   need more bytes
 *   < 0               an enum http_error
 * and for a fixed byte sequence a longer prefix never changes a non-zero
 * answer: an error is reported as soon as the bytes seen prove it.
 *
 * Both CRLF and bare LF end lines (RFC 7230 section 3.5); obsolete line
 * folding is rejected (section 3.2.4). Empty lines before the start line
 * are skipped (section 3.5) and counted in the returned length.
 */
#ifndef WST_HTTP_UPGRADE_H
#define WST_HTTP_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD 16384 /* bytes, start line to blank line inclusive */
#define HTTP_MAX_HEADERS 64

enum http_error {
	HTTP_INCOMPLETE = 0,
	HTTP_ERR_SYNTAX = -1,   /* not HTTP: bad start line, control char, no colon */
	HTTP_ERR_TOO_LONG = -2, /* > HTTP_MAX_HEAD bytes or > HTTP_MAX_HEADERS fields */
	HTTP_ERR_VERSION = -3,  /* well-formed, but not HTTP/1.x (HTTP/2 preface...) */
	HTTP_ERR_FOLDING = -4,  /* obs-fold, or whitespace before a field name */
	HTTP_ERR_STATUS = -5,   /* status code is not three digits */
};

struct http_str {
	const char *p;
	size_t len;
};

struct http_header {
	struct http_str name, value; /* value without leading/trailing OWS */
};

/* Bits of dup_fields: a convenience field seen on more than one line. */
enum http_field_bit {
	HTTP_F_HOST = 1u << 0,
	HTTP_F_ORIGIN = 1u << 1,
	HTTP_F_USER_AGENT = 1u << 2,
	HTTP_F_UPGRADE = 1u << 3,
	HTTP_F_CONNECTION = 1u << 4,
	HTTP_F_WS_KEY = 1u << 5,
	HTTP_F_WS_VERSION = 1u << 6,
	HTTP_F_WS_PROTOCOL = 1u << 7,
	HTTP_F_WS_EXTENSIONS = 1u << 8,
	HTTP_F_WS_ACCEPT = 1u << 9,
	HTTP_F_CONTENT_LENGTH = 1u << 10,
};

struct http_request {
	struct http_str method, path;
	int minor_version;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	/*
	 * Filled from the headers (names compared case-insensitively), first
	 * occurrence; {NULL, 0} when absent. Repeats set a bit in dup_fields.
	 */
	struct http_str host, origin, user_agent, upgrade, connection;
	struct http_str ws_key, ws_version, ws_protocol, ws_extensions;
	unsigned int dup_fields;
	/*
	 * The Upgrade lines list the token "websocket" and the Connection
	 * lines "upgrade" (comma lists, repeated lines joined, any case),
	 * whatever the method.
	 */
	bool upgrade_attempt;
	/* upgrade_attempt and the method is GET (RFC 6455 section 4.1). */
	bool is_upgrade;
};

struct http_response {
	int minor_version, status;
	struct http_str reason; /* informative only: never rely on it */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	struct http_str upgrade, connection, ws_accept, ws_protocol, ws_extensions;
	struct http_str content_length;
	unsigned int dup_fields;
};

/* Parse a request head; req is overwritten whatever the result. */
int http_parse_request(const char *buf, size_t len, struct http_request *req);
/* Parse a response head; resp is overwritten whatever the result. */
int http_parse_response(const char *buf, size_t len,
			struct http_response *resp);

/* "bad HTTP syntax", ... for an enum http_error (or any int). */
const char *http_strerror(int err);

/*
 * Whether a comma-separated list (RFC 7230 section 7) holds the element
 * token, compared case-insensitively after trimming OWS. Empty elements
 * are ignored.
 */
bool http_token_list_has(struct http_str list, const char *token);

/* Two strings equal ignoring ASCII case; cstr is NUL-terminated. */
bool http_str_ieq(struct http_str s, const char *cstr);

/*
 * Content-Length value (RFC 7230 section 3.3.2): 1*DIGIT, no overflow.
 * Returns 0 and stores the value, or HTTP_ERR_SYNTAX.
 */
int http_parse_content_length(struct http_str value, uint64_t *out);

/*
 * Handshake checks of RFC 6455 section 4.1/4.2.1 that do not make the head
 * unparsable: the session layer counts them as protocol violations. A
 * request that is no upgrade attempt at all is HTTP_UPG_NOT_UPGRADE.
 */
enum http_upgrade_check {
	HTTP_UPG_OK = 0,
	HTTP_UPG_NOT_UPGRADE = -1, /* no Upgrade: websocket / Connection: upgrade */
	HTTP_UPG_METHOD = -2,      /* not GET */
	HTTP_UPG_HTTP_VERSION = -3, /* below HTTP/1.1 */
	HTTP_UPG_NO_HOST = -4,
	HTTP_UPG_KEY = -5,         /* missing, repeated or not base64 of 16 bytes */
	HTTP_UPG_WS_VERSION = -6,  /* Sec-WebSocket-Version missing, repeated or not 13 */
};

/*
 * Returns HTTP_UPG_OK or the first violation found; *why (if why is not
 * NULL) gets a human-readable sentence.
 */
int http_check_upgrade(const struct http_request *req, const char **why);
/* Short label for counters: "ok", "not_upgrade", "method", ... */
const char *http_upgrade_check_name(int check);

/* Whether s is exactly the base64 encoding of 16 bytes (RFC 6455 4.1). */
bool http_ws_key_valid(struct http_str s);

#endif /* WST_HTTP_UPGRADE_H */
