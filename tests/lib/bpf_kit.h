/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bpf_kit.h - what the BPF program tests share: the CI rule for missing
 * privileges and the kernel counters summed over CPUs. Include after
 * cmocka.h and the skeleton.
 */
#ifndef WST_TEST_BPF_KIT_H
#define WST_TEST_BPF_KIT_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "wstrace.h"

static inline bool kit_in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && !strcmp(ci, "true");
}

/*
 * The programs did not load: outside CI a non-root run skips, anything
 * else fails with the reason (under CI=true a skip is a failure).
 */
static inline void kit_no_kernel(const char *why)
{
	if (!kit_in_ci() && geteuid() != 0)
		skip();
	fail_msg("BPF programs did not load: %s", why ? why : "unknown error");
}

/*
 * Opens and loads the programs with the given snaplen and a 1 MiB ring
 * buffer, watches port, and makes a ring buffer reader that calls fn with
 * ctx. 0 or -errno (nothing left allocated).
 */
static inline int kit_load(struct wstrace_bpf **skelp, struct ring_buffer **rbp,
			   uint32_t snaplen, uint32_t port,
			   ring_buffer_sample_fn fn, void *ctx)
{
	struct wstrace_bpf *skel = wstrace_bpf__open();
	uint8_t on = 1;
	int err;

	*skelp = NULL;
	*rbp = NULL;
	if (!skel)
		return -errno;
	skel->rodata->snaplen = snaplen;
	bpf_map__set_max_entries(skel->maps.events, 1 << 20);
	err = wstrace_bpf__load(skel);
	if (!err)
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.ports), &port, &on, 0);
	if (!err) {
		*rbp = ring_buffer__new(bpf_map__fd(skel->maps.events), fn, ctx, NULL);
		if (!*rbp)
			err = errno ? -errno : -EINVAL;
	}
	if (err) {
		wstrace_bpf__destroy(skel);
		return err;
	}
	*skelp = skel;
	return 0;
}

/* The per-CPU counters map summed over CPUs. */
static inline void kit_counters(int map_fd, struct wst_counters *out)
{
	int ncpu = libbpf_num_possible_cpus(), i, j;
	struct wst_counters *pc;
	uint32_t key = 0;

	assert_true(ncpu > 0);
	pc = calloc((size_t)ncpu, sizeof(*pc));
	assert_non_null(pc);
	assert_int_equal(bpf_map_lookup_elem(map_fd, &key, pc), 0);
	memset(out, 0, sizeof(*out));
	for (i = 0; i < ncpu; i++)
		for (j = 0; j < WST_CNT_MAX; j++)
			out->v[j] += pc[i].v[j];
	free(pc);
}

#endif /* WST_TEST_BPF_KIT_H */
