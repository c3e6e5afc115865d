/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pcap_sink.h - writes captured packets to a pcap file for Wireshark
 * (`wstrace -w FILE`).
 *
 * A record holds no link or IP header, so each packet is written as
 * LINKTYPE_RAW with a synthesized IPv4 or IPv6 header and a 20-byte TCP
 * header (options are not kept), nanosecond timestamps. A payload cut by
 * the snapshot length shows as a truncated frame, as with tcpdump -s.
 */
#ifndef WST_PCAP_SINK_H
#define WST_PCAP_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "core/packet.h"

struct pcap_sink;

/*
 * Creates (truncates) path, "-" = standard output. Returns 0, or a
 * negative errno with a message naming the file in err.
 */
int pcap_sink_open(struct pcap_sink **out, const char *path, char *err,
		   size_t errlen);

/*
 * Appends one packet. Returns 0, -EINVAL for a record that cannot be
 * written (family not 4 or 6, cap_len larger than payload_len or
 * WST_MAX_SNAPLEN), or the write error (a negative errno, -ENOSPC for a
 * full disk), now and for every packet after it.
 */
int pcap_sink_write(struct pcap_sink *s, const struct wst_packet *pkt);

/* Pushes buffered packets to the file: 0 or the write error. */
int pcap_sink_flush(struct pcap_sink *s);

/* The first write error (a negative errno), or 0. */
int pcap_sink_error(const struct pcap_sink *s);

/*
 * Packets not written: stdio writes a buffer of packets at once, so when
 * that fails, every packet since the last good flush is counted, and
 * every packet after it.
 */
uint64_t pcap_sink_failed(const struct pcap_sink *s);

/*
 * Flushes and closes (s may be NULL). Returns the first write error, the
 * last flush's included, or 0; *failed (if not NULL) gets the final
 * pcap_sink_failed().
 */
int pcap_sink_close(struct pcap_sink *s, uint64_t *failed);

#endif /* WST_PCAP_SINK_H */
