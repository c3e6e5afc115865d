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
#define OPTIONS_MAX_SSL_LIBS 16

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
	/* Set by options_apply when a list option was given, so a later
	 * source (the command line) replaces the list instead of adding. */
	bool ifaces_from_cli;
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
