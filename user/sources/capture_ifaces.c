// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * capture_ifaces.c - which interfaces the capture programs are on: the
 * named ones, or every interface that is up and those that come up later
 * (rtnetlink link notifications), and a reload's new set, changed
 * make-before-break with the same programs, ring buffer and counters.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "core/log.h"
#include "capture_internal.h"

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
	err = capture_hook(c, ifc, c->clsact);
	/* Only before the first link: one mode for all (tcx_idle is global). */
	if (err && !c->clsact && capture_tcx_missing(err) && capture_n_attached(c) == 0) {
		pr_info("tcx links not available (%s), using clsact", strerror(-err));
		c->no_tcx = true;
		c->clsact = true;
		capture_set_word(c->progs.tcx_idle, 1);
		err = capture_hook(c, ifc, true);
	}
	if (err) {
		pr_warn("failed to attach to %s: %s%s", name, strerror(-err), capture_err_hint(err));
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

	capture_unpark(c, ifindex);
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

int capture_netlink_fd(const struct capture *c)
{
	return c ? c->nl_fd : -1;
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

int capture_attach_start(struct capture *c, const struct capture_opts *opts)
{
	int err = 0, i;

	c->any = cap_wants_any(opts);
	/* Whatever mode this run uses, no dead run's filter stays attached. */
	capture_remove_orphans(c);

	/* Follow links first so no interface comes up unseen. */
	if (c->any) {
		c->nl_fd = cap_netlink_open();
		if (c->nl_fd < 0) {
			err = c->nl_fd;
			pr_warn("failed to watch interfaces: %s", strerror(-err));
			return err;
		}
		err = cap_attach_all(c);
	} else {
		for (i = 0; i < opts->n_ifaces && !err; i++)
			err = cap_attach_named(c, opts->ifaces[i]);
	}
	if (err)
		return err;
	if (capture_n_attached(c) == 0) {
		pr_warn("failed to attach: no interface is up");
		return -ENODEV;
	}
	/* The qdiscs the orphans were in, unless this run uses them. */
	capture_destroy_parked(c);
	return 0;
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
			capture_unhook(c, ifc, to_cls);
		if (ifc->fresh)
			cap_remove(c, ifc);
	}
	if (switching) {
		capture_sync_rcu_or_warn(c);
		capture_set_word(c->progs.handoff, 0);
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
		capture_set_word(c->progs.handoff_epoch, *c->progs.handoff_epoch + 1);
		capture_set_word(c->progs.handoff, 1);
		rc = capture_sync_rcu(c);
		if (rc) {
			snprintf(err, errlen, "cannot wait for the programs: %s", strerror(-rc));
			goto undo;
		}
	}
	/* 2. Backwards: an odd new device is dropped from the list in place. */
	for (i = c->n_ifs - 1; i >= 0; i--) {
		struct cap_iface *ifc = &c->ifs[i];

		if (ifc->wanted && (ifc->fresh || switching)) {
			rc = capture_hook(c, ifc, to_cls);
			if (rc && any && ifc->fresh && rc != -EPERM && rc != -ENOMEM) {
				pr_warn("failed to attach to %s: %s", ifc->name, strerror(-rc));
				cap_remove(c, ifc);
				rc = 0;
				continue;
			}
			if (rc) {
				snprintf(err, errlen, "cannot attach to %s (%s): %s%s", ifc->name,
					 to_cls ? "clsact" : "tcx", strerror(-rc),
					 !to_cls && capture_tcx_missing(rc) ? "; tcx links may be missing (Linux 6.6+): use clsact" :
					 capture_err_hint(rc));
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
		capture_set_word(c->progs.tcx_idle, 0);
	} else if (switching) {
		capture_set_word(c->progs.tcx_idle, 1);
		capture_sync_rcu_or_warn(c);
		capture_set_word(c->progs.handoff_epoch, *c->progs.handoff_epoch + 1);
	}
	/* 4. */
	for (i = c->n_ifs - 1; i >= 0; i--) {
		struct cap_iface *ifc = &c->ifs[i];

		if (!ifc->wanted) {
			capture_unhook(c, ifc, c->clsact);
			pr_info("detached from %s", ifc->name);
			cap_remove(c, ifc);
			continue;
		}
		if (switching && !ifc->fresh)
			capture_unhook(c, ifc, c->clsact);
		if (ifc->fresh)
			pr_info("attached to %s (%s%s)", ifc->name, to_cls ? "clsact" : "tcx",
				ifc->loopback ? ", ingress only" : "");
	}
	/* 5. */
	if (switching) {
		capture_sync_rcu_or_warn(c);
		capture_set_word(c->progs.handoff, 0);
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

void capture_detach_all(struct capture *c)
{
	int i;

	for (i = 0; i < c->n_ifs; i++)
		capture_unhook_all(c, &c->ifs[i]);
	capture_destroy_parked(c);
	free(c->ifs);
	free(c->parked);
	c->ifs = NULL;
	c->parked = NULL;
	c->n_ifs = c->n_parked = 0;
	if (c->nl_fd >= 0)
		close(c->nl_fd);
	if (c->claim_fd >= 0)
		close(c->claim_fd);
	c->nl_fd = c->claim_fd = -1;
}
