// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * webconfig.c - the exporter toolkit's web configuration (YAML, read with
 * libyaml's document API) checked as the toolkit checks it, plus what
 * GnuTLS needs said differently: Go's cipher suite and curve names become
 * a GnuTLS priority string.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "webconfig.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_STRING (WEBCONFIG_MAX_FILE)
#define MAX_HEADER_VALUE 4096

/*
 * Go's crypto/tls cipher suites (tls.CipherSuites(): the ones the toolkit
 * accepts) as GnuTLS key exchange, cipher and MAC. TLS 1.3 suites have no
 * key exchange of their own.
 */
struct suite {
	const char *go;
	const char *kx, *cipher, *mac;
};

static const struct suite suites[] = {
	{ "TLS_RSA_WITH_AES_128_CBC_SHA", "RSA", "AES-128-CBC", "SHA1" },
	{ "TLS_RSA_WITH_AES_256_CBC_SHA", "RSA", "AES-256-CBC", "SHA1" },
	{ "TLS_RSA_WITH_AES_128_GCM_SHA256", "RSA", "AES-128-GCM", "AEAD" },
	{ "TLS_RSA_WITH_AES_256_GCM_SHA384", "RSA", "AES-256-GCM", "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA", "AES-128-CBC", "SHA1" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA", "AES-256-CBC", "SHA1" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA", "AES-128-CBC", "SHA1" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA", "AES-256-CBC", "SHA1" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA", "AES-128-GCM", "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA", "AES-256-GCM", "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA", "AES-128-GCM", "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA", "AES-256-GCM", "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD" },
	{ "TLS_AES_128_GCM_SHA256", NULL, "AES-128-GCM", "AEAD" },
	{ "TLS_AES_256_GCM_SHA384", NULL, "AES-256-GCM", "AEAD" },
	{ "TLS_CHACHA20_POLY1305_SHA256", NULL, "CHACHA20-POLY1305", "AEAD" },
};

static const struct {
	const char *go, *gnutls;
} curves[] = {
	{ "CurveP256", "GROUP-SECP256R1" },
	{ "CurveP384", "GROUP-SECP384R1" },
	{ "CurveP521", "GROUP-SECP521R1" },
	{ "X25519", "GROUP-X25519" },
};

static const struct {
	const char *name;
	uint16_t v;
} versions[] = {
	{ "TLS10", 0x0301 }, { "TLS11", 0x0302 }, { "TLS12", 0x0303 }, { "TLS13", 0x0304 },
};

static const char *const client_auth_names[] = {
#define X(e, s) s,
	WEBCONFIG_CLIENT_AUTH(X)
#undef X
};

static const char *const header_names[] = {
#define X(e, s) s,
	WEBCONFIG_HEADERS(X)
#undef X
};

/* The values a header may take; NULL: any (no CR or LF). */
static const char *const *header_values(int h)
{
	static const char *const nosniff[] = { "nosniff", NULL };
	static const char *const frame[] = { "deny", "sameorigin", NULL };

	return h == WEB_HDR_CONTENT_TYPE_OPTIONS ? nosniff : h == WEB_HDR_FRAME_OPTIONS ? frame : NULL;
}

const char *webconfig_cipher_name(int index)
{
	return index >= 0 && index < (int)ARRAY_SIZE(suites) ? suites[index].go : NULL;
}

/* The parse: a document, where messages go, and what is being filled. */
struct pctx {
	yaml_document_t *doc;
	const char *name;
	char *err;
	size_t errlen;
	struct webconfig *c;
	bool tls_key_given; /* for the toolkit's IsEnabled(): client_auth_type set */
	int rc; /* first error */
};

__attribute__((format(printf, 3, 4)))
static int fail(struct pctx *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (p->rc)
		return p->rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line, whatever the file holds: a key quoted from YAML may span
	 * lines (a folded plain scalar) or hold control characters. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (n)
		snprintf(p->err, p->errlen, "%s:%zu: %s", p->name, n->start_mark.line + 1, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->name, msg);
	p->rc = -EINVAL;
	return p->rc;
}

static int nomem(struct pctx *p)
{
	if (!p->rc) {
		snprintf(p->err, p->errlen, "%s: out of memory", p->name);
		p->rc = -ENOMEM;
	}
	return p->rc;
}

static yaml_node_t *node(struct pctx *p, int index)
{
	return yaml_document_get_node(p->doc, index);
}

static bool is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* YAML's null: an empty plain scalar, ~ or null (or the !!null tag). */
static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE)
		return false;
	if (n->tag && !strcmp((const char *)n->tag, YAML_NULL_TAG))
		return true;
	return is_plain(n) && (n->data.scalar.length == 0 || scalar_is(n, "~") || scalar_is(n, "null") ||
			       scalar_is(n, "Null") || scalar_is(n, "NULL"));
}

/* A scalar as a new C string; NUL bytes inside are an error. */
static int get_string(struct pctx *p, const yaml_node_t *n, const char *key, size_t max, char **out)
{
	size_t len;

	if (n->type != YAML_SCALAR_NODE)
		return fail(p, n, "%s: expected a string, found a %s", key,
			    n->type == YAML_MAPPING_NODE ? "mapping" : "list");
	len = n->data.scalar.length;
	if (memchr(n->data.scalar.value, '\0', len))
		return fail(p, n, "%s: the value contains a NUL byte", key);
	if (len > max)
		return fail(p, n, "%s: the value is longer than %zu bytes", key, max);
	free(*out);
	*out = NULL;
	if (is_null(n))
		return 0; /* as Go: null into a string is "" */
	*out = strndup((const char *)n->data.scalar.value, len);
	return *out ? 0 : nomem(p);
}

/* YAML 1.1 booleans, as Go's yaml.v2 reads them. */
static int get_bool(struct pctx *p, const yaml_node_t *n, const char *key, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };

	if (is_plain(n)) {
		for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
			if (scalar_is(n, yes[i])) {
				*out = true;
				return 0;
			}
			if (scalar_is(n, no[i])) {
				*out = false;
				return 0;
			}
		}
	}
	return fail(p, n, "%s: expected true or false", key);
}

/* What a value names in a message: its first 60 bytes, quoted. */
static const char *shown(const yaml_node_t *n, char *buf, size_t len)
{
	size_t l;

	if (n->type != YAML_SCALAR_NODE)
		return n->type == YAML_MAPPING_NODE ? "a mapping" : "a list";
	l = n->data.scalar.length < 60 ? n->data.scalar.length : 60;
	snprintf(buf, len, "\"%.*s%s\"", (int)l, (const char *)n->data.scalar.value,
		 n->data.scalar.length > 60 ? "..." : "");
	for (char *s = buf; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	return buf;
}

typedef int (*key_fn)(struct pctx *p, const yaml_node_t *key, const char *k, const yaml_node_t *v);

/*
 * Walks a mapping (null is an empty one), calling fn for each key, which
 * must be a string and appear once (yaml.v2's UnmarshalStrict rejects
 * both too).
 */
static int each_key(struct pctx *p, const yaml_node_t *m, const char *where, key_fn fn)
{
	char keybuf[128], shown_buf[80];

	if (is_null(m))
		return 0;
	if (m->type != YAML_MAPPING_NODE)
		return fail(p, m, "%s: expected a mapping, found %s", where, shown(m, shown_buf, sizeof(shown_buf)));
	for (yaml_node_pair_t *pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = node(p, pair->key), *v = node(p, pair->value);

		if (!k || !v)
			return fail(p, m, "%s: malformed mapping", where);
		if (k->type != YAML_SCALAR_NODE || k->data.scalar.length >= sizeof(keybuf) ||
		    memchr(k->data.scalar.value, '\0', k->data.scalar.length))
			return fail(p, k, "%s: a key that is not a short string: %s", where,
				    shown(k, shown_buf, sizeof(shown_buf)));
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < pair; q++) {
			const yaml_node_t *k2 = node(p, q->key);

			if (k2 && k2->type == YAML_SCALAR_NODE && k2->data.scalar.length == k->data.scalar.length &&
			    !memcmp(k2->data.scalar.value, k->data.scalar.value, k->data.scalar.length))
				return fail(p, k, "%s: key %s appears twice", where, shown(k, shown_buf, sizeof(shown_buf)));
		}
		memcpy(keybuf, k->data.scalar.value, k->data.scalar.length);
		keybuf[k->data.scalar.length] = '\0';
		if (fn(p, k, keybuf, v))
			return p->rc;
	}
	return 0;
}

/* A list of strings (null is empty); fn takes each. */
typedef int (*item_fn)(struct pctx *p, const yaml_node_t *item, const char *s, size_t len);

static int each_item(struct pctx *p, const yaml_node_t *l, const char *key, item_fn fn)
{
	char buf[80];

	if (is_null(l))
		return 0;
	if (l->type != YAML_SEQUENCE_NODE)
		return fail(p, l, "%s: expected a list, found %s", key, shown(l, buf, sizeof(buf)));
	for (yaml_node_item_t *it = l->data.sequence.items.start; it < l->data.sequence.items.top; it++) {
		const yaml_node_t *v = node(p, *it);

		if (!v)
			return fail(p, l, "%s: malformed list", key);
		if (v->type != YAML_SCALAR_NODE || memchr(v->data.scalar.value, '\0', v->data.scalar.length))
			return fail(p, v, "%s: expected a list of strings, found %s", key, shown(v, buf, sizeof(buf)));
		if (fn(p, v, (const char *)v->data.scalar.value, v->data.scalar.length))
			return p->rc;
	}
	return 0;
}

static bool same(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && !memcmp(s, lit, len);
}

static int cipher_item(struct pctx *p, const yaml_node_t *n, const char *s, size_t len)
{
	char buf[80];

	for (size_t i = 0; i < ARRAY_SIZE(suites); i++) {
		if (!same(s, len, suites[i].go))
			continue;
		for (int j = 0; j < p->c->n_ciphers; j++)
			if (p->c->ciphers[j] == i)
				return fail(p, n, "tls_server_config.cipher_suites: %s is listed twice", suites[i].go);
		p->c->ciphers[p->c->n_ciphers++] = (uint8_t)i;
		return 0;
	}
	return fail(p, n, "tls_server_config.cipher_suites: unknown cipher %s (Go's names, e.g."
		    " TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", shown(n, buf, sizeof(buf)));
}

static int curve_item(struct pctx *p, const yaml_node_t *n, const char *s, size_t len)
{
	char buf[80];

	for (size_t i = 0; i < ARRAY_SIZE(curves); i++) {
		if (!same(s, len, curves[i].go))
			continue;
		for (int j = 0; j < p->c->n_curves; j++)
			if (p->c->curves[j] == i)
				return fail(p, n, "tls_server_config.curve_preferences: %s is listed twice", curves[i].go);
		p->c->curves[p->c->n_curves++] = (uint8_t)i;
		return 0;
	}
	return fail(p, n, "tls_server_config.curve_preferences: unknown curve %s (CurveP256, CurveP384,"
		    " CurveP521, X25519)", shown(n, buf, sizeof(buf)));
}

static int san_item(struct pctx *p, const yaml_node_t *n, const char *s, size_t len)
{
	struct webconfig *c = p->c;
	char **grown;

	if (c->n_allowed_sans >= WEBCONFIG_MAX_SANS)
		return fail(p, n, "tls_server_config.client_allowed_sans: more than %d entries", WEBCONFIG_MAX_SANS);
	if (len == 0 || len > 1024)
		return fail(p, n, "tls_server_config.client_allowed_sans: an entry is empty or longer than 1024 bytes");
	grown = realloc(c->allowed_sans, (c->n_allowed_sans + 1) * sizeof(*grown));
	if (!grown)
		return nomem(p);
	c->allowed_sans = grown;
	if (!(grown[c->n_allowed_sans] = strndup(s, len)))
		return nomem(p);
	c->n_allowed_sans++;
	return 0;
}

static int tls_version(struct pctx *p, const yaml_node_t *v, const char *key, uint16_t *out)
{
	char buf[80];

	for (size_t i = 0; i < ARRAY_SIZE(versions); i++)
		if (scalar_is(v, versions[i].name)) {
			*out = versions[i].v;
			return 0;
		}
	return fail(p, v, "tls_server_config.%s: unknown TLS version %s (TLS10, TLS11, TLS12, TLS13)", key,
		    shown(v, buf, sizeof(buf)));
}

static int tls_key(struct pctx *p, const yaml_node_t *k, const char *key, const yaml_node_t *v)
{
	struct webconfig *c = p->c;
	char buf[80], path[64];

	snprintf(path, sizeof(path), "tls_server_config.%s", key);
	if (!strcmp(key, "cert_file"))
		return get_string(p, v, path, 4096, &c->cert_file);
	if (!strcmp(key, "key_file"))
		return get_string(p, v, path, 4096, &c->key_file);
	if (!strcmp(key, "client_ca_file"))
		return get_string(p, v, path, 4096, &c->client_ca_file);
	if (!strcmp(key, "cert"))
		return get_string(p, v, path, MAX_STRING, &c->cert);
	if (!strcmp(key, "key"))
		return get_string(p, v, path, MAX_STRING, &c->key);
	if (!strcmp(key, "client_ca"))
		return get_string(p, v, path, MAX_STRING, &c->client_ca);
	if (!strcmp(key, "client_auth_type")) {
		if (is_null(v) || scalar_is(v, ""))
			return 0;
		for (size_t i = 0; i < ARRAY_SIZE(client_auth_names); i++)
			if (scalar_is(v, client_auth_names[i])) {
				c->client_auth = (enum webconfig_client_auth)i;
				p->tls_key_given = true;
				return 0;
			}
		/* The toolkit's old name, kept for compatibility as it does. */
		if (scalar_is(v, "RequireClientCert")) {
			c->client_auth = WEB_REQUIRE_ANY_CLIENT_CERT;
			p->tls_key_given = true;
			return 0;
		}
		return fail(p, v, "%s: unknown value %s (NoClientCert, RequestClientCert, RequireAnyClientCert,"
			    " VerifyClientCertIfGiven, RequireAndVerifyClientCert)", path, shown(v, buf, sizeof(buf)));
	}
	if (!strcmp(key, "min_version"))
		return tls_version(p, v, key, &c->min_version);
	if (!strcmp(key, "max_version"))
		return tls_version(p, v, key, &c->max_version);
	if (!strcmp(key, "prefer_server_cipher_suites"))
		return get_bool(p, v, path, &c->prefer_server_cipher_suites);
	if (!strcmp(key, "cipher_suites")) {
		c->n_ciphers = 0;
		if (v->type == YAML_SEQUENCE_NODE &&
		    v->data.sequence.items.top - v->data.sequence.items.start > (long)ARRAY_SIZE(suites))
			return fail(p, v, "%s: more entries than there are suites", path);
		return each_item(p, v, path, cipher_item);
	}
	if (!strcmp(key, "curve_preferences")) {
		c->n_curves = 0;
		if (v->type == YAML_SEQUENCE_NODE &&
		    v->data.sequence.items.top - v->data.sequence.items.start > (long)ARRAY_SIZE(curves))
			return fail(p, v, "%s: more entries than there are curves", path);
		return each_item(p, v, path, curve_item);
	}
	if (!strcmp(key, "client_allowed_sans"))
		return each_item(p, v, path, san_item);
	return fail(p, k, "unknown key \"%s\" in tls_server_config", key);
}

static int header_key(struct pctx *p, const yaml_node_t *k, const char *key, const yaml_node_t *v)
{
	struct webconfig *c = p->c;
	char path[96], buf[80];

	for (int h = 0; h < WEB_HDR_MAX; h++) {
		const char *const *allowed = header_values(h);
		char *value = NULL;

		if (strcmp(key, header_names[h]))
			continue;
		snprintf(path, sizeof(path), "http_server_config.headers.%s", key);
		if (get_string(p, v, path, MAX_HEADER_VALUE, &value))
			return p->rc;
		free(c->headers[h]);
		c->headers[h] = NULL;
		if (!value || !*value) { /* "Unset if blank" */
			free(value);
			return 0;
		}
		c->headers[h] = value;
		if (strpbrk(value, "\r\n"))
			return fail(p, v, "%s: the value contains a line break", path);
		if (!allowed)
			return 0;
		for (int i = 0; allowed[i]; i++)
			if (!strcmp(value, allowed[i]))
				return 0;
		return fail(p, v, "%s: invalid value %s (expected %s%s)", path, shown(v, buf, sizeof(buf)),
			    allowed[0], allowed[1] ? " or sameorigin" : "");
	}
	return fail(p, k, "http_server_config.headers: HTTP header \"%s\" can not be configured (only"
		    " Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, X-XSS-Protection,"
		    " Strict-Transport-Security)", key);
}

static int http_key(struct pctx *p, const yaml_node_t *k, const char *key, const yaml_node_t *v)
{
	if (!strcmp(key, "http2"))
		return get_bool(p, v, "http_server_config.http2", &p->c->http2);
	if (!strcmp(key, "headers"))
		return each_key(p, v, "http_server_config.headers", header_key);
	return fail(p, k, "unknown key \"%s\" in http_server_config", key);
}

static int user_key(struct pctx *p, const yaml_node_t *k, const char *key, const yaml_node_t *v)
{
	struct webconfig *c = p->c;
	struct webconfig_user *u, *grown;
	char path[160];

	(void)k;
	if (c->n_users >= WEBCONFIG_MAX_USERS)
		return fail(p, v, "basic_auth_users: more than %d users", WEBCONFIG_MAX_USERS);
	grown = realloc(c->users, (c->n_users + 1) * sizeof(*grown));
	if (!grown)
		return nomem(p);
	c->users = grown;
	u = &c->users[c->n_users];
	memset(u, 0, sizeof(*u));
	if (!(u->name = strdup(key)))
		return nomem(p);
	c->n_users++;
	snprintf(path, sizeof(path), "basic_auth_users.%.128s", key);
	if (get_string(p, v, path, 4096, &u->hash))
		return p->rc;
	if (strchr(key, ':'))
		return fail(p, k, "%s: a user name cannot contain ':' (basic authentication splits on it)", path);
	if (!u->hash || webconfig_bcrypt_cost(u->hash) < 0)
		return fail(p, v, "%s: not a bcrypt hash (like $2y$10$ and 53 more characters; see"
			    " htpasswd -nBC 10)", path);
	return 0;
}

/* Go's time.ParseDuration, without signs: "1s", "1.5m", "100ms", "1h2m". */
static int parse_duration(const char *s, size_t len, uint64_t *out)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 },
		{ "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	const char *end = s + len;
	double total = 0;

	if (len == 1 && *s == '0') {
		*out = 0;
		return 0;
	}
	if (len == 0)
		return -EINVAL;
	while (s < end) {
		double v = 0, scale = 1;
		bool digits = false;
		size_t best = 0;
		int unit = -1;

		for (; s < end && *s >= '0' && *s <= '9'; s++, digits = true)
			v = v * 10 + (*s - '0');
		if (s < end && *s == '.')
			for (s++; s < end && *s >= '0' && *s <= '9'; s++, digits = true)
				v += (*s - '0') * (scale /= 10);
		if (!digits)
			return -EINVAL;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			size_t ul = strlen(units[i].unit);

			if ((size_t)(end - s) >= ul && !memcmp(s, units[i].unit, ul) && ul > best) {
				best = ul;
				unit = (int)i;
			}
		}
		if (unit < 0)
			return -EINVAL;
		s += best;
		total += v * units[unit].ns;
		if (total > 9.2e18)
			return -ERANGE;
	}
	*out = (uint64_t)total;
	return 0;
}

static int rate_key(struct pctx *p, const yaml_node_t *k, const char *key, const yaml_node_t *v)
{
	struct webconfig *c = p->c;
	char buf[80];

	if (!strcmp(key, "interval")) {
		if (is_null(v))
			return 0;
		if (v->type != YAML_SCALAR_NODE ||
		    parse_duration((const char *)v->data.scalar.value, v->data.scalar.length, &c->rate_interval_ns))
			return fail(p, v, "rate_limit.interval: invalid duration %s (e.g. 100ms, 1s, 1m)",
				    shown(v, buf, sizeof(buf)));
		return 0;
	}
	if (!strcmp(key, "burst")) {
		unsigned long n = 0;
		size_t i;

		if (is_null(v))
			return 0;
		if (!is_plain(v) || v->data.scalar.length == 0 || v->data.scalar.length > 9)
			goto bad_burst;
		for (i = 0; i < v->data.scalar.length; i++) {
			char ch = (char)v->data.scalar.value[i];

			if (ch < '0' || ch > '9')
				goto bad_burst;
			n = n * 10 + (unsigned long)(ch - '0');
		}
		c->rate_burst = (uint32_t)n;
		return 0;
bad_burst:
		return fail(p, v, "rate_limit.burst: expected a number of requests, not %s", shown(v, buf, sizeof(buf)));
	}
	return fail(p, k, "unknown key \"%s\" in rate_limit", key);
}

static int top_key(struct pctx *p, const yaml_node_t *k, const char *key, const yaml_node_t *v)
{
	if (!strcmp(key, "tls_server_config"))
		return each_key(p, v, "tls_server_config", tls_key);
	if (!strcmp(key, "http_server_config"))
		return each_key(p, v, "http_server_config", http_key);
	if (!strcmp(key, "basic_auth_users"))
		return each_key(p, v, "basic_auth_users", user_key);
	if (!strcmp(key, "rate_limit"))
		return each_key(p, v, "rate_limit", rate_key);
	return fail(p, k, "unknown key \"%s\" (tls_server_config, http_server_config, basic_auth_users,"
		    " rate_limit)", key);
}

/* Appends to the priority string; false when it would not fit. */
static bool cat(char *buf, size_t len, const char *s)
{
	size_t used = strlen(buf);

	if (used + strlen(s) + 2 > len)
		return false;
	if (used)
		buf[used++] = ':';
	strcpy(buf + used, s);
	return true;
}

/* Whether list (NULL-terminated) holds s. */
static bool listed(const char *const *list, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (list[i] && !strcmp(list[i], s))
			return true;
	return false;
}

/*
 * GnuTLS enables key exchanges, ciphers and MACs as sets, not suite by
 * suite: the list must hold every Go suite those sets make, or it would
 * enable suites it does not name. TLS 1.3 uses the listed AEAD ciphers.
 */
static int build_priority(struct pctx *p, const yaml_node_t *root)
{
	struct webconfig *c = p->c;
	const char *kx[8], *ci[8], *mac[4];
	int nkx = 0, nci = 0, nmac = 0;
	char prio[512] = "NORMAL";
	char item[64];
	bool ok = cat(prio, sizeof(prio), "-VERS-ALL");

	for (int v = c->max_version; v >= c->min_version; v--) {
		snprintf(item, sizeof(item), "+VERS-TLS1.%d", v - 0x0301);
		ok = ok && cat(prio, sizeof(prio), item);
	}
	if (c->n_ciphers) {
		bool tls12 = c->min_version <= 0x0303, tls13 = c->max_version >= 0x0304;
		bool has12 = false, has13 = false;

		for (int i = 0; i < c->n_ciphers; i++) {
			const struct suite *s = &suites[c->ciphers[i]];

			if (s->kx && !listed(kx, nkx, s->kx))
				kx[nkx++] = s->kx;
			if (!listed(ci, nci, s->cipher))
				ci[nci++] = s->cipher;
			if (!listed(mac, nmac, s->mac))
				mac[nmac++] = s->mac;
			has12 |= s->kx != NULL;
			has13 |= !strcmp(s->mac, "AEAD");
		}
		for (size_t i = 0; i < ARRAY_SIZE(suites); i++) {
			const struct suite *s = &suites[i];
			bool named = false;

			if (!s->kx || !listed(kx, nkx, s->kx) || !listed(ci, nci, s->cipher) || !listed(mac, nmac, s->mac))
				continue;
			for (int j = 0; j < c->n_ciphers; j++)
				named |= c->ciphers[j] == i;
			if (!named)
				return fail(p, root, "tls_server_config.cipher_suites: GnuTLS enables key exchanges,"
					    " ciphers and MACs as sets, so this list would also enable %s: add it, or"
					    " remove what makes it", s->go);
		}
		if (tls12 && !has12)
			return fail(p, root, "tls_server_config.cipher_suites: no suite for TLS 1.2, which"
				    " min_version allows: add one, or set min_version: TLS13");
		if (tls13 && !has13)
			return fail(p, root, "tls_server_config.cipher_suites: no AES-GCM or CHACHA20 suite, which"
				    " TLS 1.3 needs (max_version TLS13): add one, or set max_version: TLS12");
		ok = ok && cat(prio, sizeof(prio), "-CIPHER-ALL");
		for (int i = 0; i < nci; i++)
			ok = ok && snprintf(item, sizeof(item), "+%s", ci[i]) > 0 && cat(prio, sizeof(prio), item);
		ok = ok && cat(prio, sizeof(prio), "-KX-ALL");
		for (int i = 0; i < nkx; i++)
			ok = ok && snprintf(item, sizeof(item), "+%s", kx[i]) > 0 && cat(prio, sizeof(prio), item);
		ok = ok && cat(prio, sizeof(prio), "-MAC-ALL");
		for (int i = 0; i < nmac; i++)
			ok = ok && snprintf(item, sizeof(item), "+%s", mac[i]) > 0 && cat(prio, sizeof(prio), item);
	}
	if (c->n_curves) {
		ok = ok && cat(prio, sizeof(prio), "-GROUP-ALL");
		for (int i = 0; i < c->n_curves; i++) {
			snprintf(item, sizeof(item), "+%s", curves[c->curves[i]].gnutls);
			ok = ok && cat(prio, sizeof(prio), item);
		}
	}
	if (c->prefer_server_cipher_suites)
		ok = ok && cat(prio, sizeof(prio), "%SERVER_PRECEDENCE");
	if (!ok)
		return fail(p, root, "tls_server_config: the GnuTLS priority string is too long");
	c->priority = strdup(prio);
	return c->priority ? 0 : nomem(p);
}

/* The toolkit's checks across keys (ConfigToTLSConfig, validateTLSPaths). */
static int check_tls(struct pctx *p, const yaml_node_t *root)
{
	struct webconfig *c = p->c;
	bool ca = c->client_ca_file || c->client_ca;

	c->tls = p->tls_key_given || c->cert_file || c->cert || c->key_file || c->key || ca;
	/* Wrong even while TLS is off: it would be at the next edit that adds a cert. */
	if (c->min_version > c->max_version)
		return fail(p, root, "tls_server_config: min_version is above max_version");
	if (!c->tls)
		return 0;
	if (!c->cert_file && !c->cert)
		return fail(p, root, "tls_server_config: missing one of cert or cert_file");
	if (!c->key_file && !c->key)
		return fail(p, root, "tls_server_config: missing one of key or key_file");
	if (c->cert_file && c->cert)
		return fail(p, root, "tls_server_config: cert and cert_file are both set: keep one");
	if (c->key_file && c->key)
		return fail(p, root, "tls_server_config: key and key_file are both set: keep one");
	if (c->client_ca_file && c->client_ca)
		return fail(p, root, "tls_server_config: client_ca and client_ca_file are both set: keep one");
	if (ca && c->client_auth == WEB_NO_CLIENT_CERT)
		return fail(p, root, "tls_server_config: client CAs are configured without a client auth policy:"
			    " set client_auth_type (RequireAndVerifyClientCert)");
	/* Go would verify against an empty pool and refuse every certificate. */
	if (!ca && (c->client_auth == WEB_VERIFY_CLIENT_CERT_IF_GIVEN ||
		    c->client_auth == WEB_REQUIRE_AND_VERIFY_CLIENT_CERT))
		return fail(p, root, "tls_server_config: client_auth_type %s needs client_ca_file (or client_ca)",
			    client_auth_names[c->client_auth]);
	return build_priority(p, root);
}

static int parse_doc(struct pctx *p)
{
	yaml_node_t *root = yaml_document_get_root_node(p->doc);

	if (!root || is_null(root))
		return 0; /* an empty file: plain HTTP, no authentication */
	if (root->type != YAML_MAPPING_NODE)
		return fail(p, root, "expected a mapping of tls_server_config, http_server_config,"
			    " basic_auth_users, rate_limit");
	if (each_key(p, root, "the file", top_key) || check_tls(p, root))
		return p->rc;
	if (p->c->rate_interval_ns && !p->c->rate_burst)
		return fail(p, root, "rate_limit.burst: must be at least 1 when an interval is set");
	return 0;
}

int webconfig_parse(const char *name, const char *text, size_t len, struct webconfig **out, char *err,
		    size_t errlen)
{
	struct pctx p = { .name = name, .err = err, .errlen = errlen };
	yaml_document_t doc, next;
	yaml_parser_t parser;
	bool have_doc = false;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (len > WEBCONFIG_MAX_FILE)
		return fail(&p, NULL, "larger than %d bytes", WEBCONFIG_MAX_FILE);
	p.c = calloc(1, sizeof(*p.c));
	if (!p.c)
		return nomem(&p);
	p.c->min_version = 0x0303; /* the toolkit's defaults */
	p.c->max_version = 0x0304;
	p.c->prefer_server_cipher_suites = true;
	p.c->http2 = true;
	p.c->source = strdup(name);
	if (!p.c->source) {
		webconfig_free(p.c);
		return nomem(&p);
	}
	if (!yaml_parser_initialize(&parser)) {
		webconfig_free(p.c);
		return nomem(&p);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		fail(&p, NULL, "not YAML: %s (line %zu)", parser.problem ? parser.problem : "syntax error",
		     parser.problem_mark.line + 1);
		goto out;
	}
	have_doc = true;
	if (yaml_document_get_root_node(&doc)) {
		/* A second document would be ignored by Go: say so instead. */
		if (!yaml_parser_load(&parser, &next)) {
			fail(&p, NULL, "not YAML: %s (line %zu)", parser.problem ? parser.problem : "syntax error",
			     parser.problem_mark.line + 1);
			goto out;
		}
		if (yaml_document_get_root_node(&next))
			fail(&p, NULL, "more than one YAML document");
		yaml_document_delete(&next);
		if (p.rc)
			goto out;
	}
	p.doc = &doc;
	parse_doc(&p);
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (p.rc) {
		webconfig_free(p.c);
		return p.rc;
	}
	*out = p.c;
	return 0;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void webconfig_free(struct webconfig *c)
{
	if (!c)
		return;
	free(c->source);
	free(c->cert_file);
	free(c->key_file);
	free(c->client_ca_file);
	free(c->cert);
	wipe_free(c->key);
	free(c->client_ca);
	for (int i = 0; i < c->n_allowed_sans; i++)
		free(c->allowed_sans[i]);
	free(c->allowed_sans);
	free(c->priority);
	for (int i = 0; i < WEB_HDR_MAX; i++)
		free(c->headers[i]);
	for (int i = 0; i < c->n_users; i++) {
		free(c->users[i].name);
		wipe_free(c->users[i].hash);
	}
	free(c->users);
	free(c);
}

const struct webconfig_user *webconfig_user(const struct webconfig *c, const char *name)
{
	for (int i = 0; c && i < c->n_users; i++)
		if (!strcmp(c->users[i].name, name))
			return &c->users[i];
	return NULL;
}

int webconfig_bcrypt_cost(const char *h)
{
	static const char b64[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	int cost;

	/* $2a$, $2b$, $2y$ (libxcrypt reads all three), cost, 22 + 31 characters */
	if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[3] != '$' ||
	    h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$')
		return -EINVAL;
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return -EINVAL;
	for (int i = 7; i < 60; i++)
		if (!strchr(b64, h[i]))
			return -EINVAL;
	return cost;
}

bool webconfig_password_ok(const char *hash, const char *password)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	unsigned char diff = 0;
	size_t n = strlen(hash);
	const char *out;
	bool ok = false;

	if (!cd || webconfig_bcrypt_cost(hash) < 0) {
		free(cd);
		return false;
	}
	out = crypt_rn(password, hash, cd, sizeof(*cd));
	if (out && out[0] != '*' && strlen(out) == n) {
		/* Constant time: how much of the hash matches must not show. */
		for (size_t i = 0; i < n; i++)
			diff |= (unsigned char)(out[i] ^ hash[i]);
		ok = diff == 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* Reads a whole file (at most WEBCONFIG_MAX_FILE) as a string. */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen, const char *what)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot read %s: %s", what, path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		snprintf(err, errlen, "%s: %s is not a regular file", what, path);
		goto out;
	}
	if (st.st_size > WEBCONFIG_MAX_FILE) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: %s is larger than %d bytes", what, path, WEBCONFIG_MAX_FILE);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", what);
		goto out;
	}
	while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: cannot read %s: %s", what, path, strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Relative paths are relative to the web config's folder (the toolkit's SetDirectory). */
static int load_pem(const char *cfg_path, const char *file, const char *key, char **pem, char *err,
		    size_t errlen)
{
	const char *slash = strrchr(cfg_path, '/');
	char what[300], *full = NULL, *text;
	size_t len;
	int rc;

	if (!file)
		return 0;
	if (!*file) {
		snprintf(err, errlen, "%s: tls_server_config.%s: empty path", cfg_path, key);
		return -EINVAL;
	}
	if (file[0] != '/' && slash) {
		if (asprintf(&full, "%.*s/%s", (int)(slash - cfg_path), cfg_path, file) < 0)
			return -ENOMEM;
		file = full;
	}
	snprintf(what, sizeof(what), "%s: tls_server_config.%s", cfg_path, key);
	rc = read_file(file, &text, &len, err, errlen, what);
	if (!rc && memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: %s is not PEM text", what, file);
		rc = -EINVAL;
	}
	if (rc) {
		if (text)
			wipe_free(text);
	} else {
		*pem = text;
	}
	free(full);
	return rc;
}

int webconfig_load(const char *path, struct webconfig **out, char *err, size_t errlen)
{
	struct webconfig *c = NULL;
	char *text;
	size_t len;
	int rc;

	*out = NULL;
	rc = read_file(path, &text, &len, err, errlen, "web config");
	if (rc)
		return rc == -EINVAL || rc == -EISDIR ? -EACCES : rc;
	rc = webconfig_parse(path, text, len, &c, err, errlen);
	free(text);
	if (rc)
		return rc;
	if (c->tls) {
		rc = load_pem(path, c->cert_file, "cert_file", &c->cert, err, errlen);
		if (!rc)
			rc = load_pem(path, c->key_file, "key_file", &c->key, err, errlen);
		if (!rc)
			rc = load_pem(path, c->client_ca_file, "client_ca_file", &c->client_ca, err, errlen);
		if (rc) {
			webconfig_free(c);
			return rc == -EISDIR ? -EINVAL : rc;
		}
	}
	*out = c;
	return 0;
}
