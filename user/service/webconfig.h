/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * webconfig.h - the web configuration file of the Prometheus exporter
 * toolkit (node_exporter's --web.config.file), for the metrics endpoint:
 * TLS (tls_server_config), basic authentication with bcrypt hashes
 * (basic_auth_users), response headers (http_server_config) and a request
 * rate limit (rate_limit), with the toolkit's meaning.
 *
 * webconfig_parse() is pure (YAML text in, settings or one error line
 * out: no I/O, no globals), so it is fuzzed; webconfig_load() reads the
 * file and the certificate and key files it names. Neither starts TLS:
 * metrics_http turns the result into GnuTLS credentials and says what
 * they reject.
 */
#ifndef WST_WEBCONFIG_H
#define WST_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBCONFIG_MAX_FILE (1 << 20)   /* the YAML file, and each PEM file */
#define WEBCONFIG_MAX_USERS 1024
#define WEBCONFIG_MAX_SANS 256

/* client_auth_type, as Go's tls.ClientAuthType. */
#define WEBCONFIG_CLIENT_AUTH(X)                                                    \
	X(NO_CLIENT_CERT, "NoClientCert")                                           \
	X(REQUEST_CLIENT_CERT, "RequestClientCert")                                 \
	X(REQUIRE_ANY_CLIENT_CERT, "RequireAnyClientCert")                          \
	X(VERIFY_CLIENT_CERT_IF_GIVEN, "VerifyClientCertIfGiven")                   \
	X(REQUIRE_AND_VERIFY_CLIENT_CERT, "RequireAndVerifyClientCert")

enum webconfig_client_auth {
#define X(e, s) WEB_##e,
	WEBCONFIG_CLIENT_AUTH(X)
#undef X
};

/* TLS versions as on the wire: TLS10 is 0x0301 ... TLS13 0x0304. */
#define WEBCONFIG_TLS10 0x0301
#define WEBCONFIG_TLS13 0x0304

/* http_server_config.headers the toolkit allows (and only those). */
#define WEBCONFIG_HEADERS(X)                          \
	X(CSP, "Content-Security-Policy")             \
	X(FRAME_OPTIONS, "X-Frame-Options")           \
	X(CONTENT_TYPE_OPTIONS, "X-Content-Type-Options") \
	X(XSS_PROTECTION, "X-XSS-Protection")         \
	X(HSTS, "Strict-Transport-Security")

enum webconfig_header {
#define X(e, s) WEB_HDR_##e,
	WEBCONFIG_HEADERS(X)
#undef X
	WEB_HDR_MAX
};

struct webconfig_user {
	char *name;
	char *hash;  /* bcrypt: $2a$, $2b$ or $2y$ */
};

struct webconfig {
	char *source;                /* the file's name, for messages */

	/* tls_server_config: TLS is on when any of its TLS fields is set. */
	bool tls;
	char *cert_file, *key_file, *client_ca_file; /* relative to the file's folder */
	char *cert, *key, *client_ca;                /* PEM: inline, or read by load */
	enum webconfig_client_auth client_auth;
	uint16_t min_version, max_version;
	bool prefer_server_cipher_suites;
	int n_ciphers;               /* cipher_suites as given, Go's names */
	uint8_t ciphers[32];         /* indexes into the suite table, in order */
	int n_curves;
	uint8_t curves[8];           /* curve_preferences, in order */
	char **allowed_sans;         /* client_allowed_sans */
	int n_allowed_sans;
	char *priority;              /* GnuTLS priority string for the above */

	/* http_server_config */
	bool http2;                  /* accepted; the endpoint speaks HTTP/1.1 only */
	char *headers[WEB_HDR_MAX];  /* NULL: not set */

	/* basic_auth_users: empty means no authentication. */
	struct webconfig_user *users;
	int n_users;

	/* rate_limit: a token bucket over every request; interval 0 = off. */
	uint64_t rate_interval_ns;
	uint32_t rate_burst;
};

/*
 * Parses YAML text (len bytes, NULs allowed: they are an error) into a
 * new *out. name is used in messages. Returns 0, -EINVAL with one line in
 * err ("NAME:LINE: KEY: what is wrong", naming the key), or -ENOMEM.
 * An empty file is a valid configuration: plain HTTP, no authentication.
 */
int webconfig_parse(const char *name, const char *text, size_t len,
		    struct webconfig **out, char *err, size_t errlen);

/*
 * Reads path, parses it, and reads the PEM files it names (cert_file,
 * key_file, client_ca_file; relative paths are relative to path's folder,
 * as in the toolkit). Returns 0, -ENOENT or -EACCES (a file missing or
 * unreadable), -EINVAL (bad content), -EFBIG or -ENOMEM, with one line
 * in err.
 */
int webconfig_load(const char *path, struct webconfig **out, char *err,
		   size_t errlen);

/* Frees, wiping the private key and the password hashes first. */
void webconfig_free(struct webconfig *c);

/* The user's entry, or NULL. */
const struct webconfig_user *webconfig_user(const struct webconfig *c,
					    const char *name);

/* The cost of a bcrypt hash ($2b$10$... is 10), or -EINVAL. */
int webconfig_bcrypt_cost(const char *hash);

/*
 * Checks password against a bcrypt hash with libcrypt (crypt_rn) and a
 * constant-time comparison. Slow on purpose (2^cost rounds).
 * Returns true on a match.
 */
bool webconfig_password_ok(const char *hash, const char *password);

/* Go's name of a cipher suite index used in ciphers[], or NULL. */
const char *webconfig_cipher_name(int index);

#endif /* WST_WEBCONFIG_H */
