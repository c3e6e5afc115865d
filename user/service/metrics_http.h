/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * metrics_http.h - the /metrics endpoint, served by libmicrohttpd, with
 * TLS (GnuTLS) and basic authentication from an exporter toolkit web
 * configuration (webconfig.h).
 *
 * Threads. libmicrohttpd runs in a thread of its own (one epoll loop for
 * every connection), so TLS handshakes and slow clients never run on the
 * capture thread; bcrypt runs in one more thread, so a client guessing
 * passwords never holds up the other connections. Rendering stays on the
 * capture thread, which owns the counters: a /metrics request is suspended
 * and the capture loop is woken through metrics_http_fd(); it calls
 * metrics_http_dispatch(), which renders once for every request waiting and
 * resumes them. The capture thread never waits for the HTTP threads.
 *
 * Bounds. At most METRICS_HTTP_MAX_CONNS connections; when a new one comes
 * while full, the one that has waited longest without sending anything
 * (then the one waiting longest for its request) makes room, so idle
 * connections cannot lock a scraper out. A request head larger than the
 * connection's memory (METRICS_HTTP_MEMORY) gets 431; a connection idle
 * for METRICS_HTTP_TIMEOUT_S is closed.
 *
 * Default port 9272: in the exporters' 9xxx range, echoing 7272, the
 * default WebSocket port watched. Exporters register ports at
 * github.com/prometheus/prometheus/wiki/Default-port-allocations; check it
 * there (and register) before a release.
 */
#ifndef WST_METRICS_HTTP_H
#define WST_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sinks/metrics.h"
#include "webconfig.h"

#define METRICS_HTTP_DEFAULT_PORT 9272
#define METRICS_HTTP_DEFAULT_SPEC "127.0.0.1:9272"
#define METRICS_HTTP_MAX_CONNS 64
#define METRICS_HTTP_MEMORY 16384       /* per connection: request head, response head */
#define METRICS_HTTP_TIMEOUT_S 5        /* idle connections are closed after this */
#define METRICS_HTTP_AUTH_QUEUE 16      /* passwords waiting for bcrypt; more get 503 */

/*
 * What wstrace_metrics_http_requests_total{code} counts: the status of
 * each answer, and what ended a connection without one. A request counts
 * from its request line: one libmicrohttpd cannot read (not HTTP, an HTTP
 * version other than 1.x, a line larger than the connection's memory) is
 * closed, or answered 400, 505 or 414, uncounted.
 */
#define METRICS_HTTP_CODES(X)                                                              \
	X(C200, "200", "answered")                                                         \
	X(C400, "400", "a malformed request, or plain HTTP sent to the TLS endpoint")      \
	X(C401, "401", "no, an unknown or a wrong user name and password")                 \
	X(C404, "404", "a path other than /metrics and /")                                 \
	X(C405, "405", "a method other than GET and HEAD")                                 \
	X(C429, "429", "over the web config's rate_limit")                                 \
	X(C431, "431", "a request head larger than the connection's memory (16 KiB)")      \
	X(C500, "500", "rendering the metrics failed")                                     \
	X(C503, "503", "too many passwords waiting to be checked, or shutting down")       \
	X(OTHER, "other", "any other status")                                              \
	X(UNANSWERED, "unanswered", "a request begun but not answered: the client closed," \
	  " went silent past the timeout, or was closed to make room")                     \
	X(TLS_CERT_MISSING, "tls_client_cert_missing",                                     \
	  "a TLS handshake without the client certificate client_auth_type requires")      \
	X(TLS_CERT_INVALID, "tls_client_cert_invalid",                                     \
	  "a client certificate not signed by client_ca, expired, not for client"          \
	  " authentication, or without an allowed SAN")                                    \
	X(TLS_HANDSHAKE, "tls_handshake_failed",                                           \
	  "any other TLS handshake that did not complete (no common version or cipher,"    \
	  " not TLS, the client gave up or went silent)")

enum metrics_http_code {
#define X(e, label, doc) METRICS_HTTP_##e,
	METRICS_HTTP_CODES(X)
#undef X
	METRICS_HTTP_N_CODES
};

/* The label value of a code. */
const char *metrics_http_code_label(enum metrics_http_code code);

/*
 * Produces the /metrics body: a malloc'ed buffer the server frees. Called
 * on the thread that calls metrics_http_dispatch(). exporter_render() fits.
 */
typedef int (*metrics_http_render_fn)(void *ctx, char **buf, size_t *len);

struct metrics_http;

struct metrics_http_opts {
	/*
	 * "PORT" (on 127.0.0.1), "ADDR:PORT", "[IPV6]:PORT"; ADDR is numeric
	 * or "localhost"; NULL or "" means METRICS_HTTP_DEFAULT_SPEC; port 0
	 * picks a free port.
	 */
	const char *spec;
	struct webconfig *web;       /* taken over (freed even on error); NULL: plain HTTP, no auth */
	metrics_http_render_fn render;
	void *ctx;
	struct metrics *registry;    /* gets wstrace_metrics_http_requests_total; may be NULL */
	unsigned int timeout_s;      /* 0: METRICS_HTTP_TIMEOUT_S */
};

/*
 * Listens and starts serving. Returns 0; -EINVAL (bad spec, or a web
 * config GnuTLS rejects: a key that does not match its certificate, no
 * certificate in a PEM file) or another -errno, with one line in err.
 * Warns when the address is not loopback and neither TLS nor basic
 * authentication is configured.
 */
int metrics_http_open(struct metrics_http **out, const struct metrics_http_opts *o,
		      char *err, size_t errlen);

/* Readable (EPOLLIN) when requests wait for metrics_http_dispatch(). */
int metrics_http_fd(const struct metrics_http *h);

/*
 * On the thread that owns what render reads: renders once for every
 * request waiting and hands the body over; copies the request counters
 * into the registry. Never blocks.
 */
void metrics_http_dispatch(struct metrics_http *h);

/*
 * Replaces the web configuration (a reload): users, headers, the rate
 * limit and the client certificate policy apply to the next request, the
 * certificate and key to the next connection. Takes web over (NULL: no
 * TLS, no authentication). Turning TLS on or off needs a restart:
 * -EINVAL. On error the running configuration stays and err says why.
 */
int metrics_http_set_web(struct metrics_http *h, struct webconfig *web, char *err, size_t errlen);

/* The bound port (useful after port 0). */
int metrics_http_port(const struct metrics_http *h);

struct metrics_http_stats {
	uint64_t codes[METRICS_HTTP_N_CODES];
	uint64_t evicted;        /* connections closed to make room */
	uint64_t bcrypt_checks;  /* passwords checked with bcrypt (not from the cache) */
	int conns;               /* open now */
};

void metrics_http_get_stats(struct metrics_http *h, struct metrics_http_stats *stats);

/* Answers what waits with 503, stops the threads, closes every connection. */
void metrics_http_close(struct metrics_http *h);

#endif /* WST_METRICS_HTTP_H */
