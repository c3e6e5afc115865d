// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * README.md against the code, so the documentation cannot drift: the event
 * list and the violation table are the X-macro tables (core/event.h,
 * core/kinds.h) in their order; the value lists of the fields and labels
 * that carry a kind are its table's labels (and `other` for a label); every
 * label value of the exposition is named; dist/wstrace.conf names metrics
 * that exist and the daemon's ring buffer default.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/event.h"
#include "core/kinds.h"
#include "protocol/ws_frame_codec.h"
#include "service/options.h"
#include "sinks/exporter.h"

#define MAX_LABELS 64

struct labels {
	const char *v[MAX_LABELS];
	int n;
};

/* A file of the tree (the tests run from its top), whole. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, n;

	if (!f)
		fail_msg("%s not found: run from the top of the tree", path);
	text = malloc(1 << 20);
	assert_non_null(text);
	while ((n = fread(text + len, 1, (1 << 20) - 1 - len, f)) > 0)
		len += n;
	fclose(f);
	text[len] = '\0';
	return text;
}

static void add(struct labels *l, const char *v)
{
	assert_true(l->n < MAX_LABELS);
	l->v[l->n++] = v;
}

/* The labels of the kind table `what` (wst_kind_tables). */
static struct labels table(const char *what)
{
	struct labels l = { .n = 0 };

	for (int t = 0; t < wst_n_kind_tables; t++) {
		if (strcmp(wst_kind_tables[t].what, what))
			continue;
		for (int i = 0; i < wst_kind_tables[t].n; i++)
			add(&l, wst_kind_tables[t].rows[i].label);
		return l;
	}
	fail_msg("no kind table %s", what);
	return l;
}

/* Every `word` between p and end, in order; the words point into a copy
 * the caller frees with free_words. */
static struct labels words(const char *p, const char *end)
{
	struct labels l = { .n = 0 };

	while (p < end && (p = memchr(p, '`', (size_t)(end - p)))) {
		const char *q = memchr(p + 1, '`', (size_t)(end - p - 1));

		if (!q)
			break;
		add(&l, strndup(p + 1, (size_t)(q - p - 1)));
		p = q + 1;
	}
	return l;
}

static void free_words(struct labels *l)
{
	for (int i = 0; i < l->n; i++)
		free((char *)l->v[i]);
}

static void same(const char *where, const struct labels *doc, const struct labels *code)
{
	for (int i = 0; i < doc->n || i < code->n; i++) {
		const char *d = i < doc->n ? doc->v[i] : "(nothing)";
		const char *c = i < code->n ? code->v[i] : "(nothing)";

		if (strcmp(d, c))
			fail_msg("%s: README.md has `%s` where the code has `%s` (item %d)", where, d, c, i + 1);
	}
}

/* The line of README.md that starts with `start`. */
static const char *line_of(const char *readme, const char *start)
{
	const char *p = readme;

	while ((p = strstr(p, start)) && p != readme && p[-1] != '\n')
		p++;
	if (!p)
		fail_msg("README.md has no line starting %s", start);
	return p;
}

/*
 * The words of the parenthesised list after `field (` on the README line
 * starting with `row`, e.g. row "| `tcp_closed` |", field "`reason`".
 */
static struct labels value_list(const char *readme, const char *row, const char *field)
{
	const char *line = line_of(readme, row), *eol = strchr(line, '\n'), *p, *close;
	char want[80];

	snprintf(want, sizeof(want), "%s (", field);
	p = strstr(line, want);
	if (!p || p > eol)
		fail_msg("README.md: no %s on the line %s", want, row);
	p += strlen(want);
	close = strchr(p, ')');
	assert_non_null(close);
	assert_true(close < eol);
	return words(p, close);
}

static void check_list(const char *readme, const char *row, const char *field, struct labels code,
		       const char *extra)
{
	struct labels doc = value_list(readme, row, field);
	char where[160];

	if (extra)
		add(&code, extra);
	snprintf(where, sizeof(where), "%s %s", row, field);
	same(where, &doc, &code);
	free_words(&doc);
}

/* The first cells of the rows of every table of the section `heading`
 * whose header is `header`, as words. */
static struct labels first_cells(const char *readme, const char *heading, const char *header)
{
	const char *p = strstr(readme, heading), *end;
	struct labels all = { .n = 0 };
	bool in = false;

	assert_non_null(p);
	end = strstr(p + strlen(heading), "\n#");
	if (!end)
		end = p + strlen(p);
	for (; p && p < end; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *eol = strchr(p, '\n'), *cell;
		struct labels w;

		if (strncmp(p, "| ", 2)) {
			in = false;
			continue;
		}
		if (!strncmp(p, header, strlen(header))) {
			in = true;
			continue;
		}
		if (!in || !strncmp(p, "| ---", 5))
			continue;
		cell = strstr(p + 2, " |");
		assert_true(cell && cell < eol);
		w = words(p + 2, cell);
		for (int i = 0; i < w.n; i++)
			add(&all, w.v[i]);
	}
	return all;
}

/* Labels are metric label values and JSON words: distinct, lower case,
 * documented. */
static void test_tables_well_formed(void **state)
{
	(void)state;
	assert_true(wst_n_kind_tables >= 8);
	for (int t = 0; t < wst_n_kind_tables; t++) {
		const struct wst_kind_table *k = &wst_kind_tables[t];

		assert_true(k->n > 0);
		for (int i = 0; i < k->n; i++) {
			const char *l = k->rows[i].label;

			if (!*l || strspn(l, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(l))
				fail_msg("%s label \"%s\" is not a lower-case word", k->what, l);
			if (!k->rows[i].doc || strlen(k->rows[i].doc) < 5)
				fail_msg("%s %s has no documentation", k->what, l);
			if (!strcmp(l, "other"))
				fail_msg("%s: `other` is the label of values outside a table", k->what);
			for (int j = 0; j < i; j++)
				if (!strcmp(l, k->rows[j].label))
					fail_msg("%s label %s twice", k->what, l);
		}
	}
	/* The name functions read the same rows. */
	assert_string_equal(wst_event_name(WST_EV_WS_RESYNC), "ws_resync");
	assert_string_equal(wst_event_name(WST_EV_MAX), "unknown");
	assert_string_equal(wst_flow_dir_name(WST_S2C), "s2c");
	assert_string_equal(wst_close_reason_name(WST_CLOSE_EVICTED), "evicted");
	assert_string_equal(wst_close_reason_name(WST_CLOSE_MAX), "unknown");
	assert_string_equal(wst_session_end_name(WST_END_ABNORMAL), "abnormal");
	assert_null(wst_initiator_name(WST_INITIATOR_NONE));
	assert_string_equal(wst_initiator_name(WST_INITIATOR_SERVER), "server");
	assert_string_equal(wst_accept_result_name(WST_ACCEPT_UNCHECKED), "unchecked");
	assert_string_equal(wst_gap_kind_name(WST_GAP_UNSYNCED_AT_END), "unsynced_at_end");
	assert_string_equal(ws_violation_name(WS_VIOL_DUPLICATE), "duplicate");
	assert_string_equal(ws_violation_name(WS_VIOL_NONE), "none");
	assert_string_equal(ws_opcode_name(WS_OP_CONT), "continuation");
	assert_null(ws_opcode_name(0x3));
	assert_int_equal(ws_opcode_index(0xb), WS_OPI_RESERVED);
	assert_int_equal(ws_opcode_index(WS_OP_PONG), WS_OPI_PONG);
}

/* The event tables of "JSON lines": every event, in the enum's order. */
static void test_events_documented(void **state)
{
	char *readme = read_file("README.md");
	struct labels doc = first_cells(readme, "### JSON lines", "| event |");
	struct labels code = table("event");

	(void)state;
	assert_int_equal(code.n, WST_EV_MAX);
	same("JSON event tables", &doc, &code);
	free_words(&doc);
	free(readme);
}

/* "Violation kinds": every kind in the enum's order, then `other`. */
static void test_violations_documented(void **state)
{
	char *readme = read_file("README.md");
	struct labels doc = first_cells(readme, "### Violation kinds", "| kind |");
	struct labels code = table("violation");

	(void)state;
	assert_int_equal(code.n, WS_VIOL_MAX - 1);
	add(&code, "other");
	same("violation table", &doc, &code);
	free_words(&doc);
	free(readme);
}

/* The value lists of the fields and labels that carry a kind. */
static void test_kind_values_documented(void **state)
{
	static const char *const opcodes[] = { WS_OPCODES(WS_OPCODE_LABEL) };
	struct labels ops = { .n = 0 };
	char *readme = read_file("README.md");

	(void)state;
	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++)
		add(&ops, opcodes[i]);
	/* JSON fields */
	check_list(readme, "| `tcp_closed` |", "`reason`", table("close reason"), NULL);
	check_list(readme, "| `ws_session_end` |", "`how`", table("session end"), NULL);
	check_list(readme, "| `ws_close` |", "`initiator`", table("initiator"), NULL);
	check_list(readme, "| `ws_established`, `ws_upgrade_failed` |", "`accept` on `ws_established`",
		   table("accept result"), NULL);
	check_list(readme, "| `ws_gap` |", "`kind`", table("gap kind"), NULL);
	check_list(readme, "| `tls_not_decrypted` |", "`reason`", table("tls reason"), NULL);
	check_list(readme, "| `ws_frame` |", "`opcode`", ops, NULL);
	/* Metric labels: a value outside the table counts as `other`. */
	check_list(readme, "| `tcp_connections_closed_total` |", "`reason`", table("close reason"), "other");
	check_list(readme, "| `ws_session_ends_total` |", "`how`", table("session end"), "other");
	check_list(readme, "| `ws_closes_total` |", "`initiator`", table("initiator"), NULL);
	check_list(readme, "| `tls_not_decrypted_total` |", "`reason`", table("tls reason"), NULL);
	check_list(readme, "| `ws_frames_total` |", "`opcode`", ops, "reserved");
	{
		struct labels gaps = table("gap kind"), losses = { .n = 0 };

		for (int i = WST_GAP_FIRST_DECODE_LOSS; i < WST_GAP_FIRST_DECODE_LOSS + WST_N_DECODE_LOSSES; i++)
			add(&losses, gaps.v[i]);
		check_list(readme, "| `ws_decode_losses_total` |", "`kind`", losses, "other");
	}
	free(readme);
}

/* The exposition of a fresh exporter, every fixed label set included. */
static char *exposition(void)
{
	struct exporter_opts o = { .json_key = "type", .version = "1.2.3" };
	struct exporter *e = NULL;
	char *t = NULL;
	size_t len;

	assert_int_equal(exporter_new(&e, &o), 0);
	assert_int_equal(exporter_render(e, &t, &len), 0);
	exporter_free(e);
	return t;
}

/*
 * Every label value a family can take is documented: the exposition holds
 * every series of the fixed label sets, and README must name each value
 * as `value` (the close codes 1000-1015 as the range `1000`…`1015`).
 */
static void test_labels_documented(void **state)
{
	char *t = exposition(), *readme = read_file("README.md"), *p;
	int checked = 0;

	(void)state;
	for (p = strstr(t, "=\""); p; p = strstr(p, "=\"")) {
		char value[160], want[164], *end;
		/* histogram buckets are not a label set of ours */
		bool le = p - t >= 3 && (!strncmp(p - 3, "{le", 3) || !strncmp(p - 3, ",le", 3));

		p += 2;
		end = strchr(p, '"');
		assert_non_null(end);
		assert_true((size_t)(end - p) < sizeof(value));
		memcpy(value, p, (size_t)(end - p));
		value[end - p] = '\0';
		p = end;
		if (le || !strcmp(value, "1.2.3") || (strlen(value) == 4 && !strncmp(value, "10", 2) &&
						 strcmp(value, "1000") && strcmp(value, "1015")))
			continue; /* the build version; close codes inside the documented range */
		snprintf(want, sizeof(want), "`%s`", value);
		if (!strstr(readme, want))
			fail_msg("label value %s is not documented in README.md", want);
		checked++;
	}
	assert_true(checked > 100);
	free(readme);
	free(t);
}

/*
 * dist/wstrace.conf: every metric it names exists, and the ring buffer
 * default it shows is the daemon's (whole packets: snaplen 0).
 */
static void test_config_file(void **state)
{
	char *conf = read_file("dist/wstrace.conf"), *t = exposition(), *p, want[96];
	int named = 0;

	(void)state;
	for (p = strstr(conf, "wstrace_"); p; p = strstr(p, "wstrace_")) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");

		assert_true(n + 8 < sizeof(want));
		snprintf(want, sizeof(want), "# TYPE %.*s ", (int)n, p);
		if (!strstr(t, want))
			fail_msg("dist/wstrace.conf names %.*s, which is no metric", (int)n, p);
		named++;
		p += n;
	}
	assert_true(named > 0);
	assert_non_null(strstr(conf, "\n#snaplen = 0\n"));
	snprintf(want, sizeof(want), "\n#ringbuf-kb = %u\n", OPTIONS_WHOLE_PACKET_RINGBUF_KB);
	if (!strstr(conf, want))
		fail_msg("dist/wstrace.conf does not show the daemon's ring buffer:%s", want);
	free(t);
	free(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_well_formed),
		cmocka_unit_test(test_events_documented),
		cmocka_unit_test(test_violations_documented),
		cmocka_unit_test(test_kind_values_documented),
		cmocka_unit_test(test_labels_documented),
		cmocka_unit_test(test_config_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
