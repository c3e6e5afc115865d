// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pcap_sink.c - packets to a LINKTYPE_RAW pcap file, via libpcap. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "pcap_sink.h"

#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define TCP_HLEN 20
#define JUMBO_HLEN 8 /* hop-by-hop header with a Jumbo Payload option */
#define MAX_HDRS (IPV6_HLEN + JUMBO_HLEN + TCP_HLEN)
#define SINK_SNAPLEN (WST_MAX_SNAPLEN + MAX_HDRS)

struct pcap_sink {
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	int err;             /* the first write error, a negative errno */
	uint64_t unflushed;  /* packets handed to stdio since the last flush */
	uint64_t failed;     /* packets not (known to be) written */
	uint8_t buf[SINK_SNAPLEN];
};

/* stdio wrote (or failed to write) a buffer of packets at once: those
 * since the last good flush are not all on disk. Counted as not written. */
static int sink_failed(struct pcap_sink *s)
{
	if (!s->err)
		s->err = errno ? -errno : -EIO;
	s->failed += s->unflushed;
	s->unflushed = 0;
	return s->err;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v & 0xffff);
}

/* RFC 1071 one's complement sum, continued from sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int pcap_sink_open(struct pcap_sink **out, const char *path, char *err,
		   size_t errlen)
{
	struct pcap_sink *s;
	FILE *f;
	int rc;

	*out = NULL;
	if (strcmp(path, "-") == 0) {
		/* A duplicate, so closing the dump leaves stdout open. */
		int fd = dup(STDOUT_FILENO);

		f = fd >= 0 ? fdopen(fd, "wb") : NULL;
		if (!f && fd >= 0)
			close(fd);
	} else {
		f = fopen(path, "wb");
	}
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "cannot create %s: %s", path,
			 strerror(-rc));
		return rc;
	}

	s = calloc(1, sizeof(*s));
	if (!s) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* DLT_RAW is written as LINKTYPE_RAW (101): IPv4 and IPv6 in one file. */
	s->pcap = pcap_open_dead_with_tstamp_precision(DLT_RAW, SINK_SNAPLEN,
						       PCAP_TSTAMP_PRECISION_NANO);
	if (!s->pcap) {
		fclose(f);
		free(s);
		snprintf(err, errlen, "cannot create %s: out of memory", path);
		return -ENOMEM;
	}
	s->dumper = pcap_dump_fopen(s->pcap, f);
	if (!s->dumper) {
		snprintf(err, errlen, "cannot write %s: %s", path,
			 pcap_geterr(s->pcap));
		fclose(f);
		pcap_close(s->pcap);
		free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

/* Writes the IP and TCP headers for r into s->buf; returns their length. */
static size_t build_headers(struct pcap_sink *s, const struct wst_record *r,
			    const uint8_t *payload)
{
	uint8_t *ip = s->buf, *th;
	uint32_t tcp_len = TCP_HLEN + r->payload_len;
	uint32_t sum;
	size_t iph;

	if (r->family == 4) {
		uint32_t tot = IPV4_HLEN + tcp_len;

		iph = IPV4_HLEN;
		memset(ip, 0, iph);
		ip[0] = 0x45;
		/* Too long for 16 bits: 0, as a capture taken before TSO shows. */
		put_be16(ip + 2, tot > 0xffff ? 0 : (uint16_t)tot);
		put_be16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, r->saddr, 4);
		memcpy(ip + 16, r->daddr, 4);
		put_be16(ip + 10, csum_fold(csum_add(0, ip, iph)));
	} else {
		iph = IPV6_HLEN;
		memset(ip, 0, IPV6_HLEN + JUMBO_HLEN);
		put_be32(ip, 0x60000000);
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, r->saddr, 16);
		memcpy(ip + 24, r->daddr, 16);
		if (tcp_len > 0xffff) {
			/*
			 * RFC 2675 jumbogram: payload length 0 and a
			 * hop-by-hop Jumbo Payload option with the length.
			 */
			ip[6] = 0;
			ip[40] = 6;
			ip[42] = 0xc2;
			ip[43] = 4;
			put_be32(ip + 44, JUMBO_HLEN + tcp_len);
			iph += JUMBO_HLEN;
		} else {
			put_be16(ip + 4, (uint16_t)tcp_len);
		}
	}

	th = ip + iph;
	memset(th, 0, TCP_HLEN);
	put_be16(th, r->sport);
	put_be16(th + 2, r->dport);
	put_be32(th + 4, r->seq);
	put_be32(th + 8, r->ack);
	th[12] = (TCP_HLEN / 4) << 4;
	th[13] = r->tcp_flags;
	put_be16(th + 14, r->window);

	if (r->cap_len == r->payload_len) {
		/* RFC 9293 3.1 / RFC 8200 8.1: checksum over a pseudo-header. */
		uint8_t pseudo[8];

		if (r->family == 4) {
			sum = csum_add(0, r->saddr, 4);
			sum = csum_add(sum, r->daddr, 4);
		} else {
			sum = csum_add(0, r->saddr, 16);
			sum = csum_add(sum, r->daddr, 16);
		}
		put_be32(pseudo, tcp_len);
		put_be32(pseudo + 4, 6);
		sum = csum_add(sum, pseudo, sizeof(pseudo));
		sum = csum_add(sum, th, TCP_HLEN);
		/* The header is even-sized, so the payload's pairs line up. */
		sum = csum_add(sum, payload, r->cap_len);
		put_be16(th + 16, csum_fold(sum));
	}
	/* else left 0: the checksum cannot be computed without the payload. */
	return iph + TCP_HLEN;
}

int pcap_sink_write(struct pcap_sink *s, const struct wst_packet *pkt)
{
	const struct wst_record *r = &pkt->r;
	struct pcap_pkthdr hdr;
	size_t hlen;

	/* The wire length must fit the 32-bit pcap and jumbogram fields. */
	if ((r->family != 4 && r->family != 6) ||
	    r->cap_len > r->payload_len || r->cap_len > WST_MAX_SNAPLEN ||
	    r->payload_len > UINT32_MAX - MAX_HDRS ||
	    (r->cap_len && !pkt->payload))
		return -EINVAL;

	hlen = build_headers(s, r, pkt->payload);
	if (r->cap_len)
		memcpy(s->buf + hlen, pkt->payload, r->cap_len);

	memset(&hdr, 0, sizeof(hdr));
	/* The dead handle is nanosecond precision: tv_usec carries ns. */
	hdr.ts.tv_sec = (time_t)(r->ts_ns / 1000000000ull);
	hdr.ts.tv_usec = (suseconds_t)(r->ts_ns % 1000000000ull);
	hdr.caplen = (bpf_u_int32)(hlen + r->cap_len);
	hdr.len = (bpf_u_int32)(hlen + r->payload_len);
	errno = 0;
	pcap_dump((u_char *)s->dumper, &hdr, s->buf);
	s->unflushed++;
	if (ferror(pcap_dump_file(s->dumper)))
		return sink_failed(s);
	return 0;
}

int pcap_sink_flush(struct pcap_sink *s)
{
	errno = 0;
	if (pcap_dump_flush(s->dumper) != 0 || ferror(pcap_dump_file(s->dumper)))
		return sink_failed(s);
	s->unflushed = 0;
	return 0;
}

int pcap_sink_error(const struct pcap_sink *s)
{
	return s->err;
}

uint64_t pcap_sink_failed(const struct pcap_sink *s)
{
	return s->failed;
}

int pcap_sink_close(struct pcap_sink *s, uint64_t *failed)
{
	int rc;

	if (!s)
		return 0;
	/* Flushed here, where a full disk can still be told. */
	pcap_sink_flush(s);
	rc = s->err;
	if (failed)
		*failed = s->failed;
	pcap_dump_close(s->dumper);
	pcap_close(s->pcap);
	free(s);
	return rc;
}
