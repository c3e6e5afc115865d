// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pcap_source.c - capture files (pcap, pcapng) as a packet source, via libpcap. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pcap/pcap.h>

#include "packet_parse.h"
#include "pcap_source.h"

#define PCAP_SOURCE_IOBUF (1u << 20)

struct pcap_source {
	pcap_t *pcap;
	char *iobuf;    /* stdio buffer of the file, freed after pcap_close */
	int linktype;
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

/* Reads the capture in f (owned from here on, unless stdin). */
static int open_stream(struct pcap_source **out, FILE *f, const char *name,
		       bool big_buffer, char *err, size_t errlen)
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
	/* One read() per MiB instead of per 4 KiB (glibc ignores the size
	 * unless it is given the buffer). */
	if (big_buffer)
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
		pcap_close(s->pcap);
		free(s->iobuf);
		free(s);
		return -EPROTONOSUPPORT;
	}
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
		return open_stream(out, stdin, path, false, err, errlen); /* libpcap leaves stdin open */
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(EISDIR));
		return -EISDIR;
	}
	return open_stream(out, f, path, true, err, errlen);
}

int pcap_source_open_stream(struct pcap_source **out, FILE *f, const char *name,
			    char *err, size_t errlen)
{
	return open_stream(out, f, name, false, err, errlen);
}

int pcap_source_next(struct pcap_source *s, struct wst_packet *out)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;

	for (;;) {
		int rc = pcap_next_ex(s->pcap, &hdr, &data);

		if (rc == PCAP_ERROR_BREAK)
			return 0; /* end of file */
		if (rc != 1) {
			snprintf(s->err, sizeof(s->err), "%s",
				 pcap_geterr(s->pcap));
			return -EIO;
		}
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

void pcap_source_close(struct pcap_source *s)
{
	if (!s)
		return;
	pcap_close(s->pcap);
	free(s->iobuf);
	free(s);
}
