// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpf_stats_hold.c - keeps the kernel's BPF run-time statistics on while it
 * runs (BPF_ENABLE_STATS, Linux 5.8+), for the benchmarks.
 *
 *   bpf_stats_hold    prints "ready=1", then waits for SIGTERM or SIGINT
 *
 * The statistics stay on while any such file descriptor is open, so runs
 * side by side do not switch them off under each other, as writing
 * kernel.bpf_stats_enabled back would. Exit 69 when the kernel has no
 * BPF_ENABLE_STATS (the caller falls back to the sysctl).
 */
#include <errno.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	union bpf_attr attr;
	sigset_t set;
	int fd, sig;

	memset(&attr, 0, sizeof(attr));
	attr.enable_stats.type = BPF_STATS_RUN_TIME;
	fd = (int)syscall(__NR_bpf, BPF_ENABLE_STATS, &attr, sizeof(attr));
	if (fd < 0) {
		fprintf(stderr, "bpf_stats_hold: BPF_ENABLE_STATS: %s\n", strerror(errno));
		return 69;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready=1\n");
	fflush(stdout);
	sigwait(&set, &sig);
	close(fd);
	return 0;
}
