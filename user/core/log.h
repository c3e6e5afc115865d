/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* log.h - diagnostics on stderr, one format: "wstrace: message". */
#ifndef WST_LOG_H
#define WST_LOG_H

enum wst_log_level { WST_LOG_WARN, WST_LOG_INFO, WST_LOG_DEBUG };

extern int wst_log_verbosity; /* WST_LOG_INFO shows info; DEBUG shows all */

void wst_log(enum wst_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_warn(...) wst_log(WST_LOG_WARN, __VA_ARGS__)
#define pr_info(...) wst_log(WST_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) wst_log(WST_LOG_DEBUG, __VA_ARGS__)

#endif /* WST_LOG_H */
