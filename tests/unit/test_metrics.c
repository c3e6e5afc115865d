// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Metric registry and text exposition tests. Set WSTRACE_METRICS_SAMPLE to
 * a path to get the sample exposition written there (for promtool).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sinks/metrics.h"

static const char *const dirs[] = { "c2s", "s2c" };
static const char *const ops[] = { "text", "binary", "close" };

static char *render(struct metrics *m)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(metrics_render(m, &buf, &len), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void test_empty(void **state)
{
	struct metrics *m;
	char *buf;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	buf = render(m);
	assert_string_equal(buf, "");
	free(buf);
	metrics_free(m);
}

static void test_counters(void **state)
{
	struct metrics_label l2[2] = {
		{ "direction", dirs, 2 },
		{ "opcode", ops, 3 },
	};
	struct metrics *m;
	int a, b, c;
	char *buf;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	a = metrics_counter(m, "t_packets_total", "Packets seen.", NULL, NULL, 0);
	b = metrics_counter(m, "t_bytes_total", "Bytes.", "direction", dirs, 2);
	c = metrics_family(m, METRICS_COUNTER, "t_frames_total", "Frames.",
			   l2, 2, NULL, 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(c, 2);

	metrics_inc(m, a, 0);
	metrics_add(m, a, 0, 41);
	metrics_add(m, b, 1, 1500);
	metrics_add(m, c, metrics_index2(m, c, 1, 2), 7);
	metrics_inc(m, c, metrics_index2(m, c, 0, 0));
	assert_int_equal(metrics_index2(m, c, 1, 2), 5);
	assert_int_equal(metrics_counter_value(m, a, 0), 42);
	assert_int_equal(metrics_counter_value(m, c, 5), 7);

	buf = render(m);
	assert_string_equal(buf,
		"# HELP t_packets_total Packets seen.\n"
		"# TYPE t_packets_total counter\n"
		"t_packets_total 42\n"
		"# HELP t_bytes_total Bytes.\n"
		"# TYPE t_bytes_total counter\n"
		"t_bytes_total{direction=\"c2s\"} 0\n"
		"t_bytes_total{direction=\"s2c\"} 1500\n"
		"# HELP t_frames_total Frames.\n"
		"# TYPE t_frames_total counter\n"
		"t_frames_total{direction=\"c2s\",opcode=\"text\"} 1\n"
		"t_frames_total{direction=\"c2s\",opcode=\"binary\"} 0\n"
		"t_frames_total{direction=\"c2s\",opcode=\"close\"} 0\n"
		"t_frames_total{direction=\"s2c\",opcode=\"text\"} 0\n"
		"t_frames_total{direction=\"s2c\",opcode=\"binary\"} 0\n"
		"t_frames_total{direction=\"s2c\",opcode=\"close\"} 7\n");
	free(buf);

	metrics_counter_set(m, b, 0, UINT64_MAX);
	buf = render(m);
	assert_non_null(strstr(buf,
		"t_bytes_total{direction=\"c2s\"} 18446744073709551615\n"));
	free(buf);
	metrics_free(m);
}

static void test_gauge_and_info(void **state)
{
	struct metrics *m;
	int g, i;
	char *buf;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	g = metrics_gauge(m, "t_active", "Active.", "direction", dirs, 2);
	i = metrics_info(m, "t_build_info", "Build.", "version", "1.2-3");
	assert_true(g >= 0 && i >= 0);
	metrics_gauge_add(m, g, 0, 1);
	metrics_gauge_add(m, g, 0, 1);
	metrics_gauge_add(m, g, 0, -1);
	metrics_set(m, g, 1, 0.5);
	assert_true(metrics_gauge_value(m, g, 0) == 1.0);
	buf = render(m);
	assert_string_equal(buf,
		"# HELP t_active Active.\n"
		"# TYPE t_active gauge\n"
		"t_active{direction=\"c2s\"} 1\n"
		"t_active{direction=\"s2c\"} 0.5\n"
		"# HELP t_build_info Build.\n"
		"# TYPE t_build_info gauge\n"
		"t_build_info{version=\"1.2-3\"} 1\n");
	free(buf);

	metrics_set(m, g, 0, NAN);
	metrics_set(m, g, 1, -INFINITY);
	buf = render(m);
	assert_non_null(strstr(buf, "t_active{direction=\"c2s\"} NaN\n"));
	assert_non_null(strstr(buf, "t_active{direction=\"s2c\"} -Inf\n"));
	free(buf);
	metrics_set(m, g, 0, 0.1);
	metrics_set(m, g, 1, 1e21);
	buf = render(m);
	assert_non_null(strstr(buf, "t_active{direction=\"c2s\"} 0.1\n"));
	assert_non_null(strstr(buf, "t_active{direction=\"s2c\"} 1e+21\n"));
	free(buf);
	metrics_free(m);
}

static void test_histogram(void **state)
{
	static const double b[] = { 0.001, 0.01, 0.1 };
	struct metrics *m;
	int h;
	char *buf;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	h = metrics_histogram(m, "t_latency_seconds", "Latency.", b, 3,
			      "direction", dirs, 2);
	assert_true(h >= 0);
	metrics_observe(m, h, 0, 0.0005);  /* first bucket */
	metrics_observe(m, h, 0, 0.001);   /* le is inclusive: first bucket */
	metrics_observe(m, h, 0, 0.05);    /* third */
	metrics_observe(m, h, 0, 3);       /* +Inf only */
	metrics_observe(m, h, 0, NAN);     /* ignored */
	metrics_observe(m, h, 1, 0.002);
	metrics_observe(m, h, 2, 0.002);   /* no such series: ignored */
	assert_int_equal(metrics_histogram_count(m, h, 0), 4);
	assert_true(fabs(metrics_histogram_sum(m, h, 0) - 3.0515) < 1e-12);
	buf = render(m);
	assert_string_equal(buf,
		"# HELP t_latency_seconds Latency.\n"
		"# TYPE t_latency_seconds histogram\n"
		"t_latency_seconds_bucket{direction=\"c2s\",le=\"0.001\"} 2\n"
		"t_latency_seconds_bucket{direction=\"c2s\",le=\"0.01\"} 2\n"
		"t_latency_seconds_bucket{direction=\"c2s\",le=\"0.1\"} 3\n"
		"t_latency_seconds_bucket{direction=\"c2s\",le=\"+Inf\"} 4\n"
		"t_latency_seconds_sum{direction=\"c2s\"} 3.0515\n"
		"t_latency_seconds_count{direction=\"c2s\"} 4\n"
		"t_latency_seconds_bucket{direction=\"s2c\",le=\"0.001\"} 0\n"
		"t_latency_seconds_bucket{direction=\"s2c\",le=\"0.01\"} 1\n"
		"t_latency_seconds_bucket{direction=\"s2c\",le=\"0.1\"} 1\n"
		"t_latency_seconds_bucket{direction=\"s2c\",le=\"+Inf\"} 1\n"
		"t_latency_seconds_sum{direction=\"s2c\"} 0.002\n"
		"t_latency_seconds_count{direction=\"s2c\"} 1\n");
	free(buf);
	metrics_free(m);
}

/* Bucket choice, by scan (up to 16 bounds) or binary search (more): a
 * value at, below and above every bound of lists of either kind. */
static void test_histogram_bucket_search(void **state)
{
	static const int sizes[] = { 1, 3, 16, 17, 40 };
	double b[40];
	char want[64];

	(void)state;
	for (int i = 0; i < 40; i++)
		b[i] = i + 1;
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		int n = sizes[si];

		for (int twice = 1; twice <= 2 * n + 1; twice++) {
			double v = twice / 2.0;
			struct metrics *m;
			char *buf;
			int h;

			assert_int_equal(metrics_new(&m), 0);
			h = metrics_histogram(m, "t_size", "Size.", b, n, NULL, NULL, 0);
			assert_true(h >= 0);
			metrics_observe(m, h, 0, v);
			buf = render(m);
			for (int i = 0; i < n; i++) {
				snprintf(want, sizeof(want), "le=\"%d\"} %d\n", i + 1, v <= b[i]);
				assert_non_null(strstr(buf, want));
			}
			free(buf);
			metrics_free(m);
		}
	}
}

static void test_histogram_no_label_default_buckets(void **state)
{
	struct metrics *m;
	int h, i;
	char *buf;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	h = metrics_histogram(m, "t_rtt_seconds", "RTT.", metrics_buckets_seconds,
			      metrics_n_buckets_seconds, NULL, NULL, 0);
	assert_true(h >= 0);
	for (i = 0; i < metrics_n_buckets_seconds; i++)
		metrics_observe(m, h, 0, metrics_buckets_seconds[i]);
	buf = render(m);
	assert_non_null(strstr(buf, "t_rtt_seconds_bucket{le=\"5e-05\"} 1\n"));
	assert_non_null(strstr(buf, "t_rtt_seconds_bucket{le=\"0.00025\"} 3\n"));
	assert_non_null(strstr(buf, "t_rtt_seconds_bucket{le=\"10\"} 17\n"));
	assert_non_null(strstr(buf, "t_rtt_seconds_bucket{le=\"+Inf\"} 17\n"));
	assert_non_null(strstr(buf, "t_rtt_seconds_count 17\n"));
	free(buf);
	metrics_free(m);
}

static void test_escaping(void **state)
{
	static const char *const odd[] = { "a\\b", "q\"q", "l\nl" };
	struct metrics *m;
	int c;
	char *buf;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	c = metrics_counter(m, "t_odd_total", "Help with \\ and\nnewline \"kept\".",
			    "v", odd, 3);
	assert_true(c >= 0);
	buf = render(m);
	assert_string_equal(buf,
		"# HELP t_odd_total Help with \\\\ and\\nnewline \"kept\".\n"
		"# TYPE t_odd_total counter\n"
		"t_odd_total{v=\"a\\\\b\"} 0\n"
		"t_odd_total{v=\"q\\\"q\"} 0\n"
		"t_odd_total{v=\"l\\nl\"} 0\n");
	free(buf);
	metrics_free(m);
}

static void test_invalid_declarations(void **state)
{
	static const char *const dup[] = { "x", "x" };
	static const char *const bad_utf8[] = { "\xc3\x28" };
	static const double inc[] = { 1, 1 };
	static const double nan_b[] = { 1, NAN };
	struct metrics_label le = { "le", dirs, 2 };
	struct metrics_label same[2] = { { "a", dirs, 2 }, { "a", ops, 3 } };
	struct metrics *m;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_counter(m, "no_suffix", "", NULL, NULL, 0), -EINVAL);
	assert_int_equal(metrics_counter(m, "1bad_total", "", NULL, NULL, 0), -EINVAL);
	assert_int_equal(metrics_counter(m, "bad-name_total", "", NULL, NULL, 0), -EINVAL);
	assert_int_equal(metrics_counter(m, "", "", NULL, NULL, 0), -EINVAL);
	assert_int_equal(metrics_counter(m, NULL, "", NULL, NULL, 0), -EINVAL);
	assert_int_equal(metrics_counter(m, "a_total", "", "__x", dirs, 2), -EINVAL);
	assert_int_equal(metrics_counter(m, "a_total", "", "b-c", dirs, 2), -EINVAL);
	assert_int_equal(metrics_counter(m, "a_total", "", "x", dup, 2), -EINVAL);
	assert_int_equal(metrics_counter(m, "a_total", "", "x", bad_utf8, 1), -EINVAL);
	assert_int_equal(metrics_counter(m, "a_total", "", "x", dirs, 0), -EINVAL);
	assert_int_equal(metrics_counter(m, "a_total", "\xff", NULL, NULL, 0), -EINVAL);
	assert_int_equal(metrics_family(m, METRICS_COUNTER, "a_total", "", same,
					2, NULL, 0), -EINVAL);
	assert_int_equal(metrics_histogram(m, "h", "", inc, 2, NULL, NULL, 0), -EINVAL);
	assert_int_equal(metrics_histogram(m, "h", "", nan_b, 2, NULL, NULL, 0), -EINVAL);
	assert_int_equal(metrics_histogram(m, "h", "", NULL, 0, NULL, NULL, 0), -EINVAL);
	assert_int_equal(metrics_family(m, METRICS_HISTOGRAM, "h", "", &le, 1,
					metrics_buckets_bytes,
					metrics_n_buckets_bytes), -EINVAL);
	assert_int_equal(metrics_family(m, 7, "g", "", NULL, 0, NULL, 0), -EINVAL);
	/* Nothing was registered by the failures. */
	assert_int_equal(m->n_families, 0);
	assert_int_equal(metrics_counter(m, "a_total", "", NULL, NULL, 0), 0);
	assert_int_equal(metrics_gauge(m, "a_total", "", NULL, NULL, 0), -EEXIST);
	metrics_free(m);
}

static void test_limits(void **state)
{
	struct metrics_label big[2] = {
		{ "a", NULL, 1000 }, { "b", NULL, 1000 },
	};
	struct metrics_label toodyn = { "a", NULL, METRICS_MAX_DYNAMIC + 1 };
	struct metrics *m;
	char name[32];
	int i;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_family(m, METRICS_COUNTER, "big_total", "",
					big, 2, NULL, 0), -E2BIG);
	assert_int_equal(metrics_family(m, METRICS_COUNTER, "dyn_total", "",
					&toodyn, 1, NULL, 0), -E2BIG);
	for (i = 0; i < METRICS_MAX_FAMILIES; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		assert_int_equal(metrics_gauge(m, name, "", NULL, NULL, 0), i);
	}
	assert_int_equal(metrics_gauge(m, "one_more", "", NULL, NULL, 0), -E2BIG);
	metrics_free(m);
}

/* Updates through bad ids or indexes must be harmless no-ops. */
static void test_bad_updates(void **state)
{
	struct metrics *m;
	int c, g, h;
	char *before, *after;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	c = metrics_counter(m, "c_total", "", "direction", dirs, 2);
	g = metrics_gauge(m, "g", "", NULL, NULL, 0);
	h = metrics_histogram(m, "h_bytes", "", metrics_buckets_bytes,
			      metrics_n_buckets_bytes, NULL, NULL, 0);
	before = render(m);
	metrics_add(m, -EINVAL, 0, 1);
	metrics_add(m, 1000, 0, 1);
	metrics_add(m, c, 2, 1);
	metrics_add(m, c, UINT32_MAX, 1);
	metrics_add(m, g, 0, 1);         /* wrong type */
	metrics_add(m, h, 0, 1);
	metrics_set(m, c, 0, 5);
	metrics_gauge_add(m, h, 0, 5);
	metrics_observe(m, c, 0, 1);
	metrics_observe(m, h, 1, 1);
	metrics_counter_set(m, g, 0, 9);
	assert_int_equal(metrics_index2(m, c, 2, 0), UINT32_MAX);
	assert_int_equal(metrics_index2(m, c, 0, 1), UINT32_MAX);
	assert_int_equal(metrics_index2(m, -1, 0, 0), UINT32_MAX);
	assert_int_equal(metrics_index3(m, c, 1, 0, 0), 1);
	assert_int_equal(metrics_index3(m, c, 1, 0, 1), UINT32_MAX);
	after = render(m);
	assert_string_equal(before, after);
	free(before);
	free(after);
	metrics_free(m);
}

static void test_dynamic_labels(void **state)
{
	struct metrics_label l[2] = {
		{ "direction", dirs, 2 },
		{ "type", NULL, 3 },
	};
	char longv[300];
	struct metrics *m;
	int f, i;
	char *buf;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	f = metrics_family(m, METRICS_COUNTER, "t_msgs_total", "Messages.",
			   l, 2, NULL, 0);
	assert_true(f >= 0);
	/* Fixed labels are looked up, never added. */
	assert_int_equal(metrics_label_index(m, f, 0, "s2c", 3), 1);
	assert_int_equal(metrics_label_index(m, f, 0, "s2", 2), -ENOENT);
	assert_int_equal(metrics_label_index(m, f, 2, "x", 1), -EINVAL);
	assert_int_equal(metrics_label_index(m, f + 1, 0, "x", 1), -EINVAL);

	assert_int_equal(metrics_label_index(m, f, 1, "login", 5), 0);
	assert_int_equal(metrics_label_index(m, f, 1, "say", 3), 1);
	assert_int_equal(metrics_label_index(m, f, 1, "login", 5), 0);
	/* "other" is the overflow series, never a slot of its own. */
	assert_int_equal(metrics_label_index(m, f, 1, "other", 5), 3);
	/* Invalid UTF-8 and control bytes become '?', so these two are one. */
	assert_int_equal(metrics_label_index(m, f, 1, "a\xff\n", 3), 2);
	assert_int_equal(metrics_label_index(m, f, 1, "a??", 3), 2);
	/* Full: everything new goes to "other". */
	assert_int_equal(metrics_label_index(m, f, 1, "logout", 6), 3);
	assert_int_equal(metrics_label_index(m, f, 1, "ping", 4), 3);

	metrics_add(m, f, metrics_index2(m, f, 0, 0), 2);
	metrics_add(m, f, metrics_index2(m, f, 1, 3), 5);
	buf = render(m);
	assert_string_equal(buf,
		"# HELP t_msgs_total Messages.\n"
		"# TYPE t_msgs_total counter\n"
		"t_msgs_total{direction=\"c2s\",type=\"login\"} 2\n"
		"t_msgs_total{direction=\"c2s\",type=\"say\"} 0\n"
		"t_msgs_total{direction=\"c2s\",type=\"a??\"} 0\n"
		"t_msgs_total{direction=\"c2s\",type=\"other\"} 0\n"
		"t_msgs_total{direction=\"s2c\",type=\"login\"} 0\n"
		"t_msgs_total{direction=\"s2c\",type=\"say\"} 0\n"
		"t_msgs_total{direction=\"s2c\",type=\"a??\"} 0\n"
		"t_msgs_total{direction=\"s2c\",type=\"other\"} 5\n");
	free(buf);
	metrics_free(m);

	/* Unused slots render nothing; long values are cut on a boundary. */
	assert_int_equal(metrics_new(&m), 0);
	f = metrics_counter(m, "t_k_total", "", "k", NULL, 4);
	buf = render(m);
	assert_string_equal(buf, "# HELP t_k_total \n# TYPE t_k_total counter\n"
			    "t_k_total{k=\"other\"} 0\n");
	free(buf);
	/* 'x' then 2-byte characters: byte 128 falls inside one of them. */
	longv[0] = 'x';
	longv[sizeof(longv) - 1] = '\0';
	for (i = 1; i + 1 < (int)sizeof(longv); i += 2) {
		longv[i] = '\xc3';
		longv[i + 1] = '\xa9';
	}
	assert_int_equal(metrics_label_index(m, f, 0, longv, sizeof(longv) - 1), 0);
	/* Same first 127 bytes: same (truncated) value. */
	assert_int_equal(metrics_label_index(m, f, 0, longv, 127), 0);
	assert_int_equal(metrics_label_index(m, f, 0, longv, 125), 1);
	assert_int_equal(metrics_label_index(m, f, 0, "", 0), 2);
	assert_int_equal(metrics_label_index(m, f, 0, NULL, 0), 2);
	assert_int_equal(metrics_label_index(m, f, 0, NULL, 1), -EINVAL);
	buf = render(m);
	{
		const char *p = strstr(buf, "t_k_total{k=\"x");
		const char *q;

		assert_non_null(p);
		q = strchr(p + 13, '"');
		assert_non_null(q);
		assert_int_equal(q - (p + 13), 127); /* 1 + 63 * 2 bytes */
	}
	assert_non_null(strstr(buf, "t_k_total{k=\"\"} 0\n"));
	free(buf);
	metrics_free(m);
}

static void test_render_all_types_sample(void **state)
{
	static const char *const outcomes[] = { "ok", "refused", "timeout" };
	struct metrics_label l2[2] = {
		{ "direction", dirs, 2 },
		{ "opcode", ops, 3 },
	};
	const char *path = getenv("WSTRACE_METRICS_SAMPLE");
	struct metrics *m;
	int f, h, d, i;
	size_t len;
	char *buf;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_true(metrics_info(m, "wstrace_build_info", "Build information.",
				 "version", "0.1.0") >= 0);
	f = metrics_family(m, METRICS_COUNTER, "wstrace_ws_frames_total",
			   "WebSocket frames by direction and opcode.",
			   l2, 2, NULL, 0);
	metrics_add(m, f, metrics_index2(m, f, 0, 0), 12);
	f = metrics_counter(m, "wstrace_tcp_handshakes_total",
			    "TCP handshakes by outcome.", "outcome", outcomes, 3);
	metrics_add(m, f, 0, 3);
	f = metrics_gauge(m, "wstrace_ws_sessions", "Open WebSocket sessions.",
			  NULL, NULL, 0);
	metrics_set(m, f, 0, 2);
	h = metrics_histogram(m, "wstrace_tcp_handshake_seconds",
			      "SYN to final ACK.", metrics_buckets_seconds,
			      metrics_n_buckets_seconds, NULL, NULL, 0);
	metrics_observe(m, h, 0, 0.000038);
	h = metrics_histogram(m, "wstrace_ws_message_bytes", "Message sizes.",
			      metrics_buckets_bytes, metrics_n_buckets_bytes,
			      "direction", dirs, 2);
	metrics_observe(m, h, 0, 52);
	metrics_observe(m, h, 1, 5000000);
	d = metrics_counter(m, "wstrace_ws_json_messages_total",
			    "Messages by JSON key value \\ \"odd\".", "type",
			    NULL, 2);
	i = metrics_label_index(m, d, 0, "lo\"g\\in\n", 8);
	metrics_inc(m, d, i);
	i = metrics_label_index(m, d, 0, "\xe4\xbd\xa0\xff", 4);
	metrics_inc(m, d, i);
	metrics_inc(m, d, metrics_label_index(m, d, 0, "third", 5));
	assert_int_equal(metrics_render(m, &buf, &len), 0);
	assert_non_null(strstr(buf,
		"wstrace_ws_json_messages_total{type=\"lo\\\"g\\\\in?\"} 1\n"));
	assert_non_null(strstr(buf,
		"wstrace_ws_json_messages_total{type=\"\xe4\xbd\xa0?\"} 1\n"));
	assert_non_null(strstr(buf,
		"wstrace_ws_json_messages_total{type=\"other\"} 1\n"));
	if (path) {
		FILE *fp = fopen(path, "w");

		assert_non_null(fp);
		assert_int_equal(fwrite(buf, 1, len, fp), len);
		assert_int_equal(fclose(fp), 0);
	}
	free(buf);
	metrics_free(m);
}

/* Reading back by name, as --top does: families, label values, sums
 * over the first label, histogram buckets. */
static void test_read_back(void **state)
{
	static const char *const dirs[] = { "c2s", "s2c" };
	static const char *const ops[] = { "text", "binary", "close" };
	static const double bounds[] = { 0.01, 0.1 };
	struct metrics_label l2[2] = { { "dir", dirs, 2 }, { "opcode", ops, 3 } };
	struct metrics_label dyn[1] = { { "value", NULL, 2 } };
	const double *b;
	const uint64_t *n;
	struct metrics *m;
	int c, h, d;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	c = metrics_family(m, METRICS_COUNTER, "t_frames_total", "Frames.", l2, 2, NULL, 0);
	h = metrics_histogram(m, "t_rtt_seconds", "RTT.", bounds, 2, NULL, NULL, 0);
	d = metrics_family(m, METRICS_COUNTER, "t_app_total", "By value.", dyn, 1, NULL, 0);
	assert_int_equal(metrics_find(m, "t_frames_total"), c);
	assert_int_equal(metrics_find(m, "t_rtt_seconds"), h);
	assert_int_equal(metrics_find(m, "t_nothing_total"), -ENOENT);
	assert_int_equal(metrics_label_count(m, c, 0), 2);
	assert_int_equal(metrics_label_count(m, c, 1), 3);
	assert_int_equal(metrics_label_count(m, c, 2), 0);
	assert_string_equal(metrics_label_value(m, c, 1, 2), "close");
	assert_null(metrics_label_value(m, c, 1, 3));
	assert_null(metrics_label_value(m, 99, 0, 0));

	metrics_add(m, c, metrics_index2(m, c, 0, 0), 3);
	metrics_add(m, c, metrics_index2(m, c, 0, 2), 4);
	metrics_add(m, c, metrics_index2(m, c, 1, 1), 10);
	assert_int_equal(metrics_counter_sum(m, c, 0), 7);
	assert_int_equal(metrics_counter_sum(m, c, 1), 10);
	assert_int_equal(metrics_counter_sum(m, c, -1), 17);
	assert_int_equal(metrics_counter_sum(m, c, 2), 0);
	assert_int_equal(metrics_counter_sum(m, h, -1), 0); /* not a counter */

	/* A dynamic label: slots not taken read NULL; "other" after them. */
	metrics_inc(m, d, (uint32_t)metrics_label_index(m, d, 0, "say", 3));
	assert_int_equal(metrics_label_count(m, d, 0), 3);
	assert_string_equal(metrics_label_value(m, d, 0, 0), "say");
	assert_null(metrics_label_value(m, d, 0, 1));
	assert_string_equal(metrics_label_value(m, d, 0, 2), METRICS_OTHER);

	metrics_observe(m, h, 0, 0.005);
	metrics_observe(m, h, 0, 0.05);
	metrics_observe(m, h, 0, 0.05);
	metrics_observe(m, h, 0, 5);
	assert_int_equal(metrics_histogram_buckets(m, h, 0, &b, &n), 2);
	assert_true(b[0] == 0.01 && b[1] == 0.1);
	assert_int_equal(n[0], 1);
	assert_int_equal(n[1], 2);
	assert_int_equal(n[2], 1);
	assert_int_equal(metrics_histogram_buckets(m, c, 0, &b, &n), -EINVAL);
	metrics_free(m);
}

/* Slots named and freed by the caller (--metrics-label's ranking): a
 * renamed slot's series restart at 0, a freed one is not rendered, other
 * is never a slot, two slots never share a value. */
static void test_assigned_labels(void **state)
{
	struct metrics_label l[2] = {
		{ "proc", NULL, 2 },
		{ "direction", dirs, 2 },
	};
	const double b[] = { 1, 10 };
	struct metrics *m;
	int f, h;
	char *buf;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	f = metrics_family(m, METRICS_COUNTER, "t_own_total", "Own.", l, 2, NULL, 0);
	h = metrics_family(m, METRICS_HISTOGRAM, "t_own_bytes", "Own.", l, 1, b, 2);
	assert_true(f >= 0 && h >= 0);
	assert_int_equal(metrics_label_assign(m, f, 0, 1, "node", 4), 0);
	assert_int_equal(metrics_label_assign(m, h, 0, 1, "node", 4), 0);
	assert_int_equal(metrics_label_assign(m, f, 0, 0, "node", 4), -EEXIST);
	assert_int_equal(metrics_label_assign(m, f, 0, 0, "other", 5), -EINVAL);
	assert_int_equal(metrics_label_assign(m, f, 0, 2, "x", 1), -EINVAL); /* other's index */
	assert_int_equal(metrics_label_assign(m, f, 1, 0, "x", 1), -EINVAL); /* fixed label */
	/* once assigned, a new value is other, never a slot of its own */
	assert_int_equal(metrics_label_index(m, f, 0, "php", 3), 2);
	assert_int_equal(metrics_label_index(m, f, 0, "node", 4), 1);
	metrics_add(m, f, metrics_index2(m, f, 1, 1), 7);
	metrics_add(m, f, metrics_index2(m, f, 2, 0), 3);
	metrics_observe(m, h, 1, 5);
	buf = render(m);
	assert_non_null(strstr(buf, "t_own_total{proc=\"node\",direction=\"s2c\"} 7\n"));
	assert_null(strstr(buf, "proc=\"\""));
	free(buf);
	/* node gives its slot to php: php's series start at 0, node's are gone */
	assert_int_equal(metrics_label_assign(m, f, 0, 1, NULL, 0), 0);
	buf = render(m);
	assert_null(strstr(buf, "t_own_total{proc=\"node\""));
	free(buf);
	assert_int_equal(metrics_label_assign(m, f, 0, 1, "php", 3), 0);
	assert_int_equal(metrics_label_assign(m, h, 0, 1, "php", 3), 0);
	assert_int_equal(metrics_counter_value(m, f, metrics_index2(m, f, 1, 1)), 0);
	assert_int_equal(metrics_counter_value(m, f, metrics_index2(m, f, 2, 0)), 3);
	assert_int_equal(metrics_histogram_count(m, h, 1), 0);
	assert_true(metrics_histogram_sum(m, h, 1) == 0);
	assert_string_equal(metrics_label_value(m, f, 0, 1), "php");
	assert_null(metrics_label_value(m, f, 0, 0));
	buf = render(m);
	assert_non_null(strstr(buf, "t_own_total{proc=\"php\",direction=\"s2c\"} 0\n"));
	assert_non_null(strstr(buf, "t_own_total{proc=\"other\",direction=\"c2s\"} 3\n"));
	free(buf);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_assigned_labels),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_histogram_bucket_search),
		cmocka_unit_test(test_gauge_and_info),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_histogram_no_label_default_buckets),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_invalid_declarations),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_updates),
		cmocka_unit_test(test_dynamic_labels),
		cmocka_unit_test(test_render_all_types_sample),
		cmocka_unit_test(test_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
