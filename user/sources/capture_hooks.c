// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * capture_hooks.c - the capture programs on one interface's hooks, in
 * either mode: a tcx link per direction (Linux 6.6+), which goes away with
 * its fd; or a clsact qdisc with direct-action filters at wstrace's
 * priority, under a handle this process claims (see clsact.h), so that the
 * filters of a killed run, and only those, are found and removed at start.
 * On loopback a packet crosses egress and then ingress, so only ingress is
 * attached there. Also the wait for running programs that mode switches
 * need (bpf/handoff.bpf.h).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"
#include "capture_internal.h"
#include "clsact.h"

/* Not in older uapi headers. */
#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46
#define BPF_TCX_EGRESS 47
#endif

/* How long to wait for another wstrace's clsact change. */
#define CAP_LOCK_WAIT_MS 5000
/* Filters looked at per clsact qdisc. */
#define CAP_MAX_FILTERS 128

const char *capture_err_hint(int err)
{
	if (err == -EPERM || (err == -EACCES && geteuid() != 0))
		return "; " CAP_PRIV_HINT;
	return "";
}

static int cap_prog_fd(const struct capture *c, bool cls, int dir)
{
	return cls ? c->progs.cls[dir] : c->progs.tcx[dir];
}

static int cap_ndir(const struct cap_iface *ifc)
{
	return ifc->loopback ? 1 : CAP_NDIR;
}

/* Returns once every BPF program that was running has finished. */
int capture_sync_rcu(struct capture *c)
{
	uint32_t key = 0;

	if (bpf_map_update_elem(c->progs.sync_rcu, &key, &c->sync_inner_fd, BPF_ANY))
		return -errno;
	return 0;
}

/* Past the first wait of a switch, which worked: should one fail, say so. */
void capture_sync_rcu_or_warn(struct capture *c)
{
	int err = capture_sync_rcu(c);

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
bool capture_unpark(struct capture *c, int ifindex)
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
void capture_destroy_parked(struct capture *c)
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
void capture_remove_orphans(struct capture *c)
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
	ifc->qdisc_ours = err == 0 || capture_unpark(c, ifc->ifindex);
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
int capture_hook(struct capture *c, struct cap_iface *ifc, bool cls)
{
	return cls ? cap_cls_attach(c, ifc) : cap_tcx_attach(c, ifc);
}

/* Detaches ifc's attachments of one mode, for a reload: qdiscs are parked. */
void capture_unhook(struct capture *c, struct cap_iface *ifc, bool cls)
{
	if (cls)
		cap_cls_detach(c, ifc, true);
	else
		cap_tcx_detach(ifc);
}

bool capture_tcx_missing(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP;
}

void capture_unhook_all(struct capture *c, struct cap_iface *ifc)
{
	cap_tcx_detach(ifc);
	cap_cls_detach(c, ifc, false);
}
