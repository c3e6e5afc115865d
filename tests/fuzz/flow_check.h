/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * flow_check.h - the event contract of the TCP tracker and the layers above
 * it, checked by the fuzz targets that drive them (abort on violation):
 * - a packet yields exactly one per-packet event, about that packet (none
 *   for ports nobody watches, or a connection evicted from a full table);
 * - every flow ends with exactly one tcp_closed; after it only late
 *   packets' per-packet events name the flow (no connection fact, nothing
 *   decoded, no state made), and, in the same call into the tracker, the
 *   WebSocket events that end its session;
 * - at most one ws_session_end per flow.
 * Call flow_check_event() from the sink, flow_check_packet() around each
 * packet fed and flow_check_settle() after every other call into the
 * tracker (expire, finish).
 */
#ifndef WST_FUZZ_FLOW_CHECK_H
#define WST_FUZZ_FLOW_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "tracking/flow.h"

#define FLOW_CHECK_IDS 4096

enum { FC_UNSEEN, FC_OPEN, FC_CLOSING, FC_CLOSED };

struct flow_check {
	const struct wst_packet *cur; /* the packet being fed */
	int per_packet;               /* per-packet events for it */
	uint8_t state[FLOW_CHECK_IDS];
	uint8_t ended[FLOW_CHECK_IDS]; /* ws_session_end seen */
	uint64_t closing[64];          /* ids closed in the current call */
	int n_closing;
	uint64_t opened, closed;
};

#define FC_CHECK(cond)             \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static inline void flow_check_init(struct flow_check *c)
{
	memset(c, 0, sizeof(*c));
}

static inline void flow_check_event(struct flow_check *c, const struct wst_event *ev)
{
	uint64_t id;

	FC_CHECK(ev->type < WST_EV_MAX);
	FC_CHECK(ev->flow);
	id = ev->flow->id;
	if (id < FLOW_CHECK_IDS) {
		/* Late packets only, and the session's end right after tcp_closed. */
		if (c->state[id] == FC_CLOSING)
			FC_CHECK(wst_event_is_packet(ev->type) || wst_event_is_ws(ev->type));
		if (c->state[id] == FC_CLOSED)
			FC_CHECK(wst_event_is_packet(ev->type));
		if (c->state[id] == FC_UNSEEN) {
			c->state[id] = FC_OPEN;
			c->opened++;
		}
		if (ev->type == WST_EV_WS_SESSION_END) {
			FC_CHECK(!c->ended[id]);
			c->ended[id] = 1;
		}
		if (ev->type == WST_EV_TCP_CLOSED) {
			FC_CHECK(c->n_closing < 64);
			c->state[id] = FC_CLOSING;
			c->closing[c->n_closing++] = id;
			c->closed++;
		}
	}
	if (wst_event_is_packet(ev->type)) {
		FC_CHECK(ev->pkt && ev->pkt == c->cur);
		c->per_packet++;
	}
}

/* After a call into the tracker: what closed in it is closed for good. */
static inline void flow_check_settle(struct flow_check *c)
{
	for (int i = 0; i < c->n_closing; i++)
		c->state[c->closing[i]] = FC_CLOSED;
	c->n_closing = 0;
}

/*
 * Feeds one packet by call and checks it made `expected` per-packet events
 * (evaluated after the call, so it may look at the tracker's counters).
 */
#define flow_check_packet(c, pkt, expected, call)                         \
	do {                                                              \
		(c)->cur = (pkt);                                         \
		(c)->per_packet = 0;                                      \
		call;                                                     \
		flow_check_settle(c);                                     \
		FC_CHECK((c)->per_packet == ((expected) ? 1 : 0));        \
		(c)->cur = NULL;                                          \
	} while (0)

/* At the end of the capture: every flow seen was closed once. */
static inline void flow_check_finished(const struct flow_check *c)
{
	FC_CHECK(c->opened == c->closed);
	FC_CHECK(c->n_closing == 0);
}

#endif /* WST_FUZZ_FLOW_CHECK_H */
