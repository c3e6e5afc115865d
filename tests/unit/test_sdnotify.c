// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sd_notify protocol tests against real AF_UNIX datagram sockets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "service/sdnotify.h"

struct sock {
	int fd;
	char dir[64];
	char name[128]; /* what NOTIFY_SOCKET says */
};

/* Binds a datagram socket: in a fresh temp dir, or abstract. */
static void sock_open(struct sock *s, int abstract)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	if (abstract) {
		snprintf(s->name, sizeof(s->name), "@wstrace-test-notify-%d-%ld",
			 (int)getpid(), (long)random());
		memcpy(sun.sun_path + 1, s->name + 1, strlen(s->name) - 1);
		len = offsetof(struct sockaddr_un, sun_path) + strlen(s->name);
	} else {
		strcpy(s->dir, "/tmp/wstrace-test-notify.XXXXXX");
		assert_non_null(mkdtemp(s->dir));
		snprintf(s->name, sizeof(s->name), "%s/notify", s->dir);
		strcpy(sun.sun_path, s->name);
		len = sizeof(sun);
	}
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sun, len), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", s->name, 1), 0);
}

static void sock_close(struct sock *s)
{
	close(s->fd);
	if (s->dir[0]) {
		unlink(s->name);
		rmdir(s->dir);
	}
	unsetenv("NOTIFY_SOCKET");
}

static void expect_msg(struct sock *s, const char *want)
{
	char buf[8192];
	ssize_t n = recv(s->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_unset_is_noop(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdnotify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(sdnotify_send("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
}

static void test_path_socket(void **state)
{
	struct sock s;

	(void)state;
	sock_open(&s, 0);
	assert_int_equal(sdnotify_send("READY=1"), 0);
	expect_msg(&s, "READY=1");
	assert_int_equal(sdnotify_send("STATUS=watching lo\nWATCHDOG=1"), 0);
	expect_msg(&s, "STATUS=watching lo\nWATCHDOG=1");
	assert_int_equal(sdnotify_sendf("STATUS=%d flows", 42), 0);
	expect_msg(&s, "STATUS=42 flows");
	assert_int_equal(sdnotify_send(""), -EINVAL);
	assert_int_equal(sdnotify_send(NULL), -EINVAL);
	sock_close(&s);
}

static void test_abstract_socket(void **state)
{
	struct sock s;

	(void)state;
	sock_open(&s, 1);
	assert_int_equal(sdnotify_send("STOPPING=1"), 0);
	expect_msg(&s, "STOPPING=1");
	sock_close(&s);
}

static void test_reloading(void **state)
{
	unsigned long long usec, now;
	struct timespec ts;
	char buf[256];
	struct sock s;
	ssize_t n;

	(void)state;
	sock_open(&s, 0);
	assert_int_equal(sdnotify_reloading(), 0);
	n = recv(s.fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec), 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
	assert_true(usec <= now && now - usec < 10000000ULL);
	sock_close(&s);
}

static void test_errors(void **state)
{
	char longpath[200];
	char dir[] = "/tmp/wstrace-test-notify.XXXXXX";
	char path[128];

	(void)state;
	setenv("NOTIFY_SOCKET", "relative/sock", 1);
	assert_int_equal(sdnotify_send("READY=1"), -EAFNOSUPPORT);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	assert_int_equal(sdnotify_send("READY=1"), -EAFNOSUPPORT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	assert_int_equal(sdnotify_send("READY=1"), -EINVAL);
	longpath[108] = '\0'; /* exactly sun_path: no room for the NUL */
	setenv("NOTIFY_SOCKET", longpath, 1);
	assert_int_equal(sdnotify_send("READY=1"), -EINVAL);
	/* Nobody listening: the error comes back. */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none", dir);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sdnotify_send("READY=1"), -ENOENT);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog(void **state)
{
	char pid[32];

	(void)state;
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sdnotify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_PID", "x", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "12abc", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "-5", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "0", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unset_is_noop),
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_reloading),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_watchdog),
	};

	srandom(time(NULL) ^ getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
