/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ports.h - the set of watched TCP ports. */
#ifndef WST_PORTS_H
#define WST_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORTS_MAX 64 /* -p accepts at most this many */

struct port_set {
	uint16_t list[PORTS_MAX];
	int n;
	uint64_t bits[65536 / 64];
};

/*
 * Parses "7272" or "7272,8080" (ranges are not accepted). Returns 0, or
 * -EINVAL with a message in err naming the bad item, or -E2BIG past PORTS_MAX.
 */
int ports_parse(struct port_set *set, const char *spec, char *err, size_t errlen);
void ports_add(struct port_set *set, uint16_t port);

static inline bool ports_has(const struct port_set *set, uint16_t port)
{
	return set->bits[port >> 6] >> (port & 63) & 1;
}

#endif /* WST_PORTS_H */
