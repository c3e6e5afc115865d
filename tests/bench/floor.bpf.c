// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * floor.bpf.c - the least a capture's BPF side can cost on this machine,
 * for the benchmark (floor.c loads one program of each kind):
 *
 *   floor_tc_copy    what any capture that hands each packet to user space
 *                    through a ring buffer does: a timestamp, the first 128
 *                    bytes of the packet, one ring record (no wakeup);
 *   floor_tc_load    the same without the record (records batched for free).
 *
 * (wss's syscall hook is not part of the floor of a plain ws load: wstrace
 * attaches it only once an SSL call is made.)
 *
 * No parsing, no port check, no counters: wstrace's own programs do more.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define FLOOR_TC_ACT_UNSPEC (-1)
#define FLOOR_BYTES 128

struct floor_rec {
	__u64 ts_ns;
	__u8 bytes[FLOOR_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} floor_ring SEC(".maps");

/* A timestamp and the packet's first bytes on the stack: their length. */
static __always_inline __u64 floor_load(struct __sk_buff *skb, struct floor_rec *r)
{
	__u64 len = skb->len;

	/* Verifier: the bound checked where the helper uses it. */
	asm volatile("" : "+r"(len));
	if (len > FLOOR_BYTES)
		len = FLOOR_BYTES;
	asm volatile("" : "+r"(len));
	if (len == 0 || len > FLOOR_BYTES)
		return 0;
	r->ts_ns = bpf_ktime_get_ns();
	if (bpf_skb_load_bytes(skb, 0, r->bytes, len) < 0)
		return 0;
	return len;
}

SEC("tc")
int floor_tc_copy(struct __sk_buff *skb)
{
	struct floor_rec r;
	__u64 len = floor_load(skb, &r);

	if (len && len <= FLOOR_BYTES)
		bpf_ringbuf_output(&floor_ring, &r, sizeof(r.ts_ns) + len, BPF_RB_NO_WAKEUP);
	return FLOOR_TC_ACT_UNSPEC;
}

SEC("tc")
int floor_tc_load(struct __sk_buff *skb)
{
	struct floor_rec r;

	floor_load(skb, &r);
	/* Keeps the compiler from dropping the loads nothing reads. */
	asm volatile("" : : "r"(&r) : "memory");
	return FLOOR_TC_ACT_UNSPEC;
}
