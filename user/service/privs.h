/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* privs.h - keep only the capabilities capture still needs. */
#ifndef WST_PRIVS_H
#define WST_PRIVS_H

/*
 * After the programs are loaded and attached, drops every capability but
 * CAP_NET_ADMIN (attach to interfaces that come up later), CAP_BPF and
 * CAP_PERFMON (reload the programs when SIGHUP changes the interfaces),
 * CAP_DAC_READ_SEARCH (cgroup ids to paths, sources/cgroup_path.c),
 * from the effective, permitted, inheritable and bounding sets.
 * Returns 0, or -errno (nothing is dropped then).
 */
int privs_drop_to_capture(void);

#endif /* WST_PRIVS_H */
