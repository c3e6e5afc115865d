// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* options.c - one place where every setting is parsed and checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wstrace.h"
#include "session/ws_session.h"
#include "metrics_http.h"
#include "options.h"

void options_defaults(struct options *o, bool daemon)
{
	memset(o, 0, sizeof(*o));
	o->snaplen = WST_DEFAULT_SNAPLEN;
	/*
	 * Batched ring buffer wakeups: a wakeup per record costs an interrupt
	 * (an IPI from inside the BPF program) and a context switch per packet.
	 */
	o->wakeup_kb = OPTIONS_DEFAULT_WAKEUP_KB;
	o->daemon = daemon;
	o->show_payload = !daemon;
	o->max_message = WS_LAYER_DEFAULT_MAX_MESSAGE;
	o->event_limit = OPTIONS_DEFAULT_EVENT_LIMIT;
	o->event_burst = OPTIONS_DEFAULT_EVENT_BURST;
	o->metrics_label_top = OPTIONS_DEFAULT_LABEL_TOP;
	/*
	 * The service decodes every frame: with payloads cut at 4096 bytes, a
	 * 64 KiB GSO packet full of small frames would lose most of them.
	 * The command line keeps tcpdump's -s 4096.
	 */
	if (daemon)
		o->snaplen = 0;
	if (daemon)
		snprintf(o->metrics, sizeof(o->metrics), "%s", METRICS_HTTP_DEFAULT_SPEC);
}

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

struct bool_opt {
	const char *name;
	size_t off;
};

#define BOOL_OPT(n, field) { n, offsetof(struct options, field) }
static const struct bool_opt bool_opts[] = {
	BOOL_OPT("json", json),
	BOOL_OPT("hex", hex),
	BOOL_OPT("quiet", quiet),
	BOOL_OPT("show-payload", show_payload),
	BOOL_OPT("show-secrets", show_secrets),
	BOOL_OPT("clsact", force_clsact),
	BOOL_OPT("daemon", daemon),
	BOOL_OPT("no-owners", no_owners),
};

int options_apply(struct options *o, const char *name, const char *value, char *err, size_t errlen)
{
	uint64_t v;

	for (size_t i = 0; i < sizeof(bool_opts) / sizeof(bool_opts[0]); i++) {
		if (strcmp(name, bool_opts[i].name))
			continue;
		if (parse_bool(value, (bool *)((char *)o + bool_opts[i].off))) {
			snprintf(err, errlen, "%s: expected true or false, not '%s'", name, value);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(name, "no-payload")) {
		o->show_payload = false;
		return 0;
	}
	if (!strcmp(name, "verbose")) {
		bool on;

		if (parse_bool(value, &on)) {
			snprintf(err, errlen, "verbose: expected true or false, not '%s'", value);
			return -EINVAL;
		}
		if (on && o->verbose && !value)
			o->debug = true; /* -vv */
		o->verbose = on;
		return 0;
	}
	if (!strcmp(name, "interface")) {
		if (o->applying_cli && !o->ifaces_from_cli) {
			o->n_ifaces = 0; /* the command line replaces the file's list */
			o->ifaces_from_cli = true;
		}
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
	if (!strcmp(name, "port")) {
		char perr[200];

		if (!value || ports_parse(&o->ports, value, perr, sizeof(perr))) {
			snprintf(err, errlen, "-p: %s", value ? perr : "missing ports");
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(name, "snaplen")) {
		if (parse_u64(value, 0, WST_MAX_SNAPLEN, &v)) {
			snprintf(err, errlen, "-s: bad snaplen '%s': expected 0 (whole packet) to %d",
				 value ? value : "", WST_MAX_SNAPLEN);
			return -EINVAL;
		}
		o->snaplen = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "count")) {
		if (parse_u64(value, 1, UINT64_MAX, &v)) {
			snprintf(err, errlen, "-c: bad count '%s': expected a positive number", value ? value : "");
			return -EINVAL;
		}
		o->count = v;
		return 0;
	}
	if (!strcmp(name, "ringbuf-kb")) {
		if (parse_u64(value, 4, 1u << 20, &v)) {
			snprintf(err, errlen, "--ringbuf-kb: bad size '%s': expected 4 to 1048576", value ? value : "");
			return -EINVAL;
		}
		o->ringbuf_kb = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "wakeup-kb")) {
		if (parse_u64(value, 0, 1u << 20, &v)) {
			snprintf(err, errlen, "--wakeup-kb: bad size '%s': expected 0 to 1048576", value ? value : "");
			return -EINVAL;
		}
		o->wakeup_kb = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "max-flows")) {
		if (parse_u64(value, 1, 1u << 24, &v)) {
			snprintf(err, errlen, "--max-flows: bad number '%s': expected 1 to 16777216", value ? value : "");
			return -EINVAL;
		}
		o->max_flows = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "stats")) {
		if (parse_u64(value, 1, 86400, &v)) {
			snprintf(err, errlen, "--stats: bad interval '%s': expected 1 to 86400 seconds", value ? value : "");
			return -EINVAL;
		}
		o->stats_secs = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "max-message")) {
		/* RFC 6455 5.2: a frame is at most 2^63 - 1 bytes. */
		if (parse_size(value, INT64_MAX, &v)) {
			snprintf(err, errlen, "--max-message: bad size '%s': expected bytes, "
				 "optionally with K, M or G (0 = no limit)", value ? value : "");
			return -EINVAL;
		}
		o->max_message = v;
		return 0;
	}
	if (!strcmp(name, "event-limit")) {
		if (parse_u64(value, 0, 1000000000, &v)) {
			snprintf(err, errlen, "--event-limit: bad rate '%s': expected events a second "
				 "(0 = print every event)", value ? value : "");
			return -EINVAL;
		}
		o->event_limit = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "event-burst")) {
		if (parse_u64(value, 1, 1000000000, &v)) {
			snprintf(err, errlen, "--event-burst: bad number '%s': expected 1 to 1000000000",
				 value ? value : "");
			return -EINVAL;
		}
		o->event_burst = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "metrics")) {
		if (value && !strcmp(value, "off")) {
			o->metrics[0] = '\0';
			return 0;
		}
		return copy_str(o->metrics, value, name, err, errlen);
	}
	if (!strcmp(name, "pid")) {
		if (o->applying_cli && !o->pids_from_cli) {
			o->n_pids = 0; /* the command line replaces the file's list */
			o->pids_from_cli = true;
		}
		if (parse_u64(value, 1, 4194304, &v) || o->n_pids >= OPTIONS_MAX_PIDS) {
			snprintf(err, errlen, "--pid: bad process id '%s' (1 to 4194304, at most %d of them)",
				 value ? value : "", OPTIONS_MAX_PIDS);
			return -EINVAL;
		}
		o->pids[o->n_pids++] = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "comm")) {
		if (!value || !*value || strlen(value) > 15) {
			snprintf(err, errlen, "--comm: bad process name '%s': 1 to 15 characters, as in "
				 "/proc/PID/comm", value ? value : "");
			return -EINVAL;
		}
		return copy_str(o->comm, value, name, err, errlen);
	}
	if (!strcmp(name, "cgroup")) {
		if (!value || value[0] != '/') {
			snprintf(err, errlen, "--cgroup: bad path '%s': a cgroup v2 path from its root, "
				 "like /system.slice/x.service", value ? value : "");
			return -EINVAL;
		}
		return copy_str(o->cgroup, value, name, err, errlen);
	}
	if (!strcmp(name, "metrics-label")) {
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
	if (!strcmp(name, "metrics-label-top")) {
		if (parse_u64(value, 1, 1000, &v)) {
			snprintf(err, errlen, "--metrics-label-top: bad number '%s': expected 1 to 1000",
				 value ? value : "");
			return -EINVAL;
		}
		o->metrics_label_top = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "read"))
		return copy_str(o->read_file, value, name, err, errlen);
	if (!strcmp(name, "write"))
		return copy_str(o->write_file, value, name, err, errlen);
	if (!strcmp(name, "config"))
		return copy_str(o->config, value, name, err, errlen);
	if (!strcmp(name, "json-key"))
		return copy_str(o->json_key, value ? value : "", name, err, errlen);
	snprintf(err, errlen, "unknown option \"%s\"", name);
	return -ENOENT;
}
