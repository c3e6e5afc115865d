// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* capture_record.c - the ring buffer record check (see capture_record.h). */
#include <errno.h>
#include <string.h>

#include "capture_record.h"

int capture_parse_record(const void *data, size_t size, int64_t mono_to_real_ns,
			 struct wst_packet *pkt)
{
	const struct wst_record *r = data;

	/* Size first: no field is read before it is known to be there. */
	if (size < sizeof(*r))
		return -EINVAL;
	if (r->version != WST_RECORD_VERSION || r->kind != WST_REC_PACKET ||
	    r->hdr_len != sizeof(*r))
		return -EINVAL;
	if (size - sizeof(*r) < r->cap_len || r->cap_len > r->payload_len)
		return -EINVAL;
	if (r->family != 4 && r->family != 6)
		return -EINVAL;
	if (r->dir != WST_DIR_INGRESS && r->dir != WST_DIR_EGRESS)
		return -EINVAL;
	memcpy(&pkt->r, r, sizeof(*r));
	pkt->r.ts_ns = (uint64_t)((int64_t)r->ts_ns + mono_to_real_ns);
	pkt->payload = (const uint8_t *)data + sizeof(*r);
	return 0;
}

int capture_parse_tls_record(const void *data, size_t size, int64_t mono_to_real_ns,
			     struct wst_plaintext *pt)
{
	const struct wst_tls_rec *r = data;

	if (size < sizeof(*r))
		return -EINVAL;
	if (r->version != WST_RECORD_VERSION || r->hdr_len != sizeof(*r) ||
	    (r->kind != WST_REC_TLS_DATA && r->kind != WST_REC_TLS_FREE))
		return -EINVAL;
	if (r->cap_len > WST_TLS_CHUNK || size - sizeof(*r) < r->cap_len)
		return -EINVAL;
	if (r->dir != WST_TLS_READ && r->dir != WST_TLS_WRITE)
		return -EINVAL;
	if (r->src > WST_TLS_SRC_NEXT_WRITE)
		return -EINVAL;
	/* A known socket has an IP tuple; an unknown one none. */
	if (r->src != WST_TLS_SRC_NONE ? r->tuple.family != 4 && r->tuple.family != 6
				       : r->tuple.family != 0)
		return -EINVAL;
	if (r->kind == WST_REC_TLS_FREE && (r->cap_len || r->flags))
		return -EINVAL;
	if ((r->flags & WST_TLS_F_MAP) && (r->cap_len || r->src == WST_TLS_SRC_NONE))
		return -EINVAL;
	if (r->kind == WST_REC_TLS_DATA && !(r->flags & WST_TLS_F_MAP) &&
	    (!r->cap_len || r->cap_len > r->call_len))
		return -EINVAL;
	memcpy(&pt->r, r, sizeof(*r));
	pt->r.ts_ns = (uint64_t)((int64_t)r->ts_ns + mono_to_real_ns);
	pt->data = (const uint8_t *)data + sizeof(*r);
	return 0;
}
