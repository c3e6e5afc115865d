// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_metrics_http.c - libFuzzer target for the /metrics endpoint's
 * request handling, through a real loopback connection (the parser lives
 * inside the connection code). Small on purpose: the endpoint is to be
 * replaced by a library.
 *
 * fuzz-flags: -max_len=9000 -timeout=5
 *
 * Layout: byte 0 splits the rest into two writes (at byte 0 * len / 256);
 * then the client reads until the server closes, which it does after an
 * answer or, for a head that never ends, at its deadline (the clock is
 * moved past it). The client never closes first, and then with a reset:
 * thousands of runs a second leave no TIME_WAIT to run out of ports.
 *
 * Invariants checked (abort on violation): the answer is empty (the head
 * never ended) or one HTTP/1.1 response with a known status and a
 * Content-Length its body matches (no body for HEAD); the connection ends
 * within a bounded number of dispatches; none is left open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "service/metrics_http.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static int render(void *ctx, char **buf, size_t *len)
{
	(void)ctx;
	*buf = strdup("wstrace_up 1\n");
	if (!*buf)
		return -ENOMEM;
	*len = strlen(*buf);
	return 0;
}

static struct metrics_http *server(void)
{
	static struct metrics_http *h;
	char err[256];

	if (!h && metrics_http_open(&h, "127.0.0.1:0", render, NULL, err, sizeof(err))) {
		fprintf(stderr, "fuzz_metrics_http: %s\n", err);
		abort();
	}
	return h;
}

static void check_response(const char *r, size_t n, const uint8_t *req, size_t reqlen)
{
	static const int known[] = { 200, 400, 404, 405, 431, 500 };
	const char *end, *cl;
	size_t body;
	int status, ok = 0;

	if (n == 0)
		return; /* the head never ended: closed without an answer */
	CHECK(n > 12 && !memcmp(r, "HTTP/1.1 ", 9));
	status = atoi(r + 9);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		ok |= status == known[i];
	CHECK(ok);
	end = memmem(r, n, "\r\n\r\n", 4);
	CHECK(end);
	cl = memmem(r, (size_t)(end - r), "Content-Length: ", 16);
	CHECK(cl);
	body = n - (size_t)(end + 4 - r);
	if (reqlen >= 5 && !memcmp(req, "HEAD ", 5) && status != 400 && status != 431)
		CHECK(body == 0);
	else
		CHECK(body == strtoul(cl + 16, NULL, 10));
}

/*
 * libFuzzer's timeout timer (SIGALRM) interrupts system calls: connect
 * carries on in the background, send is restarted for the rest.
 */
static void connect_to(int fd, const struct sockaddr_in *a)
{
	while (connect(fd, (const struct sockaddr *)a, sizeof(*a)) != 0) {
		if (errno == EISCONN)
			return;
		if (errno != EINTR && errno != EALREADY && errno != EINPROGRESS) {
			fprintf(stderr, "fuzz_metrics_http: connect: %s\n", strerror(errno));
			abort();
		}
	}
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		CHECK(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char resp[65536];
	struct metrics_http *h = server();
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger nolinger = { .l_onoff = 1, .l_linger = 0 };
	size_t got = 0, split;
	uint64_t now = 1000;
	int fd, i;

	if (size < 1)
		return 0;
	a.sin_port = htons((uint16_t)metrics_http_port(h));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &nolinger, sizeof(nolinger)) == 0);
	connect_to(fd, &a);
	split = (size - 1) * data[0] / 256;
	metrics_http_dispatch(h, now);
	send_all(fd, data + 1, split);
	metrics_http_dispatch(h, now);
	send_all(fd, data + 1 + split, size - 1 - split);
	for (i = 0; i < 2000; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (i == 20) /* what is still open is past its deadline */
			now += METRICS_HTTP_TIMEOUT_MS + 1;
		metrics_http_dispatch(h, now);
		if (poll(&p, 1, i < 100 ? 0 : 1) <= 0)
			continue;
		n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the server closed: the exchange is over */
		got += (size_t)n;
		CHECK(got < sizeof(resp) - 1);
	}
	CHECK(i < 2000);
	close(fd);
	for (i = 0; i < 100 && metrics_http_nconns(h); i++)
		metrics_http_dispatch(h, now);
	CHECK(metrics_http_nconns(h) == 0);
	check_response(resp, got, data + 1, size - 1);
	return 0;
}
