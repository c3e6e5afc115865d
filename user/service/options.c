// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * options.c - every setting, declared once in options_table, and the one
 * place where settings are parsed and checked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wstrace.h"
#include "tracking/tcp_track.h"
#include "session/correlate.h"
#include "session/ws_session.h"
#include "config.h"
#include "metrics_http.h"
#include "options.h"

#define XSTR(x) #x
#define STR(x) XSTR(x)

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A byte count with an optional binary suffix: 512, 64K, 16M, 1G. */
static int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	char num[32];
	size_t n = s ? strlen(s) : 0;
	unsigned shift = 0;
	uint64_t v;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	}
	if (shift)
		num[n - 1] = '\0';
	if (parse_u64(num, 0, max >> shift, &v))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

/* A flag: absent value (command line) is true; the file says which. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	if (!s) {
		*out = true;
		return 0;
	}
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int copy_str(char *dst, const char *value, const char *name, char *err, size_t errlen)
{
	if (!value || strlen(value) >= OPTIONS_STR_MAX) {
		snprintf(err, errlen, "--%s: value missing or longer than %d bytes", name, OPTIONS_STR_MAX - 1);
		return -EINVAL;
	}
	snprintf(dst, OPTIONS_STR_MAX, "%s", value);
	return 0;
}


/* How errors name an option: its short flag if it has one. */
static const char *flag_of(const struct option_def *d, char *buf, size_t len)
{
	if (d->key > 0 && d->key < 0x100)
		snprintf(buf, len, "-%c", d->key);
	else
		snprintf(buf, len, "--%s", d->name);
	return buf;
}

/* "MIN to MAX", or the row's own words. */
static const char *limits(const struct option_def *d, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 " to %" PRIu64 "%s%s", d->min, d->max,
		 d->unit ? " " : "", d->unit ? d->unit : "");
	return buf;
}

static int bad_value(const struct option_def *d, const char *value, char *err, size_t errlen)
{
	char flag[48], lim[96];

	snprintf(err, errlen, "%s: bad %s '%s': expected %s", flag_of(d, flag, sizeof(flag)),
		 d->noun, value ? value : "", d->expect ? d->expect : limits(d, lim, sizeof(lim)));
	return -EINVAL;
}

static void *field(struct options *o, const struct option_def *d)
{
	return (char *)o + d->off;
}

static void store_uint(struct options *o, const struct option_def *d, uint64_t v)
{
	if (d->size == sizeof(uint64_t)) {
		memcpy(field(o, d), &v, sizeof(v));
	} else if (d->size == sizeof(uint32_t)) {
		uint32_t v32 = (uint32_t)v;

		memcpy(field(o, d), &v32, sizeof(v32));
	} else if (d->size == sizeof(bool)) {
		*(bool *)field(o, d) = v != 0;
	}
}

/* A repeatable option given on the command line replaces the config
 * file's list instead of adding to it: the first command-line value empties
 * the list, the next ones add. */
static void cli_replaces_list(const struct options *o, int *n, bool *from_cli)
{
	if (o->applying_cli && !*from_cli) {
		*n = 0;
		*from_cli = true;
	}
}

static int set_interface(struct options *o, const struct option_def *d, const char *value,
			 char *err, size_t errlen)
{
	(void)d;
	cli_replaces_list(o, &o->n_ifaces, &o->ifaces_from_cli);
	if (o->n_ifaces >= OPTIONS_MAX_IFACES) {
		snprintf(err, errlen, "-i: too many interfaces: at most %d", OPTIONS_MAX_IFACES);
		return -EINVAL;
	}
	if (!value || !*value || strlen(value) >= 16) {
		snprintf(err, errlen, "-i: bad interface name '%s'", value ? value : "");
		return -EINVAL;
	}
	snprintf(o->ifaces[o->n_ifaces++], OPTIONS_STR_MAX, "%s", value);
	return 0;
}

static int set_port(struct options *o, const struct option_def *d, const char *value,
		    char *err, size_t errlen)
{
	char perr[200];

	(void)d;
	if (!value || ports_parse(&o->ports, value, perr, sizeof(perr))) {
		snprintf(err, errlen, "-p: %s", value ? perr : "missing ports");
		return -EINVAL;
	}
	return 0;
}

static int set_verbose(struct options *o, const struct option_def *d, const char *value,
		       char *err, size_t errlen)
{
	bool on;

	if (parse_bool(value, &on)) {
		snprintf(err, errlen, "%s: expected true or false, not '%s'", d->name, value);
		return -EINVAL;
	}
	if (on && o->verbose && !value)
		o->debug = true; /* -vv */
	o->verbose = on;
	return 0;
}

/* Whatever the value: "no-payload = false" in the file, too, turns payloads off. */
static int set_no_payload(struct options *o, const struct option_def *d, const char *value,
			  char *err, size_t errlen)
{
	(void)d, (void)value, (void)err, (void)errlen;
	o->show_payload = false;
	return 0;
}

static int set_metrics(struct options *o, const struct option_def *d, const char *value,
		       char *err, size_t errlen)
{
	if (value && !strcmp(value, "off")) {
		o->metrics[0] = '\0';
		return 0;
	}
	return copy_str(o->metrics, value, d->name, err, errlen);
}

/* --correlate, --correlate-reply: repeatable. */
static int set_corr_key(struct options *o, const struct option_def *d, const char *value,
			char *err, size_t errlen)
{
	bool reply = !strcmp(d->name, "correlate-reply");
	char (*keys)[OPTIONS_STR_MAX] = reply ? o->reply_keys : o->corr_keys;
	int *n = reply ? &o->n_reply_keys : &o->n_corr_keys;
	bool *from_cli = reply ? &o->reply_keys_from_cli : &o->corr_keys_from_cli;

	cli_replaces_list(o, n, from_cli);
	if (!value || !*value) {
		snprintf(err, errlen, "--%s: a JSON key is needed", d->name);
		return -EINVAL;
	}
	if (*n >= OPTIONS_MAX_CORR_KEYS) {
		snprintf(err, errlen, "--%s: too many keys: at most %d", d->name, OPTIONS_MAX_CORR_KEYS);
		return -EINVAL;
	}
	return copy_str(keys[(*n)++], value, d->name, err, errlen);
}

static int set_ssl_lib(struct options *o, const struct option_def *d, const char *value,
		       char *err, size_t errlen)
{
	if (o->n_ssl_libs >= OPTIONS_MAX_SSL_LIBS) {
		snprintf(err, errlen, "--ssl-lib: at most %d files", OPTIONS_MAX_SSL_LIBS);
		return -EINVAL;
	}
	if (!value || value[0] != '/') {
		snprintf(err, errlen, "--ssl-lib: expected an absolute path, not '%s'", value ? value : "");
		return -EINVAL;
	}
	return copy_str(o->ssl_libs[o->n_ssl_libs++], value, d->name, err, errlen);
}

static int set_pid(struct options *o, const struct option_def *d, const char *value,
		   char *err, size_t errlen)
{
	uint64_t v;

	(void)d;
	cli_replaces_list(o, &o->n_pids, &o->pids_from_cli);
	if (parse_u64(value, 1, 4194304, &v) || o->n_pids >= OPTIONS_MAX_PIDS) {
		snprintf(err, errlen, "--pid: bad process id '%s' (1 to 4194304, at most %d of them)",
			 value ? value : "", OPTIONS_MAX_PIDS);
		return -EINVAL;
	}
	o->pids[o->n_pids++] = (uint32_t)v;
	return 0;
}

static int set_comm(struct options *o, const struct option_def *d, const char *value,
		    char *err, size_t errlen)
{
	if (!value || !*value || strlen(value) > 15) {
		snprintf(err, errlen, "--comm: bad process name '%s': 1 to 15 characters, as in "
			 "/proc/PID/comm", value ? value : "");
		return -EINVAL;
	}
	return copy_str(o->comm, value, d->name, err, errlen);
}

static int set_cgroup(struct options *o, const struct option_def *d, const char *value,
		      char *err, size_t errlen)
{
	if (!value || value[0] != '/') {
		snprintf(err, errlen, "--cgroup: bad path '%s': a cgroup v2 path from its root, "
			 "like /system.slice/x.service", value ? value : "");
		return -EINVAL;
	}
	return copy_str(o->cgroup, value, d->name, err, errlen);
}

static int set_metrics_label(struct options *o, const struct option_def *d, const char *value,
			     char *err, size_t errlen)
{
	(void)d;
	if (value && !strcmp(value, "process"))
		o->metrics_label = OPTIONS_LABEL_PROCESS;
	else if (value && !strcmp(value, "container"))
		o->metrics_label = OPTIONS_LABEL_CONTAINER;
	else if (value && !strcmp(value, "none"))
		o->metrics_label = OPTIONS_LABEL_NONE;
	else {
		snprintf(err, errlen, "--metrics-label: expected process, container or none, not '%s'",
			 value ? value : "");
		return -EINVAL;
	}
	return 0;
}

#define AT(f) .off = offsetof(struct options, f), .size = sizeof(((struct options *)0)->f)

/* In the order --help lists them. */
const struct option_def options_table[] = {
	{ .name = "interface", .key = 'i', .arg = "IFACE", .type = OPTION_CUSTOM, .set = set_interface,
	  .max = OPTIONS_MAX_IFACES, .def_text = "any",
	  .help = "Capture on IFACE (repeatable); 'any' is every interface that is up, and those that "
		  "come up later" },
	{ .name = "port", .key = 'p', .arg = "PORT[,PORT...]", .type = OPTION_CUSTOM, .set = set_port,
	  .max = PORTS_MAX, .def = OPTIONS_DEFAULT_PORT,
	  .help = "TCP ports of the WebSocket servers" },
	/*
	 * Whole packets by default: a snaplen cuts a 64 KiB GSO packet's frame
	 * headers, and every frame after the cut is lost, not decoded.
	 */
	{ .name = "snaplen", .key = 's', .arg = "SNAPLEN", .type = OPTION_UINT, AT(snaplen),
	  .min = 0, .max = WST_MAX_SNAPLEN, .def = 0,
	  .zero = "whole packet", .noun = "snaplen", .expect = "0 (whole packet) to " STR(WST_MAX_SNAPLEN),
	  .help = "Payload bytes kept per packet" },
	{ .name = "count", .key = 'c', .arg = "COUNT", .type = OPTION_UINT, AT(count),
	  .min = 1, .max = UINT64_MAX, .noun = "count", .expect = "a positive number",
	  .help = "Exit after COUNT packets" },
	{ .name = "read", .key = 'r', .arg = "FILE", .type = OPTION_STRING, AT(read_file),
	  .help = "Read packets from a pcap or pcapng FILE ('-' for stdin) instead of capturing" },
	{ .name = "write", .key = 'w', .arg = "FILE", .type = OPTION_STRING, AT(write_file),
	  .help = "Also write the captured packets to a pcap FILE" },
	{ .name = "json", .type = OPTION_FLAG, AT(json),
	  .help = "One JSON object per line instead of text" },
	{ .name = "hex", .key = 'X', .type = OPTION_FLAG, AT(hex),
	  .help = "Print payloads as hex and ASCII (like tcpdump -X)" },
	{ .name = "quiet", .key = 'q', .type = OPTION_FLAG, AT(quiet),
	  .help = "Print no events, only the summary" },
	{ .name = "verbose", .key = 'v', .type = OPTION_CUSTOM, .set = set_verbose,
	  .help = "More detail and progress messages; -vv for debug messages" },
	{ .name = "show-payload", .type = OPTION_FLAG, AT(show_payload), .def = 1,
	  .def_text = "on, except with --daemon",
	  .help = "Print payloads" },
	{ .name = "no-payload", .type = OPTION_CUSTOM, .set = set_no_payload,
	  .help = "Print no payload bytes, only metadata" },
	{ .name = "show-secrets", .type = OPTION_FLAG, AT(show_secrets),
	  .help = "Print Cookie, Authorization and similar header values, secret query parameters and "
		  "tokens in Sec-WebSocket-Protocol (redacted by default)" },
	{ .name = "metrics", .arg = "[ADDR:]PORT", .type = OPTION_CUSTOM, .set = set_metrics,
	  .def_text = "off; " METRICS_HTTP_DEFAULT_SPEC " with --daemon",
	  .help = "Serve Prometheus metrics at http://ADDR:PORT/metrics, on 127.0.0.1 when ADDR is "
		  "not given; 'off' disables them" },
	{ .name = "web-config", .arg = "FILE", .type = OPTION_STRING, AT(web_config),
	  .help = "TLS and basic authentication for --metrics, from a Prometheus exporter toolkit web "
		  "configuration file (node_exporter's --web.config.file); SIGHUP re-reads it" },
	{ .name = "stats", .arg = "SECONDS", .type = OPTION_UINT, AT(stats_secs),
	  .min = 1, .max = 86400, .unit = "seconds", .noun = "interval",
	  .help = "Also print the summary (captured, lost, connections, frames, violations, gaps) "
		  "on stderr every SECONDS" },
	{ .name = "top", .type = OPTION_FLAG, AT(top), .flags = OPTION_CLI_ONLY,
	  .help = "A live full-screen view instead of the event lines: totals, rates, losses and the "
		  "open sessions, refreshed every second (needs a terminal; keys: q quit, s sort, "
		  "r reverse, / filter, p pause)" },
	{ .name = "json-key", .arg = "NAME", .type = OPTION_STRING, AT(json_key),
	  .help = "Count JSON text messages by the value of their top-level key NAME (e.g. type)" },
	{ .name = "correlate", .arg = "KEY", .type = OPTION_CUSTOM, .set = set_corr_key,
	  .max = OPTIONS_MAX_CORR_KEYS,
	  .help = "Follow each client message with this top-level JSON key (e.g. content) to every "
		  "connection it is delivered to within --correlate-window: a ws_fanout event with the "
		  "recipients and the delivery latency (repeatable)" },
	{ .name = "correlate-reply", .arg = "KEY", .type = OPTION_CUSTOM, .set = set_corr_key,
	  .max = OPTIONS_MAX_CORR_KEYS,
	  .help = "Time the server's reply to each client request with this top-level JSON key "
		  "(e.g. id), on the same connection: ws_reply and ws_reply_timeout events (repeatable)" },
	{ .name = "correlate-window", .arg = "SECONDS", .type = OPTION_UINT, AT(corr_window_secs),
	  .min = 1, .max = 3600, .def = CORR_DEFAULT_WINDOW_NS / 1000000000, .unit = "seconds",
	  .noun = "time", .help = "How long a message is followed" },
	{ .name = "correlate-max-open", .arg = "N", .type = OPTION_UINT, AT(corr_max_open),
	  .min = 1, .max = 1000000, .def = CORR_DEFAULT_MAX_OPEN, .noun = "number",
	  .help = "Messages followed at once at most; the oldest is reported early" },
	{ .name = "correlate-max-deliveries", .arg = "N", .type = OPTION_UINT, AT(corr_max_deliveries),
	  .min = 1, .max = 1000000, .def = CORR_DEFAULT_MAX_DELIVERIES, .noun = "number",
	  .help = "Deliveries timed per message at most; more are counted only" },
	{ .name = "config", .arg = "FILE", .type = OPTION_STRING, AT(config), .flags = OPTION_CLI_ONLY,
	  .def_text = "none; " CONFIG_DEFAULT_PATH " with --daemon",
	  .help = "Read settings from FILE, key = value lines; the command line overrides them" },
	{ .name = "daemon", .type = OPTION_FLAG, AT(daemon),
	  .help = "Run as a service: no payloads, events only with --json, metrics on, sd_notify "
		  "readiness and watchdog, SIGHUP reloads the config" },
	{ .name = "pid", .arg = "PID", .type = OPTION_CUSTOM, .set = set_pid, .max = OPTIONS_MAX_PIDS,
	  .help = "Only connections whose server is process PID (repeatable; live capture)" },
	{ .name = "comm", .arg = "NAME", .type = OPTION_CUSTOM, .set = set_comm,
	  .help = "Only connections whose server process is named NAME (as in /proc/PID/comm)" },
	{ .name = "cgroup", .arg = "PATH", .type = OPTION_CUSTOM, .set = set_cgroup,
	  .help = "Only connections whose server process is in the cgroup v2 PATH or below it" },
	{ .name = "no-owners", .type = OPTION_FLAG, AT(no_owners),
	  .help = "Do not find the processes behind connections (no server_pid ... fields, no "
		  "accept/connect hooks)" },
	{ .name = "metrics-label", .arg = "process|container", .type = OPTION_CUSTOM,
	  .set = set_metrics_label,
	  .help = "Split the WebSocket metrics by the server's process name or container (the "
		  "--metrics-label-top busiest values, the rest as 'other'); 'none' turns it off" },
	{ .name = "metrics-label-top", .arg = "N", .type = OPTION_UINT, AT(metrics_label_top),
	  .min = 1, .max = 1000, .def = OPTIONS_DEFAULT_LABEL_TOP, .noun = "number",
	  .help = "Values of --metrics-label with a series: the N busiest of the last "
		  "minute; the others are counted as 'other'" },
	{ .name = "no-tls", .type = OPTION_FLAG, AT(no_tls),
	  .help = "Do not read TLS plaintext from OpenSSL (uprobes on libssl and node); wss connections "
		  "are then only seen as TLS" },
	{ .name = "ssl-lib", .arg = "PATH", .type = OPTION_CUSTOM, .set = set_ssl_lib,
	  .max = OPTIONS_MAX_SSL_LIBS,
	  .help = "Also probe this OpenSSL library or program (repeatable; for a custom OpenSSL build)" },
	{ .name = "clsact", .type = OPTION_FLAG, AT(force_clsact),
	  .help = "Attach with clsact filters even where tcx links are available" },
	/* 0: chosen after the command line, by the snaplen. */
	{ .name = "ringbuf-kb", .arg = "KB", .type = OPTION_UINT, AT(ringbuf_kb),
	  .min = 4, .max = 1u << 20, .noun = "size",
	  .def_text = STR(OPTIONS_WHOLE_PACKET_RINGBUF_KB) ", or " STR(OPTIONS_DEFAULT_RINGBUF_KB)
		      " with a snaplen",
	  .help = "Ring buffer size in KiB" },
	/*
	 * Batched ring buffer wakeups: a wakeup per record costs an interrupt
	 * (an IPI from inside the BPF program) and a context switch per packet.
	 */
	{ .name = "wakeup-kb", .arg = "KB", .type = OPTION_UINT, AT(wakeup_kb),
	  .min = 0, .max = 1u << 20, .def = OPTIONS_DEFAULT_WAKEUP_KB, .zero = "on every packet",
	  .noun = "size",
	  .help = "Wake user space when this much is queued (at most a quarter of the ring buffer); "
		  "what stays below it is read within 50 ms" },
	{ .name = "max-flows", .arg = "N", .type = OPTION_UINT, AT(max_flows),
	  .min = 1, .max = 1u << 24, .def = TCP_TRACK_DEFAULT_MAX_FLOWS, .noun = "number",
	  .help = "Connections tracked at most; the least recent is evicted" },
	/* RFC 6455 5.2: a frame is at most 2^63 - 1 bytes. */
	{ .name = "max-message", .arg = "BYTES", .type = OPTION_SIZE, AT(max_message),
	  .max = INT64_MAX, .def = WS_LAYER_DEFAULT_MAX_MESSAGE, .zero = "no limit", .noun = "size",
	  .expect = "bytes, optionally with K, M or G (0 = no limit)",
	  .help = "Report a message_too_big violation for messages longer than BYTES, as soon as "
		  "their frame headers say so" },
	{ .name = "event-limit", .arg = "N", .type = OPTION_UINT, AT(event_limit),
	  .min = 0, .max = 1000000000, .def = OPTIONS_DEFAULT_EVENT_LIMIT, .zero = "print all",
	  .noun = "rate", .expect = "events a second (0 = print every event)",
	  .help = "Print at most N events a second of one kind (ws_frame, tcp_data, ...) per "
		  "connection, after a burst of --event-burst; the rest are counted and said in an "
		  "events_suppressed line" },
	{ .name = "event-burst", .arg = "N", .type = OPTION_UINT, AT(event_burst),
	  .min = 1, .max = 1000000000, .def = OPTIONS_DEFAULT_EVENT_BURST, .noun = "number",
	  .help = "Events of one kind per connection printed at once before --event-limit applies" },
};

const size_t options_count = sizeof(options_table) / sizeof(options_table[0]);

const struct option_def *options_find(const char *name)
{
	for (size_t i = 0; i < options_count; i++)
		if (!strcmp(options_table[i].name, name))
			return &options_table[i];
	return NULL;
}

void options_defaults(struct options *o, bool daemon)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < options_count; i++) {
		const struct option_def *d = &options_table[i];

		if (d->size && d->type != OPTION_STRING)
			store_uint(o, d, d->def);
	}
	o->daemon = daemon;
	if (!daemon)
		return;
	o->show_payload = false;
	snprintf(o->metrics, sizeof(o->metrics), "%s", METRICS_HTTP_DEFAULT_SPEC);
}

/* A byte count as the options take it: 16M rather than 16777216. */
static void size_text(uint64_t v, char *buf, size_t len)
{
	static const char suffix[] = "GMK";

	for (int i = 0; i < 3; i++) {
		unsigned int shift = 30 - 10 * i;

		if (v && !(v & ((1ull << shift) - 1))) {
			snprintf(buf, len, "%" PRIu64 "%c", v >> shift, suffix[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
}

char *options_help(const struct option_def *d, char *buf, size_t len)
{
	char def[64] = "", lim[96] = "";
	bool numeric = d->type == OPTION_UINT || d->type == OPTION_SIZE;

	/* A default outside the limits means "not set" (count, stats). */
	bool shown = numeric ? d->def >= d->min && d->def <= d->max : d->type == OPTION_CUSTOM && d->def;

	if (shown && d->type == OPTION_SIZE)
		size_text(d->def, def, sizeof(def));
	else if (shown)
		snprintf(def, sizeof(def), "%" PRIu64, d->def);
	if (d->def_text)
		snprintf(def + strlen(def), sizeof(def) - strlen(def), "%s%s", def[0] ? ", " : "", d->def_text);

	if (d->type == OPTION_UINT && d->max == UINT64_MAX)
		snprintf(lim, sizeof(lim), "at least %" PRIu64, d->min);
	else if (d->type == OPTION_UINT)
		limits(d, lim, sizeof(lim));
	else if (d->type == OPTION_SIZE)
		snprintf(lim, sizeof(lim), "up to %" PRIu64 " bytes; K, M, G suffixes", d->max);
	else if (d->type == OPTION_CUSTOM && d->max)
		snprintf(lim, sizeof(lim), "up to %" PRIu64, d->max);
	if (d->zero)
		snprintf(lim + strlen(lim), sizeof(lim) - strlen(lim), "; 0 = %s", d->zero);

	if (!def[0] && !lim[0])
		snprintf(buf, len, "%s", d->help);
	else
		snprintf(buf, len, "%s (%s%s%s%s)", d->help, def[0] ? "default " : "", def,
			 def[0] && lim[0] ? "; " : "", lim);
	return buf;
}

int options_apply(struct options *o, const char *name, const char *value, char *err, size_t errlen)
{
	const struct option_def *d = options_find(name);
	uint64_t v;
	bool on;

	if (!d) {
		snprintf(err, errlen, "unknown option \"%s\"", name);
		return -ENOENT;
	}
	switch (d->type) {
	case OPTION_FLAG:
		if (parse_bool(value, &on)) {
			snprintf(err, errlen, "%s: expected true or false, not '%s'", name, value);
			return -EINVAL;
		}
		store_uint(o, d, on);
		return 0;
	case OPTION_UINT:
		if (parse_u64(value, d->min, d->max, &v))
			return bad_value(d, value, err, errlen);
		store_uint(o, d, v);
		return 0;
	case OPTION_SIZE:
		if (parse_size(value, d->max, &v))
			return bad_value(d, value, err, errlen);
		store_uint(o, d, v);
		return 0;
	case OPTION_STRING:
		return copy_str(field(o, d), value, name, err, errlen);
	case OPTION_CUSTOM:
		break;
	}
	return d->set(o, d, value, err, errlen);
}
