// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cli.c - the settings of a run: argp for the command line, the config
 * file, and the order in which they apply.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "core/log.h"
#include "app.h"
#include "config.h"
#include "usage.h"

const char *argp_program_version = "wstrace " WSTRACE_VERSION;

/* Keys of the options without a short flag: OPT_LONG + their row. */
#define OPT_LONG 0x100
#define OPT_HELP_MAN 0x1ff /* past every row's */

static struct argp_option argp_opts[64];

static const struct option_def *row_of_key(int key)
{
	for (size_t i = 0; i < options_count; i++)
		if (options_table[i].key ? options_table[i].key == key : (int)(OPT_LONG + i) == key)
			return &options_table[i];
	return NULL;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	const struct option_def *d = row_of_key(key);
	char err[320];

	if (key == ARGP_KEY_ARG)
		argp_error(state, "unexpected argument '%s' (a filter expression is not supported; use -p)", arg);
	if (key == OPT_HELP_MAN) {
		usage_write_man(stdout, WSTRACE_VERSION);
		exit(fflush(stdout) ? EX_IOERR : 0);
	}
	if (!d)
		return ARGP_ERR_UNKNOWN;
	if (options_apply(state->input, d->name, arg, err, sizeof(err)))
		argp_error(state, "%s", err);
	return 0;
}

/* argp's options, made from options_table once; the help with its limits. */
static const struct argp *cli_argp(void)
{
	static char help[64][512];
	static struct argp argp = { argp_opts, parse_arg, NULL, NULL, NULL, NULL, NULL };
	size_t n = 0;

	if (argp.doc)
		return &argp;
	_Static_assert(sizeof(argp_opts) / sizeof(argp_opts[0]) == sizeof(help) / sizeof(help[0]),
		       "one help text per argp option");
	if (options_count + 2 > sizeof(argp_opts) / sizeof(argp_opts[0])) {
		pr_warn("internal error: more options than argp_opts holds");
		exit(EX_SOFTWARE);
	}
	for (; n < options_count; n++) {
		const struct option_def *d = &options_table[n];

		argp_opts[n] = (struct argp_option){
			.name = d->name,
			.key = d->key ? d->key : (int)(OPT_LONG + n),
			.arg = d->arg,
			.doc = options_help(d, help[n], sizeof(help[n])),
		};
	}
	/* The man page: for packagers, not listed. */
	argp_opts[n] = (struct argp_option){ .name = "help-man", .key = OPT_HELP_MAN, .flags = OPTION_HIDDEN,
					     .doc = "Print the wstrace(8) man page in roff" };
	argp.doc = usage_argp_doc();
	return &argp;
}

static int config_option(void *ctx, const char *key, const char *value, unsigned int line)
{
	const struct option_def *d;
	char err[320];
	int rc;

	(void)line;
	d = options_find(key);
	if (d && (d->flags & OPTION_CLI_ONLY))
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
	argp_parse(cli_argp(), argc, argv, 0, NULL, &cli);
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
	argp_parse(cli_argp(), argc, argv, 0, NULL, o);
	o->applying_cli = false;
	if (o->ports.n == 0)
		ports_add(&o->ports, OPTIONS_DEFAULT_PORT);
	/* Whole packets need room for bursts of 64 KiB records. */
	if (!o->ringbuf_kb)
		o->ringbuf_kb = o->snaplen ? OPTIONS_DEFAULT_RINGBUF_KB : OPTIONS_WHOLE_PACKET_RINGBUF_KB;
	if (o->top && (o->daemon || o->read_file[0] || o->json)) {
		snprintf(err, sizeof(err), "--top is a live view on a terminal: not with %s",
			 o->daemon ? "--daemon" : o->read_file[0] ? "-r" : "--json");
		if (why)
			snprintf(why, whylen, "%s", err);
		else
			pr_warn("%s", err);
		return EX_USAGE;
	}
	if (o->top)
		o->quiet = true; /* the screen is the output */
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

bool app_corr_changed(const struct options *a, const struct options *b)
{
	return a->n_corr_keys != b->n_corr_keys || a->n_reply_keys != b->n_reply_keys ||
	       memcmp(a->corr_keys, b->corr_keys, sizeof(a->corr_keys)) ||
	       memcmp(a->reply_keys, b->reply_keys, sizeof(a->reply_keys)) ||
	       a->corr_window_secs != b->corr_window_secs || a->corr_max_open != b->corr_max_open ||
	       a->corr_max_deliveries != b->corr_max_deliveries;
}
