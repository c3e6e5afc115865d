/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sdnotify.h - the sd_notify(3) protocol spoken directly (no libsystemd):
 * one datagram of "VAR=value" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
 */
#ifndef WST_SDNOTIFY_H
#define WST_SDNOTIFY_H

#include <stdint.h>

/*
 * Sends state, e.g. "READY=1", "STATUS=watching 2 interfaces",
 * "WATCHDOG=1", "STOPPING=1". Returns 0 when sent, 0 when NOTIFY_SOCKET is
 * unset or empty (not under systemd: nothing to do), -EINVAL for a state
 * or address that cannot be sent, -EAFNOSUPPORT for socket kinds other
 * than AF_UNIX (e.g. "vsock:"), or the -errno of the failed send.
 */
int sdnotify_send(const char *state);

/* printf-style sdnotify_send(); states are bounded to 4 KiB. */
int sdnotify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "RELOADING=1" with MONOTONIC_USEC=now, as systemd 253+ wants it. */
int sdnotify_reloading(void);

/*
 * The watchdog interval from $WATCHDOG_USEC, 0 if none or if
 * $WATCHDOG_PID is set to another process. Send "WATCHDOG=1" at about
 * half this interval.
 */
uint64_t sdnotify_watchdog_usec(void);

#endif /* WST_SDNOTIFY_H */
