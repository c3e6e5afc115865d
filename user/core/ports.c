// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ports.c - parse the -p list of watched ports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports.h"

void ports_add(struct port_set *set, uint16_t port)
{
	if (ports_has(set, port) || set->n >= PORTS_MAX)
		return;
	set->list[set->n++] = port;
	set->bits[port >> 6] |= 1ULL << (port & 63);
}

int ports_parse(struct port_set *set, const char *spec, char *err, size_t errlen)
{
	const char *p = spec;

	memset(set, 0, sizeof(*set));
	for (;;) {
		const char *end = p + strcspn(p, ",");
		char *stop;
		unsigned long v;

		errno = 0;
		v = strtoul(p, &stop, 10);
		if (end == p || stop != end || errno || v == 0 || v > 65535 || *p == '-' || *p == '+' || *p == ' ') {
			snprintf(err, errlen, "bad port '%.*s' in '%s': expected numbers 1-65535 separated by commas, e.g. -p 7272,8080",
				 (int)(end - p), p, spec);
			return -EINVAL;
		}
		if (set->n >= PORTS_MAX && !ports_has(set, (uint16_t)v)) {
			snprintf(err, errlen, "too many ports in '%s': at most %d", spec, PORTS_MAX);
			return -E2BIG;
		}
		ports_add(set, (uint16_t)v);
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}
