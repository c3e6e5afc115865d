// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * capture.c - loads the TC capture programs, attaches them, consumes the
 * ring buffer.
 *
 * Attach modes: a tcx link (Linux 6.6+) per interface and direction, which
 * goes away with its fd; otherwise a clsact qdisc with direct-action filters
 * under our own handle and priority, so that filters left by a crashed run
 * can be found and removed at start. On loopback a packet crosses egress and
 * then ingress, so only ingress is attached there.
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

#include "capture.h"
#include "log.h"
#include "wstrace.skel.h"

/* Not in older uapi headers. */
#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46
#define BPF_TCX_EGRESS 47
#endif

/* Our clsact filter identity: lets a new run remove a crashed run's filters. */
#define CAP_TC_HANDLE 0x7773
#define CAP_TC_PRIO 0x7773

#define CAP_PRIV_HINT "run as root or grant CAP_BPF and CAP_NET_ADMIN"

enum { CAP_IN, CAP_OUT, CAP_NDIR };

struct cap_iface {
	int ifindex;
	char name[IF_NAMESIZE];
	bool clsact;          /* attached through clsact filters */
	bool created_qdisc;   /* we created the clsact qdisc: remove it at exit */
	bool hooked[CAP_NDIR];
	int link_fd[CAP_NDIR]; /* tcx links, -1 if none */
};

struct capture {
	struct wstrace_bpf *skel;
	struct ring_buffer *rb;
	capture_packet_fn fn;
	void *ctx;
	int64_t mono_to_real_ns;
	uint64_t bad_records;
	bool any;
	bool batched;    /* wakeup_bytes set: records may wait without a wakeup */
	bool use_clsact; /* forced, or tcx found missing */
	int nl_fd;
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

static int cap_prog_fd(const struct capture *c, int dir)
{
	return bpf_program__fd(dir == CAP_IN ? c->skel->progs.tc_ingress :
					       c->skel->progs.tc_egress);
}

static void cap_tc_hook(struct bpf_tc_hook *hook, int ifindex, int dir)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = dir == CAP_IN ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

static int cap_tc_detach(int ifindex, int dir)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CAP_TC_HANDLE,
			    .priority = CAP_TC_PRIO);
	struct bpf_tc_hook hook;

	cap_tc_hook(&hook, ifindex, dir);
	return bpf_tc_detach(&hook, &opts);
}

static int cap_attach_clsact(struct capture *c, struct cap_iface *ifc, int ndir)
{
	struct bpf_tc_hook hook;
	int dir, err;

	cap_tc_hook(&hook, ifc->ifindex, CAP_IN);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	ifc->created_qdisc = err == 0;
	ifc->clsact = true;
	for (dir = 0; dir < CAP_NDIR; dir++) {
		/* Filters of a crashed run carry our handle and priority. */
		if (cap_tc_detach(ifc->ifindex, dir) == 0)
			pr_info("removed a stale filter on %s", ifc->name);
	}
	for (dir = 0; dir < ndir; dir++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CAP_TC_HANDLE,
				    .priority = CAP_TC_PRIO,
				    .prog_fd = cap_prog_fd(c, dir));

		cap_tc_hook(&hook, ifc->ifindex, dir);
		err = bpf_tc_attach(&hook, &opts);
		if (err)
			return err;
		ifc->hooked[dir] = true;
	}
	return 0;
}

static int cap_attach_tcx(struct capture *c, struct cap_iface *ifc, int ndir)
{
	int dir, fd;

	for (dir = 0; dir < ndir; dir++) {
		fd = bpf_link_create(cap_prog_fd(c, dir), ifc->ifindex,
				     dir == CAP_IN ? BPF_TCX_INGRESS : BPF_TCX_EGRESS,
				     NULL);
		if (fd < 0)
			return fd;
		ifc->link_fd[dir] = fd;
		ifc->hooked[dir] = true;
	}
	return 0;
}

/* Undoes whatever part of an attach happened. gone: the device is deleted. */
static void cap_detach(struct cap_iface *ifc, bool gone)
{
	struct bpf_tc_hook hook;
	int dir;

	for (dir = 0; dir < CAP_NDIR; dir++) {
		if (ifc->link_fd[dir] >= 0)
			close(ifc->link_fd[dir]);
		ifc->link_fd[dir] = -1;
		if (ifc->clsact && ifc->hooked[dir] && !gone)
			cap_tc_detach(ifc->ifindex, dir);
		ifc->hooked[dir] = false;
	}
	if (ifc->clsact && ifc->created_qdisc && !gone) {
		cap_tc_hook(&hook, ifc->ifindex, CAP_IN);
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	ifc->clsact = false;
	ifc->created_qdisc = false;
}

static struct cap_iface *cap_find(struct capture *c, int ifindex)
{
	int i;

	for (i = 0; i < c->n_ifs; i++)
		if (c->ifs[i].ifindex == ifindex)
			return &c->ifs[i];
	return NULL;
}

/* Attaches to one interface. 0, or -errno already reported. */
static int cap_attach(struct capture *c, const char *name, int ifindex,
		      bool loopback)
{
	struct cap_iface *ifc;
	int ndir = loopback ? 1 : CAP_NDIR;
	int err = 0;

	if (cap_find(c, ifindex))
		return 0;
	if (c->n_ifs == c->cap_ifs) {
		int n = c->cap_ifs ? c->cap_ifs * 2 : 8;
		struct cap_iface *p = realloc(c->ifs, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->ifs = p;
		c->cap_ifs = n;
	}
	ifc = &c->ifs[c->n_ifs];
	memset(ifc, 0, sizeof(*ifc));
	ifc->ifindex = ifindex;
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	ifc->link_fd[CAP_IN] = ifc->link_fd[CAP_OUT] = -1;

	if (!c->use_clsact) {
		err = cap_attach_tcx(c, ifc, ndir);
		if (err == -EINVAL || err == -EOPNOTSUPP) {
			pr_info("tcx links not available (%s), using clsact",
				strerror(-err));
			cap_detach(ifc, false);
			c->use_clsact = true;
		}
	}
	if (c->use_clsact)
		err = cap_attach_clsact(c, ifc, ndir);
	if (err) {
		pr_warn("failed to attach to %s: %s%s", name, strerror(-err),
			cap_err_hint(err));
		cap_detach(ifc, false);
		return err;
	}
	pr_info("attached to %s (%s%s)", name, c->use_clsact ? "clsact" : "tcx",
		 loopback ? ", ingress only" : "");
	c->n_ifs++;
	return 0;
}

static void cap_forget(struct capture *c, int ifindex)
{
	struct cap_iface *ifc = cap_find(c, ifindex);

	if (!ifc)
		return;
	cap_detach(ifc, true);
	*ifc = c->ifs[--c->n_ifs];
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

/* Attaches to every interface that is up. */
static int cap_attach_all(struct capture *c)
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
	for (p = ni; p->if_index; p++) {
		if (cap_if_flags(sock, p->if_name, &flags) < 0 || !(flags & IFF_UP))
			continue;
		err = cap_attach(c, p->if_name, p->if_index, flags & IFF_LOOPBACK);
		if (err == -EPERM || err == -ENOMEM)
			break; /* would fail everywhere */
		err = 0; /* one odd device must not stop the others */
	}
	if_freenameindex(ni);
	close(sock);
	return err;
}

static int cap_attach_named(struct capture *c, const char *name)
{
	unsigned int ifindex = if_nametoindex(name);
	short flags = 0;
	int sock;

	if (!ifindex) {
		pr_warn("failed to attach to %s: no such interface (see `ip link`)",
			name);
		return -ENODEV;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock >= 0) {
		cap_if_flags(sock, name, &flags);
		close(sock);
	}
	return cap_attach(c, name, ifindex, flags & IFF_LOOPBACK);
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
				cap_forget(c, ifi->ifi_index);
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
			n += c->ifs[i].hooked[dir];
	return n;
}

bool capture_uses_tcx(const struct capture *c)
{
	return c && !c->use_clsact;
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
	c->use_clsact = opts->force_clsact;
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
	c->mono_to_real_ns = cap_mono_to_real();

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
	*out = c;
	return 0;

cleanup:
	capture_close(c);
	return err;
}

void capture_close(struct capture *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < c->n_ifs; i++)
		cap_detach(&c->ifs[i], false);
	free(c->ifs);
	if (c->nl_fd >= 0)
		close(c->nl_fd);
	ring_buffer__free(c->rb);
	wstrace_bpf__destroy(c->skel);
	free(c);
}
