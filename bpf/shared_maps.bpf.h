/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The maps every wstrace BPF object uses alike: the packet programs
 * (wstrace.bpf.c) create them, the TLS programs (tls.bpf.c) are handed the
 * same ones before load (bpf_map__reuse_fd), so one ring buffer keeps the
 * order of packets and plaintext and one port set filters both.
 */
#ifndef WST_SHARED_MAPS_BPF_H
#define WST_SHARED_MAPS_BPF_H

/* 0 = wake user space on every record; else once this much is queued. */
const volatile __u32 wakeup_bytes = 0;

/* Watched ports: nonzero = watched. User space changes it at run time. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} ports SEC(".maps");

/* Sized by user space before load (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

#endif
