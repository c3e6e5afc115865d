// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * capture.c - loads the TC capture programs, attaches them, consumes the
 * ring buffer.
 *
 * Attach modes: a tcx link (Linux 6.6+) per interface and direction, which
 * goes away with its fd; otherwise a clsact qdisc with direct-action
 * filters at wstrace's priority, under a handle this process claims (see
 * clsact.h), so that the filters of a killed run, and only those, are found
 * and removed at start. On loopback a packet crosses egress and then
 * ingress, so only ingress is attached there. A reload changes attachments
 * make-before-break with the same programs, ring buffer and counters.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"
#include "capture.h"
#include "clsact.h"
#include "wstrace.skel.h"

/* Not in older uapi headers. */
#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46
#define BPF_TCX_EGRESS 47
#endif

#define CAP_PRIV_HINT "run as root or grant CAP_BPF and CAP_NET_ADMIN"
/* How long to wait for another wstrace's clsact change. */
#define CAP_LOCK_WAIT_MS 5000
/* Filters looked at per clsact qdisc. */
#define CAP_MAX_FILTERS 128

enum { CAP_IN, CAP_OUT, CAP_NDIR };

struct cap_iface {
	int ifindex;
	char name[IF_NAMESIZE];
	bool loopback;         /* ingress only */
	int link_fd[CAP_NDIR]; /* tcx links, -1 if none */
	bool filter[CAP_NDIR]; /* our clsact filters */
	bool qdisc_ours;       /* a wstrace qdisc: remove it once it holds no filter */
	/* capture_reconfigure: in the new settings, added by them, attached in the new mode */
	bool wanted, fresh, hooked_new;
};

struct capture {
	struct wstrace_bpf *skel;
	struct ring_buffer *rb;
	capture_packet_fn fn;
	void *ctx;
	int64_t mono_to_real_ns;
	uint64_t bad_records;
	bool any;
	bool batched; /* wakeup_bytes set: records may wait without a wakeup */
	bool clsact;  /* attached with clsact filters: forced, or tcx missing */
	bool no_tcx;  /* the kernel refused a tcx link */
	int nl_fd;
	int claim_fd;       /* holds tc_handle (clsact.h), -1 until clsact is used */
	uint32_t tc_handle;
	int sync_inner_fd;  /* stored into the sync_rcu map to wait for programs */
	int *parked;        /* ifindexes of emptied qdiscs of ours (cap_park) */
	int n_parked;
	struct cap_iface *ifs;
	int n_ifs, cap_ifs;
	uint8_t watched[65536];
};

static int cap_libbpf_print(enum libbpf_print_level level, const char *fmt,
			    va_list ap)
{
	/* libbpf (and the verifier log) only at debug verbosity. */
	if (wst_log_verbosity < WST_LOG_DEBUG)
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static int64_t cap_ts(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC, read between two monotonic samples. */
static int64_t cap_mono_to_real(void)
{
	int64_t m1 = cap_ts(CLOCK_MONOTONIC);
	int64_t r = cap_ts(CLOCK_REALTIME);
	int64_t m2 = cap_ts(CLOCK_MONOTONIC);

	return r - (m1 + (m2 - m1) / 2);
}

static int cap_on_record(void *ctx, void *data, size_t size)
{
	struct capture *c = ctx;
	struct wst_packet pkt;

	if (capture_parse_record(data, size, c->mono_to_real_ns, &pkt) < 0) {
		c->bad_records++;
		return 0;
	}
	c->fn(c->ctx, &pkt);
	return 0;
}

static const char *cap_err_hint(int err)
{
	if (err == -EPERM || (err == -EACCES && geteuid() != 0))
		return "; " CAP_PRIV_HINT;
	return "";
}

/* Explains a load failure with the fix for the common causes. */
static void cap_report_load_error(int err)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0 && errno == ENOENT) {
		pr_warn("failed to load BPF programs: %s; the kernel has no BTF "
			"(/sys/kernel/btf/vmlinux missing): use a kernel built "
			"with CONFIG_DEBUG_INFO_BTF=y", strerror(-err));
		return;
	}
	if (err == -EPERM || geteuid() != 0) {
		pr_warn("failed to load BPF programs: %s; " CAP_PRIV_HINT,
			strerror(-err));
		return;
	}
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 0) {
		pr_warn("failed to load BPF programs: %s; the kernel has no BPF "
			"ring buffer (needs Linux 5.8 or later)", strerror(-err));
		return;
	}
	pr_warn("failed to load BPF programs: %s (the verifier log is shown "
		"at debug verbosity)", strerror(-err));
}

static int cap_prog_fd(const struct capture *c, bool cls, int dir)
{
	const struct wstrace_bpf *s = c->skel;

	if (cls)
		return bpf_program__fd(dir == CAP_IN ? s->progs.cls_ingress : s->progs.cls_egress);
	return bpf_program__fd(dir == CAP_IN ? s->progs.tc_ingress : s->progs.tc_egress);
}

static int cap_ndir(const struct cap_iface *ifc)
{
	return ifc->loopback ? 1 : CAP_NDIR;
}

/* Stores one of the mode words the programs read (see bpf/handoff.bpf.h). */
static void cap_set(volatile __u32 *word, __u32 v)
{
	__atomic_store_n(word, v, __ATOMIC_SEQ_CST);
}

/* Returns once every BPF program that was running has finished. */
static int cap_sync_rcu(struct capture *c)
{
	uint32_t key = 0;

	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.sync_rcu), &key, &c->sync_inner_fd, BPF_ANY))
		return -errno;
	return 0;
}

/* Past the first wait of a switch, which worked: should one fail, say so. */
static void cap_sync_rcu_or_warn(struct capture *c)
{
	int err = cap_sync_rcu(c);

	if (err)
		pr_warn("cannot wait for running programs (%s): a packet in flight during "
			"this switch may be counted twice", strerror(-err));
}

static void cap_tc_hook(struct bpf_tc_hook *hook, int ifindex, int dir)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = dir == CAP_IN ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

static int cap_tc_detach(int ifindex, int dir, uint32_t handle)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = CLSACT_PRIO);
	struct bpf_tc_hook hook;

	cap_tc_hook(&hook, ifindex, dir);
	return bpf_tc_detach(&hook, &opts);
}

static void cap_qdisc_destroy(int ifindex)
{
	struct bpf_tc_hook hook;

	cap_tc_hook(&hook, ifindex, CAP_IN);
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	bpf_tc_hook_destroy(&hook);
}

/* Filters on both hooks of ifindex's clsact qdisc: count or -errno. */
static int cap_qdisc_filters(int ifindex, struct clsact_filter *f, int max)
{
	int n_in, n_out;

	n_in = clsact_filters(ifindex, true, f, max);
	if (n_in < 0)
		return n_in;
	n_out = clsact_filters(ifindex, false, f + n_in, max - n_in);
	return n_out < 0 ? n_out : n_in + n_out;
}

/*
 * Takes the namespace-wide clsact lock: its fd, or -1 when another process
 * kept it too long (then going on is better than not capturing).
 */
static int cap_lock(void)
{
	int fd = clsact_lock(CAP_LOCK_WAIT_MS);

	if (fd == -ETIMEDOUT)
		pr_warn("clsact lock held elsewhere for %d s (a stopped wstrace?): going on without it",
			CAP_LOCK_WAIT_MS / 1000);
	else if (fd < 0)
		pr_warn("cannot take the clsact lock: %s; going on without it", strerror(-fd));
	return fd;
}

static void cap_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/*
 * Adding or removing a clsact qdisc on a device that is up stops its
 * transmit queue for a moment (the kernel's dev_deactivate()), dropping
 * what is sent meanwhile. So a qdisc of ours that a reload empties is kept
 * ("parked") until exit, when it is removed if it is still empty; an
 * attach to that device adopts it again.
 */
static void cap_park(struct capture *c, int ifindex)
{
	int i, *p;

	for (i = 0; i < c->n_parked; i++)
		if (c->parked[i] == ifindex)
			return;
	p = realloc(c->parked, (c->n_parked + 1) * sizeof(*p));
	if (!p) {
		cap_qdisc_destroy(ifindex); /* better a blip now than a qdisc left */
		return;
	}
	c->parked = p;
	c->parked[c->n_parked++] = ifindex;
}

/* Takes ifindex off the parked list: true if it was there. */
static bool cap_unpark(struct capture *c, int ifindex)
{
	int i;

	for (i = 0; i < c->n_parked; i++) {
		if (c->parked[i] == ifindex) {
			c->parked[i] = c->parked[--c->n_parked];
			return true;
		}
	}
	return false;
}

/* Removes the parked qdiscs that hold no filter now. */
static void cap_destroy_parked(struct capture *c)
{
	struct clsact_filter f[CAP_MAX_FILTERS];
	char name[IF_NAMESIZE];
	int i, lock;

	if (!c->n_parked)
		return;
	lock = cap_lock();
	for (i = 0; i < c->n_parked; i++) {
		if (cap_qdisc_filters(c->parked[i], f, CAP_MAX_FILTERS) != 0)
			continue;
		cap_qdisc_destroy(c->parked[i]);
		if (if_indextoname(c->parked[i], name))
			pr_info("removed the empty clsact qdisc on %s", name);
	}
	c->n_parked = 0;
	cap_unlock(lock);
}

/*
 * Removes the wstrace filters whose owner is gone, on every device of the
 * namespace and whatever mode this run uses; a clsact qdisc left holding
 * none but them is parked (removed after the attach, unless this run uses
 * it). Called at start; a live instance's filters are never touched.
 */
static void cap_remove_orphans(struct capture *c)
{
	struct clsact_filter f[CAP_MAX_FILTERS];
	char name[IF_NAMESIZE];
	int *ifs = NULL, n_ifs, i, j, n, lock;

	lock = cap_lock();
	n_ifs = clsact_qdiscs(&ifs);
	if (n_ifs < 0)
		pr_debug("cannot list clsact qdiscs: %s", strerror(-n_ifs));
	for (i = 0; i < n_ifs; i++) {
		int removed = 0, kept = 0, dir;

		for (dir = 0; dir < CAP_NDIR; dir++) {
			n = clsact_filters(ifs[i], dir == CAP_IN, f, CAP_MAX_FILTERS);
			for (j = 0; j < n; j++) {
				if (clsact_is_wstrace(&f[j]) && !clsact_claimed(f[j].handle) &&
				    cap_tc_detach(ifs[i], dir, f[j].handle) == 0)
					removed++;
				else
					kept++;
			}
		}
		if (!removed)
			continue;
		if (!if_indextoname(ifs[i], name))
			snprintf(name, sizeof(name), "%d", ifs[i]);
		pr_info("removed %d stale filter%s on %s (left by a wstrace that is gone)", removed,
			removed > 1 ? "s" : "", name);
		/* Left holding only our orphans: the qdisc was a wstrace one. */
		if (!kept)
			cap_park(c, ifs[i]);
	}
	free(ifs);
	cap_unlock(lock);
}

/* Removes our filters; a qdisc of ours left empty goes, or is parked. */
static void cap_cls_detach(struct capture *c, struct cap_iface *ifc, bool park)
{
	struct clsact_filter f[CAP_MAX_FILTERS];
	int dir, lock;

	if (!ifc->filter[CAP_IN] && !ifc->filter[CAP_OUT] && !ifc->qdisc_ours)
		return;
	lock = cap_lock();
	for (dir = 0; dir < CAP_NDIR; dir++) {
		if (ifc->filter[dir])
			cap_tc_detach(ifc->ifindex, dir, c->tc_handle);
		ifc->filter[dir] = false;
	}
	/* Another instance's filter, or anyone's, keeps the qdisc. */
	if (ifc->qdisc_ours && park)
		cap_park(c, ifc->ifindex);
	else if (ifc->qdisc_ours && cap_qdisc_filters(ifc->ifindex, f, CAP_MAX_FILTERS) == 0)
		cap_qdisc_destroy(ifc->ifindex);
	ifc->qdisc_ours = false;
	cap_unlock(lock);
}

/* Our filters on ifc under this process's own handle. 0 or -errno. */
static int cap_cls_attach(struct capture *c, struct cap_iface *ifc)
{
	struct clsact_filter f[CAP_MAX_FILTERS];
	struct bpf_tc_hook hook;
	int dir, err, lock, n, i;

	lock = cap_lock();
	if (c->claim_fd < 0) {
		c->claim_fd = clsact_claim(&c->tc_handle);
		if (c->claim_fd < 0) {
			err = c->claim_fd;
			goto out;
		}
	}
	cap_tc_hook(&hook, ifc->ifindex, CAP_IN);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		goto out;
	ifc->qdisc_ours = err == 0 || cap_unpark(c, ifc->ifindex);
	if (!ifc->qdisc_ours) {
		/* Joined a qdisc holding only wstrace filters: a wstrace one. */
		n = cap_qdisc_filters(ifc->ifindex, f, CAP_MAX_FILTERS);
		for (i = 0; i < n && clsact_is_wstrace(&f[i]); i++)
			;
		ifc->qdisc_ours = n > 0 && i == n;
	}
	for (dir = 0; dir < cap_ndir(ifc); dir++) {
		/* Replace: a filter under our claimed handle can only be an orphan's. */
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = c->tc_handle,
				    .priority = CLSACT_PRIO, .flags = BPF_TC_F_REPLACE,
				    .prog_fd = cap_prog_fd(c, true, dir));

		cap_tc_hook(&hook, ifc->ifindex, dir);
		err = bpf_tc_attach(&hook, &opts);
		if (err)
			break;
		ifc->filter[dir] = true;
	}
out:
	cap_unlock(lock);
	if (err)
		cap_cls_detach(c, ifc, true);
	return err;
}

static void cap_tcx_detach(struct cap_iface *ifc)
{
	int dir;

	for (dir = 0; dir < CAP_NDIR; dir++) {
		if (ifc->link_fd[dir] < 0)
			continue;
		/* Detached now, not whenever the last reference goes. */
		bpf_link_detach(ifc->link_fd[dir]);
		close(ifc->link_fd[dir]);
		ifc->link_fd[dir] = -1;
	}
}

static int cap_tcx_attach(struct capture *c, struct cap_iface *ifc)
{
	int dir, fd;

	for (dir = 0; dir < cap_ndir(ifc); dir++) {
		fd = bpf_link_create(cap_prog_fd(c, false, dir), ifc->ifindex,
				     dir == CAP_IN ? BPF_TCX_INGRESS : BPF_TCX_EGRESS, NULL);
		if (fd < 0) {
			cap_tcx_detach(ifc);
			return fd;
		}
		ifc->link_fd[dir] = fd;
	}
	return 0;
}

/* Attaches ifc in one mode. 0 or -errno. */
static int cap_hook(struct capture *c, struct cap_iface *ifc, bool cls)
{
	return cls ? cap_cls_attach(c, ifc) : cap_tcx_attach(c, ifc);
}

/* Detaches ifc's attachments of one mode, for a reload: qdiscs are parked. */
static void cap_unhook(struct capture *c, struct cap_iface *ifc, bool cls)
{
	if (cls)
		cap_cls_detach(c, ifc, true);
	else
		cap_tcx_detach(ifc);
}

static bool cap_tcx_missing(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP;
}

static struct cap_iface *cap_find(struct capture *c, int ifindex)
{
	int i;

	for (i = 0; i < c->n_ifs; i++)
		if (c->ifs[i].ifindex == ifindex)
			return &c->ifs[i];
	return NULL;
}

/* A new entry with nothing attached, or NULL when out of memory. */
static struct cap_iface *cap_add(struct capture *c, const char *name, int ifindex, bool loopback)
{
	struct cap_iface *ifc;

	if (c->n_ifs == c->cap_ifs) {
		int n = c->cap_ifs ? c->cap_ifs * 2 : 8;
		struct cap_iface *p = realloc(c->ifs, n * sizeof(*p));

		if (!p)
			return NULL;
		c->ifs = p;
		c->cap_ifs = n;
	}
	ifc = &c->ifs[c->n_ifs++];
	memset(ifc, 0, sizeof(*ifc));
	ifc->ifindex = ifindex;
	ifc->loopback = loopback;
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	ifc->link_fd[CAP_IN] = ifc->link_fd[CAP_OUT] = -1;
	return ifc;
}

static void cap_remove(struct capture *c, struct cap_iface *ifc)
{
	*ifc = c->ifs[--c->n_ifs];
}

/*
 * Attaches to one more interface in the current mode (falling back to
 * clsact, once, when the kernel has no tcx). 0 or -errno, reported.
 */
static int cap_attach(struct capture *c, const char *name, int ifindex, bool loopback)
{
	struct cap_iface *ifc;
	int err;

	if (cap_find(c, ifindex))
		return 0;
	ifc = cap_add(c, name, ifindex, loopback);
	if (!ifc)
		return -ENOMEM;
	err = cap_hook(c, ifc, c->clsact);
	/* Only before the first link: one mode for all (tcx_idle is global). */
	if (err && !c->clsact && cap_tcx_missing(err) && capture_n_attached(c) == 0) {
		pr_info("tcx links not available (%s), using clsact", strerror(-err));
		c->no_tcx = true;
		c->clsact = true;
		cap_set(&c->skel->bss->tcx_idle, 1);
		err = cap_hook(c, ifc, true);
	}
	if (err) {
		pr_warn("failed to attach to %s: %s%s", name, strerror(-err), cap_err_hint(err));
		cap_remove(c, ifc);
		return err;
	}
	pr_info("attached to %s (%s%s)", name, c->clsact ? "clsact" : "tcx",
		loopback ? ", ingress only" : "");
	return 0;
}

/* The device is gone, and its links, filters and qdisc with it. */
static void cap_gone(struct capture *c, int ifindex)
{
	struct cap_iface *ifc = cap_find(c, ifindex);
	int dir;

	cap_unpark(c, ifindex);
	if (!ifc)
		return;
	for (dir = 0; dir < CAP_NDIR; dir++)
		if (ifc->link_fd[dir] >= 0)
			close(ifc->link_fd[dir]);
	cap_remove(c, ifc);
}

static int cap_if_flags(int sock, const char *name, short *flags)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	*flags = ifr.ifr_flags;
	return 0;
}

/* Calls fn for every interface that is up. 0, fn's error, or -errno. */
static int cap_for_each_up(int (*fn)(void *ctx, const char *name, int ifindex, bool loopback),
			   void *ctx)
{
	struct if_nameindex *ni, *p;
	int sock, err = 0;
	short flags;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	ni = if_nameindex();
	if (!ni) {
		err = -errno;
		close(sock);
		return err;
	}
	for (p = ni; p->if_index && !err; p++) {
		if (cap_if_flags(sock, p->if_name, &flags) < 0 || !(flags & IFF_UP))
			continue;
		err = fn(ctx, p->if_name, p->if_index, flags & IFF_LOOPBACK);
	}
	if_freenameindex(ni);
	close(sock);
	return err;
}

static int cap_attach_up(void *ctx, const char *name, int ifindex, bool loopback)
{
	int err = cap_attach(ctx, name, ifindex, loopback);

	/* One odd device must not stop the others; these would fail everywhere. */
	return err == -EPERM || err == -ENOMEM ? err : 0;
}

/* Attaches to every interface that is up. */
static int cap_attach_all(struct capture *c)
{
	return cap_for_each_up(cap_attach_up, c);
}

/* Resolves a named interface: 0 or -ENODEV. */
static int cap_lookup(const char *name, int *ifindex, bool *loopback)
{
	short flags = 0;
	int sock;

	*ifindex = if_nametoindex(name);
	if (!*ifindex)
		return -ENODEV;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock >= 0) {
		cap_if_flags(sock, name, &flags);
		close(sock);
	}
	*loopback = flags & IFF_LOOPBACK;
	return 0;
}

static int cap_attach_named(struct capture *c, const char *name)
{
	bool loopback;
	int ifindex;

	if (cap_lookup(name, &ifindex, &loopback)) {
		pr_warn("failed to attach to %s: no such interface (see `ip link`)", name);
		return -ENODEV;
	}
	return cap_attach(c, name, ifindex, loopback);
}

static int cap_netlink_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int capture_handle_netlink(struct capture *c)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	int attached = 0, err;
	ssize_t n;

	if (!c || c->nl_fd < 0)
		return -EINVAL;
	for (;;) {
		struct nlmsghdr *nh;

		n = recv(c->nl_fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				/* Lost notifications: look at every interface again. */
				err = cap_attach_all(c);
				if (err)
					return err;
				continue;
			}
			return -errno;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			struct ifinfomsg *ifi = NLMSG_DATA(nh);
			char name[IF_NAMESIZE] = "";
			struct rtattr *rta;
			int len;

			if (nh->nlmsg_type != RTM_NEWLINK &&
			    nh->nlmsg_type != RTM_DELLINK)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
				continue;
			if (nh->nlmsg_type == RTM_DELLINK) {
				cap_gone(c, ifi->ifi_index);
				continue;
			}
			if (!(ifi->ifi_flags & IFF_UP) || cap_find(c, ifi->ifi_index))
				continue;
			len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
			for (rta = IFLA_RTA(ifi); RTA_OK(rta, len);
			     rta = RTA_NEXT(rta, len)) {
				if (rta->rta_type == IFLA_IFNAME) {
					size_t l = RTA_PAYLOAD(rta);

					if (l >= sizeof(name))
						l = sizeof(name) - 1;
					memcpy(name, RTA_DATA(rta), l);
					name[l] = '\0';
				}
			}
			if (!name[0])
				continue;
			if (cap_attach(c, name, ifi->ifi_index,
				       ifi->ifi_flags & IFF_LOOPBACK) == 0)
				attached++;
		}
	}
	return attached;
}

int capture_set_ports(struct capture *c, const uint16_t *ports, int n_ports)
{
	uint8_t *want;
	int fd, i, err = 0;
	uint8_t on = 1, off = 0;

	if (!c || n_ports < 0 || (n_ports && !ports))
		return -EINVAL;
	want = calloc(65536, 1);
	if (!want)
		return -ENOMEM;
	for (i = 0; i < n_ports; i++)
		want[ports[i]] = 1;
	fd = bpf_map__fd(c->skel->maps.ports);
	/* Only the ports that change: a full rewrite is 65536 syscalls. */
	for (i = 0; i < 65536; i++) {
		uint32_t key = i;

		if (want[i] == c->watched[i])
			continue;
		if (bpf_map_update_elem(fd, &key, want[i] ? &on : &off, BPF_ANY)) {
			err = -errno;
			pr_warn("failed to set watched port %d: %s", i, strerror(-err));
			break;
		}
		c->watched[i] = want[i];
	}
	free(want);
	return err;
}

int capture_read_counters(const struct capture *c, struct wst_counters *out)
{
	struct wst_counters *per_cpu;
	uint32_t key = 0;
	int ncpu, i, j, err = 0;

	if (!c || !out)
		return -EINVAL;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu < 0)
		return ncpu;
	/* Per-CPU values come 8-byte aligned; the struct is all __u64. */
	per_cpu = calloc(ncpu, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.counters), &key, per_cpu)) {
		err = -errno;
		goto cleanup;
	}
	memset(out, 0, sizeof(*out));
	for (i = 0; i < ncpu; i++)
		for (j = 0; j < WST_CNT_MAX; j++)
			out->v[j] += per_cpu[i].v[j];
cleanup:
	free(per_cpu);
	return err;
}

int capture_epoll_fd(const struct capture *c)
{
	return c && c->rb ? ring_buffer__epoll_fd(c->rb) : -EINVAL;
}

int capture_netlink_fd(const struct capture *c)
{
	return c ? c->nl_fd : -1;
}

int capture_poll(struct capture *c, int timeout_ms)
{
	int n, m;

	if (!c || !c->rb)
		return -EINVAL;
	n = ring_buffer__poll(c->rb, timeout_ms);
	if (n < 0 || !c->batched)
		return n;
	/* Batched wakeups: what is below the threshold sent no wakeup. */
	m = ring_buffer__consume(c->rb);
	return m < 0 ? m : n + m;
}

uint64_t capture_bad_records(const struct capture *c)
{
	return c ? c->bad_records : 0;
}

int capture_n_attached(const struct capture *c)
{
	int i, dir, n = 0;

	if (!c)
		return 0;
	for (i = 0; i < c->n_ifs; i++)
		for (dir = 0; dir < CAP_NDIR; dir++)
			n += c->ifs[i].link_fd[dir] >= 0 || c->ifs[i].filter[dir];
	return n;
}

bool capture_uses_tcx(const struct capture *c)
{
	return c && !c->clsact;
}

static uint32_t cap_pow2(uint32_t v)
{
	uint32_t p = 4096;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

static bool cap_wants_any(const struct capture_opts *opts)
{
	int i;

	if (opts->n_ifaces <= 0)
		return true;
	for (i = 0; i < opts->n_ifaces; i++)
		if (!strcmp(opts->ifaces[i], "any"))
			return true;
	return false;
}

int capture_open(struct capture **out, const struct capture_opts *opts,
		 capture_packet_fn fn, void *ctx)
{
	struct capture *c = NULL;
	uint32_t rb_bytes;
	int err, i;

	if (!out || !opts || !fn || opts->n_ports < 0 ||
	    (opts->n_ifaces > 0 && !opts->ifaces))
		return -EINVAL;
	*out = NULL;
	if (opts->snaplen > WST_MAX_SNAPLEN) {
		pr_warn("snaplen %u is too large: the most is %d", opts->snaplen,
			WST_MAX_SNAPLEN);
		return -EINVAL;
	}
	libbpf_set_print(cap_libbpf_print);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->ctx = ctx;
	c->nl_fd = -1;
	c->claim_fd = -1;
	c->sync_inner_fd = -1;
	c->clsact = opts->force_clsact;
	c->any = cap_wants_any(opts);
	c->batched = opts->wakeup_bytes != 0;

	/* Open. */
	c->skel = wstrace_bpf__open();
	if (!c->skel) {
		err = -errno;
		pr_warn("failed to open BPF object: %s", strerror(-err));
		goto cleanup;
	}

	/* Configure. */
	c->skel->rodata->snaplen = opts->snaplen;
	c->skel->rodata->wakeup_bytes = opts->wakeup_bytes;
	rb_bytes = cap_pow2(opts->ringbuf_bytes ? opts->ringbuf_bytes :
						  CAPTURE_DEFAULT_RINGBUF);
	err = bpf_map__set_max_entries(c->skel->maps.events, rb_bytes);
	if (err) {
		pr_warn("failed to size the ring buffer to %u bytes: %s", rb_bytes,
			strerror(-err));
		goto cleanup;
	}

	/* Load. */
	err = wstrace_bpf__load(c->skel);
	if (err) {
		cap_report_load_error(err);
		goto cleanup;
	}
	/* The tcx programs record only in tcx mode. */
	cap_set(&c->skel->bss->tcx_idle, c->clsact);
	err = capture_set_ports(c, opts->ports, opts->n_ports);
	if (err)
		goto cleanup;
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), cap_on_record,
				 c, NULL);
	if (!c->rb) {
		err = -errno;
		pr_warn("failed to open the ring buffer: %s", strerror(-err));
		goto cleanup;
	}
	/* What a reload stores to wait for running programs (cap_sync_rcu). */
	c->sync_inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wst_sync", sizeof(uint32_t),
					  sizeof(uint32_t), 1, NULL);
	if (c->sync_inner_fd < 0) {
		err = -errno;
		pr_warn("failed to create a map: %s%s", strerror(-err), cap_err_hint(err));
		goto cleanup;
	}
	c->mono_to_real_ns = cap_mono_to_real();

	/* Whatever mode this run uses, no dead run's filter stays attached. */
	cap_remove_orphans(c);

	/* Attach. Follow links first so no interface comes up unseen. */
	if (c->any) {
		c->nl_fd = cap_netlink_open();
		if (c->nl_fd < 0) {
			err = c->nl_fd;
			pr_warn("failed to watch interfaces: %s", strerror(-err));
			goto cleanup;
		}
		err = cap_attach_all(c);
	} else {
		for (i = 0; i < opts->n_ifaces && !err; i++)
			err = cap_attach_named(c, opts->ifaces[i]);
	}
	if (err)
		goto cleanup;
	if (capture_n_attached(c) == 0) {
		pr_warn("failed to attach: no interface is up");
		err = -ENODEV;
		goto cleanup;
	}
	/* The qdiscs the orphans were in, unless this run uses them. */
	cap_destroy_parked(c);
	*out = c;
	return 0;

cleanup:
	capture_close(c);
	return err;
}

/* Marks an interface as wanted by the new settings; adds it if new. */
static int cap_want(void *ctx, const char *name, int ifindex, bool loopback)
{
	struct capture *c = ctx;
	struct cap_iface *ifc = cap_find(c, ifindex);

	if (!ifc) {
		ifc = cap_add(c, name, ifindex, loopback);
		if (!ifc)
			return -ENOMEM;
		ifc->fresh = true;
	}
	ifc->wanted = true;
	return 0;
}

/* Undoes a reconfiguration that failed before anything was detached. */
static void cap_undo(struct capture *c, bool switching, bool to_cls)
{
	int i;

	for (i = c->n_ifs - 1; i >= 0; i--) {
		struct cap_iface *ifc = &c->ifs[i];

		if (ifc->hooked_new)
			cap_unhook(c, ifc, to_cls);
		if (ifc->fresh)
			cap_remove(c, ifc);
	}
	if (switching) {
		cap_sync_rcu_or_warn(c);
		cap_set(&c->skel->bss->handoff, 0);
	}
}

/*
 * Make before break, with the same programs, ring buffer and counters:
 * attach what the new settings add, then detach what they drop; an
 * interface in both stays as it is. One that changes mode (tcx <-> clsact)
 * has both attached for a moment, and bpf/handoff.bpf.h makes each pass
 * through its hook record the packet exactly once:
 *
 *  1. bump the epoch (old notes are forgotten), handoff on, and wait for
 *     the running programs: from here on every tcx pass leaves a note;
 *  2. attach the new mode: clsact filters skip what tcx recorded, or tcx
 *     links (still idle) let the filters record;
 *  3. to tcx: tcx_idle off; each pass's filter follows its own pass's tcx
 *     note, whichever side of the store the pass was on. To clsact:
 *     tcx_idle on, wait until no pass that saw it off is running, bump the
 *     epoch; every note left says "not recorded" or is forgotten, so once
 *     tcx is gone a filter, finding no note, records;
 *  4. detach the old mode, and the interfaces no longer wanted;
 *  5. wait for the running programs (a filter detached in 4 may still be
 *     reading a note), handoff off.
 *
 * A failure before 3 undoes 2: the capture is as it was.
 */
int capture_reconfigure(struct capture *c, const struct capture_opts *opts, char *err,
			size_t errlen)
{
	bool any, to_cls, switching;
	int nl_fd = -1, rc = 0, n_wanted = 0, i;

	if (!c || !opts || (opts->n_ifaces > 0 && !opts->ifaces) || !err || !errlen)
		return -EINVAL;
	err[0] = '\0';
	any = cap_wants_any(opts);
	to_cls = opts->force_clsact || c->no_tcx;
	switching = to_cls != c->clsact;
	for (i = 0; i < c->n_ifs; i++)
		c->ifs[i].wanted = c->ifs[i].fresh = c->ifs[i].hooked_new = false;

	/* What the new settings want; nothing changes yet. */
	if (any && !c->any) {
		/* Before listing: an interface coming up meanwhile is not missed. */
		nl_fd = cap_netlink_open();
		if (nl_fd < 0) {
			rc = nl_fd;
			snprintf(err, errlen, "cannot watch interfaces: %s", strerror(-rc));
			goto undo;
		}
	}
	if (any) {
		rc = cap_for_each_up(cap_want, c);
	} else {
		for (i = 0; i < opts->n_ifaces && !rc; i++) {
			int ifindex;
			bool loopback;

			rc = cap_lookup(opts->ifaces[i], &ifindex, &loopback);
			if (rc)
				snprintf(err, errlen, "no interface %s (see `ip link`)", opts->ifaces[i]);
			else
				rc = cap_want(c, opts->ifaces[i], ifindex, loopback);
		}
	}
	if (rc)
		goto undo;

	/* 1. */
	if (switching) {
		cap_set(&c->skel->bss->handoff_epoch, c->skel->bss->handoff_epoch + 1);
		cap_set(&c->skel->bss->handoff, 1);
		rc = cap_sync_rcu(c);
		if (rc) {
			snprintf(err, errlen, "cannot wait for the programs: %s", strerror(-rc));
			goto undo;
		}
	}
	/* 2. Backwards: an odd new device is dropped from the list in place. */
	for (i = c->n_ifs - 1; i >= 0; i--) {
		struct cap_iface *ifc = &c->ifs[i];

		if (ifc->wanted && (ifc->fresh || switching)) {
			rc = cap_hook(c, ifc, to_cls);
			if (rc && any && ifc->fresh && rc != -EPERM && rc != -ENOMEM) {
				pr_warn("failed to attach to %s: %s", ifc->name, strerror(-rc));
				cap_remove(c, ifc);
				rc = 0;
				continue;
			}
			if (rc) {
				snprintf(err, errlen, "cannot attach to %s (%s): %s%s", ifc->name,
					 to_cls ? "clsact" : "tcx", strerror(-rc),
					 !to_cls && cap_tcx_missing(rc) ? "; tcx links may be missing (Linux 6.6+): use clsact" :
					 cap_err_hint(rc));
				goto undo;
			}
			ifc->hooked_new = true;
		}
		n_wanted += ifc->wanted;
	}
	if (!n_wanted) {
		rc = -ENODEV;
		snprintf(err, errlen, "no interface is up");
		goto undo;
	}

	/* 3. */
	if (switching && !to_cls) {
		cap_set(&c->skel->bss->tcx_idle, 0);
	} else if (switching) {
		cap_set(&c->skel->bss->tcx_idle, 1);
		cap_sync_rcu_or_warn(c);
		cap_set(&c->skel->bss->handoff_epoch, c->skel->bss->handoff_epoch + 1);
	}
	/* 4. */
	for (i = c->n_ifs - 1; i >= 0; i--) {
		struct cap_iface *ifc = &c->ifs[i];

		if (!ifc->wanted) {
			cap_unhook(c, ifc, c->clsact);
			pr_info("detached from %s", ifc->name);
			cap_remove(c, ifc);
			continue;
		}
		if (switching && !ifc->fresh)
			cap_unhook(c, ifc, c->clsact);
		if (ifc->fresh)
			pr_info("attached to %s (%s%s)", ifc->name, to_cls ? "clsact" : "tcx",
				ifc->loopback ? ", ingress only" : "");
	}
	/* 5. */
	if (switching) {
		cap_sync_rcu_or_warn(c);
		cap_set(&c->skel->bss->handoff, 0);
		c->clsact = to_cls;
		pr_info("switched to %s", to_cls ? "clsact" : "tcx");
	}
	if (any && !c->any) {
		c->nl_fd = nl_fd;
	} else if (!any && c->nl_fd >= 0) {
		close(c->nl_fd);
		c->nl_fd = -1;
	}
	c->any = any;
	return 0;

undo:
	cap_undo(c, switching, to_cls);
	if (nl_fd >= 0)
		close(nl_fd);
	if (!err[0])
		snprintf(err, errlen, "%s", strerror(-rc));
	return rc;
}

void capture_close(struct capture *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < c->n_ifs; i++) {
		cap_tcx_detach(&c->ifs[i]);
		cap_cls_detach(c, &c->ifs[i], false);
	}
	cap_destroy_parked(c);
	free(c->ifs);
	free(c->parked);
	if (c->nl_fd >= 0)
		close(c->nl_fd);
	if (c->claim_fd >= 0)
		close(c->claim_fd);
	if (c->sync_inner_fd >= 0)
		close(c->sync_inner_fd);
	ring_buffer__free(c->rb);
	wstrace_bpf__destroy(c->skel);
	free(c);
}
