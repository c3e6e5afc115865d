/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cgroup_path.h - cgroup v2 id (bpf_get_current_cgroup_id()) to its path,
 * through a file handle on the cgroup2 mount (kernfs handles carry the id),
 * found in /proc/self/mountinfo: "/sys/fs/cgroup" on a unified host,
 * "/sys/fs/cgroup/unified" on a hybrid one. Needs CAP_DAC_READ_SEARCH.
 */
#ifndef WST_CGROUP_PATH_H
#define WST_CGROUP_PATH_H

#include <stddef.h>
#include <stdint.h>

struct cgroup_paths;

/* 0 or -errno (-ENOENT: no cgroup2 mount). */
int cgroup_paths_open(struct cgroup_paths **out);
/* Writes the path of id below the cgroup2 root ("/" for the root, "" when
 * unknown: a removed cgroup, or no mount). ctx is a struct cgroup_paths. */
void cgroup_paths_resolve(void *ctx, uint64_t id, char *buf, size_t len);
/* The cgroup2 mount point, or "" */
const char *cgroup_paths_mount(const struct cgroup_paths *cp);
void cgroup_paths_close(struct cgroup_paths *cp);

#endif /* WST_CGROUP_PATH_H */
