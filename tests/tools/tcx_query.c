// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcx_query IFNAME - prints the BPF programs attached to IFNAME's tcx
 * ingress and egress hooks, one line per hook: "ingress N name...".
 * bpftool 7.1 does not list tcx attachments; tests use this instead.
 */
#include <bpf/bpf.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46
#define BPF_TCX_EGRESS 47
#endif

static void show(unsigned int ifindex, int type, const char *label)
{
	__u32 ids[64], cnt = 64, flags = 0;

	if (bpf_prog_query((int)ifindex, type, 0, &flags, ids, &cnt)) {
		printf("%s 0\n", label);
		return;
	}
	printf("%s %u", label, cnt);
	for (__u32 i = 0; i < cnt; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		memset(&info, 0, sizeof(info));
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			printf(" %s", info.name);
		if (fd >= 0)
			close(fd);
	}
	putchar('\n');
}

int main(int argc, char **argv)
{
	unsigned int ifindex;

	if (argc != 2 || !(ifindex = if_nametoindex(argv[1]))) {
		fprintf(stderr, "usage: tcx_query IFNAME\n");
		return 2;
	}
	show(ifindex, BPF_TCX_INGRESS, "ingress");
	show(ifindex, BPF_TCX_EGRESS, "egress");
	return 0;
}
