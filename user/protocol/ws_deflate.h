/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ws_deflate.h - permessage-deflate (RFC 7692) decompression of one
 * direction: raw DEFLATE, the 0x00 0x00 0xff 0xff tail appended at each
 * message end (7.2.2), the LZ77 window kept across messages unless
 * no_context_takeover applies to the sender, an output cap per message.
 */
#ifndef WST_WS_DEFLATE_H
#define WST_WS_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

/* Named errors, returned negated. */
enum ws_deflate_err {
	WS_DEFLATE_OK = 0,
	WS_DEFLATE_E_DATA = 1,    /* corrupt DEFLATE data */
	WS_DEFLATE_E_TOO_BIG = 2, /* the message inflates beyond max_out */
	WS_DEFLATE_E_NOMEM = 3,
	WS_DEFLATE_E_STATE = 4,   /* not initialised, or failed earlier */
};

#define WS_DEFLATE_DEFAULT_MAX_OUT (1u << 20)

/* Receives inflated bytes, in order, in pieces. */
typedef void (*ws_deflate_sink_fn)(void *ctx, const uint8_t *data, size_t len);

struct ws_deflate {
	z_stream zs;
	bool ready;               /* zs initialised */
	bool failed;              /* an error left zs unusable for this message */
	bool stream_end;          /* a BFINAL block ended the DEFLATE stream */
	bool no_context_takeover;
	int window_bits;          /* as used by zlib: 9..15 */
	size_t max_out;           /* per message; 0 means the default */
	uint64_t msg_out;         /* bytes inflated in the current message */
	uint64_t msg_in;          /* bytes fed in the current message */
};

/*
 * window_bits: the sender's LZ77 window (server_max_window_bits for server
 * frames, client_max_window_bits for client frames), 8..15; 0 means 15.
 * zlib cannot inflate with 8, and 9 is a superset, so 8 becomes 9.
 * Returns 0, -WS_DEFLATE_E_NOMEM, or -EINVAL for bits out of range.
 */
int ws_deflate_init(struct ws_deflate *z, int window_bits,
		    bool no_context_takeover, size_t max_out);

/* Starts a message: resets the window if context takeover is off, or if
 * the previous message ended the DEFLATE stream (BFINAL). */
int ws_deflate_begin(struct ws_deflate *z);

/*
 * Inflates len compressed bytes of the current message, handing output to
 * sink. Returns 0, -WS_DEFLATE_E_DATA, or -WS_DEFLATE_E_TOO_BIG (output
 * up to max_out was delivered, the rest of the message is not inflated).
 */
int ws_deflate_inflate(struct ws_deflate *z, const uint8_t *in, size_t len,
		       ws_deflate_sink_fn sink, void *ctx);

/* Ends the message: feeds the 0x00 0x00 0xff 0xff tail (RFC 7692 7.2.2). */
int ws_deflate_end(struct ws_deflate *z, ws_deflate_sink_fn sink, void *ctx);

/* Drops the window (fresh stream). */
int ws_deflate_reset(struct ws_deflate *z);

void ws_deflate_free(struct ws_deflate *z);

const char *ws_deflate_strerror(int err);

#endif /* WST_WS_DEFLATE_H */
