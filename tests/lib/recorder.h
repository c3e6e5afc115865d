/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * recorder.h - a sink that records the events it is given, for the tests
 * of the tracker, the WebSocket layer, the event limit and the exporter:
 * each event as a copy (its scalar fields stay valid; pointers into
 * packets, frames and messages do not outlive the call) and as one line of
 * text naming its fields without its times, so that two runs of the same
 * traffic (split differently, or fed another way) compare line by line.
 *
 *	struct recorder r;
 *
 *	rec_init(&r);
 *	... tcp_tracker_new(&t, NULL, &ports, rec_sink(&r)) ...
 *	assert_true(rec_find(&r, 0, WST_EV_WS_ESTABLISHED, WST_S2C) >= 0);
 *	rec_free(&r);
 *
 * Include after cmocka.h: a recorder fails the test when events come out
 * of time order.
 */
#ifndef WST_TEST_RECORDER_H
#define WST_TEST_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

#define REC_DESC 320

struct rec_event {
	enum wst_event_type type;
	enum wst_flow_dir dir;
	uint64_t ts_ns;
	uint64_t flow_id;
	bool decode;
	struct wst_event ev;   /* the event as given (pointers stale after the call) */
	char desc[REC_DESC];   /* rec_describe() */
};

struct recorder {
	struct rec_event *ev;
	int n, cap;
	uint64_t last_ts;
	/* Called after each event is recorded, if set (a test's own checks). */
	void (*also)(void *ctx, const struct wst_event *ev);
	void *also_ctx;
};

void rec_init(struct recorder *r);
void rec_free(struct recorder *r);
/* Forgets what was recorded. */
void rec_clear(struct recorder *r);
/* The sink: ctx is the recorder. */
void rec_event(void *ctx, const struct wst_event *ev);
static inline struct wst_sink rec_sink(struct recorder *r)
{
	return (struct wst_sink){ .on_event = rec_event, .ctx = r };
}

/* Index of the first event of type at or after from (dir < 0: either
 * direction), or -1. */
int rec_find(const struct recorder *r, int from, enum wst_event_type type, int dir);
int rec_count(const struct recorder *r, enum wst_event_type type);
/* Fails unless the types recorded are exactly want[0..n). */
void rec_expect_types(const struct recorder *r, const enum wst_event_type *want, int n);
/*
 * Fails unless the events of a and b that keep (NULL: all) are the same,
 * line by line (rec_describe), naming the first difference; label says
 * which runs are compared.
 */
void rec_expect_same(const struct recorder *a, const struct recorder *b,
		     bool (*keep)(enum wst_event_type), const char *label);

/* One line: the event's name, direction and fields (payloads in hex),
 * without its time and the durations measured from it. */
void rec_describe(const struct wst_event *ev, char *buf, size_t len);

#endif /* WST_TEST_RECORDER_H */
