// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http_upgrade.c - HTTP/1.1 request and response heads of the WebSocket
 * opening handshake (RFC 7230 section 3, RFC 6455 section 4).
 *
 * One left-to-right scan that never reads at or past its end. Every check
 * depends only on bytes already scanned, so a prefix of a head gives either
 * HTTP_INCOMPLETE or the final answer, and garbage (TLS, binary) fails at
 * its first offending byte instead of waiting for a line end.
 */
#include <string.h>

#include "http_chars.h"
#include "http_upgrade.h"

/* Internal "step succeeded"; never returned to callers. */
#define STEP_OK 1

struct scan {
	const char *buf;
	size_t pos, end;
};
static bool at_end(const struct scan *s)
{
	return s->pos >= s->end;
}

static unsigned char cur(const struct scan *s)
{
	return (unsigned char)s->buf[s->pos];
}

static int expect_char(struct scan *s, char c)
{
	if (at_end(s))
		return HTTP_INCOMPLETE;
	if (s->buf[s->pos] != c)
		return HTTP_ERR_SYNTAX;
	s->pos++;
	return STEP_OK;
}

/* CRLF or a bare LF; a CR followed by anything else is an error. */
static int parse_eol(struct scan *s)
{
	if (at_end(s))
		return HTTP_INCOMPLETE;
	if (cur(s) == '\n') {
		s->pos++;
		return STEP_OK;
	}
	if (cur(s) != '\r')
		return HTTP_ERR_SYNTAX;
	if (s->pos + 1 >= s->end)
		return HTTP_INCOMPLETE;
	if (s->buf[s->pos + 1] != '\n')
		return HTTP_ERR_SYNTAX;
	s->pos += 2;
	return STEP_OK;
}

/* 1*tchar, stopped by any other byte (which must be present). */
static int parse_token(struct scan *s, struct http_str *out)
{
	size_t start = s->pos;

	while (!at_end(s) && http_is_tchar(cur(s)))
		s->pos++;
	if (at_end(s))
		return HTTP_INCOMPLETE;
	if (s->pos == start)
		return HTTP_ERR_SYNTAX;
	out->p = s->buf + start;
	out->len = s->pos - start;
	return STEP_OK;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 7230 section 2.6). */
static int parse_version(struct scan *s, int *minor)
{
	static const char name[] = "HTTP/";
	int rc;

	for (size_t i = 0; i < sizeof(name) - 1; i++) {
		rc = expect_char(s, name[i]);
		if (rc != STEP_OK)
			return rc;
	}
	if (at_end(s))
		return HTTP_INCOMPLETE;
	if (!http_is_digit(cur(s)))
		return HTTP_ERR_SYNTAX;
	if (cur(s) != '1')
		return HTTP_ERR_VERSION;
	s->pos++;
	rc = expect_char(s, '.');
	if (rc != STEP_OK)
		return rc;
	if (at_end(s))
		return HTTP_INCOMPLETE;
	if (!http_is_digit(cur(s)))
		return HTTP_ERR_SYNTAX;
	*minor = cur(s) - '0';
	s->pos++;
	return STEP_OK;
}

/* RFC 7230 section 3.5: ignore empty lines before the start line. */
static int skip_empty_lines(struct scan *s)
{
	int rc;

	while (!at_end(s) && (cur(s) == '\r' || cur(s) == '\n')) {
		rc = parse_eol(s);
		if (rc != STEP_OK)
			return rc;
	}
	return at_end(s) ? HTTP_INCOMPLETE : STEP_OK;
}

/* request-line = method SP request-target SP HTTP-version CRLF */
static int parse_request_line(struct scan *s, struct http_request *req)
{
	size_t start;
	int rc;

	rc = parse_token(s, &req->method);
	if (rc != STEP_OK)
		return rc;
	rc = expect_char(s, ' ');
	if (rc != STEP_OK)
		return rc;
	/* Any visible byte (obs-text too): the tracer shows what was sent. */
	start = s->pos;
	while (!at_end(s) && cur(s) > 0x20 && cur(s) != 0x7f)
		s->pos++;
	if (at_end(s))
		return HTTP_INCOMPLETE;
	if (s->pos == start)
		return HTTP_ERR_SYNTAX;
	req->path.p = s->buf + start;
	req->path.len = s->pos - start;
	rc = expect_char(s, ' ');
	if (rc != STEP_OK)
		return rc;
	rc = parse_version(s, &req->minor_version);
	if (rc != STEP_OK)
		return rc;
	return parse_eol(s);
}

/* status-line = HTTP-version SP status-code SP reason-phrase CRLF */
static int parse_status_line(struct scan *s, struct http_response *resp)
{
	size_t start;
	int rc;

	rc = parse_version(s, &resp->minor_version);
	if (rc != STEP_OK)
		return rc;
	rc = expect_char(s, ' ');
	if (rc != STEP_OK)
		return rc;
	resp->status = 0;
	for (int i = 0; i < 3; i++) {
		if (at_end(s))
			return HTTP_INCOMPLETE;
		if (!http_is_digit(cur(s)))
			return HTTP_ERR_STATUS;
		resp->status = resp->status * 10 + (cur(s) - '0');
		s->pos++;
	}
	if (at_end(s))
		return HTTP_INCOMPLETE;
	/* Accept "HTTP/1.1 101\r\n" (no SP, empty reason) as picohttpparser does. */
	if (cur(s) == ' ') {
		s->pos++;
	} else if (cur(s) != '\r' && cur(s) != '\n') {
		return HTTP_ERR_STATUS;
	}
	start = s->pos;
	while (!at_end(s) && http_is_value_char(cur(s)))
		s->pos++;
	if (at_end(s))
		return HTTP_INCOMPLETE;
	resp->reason.p = s->buf + start;
	resp->reason.len = s->pos - start;
	return parse_eol(s);
}

/*
 * header-field = field-name ":" OWS field-value OWS, then CRLF; up to and
 * including the blank line. Returns STEP_OK at the end of the head.
 */
static int parse_headers(struct scan *s, struct http_header *hdrs, size_t *n)
{
	struct http_header *h;
	size_t start, last;
	int rc;

	*n = 0;
	for (;;) {
		if (at_end(s))
			return HTTP_INCOMPLETE;
		if (cur(s) == '\r' || cur(s) == '\n')
			return parse_eol(s);
		/* RFC 7230 section 3.2.4: obs-fold is rejected, as is
		 * whitespace between the start line and the first field. */
		if (http_is_ows(cur(s)))
			return HTTP_ERR_FOLDING;
		if (*n >= HTTP_MAX_HEADERS)
			return HTTP_ERR_TOO_LONG;
		h = &hdrs[*n];
		rc = parse_token(s, &h->name);
		if (rc != STEP_OK)
			return rc;
		/* No whitespace between name and colon (section 3.2.4). */
		rc = expect_char(s, ':');
		if (rc != STEP_OK)
			return rc;
		while (!at_end(s) && http_is_ows(cur(s)))
			s->pos++;
		start = s->pos;
		last = s->pos; /* one past the last non-OWS byte */
		while (!at_end(s) && http_is_value_char(cur(s))) {
			if (!http_is_ows(cur(s)))
				last = s->pos + 1;
			s->pos++;
		}
		if (at_end(s))
			return HTTP_INCOMPLETE;
		rc = parse_eol(s);
		if (rc != STEP_OK)
			return rc;
		h->value.p = s->buf + start;
		h->value.len = last - start;
		(*n)++;
	}
}

/*
 * Runs one parse step over at most HTTP_MAX_HEAD bytes. A head that is
 * still incomplete when that many bytes are there can only grow: too long.
 */
static size_t scan_limit(size_t len)
{
	return len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
}

static int finish(const struct scan *s, int rc, size_t len)
{
	if (rc == STEP_OK)
		return (int)s->pos;
	if (rc == HTTP_INCOMPLETE && len >= HTTP_MAX_HEAD)
		return HTTP_ERR_TOO_LONG;
	return rc;
}

bool http_str_ieq(struct http_str s, const char *cstr)
{
	size_t n = strlen(cstr);

	if (s.len != n || (n && !s.p))
		return false;
	for (size_t i = 0; i < n; i++)
		if (http_lower(s.p[i]) != http_lower(cstr[i]))
			return false;
	return true;
}

/* Stores the first occurrence; a repeat sets its bit in *dups. */
static void take(struct http_str *field, unsigned int bit,
		 const struct http_header *h, unsigned int *dups)
{
	if (field->p)
		*dups |= bit;
	else
		*field = h->value;
}

/* Repeated lines form one list (RFC 7230 section 3.2.2): any line counts. */
static bool any_line_has(const struct http_header *hdrs, size_t n,
			 const char *name, const char *token)
{
	for (size_t i = 0; i < n; i++)
		if (http_str_ieq(hdrs[i].name, name) &&
		    http_token_list_has(hdrs[i].value, token))
			return true;
	return false;
}

/* A convenience field of a request or response, filled from its header. */
struct field_map {
	const char *name;
	size_t off;
	unsigned int bit;
};

/* Fills the fields of base (a request or response) that map names. */
static void fill_fields(void *base, const struct http_header *hdrs, size_t n,
			const struct field_map *map, size_t n_map, unsigned int *dups)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n_map; j++) {
			if (http_str_ieq(hdrs[i].name, map[j].name)) {
				take((struct http_str *)((char *)base + map[j].off),
				     map[j].bit, &hdrs[i], dups);
				break;
			}
		}
	}
}

static void fill_request(struct http_request *req)
{
	static const struct field_map map[] = {
		{ "host", offsetof(struct http_request, host), HTTP_F_HOST },
		{ "origin", offsetof(struct http_request, origin), HTTP_F_ORIGIN },
		{ "user-agent", offsetof(struct http_request, user_agent), HTTP_F_USER_AGENT },
		{ "upgrade", offsetof(struct http_request, upgrade), HTTP_F_UPGRADE },
		{ "connection", offsetof(struct http_request, connection), HTTP_F_CONNECTION },
		{ "sec-websocket-key", offsetof(struct http_request, ws_key), HTTP_F_WS_KEY },
		{ "sec-websocket-version", offsetof(struct http_request, ws_version), HTTP_F_WS_VERSION },
		{ "sec-websocket-protocol", offsetof(struct http_request, ws_protocol), HTTP_F_WS_PROTOCOL },
		{ "sec-websocket-extensions", offsetof(struct http_request, ws_extensions), HTTP_F_WS_EXTENSIONS },
	};

	fill_fields(req, req->headers, req->n_headers, map, sizeof(map) / sizeof(map[0]),
		    &req->dup_fields);
	/* RFC 6455 section 4.2.1 items 3 and 4; RFC 7230 section 6.7. */
	req->upgrade_attempt =
		any_line_has(req->headers, req->n_headers, "upgrade", "websocket") &&
		any_line_has(req->headers, req->n_headers, "connection", "upgrade");
	req->is_upgrade = req->upgrade_attempt &&
			  req->method.len == 3 && !memcmp(req->method.p, "GET", 3);
}

static void fill_response(struct http_response *resp)
{
	static const struct field_map map[] = {
		{ "upgrade", offsetof(struct http_response, upgrade), HTTP_F_UPGRADE },
		{ "connection", offsetof(struct http_response, connection), HTTP_F_CONNECTION },
		{ "sec-websocket-accept", offsetof(struct http_response, ws_accept), HTTP_F_WS_ACCEPT },
		{ "sec-websocket-protocol", offsetof(struct http_response, ws_protocol), HTTP_F_WS_PROTOCOL },
		{ "sec-websocket-extensions", offsetof(struct http_response, ws_extensions), HTTP_F_WS_EXTENSIONS },
		{ "content-length", offsetof(struct http_response, content_length), HTTP_F_CONTENT_LENGTH },
	};

	fill_fields(resp, resp->headers, resp->n_headers, map, sizeof(map) / sizeof(map[0]),
		    &resp->dup_fields);
}

int http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	struct scan s = { .buf = buf, .pos = 0, .end = scan_limit(len) };
	int rc;

	memset(req, 0, sizeof(*req));
	if (!buf)
		s.end = 0;
	rc = skip_empty_lines(&s);
	if (rc == STEP_OK)
		rc = parse_request_line(&s, req);
	if (rc == STEP_OK)
		rc = parse_headers(&s, req->headers, &req->n_headers);
	rc = finish(&s, rc, len);
	if (rc > 0)
		fill_request(req);
	return rc;
}

int http_parse_response(const char *buf, size_t len,
			struct http_response *resp)
{
	struct scan s = { .buf = buf, .pos = 0, .end = scan_limit(len) };
	int rc;

	memset(resp, 0, sizeof(*resp));
	if (!buf)
		s.end = 0;
	rc = skip_empty_lines(&s);
	if (rc == STEP_OK)
		rc = parse_status_line(&s, resp);
	if (rc == STEP_OK)
		rc = parse_headers(&s, resp->headers, &resp->n_headers);
	rc = finish(&s, rc, len);
	if (rc > 0)
		fill_response(resp);
	return rc;
}

const char *http_strerror(int err)
{
	if (err > 0)
		return "complete";
	switch (err) {
	case HTTP_INCOMPLETE:
		return "incomplete head";
	case HTTP_ERR_SYNTAX:
		return "bad HTTP syntax";
	case HTTP_ERR_TOO_LONG:
		return "head too long or too many header fields";
	case HTTP_ERR_VERSION:
		return "not HTTP/1.x";
	case HTTP_ERR_FOLDING:
		return "obsolete line folding";
	case HTTP_ERR_STATUS:
		return "bad status code";
	default:
		return "unknown HTTP error";
	}
}

bool http_token_list_has(struct http_str list, const char *token)
{
	size_t i = 0, start, end;

	if (!list.p)
		return false;
	while (i < list.len) {
		start = i;
		while (i < list.len && list.p[i] != ',')
			i++;
		end = i;
		while (start < end && http_is_ows(list.p[start]))
			start++;
		while (end > start && http_is_ows(list.p[end - 1]))
			end--;
		if (end > start &&
		    http_str_ieq((struct http_str){ list.p + start, end - start }, token))
			return true;
		i++; /* past the comma */
	}
	return false;
}

int http_parse_content_length(struct http_str value, uint64_t *out)
{
	uint64_t v = 0;

	if (!value.p || !value.len)
		return HTTP_ERR_SYNTAX;
	for (size_t i = 0; i < value.len; i++) {
		unsigned char c = value.p[i];

		if (!http_is_digit(c))
			return HTTP_ERR_SYNTAX;
		if (v > UINT64_MAX / 10 ||
		    (v == UINT64_MAX / 10 && (uint64_t)(c - '0') > UINT64_MAX % 10))
			return HTTP_ERR_SYNTAX; /* overflow */
		v = v * 10 + (c - '0');
	}
	*out = v;
	return 0;
}

static bool is_base64_char(unsigned char c)
{
	return http_is_alpha(c) || http_is_digit(c) || c == '+' || c == '/';
}

bool http_ws_key_valid(struct http_str s)
{
	/*
	 * 16 bytes encode as 22 symbols and "==". Like common server
	 * decoders, do not insist that the unused low bits of the last
	 * symbol are zero.
	 */
	if (!s.p || s.len != 24 || s.p[22] != '=' || s.p[23] != '=')
		return false;
	for (size_t i = 0; i < 22; i++)
		if (!is_base64_char(s.p[i]))
			return false;
	return true;
}

static int check_result(int code, const char *text, const char **why)
{
	if (why)
		*why = text;
	return code;
}

int http_check_upgrade(const struct http_request *req, const char **why)
{
	if (!req->upgrade_attempt)
		return check_result(HTTP_UPG_NOT_UPGRADE,
				    "no Upgrade: websocket with Connection: upgrade", why);
	if (!(req->method.len == 3 && !memcmp(req->method.p, "GET", 3)))
		return check_result(HTTP_UPG_METHOD,
				    "upgrade request method is not GET", why);
	if (req->minor_version < 1)
		return check_result(HTTP_UPG_HTTP_VERSION,
				    "upgrade request below HTTP/1.1", why);
	if (!req->host.p || (req->dup_fields & HTTP_F_HOST))
		return check_result(HTTP_UPG_NO_HOST,
				    "upgrade request without a single Host", why);
	if (!req->ws_key.p)
		return check_result(HTTP_UPG_KEY, "Sec-WebSocket-Key missing", why);
	if (req->dup_fields & HTTP_F_WS_KEY)
		return check_result(HTTP_UPG_KEY, "Sec-WebSocket-Key repeated", why);
	if (!http_ws_key_valid(req->ws_key))
		return check_result(HTTP_UPG_KEY,
				    "Sec-WebSocket-Key is not base64 of 16 bytes", why);
	if (!req->ws_version.p)
		return check_result(HTTP_UPG_WS_VERSION,
				    "Sec-WebSocket-Version missing", why);
	if ((req->dup_fields & HTTP_F_WS_VERSION) ||
	    !(req->ws_version.len == 2 && !memcmp(req->ws_version.p, "13", 2)))
		return check_result(HTTP_UPG_WS_VERSION,
				    "Sec-WebSocket-Version is not 13", why);
	return check_result(HTTP_UPG_OK, "valid upgrade request", why);
}

const char *http_upgrade_check_name(int check)
{
	switch (check) {
	case HTTP_UPG_OK:
		return "ok";
	case HTTP_UPG_NOT_UPGRADE:
		return "not_upgrade";
	case HTTP_UPG_METHOD:
		return "method";
	case HTTP_UPG_HTTP_VERSION:
		return "http_version";
	case HTTP_UPG_NO_HOST:
		return "no_host";
	case HTTP_UPG_KEY:
		return "key";
	case HTTP_UPG_WS_VERSION:
		return "ws_version";
	default:
		return "unknown";
	}
}
