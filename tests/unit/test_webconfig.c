// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The web configuration file (webconfig.h): every key of the exporter
 * toolkit's format, the toolkit's cross-key checks, the errors (one line
 * naming the key, with its line), loading the files it names, and the
 * bcrypt checks.
 */
#include <crypt.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "guard_page.h"
#include "service/webconfig.h"

#define HASH "$2y$10$KBohgU5jAj39ykSIJBCLXuE6YpzJKiH1LMbdwNmJdDSBvxzmquuUe"

/* Parses text placed just before an unmapped page. */
static int parse(const char *text, struct webconfig **c, char *err, size_t errlen)
{
	struct guard_buf g;
	const uint8_t *p = guard_copy(&g, text, strlen(text));
	int rc = webconfig_parse("web.yml", (const char *)p, strlen(text), c, err, errlen);

	guard_free(&g);
	return rc;
}

static struct webconfig *ok(const char *text)
{
	struct webconfig *c = NULL;
	char err[512];

	if (parse(text, &c, err, sizeof(err))) {
		fprintf(stderr, "%s\n-> %s\n", text, err);
		fail();
	}
	assert_non_null(c);
	return c;
}

/* The text is refused with an error holding want (and nothing is returned). */
static void bad(const char *text, const char *want)
{
	struct webconfig *c = (struct webconfig *)1;
	char err[512] = "";
	int rc = parse(text, &c, err, sizeof(err));

	if (rc != -EINVAL || !strstr(err, want)) {
		fprintf(stderr, "%s\n-> %d \"%s\", want \"%s\"\n", text, rc, err, want);
		fail();
	}
	assert_null(c);
	assert_non_null(strchr(err, ':'));
	assert_null(strchr(err, '\n')); /* one line */
}

static void test_empty_means_defaults(void **state)
{
	static const char *const texts[] = {
		"", "# nothing\n", "---\n", "~\n", "null\n", "tls_server_config:\nbasic_auth_users:\n",
		"tls_server_config: {}\nhttp_server_config: {}\nbasic_auth_users: {}\nrate_limit: {}\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct webconfig *c = ok(texts[i]);

		assert_false(c->tls);
		assert_int_equal(c->n_users, 0);
		assert_true(c->http2);
		assert_true(c->prefer_server_cipher_suites);
		assert_int_equal(c->min_version, 0x0303);
		assert_int_equal(c->max_version, 0x0304);
		assert_int_equal(c->rate_interval_ns, 0);
		assert_null(c->priority);
		assert_string_equal(c->source, "web.yml");
		webconfig_free(c);
	}
}

static void test_every_key(void **state)
{
	struct webconfig *c;

	(void)state;
	c = ok("# the toolkit's keys, all of them\n"
	       "tls_server_config:\n"
	       "  cert_file: server.crt\n"
	       "  key_file: \"server.key\"\n"
	       "  client_auth_type: RequireAndVerifyClientCert\n"
	       "  client_ca_file: 'ca.crt'\n"
	       "  client_allowed_sans: [prometheus.example, 10.0.0.1]\n"
	       "  min_version: TLS12\n"
	       "  max_version: TLS13\n"
	       "  prefer_server_cipher_suites: false\n"
	       "  cipher_suites:\n"
	       "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
	       "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
	       "  curve_preferences: [X25519, CurveP256]\n"
	       "http_server_config:\n"
	       "  http2: false\n"
	       "  headers:\n"
	       "    Content-Security-Policy: default-src 'self'\n"
	       "    X-Frame-Options: sameorigin\n"
	       "    X-Content-Type-Options: nosniff\n"
	       "    X-XSS-Protection: 1; mode=block\n"
	       "    Strict-Transport-Security: max-age=31536000\n"
	       "basic_auth_users:\n"
	       "  alice: " HASH "\n"
	       "  bob: '$2b$04$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui'\n"
	       "rate_limit:\n"
	       "  interval: 1m30s\n"
	       "  burst: 5\n");
	assert_true(c->tls);
	assert_string_equal(c->cert_file, "server.crt");
	assert_string_equal(c->key_file, "server.key");
	assert_string_equal(c->client_ca_file, "ca.crt");
	assert_null(c->cert);
	assert_int_equal(c->client_auth, WEB_REQUIRE_AND_VERIFY_CLIENT_CERT);
	assert_int_equal(c->n_allowed_sans, 2);
	assert_string_equal(c->allowed_sans[1], "10.0.0.1");
	assert_false(c->prefer_server_cipher_suites);
	assert_int_equal(c->n_ciphers, 2);
	assert_string_equal(webconfig_cipher_name(c->ciphers[0]), "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
	assert_int_equal(c->n_curves, 2);
	assert_string_equal(c->priority, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:"
			    "+AES-128-GCM:-KX-ALL:+ECDHE-RSA:-MAC-ALL:+AEAD:-GROUP-ALL:+GROUP-X25519:"
			    "+GROUP-SECP256R1");
	assert_false(c->http2);
	assert_string_equal(c->headers[WEB_HDR_CSP], "default-src 'self'");
	assert_string_equal(c->headers[WEB_HDR_FRAME_OPTIONS], "sameorigin");
	assert_string_equal(c->headers[WEB_HDR_CONTENT_TYPE_OPTIONS], "nosniff");
	assert_string_equal(c->headers[WEB_HDR_XSS_PROTECTION], "1; mode=block");
	assert_string_equal(c->headers[WEB_HDR_HSTS], "max-age=31536000");
	assert_int_equal(c->n_users, 2);
	assert_string_equal(webconfig_user(c, "alice")->hash, HASH);
	assert_non_null(webconfig_user(c, "bob"));
	assert_null(webconfig_user(c, "carol"));
	assert_int_equal(c->rate_interval_ns, 90000000000ull);
	assert_int_equal(c->rate_burst, 5);
	webconfig_free(c);
}

static void test_tls_keys(void **state)
{
	static const struct {
		const char *value;
		enum webconfig_client_auth want;
	} auth[] = {
		{ "NoClientCert", WEB_NO_CLIENT_CERT },
		{ "RequestClientCert", WEB_REQUEST_CLIENT_CERT },
		{ "RequireAnyClientCert", WEB_REQUIRE_ANY_CLIENT_CERT },
		{ "RequireClientCert", WEB_REQUIRE_ANY_CLIENT_CERT }, /* the toolkit's old name */
		{ "VerifyClientCertIfGiven", WEB_VERIFY_CLIENT_CERT_IF_GIVEN },
		{ "RequireAndVerifyClientCert", WEB_REQUIRE_AND_VERIFY_CLIENT_CERT },
	};
	struct webconfig *c;
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
		snprintf(text, sizeof(text), "tls_server_config:\n  cert_file: a\n  key_file: b\n"
			 "  client_auth_type: %s\n%s", auth[i].value,
			 auth[i].want == WEB_VERIFY_CLIENT_CERT_IF_GIVEN ||
			 auth[i].want == WEB_REQUIRE_AND_VERIFY_CLIENT_CERT ? "  client_ca_file: c\n" : "");
		c = ok(text);
		assert_int_equal(c->client_auth, auth[i].want);
		webconfig_free(c);
	}
	/* client_auth_type alone turns TLS on (the toolkit's IsEnabled) */
	bad("tls_server_config:\n  client_auth_type: NoClientCert\n", "missing one of cert or cert_file");
	/* Inline PEM */
	c = ok("tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n    abc\n"
	       "    -----END CERTIFICATE-----\n  key: k\n  client_ca: ca\n"
	       "  client_auth_type: VerifyClientCertIfGiven\n");
	assert_string_equal(c->cert, "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n");
	assert_string_equal(c->key, "k");
	assert_string_equal(c->client_ca, "ca");
	assert_null(c->cert_file);
	webconfig_free(c);
	/* Versions */
	c = ok("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n  max_version: TLS11\n");
	assert_int_equal(c->min_version, 0x0301);
	assert_int_equal(c->max_version, 0x0302);
	assert_string_equal(c->priority, "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0:%SERVER_PRECEDENCE");
	webconfig_free(c);
	c = ok("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n");
	assert_string_equal(c->priority, "NORMAL:-VERS-ALL:+VERS-TLS1.3:%SERVER_PRECEDENCE");
	webconfig_free(c);
	/* Booleans as YAML 1.1 writes them */
	c = ok("tls_server_config:\n  cert_file: a\n  key_file: b\n  prefer_server_cipher_suites: no\n"
	       "http_server_config:\n  http2: Off\n");
	assert_false(c->prefer_server_cipher_suites);
	assert_false(c->http2);
	webconfig_free(c);
	/* Blank headers are unset */
	c = ok("http_server_config:\n  headers:\n    X-Frame-Options: ''\n    X-XSS-Protection:\n");
	assert_null(c->headers[WEB_HDR_FRAME_OPTIONS]);
	assert_null(c->headers[WEB_HDR_XSS_PROTECTION]);
	webconfig_free(c);
}

/*
 * GnuTLS enables key exchanges, ciphers and MACs as sets: a list is
 * accepted when it names every suite those sets make, and TLS 1.3 keeps
 * the listed AEAD ciphers.
 */
static void test_cipher_suites(void **state)
{
	struct webconfig *c;

	(void)state;
	/* Every Go name, as in the toolkit's allCiphers test */
	c = ok("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites:\n"
	       "    - TLS_RSA_WITH_AES_128_CBC_SHA\n    - TLS_RSA_WITH_AES_256_CBC_SHA\n"
	       "    - TLS_RSA_WITH_AES_128_GCM_SHA256\n    - TLS_RSA_WITH_AES_256_GCM_SHA384\n"
	       "    - TLS_AES_128_GCM_SHA256\n    - TLS_AES_256_GCM_SHA384\n    - TLS_CHACHA20_POLY1305_SHA256\n"
	       "    - TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA\n    - TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA\n"
	       "    - TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\n    - TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA\n"
	       "    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
	       "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
	       "    - TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256\n"
	       "    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n");
	assert_int_equal(c->n_ciphers, 17);
	assert_string_equal(c->priority, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:"
			    "+AES-256-CBC:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-KX-ALL:+RSA:"
			    "+ECDHE-ECDSA:+ECDHE-RSA:-MAC-ALL:+SHA1:+AEAD:%SERVER_PRECEDENCE");
	webconfig_free(c);
	/* The toolkit's someCiphers: RSA and ECDSA, both GCM sizes */
	c = ok("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites:\n"
	       "    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
	       "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n");
	webconfig_free(c);
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites:\n"
	    "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n",
	    "would also enable TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n",
	    "no AES-GCM or CHACHA20 suite, which TLS 1.3 needs");
	c = ok("tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: TLS12\n"
	       "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n");
	assert_string_equal(c->priority, "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:-KX-ALL:"
			    "+ECDHE-RSA:-MAC-ALL:+SHA1:%SERVER_PRECEDENCE");
	webconfig_free(c);
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
	    "no suite for TLS 1.2");
	c = ok("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n"
	       "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n");
	webconfig_free(c);
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
	    "web.yml:4: tls_server_config.cipher_suites: unknown cipher \"TLS_RSA_WITH_RC4_128_SHA\"");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256, "
	    "TLS_AES_128_GCM_SHA256]\n", "listed twice");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [CurveP256, P-256]\n",
	    "tls_server_config.curve_preferences: unknown curve \"P-256\"");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [X25519, X25519]\n",
	    "listed twice");
}

static void test_errors_name_the_key(void **state)
{
	(void)state;
	/* Unknown keys at every level, with their line, as UnmarshalStrict */
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\nfoo: 1\n", "web.yml:4: unknown key \"foo\"");
	bad("tls_server_config:\n  cert_file: a\n  keyfile: b\n", "web.yml:3: unknown key \"keyfile\" in tls_server_config");
	bad("http_server_config:\n  http3: true\n", "web.yml:2: unknown key \"http3\" in http_server_config");
	bad("http_server_config:\n  headers:\n    X-Powered-By: me\n",
	    "web.yml:3: http_server_config.headers: HTTP header \"X-Powered-By\" can not be configured");
	bad("rate_limit:\n  every: 1s\n", "web.yml:2: unknown key \"every\" in rate_limit");
	/* Values */
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Always\n",
	    "web.yml:4: tls_server_config.client_auth_type: unknown value \"Always\"");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
	    "tls_server_config.min_version: unknown TLS version \"TLS14\"");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: 1.3\n",
	    "tls_server_config.max_version: unknown TLS version");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n",
	    "min_version is above max_version");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  prefer_server_cipher_suites: maybe\n",
	    "tls_server_config.prefer_server_cipher_suites: expected true or false");
	bad("http_server_config:\n  http2: \"true\"\n", "http_server_config.http2: expected true or false");
	bad("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
	    "http_server_config.headers.X-Frame-Options: invalid value \"allow\" (expected deny or sameorigin)");
	bad("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
	    "http_server_config.headers.X-Content-Type-Options: invalid value \"sniff\" (expected nosniff)");
	bad("http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nSet-Cookie: x\"\n",
	    "contains a line break");
	bad("basic_auth_users:\n  alice: secret\n", "web.yml:2: basic_auth_users.alice: not a bcrypt hash");
	bad("basic_auth_users:\n  alice: '$1$abc$def'\n", "basic_auth_users.alice: not a bcrypt hash");
	bad("basic_auth_users:\n  alice:\n", "basic_auth_users.alice: not a bcrypt hash");
	bad("basic_auth_users:\n  'a:b': " HASH "\n", "cannot contain ':'");
	bad("basic_auth_users:\n  alice: " HASH "\n  alice: " HASH "\n", "web.yml:3: basic_auth_users: key \"alice\" appears twice");
	bad("rate_limit:\n  interval: 10\n  burst: 1\n", "rate_limit.interval: invalid duration \"10\"");
	bad("rate_limit:\n  interval: -1s\n  burst: 1\n", "rate_limit.interval: invalid duration");
	bad("rate_limit:\n  interval: 1s\n", "rate_limit.burst: must be at least 1");
	bad("rate_limit:\n  interval: 1s\n  burst: many\n", "rate_limit.burst: expected a number");
	/* The toolkit's checks across keys */
	bad("tls_server_config:\n  key_file: b\n", "tls_server_config: missing one of cert or cert_file");
	bad("tls_server_config:\n  cert_file: a\n", "tls_server_config: missing one of key or key_file");
	bad("tls_server_config:\n  cert_file: a\n  cert: x\n  key_file: b\n", "cert and cert_file are both set");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n",
	    "client CAs are configured without a client auth policy");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
	    "client_auth_type RequireAndVerifyClientCert needs client_ca_file");
	/* Shapes */
	bad("- a\n- b\n", "web.yml:1: expected a mapping");
	bad("tls_server_config: [a]\n", "tls_server_config: expected a mapping, found a list");
	bad("tls_server_config: yes\n", "tls_server_config: expected a mapping, found \"yes\"");
	bad("tls_server_config:\n  cert_file: [a]\n  key_file: b\n", "tls_server_config.cert_file: expected a string, found a list");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: TLS_AES_128_GCM_SHA256\n",
	    "tls_server_config.cipher_suites: expected a list");
	bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [[a]]\n",
	    "expected a list of strings");
	bad("? [a]\n: b\n", "a key that is not a short string");
	/* Not YAML, or more than one document */
	bad("tls_server_config:\n  cert_file: [a\n", "not YAML");
	bad("a: 1\n---\nb: 2\n", "more than one YAML document");
	/* Found by the fuzzer: with TLS off (no certificate) too. */
	bad("tls_server_config:\n  cert_file:\n  min_version: TLS13\n  max_version: TLS12\n",
	    "min_version is above max_version");
}

static void test_not_text(void **state)
{
	struct webconfig *c = (struct webconfig *)1;
	char err[256];
	static const char nul[] = "basic_auth_users:\n  a\0b: x\n";

	(void)state;
	assert_int_equal(webconfig_parse("web.yml", nul, sizeof(nul) - 1, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_int_equal(webconfig_parse("web.yml", nul, WEBCONFIG_MAX_FILE + 1, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "larger than"));
}

/* A key that spans lines (a folded plain scalar, found by the fuzzer) is
 * quoted in an error of one line. */
static void test_error_one_line(void **state)
{
	struct webconfig *c = NULL;
	char err[512];
	static const char text[] = "{tls_se - A\n    - B\n \nhttp_server_x}\n";

	(void)state;
	assert_int_equal(webconfig_parse("web.yml", text, sizeof(text) - 1, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "unknown key"));
	assert_null(strchr(err, '\n'));
}

static void test_load(void **state)
{
	char dir[] = "/tmp/wstrace-webconfig-XXXXXX", path[256], sub[256];
	struct webconfig *c = NULL;
	char err[512];
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nope.yml", dir);
	assert_int_equal(webconfig_load(path, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_null(c);
	/* Relative file names are relative to the web config's folder. */
	snprintf(sub, sizeof(sub), "%s/tls", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/tls/server.crt", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("CERT PEM\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/tls/server.key", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("KEY PEM\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: %s/tls/server.key\n", dir);
	fclose(fp);
	assert_int_equal(webconfig_load(path, &c, err, sizeof(err)), 0);
	assert_string_equal(c->cert, "CERT PEM\n");
	assert_string_equal(c->key, "KEY PEM\n");
	assert_string_equal(c->source, path);
	webconfig_free(c);
	/* A file it names is missing: the key and the path are said */
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/missing.key\n"
		"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: tls\n");
	fclose(fp);
	assert_int_equal(webconfig_load(path, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "tls_server_config.key_file: cannot read"));
	assert_non_null(strstr(err, "tls/missing.key: No such file or directory"));
	/* A folder is not a PEM file */
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n"
		"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: tls\n");
	fclose(fp);
	assert_int_equal(webconfig_load(path, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tls_server_config.client_ca_file"));
	assert_non_null(strstr(err, "not a regular file"));
	/* The YAML's own errors keep their -EINVAL and name the file */
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "tls_server_config:\n  bogus: 1\n");
	fclose(fp);
	assert_int_equal(webconfig_load(path, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "web.yml:2: unknown key \"bogus\" in tls_server_config"));
	/* The web config itself a folder */
	assert_int_equal(webconfig_load(sub, &c, err, sizeof(err)), -EACCES);
	assert_int_equal(system("rm -rf /tmp/wstrace-webconfig-??????"), 0);
}

static char *hash_of(const char *prefix, const char *pw, unsigned long cost)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;

	memset(&cd, 0, sizeof(cd));
	assert_non_null(crypt_gensalt_rn(prefix, cost, NULL, 0, salt, sizeof(salt)));
	assert_non_null(crypt_rn(pw, salt, &cd, sizeof(cd)));
	return strdup(cd.output);
}

static void test_bcrypt(void **state)
{
	static const char *const prefixes[] = { "$2b$", "$2y$", "$2a$" };
	/* A published crypt_blowfish test vector: "U*U" at cost 5 */
	static const char vector[] = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

	(void)state;
	assert_int_equal(webconfig_bcrypt_cost(HASH), 10);
	assert_true(webconfig_password_ok(HASH, "wstrace")); /* made by python3-bcrypt as $2b$ */
	assert_false(webconfig_password_ok(HASH, "wstrac"));
	assert_int_equal(webconfig_bcrypt_cost(vector), 5);
	assert_true(webconfig_password_ok(vector, "U*U"));
	assert_false(webconfig_password_ok(vector, "U*V"));
	assert_false(webconfig_password_ok(vector, ""));
	for (size_t i = 0; i < 3; i++) {
		char *h = hash_of(prefixes[i], "correct horse", 4);

		assert_int_equal(webconfig_bcrypt_cost(h), 4);
		assert_true(webconfig_password_ok(h, "correct horse"));
		assert_false(webconfig_password_ok(h, "correct hors"));
		assert_false(webconfig_password_ok(h, "correct horse "));
		free(h);
	}
	/* Not bcrypt: refused before crypt sees them */
	assert_true(webconfig_bcrypt_cost("$2x$10$KBohgU5jAj39ykSIJBCLXuE6YpzJKiH1LMbdwNmJdDSBvxzmquuUe") < 0);
	assert_true(webconfig_bcrypt_cost("$2y$03$KBohgU5jAj39ykSIJBCLXuE6YpzJKiH1LMbdwNmJdDSBvxzmquuUe") < 0);
	assert_true(webconfig_bcrypt_cost("$2y$32$KBohgU5jAj39ykSIJBCLXuE6YpzJKiH1LMbdwNmJdDSBvxzmquuUe") < 0);
	assert_true(webconfig_bcrypt_cost("$2y$10$KBohgU5jAj39ykSIJBCLXuE6YpzJKiH1LMbdwNmJdDSBvxzmquuU") < 0);
	assert_true(webconfig_bcrypt_cost("$2y$10$KBohgU5jAj39ykSIJBCLXuE6YpzJKiH1LMbdwNmJdDSBvxzmquuU!") < 0);
	assert_true(webconfig_bcrypt_cost("$6$saltsalt$hash") < 0);
	assert_false(webconfig_password_ok("$6$saltsalt$abc", "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_means_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_tls_keys),
		cmocka_unit_test(test_error_one_line),
		cmocka_unit_test(test_cipher_suites),
		cmocka_unit_test(test_errors_name_the_key),
		cmocka_unit_test(test_not_text),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_bcrypt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
