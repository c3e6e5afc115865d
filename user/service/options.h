/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * options.h - wstrace's settings, from the command line and the config file.
 *
 * Both go through options_apply() with the long option name, so every
 * command-line option is available in the file and means the same there.
 */
#ifndef WST_OPTIONS_H
#define WST_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ports.h"

#define OPTIONS_MAX_IFACES 64
#define OPTIONS_STR_MAX 256
#define OPTIONS_MAX_PIDS 64

enum options_metrics_label {
	OPTIONS_LABEL_NONE,
	OPTIONS_LABEL_PROCESS,   /* comm of the server process */
	OPTIONS_LABEL_CONTAINER, /* short container id, or the cgroup path */
};
#define OPTIONS_DEFAULT_LABEL_TOP 10

struct options {
	char ifaces[OPTIONS_MAX_IFACES][OPTIONS_STR_MAX];
	int n_ifaces;
	struct port_set ports;
	uint32_t snaplen;
	uint64_t count;          /* 0 = unlimited */
	char read_file[OPTIONS_STR_MAX];
	char write_file[OPTIONS_STR_MAX];
	char config[OPTIONS_STR_MAX];
	char metrics[OPTIONS_STR_MAX]; /* "" = off */
	char json_key[OPTIONS_STR_MAX];
	bool json, hex, quiet, verbose, debug;
	bool show_payload, show_secrets;
	bool daemon;
	bool force_clsact;
	uint32_t ringbuf_kb;
	uint32_t wakeup_kb;
	uint32_t max_flows;
	uint32_t stats_secs;     /* print the summary every this many seconds; 0 = only at exit */
	uint64_t max_message;    /* message_too_big above this many bytes; 0 = no limit */
	uint32_t event_limit;    /* events printed a second per connection and kind; 0 = all */
	uint32_t event_burst;    /* and in a burst */
	/* Who is behind a connection (issue: process attribution). */
	bool no_owners;          /* no socket owner programs */
	uint32_t pids[OPTIONS_MAX_PIDS]; /* --pid: only connections these serve */
	int n_pids;
	char comm[OPTIONS_STR_MAX];      /* --comm: "" = any */
	char cgroup[OPTIONS_STR_MAX];    /* --cgroup: "" = any; a path and what is below it */
	int metrics_label;       /* enum options_metrics_label */
	uint32_t metrics_label_top; /* label values kept; the rest are "other" */
	/* Set by options_apply when a list option was given, so a later
	 * source (the command line) replaces the list instead of adding. */
	bool ifaces_from_cli;
	bool pids_from_cli;
	bool applying_cli;
};

#define OPTIONS_DEFAULT_RINGBUF_KB 8192
#define OPTIONS_WHOLE_PACKET_RINGBUF_KB 32768 /* snaplen 0 */

/* Far above what chat traffic makes (a few events a second per
 * connection), far below a flood of tiny frames (a million a second). */
#define OPTIONS_DEFAULT_EVENT_LIMIT 1000
#define OPTIONS_DEFAULT_EVENT_BURST 10000

/* 1/32 of the default ring buffer: wakes rarely, leaves room for bursts. */
#define OPTIONS_DEFAULT_WAKEUP_KB 256

/* Defaults; the daemon's differ (no payloads, metrics on). */
void options_defaults(struct options *o, bool daemon);

/*
 * Applies one option by its long name ("port", "interface", ...).
 * value is NULL for a flag given on the command line; from the config
 * file, flags take true/false, yes/no, on/off, 1/0.
 * Returns 0, -ENOENT (unknown name) or -EINVAL with a message in err.
 */
int options_apply(struct options *o, const char *name, const char *value, char *err, size_t errlen);

#endif /* WST_OPTIONS_H */
