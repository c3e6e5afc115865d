// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * container_id.c - the container id in a cgroup path (see container_id.h).
 */
#include <stdbool.h>
#include <string.h>

#include "container_id.h"

static bool hex64(const char *p, size_t n)
{
	if (n != CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/* The id in one path component: "<id>", "<prefix>-<id>" or either with ".scope". */
static bool component_id(const char *p, size_t n, const char **id)
{
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-",
						"containerd-", "" };

	if (n > 6 && memcmp(p + n - 6, ".scope", 6) == 0)
		n -= 6;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);

		if (n == pl + CONTAINER_ID_LEN && memcmp(p, prefixes[i], pl) == 0 &&
		    hex64(p + pl, CONTAINER_ID_LEN)) {
			*id = p + pl;
			return true;
		}
	}
	return false;
}

int container_id_from_cgroup(const char *path, char out[CONTAINER_ID_LEN + 1])
{
	const char *found = NULL, *p = path;

	if (!path)
		return -1;
	/* innermost wins: a container inside a pod slice, or nested */
	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *id;

		if (n && component_id(p, n, &id))
			found = id;
		p += n;
		if (*p == '/')
			p++;
	}
	if (!found)
		return -1;
	memcpy(out, found, CONTAINER_ID_LEN);
	out[CONTAINER_ID_LEN] = 0;
	return 0;
}
