/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * exporter.h - wstrace's Prometheus metric set: a sink that counts what
 * the TCP and WebSocket events say, plus snapshots of counters kept
 * elsewhere (kernel per-CPU maps, tracker and WebSocket layer stats),
 * rendered for metrics_http.
 *
 * Event handling is plain array updates on a registry whose series are all
 * allocated here: no allocation, no string work, except the --json-key
 * lookup per complete text message and a table search per protocol
 * violation (its kind is a string from a fixed set).
 *
 * Choices worth knowing when reading the numbers:
 * - wstrace_ws_closes_total counts closing handshakes, once per session:
 *   the first close frame seen, labelled with its code and its sender
 *   (initiator). The answering close frame is in wstrace_ws_frames_total.
 *   code: "1000".."1015" for valid codes of that range, "application" for
 *   3000-4999, "none" for an empty close payload, "invalid" for codes a
 *   close frame must not carry, "unknown" when the payload was not seen.
 * - wstrace_ws_app_messages_total{dir,value} (only with a json key) counts
 *   complete text messages that are a JSON object whose top-level member
 *   json_key holds a string, by that string (escapes decoded; at most
 *   json_key_max_values distinct values, the rest and values longer than
 *   128 bytes as "other"). Every other text message is counted in
 *   wstrace_ws_app_messages_unmatched_total{dir,reason}, so no client
 *   string can collide with a marker value.
 * - Kernel families (packets, bytes, flags, ring buffer loss) are left out
 *   with no_kernel (reading a capture file); the decoder's own view of the
 *   packets is wstrace_tcp_packets_total{dir} either way.
 *
 * Single-threaded, like the registry.
 */
#ifndef WST_EXPORTER_H
#define WST_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wstrace.h"
#include "core/event.h"
#include "tracking/stream.h"
#include "tracking/tcp_track.h"
#include "session/tls_join.h"
#include "session/ws_session.h"
#include "event_limit.h"
#include "metrics.h"

#define EXPORTER_DEFAULT_JSON_VALUES 64

struct exporter_opts {
	const char *json_key;      /* top-level JSON member to count by; NULL: off */
	int json_key_max_values;   /* distinct values kept; 0 = 64, max METRICS_MAX_DYNAMIC */
	const char *version;       /* for wstrace_build_info; NULL = "unknown" */
	bool no_kernel;            /* no kernel counters (capture file): omit their families */
	/* "process" or "container": WebSocket sessions and messages also by the
	 * server's process name or container id; NULL: off */
	const char *owner_label;
	int owner_max_values;      /* values with a series (the busiest), the rest "other"; 0 = 10 */
};

/* Snapshot sources read by exporter_update(); any pointer may be NULL. */
struct exporter_sources {
	const struct wst_counters *kernel;  /* summed over CPUs */
	const struct tcp_stats *tcp;
	uint64_t tcp_active;
	const struct ws_stats *ws;
	const struct stream_budget *budget;
	uint64_t bad_records, pcap_write_errors;
	const struct event_limit *limit;    /* events not printed */
	const uint64_t *tls_kernel;         /* enum wst_tls_counter, or NULL: TLS off */
	const struct tls_join_stats *tls;   /* the plaintext join, or NULL */
};

/* Fills *src just before each render; see exporter_set_collect(). */
typedef void (*exporter_collect_fn)(void *ctx, struct exporter_sources *src);

struct exporter;

/* Returns 0, -EINVAL (bad option) or -ENOMEM. */
int exporter_new(struct exporter **out, const struct exporter_opts *o);

/* A sink's on_event: ctx is the exporter. */
void exporter_event(void *ctx, const struct wst_event *ev);

/* Copies the snapshot counters and gauges into the registry. */
void exporter_update(struct exporter *e, const struct exporter_sources *src);

/*
 * Optional: exporter_render() then calls fn to collect the sources and
 * exporter_update() with them, so it can be handed to metrics_http as is.
 */
void exporter_set_collect(struct exporter *e, exporter_collect_fn fn, void *ctx);

/*
 * metrics_http_render_fn: ctx is the exporter. The exposition (text
 * format 0.0.4) in a malloc'ed buffer. Returns 0, -ENOMEM or -E2BIG.
 */
int exporter_render(void *ctx, char **buf, size_t *len);

/*
 * Re-ranks the --metrics-label values (topn.h) at monotonic time now_ns:
 * exporter_update() does it at most once a second, so on every scrape;
 * tests call it with their own clock.
 */
void exporter_rank_owners(struct exporter *e, uint64_t now_ns);

/* The registry, to read values back (--stats, tests) or add families. */
struct metrics *exporter_metrics(struct exporter *e);

void exporter_free(struct exporter *e);

#endif /* WST_EXPORTER_H */
