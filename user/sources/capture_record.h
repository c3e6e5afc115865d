/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * capture_record.h - the check of one ring buffer record before any of its
 * fields is trusted. Pure (no libbpf), so tests and fuzzers use it alone.
 */
#ifndef WST_CAPTURE_RECORD_H
#define WST_CAPTURE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "core/packet.h"

/*
 * Checks one ring buffer record of size bytes and builds the packet
 * (payload points into data, realtime = monotonic + offset).
 * 0 or -EINVAL.
 */
int capture_parse_record(const void *data, size_t size, int64_t mono_to_real_ns,
			 struct wst_packet *pkt);

/*
 * Checks one TLS plaintext record (WST_REC_TLS_DATA or WST_REC_TLS_FREE)
 * of size bytes and builds pt (data points into the record). 0 or -EINVAL.
 */
int capture_parse_tls_record(const void *data, size_t size, int64_t mono_to_real_ns,
			     struct wst_plaintext *pt);

#endif /* WST_CAPTURE_RECORD_H */
