/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ws_message.h - RFC 6455 message assembly for one direction, on top of
 * ws_frame: fragmented messages (5.4) with interleaved control frames,
 * incremental UTF-8 validation of text (8.1), permessage-deflate (RFC 7692)
 * inflation, and an honest account of what could not be decoded.
 */
#ifndef WST_WS_MESSAGE_H
#define WST_WS_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utf8.h"
#include "ws_deflate.h"
#include "ws_frame.h"

/* What the decoder could not follow (not protocol errors). */
enum ws_loss {
	WS_LOSS_NONE = 0,
	WS_LOSS_GAP_IN_FRAME,    /* bytes missing inside a payload; detail: bytes */
	WS_LOSS_STREAM_LOST,     /* frame boundaries lost; detail: 0 */
	WS_LOSS_RESYNC,          /* found frames again; detail: bytes skipped */
	WS_LOSS_DEFLATE_CONTEXT, /* LZ77 window lost for good: later compressed
				  * messages of this direction can't be inflated */
	WS_LOSS_NOT_INFLATED,    /* a compressed message left compressed;
				  * detail: its wire length */
	WS_LOSS_MAX,
};

/* "gap_in_frame", "stream_lost", ... */
const char *ws_loss_name(enum ws_loss l);

struct ws_message_config {
	bool is_client_side;      /* client-to-server direction */
	/* permessage-deflate, as negotiated for the sender of this direction */
	bool deflate;
	bool no_context_takeover; /* {client,server}_no_context_takeover */
	int window_bits;          /* {client,server}_max_window_bits; 0 = 15 */
	size_t max_frame_capture; /* per-frame bytes for on_frame (0: none) */
	size_t max_message_capture; /* message bytes kept (0: none) */
	size_t max_inflate;       /* inflated bytes per message; 0 = 1 MiB */
	/* message_too_big when a message is longer: as soon as the lengths
	 * its frames declare add up to more (RFC 6455 10.4), or its
	 * inflated bytes do. 0 = no limit. */
	uint64_t max_message_len;
	uint64_t max_plausible_len; /* see struct ws_frame_config */
};

#define WS_MESSAGE_CAPTURE_LIMIT (64u << 20)

struct ws_message_info {
	uint8_t opcode;      /* WS_OP_TEXT, WS_OP_BINARY; WS_OP_CONT when the
			      * first frame was not seen or never sent */
	const uint8_t *data; /* first `kept` bytes, inflated if compressed;
			      * may be NULL when kept is 0 */
	size_t kept;
	/* Message length: for compressed messages the bytes inflated (0 if
	 * not inflated at all); a lower bound when incomplete or when
	 * inflation stopped early. */
	uint64_t total_len;
	uint64_t wire_len;   /* payload bytes of its frames on the wire */
	uint32_t frames;
	bool compressed;     /* RSV1 on the first frame, deflate negotiated */
	bool inflated;       /* compressed and inflated to the end */
	bool truncated;      /* data holds less than the whole message */
	bool incomplete;     /* some of its bytes were never seen (gap/loss) */
	/* Text: no invalid sequence in the bytes judged, and (when the whole
	 * text was seen) it ends on a code point. Always true for binary. */
	bool utf8_valid;
};

struct ws_control_info {
	const struct ws_frame_header *h;
	uint8_t opcode;           /* close, ping or pong */
	const uint8_t *payload;   /* unmasked */
	size_t len;
	bool truncated;           /* a gap hit the payload */
	bool in_fragmented_message; /* arrived between fragments (5.4) */
	/* close frames only (RFC 6455 5.5.1) */
	bool close_parsed;        /* payload complete and parsed */
	bool close_valid;         /* code and reason valid; 1005 if empty */
	uint16_t close_code;      /* WS_CLOSE_NO_STATUS when absent */
	const uint8_t *reason;
	size_t reason_len;
};

/* Every callback is optional. */
struct ws_message_callbacks {
	/* Each frame at its end, before the message/control callbacks. */
	void (*on_frame)(void *ctx, const struct ws_frame_header *h,
			 const uint8_t *payload, size_t kept, bool truncated);
	/* A frame cut short by the end of the stream (ws_message_decoder_end),
	 * instead of on_frame; see struct ws_frame_callbacks. */
	void (*on_frame_incomplete)(void *ctx, const struct ws_frame_header *h,
				    const uint8_t *payload, size_t kept,
				    uint64_t seen);
	void (*on_message)(void *ctx, const struct ws_message_info *m);
	void (*on_control)(void *ctx, const struct ws_control_info *c);
	void (*on_violation)(void *ctx, enum ws_violation v, uint64_t detail);
	void (*on_loss)(void *ctx, enum ws_loss l, uint64_t detail);
	void *ctx;
};

/* Messages of one small frame counted instead of called back (count_only). */
struct ws_message_tally {
	uint64_t frames, messages, bytes; /* bytes: payload */
};

/* Must not be moved after init: the frame decoder points back to it. */
struct ws_message_decoder {
	struct ws_frame_decoder fd;
	struct ws_message_config cfg;
	struct ws_message_callbacks cb;
	struct ws_deflate dfl;
	bool deflate_lost;  /* LZ77 context lost for the rest of the stream */
	bool deflate_loss_pending; /* not reported yet: at the next compressed message */
	bool close_seen;
	bool after_loss;    /* a continuation may belong to an unseen start */
	/* message in progress */
	bool in_msg;
	bool cur_msg_frame; /* the current frame's payload is message data */
	uint8_t opcode;
	bool compressed, inflating, incomplete, utf8_on, utf8_bad, too_big;
	bool hole;          /* bytes missing after the kept prefix */
	uint64_t frame_pos; /* payload bytes of the current frame accounted
			     * for (streamed or declared missing) */
	bool skipped_inflate; /* compressed, but deflate_lost at its start */
	struct utf8_state u8;
	uint8_t *buf;       /* grown up to max_message_capture */
	size_t buf_alloc;
	size_t kept;
	uint64_t total, wire;
	uint32_t frames;
	bool count_only;    /* ws_message_decoder_count_only() */
	struct ws_message_tally tally;
};

/*
 * While on, a message of one small frame taken whole (the common chat
 * message) is only added to m->tally instead of calling on_frame and
 * on_message, for a caller that reads nothing of them but would count them;
 * the caller takes the tally and zeroes it. Every other frame and message,
 * and every violation, is called back as always.
 */
static inline void ws_message_decoder_count_only(struct ws_message_decoder *m, bool on)
{
	m->count_only = on;
}

/*
 * Returns 0 or -EINVAL (a capture limit or window_bits out of range).
 * Allocates nothing: the message and capture buffers grow with the bytes
 * kept and are freed after a message (or frame) longer than 1 KiB; zlib
 * state is set up at the first compressed message and, without context
 * takeover, dropped after each. Free with ws_message_decoder_free().
 */
int ws_message_decoder_init(struct ws_message_decoder *m,
			    const struct ws_message_config *cfg,
			    const struct ws_message_callbacks *cb);
void ws_message_decoder_free(struct ws_message_decoder *m);

/* Consumes all len bytes; returns len. */
size_t ws_message_decoder_feed(struct ws_message_decoder *m,
			       const uint8_t *buf, size_t len);

/*
 * `missing` stream bytes will never be seen. Returns 0 when the gap fell
 * inside a frame payload (the message it belongs to is marked incomplete),
 * 1 when frame boundaries are lost (the message in progress is delivered
 * incomplete; decoding resumes on a plausible header).
 */
int ws_message_decoder_gap(struct ws_message_decoder *m, uint64_t missing);

/*
 * The stream ends: a frame cut short is reported (on_frame_incomplete),
 * then the message in progress, if any, incomplete. Nothing in progress
 * is dropped unsaid. Returns true if a frame or message was cut short.
 */
bool ws_message_decoder_end(struct ws_message_decoder *m);

/*
 * Parking, so that an idle connection holds no decoder: between frames,
 * in sync, no message in progress and no compression context held, a
 * decoder's whole state is a few flags. The owner may then free it and,
 * when bytes come, init a fresh one with the same config and callbacks
 * and resume it with the flags: it reports what the old one would have.
 */
#define WS_CARRY_DEFLATE_LOST 0x01
#define WS_CARRY_DEFLATE_LOSS_PENDING 0x02
#define WS_CARRY_CLOSE_SEEN 0x04
#define WS_CARRY_AFTER_LOSS 0x08
bool ws_message_decoder_parkable(const struct ws_message_decoder *m);
uint8_t ws_message_decoder_carry(const struct ws_message_decoder *m);
/* Right after ws_message_decoder_init(). */
void ws_message_decoder_resume(struct ws_message_decoder *m, uint8_t carry);

/* Starts lost, e.g. when attached to a connection mid-way. */
void ws_message_decoder_set_lost(struct ws_message_decoder *m);

/* Bytes skipped while lost and not reported by a WS_LOSS_RESYNC yet,
 * a frame still on probation included (ws_frame_decoder_pending_skip):
 * at the end of a stream, what was never decoded. */
static inline uint64_t
ws_message_decoder_pending_skip(const struct ws_message_decoder *m)
{
	return ws_frame_decoder_pending_skip(&m->fd);
}

#endif /* WST_WS_MESSAGE_H */
