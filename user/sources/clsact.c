// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * clsact.c - clsact qdiscs and their filters over rtnetlink (libbpf's
 * bpf_tc_query looks up one known filter; finding a dead instance's filters
 * needs a dump), and filter ownership through abstract unix socket names.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "clsact.h"

#define CLSACT_NL_BUF 32768

typedef int (*clsact_msg_fn)(struct nlmsghdr *nh, void *ctx);

/* Sends one dump request and hands each answer to fn. 0 or -errno. */
static int clsact_dump(int type, const struct tcmsg *tcm, clsact_msg_fn fn, void *ctx)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tcm;
	} req;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char *buf;
	int fd, err = 0;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	buf = malloc(CLSACT_NL_BUF);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.tcm));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 1;
	req.tcm = *tcm;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	while (!done && !err) {
		ssize_t n = recv(fd, buf, CLSACT_NL_BUF, 0);
		struct nlmsghdr *nh;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				err = nh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ? e->error : -EIO;
				break;
			}
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcmsg)))
				continue;
			err = fn(nh, ctx);
			if (err)
				break;
		}
	}
out:
	free(buf);
	close(fd);
	return err;
}

/* The attribute of this type in [rta, rta+len), or NULL. */
static struct rtattr *clsact_attr(struct rtattr *rta, int len, unsigned short type)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == type)
			return rta;
	return NULL;
}

static bool clsact_kind_is(struct rtattr *kind, const char *want)
{
	size_t n = strlen(want) + 1;

	return kind && RTA_PAYLOAD(kind) >= n && !memcmp(RTA_DATA(kind), want, n);
}

struct clsact_qdisc_list {
	int *v;
	int n, cap;
};

static int clsact_on_qdisc(struct nlmsghdr *nh, void *ctx)
{
	struct clsact_qdisc_list *l = ctx;
	struct tcmsg *t = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*t));

	if (nh->nlmsg_type != RTM_NEWQDISC || t->tcm_parent != TC_H_CLSACT ||
	    !clsact_kind_is(clsact_attr(TCA_RTA(t), len, TCA_KIND), "clsact"))
		return 0;
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 16;
		int *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = t->tcm_ifindex;
	return 0;
}

int clsact_qdiscs(int **out)
{
	struct tcmsg tcm = { .tcm_family = AF_UNSPEC };
	struct clsact_qdisc_list l = { 0 };
	int err;

	*out = NULL;
	err = clsact_dump(RTM_GETQDISC, &tcm, clsact_on_qdisc, &l);
	if (err) {
		free(l.v);
		return err;
	}
	*out = l.v;
	return l.n;
}

struct clsact_filter_list {
	struct clsact_filter *v;
	int n, max;
};

static int clsact_on_filter(struct nlmsghdr *nh, void *ctx)
{
	struct clsact_filter_list *l = ctx;
	struct tcmsg *t = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	struct clsact_filter *f;
	struct rtattr *opt, *id;

	/* A priority's first message describes the classifier, handle 0. */
	if (nh->nlmsg_type != RTM_NEWTFILTER || !t->tcm_handle || l->n == l->max)
		return 0;
	f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	f->handle = t->tcm_handle;
	f->prio = TC_H_MAJ(t->tcm_info) >> 16;
	f->bpf = clsact_kind_is(clsact_attr(TCA_RTA(t), len, TCA_KIND), "bpf");
	opt = clsact_attr(TCA_RTA(t), len, TCA_OPTIONS);
	if (f->bpf && opt) {
		id = clsact_attr(RTA_DATA(opt), RTA_PAYLOAD(opt), TCA_BPF_ID);
		if (id && RTA_PAYLOAD(id) >= sizeof(uint32_t))
			memcpy(&f->prog_id, RTA_DATA(id), sizeof(f->prog_id));
	}
	return 0;
}

int clsact_filters(int ifindex, bool ingress, struct clsact_filter *out, int max)
{
	struct tcmsg tcm = {
		.tcm_family = AF_UNSPEC,
		.tcm_ifindex = ifindex,
		.tcm_parent = TC_H_MAKE(TC_H_CLSACT, ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS),
	};
	struct clsact_filter_list l = { .v = out, .max = max };
	int err;

	err = clsact_dump(RTM_GETTFILTER, &tcm, clsact_on_filter, &l);
	return err ? err : l.n;
}

bool clsact_is_wstrace(const struct clsact_filter *f)
{
	return f->bpf && f->prio == CLSACT_PRIO;
}

/* An abstract unix socket bound to "wstrace/clsact/NAME": fd or -errno. */
static int clsact_bind_name(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd, n;

	/* sun_path[0] stays 0: an abstract name, gone when the socket closes. */
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "wstrace/clsact/%s", name);
	len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int clsact_bind_handle(uint32_t handle)
{
	char name[16];

	snprintf(name, sizeof(name), "%08x", handle);
	return clsact_bind_name(name);
}

int clsact_lock(int timeout_ms)
{
	const struct timespec pause = { 0, 10 * 1000000L };
	int waited, fd;

	for (waited = 0;; waited += 10) {
		fd = clsact_bind_name("lock");
		if (fd != -EADDRINUSE || waited >= timeout_ms)
			return fd == -EADDRINUSE ? -ETIMEDOUT : fd;
		nanosleep(&pause, NULL);
	}
}

int clsact_claim(uint32_t *handle)
{
	uint32_t i;
	int fd;

	for (i = 1; i <= CLSACT_MAX_INSTANCES; i++) {
		fd = clsact_bind_handle(CLSACT_HANDLE_BASE + i);
		if (fd >= 0) {
			*handle = CLSACT_HANDLE_BASE + i;
			return fd;
		}
		if (fd != -EADDRINUSE)
			return fd;
	}
	return -EUSERS;
}

bool clsact_claimed(uint32_t handle)
{
	int fd = clsact_bind_handle(handle);

	if (fd < 0)
		return true; /* held, or cannot tell: never remove a live filter */
	close(fd);
	return false;
}
