// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* privs.c - capability dropping with the raw capget/capset interface. */
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* CAP_DAC_READ_SEARCH: open_by_handle_at() turns cgroup ids into paths */
static const int keep[] = { CAP_NET_ADMIN, CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH };

static int kept(int cap)
{
	for (unsigned i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (keep[i] == cap)
			return 1;
	return 0;
}

int privs_drop_to_capture(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	__u32 mask[2] = { 0, 0 };

	for (unsigned i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		mask[keep[i] / 32] |= 1u << (keep[i] % 32);
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	/* The bounding set first: dropping it needs CAP_SETPCAP, still held. */
	for (int cap = 0; cap <= 63; cap++) {
		if (kept(cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL && errno != EPERM)
			return -errno;
	}
	for (int i = 0; i < 2; i++) {
		data[i].effective &= mask[i];
		data[i].permitted &= mask[i];
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}
