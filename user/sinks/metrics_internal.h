/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * metrics_internal.h - the registry's family descriptions, shared by the
 * registry (metrics.c) and the exposition (metrics_render.c) only.
 */
#ifndef WST_METRICS_INTERNAL_H
#define WST_METRICS_INTERNAL_H

#include <stdbool.h>

#include "metrics.h"

struct metrics_dim {
	char *name;
	char **values;     /* fixed: n entries; dynamic: cap + 1, last "other" */
	size_t *lens;
	int n;             /* fixed: count; dynamic: capacity */
	int used;          /* dynamic: values taken so far */
	bool dynamic;
	bool assigned;     /* dynamic: slots given by metrics_label_assign() only */
};

struct metrics_fam {
	char *name;
	char *help;
	int n_labels;
	struct metrics_dim dims[METRICS_MAX_LABELS];
	double *buckets;
	int n_buckets;
};

struct metrics_priv {
	struct metrics_fam fam[METRICS_MAX_FAMILIES];
};

#endif /* WST_METRICS_INTERNAL_H */
