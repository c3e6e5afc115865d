// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests: settings from the command line and the config file. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "service/config.h"
#include "service/options.h"

static char err[400];

static int apply(struct options *o, const char *name, const char *value)
{
	return options_apply(o, name, value, err, sizeof(err));
}

static void test_defaults(void **state)
{
	struct options o;

	(void)state;
	options_defaults(&o, false);
	assert_true(o.show_payload);
	assert_string_equal(o.metrics, "");
	assert_int_equal(o.snaplen, 0); /* every frame decoded */
	options_defaults(&o, true);
	assert_false(o.show_payload); /* privacy by default in the daemon */
	assert_int_equal(o.snaplen, 0);
	assert_string_equal(o.metrics, "127.0.0.1:9272");
}

static void test_flags(void **state)
{
	struct options o;

	(void)state;
	options_defaults(&o, false);
	assert_int_equal(apply(&o, "json", NULL), 0); /* command line: present = on */
	assert_true(o.json);
	assert_int_equal(apply(&o, "json", "false"), 0);
	assert_false(o.json);
	assert_int_equal(apply(&o, "show-secrets", "YES"), 0);
	assert_true(o.show_secrets);
	assert_int_equal(apply(&o, "clsact", "0"), 0);
	assert_false(o.force_clsact);
	assert_int_equal(apply(&o, "json", "maybe"), -EINVAL);
	assert_non_null(strstr(err, "maybe"));
	assert_int_equal(apply(&o, "no-payload", NULL), 0);
	assert_false(o.show_payload);
	assert_int_equal(apply(&o, "verbose", NULL), 0);
	assert_false(o.debug);
	assert_int_equal(apply(&o, "verbose", NULL), 0); /* -vv */
	assert_true(o.debug);
}

static void test_values(void **state)
{
	struct options o;

	(void)state;
	options_defaults(&o, false);
	assert_int_equal(apply(&o, "port", "7272,8080"), 0);
	assert_int_equal(o.ports.n, 2);
	assert_int_equal(apply(&o, "port", "x"), -EINVAL);
	assert_int_equal(apply(&o, "snaplen", "0"), 0);
	assert_int_equal(o.snaplen, 0);
	assert_int_equal(apply(&o, "snaplen", "65537"), -EINVAL);
	assert_int_equal(apply(&o, "snaplen", "-1"), -EINVAL);
	assert_int_equal(apply(&o, "count", "0"), -EINVAL);
	assert_int_equal(apply(&o, "count", "10"), 0);
	assert_int_equal(apply(&o, "ringbuf-kb", "3"), -EINVAL);
	assert_int_equal(apply(&o, "max-flows", "100"), 0);
	assert_int_equal(o.max_flows, 100);
	assert_int_equal(apply(&o, "stats", "0"), -EINVAL);
	assert_int_equal(apply(&o, "metrics", "9999"), 0);
	assert_string_equal(o.metrics, "9999");
	assert_int_equal(apply(&o, "metrics", "off"), 0);
	assert_string_equal(o.metrics, "");
	assert_int_equal(apply(&o, "json-key", "type"), 0);
	assert_string_equal(o.json_key, "type");
	assert_int_equal(o.max_message, 16u << 20);
	assert_int_equal(apply(&o, "max-message", "0"), 0); /* no limit */
	assert_int_equal(o.max_message, 0);
	assert_int_equal(apply(&o, "max-message", "1000"), 0);
	assert_int_equal(o.max_message, 1000);
	assert_int_equal(apply(&o, "max-message", "64K"), 0);
	assert_int_equal(o.max_message, 64 << 10);
	assert_int_equal(apply(&o, "max-message", "2g"), 0);
	assert_int_equal(o.max_message, 2ull << 30);
	assert_int_equal(apply(&o, "max-message", "9223372036854775807"), 0);
	assert_int_equal(apply(&o, "max-message", "9223372036854775808"), -EINVAL);
	assert_int_equal(apply(&o, "max-message", "8589934592G"), -EINVAL); /* 2^63 */
	assert_int_equal(apply(&o, "max-message", "16MB"), -EINVAL);
	assert_int_equal(apply(&o, "max-message", "M"), -EINVAL);
	assert_int_equal(apply(&o, "max-message", "-1"), -EINVAL);
	assert_int_equal(apply(&o, "max-message", ""), -EINVAL);
	assert_non_null(strstr(err, "--max-message"));
	assert_int_equal(o.event_limit, 1000);
	assert_int_equal(o.event_burst, 10000);
	assert_int_equal(apply(&o, "event-limit", "0"), 0); /* print all */
	assert_int_equal(o.event_limit, 0);
	assert_int_equal(apply(&o, "event-limit", "50"), 0);
	assert_int_equal(o.event_limit, 50);
	assert_int_equal(apply(&o, "event-limit", "lots"), -EINVAL);
	assert_non_null(strstr(err, "--event-limit"));
	assert_int_equal(apply(&o, "event-burst", "0"), -EINVAL);
	assert_int_equal(apply(&o, "event-burst", "200"), 0);
	assert_int_equal(o.event_burst, 200);
	assert_int_equal(apply(&o, "no-such-option", "1"), -ENOENT);
	assert_non_null(strstr(err, "no-such-option"));
}

static void test_interfaces_cli_replaces_file(void **state)
{
	struct options o;
	char name[32];

	(void)state;
	options_defaults(&o, true);
	assert_int_equal(apply(&o, "interface", "eth0"), 0); /* from the file */
	assert_int_equal(apply(&o, "interface", "eth1"), 0);
	assert_int_equal(o.n_ifaces, 2);
	o.applying_cli = true;
	assert_int_equal(apply(&o, "interface", "lo"), 0);  /* the command line wins */
	assert_int_equal(o.n_ifaces, 1);
	assert_string_equal(o.ifaces[0], "lo");
	assert_int_equal(apply(&o, "interface", "veth0"), 0);
	assert_int_equal(o.n_ifaces, 2);
	assert_int_equal(apply(&o, "interface", "a-name-longer-than-15"), -EINVAL);
	for (int i = o.n_ifaces; i < OPTIONS_MAX_IFACES; i++) {
		snprintf(name, sizeof(name), "if%d", i);
		assert_int_equal(apply(&o, "interface", name), 0);
	}
	assert_int_equal(apply(&o, "interface", "one-too-many"), -EINVAL);
}

static void test_correlate(void **state)
{
	struct options o;

	(void)state;
	options_defaults(&o, true);
	assert_int_equal(apply(&o, "correlate", "content"), 0); /* from the file */
	assert_int_equal(apply(&o, "correlate", "msg_id"), 0);
	assert_int_equal(apply(&o, "correlate-reply", "id"), 0);
	assert_int_equal(o.n_corr_keys, 2);
	o.applying_cli = true;
	assert_int_equal(apply(&o, "correlate", "text"), 0); /* the command line wins */
	assert_int_equal(o.n_corr_keys, 1);
	assert_string_equal(o.corr_keys[0], "text");
	assert_int_equal(o.n_reply_keys, 1); /* not given on the command line: kept */
	assert_string_equal(o.reply_keys[0], "id");
	assert_int_equal(apply(&o, "correlate", ""), -EINVAL);
	assert_non_null(strstr(err, "--correlate"));
	for (int i = o.n_corr_keys; i < OPTIONS_MAX_CORR_KEYS; i++)
		assert_int_equal(apply(&o, "correlate", "k"), 0);
	assert_int_equal(apply(&o, "correlate", "one-too-many"), -EINVAL);
	assert_int_equal(apply(&o, "correlate-window", "2"), 0);
	assert_int_equal(o.corr_window_secs, 2);
	assert_int_equal(apply(&o, "correlate-window", "0"), -EINVAL);
	assert_int_equal(apply(&o, "correlate-window", "3601"), -EINVAL);
	assert_int_equal(apply(&o, "correlate-max-open", "5"), 0);
	assert_int_equal(apply(&o, "correlate-max-deliveries", "7"), 0);
	assert_int_equal(o.corr_max_open, 5);
	assert_int_equal(o.corr_max_deliveries, 7);
	assert_int_equal(apply(&o, "correlate-max-open", "0"), -EINVAL);
}

static int from_file(void *ctx, const char *key, const char *value, unsigned int line)
{
	(void)line;
	return options_apply(ctx, key, value, err, sizeof(err)) == -ENOENT ? -ENOENT : 0;
}

/* The shipped configuration, every line uncommented, is accepted as is. */
static void test_shipped_config(void **state)
{
	static const char text[] =
		"interface = any\nport = 7272\nsnaplen = 4096\nmetrics = 127.0.0.1:9272\n"
		"json = false\njson-key = type\nshow-payload = false\nshow-secrets = false\n"
		"clsact = false\nringbuf-kb = 8192\nmax-flows = 65536\nmax-message = 16M\n"
		"event-limit = 1000\nevent-burst = 10000\nverbose = false\n"
		"correlate = content\ncorrelate-reply = id\ncorrelate-window = 10\n"
		"correlate-max-open = 10000\ncorrelate-max-deliveries = 10000\n";
	struct options o;
	char cerr[256];

	(void)state;
	options_defaults(&o, true);
	assert_int_equal(config_parse_buffer("test.conf", text, sizeof(text) - 1, from_file, &o,
					     cerr, sizeof(cerr)), 0);
	assert_int_equal(o.n_ifaces, 1);
	assert_string_equal(o.json_key, "type");
	assert_false(o.show_payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_interfaces_cli_replaces_file),
		cmocka_unit_test(test_correlate),
		cmocka_unit_test(test_shipped_config),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
