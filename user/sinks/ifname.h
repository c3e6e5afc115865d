/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ifname.h - interface names for packet lines: a small cache by index,
 * since a name rarely changes and an ioctl per packet would cost more than
 * the line. Single-threaded.
 */
#ifndef WST_IFNAME_H
#define WST_IFNAME_H

#include <stdint.h>

/* The name of ifindex, "-" for 0, "ifN" if the kernel does not know it;
 * valid until the next call for another index of the same cache slot. */
const char *ifname_lookup(uint32_t ifindex);

#endif /* WST_IFNAME_H */
