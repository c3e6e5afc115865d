// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cli.c - the settings of a run: argp for the command line, the config
 * file, and the order in which they apply.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "core/log.h"
#include "app.h"
#include "config.h"

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
	"  wstrace --config /etc/wstrace/wstrace.conf --daemon   # as the service runs it\n"
	"\n"
	"EXIT STATUS (sysexits.h):\n"
	"  0   success\n"
	"  64  usage: a bad option or argument, on the command line or in the config file\n"
	"  65  the capture file (-r) is not one wstrace reads: not pcap or pcapng, an\n"
	"      unsupported link type, cut short or corrupt\n"
	"  66  a file to read (-r, --config) is missing or cannot be read\n"
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
	OPT_NO_OWNERS,
	OPT_PID,
	OPT_COMM,
	OPT_CGROUP,
	OPT_METRICS_LABEL,
	OPT_METRICS_LABEL_TOP,
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
	{ "pid", OPT_PID, "PID", 0, "Only connections whose server is process PID (repeatable; live capture)", 0 },
	{ "comm", OPT_COMM, "NAME", 0, "Only connections whose server process is named NAME (as in /proc/PID/comm)", 0 },
	{ "cgroup", OPT_CGROUP, "PATH", 0, "Only connections whose server process is in the cgroup v2 PATH or below it", 0 },
	{ "no-owners", OPT_NO_OWNERS, NULL, 0, "Do not find the processes behind connections (no server_pid ... fields, no accept/connect hooks)", 0 },
	{ "metrics-label", OPT_METRICS_LABEL, "process|container", 0, "Split the WebSocket metrics by the server's process name or container (the --metrics-label-top busiest values, the rest as 'other')", 0 },
	{ "metrics-label-top", OPT_METRICS_LABEL_TOP, "N", 0, "Values of --metrics-label kept (default 10, up to 1000); more become 'other'", 0 },
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

int app_load_options(struct options *o, int argc, char **argv, char *why, size_t whylen)
{
	struct options cli;
	char err[512];
	const char *path;
	int rc;

	argp_err_exit_status = EX_USAGE;
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
