// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_pcap.c - pcap_sink writes, pcap_source reads back; captures made by
 * tcpdump -i any (Linux cooked v2) decode to the values tshark shows; bad
 * files give clear errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <pcap/pcap.h>

#include "sources/pcap_source.h"
#include "sinks/pcap_sink.h"

/* Committed captures live next to the tests: tests/data/pcap/. */
static void data_path(char *buf, size_t len, const char *name)
{
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__) : 0;

	snprintf(buf, len, "%.*s%s../data/pcap/%s", dir, __FILE__,
		 slash ? "/" : "", name);
}

struct tmpfile {
	char path[64];
};

/* Every temp file made, removed after each test even when it failed. */
static char tmp_paths[16][64];
static int tmp_count;

static void tmp_make(struct tmpfile *t)
{
	int fd;

	snprintf(t->path, sizeof(t->path), "/tmp/wst-test-pcap.XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	close(fd);
	assert_true(tmp_count < 16);
	snprintf(tmp_paths[tmp_count++], sizeof(tmp_paths[0]), "%s", t->path);
}

static int tmp_cleanup(void **state)
{
	(void)state;
	for (int i = 0; i < tmp_count; i++)
		unlink(tmp_paths[i]);
	tmp_count = 0;
	return 0;
}

/* Writes data to t, made before (tmp_make) and kept. */
static void tmp_rewrite(struct tmpfile *t, const void *data, size_t len)
{
	FILE *f;

	f = fopen(t->path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void tmp_write(struct tmpfile *t, const void *data, size_t len)
{
	tmp_make(t);
	tmp_rewrite(t, data, len);
}

static void tmp_remove(struct tmpfile *t)
{
	unlink(t->path);
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* ---- sink -> source round trip ---- */

struct test_pkt {
	struct wst_packet p;
	uint8_t data[256];
};

static uint8_t big_payload[70000];

static void make_pkt(struct test_pkt *t, int family, uint8_t flags,
		     uint32_t payload_len, uint32_t cap_len, uint64_t ts_ns)
{
	struct wst_record *r = &t->p.r;

	memset(t, 0, sizeof(*t));
	r->version = WST_RECORD_VERSION;
	r->kind = WST_REC_PACKET;
	r->hdr_len = sizeof(*r);
	r->ts_ns = ts_ns;
	r->family = (uint8_t)family;
	r->dir = WST_DIR_EGRESS;
	r->ifindex = 3;
	r->tcp_flags = flags;
	r->tcp_doff = 32; /* options are not written: reads back as 20 */
	if (family == 4) {
		memcpy(r->saddr, "\x7f\x00\x00\x01", 4);
		memcpy(r->daddr, "\x0a\x01\x02\x03", 4);
	} else {
		memcpy(r->saddr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
		memcpy(r->daddr, "\xfe\x80\0\0\0\0\0\0\x12\x34\x56\x78\x9a\xbc\xde\xf0", 16);
	}
	r->sport = 60653;
	r->dport = 7272;
	r->seq = 0xfffffff0u - (uint32_t)ts_ns % 1000;
	r->ack = 0x80000001u;
	r->window = 512;
	r->payload_len = payload_len;
	r->cap_len = cap_len;
	if (cap_len <= sizeof(t->data)) {
		for (uint32_t i = 0; i < cap_len; i++)
			t->data[i] = (uint8_t)(i * 7 + family);
		t->p.payload = t->data;
	} else {
		t->p.payload = big_payload;
	}
}

#define N_RT 9

static void make_roundtrip_set(struct test_pkt *pk)
{
	uint64_t t0 = 1795486834436307123ull;

	for (size_t i = 0; i < sizeof(big_payload); i++)
		big_payload[i] = (uint8_t)(i ^ (i >> 8));
	make_pkt(&pk[0], 4, WST_TCP_SYN, 0, 0, t0);
	make_pkt(&pk[1], 4, WST_TCP_PSH | WST_TCP_ACK, 200, 200, t0 + 1);
	make_pkt(&pk[2], 4, WST_TCP_PSH | WST_TCP_ACK, 1000, 13, t0 + 999);
	make_pkt(&pk[3], 6, WST_TCP_SYN | WST_TCP_ACK, 0, 0, t0 + 1000000000);
	make_pkt(&pk[4], 6, WST_TCP_PSH | WST_TCP_ACK, 5, 5, t0 + 1000000001);
	make_pkt(&pk[5], 6, WST_TCP_ACK | WST_TCP_FIN, 4000, 7, t0 + 2000000000);
	make_pkt(&pk[6], 4, WST_TCP_RST, 60, 0, t0 + 3000000000ull);
	/* GSO super-packets: lengths beyond 16 bits. */
	make_pkt(&pk[7], 4, WST_TCP_ACK, 70000, 4096, t0 + 4000000000ull);
	make_pkt(&pk[8], 6, WST_TCP_ACK, 70000, 70000 - 4464, t0 + 5000000000ull);
	pk[8].p.r.cap_len = WST_MAX_SNAPLEN;
	pk[8].p.r.payload_len = WST_MAX_SNAPLEN + 10;
}

static void write_set(const char *path, struct test_pkt *pk, size_t n)
{
	struct pcap_sink *sink;
	char err[256];

	assert_int_equal(pcap_sink_open(&sink, path, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pcap_sink_write(sink, &pk[i].p), 0);
	assert_int_equal(pcap_sink_flush(sink), 0);
	assert_int_equal(pcap_sink_close(sink, NULL), 0);
}

static void assert_same_packet(const struct wst_packet *got,
			       const struct wst_packet *want)
{
	const struct wst_record *g = &got->r, *w = &want->r;

	assert_int_equal(g->version, WST_RECORD_VERSION);
	assert_int_equal(g->hdr_len, sizeof(*g));
	assert_int_equal(g->ts_ns, w->ts_ns); /* the file keeps nanoseconds */
	assert_int_equal(g->family, w->family);
	assert_int_equal(g->dir, WST_DIR_FILE);
	assert_int_equal(g->ifindex, 0);
	assert_int_equal(g->tcp_flags, w->tcp_flags);
	assert_int_equal(g->tcp_doff, 20);
	assert_memory_equal(g->saddr, w->saddr, 16);
	assert_memory_equal(g->daddr, w->daddr, 16);
	assert_int_equal(g->sport, w->sport);
	assert_int_equal(g->dport, w->dport);
	assert_int_equal(g->seq, w->seq);
	assert_int_equal(g->ack, w->ack);
	assert_int_equal(g->window, w->window);
	assert_int_equal(g->payload_len, w->payload_len);
	assert_int_equal(g->cap_len, w->cap_len);
	if (w->cap_len)
		assert_memory_equal(got->payload, want->payload, w->cap_len);
}

static void test_roundtrip(void **state)
{
	static struct test_pkt pk[N_RT];
	struct pcap_source *src;
	struct pcap_source_stats st;
	struct wst_packet got;
	struct tmpfile t;
	char err[256];

	(void)state;
	make_roundtrip_set(pk);
	tmp_make(&t);
	write_set(t.path, pk, N_RT);

	assert_int_equal(pcap_source_open(&src, t.path, err, sizeof(err)), 0);
	assert_int_equal(pcap_source_linktype(src), DLT_RAW);
	for (size_t i = 0; i < N_RT; i++) {
		assert_int_equal(pcap_source_next(src, &got), 1);
		assert_same_packet(&got, &pk[i].p);
	}
	assert_int_equal(pcap_source_next(src, &got), 0);
	assert_int_equal(pcap_source_next(src, &got), 0);
	pcap_source_stats(src, &st);
	assert_int_equal(st.frames, N_RT);
	assert_int_equal(st.tcp, N_RT);
	assert_int_equal(st.not_tcp + st.truncated + st.malformed + st.fragments, 0);
	pcap_source_close(src);
	tmp_remove(&t);
}

/* Independent check of the bytes written: header, link type, checksums. */
static uint16_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void test_sink_file_format(void **state)
{
	static struct test_pkt pk[N_RT];
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	struct tmpfile t;
	uint8_t *raw;
	size_t len;
	pcap_t *p;

	(void)state;
	make_roundtrip_set(pk);
	tmp_make(&t);
	write_set(t.path, pk, N_RT);

	/* Nanosecond pcap magic, version 2.4, LINKTYPE_RAW (101). */
	raw = read_file(t.path, &len);
	assert_true(len > 24);
	assert_int_equal(raw[0] | raw[1] << 8 | raw[2] << 16 | (uint32_t)raw[3] << 24,
			 0xa1b23c4d);
	assert_int_equal(raw[20] | raw[21] << 8, 101);
	free(raw);

	p = pcap_open_offline_with_tstamp_precision(t.path,
						    PCAP_TSTAMP_PRECISION_NANO, errbuf);
	assert_non_null(p);
	for (size_t i = 0; i < N_RT; i++) {
		const struct wst_record *r = &pk[i].p.r;
		uint32_t tcp_len = 20 + r->payload_len;
		/* IPv6 beyond 64 KiB: a jumbogram with a hop-by-hop header. */
		int jumbo = r->family == 6 && tcp_len > 0xffff;
		size_t iph = r->family == 4 ? 20 : jumbo ? 48 : 40;
		const u_char *th = NULL;
		uint32_t ps;

		assert_int_equal(pcap_next_ex(p, &h, &d), 1);
		assert_int_equal(h->caplen, iph + 20 + r->cap_len);
		assert_int_equal(h->len, iph + 20 + r->payload_len);
		th = d + iph;
		assert_int_equal(th[12], 0x50);
		if (r->family == 4) {
			assert_int_equal(d[0], 0x45);
			assert_int_equal(d[8], 64);                  /* TTL */
			assert_int_equal(d[6], 0x40);                /* DF */
			assert_int_equal(sum16(d, 20, 0), 0xffff);   /* header checksum */
			assert_int_equal(d[2] << 8 | d[3],
					 iph + tcp_len > 0xffff ? 0 : iph + tcp_len);
			ps = sum16(d + 12, 8, 6 + tcp_len);
		} else {
			assert_int_equal(d[0] >> 4, 6);
			assert_int_equal(d[7], 64);
			if (jumbo) {
				assert_int_equal(d[4] << 8 | d[5], 0);
				assert_int_equal(d[6], 0);    /* hop-by-hop */
				assert_int_equal(d[40], 6);   /* then TCP */
				assert_int_equal(d[42], 0xc2);
				assert_int_equal((uint32_t)d[44] << 24 | d[45] << 16 |
						 d[46] << 8 | d[47], 8 + tcp_len);
			} else {
				assert_int_equal(d[6], 6);
				assert_int_equal(d[4] << 8 | d[5], tcp_len);
			}
			ps = sum16(d + 8, 32, 6 + (tcp_len >> 16) + (tcp_len & 0xffff));
		}
		if (r->cap_len == r->payload_len)
			assert_int_equal(sum16(th, 20 + r->cap_len, ps), 0xffff);
		else
			assert_int_equal(th[16] << 8 | th[17], 0);
	}
	assert_int_equal(pcap_next_ex(p, &h, &d), PCAP_ERROR_BREAK);
	pcap_close(p);
	tmp_remove(&t);
}

/* "-": the sink writes standard output, the source reads standard input. */
static void test_stdio_dash(void **state)
{
	static struct test_pkt pk[N_RT];
	struct pcap_source *src;
	struct pcap_sink *sink;
	struct wst_packet got;
	struct tmpfile t;
	char err[256];
	int fd, saved;

	(void)state;
	make_roundtrip_set(pk);
	tmp_make(&t);

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(t.path, O_WRONLY | O_TRUNC);
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);
	assert_int_equal(pcap_sink_open(&sink, "-", err, sizeof(err)), 0);
	for (size_t i = 0; i < N_RT; i++)
		assert_int_equal(pcap_sink_write(sink, &pk[i].p), 0);
	assert_int_equal(pcap_sink_close(sink, NULL), 0);
	/* Closing the sink left standard output open. */
	assert_true(fcntl(STDOUT_FILENO, F_GETFD) >= 0);
	assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);

	saved = dup(STDIN_FILENO);
	fd = open(t.path, O_RDONLY);
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	assert_int_equal(pcap_source_open(&src, "-", err, sizeof(err)), 0);
	for (size_t i = 0; i < N_RT; i++) {
		assert_int_equal(pcap_source_next(src, &got), 1);
		assert_same_packet(&got, &pk[i].p);
	}
	assert_int_equal(pcap_source_next(src, &got), 0);
	pcap_source_close(src);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	clearerr(stdin);
	tmp_remove(&t);
}

/* tshark, the reference dissector, reads what the sink wrote. */
static void test_sink_tshark(void **state)
{
	static struct test_pkt pk[N_RT];
	char cmd[512], line[512];
	struct tmpfile t;
	FILE *out;
	int n = 0;

	(void)state;
	if (access("/usr/bin/tshark", X_OK) != 0) {
		skip();
		return;
	}
	make_roundtrip_set(pk);
	tmp_make(&t);
	write_set(t.path, pk, N_RT);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/tshark -n -r %s -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE "
		 "-o tcp.relative_sequence_numbers:FALSE -T fields -E separator=, "
		 "-e frame.time_epoch -e ip.src -e ipv6.src -e tcp.srcport -e tcp.dstport "
		 "-e tcp.seq_raw -e tcp.len -e tcp.flags -e tcp.checksum.status "
		 "-e ip.checksum.status 2>/dev/null",
		 t.path);
	out = popen(cmd, "r");
	assert_non_null(out);
	while (fgets(line, sizeof(line), out)) {
		const struct wst_record *r;
		char want[512], src[64];

		assert_true(n < N_RT);
		r = &pk[n].p.r;
		if (r->family == 4)
			snprintf(src, sizeof(src), "%u.%u.%u.%u,", r->saddr[0],
				 r->saddr[1], r->saddr[2], r->saddr[3]);
		else
			snprintf(src, sizeof(src), ",2001:db8::1");
		snprintf(want, sizeof(want),
			 "%llu.%09llu,%s,%u,%u,%u,%u,0x%04x,",
			 (unsigned long long)(r->ts_ns / 1000000000ull),
			 (unsigned long long)(r->ts_ns % 1000000000ull),
			 src, r->sport, r->dport, r->seq, r->payload_len,
			 r->tcp_flags);
		if (strncmp(line, want, strlen(want)) != 0)
			fail_msg("tshark line %d:\n  got  %s  want %s...", n, line, want);
		if (r->cap_len == r->payload_len) {
			/* Checksum status 1 = good (0 bad, 2 unverified). */
			assert_true(strncmp(line + strlen(want), "1,", 2) == 0);
			if (r->family == 4)
				assert_true(strncmp(line + strlen(want) + 2, "1", 1) == 0);
		}
		n++;
	}
	assert_int_equal(pclose(out), 0);
	assert_int_equal(n, N_RT);
	tmp_remove(&t);
}

/* ---- captures from tcpdump -i any on loopback (Linux cooked v2) ---- */

/*
 * The conversation: 127.0.0.1:40001 <-> 127.0.0.1:47272 then
 * [::1]:40002 <-> [::1]:47272; the client sends "hello", the server
 * answers "pong:hello" and closes. Values as tshark shows them.
 */
struct cap_row {
	uint64_t ts_ns;
	int to_server;
	uint32_t seq, ack;
	uint16_t window;
	uint8_t flags;
	uint8_t doff;
	uint32_t len;
};

static const struct cap_row cap_rows[22] = {
	{ 1795486834436307000ull, 1, 4055640131u, 0, 65495, 0x02, 40, 0 },
	{ 1795486834436333000ull, 0, 3787005612u, 4055640132u, 65483, 0x12, 40, 0 },
	{ 1795486834436347000ull, 1, 4055640132u, 3787005613u, 64, 0x10, 32, 0 },
	{ 1795486834436369000ull, 1, 4055640132u, 3787005613u, 64, 0x18, 32, 5 },
	{ 1795486834436374000ull, 0, 3787005613u, 4055640137u, 64, 0x10, 32, 0 },
	{ 1795486834436464000ull, 0, 3787005613u, 4055640137u, 64, 0x18, 32, 10 },
	{ 1795486834436467000ull, 1, 4055640137u, 3787005623u, 64, 0x10, 32, 0 },
	{ 1795486834436476000ull, 0, 3787005623u, 4055640137u, 64, 0x11, 32, 0 },
	{ 1795486834478701000ull, 1, 4055640137u, 3787005624u, 64, 0x10, 32, 0 },
	{ 1795486834486734000ull, 1, 4055640137u, 3787005624u, 64, 0x11, 32, 0 },
	{ 1795486834486751000ull, 0, 3787005624u, 4055640138u, 64, 0x10, 32, 0 },
	{ 1795486834527572000ull, 1, 2667860456u, 0, 65476, 0x02, 40, 0 },
	{ 1795486834527601000ull, 0, 2756678391u, 2667860457u, 65464, 0x12, 40, 0 },
	{ 1795486834527627000ull, 1, 2667860457u, 2756678392u, 64, 0x10, 32, 0 },
	{ 1795486834527688000ull, 1, 2667860457u, 2756678392u, 64, 0x18, 32, 5 },
	{ 1795486834527693000ull, 0, 2756678392u, 2667860462u, 64, 0x10, 32, 0 },
	{ 1795486834527936000ull, 0, 2756678392u, 2667860462u, 64, 0x18, 32, 10 },
	{ 1795486834528000000ull, 1, 2667860462u, 2756678402u, 64, 0x10, 32, 0 },
	{ 1795486834528029000ull, 0, 2756678402u, 2667860462u, 64, 0x11, 32, 0 },
	{ 1795486834570850000ull, 1, 2667860462u, 2756678403u, 64, 0x10, 32, 0 },
	{ 1795486834578449000ull, 1, 2667860462u, 2756678403u, 64, 0x11, 32, 0 },
	{ 1795486834578464000ull, 0, 2756678403u, 2667860463u, 64, 0x10, 32, 0 },
};

/*
 * Reads a committed capture; snap > 0: it was cut to that snapshot length
 * (SLL2 20 bytes + headers), so the IPv6 SYNs (100 bytes) are truncated.
 */
/* The whole file in memory, for pcap_source_open_stream(). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static void check_capture_from(const char *name, uint32_t snap, bool memory)
{
	char *image = NULL;
	size_t image_len;
	static const uint8_t lo4[16] = { 127, 0, 0, 1 };
	static const uint8_t lo6[16] = { [15] = 1 };
	struct pcap_source *src;
	struct pcap_source_stats st;
	struct wst_packet p;
	char path[512], err[256];
	size_t expect_trunc = 0, n = 0;

	data_path(path, sizeof(path), name);
	if (memory) {
		FILE *f;

		image = slurp(path, &image_len);
		f = fmemopen(image, image_len, "rb");
		assert_non_null(f);
		if (pcap_source_open_stream(&src, f, name, err, sizeof(err)) != 0)
			fail_msg("%s", err);
	} else if (pcap_source_open(&src, path, err, sizeof(err)) != 0) {
		fail_msg("%s", err);
	}
	assert_int_equal(pcap_source_linktype(src), DLT_LINUX_SLL2);
	for (size_t i = 0; i < 22; i++) {
		const struct cap_row *c = &cap_rows[i];
		int v6 = i >= 11;
		uint32_t hdrs = 20 + (v6 ? 40 : 20) + c->doff;
		uint16_t client = v6 ? 40002 : 40001;
		int rc;

		if (snap && hdrs > snap) {
			expect_trunc++;
			continue;
		}
		rc = pcap_source_next(src, &p);
		assert_int_equal(rc, 1);
		n++;
		assert_int_equal(p.r.ts_ns, c->ts_ns);
		assert_int_equal(p.r.family, v6 ? 6 : 4);
		assert_int_equal(p.r.dir, WST_DIR_INGRESS);
		assert_int_equal(p.r.ifindex, 1);
		assert_memory_equal(p.r.saddr, v6 ? lo6 : lo4, 16);
		assert_memory_equal(p.r.daddr, v6 ? lo6 : lo4, 16);
		assert_int_equal(p.r.sport, c->to_server ? client : 47272);
		assert_int_equal(p.r.dport, c->to_server ? 47272 : client);
		assert_int_equal(p.r.seq, c->seq);
		assert_int_equal(p.r.ack, c->ack);
		assert_int_equal(p.r.window, c->window);
		assert_int_equal(p.r.tcp_flags, c->flags);
		assert_int_equal(p.r.tcp_doff, c->doff);
		assert_int_equal(p.r.payload_len, c->len);
		if (snap && hdrs + c->len > snap)
			assert_int_equal(p.r.cap_len, snap - hdrs);
		else
			assert_int_equal(p.r.cap_len, c->len);
		if (c->len)
			assert_memory_equal(p.payload,
					    c->to_server ? "hello" : "pong:hello",
					    p.r.cap_len);
	}
	assert_int_equal(pcap_source_next(src, &p), 0);
	pcap_source_stats(src, &st);
	assert_int_equal(st.frames, 22);
	assert_int_equal(st.tcp, n);
	assert_int_equal(st.truncated, expect_trunc);
	assert_int_equal(st.not_tcp + st.malformed + st.fragments, 0);
	pcap_source_close(src);
	free(image);
}

static void check_capture(const char *name, uint32_t snap)
{
	check_capture_from(name, snap, false);
}

/* A memory image reads the same; one that is not a capture is refused
 * (and its stream closed: the leak checker of the ASan build sees it). */
static void test_source_stream(void **state)
{
	static char junk[] = "not a capture file at all, just some text";
	struct pcap_source *src = (struct pcap_source *)junk;
	char err[256];
	FILE *f;

	(void)state;
	check_capture_from("lo_any_sll2.pcap", 0, true);
	check_capture_from("lo_any_sll2.pcapng", 0, true);
	f = fmemopen(junk, sizeof(junk) - 1, "rb");
	assert_non_null(f);
	assert_int_equal(pcap_source_open_stream(&src, f, "junk", err, sizeof(err)), -EINVAL);
	assert_null(src);
	assert_non_null(strstr(err, "junk"));
}

static void test_tcpdump_sll2_pcap(void **state)
{
	(void)state;
	check_capture("lo_any_sll2.pcap", 0);
}

static void test_tcpdump_sll2_pcapng(void **state)
{
	(void)state;
	check_capture("lo_any_sll2.pcapng", 0);
}

static void test_tcpdump_sll2_snaplen(void **state)
{
	(void)state;
	check_capture("lo_any_sll2_snap96.pcap", 96);
}

/*
 * tcpdump -i any in a network namespace with a veth link to another:
 * 10.77.0.1:40003 -> 10.77.0.2:7272, ifindex 6. Packets the namespace
 * sent are PACKET_OUTGOING (egress), the others ingress, as tshark shows.
 */
static void test_tcpdump_sll2_veth_directions(void **state)
{
	static const struct {
		uint64_t ts_ns;
		int out;
		uint32_t seq, ack;
		uint16_t window;
		uint8_t flags, doff;
		uint32_t len;
	} rows[11] = {
		{ 1795487307894898000ull, 1, 1771895294u, 0, 64240, 0x02, 40, 0 },
		{ 1795487307894915000ull, 0, 1458059924u, 1771895295u, 65160, 0x12, 40, 0 },
		{ 1795487307894928000ull, 1, 1771895295u, 1458059925u, 63, 0x10, 32, 0 },
		{ 1795487307894965000ull, 1, 1771895295u, 1458059925u, 63, 0x18, 32, 5 },
		{ 1795487307894970000ull, 0, 1458059925u, 1771895300u, 64, 0x10, 32, 0 },
		{ 1795487307895602000ull, 0, 1458059925u, 1771895300u, 64, 0x18, 32, 10 },
		{ 1795487307895608000ull, 1, 1771895300u, 1458059935u, 63, 0x10, 32, 0 },
		{ 1795487307895912000ull, 0, 1458059935u, 1771895300u, 64, 0x11, 32, 0 },
		{ 1795487307942673000ull, 1, 1771895300u, 1458059936u, 63, 0x10, 32, 0 },
		{ 1795487307946057000ull, 1, 1771895300u, 1458059936u, 63, 0x11, 32, 0 },
		{ 1795487307946076000ull, 0, 1458059936u, 1771895301u, 64, 0x10, 32, 0 },
	};
	static const uint8_t cli[16] = { 10, 77, 0, 1 }, srv[16] = { 10, 77, 0, 2 };
	struct pcap_source *src;
	struct wst_packet p;
	char path[512], err[256];

	(void)state;
	data_path(path, sizeof(path), "veth_any_sll2.pcap");
	if (pcap_source_open(&src, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	for (size_t i = 0; i < 11; i++) {
		assert_int_equal(pcap_source_next(src, &p), 1);
		assert_int_equal(p.r.ts_ns, rows[i].ts_ns);
		assert_int_equal(p.r.dir, rows[i].out ? WST_DIR_EGRESS : WST_DIR_INGRESS);
		assert_int_equal(p.r.ifindex, 6);
		assert_int_equal(p.r.family, 4);
		assert_memory_equal(p.r.saddr, rows[i].out ? cli : srv, 16);
		assert_memory_equal(p.r.daddr, rows[i].out ? srv : cli, 16);
		assert_int_equal(p.r.sport, rows[i].out ? 40003 : 7272);
		assert_int_equal(p.r.dport, rows[i].out ? 7272 : 40003);
		assert_int_equal(p.r.seq, rows[i].seq);
		assert_int_equal(p.r.ack, rows[i].ack);
		assert_int_equal(p.r.window, rows[i].window);
		assert_int_equal(p.r.tcp_flags, rows[i].flags);
		assert_int_equal(p.r.tcp_doff, rows[i].doff);
		assert_int_equal(p.r.payload_len, rows[i].len);
		assert_int_equal(p.r.cap_len, rows[i].len);
		if (rows[i].len)
			assert_memory_equal(p.payload, rows[i].out ? "hello" : "pong:hello",
					    rows[i].len);
	}
	assert_int_equal(pcap_source_next(src, &p), 0);
	pcap_source_close(src);
}

/* Non-TCP and bad frames are skipped and counted. */
static void test_source_skips_and_counts(void **state)
{
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00 };
	uint8_t tcp4[14 + 40 + 3], f[sizeof(tcp4)];
	struct pcap_pkthdr h = { .ts = { 1, 500 } };
	struct pcap_source_stats st;
	struct pcap_source *src;
	struct wst_packet p;
	pcap_dumper_t *d;
	struct tmpfile t;
	char err[256];
	pcap_t *dead;

	(void)state;
	memcpy(tcp4, eth, 14);
	memcpy(tcp4 + 14, "\x45\x00\x00\x2b\x00\x01\x40\x00\x40\x06\x00\x00"
		"\x0a\x00\x00\x01\x0a\x00\x00\x02", 20);
	memcpy(tcp4 + 34, "\x1c\x68\x00\x50\x00\x00\x00\x01\x00\x00\x00\x00"
		"\x50\x18\x01\x00\x00\x00\x00\x00" "abc", 23);

	tmp_make(&t);
	dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
						    PCAP_TSTAMP_PRECISION_MICRO);
	assert_non_null(dead);
	d = pcap_dump_open(dead, t.path);
	assert_non_null(d);
	h.caplen = h.len = sizeof(tcp4);
	pcap_dump((u_char *)d, &h, tcp4);          /* TCP */
	memcpy(f, tcp4, sizeof(f));
	f[12] = 0x08; f[13] = 0x06;                 /* ARP */
	pcap_dump((u_char *)d, &h, f);
	memcpy(f, tcp4, sizeof(f));
	f[14 + 9] = 17;                             /* UDP */
	pcap_dump((u_char *)d, &h, f);
	memcpy(f, tcp4, sizeof(f));
	f[14 + 6] = 0x20;                           /* MF: fragment */
	pcap_dump((u_char *)d, &h, f);
	memcpy(f, tcp4, sizeof(f));
	f[14 + 32] = 0x30;                          /* doff 3 */
	pcap_dump((u_char *)d, &h, f);
	h.caplen = 14 + 30;                         /* TCP header cut */
	pcap_dump((u_char *)d, &h, tcp4);
	h.caplen = sizeof(tcp4) - 1;                /* payload cut: still TCP */
	h.ts.tv_usec = 501;
	pcap_dump((u_char *)d, &h, tcp4);
	pcap_dump_close(d);
	pcap_close(dead);

	assert_int_equal(pcap_source_open(&src, t.path, err, sizeof(err)), 0);
	assert_int_equal(pcap_source_next(src, &p), 1);
	assert_int_equal(p.r.ts_ns, 1000500000ull); /* microseconds scaled */
	assert_int_equal(p.r.sport, 7272);
	assert_int_equal(p.r.dport, 80);
	assert_int_equal(p.r.cap_len, 3);
	assert_memory_equal(p.payload, "abc", 3);
	assert_int_equal(pcap_source_next(src, &p), 1);
	assert_int_equal(p.r.ts_ns, 1000501000ull);
	assert_int_equal(p.r.payload_len, 3);
	assert_int_equal(p.r.cap_len, 2);
	assert_int_equal(pcap_source_next(src, &p), 0);
	pcap_source_stats(src, &st);
	assert_int_equal(st.frames, 7);
	assert_int_equal(st.tcp, 2);
	assert_int_equal(st.not_tcp, 2);
	assert_int_equal(st.fragments, 1);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.truncated, 1);
	pcap_source_close(src);
	tmp_remove(&t);
}

/* ---- errors ---- */

static void test_source_missing_file(void **state)
{
	struct pcap_source *src = (void *)1;
	char err[256];

	(void)state;
	assert_int_equal(pcap_source_open(&src, "/tmp/wst-test-no-such-file.pcap",
					  err, sizeof(err)), -ENOENT);
	assert_null(src);
	assert_non_null(strstr(err, "/tmp/wst-test-no-such-file.pcap"));
	assert_non_null(strstr(err, strerror(ENOENT)));

	assert_int_equal(pcap_source_open(&src, "/tmp", err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "/tmp"));
}

static void test_source_not_a_capture(void **state)
{
	static const char garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nnot a capture at all";
	struct pcap_source *src;
	struct tmpfile t;
	char err[256];

	(void)state;
	tmp_write(&t, garbage, sizeof(garbage));
	assert_int_equal(pcap_source_open(&src, t.path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, t.path));
	assert_non_null(strstr(err, "pcap"));
	tmp_remove(&t);

	/* Empty file, and a pcap header cut short. */
	tmp_write(&t, "", 0);
	assert_int_equal(pcap_source_open(&src, t.path, err, sizeof(err)), -EINVAL);
	tmp_remove(&t);
	tmp_write(&t, "\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8);
	assert_int_equal(pcap_source_open(&src, t.path, err, sizeof(err)), -EINVAL);
	tmp_remove(&t);
}

/*
 * A capture cut in the middle of a record (a capture still being written,
 * or a full disk): the records before the cut come out, then -EIO with
 * libpcap's "truncated dump file" message, not a silent end of file.
 */
static void test_source_truncated_file(void **state)
{
	char path[512], err[256];
	struct pcap_source *src;
	struct wst_packet p;
	struct tmpfile t;
	uint8_t *raw;
	size_t len;

	(void)state;
	data_path(path, sizeof(path), "lo_any_sll2.pcap");
	raw = read_file(path, &len);
	/* Last record is 16 + 92 bytes: cut in its data, then in its header. */
	for (int cut = 0; cut < 2; cut++) {
		size_t keep = len - (cut == 0 ? 30 : 92 + 8);
		int n = 0, rc;

		tmp_write(&t, raw, keep);
		assert_int_equal(pcap_source_open(&src, t.path, err, sizeof(err)), 0);
		while ((rc = pcap_source_next(src, &p)) == 1)
			n++;
		assert_int_equal(rc, -EIO);
		assert_int_equal(n, 21);
		assert_non_null(strstr(pcap_source_error(src), "truncated"));
		pcap_source_close(src);
		tmp_remove(&t);
	}
	/* Cut exactly between records: a clean end of file. */
	{
		int n = 0, rc;

		tmp_write(&t, raw, len - (16 + 92));
		assert_int_equal(pcap_source_open(&src, t.path, err, sizeof(err)), 0);
		while ((rc = pcap_source_next(src, &p)) == 1)
			n++;
		assert_int_equal(rc, 0);
		assert_int_equal(n, 21);
		pcap_source_close(src);
		tmp_remove(&t);
	}
	free(raw);
}

/* ---- records taken in place from a mapped file, against libpcap ---- */

/*
 * Reads the file at path through pcap_source_open() (a regular classic pcap
 * file: mapped) and the same bytes through a memory stream (always libpcap)
 * side by side: every packet, the final return, its error text and the
 * counters must be the same.
 */
static void assert_reads_as_libpcap(const char *path, bool mapped)
{
	struct pcap_source *a, *b;
	struct pcap_source_stats sa, sb;
	struct wst_packet pa, pb;
	char err[256];
	uint8_t *raw;
	size_t len;
	int ra, rb, n = 0;
	FILE *f;

	raw = read_file(path, &len);
	assert_int_equal(pcap_source_open(&a, path, err, sizeof(err)), 0);
	assert_int_equal(pcap_source_in_place(a), mapped);
	f = fmemopen(raw, len, "rb");
	assert_non_null(f);
	assert_int_equal(pcap_source_open_stream(&b, f, "image", err, sizeof(err)), 0);
	assert_false(pcap_source_in_place(b));
	do {
		ra = pcap_source_next(a, &pa);
		rb = pcap_source_next(b, &pb);
		assert_int_equal(ra, rb);
		if (ra != 1)
			break;
		n++;
		assert_memory_equal(&pa.r, &pb.r, sizeof(pa.r));
		if (pa.r.cap_len)
			assert_memory_equal(pa.payload, pb.payload, pa.r.cap_len);
	} while (n < 100000);
	assert_string_equal(pcap_source_error(a), pcap_source_error(b));
	pcap_source_stats(a, &sa);
	pcap_source_stats(b, &sb);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	pcap_source_close(a);
	pcap_source_close(b);
	free(raw);
}

static void put32(uint8_t *p, uint32_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * The same capture rewritten: big-endian if swap, with nanosecond stamps if
 * nano, with a file snapshot length of snap if nonzero (records longer than
 * it are then libpcap's to handle).
 */
static uint8_t *rewrite_capture(const uint8_t *raw, size_t len, bool swap,
				bool nano, uint32_t snap)
{
	uint8_t *out = malloc(len);
	size_t off = 24;

	assert_non_null(out);
	memcpy(out, raw, len);
	assert_int_equal(get32(raw), 0xa1b2c3d4u);
	put32(out, nano ? 0xa1b23c4du : 0xa1b2c3d4u, swap);
	out[4] = swap ? 0 : 2, out[5] = swap ? 2 : 0;  /* version 2.4 */
	out[6] = swap ? 0 : 4, out[7] = swap ? 4 : 0;
	put32(out + 8, get32(raw + 8), swap);
	put32(out + 12, get32(raw + 12), swap);
	put32(out + 16, snap ? snap : get32(raw + 16), swap);
	put32(out + 20, get32(raw + 20), swap);
	while (off + 16 <= len) {
		uint32_t caplen = get32(raw + off + 8);

		put32(out + off, get32(raw + off), swap);
		put32(out + off + 4, get32(raw + off + 4) * (nano ? 1000u : 1u), swap);
		put32(out + off + 8, caplen, swap);
		put32(out + off + 12, get32(raw + off + 12), swap);
		off += 16 + caplen;
	}
	return out;
}

static void test_source_in_place(void **state)
{
	static const char *const files[] = {
		"lo_any_sll2.pcap", "lo_any_sll2_snap96.pcap", "veth_any_sll2.pcap",
	};
	char path[512];
	struct tmpfile t;
	uint8_t *raw;
	size_t len;

	(void)state;
	tmp_make(&t);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		data_path(path, sizeof(path), files[i]);
		assert_reads_as_libpcap(path, true);
		raw = read_file(path, &len);
		for (int v = 0; v < 8; v++) {
			uint8_t *img = rewrite_capture(raw, len, v & 1, v & 2,
						       v & 4 ? 100 : 0);

			tmp_rewrite(&t, img, len);
			assert_reads_as_libpcap(t.path, true);
			free(img);
		}
		/* Cut at every byte of the last two records and the header. */
		for (size_t keep = 0; keep < len; keep++) {
			if (keep > 40 && keep < len - 300)
				continue;
			tmp_rewrite(&t, raw, keep);
			if (keep >= 24)
				assert_reads_as_libpcap(t.path, keep > 24);
		}
		free(raw);
	}
	/* pcapng is libpcap's: read as before, not in place. */
	data_path(path, sizeof(path), "lo_any_sll2.pcapng");
	assert_reads_as_libpcap(path, false);
}

/*
 * A mapped file cut shorter while it is read (SIGBUS on the pages past its
 * new end): a plain message and the exit status of an I/O error (74), not
 * a crash. In a child, which the fault ends.
 */
static void test_source_file_cut_while_read(void **state)
{
	static uint8_t rec[16 + 1500];
	struct pcap_file_header fh = {
		.magic = 0xa1b2c3d4, .version_major = 2, .version_minor = 4,
		.snaplen = 65535, .linktype = DLT_RAW,
	};
	char err[256], said[256] = "";
	struct pcap_source *src;
	struct wst_packet p;
	struct tmpfile t;
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;
	FILE *f;

	(void)state;
	tmp_make(&t);
	f = fopen(t.path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(&fh, sizeof(fh), 1, f), 1);
	memcpy(rec + 8, &(uint32_t){ 1500 }, 4); /* caplen */
	memcpy(rec + 12, &(uint32_t){ 1500 }, 4); /* len */
	for (int i = 0; i < 4000; i++) /* 6 MB: past the first pages dropped */
		assert_int_equal(fwrite(rec, sizeof(rec), 1, f), 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		if (pcap_source_open(&src, t.path, err, sizeof(err)) || !pcap_source_in_place(src))
			_exit(1);
		if (truncate(t.path, 4096))
			_exit(2);
		while (pcap_source_next(src, &p) >= 0)
			;
		_exit(3); /* read to the end: the cut went unnoticed */
	}
	close(pipefd[1]);
	n = read(pipefd[0], said, sizeof(said) - 1);
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(n > 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 74);
	assert_non_null(strstr(said, "cut shorter while it was read"));
}

static void test_source_unsupported_linktype(void **state)
{
	static const uint8_t frame[64];
	struct pcap_pkthdr h = { .caplen = 64, .len = 64 };
	struct pcap_source *src = (void *)1;
	pcap_dumper_t *d;
	struct tmpfile t;
	char err[256];
	pcap_t *dead;

	(void)state;
	tmp_make(&t);
	dead = pcap_open_dead(DLT_USB_LINUX, 65535);
	assert_non_null(dead);
	d = pcap_dump_open(dead, t.path);
	assert_non_null(d);
	pcap_dump((u_char *)d, &h, frame);
	pcap_dump_close(d);
	pcap_close(dead);

	assert_int_equal(pcap_source_open(&src, t.path, err, sizeof(err)),
			 -EPROTONOSUPPORT);
	assert_null(src);
	assert_non_null(strstr(err, "USB_LINUX"));
	assert_non_null(strstr(err, t.path));
	tmp_remove(&t);
}

static void test_sink_errors(void **state)
{
	static struct test_pkt pk[N_RT];
	struct pcap_sink *sink = (void *)1;
	struct wst_packet bad;
	struct tmpfile t;
	char err[256];

	(void)state;
	assert_int_equal(pcap_sink_open(&sink, "/tmp/wst-no-such-dir/x.pcap",
					err, sizeof(err)), -ENOENT);
	assert_null(sink);
	assert_non_null(strstr(err, "/tmp/wst-no-such-dir/x.pcap"));

	make_roundtrip_set(pk);
	tmp_make(&t);
	assert_int_equal(pcap_sink_open(&sink, t.path, err, sizeof(err)), 0);
	bad = pk[1].p;
	bad.r.family = 5;
	assert_int_equal(pcap_sink_write(sink, &bad), -EINVAL);
	bad = pk[1].p;
	bad.r.cap_len = bad.r.payload_len + 1;
	assert_int_equal(pcap_sink_write(sink, &bad), -EINVAL);
	bad = pk[1].p;
	bad.payload = NULL;
	assert_int_equal(pcap_sink_write(sink, &bad), -EINVAL);
	bad = pk[8].p;
	bad.r.cap_len = WST_MAX_SNAPLEN + 1;
	assert_int_equal(pcap_sink_write(sink, &bad), -EINVAL);
	bad = pk[6].p;
	bad.r.payload_len = UINT32_MAX - 10;
	assert_int_equal(pcap_sink_write(sink, &bad), -EINVAL);
	assert_int_equal(pcap_sink_close(sink, NULL), 0);
	tmp_remove(&t);

#ifdef __linux__
	/* A full device: the error surfaces on write or flush, says ENOSPC,
	 * and every packet not written is counted. */
	if (access("/dev/full", W_OK) == 0) {
		uint64_t failed = 0;
		int rc = 0, i;

		assert_int_equal(pcap_sink_open(&sink, "/dev/full", err, sizeof(err)), 0);
		for (i = 0; i < 100 && rc == 0; i++)
			rc = pcap_sink_write(sink, &pk[1].p);
		assert_int_equal(rc, -ENOSPC);
		assert_int_equal(pcap_sink_failed(sink), i);
		assert_int_equal(pcap_sink_write(sink, &pk[1].p), -ENOSPC);
		assert_int_equal(pcap_sink_failed(sink), i + 1);
		assert_int_equal(pcap_sink_close(sink, &failed), -ENOSPC);
		assert_int_equal(failed, i + 1);
		/* A few packets, all still in the buffer: the close tells. */
		assert_int_equal(pcap_sink_open(&sink, "/dev/full", err, sizeof(err)), 0);
		assert_int_equal(pcap_sink_write(sink, &pk[1].p), 0);
		assert_int_equal(pcap_sink_write(sink, &pk[2].p), 0);
		assert_int_equal(pcap_sink_error(sink), 0);
		assert_int_equal(pcap_sink_close(sink, &failed), -ENOSPC);
		assert_int_equal(failed, 2);
	}
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_roundtrip, tmp_cleanup),
		cmocka_unit_test_teardown(test_sink_file_format, tmp_cleanup),
		cmocka_unit_test_teardown(test_stdio_dash, tmp_cleanup),
		cmocka_unit_test_teardown(test_sink_tshark, tmp_cleanup),
		cmocka_unit_test_teardown(test_tcpdump_sll2_pcap, tmp_cleanup),
		cmocka_unit_test_teardown(test_tcpdump_sll2_pcapng, tmp_cleanup),
		cmocka_unit_test_teardown(test_source_stream, tmp_cleanup),
		cmocka_unit_test_teardown(test_tcpdump_sll2_snaplen, tmp_cleanup),
		cmocka_unit_test_teardown(test_tcpdump_sll2_veth_directions, tmp_cleanup),
		cmocka_unit_test_teardown(test_source_skips_and_counts, tmp_cleanup),
		cmocka_unit_test_teardown(test_source_missing_file, tmp_cleanup),
		cmocka_unit_test_teardown(test_source_not_a_capture, tmp_cleanup),
		cmocka_unit_test_teardown(test_source_truncated_file, tmp_cleanup),
		cmocka_unit_test_teardown(test_source_unsupported_linktype, tmp_cleanup),
		cmocka_unit_test_teardown(test_source_in_place, tmp_cleanup),
		cmocka_unit_test_teardown(test_source_file_cut_while_read, tmp_cleanup),
		cmocka_unit_test_teardown(test_sink_errors, tmp_cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
