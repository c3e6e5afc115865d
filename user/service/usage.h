/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * usage.h - what wstrace says about itself: the summary, the examples and
 * the exit statuses, for --help (argp) and the wstrace(8) man page, which
 * lists the options of options_table.
 */
#ifndef WST_USAGE_H
#define WST_USAGE_H

#include <stdio.h>

/* argp's doc: the summary, then after '\v' the examples and exit statuses. */
const char *usage_argp_doc(void);

/* The wstrace(8) man page in roff (man macros), for --help-man. */
void usage_write_man(FILE *f, const char *version);

#endif /* WST_USAGE_H */
