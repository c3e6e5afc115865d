// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ifname.c - interface names by index, cached. */
#include <net/if.h>
#include <stdio.h>

#include "ifname.h"

/* Interface names rarely change; a small cache avoids an ioctl per packet. */
#define IFNAME_CACHE 64
static struct {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
} ifname_cache[IFNAME_CACHE];

const char *ifname_lookup(uint32_t ifindex)
{
	unsigned slot = ifindex % IFNAME_CACHE;

	if (ifindex == 0)
		return "-";
	if (ifname_cache[slot].ifindex != ifindex) {
		if (!if_indextoname(ifindex, ifname_cache[slot].name))
			snprintf(ifname_cache[slot].name, IF_NAMESIZE, "if%u", ifindex);
		ifname_cache[slot].ifindex = ifindex;
	}
	return ifname_cache[slot].name;
}
