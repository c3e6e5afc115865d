/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * options.h - wstrace's settings, from the command line and the config file.
 *
 * Every option is one row of options_table: its long name (also its key in
 * the config file), short flag, argument, limits, default, where it is
 * stored and its help. argp, the config file, --help and the man page are
 * all made from that table; options_apply() applies a row by its name, so
 * an option means the same on the command line and in the file.
 */
#ifndef WST_OPTIONS_H
#define WST_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ports.h"

#define OPTIONS_MAX_IFACES 64
#define OPTIONS_STR_MAX 256
#define OPTIONS_MAX_CORR_KEYS 8 /* CORR_MAX_KEYS */
#define OPTIONS_MAX_SSL_LIBS 16
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
	char web_config[OPTIONS_STR_MAX]; /* "" = plain HTTP, no authentication */
	char json_key[OPTIONS_STR_MAX];
	bool json, hex, quiet, verbose, debug;
	bool show_payload, show_secrets;
	bool daemon;
	bool force_clsact;
	bool top;                /* the live full-screen view */
	bool no_tls;             /* no TLS plaintext uprobes */
	char ssl_libs[OPTIONS_MAX_SSL_LIBS][OPTIONS_STR_MAX]; /* --ssl-lib: more files to probe */
	int n_ssl_libs;
	uint32_t ringbuf_kb;
	uint32_t wakeup_kb;
	uint32_t max_flows;
	uint32_t stats_secs;     /* print the summary every this many seconds; 0 = only at exit */
	uint64_t max_message;    /* message_too_big above this many bytes; 0 = no limit */
	uint32_t event_limit;    /* events printed a second per connection and kind; 0 = all */
	uint32_t event_burst;    /* and in a burst */
	/* --correlate, --correlate-reply: JSON keys followed across messages */
	char corr_keys[OPTIONS_MAX_CORR_KEYS][OPTIONS_STR_MAX];
	int n_corr_keys;
	char reply_keys[OPTIONS_MAX_CORR_KEYS][OPTIONS_STR_MAX];
	int n_reply_keys;
	uint32_t corr_window_secs;
	uint32_t corr_max_open;
	uint32_t corr_max_deliveries;
	bool corr_keys_from_cli, reply_keys_from_cli;
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

#define OPTIONS_DEFAULT_PORT 7272
#define OPTIONS_DEFAULT_RINGBUF_KB 8192
#define OPTIONS_WHOLE_PACKET_RINGBUF_KB 16384 /* snaplen 0 */

/* Far above what chat traffic makes (a few events a second per
 * connection), far below a flood of tiny frames (a million a second). */
#define OPTIONS_DEFAULT_EVENT_LIMIT 1000
#define OPTIONS_DEFAULT_EVENT_BURST 10000

/* 1/32 of the default ring buffer: wakes rarely, leaves room for bursts. */
#define OPTIONS_DEFAULT_WAKEUP_KB 256

enum option_type {
	OPTION_FLAG,   /* bool; on the command line present = true */
	OPTION_UINT,   /* an unsigned number between min and max */
	OPTION_SIZE,   /* a byte count, K, M, G suffixes allowed, up to max */
	OPTION_STRING, /* text of up to OPTIONS_STR_MAX - 1 bytes */
	OPTION_CUSTOM, /* parsed by the row's set function */
};

/* Row flags. */
#define OPTION_CLI_ONLY 0x1 /* not accepted in the config file */

struct option_def {
	const char *name;      /* long option and config-file key */
	int key;               /* short flag, or 0 */
	const char *arg;       /* argument name; NULL: a flag */
	enum option_type type;
	uint64_t min, max;     /* OPTION_UINT, OPTION_SIZE (min is 0) */
	uint64_t def;          /* default of a FLAG, UINT or SIZE row */
	const char *def_text;  /* the default in words when def does not say it */
	const char *zero;      /* what 0 means, when it means something else */
	size_t off, size;      /* the field in struct options; size 0: none */
	/* OPTION_CUSTOM: parses and stores; 0 or -EINVAL with err set. */
	int (*set)(struct options *o, const struct option_def *d, const char *value,
		   char *err, size_t errlen);
	const char *noun;      /* a bad value is "bad NOUN 'value'" */
	const char *unit;      /* of an OPTION_UINT's limits: "seconds" */
	const char *expect;    /* "expected ..." when not "MIN to MAX" */
	const char *help;      /* one sentence, no default nor limits */
	unsigned int flags;
};

extern const struct option_def options_table[];
extern const size_t options_count;

/* The row of a long name, or NULL. */
const struct option_def *options_find(const char *name);

/*
 * The help of a row with its default and limits, as --help and the man
 * page show it: "Payload bytes kept per packet (default 4096, 0 with
 * --daemon; 0 to 65536; 0 = whole packet)". Returns buf.
 */
char *options_help(const struct option_def *d, char *buf, size_t len);

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
