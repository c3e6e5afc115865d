// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* event_limit.c - token buckets per connection and event kind, in front of the outputs. */
#include <errno.h>
#include <stdlib.h>

#include "tracking/flow.h"
#include "event_limit.h"

/* The kinds a peer can repeat at will, each a bucket. */
static const enum wst_event_type limited[] = {
	WST_EV_TCP_SYN, WST_EV_TCP_SYNACK, WST_EV_TCP_ACK, WST_EV_TCP_DATA,
	WST_EV_TCP_RETRANSMIT, WST_EV_TCP_OUT_OF_ORDER, WST_EV_TCP_FIN, WST_EV_TCP_RST,
	WST_EV_WS_FRAME, WST_EV_WS_MESSAGE, WST_EV_WS_PING, WST_EV_WS_PONG,
	WST_EV_WS_CLOSE, WST_EV_WS_VIOLATION, WST_EV_WS_GAP, WST_EV_WS_RESYNC,
};
#define EL_SLOTS (sizeof(limited) / sizeof(limited[0]))
#define EL_MIN_TABLE 256
/* Sweep idle connections once the table holds this many, at least. */
#define EL_MIN_SWEEP 1024
/* A count is said at most this often while a flood goes on (not once per
 * token that comes back), as the kernel's "callbacks suppressed". */
#define EL_SAY_NS 1000000000ull

struct el_bucket {
	double tokens;
	uint64_t last_ns;    /* of the last refill */
	uint64_t said_ns;    /* when its count was last said */
	uint64_t suppressed; /* not said yet */
};

struct el_flow {
	uint64_t id;
	struct el_flow *next;
	uint64_t last_ns;    /* last event of any kind */
	uint16_t used;       /* buckets set up, by slot bit */
	uint16_t pending;    /* buckets with a count to say */
	struct el_bucket b[EL_SLOTS];
};

_Static_assert(EL_SLOTS <= 16, "slot bits fit uint16_t");

struct event_limit {
	struct event_limit_opts o;
	struct wst_sink next;
	double per_ns;       /* tokens a nanosecond */
	uint64_t full_ns;    /* an empty bucket is full again after this */
	struct el_flow **tab;
	struct el_flow *last;  /* the last connection looked up: events come in runs */
	uint32_t mask;
	uint64_t n, sweep_at;
	uint64_t suppressed[WST_EV_MAX];
};

/* Slot + 1 of each limited kind (0: not limited), filled from limited[]. */
static int8_t slot_tab[WST_EV_MAX];

static void slot_tab_init(void)
{
	for (size_t i = 0; i < EL_SLOTS; i++)
		slot_tab[limited[i]] = (int8_t)(i + 1);
}

static int slot_of(enum wst_event_type t)
{
	if (!slot_tab[limited[0]])
		slot_tab_init();
	return (unsigned)t < WST_EV_MAX ? slot_tab[t] - 1 : -1;
}

bool event_limit_applies(enum wst_event_type t)
{
	return slot_of(t) >= 0;
}

int event_limit_new(struct event_limit **out, const struct event_limit_opts *o, struct wst_sink next)
{
	struct event_limit *l;

	*out = NULL;
	if (!o || !o->rate || !o->burst)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->tab = calloc(EL_MIN_TABLE, sizeof(*l->tab));
	if (!l->tab) {
		free(l);
		return -ENOMEM;
	}
	l->o = *o;
	l->next = next;
	l->mask = EL_MIN_TABLE - 1;
	l->sweep_at = EL_MIN_SWEEP;
	l->per_ns = o->rate / 1e9;
	l->full_ns = (uint64_t)((double)o->burst * 1e9 / o->rate) + 1;
	*out = l;
	return 0;
}

static uint32_t slot_hash(const struct event_limit *l, uint64_t id)
{
	return (uint32_t)((id * 11400714819323198485ull) >> 32) & l->mask;
}

static struct el_flow **find(struct event_limit *l, uint64_t id)
{
	struct el_flow **pp = &l->tab[slot_hash(l, id)];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

/* Doubles the table when chains get long; stays as it is if memory is short. */
static void grow(struct event_limit *l)
{
	uint32_t size = (l->mask + 1) * 2;
	struct el_flow **old = l->tab, **tab = calloc(size, sizeof(*tab));
	uint32_t old_size = l->mask + 1;

	if (!tab)
		return;
	l->tab = tab;
	l->mask = size - 1;
	for (uint32_t i = 0; i < old_size; i++) {
		while (old[i]) {
			struct el_flow *f = old[i], **pp;

			old[i] = f->next;
			pp = &l->tab[slot_hash(l, f->id)];
			f->next = *pp;
			*pp = f;
		}
	}
	free(old);
}

static void unlink_free(struct event_limit *l, struct el_flow **pp)
{
	struct el_flow *f = *pp;

	if (l->last == f)
		l->last = NULL;
	*pp = f->next;
	free(f);
	l->n--;
}

/* Connections quiet long enough that their buckets are full again, with
 * nothing to say, hold no information: dropped. */
static void sweep(struct event_limit *l, uint64_t now)
{
	for (uint32_t i = 0; i <= l->mask; i++) {
		struct el_flow **pp = &l->tab[i];

		while (*pp) {
			if (!(*pp)->pending && now >= (*pp)->last_ns && now - (*pp)->last_ns >= l->full_ns)
				unlink_free(l, pp);
			else
				pp = &(*pp)->next;
		}
	}
	l->sweep_at = l->n * 2 > EL_MIN_SWEEP ? l->n * 2 : EL_MIN_SWEEP;
}

static struct el_flow *get(struct event_limit *l, uint64_t id, uint64_t now)
{
	struct el_flow **pp, *f;

	if (l->last && l->last->id == id)
		return l->last;
	pp = find(l, id);
	if (*pp)
		return l->last = *pp;
	if (l->n >= l->sweep_at) {
		sweep(l, now);
		pp = find(l, id);
	}
	if (l->n >= 2ull * (l->mask + 1)) {
		grow(l);
		pp = find(l, id);
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->id = id;
	*pp = f;
	l->n++;
	return l->last = f;
}

static void refill(const struct event_limit *l, struct el_bucket *b, uint64_t now)
{
	/* Time stamps of different CPUs may step back a little: no refill. */
	if (now <= b->last_ns)
		return;
	b->tokens += (double)(now - b->last_ns) * l->per_ns;
	if (b->tokens > l->o.burst)
		b->tokens = l->o.burst;
	b->last_ns = now;
}

static struct el_bucket *bucket(const struct event_limit *l, struct el_flow *f, int slot, uint64_t now)
{
	struct el_bucket *b = &f->b[slot];

	if (!(f->used & (1u << slot))) {
		f->used |= 1u << slot;
		b->tokens = l->o.burst;
		b->last_ns = now;
	}
	refill(l, b, now);
	return b;
}

static void pass(struct event_limit *l, const struct wst_event *ev)
{
	if (l->next.on_event)
		l->next.on_event(l->next.ctx, ev);
}

/* Says the counts of the connection's buckets: all of them, or those
 * whose kind may be printed again (a token is back) and not said lately. */
static void say(struct event_limit *l, struct el_flow *f, const struct wst_event *ev, bool all)
{
	for (size_t i = 0; f->pending && i < EL_SLOTS; i++) {
		struct el_bucket *b = &f->b[i];
		struct wst_event s = {
			.type = WST_EV_EVENTS_SUPPRESSED,
			.ts_ns = ev->ts_ns,
			.flow = ev->flow,
			.dir = WST_C2S,
		};

		if (!(f->pending & (1u << i)))
			continue;
		refill(l, b, ev->ts_ns);
		if (!all && (b->tokens < 1 || (b->said_ns && ev->ts_ns < b->said_ns + EL_SAY_NS)))
			continue;
		s.u.suppressed.kind = limited[i];
		s.u.suppressed.count = b->suppressed;
		b->suppressed = 0;
		b->said_ns = ev->ts_ns;
		f->pending &= (uint16_t)~(1u << i);
		pass(l, &s);
	}
}

void event_limit_event(void *ctx, const struct wst_event *ev)
{
	struct event_limit *l = ctx;
	int slot = slot_of(ev->type);
	struct el_flow **pp, *f;
	struct el_bucket *b;

	if (!ev->flow) {
		pass(l, ev);
		return;
	}
	if (slot < 0) {
		/* Once per connection: always printed, after what is pending. */
		pp = find(l, ev->flow->id);
		if (*pp) {
			say(l, *pp, ev, event_limit_ends_flow(ev->type));
			if (event_limit_ends_flow(ev->type))
				unlink_free(l, pp);
		}
		pass(l, ev);
		return;
	}
	f = get(l, ev->flow->id, ev->ts_ns);
	if (!f) {
		pass(l, ev); /* memory short: printed rather than lost */
		return;
	}
	if (ev->ts_ns > f->last_ns)
		f->last_ns = ev->ts_ns;
	b = bucket(l, f, slot, ev->ts_ns);
	if (b->tokens < 1) {
		b->suppressed++;
		f->pending |= (uint16_t)(1u << slot);
		l->suppressed[ev->type]++;
		return;
	}
	/* Output resumes: the counts first (this kind's among them). */
	if (f->pending)
		say(l, f, ev, false);
	b->tokens -= 1;
	pass(l, ev);
}

void event_limit_forget(struct event_limit *l, const struct wst_event *ev)
{
	struct el_flow **pp;

	if (!ev->flow || !event_limit_ends_flow(ev->type))
		return;
	pp = find(l, ev->flow->id);
	if (*pp)
		unlink_free(l, pp);
}

uint64_t event_limit_suppressed(const struct event_limit *l, enum wst_event_type t)
{
	return (unsigned)t < WST_EV_MAX ? l->suppressed[t] : 0;
}

uint64_t event_limit_tracked(const struct event_limit *l)
{
	return l->n;
}

void event_limit_free(struct event_limit *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; i <= l->mask; i++)
		while (l->tab[i])
			unlink_free(l, &l->tab[i]);
	free(l->tab);
	free(l);
}
