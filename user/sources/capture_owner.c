// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * capture_owner.c - the socket owner programs (bpf/sock_owner.bpf.h): which
 * of them to load, attaching them, and the scan of the sockets that existed
 * at start. The syscall tracepoints cost only on accept/connect but need
 * tracefs to attach: when it is not mounted, it is mounted in a mount
 * namespace of wstrace's own, so the host's mounts stay as they were; if
 * that fails, tp_btf/sys_exit (x86_64) runs on every syscall exit instead.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"
#include "capture_internal.h"
#include "wstrace.skel.h"

static const char *const tp_progs[] = { "tp_exit_accept4", "tp_exit_accept", "tp_enter_connect",
					"tp_exit_connect" };
#define SYS_EXIT_PROG "btf_sys_exit"
#define ITER_PROG "iter_task_file"

static bool tracefs_ready(void)
{
	return access("/sys/kernel/tracing/events/syscalls/sys_exit_accept4/id", F_OK) == 0 ||
	       access("/sys/kernel/debug/tracing/events/syscalls/sys_exit_accept4/id", F_OK) == 0;
}

/* tracefs in a private mount namespace: the host's mount table is unchanged. */
static int tracefs_mount_private(void)
{
	if (unshare(CLONE_NEWNS))
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		return -errno;
	return tracefs_ready() ? 0 : -ENOENT;
}

static struct bpf_program *prog(const struct capture *c, const char *name)
{
	return bpf_object__find_program_by_name(c->skel->obj, name);
}

static void set_autoload(const struct capture *c, const char *name, bool on)
{
	struct bpf_program *p = prog(c, name);

	if (p)
		bpf_program__set_autoload(p, on);
}

void capture_owner_configure(struct capture *c, bool want)
{
	const char *force = getenv("WSTRACE_OWNER_HOOK"); /* tests: "sys_exit" */
	bool tp = false, sys_exit = false;
	int err;

	c->owner_mode = CAP_OWNER_OFF;
	if (want) {
		if (force && strcmp(force, "sys_exit") == 0) {
			sys_exit = true;
		} else if (tracefs_ready()) {
			tp = true;
		} else if ((err = tracefs_mount_private()) == 0) {
			tp = true;
		} else {
			pr_debug("cannot mount tracefs (%s): socket owners from tp_btf/sys_exit",
				 strerror(-err));
			sys_exit = true;
		}
		if (sys_exit && !prog(c, SYS_EXIT_PROG)) {
			pr_warn("no tracefs and no tp_btf/sys_exit program on this architecture: "
				"connections are not attributed to processes");
			sys_exit = false;
		}
		c->owner_mode = tp ? CAP_OWNER_TRACEPOINTS : sys_exit ? CAP_OWNER_SYS_EXIT : CAP_OWNER_OFF;
	}
	for (size_t i = 0; i < sizeof(tp_progs) / sizeof(tp_progs[0]); i++)
		set_autoload(c, tp_progs[i], tp);
	/* also with the tracepoints: the fallback should they not attach */
	set_autoload(c, SYS_EXIT_PROG, c->owner_mode != CAP_OWNER_OFF && prog(c, SYS_EXIT_PROG));
	set_autoload(c, ITER_PROG, c->owner_mode != CAP_OWNER_OFF);
}

/* Attaches the programs of the mode: 0 or -errno (nothing attached). */
static int attach_mode(struct capture *c)
{
	int n = 0, err = 0;

	if (c->owner_mode == CAP_OWNER_TRACEPOINTS) {
		for (size_t i = 0; i < sizeof(tp_progs) / sizeof(tp_progs[0]); i++)
			c->owner_links[n++] = bpf_program__attach(prog(c, tp_progs[i]));
	} else if (c->owner_mode == CAP_OWNER_SYS_EXIT) {
		c->owner_links[n++] = bpf_program__attach(prog(c, SYS_EXIT_PROG));
	}
	for (int i = 0; i < n && !err; i++)
		if (!c->owner_links[i])
			err = -errno;
	if (err)
		capture_owner_detach(c);
	return err;
}

int capture_owner_attach(struct capture *c)
{
	int err = attach_mode(c);

	if (err && c->owner_mode == CAP_OWNER_TRACEPOINTS && prog(c, SYS_EXIT_PROG)) {
		/* perf_event_open refused (a sandbox): the hook that needs only bpf() */
		pr_debug("cannot attach the syscall tracepoints (%s): socket owners from "
			 "tp_btf/sys_exit", strerror(-err));
		c->owner_mode = CAP_OWNER_SYS_EXIT;
		err = attach_mode(c);
	}
	if (err) {
		pr_warn("cannot attach the socket owner programs: %s; connections are not "
			"attributed to processes", strerror(-err));
		c->owner_mode = CAP_OWNER_OFF;
	}
	return 0; /* packets are still captured */
}

void capture_owner_detach(struct capture *c)
{
	for (size_t i = 0; i < sizeof(c->owner_links) / sizeof(c->owner_links[0]); i++) {
		bpf_link__destroy(c->owner_links[i]);
		c->owner_links[i] = NULL;
	}
}

bool capture_owners_on(const struct capture *c)
{
	return c && c->owner_mode != CAP_OWNER_OFF;
}

int capture_scan_owners(struct capture *c)
{
	const struct capture_reader *rd = &c->readers[WST_REC_SOCK_OWNER];
	struct bpf_link *link;
	struct wst_sock_rec r;
	int fd, n = 0;
	ssize_t got;

	if (!capture_owners_on(c) || !rd->fn)
		return 0;
	link = bpf_program__attach_iter(prog(c, ITER_PROG), NULL);
	if (!link) {
		pr_warn("cannot list the open sockets: %s; connections open before the start are "
			"not attributed", strerror(errno));
		return -errno;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		int err = -errno;

		pr_warn("cannot list the open sockets: %s", strerror(-err));
		bpf_link__destroy(link);
		return err;
	}
	/* fixed-size records: bpf_seq_write never splits one across reads */
	while ((got = read(fd, &r, sizeof(r))) == (ssize_t)sizeof(r)) {
		if (rd->fn(rd->ctx, &r, sizeof(r), c->mono_to_real_ns) < 0)
			c->bad_records++;
		n++;
	}
	if (got < 0)
		pr_warn("listing the open sockets stopped: %s", strerror(errno));
	close(fd);
	bpf_link__destroy(link);
	return n;
}
