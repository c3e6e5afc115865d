// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * metrics.c - the metric registry: families, label values, updates.
 * The text exposition is metrics_render.c.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "metrics_internal.h"

const double metrics_buckets_seconds[] = {
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
const int metrics_n_buckets_seconds =
	sizeof(metrics_buckets_seconds) / sizeof(metrics_buckets_seconds[0]);

const double metrics_buckets_bytes[] = {
	16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576,
};
const int metrics_n_buckets_bytes =
	sizeof(metrics_buckets_bytes) / sizeof(metrics_buckets_bytes[0]);
int metrics_new(struct metrics **out)
{
	struct metrics *m;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->priv = calloc(1, sizeof(*m->priv));
	if (!m->priv) {
		free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

static void dim_free(struct metrics_dim *d)
{
	int i, n = d->dynamic ? d->n + 1 : d->n;

	if (d->values)
		for (i = 0; i < n; i++)
			free(d->values[i]);
	free(d->values);
	free(d->lens);
	free(d->name);
	memset(d, 0, sizeof(*d));
}

static void fam_free(struct metrics_fam *f, struct metrics_slot *s)
{
	int i;

	for (i = 0; i < METRICS_MAX_LABELS; i++)
		dim_free(&f->dims[i]);
	free(f->name);
	free(f->help);
	free(f->buckets);
	free(s->u);
	free(s->d);
	memset(f, 0, sizeof(*f));
	memset(s, 0, sizeof(*s));
}

void metrics_free(struct metrics *m)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < m->n_families; i++)
		fam_free(&m->priv->fam[i], &m->slot[i]);
	free(m->priv);
	free(m);
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0; /* continuation byte or overlong 2-byte lead */
	len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
	if (len == 0 || n < len)
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) ||  /* overlong */
	    (c == 0xed && s[1] >= 0xa0) || /* UTF-16 surrogate */
	    (c == 0xf0 && s[1] < 0x90) ||  /* overlong */
	    (c == 0xf4 && s[1] >= 0x90))   /* above U+10FFFF */
		return 0;
	return len;
}

static bool utf8_valid(const char *s)
{
	size_t n = strlen(s), i = 0, l;

	while (i < n) {
		l = utf8_len((const unsigned char *)s + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

/*
 * Copies at most METRICS_MAX_VALUE_LEN bytes of value into out, cut on a
 * character boundary, with each invalid UTF-8 byte and control character
 * replaced by '?'. Returns the length written.
 */
size_t metrics_label_sanitize(char *out, const char *value, size_t len)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t i = 0, o = 0, l;

	while (i < len) {
		l = utf8_len(s + i, len - i);
		if (l == 0 || (l == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
			if (o + 1 > METRICS_MAX_VALUE_LEN)
				break;
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + l > METRICS_MAX_VALUE_LEN)
			break;
		memcpy(out + o, s + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return o;
}

static bool valid_metric_name(const char *s)
{
	const char *p;

	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
			return false;
	return true;
}

static bool valid_label_name(const char *s)
{
	const char *p;

	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	if (s[0] == '_' && s[1] == '_') /* reserved for internal use */
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int dim_init(struct metrics_dim *d, const struct metrics_label *l)
{
	int i, j, n;

	if (!valid_label_name(l->name) || l->n_values < 1)
		return -EINVAL;
	d->dynamic = !l->values;
	if (d->dynamic && l->n_values > METRICS_MAX_DYNAMIC)
		return -E2BIG;
	d->n = l->n_values;
	n = d->dynamic ? d->n + 1 : d->n;
	d->name = strdup(l->name);
	d->values = calloc(n, sizeof(*d->values));
	d->lens = calloc(n, sizeof(*d->lens));
	if (!d->name || !d->values || !d->lens)
		return -ENOMEM;
	if (d->dynamic) {
		d->values[d->n] = strdup(METRICS_OTHER);
		if (!d->values[d->n])
			return -ENOMEM;
		d->lens[d->n] = strlen(METRICS_OTHER);
		return 0;
	}
	for (i = 0; i < n; i++) {
		/* A duplicate would render one series twice: invalid. */
		if (!l->values[i] || !utf8_valid(l->values[i]))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (strcmp(l->values[i], l->values[j]) == 0)
				return -EINVAL;
		d->values[i] = strdup(l->values[i]);
		if (!d->values[i])
			return -ENOMEM;
		d->lens[i] = strlen(d->values[i]);
	}
	return 0;
}

int metrics_family(struct metrics *m, enum metrics_type type, const char *name,
		   const char *help, const struct metrics_label *labels,
		   int n_labels, const double *buckets, int n_buckets)
{
	struct metrics_fam *f;
	struct metrics_slot *s;
	uint64_t series = 1;
	size_t per = 1;
	int i, j, err, id;

	if (!valid_metric_name(name) || n_labels < 0 ||
	    n_labels > METRICS_MAX_LABELS || (n_labels && !labels))
		return -EINVAL;
	if (help && !utf8_valid(help))
		return -EINVAL;
	if (type == METRICS_COUNTER && !ends_with(name, "_total"))
		return -EINVAL;
	if (type == METRICS_HISTOGRAM) {
		if (!buckets || n_buckets < 1 || n_buckets > METRICS_MAX_BUCKETS)
			return -EINVAL;
		for (i = 0; i < n_buckets; i++)
			if (!isfinite(buckets[i]) ||
			    (i > 0 && !(buckets[i] > buckets[i - 1])))
				return -EINVAL;
		per = n_buckets + 1; /* the last counts above every bound */
	} else if (type != METRICS_COUNTER && type != METRICS_GAUGE) {
		return -EINVAL;
	}
	for (i = 0; i < n_labels; i++) {
		if (type == METRICS_HISTOGRAM && labels[i].name &&
		    strcmp(labels[i].name, "le") == 0)
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (labels[i].name && labels[j].name &&
			    strcmp(labels[i].name, labels[j].name) == 0)
				return -EINVAL;
	}
	for (i = 0; i < m->n_families; i++)
		if (strcmp(m->priv->fam[i].name, name) == 0)
			return -EEXIST;
	if (m->n_families >= METRICS_MAX_FAMILIES)
		return -E2BIG;

	id = m->n_families;
	f = &m->priv->fam[id];
	s = &m->slot[id];
	memset(f, 0, sizeof(*f));
	memset(s, 0, sizeof(*s));
	s->type = type;
	f->n_labels = n_labels;
	for (i = 0; i < METRICS_MAX_LABELS; i++)
		s->dim[i] = 1;
	for (i = 0; i < n_labels; i++) {
		err = dim_init(&f->dims[i], &labels[i]);
		if (err)
			goto fail;
		s->dim[i] = f->dims[i].dynamic ? f->dims[i].n + 1 : f->dims[i].n;
		series *= s->dim[i];
		if (series > METRICS_MAX_SERIES) {
			err = -E2BIG;
			goto fail;
		}
	}
	s->n_series = series;
	err = -ENOMEM;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	if (!f->name || !f->help)
		goto fail;
	if (type == METRICS_COUNTER || type == METRICS_HISTOGRAM) {
		s->u = calloc(series * per, sizeof(*s->u));
		if (!s->u)
			goto fail;
	}
	if (type == METRICS_GAUGE || type == METRICS_HISTOGRAM) {
		s->d = calloc(series, sizeof(*s->d));
		if (!s->d)
			goto fail;
	}
	if (type == METRICS_HISTOGRAM) {
		f->buckets = malloc(n_buckets * sizeof(*f->buckets));
		if (!f->buckets)
			goto fail;
		memcpy(f->buckets, buckets, n_buckets * sizeof(*f->buckets));
		f->n_buckets = n_buckets;
	}
	m->n_families++;
	return id;
fail:
	fam_free(f, s);
	return err;
}

static int one_label(const char *label_name, const char *const *values,
		     int n_values, struct metrics_label *l)
{
	if (!label_name)
		return 0;
	l->name = label_name;
	l->values = values;
	l->n_values = n_values;
	return 1;
}

int metrics_counter(struct metrics *m, const char *name, const char *help,
		    const char *label_name, const char *const *values,
		    int n_values)
{
	struct metrics_label l;
	int n = one_label(label_name, values, n_values, &l);

	return metrics_family(m, METRICS_COUNTER, name, help, &l, n, NULL, 0);
}

int metrics_gauge(struct metrics *m, const char *name, const char *help,
		  const char *label_name, const char *const *values,
		  int n_values)
{
	struct metrics_label l;
	int n = one_label(label_name, values, n_values, &l);

	return metrics_family(m, METRICS_GAUGE, name, help, &l, n, NULL, 0);
}

int metrics_histogram(struct metrics *m, const char *name, const char *help,
		      const double *buckets, int n_buckets,
		      const char *label_name, const char *const *values,
		      int n_values)
{
	struct metrics_label l;
	int n = one_label(label_name, values, n_values, &l);

	return metrics_family(m, METRICS_HISTOGRAM, name, help, &l, n,
			      buckets, n_buckets);
}

int metrics_info(struct metrics *m, const char *name, const char *help,
		 const char *label_name, const char *value)
{
	const char *values[1] = { value };
	int id;

	id = metrics_gauge(m, name, help, label_name, values, 1);
	if (id >= 0)
		metrics_set(m, id, 0, 1);
	return id;
}

int metrics_label_index(struct metrics *m, int family, int label,
			const char *value, size_t len)
{
	char buf[METRICS_MAX_VALUE_LEN + 1];
	struct metrics_dim *d;
	size_t n;
	int i;

	if ((unsigned int)family >= (unsigned int)m->n_families ||
	    label < 0 || label >= m->priv->fam[family].n_labels ||
	    (!value && len))
		return -EINVAL;
	d = &m->priv->fam[family].dims[label];
	if (!d->dynamic) {
		for (i = 0; i < d->n; i++)
			if (d->lens[i] == len && memcmp(d->values[i], value, len) == 0)
				return i;
		return -ENOENT;
	}
	n = metrics_label_sanitize(buf, value ? value : "", len);
	for (i = 0; i < (d->assigned ? d->n : d->used); i++)
		if (d->values[i] && d->lens[i] == n && memcmp(d->values[i], buf, n) == 0)
			return i;
	/* "other" itself must not take a slot: it would be rendered twice. */
	if (d->used == d->n || d->assigned ||
	    (n == d->lens[d->n] && memcmp(buf, METRICS_OTHER, n) == 0))
		return d->n;
	d->values[d->used] = strdup(buf);
	if (!d->values[d->used])
		return d->n;
	d->lens[d->used] = n;
	return d->used++;
}

/* Zeroes every series of family whose index in dimension label is index. */
static void zero_series(struct metrics *m, int family, int label, unsigned int index)
{
	const struct metrics_fam *f = &m->priv->fam[family];
	struct metrics_slot *s = &m->slot[family];
	size_t per = s->type == METRICS_HISTOGRAM ? (size_t)f->n_buckets + 1 : 1;
	uint32_t stride = 1;

	for (int j = label + 1; j < METRICS_MAX_LABELS; j++)
		stride *= s->dim[j];
	for (uint32_t k = 0; k < s->n_series; k++) {
		if ((k / stride) % s->dim[label] != index)
			continue;
		if (s->u)
			memset(&s->u[k * per], 0, per * sizeof(*s->u));
		if (s->d)
			s->d[k] = 0;
	}
}

int metrics_label_assign(struct metrics *m, int family, int label, int index,
			 const char *value, size_t len)
{
	char buf[METRICS_MAX_VALUE_LEN + 1];
	struct metrics_dim *d;
	char *v = NULL;
	size_t n = 0;

	if ((unsigned int)family >= (unsigned int)m->n_families ||
	    label < 0 || label >= m->priv->fam[family].n_labels || (!value && len))
		return -EINVAL;
	d = &m->priv->fam[family].dims[label];
	if (!d->dynamic || index < 0 || index >= d->n)
		return -EINVAL;
	if (value) {
		n = metrics_label_sanitize(buf, value, len);
		if (n == d->lens[d->n] && memcmp(buf, METRICS_OTHER, n) == 0)
			return -EINVAL;
		for (int i = 0; i < d->n; i++)
			if (i != index && d->values[i] && d->lens[i] == n &&
			    memcmp(d->values[i], buf, n) == 0)
				return -EEXIST;
		v = strdup(buf);
		if (!v)
			return -ENOMEM;
	}
	d->assigned = true;
	free(d->values[index]);
	d->values[index] = v;
	d->lens[index] = n;
	zero_series(m, family, label, (unsigned int)index);
	return 0;
}

void metrics_observe(struct metrics *m, int family, uint32_t index, double v)
{
	const struct metrics_fam *f;
	struct metrics_slot *s;
	int lo, hi, mid;

	if ((unsigned int)family >= (unsigned int)m->n_families || isnan(v))
		return;
	s = &m->slot[family];
	if (s->type != METRICS_HISTOGRAM || index >= s->n_series)
		return;
	f = &m->priv->fam[family];
	/* First bucket whose upper bound is >= v (le is inclusive): a scan
	 * from the smallest for the short lists (most values are small, and
	 * its branches predictable), else a binary search. */
	lo = 0;
	hi = f->n_buckets;
	if (hi <= 16) {
		while (lo < hi && v > f->buckets[lo])
			lo++;
		hi = lo;
	}
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (v <= f->buckets[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	s->u[(size_t)index * (f->n_buckets + 1) + lo]++;
	s->d[index] += v;
}

void metrics_counter_set(struct metrics *m, int family, uint32_t index,
			 uint64_t v)
{
	struct metrics_slot *s;

	if ((unsigned int)family >= (unsigned int)m->n_families)
		return;
	s = &m->slot[family];
	if (s->type == METRICS_COUNTER && index < s->n_series)
		s->u[index] = v;
}

uint64_t metrics_counter_value(const struct metrics *m, int family,
			       uint32_t index)
{
	const struct metrics_slot *s;

	if ((unsigned int)family >= (unsigned int)m->n_families)
		return 0;
	s = &m->slot[family];
	if (s->type != METRICS_COUNTER || index >= s->n_series)
		return 0;
	return s->u[index];
}

double metrics_gauge_value(const struct metrics *m, int family, uint32_t index)
{
	const struct metrics_slot *s;

	if ((unsigned int)family >= (unsigned int)m->n_families)
		return 0;
	s = &m->slot[family];
	if (s->type != METRICS_GAUGE || index >= s->n_series)
		return 0;
	return s->d[index];
}

static const struct metrics_slot *hist_slot(const struct metrics *m,
					    int family, uint32_t index)
{
	const struct metrics_slot *s;

	if ((unsigned int)family >= (unsigned int)m->n_families)
		return NULL;
	s = &m->slot[family];
	if (s->type != METRICS_HISTOGRAM || index >= s->n_series)
		return NULL;
	return s;
}

uint64_t metrics_histogram_count(const struct metrics *m, int family,
				 uint32_t index)
{
	const struct metrics_slot *s = hist_slot(m, family, index);
	uint64_t sum = 0;
	int i, nb;

	if (!s)
		return 0;
	nb = m->priv->fam[family].n_buckets + 1;
	for (i = 0; i < nb; i++)
		sum += s->u[(size_t)index * nb + i];
	return sum;
}

double metrics_histogram_sum(const struct metrics *m, int family,
			     uint32_t index)
{
	const struct metrics_slot *s = hist_slot(m, family, index);

	return s ? s->d[index] : 0;
}

int metrics_find(const struct metrics *m, const char *name)
{
	for (int i = 0; i < m->n_families; i++)
		if (strcmp(m->priv->fam[i].name, name) == 0)
			return i;
	return -ENOENT;
}

static const struct metrics_dim *dim_of(const struct metrics *m, int family, int label)
{
	if ((unsigned int)family >= (unsigned int)m->n_families || label < 0 ||
	    label >= m->priv->fam[family].n_labels)
		return NULL;
	return &m->priv->fam[family].dims[label];
}

int metrics_label_count(const struct metrics *m, int family, int label)
{
	const struct metrics_dim *d = dim_of(m, family, label);

	if (!d)
		return 0;
	return d->dynamic ? d->n + 1 : d->n;
}

const char *metrics_label_value(const struct metrics *m, int family, int label, int index)
{
	const struct metrics_dim *d = dim_of(m, family, label);

	if (!d || index < 0 || index >= metrics_label_count(m, family, label))
		return NULL;
	if (d->dynamic && !d->values[index])
		return NULL; /* a slot not taken (or freed) */
	return d->values[index];
}

uint64_t metrics_counter_sum(const struct metrics *m, int family, int i0)
{
	const struct metrics_slot *s;
	uint32_t from = 0, to, stride;
	uint64_t sum = 0;

	if ((unsigned int)family >= (unsigned int)m->n_families)
		return 0;
	s = &m->slot[family];
	if (s->type != METRICS_COUNTER)
		return 0;
	to = s->n_series;
	if (i0 >= 0) {
		if ((uint32_t)i0 >= s->dim[0])
			return 0;
		stride = s->n_series / s->dim[0]; /* row-major: dimension 0 outermost */
		from = (uint32_t)i0 * stride;
		to = from + stride;
	}
	for (uint32_t i = from; i < to; i++)
		sum += s->u[i];
	return sum;
}

int metrics_histogram_buckets(const struct metrics *m, int family, uint32_t index,
			      const double **bounds, const uint64_t **counts)
{
	const struct metrics_slot *s = hist_slot(m, family, index);
	const struct metrics_fam *f;

	if (!s)
		return -EINVAL;
	f = &m->priv->fam[family];
	*bounds = f->buckets;
	*counts = &s->u[(size_t)index * (f->n_buckets + 1)];
	return f->n_buckets;
}
