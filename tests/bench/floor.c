// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * floor.c - loads programs of floor.bpf.c for the benchmark, which reads
 * their run time from this process's program fds like wstrace's:
 *
 *   floor OBJ IFNAME PROG...   attaches each PROG (tc programs as tcx
 *                              ingress links on IFNAME, tracing programs to
 *                              their tracepoint), says "attached" on stderr,
 *                              drains the ring until SIGTERM or SIGINT
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46
#endif

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int discard(void *ctx, void *data, size_t size)
{
	(void)ctx, (void)data, (void)size;
	return 0;
}

static int wanted(const char *name, int argc, char **argv)
{
	for (int i = 3; i < argc; i++)
		if (!strcmp(name, argv[i]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	struct ring_buffer *rb;
	unsigned int ifindex;
	int n = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: floor OBJ IFNAME PROG...\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[2]);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!ifindex || !obj) {
		fprintf(stderr, "floor: no interface %s or no object %s\n", argv[2], argv[1]);
		return 1;
	}
	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, wanted(bpf_program__name(p), argc, argv));
	if (bpf_object__load(obj)) {
		fprintf(stderr, "floor: cannot load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(p, obj) {
		int ok;

		if (!wanted(bpf_program__name(p), argc, argv))
			continue;
		if (bpf_program__type(p) == BPF_PROG_TYPE_SCHED_CLS)
			ok = bpf_link_create(bpf_program__fd(p), (int)ifindex, BPF_TCX_INGRESS, NULL) >= 0;
		else
			ok = bpf_program__attach(p) != NULL;
		if (!ok) {
			fprintf(stderr, "floor: cannot attach %s: %s\n", bpf_program__name(p),
				strerror(errno));
			return 1;
		}
		n++;
	}
	if (n != argc - 3) {
		fprintf(stderr, "floor: %d of the %d programs named are in %s\n", n, argc - 3, argv[1]);
		return 1;
	}
	rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "floor_ring")),
			      discard, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "floor: no ring buffer: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fprintf(stderr, "attached\n");
	/* The records are never read: drained so that none is refused. */
	while (!stop) {
		ring_buffer__consume(rb);
		usleep(10000);
	}
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
