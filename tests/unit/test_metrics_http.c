// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * metrics_http tests over loopback, single-threaded: the test is both the
 * clients and the loop that calls metrics_http_dispatch(). Time passed to
 * dispatch is simulated, so deadlines are tested without sleeping.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "service/metrics_http.h"

struct fixture {
	struct metrics_http *h;
	int port;
	int renders;
	size_t body_size;   /* 0: the short body below */
	int fail;
	uint64_t now;       /* simulated ms clock */
};

static const char body_text[] = "# HELP x_total X.\n# TYPE x_total counter\nx_total 7\n";

static int render(void *ctx, char **buf, size_t *len)
{
	struct fixture *f = ctx;

	f->renders++;
	if (f->fail)
		return -ENOMEM;
	if (f->body_size) {
		*buf = malloc(f->body_size);
		if (!*buf)
			return -ENOMEM;
		memset(*buf, 'x', f->body_size);
		*len = f->body_size;
		return 0;
	}
	*buf = strdup(body_text);
	*len = strlen(body_text);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	assert_int_equal(metrics_http_open(&f->h, "127.0.0.1:0", render, f,
					   err, sizeof(err)), 0);
	f->port = metrics_http_port(f->h);
	assert_true(f->port > 0);
	f->now = 1000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	metrics_http_close(f->h);
	free(f);
	return 0;
}

static void pump(struct fixture *f)
{
	struct pollfd p = { .fd = metrics_http_fd(f->h), .events = POLLIN };

	poll(&p, 1, 10);
	metrics_http_dispatch(f->h, f->now);
}

static int client(int port, int rcvbuf)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Reads until EOF while driving the server; returns the bytes (malloc'd). */
static char *read_all(struct fixture *f, int fd, size_t *out_len)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	int rounds;
	ssize_t n;

	assert_non_null(buf);
	for (rounds = 0; rounds < 2000; rounds++) {
		pump(f);
		for (;;) {
			if (len == cap) {
				cap *= 2;
				buf = realloc(buf, cap + 1);
				assert_non_null(buf);
			}
			n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
			if (n > 0) {
				len += n;
				continue;
			}
			break;
		}
		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
	}
	assert_true(rounds < 2000);
	buf[len] = '\0';
	if (out_len)
		*out_len = len;
	return buf;
}

static char *exchange(struct fixture *f, const char *req)
{
	int fd = client(f->port, 0);
	char *resp;

	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
			 (ssize_t)strlen(req));
	resp = read_all(f, fd, NULL);
	close(fd);
	return resp;
}

/* The value of a header in a response, or NULL. */
static const char *header(const char *resp, const char *name, char *out,
			  size_t outlen)
{
	const char *end = strstr(resp, "\r\n\r\n");
	const char *p = resp;
	size_t nl = strlen(name);

	while (p && p < end) {
		p = strstr(p, "\r\n");
		if (!p || p >= end)
			return NULL;
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, outlen, "%.*s", (int)(e - v), v);
			return out;
		}
	}
	return NULL;
}

static const char *body_of(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");

	assert_non_null(p);
	return p + 4;
}

static void wait_closed_all(struct fixture *f)
{
	int i;

	for (i = 0; i < 500 && metrics_http_nconns(f->h); i++)
		pump(f);
	assert_int_equal(metrics_http_nconns(f->h), 0);
}

static void test_get_metrics(void **state)
{
	struct fixture *f = *state;
	char v[128];
	char *r;

	r = exchange(f, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(header(r, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(header(r, "Content-Length", v, sizeof(v)));
	assert_int_equal(atoi(v), strlen(body_text));
	assert_non_null(header(r, "Connection", v, sizeof(v)));
	assert_string_equal(v, "close");
	assert_string_equal(body_of(r), body_text);
	assert_int_equal(f->renders, 1);
	free(r);
	/* A query string and a bare-LF request (HTTP/1.0) work too. */
	r = exchange(f, "GET /metrics?x=1 HTTP/1.0\n\n");
	assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_string_equal(body_of(r), body_text);
	assert_int_equal(f->renders, 2);
	free(r);
	wait_closed_all(f);
}

static void test_index_404_405_400(void **state)
{
	struct fixture *f = *state;
	char v[128];
	char *r;

	r = exchange(f, "GET / HTTP/1.1\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(header(r, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "text/html; charset=utf-8");
	assert_non_null(strstr(body_of(r), "<a href=\"/metrics\">"));
	free(r);
	r = exchange(f, "GET /metricsx HTTP/1.1\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 404 ", 13) == 0);
	free(r);
	r = exchange(f, "GET /metrics/ HTTP/1.1\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 404 ", 13) == 0);
	free(r);
	r = exchange(f, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 405 ", 13) == 0);
	assert_non_null(header(r, "Allow", v, sizeof(v)));
	assert_string_equal(v, "GET, HEAD");
	free(r);
	r = exchange(f, "hello\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 400 ", 13) == 0);
	free(r);
	r = exchange(f, "GET /metrics HTTP/2.0\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 400 ", 13) == 0);
	free(r);
	r = exchange(f, "G(T /metrics HTTP/1.1\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 400 ", 13) == 0);
	free(r);
	assert_int_equal(f->renders, 0); /* only /metrics renders */
	f->fail = 1;
	r = exchange(f, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 500 ", 13) == 0);
	free(r);
	wait_closed_all(f);
}

static void test_head(void **state)
{
	struct fixture *f = *state;
	char v[128];
	char *r;

	r = exchange(f, "HEAD /metrics HTTP/1.1\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(header(r, "Content-Length", v, sizeof(v)));
	assert_int_equal(atoi(v), strlen(body_text));
	assert_string_equal(body_of(r), ""); /* no body */
	free(r);
	wait_closed_all(f);
}

/* Request bytes arrive one at a time. */
static void test_split_request(void **state)
{
	struct fixture *f = *state;
	const char *req = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
	int fd = client(f->port, 0);
	size_t i;
	char *r;

	for (i = 0; req[i]; i++) {
		assert_int_equal(send(fd, req + i, 1, 0), 1);
		pump(f);
	}
	r = read_all(f, fd, NULL);
	assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_string_equal(body_of(r), body_text);
	free(r);
	close(fd);
	wait_closed_all(f);
}

/* A stalled half request blocks nobody and is dropped at its deadline. */
static void test_slow_client(void **state)
{
	struct fixture *f = *state;
	struct metrics_http_stats st;
	char buf[16];
	int slow, i;
	char *r;

	metrics_http_set_timeout(f->h, 200);
	slow = client(f->port, 0);
	assert_int_equal(send(slow, "GET /met", 8, 0), 8);
	for (i = 0; i < 5; i++)
		pump(f);
	assert_int_equal(metrics_http_nconns(f->h), 1);
	assert_true(metrics_http_next_timeout(f->h, f->now) > 0);
	assert_true(metrics_http_next_timeout(f->h, f->now) <= 200);

	f->now += 100;
	r = exchange(f, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	free(r);
	pump(f);
	assert_int_equal(metrics_http_nconns(f->h), 1); /* the slow one */

	f->now += 101;
	assert_int_equal(metrics_http_next_timeout(f->h, f->now), 0);
	pump(f);
	assert_int_equal(metrics_http_nconns(f->h), 0);
	assert_int_equal(metrics_http_next_timeout(f->h, f->now), -1);
	/* Dropped without an answer: EOF (or reset) for the client. */
	assert_true(recv(slow, buf, sizeof(buf), 0) <= 0);
	metrics_http_get_stats(f->h, &st);
	assert_int_equal(st.timeouts, 1);
	close(slow);
}

/* A 100 KiB request head gets 431 and the connection ends. */
static void test_huge_header(void **state)
{
	struct fixture *f = *state;
	size_t total = 100 * 1024, off = 0;
	char *req = malloc(total);
	int fd = client(f->port, 0), rounds;
	ssize_t n;
	char *r;

	assert_non_null(req);
	memcpy(req, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
	memset(req + 30, 'a', total - 30);
	for (rounds = 0; off < total && rounds < 5000; rounds++) {
		n = send(fd, req + off, total - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			off += n;
		else if (n < 0 && errno != EAGAIN)
			break; /* the server may already have stopped reading */
		pump(f);
	}
	r = read_all(f, fd, NULL);
	assert_true(strncmp(r, "HTTP/1.1 431 ", 13) == 0);
	assert_int_equal(f->renders, 0);
	free(r);
	free(req);
	close(fd);
	wait_closed_all(f);
}

/* A client that never reads a large response blocks nobody. */
static void test_client_never_reads(void **state)
{
	struct fixture *f = *state;
	struct metrics_http_stats st;
	const char *req = "GET /metrics HTTP/1.1\r\n\r\n";
	int stuck, i, fd;
	size_t len;
	char *r;

	metrics_http_set_timeout(f->h, 1000);
	f->body_size = 8 << 20;
	stuck = client(f->port, 4096);
	assert_int_equal(send(stuck, req, strlen(req), 0), (ssize_t)strlen(req));
	for (i = 0; i < 20; i++)
		pump(f);
	assert_int_equal(metrics_http_nconns(f->h), 1);

	fd = client(f->port, 0);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	r = read_all(f, fd, &len);
	assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_int_equal(strlen(body_of(r)), 8 << 20);
	free(r);
	close(fd);

	f->now += 1000;
	pump(f);
	assert_int_equal(metrics_http_nconns(f->h), 0);
	metrics_http_get_stats(f->h, &st);
	assert_int_equal(st.timeouts, 1);
	close(stuck);
}

/*
 * 200 idle connections at once: bounded, the oldest idle ones make room,
 * and a client that sends its request at once is still served.
 */
static void test_many_connections(void **state)
{
	struct fixture *f = *state;
	struct metrics_http_stats st;
	int fds[200], i;
	char *r;

	for (i = 0; i < 200; i++) {
		fds[i] = client(f->port, 0);
		pump(f);
		assert_true(metrics_http_nconns(f->h) <= METRICS_HTTP_MAX_CONNS);
	}
	for (i = 0; i < 10; i++)
		pump(f);
	assert_int_equal(metrics_http_nconns(f->h), METRICS_HTTP_MAX_CONNS);
	metrics_http_get_stats(f->h, &st);
	assert_int_equal(st.accepted, 200);
	assert_int_equal(st.evicted, 200 - METRICS_HTTP_MAX_CONNS);
	assert_int_equal(st.rejected, 0);

	/* Full of idle connections: a newcomer with a request is answered. */
	r = exchange(f, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	free(r);
	/* The most recent idle ones are still there and get served. */
	assert_int_equal(send(fds[199], "GET / HTTP/1.1\r\n\r\n", 18, 0), 18);
	r = read_all(f, fds[199], NULL);
	assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	free(r);

	for (i = 0; i < 200; i++)
		close(fds[i]);
	wait_closed_all(f);
	r = exchange(f, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	free(r);
}

static void test_specs(void **state)
{
	static const char *const bad[] = {
		"::1:9272", "[::1]9272", "[::1]:", "1.2.3.4:", ":9272",
		"1.2.3.4:65536", "1.2.3.4:-1", "host.example:80", "80x",
		"[zz]:80", "1.2.3:80",
	};
	struct metrics_http *h;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(metrics_http_open(&h, bad[i], render, NULL,
						   err, sizeof(err)), -EINVAL);
		assert_null(h);
		assert_non_null(strstr(err, bad[i]));
	}
	assert_int_equal(metrics_http_open(&h, "[::1]:0", render, NULL, err,
					   sizeof(err)), 0);
	assert_true(metrics_http_port(h) > 0);
	metrics_http_close(h);
	assert_int_equal(metrics_http_open(&h, "localhost:0", render, NULL, err,
					   sizeof(err)), 0);
	metrics_http_close(h);
	assert_int_equal(metrics_http_open(&h, "0", render, NULL, err,
					   sizeof(err)), 0);
	metrics_http_close(h);
}

static void test_port_in_use(void **state)
{
	struct fixture *f = *state;
	struct metrics_http *h;
	char spec[32], err[256];

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", f->port);
	assert_int_equal(metrics_http_open(&h, spec, render, NULL, err,
					   sizeof(err)), -EADDRINUSE);
	assert_null(h);
	assert_non_null(strstr(err, spec));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_404_405_400, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_never_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_connections, setup, teardown),
		cmocka_unit_test(test_specs),
		cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
