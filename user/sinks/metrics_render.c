// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * metrics_render.c - the registry in the Prometheus text exposition
 * format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats/).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "metrics_internal.h"

/* Rendering: a growable buffer whose first error sticks. */
struct rbuf {
	char *p;
	size_t len, cap;
	int err;
};

static bool rb_reserve(struct rbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->err)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	if (b->len + n + 1 > METRICS_RENDER_MAX) {
		b->err = -E2BIG;
		return false;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap > METRICS_RENDER_MAX)
		cap = METRICS_RENDER_MAX;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void rb_put(struct rbuf *b, const char *s, size_t n)
{
	if (!rb_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void rb_str(struct rbuf *b, const char *s)
{
	rb_put(b, s, strlen(s));
}

/* Help text escapes \ and newline; label values also escape '"'. */
static void rb_escaped(struct rbuf *b, const char *s, bool quote)
{
	const char *start = s;

	for (; *s; s++) {
		const char *rep = NULL;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (quote && *s == '"')
			rep = "\\\"";
		if (!rep)
			continue;
		rb_put(b, start, s - start);
		rb_str(b, rep);
		start = s + 1;
	}
	rb_put(b, start, s - start);
}

static void rb_u64(struct rbuf *b, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);

	rb_put(b, tmp, n);
}

/* Shortest of %.15g and %.17g that reads back as the same double. */
static void format_double(char *tmp, size_t size, double v)
{
	if (isnan(v))
		snprintf(tmp, size, "NaN");
	else if (isinf(v))
		snprintf(tmp, size, v > 0 ? "+Inf" : "-Inf");
	else if (snprintf(tmp, size, "%.15g", v), strtod(tmp, NULL) != v)
		snprintf(tmp, size, "%.17g", v);
}

static void rb_double(struct rbuf *b, double v)
{
	char tmp[32];

	format_double(tmp, sizeof(tmp), v);
	rb_str(b, tmp);
}

/* Writes {a="x",b="y"[,le="..."]} for one series; nothing if no labels. */
static void rb_labels(struct rbuf *b, const struct metrics_fam *f,
		      const unsigned int *idx, const char *le)
{
	int i;

	if (f->n_labels == 0 && !le)
		return;
	rb_str(b, "{");
	for (i = 0; i < f->n_labels; i++) {
		if (i)
			rb_str(b, ",");
		rb_str(b, f->dims[i].name);
		rb_str(b, "=\"");
		rb_escaped(b, f->dims[i].values[idx[i]], true);
		rb_str(b, "\"");
	}
	if (le) {
		if (f->n_labels)
			rb_str(b, ",");
		rb_str(b, "le=\"");
		rb_str(b, le);
		rb_str(b, "\"");
	}
	rb_str(b, "}");
}

/* Slots of a dynamic label without a value (not taken, or freed): no series. */
static bool series_present(const struct metrics_fam *f, const unsigned int *idx)
{
	int i;

	for (i = 0; i < f->n_labels; i++) {
		const struct metrics_dim *d = &f->dims[i];

		if (d->dynamic && !d->values[idx[i]])
			return false;
	}
	return true;
}

static void render_series(struct rbuf *b, const struct metrics_fam *f,
			  const struct metrics_slot *s, uint32_t k,
			  const unsigned int *idx)
{
	char le[32];
	uint64_t cum = 0;
	size_t row;
	int i;

	switch (s->type) {
	case METRICS_COUNTER:
		rb_str(b, f->name);
		rb_labels(b, f, idx, NULL);
		rb_str(b, " ");
		rb_u64(b, s->u[k]);
		rb_str(b, "\n");
		break;
	case METRICS_GAUGE:
		rb_str(b, f->name);
		rb_labels(b, f, idx, NULL);
		rb_str(b, " ");
		rb_double(b, s->d[k]);
		rb_str(b, "\n");
		break;
	case METRICS_HISTOGRAM:
		row = (size_t)k * (f->n_buckets + 1);
		for (i = 0; i <= f->n_buckets; i++) {
			cum += s->u[row + i];
			if (i < f->n_buckets)
				format_double(le, sizeof(le), f->buckets[i]);
			else
				snprintf(le, sizeof(le), "+Inf");
			rb_str(b, f->name);
			rb_str(b, "_bucket");
			rb_labels(b, f, idx, le);
			rb_str(b, " ");
			rb_u64(b, cum);
			rb_str(b, "\n");
		}
		rb_str(b, f->name);
		rb_str(b, "_sum");
		rb_labels(b, f, idx, NULL);
		rb_str(b, " ");
		rb_double(b, s->d[k]);
		rb_str(b, "\n");
		rb_str(b, f->name);
		rb_str(b, "_count");
		rb_labels(b, f, idx, NULL);
		rb_str(b, " ");
		rb_u64(b, cum);
		rb_str(b, "\n");
		break;
	}
}

static const char *const type_names[] = {
	[METRICS_COUNTER] = "counter",
	[METRICS_GAUGE] = "gauge",
	[METRICS_HISTOGRAM] = "histogram",
};

int metrics_render(const struct metrics *m, char **buf, size_t *len)
{
	struct rbuf b = { 0 };
	unsigned int idx[METRICS_MAX_LABELS];
	int i;

	*buf = NULL;
	*len = 0;
	if (rb_reserve(&b, 0)) /* an empty registry still gives a string */
		b.p[0] = '\0';
	for (i = 0; i < m->n_families; i++) {
		const struct metrics_fam *f = &m->priv->fam[i];
		const struct metrics_slot *s = &m->slot[i];
		uint32_t k;

		rb_str(&b, "# HELP ");
		rb_str(&b, f->name);
		rb_str(&b, " ");
		rb_escaped(&b, f->help, false);
		rb_str(&b, "\n# TYPE ");
		rb_str(&b, f->name);
		rb_str(&b, " ");
		rb_str(&b, type_names[s->type]);
		rb_str(&b, "\n");
		for (k = 0; k < s->n_series && !b.err; k++) {
			idx[0] = k / (s->dim[1] * s->dim[2]);
			idx[1] = k / s->dim[2] % s->dim[1];
			idx[2] = k % s->dim[2];
			if (series_present(f, idx))
				render_series(&b, f, s, k, idx);
		}
	}
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*buf = b.p;
	*len = b.len;
	return 0;
}

int metrics_render_cb(void *registry, char **buf, size_t *len)
{
	return metrics_render(registry, buf, len);
}
