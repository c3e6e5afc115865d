/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * container_id.h - the container a cgroup v2 path names, as container
 * runtimes lay their cgroups out: docker (docker-<id>.scope under systemd,
 * /docker/<id> under cgroupfs), containerd and CRI-O under kubepods
 * (cri-containerd-<id>.scope, crio-<id>.scope, /kubepods/.../<id>), podman
 * (libpod-<id>.scope, /libpod_parent/libpod-<id>). An id is 64 hex digits.
 */
#ifndef WST_CONTAINER_ID_H
#define WST_CONTAINER_ID_H

#include <stddef.h>

#define CONTAINER_ID_LEN 64

/*
 * Copies the id of the innermost container the path names into out
 * (CONTAINER_ID_LEN + 1 bytes): 0, or -1 when it names none.
 */
int container_id_from_cgroup(const char *path, char out[CONTAINER_ID_LEN + 1]);

#endif /* WST_CONTAINER_ID_H */
