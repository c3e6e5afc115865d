// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http_redact.c - which header values, query parameters and subprotocols
 * carry credentials, and their redacted copies (see http_redact.h).
 */
#include <string.h>

#include "http_chars.h"
#include "http_redact.h"

/* Case-insensitive search of a NUL-terminated lower-case needle. */
static bool str_icontains(struct http_str s, const char *needle)
{
	size_t n = strlen(needle);

	if (s.len < n)
		return false;
	for (size_t i = 0; i + n <= s.len; i++) {
		size_t j = 0;

		while (j < n && http_lower(s.p[i + j]) == (unsigned char)needle[j])
			j++;
		if (j == n)
			return true;
	}
	return false;
}

bool http_header_is_secret(struct http_str name)
{
	/*
	 * Over-redacting a header costs a little debugging comfort;
	 * under-redacting leaks a credential into logs. Substrings catch the
	 * many vendor spellings (X-Auth-Token, X-Api-Key, X-Session-Id, ...).
	 */
	static const char *const exact[] = {
		"cookie", "set-cookie", "set-cookie2",
	};
	static const char *const parts[] = {
		"auth", "token", "secret", "passw", "session",
		"api-key", "apikey", "api_key", "csrf", "xsrf",
	};

	if (!name.p)
		return false;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (http_str_ieq(name, exact[i]))
			return true;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (str_icontains(name, parts[i]))
			return true;
	return false;
}

static bool query_name_secret(struct http_str name)
{
	static const char *const exact[] = { "key", "sig", "signature", "jwt", "pwd", "pass", "code" };

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (http_str_ieq(name, exact[i]))
			return true;
	return http_header_is_secret(name);
}

size_t http_path_redact(struct http_str path, char *out)
{
	const char *q = path.p ? memchr(path.p, '?', path.len) : NULL;
	size_t n, i;

	if (!q) {
		if (path.len)
			memcpy(out, path.p, path.len);
		return path.len;
	}
	n = (size_t)(q - path.p) + 1;
	memcpy(out, path.p, n);
	i = n;
	while (i < path.len) {
		size_t end = i, eq;

		while (end < path.len && path.p[end] != '&' && path.p[end] != ';' && path.p[end] != '#')
			end++;
		for (eq = i; eq < end && path.p[eq] != '='; eq++)
			;
		if (eq < end && query_name_secret((struct http_str){ path.p + i, eq - i })) {
			memcpy(out + n, path.p + i, eq - i + 1);
			n += eq - i + 1;
			memcpy(out + n, "<redacted>", 10);
			n += 10;
		} else {
			memcpy(out + n, path.p + i, end - i);
			n += end - i;
		}
		if (end < path.len && path.p[end] == '#') {
			/* A fragment is not sent by browsers; copy it as it is. */
			memcpy(out + n, path.p + end, path.len - end);
			return n + (path.len - end);
		}
		if (end < path.len)
			out[n++] = path.p[end];
		i = end + 1;
	}
	return n;
}

/*
 * One Sec-WebSocket-Protocol element that carries a credential: a word of
 * a secret header name or bearer/jwt/credential in it (Kubernetes'
 * base64url.bearer.authorization.k8s.io.<token>, access_token), a JSON
 * web token or base64 JSON ("eyJ..."), or a long opaque mix of letters and
 * digits. Registered subprotocol names (chat, graphql-ws, mqtt, wamp.2.json,
 * v12.stomp, base64.channel.k8s.io) are none of these.
 */
static bool protocol_element_secret(struct http_str e)
{
	static const char *const parts[] = { "bearer", "jwt", "credential" };
	bool digit = false, letter = false;

	if (http_header_is_secret(e))
		return true;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (str_icontains(e, parts[i]))
			return true;
	if (e.len >= 3 && memcmp(e.p, "eyJ", 3) == 0)
		return true;
	for (size_t i = 0; i < e.len; i++) {
		digit |= http_is_digit((unsigned char)e.p[i]);
		letter |= http_is_alpha((unsigned char)e.p[i]);
	}
	return e.len >= 32 && digit && letter;
}

/* A bare keyword whose value is the next element ("access_token, <token>"),
 * as opposed to a scheme that carries its token inside it (a dot, digits). */
static bool protocol_element_marker(struct http_str e)
{
	for (size_t i = 0; i < e.len; i++)
		if (!http_is_alpha((unsigned char)e.p[i]) && e.p[i] != '-' && e.p[i] != '_')
			return false;
	return e.len < 32 && protocol_element_secret(e);
}

/* Walks a Sec-WebSocket-Protocol list; with out set, writes it with the
 * secret elements replaced, everything else (blanks, commas) as it is. */
struct protocol_walk {
	char *out;
	size_t n;
	bool prev_marker;
};

static void walk_put(struct protocol_walk *w, const char *p, size_t n)
{
	if (w->out && n)
		memcpy(w->out + w->n, p, n);
	w->n += n;
}

static bool protocol_walk(struct http_str list, struct protocol_walk *w)
{
	bool any = false;
	size_t seg = 0;

	while (list.p && seg < list.len) {
		const char *c = memchr(list.p + seg, ',', list.len - seg);
		size_t seg_end = c ? (size_t)(c - list.p) : list.len;
		size_t start = seg, end = seg_end;
		struct http_str e;
		bool secret;

		while (start < end && http_is_ows(list.p[start]))
			start++;
		while (end > start && http_is_ows(list.p[end - 1]))
			end--;
		e = (struct http_str){ list.p + start, end - start };
		/* After a bare keyword ("access_token"), its value. */
		secret = e.len && (protocol_element_secret(e) || w->prev_marker);
		w->prev_marker = e.len && protocol_element_marker(e);
		any |= secret;
		walk_put(w, list.p + seg, start - seg);
		if (secret)
			walk_put(w, "<redacted>", 10);
		else
			walk_put(w, e.p, e.len);
		walk_put(w, list.p + end, seg_end - end + (c ? 1 : 0));
		seg = seg_end + 1;
	}
	return any;
}

bool http_protocol_has_secret(struct http_str list)
{
	struct protocol_walk w = { 0 };

	return protocol_walk(list, &w);
}

size_t http_protocol_redact(struct http_str list, char *out)
{
	struct protocol_walk w = { .out = out };

	protocol_walk(list, &w);
	return w.n;
}