// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_extensions.c - Sec-WebSocket-Extensions (RFC 6455 section 9.1) and
 * permessage-deflate parameters (RFC 7692 section 7).
 */
#include <string.h>

#include "ws_extensions.h"

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static int fail(int code, const char *text, const char **why)
{
	if (why)
		*why = text;
	return code;
}

static void skip_ows(struct http_str v, size_t *i)
{
	while (*i < v.len && is_ows(v.p[*i]))
		(*i)++;
}

static bool token_at(struct http_str v, size_t *i, struct http_str *out)
{
	size_t start = *i;

	while (*i < v.len && is_tchar(v.p[*i]))
		(*i)++;
	out->p = v.p + start;
	out->len = *i - start;
	return out->len > 0;
}

/* quoted-string (RFC 7230 section 3.2.6); *i is on the opening quote. */
static bool quoted_at(struct http_str v, size_t *i, struct http_str *out)
{
	size_t start = ++(*i);

	while (*i < v.len) {
		unsigned char c = v.p[*i];

		if (c == '"') {
			out->p = v.p + start;
			out->len = *i - start;
			(*i)++;
			return true;
		}
		if (c == '\\') {
			if (*i + 1 >= v.len)
				return false;
			c = v.p[*i + 1];
			if (c < 0x20 && c != '\t')
				return false;
			*i += 2;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
		(*i)++;
	}
	return false;
}

int ws_extensions_next(struct http_str value, size_t *pos, struct ws_ext *ext,
		       const char **why)
{
	size_t i = *pos;

	memset(ext, 0, sizeof(*ext));
	if (!value.p)
		return 0;
	/* Skip empty list elements. */
	for (;;) {
		skip_ows(value, &i);
		if (i < value.len && value.p[i] == ',')
			i++;
		else
			break;
	}
	if (i >= value.len) {
		*pos = i;
		return 0;
	}
	if (!token_at(value, &i, &ext->name))
		return fail(WS_EXT_ERR_SYNTAX, "extension name is not a token", why);
	skip_ows(value, &i);
	while (i < value.len && value.p[i] == ';') {
		struct ws_ext_param *prm;

		if (ext->n_params >= WS_EXT_MAX_PARAMS)
			return fail(WS_EXT_ERR_TOO_MANY, "too many extension parameters", why);
		prm = &ext->params[ext->n_params];
		i++;
		skip_ows(value, &i);
		if (!token_at(value, &i, &prm->name))
			return fail(WS_EXT_ERR_SYNTAX, "parameter name is not a token", why);
		skip_ows(value, &i);
		if (i < value.len && value.p[i] == '=') {
			i++;
			skip_ows(value, &i);
			prm->has_value = true;
			if (i < value.len && value.p[i] == '"') {
				prm->quoted = true;
				if (!quoted_at(value, &i, &prm->value))
					return fail(WS_EXT_ERR_SYNTAX, "bad quoted parameter value", why);
			} else if (!token_at(value, &i, &prm->value)) {
				return fail(WS_EXT_ERR_SYNTAX, "parameter value is not a token", why);
			}
			skip_ows(value, &i);
		}
		ext->n_params++;
	}
	if (i < value.len && value.p[i] != ',')
		return fail(WS_EXT_ERR_SYNTAX, "junk after extension", why);
	*pos = i;
	return 1;
}

/*
 * Window bits value, after removing quoted-string escapes: exactly
 * %x38-39 / "1" %x30-35 (RFC 7692 sections 7.1.2.1 and 7.1.2.2).
 * Returns 8..15, or -1.
 */
static int window_bits(const struct ws_ext_param *prm)
{
	char d[3];
	size_t n = 0;

	for (size_t i = 0; i < prm->value.len; i++) {
		char c = prm->value.p[i];

		if (prm->quoted && c == '\\' && i + 1 < prm->value.len)
			c = prm->value.p[++i];
		if (n == sizeof(d))
			return -1;
		d[n++] = c;
	}
	if (n == 1 && (d[0] == '8' || d[0] == '9'))
		return d[0] - '0';
	if (n == 2 && d[0] == '1' && d[1] >= '0' && d[1] <= '5')
		return 10 + (d[1] - '0');
	return -1;
}

static void deflate_defaults(struct ws_deflate_params *p)
{
	memset(p, 0, sizeof(*p));
	p->server_max_window_bits = 15;
	p->client_max_window_bits = 15;
}

/* RFC 7692 section 7: the four parameters, each at most once. */
static int deflate_params(const struct ws_ext *ext, bool offer,
			  struct ws_deflate_params *out, const char **why)
{
	bool seen_snct = false, seen_cnct = false;
	int bits;

	deflate_defaults(out);
	out->enabled = true;
	for (size_t i = 0; i < ext->n_params; i++) {
		const struct ws_ext_param *prm = &ext->params[i];

		if (http_str_ieq(prm->name, "server_no_context_takeover")) {
			if (seen_snct)
				return fail(WS_EXT_ERR_DUPLICATE, "server_no_context_takeover repeated", why);
			if (prm->has_value)
				return fail(WS_EXT_ERR_PARAM, "server_no_context_takeover has a value", why);
			seen_snct = out->server_no_context_takeover = true;
		} else if (http_str_ieq(prm->name, "client_no_context_takeover")) {
			if (seen_cnct)
				return fail(WS_EXT_ERR_DUPLICATE, "client_no_context_takeover repeated", why);
			if (prm->has_value)
				return fail(WS_EXT_ERR_PARAM, "client_no_context_takeover has a value", why);
			seen_cnct = out->client_no_context_takeover = true;
		} else if (http_str_ieq(prm->name, "server_max_window_bits")) {
			if (out->server_max_window_bits_set)
				return fail(WS_EXT_ERR_DUPLICATE, "server_max_window_bits repeated", why);
			bits = prm->has_value ? window_bits(prm) : -1;
			if (bits < 0)
				return fail(WS_EXT_ERR_PARAM, "server_max_window_bits not 8..15", why);
			out->server_max_window_bits_set = true;
			out->server_max_window_bits = bits;
		} else if (http_str_ieq(prm->name, "client_max_window_bits")) {
			if (out->client_max_window_bits_set)
				return fail(WS_EXT_ERR_DUPLICATE, "client_max_window_bits repeated", why);
			/* Only an offer may leave the value out (section 7.1.2.2). */
			if (!prm->has_value && offer) {
				bits = 15;
			} else {
				bits = prm->has_value ? window_bits(prm) : -1;
				if (bits < 0)
					return fail(WS_EXT_ERR_PARAM, "client_max_window_bits not 8..15", why);
			}
			out->client_max_window_bits_set = true;
			out->client_max_window_bits = bits;
		} else {
			return fail(WS_EXT_ERR_PARAM, "unknown permessage-deflate parameter", why);
		}
	}
	return WS_EXT_OK;
}

int ws_extensions_parse_response(struct http_str value,
				 struct ws_deflate_params *out, const char **why)
{
	struct ws_deflate_params tmp;
	struct ws_ext ext;
	bool unknown = false;
	size_t pos = 0;
	int rc, n = 0;

	deflate_defaults(out);
	if (!value.p)
		return fail(WS_EXT_OK, "no extension in force", why);
	while ((rc = ws_extensions_next(value, &pos, &ext, why)) == 1) {
		n++;
		if (!http_str_ieq(ext.name, "permessage-deflate")) {
			unknown = true;
			continue;
		}
		/* RFC 7692 section 5: one PMCE at most, it owns RSV1. */
		if (out->enabled)
			return fail(WS_EXT_ERR_DUPLICATE, "permessage-deflate accepted twice", why);
		rc = deflate_params(&ext, false, &tmp, why);
		*out = tmp;
		if (rc)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!n)
		return fail(WS_EXT_ERR_SYNTAX, "empty extension list", why);
	if (unknown)
		return fail(WS_EXT_UNKNOWN, "an unknown extension is in force", why);
	return fail(WS_EXT_OK, out->enabled ? "permessage-deflate in force"
					    : "no extension in force", why);
}

int ws_extensions_parse_offer(struct http_str value,
			      struct ws_deflate_params *out, const char **why)
{
	struct ws_ext ext;
	bool unknown = false;
	size_t pos = 0;
	int rc;

	deflate_defaults(out);
	if (!value.p)
		return fail(WS_EXT_OK, "no extension offered", why);
	while ((rc = ws_extensions_next(value, &pos, &ext, why)) == 1) {
		if (!http_str_ieq(ext.name, "permessage-deflate")) {
			unknown = true;
			continue;
		}
		if (out->enabled)
			continue; /* a fallback offer; the first one is reported */
		rc = deflate_params(&ext, true, out, why);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (unknown)
		return fail(WS_EXT_UNKNOWN, "other extensions offered", why);
	return fail(WS_EXT_OK, out->enabled ? "permessage-deflate offered"
					    : "no extension offered", why);
}

/* Whether accepted answers this one offer (RFC 7692 sections 7.1.1, 7.1.2). */
static bool answers(const struct ws_deflate_params *off,
		    const struct ws_deflate_params *acc)
{
	/* The server must not ask for client_max_window_bits unless offered. */
	if (acc->client_max_window_bits_set && !off->client_max_window_bits_set)
		return false;
	/* An offered server_max_window_bits must be answered, same or smaller. */
	if (off->server_max_window_bits_set &&
	    (!acc->server_max_window_bits_set ||
	     acc->server_max_window_bits > off->server_max_window_bits))
		return false;
	/* The no_context_takeover flags may be added by the server freely. */
	return true;
}

int ws_extensions_check_agreement(struct http_str offer,
				  const struct ws_deflate_params *accepted,
				  const char **why)
{
	struct ws_deflate_params off;
	struct ws_ext ext;
	size_t pos = 0;
	int rc;

	if (!accepted->enabled)
		return fail(WS_EXT_OK, "nothing accepted", why);
	while ((rc = ws_extensions_next(offer, &pos, &ext, why)) == 1) {
		if (!http_str_ieq(ext.name, "permessage-deflate"))
			continue;
		/* An invalid offer must be declined, so it can't be the one. */
		if (deflate_params(&ext, true, &off, NULL))
			continue;
		if (answers(&off, accepted))
			return fail(WS_EXT_OK, "accepted parameters were offered", why);
	}
	if (rc < 0)
		return rc;
	return fail(WS_EXT_ERR_NOT_OFFERED,
		    "permessage-deflate accepted with parameters no offer allowed", why);
}
