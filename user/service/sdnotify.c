// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sdnotify.c - sd_notify(3) protocol without libsystemd. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sdnotify.h"

#define SDNOTIFY_MAX_STATE 4096

int sdnotify_send(const char *state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t len;
	size_t n, slen;
	ssize_t sent;
	int fd, err = 0;

	if (!path || !*path)
		return 0;
	if (!state || !*state)
		return -EINVAL;
	if (path[0] != '/' && path[0] != '@')
		return -EAFNOSUPPORT; /* "vsock:CID:PORT" and the like */
	n = strlen(path);
	if (n > sizeof(sun.sun_path) || (path[0] == '/' && n == sizeof(sun.sun_path)))
		return -EINVAL; /* a path also needs its NUL */
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract: length, not NUL, ends it */
	len = offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/');
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	slen = strlen(state);
	sent = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
	if (sent < 0)
		err = -errno;
	else if ((size_t)sent != slen)
		err = -EMSGSIZE;
	close(fd);
	return err;
}

int sdnotify_sendf(const char *fmt, ...)
{
	char buf[SDNOTIFY_MAX_STATE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EINVAL;
	return sdnotify_send(buf);
}

int sdnotify_reloading(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -errno;
	return sdnotify_sendf("RELOADING=1\nMONOTONIC_USEC=%llu",
			      (unsigned long long)ts.tv_sec * 1000000ULL +
			      (unsigned long long)ts.tv_nsec / 1000);
}

static int parse_u64(const char *s, unsigned long long *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

uint64_t sdnotify_watchdog_usec(void)
{
	const char *pid_s = getenv("WATCHDOG_PID");
	unsigned long long usec, pid;

	if (parse_u64(getenv("WATCHDOG_USEC"), &usec) || usec == 0)
		return 0;
	/* The watchdog may be meant for another process of the service. */
	if (pid_s && (parse_u64(pid_s, &pid) || pid != (unsigned long long)getpid()))
		return 0;
	return usec;
}
