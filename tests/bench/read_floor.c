// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * read_floor.c - the offline floor for the benchmark: reads a capture file
 * the way `wstrace -r` does (a read-only mapping, read in order, the pages
 * behind let go every 2 MiB) and touches every byte, eight at a time, doing
 * nothing else. Any decoder that checks every payload byte (UTF-8 of text
 * messages) pays at least this; its CPU time is the benchmark's figure.
 *
 *   read_floor FILE   prints the XOR of the file's 8-byte words
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DROP_STEP (2u << 20) /* as wstrace's reader */

int main(int argc, char **argv)
{
	const uint8_t *p;
	uint64_t acc = 0, w;
	size_t len, i, dropped = 0;
	struct stat st;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: read_floor FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || st.st_size < 8) {
		perror(argv[1]);
		return 1;
	}
	len = (size_t)st.st_size;
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise((void *)p, len, MADV_SEQUENTIAL);
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, sizeof(w));
		acc ^= w;
		if (i - dropped >= DROP_STEP) {
			size_t end = i & ~((size_t)sysconf(_SC_PAGESIZE) - 1);

			madvise((void *)(p + dropped), end - dropped, MADV_DONTNEED);
			dropped = end;
		}
	}
	printf("%016llx\n", (unsigned long long)acc);
	return 0;
}
