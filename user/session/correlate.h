/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * correlate.h - a message followed across connections: how long a chat
 * message takes to reach every recipient (fan-out), and how long a server
 * takes to answer a request (reply), from the WebSocket messages alone.
 *
 * A message is identified by the value of a top-level key of a JSON text
 * message, compared after JSON decoding (escapes, surrogate pairs), so the
 * client's "hi, all ！" and the server's "hi, all \uff01" are one value.
 * A number is a value too, compared as written; a string and a number
 * never match.
 *
 * Fan-out: a client-to-server message with a fan-out key opens a window;
 * each server-to-client message with the same key and value on any
 * connection within the window is a delivery (one per connection). When
 * the window closes, one WST_EV_WS_FANOUT event.
 * Reply: a client-to-server message with a reply key waits for the first
 * server-to-client message on the same connection with the same key and
 * value: WST_EV_WS_REPLY, or WST_EV_WS_REPLY_TIMEOUT when the window ends.
 *
 * Bounded: at most max_open windows (fan-out and reply together; the
 * oldest is closed early and counted) and max_deliveries tracked per
 * fan-out (more are counted, not tracked). Time is the events' own, so a
 * capture file gives the same answer as the live run it was taken from.
 */
#ifndef WST_CORRELATE_H
#define WST_CORRELATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

#define CORR_MAX_KEYS 8
#define CORR_MAX_VALUE 1024            /* decoded value bytes; longer: not followed */
#define CORR_DEFAULT_WINDOW_NS 10000000000ull
#define CORR_DEFAULT_MAX_OPEN 10000
#define CORR_DEFAULT_MAX_DELIVERIES 10000

struct corr_opts {
	const char *const *fanout_keys; /* --correlate */
	int n_fanout_keys;
	const char *const *reply_keys;  /* --correlate-reply */
	int n_reply_keys;
	uint64_t window_ns;       /* 0: CORR_DEFAULT_WINDOW_NS */
	uint32_t max_open;        /* 0: CORR_DEFAULT_MAX_OPEN */
	uint32_t max_deliveries;  /* 0: CORR_DEFAULT_MAX_DELIVERIES */
};

/* What the fan-out and reply events carry (ev->u.fanout, ev->u.reply). */
struct wst_fanout {
	const char *key;
	const uint8_t *value;      /* decoded (UTF-8 for a string) */
	size_t value_len;
	bool number;
	uint64_t value_hash;       /* shown instead of the value without payloads */
	uint64_t recipients;       /* deliveries, one per connection */
	uint64_t untracked;        /* deliveries beyond max_deliveries: counted only */
	uint64_t missed;           /* WebSocket sessions open at the close not reached */
	uint64_t latency_min_us, latency_p50_us, latency_max_us; /* of the tracked */
	const uint32_t *latency_us; /* each tracked delivery's latency */
	size_t n_latency;
	bool early;                /* closed before its time: too many open windows */
};

struct wst_reply {
	const char *key;
	const uint8_t *value;
	size_t value_len;
	bool number;
	uint64_t value_hash;
	uint64_t latency_us;       /* reply: request to reply; timeout: waited */
	bool early;                /* timeout: closed before its time */
};

struct corr;

/* 0, -EINVAL (no key, empty key, too many keys) or -ENOMEM. */
int corr_new(struct corr **out, const struct corr_opts *opts, struct wst_sink sink);
void corr_free(struct corr *c);
/* Sees one event (messages, session start and end); may emit events to
 * the sink, and first closes the windows that ended before ev->ts_ns. */
void corr_event(struct corr *c, const struct wst_event *ev);
/* Closes the windows that ended at or before now_ns (CLOCK_REALTIME). */
void corr_tick(struct corr *c, uint64_t now_ns);
/* Closes every window: the end of the capture (now_ns 0: at the time of
 * the last event seen). */
void corr_flush(struct corr *c, uint64_t now_ns);
/* Windows open now, and bytes they hold (for the docs and the bench). */
uint32_t corr_open_windows(const struct corr *c);
size_t corr_bytes(const struct corr *c);

/* 64-bit FNV-1a of a value with its type, as the events show it. */
uint64_t corr_value_hash(const uint8_t *v, size_t len, bool number);
/*
 * The value of key in a JSON text message: 1 and the decoded value in
 * out (CORR_MAX_VALUE bytes), *len and *number set; 0 when the message has
 * no such string or number member, is not a JSON object or the value is
 * too long.
 */
int corr_extract(const uint8_t *msg, size_t msg_len, const char *key, uint8_t *out,
		 size_t *len, bool *number);

#endif /* WST_CORRELATE_H */
