// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pcap_source.c - capture files (pcap, pcapng) as a packet source, via
 * libpcap. libpcap reads a file with read() and copies each record once
 * more into its own buffer; on a large classic pcap file that copying was a
 * third of `wstrace -r`. So once libpcap has checked the file's header, the
 * records of a regular classic pcap file are taken in place from a read-only
 * mapping of it, and anything out of the ordinary (a record longer than the
 * snapshot length, a cut record, the end of the mapping) is handed back to
 * libpcap at that record's offset, which then reads on as it always did.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "packet_parse.h"
#include "pcap_source.h"

#define PCAP_SOURCE_IOBUF (1u << 20)

/* A classic pcap file taken in place (NULL base: libpcap reads). */
struct pcap_mapped {
	const uint8_t *base;
	size_t len, off;     /* off: the next record header */
	size_t dropped;      /* pages before this are unmapped from the process */
	uint32_t snaplen;    /* libpcap's, as adjusted for the link type */
	bool swapped, nano;
	struct sigaction old_bus; /* SIGBUS as it was before the mapping */
};

struct pcap_source {
	pcap_t *pcap;
	char *iobuf;    /* stdio buffer of the file, freed after pcap_close */
	int linktype;
	struct pcap_mapped map;
	struct pcap_pkthdr map_hdr; /* of the record taken in place */
	struct pcap_source_stats stats;
	char err[PCAP_ERRBUF_SIZE + 128];
};

static const char *linktype_name(int linktype)
{
	const char *name = pcap_datalink_val_to_name(linktype);

	return name ? name : "unknown";
}

static const char *linktype_desc(int linktype)
{
	const char *desc = pcap_datalink_val_to_description(linktype);

	return desc ? desc : "no description";
}

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du
#define PCAP_FILE_HDR_LEN 24
#define PCAP_REC_HDR_LEN 16
/* Pages read are let go in steps this large (RSS stays small). */
#define PCAP_MAP_DROP_STEP (2u << 20)

/* Whether the file's first bytes are a classic pcap magic we map. */
static bool classic_magic(uint32_t m, bool *swapped, bool *nano)
{
	uint32_t sw = __builtin_bswap32(m);

	*swapped = sw == PCAP_MAGIC_USEC || sw == PCAP_MAGIC_NSEC;
	*nano = m == PCAP_MAGIC_NSEC || sw == PCAP_MAGIC_NSEC;
	return *swapped || m == PCAP_MAGIC_USEC || m == PCAP_MAGIC_NSEC;
}

/*
 * A mapped file cut shorter while it is read faults (SIGBUS) on the pages
 * past its new end: that is said plainly, with the exit status of an I/O
 * error, rather than as a crash.
 */
static void on_sigbus(int sig)
{
	static const char msg[] = "wstrace: the capture file was cut shorter while it was read\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more can be said */
	}
	_exit(EX_IOERR);
}

/* Maps f if it is a regular classic pcap file; false leaves it to libpcap. */
static bool map_classic(struct pcap_mapped *m, FILE *f, const struct stat *st)
{
	uint32_t magic;
	void *base;

	if (!S_ISREG(st->st_mode) || st->st_size <= PCAP_FILE_HDR_LEN)
		return false;
	if (pread(fileno(f), &magic, sizeof(magic), 0) != sizeof(magic) ||
	    !classic_magic(magic, &m->swapped, &m->nano))
		return false;
	base = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE, fileno(f), 0);
	if (base == MAP_FAILED)
		return false;
	madvise(base, (size_t)st->st_size, MADV_SEQUENTIAL);
	{
		struct sigaction sa = { .sa_handler = on_sigbus };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, &m->old_bus);
	}
	m->base = base;
	m->len = (size_t)st->st_size;
	m->off = PCAP_FILE_HDR_LEN;
	return true;
}

static void unmap(struct pcap_mapped *m)
{
	if (!m->base)
		return;
	munmap((void *)m->base, m->len);
	sigaction(SIGBUS, &m->old_bus, NULL);
	m->base = NULL;
}

static uint32_t rec_u32(const struct pcap_mapped *m, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return m->swapped ? __builtin_bswap32(v) : v;
}

/*
 * The next record in place: 1 with *hdr and *data set, or 0 when libpcap
 * must go on from m->off (the file then goes on being read through it; a
 * file still growing is read past what was mapped).
 */
static int mapped_next(struct pcap_mapped *m, struct pcap_pkthdr *hdr,
		       const uint8_t **data)
{
	const uint8_t *p = m->base + m->off;
	uint32_t frac;

	if (m->off - m->dropped >= PCAP_MAP_DROP_STEP) {
		/* Records before this one are done with: the page cache keeps
		 * them, the process's RSS need not count the whole file. */
		size_t end = m->off & ~((size_t)sysconf(_SC_PAGESIZE) - 1);

		madvise((void *)(m->base + m->dropped), end - m->dropped, MADV_DONTNEED);
		m->dropped = end;
	}
	if (m->len - m->off < PCAP_REC_HDR_LEN)
		return 0;
	hdr->caplen = rec_u32(m, p + 8);
	hdr->len = rec_u32(m, p + 12);
	if (hdr->caplen > m->snaplen ||
	    m->len - m->off - PCAP_REC_HDR_LEN < hdr->caplen)
		return 0;
	hdr->ts.tv_sec = rec_u32(m, p);
	frac = rec_u32(m, p + 4);
	/* libpcap at nanosecond precision: tv_usec holds nanoseconds */
	hdr->ts.tv_usec = m->nano ? frac : (suseconds_t)frac * 1000;
	*data = p + PCAP_REC_HDR_LEN;
	m->off += PCAP_REC_HDR_LEN + hdr->caplen;
	return 1;
}

/* libpcap reads on from the first record not taken in place. */
static int hand_to_libpcap(struct pcap_source *s)
{
	off_t off = (off_t)s->map.off;

	unmap(&s->map);
	if (fseeko(pcap_file(s->pcap), off, SEEK_SET)) {
		snprintf(s->err, sizeof(s->err), "cannot seek in the capture: %s",
			 strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Reads the capture in f (owned from here on, unless stdin). */
static int open_stream(struct pcap_source **out, FILE *f, const char *name,
		       const struct stat *st, char *err, size_t errlen)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct pcap_source *s;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		if (f != stdin)
			fclose(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* Mapped, libpcap reads only the header until a hand-over. */
	if (st && map_classic(&s->map, f, st))
		st = NULL;
	/* One read() per MiB instead of per 4 KiB (glibc ignores the size
	 * unless it is given the buffer). */
	if (st)
		s->iobuf = malloc(PCAP_SOURCE_IOBUF);
	if (s->iobuf)
		setvbuf(f, s->iobuf, _IOFBF, PCAP_SOURCE_IOBUF);
	/* Nanosecond precision: libpcap scales microsecond files up. */
	s->pcap = pcap_fopen_offline_with_tstamp_precision(
		f, PCAP_TSTAMP_PRECISION_NANO, pcap_err);
	if (!s->pcap) {
		/* On failure libpcap leaves the FILE to us. */
		if (f != stdin)
			fclose(f);
		unmap(&s->map);
		free(s->iobuf);
		free(s);
		snprintf(err, errlen,
			 "%s is not a readable pcap or pcapng file: %s",
			 name, pcap_err);
		return -EINVAL;
	}
	s->linktype = pcap_datalink(s->pcap);
	if (!pkt_parse_linktype_supported(s->linktype)) {
		snprintf(err, errlen,
			 "%s: link type %s (%s, %d) is not supported; "
			 "supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP",
			 name, linktype_name(s->linktype),
			 linktype_desc(s->linktype), s->linktype);
		pcap_source_close(s);
		return -EPROTONOSUPPORT;
	}
	s->map.snaplen = (uint32_t)pcap_snapshot(s->pcap);
	*out = s;
	return 0;
}

int pcap_source_open(struct pcap_source **out, const char *path, char *err,
		     size_t errlen)
{
	struct stat st;
	FILE *f;
	int rc;

	*out = NULL;
	if (strcmp(path, "-") == 0)
		return open_stream(out, stdin, path, NULL, err, errlen); /* libpcap leaves stdin open */
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fileno(f), &st)) {
		rc = -errno;
		fclose(f);
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	if (S_ISDIR(st.st_mode)) {
		fclose(f);
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(EISDIR));
		return -EISDIR;
	}
	return open_stream(out, f, path, &st, err, errlen);
}

int pcap_source_open_stream(struct pcap_source **out, FILE *f, const char *name,
			    char *err, size_t errlen)
{
	return open_stream(out, f, name, NULL, err, errlen);
}

/* The next record: 1, 0 at the end of the file, or -EIO (s->err says why). */
static int next_record(struct pcap_source *s, struct pcap_pkthdr **hdr,
		       const u_char **data)
{
	int rc;

	if (s->map.base) {
		if (mapped_next(&s->map, &s->map_hdr, data)) {
			*hdr = &s->map_hdr;
			return 1;
		}
		rc = hand_to_libpcap(s);
		if (rc)
			return rc;
	}
	rc = pcap_next_ex(s->pcap, hdr, data);
	if (rc == 1)
		return 1;
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	snprintf(s->err, sizeof(s->err), "%s", pcap_geterr(s->pcap));
	return -EIO;
}

int pcap_source_next(struct pcap_source *s, struct wst_packet *out)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;

	for (;;) {
		int rc = next_record(s, &hdr, &data);

		if (rc <= 0)
			return rc;
		s->stats.frames++;
		rc = pkt_parse_frame(s->linktype, data, hdr->caplen, hdr->len,
				     &out->r, &out->payload);
		switch (rc) {
		case 0:
			/* With nanosecond precision tv_usec holds nanoseconds. */
			out->r.ts_ns = (uint64_t)hdr->ts.tv_sec * 1000000000ull +
				       (uint64_t)hdr->ts.tv_usec;
			s->stats.tcp++;
			return 1;
		case PKT_ERR_TRUNCATED:
			s->stats.truncated++;
			break;
		case PKT_ERR_MALFORMED:
			s->stats.malformed++;
			break;
		case PKT_ERR_FRAGMENT:
			s->stats.fragments++;
			break;
		default: /* PKT_ERR_NOT_TCP; the link type was checked at open */
			s->stats.not_tcp++;
			break;
		}
	}
}

const char *pcap_source_error(const struct pcap_source *s)
{
	return s->err;
}

void pcap_source_stats(const struct pcap_source *s,
		       struct pcap_source_stats *out)
{
	*out = s->stats;
}

int pcap_source_linktype(const struct pcap_source *s)
{
	return s->linktype;
}

bool pcap_source_in_place(const struct pcap_source *s)
{
	return s->map.base != NULL;
}

void pcap_source_close(struct pcap_source *s)
{
	if (!s)
		return;
	pcap_close(s->pcap);
	unmap(&s->map);
	free(s->iobuf);
	free(s);
}
