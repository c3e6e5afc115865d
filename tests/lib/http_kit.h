/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http_kit.h - HTTP/1.1 clients for tests, over TCP or TLS (GnuTLS), and
 * certificates made on the spot (a CA, leaves it signs), so that no key
 * or expiry date lives in the tree.
 *
 *	struct kit_conn c;
 *	struct kit_resp r;
 *	kit_connect(&c, port, 0);
 *	kit_send_str(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
 *	kit_read_response(&c, 5000, &r);   (r.status, kit_header(&r, "Content-Type"), r.body)
 *	kit_resp_free(&r);
 *	kit_close(&c);
 *
 * Every function aborts the test on a failure it does not report.
 */
#ifndef WST_TEST_HTTP_KIT_H
#define WST_TEST_HTTP_KIT_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct kit_conn {
	int fd;
	gnutls_session_t tls;      /* NULL: plain TCP */
	gnutls_certificate_credentials_t cred;
};

struct kit_resp {
	int status;                /* 0: the connection ended before a status line */
	char *head;                /* status line and headers, NUL-terminated */
	char *body;                /* NUL-terminated (body_len bytes before it) */
	size_t body_len;
	bool closed;               /* the server closed after it */
};

/* A loopback TCP connection; rcvbuf > 0 sets SO_RCVBUF. */
void kit_connect(struct kit_conn *c, int port, int rcvbuf);

/* Writes all of it (blocking); returns 0 or -errno (the peer closed). */
int kit_send(struct kit_conn *c, const void *buf, size_t len);
int kit_send_str(struct kit_conn *c, const char *s);

/*
 * Reads one response: the head, then Content-Length bytes of body (none
 * for HEAD when head_only), or up to the close without one. Returns 0, or
 * -ETIMEDOUT, or -ECONNRESET (closed or reset before a whole response;
 * what came is in r).
 */
int kit_read_response(struct kit_conn *c, int timeout_ms, bool head_only, struct kit_resp *r);

/* The value of a header (first match, case-insensitive), or NULL. */
const char *kit_header(const struct kit_resp *r, const char *name, char *buf, size_t len);

void kit_resp_free(struct kit_resp *r);
void kit_close(struct kit_conn *c);

/* One request on a new connection, answer in r; returns what kit_read_response does. */
int kit_get(int port, const char *request, struct kit_resp *r);

/* --- certificates --- */

struct kit_cert {
	char *cert_pem, *key_pem;
};

/* A self-signed CA (ECDSA P-256, valid from an hour ago for a day). */
void kit_make_ca(struct kit_cert *ca, const char *cn);

/*
 * A leaf signed by ca: for TLS servers (serverAuth, SAN IP 127.0.0.1 and
 * DNS localhost) or clients (clientAuth, SAN DNS san_dns when not NULL).
 */
void kit_make_leaf(struct kit_cert *out, const struct kit_cert *ca, const char *cn, bool server,
		   const char *san_dns);
void kit_cert_free(struct kit_cert *c);

/*
 * A TLS connection: trusts ca_pem for the server, presents client (NULL:
 * none), uses priority (NULL: "NORMAL"). Returns the handshake's GnuTLS
 * code (0 on success); a TLS 1.3 server may refuse a client certificate
 * only after the handshake: the first read then fails.
 */
int kit_connect_tls(struct kit_conn *c, int port, const char *ca_pem, const struct kit_cert *client,
		    const char *priority);

#endif /* WST_TEST_HTTP_KIT_H */
