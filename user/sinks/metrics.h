/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * metrics.h - a registry of metric families and its Prometheus text
 * exposition (format 0.0.4, metrics_render.c).
 *
 * Families are declared once, at start-up: a name, a help text, a type and
 * up to METRICS_MAX_LABELS label dimensions. Each dimension has either a
 * fixed set of values known at declaration (addressed by small integer
 * indexes) or a bounded dynamic set filled as values are first seen, the
 * rest being counted under METRICS_OTHER. Every combination of label
 * values is one series, addressed by a series index (row-major: see
 * metrics_index2()). All series are allocated at declaration, so updates
 * are plain array operations: no allocation, no string work, no hashing.
 *
 * Single-threaded: updates and rendering must happen on the same thread.
 */
#ifndef WST_METRICS_H
#define WST_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_FAMILIES 128
#define METRICS_MAX_LABELS 3
#define METRICS_MAX_SERIES 65536     /* per family, all label combinations */
#define METRICS_MAX_BUCKETS 64       /* per histogram, +Inf not included */
#define METRICS_MAX_DYNAMIC 1024     /* distinct values of a dynamic label */
#define METRICS_MAX_VALUE_LEN 128    /* bytes kept of a dynamic label value */
#define METRICS_RENDER_MAX (16u << 20) /* bound on one exposition */

/* Label value that collects what does not fit in a full dynamic label. */
#define METRICS_OTHER "other"

enum metrics_type {
	METRICS_COUNTER,   /* uint64, only goes up; name must end in _total */
	METRICS_GAUGE,     /* double, goes up and down */
	METRICS_HISTOGRAM, /* fixed buckets, _bucket/_sum/_count */
};

/* One label dimension of a family. */
struct metrics_label {
	const char *name;
	/*
	 * Fixed values (copied), or NULL for a dynamic label. For a dynamic
	 * label n_values is its capacity: values get indexes 0..n_values-1 in
	 * the order they are first seen, and index n_values is METRICS_OTHER.
	 */
	const char *const *values;
	int n_values;
};

/* Private: visible only so that metrics_add() and friends can be inlined. */
struct metrics_slot {
	uint8_t type;        /* enum metrics_type */
	uint32_t n_series;
	uint32_t dim[METRICS_MAX_LABELS]; /* indexes per dimension (1 if unused) */
	uint64_t *u;         /* counter: one per series; histogram: buckets */
	double *d;           /* gauge: one per series; histogram: sums */
};

struct metrics {
	int n_families;
	struct metrics_slot slot[METRICS_MAX_FAMILIES];
	struct metrics_priv *priv;
};

int metrics_new(struct metrics **out);
void metrics_free(struct metrics *m);

/*
 * Declares a family; returns its id (>= 0) or -EINVAL (bad name, label or
 * buckets; counter name not ending in _total), -EEXIST (name taken),
 * -E2BIG (too many families or series), -ENOMEM. Ids are dense, from 0, in
 * declaration order, which is also the rendering order. buckets are the
 * histogram upper bounds, finite and strictly increasing (NULL otherwise).
 */
int metrics_family(struct metrics *m, enum metrics_type type, const char *name,
		   const char *help, const struct metrics_label *labels,
		   int n_labels, const double *buckets, int n_buckets);

/* Shorthands with zero or one label (label_name NULL: no label). */
int metrics_counter(struct metrics *m, const char *name, const char *help,
		    const char *label_name, const char *const *values,
		    int n_values);
int metrics_gauge(struct metrics *m, const char *name, const char *help,
		  const char *label_name, const char *const *values,
		  int n_values);
int metrics_histogram(struct metrics *m, const char *name, const char *help,
		      const double *buckets, int n_buckets,
		      const char *label_name, const char *const *values,
		      int n_values);

/* A gauge with one series, constant 1: name{label_name="value"} 1. */
int metrics_info(struct metrics *m, const char *name, const char *help,
		 const char *label_name, const char *value);

/* Bucket sets for latencies (50us..10s) and sizes (16B..1MiB). */
extern const double metrics_buckets_seconds[];
extern const int metrics_n_buckets_seconds;
extern const double metrics_buckets_bytes[];
extern const int metrics_n_buckets_bytes;

/*
 * The index of value within label dimension `label` of a family: for a
 * fixed label, its position or -ENOENT; for a dynamic label, its slot,
 * taking a free one if the value is new, or the METRICS_OTHER index once
 * all are taken. A dynamic value is kept at most METRICS_MAX_VALUE_LEN
 * bytes and invalid UTF-8 is replaced by '?' (so any bytes are safe).
 * Costs a string search: call per message, not per packet, or cache it.
 */
int metrics_label_index(struct metrics *m, int family, int label,
			const char *value, size_t len);

/*
 * Names slot index (< the capacity) of a dynamic label value, or frees it
 * (value NULL: its series are no longer rendered), for a label whose values
 * the caller ranks itself (see topn.h); the slot's series restart from 0,
 * so each rendered series only goes up. From the first call on, the label
 * takes no value through metrics_label_index(): unnamed values are
 * METRICS_OTHER's. 0, -EINVAL (not a dynamic slot, or "other"), -EEXIST
 * (another slot has that value) or -ENOMEM.
 */
int metrics_label_assign(struct metrics *m, int family, int label, int index,
			 const char *value, size_t len);

/* The value a dynamic label keeps of value (see metrics_label_index) in
 * out (METRICS_MAX_VALUE_LEN + 1 bytes); returns its length. */
size_t metrics_label_sanitize(char *out, const char *value, size_t len);

/* Series index of a label combination; UINT32_MAX if out of range. */
static inline uint32_t metrics_index2(const struct metrics *m, int family,
				      unsigned int i0, unsigned int i1)
{
	const struct metrics_slot *s;

	if ((unsigned int)family >= METRICS_MAX_FAMILIES ||
	    (unsigned int)family >= (unsigned int)m->n_families)
		return UINT32_MAX;
	s = &m->slot[family];
	if (i0 >= s->dim[0] || i1 >= s->dim[1])
		return UINT32_MAX;
	return i0 * s->dim[1] + i1;
}

static inline uint32_t metrics_index3(const struct metrics *m, int family,
				      unsigned int i0, unsigned int i1,
				      unsigned int i2)
{
	const struct metrics_slot *s;

	if ((unsigned int)family >= METRICS_MAX_FAMILIES ||
	    (unsigned int)family >= (unsigned int)m->n_families)
		return UINT32_MAX;
	s = &m->slot[family];
	if (i0 >= s->dim[0] || i1 >= s->dim[1] || i2 >= s->dim[2])
		return UINT32_MAX;
	return (i0 * s->dim[1] + i1) * s->dim[2] + i2;
}

/*
 * Hot path. A bad family id (including a negative error from declaration)
 * or series index, or the wrong family type, makes the update a no-op, so
 * a failed declaration costs a metric, never memory safety.
 */
static inline struct metrics_slot *metrics_slot_(struct metrics *m, int family,
						  uint8_t type, uint32_t index)
{
	struct metrics_slot *s;

	/* The constant bound also tells the compiler the array is safe. */
	if ((unsigned int)family >= METRICS_MAX_FAMILIES ||
	    (unsigned int)family >= (unsigned int)m->n_families)
		return NULL;
	s = &m->slot[family];
	if (s->type != type || index >= s->n_series)
		return NULL;
	return s;
}

static inline void metrics_add(struct metrics *m, int family,
			       uint32_t index, uint64_t v)
{
	struct metrics_slot *s = metrics_slot_(m, family, METRICS_COUNTER, index);

	if (s)
		s->u[index] += v;
}

static inline void metrics_inc(struct metrics *m, int family, uint32_t index)
{
	metrics_add(m, family, index, 1);
}

/* Gauges: set or move by delta. */
static inline void metrics_set(struct metrics *m, int family,
			       uint32_t index, double v)
{
	struct metrics_slot *s = metrics_slot_(m, family, METRICS_GAUGE, index);

	if (s)
		s->d[index] = v;
}

static inline void metrics_gauge_add(struct metrics *m, int family,
				     uint32_t index, double delta)
{
	struct metrics_slot *s = metrics_slot_(m, family, METRICS_GAUGE, index);

	if (s)
		s->d[index] += delta;
}

/* Histograms: one observation (NaN is ignored). */
void metrics_observe(struct metrics *m, int family, uint32_t index, double v);

/*
 * Sets a counter to an absolute value, for counts kept elsewhere (the
 * kernel's per-CPU maps, summed before each render).
 */
void metrics_counter_set(struct metrics *m, int family, uint32_t index,
			 uint64_t v);

/* Reading back, for --stats and tests; 0 for a bad family or index. */
uint64_t metrics_counter_value(const struct metrics *m, int family,
			       uint32_t index);
double metrics_gauge_value(const struct metrics *m, int family,
			   uint32_t index);
uint64_t metrics_histogram_count(const struct metrics *m, int family,
				 uint32_t index);
double metrics_histogram_sum(const struct metrics *m, int family,
			     uint32_t index);

/*
 * Reading back by name, for views of the registry (--top): a family's id
 * or -ENOENT; the number of indexes of a label dimension (a dynamic one's
 * capacity, then METRICS_OTHER) and the value at an index (NULL when out
 * of range or a dynamic slot not taken yet).
 */
int metrics_find(const struct metrics *m, const char *name);
int metrics_label_count(const struct metrics *m, int family, int label);
const char *metrics_label_value(const struct metrics *m, int family, int label, int index);

/* A counter's series summed: those whose first label has index i0, or
 * every series with i0 < 0. 0 for a bad family. */
uint64_t metrics_counter_sum(const struct metrics *m, int family, int i0);

/*
 * A histogram series' buckets: *bounds gets the upper bounds and *counts
 * the observations per bucket (not cumulative; one more than the bounds,
 * the last above every bound). Returns the number of bounds, or -EINVAL.
 */
int metrics_histogram_buckets(const struct metrics *m, int family, uint32_t index,
			      const double **bounds, const uint64_t **counts);

/*
 * Renders the whole registry in the Prometheus text format 0.0.4 into a
 * new buffer (NUL-terminated, *len excludes the NUL) the caller frees.
 * Returns 0, -ENOMEM or -E2BIG (over METRICS_RENDER_MAX).
 */
int metrics_render(const struct metrics *m, char **buf, size_t *len);

/* metrics_render() with the registry as a void * context, for callbacks. */
int metrics_render_cb(void *registry, char **buf, size_t *len);

#endif /* WST_METRICS_H */
