/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sock_owner.bpf.h - which process accepted or connected a socket of a
 * watched port (WST_REC_SOCK_OWNER records into the events ring). Included
 * by wstrace.bpf.c after its maps. The syscall exits of accept, accept4 and
 * connect run in the owner's own context (pid, comm, cgroup), which no
 * network hook does for an accepted socket; user space joins the records to
 * the packets' flows by 4-tuple. Three ways in, user space loads one:
 * - syscall tracepoints (need tracefs to attach): cost only on those calls;
 * - tp_btf/sys_exit (x86_64, no tracefs): runs on every syscall exit;
 * - iter/task_file, once at start: the sockets that already existed.
 */
#ifndef WST_SOCK_OWNER_BPF_H
#define WST_SOCK_OWNER_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "sock_common.bpf.h"

#define WST_EINPROGRESS 115

/* connect(): the fd from sys_enter_connect, for its exit (per thread). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __s32);
} connect_fd SEC(".maps");

/* The server side: the local port is watched; a local client: the remote. */
static __always_inline int wst_owner_port_ok(const struct wst_tuple *t, __u8 how)
{
	return how == WST_SOCK_CONNECT ? wst_port_watched(t->rport) : wst_port_watched(t->lport);
}

static __always_inline void wst_owner_emit(int fd, __u8 how)
{
	struct wst_counters *cnt;
	struct wst_sock_rec *r;
	struct wst_tuple t = {};
	struct sock *sk = wst_fd_to_tcp_sock(fd);
	__u32 key = 0;

	if (!sk || wst_sk_tuple(sk, &t) || !wst_owner_port_ok(&t, how))
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		cnt = bpf_map_lookup_elem(&counters, &key);
		if (cnt)
			cnt->v[WST_CNT_OWNER_LOST]++;
		return;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->version = WST_RECORD_VERSION;
	r->kind = WST_REC_SOCK_OWNER;
	r->how = how;
	r->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	r->fd = fd;
	r->ts_ns = bpf_ktime_get_ns();
	r->cookie = wst_sk_cookie(sk);
	wst_fill_task(&r->task);
	r->tuple = t;
	/* rare and small: wake the reader now, so packets wait less for it */
	bpf_ringbuf_submit(r, 0);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret >= 0)
		wst_owner_emit(ctx->ret, WST_SOCK_ACCEPT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret >= 0)
		wst_owner_emit(ctx->ret, WST_SOCK_ACCEPT);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int tp_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__s32 fd = ctx->args[0];

	bpf_map_update_elem(&connect_fd, &tid, &fd, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__s32 *fd = bpf_map_lookup_elem(&connect_fd, &tid);

	if (!fd)
		return 0;
	/* 0, or -EINPROGRESS (non-blocking): the local port is bound either way */
	if (ctx->ret == 0 || ctx->ret == -WST_EINPROGRESS)
		wst_owner_emit(*fd, WST_SOCK_CONNECT);
	bpf_map_delete_elem(&connect_fd, &tid);
	return 0;
}

#if defined(__TARGET_ARCH_x86)
/* x86_64 syscall numbers; connect's fd is still in rdi at exit. */
SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;

	if (nr == 43 || nr == 288) {
		if (ret >= 0)
			wst_owner_emit(ret, WST_SOCK_ACCEPT);
	} else if (nr == 42) {
		if (ret == 0 || ret == -WST_EINPROGRESS)
			wst_owner_emit(regs->di, WST_SOCK_CONNECT);
	}
	return 0;
}
#endif

/* Sockets open at start: every (process, fd) holding a TCP socket of a watched port. */
SEC("iter/task_file")
int iter_task_file(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct wst_sock_rec r = {};
	struct socket *so;
	struct sock *sk;

	if (!task || !file)
		return 0;
	so = bpf_sock_from_file(file); /* NULL unless the file is a socket */
	if (!so)
		return 0;
	sk = so->sk;
	if (!sk || sk->sk_protocol != IPPROTO_TCP_ || sk->sk_type != SOCK_STREAM_)
		return 0;
	if (wst_sk_tuple(sk, &r.tuple))
		return 0;
	if (!wst_port_watched(r.tuple.lport) && !wst_port_watched(r.tuple.rport))
		return 0;
	r.version = WST_RECORD_VERSION;
	r.kind = WST_REC_SOCK_OWNER;
	r.how = WST_SOCK_EXISTING;
	r.state = sk->__sk_common.skc_state;
	r.fd = ctx->fd;
	r.ts_ns = bpf_ktime_get_ns();
	r.cookie = wst_sk_cookie(sk);
	r.task.tgid = task->tgid;
	r.task.tid = task->pid;
	r.task.start_ns = task->group_leader->start_boottime;
	r.task.cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	__builtin_memcpy(r.task.comm, task->comm, sizeof(r.task.comm));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

#endif
