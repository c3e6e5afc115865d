// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tls_hello.c - TLS hellos and record types on the wire (see tls_hello.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_hello.h"

#define TLS_MAX_RECORD (16384 + 2048) /* TLSCiphertext (RFC 8446 5.2) */
#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_SUPPORTED_VERSIONS 43

static const char *const error_names[] = { TLS_HELLO_ERRORS(WST_KIND_LABEL) };

const char *tls_hello_error_name(enum tls_hello_error e)
{
	if (e == TLS_HELLO_OK)
		return "none";
	if (e < 1 || e >= TLS_HELLO_ERR_MAX)
		return "unknown";
	return error_names[e - 1];
}

const char *tls_version_name(uint16_t v, char buf[8])
{
	static const char *const names[] = { "SSL3.0", "TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3" };

	if (v >= 0x0300 && v <= 0x0304)
		return names[v - 0x0300];
	snprintf(buf, 8, "0x%04x", v);
	return buf;
}

/* RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa. */
static bool grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* A bounded reader: every take checks what is left, a failed one sticks. */
struct cur {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static bool take(struct cur *c, size_t n, const uint8_t **out)
{
	if (c->bad || n > c->left) {
		c->bad = true;
		return false;
	}
	*out = c->p;
	c->p += n;
	c->left -= n;
	return true;
}

static uint32_t num(struct cur *c, size_t n)
{
	const uint8_t *p;
	uint32_t v = 0;

	if (!take(c, n, &p))
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* A vector with an n-byte length prefix, as its own cursor. */
static struct cur vec(struct cur *c, size_t n)
{
	struct cur v = { .bad = true };
	uint32_t len = num(c, n);

	if (!c->bad && take(c, len, &v.p)) {
		v.left = len;
		v.bad = false;
	}
	return v;
}

/* The message's header and body (the declared length must be there). */
static int message(const uint8_t *msg, size_t len, uint8_t type, struct cur *body)
{
	struct cur c = { msg, len, false };

	if (num(&c, 1) != type || c.bad)
		return len ? TLS_HELLO_ERR_NOT_HELLO : TLS_HELLO_ERR_MALFORMED;
	*body = vec(&c, 3);
	return body->bad ? TLS_HELLO_ERR_MALFORMED : 0;
}

/* server_name (RFC 6066 3): the first host_name. */
static void ext_sni(struct cur e, struct tls_client_hello *out)
{
	struct cur list = vec(&e, 2);

	while (!list.bad && list.left) {
		uint32_t type = num(&list, 1);
		struct cur name = vec(&list, 2);

		if (name.bad)
			return;
		if (type == 0 && name.left && !out->sni_len) {
			size_t n = name.left > TLS_HELLO_SNI_MAX ? TLS_HELLO_SNI_MAX : name.left;

			memcpy(out->sni, name.p, n);
			out->sni[n] = '\0';
			out->sni_len = (uint8_t)n;
		}
	}
}

/* ALPN (RFC 7301 3.1): the names that fit, comma-separated. */
static void ext_alpn(struct cur e, struct tls_client_hello *out)
{
	struct cur list = vec(&e, 2);

	while (!list.bad && list.left) {
		struct cur name = vec(&list, 1);
		size_t at = out->alpn_len, need = name.left + (at ? 1 : 0);

		if (name.bad || !name.left)
			return;
		if (at + need > TLS_HELLO_ALPN_MAX) {
			out->alpn_cut = true;
			return;
		}
		if (at)
			out->alpn[at++] = ',';
		memcpy(out->alpn + at, name.p, name.left);
		out->alpn_len = (uint8_t)(at + name.left);
		out->alpn[out->alpn_len] = '\0';
	}
}

/* supported_versions of a ClientHello (RFC 8446 4.2.1): the highest. */
static void ext_versions(struct cur e, struct tls_client_hello *out)
{
	struct cur list = vec(&e, 1);
	uint16_t best = 0;

	while (!list.bad && list.left >= 2) {
		uint16_t v = (uint16_t)num(&list, 2);

		if (!grease(v) && v > best)
			best = v;
	}
	if (best)
		out->max_version = best;
}

/* The rest of a hello's body: its extensions, each given to fn. */
static int extensions(struct cur *b, void (*fn)(uint32_t type, struct cur e, void *out), void *out)
{
	struct cur exts;

	if (b->bad)
		return TLS_HELLO_ERR_MALFORMED;
	if (!b->left)
		return 0;              /* no extensions (before TLS 1.3) */
	exts = vec(b, 2);
	while (!exts.bad && exts.left) {
		uint32_t type = num(&exts, 2);
		struct cur e = vec(&exts, 2);

		if (!e.bad)
			fn(type, e, out);
	}
	return exts.bad ? TLS_HELLO_ERR_MALFORMED : 0;
}

static void client_ext(uint32_t type, struct cur e, void *out)
{
	if (type == EXT_SERVER_NAME)
		ext_sni(e, out);
	else if (type == EXT_ALPN)
		ext_alpn(e, out);
	else if (type == EXT_SUPPORTED_VERSIONS)
		ext_versions(e, out);
}

int tls_client_hello_parse(const uint8_t *msg, size_t len, struct tls_client_hello *out)
{
	struct cur b;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = message(msg, len, HS_CLIENT_HELLO, &b);
	if (rc)
		return rc;
	out->legacy_version = out->max_version = (uint16_t)num(&b, 2);
	num(&b, 32);                   /* random */
	vec(&b, 1);                    /* legacy_session_id */
	vec(&b, 2);                    /* cipher_suites */
	vec(&b, 1);                    /* legacy_compression_methods */
	return extensions(&b, client_ext, out);
}

/* SHA-256("HelloRetryRequest"): the random of a HelloRetryRequest (RFC 8446 4.1.3). */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static void server_ext(uint32_t type, struct cur e, void *out)
{
	struct tls_server_hello *s = out;

	/* the server's supported_versions holds the version chosen */
	if (type == EXT_SUPPORTED_VERSIONS && e.left == 2)
		s->version = (uint16_t)num(&e, 2);
}

int tls_server_hello_parse(const uint8_t *msg, size_t len, struct tls_server_hello *out)
{
	const uint8_t *random = NULL;
	struct cur b;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = message(msg, len, HS_SERVER_HELLO, &b);
	if (rc)
		return rc;
	out->version = (uint16_t)num(&b, 2);
	take(&b, 32, &random);
	vec(&b, 1);                    /* legacy_session_id_echo */
	out->cipher = (uint16_t)num(&b, 2);
	num(&b, 1);                    /* legacy_compression_method */
	if (!b.bad)
		out->retry = !memcmp(random, hrr_random, sizeof(hrr_random));
	return extensions(&b, server_ext, out);
}

void tls_wire_init(struct tls_wire *w, bool server)
{
	memset(w, 0, sizeof(*w));
	w->server = server;
}

bool tls_wire_wants(const struct tls_wire *w)
{
	return !w->error && !(w->hello_done && (w->types & TLS_CT_BIT(TLS_CT_APPLICATION_DATA)));
}

void tls_wire_release(struct tls_wire *w)
{
	free(w->msg);
	w->msg = NULL;
}

static void give_up(struct tls_wire *w, enum tls_hello_error e)
{
	w->error = (uint8_t)e;
	tls_wire_release(w);
}

static void hello_parse(struct tls_wire *w)
{
	int rc = w->server ? tls_server_hello_parse(w->msg, w->msg_len, &w->hello.s)
			   : tls_client_hello_parse(w->msg, w->msg_len, &w->hello.c);

	tls_wire_release(w);
	if (rc)
		give_up(w, rc);
	else
		w->hello_done = true;
}

void tls_wire_gap(struct tls_wire *w)
{
	if (tls_wire_wants(w))
		give_up(w, TLS_HELLO_ERR_GAP);
}

/* Handshake record bytes, until the first message (the hello) is whole. */
static void hello_bytes(struct tls_wire *w, const uint8_t *p, size_t len)
{
	if (w->hello_done || w->error)
		return;
	while (len && w->hs_len < 4) {
		w->hs[w->hs_len++] = *p++;
		len--;
		if (w->hs_len < 4)
			continue;
		if (w->hs[0] != (w->server ? HS_SERVER_HELLO : HS_CLIENT_HELLO)) {
			give_up(w, TLS_HELLO_ERR_NOT_HELLO);
			return;
		}
		w->msg_want = 4 + ((uint32_t)w->hs[1] << 16 | (uint32_t)w->hs[2] << 8 | w->hs[3]);
		if (w->msg_want > TLS_HELLO_MAX_MSG) {
			give_up(w, TLS_HELLO_ERR_TOO_LONG);
			return;
		}
		w->msg = malloc(w->msg_want);
		if (!w->msg) {
			give_up(w, TLS_HELLO_ERR_NO_MEMORY);
			return;
		}
		memcpy(w->msg, w->hs, 4);
		w->msg_len = 4;
	}
	if (w->hs_len < 4)
		return;
	if (len > w->msg_want - w->msg_len)
		len = w->msg_want - w->msg_len;
	memcpy(w->msg + w->msg_len, p, len);
	w->msg_len += (uint32_t)len;
	if (w->msg_len == w->msg_want)
		hello_parse(w);
}

/* The body bytes of the current record, from offset `at` of it. */
static void record_bytes(struct tls_wire *w, size_t at, const uint8_t *p, size_t len)
{
	if (w->rec_type == TLS_CT_HANDSHAKE) {
		hello_bytes(w, p, len);
	} else if (w->rec_type == TLS_CT_ALERT && w->rec_len == 2 && !w->alert_seen) {
		/* two bytes: a plaintext alert (an encrypted one is longer) */
		for (size_t i = 0; i < len; i++) {
			if (at + i == 0) {
				w->alert_level = p[i];
			} else {
				w->alert_desc = p[i];
				w->alert_seen = true;
			}
		}
	}
}

bool tls_wire_feed(struct tls_wire *w, const uint8_t *p, size_t len)
{
	while (len && tls_wire_wants(w)) {
		size_t n;

		if (w->rec_left == 0 && w->hdr_len < 5) {
			n = (size_t)(5 - w->hdr_len) < len ? (size_t)(5 - w->hdr_len) : len;
			memcpy(w->hdr + w->hdr_len, p, n);
			w->hdr_len += (uint8_t)n;
			p += n;
			len -= n;
			if (w->hdr_len < 5)
				break;
			w->hdr_len = 0;
			w->rec_type = w->hdr[0];
			w->rec_len = w->rec_left = (uint16_t)(w->hdr[3] << 8 | w->hdr[4]);
			/* RFC 8446 5.1: types 20-23, version 3.x, a bounded length */
			if (w->rec_type < TLS_CT_CHANGE_CIPHER_SPEC || w->rec_type > TLS_CT_APPLICATION_DATA ||
			    w->hdr[1] != 3 || w->hdr[2] > 4 || w->rec_len > TLS_MAX_RECORD) {
				give_up(w, TLS_HELLO_ERR_NOT_TLS);
				break;
			}
			w->types |= (uint8_t)TLS_CT_BIT(w->rec_type);
			continue;
		}
		n = w->rec_left < len ? w->rec_left : len;
		record_bytes(w, (size_t)(w->rec_len - w->rec_left), p, n);
		w->rec_left -= (uint16_t)n;
		p += n;
		len -= n;
	}
	return tls_wire_wants(w);
}
