// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * metrics_http.c - non-blocking HTTP/1.1 (RFC 9112) server for /metrics.
 *
 * One request per connection. Each connection goes READ (request head,
 * at most METRICS_HTTP_MAX_HEAD bytes) -> WRITE (buffered response, sent
 * as the socket accepts it) -> DRAIN (our side shut down; discard what
 * the client still sends until it closes, so the kernel does not answer
 * unread data with a RST that could destroy the response in flight).
 * Every state is bounded by one deadline from accept.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics_http.h"

#define LISTEN_ID 0
#define EVENTS_PER_DISPATCH 64
#define DRAIN_CHUNK 4096

enum conn_state { CONN_FREE, CONN_READ, CONN_WRITE, CONN_DRAIN };

struct conn {
	int fd;
	enum conn_state state;
	uint32_t gen;          /* tells stale epoll events from a reused slot */
	uint64_t deadline_ms;
	uint64_t seq;          /* accept order, for eviction */
	char *req;             /* METRICS_HTTP_MAX_HEAD bytes */
	size_t req_len;
	char *resp;
	size_t resp_len, resp_off;
};

struct metrics_http {
	int epfd;
	int lfd;
	int port;
	unsigned int timeout_ms;
	metrics_http_render_fn render;
	void *ctx;
	int nconns;
	uint64_t accepts;
	struct metrics_http_stats stats;
	struct conn conns[METRICS_HTTP_MAX_CONNS];
};

static uint64_t conn_id(const struct metrics_http *h, const struct conn *c)
{
	return ((uint64_t)c->gen << 32) | (uint64_t)(c - h->conns + 1);
}

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
	*port = v;
	return 0;
}

/* "PORT", "ADDR:PORT", "[V6]:PORT" into a socket address. */
static int parse_spec(const char *spec, struct sockaddr_storage *ss,
		      socklen_t *sslen, char *err, size_t errlen)
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
		hl = end - spec - 1;
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		if (parse_port(end + 2, &port) ||
		    inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*sslen = sizeof(*sin6);
		return 0;
	}
	colon = strchr(spec, ':');
	if (colon && strchr(colon + 1, ':')) {
		snprintf(err, errlen, "invalid metrics address \"%s\": "
			 "write IPv6 addresses in brackets, as in [::1]:%d",
			 spec, METRICS_HTTP_DEFAULT_PORT);
		return -EINVAL;
	}
	sin->sin_family = AF_INET;
	*sslen = sizeof(*sin);
	if (!colon) {
		strcpy(host, "127.0.0.1");
		port_s = spec;
	} else {
		hl = colon - spec;
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		port_s = colon + 1;
	}
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (parse_port(port_s, &port) ||
	    inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		goto bad;
	sin->sin_port = htons(port);
	return 0;
bad:
	snprintf(err, errlen, "invalid metrics address \"%s\": expected "
		 "[ADDR:]PORT with a numeric address, e.g. 127.0.0.1:%d",
		 spec, METRICS_HTTP_DEFAULT_PORT);
	return -EINVAL;
}

int metrics_http_open(struct metrics_http **out, const char *spec,
		      metrics_http_render_fn render, void *ctx,
		      char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = LISTEN_ID };
	struct sockaddr_storage ss;
	struct metrics_http *h;
	socklen_t sslen;
	int one = 1, ret, i;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (!spec || !*spec)
		spec = METRICS_HTTP_DEFAULT_SPEC;
	ret = parse_spec(spec, &ss, &sslen, err, errlen);
	if (ret)
		return ret;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->lfd = -1;
	h->timeout_ms = METRICS_HTTP_TIMEOUT_MS;
	h->render = render;
	h->ctx = ctx;
	for (i = 0; i < METRICS_HTTP_MAX_CONNS; i++)
		h->conns[i].fd = -1;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0)
		goto sys_fail;
	h->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->lfd < 0)
		goto sys_fail;
	/* Restarts must not wait for TIME_WAIT of old scrapes. */
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->lfd, (struct sockaddr *)&ss, sslen) < 0 ||
	    listen(h->lfd, METRICS_HTTP_MAX_CONNS) < 0)
		goto sys_fail;
	sslen = sizeof(ss);
	if (getsockname(h->lfd, (struct sockaddr *)&ss, &sslen) < 0)
		goto sys_fail;
	h->port = ntohs(ss.ss_family == AF_INET6 ?
			((struct sockaddr_in6 *)&ss)->sin6_port :
			((struct sockaddr_in *)&ss)->sin_port);
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->lfd, &ev) < 0)
		goto sys_fail;
	*out = h;
	return 0;
sys_fail:
	ret = -errno;
	snprintf(err, errlen, "cannot listen on %s for metrics: %s", spec,
		 strerror(errno));
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h);
	return ret;
}

int metrics_http_fd(const struct metrics_http *h)
{
	return h->epfd;
}

int metrics_http_port(const struct metrics_http *h)
{
	return h->port;
}

void metrics_http_set_timeout(struct metrics_http *h, unsigned int timeout_ms)
{
	h->timeout_ms = timeout_ms;
}

int metrics_http_nconns(const struct metrics_http *h)
{
	return h->nconns;
}

void metrics_http_get_stats(const struct metrics_http *h,
			    struct metrics_http_stats *stats)
{
	*stats = h->stats;
}

static void conn_close(struct metrics_http *h, struct conn *c)
{
	if (c->state == CONN_FREE)
		return;
	close(c->fd); /* also leaves the epoll set */
	free(c->req);
	free(c->resp);
	c->req = c->resp = NULL;
	c->fd = -1;
	c->state = CONN_FREE;
	c->gen++;
	h->nconns--;
}

static void conn_watch(struct metrics_http *h, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = conn_id(h, c) };

	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		h->stats.errors++;
		conn_close(h, c);
	}
}

/*
 * Full: the connection that has waited longest for its request to finish
 * makes room, so idle connections (a slowloris flood) cannot lock out a
 * scraper that sends its request at once. Ones already being answered stay.
 */
static struct conn *evict_oldest_reader(struct metrics_http *h)
{
	struct conn *old = NULL;

	for (int i = 0; i < METRICS_HTTP_MAX_CONNS; i++) {
		struct conn *c = &h->conns[i];

		if (c->state == CONN_READ && (!old || c->seq < old->seq))
			old = c;
	}
	if (!old)
		return NULL;
	h->stats.evicted++;
	conn_close(h, old);
	return old;
}

static void accept_ready(struct metrics_http *h, uint64_t now_ms)
{
	struct epoll_event ev;
	struct conn *c = NULL;
	int fd, i, n;

	/* Bounded per call so a connection flood cannot starve capture. */
	for (n = 0; n < EVENTS_PER_DISPATCH; n++) {
		fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or an error the next call retries */
		c = NULL;
		for (i = 0; i < METRICS_HTTP_MAX_CONNS; i++)
			if (h->conns[i].state == CONN_FREE) {
				c = &h->conns[i];
				break;
			}
		if (!c)
			c = evict_oldest_reader(h);
		if (c)
			c->req = malloc(METRICS_HTTP_MAX_HEAD);
		if (!c || !c->req) {
			/* Full: accepting and closing keeps the backlog moving. */
			h->stats.rejected++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = CONN_READ;
		c->req_len = 0;
		c->resp_len = c->resp_off = 0;
		c->deadline_ms = now_ms + h->timeout_ms;
		c->seq = h->accepts++;
		ev.events = EPOLLIN;
		ev.data.u64 = conn_id(h, c);
		h->nconns++;
		h->stats.accepted++;
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			h->stats.errors++;
			conn_close(h, c);
		}
	}
}

static const char index_html[] =
	"<!DOCTYPE html>\n<html><head><title>wstrace</title></head>\n"
	"<body><h1>wstrace</h1>\n"
	"<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"

/* Builds head and (unless HEAD) body into c->resp. */
static int respond(struct conn *c, int status, const char *reason,
		   const char *type, const char *extra, const char *body,
		   size_t body_len, bool head_only)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %zu\r\n"
		     "%s"
		     "Cache-Control: no-store\r\n"
		     "Connection: close\r\n\r\n",
		     status, reason, type, body_len, extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	if (head_only)
		body_len = 0;
	c->resp = malloc(n + body_len);
	if (!c->resp)
		return -ENOMEM;
	memcpy(c->resp, head, n);
	if (body_len)
		memcpy(c->resp + n, body, body_len);
	c->resp_len = n + body_len;
	c->resp_off = 0;
	return 0;
}

static int respond_text(struct conn *c, int status, const char *reason,
			const char *extra, bool head_only)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);

	return respond(c, status, reason, CT_TEXT, extra, body, n, head_only);
}

static bool is_tchar(char ch)
{
	/* RFC 9110 section 5.6.2 token characters. */
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Parses the request line in c->req and prepares the response. */
static int handle_request(struct metrics_http *h, struct conn *c)
{
	char *line = c->req, *eol, *sp1, *sp2, *q, *p;
	size_t target_len;
	bool head_only;
	char *body = NULL;
	size_t body_len = 0;
	int ret;

	eol = memchr(line, '\n', c->req_len);
	if (!eol)
		return respond_text(c, 400, "Bad Request", NULL, false);
	if (eol > line && eol[-1] == '\r')
		eol--;
	*eol = '\0';
	sp1 = strchr(line, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp1 == line || strchr(sp2 + 1, ' '))
		return respond_text(c, 400, "Bad Request", NULL, false);
	for (p = line; p < sp1; p++)
		if (!is_tchar(*p))
			return respond_text(c, 400, "Bad Request", NULL, false);
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || strlen(sp2 + 1) != 8)
		return respond_text(c, 400, "Bad Request", NULL, false);
	*sp1 = '\0';
	*sp2 = '\0';
	head_only = strcmp(line, "HEAD") == 0;
	if (!head_only && strcmp(line, "GET") != 0)
		return respond_text(c, 405, "Method Not Allowed",
				    "Allow: GET, HEAD\r\n", false);
	q = strchr(sp1 + 1, '?');
	target_len = q ? (size_t)(q - sp1 - 1) : strlen(sp1 + 1);
	if (target_len == 1 && sp1[1] == '/')
		return respond(c, 200, "OK", CT_HTML, NULL, index_html,
			       sizeof(index_html) - 1, head_only);
	if (target_len != 8 || memcmp(sp1 + 1, "/metrics", 8) != 0)
		return respond_text(c, 404, "Not Found", NULL, head_only);
	ret = h->render ? h->render(h->ctx, &body, &body_len) : -ENOSYS;
	if (ret < 0) {
		h->stats.errors++;
		free(body);
		return respond_text(c, 500, "Internal Server Error", NULL,
				    head_only);
	}
	ret = respond(c, 200, "OK", CT_METRICS, NULL, body, body_len, head_only);
	free(body);
	return ret;
}

static void conn_write(struct metrics_http *h, struct conn *c)
{
	ssize_t n;

	while (c->resp_off < c->resp_len) {
		n = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (c->state != CONN_WRITE) {
					c->state = CONN_WRITE;
					conn_watch(h, c, EPOLLOUT);
				}
				return;
			}
			if (errno == EINTR)
				continue;
			conn_close(h, c); /* the client went away */
			return;
		}
		c->resp_off += n;
	}
	free(c->resp);
	c->resp = NULL;
	shutdown(c->fd, SHUT_WR);
	if (c->state != CONN_DRAIN) {
		c->state = CONN_DRAIN;
		conn_watch(h, c, EPOLLIN);
	}
}

static bool head_complete(const char *buf, size_t len, size_t from)
{
	size_t i;

	/* A bare LF ends lines too (RFC 9112 section 2.2). */
	for (i = from; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i >= 1 && buf[i - 1] == '\n')
			return true;
		if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')
			return true;
	}
	return false;
}

static void conn_read(struct metrics_http *h, struct conn *c)
{
	size_t from = c->req_len;
	ssize_t n;
	int ret;

	n = recv(c->fd, c->req + c->req_len, METRICS_HTTP_MAX_HEAD - c->req_len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(h, c); /* closed or reset before a whole request */
		return;
	}
	c->req_len += n;
	if (head_complete(c->req, c->req_len, from))
		ret = handle_request(h, c);
	else if (c->req_len == METRICS_HTTP_MAX_HEAD)
		ret = respond_text(c, 431, "Request Header Fields Too Large",
				   NULL, false);
	else
		return;
	free(c->req);
	c->req = NULL;
	if (ret < 0) {
		h->stats.errors++;
		conn_close(h, c);
		return;
	}
	h->stats.requests++;
	conn_write(h, c);
}

static void conn_drain(struct metrics_http *h, struct conn *c)
{
	char buf[DRAIN_CHUNK];
	ssize_t n;

	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0)
		conn_close(h, c); /* the client has closed: done */
}

void metrics_http_dispatch(struct metrics_http *h, uint64_t now_ms)
{
	struct epoll_event evs[EVENTS_PER_DISPATCH];
	struct conn *c;
	uint32_t slot;
	int n, i;

	n = epoll_wait(h->epfd, evs, EVENTS_PER_DISPATCH, 0);
	for (i = 0; i < n; i++) {
		if (evs[i].data.u64 == LISTEN_ID) {
			accept_ready(h, now_ms);
			continue;
		}
		slot = (uint32_t)evs[i].data.u64 - 1;
		if (slot >= METRICS_HTTP_MAX_CONNS)
			continue;
		c = &h->conns[slot];
		if (c->state == CONN_FREE || c->gen != evs[i].data.u64 >> 32)
			continue; /* closed, maybe reused, earlier in this batch */
		switch (c->state) {
		case CONN_READ:
			conn_read(h, c);
			break;
		case CONN_WRITE:
			conn_write(h, c);
			break;
		case CONN_DRAIN:
			conn_drain(h, c);
			break;
		case CONN_FREE:
			break;
		}
	}
	for (i = 0; i < METRICS_HTTP_MAX_CONNS; i++) {
		c = &h->conns[i];
		if (c->state != CONN_FREE && now_ms >= c->deadline_ms) {
			/* A drain that runs out of time has its answer: no loss. */
			if (c->state != CONN_DRAIN)
				h->stats.timeouts++;
			conn_close(h, c);
		}
	}
}

int metrics_http_next_timeout(const struct metrics_http *h, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	int i;

	for (i = 0; i < METRICS_HTTP_MAX_CONNS; i++)
		if (h->conns[i].state != CONN_FREE && h->conns[i].deadline_ms < next)
			next = h->conns[i].deadline_ms;
	if (next == UINT64_MAX)
		return -1;
	if (next <= now_ms)
		return 0;
	return next - now_ms > (uint64_t)INT32_MAX ? INT32_MAX : (int)(next - now_ms);
}

void metrics_http_close(struct metrics_http *h)
{
	int i;

	if (!h)
		return;
	for (i = 0; i < METRICS_HTTP_MAX_CONNS; i++)
		conn_close(h, &h->conns[i]);
	close(h->lfd);
	close(h->epfd);
	free(h);
}
