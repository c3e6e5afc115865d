// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - wstrace: trace WebSocket servers from the kernel side.
 *
 * Wires a source (live capture or capture file) to the TCP tracker and the
 * outputs, runs the event loop, and prints the summary on exit.
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
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "log.h"
#include "output.h"
#include "pcap_sink.h"
#include "pcap_source.h"
#include "ports.h"
#include "tcp_track.h"
#include "ws_session.h"

#define WSTRACE_VERSION "0.1.0"
#define MAX_IFACES 64
#define TICK_MS 200

struct options {
	const char *ifaces[MAX_IFACES];
	int n_ifaces;
	struct port_set ports;
	uint32_t snaplen;
	uint64_t count;        /* 0 = unlimited */
	const char *read_file;
	const char *write_file;
	bool json, hex, quiet, verbose;
	bool force_clsact;
	bool show_secrets;
	uint32_t ringbuf_kb;
	uint32_t max_flows;
};

struct app {
	struct options opt;
	struct output out;
	struct tcp_tracker *tracker;
	struct ws_layer *ws;
	struct capture *capture;
	struct pcap_source *source;
	struct pcap_sink *writer;
	uint64_t packets;      /* packets of watched ports handed to the tracker */
	uint64_t write_errors;
	bool done;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

const char *argp_program_version = "wstrace " WSTRACE_VERSION;
static const char doc[] =
	"wstrace -- trace WebSocket servers: TCP handshakes, connections and their ends, "
	"decoded and counted, from eBPF programs on the TC hooks.\n"
	"\v"
	"EXAMPLES:\n"
	"  sudo wstrace                       # port 7272 on every interface, text\n"
	"  sudo wstrace -p 7272,8080 -i eth0  # two ports on eth0\n"
	"  sudo wstrace --json > events.jsonl # one JSON object per line\n"
	"  sudo wstrace -w out.pcap -q        # keep the packets for Wireshark\n"
	"  wstrace -r capture.pcap            # decode a capture file, no privileges\n"
	"  sudo wstrace -X -c 100             # hex dump of payloads, stop after 100 packets\n";

enum {
	OPT_JSON = 0x100,
	OPT_CLSACT,
	OPT_RINGBUF_KB,
	OPT_MAX_FLOWS,
	OPT_SHOW_SECRETS,
};

static const struct argp_option argp_opts[] = {
	{ "interface", 'i', "IFACE", 0, "Capture on IFACE (repeatable); 'any' (the default) is every interface that is up, and those that come up later", 0 },
	{ "port", 'p', "PORT[,PORT...]", 0, "TCP ports of the WebSocket servers (default 7272; up to 64)", 0 },
	{ "snaplen", 's', "SNAPLEN", 0, "Payload bytes kept per packet (default 4096; 0 = whole packet, up to 65536)", 0 },
	{ "count", 'c', "COUNT", 0, "Exit after COUNT packets", 0 },
	{ "read", 'r', "FILE", 0, "Read packets from a pcap or pcapng FILE ('-' for stdin) instead of capturing", 0 },
	{ "write", 'w', "FILE", 0, "Also write the captured packets to a pcap FILE", 0 },
	{ "json", OPT_JSON, NULL, 0, "One JSON object per line instead of text", 0 },
	{ NULL, 'X', NULL, 0, "Print payloads as hex and ASCII (like tcpdump -X)", 0 },
	{ "quiet", 'q', NULL, 0, "Print no events, only the summary", 0 },
	{ "verbose", 'v', NULL, 0, "Show interface and direction; repeat for debug messages", 0 },
	{ "show-secrets", OPT_SHOW_SECRETS, NULL, 0, "Print Cookie, Authorization and similar header values (redacted by default)", 0 },
	{ "clsact", OPT_CLSACT, NULL, 0, "Attach with clsact filters even where tcx links are available", 0 },
	{ "ringbuf-kb", OPT_RINGBUF_KB, "KB", 0, "Ring buffer size in KiB (default 8192)", 0 },
	{ "max-flows", OPT_MAX_FLOWS, "N", 0, "Connections tracked at most (default 65536); the least recent is evicted", 0 },
	{ 0 },
};

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct options *o = state->input;
	char err[256];
	uint64_t v;

	switch (key) {
	case 'i':
		if (o->n_ifaces >= MAX_IFACES)
			argp_error(state, "too many -i options: at most %d", MAX_IFACES);
		o->ifaces[o->n_ifaces++] = arg;
		break;
	case 'p':
		if (ports_parse(&o->ports, arg, err, sizeof(err)))
			argp_error(state, "-p: %s", err);
		break;
	case 's':
		if (parse_u64(arg, WST_MAX_SNAPLEN, &v))
			argp_error(state, "-s: bad snaplen '%s': expected 0 (whole packet) to %d", arg, WST_MAX_SNAPLEN);
		o->snaplen = (uint32_t)v;
		break;
	case 'c':
		if (parse_u64(arg, UINT64_MAX, &v) || v == 0)
			argp_error(state, "-c: bad count '%s': expected a positive number", arg);
		o->count = v;
		break;
	case 'r':
		o->read_file = arg;
		break;
	case 'w':
		o->write_file = arg;
		break;
	case OPT_JSON:
		o->json = true;
		break;
	case 'X':
		o->hex = true;
		break;
	case 'q':
		o->quiet = true;
		break;
	case 'v':
		if (o->verbose)
			wst_log_verbosity = WST_LOG_DEBUG;
		o->verbose = true;
		if (wst_log_verbosity < WST_LOG_INFO)
			wst_log_verbosity = WST_LOG_INFO;
		break;
	case OPT_CLSACT:
		o->force_clsact = true;
		break;
	case OPT_SHOW_SECRETS:
		o->show_secrets = true;
		break;
	case OPT_RINGBUF_KB:
		if (parse_u64(arg, 1u << 20, &v) || v < 4)
			argp_error(state, "--ringbuf-kb: bad size '%s': expected 4 to 1048576", arg);
		o->ringbuf_kb = (uint32_t)v;
		break;
	case OPT_MAX_FLOWS:
		if (parse_u64(arg, 1u << 24, &v) || v == 0)
			argp_error(state, "--max-flows: bad number '%s': expected 1 to 16777216", arg);
		o->max_flows = (uint32_t)v;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s' (a filter expression is not supported; use -p)", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Fans events out to the outputs. */
static void on_event(void *ctx, const struct wst_event *ev)
{
	struct app *app = ctx;

	if (!app->opt.quiet)
		output_event(&app->out, ev);
}

static void on_packet(void *ctx, const struct wst_packet *pkt)
{
	struct app *app = ctx;

	if (app->done)
		return;
	if (app->writer && pcap_sink_write(app->writer, pkt))
		app->write_errors++;
	tcp_tracker_packet(app->tracker, pkt);
	app->packets++;
	if (app->opt.count && app->packets >= app->opt.count)
		app->done = true;
}

static int run_file(struct app *app)
{
	char err[512];
	struct wst_packet pkt;
	int rc = 0;

	if (pcap_source_open(&app->source, app->opt.read_file, err, sizeof(err))) {
		pr_warn("%s", err);
		return -EINVAL;
	}
	while (!app->done && !stop_signal && (rc = pcap_source_next(app->source, &pkt)) > 0) {
		if (!ports_has(&app->opt.ports, pkt.r.sport) && !ports_has(&app->opt.ports, pkt.r.dport))
			continue;
		on_packet(app, &pkt);
	}
	if (rc < 0) {
		pr_warn("%s: %s", app->opt.read_file, pcap_source_error(app->source));
		return rc;
	}
	return 0;
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

static int run_live(struct app *app)
{
	struct capture_opts co = {
		.ifaces = app->opt.ifaces,
		.n_ifaces = app->opt.n_ifaces,
		.ports = app->opt.ports.list,
		.n_ports = app->opt.ports.n,
		.snaplen = app->opt.snaplen,
		.ringbuf_bytes = app->opt.ringbuf_kb * 1024u,
		.force_clsact = app->opt.force_clsact,
	};
	struct itimerspec tick = {
		.it_interval = { 0, TICK_MS * 1000000L },
		.it_value = { 0, TICK_MS * 1000000L },
	};
	int epfd = -1, tfd = -1, ring_fd, nl_fd, err;

	err = capture_open(&app->capture, &co, on_packet, app);
	if (err)
		return err;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (epfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &tick, NULL)) {
		err = -errno;
		pr_warn("failed to set up the event loop: %s", strerror(errno));
		goto cleanup;
	}
	ring_fd = capture_epoll_fd(app->capture);
	nl_fd = capture_netlink_fd(app->capture);
	if ((err = add_fd(epfd, ring_fd)) || (err = add_fd(epfd, tfd)) ||
	    (nl_fd >= 0 && (err = add_fd(epfd, nl_fd)))) {
		pr_warn("failed to set up the event loop: %s", strerror(-err));
		goto cleanup;
	}
	pr_info("listening on %d hooks (%s), ports %s%s", capture_n_attached(app->capture),
		capture_uses_tcx(app->capture) ? "tcx" : "clsact",
		app->opt.ports.n ? "" : "none", "");

	while (!app->done && !stop_signal) {
		struct epoll_event evs[8];
		int n = epoll_wait(epfd, evs, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			pr_warn("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == ring_fd) {
				err = capture_poll(app->capture, 0);
				if (err < 0 && err != -EINTR) {
					pr_warn("failed to read the ring buffer: %s", strerror(-err));
					goto cleanup;
				}
				err = 0;
			} else if (fd == tfd) {
				uint64_t expirations;

				if (read(tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
					pr_debug("timerfd: %s", strerror(errno));
				tcp_tracker_expire(app->tracker, realtime_ns());
				fflush(app->out.fp);
			} else if (fd == nl_fd) {
				capture_handle_netlink(app->capture);
			}
		}
	}
	/* Drain what the kernel already queued before detaching. */
	if (!app->done)
		capture_poll(app->capture, 0);
cleanup:
	if (tfd >= 0)
		close(tfd);
	if (epfd >= 0)
		close(epfd);
	return err;
}

static void print_summary(struct app *app)
{
	const struct tcp_stats *ts = tcp_tracker_stats(app->tracker);

	fprintf(stderr, "%" PRIu64 " packets captured\n", app->packets);
	if (app->capture) {
		struct wst_counters k;

		if (capture_read_counters(app->capture, &k) == 0) {
			fprintf(stderr, "%llu packets seen by the kernel program\n",
				(unsigned long long)(k.v[WST_CNT_PKTS_INGRESS] + k.v[WST_CNT_PKTS_EGRESS]));
			fprintf(stderr, "%llu packets lost (ring buffer full)\n",
				(unsigned long long)k.v[WST_CNT_RINGBUF_FULL]);
			fprintf(stderr, "%llu payloads truncated by snaplen\n",
				(unsigned long long)k.v[WST_CNT_TRUNCATED]);
			if (k.v[WST_CNT_LOAD_ERRORS])
				fprintf(stderr, "%llu packets not copied (load errors)\n",
					(unsigned long long)k.v[WST_CNT_LOAD_ERRORS]);
		}
		if (capture_bad_records(app->capture))
			fprintf(stderr, "%" PRIu64 " malformed records dropped\n", capture_bad_records(app->capture));
	}
	if (app->source) {
		struct pcap_source_stats ps;

		pcap_source_stats(app->source, &ps);
		fprintf(stderr, "%" PRIu64 " frames read, %" PRIu64 " not TCP, %" PRIu64
			" malformed, %" PRIu64 " truncated headers, %" PRIu64 " fragments\n",
			ps.frames, ps.not_tcp, ps.malformed, ps.truncated, ps.fragments);
	}
	fprintf(stderr, "%" PRIu64 " connections seen, %" PRIu64 " established, %" PRIu64
		" refused, %" PRIu64 " reset, %" PRIu64 " handshake timeouts, %" PRIu64
		" seen mid-stream, %" PRIu64 " evicted\n",
		ts->flows, ts->established, ts->refused, ts->resets, ts->handshake_timeouts,
		ts->midstream, ts->evicted);
	fprintf(stderr, "%" PRIu64 " retransmissions, %" PRIu64 " out-of-order segments\n",
		ts->retransmits, ts->out_of_order);
	{
		const struct ws_stats *ws = ws_layer_stats(app->ws);
		const struct stream_budget *b = ws_layer_budget(app->ws);

		fprintf(stderr, "%" PRIu64 " WebSocket upgrades, %" PRIu64 " established, %" PRIu64
			" failed, %" PRIu64 " picked up mid-stream, %" PRIu64 " plain HTTP requests, %" PRIu64
			" not HTTP\n", ws->upgrades, ws->established, ws->upgrade_failed, ws->midstream,
			ws->http_requests, ws->not_http);
		fprintf(stderr, "%" PRIu64 " frames c2s, %" PRIu64 " frames s2c, %" PRIu64 " messages c2s, %"
			PRIu64 " messages s2c\n", ws->frames[0], ws->frames[1], ws->messages[0], ws->messages[1]);
		fprintf(stderr, "%" PRIu64 " protocol violations, %" PRIu64 " stream gaps (%" PRIu64
			" bytes), %" PRIu64 " resyncs (%" PRIu64 " bytes skipped), %" PRIu64
			" reassembly overflows\n", ws->violations, ws->gaps, ws->gap_bytes, ws->resyncs,
			ws->resync_bytes, b->overflows);
	}
	if (app->write_errors)
		fprintf(stderr, "%" PRIu64 " packets not written to %s\n", app->write_errors, app->opt.write_file);
}

int main(int argc, char **argv)
{
	static struct app app;
	static const struct argp argp = { argp_opts, parse_arg, NULL, doc, NULL, NULL, NULL };
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];
	int rc;

	app.opt.snaplen = WST_DEFAULT_SNAPLEN;
	if (argp_parse(&argp, argc, argv, 0, NULL, &app.opt))
		return 2;
	if (app.opt.ports.n == 0)
		ports_add(&app.opt.ports, 7272);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	output_init(&app.out, stdout, app.opt.json ? OUTPUT_JSON : OUTPUT_TEXT);
	app.out.hex = app.opt.hex;
	app.out.verbose = app.opt.verbose;
	app.out.show_secrets = app.opt.show_secrets;
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	{
		struct tcp_track_opts to = { .max_flows = app.opt.max_flows };

		/* tracker -> WebSocket layer -> outputs */
		rc = ws_layer_new(&app.ws, NULL, (struct wst_sink){ .on_event = on_event, .ctx = &app });
		if (!rc)
			rc = tcp_tracker_new(&app.tracker, &to, &app.opt.ports,
					     (struct wst_sink){ .on_event = ws_layer_event, .ctx = app.ws });
		if (rc) {
			pr_warn("failed to set up decoding: %s", strerror(-rc));
			ws_layer_free(app.ws);
			return 1;
		}
	}
	if (app.opt.write_file && pcap_sink_open(&app.writer, app.opt.write_file, err, sizeof(err))) {
		pr_warn("%s", err);
		tcp_tracker_free(app.tracker);
		ws_layer_free(app.ws);
		return 1;
	}

	rc = app.opt.read_file ? run_file(&app) : run_live(&app);

	tcp_tracker_finish(app.tracker, app.opt.read_file ? 0 : realtime_ns());
	fflush(stdout);
	if (rc == 0 || app.packets)
		print_summary(&app);
	capture_close(app.capture);
	pcap_source_close(app.source);
	pcap_sink_close(app.writer);
	tcp_tracker_free(app.tracker);
	ws_layer_free(app.ws);
	return rc ? 1 : 0;
}
