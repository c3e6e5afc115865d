// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * top_format.c - the live view as lines of text: a title, the header's
 * totals packed into as many lines as the width needs, the session table
 * and a line of keys. Plain ASCII, every line at most the screen's width,
 * so 80x24 shows it all but the rows that do not fit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "top.h"

#define NUMW 5 /* every number column */

void top_fmt_count(char *buf, size_t len, uint64_t v)
{
	if (v < 100000)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else if (v < 10000000)
		snprintf(buf, len, "%lluK", (unsigned long long)(v / 1000));
	else if (v < 10000000000ull)
		snprintf(buf, len, "%lluM", (unsigned long long)(v / 1000000));
	else
		snprintf(buf, len, "%lluG", (unsigned long long)(v / 1000000000));
}

void top_fmt_bytes(char *buf, size_t len, uint64_t v)
{
	if (v < 100000)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else if (v < (10000ull << 10))
		snprintf(buf, len, "%lluK", (unsigned long long)(v >> 10));
	else if (v < (10000ull << 20))
		snprintf(buf, len, "%lluM", (unsigned long long)(v >> 20));
	else
		snprintf(buf, len, "%lluG", (unsigned long long)(v >> 30));
}

void top_fmt_rate(char *buf, size_t len, double v)
{
	if (v < 0)
		v = 0;
	if (v < 999.95)
		snprintf(buf, len, "%.1f", v);
	else if (v < 99999.5)
		snprintf(buf, len, "%.0f", v);
	else
		top_fmt_count(buf, len, (uint64_t)v);
}

void top_fmt_us(char *buf, size_t len, int64_t us)
{
	if (us < 0)
		snprintf(buf, len, "-");
	else if (us < 1000)
		snprintf(buf, len, "%lldus", (long long)us);
	else if (us < 10000)
		snprintf(buf, len, "%.1fms", us / 1000.0);
	else if (us < 1000000)
		snprintf(buf, len, "%lldms", (long long)(us / 1000));
	else if (us < 10000000)
		snprintf(buf, len, "%.1fs", us / 1e6);
	else
		snprintf(buf, len, "%llds", (long long)(us / 1000000));
}

/* m:ss under an hour, then hours and minutes (1h02) under a day, then
 * days and hours (3d04). */
void top_fmt_age(char *buf, size_t len, uint64_t ns)
{
	unsigned long long s = ns / 1000000000ull;

	if (s < 3600)
		snprintf(buf, len, "%llu:%02llu", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llu", s / 3600, s / 60 % 60);
	else if (s < 100 * 86400)
		snprintf(buf, len, "%llud%02llu", s / 86400, s / 3600 % 24);
	else
		snprintf(buf, len, "%llud", s / 86400);
}

/*
 * The table's columns: mark, CLIENT, SERVER, [PORT], AGE, C>S, S>C, B:C>S,
 * B:S>C, MSG/S, RTT, KEY, [CONTAINER], [CGROUP]. At 80 the client gets 17
 * (cut from the left beyond), the server 10 ("pid/comm", the name cut) and
 * the key 7, so an ended row's "ended abnormal 1006" still fits; there is
 * no port column then, but the server's cell shows the port while its
 * process is not known.
 * Width beyond 80 goes, in this order, to any IPv4 endpoint, more of the
 * server's name, the port column, the key, the container column, IPv6
 * endpoints, whole names, the cgroup, longer keys, more of the cgroup.
 */
struct cols {
	int client, server, port, key, container, cgroup;
};

static void grow(int *rest, int *col, int add)
{
	int n = *rest < add ? *rest : add;

	if (n > 0) {
		*col += n;
		*rest -= n;
	}
}

/* A column of w and its separator, or none. */
static void add_col(int *rest, int *col, int w)
{
	if (*rest >= w + 1) {
		*col = w;
		*rest -= w + 1;
	}
}

static void column_widths(int width, struct cols *c)
{
	int rest = width - 80;

	*c = (struct cols){ .client = 17, .server = 10, .key = 7 };
	if (rest < 0) {
		/* narrower: the key goes, then the client shrinks; put() cuts
		 * the rest */
		c->key += rest;
		if (c->key < 0) {
			c->client += c->key;
			c->key = 0;
			if (c->client < 8)
				c->client = 8;
		}
		return;
	}
	grow(&rest, &c->client, 21 - c->client);
	grow(&rest, &c->server, 16 - c->server);
	add_col(&rest, &c->port, NUMW);
	grow(&rest, &c->key, 16 - c->key);
	add_col(&rest, &c->container, TOP_CONTAINER_SHORT);
	grow(&rest, &c->client, 47 - c->client); /* [IPv6]:port */
	grow(&rest, &c->server, 10 + 1 + 15 - c->server);
	if (rest >= 13)
		add_col(&rest, &c->cgroup, rest - 1 < 48 ? rest - 1 : 48);
	grow(&rest, &c->key, TOP_KEY_MAX - 1 - c->key);
	if (c->cgroup)
		grow(&rest, &c->cgroup, TOP_CGROUP_MAX - 1 - c->cgroup);
}

/* Appends to buf (at *pos, never beyond width), as snprintf does. */
static void put(char *buf, size_t len, int *pos, int width, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void put(char *buf, size_t len, int *pos, int width, const char *fmt, ...)
{
	size_t room = (size_t)width + 1 < len ? (size_t)width + 1 : len;
	va_list ap;
	int n;

	if ((size_t)*pos + 1 >= room)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, room - (size_t)*pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)*pos + (size_t)n < room ? n : (int)(room - 1 - (size_t)*pos);
}

/* The endpoint, cut from the left when longer than w (its port stays). */
static const char *fit_left(const char *s, int w, char *tmp, size_t len)
{
	int n = (int)strlen(s);

	if (n <= w || w < 3)
		return s;
	snprintf(tmp, len, "..%s", s + n - (w - 2));
	return tmp;
}

/* A table line starts empty, at a width the columns are laid out for;
 * false when there is no room at all. */
static bool line_start(char *buf, size_t len, int *width, struct cols *c)
{
	if (!len)
		return false;
	buf[0] = '\0';
	if (*width > TOP_MAX_WIDTH)
		*width = TOP_MAX_WIDTH;
	column_widths(*width, c);
	return true;
}

/* Columns are padded to their width: none at the end of a line. */
static void trim_right(char *buf, int *pos)
{
	while (*pos > 0 && buf[*pos - 1] == ' ')
		buf[--*pos] = '\0';
}

/* The wide screens' last columns, or a dash for what is not known. */
static void put_wide(char *buf, size_t len, int *pos, int width, const struct cols *c, const char *container,
		     const char *cgroup)
{
	char tmp[TOP_CGROUP_MAX + 4];

	if (c->container)
		put(buf, len, pos, width, " %-*s", c->container, container && *container ? container : "-");
	if (c->cgroup)
		put(buf, len, pos, width, " %-*s", c->cgroup,
		    cgroup && *cgroup ? fit_left(cgroup, c->cgroup, tmp, sizeof(tmp)) : "-");
}

void top_format_heading(char *buf, size_t len, int width)
{
	struct cols c;
	int pos = 0;

	if (!line_start(buf, len, &width, &c))
		return;
	put(buf, len, &pos, width, "  %-*s %-*s", c.client, "CLIENT", c.server, "SERVER");
	if (c.port)
		put(buf, len, &pos, width, " %*s", NUMW, "PORT");
	put(buf, len, &pos, width, " %*s %*s %*s %*s %*s %*s %*s %-*s", NUMW, "AGE", NUMW, "C>S", NUMW, "S>C",
	    NUMW, "B:C>S", NUMW, "B:S>C", NUMW, "MSG/S", NUMW, "RTT", c.key, "KEY");
	put_wide(buf, len, &pos, width, &c, "CONTAINER", "CGROUP");
	trim_right(buf, &pos);
}

/* The server: "pid/comm" (the name cut to the column), or ":port" while
 * its process is not known. */
static void server_cell(char *buf, size_t len, const struct top_row *r)
{
	if (r->pid)
		snprintf(buf, len, "%u/%s", r->pid, r->comm);
	else
		snprintf(buf, len, ":%u", r->sport);
}

/* The client: the forwarded one after a '>' when a proxy header named it,
 * else the peer; cut from the left, the '>' kept. */
static void client_cell(char *buf, size_t len, const struct top_row *r, int w)
{
	char tmp[PROXY_ADDR_MAX + WST_ENDPOINT_STRLEN + 4];

	if (r->fwd[0] && w > 1)
		snprintf(buf, len, ">%s", fit_left(r->fwd, w - 1, tmp, sizeof(tmp)));
	else
		snprintf(buf, len, "%s", fit_left(r->client, w, tmp, sizeof(tmp)));
}

void top_format_row(char *buf, size_t len, const struct top_row *r, int width, uint64_t now_ns)
{
	char client[PROXY_ADDR_MAX + WST_ENDPOINT_STRLEN + 8], server[40];
	char age[16], n[4][16], rate[16], rtt[16];
	uint64_t end = r->ended ? r->end_ns : now_ns;
	struct cols c;
	int pos = 0;

	if (!line_start(buf, len, &width, &c))
		return;
	top_fmt_age(age, sizeof(age), end > r->start_ns ? end - r->start_ns : 0);
	top_fmt_count(n[0], sizeof(n[0]), r->c.messages[0]);
	top_fmt_count(n[1], sizeof(n[1]), r->c.messages[1]);
	top_fmt_bytes(n[2], sizeof(n[2]), r->c.bytes[0]);
	top_fmt_bytes(n[3], sizeof(n[3]), r->c.bytes[1]);
	client_cell(client, sizeof(client), r, c.client);
	server_cell(server, sizeof(server), r);
	/* ! protocol violations, ~ stream gaps or resynchronisations */
	put(buf, len, &pos, width, "%c %-*.*s %-*.*s", r->violations ? '!' : r->gaps ? '~' : ' ', c.client,
	    c.client, client, c.server, c.server, server);
	if (c.port)
		put(buf, len, &pos, width, " %*u", NUMW, r->sport);
	put(buf, len, &pos, width, " %*s %*s %*s %*s %*s", NUMW, age, NUMW, n[0], NUMW, n[1], NUMW, n[2], NUMW,
	    n[3]);
	if (r->ended) {
		/* in place of the rate, RTT and key; on to the end of the
		 * line when nothing follows */
		char how[40];
		int w = 2 * (1 + NUMW) + 1 + c.key - 1;

		snprintf(how, sizeof(how), "ended %s", r->how);
		put(buf, len, &pos, width, " %-*.*s", w, c.container || c.cgroup ? w : (int)sizeof(how), how);
	} else {
		top_fmt_rate(rate, sizeof(rate), r->rate);
		top_fmt_us(rtt, sizeof(rtt), r->rtt_us);
		put(buf, len, &pos, width, " %*s %*s %-*.*s", NUMW, rate, NUMW, rtt, c.key, c.key, r->key);
	}
	put_wide(buf, len, &pos, width, &c, r->pid ? r->container : NULL, r->pid ? r->cgroup : NULL);
	trim_right(buf, &pos);
}

/* Header items packed into lines: a group starts a line, an item that
 * does not fit goes to the next one. */
struct packer {
	top_line_fn fn;
	void *ctx;
	int y, ymax, width;
	enum top_attr attr;
	int len;
	char line[TOP_MAX_WIDTH + 1];
};

static void pack_flush(struct packer *p)
{
	if (p->len && p->y < p->ymax)
		p->fn(p->ctx, p->y++, p->line, p->attr);
	p->len = 0;
	p->line[0] = '\0';
	p->attr = TOP_ATTR_NORMAL;
}

static void pack_item(struct packer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pack_item(struct packer *p, const char *fmt, ...)
{
	char item[TOP_MAX_WIDTH + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > p->width - 2)
		n = p->width > 2 ? p->width - 2 : 0;
	if (p->len && p->len + 2 + n > p->width)
		pack_flush(p);
	if (p->len) {
		memcpy(p->line + p->len, "  ", 2);
		p->len += 2;
	}
	memcpy(p->line + p->len, item, (size_t)n);
	p->len += n;
	p->line[p->len] = '\0';
}

static void pack_group(struct packer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pack_group(struct packer *p, const char *fmt, ...)
{
	char item[TOP_MAX_WIDTH + 1];
	va_list ap;

	pack_flush(p);
	va_start(ap, fmt);
	vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	pack_item(p, "%s", item);
}

static const char *rate_s(char *buf, size_t len, const struct top_totals *t, enum top_counter c)
{
	if (!t->have[c])
		snprintf(buf, len, "-");
	else
		top_fmt_rate(buf, len, t->rate[c]);
	return buf;
}

static const char *count_s(char *buf, size_t len, const struct top_totals *t, enum top_counter c)
{
	if (!t->have[c])
		snprintf(buf, len, "-");
	else
		top_fmt_count(buf, len, t->c[c]);
	return buf;
}

/* A byte rate: K/M/G past 99999 a second, like the byte counts. */
static const char *top_fmt_rate_bytes(char *buf, size_t len, double v)
{
	if (v < 99999.5)
		top_fmt_rate(buf, len, v);
	else
		top_fmt_bytes(buf, len, (uint64_t)v);
	return buf;
}

static const char *secs_s(char *buf, size_t len, double s)
{
	top_fmt_us(buf, len, s < 0 ? -1 : (int64_t)(s * 1e6 + 0.5));
	return buf;
}

#define R(c, k) rate_s(b[k], 16, tot, TOP_C_##c)
#define N(c, k) count_s(b[k], 16, tot, TOP_C_##c)

static void render_header(struct packer *p, const struct top_totals *tot)
{
	static const enum top_counter losses[] = {
		TOP_C_RINGBUF_FULL, TOP_C_TRUNCATED, TOP_C_LOAD_ERRORS, TOP_C_FRAGMENTS, TOP_C_BAD_RECORDS,
		TOP_C_GAPS, TOP_C_SYNC_LOST, TOP_C_RESYNCS, TOP_C_UNDECODED, TOP_C_EVICTED, TOP_C_OVERFLOWS,
	};
	static const char *const loss_names[] = {
		"ringbuf-full", "truncated", "load-errors", "fragments", "bad-records",
		"gaps", "sync-lost", "resyncs", "undecoded", "evicted", "overflows",
	};
	char b[4][16], up[16], fail[16];
	bool lost = false;

	pack_group(p, "TCP open %.0f", tot->conns);
	pack_item(p, "new/s: est %s", R(EST, 0));
	pack_item(p, "refused %s", R(REFUSED, 0));
	pack_item(p, "timeout %s", R(TIMEOUT, 0));
	pack_item(p, "incomplete %s", R(INCOMPLETE, 0));
	pack_item(p, "resets %s", R(RESETS, 0));

	top_fmt_rate(up, sizeof(up), tot->rate[TOP_C_UPG_OK]);
	top_fmt_rate(fail, sizeof(fail), tot->rate[TOP_C_UPG_ALL] - tot->rate[TOP_C_UPG_OK]);
	pack_group(p, "WS  open %.0f", tot->sessions);
	pack_item(p, "upgrades/s: 101 %s", up);
	pack_item(p, "failed %s", fail);
	pack_item(p, "ends/s %s", R(ENDS, 0));
	pack_item(p, "violations/s %s", R(VIOLATIONS, 0));

	for (size_t k = 0; k < sizeof(losses) / sizeof(losses[0]); k++)
		lost |= tot->have[losses[k]] && tot->c[losses[k]];
	pack_flush(p);
	for (size_t k = 0, shown = 0; k < sizeof(losses) / sizeof(losses[0]); k++) {
		if (!tot->have[losses[k]])
			continue; /* kernel counters without a kernel program */
		top_fmt_count(b[0], 16, tot->c[losses[k]]);
		pack_item(p, "%s%s %s", shown++ ? "" : "lost: ", loss_names[k], b[0]);
		if (lost)
			p->attr = TOP_ATTR_ALERT;
	}

	pack_group(p, "msgs c>s %s %s/s", N(MSG_C2S, 0), R(MSG_C2S, 1));
	pack_item(p, "s>c %s %s/s", N(MSG_S2C, 0), R(MSG_S2C, 1));
	top_fmt_bytes(b[0], 16, tot->c[TOP_C_BYTES_C2S]);
	pack_item(p, "bytes c>s %s %s/s", b[0], top_fmt_rate_bytes(b[1], 16, tot->rate[TOP_C_BYTES_C2S]));
	top_fmt_bytes(b[0], 16, tot->c[TOP_C_BYTES_S2C]);
	pack_item(p, "s>c %s %s/s", b[0], top_fmt_rate_bytes(b[1], 16, tot->rate[TOP_C_BYTES_S2C]));

	pack_group(p, "upgrade p50 %s p99 %s", secs_s(b[0], 16, tot->p50[TOP_H_UPGRADE]),
		   secs_s(b[1], 16, tot->p99[TOP_H_UPGRADE]));
	pack_item(p, "ping rtt p50 %s p99 %s", secs_s(b[2], 16, tot->p50[TOP_H_RTT]),
		  secs_s(b[3], 16, tot->p99[TOP_H_RTT]));
	if (tot->p50[TOP_H_DELIVERY] >= 0)
		pack_item(p, "delivery p50 %s p99 %s", secs_s(b[0], 16, tot->p50[TOP_H_DELIVERY]),
			  secs_s(b[1], 16, tot->p99[TOP_H_DELIVERY]));
	if (tot->p50[TOP_H_REPLY] >= 0)
		pack_item(p, "reply p50 %s p99 %s", secs_s(b[0], 16, tot->p50[TOP_H_REPLY]),
			  secs_s(b[1], 16, tot->p99[TOP_H_REPLY]));
	pack_item(p, "(last minute)");

	/* closes by code: the first on the group's line, the rest as fit */
	top_fmt_count(b[0], 16, tot->n_closes ? tot->close_count[0] : 0);
	pack_group(p, "closes %s%s%s", tot->n_closes ? tot->close_code[0] : "", tot->n_closes ? ":" : "", b[0]);
	for (int c = 1; c < tot->n_closes; c++) {
		top_fmt_count(b[0], 16, tot->close_count[c]);
		pack_item(p, "%s:%s", tot->close_code[c], b[0]);
	}
	pack_item(p, "ends abnormal %s", N(ENDS_ABNORMAL, 0));
	pack_item(p, "reset %s", N(ENDS_RESET, 0));

	pack_flush(p);
}
#undef R
#undef N

static void clock_text(char *buf, size_t len, uint64_t now_ns)
{
	time_t s = (time_t)(now_ns / 1000000000ull);
	struct tm tm;

	if (localtime_r(&s, &tm))
		strftime(buf, len, "%H:%M:%S", &tm);
	else
		snprintf(buf, len, "-");
}

void top_render(const struct top *t, const struct top_view *v, int width, int height, uint64_t now_ns,
		top_line_fn fn, void *ctx)
{
	struct packer *p;
	const struct top_row *all, **rows;
	char line[TOP_MAX_WIDTH + 1], clock[16];
	size_t n, shown = 0, open = 0;
	int y, pos = 0;

	if (width < 1 || height < 1)
		return;
	if (width > TOP_MAX_WIDTH)
		width = TOP_MAX_WIDTH;
	p = calloc(1, sizeof(*p));
	all = top_rows(t, &n);
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!p || !rows) {
		free(p);
		free(rows);
		fn(ctx, 0, "wstrace: out of memory", TOP_ATTR_ALERT);
		return;
	}
	for (size_t r = 0; r < n; r++) {
		open += !all[r].ended;
		if (top_row_matches(&all[r], v->filter))
			rows[shown++] = &all[r];
	}
	top_sort_rows(rows, shown, v->sort, v->reverse);

	/*
	 * The last line says the keys; the others fill from the top. The
	 * header (the tracer's health in its first lines) leaves room for a
	 * few rows of the table when the screen is short.
	 */
	p->fn = fn;
	p->ctx = ctx;
	p->width = width;
	p->ymax = height - 2 - (int)(shown < 3 ? shown : 3);
	if (p->ymax < 2)
		p->ymax = height - 1 < 2 ? height - 1 : 2;
	clock_text(clock, sizeof(clock), now_ns);
	put(line, sizeof(line), &pos, width, "wstrace --top  %s  %s  sort %s%s%s%s%s", v->title ? v->title : "",
	    clock, top_sort_name(v->sort), v->reverse ? " (reversed)" : "", v->filter[0] ? "  filter /" : "",
	    v->filter, v->paused ? "  PAUSED" : "");
	if (p->y < height - 1)
		fn(ctx, p->y++, line, TOP_ATTR_TITLE);
	render_header(p, top_totals(t));
	y = p->y;
	if (y < height - 1) {
		top_format_heading(line, sizeof(line), width);
		fn(ctx, y++, line, TOP_ATTR_HEADING);
	}
	for (size_t r = 0; r < shown && y < height - 1; r++) {
		top_format_row(line, sizeof(line), rows[r], width, now_ns);
		fn(ctx, y++, line, rows[r]->ended ? TOP_ATTR_DIM : TOP_ATTR_NORMAL);
	}
	pos = 0;
	line[0] = '\0';
	if (v->editing)
		put(line, sizeof(line), &pos, width, "filter: %s_   (Enter: apply, Esc: clear)", v->filter);
	else if (v->notice)
		put(line, sizeof(line), &pos, width, "%s", v->notice);
	else
		put(line, sizeof(line), &pos, width,
		    "%zu open, %zu shown%s  q quit s sort r reverse / filter p pause  ! viol ~ gap > fwd",
		    open, shown, top_untracked(t) ? " (table full)" : "");
	fn(ctx, height - 1, line, TOP_ATTR_TITLE);
	free(rows);
	free(p);
}
