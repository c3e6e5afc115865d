// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgroup_path.c - cgroup v2 ids to paths (see cgroup_path.h): no directory
 * walk, one open_by_handle_at() per new id.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <sys/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_path.h"

#define FILEID_KERNFS 0xfe

struct cgroup_paths {
	int mnt_fd;
	char mnt[PATH_MAX];
};

/* The first cgroup2 mount point in /proc/self/mountinfo. */
static int find_mount(char *out, size_t n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], mnt[PATH_MAX];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS */
		const char *sep = strstr(line, " - ");

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strlen(mnt) < n) {
			strcpy(out, mnt);
			err = 0;
		}
	}
	fclose(f);
	return err;
}

/*
 * No cgroup2 mount here (`ip netns exec` mounts a sysfs of its own over
 * /sys, which hides /sys/fs/cgroup): one of our own, in a mount namespace
 * of this process, so the host's mounts are left alone.
 */
static int mount_private(char *out, size_t n)
{
	static const char dir[] = "/sys/fs/cgroup";

	if (unshare(CLONE_NEWNS))
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	if (mount("cgroup2", dir, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -errno;
	snprintf(out, n, "%s", dir);
	return 0;
}

int cgroup_paths_open(struct cgroup_paths **out)
{
	struct cgroup_paths *cp = calloc(1, sizeof(*cp));
	int err;

	*out = NULL;
	if (!cp)
		return -ENOMEM;
	err = find_mount(cp->mnt, sizeof(cp->mnt));
	if (err == -ENOENT)
		err = mount_private(cp->mnt, sizeof(cp->mnt));
	if (!err) {
		cp->mnt_fd = open(cp->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cp->mnt_fd < 0)
			err = -errno;
	}
	if (err) {
		free(cp);
		return err;
	}
	*out = cp;
	return 0;
}

void cgroup_paths_resolve(void *ctx, uint64_t id, char *buf, size_t len)
{
	struct cgroup_paths *cp = ctx;
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS } };
	char link[64], path[PATH_MAX];
	size_t ml;
	ssize_t k;
	int fd;

	if (len)
		buf[0] = 0;
	if (!cp || !len)
		return;
	h.id = id;
	fd = open_by_handle_at(cp->mnt_fd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	k = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (k <= 0)
		return;
	path[k] = 0;
	/* below the mount: the path users know */
	ml = strlen(cp->mnt);
	if (strncmp(path, cp->mnt, ml) == 0 && (path[ml] == '/' || path[ml] == 0))
		snprintf(buf, len, "%s", path[ml] ? path + ml : "/");
	else
		snprintf(buf, len, "%s", path);
}

const char *cgroup_paths_mount(const struct cgroup_paths *cp)
{
	return cp ? cp->mnt : "";
}

void cgroup_paths_close(struct cgroup_paths *cp)
{
	if (!cp)
		return;
	close(cp->mnt_fd);
	free(cp);
}
