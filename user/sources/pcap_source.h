/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pcap_source.h - reads a pcap or pcapng capture file into the same
 * struct wst_packet the ring buffer consumer produces (`wstrace -r FILE`).
 *
 * Only TCP packets come out; every other frame is skipped and counted.
 * No port filtering here: the caller filters.
 */
#ifndef WST_PCAP_SOURCE_H
#define WST_PCAP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/packet.h"

struct pcap_source;

struct pcap_source_stats {
	uint64_t frames;    /* frames read from the file */
	uint64_t tcp;       /* returned as packets */
	uint64_t not_tcp;   /* not IP or not TCP (ARP, UDP, ICMP...) */
	uint64_t truncated; /* a header cut by the snapshot length */
	uint64_t malformed; /* bogus IP or TCP header */
	uint64_t fragments; /* IP fragments (not reassembled) */
};

/*
 * Opens a pcap or pcapng file ("-" = standard input). Returns 0, or a
 * negative errno with a message naming the file in err: -ENOENT, -EACCES,
 * -EISDIR..., -EINVAL (not a capture file, or corrupt header),
 * -EPROTONOSUPPORT (link type not supported; the message names it).
 */
int pcap_source_open(struct pcap_source **out, const char *path, char *err,
		     size_t errlen);

/*
 * The same on an open stream (a memory image from fmemopen(), a pipe),
 * which the source owns from then on, also on failure; name is for
 * messages.
 */
int pcap_source_open_stream(struct pcap_source **out, FILE *f, const char *name,
			    char *err, size_t errlen);

/*
 * Next TCP packet: 1 and *out filled (ts_ns in CLOCK_REALTIME ns, the
 * payload valid until the next call), 0 at end of file, or -EIO when the
 * file is corrupt or cut in the middle of a record (pcap_source_error()
 * tells why; the packets before it were returned).
 */
int pcap_source_next(struct pcap_source *s, struct wst_packet *out);

/* Text of the last error of pcap_source_next(), "" if none. */
const char *pcap_source_error(const struct pcap_source *s);

void pcap_source_stats(const struct pcap_source *s,
		       struct pcap_source_stats *out);

/* The file's link type (DLT_ value as libpcap reports it). */
int pcap_source_linktype(const struct pcap_source *s);

/*
 * Whether the next records are taken in place from a mapping of the file
 * (a regular classic pcap file) rather than read by libpcap.
 */
bool pcap_source_in_place(const struct pcap_source *s);

void pcap_source_close(struct pcap_source *s);

#endif /* WST_PCAP_SOURCE_H */
