/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * clsact.h - clsact qdiscs and the filters in them (rtnetlink dumps), and
 * which wstrace process owns which filter.
 *
 * Every wstrace filter sits at priority CLSACT_PRIO; each process gets a
 * handle of its own, claimed by binding an abstract unix socket named after
 * it. The kernel releases the name when the process dies however it dies, so
 * "nobody holds the name" means "the filter's owner is gone". Abstract names
 * live in the network namespace, the same scope as the devices and their
 * filters; unlike a scan of /proc they see owners in other PID namespaces
 * (a container on the host network, a unit with ProtectProc=invisible) and
 * cannot be fooled by a reused PID.
 */
#ifndef WST_CLSACT_H
#define WST_CLSACT_H

#include <stdbool.h>
#include <stdint.h>

/* The priority of every wstrace filter; 0x7773 is "ws". */
#define CLSACT_PRIO 0x7773
/* Handles CLSACT_HANDLE_BASE + 1 ... + CLSACT_MAX_INSTANCES. */
#define CLSACT_HANDLE_BASE 0x77730000u
#define CLSACT_MAX_INSTANCES 4096

struct clsact_filter {
	uint32_t handle;
	uint32_t prio;
	uint32_t prog_id; /* bpf filters; 0 for others */
	bool bpf;
};

/* Devices with a clsact qdisc: count (ifindexes in *out, malloc'd) or -errno. */
int clsact_qdiscs(int **out);
/* Filters on one hook of ifindex's clsact qdisc: count (up to max) or -errno. */
int clsact_filters(int ifindex, bool ingress, struct clsact_filter *out, int max);
/* A wstrace filter: bpf at CLSACT_PRIO. */
bool clsact_is_wstrace(const struct clsact_filter *f);

/*
 * The namespace-wide lock around wstrace's clsact changes (a qdisc must not
 * be removed as empty while another instance is adding its filter). Waits
 * up to timeout_ms: the lock's fd (close it to unlock) or -ETIMEDOUT.
 */
int clsact_lock(int timeout_ms);
/* Claims a free handle for this process: the fd that holds it, or -errno. */
int clsact_claim(uint32_t *handle);
/* Whether a live process holds handle (true when it cannot tell). */
bool clsact_claimed(uint32_t handle);

#endif /* WST_CLSACT_H */
