/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * event_limit.h - a bound on what one connection can make wstrace print.
 *
 * A sink in front of the outputs: per connection and event kind, a token
 * bucket of `burst` events refilled at `rate` a second, on the events' own
 * time stamps (so `-r` of a capture limits as the live run did). An event
 * without a token is not passed on but counted; the count is passed on as
 * one events_suppressed event (kind, count) just before the next event of
 * that kind and connection that is printed, or any event of the connection
 * once a token is back, or at the latest before its tcp_closed and
 * ws_session_end. Nothing is dropped silently: the totals per kind are
 * there for the metrics, and the other sinks (metrics) see every event.
 *
 * Only the kinds a peer can repeat at will are limited: the per-packet
 * events and ws_frame, ws_message, ws_ping, ws_pong, ws_close,
 * ws_violation, ws_gap, ws_resync. What happens once per connection
 * (tcp_established, ws_upgrade, tcp_closed, ws_session_end, ...) always
 * passes.
 *
 * State is kept per connection that printed lately, in a table that
 * forgets a connection at its end, and forgets idle ones whose buckets are
 * full again (they are then no different from new ones).
 */
#ifndef WST_EVENT_LIMIT_H
#define WST_EVENT_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/event.h"

struct event_limit_opts {
	uint32_t rate;  /* events a second per connection and kind (> 0) */
	uint32_t burst; /* events at once (> 0) */
};

struct event_limit;

/* Returns 0, -EINVAL (rate or burst 0) or -ENOMEM. */
int event_limit_new(struct event_limit **out, const struct event_limit_opts *o, struct wst_sink next);

/* A sink's on_event: ctx is the event_limit. */
void event_limit_event(void *ctx, const struct wst_event *ev);

/*
 * For an event that is not printed at all (-q): only forgets the
 * connection at its end, so a limiter switched off and on again holds
 * nothing for connections gone meanwhile. Their pending counts are in
 * event_limit_suppressed() already.
 */
void event_limit_forget(struct event_limit *l, const struct wst_event *ev);

/* The events after which a connection's limiter state goes: the only ones
 * event_limit_forget() acts on (callers may skip the call for others). */
static inline bool event_limit_ends_flow(enum wst_event_type t)
{
	return t == WST_EV_TCP_CLOSED || t == WST_EV_WS_SESSION_END;
}

/* Whether events of this kind are limited. */
bool event_limit_applies(enum wst_event_type t);

/* Events of this kind not passed on so far (whether said yet or not). */
uint64_t event_limit_suppressed(const struct event_limit *l, enum wst_event_type t);

/* Connections with state now (for tests). */
uint64_t event_limit_tracked(const struct event_limit *l);

void event_limit_free(struct event_limit *l);

#endif /* WST_EVENT_LIMIT_H */
