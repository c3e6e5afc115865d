// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * proxy_hdr.c - the client behind a proxy: PROXY protocol v1/v2 headers
 * (HAProxy proxy-protocol.txt) and the Forwarded (RFC 7239),
 * X-Forwarded-For and X-Real-IP request headers.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_hdr.h"

static const uint8_t v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* Whether buf (len bytes) is a prefix of sig, or sig a prefix of buf. */
static bool sig_match(const uint8_t *buf, size_t len, const void *sig, size_t n)
{
	return memcmp(buf, sig, len < n ? len : n) == 0;
}

/* A v1 decimal port: 1 to 5 digits, at most 65535, no leading zero. */
static int v1_port(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* A v1 address of the family, copied out in its canonical form. */
static int v1_addr(const char *s, size_t n, int family, char out[PROXY_ADDR_MAX])
{
	char tmp[PROXY_ADDR_MAX];
	uint8_t bin[16];
	int af = family == 6 ? AF_INET6 : AF_INET;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if (inet_pton(af, tmp, bin) != 1)
		return -1;
	return inet_ntop(af, bin, out, PROXY_ADDR_MAX) ? 0 : -1;
}

/* "PROXY TCP4 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN ...\r\n". */
static int parse_v1(const uint8_t *buf, size_t len, struct proxy_info *out)
{
	const char *p = (const char *)buf, *tok[6];
	size_t tlen[6], end, i, n = 0, start;

	for (end = 0; end + 1 < len && end + 2 <= PROXY_V1_MAX; end++)
		if (buf[end] == '\r' && buf[end + 1] == '\n')
			break;
	if (end + 1 >= len || buf[end] != '\r' || buf[end + 1] != '\n') {
		/* no CRLF yet: a longer line than the protocol allows is bad */
		for (i = 0; i < len && i < PROXY_V1_MAX; i++)
			if (buf[i] == '\n' || buf[i] == 0)
				return PROXY_BAD;
		return len < PROXY_V1_MAX ? PROXY_INCOMPLETE : PROXY_BAD;
	}
	/* single spaces between tokens, printable ASCII only */
	for (i = 0, start = 0; i <= end; i++) {
		if (i < end && (buf[i] < 0x21 || buf[i] > 0x7e) && buf[i] != ' ')
			return PROXY_BAD;
		if (i == end || buf[i] == ' ') {
			if (i == start || n == 6)
				return PROXY_BAD;
			tok[n] = p + start;
			tlen[n++] = i - start;
			start = i + 1;
		}
	}
	memset(out, 0, sizeof(*out));
	out->version = 1;
	if (n >= 2 && tlen[1] == 7 && memcmp(tok[1], "UNKNOWN", 7) == 0)
		return (int)end + 2; /* the rest is to be ignored */
	if (n != 6 || tlen[1] != 4 || memcmp(tok[1], "TCP", 3) || (tok[1][3] != '4' && tok[1][3] != '6'))
		return PROXY_BAD;
	out->family = tok[1][3] - '0';
	if (v1_addr(tok[2], tlen[2], out->family, out->src) ||
	    v1_addr(tok[3], tlen[3], out->family, out->dst) ||
	    v1_port(tok[4], tlen[4], &out->sport) || v1_port(tok[5], tlen[5], &out->dport)) {
		memset(out, 0, sizeof(*out));
		return PROXY_BAD;
	}
	return (int)end + 2;
}

static int parse_v2(const uint8_t *buf, size_t len, struct proxy_info *out)
{
	size_t total, need;
	uint8_t cmd, fam;
	int af;

	if (len < 16) {
		/* judge what is there: version and command, family */
		if (len > 12 && (buf[12] >> 4 != 2 || (buf[12] & 0xf) > 1))
			return PROXY_BAD;
		return PROXY_INCOMPLETE;
	}
	cmd = buf[12];
	fam = buf[13];
	if (cmd >> 4 != 2 || (cmd & 0xf) > 1)
		return PROXY_BAD;
	total = 16 + ((size_t)buf[14] << 8 | buf[15]);
	switch (fam >> 4) {
	case 0: need = 0; break;   /* AF_UNSPEC */
	case 1: need = 12; break;  /* AF_INET */
	case 2: need = 36; break;  /* AF_INET6 */
	case 3: need = 216; break; /* AF_UNIX */
	default: return PROXY_BAD;
	}
	if ((fam & 0xf) > 2 || total - 16 < need)
		return PROXY_BAD;
	if (len < total)
		return PROXY_INCOMPLETE;
	memset(out, 0, sizeof(*out));
	out->version = 2;
	/* LOCAL (health checks), UNSPEC and unix: no client address */
	if ((cmd & 0xf) == 0 || (fam >> 4) == 0 || (fam >> 4) == 3)
		return (int)total;
	af = (fam >> 4) == 1 ? AF_INET : AF_INET6;
	out->family = af == AF_INET ? 4 : 6;
	{
		size_t alen = af == AF_INET ? 4 : 16;
		const uint8_t *a = buf + 16;

		inet_ntop(af, a, out->src, sizeof(out->src));
		inet_ntop(af, a + alen, out->dst, sizeof(out->dst));
		out->sport = (uint16_t)(a[2 * alen] << 8 | a[2 * alen + 1]);
		out->dport = (uint16_t)(a[2 * alen + 2] << 8 | a[2 * alen + 3]);
	}
	return (int)total;
}

int proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *out)
{
	if (len == 0)
		return PROXY_INCOMPLETE;
	if (sig_match(buf, len, "PROXY ", 6))
		return len < 6 ? PROXY_INCOMPLETE : parse_v1(buf, len, out);
	if (sig_match(buf, len, v2_sig, sizeof(v2_sig)))
		return len < sizeof(v2_sig) ? PROXY_INCOMPLETE : parse_v2(buf, len, out);
	return PROXY_NONE;
}

/* Characters of an address, a port, or an RFC 7239 obfuscated node name. */
static bool node_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '_' || c == '-' || c == ':';
}

static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/*
 * A node ("1.2.3.4", "1.2.3.4:80", "[::1]:80", "::1", "_hidden",
 * "unknown") without brackets or port: 0, or -1 when malformed.
 */
static int node_copy(const char *p, size_t n, char out[PROXY_ADDR_MAX])
{
	size_t colons = 0, i;

	trim(&p, &n);
	if (n && p[0] == '[') {
		const char *close = memchr(p, ']', n);

		if (!close)
			return -1;
		/* after "]": nothing, or ":port" */
		for (i = (size_t)(close - p) + 1; i < n; i++)
			if (!node_char(p[i]) || (i == (size_t)(close - p) + 1 && p[i] != ':'))
				return -1;
		n = (size_t)(close - p) - 1;
		p++;
	} else {
		for (i = 0; i < n; i++)
			colons += p[i] == ':';
		if (colons == 1) /* IPv4 or a name, with a port */
			n = (size_t)((const char *)memchr(p, ':', n) - p);
	}
	if (n == 0 || n >= PROXY_ADDR_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (!node_char(p[i]))
			return -1;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

/* The first element of a comma list (a quoted string may hold commas). */
static size_t first_element(const char *p, size_t n)
{
	bool quoted = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (quoted && p[i] == '\\' && i + 1 < n)
			i++;
		else if (p[i] == '"')
			quoted = !quoted;
		else if (!quoted && p[i] == ',')
			break;
	}
	return i;
}

int fwd_parse_x_forwarded_for(struct http_str v, char out[PROXY_ADDR_MAX])
{
	if (!v.p)
		return -1;
	return node_copy(v.p, first_element(v.p, v.len), out);
}

int fwd_parse_forwarded(struct http_str v, char out[PROXY_ADDR_MAX])
{
	const char *p = v.p;
	size_t n, i = 0;

	if (!p)
		return -1;
	n = first_element(p, v.len);
	/* pairs "token=value" separated by ';' (RFC 7239 section 4) */
	while (i < n) {
		size_t k = i, eq, vs, ve;
		char val[PROXY_ADDR_MAX + 8];
		size_t vn = 0;

		while (k < n && p[k] != '=' && p[k] != ';')
			k++;
		if (k >= n || p[k] != '=')
			return -1;
		eq = k;
		vs = eq + 1;
		if (vs < n && p[vs] == '"') {
			for (ve = vs + 1; ve < n && p[ve] != '"'; ve++) {
				if (p[ve] == '\\' && ve + 1 < n)
					ve++;
				if (vn < sizeof(val))
					val[vn++] = p[ve];
			}
			if (ve >= n)
				return -1; /* unterminated quoted string */
			ve++;
		} else {
			for (ve = vs; ve < n && p[ve] != ';'; ve++)
				if (vn < sizeof(val))
					val[vn++] = p[ve];
		}
		{
			const char *name = p + i;
			size_t nl = eq - i;

			trim(&name, &nl);
			if (nl == 3 && strncasecmp(name, "for", 3) == 0)
				return vn >= sizeof(val) ? -1 : node_copy(val, vn, out);
		}
		while (ve < n && (p[ve] == ' ' || p[ve] == '\t'))
			ve++;
		if (ve < n && p[ve] != ';')
			return -1;
		i = ve + 1;
	}
	return -1;
}

static const struct http_str *find_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (http_str_ieq(req->headers[i].name, name))
			return &req->headers[i].value;
	return NULL;
}

enum fwd_source fwd_from_request(const struct http_request *req, char out[PROXY_ADDR_MAX])
{
	const struct http_str *v;

	out[0] = 0;
	if ((v = find_header(req, "forwarded")) && fwd_parse_forwarded(*v, out) == 0)
		return FWD_FORWARDED;
	if ((v = find_header(req, "x-forwarded-for")) && fwd_parse_x_forwarded_for(*v, out) == 0)
		return FWD_X_FORWARDED_FOR;
	if ((v = find_header(req, "x-real-ip")) && node_copy(v->p, v->len, out) == 0)
		return FWD_X_REAL_IP;
	out[0] = 0;
	return FWD_NONE;
}
