/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fd -> struct socket -> struct sock -> 4-tuple, by BTF CO-RE reads through the
 * current task's file table. Usable from any tracing context that runs in the
 * process (syscall tracepoints, raw_tp/tp_btf sys_enter/sys_exit, uprobes).
 */
#ifndef WST_SOCK_COMMON_BPF_H
#define WST_SOCK_COMMON_BPF_H

#include "wstrace.h"

#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif
#define S_IFMT_ 00170000
#define S_IFSOCK_ 0140000
#define IPPROTO_TCP_ 6
#define SOCK_STREAM_ 1

/* The struct sock behind fd in the current task, or NULL if fd is not a TCP socket. */
static __always_inline struct sock *wst_fd_to_tcp_sock(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;
	struct socket *sock;
	struct sock *sk;
	umode_t mode;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT_) != S_IFSOCK_)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP_ ||
	    BPF_CORE_READ(sk, sk_type) != SOCK_STREAM_)
		return NULL;
	return sk;
}

/* ::ffff:a.b.c.d */
static __always_inline int wst_v4mapped(const __u8 *a)
{
	const __u32 *w = (const __u32 *)a;
	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

/*
 * Fills a wst_tuple from sk: local = the socket's own side. An AF_INET6 socket
 * talking IPv4 (v4-mapped) is reported as family 4, as TC sees its packets.
 * Returns 0, or -1 if the family is not IP.
 */
static __always_inline int wst_sk_tuple(struct sock *sk, struct wst_tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	t->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		t->family = 4;
		BPF_CORE_READ_INTO((__u32 *)t->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)t->raddr, sk, __sk_common.skc_daddr);
		return 0;
	}
	if (family != AF_INET6)
		return -1;
	/* not BPF_CORE_READ_INTO(t->laddr, ...): it copies sizeof(*dst) = 1 byte */
	bpf_core_read(t->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	bpf_core_read(t->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	if (wst_v4mapped(t->raddr)) {
		__u32 l = ((__u32 *)t->laddr)[3], r = ((__u32 *)t->raddr)[3];

		__builtin_memset(t->laddr, 0, 16);
		__builtin_memset(t->raddr, 0, 16);
		((__u32 *)t->laddr)[0] = l;
		((__u32 *)t->raddr)[0] = r;
		t->family = 4;
	} else {
		t->family = 6;
	}
	return 0;
}

/* skc_cookie is 0 until some hook called sock_gen_cookie() for this socket. */
static __always_inline __u64 wst_sk_cookie(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

static __always_inline void wst_fill_task(struct wst_task *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	p->tgid = id >> 32;
	p->tid = (__u32)id;
	p->cgroup_id = bpf_get_current_cgroup_id();
	/* the process's start (ns since boot, as /proc/PID/stat field 22 in ticks) */
	p->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_get_current_comm(p->comm, sizeof(p->comm));
}

#endif
