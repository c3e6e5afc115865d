// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * metrics_http over loopback: real clients (tests/lib/http_kit.h), plain
 * and TLS, against the endpoint's own threads; a thread of the test plays
 * the capture loop (polls metrics_http_fd(), calls dispatch).
 */
#include <crypt.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "http_kit.h"
#include "sinks/metrics.h"
#include "service/metrics_http.h"
#include "service/webconfig.h"

struct fixture {
	struct metrics_http *h;
	struct metrics *reg;
	int port;
	atomic_int renders;
	atomic_int fail;         /* the render fails */
	size_t body_size;        /* 0: body_text (or the registry) */
	bool registry_body;
	pthread_t loop;
	atomic_bool stop;
	struct kit_cert ca, server, client, other_ca, rogue;
};

static const char body_text[] = "# HELP x_total X.\n# TYPE x_total counter\nx_total 7\n";

static int render(void *ctx, char **buf, size_t *len)
{
	struct fixture *f = ctx;

	atomic_fetch_add(&f->renders, 1);
	if (atomic_load(&f->fail))
		return -ENOMEM;
	if (f->registry_body)
		return metrics_render(f->reg, buf, len);
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

/* The capture loop's part: render when asked. */
static void *loop_main(void *arg)
{
	struct fixture *f = arg;

	while (!atomic_load(&f->stop)) {
		struct pollfd p = { .fd = metrics_http_fd(f->h), .events = POLLIN };

		if (poll(&p, 1, 20) > 0)
			metrics_http_dispatch(f->h);
	}
	return NULL;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A bcrypt hash of pw at a cost (libcrypt, as the endpoint checks it). */
static char *bcrypt_hash(const char *pw, unsigned long cost)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	assert_non_null(crypt_gensalt_rn("$2b$", cost, NULL, 0, salt, sizeof(salt)));
	h = crypt_rn(pw, salt, &cd, sizeof(cd));
	assert_non_null(h);
	return strdup(h);
}

/* "  key: |" and the PEM indented under it. */
static void yaml_pem(char *out, size_t len, const char *key, const char *pem)
{
	size_t n = strlen(out);

	n += (size_t)snprintf(out + n, len - n, "  %s: |\n", key);
	for (const char *p = pem; *p && n < len;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		n += (size_t)snprintf(out + n, len - n, "    %.*s\n", (int)l, p);
		p += l + (e ? 1 : 0);
	}
}

static struct webconfig *web_of(const char *yaml)
{
	struct webconfig *w = NULL;
	char err[512];

	if (webconfig_parse("test.yml", yaml, strlen(yaml), &w, err, sizeof(err))) {
		fprintf(stderr, "%s\n%s\n", yaml, err);
		fail();
	}
	return w;
}

/* A TLS web config: server certificate, then extra lines under tls_server_config, then the rest. */
static struct webconfig *tls_web(struct fixture *f, const char *tls_extra, bool client_ca, const char *rest)
{
	static char yaml[65536];

	snprintf(yaml, sizeof(yaml), "tls_server_config:\n%s", tls_extra);
	yaml_pem(yaml, sizeof(yaml), "cert", f->server.cert_pem);
	yaml_pem(yaml, sizeof(yaml), "key", f->server.key_pem);
	if (client_ca)
		yaml_pem(yaml, sizeof(yaml), "client_ca", f->ca.cert_pem);
	snprintf(yaml + strlen(yaml), sizeof(yaml) - strlen(yaml), "%s", rest ? rest : "");
	return web_of(yaml);
}

static void start(struct fixture *f, struct webconfig *web, unsigned int timeout_s)
{
	struct metrics_http_opts o = {
		.spec = "127.0.0.1:0", .web = web, .render = render, .ctx = f,
		.registry = f->reg, .timeout_s = timeout_s,
	};
	char err[512];

	if (metrics_http_open(&f->h, &o, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		fail();
	}
	f->port = metrics_http_port(f->h);
	assert_true(f->port > 0);
	atomic_store(&f->stop, false);
	assert_int_equal(pthread_create(&f->loop, NULL, loop_main, f), 0);
}

static void stop(struct fixture *f)
{
	if (!f->h)
		return;
	atomic_store(&f->stop, true);
	pthread_join(f->loop, NULL);
	metrics_http_close(f->h);
	f->h = NULL;
}

/* Certificates for every test, made once. */
static struct fixture certs;

static int make_certs(void **state)
{
	(void)state;
	kit_make_ca(&certs.ca, "test CA");
	kit_make_leaf(&certs.server, &certs.ca, "localhost", true, NULL);
	kit_make_leaf(&certs.client, &certs.ca, "prometheus", false, "prometheus.example");
	kit_make_ca(&certs.other_ca, "other CA");
	kit_make_leaf(&certs.rogue, &certs.other_ca, "rogue", false, "prometheus.example");
	return 0;
}

static int free_certs(void **state)
{
	(void)state;
	kit_cert_free(&certs.ca);
	kit_cert_free(&certs.server);
	kit_cert_free(&certs.client);
	kit_cert_free(&certs.other_ca);
	kit_cert_free(&certs.rogue);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(metrics_new(&f->reg), 0);
	f->ca = certs.ca;
	f->server = certs.server;
	f->client = certs.client;
	f->other_ca = certs.other_ca;
	f->rogue = certs.rogue;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	stop(f);
	metrics_free(f->reg);
	free(f);
	return 0;
}

static uint64_t code_count(struct fixture *f, enum metrics_http_code c)
{
	struct metrics_http_stats st;

	metrics_http_get_stats(f->h, &st);
	return st.codes[c];
}

/* Waits (bounded) until a counter reaches want: counts land as connections end. */
static void expect_count(struct fixture *f, enum metrics_http_code c, uint64_t want)
{
	long end = now_ms() + 5000;

	while (code_count(f, c) < want && now_ms() < end)
		usleep(2000);
	if (code_count(f, c) != want)
		fprintf(stderr, "code %s\n", metrics_http_code_label(c));
	assert_int_equal(code_count(f, c), want);
}

static void expect_status(int port, const char *req, int status)
{
	struct kit_resp r;

	kit_get(port, req, &r);
	if (r.status != status)
		fprintf(stderr, "%s -> %s\n", req, r.head ? r.head : "(nothing)");
	assert_int_equal(r.status, status);
	kit_resp_free(&r);
}

static void test_get_metrics(void **state)
{
	struct fixture *f = *state;
	struct kit_resp r;
	char v[128];

	start(f, NULL, 0);
	assert_int_equal(kit_get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(kit_header(&r, "Content-Type", v, sizeof(v)), "text/plain; version=0.0.4; charset=utf-8");
	assert_int_equal(atoi(kit_header(&r, "Content-Length", v, sizeof(v))), strlen(body_text));
	assert_string_equal(r.body, body_text);
	assert_int_equal(atomic_load(&f->renders), 1);
	kit_resp_free(&r);
	/* A query string, HTTP/1.0 */
	assert_int_equal(kit_get(f->port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, body_text);
	kit_resp_free(&r);
	/* HEAD: the length, no body */
	assert_int_equal(kit_get(f->port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(atoi(kit_header(&r, "Content-Length", v, sizeof(v))), strlen(body_text));
	assert_int_equal(r.body_len, 0);
	kit_resp_free(&r);
	/* The index page */
	assert_int_equal(kit_get(f->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(kit_header(&r, "Content-Type", v, sizeof(v)), "text/html; charset=utf-8");
	assert_non_null(strstr(r.body, "<a href=\"/metrics\">"));
	kit_resp_free(&r);
	assert_int_equal(atomic_load(&f->renders), 3);
	expect_count(f, METRICS_HTTP_C200, 4);
}

/* Prometheus keeps its connection: answers do not close it. */
static void test_keep_alive(void **state)
{
	struct fixture *f = *state;
	struct kit_conn c;
	struct kit_resp r;

	start(f, NULL, 0);
	kit_connect(&c, f->port, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(kit_send_str(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
		assert_int_equal(kit_read_response(&c, 5000, false, &r), 0);
		assert_int_equal(r.status, 200);
		assert_false(r.closed);
		assert_string_equal(r.body, body_text);
		kit_resp_free(&r);
	}
	kit_close(&c);
}

static void test_errors_counted(void **state)
{
	struct fixture *f = *state;
	struct kit_resp r;
	char v[128];

	f->registry_body = true;
	start(f, NULL, 0);
	expect_status(f->port, "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", 404);
	expect_status(f->port, "GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n", 404);
	kit_get(f->port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(kit_header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
	kit_resp_free(&r);
	/* No request line libmicrohttpd can read: closed without an answer. */
	expect_status(f->port, "hello\r\n\r\n", 0);
	expect_status(f->port, "GET /metrics HTTP/1.1\r\n\r\n", 400); /* HTTP/1.1 without Host */
	expect_status(f->port, "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505);
	assert_int_equal(atomic_load(&f->renders), 0); /* only /metrics renders */
	atomic_store(&f->fail, 1);
	expect_status(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 500);
	atomic_store(&f->fail, 0);
	expect_count(f, METRICS_HTTP_C404, 2);
	expect_count(f, METRICS_HTTP_C405, 1);
	expect_count(f, METRICS_HTTP_C500, 1);
	expect_count(f, METRICS_HTTP_C400, 1);
	/* The registry shows them. */
	kit_get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "wstrace_metrics_http_requests_total{code=\"404\"} 2\n"));
	assert_non_null(strstr(r.body, "wstrace_metrics_http_requests_total{code=\"405\"} 1\n"));
	assert_non_null(strstr(r.body, "wstrace_metrics_http_requests_total{code=\"tls_handshake_failed\"} 0\n"));
	kit_resp_free(&r);
}

/* A stalled half request blocks nobody and is dropped when idle too long. */
static void test_slow_client(void **state)
{
	struct fixture *f = *state;
	struct kit_conn slow;
	struct kit_resp r;
	long t0;

	start(f, NULL, 1);
	kit_connect(&slow, f->port, 0);
	assert_int_equal(kit_send_str(&slow, "GET /metrics HTTP/1.1\r\nHost: x\r\n"), 0);
	t0 = now_ms();
	expect_status(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200);
	assert_true(now_ms() - t0 < 900);
	/* Dropped without an answer at the idle timeout. */
	assert_int_equal(kit_read_response(&slow, 5000, false, &r), -ECONNRESET);
	assert_int_equal(r.status, 0);
	assert_true(now_ms() - t0 >= 900);
	kit_resp_free(&r);
	kit_close(&slow);
	expect_count(f, METRICS_HTTP_UNANSWERED, 1);
}

/* A 100 KiB request head gets 431 and the connection ends. */
static void test_huge_header(void **state)
{
	struct fixture *f = *state;
	size_t total = 100 * 1024;
	char *req = malloc(total + 5);
	struct kit_conn c;
	struct kit_resp r;

	assert_non_null(req);
	start(f, NULL, 0);
	memcpy(req, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
	memset(req + 30, 'a', total - 30);
	memcpy(req + total, "\r\n\r\n", 5);
	kit_connect(&c, f->port, 0);
	kit_send(&c, req, total + 4); /* the server may stop reading: an error is fine */
	kit_read_response(&c, 5000, false, &r);
	assert_int_equal(r.status, 431);
	kit_resp_free(&r);
	kit_close(&c);
	free(req);
	assert_int_equal(atomic_load(&f->renders), 0);
	expect_count(f, METRICS_HTTP_C431, 1);
}

/* A client that never reads a large response blocks nobody. */
static void test_client_never_reads(void **state)
{
	struct fixture *f = *state;
	struct kit_conn stuck;
	struct kit_resp r;

	f->body_size = 8 << 20;
	start(f, NULL, 2);
	kit_connect(&stuck, f->port, 4096);
	assert_int_equal(kit_send_str(&stuck, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	while (atomic_load(&f->renders) < 1)
		usleep(1000);
	assert_int_equal(kit_get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 8 << 20);
	kit_resp_free(&r);
	kit_close(&stuck);
}

/*
 * 200 connections that say nothing: at most METRICS_HTTP_MAX_CONNS stay,
 * and those that began a request are kept over the silent ones.
 */
static void test_many_connections(void **state)
{
	struct fixture *f = *state;
	struct metrics_http_stats st;
	struct kit_conn partial[10], idle[200];
	struct kit_resp r;
	long end;

	start(f, NULL, 30);
	for (int i = 0; i < 10; i++) {
		kit_connect(&partial[i], f->port, 0);
		assert_int_equal(kit_send_str(&partial[i], "GET /metrics HTTP/1.1\r\n"), 0);
	}
	for (end = now_ms() + 5000; code_count(f, METRICS_HTTP_C200) == 0 && now_ms() < end;) {
		metrics_http_get_stats(f->h, &st);
		if (st.conns == 10)
			break;
		usleep(1000);
	}
	usleep(50000); /* their request lines are read */
	for (int i = 0; i < 200; i++)
		kit_connect(&idle[i], f->port, 0);
	for (end = now_ms() + 5000; now_ms() < end; usleep(2000)) {
		metrics_http_get_stats(f->h, &st);
		if (st.evicted >= 200 + 10 - METRICS_HTTP_MAX_CONNS && st.conns <= METRICS_HTTP_MAX_CONNS)
			break;
	}
	assert_true(st.conns <= METRICS_HTTP_MAX_CONNS);
	assert_int_equal(st.evicted, 200 + 10 - METRICS_HTTP_MAX_CONNS);
	/* A newcomer with a request is answered at once. */
	expect_status(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200);
	/* The ones that had begun a request were kept: they finish it. */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(kit_send_str(&partial[i], "Host: x\r\n\r\n"), 0);
		assert_int_equal(kit_read_response(&partial[i], 5000, false, &r), 0);
		assert_int_equal(r.status, 200);
		kit_resp_free(&r);
		kit_close(&partial[i]);
	}
	for (int i = 0; i < 200; i++)
		kit_close(&idle[i]);
}

struct burst {
	int port, n;
	atomic_int done;
};

static void *burst_main(void *arg)
{
	struct burst *b = arg;
	struct kit_conn *c = calloc((size_t)b->n, sizeof(*c));

	assert_non_null(c);
	for (int i = 0; i < b->n; i++) {
		kit_connect(&c[i], b->port, 0);
		/* Half close at once, half are held until the end of the burst. */
		if (i % 2)
			kit_close(&c[i]);
	}
	for (int i = 0; i < b->n; i += 2)
		kit_close(&c[i]);
	free(c);
	atomic_store(&b->done, 1);
	return NULL;
}

/* The defect this endpoint must not have: an empty reply during a burst of connects. */
static void test_burst_while_scraping(void **state)
{
	struct fixture *f = *state;
	struct burst b[4];
	pthread_t t[4];
	long worst = 0;

	start(f, NULL, 0);
	for (int i = 0; i < 4; i++) {
		b[i] = (struct burst){ .port = f->port, .n = 250 };
		assert_int_equal(pthread_create(&t[i], NULL, burst_main, &b[i]), 0);
	}
	for (int i = 0; i < 100; i++) {
		struct kit_resp r;
		long t0 = now_ms();

		assert_int_equal(kit_get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, body_text);
		kit_resp_free(&r);
		if (now_ms() - t0 > worst)
			worst = now_ms() - t0;
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	fprintf(stderr, "100 scrapes during 1000 connects: slowest %ld ms\n", worst);
	assert_true(worst < 3000);
	/* And the scrape after it gets the whole body. */
	{
		struct kit_resp r;

		assert_int_equal(kit_get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, body_text);
		kit_resp_free(&r);
	}
}

static void test_specs(void **state)
{
	static const char *const bad[] = {
		"::1:9272", "[::1]9272", "[::1]:", "1.2.3.4:", ":9272", "1.2.3.4:65536", "1.2.3.4:-1",
		"host.example:80", "80x", "[zz]:80", "1.2.3:80",
	};
	struct metrics_http_opts o = { .render = render };
	struct metrics_http *h;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.spec = bad[i];
		assert_int_equal(metrics_http_open(&h, &o, err, sizeof(err)), -EINVAL);
		assert_null(h);
		assert_non_null(strstr(err, bad[i]));
	}
	o.spec = "[::1]:0";
	assert_int_equal(metrics_http_open(&h, &o, err, sizeof(err)), 0);
	assert_true(metrics_http_port(h) > 0);
	metrics_http_close(h);
	o.spec = "localhost:0";
	assert_int_equal(metrics_http_open(&h, &o, err, sizeof(err)), 0);
	metrics_http_close(h);
	o.spec = "0";
	assert_int_equal(metrics_http_open(&h, &o, err, sizeof(err)), 0);
	metrics_http_close(h);
}

static void test_port_in_use(void **state)
{
	struct fixture *f = *state;
	struct metrics_http_opts o = { .render = render };
	struct metrics_http *h;
	char spec[32], err[256];

	start(f, NULL, 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", f->port);
	o.spec = spec;
	assert_int_equal(metrics_http_open(&h, &o, err, sizeof(err)), -EADDRINUSE);
	assert_null(h);
	assert_non_null(strstr(err, spec));
}

static const char *basic(const char *user_pass, char *buf, size_t len)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(user_pass), o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)user_pass[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)user_pass[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)user_pass[i + 2];
		buf[o++] = b64[(v >> 18) & 63];
		buf[o++] = b64[(v >> 12) & 63];
		buf[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		buf[o++] = i + 2 < n ? b64[v & 63] : '=';
		assert_true(o + 4 < len);
	}
	buf[o] = '\0';
	return buf;
}

static int get_as(int port, const char *user_pass, struct kit_resp *r)
{
	char req[512], b[256];

	if (user_pass)
		snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n",
			 basic(user_pass, b, sizeof(b)));
	else
		snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	return kit_get(port, req, r);
}

static struct webconfig *users_web(const char *user, const char *pw, unsigned long cost)
{
	char yaml[512], *h = bcrypt_hash(pw, cost);
	struct webconfig *w;

	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  %s: '%s'\n  other: '%s'\n", user, h, h);
	w = web_of(yaml);
	free(h);
	return w;
}

static void test_basic_auth(void **state)
{
	struct fixture *f = *state;
	struct metrics_http_stats st;
	struct kit_resp r;
	char v[128];

	start(f, users_web("prom", "s3cret", 5), 0);
	get_as(f->port, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_string_equal(kit_header(&r, "WWW-Authenticate", v, sizeof(v)), "Basic realm=\"wstrace\"");
	kit_resp_free(&r);
	get_as(f->port, "prom:wrong", &r);
	assert_int_equal(r.status, 401);
	assert_non_null(kit_header(&r, "WWW-Authenticate", v, sizeof(v)));
	kit_resp_free(&r);
	get_as(f->port, "nobody:s3cret", &r);
	assert_int_equal(r.status, 401);
	kit_resp_free(&r);
	for (int i = 0; i < 3; i++) {
		get_as(f->port, "prom:s3cret", &r);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, body_text);
		kit_resp_free(&r);
	}
	/* The index needs the password too, as in the toolkit. */
	expect_status(f->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 401);
	expect_count(f, METRICS_HTTP_C401, 4);
	expect_count(f, METRICS_HTTP_C200, 3);
	/* bcrypt once per (user, password): the unknown user too, later ones cached. */
	metrics_http_get_stats(f->h, &st);
	assert_int_equal(st.bcrypt_checks, 3);
	get_as(f->port, "prom:wrong", &r);
	assert_int_equal(r.status, 401);
	kit_resp_free(&r);
	metrics_http_get_stats(f->h, &st);
	assert_int_equal(st.bcrypt_checks, 3);
}

struct guesser {
	int port, i;
	int status;
};

static void *guess_main(void *arg)
{
	struct guesser *g = arg;
	struct kit_resp r;
	char up[64];

	snprintf(up, sizeof(up), "prom:guess%d", g->i);
	get_as(g->port, up, &r);
	g->status = r.status;
	kit_resp_free(&r);
	return NULL;
}

/*
 * Passwords are checked one at a time off the HTTP thread: a crowd of
 * guesses fills the queue (503 beyond it), and a scraper whose password is
 * known is answered meanwhile.
 */
static void test_auth_queue(void **state)
{
	struct fixture *f = *state;
	struct guesser g[40];
	pthread_t t[40];
	struct kit_resp r;
	int n401 = 0, n503 = 0;
	long t0;

	start(f, users_web("prom", "s3cret", 10), 0);
	get_as(f->port, "prom:s3cret", &r); /* checked once, then cached */
	assert_int_equal(r.status, 200);
	kit_resp_free(&r);
	for (int i = 0; i < 40; i++) {
		g[i] = (struct guesser){ .port = f->port, .i = i };
		assert_int_equal(pthread_create(&t[i], NULL, guess_main, &g[i]), 0);
	}
	usleep(50000);
	t0 = now_ms();
	get_as(f->port, "prom:s3cret", &r);
	assert_int_equal(r.status, 200);
	kit_resp_free(&r);
	fprintf(stderr, "a cached password during 40 guesses: %ld ms\n", now_ms() - t0);
	assert_true(now_ms() - t0 < 500);
	for (int i = 0; i < 40; i++) {
		pthread_join(t[i], NULL);
		n401 += g[i].status == 401;
		n503 += g[i].status == 503;
	}
	assert_int_equal(n401 + n503, 40);
	assert_true(n503 > 0);
	assert_true(n401 >= METRICS_HTTP_AUTH_QUEUE);
}

/* A reload changes the password at once, also on a kept-alive connection. */
static void test_reload_password(void **state)
{
	struct fixture *f = *state;
	struct kit_conn c;
	struct kit_resp r;
	char req[256], b[64], err[256];

	start(f, users_web("prom", "old", 5), 0);
	kit_connect(&c, f->port, 0);
	snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n",
		 basic("prom:old", b, sizeof(b)));
	assert_int_equal(kit_send_str(&c, req), 0);
	assert_int_equal(kit_read_response(&c, 5000, false, &r), 0);
	assert_int_equal(r.status, 200);
	kit_resp_free(&r);
	assert_int_equal(metrics_http_set_web(f->h, users_web("prom", "new", 5), err, sizeof(err)), 0);
	assert_int_equal(kit_send_str(&c, req), 0);
	assert_int_equal(kit_read_response(&c, 5000, false, &r), 0);
	assert_int_equal(r.status, 401);
	kit_resp_free(&r);
	kit_close(&c);
	get_as(f->port, "prom:new", &r);
	assert_int_equal(r.status, 200);
	kit_resp_free(&r);
	/* No web config: no authentication. */
	assert_int_equal(metrics_http_set_web(f->h, NULL, err, sizeof(err)), 0);
	get_as(f->port, NULL, &r);
	assert_int_equal(r.status, 200);
	kit_resp_free(&r);
	/* TLS cannot be turned on without a restart. */
	assert_int_equal(metrics_http_set_web(f->h, tls_web(f, "", false, NULL), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "restart"));
	get_as(f->port, NULL, &r);
	assert_int_equal(r.status, 200);
	kit_resp_free(&r);
}

static void test_rate_limit_and_headers(void **state)
{
	struct fixture *f = *state;
	struct kit_resp r;
	char v[128];

	start(f, web_of("rate_limit:\n  interval: 1h\n  burst: 2\nhttp_server_config:\n  headers:\n"
			"    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n"), 0);
	for (int i = 0; i < 2; i++) {
		kit_get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
		assert_int_equal(r.status, 200);
		assert_string_equal(kit_header(&r, "X-Frame-Options", v, sizeof(v)), "deny");
		assert_string_equal(kit_header(&r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
		kit_resp_free(&r);
	}
	expect_status(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 429);
	expect_count(f, METRICS_HTTP_C429, 1);
}

/* A TLS request on a connection; returns the status, or 0 when the connection failed. */
static int tls_get(struct fixture *f, const struct kit_cert *client, const char *prio, int *hs)
{
	struct kit_conn c;
	struct kit_resp r;
	int status, rc = kit_connect_tls(&c, f->port, f->ca.cert_pem, client, prio);

	if (hs)
		*hs = rc;
	if (rc < 0) {
		kit_close(&c);
		return 0;
	}
	kit_send_str(&c, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
	kit_read_response(&c, 5000, false, &r);
	status = r.status;
	kit_resp_free(&r);
	kit_close(&c);
	return status;
}

static void test_tls_client_certificates(void **state)
{
	struct fixture *f = *state;
	struct kit_resp r;
	int hs;

	start(f, tls_web(f, "  client_auth_type: RequireAndVerifyClientCert\n", true, NULL), 0);
	assert_int_equal(tls_get(f, &f->client, NULL, &hs), 200);
	assert_int_equal(tls_get(f, &f->client, "NORMAL:-VERS-ALL:+VERS-TLS1.2", &hs), 200);
	/* No certificate: the handshake fails (TLS 1.3: the client learns at its first read). */
	assert_int_equal(tls_get(f, NULL, NULL, &hs), 0);
	assert_int_equal(tls_get(f, NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.2", &hs), 0);
	assert_true(hs < 0);
	expect_count(f, METRICS_HTTP_TLS_CERT_MISSING, 2);
	/* Signed by another CA */
	assert_int_equal(tls_get(f, &f->rogue, NULL, &hs), 0);
	expect_count(f, METRICS_HTTP_TLS_CERT_INVALID, 1);
	/* Plain HTTP to the TLS port: 400, saying so */
	kit_get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "HTTP request to an HTTPS server"));
	kit_resp_free(&r);
	expect_count(f, METRICS_HTTP_C400, 1);
	/* Not TLS, not HTTP */
	kit_get(f->port, "\x01\x02garbage\r\n\r\n", &r);
	kit_resp_free(&r);
	expect_count(f, METRICS_HTTP_TLS_HANDSHAKE, 1);
	expect_count(f, METRICS_HTTP_C200, 2);
	/* Connections that never sent a byte are no failed handshake. */
	for (int i = 0; i < 3; i++) {
		struct kit_conn c;

		kit_connect(&c, f->port, 0);
		kit_close(&c);
	}
	usleep(100000);
	expect_count(f, METRICS_HTTP_TLS_HANDSHAKE, 1);
}

static void test_tls_policies(void **state)
{
	struct fixture *f = *state;
	struct kit_cert self;
	char err[256];

	kit_make_leaf(&self, NULL, "self-signed client", false, NULL);
	start(f, tls_web(f, "", false, NULL), 0);
	assert_int_equal(tls_get(f, NULL, NULL, NULL), 200);
	assert_int_equal(tls_get(f, &f->rogue, NULL, NULL), 200); /* not asked for */
	assert_int_equal(metrics_http_set_web(f->h, tls_web(f, "  client_auth_type: RequestClientCert\n", false, NULL),
					      err, sizeof(err)), 0);
	assert_int_equal(tls_get(f, NULL, NULL, NULL), 200);
	assert_int_equal(tls_get(f, &self, NULL, NULL), 200);
	assert_int_equal(metrics_http_set_web(f->h, tls_web(f, "  client_auth_type: RequireAnyClientCert\n", false,
							    NULL), err, sizeof(err)), 0);
	assert_int_equal(tls_get(f, NULL, NULL, NULL), 0);
	assert_int_equal(tls_get(f, &self, NULL, NULL), 200);
	assert_int_equal(metrics_http_set_web(f->h, tls_web(f, "  client_auth_type: VerifyClientCertIfGiven\n", true,
							    NULL), err, sizeof(err)), 0);
	assert_int_equal(tls_get(f, NULL, NULL, NULL), 200);
	assert_int_equal(tls_get(f, &f->client, NULL, NULL), 200);
	assert_int_equal(tls_get(f, &self, NULL, NULL), 0);
	/* client_allowed_sans */
	assert_int_equal(metrics_http_set_web(f->h, tls_web(f, "  client_auth_type: RequireAndVerifyClientCert\n"
							    "  client_allowed_sans: [prometheus.example]\n", true,
							    NULL), err, sizeof(err)), 0);
	assert_int_equal(tls_get(f, &f->client, NULL, NULL), 200);
	assert_int_equal(metrics_http_set_web(f->h, tls_web(f, "  client_auth_type: RequireAndVerifyClientCert\n"
							    "  client_allowed_sans: [other.example, 10.0.0.1]\n", true,
							    NULL), err, sizeof(err)), 0);
	assert_int_equal(tls_get(f, &f->client, NULL, NULL), 0);
	expect_count(f, METRICS_HTTP_TLS_CERT_MISSING, 1);
	expect_count(f, METRICS_HTTP_TLS_CERT_INVALID, 2);
	/* TLS cannot be turned off without a restart */
	assert_int_equal(metrics_http_set_web(f->h, NULL, err, sizeof(err)), -EINVAL);
	kit_cert_free(&self);
}

static void test_tls_versions_and_ciphers(void **state)
{
	struct fixture *f = *state;
	struct kit_conn c;
	char err[256];

	start(f, tls_web(f, "  min_version: TLS13\n", false, NULL), 0);
	assert_int_equal(tls_get(f, NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.2", NULL), 0);
	expect_count(f, METRICS_HTTP_TLS_HANDSHAKE, 1);
	assert_int_equal(tls_get(f, NULL, NULL, NULL), 200);
	/* Only the listed TLS 1.2 suites; curves in order */
	assert_int_equal(metrics_http_set_web(f->h, tls_web(f, "  max_version: TLS12\n  cipher_suites:\n"
							    "    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
							    "  curve_preferences: [CurveP384]\n", false, NULL),
					      err, sizeof(err)), 0);
	assert_int_equal(kit_connect_tls(&c, f->port, f->ca.cert_pem, NULL, NULL), 0);
	assert_int_equal(gnutls_protocol_get_version(c.tls), GNUTLS_TLS1_2);
	assert_int_equal(gnutls_cipher_get(c.tls), GNUTLS_CIPHER_AES_256_GCM);
	assert_int_equal(gnutls_group_get(c.tls), GNUTLS_GROUP_SECP384R1);
	kit_close(&c);
	assert_int_equal(tls_get(f, NULL, "NORMAL:-CIPHER-ALL:+AES-128-GCM", NULL), 0);
	/* TLS 1.3 with the listed AEAD ciphers only */
	assert_int_equal(metrics_http_set_web(f->h, tls_web(f, "  cipher_suites:\n"
							    "    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n",
							    false, NULL), err, sizeof(err)), 0);
	assert_int_equal(kit_connect_tls(&c, f->port, f->ca.cert_pem, NULL, NULL), 0);
	assert_int_equal(gnutls_protocol_get_version(c.tls), GNUTLS_TLS1_3);
	assert_int_equal(gnutls_cipher_get(c.tls), GNUTLS_CIPHER_CHACHA20_POLY1305);
	kit_close(&c);
}

/* A reload's certificate serves the next connection. */
static void test_tls_reload_certificate(void **state)
{
	struct fixture *f = *state;
	struct kit_cert ca2, server2;
	struct kit_conn c;
	char yaml[65536] = "tls_server_config:\n", err[256];

	kit_make_ca(&ca2, "second CA");
	kit_make_leaf(&server2, &ca2, "localhost", true, NULL);
	start(f, tls_web(f, "", false, NULL), 0);
	assert_int_equal(kit_connect_tls(&c, f->port, ca2.cert_pem, NULL, NULL), GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR);
	kit_close(&c);
	yaml_pem(yaml, sizeof(yaml), "cert", server2.cert_pem);
	yaml_pem(yaml, sizeof(yaml), "key", server2.key_pem);
	assert_int_equal(metrics_http_set_web(f->h, web_of(yaml), err, sizeof(err)), 0);
	assert_int_equal(kit_connect_tls(&c, f->port, ca2.cert_pem, NULL, NULL), 0);
	kit_close(&c);
	/* A key that is not the certificate's: refused, the running one stays. */
	strcpy(yaml, "tls_server_config:\n");
	yaml_pem(yaml, sizeof(yaml), "cert", server2.cert_pem);
	yaml_pem(yaml, sizeof(yaml), "key", f->server.key_pem);
	assert_int_equal(metrics_http_set_web(f->h, web_of(yaml), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tls_server_config.key does not match the certificate"));
	strcpy(yaml, "tls_server_config:\n  cert: not a certificate\n");
	yaml_pem(yaml, sizeof(yaml), "key", f->server.key_pem);
	assert_int_equal(metrics_http_set_web(f->h, web_of(yaml), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tls_server_config.cert: no PEM certificate"));
	strcpy(yaml, "tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca: junk\n");
	yaml_pem(yaml, sizeof(yaml), "cert", server2.cert_pem);
	yaml_pem(yaml, sizeof(yaml), "key", server2.key_pem);
	assert_int_equal(metrics_http_set_web(f->h, web_of(yaml), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tls_server_config.client_ca: no PEM certificate"));
	assert_int_equal(kit_connect_tls(&c, f->port, ca2.cert_pem, NULL, NULL), 0);
	kit_close(&c);
	kit_cert_free(&ca2);
	kit_cert_free(&server2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_never_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_while_scraping, setup, teardown),
		cmocka_unit_test(test_specs),
		cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_and_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_client_certificates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_versions_and_ciphers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_reload_certificate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, make_certs, free_certs);
}
