/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * app.h - one run of wstrace as the service files share it: main.c wires
 * the pipeline and runs a capture file, loop.c runs the live service loop,
 * summary.c prints what was captured and lost, cli.c reads the settings.
 * Functions that may end the run return 0 or the exit status (sysexits.h),
 * the same for a mistake on the command line or in the config file;
 * --help and README list them.
 */
#ifndef WST_APP_H
#define WST_APP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "wstrace.h"
#include "sources/capture.h"
#include "sources/pcap_source.h"
#include "tracking/tcp_track.h"
#include "session/correlate.h"
#include "session/tls_join.h"
#include "session/ws_session.h"
#include "sinks/event_limit.h"
#include "sinks/exporter.h"
#include "sinks/output.h"
#include "sinks/pcap_sink.h"
#include "sinks/top.h"
#include "metrics_http.h"
#include "options.h"
#include "webconfig.h"

/* The version lives in the VERSION file; the Makefile passes it as
 * -DWSTRACE_VERSION (debian/changelog is checked against the same file). */
#ifndef WSTRACE_VERSION
#error "WSTRACE_VERSION is not defined: build with the Makefile, which reads VERSION"
#endif

struct attrib;

/* What attribution did (attrib.c). */
struct attrib_stats {
	uint64_t held;           /* new connections whose packets waited for their server */
	uint64_t hold_timeout;   /* ... that passed without it */
	uint64_t hold_overflow;  /* packets not held: bounds reached */
	uint64_t no_memory;
	uint64_t filtered_conns;    /* left out whole by --pid/--comm/--cgroup */
	uint64_t filtered_packets;  /* ... their packets dropped in user space */
	uint64_t owners_added, owners_evicted, conns, procs;
};

struct app {
	struct options opt;
	struct attrib *attrib;   /* live capture with socket owners, else NULL */
	int argc;
	char **argv;
	struct output out;
	struct event_limit *limit; /* in front of out; NULL: every event printed */
	struct tcp_tracker *tracker;
	struct ws_layer *ws;
	struct corr *corr;          /* --correlate, --correlate-reply; NULL: off */
	struct tls_join *tls;  /* TLS plaintext into the WebSocket layer's flows */
	struct exporter *exporter;
	bool exporting;         /* someone reads the exporter: --metrics live, or --top */
	struct metrics_http *http;
	struct webconfig *web;  /* --web-config, until the endpoint takes it */
	struct capture *capture;
	struct pcap_source *source;
	struct pcap_sink *writer;
	struct top *top;         /* --top: the live view's model */
	uint64_t packets;      /* packets of watched ports handed to the tracker */
	uint64_t write_invalid;  /* records the pcap writer cannot represent */
	uint64_t write_lost;     /* packets of the closed writer not written */
	int write_err;           /* the -w file's first write error */
	uint64_t watchdog_usec;
	uint64_t last_watchdog_ms, last_status_ms, last_stats_ms;
	bool done;
};

/* Set by the signal handlers (main.c), read by the loops. */
extern volatile sig_atomic_t app_stop_signal, app_reload_signal;

/* cli.c: defaults, then the config file, then the command line, which
 * wins. 0, EX_USAGE or EX_NOINPUT: reported, or put in why when it is not
 * NULL (a reload says it in one line). argp exits with EX_USAGE on a
 * command-line error. */
int app_load_options(struct options *o, int argc, char **argv, char *why, size_t whylen);
/* Whether the correlate options differ (they apply at start only). */
bool app_corr_changed(const struct options *a, const struct options *b);

/* main.c */
uint64_t app_clock_ns(clockid_t id);
/* Kernel counters since start: a reload keeps the programs and their maps. */
void app_kernel_counters(const struct app *app, struct wst_counters *k);
/* Packets not written to the -w file, for the metrics and the summary. */
uint64_t app_write_errors(const struct app *app);
/* The -w file's first write error is said once; packets are still decoded. */
void app_write_failed(struct app *app, int err);
/* The outputs as the options say. */
void app_setup_output(struct app *app);
/* The sources' packets go here. */
void app_on_packet(void *ctx, const struct wst_packet *pkt);

/*
 * loop.c: the --web-config file, read before anything starts so that a
 * mistake in it stops wstrace at once. 0 or the exit status: reported, or
 * put in why when it is not NULL (a reload).
 */
int app_load_web(const struct options *o, struct webconfig **out, char *why, size_t whylen);
/* attrib.c: who is behind connections (live capture). */
/* After the capture is open: the owner table, the reader, the sockets open now. */
int app_attrib_open(struct app *app);
void app_attrib_close(struct app *app);
/* True if pkt waits for its connection's server (it reaches the tracker later). */
bool app_attrib_hold(struct app *app, const struct wst_packet *pkt);
/* Connections that waited long enough (all with force) go on. */
void app_attrib_expire(struct app *app, bool force);
/* Forgets the connections closed since the last call. */
void app_attrib_flush(struct app *app);
/* ev with its attribution (in copy, at), ev itself, or NULL when a filter drops it. */
const struct wst_event *app_attrib_event(struct app *app, const struct wst_event *ev,
					 struct wst_event *copy, struct wst_attrib *at);
struct attrib_stats app_attrib_stats(const struct app *app);

/* loop.c: live capture until a signal, -c, or an error. */
int app_run_live(struct app *app);
/* The registry's snapshot counters and gauges brought up to date. */
void app_update_metrics(struct app *app);

/* top_screen.c: --top. check: EX_USAGE without a terminal (said). start:
 * the model and the screen, 0 or an exit status. input: keys waiting on
 * stdin. tick: the loop's timer; redraws once a second. stop: the
 * terminal back, and what was logged meanwhile on stderr. */
int app_top_check(const struct app *app);
int app_top_start(struct app *app);
void app_top_input(struct app *app);
void app_top_tick(struct app *app, uint64_t now_ms);
void app_top_draw(struct app *app);
void app_top_stop(struct app *app);

/* summary.c: what was captured and lost, on stderr. */
void app_print_summary(struct app *app);

#endif /* WST_APP_H */
