// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attrib.c - who is behind each connection, in a live capture: the socket
 * owner records (session/owners.c keeps them), the events that get them,
 * the --pid/--comm/--cgroup filters, and the short hold of a new
 * connection's packets until its server has accepted it.
 *
 * The hold: the accepting process is known when accept() returns, after the
 * handshake (and often after the client's request) went through the TC
 * hook. So the packets of a connection whose SYN has no known server wait,
 * copied, until the accept record for its 4-tuple comes or ATTRIB_HOLD_NS
 * passed (a server that is slow to accept, or not on this host); then they
 * go to the tracker in order, and tcp_established and ws_upgrade name the
 * server. Bounded in connections, packets and bytes; beyond, they pass at
 * once (their events then name the server from the next one on).
 *
 * The filters (--pid, --comm, --cgroup) drop the events of connections
 * whose server is not wanted. When the accept record decides that while the
 * connection's packets are held (or for a socket open at start), the
 * connection is left out whole: its held packets are dropped, the TC
 * programs stop copying its packets (skip_flows), and what was already on
 * the way is dropped here, before the tracker. A SYN on its tuple starts
 * over. Connections decided later (past the hold) are filtered by their
 * events as before.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "sources/cgroup_path.h"
#include "session/owners.h"
#include "app.h"

#define ATTRIB_HOLD_NS (200 * 1000000ull)
#define ATTRIB_MAX_HOLDS 1024
#define ATTRIB_HOLD_PKTS 64            /* per connection */
#define ATTRIB_HOLD_BYTES (4u << 20)   /* all held payload */
#define TCP_STATE_LISTEN 10

struct held_pkt {
	struct wst_record r;
	uint8_t payload[];
};

struct hold {
	struct flow_key key;
	uint64_t since_ns;                 /* CLOCK_MONOTONIC */
	int n;
	struct held_pkt *pkts[ATTRIB_HOLD_PKTS];
};

struct attrib {
	struct owners *owners;
	struct cgroup_paths *cgroups;
	struct hold *holds[ATTRIB_MAX_HOLDS];
	int n_holds;
	size_t held_bytes;
	struct flow_key *forget;           /* connections closed: forgotten after their last event */
	size_t n_forget, cap_forget;
	struct attrib_stats st;
};

static bool filter_pass(const struct options *o, const struct wst_proc *p);

static bool filters_set(const struct options *o)
{
	return o->n_pids || o->comm[0] || o->cgroup[0];
}

static struct hold *hold_find(struct attrib *a, const struct flow_key *key, int *idx)
{
	for (int i = 0; i < a->n_holds; i++)
		if (!memcmp(&a->holds[i]->key, key, sizeof(*key))) {
			if (idx)
				*idx = i;
			return a->holds[i];
		}
	return NULL;
}

/* The held packets to the tracker, in order; the hold is gone. */
static void hold_release(struct app *app, int idx)
{
	struct attrib *a = app->attrib;
	struct hold *h = a->holds[idx];

	a->holds[idx] = a->holds[--a->n_holds];
	for (int i = 0; i < h->n; i++) {
		struct wst_packet pkt = { .r = h->pkts[i]->r, .payload = h->pkts[i]->payload };

		tcp_tracker_packet(app->tracker, &pkt);
		a->held_bytes -= h->pkts[i]->r.cap_len;
		free(h->pkts[i]);
	}
	free(h);
}

/* The held packets of a connection left out are dropped; the hold is gone. */
static void hold_drop(struct attrib *a, int idx)
{
	struct hold *h = a->holds[idx];

	a->holds[idx] = a->holds[--a->n_holds];
	for (int i = 0; i < h->n; i++) {
		a->held_bytes -= h->pkts[i]->r.cap_len;
		free(h->pkts[i]);
	}
	a->st.filtered_packets += (uint64_t)h->n;
	free(h);
}

static bool hold_add(struct attrib *a, struct hold *h, const struct wst_packet *pkt)
{
	struct held_pkt *c;

	if (h->n >= ATTRIB_HOLD_PKTS || a->held_bytes + pkt->r.cap_len > ATTRIB_HOLD_BYTES)
		return false;
	c = malloc(sizeof(*c) + pkt->r.cap_len);
	if (!c)
		return false;
	c->r = pkt->r;
	memcpy(c->payload, pkt->payload, pkt->r.cap_len);
	a->held_bytes += pkt->r.cap_len;
	h->pkts[h->n++] = c;
	return true;
}

/* True if pkt was taken into a hold (it goes to the tracker later). */
bool app_attrib_hold(struct app *app, const struct wst_packet *pkt)
{
	struct attrib *a = app->attrib;
	enum wst_flow_dir dir;
	struct flow_key key;
	struct hold *h;
	int idx;

	if (!a)
		return false;
	app_attrib_flush(app);
	if (!flow_key_from_packet(pkt, &app->opt.ports, &key, &dir))
		return false;
	if (filters_set(&app->opt) && owners_filtered(a->owners, &key)) {
		if (dir != WST_C2S || (pkt->r.tcp_flags & (WST_TCP_SYN | WST_TCP_ACK)) != WST_TCP_SYN) {
			a->st.filtered_packets++; /* on the way before the kernel knew */
			return true;
		}
		/* a new connection on the tuple: its server decides again */
		owners_forget(a->owners, &key);
		capture_skip_conn(app->capture, key.caddr, key.cport, key.saddr, key.sport, false);
	}
	h = hold_find(a, &key, &idx);
	if (h) {
		if (hold_add(a, h, pkt))
			return true;
		a->st.hold_overflow++;
		hold_release(app, idx); /* too much: the rest passes at once */
		return false;
	}
	/* a new connection (client SYN) whose server is not known yet */
	if (dir != WST_C2S || (pkt->r.tcp_flags & (WST_TCP_SYN | WST_TCP_ACK)) != WST_TCP_SYN ||
	    owners_has_server(a->owners, &key))
		return false;
	if (a->n_holds >= ATTRIB_MAX_HOLDS) {
		a->st.hold_overflow++;
		return false;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return false;
	h->key = key;
	h->since_ns = app_clock_ns(CLOCK_MONOTONIC);
	if (!hold_add(a, h, pkt)) {
		free(h);
		return false;
	}
	a->holds[a->n_holds++] = h;
	a->st.held++;
	return true;
}

/* Holds past their time go to the tracker (all with force: at the end). */
void app_attrib_expire(struct app *app, bool force)
{
	struct attrib *a = app->attrib;
	uint64_t now = app_clock_ns(CLOCK_MONOTONIC);

	if (!a)
		return;
	for (int i = a->n_holds - 1; i >= 0; i--)
		if (force || now - a->holds[i]->since_ns >= ATTRIB_HOLD_NS) {
			a->st.hold_timeout += !force;
			hold_release(app, i); /* moves the last, already seen, into i */
		}
	app_attrib_flush(app);
}

static bool server_wanted(struct app *app, const struct flow_key *key)
{
	struct wst_attrib at;

	owners_lookup(app->attrib->owners, key, &at);
	return filter_pass(&app->opt, at.server);
}

/* The connection left out whole: none of its packets reach the tracker. */
static void leave_out(struct app *app, const struct flow_key *key, int hold_idx)
{
	struct attrib *a = app->attrib;
	int err;

	if (owners_set_filtered(a->owners, key)) {
		a->st.no_memory++;
		if (hold_idx >= 0)
			hold_release(app, hold_idx); /* filtered by its events instead */
		return;
	}
	a->st.filtered_conns++;
	err = capture_skip_conn(app->capture, key->caddr, key->cport, key->saddr, key->sport, true);
	if (err)
		pr_debug("cannot leave a connection out in the kernel: %s", strerror(-err));
	if (hold_idx >= 0)
		hold_drop(a, hold_idx);
}

/* A WST_REC_SOCK_OWNER record. */
static int on_owner(void *ctx, const void *data, size_t size, int64_t mono_to_real_ns)
{
	struct app *app = ctx;
	struct attrib *a = app->attrib;
	const struct wst_sock_rec *r = data;
	enum owner_side side;
	struct flow_key key;
	int idx;

	(void)mono_to_real_ns;
	if (size < sizeof(*r) || (r->tuple.family != 4 && r->tuple.family != 6) ||
	    r->how < WST_SOCK_ACCEPT || r->how > WST_SOCK_EXISTING)
		return -EINVAL;
	if (r->state == TCP_STATE_LISTEN || !r->tuple.rport)
		return 0; /* a listening socket: no connection */
	if (r->how == WST_SOCK_CONNECT)
		side = OWNER_CLIENT;
	else if (ports_has(&app->opt.ports, r->tuple.lport))
		side = OWNER_SERVER;
	else if (ports_has(&app->opt.ports, r->tuple.rport))
		side = OWNER_CLIENT; /* an existing socket of a local client */
	else
		return 0;
	owners_key_from_tuple(&r->tuple, side, &key);
	if (owners_add(a->owners, &key, side, &r->task))
		a->st.no_memory++;
	if (side != OWNER_SERVER)
		return 0;
	idx = -1;
	hold_find(a, &key, &idx);
	if (filters_set(&app->opt) && (idx >= 0 || r->how == WST_SOCK_EXISTING) &&
	    !server_wanted(app, &key)) {
		leave_out(app, &key, idx);
		return 0;
	}
	if (idx >= 0)
		hold_release(app, idx);
	return 0;
}

int app_attrib_open(struct app *app)
{
	struct attrib *a;
	int err, n;

	if (!capture_owners_on(app->capture))
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	err = cgroup_paths_open(&a->cgroups);
	if (err)
		pr_warn("no cgroup v2 mount found (%s): no cgroup paths or container ids", strerror(-err));
	/* Entries live with their flows: the table holds as many as the tracker. */
	a->owners = owners_new(app->opt.max_flows ? app->opt.max_flows : TCP_TRACK_DEFAULT_MAX_FLOWS,
			       a->cgroups ? cgroup_paths_resolve : NULL, a->cgroups);
	if (!a->owners) {
		cgroup_paths_close(a->cgroups);
		free(a);
		return -ENOMEM;
	}
	app->attrib = a;
	/* filters are not changed by a reload: set once, here */
	if (filters_set(&app->opt))
		capture_set_filter(app->capture, true);
	capture_set_reader(app->capture, WST_REC_SOCK_OWNER, on_owner, app);
	n = capture_scan_owners(app->capture);
	if (n >= 0)
		pr_debug("%d sockets of watched ports open at start", n);
	return 0;
}

void app_attrib_close(struct app *app)
{
	struct attrib *a = app->attrib;

	if (!a)
		return;
	for (int i = 0; i < a->n_holds; i++) {
		for (int j = 0; j < a->holds[i]->n; j++)
			free(a->holds[i]->pkts[j]);
		free(a->holds[i]);
	}
	owners_free(a->owners);
	cgroup_paths_close(a->cgroups);
	free(a->forget);
	free(a);
	app->attrib = NULL;
}

void app_attrib_flush(struct app *app)
{
	struct attrib *a = app->attrib;

	if (!a)
		return;
	for (size_t i = 0; i < a->n_forget; i++)
		owners_forget(a->owners, &a->forget[i]);
	a->n_forget = 0;
}

static void forget_later(struct attrib *a, const struct flow_key *key)
{
	if (a->n_forget == a->cap_forget) {
		size_t cap = a->cap_forget ? a->cap_forget * 2 : 16;
		struct flow_key *n = realloc(a->forget, cap * sizeof(*n));

		if (!n) {
			owners_forget(a->owners, key); /* later events of it lose their owner */
			return;
		}
		a->forget = n;
		a->cap_forget = cap;
	}
	a->forget[a->n_forget++] = *key;
}

static bool filter_pass(const struct options *o, const struct wst_proc *p)
{
	bool ok = true;

	if (!p)
		return false;
	if (o->n_pids) {
		ok = false;
		for (int i = 0; i < o->n_pids; i++)
			ok |= o->pids[i] == p->pid;
	}
	if (ok && o->comm[0])
		ok = strcmp(o->comm, p->comm) == 0;
	if (ok && o->cgroup[0]) {
		size_t n = strlen(o->cgroup);

		/* the group and those below it */
		while (n > 1 && o->cgroup[n - 1] == '/')
			n--;
		ok = p->cgroup && strncmp(p->cgroup, o->cgroup, n) == 0 &&
		     (p->cgroup[n] == 0 || p->cgroup[n] == '/' || n == 1);
	}
	return ok;
}

/*
 * Whether ev needs its processes: every event when a filter, the owner
 * label or --top reads them; otherwise the connection events that print
 * them and those that end a connection. A lookup per frame and message of
 * a busy connection adds up (about 200 ns a packet at 20k msg/s).
 */
static bool attrib_wanted(const struct app *app, const struct wst_event *ev)
{
	if (filters_set(&app->opt) || app->opt.metrics_label != OPTIONS_LABEL_NONE || app->top)
		return true;
	return output_shows_attrib(ev) || ev->type == WST_EV_TCP_REFUSED ||
	       ev->type == WST_EV_TCP_HANDSHAKE_TIMEOUT;
}

const struct wst_event *app_attrib_event(struct app *app, const struct wst_event *ev,
					 struct wst_event *copy, struct wst_attrib *at)
{
	struct attrib *a = app->attrib;

	if (!a || !ev->flow || !attrib_wanted(app, ev))
		return ev;
	if (ev->type == WST_EV_WS_UPGRADE && ev->u.upgrade.forwarded_for)
		owners_set_forwarded(a->owners, &ev->flow->key, ev->u.upgrade.forwarded_for);
	if (ev->type == WST_EV_TCP_CLOSED || ev->type == WST_EV_TCP_REFUSED ||
	    ev->type == WST_EV_TCP_HANDSHAKE_TIMEOUT)
		forget_later(a, &ev->flow->key);
	if (!owners_lookup(a->owners, &ev->flow->key, at)) {
		if (filters_set(&app->opt))
			return NULL;
		return ev;
	}
	if (filters_set(&app->opt) && !filter_pass(&app->opt, at->server))
		return NULL;
	*copy = *ev;
	copy->attrib = at;
	return copy;
}

struct attrib_stats app_attrib_stats(const struct app *app)
{
	struct attrib_stats st = { 0 };

	if (app->attrib) {
		struct owner_stats os = owners_stats(app->attrib->owners);

		st = app->attrib->st;
		st.owners_added = os.added;
		st.owners_evicted = os.evicted;
		st.conns = os.conns;
		st.procs = os.procs;
	}
	return st;
}
