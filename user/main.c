// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - wstrace: trace WebSocket servers from the kernel side.
 *
 * Wires a source (live capture or capture file) to the TCP tracker, the
 * WebSocket layer and the outputs (text or JSON lines, pcap, Prometheus),
 * runs the event loop, speaks sd_notify as a service, and prints the
 * summary on exit.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sysexits.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "config.h"
#include "event_limit.h"
#include "exporter.h"
#include "log.h"
#include "metrics_http.h"
#include "options.h"
#include "output.h"
#include "pcap_sink.h"
#include "pcap_source.h"
#include "privs.h"
#include "sdnotify.h"
#include "tcp_track.h"
#include "webconfig.h"
#include "ws_session.h"

#define WSTRACE_VERSION "0.1.0"
#define TICK_MS 200
/* Records below the wakeup threshold wait at most this long. */
#define DRAIN_MS 50
#define STATUS_EVERY_MS 5000

struct app {
	struct options opt;
	int argc;
	char **argv;
	struct output out;
	struct event_limit *limit; /* in front of out; NULL: every event printed */
	struct tcp_tracker *tracker;
	struct ws_layer *ws;
	struct exporter *exporter;
	struct metrics_http *http;
	struct webconfig *web;  /* --web-config, until the endpoint takes it */
	struct capture *capture;
	struct pcap_source *source;
	struct pcap_sink *writer;
	uint64_t packets;      /* packets of watched ports handed to the tracker */
	uint64_t write_invalid;  /* records the pcap writer cannot represent */
	uint64_t write_lost;     /* packets of the closed writer not written */
	int write_err;           /* the -w file's first write error */
	uint64_t watchdog_usec;
	uint64_t last_watchdog_ms, last_status_ms, last_stats_ms;
	bool done;
};

static volatile sig_atomic_t stop_signal, reload_signal;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_signal = 1;
	else
		stop_signal = sig;
}

const char *argp_program_version = "wstrace " WSTRACE_VERSION;
static const char doc[] =
	"wstrace -- trace WebSocket servers: TCP handshakes, HTTP upgrades, frames and "
	"messages, decoded and counted, from eBPF programs on the TC hooks.\n"
	"\v"
	"EXAMPLES:\n"
	"  sudo wstrace                       # port 7272 on every interface, text\n"
	"  sudo wstrace -p 7272,8080 -i eth0  # two ports on eth0\n"
	"  sudo wstrace --json > events.jsonl # one JSON object per line\n"
	"  sudo wstrace -w out.pcap -q        # keep the packets for Wireshark\n"
	"  wstrace -r capture.pcap            # decode a capture file, no privileges\n"
	"  sudo wstrace -X -c 100             # hex dumps, stop after 100 packets\n"
	"  sudo wstrace --metrics 9272 -q     # Prometheus counters on 127.0.0.1:9272\n"
	"  sudo wstrace --metrics 0.0.0.0:9272 --web-config web.yml  # TLS, basic auth\n"
	"  wstrace --config /etc/wstrace/wstrace.conf --daemon   # as the service runs it\n"
	"\n"
	"EXIT STATUS (sysexits.h):\n"
	"  0   success\n"
	"  64  usage: a bad option or argument, on the command line or in the config file,\n"
	"      or a bad --web-config file\n"
	"  65  the capture file (-r) is not one wstrace reads: not pcap or pcapng, an\n"
	"      unsupported link type, cut short or corrupt\n"
	"  66  a file to read (-r, --config, --web-config and the files it names) is\n"
	"      missing or cannot be read\n"
	"  69  live capture cannot be set up here: no such interface, no interface up,\n"
	"      a kernel without BTF or BPF ring buffers, programs refused\n"
	"  70  internal error\n"
	"  71  system error: out of memory, the event loop could not be set up\n"
	"  73  an output cannot be created: the -w file, the --metrics endpoint\n"
	"  74  I/O error while running: writing the -w file, reading the ring buffer\n"
	"  77  not enough privilege for live capture (root, or CAP_BPF, CAP_NET_ADMIN,\n"
	"      CAP_PERFMON)\n";

enum {
	OPT_JSON = 0x100,
	OPT_CLSACT,
	OPT_RINGBUF_KB,
	OPT_WAKEUP_KB,
	OPT_MAX_FLOWS,
	OPT_SHOW_SECRETS,
	OPT_SHOW_PAYLOAD,
	OPT_NO_PAYLOAD,
	OPT_METRICS,
	OPT_JSON_KEY,
	OPT_CONFIG,
	OPT_DAEMON,
	OPT_STATS,
	OPT_MAX_MESSAGE,
	OPT_EVENT_LIMIT,
	OPT_EVENT_BURST,
	OPT_WEB_CONFIG,
};

static const struct argp_option argp_opts[] = {
	{ "interface", 'i', "IFACE", 0, "Capture on IFACE (repeatable); 'any' (the default) is every interface that is up, and those that come up later", 0 },
	{ "port", 'p', "PORT[,PORT...]", 0, "TCP ports of the WebSocket servers (default 7272; up to 64)", 0 },
	{ "snaplen", 's', "SNAPLEN", 0, "Payload bytes kept per packet (default 4096; 0 = whole packet, up to 65536)", 0 },
	{ "count", 'c', "COUNT", 0, "Exit after COUNT packets", 0 },
	{ "read", 'r', "FILE", 0, "Read packets from a pcap or pcapng FILE ('-' for stdin) instead of capturing", 0 },
	{ "write", 'w', "FILE", 0, "Also write the captured packets to a pcap FILE", 0 },
	{ "json", OPT_JSON, NULL, 0, "One JSON object per line instead of text", 0 },
	{ "hex", 'X', NULL, 0, "Print payloads as hex and ASCII (like tcpdump -X)", 0 },
	{ "quiet", 'q', NULL, 0, "Print no events, only the summary", 0 },
	{ "verbose", 'v', NULL, 0, "More detail and progress messages; -vv for debug messages", 0 },
	{ "show-payload", OPT_SHOW_PAYLOAD, NULL, 0, "Print payloads (the default, except with --daemon)", 0 },
	{ "no-payload", OPT_NO_PAYLOAD, NULL, 0, "Print no payload bytes, only metadata", 0 },
	{ "show-secrets", OPT_SHOW_SECRETS, NULL, 0, "Print Cookie, Authorization and similar header values, secret query parameters and tokens in Sec-WebSocket-Protocol (redacted by default)", 0 },
	{ "metrics", OPT_METRICS, "[ADDR:]PORT", 0, "Serve Prometheus metrics at http://ADDR:PORT/metrics (ADDR defaults to 127.0.0.1; 'off' disables; the daemon's default is 127.0.0.1:9272)", 0 },
	{ "web-config", OPT_WEB_CONFIG, "FILE", 0, "TLS and basic authentication for --metrics, from a Prometheus exporter toolkit web configuration file (node_exporter's --web.config.file); SIGHUP re-reads it", 0 },
	{ "stats", OPT_STATS, "SECONDS", 0, "Also print the summary (captured, lost, connections, frames, violations, gaps) on stderr every SECONDS", 0 },
	{ "json-key", OPT_JSON_KEY, "NAME", 0, "Count JSON text messages by the value of their top-level key NAME (e.g. type)", 0 },
	{ "config", OPT_CONFIG, "FILE", 0, "Read settings from FILE (key = value lines; the command line overrides them). With --daemon the default is " CONFIG_DEFAULT_PATH, 0 },
	{ "daemon", OPT_DAEMON, NULL, 0, "Run as a service: no payloads, events only with --json, metrics on, sd_notify readiness and watchdog, SIGHUP reloads the config", 0 },
	{ "clsact", OPT_CLSACT, NULL, 0, "Attach with clsact filters even where tcx links are available", 0 },
	{ "ringbuf-kb", OPT_RINGBUF_KB, "KB", 0, "Ring buffer size in KiB (default 8192; 32768 with -s 0)", 0 },
	{ "wakeup-kb", OPT_WAKEUP_KB, "KB", 0, "Wake user space when this much is queued (default 256; at most a quarter of the ring buffer; 0: on every packet); what stays below it is read within 50 ms", 0 },
	{ "max-flows", OPT_MAX_FLOWS, "N", 0, "Connections tracked at most (default 65536); the least recent is evicted", 0 },
	{ "max-message", OPT_MAX_MESSAGE, "BYTES", 0, "Report a message_too_big violation for messages longer than BYTES (K, M, G suffixes; default 16M; 0 = no limit), as soon as their frame headers say so", 0 },
	{ "event-limit", OPT_EVENT_LIMIT, "N", 0, "Print at most N events a second of one kind (ws_frame, tcp_data, ...) per connection, after a burst of --event-burst; the rest are counted and said in an events_suppressed line (default 1000; 0 = print all)", 0 },
	{ "event-burst", OPT_EVENT_BURST, "N", 0, "Events of one kind per connection printed at once before --event-limit applies (default 10000)", 0 },
	{ 0 },
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct options *o = state->input;
	char err[320];

	if (key == ARGP_KEY_ARG)
		argp_error(state, "unexpected argument '%s' (a filter expression is not supported; use -p)", arg);
	for (const struct argp_option *a = argp_opts; a->name; a++) {
		if (a->key != key)
			continue;
		if (options_apply(o, a->name, arg, err, sizeof(err)))
			argp_error(state, "%s", err);
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp argp = { argp_opts, parse_arg, NULL, doc, NULL, NULL, NULL };

static int config_option(void *ctx, const char *key, const char *value, unsigned int line)
{
	char err[320];
	int rc;

	(void)line;
	if (!strcmp(key, "config"))
		return -ENOENT; /* a config file does not name another */
	rc = options_apply(ctx, key, value, err, sizeof(err));
	return rc == -ENOENT ? -ENOENT : rc ? -EINVAL : 0;
}

/*
 * Functions below that may end the run return 0 or the exit status
 * (sysexits.h), the same for a mistake on the command line or in the
 * config file; --help and README list them.
 */

/*
 * Defaults, then the config file, then the command line, which wins.
 * Returns 0, EX_USAGE or EX_NOINPUT: reported, or put in why when it is not
 * NULL (a reload says it in one line). argp exits with EX_USAGE on a
 * command-line error.
 */
static int load_options(struct options *o, int argc, char **argv, char *why, size_t whylen)
{
	struct options cli;
	char err[512];
	const char *path;
	int rc;

	options_defaults(&cli, false);
	argp_parse(&argp, argc, argv, 0, NULL, &cli);
	options_defaults(o, cli.daemon);
	path = cli.config[0] ? cli.config : cli.daemon ? CONFIG_DEFAULT_PATH : NULL;
	if (path) {
		rc = config_parse_file(path, config_option, o, err, sizeof(err));
		if (rc == -ENOENT && !cli.config[0]) {
			pr_info("no %s, using defaults", path);
		} else if (rc) {
			if (rc == -ENOENT)
				snprintf(err, sizeof(err), "%s: no such file (--config)", path);
			if (why)
				snprintf(why, whylen, "%s", err);
			else
				pr_warn("%s", err);
			if (rc == -ENOENT)
				return EX_NOINPUT;
			/* The file's content is wrong, or it cannot be read. */
			return rc == -EINVAL || rc == -EFBIG ? EX_USAGE : EX_NOINPUT;
		}
	}
	o->applying_cli = true;
	argp_parse(&argp, argc, argv, 0, NULL, o);
	o->applying_cli = false;
	if (o->ports.n == 0)
		ports_add(&o->ports, 7272);
	/* Whole packets need room for bursts of 64 KiB records. */
	if (!o->ringbuf_kb)
		o->ringbuf_kb = o->snaplen ? OPTIONS_DEFAULT_RINGBUF_KB : OPTIONS_WHOLE_PACKET_RINGBUF_KB;
	if (o->daemon && !o->json)
		o->quiet = true; /* the journal gets events only when asked for */
	if (o->debug)
		wst_log_verbosity = WST_LOG_DEBUG;
	else if (o->verbose || o->daemon)
		wst_log_verbosity = WST_LOG_INFO;
	else
		wst_log_verbosity = WST_LOG_WARN;
	return 0;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Kernel counters since start: a reload keeps the programs and their maps. */
static void kernel_counters(const struct app *app, struct wst_counters *k)
{
	memset(k, 0, sizeof(*k));
	if (app->capture)
		capture_read_counters(app->capture, k);
}

/* Packets not written to the -w file, for the metrics and the summary. */
static uint64_t write_errors(const struct app *app)
{
	return app->write_invalid + app->write_lost + (app->writer ? pcap_sink_failed(app->writer) : 0);
}

/* The -w file's first write error is said once; packets are still decoded. */
static void write_failed(struct app *app, int err)
{
	if (app->write_err)
		return;
	app->write_err = err;
	pr_warn("cannot write to %s: %s; decoding goes on, packets not written are counted "
		"(wstrace_pcap_write_errors_total), and the exit status will be %d",
		app->opt.write_file, strerror(-err), EX_IOERR);
}

static int render_metrics(void *ctx, char **buf, size_t *len)
{
	struct app *app = ctx;
	struct wst_counters k;
	struct exporter_sources src = { 0 };

	kernel_counters(app, &k);
	src.kernel = app->capture ? &k : NULL;
	src.tcp = tcp_tracker_stats(app->tracker);
	src.tcp_active = tcp_tracker_active(app->tracker);
	src.ws = ws_layer_stats(app->ws);
	src.budget = ws_layer_budget(app->ws);
	src.bad_records = app->capture ? capture_bad_records(app->capture) : 0;
	src.pcap_write_errors = write_errors(app);
	src.limit = app->limit;
	exporter_update(app->exporter, &src);
	return exporter_render(app->exporter, buf, len);
}

static void print_event(void *ctx, const struct wst_event *ev)
{
	struct app *app = ctx;

	output_event(&app->out, ev);
}

/* The sink at the end of the chain: counters see every event, the output
 * what the event limit lets through. */
static void on_event(void *ctx, const struct wst_event *ev)
{
	struct app *app = ctx;

	exporter_event(app->exporter, ev);
	if (app->opt.quiet) {
		if (app->limit)
			event_limit_forget(app->limit, ev);
		return;
	}
	/* Only what would be printed counts against the limit. */
	if (app->limit && output_shows(&app->out, ev))
		event_limit_event(app->limit, ev);
	else if (!app->limit)
		output_event(&app->out, ev);
}

static void on_packet(void *ctx, const struct wst_packet *pkt)
{
	struct app *app = ctx;

	if (app->done)
		return;
	if (app->writer) {
		int err = pcap_sink_write(app->writer, pkt);

		if (err == -EINVAL)
			app->write_invalid++;
		else if (err)
			write_failed(app, err);
	}
	tcp_tracker_packet(app->tracker, pkt);
	app->packets++;
	if (app->opt.count && app->packets >= app->opt.count)
		app->done = true;
}

static void setup_output(struct app *app)
{
	output_init(&app->out, stdout, app->opt.json ? OUTPUT_JSON : OUTPUT_TEXT);
	app->out.hex = app->opt.hex;
	app->out.verbose = app->opt.verbose;
	app->out.show_payload = app->opt.show_payload;
	app->out.show_secrets = app->opt.show_secrets;
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

/*
 * The --web-config file, read before anything starts so that a mistake in
 * it stops wstrace at once. Returns 0 or the exit status (reported).
 */
static int load_web(const struct options *o, struct webconfig **out, char *why, size_t whylen)
{
	char err[512];
	int rc;

	*out = NULL;
	if (!o->web_config[0])
		return 0;
	rc = webconfig_load(o->web_config, out, err, sizeof(err));
	if (!rc)
		return 0;
	if (why)
		snprintf(why, whylen, "%s", err);
	else
		pr_warn("%s", err);
	return rc == -ENOMEM ? EX_OSERR : rc == -EINVAL || rc == -EFBIG ? EX_USAGE : EX_NOINPUT;
}

static int open_metrics(struct app *app)
{
	struct metrics_http_opts mo = {
		.spec = app->opt.metrics,
		.web = app->web,
		.render = render_metrics,
		.ctx = app,
		.registry = exporter_metrics(app->exporter),
	};
	bool tls = app->web && app->web->tls;
	char err[512];
	int rc;

	if (!app->opt.metrics[0])
		return 0;
	app->web = NULL; /* the endpoint's now */
	rc = metrics_http_open(&app->http, &mo, err, sizeof(err));
	if (rc) {
		pr_warn("--metrics %s: %s", app->opt.metrics, err);
		return rc == -EINVAL ? EX_USAGE : rc == -ENOMEM ? EX_OSERR : EX_CANTCREAT;
	}
	pr_info("metrics on %s://%s/metrics", tls ? "https" : "http", app->opt.metrics);
	return 0;
}

/* Wakeup threshold: a small part of the ring, so a burst cannot fill it first. */
static uint32_t wakeup_bytes(const struct options *o)
{
	uint32_t ring = o->ringbuf_kb ? o->ringbuf_kb * 1024u : CAPTURE_DEFAULT_RINGBUF;
	uint64_t w = (uint64_t)o->wakeup_kb * 1024u;

	return w > ring / 4 ? ring / 4 : (uint32_t)w;
}

/* The capture settings of o; ifaces must hold OPTIONS_MAX_IFACES names. */
static struct capture_opts capture_opts_of(const struct options *o, const char **ifaces)
{
	struct capture_opts co = {
		.ifaces = ifaces,
		.n_ifaces = o->n_ifaces,
		.ports = o->ports.list,
		.n_ports = o->ports.n,
		.snaplen = o->snaplen,
		.ringbuf_bytes = o->ringbuf_kb * 1024u,
		.wakeup_bytes = wakeup_bytes(o),
		.force_clsact = o->force_clsact,
	};

	for (int i = 0; i < o->n_ifaces; i++)
		ifaces[i] = o->ifaces[i];
	return co;
}

static int open_capture(struct app *app)
{
	const char *ifaces[OPTIONS_MAX_IFACES];
	struct capture_opts co = capture_opts_of(&app->opt, ifaces);

	return capture_open(&app->capture, &co, on_packet, app);
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
	while (!app->done && !stop_signal && (rc = pcap_source_next(app->source, &pkt)) > 0) {
		if (!ports_has(&app->opt.ports, pkt.r.sport) && !ports_has(&app->opt.ports, pkt.r.dport))
			continue;
		on_packet(app, &pkt);
	}
	if (rc < 0) {
		/* Cut short or corrupt (libpcap does not tell a read error apart). */
		pr_warn("%s: %s", app->opt.read_file, pcap_source_error(app->source));
		return EX_DATAERR;
	}
	return 0;
}

static bool same_ifaces(const struct options *a, const struct options *b)
{
	if (a->n_ifaces != b->n_ifaces)
		return false;
	for (int i = 0; i < a->n_ifaces; i++)
		if (strcmp(a->ifaces[i], b->ifaces[i]))
			return false;
	return true;
}

/* The web config again (its path may have changed): one line when it is kept. */
static void reload_web(struct app *app, const struct options *n)
{
	struct webconfig *web;
	char why[512];

	if (load_web(n, &web, why, sizeof(why)) ||
	    metrics_http_set_web(app->http, web, why, sizeof(why))) {
		pr_warn("reload: web config: %s; the running web config is kept", why);
		return;
	}
	snprintf(app->opt.web_config, sizeof(app->opt.web_config), "%s", n->web_config);
	pr_info("reload: web config %s applied", n->web_config[0] ? n->web_config : "(none)");
}

/*
 * SIGHUP: the config file again, under the same command line. Interfaces
 * and attach mode first, make-before-break in the running capture (same
 * programs, ring buffer and counters, so nothing is lost or counted twice),
 * then ports in the kernel map, then outputs in place. A config that does
 * not parse or interfaces that cannot be attached change nothing: one line
 * says why, and the daemon goes on.
 */
static void reload(struct app *app, int epfd)
{
	struct options n;
	char why[512];

	sdnotify_reloading();
	if (load_options(&n, app->argc, app->argv, why, sizeof(why))) {
		pr_warn("reload failed: %s; the running settings are kept", why);
		goto out;
	}
	if (!same_ifaces(&n, &app->opt) || n.force_clsact != app->opt.force_clsact) {
		const char *ifaces[OPTIONS_MAX_IFACES];
		struct capture_opts co = capture_opts_of(&n, ifaces);
		int nl_old = capture_netlink_fd(app->capture), nl_new;

		if (capture_reconfigure(app->capture, &co, why, sizeof(why))) {
			pr_warn("reload failed: %s; the running settings are kept", why);
			goto out;
		}
		nl_new = capture_netlink_fd(app->capture);
		if (nl_new >= 0 && nl_new != nl_old) {
			struct epoll_event e = { .events = EPOLLIN, .data.fd = nl_new };

			if (epoll_ctl(epfd, EPOLL_CTL_ADD, nl_new, &e))
				pr_warn("reload: cannot follow new interfaces: %s", strerror(errno));
		}
		/* A socket closed by the reconfiguration left the epoll set with it. */
		memcpy(app->opt.ifaces, n.ifaces, sizeof(n.ifaces));
		app->opt.n_ifaces = n.n_ifaces;
		app->opt.force_clsact = n.force_clsact;
	}
	if (memcmp(n.ports.list, app->opt.ports.list, sizeof(n.ports.list)) || n.ports.n != app->opt.ports.n) {
		int rc = capture_set_ports(app->capture, n.ports.list, n.ports.n);

		if (rc)
			pr_warn("reload: failed to set ports: %s", strerror(-rc));
		else
			app->opt.ports = n.ports; /* the tracker reads this set */
	}
	if (app->http)
		reload_web(app, &n);
	if (n.snaplen != app->opt.snaplen || n.ringbuf_kb != app->opt.ringbuf_kb ||
	    strcmp(n.json_key, app->opt.json_key) || strcmp(n.metrics, app->opt.metrics) ||
	    strcmp(n.write_file, app->opt.write_file))
		pr_warn("reload: snaplen, ringbuf-kb, json-key, metrics and write take effect at restart");
	app->opt.json = n.json;
	app->opt.quiet = n.quiet;
	app->opt.hex = n.hex;
	app->opt.verbose = n.verbose;
	app->opt.show_payload = n.show_payload;
	app->opt.show_secrets = n.show_secrets;
	fflush(app->out.fp);
	setup_output(app);
	pr_info("reloaded: %d hooks (%s), %d ports", capture_n_attached(app->capture),
		capture_uses_tcx(app->capture) ? "tcx" : "clsact", app->opt.ports.n);
out:
	sdnotify_send("READY=1");
}

static void print_summary(struct app *app);

static void tick(struct app *app, uint64_t now_ms)
{
	/* Records below the wakeup threshold wait for this poll; read them
	 * first, so that no timeout (a reset linger) ends before them. */
	if (app->opt.wakeup_kb)
		capture_poll(app->capture, 0);
	tcp_tracker_expire(app->tracker, clock_ns(CLOCK_REALTIME));
	fflush(app->out.fp);
	/* A full disk is told within a tick, and loses at most a tick's packets. */
	if (app->writer && pcap_sink_flush(app->writer))
		write_failed(app, pcap_sink_error(app->writer));
	if (app->watchdog_usec && now_ms - app->last_watchdog_ms >= app->watchdog_usec / 2000) {
		sdnotify_send("WATCHDOG=1");
		app->last_watchdog_ms = now_ms;
	}
	if (app->opt.stats_secs && now_ms - app->last_stats_ms >= app->opt.stats_secs * 1000ull) {
		if (app->last_stats_ms)
			print_summary(app);
		app->last_stats_ms = now_ms;
	}
	if (now_ms - app->last_status_ms >= STATUS_EVERY_MS) {
		struct wst_counters k;

		kernel_counters(app, &k);
		sdnotify_sendf("STATUS=%" PRIu64 " packets, %llu lost, %" PRIu64 " connections, %" PRIu64
			       " WebSocket sessions", app->packets,
			       (unsigned long long)k.v[WST_CNT_RINGBUF_FULL], tcp_tracker_active(app->tracker),
			       ws_layer_stats(app->ws)->active);
		app->last_status_ms = now_ms;
	}
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

/* The exit status for a capture that could not be set up (reported). */
static int capture_status(int err)
{
	if (err == -EPERM || (err == -EACCES && geteuid() != 0))
		return EX_NOPERM;
	return err == -ENOMEM ? EX_OSERR : EX_UNAVAILABLE;
}

static int run_live(struct app *app)
{
	struct itimerspec itv = {
		.it_interval = { 0, TICK_MS * 1000000L },
		.it_value = { 0, TICK_MS * 1000000L },
	};
	int epfd = -1, tfd = -1, http_fd = -1, err, status = 0;

	err = open_capture(app);
	if (err)
		return capture_status(err);
	status = open_metrics(app);
	if (status)
		return status;
	/* Loaded and attached: keep only what later attachments need. */
	if (privs_drop_to_capture() == 0)
		pr_debug("dropped capabilities not needed for capture");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (epfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &itv, NULL)) {
		status = EX_OSERR;
		pr_warn("failed to set up the event loop: %s", strerror(errno));
		goto cleanup;
	}
	if (app->http)
		http_fd = metrics_http_fd(app->http);
	if ((err = add_fd(epfd, capture_epoll_fd(app->capture))) || (err = add_fd(epfd, tfd)) ||
	    (capture_netlink_fd(app->capture) >= 0 && (err = add_fd(epfd, capture_netlink_fd(app->capture)))) ||
	    (http_fd >= 0 && (err = add_fd(epfd, http_fd)))) {
		status = EX_OSERR;
		pr_warn("failed to set up the event loop: %s", strerror(-err));
		goto cleanup;
	}
	pr_info("listening on %d hooks (%s), %d ports", capture_n_attached(app->capture),
		capture_uses_tcx(app->capture) ? "tcx" : "clsact", app->opt.ports.n);
	app->watchdog_usec = sdnotify_watchdog_usec();
	sdnotify_send("READY=1");

	while (!app->done && !stop_signal) {
		struct epoll_event evs[8];
		int n;

		if (reload_signal) {
			reload_signal = 0;
			reload(app, epfd);
			continue;
		}
		n = epoll_wait(epfd, evs, 8, app->opt.wakeup_kb ? DRAIN_MS : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			status = EX_OSERR;
			pr_warn("epoll_wait: %s", strerror(errno));
			break;
		}
		/* Batched wakeups: what is below the threshold raised no event. */
		if (n == 0 && app->opt.wakeup_kb) {
			err = capture_poll(app->capture, 0);
			if (err < 0 && err != -EINTR) {
				pr_warn("failed to read the ring buffer: %s", strerror(-err));
				status = EX_IOERR;
				goto cleanup;
			}
			err = 0;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == tfd) {
				uint64_t expirations;

				if (read(tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
					pr_debug("timerfd: %s", strerror(errno));
				tick(app, clock_ns(CLOCK_MONOTONIC) / 1000000);
			} else if (fd == http_fd) {
				metrics_http_dispatch(app->http);
			} else if (fd == capture_netlink_fd(app->capture)) {
				capture_handle_netlink(app->capture);
			} else if (fd == capture_epoll_fd(app->capture)) {
				err = capture_poll(app->capture, 0);
				if (err < 0 && err != -EINTR) {
					pr_warn("failed to read the ring buffer: %s", strerror(-err));
					status = EX_IOERR;
					goto cleanup;
				}
				err = 0;
			}
		}
	}
	/* Drain what the kernel already queued before detaching. */
	if (!app->done)
		capture_poll(app->capture, 0);
cleanup:
	sdnotify_send("STOPPING=1");
	if (tfd >= 0)
		close(tfd);
	if (epfd >= 0)
		close(epfd);
	return status;
}

static void print_summary(struct app *app)
{
	const struct tcp_stats *ts = tcp_tracker_stats(app->tracker);
	const struct ws_stats *ws = ws_layer_stats(app->ws);
	const struct stream_budget *b = ws_layer_budget(app->ws);

	fprintf(stderr, "%" PRIu64 " packets captured\n", app->packets);
	if (app->capture) {
		struct wst_counters k;

		kernel_counters(app, &k);
		fprintf(stderr, "%llu packets seen by the kernel program\n",
			(unsigned long long)(k.v[WST_CNT_PKTS_INGRESS] + k.v[WST_CNT_PKTS_EGRESS]));
		fprintf(stderr, "%llu packets lost (ring buffer full)\n", (unsigned long long)k.v[WST_CNT_RINGBUF_FULL]);
		fprintf(stderr, "%llu payloads truncated by snaplen\n", (unsigned long long)k.v[WST_CNT_TRUNCATED]);
		if (k.v[WST_CNT_LOAD_ERRORS])
			fprintf(stderr, "%llu packets not copied (load errors)\n",
				(unsigned long long)k.v[WST_CNT_LOAD_ERRORS]);
		if (k.v[WST_CNT_FRAGMENTS])
			fprintf(stderr, "%llu segments not captured (sent in IP fragments)\n",
				(unsigned long long)k.v[WST_CNT_FRAGMENTS]);
		if (capture_bad_records(app->capture))
			fprintf(stderr, "%" PRIu64 " malformed records dropped\n", capture_bad_records(app->capture));
	}
	if (app->source) {
		struct pcap_source_stats ps;

		pcap_source_stats(app->source, &ps);
		fprintf(stderr, "%" PRIu64 " frames read, %" PRIu64 " not TCP, %" PRIu64 " malformed, %" PRIu64
			" truncated headers, %" PRIu64 " fragments\n",
			ps.frames, ps.not_tcp, ps.malformed, ps.truncated, ps.fragments);
	}
	fprintf(stderr, "%" PRIu64 " connections seen, %" PRIu64 " established, %" PRIu64 " refused, %" PRIu64
		" reset, %" PRIu64 " handshake timeouts, %" PRIu64 " seen mid-stream, %" PRIu64 " evicted\n",
		ts->flows, ts->established, ts->refused, ts->resets, ts->handshake_timeouts, ts->midstream,
		ts->evicted);
	/* Lines a clean run does not need are printed only when they count something. */
	if (ts->handshake_incomplete)
		fprintf(stderr, "%" PRIu64 " handshakes incomplete (SYN-ACK seen, no final ACK)\n",
			ts->handshake_incomplete);
	if (ts->evicted_packets || ts->evicted_forgotten)
		fprintf(stderr, "%" PRIu64 " packets of evicted connections (not tracked), %" PRIu64
			" evicted connections forgotten\n", ts->evicted_packets, ts->evicted_forgotten);
	fprintf(stderr, "%" PRIu64 " retransmissions, %" PRIu64 " out-of-order segments\n",
		ts->retransmits, ts->out_of_order);
	if (ts->late_packets)
		fprintf(stderr, "%" PRIu64 " packets after their connection's close or reset (not decoded)\n",
			ts->late_packets);
	if (ts->app_leaks)
		fprintf(stderr, "%" PRIu64 " connections freed with decoder state left (a bug)\n", ts->app_leaks);
	fprintf(stderr, "%" PRIu64 " WebSocket upgrades, %" PRIu64 " established, %" PRIu64 " failed, %" PRIu64
		" picked up mid-stream, %" PRIu64 " plain HTTP requests, %" PRIu64 " not HTTP\n",
		ws->upgrades, ws->established, ws->upgrade_failed, ws->midstream, ws->http_requests, ws->not_http);
	fprintf(stderr, "%" PRIu64 " frames c2s, %" PRIu64 " frames s2c, %" PRIu64 " messages c2s, %" PRIu64
		" messages s2c\n", ws->frames[0], ws->frames[1], ws->messages[0], ws->messages[1]);
	fprintf(stderr, "%" PRIu64 " protocol violations, %" PRIu64 " stream gaps (%" PRIu64 " bytes), %" PRIu64
		" resyncs (%" PRIu64 " bytes skipped), %" PRIu64 " reassembly overflows, %" PRIu64
		" undecodable (compression context lost)\n",
		ws->violations, ws->gaps, ws->gap_bytes, ws->resyncs, ws->resync_bytes, b->overflows,
		ws->decode_losses);
	if (write_errors(app))
		fprintf(stderr, "%" PRIu64 " packets not written to %s\n", write_errors(app), app->opt.write_file);
	if (app->limit) {
		uint64_t n = 0;

		for (int t = 0; t < WST_EV_MAX; t++)
			n += event_limit_suppressed(app->limit, t);
		if (n)
			fprintf(stderr, "%" PRIu64 " events not printed (over --event-limit; see events_suppressed)\n",
				n);
	}
}

static int setup_pipeline(struct app *app)
{
	struct tcp_track_opts to = { .max_flows = app->opt.max_flows };
	struct ws_layer_opts wo = { .max_message = app->opt.max_message };
	struct exporter_opts eo = {
		.json_key = app->opt.json_key[0] ? app->opt.json_key : NULL,
		.version = WSTRACE_VERSION,
		.no_kernel = app->opt.read_file[0] != '\0',
	};
	int rc;

	/* tracker -> WebSocket layer -> outputs and counters */
	rc = exporter_new(&app->exporter, &eo);
	if (!rc && app->opt.event_limit) {
		struct event_limit_opts lo = { .rate = app->opt.event_limit, .burst = app->opt.event_burst };

		rc = event_limit_new(&app->limit, &lo, (struct wst_sink){ .on_event = print_event, .ctx = app });
	}
	if (!rc)
		rc = ws_layer_new(&app->ws, &wo, (struct wst_sink){ .on_event = on_event, .ctx = app });
	if (!rc)
		rc = tcp_tracker_new(&app->tracker, &to, &app->opt.ports,
				     (struct wst_sink){ .on_event = ws_layer_event, .ctx = app->ws });
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
	argp_err_exit_status = EX_USAGE;
	rc = load_options(&app.opt, argc, argv, NULL, 0);
	if (!rc)
		rc = load_web(&app.opt, &app.web, NULL, 0);
	if (rc)
		return rc;
	if (app.web && (!app.opt.metrics[0] || app.opt.read_file[0]))
		pr_warn("--web-config %s: no metrics endpoint runs%s, so it is not used", app.opt.web_config,
			app.opt.read_file[0] ? " with -r" : " (--metrics off)");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	setup_output(&app);
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	rc = setup_pipeline(&app);
	if (!rc)
		rc = open_writer(&app);
	if (!rc)
		rc = app.opt.read_file[0] ? run_file(&app) : run_live(&app);

	if (app.tracker)
		tcp_tracker_finish(app.tracker, app.opt.read_file[0] ? 0 : clock_ns(CLOCK_REALTIME));
	fflush(stdout);
	/* Closed before the summary: the last packets are written (or not) now. */
	if (app.writer) {
		int err = pcap_sink_close(app.writer, &app.write_lost);

		app.writer = NULL;
		if (err)
			write_failed(&app, err);
	}
	if (app.tracker && app.ws && (rc == 0 || app.packets))
		print_summary(&app);
	if (!rc && app.write_err)
		rc = EX_IOERR;
	capture_close(app.capture);
	metrics_http_close(app.http);
	webconfig_free(app.web);
	pcap_source_close(app.source);
	tcp_tracker_free(app.tracker);
	ws_layer_free(app.ws);
	event_limit_free(app.limit);
	exporter_free(app.exporter);
	return rc;
}
