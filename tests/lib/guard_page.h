/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * guard_page.h - places test input so that it ends exactly where an
 * unmapped (PROT_NONE) page begins: reading one byte past the input
 * faults at once, without a sanitizer.
 *
 *	struct guard_buf g;
 *	const uint8_t *p = guard_copy(&g, input, len);   (also g.p)
 *	... parse p[0..len) ...
 *	guard_free(&g);
 *
 * guard_copy_ro() also makes the input read-only, for decoders that must
 * never write to the bytes they are given.
 */
#ifndef WST_TEST_GUARD_PAGE_H
#define WST_TEST_GUARD_PAGE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guard_buf {
	uint8_t *map;
	size_t maplen;
	const uint8_t *p; /* the copy */
};

/* Returns a copy of src[0..len) that ends at a guard page; aborts on failure. */
static inline const uint8_t *guard_copy(struct guard_buf *g, const void *src,
					size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data_pages = (len + page - 1) / page;
	uint8_t *start;

	if (data_pages == 0)
		data_pages = 1;
	g->maplen = (data_pages + 1) * page;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		abort();
	if (mprotect(g->map + data_pages * page, page, PROT_NONE) != 0)
		abort();
	start = g->map + data_pages * page - len;
	if (len)
		memcpy(start, src, len);
	g->p = start;
	return start;
}

/* The same, and the copy read-only: writing to it faults too. */
static inline const uint8_t *guard_copy_ro(struct guard_buf *g, const void *src,
					   size_t len)
{
	const uint8_t *p = guard_copy(g, src, len);

	if (mprotect(g->map, g->maplen - (size_t)sysconf(_SC_PAGESIZE), PROT_READ) != 0)
		abort();
	return p;
}

static inline void guard_free(struct guard_buf *g)
{
	munmap(g->map, g->maplen);
	g->map = NULL;
	g->maplen = 0;
	g->p = NULL;
}

#endif /* WST_TEST_GUARD_PAGE_H */
