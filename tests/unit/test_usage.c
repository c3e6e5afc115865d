// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests: the option table and what is made from it, --help's limits,
 * the wstrace(8) man page, and the documentation that must list the same
 * options (README's option table, the shipped config file). Run from the
 * top of the tree.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "service/options.h"
#include "service/usage.h"

static char err[400];

static uint64_t stored(const struct options *o, const struct option_def *d)
{
	uint64_t v64 = 0;
	uint32_t v32 = 0;

	if (d->size == sizeof(uint64_t)) {
		memcpy(&v64, (const char *)o + d->off, sizeof(v64));
		return v64;
	}
	if (d->size == sizeof(uint32_t)) {
		memcpy(&v32, (const char *)o + d->off, sizeof(v32));
		return v32;
	}
	assert_int_equal(d->size, sizeof(bool));
	return *(const bool *)((const char *)o + d->off);
}

/* Names and flags unique, each row complete for its type. */
static void test_rows(void **state)
{
	struct options o;

	(void)state;
	assert_true(options_count >= 20);
	options_defaults(&o, false);
	for (size_t i = 0; i < options_count; i++) {
		const struct option_def *d = &options_table[i];

		assert_non_null(d->name);
		assert_int_equal(strspn(d->name, "abcdefghijklmnopqrstuvwxyz-"), strlen(d->name));
		assert_ptr_equal(options_find(d->name), d);
		assert_non_null(d->help);
		assert_true(d->help[0] >= 'A' && d->help[0] <= 'Z');
		assert_int_not_equal(d->help[strlen(d->help) - 1], '.');
		for (size_t j = 0; j < i; j++)
			assert_false(d->key && d->key == options_table[j].key);
		switch (d->type) {
		case OPTION_FLAG:
			assert_null(d->arg);
			assert_int_equal(d->size, sizeof(bool));
			assert_int_equal(stored(&o, d), d->def);
			break;
		case OPTION_UINT:
		case OPTION_SIZE:
			assert_non_null(d->arg);
			assert_non_null(d->noun);
			assert_true(d->min <= d->max);
			assert_int_equal(stored(&o, d), d->def);
			break;
		case OPTION_STRING:
			assert_non_null(d->arg);
			assert_true(d->size > 1);
			break;
		case OPTION_CUSTOM:
			assert_non_null(d->set);
			break;
		}
	}
	assert_null(options_find("no-such-option"));
}

/*
 * --help shows each number's limits as they are enforced: MIN and MAX are
 * accepted, one outside is not, with the message naming the option.
 */
static void test_limits(void **state)
{
	char help[600], want[64], value[32];
	struct options o;
	int checked = 0;

	(void)state;
	options_defaults(&o, false);
	assert_string_equal(options_help(options_find("snaplen"), help, sizeof(help)),
			    "Payload bytes kept per packet (default 0; 0 to 65536; 0 = whole packet)");
	assert_string_equal(options_help(options_find("json"), help, sizeof(help)),
			    "One JSON object per line instead of text");
	assert_non_null(strstr(options_help(options_find("max-message"), help, sizeof(help)),
			       "(default 16M; "));
	for (size_t i = 0; i < options_count; i++) {
		const struct option_def *d = &options_table[i];

		if (d->type != OPTION_UINT)
			continue;
		options_help(d, help, sizeof(help));
		if (d->max == UINT64_MAX)
			snprintf(want, sizeof(want), "at least %" PRIu64, d->min);
		else
			snprintf(want, sizeof(want), "%" PRIu64 " to %" PRIu64, d->min, d->max);
		if (!strstr(help, want))
			fail_msg("--%s: the help does not say '%s': %s", d->name, want, help);
		snprintf(value, sizeof(value), "%" PRIu64, d->min);
		assert_int_equal(options_apply(&o, d->name, value, err, sizeof(err)), 0);
		assert_int_equal(stored(&o, d), d->min);
		if (d->min > 0) {
			snprintf(value, sizeof(value), "%" PRIu64, d->min - 1);
			assert_int_equal(options_apply(&o, d->name, value, err, sizeof(err)), -EINVAL);
			assert_non_null(strstr(err, "bad "));
		}
		snprintf(value, sizeof(value), "%" PRIu64, d->max);
		assert_int_equal(options_apply(&o, d->name, value, err, sizeof(err)), 0);
		if (d->max < UINT64_MAX) {
			snprintf(value, sizeof(value), "%" PRIu64, d->max + 1);
			assert_int_equal(options_apply(&o, d->name, value, err, sizeof(err)), -EINVAL);
			assert_non_null(strstr(err, d->key ? (char[]){ '-', (char)d->key, ':', 0 } : d->name));
		}
		checked++;
	}
	assert_true(checked >= 8);
	/* The messages the command line has always given. */
	assert_int_equal(options_apply(&o, "snaplen", "70000", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "-s: bad snaplen '70000': expected 0 (whole packet) to 65536");
	assert_int_equal(options_apply(&o, "stats", "0", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--stats: bad interval '0': expected 1 to 86400 seconds");
	assert_int_equal(options_apply(&o, "ringbuf-kb", "1", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--ringbuf-kb: bad size '1': expected 4 to 1048576");
}

static char *man_page(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	usage_write_man(f, "1.2.3");
	assert_int_equal(fclose(f), 0);
	assert_true(len > 1000);
	return text;
}

static void test_man_lists_options(void **state)
{
	char *man = man_page(), want[96];

	(void)state;
	assert_non_null(strstr(man, ".TH WSTRACE 8 \"\" \"wstrace 1.2.3\""));
	for (size_t i = 0; i < options_count; i++) {
		const struct option_def *d = &options_table[i];

		if (d->key)
			snprintf(want, sizeof(want), ".TP\n\\fB\\-%c\\fR, \\fB\\%%\\-\\-%s\\fR", d->key, d->name);
		else
			snprintf(want, sizeof(want), ".TP\n\\fB\\%%\\-\\-%s\\fR", d->name);
		if (!strstr(man, want))
			fail_msg("the man page has no entry '%s'", want);
	}
	assert_non_null(strstr(man, ".SH EXIT STATUS\n.TP\n.B 0\n"));
	assert_non_null(strstr(man, ".B 77\n"));
	free(man);
}

/* groff (man's formatter) reads it without a warning. */
static void test_man_renders(void **state)
{
	char path[] = "/tmp/wstrace-man.XXXXXX", cmd[200], *man = man_page(), out[512];
	int fd = mkstemp(path), rc;
	size_t n;
	FILE *p;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, man, strlen(man)), (ssize_t)strlen(man));
	close(fd);
	free(man);
	if (system("command -v groff >/dev/null 2>&1") != 0) {
		unlink(path);
		print_message("groff is not installed (Debian: groff-base)\n");
		skip();
	}
	snprintf(cmd, sizeof(cmd), "groff -man -Tutf8 -ww -z %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	rc = pclose(p);
	unlink(path);
	if (rc != 0 || n != 0)
		fail_msg("groff -ww: status %d: %s", rc, out);
}

/* Calls fn for each line of path (from the top of the tree). */
static void each_line(const char *path, void (*fn)(const char *line, void *ctx), void *ctx)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		fail_msg("%s not found: run from the top of the tree", path);
	while (getline(&line, &cap, f) > 0)
		fn(line, ctx);
	free(line);
	fclose(f);
}

struct readme_options {
	bool in_section, seen[64];
	int rows;
};

/* The first cell of a row of README's "## Options" table: `-i IFACE`, `--json`, ... */
static void readme_row(const char *line, void *ctx)
{
	struct readme_options *r = ctx;
	const char *p, *end;

	if (!strncmp(line, "## ", 3))
		r->in_section = !strcmp(line, "## Options\n");
	if (!r->in_section || strncmp(line, "| `", 3))
		return;
	r->rows++;
	end = strstr(line + 1, " |");
	assert_non_null(end);
	for (p = strchr(line, '`'); p && p < end; p = strchr(strchr(p + 1, '`') + 1, '`')) {
		const struct option_def *d = NULL;
		size_t n = strcspn(p + 1, " `");
		char name[64];

		assert_true(n < sizeof(name) && n > 1 && p[1] == '-');
		memcpy(name, p + 1, n);
		name[n] = '\0';
		if (name[1] == '-') {
			d = options_find(name + 2);
		} else {
			assert_int_equal(n, 2);
			for (size_t i = 0; i < options_count; i++)
				if (options_table[i].key == name[1])
					d = &options_table[i];
		}
		if (!d)
			fail_msg("README documents %s, which is not an option", name);
		r->seen[d - options_table] = true;
	}
}

static void test_readme_options(void **state)
{
	struct readme_options r = { 0 };

	(void)state;
	assert_true(options_count <= sizeof(r.seen) / sizeof(r.seen[0]));
	each_line("README.md", readme_row, &r);
	assert_true(r.rows >= 20);
	for (size_t i = 0; i < options_count; i++)
		if (!r.seen[i])
			fail_msg("--%s is not in README's option table", options_table[i].name);
}

/* "#key = value" lines of the shipped config: each an option the file takes. */
static void config_key(const char *line, void *ctx)
{
	const struct option_def *d;
	size_t n = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz-");
	char key[64];

	if (line[0] != '#' || n == 0 || n >= sizeof(key) || strncmp(line + 1 + n, " =", 2))
		return;
	memcpy(key, line + 1, n);
	key[n] = '\0';
	d = options_find(key);
	if (!d || (d->flags & OPTION_CLI_ONLY))
		fail_msg("dist/wstrace.conf names '%s', not an option of the file", key);
	(*(int *)ctx)++;
}

static void test_shipped_config_keys(void **state)
{
	int keys = 0;

	(void)state;
	each_line("dist/wstrace.conf", config_key, &keys);
	assert_true(keys >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_man_lists_options),
		cmocka_unit_test(test_man_renders),
		cmocka_unit_test(test_readme_options),
		cmocka_unit_test(test_shipped_config_keys),
	};

	return cmocka_run_group_tests_name("usage", tests, NULL, NULL);
}
