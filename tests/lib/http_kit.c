// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http_kit.c - see http_kit.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_kit.h"

static void kit_die(const char *what, const char *why)
{
	fprintf(stderr, "http_kit: %s: %s\n", what, why);
	abort();
}

void kit_connect(struct kit_conn *c, int port, int rcvbuf)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	memset(c, 0, sizeof(*c));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		kit_die("socket", strerror(errno));
	if (rcvbuf)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	while (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		if (errno != EINTR)
			kit_die("connect", strerror(errno));
}

int kit_send(struct kit_conn *c, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = c->tls ? gnutls_record_send(c->tls, p, len) : send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && (c->tls ? (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) : errno == EINTR))
			continue;
		if (n <= 0)
			return c->tls ? -ECONNRESET : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int kit_send_str(struct kit_conn *c, const char *s)
{
	return kit_send(c, s, strlen(s));
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Up to len bytes within the deadline: > 0, 0 at the end, -ETIMEDOUT, -ECONNRESET. */
static ssize_t kit_recv(struct kit_conn *c, char *buf, size_t len, long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;

		if (!c->tls || !gnutls_record_check_pending(c->tls)) {
			if (left <= 0)
				return -ETIMEDOUT;
			if (poll(&p, 1, (int)left) <= 0)
				continue;
		}
		if (c->tls) {
			n = gnutls_record_recv(c->tls, buf, len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n == GNUTLS_E_PREMATURE_TERMINATION)
				return 0;
			return n < 0 ? -ECONNRESET : n;
		}
		n = recv(c->fd, buf, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -ECONNRESET : n;
	}
}

int kit_read_response(struct kit_conn *c, int timeout_ms, bool head_only, struct kit_resp *r)
{
	long deadline = now_ms() + timeout_ms;
	size_t cap = 1 << 16, len = 0, need = (size_t)-1, body_off = 0;
	char *buf = malloc(cap + 1), *end;
	char v[64];
	ssize_t n;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (!buf)
		kit_die("malloc", "out of memory");
	for (;;) {
		if (body_off && len >= need)
			break;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (!buf)
				kit_die("realloc", "out of memory");
		}
		n = kit_recv(c, buf + len, cap - len, deadline);
		if (n <= 0) {
			r->closed = true;
			if (n < 0)
				rc = (int)n;
			else if (!body_off || need != (size_t)-1)
				rc = -ECONNRESET;
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (!body_off && (end = strstr(buf, "\r\n\r\n"))) {
			body_off = (size_t)(end + 4 - buf);
			r->head = strndup(buf, body_off - 2);
			if (!r->head)
				kit_die("strndup", "out of memory");
			sscanf(buf, "HTTP/1.%*c %d", &r->status);
			need = body_off;
			if (!head_only && kit_header(r, "Content-Length", v, sizeof(v)))
				need += strtoul(v, NULL, 10);
			else if (!head_only)
				need = (size_t)-1; /* to the close */
		}
	}
	buf[len] = '\0';
	if (body_off) {
		size_t off = body_off;

		r->body_len = len - off;
		if (need != (size_t)-1 && len > need)
			r->body_len = need - off; /* a pipelined surplus is not expected */
		memmove(buf, buf + off, r->body_len);
		buf[r->body_len] = '\0';
		r->body = buf;
	} else {
		r->head = buf; /* whatever came, for messages */
	}
	return rc;
}

const char *kit_header(const struct kit_resp *r, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);
	const char *p = r->head;

	while (p && (p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(buf, len, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			return buf;
		}
	}
	return NULL;
}

void kit_resp_free(struct kit_resp *r)
{
	if (r->body)
		free(r->body);
	if (r->head && r->head != r->body)
		free(r->head);
	memset(r, 0, sizeof(*r));
}

void kit_close(struct kit_conn *c)
{
	if (c->tls)
		gnutls_deinit(c->tls);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

int kit_get(int port, const char *request, struct kit_resp *r)
{
	struct kit_conn c;
	int rc;

	kit_connect(&c, port, 0);
	rc = kit_send_str(&c, request);
	if (!rc)
		rc = kit_read_response(&c, 10000, !strncmp(request, "HEAD ", 5), r);
	else
		memset(r, 0, sizeof(*r));
	kit_close(&c);
	return rc;
}

/* --- certificates --- */

static char *export_pem(int (*fn)(void *, gnutls_x509_crt_fmt_t, gnutls_datum_t *), void *obj)
{
	gnutls_datum_t d;
	char *s;

	if (fn(obj, GNUTLS_X509_FMT_PEM, &d) < 0)
		kit_die("export", "PEM");
	s = strndup((char *)d.data, d.size);
	gnutls_free(d.data);
	if (!s)
		kit_die("strndup", "out of memory");
	return s;
}

static int crt_export(void *o, gnutls_x509_crt_fmt_t f, gnutls_datum_t *d)
{
	return gnutls_x509_crt_export2(o, f, d);
}

static int key_export(void *o, gnutls_x509_crt_fmt_t f, gnutls_datum_t *d)
{
	return gnutls_x509_privkey_export2(o, f, d);
}

static void make_cert(struct kit_cert *out, const struct kit_cert *ca, const char *cn, int kind,
		      const char *san_dns)
{
	static unsigned int serial = 1;
	gnutls_x509_privkey_t key, ca_x509key = NULL;
	gnutls_privkey_t signer;
	gnutls_x509_crt_t crt, ca_crt = NULL;
	gnutls_datum_t d;
	unsigned char sn[4];
	time_t now = time(NULL);
	unsigned char ip[4] = { 127, 0, 0, 1 };

	if (gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0)
		kit_die("key", cn);
	serial++;
	memcpy(sn, &serial, sizeof(sn));
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, sn, sizeof(sn));
	gnutls_x509_crt_set_activation_time(crt, now - 3600);
	gnutls_x509_crt_set_expiration_time(crt, now + 86400);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, (unsigned int)strlen(cn));
	gnutls_x509_crt_set_key(crt, key);
	if (kind == 0) { /* CA */
		gnutls_x509_crt_set_basic_constraints(crt, 1, -1);
		gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	} else {
		gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
		gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
		gnutls_x509_crt_set_key_purpose_oid(crt, kind == 1 ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT, 0);
		if (kind == 1) {
			gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4, GNUTLS_FSAN_APPEND);
			gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_APPEND);
		} else if (san_dns) {
			gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, san_dns,
							     (unsigned int)strlen(san_dns), GNUTLS_FSAN_APPEND);
		}
	}
	gnutls_privkey_init(&signer);
	if (ca) {
		d.data = (unsigned char *)ca->key_pem;
		d.size = (unsigned int)strlen(ca->key_pem);
		if (gnutls_x509_privkey_init(&ca_x509key) < 0 ||
		    gnutls_x509_privkey_import(ca_x509key, &d, GNUTLS_X509_FMT_PEM) < 0)
			kit_die("CA key", cn);
		d.data = (unsigned char *)ca->cert_pem;
		d.size = (unsigned int)strlen(ca->cert_pem);
		if (gnutls_x509_crt_init(&ca_crt) < 0 || gnutls_x509_crt_import(ca_crt, &d, GNUTLS_X509_FMT_PEM) < 0)
			kit_die("CA certificate", cn);
		gnutls_privkey_import_x509(signer, ca_x509key, 0);
		if (gnutls_x509_crt_privkey_sign(crt, ca_crt, signer, GNUTLS_DIG_SHA256, 0) < 0)
			kit_die("sign", cn);
	} else {
		gnutls_privkey_import_x509(signer, key, 0);
		if (gnutls_x509_crt_privkey_sign(crt, crt, signer, GNUTLS_DIG_SHA256, 0) < 0)
			kit_die("self-sign", cn);
	}
	out->cert_pem = export_pem(crt_export, crt);
	out->key_pem = export_pem(key_export, key);
	gnutls_privkey_deinit(signer);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	if (ca_crt)
		gnutls_x509_crt_deinit(ca_crt);
	if (ca_x509key)
		gnutls_x509_privkey_deinit(ca_x509key);
}

void kit_make_ca(struct kit_cert *ca, const char *cn)
{
	make_cert(ca, NULL, cn, 0, NULL);
}

void kit_make_leaf(struct kit_cert *out, const struct kit_cert *ca, const char *cn, bool server,
		   const char *san_dns)
{
	make_cert(out, ca, cn, server ? 1 : 2, san_dns);
}

void kit_cert_free(struct kit_cert *c)
{
	free(c->cert_pem);
	free(c->key_pem);
	c->cert_pem = c->key_pem = NULL;
}

int kit_connect_tls(struct kit_conn *c, int port, const char *ca_pem, const struct kit_cert *client,
		    const char *priority)
{
	gnutls_datum_t ca = { (unsigned char *)ca_pem, (unsigned int)strlen(ca_pem) };
	long deadline;
	int rc;

	kit_connect(c, port, 0);
	if (gnutls_certificate_allocate_credentials(&c->cred) < 0 ||
	    gnutls_certificate_set_x509_trust_mem(c->cred, &ca, GNUTLS_X509_FMT_PEM) <= 0)
		kit_die("TLS client", "credentials");
	if (client) {
		gnutls_datum_t cd = { (unsigned char *)client->cert_pem, (unsigned int)strlen(client->cert_pem) };
		gnutls_datum_t kd = { (unsigned char *)client->key_pem, (unsigned int)strlen(client->key_pem) };

		if (gnutls_certificate_set_x509_key_mem(c->cred, &cd, &kd, GNUTLS_X509_FMT_PEM) < 0)
			kit_die("TLS client", "certificate");
	}
	/* A server that refuses the client certificate may close under a
	 * request being sent: that is EPIPE to the test, not a SIGPIPE. */
	if (gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL) < 0 ||
	    gnutls_priority_set_direct(c->tls, priority ? priority : "NORMAL", NULL) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred) < 0)
		kit_die("TLS client", "session");
	gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, "localhost", 9);
	gnutls_session_set_verify_cert(c->tls, "localhost", 0);
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_handshake_set_timeout(c->tls, 10000);
	deadline = now_ms() + 10000;
	do {
		rc = gnutls_handshake(c->tls);
	} while (rc < 0 && !gnutls_error_is_fatal(rc) && now_ms() < deadline);
	return rc;
}
