/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * top.h - the live view's model (--top): a sink that keeps a table of the
 * WebSocket sessions the events tell of, and the header's totals and rates
 * read from the exporter's metric registry at each refresh, so the view
 * counts nothing the exporter already counts. Per-session counts are the
 * WebSocket layer's own (ws_layer_session_counts). top_format.c turns the
 * model into lines of text of a given width; the terminal is the
 * service's (service/top_screen.c). No I/O here.
 *
 * Single-threaded, like the registry.
 */
#ifndef WST_TOP_H
#define WST_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/packet.h"
#include "protocol/proxy_hdr.h"
#include "session/ws_session.h"
#include "metrics.h"

/* Ended sessions stay this long after the refresh that first shows them. */
#define TOP_LINGER_NS (5ull * 1000000000ull)
/* Latency quantiles over the refreshes of about the last minute. */
#define TOP_WINDOW 60
#define TOP_KEY_MAX 48
#define TOP_FILTER_MAX 64
#define TOP_DEFAULT_MAX_ROWS 65536
/* Lines are cut at this width, whatever the terminal's. */
#define TOP_MAX_WIDTH 400
/* A server's cgroup path is kept up to this long (its end when longer). */
#define TOP_CGROUP_MAX 96
/* A container id is shown as its first 12 hex digits, as docker ps does. */
#define TOP_CONTAINER_SHORT 12

struct top_row {
	uint64_t flow_id;
	char client[WST_ENDPOINT_STRLEN];
	uint16_t sport;
	uint64_t start_ns;          /* the 101 response, or first frame mid-stream */
	uint64_t end_ns;            /* session end (0 while open) */
	uint64_t expire_ns;         /* ended: leaves the table then (0: not yet shown) */
	struct ws_session_counts c;
	uint64_t prev_msgs;         /* messages both ways at the last refresh */
	double rate;                /* messages a second over the last refresh */
	int64_t rtt_us;             /* last ping round trip; -1 none */
	uint32_t violations, gaps;  /* gaps: stream holes and resynchronisations */
	char key[TOP_KEY_MAX];      /* last text message's --json-key value */
	char how[24];               /* ended: "close 1000", "abnormal 1006", "reset", ... */
	bool ended;
	/* Who the session is (live capture, from the events' attribution). */
	char fwd[PROXY_ADDR_MAX];   /* the client behind a proxy header, "" none */
	uint32_t pid;               /* the server process; 0: not known */
	char comm[17];
	char container[TOP_CONTAINER_SHORT + 1]; /* "" outside containers */
	char cgroup[TOP_CGROUP_MAX];             /* "" unknown */
};

/* The registry's counters the header shows: name, family, first label's
 * value (NULL: every series of the family summed). */
#define TOP_COUNTERS(X) \
	X(EST, "wstrace_tcp_handshakes_total", "established") \
	X(REFUSED, "wstrace_tcp_handshakes_total", "refused") \
	X(TIMEOUT, "wstrace_tcp_handshakes_total", "timeout") \
	X(INCOMPLETE, "wstrace_tcp_handshakes_total", "incomplete") \
	X(RESETS, "wstrace_tcp_resets_total", NULL) \
	X(UPG_OK, "wstrace_ws_upgrades_total", "101") \
	X(UPG_ALL, "wstrace_ws_upgrades_total", NULL) \
	X(MSG_C2S, "wstrace_ws_messages_total", "c2s") \
	X(MSG_S2C, "wstrace_ws_messages_total", "s2c") \
	X(BYTES_C2S, "wstrace_ws_frame_payload_bytes_total", "c2s") \
	X(BYTES_S2C, "wstrace_ws_frame_payload_bytes_total", "s2c") \
	X(VIOLATIONS, "wstrace_ws_violations_total", NULL) \
	X(ENDS, "wstrace_ws_session_ends_total", NULL) \
	X(ENDS_ABNORMAL, "wstrace_ws_session_ends_total", "abnormal") \
	X(ENDS_RESET, "wstrace_ws_session_ends_total", "reset") \
	X(RINGBUF_FULL, "wstrace_ringbuf_lost_total", NULL) \
	X(TRUNCATED, "wstrace_truncated_packets_total", NULL) \
	X(LOAD_ERRORS, "wstrace_load_errors_total", NULL) \
	X(FRAGMENTS, "wstrace_ip_fragments_total", NULL) \
	X(BAD_RECORDS, "wstrace_bad_records_total", NULL) \
	X(GAPS, "wstrace_ws_stream_gaps_total", NULL) \
	X(SYNC_LOST, "wstrace_ws_frame_sync_lost_total", NULL) \
	X(RESYNCS, "wstrace_ws_resyncs_total", NULL) \
	X(UNDECODED, "wstrace_ws_decode_losses_total", NULL) \
	X(EVICTED, "wstrace_flows_evicted_total", NULL) \
	X(OVERFLOWS, "wstrace_reassembly_overflows_total", NULL)

enum top_counter {
#define X(name, family, value) TOP_C_##name,
	TOP_COUNTERS(X)
#undef X
	TOP_C_MAX,
};

/* Latencies shown as p50/p99; delivery and reply only with --correlate,
 * --correlate-reply and traffic that fills them. */
enum top_hist { TOP_H_UPGRADE, TOP_H_RTT, TOP_H_DELIVERY, TOP_H_REPLY, TOP_H_MAX };

/* The header's numbers at the last refresh. */
struct top_totals {
	uint64_t c[TOP_C_MAX];      /* since start */
	double rate[TOP_C_MAX];     /* a second, over the last refresh */
	bool have[TOP_C_MAX];       /* the family exists (kernel ones: live only) */
	double conns, sessions;     /* gauges: open now */
	double p50[TOP_H_MAX], p99[TOP_H_MAX]; /* seconds; negative: no data */
	/* Closing handshakes by the close code label, non-zero ones. */
	int n_closes;
	const char *close_code[24];
	uint64_t close_count[24];
};

enum top_sort { TOP_SORT_RATE, TOP_SORT_BYTES, TOP_SORT_AGE, TOP_SORT_RTT, TOP_SORT_SERVER, TOP_SORT_MAX };

/* What the user chose: kept by the screen, read by the formatter. */
struct top_view {
	enum top_sort sort;
	bool reverse;
	bool paused;
	bool editing;               /* typing a filter after '/' */
	char filter[TOP_FILTER_MAX];
	const char *title;          /* first line: what is captured */
	const char *notice;         /* a last line to show, or NULL */
};

struct top_opts {
	const char *json_key;       /* NULL: no key column values */
	uint32_t max_rows;          /* open and ended rows; 0 = TOP_DEFAULT_MAX_ROWS */
};

struct top;

/* m is the exporter's registry, read at each refresh. 0, -EINVAL, -ENOMEM. */
int top_new(struct top **out, const struct top_opts *o, struct metrics *m);
void top_free(struct top *t);

/* A sink's on_event: ctx is the top. */
void top_event(void *ctx, const struct wst_event *ev);

/*
 * Once a second, after the registry's snapshots are updated: the header's
 * totals, rates and quantiles, each row's rate, and ended rows past their
 * linger leave. now_ns is CLOCK_REALTIME, like the events' times.
 */
void top_refresh(struct top *t, uint64_t now_ns);

const struct top_totals *top_totals(const struct top *t);
/* Rows in table order (not sorted); the pointer is valid until the next
 * event or refresh. */
const struct top_row *top_rows(const struct top *t, size_t *n);
/* Sessions not in the table because it was full. */
uint64_t top_untracked(const struct top *t);

/* Pure helpers, shared with the formatter and the tests. */
double top_rate(uint64_t now, uint64_t before, uint64_t dt_ns);
/* Prometheus's histogram_quantile over per-bucket counts (n bounds, n + 1
 * counts): linear within the bucket; -1 without observations. */
double top_quantile(const double *bounds, const uint64_t *counts, int n, double q);
const char *top_sort_name(enum top_sort s);
/* Rows ordered by the view's key (open ones first, ended ones after,
 * latest end first); rows[] holds pointers. */
void top_sort_rows(const struct top_row **rows, size_t n, enum top_sort key, bool reverse);
/* The filter is a substring of the client (peer or forwarded), the port,
 * the server's pid, name, container or cgroup, the key or the end. */
bool top_row_matches(const struct top_row *r, const char *filter);

/* top_format.c: one line of the screen, and its look. */
enum top_attr { TOP_ATTR_NORMAL, TOP_ATTR_TITLE, TOP_ATTR_HEADING, TOP_ATTR_ALERT, TOP_ATTR_DIM };
typedef void (*top_line_fn)(void *ctx, int y, const char *text, enum top_attr attr);

/*
 * The whole screen, width x height, line by line from the top (each text
 * at most width bytes, plain ASCII): the title, the header's totals, the
 * table's heading, the rows that fit, and a last line of keys.
 */
void top_render(const struct top *t, const struct top_view *v, int width, int height, uint64_t now_ns,
		top_line_fn fn, void *ctx);

/* One table row at width (at least 80 reads best), into buf (len bytes). */
void top_format_row(char *buf, size_t len, const struct top_row *r, int width, uint64_t now_ns);
/* The table's heading line for the same width. */
void top_format_heading(char *buf, size_t len, int width);
/* Numbers in at most 5 columns: counts exact below 100000, then K/M/G. */
void top_fmt_count(char *buf, size_t len, uint64_t v);
void top_fmt_bytes(char *buf, size_t len, uint64_t v);
void top_fmt_rate(char *buf, size_t len, double v);
void top_fmt_us(char *buf, size_t len, int64_t us);   /* "-" when negative */
void top_fmt_age(char *buf, size_t len, uint64_t ns);

#endif /* WST_TOP_H */
