// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Configuration file parser tests, on temporary files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "service/config.h"

#define MAX_PAIRS 32

struct seen {
	int n;
	char key[MAX_PAIRS][64];
	char value[MAX_PAIRS][CONFIG_MAX_LINE];
	unsigned int line[MAX_PAIRS];
};

/* Knows a few keys like main would; "snaplen" must be a number. */
static int collect(void *ctx, const char *key, const char *value,
		   unsigned int line)
{
	static const char *const known[] = {
		"interface", "port", "snaplen", "json", "metrics", "json-key",
		"show-payload", "write", "empty",
	};
	struct seen *s = ctx;
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(key, known[i]) == 0)
			break;
	if (i == sizeof(known) / sizeof(known[0]))
		return -ENOENT;
	if (strcmp(key, "snaplen") == 0 && strspn(value, "0123456789") != strlen(value))
		return -EINVAL;
	if (strcmp(key, "snaplen") == 0 && strlen(value) > 6)
		return -ERANGE;
	assert_true(s->n < MAX_PAIRS);
	snprintf(s->key[s->n], sizeof(s->key[0]), "%s", key);
	snprintf(s->value[s->n], sizeof(s->value[0]), "%s", value);
	s->line[s->n] = line;
	s->n++;
	return 0;
}

static char *write_temp(const void *text, size_t len)
{
	char *path = strdup("/tmp/wstrace-test-config.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static int parse_text(const char *text, struct seen *s, char *err, size_t errlen,
		      char **path_out)
{
	char *path = write_temp(text, strlen(text));
	int ret;

	memset(s, 0, sizeof(*s));
	ret = config_parse_file(path, collect, s, err, errlen);
	unlink(path);
	if (path_out)
		*path_out = path;
	else
		free(path);
	return ret;
}

static void test_valid_file(void **state)
{
	static const char text[] =
		"\xef\xbb\xbf# wstrace configuration\n"
		"\n"
		"interface = eth0\n"
		"   interface=lo   \n"
		"\t# indented comment\n"
		"port = 7272,8080\r\n"
		"json = true\n"
		"metrics\t=\t127.0.0.1:9272\n"
		"json-key = type # not a comment\n"
		"write = /var/lib/wstrace/a=b.pcap\n"
		"empty =\n"
		"   \t  \n"
		"snaplen = 4096"; /* no final newline */
	char err[256];
	struct seen s;

	(void)state;
	assert_int_equal(parse_text(text, &s, err, sizeof(err), NULL), 0);
	assert_string_equal(err, "");
	assert_int_equal(s.n, 9);
	assert_string_equal(s.key[0], "interface");
	assert_string_equal(s.value[0], "eth0");
	assert_int_equal(s.line[0], 3);
	assert_string_equal(s.key[1], "interface");
	assert_string_equal(s.value[1], "lo");
	assert_int_equal(s.line[1], 4);
	assert_string_equal(s.value[2], "7272,8080");
	assert_int_equal(s.line[2], 6);
	assert_string_equal(s.value[3], "true");
	assert_string_equal(s.key[4], "metrics");
	assert_string_equal(s.value[4], "127.0.0.1:9272");
	assert_string_equal(s.value[5], "type # not a comment");
	assert_string_equal(s.value[6], "/var/lib/wstrace/a=b.pcap");
	assert_string_equal(s.key[7], "empty");
	assert_string_equal(s.value[7], "");
	assert_string_equal(s.key[8], "snaplen");
	assert_string_equal(s.value[8], "4096");
	assert_int_equal(s.line[8], 13);
}

static void test_empty_file(void **state)
{
	char err[256];
	struct seen s;

	(void)state;
	assert_int_equal(parse_text("", &s, err, sizeof(err), NULL), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(parse_text("# only\n\n#comments\n", &s, err, sizeof(err),
				    NULL), 0);
	assert_int_equal(s.n, 0);
}

static void expect_error(const char *text, int want_ret, unsigned int line,
			 const char *msg, int pairs_before)
{
	char err[512], want[512];
	char *path;
	struct seen s;

	assert_int_equal(parse_text(text, &s, err, sizeof(err), &path), want_ret);
	snprintf(want, sizeof(want), "%s:%u: %s", path, line, msg);
	assert_string_equal(err, want);
	assert_int_equal(s.n, pairs_before);
	free(path);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("json = true\nnot a pair\n", -EINVAL, 2,
		     "expected \"key = value\"", 1);
	expect_error("\n\n= value\n", -EINVAL, 3, "expected \"key = value\"", 0);
	expect_error("bad key = 1\n", -EINVAL, 1, "invalid option name \"bad key\"", 0);
	expect_error("port = 1\ncolour = red\n", -EINVAL, 2,
		     "unknown option \"colour\"", 1);
	expect_error("snaplen = lots\n", -EINVAL, 1,
		     "invalid value \"lots\" for \"snaplen\"", 0);
	expect_error("snaplen = 99999999\n", -EINVAL, 1,
		     "value \"99999999\" out of range for \"snaplen\"", 0);
}

static void test_long_lines(void **state)
{
	char *text = malloc(CONFIG_MAX_LINE + 64);
	char err[512], want[512];
	struct seen s;
	char *path;
	size_t n;

	(void)state;
	assert_non_null(text);
	/* Exactly the longest line allowed: accepted. */
	strcpy(text, "write = ");
	n = strlen(text);
	memset(text + n, 'x', CONFIG_MAX_LINE - 1 - n);
	strcpy(text + CONFIG_MAX_LINE - 1, "\n");
	assert_int_equal(parse_text(text, &s, err, sizeof(err), NULL), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(strlen(s.value[0]), CONFIG_MAX_LINE - 1 - n);
	/* One more byte: rejected, also as a comment, also without '\n'. */
	memset(text, '#', CONFIG_MAX_LINE);
	text[CONFIG_MAX_LINE] = '\0';
	assert_int_equal(parse_text(text, &s, err, sizeof(err), &path), -EINVAL);
	snprintf(want, sizeof(want), "%s:1: line too long (over %d bytes)", path,
		 CONFIG_MAX_LINE - 1);
	assert_string_equal(err, want);
	free(path);
	free(text);
}

static void test_nul_byte(void **state)
{
	static const char text[] = "json = tr\0ue\n";
	char err[256];
	struct seen s;
	char *path = write_temp(text, sizeof(text) - 1);

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(config_parse_file(path, collect, &s, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, ":1: NUL byte in line"));
	assert_int_equal(s.n, 0);
	unlink(path);
	free(path);
}

static void test_missing_and_unreadable(void **state)
{
	char dir[] = "/tmp/wstrace-test-config.XXXXXX";
	char path[128], err[256];
	struct seen s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/absent.conf", dir);
	memset(&s, 0, sizeof(s));
	assert_int_equal(config_parse_file(path, collect, &s, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, path));
	/* A directory is an error, and not the "missing" one. */
	assert_int_equal(config_parse_file(dir, collect, &s, err, sizeof(err)),
			 -EISDIR);
	rmdir(dir);
}

static void test_too_large(void **state)
{
	size_t len = CONFIG_MAX_FILE + 1;
	char *text = malloc(len), err[256], *path;
	struct seen s;
	size_t i;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < len; i++)
		text[i] = (i % 64 == 63) ? '\n' : '#';
	path = write_temp(text, len);
	memset(&s, 0, sizeof(s));
	assert_int_equal(config_parse_file(path, collect, &s, err, sizeof(err)),
			 -EFBIG);
	/* At the limit it is read. */
	assert_int_equal(truncate(path, CONFIG_MAX_FILE), 0);
	assert_int_equal(config_parse_file(path, collect, &s, err, sizeof(err)), 0);
	unlink(path);
	free(path);
	free(text);
}

/* Every prefix of a valid file parses or fails cleanly, never crashes. */
static void test_every_truncation(void **state)
{
	static const char text[] = "# c\ninterface = lo\r\nport=1\n json-key = t\n";
	char err[256];
	struct seen s;
	size_t n;
	int ret;

	(void)state;
	for (n = 0; n <= sizeof(text) - 1; n++) {
		char *copy = malloc(n ? n : 1); /* exact size: ASan sees over-reads */

		assert_non_null(copy);
		memcpy(copy, text, n);
		memset(&s, 0, sizeof(s));
		ret = config_parse_buffer("mem", copy, n, collect, &s, err, sizeof(err));
		/* Cuts inside a key leave "interf" (unknown) or "json-k": errors. */
		assert_true(ret == 0 || ret == -EINVAL);
		if (ret == -EINVAL)
			assert_true(strncmp(err, "mem:", 4) == 0);
		free(copy);
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(config_parse_buffer("mem", text, sizeof(text) - 1, collect,
					     &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_file),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_missing_and_unreadable),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_every_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
