/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * capture_internal.h - the live capture's state, shared by its three files
 * and no one else: capture.c (the BPF skeleton: open, configure, load, ring
 * buffer, counters), capture_hooks.c (the programs on one interface's
 * hooks, tcx or clsact) and capture_ifaces.c (which interfaces, following
 * them, reloads). Only capture.c knows the skeleton; the other two see the
 * loaded programs through struct capture_progs.
 */
#ifndef WST_CAPTURE_INTERNAL_H
#define WST_CAPTURE_INTERNAL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"

#define CAP_PRIV_HINT "run as root or grant CAP_BPF and CAP_NET_ADMIN"

enum { CAP_IN, CAP_OUT, CAP_NDIR };

/* What attaching needs of the loaded programs (bpf/wstrace.bpf.c). */
struct capture_progs {
	int tcx[CAP_NDIR];        /* tc_ingress, tc_egress: program fds */
	int cls[CAP_NDIR];        /* cls_ingress, cls_egress */
	int sync_rcu;             /* map fd: an update returns once running programs are done */
	int events, ports;        /* map fds: the ring buffer and the watched ports */
	/* the mode words the programs read (bpf/handoff.bpf.h), in their .bss */
	volatile __u32 *tcx_idle, *handoff, *handoff_epoch;
};

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

struct wstrace_bpf;
struct capture_tls;

#define CAPTURE_MAX_KIND 16 /* above every enum wst_record_kind */

struct capture_reader {
	capture_record_fn fn;
	void *ctx;
};

enum cap_owner_mode {
	CAP_OWNER_OFF,
	CAP_OWNER_TRACEPOINTS, /* syscalls/sys_exit_accept{,4}, sys_{enter,exit}_connect */
	CAP_OWNER_SYS_EXIT,    /* tp_btf/sys_exit */
};

struct capture {
	struct wstrace_bpf *skel;  /* capture.c only */
	struct capture_tls *tls;   /* capture_tls.c: the TLS uprobes, NULL if off */
	enum cap_owner_mode owner_mode;
	struct bpf_link *owner_links[4];
	struct capture_progs progs;
	struct ring_buffer *rb;
	capture_packet_fn fn;
	void *ctx;
	int64_t mono_to_real_ns;
	uint64_t bad_records;
	struct capture_reader readers[CAPTURE_MAX_KIND]; /* by record kind */
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

/* Stores one of the mode words the programs read (see bpf/handoff.bpf.h). */
static inline void capture_set_word(volatile __u32 *word, __u32 v)
{
	__atomic_store_n(word, v, __ATOMIC_SEQ_CST);
}

/* capture_hooks.c */
/* "; run as root or ..." when err says privileges are missing, else "". */
const char *capture_err_hint(int err);
/* Returns once every BPF program that was running has finished. */
int capture_sync_rcu(struct capture *c);
/* The same past the first wait of a switch: should it fail, says so. */
void capture_sync_rcu_or_warn(struct capture *c);
/* Attaches ifc in one mode (cls: clsact, else tcx). 0 or -errno. */
int capture_hook(struct capture *c, struct cap_iface *ifc, bool cls);
/* Detaches ifc's attachments of one mode, for a reload: qdiscs are parked. */
void capture_unhook(struct capture *c, struct cap_iface *ifc, bool cls);
/* Detaches ifc in both modes, for good (at exit). */
void capture_unhook_all(struct capture *c, struct cap_iface *ifc);
/* Whether a tcx attach error says the kernel has no tcx links. */
bool capture_tcx_missing(int err);
/* Takes ifindex off the parked qdiscs: true if it was there. */
bool capture_unpark(struct capture *c, int ifindex);
/* Removes the parked qdiscs that hold no filter now. */
void capture_destroy_parked(struct capture *c);
/* Removes the wstrace filters whose owner is gone (at start). */
void capture_remove_orphans(struct capture *c);

/* capture_tls.c */
/* Loads the TLS programs on the packet programs' ring buffer and ports, and
 * attaches them to the OpenSSL libraries found. 0 (also when there is no
 * library: nothing to attach) or -errno, reported. */
int capture_tls_open(struct capture *c, const struct capture_opts *opts);
void capture_tls_close(struct capture *c);
/* Attaches the socket syscall hook once an SSL call was seen (called at
 * every poll of the ring: one load until then). */
void capture_tls_poll(struct capture *c);
/* capture_owner.c */
/* Before load: which socket owner programs to load (want: any). */
void capture_owner_configure(struct capture *c, bool want);
/* After load: attaches them; on failure says so and goes on without. */
int capture_owner_attach(struct capture *c);
void capture_owner_detach(struct capture *c);

/* capture_ifaces.c */
/* Attaches to the interfaces of opts (at start). 0 or -errno, reported. */
int capture_attach_start(struct capture *c, const struct capture_opts *opts);
/* Detaches from every interface and forgets them (at exit). */
void capture_detach_all(struct capture *c);

#endif /* WST_CAPTURE_INTERNAL_H */
