// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ws_deflate.c - permessage-deflate decompression, RFC 7692 section 7.2.2,
 * over zlib raw inflate. Output goes through a fixed stack buffer to the
 * caller's sink, so memory use does not depend on the message.
 */
#include <errno.h>
#include <string.h>

#include "ws_deflate.h"

#define WS_DEFLATE_OUT_CHUNK 4096

static const uint8_t ws_deflate_tail[4] = { 0x00, 0x00, 0xff, 0xff };

const char *ws_deflate_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case WS_DEFLATE_OK: return "ok";
	case WS_DEFLATE_E_DATA: return "corrupt deflate data";
	case WS_DEFLATE_E_TOO_BIG: return "inflated message too big";
	case WS_DEFLATE_E_NOMEM: return "out of memory";
	case WS_DEFLATE_E_STATE: return "inflater not usable";
	case EINVAL: return "invalid window bits";
	}
	return "unknown";
}

int ws_deflate_init(struct ws_deflate *z, int window_bits,
		    bool no_context_takeover, size_t max_out)
{
	memset(z, 0, sizeof(*z));
	if (window_bits == 0)
		window_bits = 15;
	if (window_bits < 8 || window_bits > 15)
		return -EINVAL;
	/* zlib's raw inflate wants 9..15; a 9-bit window decodes 8-bit data. */
	if (window_bits == 8)
		window_bits = 9;
	z->window_bits = window_bits;
	z->no_context_takeover = no_context_takeover;
	z->max_out = max_out ? max_out : WS_DEFLATE_DEFAULT_MAX_OUT;
	if (inflateInit2(&z->zs, -window_bits) != Z_OK)
		return -WS_DEFLATE_E_NOMEM;
	z->ready = true;
	return 0;
}

void ws_deflate_free(struct ws_deflate *z)
{
	if (z->ready)
		inflateEnd(&z->zs);
	z->ready = false;
}

int ws_deflate_reset(struct ws_deflate *z)
{
	if (!z->ready)
		return -WS_DEFLATE_E_STATE;
	if (inflateReset(&z->zs) != Z_OK)
		return -WS_DEFLATE_E_STATE;
	/* A failed message may leave input pending that points at a buffer
	 * gone since (the 00 00 ff ff tail lives on a stack frame). */
	z->zs.next_in = NULL;
	z->zs.avail_in = 0;
	z->failed = false;
	z->stream_end = false;
	return 0;
}

int ws_deflate_begin(struct ws_deflate *z)
{
	if (!z->ready)
		return -WS_DEFLATE_E_STATE;
	z->msg_out = 0;
	z->msg_in = 0;
	if (z->no_context_takeover || z->failed)
		return ws_deflate_reset(z);
	if (z->stream_end) {
		/* RFC 7692 7.2.3.4: a BFINAL block ends the stream, but with
		 * context takeover the next message may still refer to
		 * earlier data: start a new stream over the same window. */
		uint8_t dict[1 << 15];
		uInt dlen = sizeof(dict);

		if (inflateGetDictionary(&z->zs, dict, &dlen) != Z_OK)
			dlen = 0;
		if (ws_deflate_reset(z))
			return -WS_DEFLATE_E_STATE;
		if (dlen && inflateSetDictionary(&z->zs, dict, dlen) != Z_OK)
			return -WS_DEFLATE_E_STATE;
	}
	return 0;
}

static int run(struct ws_deflate *z, const uint8_t *in, size_t len,
	       ws_deflate_sink_fn sink, void *ctx)
{
	uint8_t out[WS_DEFLATE_OUT_CHUNK];

	if (!z->ready || z->failed)
		return -WS_DEFLATE_E_STATE;
	z->msg_in += len;
	/* z_stream counts in uInt: feed very large inputs in slices. */
	while (len > 0 || z->zs.avail_in > 0) {
		size_t slice = len > (1u << 30) ? (1u << 30) : len;
		int ret;

		if (z->zs.avail_in == 0) {
			z->zs.next_in = (Bytef *)in; /* zlib doesn't write it */
			z->zs.avail_in = (uInt)slice;
			in += slice;
			len -= slice;
		}
		do {
			size_t produced, room = z->max_out - z->msg_out;

			if (z->stream_end) {
				/* Bytes after the final block are ignored. */
				z->zs.avail_in = 0;
				break;
			}
			z->zs.next_out = out;
			z->zs.avail_out = sizeof(out);
			ret = inflate(&z->zs, Z_SYNC_FLUSH);
			if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR ||
			    ret == Z_STREAM_ERROR) {
				z->failed = true;
				return -WS_DEFLATE_E_DATA;
			}
			if (ret == Z_MEM_ERROR) {
				z->failed = true;
				return -WS_DEFLATE_E_NOMEM;
			}
			if (ret == Z_STREAM_END)
				z->stream_end = true;
			produced = sizeof(out) - z->zs.avail_out;
			if (produced > room) {
				if (sink && room)
					sink(ctx, out, room);
				z->msg_out += room;
				/* The window now holds bytes never delivered
				 * and the input is half consumed. */
				z->failed = true;
				z->zs.avail_in = 0;
				return -WS_DEFLATE_E_TOO_BIG;
			}
			if (sink && produced)
				sink(ctx, out, produced);
			z->msg_out += produced;
			/* Z_BUF_ERROR: no progress possible, needs input. */
			if (ret == Z_BUF_ERROR) {
				if (z->zs.avail_in > 0) {
					z->failed = true;
					return -WS_DEFLATE_E_DATA;
				}
				break;
			}
		} while (z->zs.avail_out == 0 || z->zs.avail_in > 0);
	}
	return 0;
}

int ws_deflate_inflate(struct ws_deflate *z, const uint8_t *in, size_t len,
		       ws_deflate_sink_fn sink, void *ctx)
{
	return run(z, in, len, sink, ctx);
}

int ws_deflate_end(struct ws_deflate *z, ws_deflate_sink_fn sink, void *ctx)
{
	if (z->stream_end)
		return 0;
	return run(z, ws_deflate_tail, sizeof(ws_deflate_tail), sink, ctx);
}
