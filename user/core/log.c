// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* log.c - diagnostics on stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int wst_log_verbosity = WST_LOG_WARN;

void wst_log(enum wst_log_level level, const char *fmt, ...)
{
	va_list ap;

	if ((int)level > wst_log_verbosity)
		return;
	fputs("wstrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
