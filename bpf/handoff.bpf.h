/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * handoff.bpf.h - which of our two programs on one hook records a packet
 * while a reload switches that hook between tcx and clsact (kernel only).
 *
 * During the switch both are attached. In one pass through a hook the tcx
 * programs run first, then (if they all say "next") the clsact filters, on
 * the same CPU with bottom halves off, so nothing else runs on that CPU's
 * hooks in between. A flag both read cannot make the choice alone: user
 * space may flip it between the two reads. So the tcx program, which runs
 * first, writes down per CPU what it decided, and the clsact program of the
 * same pass reads that and records the packet only if tcx did not.
 *
 * user/sources/capture.c drives the states (capture_reconfigure); its comment there
 * gives the order and the grace periods that keep every pass exact.
 */
#ifndef WST_HANDOFF_BPF_H
#define WST_HANDOFF_BPF_H

/* Passes per CPU and direction remembered; more than nested hooks can reach. */
#define WST_HANDOFF_SLOTS 8

/*
 * Set by user space through the skeleton's .bss. tcx_idle: the tcx
 * programs let packets pass unrecorded. handoff: tcx programs note their
 * decision, clsact programs read it. epoch: notes of an older epoch are
 * ignored (bumping it forgets every note at once).
 */
volatile __u32 tcx_idle = 0;
volatile __u32 handoff = 0;
volatile __u32 handoff_epoch = 0;

/* A note: ifindex in the high half, epoch << 1 | recorded in the low. */
struct wst_handoff_ring {
	__u64 note[WST_HANDOFF_SLOTS];
	__u32 next;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* enum wst_dir: ingress, egress */
	__type(key, __u32);
	__type(value, struct wst_handoff_ring);
} handoff_notes SEC(".maps");

/*
 * Updating an array of maps waits for every running BPF program to finish
 * (the kernel's maybe_wait_bpf_programs(); its selftests use it the same
 * way): user space stores an inner map here to wait for a grace period.
 */
struct wst_sync_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct wst_sync_inner);
} sync_rcu SEC(".maps");

static __always_inline __u64 wst_note(__u32 ifindex, __u32 epoch, __u32 recorded)
{
	return (__u64)ifindex << 32 | (__u32)(epoch << 1 | (recorded & 1));
}

/* tcx side: remember whether this pass was recorded. */
static __always_inline void wst_handoff_note(__u32 dir, __u32 ifindex, __u32 recorded)
{
	struct wst_handoff_ring *r = bpf_map_lookup_elem(&handoff_notes, &dir);
	__u32 i;

	if (!r)
		return;
	i = r->next & (WST_HANDOFF_SLOTS - 1);
	/* One 64-bit store: user space never sees half a note. */
	r->note[i] = wst_note(ifindex, handoff_epoch, recorded);
	r->next = i + 1;
}

/*
 * clsact side: 1 if the tcx program of this pass recorded the packet, else
 * 0. The newest note of this hook is this pass's own: a nested pass (a
 * packet another program redirects to a device's egress) notes and takes
 * its own before returning. The note is consumed.
 */
static __always_inline int wst_handoff_taken(__u32 dir, __u32 ifindex)
{
	struct wst_handoff_ring *r = bpf_map_lookup_elem(&handoff_notes, &dir);
	__u32 epoch = handoff_epoch, i, k;
	__u64 n;

	if (!r)
		return 0;
#pragma unroll
	for (k = 1; k <= WST_HANDOFF_SLOTS; k++) {
		i = (r->next - k) & (WST_HANDOFF_SLOTS - 1);
		n = r->note[i];
		if ((__u32)(n >> 32) != ifindex || ((__u32)n >> 1) != (epoch & 0x7fffffff))
			continue;
		r->note[i] = 0;
		return n & 1;
	}
	return 0;
}

#endif /* WST_HANDOFF_BPF_H */
