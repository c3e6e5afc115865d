// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * metrics_http.c - /metrics over libmicrohttpd (HTTP/1.1, RFC 9112), with
 * TLS from GnuTLS and basic authentication (RFC 7617) checked against
 * bcrypt hashes, as the Prometheus exporter toolkit does.
 *
 * libmicrohttpd owns the sockets and runs one epoll loop in its thread;
 * everything here runs in that thread (its callbacks), except
 * metrics_http_dispatch() (the capture thread: rendering) and the bcrypt
 * worker. What they share is under h->lock; counters are atomics.
 *
 * The web configuration in force is a reference-counted runtime (struct
 * web_rt): a connection keeps the one it started its TLS handshake with
 * (certificate, key, priorities, client certificate policy), a request
 * takes the current one for authentication, so a reload changes passwords
 * at once and frees the old credentials when their last user is gone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "metrics_http.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_CHAIN 16        /* certificates in a chain, ours or the client's */
#define AUTH_CACHE 128      /* (user, password) results kept per configuration */
#define LISTEN_BACKLOG 1024 /* a burst of connects waits here, not in a RST */
/* libmicrohttpd's own limit: room for the ones being closed to make room. */
#define MHD_CONN_LIMIT (METRICS_HTTP_MAX_CONNS + 8)

static const char *const code_labels[] = {
#define X(e, label, doc) label,
	METRICS_HTTP_CODES(X)
#undef X
};

const char *metrics_http_code_label(enum metrics_http_code code)
{
	return (unsigned int)code < METRICS_HTTP_N_CODES ? code_labels[code] : "other";
}

struct auth_entry {
	uint8_t digest[32]; /* SHA-256 of salt, user, password */
	bool used, ok;
};

/* A web configuration in force, and the GnuTLS objects made from it. */
struct web_rt {
	atomic_int refs;
	struct webconfig *cfg;          /* NULL: plain HTTP, no authentication */
	gnutls_pcert_st pcerts[MAX_CHAIN];
	unsigned int n_pcerts;
	gnutls_privkey_t key;
	gnutls_x509_trust_list_t trust; /* client CAs */
	gnutls_priority_t prio;
	uint8_t salt[16];
	struct auth_entry cache[AUTH_CACHE]; /* under h->lock */
	unsigned int cache_next;
};

/* A connection (libmicrohttpd's socket context); only its thread uses it. */
struct conn {
	struct metrics_http *h;
	struct MHD_Connection *mc;
	struct web_rt *rt;     /* the one its handshake uses */
	struct conn *prev, *next;
	int fd;
	uint64_t seq;          /* accept order */
	bool progress;         /* it sent something: TLS bytes, or a request line */
	bool busy;             /* a request is being answered: never evicted */
	bool evicted;          /* shut down to make room */
	bool tls_bytes, handshake_done, counted;
};

/* NEW -> [AUTH_WAIT ->] ROUTED [-> RENDER_WAIT]: each waiting state is left once. */
enum req_state { RQ_NEW, RQ_AUTH_WAIT, RQ_ROUTED, RQ_RENDER_WAIT };

struct body {
	atomic_int refs;
	size_t len;
	char *data;
};

/* A request, from its request line to its completion. */
struct req {
	struct conn *conn;
	struct MHD_Connection *mc;
	enum req_state state;
	struct web_rt *rt;     /* for authentication: the current one when it came */
	char *user, *pass;     /* while bcrypt is pending */
	bool auth_ok;
	bool head_seen;        /* the first call of the handler is behind */
	int status;            /* set instead of a body: 500, 503 */
	struct body *body;
	struct req *next;      /* in a queue */
};

struct metrics_http {
	struct MHD_Daemon *d;
	int lfd, efd, port;
	bool loopback, tls;
	unsigned int timeout_s;
	metrics_http_render_fn render;
	void *ctx;
	struct metrics *reg;
	int family;

	pthread_mutex_t lock;
	pthread_cond_t auth_cond;
	pthread_t auth_thread;
	bool auth_started;
	bool closing;               /* under lock */
	struct web_rt *rt;          /* under lock */
	struct req *render_q;       /* under lock; requests suspended for a render */
	struct req *auth_q, **auth_tail; /* under lock; suspended for bcrypt */
	int auth_len;
	atomic_uint_fast64_t codes[METRICS_HTTP_N_CODES];
	atomic_uint_fast64_t evicted, bcrypt_checks;

	/* the libmicrohttpd thread's own */
	struct conn *conns, *conns_tail;
	int nconns, nevicting;
	uint64_t accepts;
	const struct web_rt *bucket_rt;
	double tokens;
	uint64_t bucket_ns;
};

static void count(struct metrics_http *h, enum metrics_http_code c)
{
	atomic_fetch_add_explicit(&h->codes[c], 1, memory_order_relaxed);
}

static enum metrics_http_code code_of_status(unsigned int status)
{
	static const struct {
		unsigned int status;
		enum metrics_http_code code;
	} map[] = {
		{ 200, METRICS_HTTP_C200 }, { 400, METRICS_HTTP_C400 }, { 401, METRICS_HTTP_C401 },
		{ 404, METRICS_HTTP_C404 }, { 405, METRICS_HTTP_C405 }, { 429, METRICS_HTTP_C429 },
		{ 431, METRICS_HTTP_C431 }, { 500, METRICS_HTTP_C500 }, { 503, METRICS_HTTP_C503 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (map[i].status == status)
			return map[i].code;
	return METRICS_HTTP_OTHER;
}

/* --- the web configuration in force --- */

static void rt_put(struct web_rt *rt)
{
	if (!rt || atomic_fetch_sub(&rt->refs, 1) != 1)
		return;
	for (unsigned int i = 0; i < rt->n_pcerts; i++)
		gnutls_pcert_deinit(&rt->pcerts[i]);
	if (rt->key)
		gnutls_privkey_deinit(rt->key);
	if (rt->trust)
		gnutls_x509_trust_list_deinit(rt->trust, 1);
	if (rt->prio)
		gnutls_priority_deinit(rt->prio);
	explicit_bzero(rt->cache, sizeof(rt->cache));
	webconfig_free(rt->cfg);
	free(rt);
}

static struct web_rt *rt_get(struct web_rt *rt)
{
	if (rt)
		atomic_fetch_add(&rt->refs, 1);
	return rt;
}

/* The current runtime, referenced. */
static struct web_rt *rt_current(struct metrics_http *h)
{
	struct web_rt *rt;

	pthread_mutex_lock(&h->lock);
	rt = rt_get(h->rt);
	pthread_mutex_unlock(&h->lock);
	return rt;
}

/* Whether the private key belongs to the certificate: their public keys match. */
static int key_matches(gnutls_pcert_st *pcert, gnutls_privkey_t key)
{
	gnutls_datum_t a = { 0 }, b = { 0 };
	gnutls_pubkey_t pub = NULL;
	int ok = 0;

	if (gnutls_pubkey_init(&pub) == 0 && gnutls_pubkey_import_privkey(pub, key, 0, 0) == 0 &&
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) == 0 &&
	    gnutls_pubkey_export2(pcert->pubkey, GNUTLS_X509_FMT_DER, &b) == 0)
		ok = a.size == b.size && !memcmp(a.data, b.data, a.size);
	gnutls_free(a.data);
	gnutls_free(b.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	return ok;
}

static int rt_fail(struct web_rt *rt, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int rt_fail(struct web_rt *rt, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", rt->cfg->source ? rt->cfg->source : "web config", msg);
	rt_put(rt);
	return -EINVAL;
}

/* What a PEM field is called in messages: the file, or the inline key. */
static const char *pem_name(const char *file, const char *inline_key, char *buf, size_t len)
{
	if (file)
		snprintf(buf, len, "tls_server_config.%s_file (%s)", inline_key, file);
	else
		snprintf(buf, len, "tls_server_config.%s", inline_key);
	return buf;
}

/* Takes cfg over; NULL stands for "no web config". */
static int rt_new(struct webconfig *cfg, struct web_rt **out, char *err, size_t errlen)
{
	struct web_rt *rt = calloc(1, sizeof(*rt));
	gnutls_datum_t d;
	const char *errpos = NULL;
	char what[320];
	int rc;

	*out = NULL;
	if (!rt) {
		webconfig_free(cfg);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&rt->refs, 1);
	rt->cfg = cfg;
	if (gnutls_rnd(GNUTLS_RND_NONCE, rt->salt, sizeof(rt->salt)) < 0) {
		snprintf(err, errlen, "no random numbers for the password cache");
		rt_put(rt);
		return -EIO;
	}
	if (!cfg || !cfg->tls) {
		*out = rt;
		return 0;
	}
	d.data = (unsigned char *)cfg->cert;
	d.size = (unsigned int)strlen(cfg->cert);
	rt->n_pcerts = MAX_CHAIN;
	rc = gnutls_pcert_list_import_x509_raw(rt->pcerts, &rt->n_pcerts, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || rt->n_pcerts == 0) {
		rt->n_pcerts = 0;
		return rt_fail(rt, err, errlen, "%s: no PEM certificate chain GnuTLS reads: %s",
			       pem_name(cfg->cert_file, "cert", what, sizeof(what)),
			       rc < 0 ? gnutls_strerror(rc) : "empty");
	}
	d.data = (unsigned char *)cfg->key;
	d.size = (unsigned int)strlen(cfg->key);
	if (gnutls_privkey_init(&rt->key) < 0 ||
	    (rc = gnutls_privkey_import_x509_raw(rt->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
		return rt_fail(rt, err, errlen, "%s: not an unencrypted PEM private key: %s",
			       pem_name(cfg->key_file, "key", what, sizeof(what)), gnutls_strerror(rc));
	if (!key_matches(&rt->pcerts[0], rt->key))
		return rt_fail(rt, err, errlen, "%s does not match the certificate's public key",
			       pem_name(cfg->key_file, "key", what, sizeof(what)));
	if (cfg->client_ca) {
		d.data = (unsigned char *)cfg->client_ca;
		d.size = (unsigned int)strlen(cfg->client_ca);
		if (gnutls_x509_trust_list_init(&rt->trust, 0) < 0)
			return rt_fail(rt, err, errlen, "out of memory");
		rc = gnutls_x509_trust_list_add_trust_mem(rt->trust, &d, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
		if (rc <= 0)
			return rt_fail(rt, err, errlen, "%s: no PEM certificate GnuTLS reads%s%s",
				       pem_name(cfg->client_ca_file, "client_ca", what, sizeof(what)),
				       rc < 0 ? ": " : "", rc < 0 ? gnutls_strerror(rc) : "");
	}
	rc = gnutls_priority_init(&rt->prio, cfg->priority, &errpos);
	if (rc < 0)
		return rt_fail(rt, err, errlen, "tls_server_config: GnuTLS rejects the priority string \"%s\" at"
			       " \"%s\": %s", cfg->priority, errpos ? errpos : "", gnutls_strerror(rc));
	*out = rt;
	return 0;
}

/* --- password checks: a cache in front of bcrypt --- */

static void auth_digest(const struct web_rt *rt, const char *user, const char *pass, uint8_t out[32])
{
	size_t ul = strlen(user), pl = strlen(pass);
	size_t n = sizeof(rt->salt) + ul + 1 + pl;
	uint8_t *buf = malloc(n);

	memset(out, 0, 32);
	if (!buf)
		return;
	memcpy(buf, rt->salt, sizeof(rt->salt));
	memcpy(buf + sizeof(rt->salt), user, ul + 1);
	memcpy(buf + sizeof(rt->salt) + ul + 1, pass, pl);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, n, out);
	explicit_bzero(buf, n);
	free(buf);
}

/* Under h->lock. 1: known good, 0: known bad, -1: not cached. */
static int cache_lookup(struct web_rt *rt, const uint8_t digest[32])
{
	for (int i = 0; i < AUTH_CACHE; i++)
		if (rt->cache[i].used && !memcmp(rt->cache[i].digest, digest, 32))
			return rt->cache[i].ok;
	return -1;
}

static void cache_put(struct web_rt *rt, const uint8_t digest[32], bool ok)
{
	struct auth_entry *e = &rt->cache[rt->cache_next++ % AUTH_CACHE];

	memcpy(e->digest, digest, 32);
	e->used = true;
	e->ok = ok;
}

static void wipe_str(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/*
 * One password at a time, as the toolkit does (bcrypt is CPU-bound on
 * purpose). An unknown user is checked against a real hash too, so the
 * answer takes as long as for a known one.
 */
static void *auth_main(void *arg)
{
	struct metrics_http *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		struct req *r;
		const struct webconfig_user *u;
		uint8_t digest[32];
		int cached;
		bool ok;

		while (!h->auth_q && !h->closing)
			pthread_cond_wait(&h->auth_cond, &h->lock);
		if (h->closing)
			break; /* close() answers what is left */
		r = h->auth_q;
		h->auth_q = r->next;
		if (!h->auth_q)
			h->auth_tail = &h->auth_q;
		h->auth_len--;
		auth_digest(r->rt, r->user, r->pass, digest);
		cached = cache_lookup(r->rt, digest);
		pthread_mutex_unlock(&h->lock);
		if (cached >= 0) {
			ok = cached;
		} else {
			u = webconfig_user(r->rt->cfg, r->user);
			ok = webconfig_password_ok(u ? u->hash : r->rt->cfg->users[0].hash, r->pass) && u;
			atomic_fetch_add(&h->bcrypt_checks, 1);
		}
		pthread_mutex_lock(&h->lock);
		if (cached < 0)
			cache_put(r->rt, digest, ok);
		r->auth_ok = ok;
		pthread_mutex_unlock(&h->lock);
		/* The request is libmicrohttpd's again: r may be gone after this. */
		MHD_resume_connection(r->mc);
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* --- responses --- */

static const char index_html[] =
	"<!DOCTYPE html>\n<html><head><title>wstrace</title></head>\n"
	"<body><h1>wstrace</h1>\n"
	"<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"

static void add_headers(struct MHD_Response *resp, const struct web_rt *rt, const char *type)
{
	static const char *const names[] = {
#define X(e, s) s,
		WEBCONFIG_HEADERS(X)
#undef X
	};

	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	for (int i = 0; rt && rt->cfg && i < WEB_HDR_MAX; i++)
		if (rt->cfg->headers[i])
			MHD_add_response_header(resp, names[i], rt->cfg->headers[i]);
}

static enum MHD_Result answer_text(struct MHD_Connection *mc, const struct web_rt *rt, unsigned int status,
				   const char *text)
{
	struct MHD_Response *resp;
	char body[96];
	enum MHD_Result ret;

	snprintf(body, sizeof(body), "%u %s\n", status, text);
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	add_headers(resp, rt, CT_TEXT);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == MHD_HTTP_UNAUTHORIZED)
		ret = MHD_queue_basic_auth_fail_response(mc, "wstrace", resp);
	else
		ret = MHD_queue_response(mc, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void body_put(struct body *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
		free(b->data);
		free(b);
	}
}

static void body_release(void *cls)
{
	body_put(cls);
}

static enum MHD_Result answer_metrics(struct req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!r->body)
		return answer_text(r->mc, r->rt, r->status ? r->status : 500,
				   r->status == 503 ? "Service Unavailable" : "Internal Server Error");
	resp = MHD_create_response_from_buffer_with_free_callback_cls(r->body->len, r->body->data,
								      body_release, r->body);
	if (!resp)
		return MHD_NO;
	r->body = NULL; /* the response holds the reference now */
	add_headers(resp, r->rt, CT_METRICS);
	ret = MHD_queue_response(r->mc, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* --- requests --- */

/* rate_limit: a token bucket over all requests (the toolkit's rate.Limiter). */
static bool rate_allow(struct metrics_http *h, const struct web_rt *rt)
{
	const struct webconfig *c = rt->cfg;
	struct timespec ts;
	uint64_t now;

	if (!c || !c->rate_interval_ns)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (h->bucket_rt != rt) {
		h->bucket_rt = rt;
		h->tokens = c->rate_burst;
		h->bucket_ns = now;
	}
	h->tokens += (double)(now - h->bucket_ns) / (double)c->rate_interval_ns;
	h->bucket_ns = now;
	if (h->tokens > c->rate_burst)
		h->tokens = c->rate_burst;
	if (h->tokens < 1)
		return false;
	h->tokens -= 1;
	return true;
}

/* Suspends the request until dispatch renders; false when shutting down. */
static bool wait_render(struct metrics_http *h, struct req *r)
{
	uint64_t one = 1;

	pthread_mutex_lock(&h->lock);
	if (h->closing) {
		pthread_mutex_unlock(&h->lock);
		return false;
	}
	r->state = RQ_RENDER_WAIT;
	/* Suspended before it is visible, so no resume can come first. */
	MHD_suspend_connection(r->mc);
	r->next = h->render_q;
	h->render_q = r;
	pthread_mutex_unlock(&h->lock);
	if (write(h->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("metrics: eventfd: %s", strerror(errno));
	return true;
}

static enum MHD_Result route(struct metrics_http *h, struct req *r, const char *url)
{
	if (!strcmp(url, "/")) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof(index_html) - 1,
									   (void *)index_html,
									   MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;

		if (!resp)
			return MHD_NO;
		add_headers(resp, r->rt, CT_HTML);
		ret = MHD_queue_response(r->mc, MHD_HTTP_OK, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (strcmp(url, "/metrics"))
		return answer_text(r->mc, r->rt, MHD_HTTP_NOT_FOUND, "Not Found");
	if (!wait_render(h, r))
		return answer_text(r->mc, r->rt, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable");
	return MHD_YES;
}

/*
 * Basic authentication: a cached answer at once, otherwise the request
 * waits for the bcrypt thread. Returns 1 to go on, 0 when it waits, or a
 * negative answer (-401, -503).
 */
static int authenticate(struct metrics_http *h, struct req *r)
{
	uint8_t digest[32];
	char *pass = NULL, *user;
	int cached;

	if (!r->rt->cfg || !r->rt->cfg->n_users)
		return 1;
	user = MHD_basic_auth_get_username_password(r->mc, &pass);
	if (!user || !pass) {
		MHD_free(user);
		MHD_free(pass);
		return -401;
	}
	auth_digest(r->rt, user, pass, digest);
	pthread_mutex_lock(&h->lock);
	cached = cache_lookup(r->rt, digest);
	if (cached < 0) {
		if (h->closing || h->auth_len >= METRICS_HTTP_AUTH_QUEUE) {
			cached = -503;
		} else {
			r->user = strdup(user);
			r->pass = strdup(pass);
			if (!r->user || !r->pass) {
				cached = -503;
			} else {
				r->state = RQ_AUTH_WAIT;
				MHD_suspend_connection(r->mc);
				r->next = NULL;
				*h->auth_tail = r;
				h->auth_tail = &r->next;
				h->auth_len++;
				pthread_cond_signal(&h->auth_cond);
			}
		}
	}
	pthread_mutex_unlock(&h->lock);
	explicit_bzero(pass, strlen(pass));
	MHD_free(user);
	MHD_free(pass);
	if (cached == 1)
		return 1;
	if (cached < 0 && r->state == RQ_AUTH_WAIT)
		return 0;
	return cached == -503 ? -503 : -401;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct metrics_http *h = cls;
	struct req *r = *con_cls;
	int a;

	(void)version;
	(void)upload_data;
	if (*upload_size) {
		*upload_size = 0; /* a body is read and ignored: nothing here takes one */
		return MHD_YES;
	}
	if (!r || !r->conn) /* no memory for the request or its connection */
		return answer_text(mc, NULL, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error");
	if (!r->head_seen) {
		/*
		 * The first call comes with the head, before any body. An answer
		 * queued now makes libmicrohttpd close the connection after it;
		 * the final call (the whole request read) keeps it alive.
		 */
		r->head_seen = true;
		r->conn->busy = true;
		if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
			return answer_text(mc, NULL, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
		return MHD_YES;
	}
	switch (r->state) {
	case RQ_NEW:
		r->rt = rt_current(h);
		if (!rate_allow(h, r->rt))
			return answer_text(mc, r->rt, MHD_HTTP_TOO_MANY_REQUESTS, "Too Many Requests");
		a = authenticate(h, r);
		if (a == 0)
			return MHD_YES;
		if (a < 0)
			return answer_text(mc, r->rt, (unsigned int)-a,
					   a == -401 ? "Unauthorized" : "Service Unavailable");
		r->state = RQ_ROUTED;
		return route(h, r, url);
	case RQ_AUTH_WAIT: /* resumed by the bcrypt thread, or by close */
		wipe_str(r->user);
		wipe_str(r->pass);
		r->user = r->pass = NULL;
		r->state = RQ_ROUTED;
		if (r->status)
			return answer_text(mc, r->rt, (unsigned int)r->status, "Service Unavailable");
		if (!r->auth_ok)
			return answer_text(mc, r->rt, MHD_HTTP_UNAUTHORIZED, "Unauthorized");
		return route(h, r, url);
	case RQ_RENDER_WAIT: /* resumed by dispatch, or by close */
		return answer_metrics(r);
	case RQ_ROUTED:
		break; /* answered or waiting already: not called again */
	}
	return answer_text(mc, r->rt, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error");
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Called when the request line has been read: the request starts here. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	struct req *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)uri;
	if (!r)
		return NULL;
	r->mc = mc;
	r->conn = conn_of(mc);
	if (r->conn)
		r->conn->progress = true;
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct metrics_http *h = cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_HTTP_STATUS);
	struct req *r = *con_cls;

	(void)toe;
	count(h, ci && ci->http_status ? code_of_status(ci->http_status) : METRICS_HTTP_UNANSWERED);
	if (!r)
		return;
	if (r->conn)
		r->conn->busy = false;
	wipe_str(r->user);
	wipe_str(r->pass);
	body_put(r->body);
	rt_put(r->rt);
	free(r);
	*con_cls = NULL;
}

/* --- connections, and TLS --- */

static struct conn *conn_of_session(gnutls_session_t s)
{
	struct MHD_Connection *mc = gnutls_session_get_ptr(s);

	return mc ? conn_of(mc) : NULL;
}

static int cert_for_session(gnutls_session_t s, const gnutls_datum_t *req_ca_rdn, int nreqs,
			    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
			    unsigned int *pcert_length, gnutls_privkey_t *key)
{
	struct conn *c = conn_of_session(s);

	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (!c || !c->rt || !c->rt->n_pcerts)
		return -1;
	*pcert = c->rt->pcerts;
	*pcert_length = c->rt->n_pcerts;
	*key = c->rt->key;
	return 0;
}

/* Go's x509 Certificate SAN values: DNS names, e-mail addresses, IPs, URIs. */
static bool san_allowed(const struct webconfig *cfg, const gnutls_datum_t *der)
{
	gnutls_x509_crt_t crt;
	bool ok = false;

	if (gnutls_x509_crt_init(&crt) < 0)
		return false;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0)
		goto out;
	for (unsigned int seq = 0; !ok; seq++) {
		char buf[1024], text[INET6_ADDRSTRLEN];
		size_t size = sizeof(buf) - 1;
		unsigned int critical;
		const char *v = buf;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf, &size, &critical);

		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue; /* longer than any entry allowed */
		if (type < 0)
			break;
		if (type == GNUTLS_SAN_IPADDRESS) {
			if (!inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, text, sizeof(text)) ||
			    (size != 4 && size != 16))
				continue;
			v = text;
		} else if (type == GNUTLS_SAN_DNSNAME || type == GNUTLS_SAN_RFC822NAME || type == GNUTLS_SAN_URI) {
			buf[size] = '\0';
		} else {
			continue;
		}
		for (int i = 0; i < cfg->n_allowed_sans && !ok; i++)
			ok = !strcmp(cfg->allowed_sans[i], v);
	}
out:
	gnutls_x509_crt_deinit(crt);
	return ok;
}

/* A client certificate chain against client_ca, for client authentication. */
static bool chain_verifies(const struct web_rt *rt, const gnutls_datum_t *certs, unsigned int n)
{
	gnutls_x509_crt_t chain[MAX_CHAIN];
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	unsigned int status = 0, got = 0;
	bool ok = false;

	if (!rt->trust || n > MAX_CHAIN)
		return false;
	for (; got < n; got++)
		if (gnutls_x509_crt_init(&chain[got]) < 0 ||
		    gnutls_x509_crt_import(chain[got], &certs[got], GNUTLS_X509_FMT_DER) < 0) {
			got++;
			goto out;
		}
	ok = gnutls_x509_trust_list_verify_crt2(rt->trust, chain, n, &purpose, 1, 0, &status, NULL) == 0 &&
	     status == 0;
out:
	while (got > 0)
		gnutls_x509_crt_deinit(chain[--got]);
	return ok;
}

/* During the handshake, once the client's certificate message is in. */
static int verify_client(gnutls_session_t s)
{
	struct conn *c = conn_of_session(s);
	const struct webconfig *cfg;
	const gnutls_datum_t *certs;
	unsigned int n = 0;
	bool required, verify;

	if (!c || !c->rt || !c->rt->cfg)
		return -1;
	cfg = c->rt->cfg;
	required = cfg->client_auth == WEB_REQUIRE_ANY_CLIENT_CERT ||
		   cfg->client_auth == WEB_REQUIRE_AND_VERIFY_CLIENT_CERT;
	verify = cfg->client_auth == WEB_VERIFY_CLIENT_CERT_IF_GIVEN ||
		 cfg->client_auth == WEB_REQUIRE_AND_VERIFY_CLIENT_CERT;
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || !n) {
		if (!required)
			return 0;
		count(c->h, METRICS_HTTP_TLS_CERT_MISSING);
		c->counted = true;
		return -1;
	}
	if ((verify && !chain_verifies(c->rt, certs, n)) || (cfg->n_allowed_sans && !san_allowed(cfg, &certs[0]))) {
		count(c->h, METRICS_HTTP_TLS_CERT_INVALID);
		c->counted = true;
		return -1;
	}
	return 0;
}

static int handshake_hook(gnutls_session_t s, unsigned int htype, unsigned when, unsigned int incoming,
			  const gnutls_datum_t *msg)
{
	struct conn *c = conn_of_session(s);

	(void)when;
	(void)msg;
	/* The peer's Finished, the last message of a handshake either side
	 * could still fail, in TLS 1.2 and 1.3 alike. */
	if (c && incoming && htype == GNUTLS_HANDSHAKE_FINISHED)
		c->handshake_done = true;
	return 0;
}

/*
 * What libmicrohttpd reads from a TLS connection comes through here: its
 * first byte tells TLS (a record type, 20-24, or an SSLv2 hello) from
 * plain HTTP, which gets a 400 saying so, as Go's server answers.
 */
static ssize_t tls_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	static const char plain_reply[] = "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
					  "Connection: close\r\n\r\n"
					  "Client sent an HTTP request to an HTTPS server.\n";
	struct conn *c = p;
	ssize_t n = recv(c->fd, buf, len, 0);
	char sink[4096];

	if (n <= 0 || c->tls_bytes)
		return n;
	c->tls_bytes = true;
	c->progress = true;
	if (((const unsigned char *)buf)[0] < 'A' || ((const unsigned char *)buf)[0] > 'Z')
		return n;
	/* Read what the request sent, so that closing does not reset the reply away. */
	for (int i = 0; i < 16 && recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	if (send(c->fd, plain_reply, sizeof(plain_reply) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("metrics: plain HTTP on the TLS port: %s", strerror(errno));
	shutdown(c->fd, SHUT_WR);
	count(c->h, METRICS_HTTP_C400);
	c->counted = true;
	errno = ECONNRESET;
	return -1;
}

static int tls_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct conn *c = p;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	return poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

static void tls_setup(struct conn *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c->mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s;

	if (!ci || !c->rt || !c->rt->prio)
		return;
	s = ci->tls_session;
	gnutls_priority_set(s, c->rt->prio);
	if (c->rt->cfg->client_auth != WEB_NO_CLIENT_CERT) {
		/* Requested, never required by GnuTLS: verify_client decides, and counts. */
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
		gnutls_session_set_verify_function(s, verify_client);
	}
	gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_FINISHED, GNUTLS_HOOK_POST, handshake_hook);
	gnutls_transport_set_ptr2(s, c, (gnutls_transport_ptr_t)(intptr_t)c->fd);
	gnutls_transport_set_pull_function(s, tls_pull);
	gnutls_transport_set_pull_timeout_function(s, tls_pull_timeout);
}

/* Whether the client has sent bytes not read yet (its request may be on the way). */
static bool has_pending(const struct conn *c)
{
	char b;

	return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/*
 * Full: close the connection that has waited longest without sending a
 * byte, else the one waiting longest for (or between) requests. The
 * newcomer is never chosen (it may be the scraper, its request still in
 * flight), nor one being answered. The newest connection is last.
 */
static void make_room(struct metrics_http *h, struct conn *newcomer)
{
	while (h->nconns - h->nevicting > METRICS_HTTP_MAX_CONNS) {
		struct conn *victim = NULL;

		for (struct conn *c = h->conns; c; c = c->next) {
			if (c == newcomer || c->busy || c->evicted)
				continue;
			if (!c->progress && has_pending(c))
				c->progress = true;
			if (!c->progress) {
				victim = c;
				break;
			}
			if (!victim)
				victim = c;
		}
		if (!victim)
			return; /* all busy: libmicrohttpd's limit holds the rest in the backlog */
		victim->evicted = true;
		h->nevicting++;
		atomic_fetch_add(&h->evicted, 1);
		shutdown(victim->fd, SHUT_RDWR);
	}
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct metrics_http *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *c = *socket_ctx;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = calloc(1, sizeof(*c));
		if (!c) {
			if (ci)
				shutdown(ci->connect_fd, SHUT_RDWR);
			return;
		}
		c->h = h;
		c->mc = mc;
		c->fd = ci ? ci->connect_fd : -1;
		c->seq = h->accepts++;
		c->rt = rt_current(h);
		c->prev = h->conns_tail;
		if (h->conns_tail)
			h->conns_tail->next = c;
		else
			h->conns = c;
		h->conns_tail = c;
		h->nconns++;
		*socket_ctx = c;
		if (h->tls)
			tls_setup(c);
		make_room(h, c);
		return;
	}
	if (!c)
		return;
	if (h->tls && c->tls_bytes && !c->handshake_done && !c->counted && !c->evicted)
		count(h, METRICS_HTTP_TLS_HANDSHAKE);
	if (c->evicted)
		h->nevicting--;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		h->conns_tail = c->prev;
	h->nconns--;
	rt_put(c->rt);
	free(c);
	*socket_ctx = NULL;
}

/* libmicrohttpd's messages are about clients: debug only, one line each. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	pr_debug("metrics endpoint: %s", msg);
}

/* --- the listening socket --- */

static int parse_port(const char *s, int *port)
{
	long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return -EINVAL;
	}
	*port = (int)v;
	return 0;
}

/* "PORT", "ADDR:PORT", "[V6]:PORT" into a socket address. */
static int parse_spec(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[64];
	const char *port_s, *colon;
	size_t hl;
	int port;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || end[1] != ':')
			goto bad;
		hl = (size_t)(end - spec - 1);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		if (parse_port(end + 2, &port) || inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
		return 0;
	}
	colon = strchr(spec, ':');
	if (colon && strchr(colon + 1, ':')) {
		snprintf(err, errlen, "invalid metrics address \"%s\": write IPv6 addresses in brackets, as in [::1]:%d",
			 spec, METRICS_HTTP_DEFAULT_PORT);
		return -EINVAL;
	}
	sin->sin_family = AF_INET;
	*sslen = sizeof(*sin);
	if (!colon) {
		strcpy(host, "127.0.0.1");
		port_s = spec;
	} else {
		hl = (size_t)(colon - spec);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		port_s = colon + 1;
	}
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (parse_port(port_s, &port) || inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		goto bad;
	sin->sin_port = htons((uint16_t)port);
	return 0;
bad:
	snprintf(err, errlen, "invalid metrics address \"%s\": expected [ADDR:]PORT with a numeric address, e.g."
		 " 127.0.0.1:%d", spec, METRICS_HTTP_DEFAULT_PORT);
	return -EINVAL;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int listen_on(struct metrics_http *h, const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int one = 1, rc;

	rc = parse_spec(spec, &ss, &sslen, err, errlen);
	if (rc)
		return rc;
	h->loopback = is_loopback(&ss);
	h->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->lfd < 0)
		goto sys_fail;
	/* Restarts must not wait for TIME_WAIT of old scrapes. */
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(h->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(h->lfd, (struct sockaddr *)&ss, sslen) < 0 || listen(h->lfd, LISTEN_BACKLOG) < 0)
		goto sys_fail;
	sslen = sizeof(ss);
	if (getsockname(h->lfd, (struct sockaddr *)&ss, &sslen) < 0)
		goto sys_fail;
	h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
sys_fail:
	rc = -errno;
	snprintf(err, errlen, "cannot listen on %s for metrics: %s", spec, strerror(errno));
	return rc;
}

static void warn_exposed(const struct metrics_http *h, const struct web_rt *rt)
{
	const struct webconfig *c = rt->cfg;

	if (!h->loopback && (!c || (!c->tls && !c->n_users)))
		pr_warn("metrics: the endpoint is not on loopback and has neither TLS nor basic authentication:"
			" anyone who reaches port %d reads the metrics (see --web-config)", h->port);
}

/* --- the server --- */

int metrics_http_open(struct metrics_http **out, const struct metrics_http_opts *o, char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	static const char *const labels[] = {
#define X(e, label, doc) label,
		METRICS_HTTP_CODES(X)
#undef X
	};
	struct metrics_http *h;
	sigset_t all, old;
	int rc, mhd_fd;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	h = calloc(1, sizeof(*h));
	if (!h) {
		webconfig_free(o->web);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->lfd = h->efd = -1;
	h->family = -1;
	h->render = o->render;
	h->ctx = o->ctx;
	h->reg = o->registry;
	h->timeout_s = o->timeout_s ? o->timeout_s : METRICS_HTTP_TIMEOUT_S;
	h->auth_tail = &h->auth_q;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->auth_cond, NULL);
	rc = rt_new(o->web, &h->rt, err, errlen);
	if (rc)
		goto fail;
	h->tls = h->rt->cfg && h->rt->cfg->tls;
	rc = listen_on(h, o->spec && *o->spec ? o->spec : METRICS_HTTP_DEFAULT_SPEC, err, errlen);
	if (rc)
		goto fail;
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0) {
		rc = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (h->reg) {
		h->family = metrics_counter(h->reg, "wstrace_metrics_http_requests_total",
					    "Requests to the metrics endpoint by the status of the answer, and TLS"
					    " handshakes and requests that got none, by why.",
					    "code", labels, METRICS_HTTP_N_CODES);
		if (h->family < 0) {
			rc = h->family;
			snprintf(err, errlen, "cannot declare the endpoint's metric: %s", strerror(-rc));
			goto fail;
		}
	}
	if (h->tls)
		flags |= MHD_USE_TLS;
	/* Signals are the capture thread's: the threads started here block them. */
	/* A copy of the socket: libmicrohttpd closes it on some failures, not all. */
	mhd_fd = fcntl(h->lfd, F_DUPFD_CLOEXEC, 0);
	if (mhd_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on port %d: %s", h->port, strerror(errno));
		goto fail;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_LISTEN_SOCKET, mhd_fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MHD_CONN_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, h->timeout_s,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_HTTP_MEMORY,
				MHD_OPTION_STRICT_FOR_CLIENT, 1, /* RFC 9112: HTTP/1.1 needs Host */
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
				h->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, cert_for_session,
				MHD_OPTION_END);
	if (h->d) {
		rc = pthread_create(&h->auth_thread, NULL, auth_main, h);
		h->auth_started = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h->d || !h->auth_started) {
		rc = h->d ? -rc : -EIO;
		snprintf(err, errlen, "cannot start the metrics endpoint on port %d%s", h->port,
			 h->d ? ": no thread" : " (libmicrohttpd refused its settings)");
		goto fail;
	}
	close(h->lfd); /* libmicrohttpd has its copy */
	h->lfd = -1;
	warn_exposed(h, h->rt);
	*out = h;
	return 0;
fail:
	metrics_http_close(h);
	return rc;
}

int metrics_http_fd(const struct metrics_http *h)
{
	return h->efd;
}

int metrics_http_port(const struct metrics_http *h)
{
	return h->port;
}

void metrics_http_get_stats(struct metrics_http *h, struct metrics_http_stats *st)
{
	const union MHD_DaemonInfo *di = h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS) : NULL;

	memset(st, 0, sizeof(*st));
	for (int i = 0; i < METRICS_HTTP_N_CODES; i++)
		st->codes[i] = atomic_load(&h->codes[i]);
	st->evicted = atomic_load(&h->evicted);
	st->bcrypt_checks = atomic_load(&h->bcrypt_checks);
	st->conns = di ? (int)di->num_connections : 0;
}

static void sync_counters(struct metrics_http *h)
{
	if (!h->reg || h->family < 0)
		return;
	for (int i = 0; i < METRICS_HTTP_N_CODES; i++)
		metrics_counter_set(h->reg, h->family, (uint32_t)i, atomic_load(&h->codes[i]));
}

void metrics_http_dispatch(struct metrics_http *h)
{
	struct body *b = NULL;
	struct req *q, *next;
	uint64_t v;
	char *buf = NULL;
	size_t len = 0;

	if (read(h->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug("metrics: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&h->lock);
	q = h->render_q;
	h->render_q = NULL;
	pthread_mutex_unlock(&h->lock);
	if (!q)
		return;
	sync_counters(h);
	/* One render for every request waiting. */
	if (h->render && h->render(h->ctx, &buf, &len) == 0 && (b = calloc(1, sizeof(*b)))) {
		atomic_init(&b->refs, 1);
		b->data = buf;
		b->len = len;
		buf = NULL;
	}
	free(buf);
	for (; q; q = next) {
		next = q->next;
		if (b) {
			atomic_fetch_add(&b->refs, 1);
			q->body = b;
		} else {
			q->status = 500;
		}
		MHD_resume_connection(q->mc);
	}
	body_put(b);
}

int metrics_http_set_web(struct metrics_http *h, struct webconfig *web, char *err, size_t errlen)
{
	struct web_rt *rt, *old;
	bool tls = web && web->tls;
	int rc;

	if (tls != h->tls) {
		webconfig_free(web);
		snprintf(err, errlen, "%s TLS takes a restart", tls ? "turning on" : "turning off");
		return -EINVAL;
	}
	rc = rt_new(web, &rt, err, errlen);
	if (rc)
		return rc;
	pthread_mutex_lock(&h->lock);
	old = h->rt;
	h->rt = rt;
	pthread_mutex_unlock(&h->lock);
	rt_put(old);
	warn_exposed(h, rt);
	return 0;
}

void metrics_http_close(struct metrics_http *h)
{
	struct req *q[2], *next;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->closing = true;
	pthread_cond_broadcast(&h->auth_cond);
	pthread_mutex_unlock(&h->lock);
	if (h->auth_started)
		pthread_join(h->auth_thread, NULL);
	/* libmicrohttpd must not be stopped with requests suspended. */
	pthread_mutex_lock(&h->lock);
	q[0] = h->render_q;
	q[1] = h->auth_q;
	h->render_q = h->auth_q = NULL;
	pthread_mutex_unlock(&h->lock);
	for (int i = 0; i < 2; i++)
		for (struct req *r = q[i]; r; r = next) {
			next = r->next;
			r->status = 503;
			MHD_resume_connection(r->mc);
		}
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->efd >= 0)
		close(h->efd);
	rt_put(h->rt);
	pthread_cond_destroy(&h->auth_cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
