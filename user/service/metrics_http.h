/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * metrics_http.h - a tiny non-blocking HTTP/1.1 server for /metrics.
 *
 * Made to live inside the capture loop: it owns one epoll fd that the
 * caller adds (EPOLLIN) to its own epoll set and, when that fd is
 * readable, calls metrics_http_dispatch(), which never blocks. Every
 * response ends the connection (Connection: close). Slow or hostile
 * clients cost bounded memory and are dropped at a per-connection
 * deadline; a client that never reads its response blocks nothing.
 *
 * Default port 9272: in the exporters' 9xxx range, echoing 7272, the
 * default WebSocket port watched. Exporters register ports at
 * github.com/prometheus/prometheus/wiki/Default-port-allocations; check it
 * there (and register) before a release.
 */
#ifndef WST_METRICS_HTTP_H
#define WST_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_HTTP_DEFAULT_PORT 9272
#define METRICS_HTTP_DEFAULT_SPEC "127.0.0.1:9272"
#define METRICS_HTTP_MAX_CONNS 64      /* more are accepted and closed */
#define METRICS_HTTP_MAX_HEAD 8192     /* larger request heads get 431 */
#define METRICS_HTTP_TIMEOUT_MS 5000   /* whole exchange, per connection */

/*
 * Produces the /metrics body: a malloc'ed buffer the server frees. Called
 * only when /metrics is requested. metrics_render_cb() fits.
 */
typedef int (*metrics_http_render_fn)(void *ctx, char **buf, size_t *len);

struct metrics_http;

struct metrics_http_stats {
	uint64_t accepted;
	uint64_t rejected;  /* over METRICS_HTTP_MAX_CONNS, all busy answering: closed at once */
	uint64_t evicted;   /* over METRICS_HTTP_MAX_CONNS: the oldest still reading made room */
	uint64_t requests;  /* answered, any status */
	uint64_t timeouts;  /* dropped at the deadline */
	uint64_t errors;    /* render failures, socket errors */
};

/*
 * Listens on spec: "PORT" (on 127.0.0.1), "ADDR:PORT", "[IPV6]:PORT";
 * ADDR is numeric or "localhost"; NULL or "" means
 * METRICS_HTTP_DEFAULT_SPEC; port 0 picks a free port. Returns 0, or
 * -EINVAL (bad spec) or another -errno with a message in err.
 */
int metrics_http_open(struct metrics_http **out, const char *spec,
		      metrics_http_render_fn render, void *ctx,
		      char *err, size_t errlen);

/* The fd to watch for EPOLLIN (an epoll fd itself). */
int metrics_http_fd(const struct metrics_http *h);

/* The bound port (useful after port 0). */
int metrics_http_port(const struct metrics_http *h);

/* Deadline for one connection, from accept to the last byte sent. */
void metrics_http_set_timeout(struct metrics_http *h, unsigned int timeout_ms);

/*
 * Accepts and serves what is ready, without blocking, and drops
 * connections past their deadline. now_ms is a monotonic clock in ms.
 * Call it when the fd is readable and also at least as often as
 * metrics_http_next_timeout() says, so deadlines are enforced.
 */
void metrics_http_dispatch(struct metrics_http *h, uint64_t now_ms);

/* Milliseconds until the next deadline (0 if due), -1 if no connection. */
int metrics_http_next_timeout(const struct metrics_http *h, uint64_t now_ms);

int metrics_http_nconns(const struct metrics_http *h);
void metrics_http_get_stats(const struct metrics_http *h,
			    struct metrics_http_stats *stats);

void metrics_http_close(struct metrics_http *h);

#endif /* WST_METRICS_HTTP_H */
