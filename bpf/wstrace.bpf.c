// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * wstrace.bpf.c - TC programs that copy packets of watched TCP ports into a
 * ring buffer. They never alter or drop traffic: every path returns
 * TC_ACT_UNSPEC, which is TCX_NEXT under tcx and "continue with the next
 * filter" under a clsact direct-action filter, so other programs still run.
 * tc_ingress/tc_egress are attached as tcx links, cls_ingress/cls_egress as
 * clsact filters; they differ only while a reload switches modes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "wstrace.h"
#include "parse.bpf.h"
#include "handoff.bpf.h"

#define WST_TC_ACT_UNSPEC (-1)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set through skel->rodata before load. 0 = whole packet. */
const volatile __u32 snaplen = 0;
#include "shared_maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wst_counters);
} counters SEC(".maps");

/*
 * Connections the filters leave out (user space adds both directions when
 * their server has accepted them), looked up only while owner_filter is
 * set, so without --pid/--comm/--cgroup a packet costs one more load.
 * LRU: entries of connections gone make room; a SYN on a tuple removes it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct wst_skip_key);
	__type(value, __u8);
} skip_flows SEC(".maps");

/* The reverse direction's key, built off the stack (only on a SYN). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wst_skip_key);
} skip_scratch SEC(".maps");

/* Nonzero while --pid, --comm or --cgroup are set: skip_flows is used. */
__u32 owner_filter = 0;

/* Records with at most this much payload are built whole, then copied. */
#define WST_SMALL_CAP 256

/*
 * A small record is built on the (cache-hot) stack: bpf_ringbuf_output()
 * takes a variable size, so the ring space is the record's own (a size class
 * of bpf_ringbuf_reserve would round 70 payload bytes up to 128).
 */
struct wst_small {
	struct wst_record rec;
	__u8 payload[WST_SMALL_CAP];
};

/* Last forced wakeup (bpf_ktime_get_ns); racy updates are harmless. */
__u64 last_wakeup_ns = 0;

/* Keeps the compiler from dropping a bounds check the verifier needs. */
#define wst_barrier_var(v) asm volatile("" : "+r"(v))

/* Fewer forced wakeups than this apart: one raises an IPI per record. */
#define WST_WAKEUP_GAP_NS 1000000

static __always_inline int wst_port_watched(__u16 port)
{
	__u32 key = port;
	__u8 *w = bpf_map_lookup_elem(&ports, &key);

	return w && *w;
}

static __always_inline __u64 wst_wakeup_flags(__u64 now)
{
	if (!wakeup_bytes)
		return 0;
	/* Batch wakeups as the kernel's ring buffer benchmark does. */
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	/*
	 * Past the threshold, a forced wakeup on every record costs an IPI
	 * each while user space catches up (the irq_work runs, and is queued
	 * again by the next record): one a millisecond is enough to wake it.
	 */
	if (now - last_wakeup_ns < WST_WAKEUP_GAP_NS)
		return BPF_RB_NO_WAKEUP;
	last_wakeup_ns = now;
	return BPF_RB_FORCE_WAKEUP;
}

/*
 * Reserves a record with room for `room` payload bytes (a constant: the
 * verifier needs the reserve size known) and loads cap payload bytes straight
 * into it from the skb, so large payloads are copied once.
 */
static __always_inline void wst_emit(struct __sk_buff *skb,
				     const struct wst_record *rec,
				     __u32 payload_off, __u32 cap,
				     struct wst_counters *cnt, const __u32 room)
{
	struct wst_record *r;
	__u64 len = cap;

	r = bpf_ringbuf_reserve(&events, sizeof(*r) + room, 0);
	if (!r) {
		cnt->v[WST_CNT_RINGBUF_FULL]++;
		return;
	}
	__builtin_memcpy(r, rec, sizeof(*r));
	/*
	 * Verifier: re-check len against this size class right here, in two
	 * separate tests, so the compiler cannot fold them into one
	 * "len - 1 < room" on a copy the verifier does not link to len.
	 */
	wst_barrier_var(len);
	if (len > room) {
		bpf_ringbuf_discard(r, 0);
		return;
	}
	wst_barrier_var(len);
	if (len == 0) {
		bpf_ringbuf_discard(r, 0);
		return;
	}
	if (bpf_skb_load_bytes(skb, payload_off, (void *)(r + 1), len) < 0) {
		cnt->v[WST_CNT_LOAD_ERRORS]++;
		bpf_ringbuf_discard(r, 0);
		return;
	}
	if (cap < rec->payload_len)
		cnt->v[WST_CNT_TRUNCATED]++;
	bpf_ringbuf_submit(r, wst_wakeup_flags(rec->ts_ns));
}

/* A small record, built in sm, copied into the ring at its exact size. */
static __always_inline void wst_emit_small(struct __sk_buff *skb,
					   struct wst_small *sm,
					   __u32 payload_off, __u32 cap,
					   struct wst_counters *cnt)
{
	__u64 len = cap;

	/* Verifier: bound len where it is used (see wst_emit). */
	wst_barrier_var(len);
	if (len > WST_SMALL_CAP)
		return;
	/*
	 * Verifier: a helper's write of a bounded size marks the stack up to
	 * the bound written, so the output below reads no uninitialised slot.
	 */
	if (len &&
	    bpf_skb_load_bytes(skb, payload_off, sm->payload, len) < 0) {
		cnt->v[WST_CNT_LOAD_ERRORS]++;
		return;
	}
	if (bpf_ringbuf_output(&events, sm, sizeof(sm->rec) + len,
			       wst_wakeup_flags(sm->rec.ts_ns)) < 0)
		cnt->v[WST_CNT_RINGBUF_FULL]++;
	else if (cap < sm->rec.payload_len)
		cnt->v[WST_CNT_TRUNCATED]++;
}

static __always_inline void wst_emit_sized(struct __sk_buff *skb,
					   struct wst_small *sm,
					   __u32 payload_off, __u32 cap,
					   struct wst_counters *cnt)
{
	if (cap <= WST_SMALL_CAP)
		wst_emit_small(skb, sm, payload_off, cap, cnt);
	else if (cap <= 512)
		wst_emit(skb, &sm->rec, payload_off, cap, cnt, 512);
	else if (cap <= 1024)
		wst_emit(skb, &sm->rec, payload_off, cap, cnt, 1024);
	else if (cap <= 2048)
		wst_emit(skb, &sm->rec, payload_off, cap, cnt, 2048);
	else if (cap <= 4096)
		wst_emit(skb, &sm->rec, payload_off, cap, cnt, 4096);
	else if (cap <= 8192)
		wst_emit(skb, &sm->rec, payload_off, cap, cnt, 8192);
	else if (cap <= 16384)
		wst_emit(skb, &sm->rec, payload_off, cap, cnt, 16384);
	else if (cap <= 32768)
		wst_emit(skb, &sm->rec, payload_off, cap, cnt, 32768);
	else
		wst_emit(skb, &sm->rec, payload_off, cap, cnt, WST_MAX_SNAPLEN);
}

/*
 * Whether rec's connection is left out by the filters. A SYN without ACK
 * starts a new connection on the tuple: its entries go (both directions),
 * and its server decides again when it accepts.
 */
static __always_inline int wst_skipped(const struct wst_record *rec)
{
	const struct wst_skip_key *k = (const void *)rec->saddr;
	struct wst_skip_key *rev;
	__u32 zero = 0;

	if ((rec->tcp_flags & (WST_TCP_SYN | WST_TCP_ACK)) != WST_TCP_SYN)
		return bpf_map_lookup_elem(&skip_flows, k) != NULL;
	if (bpf_map_delete_elem(&skip_flows, k) == 0) {
		rev = bpf_map_lookup_elem(&skip_scratch, &zero);
		if (rev) {
			__builtin_memcpy(rev->saddr, rec->daddr, 16);
			__builtin_memcpy(rev->daddr, rec->saddr, 16);
			rev->sport = rec->dport;
			rev->dport = rec->sport;
			bpf_map_delete_elem(&skip_flows, rev);
		}
	}
	return 0;
}

static __always_inline void wst_count_flags(struct wst_counters *cnt, __u8 flags)
{
	if ((flags & (WST_TCP_SYN | WST_TCP_ACK)) == WST_TCP_SYN)
		cnt->v[WST_CNT_SYN]++;
	else if ((flags & (WST_TCP_SYN | WST_TCP_ACK)) ==
		 (WST_TCP_SYN | WST_TCP_ACK))
		cnt->v[WST_CNT_SYNACK]++;
	if (flags & WST_TCP_FIN)
		cnt->v[WST_CNT_FIN]++;
	if (flags & WST_TCP_RST)
		cnt->v[WST_CNT_RST]++;
}

/*
 * The loading parsers, for what wst_parse_direct() leaves: WST_PARSE_OK,
 * WST_PARSE_FRAG (ports filled) or WST_PARSE_SKIP.
 */
static __attribute__((noinline)) int wst_parse_slow(struct __sk_buff *skb,
						    struct wst_pkt_info *pi,
						    struct wst_record *rec)
{
	__u16 proto;
	int res;

	proto = wst_parse_l2(skb, &pi->l3_off);
	if (proto == WST_ETH_P_IP)
		res = wst_parse_ipv4(skb, pi, rec);
	else if (proto == WST_ETH_P_IPV6)
		res = wst_parse_ipv6(skb, pi, rec);
	else
		return WST_PARSE_SKIP;
	if (res == WST_PARSE_FRAG)
		return wst_parse_frag_ports(skb, pi, rec);
	if (res != WST_PARSE_OK)
		return WST_PARSE_SKIP;
	return wst_parse_tcp(skb, pi, rec) < 0 ? WST_PARSE_SKIP : WST_PARSE_OK;
}

static __always_inline int wst_capture(struct __sk_buff *skb, __u8 dir)
{
	struct wst_pkt_info pi = {};
	struct wst_small sm;
	struct wst_record *rec = &sm.rec;
	struct wst_counters *cnt;
	__u32 key = 0, limit, cap;
	__u16 lo_port, hi_port;
	int res;

	__builtin_memset(rec, 0, sizeof(*rec));

	res = wst_parse_direct(skb, &pi, rec);
	if (res == WST_PARSE_SLOW)
		res = wst_parse_slow(skb, &pi, rec);
	if (res == WST_PARSE_SKIP)
		return WST_TC_ACT_UNSPEC;
	/*
	 * The lower port first: usually the server's, on a hot line of the
	 * port map, where the client's ephemeral port is a line of its own.
	 */
	lo_port = rec->sport < rec->dport ? rec->sport : rec->dport;
	hi_port = rec->sport ^ rec->dport ^ lo_port;
	if (!wst_port_watched(lo_port) && !wst_port_watched(hi_port))
		return WST_TC_ACT_UNSPEC;

	cnt = bpf_map_lookup_elem(&counters, &key);
	if (!cnt)
		return WST_TC_ACT_UNSPEC;
	if (res == WST_PARSE_FRAG) {
		/* Part of a segment, not a packet: counted, never a record. */
		cnt->v[WST_CNT_FRAGMENTS]++;
		return WST_TC_ACT_UNSPEC;
	}
	/* Per-CPU map: plain increments, no atomics needed. */
	cnt->v[WST_CNT_PKTS_INGRESS + dir]++;
	cnt->v[WST_CNT_BYTES_INGRESS + dir] += skb->len - pi.l3_off;
	wst_count_flags(cnt, rec->tcp_flags);
	if (owner_filter && wst_skipped(rec)) {
		cnt->v[WST_CNT_FILTERED]++;
		return WST_TC_ACT_UNSPEC;
	}

	limit = snaplen;
	if (limit == 0 || limit > WST_MAX_SNAPLEN)
		limit = WST_MAX_SNAPLEN;
	cap = pi.payload_len < limit ? pi.payload_len : limit;

	rec->version = WST_RECORD_VERSION;
	rec->kind = WST_REC_PACKET;
	rec->hdr_len = sizeof(*rec);
	rec->ifindex = skb->ifindex;
	rec->ts_ns = bpf_ktime_get_ns();
	rec->dir = dir;
	rec->payload_len = pi.payload_len;
	rec->cap_len = cap;
	wst_emit_sized(skb, &sm, pi.payload_off, cap, cnt);
	return WST_TC_ACT_UNSPEC;
}

/* As a tcx link: records unless idle; notes it while a switch runs. */
static __always_inline int wst_tcx(struct __sk_buff *skb, __u8 dir)
{
	__u32 idle = tcx_idle;

	if (handoff)
		wst_handoff_note(dir, skb->ifindex, !idle);
	if (idle)
		return WST_TC_ACT_UNSPEC;
	return wst_capture(skb, dir);
}

/* As a clsact filter: records unless our tcx link did in this same pass. */
static __always_inline int wst_cls(struct __sk_buff *skb, __u8 dir)
{
	if (handoff && wst_handoff_taken(dir, skb->ifindex))
		return WST_TC_ACT_UNSPEC;
	return wst_capture(skb, dir);
}

#include "sock_owner.bpf.h"

/* Attached as tcx links. */
SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	return wst_tcx(skb, WST_DIR_INGRESS);
}

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	return wst_tcx(skb, WST_DIR_EGRESS);
}

/* Attached as clsact direct-action filters. */
SEC("tc")
int cls_ingress(struct __sk_buff *skb)
{
	return wst_cls(skb, WST_DIR_INGRESS);
}

SEC("tc")
int cls_egress(struct __sk_buff *skb)
{
	return wst_cls(skb, WST_DIR_EGRESS);
}
