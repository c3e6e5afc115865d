// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - wstrace: trace WebSocket servers from the kernel side.
 *
 * Wires a source (live capture or capture file) to the TCP tracker, the
 * WebSocket layer and the outputs (text or JSON lines, pcap, Prometheus),
 * runs a capture file here or the live service loop (loop.c), and prints
 * the summary (summary.c) on exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "app.h"

volatile sig_atomic_t app_stop_signal, app_reload_signal;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		app_reload_signal = 1;
	else
		app_stop_signal = sig;
}

uint64_t app_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Kernel counters since start: a reload keeps the programs and their maps. */
void app_kernel_counters(const struct app *app, struct wst_counters *k)
{
	memset(k, 0, sizeof(*k));
	if (app->capture)
		capture_read_counters(app->capture, k);
}

/* Packets not written to the -w file, for the metrics and the summary. */
uint64_t app_write_errors(const struct app *app)
{
	return app->write_invalid + app->write_lost + (app->writer ? pcap_sink_failed(app->writer) : 0);
}

/* The -w file's first write error is said once; packets are still decoded. */
void app_write_failed(struct app *app, int err)
{
	if (app->write_err)
		return;
	app->write_err = err;
	pr_warn("cannot write to %s: %s; decoding goes on, packets not written are counted "
		"(wstrace_pcap_write_errors_total), and the exit status will be %d",
		app->opt.write_file, strerror(-err), EX_IOERR);
}

static void print_event(void *ctx, const struct wst_event *ev)
{
	struct app *app = ctx;

	output_event(&app->out, ev);
}

/* The sink at the end of the chain: counters see every event, the output
 * what the event limit lets through. The correlator's own events come
 * here too, and go no further. */
static void deliver_event(void *ctx, const struct wst_event *ev)
{
	struct app *app = ctx;
	struct wst_event copy;
	struct wst_attrib at;

	/* Tested here: a call per frame and message adds up. */
	if (app->attrib) {
		ev = app_attrib_event(app, ev, &copy, &at);
		if (!ev)
			return; /* --pid, --comm, --cgroup */
	}

	if (app->exporting)
		exporter_event(app->exporter, ev);
	if (app->top)
		top_event(app->top, ev);
	if (app->opt.quiet) {
		if (app->limit && event_limit_ends_flow(ev->type))
			event_limit_forget(app->limit, ev);
		return;
	}
	/* Only what would be printed counts against the limit. */
	if (app->limit && output_shows(&app->out, ev))
		event_limit_event(app->limit, ev);
	else if (!app->limit)
		output_event(&app->out, ev);
}

/* Messages reach the correlator after their own line, so a reply's line
 * follows the message that answered. */
static void on_event(void *ctx, const struct wst_event *ev)
{
	struct app *app = ctx;

	deliver_event(app, ev);
	if (app->corr)
		corr_event(app->corr, ev);
}

void app_on_packet(void *ctx, const struct wst_packet *pkt)
{
	struct app *app = ctx;

	if (app->done)
		return;
	if (app->writer) {
		int err = pcap_sink_write(app->writer, pkt);

		if (err == -EINVAL)
			app->write_invalid++;
		else if (err)
			app_write_failed(app, err);
	}
	if (!app_attrib_hold(app, pkt))
		tcp_tracker_packet(app->tracker, pkt);
	app->packets++;
	if (app->opt.count && app->packets >= app->opt.count)
		app->done = true;
}

/* Frame and message events reach only what reads them (the layer counts
 * them all the same). */
static void setup_frame_events(struct app *app)
{
	if (app->ws)
		ws_layer_frame_events(app->ws, !app->opt.quiet || app->exporting || app->top || app->corr);
}

void app_setup_output(struct app *app)
{
	output_init(&app->out, stdout, app->opt.json ? OUTPUT_JSON : OUTPUT_TEXT);
	app->out.hex = app->opt.hex;
	app->out.verbose = app->opt.verbose;
	app->out.show_payload = app->opt.show_payload;
	app->out.show_secrets = app->opt.show_secrets;
	setup_frame_events(app); /* -q may change on reload */
}

static int open_writer(struct app *app)
{
	char err[512];

	if (!app->opt.write_file[0])
		return 0;
	if (pcap_sink_open(&app->writer, app->opt.write_file, err, sizeof(err))) {
		pr_warn("%s", err);
		return EX_CANTCREAT;
	}
	return 0;
}

static int run_file(struct app *app)
{
	char err[512];
	struct wst_packet pkt;
	int rc = 0;

	rc = pcap_source_open(&app->source, app->opt.read_file, err, sizeof(err));
	if (rc) {
		pr_warn("%s", err);
		/* Not a capture we read, or a file we cannot open. */
		return rc == -EINVAL || rc == -EPROTONOSUPPORT ? EX_DATAERR : rc == -ENOMEM ? EX_OSERR : EX_NOINPUT;
	}
	while (!app->done && !app_stop_signal && (rc = pcap_source_next(app->source, &pkt)) > 0) {
		if (!ports_has(&app->opt.ports, pkt.r.sport) && !ports_has(&app->opt.ports, pkt.r.dport))
			continue;
		app_on_packet(app, &pkt);
	}
	if (rc < 0) {
		/* Cut short or corrupt (libpcap does not tell a read error apart). */
		pr_warn("%s: %s", app->opt.read_file, pcap_source_error(app->source));
		return EX_DATAERR;
	}
	return 0;
}

static int setup_pipeline(struct app *app)
{
	struct tcp_track_opts to = { .max_flows = app->opt.max_flows };
	struct ws_layer_opts wo = {
		.max_message = app->opt.max_message,
		/* no plaintext source: a TLS connection's reason is tls_off */
		.tls_off = app->opt.no_tls || app->opt.read_file[0],
	};
	struct exporter_opts eo = {
		.json_key = app->opt.json_key[0] ? app->opt.json_key : NULL,
		.version = WSTRACE_VERSION,
		.no_kernel = app->opt.read_file[0] != '\0',
		.owner_label = app->opt.metrics_label == OPTIONS_LABEL_PROCESS ? "process" :
			       app->opt.metrics_label == OPTIONS_LABEL_CONTAINER ? "container" : NULL,
		.owner_max_values = (int)app->opt.metrics_label_top,
	};
	int rc;

	/* tracker -> WebSocket layer -> outputs and counters */
	rc = exporter_new(&app->exporter, &eo);
	/* Metrics nobody reads are not counted (a reload cannot turn them on). */
	app->exporting = (app->opt.metrics[0] && !app->opt.read_file[0]) || app->opt.top;
	if (!rc && app->opt.event_limit) {
		struct event_limit_opts lo = { .rate = app->opt.event_limit, .burst = app->opt.event_burst };

		rc = event_limit_new(&app->limit, &lo, (struct wst_sink){ .on_event = print_event, .ctx = app });
	}
	if (!rc && (app->opt.n_corr_keys || app->opt.n_reply_keys)) {
		const char *fk[OPTIONS_MAX_CORR_KEYS], *rk[OPTIONS_MAX_CORR_KEYS];
		struct corr_opts co = {
			.fanout_keys = fk, .n_fanout_keys = app->opt.n_corr_keys,
			.reply_keys = rk, .n_reply_keys = app->opt.n_reply_keys,
			.window_ns = app->opt.corr_window_secs * 1000000000ull,
			.max_open = app->opt.corr_max_open,
			.max_deliveries = app->opt.corr_max_deliveries,
		};

		for (int i = 0; i < app->opt.n_corr_keys; i++)
			fk[i] = app->opt.corr_keys[i];
		for (int i = 0; i < app->opt.n_reply_keys; i++)
			rk[i] = app->opt.reply_keys[i];
		rc = corr_new(&app->corr, &co, (struct wst_sink){ .on_event = deliver_event, .ctx = app });
	}
	if (!rc)
		rc = ws_layer_new(&app->ws, &wo, (struct wst_sink){ .on_event = on_event, .ctx = app });
	if (!rc)
		rc = tcp_tracker_new(&app->tracker, &to, &app->opt.ports,
				     (struct wst_sink){ .on_event = ws_layer_event, .ctx = app->ws });
	if (!rc)
		rc = tls_join_new(&app->tls, app->tracker, app->ws);
	setup_frame_events(app);
	if (rc)
		pr_warn("failed to set up decoding: %s", strerror(-rc));
	return !rc ? 0 : rc == -ENOMEM ? EX_OSERR : EX_SOFTWARE;
}

int main(int argc, char **argv)
{
	static struct app app;
	struct sigaction sa = { .sa_handler = on_signal };
	int rc;

	app.argc = argc;
	app.argv = argv;
	rc = app_load_options(&app.opt, argc, argv, NULL, 0);
	if (!rc)
		rc = app_load_web(&app.opt, &app.web, NULL, 0);
	if (!rc)
		rc = app_top_check(&app);
	if (rc)
		return rc;
	if (app.web && (!app.opt.metrics[0] || app.opt.read_file[0]))
		pr_warn("--web-config %s: no metrics endpoint runs%s, so it is not used", app.opt.web_config,
			app.opt.read_file[0] ? " with -r" : " (--metrics off)");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	app_setup_output(&app);
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	rc = setup_pipeline(&app);
	if (!rc)
		rc = open_writer(&app);
	if (!rc)
		rc = app.opt.read_file[0] ? run_file(&app) : app_run_live(&app);

	app_attrib_expire(&app, true);
	if (app.tracker)
		tcp_tracker_finish(app.tracker, app.opt.read_file[0] ? 0 : app_clock_ns(CLOCK_REALTIME));
	/* After the sessions' ends: a window still open counts who got it so far. */
	if (app.corr)
		corr_flush(app.corr, app.opt.read_file[0] ? 0 : app_clock_ns(CLOCK_REALTIME));
	fflush(stdout);
	/* Closed before the summary: the last packets are written (or not) now. */
	if (app.writer) {
		int err = pcap_sink_close(app.writer, &app.write_lost);

		app.writer = NULL;
		if (err)
			app_write_failed(&app, err);
	}
	if (app.tracker && app.ws && (rc == 0 || app.packets))
		app_print_summary(&app);
	if (!rc && app.write_err)
		rc = EX_IOERR;
	capture_close(app.capture);
	app_attrib_close(&app);
	metrics_http_close(app.http);
	webconfig_free(app.web);
	pcap_source_close(app.source);
	tls_join_free(app.tls);
	tcp_tracker_free(app.tracker);
	ws_layer_free(app.ws);
	corr_free(app.corr);
	event_limit_free(app.limit);
	top_free(app.top);
	exporter_free(app.exporter);
	return rc;
}
