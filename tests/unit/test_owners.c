// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the connection owner table: both sides joined by 4-tuple,
 * processes told apart by start time (a reused pid), cgroup paths and
 * container ids through the resolver, the bound (least recently used
 * forgotten, counted), entries gone with their connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "session/owners.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int resolves;

static void fake_cgroup(void *ctx, uint64_t id, char *buf, size_t len)
{
	(void)ctx;
	resolves++;
	if (id == 100)
		snprintf(buf, len, "/system.slice/docker-" HEX ".scope");
	else if (id == 200)
		snprintf(buf, len, "/user.slice");
	else
		buf[0] = 0;
}

static struct wst_task task(uint32_t pid, uint64_t start, uint64_t cg, const char *comm)
{
	struct wst_task t = { .cgroup_id = cg, .start_ns = start, .tgid = pid, .tid = pid };

	strncpy(t.comm, comm, sizeof(t.comm));
	return t;
}

static struct wst_tuple tuple(uint16_t lport, uint16_t rport)
{
	struct wst_tuple t = { .lport = lport, .rport = rport, .family = 4 };

	t.laddr[0] = 127, t.laddr[3] = 1;
	t.raddr[0] = 127, t.raddr[3] = 1;
	return t;
}

static void test_join_both_sides(void **state)
{
	struct owners *o = owners_new(16, fake_cgroup, NULL);
	struct wst_tuple srv = tuple(7272, 40000), cli = tuple(40000, 7272);
	struct wst_task ts = task(10, 1000, 100, "python3"), tc = task(20, 2000, 200, "curl");
	struct flow_key ks, kc;
	struct wst_attrib a;

	(void)state;
	assert_non_null(o);
	owners_key_from_tuple(&srv, OWNER_SERVER, &ks);
	owners_key_from_tuple(&cli, OWNER_CLIENT, &kc);
	assert_memory_equal(&ks, &kc, sizeof(ks)); /* both sockets name one connection */
	assert_false(owners_lookup(o, &ks, &a));
	assert_int_equal(owners_add(o, &ks, OWNER_SERVER, &ts), 0);
	assert_int_equal(owners_add(o, &kc, OWNER_CLIENT, &tc), 0);
	assert_true(owners_lookup(o, &ks, &a));
	assert_int_equal(a.server->pid, 10);
	assert_string_equal(a.server->comm, "python3");
	assert_string_equal(a.server->cgroup, "/system.slice/docker-" HEX ".scope");
	assert_string_equal(a.server->container, HEX);
	assert_int_equal(a.client->pid, 20);
	assert_string_equal(a.client->cgroup, "/user.slice");
	assert_null(a.client->container);
	assert_null(a.forwarded_for);
	assert_int_equal(owners_set_forwarded(o, &ks, "203.0.113.7"), 0);
	assert_true(owners_lookup(o, &ks, &a));
	assert_string_equal(a.forwarded_for, "203.0.113.7");
	assert_int_equal(owners_stats(o).procs, 2);
	owners_forget(o, &ks);
	assert_false(owners_lookup(o, &ks, &a));
	assert_int_equal(owners_stats(o).conns, 0);
	assert_int_equal(owners_stats(o).procs, 0); /* processes go with their last connection */
	owners_free(o);
}

static void test_pid_reuse_and_sharing(void **state)
{
	struct owners *o = owners_new(16, fake_cgroup, NULL);
	struct wst_tuple t1 = tuple(7272, 40001), t2 = tuple(7272, 40002);
	struct wst_task old = task(10, 1000, 100, "python3"), reused = task(10, 5000, 200, "bash");
	struct flow_key k1, k2;
	struct wst_attrib a;

	(void)state;
	owners_key_from_tuple(&t1, OWNER_SERVER, &k1);
	owners_key_from_tuple(&t2, OWNER_SERVER, &k2);
	resolves = 0;
	assert_int_equal(owners_add(o, &k1, OWNER_SERVER, &old), 0);
	assert_int_equal(owners_add(o, &k2, OWNER_SERVER, &old), 0);
	assert_int_equal(owners_stats(o).procs, 1);
	assert_int_equal(resolves, 1); /* one cgroup lookup per process */
	/* the same pid, started later: another process */
	assert_int_equal(owners_add(o, &k2, OWNER_SERVER, &reused), 0);
	assert_int_equal(owners_stats(o).procs, 2);
	assert_true(owners_lookup(o, &k1, &a));
	assert_string_equal(a.server->comm, "python3");
	assert_true(owners_lookup(o, &k2, &a));
	assert_string_equal(a.server->comm, "bash");
	assert_int_equal(a.server->start_ns, 5000);
	owners_free(o);
}

static void test_bound(void **state)
{
	struct owners *o = owners_new(4, NULL, NULL);
	struct wst_task t = task(10, 1000, 100, "python3");
	struct flow_key k[6];
	struct wst_attrib a;

	(void)state;
	for (int i = 0; i < 6; i++) {
		struct wst_tuple tp = tuple(7272, (uint16_t)(50000 + i));

		owners_key_from_tuple(&tp, OWNER_SERVER, &k[i]);
		if (i == 4)
			assert_true(owners_lookup(o, &k[0], &a)); /* in use: k[1] is the oldest now */
		assert_int_equal(owners_add(o, &k[i], OWNER_SERVER, &t), 0);
	}
	assert_int_equal(owners_stats(o).conns, 4);
	assert_int_equal(owners_stats(o).evicted, 2);
	assert_false(owners_has_server(o, &k[1]));
	assert_false(owners_has_server(o, &k[2]));
	assert_true(owners_has_server(o, &k[0]));
	assert_true(owners_lookup(o, &k[5], &a));
	assert_string_equal(a.server->cgroup, ""); /* no resolver */
	owners_free(o);
}

/* A connection left out by the filters stays so until it is forgotten (a
 * new connection on its tuple starts clean). */
static void test_filtered(void **state)
{
	struct owners *o = owners_new(4, NULL, NULL);
	struct wst_task t = task(10, 1000, 100, "python3");
	struct wst_tuple tp = tuple(7272, 40000);
	struct flow_key k;

	(void)state;
	owners_key_from_tuple(&tp, OWNER_SERVER, &k);
	assert_false(owners_filtered(o, &k));
	assert_int_equal(owners_add(o, &k, OWNER_SERVER, &t), 0);
	assert_false(owners_filtered(o, &k));
	assert_int_equal(owners_set_filtered(o, &k), 0);
	assert_true(owners_filtered(o, &k));
	assert_true(owners_has_server(o, &k));
	owners_forget(o, &k);
	assert_false(owners_filtered(o, &k));
	assert_int_equal(owners_add(o, &k, OWNER_SERVER, &t), 0);
	assert_false(owners_filtered(o, &k));
	owners_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_both_sides),
		cmocka_unit_test(test_pid_reuse_and_sharing),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_filtered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
