// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * capture.c - the capture programs' life through their BPF skeleton: open,
 * configure, load, the watched ports and counters in their maps, the ring
 * buffer and its records (checked by capture_record.c), close. Where the
 * programs are attached is capture_hooks.c and capture_ifaces.c, which see
 * them through struct capture_progs only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"
#include "capture_internal.h"
#include "capture_record.h"
#include "wstrace.skel.h"

static int cap_libbpf_print(enum libbpf_print_level level, const char *fmt,
			    va_list ap)
{
	/* libbpf (and the verifier log) only at debug verbosity. */
	if (wst_log_verbosity < WST_LOG_DEBUG)
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static int64_t cap_ts(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC, read between two monotonic samples. */
static int64_t cap_mono_to_real(void)
{
	int64_t m1 = cap_ts(CLOCK_MONOTONIC);
	int64_t r = cap_ts(CLOCK_REALTIME);
	int64_t m2 = cap_ts(CLOCK_MONOTONIC);

	return r - (m1 + (m2 - m1) / 2);
}

static int cap_on_record(void *ctx, void *data, size_t size)
{
	struct capture *c = ctx;
	const struct wst_rec_head *h = data;
	struct wst_packet pkt;

	/* Records of other kinds go to the reader registered for them. */
	if (size >= sizeof(*h) && h->version == WST_RECORD_VERSION &&
	    h->kind != WST_REC_PACKET) {
		const struct capture_reader *rd =
			h->kind < CAPTURE_MAX_KIND ? &c->readers[h->kind] : NULL;

		if (!rd || !rd->fn || rd->fn(rd->ctx, data, size, c->mono_to_real_ns) < 0)
			c->bad_records++;
		return 0;
	}
	if (capture_parse_record(data, size, c->mono_to_real_ns, &pkt) < 0) {
		c->bad_records++;
		return 0;
	}
	c->fn(c->ctx, &pkt);
	return 0;
}

/* Explains a load failure with the fix for the common causes. */
static void cap_report_load_error(int err)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0 && errno == ENOENT) {
		pr_warn("failed to load BPF programs: %s; the kernel has no BTF "
			"(/sys/kernel/btf/vmlinux missing): use a kernel built "
			"with CONFIG_DEBUG_INFO_BTF=y", strerror(-err));
		return;
	}
	if (err == -EPERM || geteuid() != 0) {
		pr_warn("failed to load BPF programs: %s; " CAP_PRIV_HINT,
			strerror(-err));
		return;
	}
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 0) {
		pr_warn("failed to load BPF programs: %s; the kernel has no BPF "
			"ring buffer (needs Linux 5.8 or later)", strerror(-err));
		return;
	}
	pr_warn("failed to load BPF programs: %s (the verifier log is shown "
		"at debug verbosity)", strerror(-err));
}

void capture_set_filter(struct capture *c, bool on)
{
	capture_set_word(&c->skel->bss->owner_filter, on);
}

int capture_skip_conn(struct capture *c, const uint8_t caddr[16], uint16_t cport,
		      const uint8_t saddr[16], uint16_t sport, bool skip)
{
	struct wst_skip_key k[2] = { { .sport = cport, .dport = sport }, { .sport = sport, .dport = cport } };
	int fd = bpf_map__fd(c->skel->maps.skip_flows);
	uint8_t one = 1;

	memcpy(k[0].saddr, caddr, 16);
	memcpy(k[0].daddr, saddr, 16);
	memcpy(k[1].saddr, saddr, 16);
	memcpy(k[1].daddr, caddr, 16);
	for (int i = 0; i < 2; i++) {
		int err = skip ? bpf_map_update_elem(fd, &k[i], &one, BPF_ANY) :
				 bpf_map_delete_elem(fd, &k[i]);

		if (err && (skip || errno != ENOENT))
			return -errno;
	}
	return 0;
}

int capture_set_ports(struct capture *c, const uint16_t *ports, int n_ports)
{
	uint8_t *want;
	int fd, i, err = 0;
	uint8_t on = 1, off = 0;

	if (!c || n_ports < 0 || (n_ports && !ports))
		return -EINVAL;
	want = calloc(65536, 1);
	if (!want)
		return -ENOMEM;
	for (i = 0; i < n_ports; i++)
		want[ports[i]] = 1;
	fd = bpf_map__fd(c->skel->maps.ports);
	/* Only the ports that change: a full rewrite is 65536 syscalls. */
	for (i = 0; i < 65536; i++) {
		uint32_t key = i;

		if (want[i] == c->watched[i])
			continue;
		if (bpf_map_update_elem(fd, &key, want[i] ? &on : &off, BPF_ANY)) {
			err = -errno;
			pr_warn("failed to set watched port %d: %s", i, strerror(-err));
			break;
		}
		c->watched[i] = want[i];
	}
	free(want);
	return err;
}

int capture_read_counters(const struct capture *c, struct wst_counters *out)
{
	struct wst_counters *per_cpu;
	uint32_t key = 0;
	int ncpu, i, j, err = 0;

	if (!c || !out)
		return -EINVAL;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu < 0)
		return ncpu;
	/* Per-CPU values come 8-byte aligned; the struct is all __u64. */
	per_cpu = calloc(ncpu, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.counters), &key, per_cpu)) {
		err = -errno;
		goto cleanup;
	}
	memset(out, 0, sizeof(*out));
	for (i = 0; i < ncpu; i++)
		for (j = 0; j < WST_CNT_MAX; j++)
			out->v[j] += per_cpu[i].v[j];
cleanup:
	free(per_cpu);
	return err;
}

int capture_epoll_fd(const struct capture *c)
{
	return c && c->rb ? ring_buffer__epoll_fd(c->rb) : -EINVAL;
}

int capture_poll(struct capture *c, int timeout_ms)
{
	int n, m;

	if (!c || !c->rb)
		return -EINVAL;
	capture_tls_poll(c);
	n = ring_buffer__poll(c->rb, timeout_ms);
	if (n < 0 || !c->batched)
		return n;
	/* Batched wakeups: what is below the threshold sent no wakeup. */
	m = ring_buffer__consume(c->rb);
	return m < 0 ? m : n + m;
}

int capture_set_reader(struct capture *c, enum wst_record_kind kind,
		       capture_record_fn fn, void *ctx)
{
	if (kind == WST_REC_PACKET || kind >= CAPTURE_MAX_KIND)
		return -EINVAL;
	c->readers[kind] = (struct capture_reader){ .fn = fn, .ctx = ctx };
	return 0;
}

uint64_t capture_bad_records(const struct capture *c)
{
	return c ? c->bad_records : 0;
}

static uint32_t cap_pow2(uint32_t v)
{
	uint32_t p = 4096;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

/* What attaching needs of the loaded programs, from the skeleton. */
static void cap_progs(struct capture *c)
{
	const struct wstrace_bpf *s = c->skel;
	struct capture_progs *p = &c->progs;

	p->tcx[CAP_IN] = bpf_program__fd(s->progs.tc_ingress);
	p->tcx[CAP_OUT] = bpf_program__fd(s->progs.tc_egress);
	p->cls[CAP_IN] = bpf_program__fd(s->progs.cls_ingress);
	p->cls[CAP_OUT] = bpf_program__fd(s->progs.cls_egress);
	p->sync_rcu = bpf_map__fd(s->maps.sync_rcu);
	p->events = bpf_map__fd(s->maps.events);
	p->ports = bpf_map__fd(s->maps.ports);
	p->tcx_idle = &s->bss->tcx_idle;
	p->handoff = &s->bss->handoff;
	p->handoff_epoch = &s->bss->handoff_epoch;
}

int capture_open(struct capture **out, const struct capture_opts *opts,
		 capture_packet_fn fn, void *ctx)
{
	struct capture *c = NULL;
	uint32_t rb_bytes;
	int err;

	if (!out || !opts || !fn || opts->n_ports < 0 ||
	    (opts->n_ifaces > 0 && !opts->ifaces))
		return -EINVAL;
	*out = NULL;
	if (opts->snaplen > WST_MAX_SNAPLEN) {
		pr_warn("snaplen %u is too large: the most is %d", opts->snaplen,
			WST_MAX_SNAPLEN);
		return -EINVAL;
	}
	libbpf_set_print(cap_libbpf_print);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->ctx = ctx;
	c->nl_fd = -1;
	c->claim_fd = -1;
	c->sync_inner_fd = -1;
	c->clsact = opts->force_clsact;
	c->batched = opts->wakeup_bytes != 0;

	/* Open. */
	c->skel = wstrace_bpf__open();
	if (!c->skel) {
		err = -errno;
		pr_warn("failed to open BPF object: %s", strerror(-err));
		goto cleanup;
	}

	/* Configure. */
	c->skel->rodata->snaplen = opts->snaplen;
	c->skel->rodata->wakeup_bytes = opts->wakeup_bytes;
	rb_bytes = cap_pow2(opts->ringbuf_bytes ? opts->ringbuf_bytes :
						  CAPTURE_DEFAULT_RINGBUF);
	err = bpf_map__set_max_entries(c->skel->maps.events, rb_bytes);
	if (err) {
		pr_warn("failed to size the ring buffer to %u bytes: %s", rb_bytes,
			strerror(-err));
		goto cleanup;
	}

	capture_owner_configure(c, opts->owners);

	/* Load. */
	err = wstrace_bpf__load(c->skel);
	if (err) {
		cap_report_load_error(err);
		goto cleanup;
	}
	cap_progs(c);
	/* The tcx programs record only in tcx mode. */
	capture_set_word(c->progs.tcx_idle, c->clsact);
	err = capture_set_ports(c, opts->ports, opts->n_ports);
	if (err)
		goto cleanup;
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), cap_on_record,
				 c, NULL);
	if (!c->rb) {
		err = -errno;
		pr_warn("failed to open the ring buffer: %s", strerror(-err));
		goto cleanup;
	}
	/* What a reload stores to wait for running programs (capture_sync_rcu). */
	c->sync_inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wst_sync", sizeof(uint32_t),
					  sizeof(uint32_t), 1, NULL);
	if (c->sync_inner_fd < 0) {
		err = -errno;
		pr_warn("failed to create a map: %s%s", strerror(-err), capture_err_hint(err));
		goto cleanup;
	}
	c->mono_to_real_ns = cap_mono_to_real();

	/* Attach. */
	err = capture_attach_start(c, opts);
	if (err)
		goto cleanup;
	/* wss is an extra: where the uprobes are refused (a sandboxed service,
	 * a kernel without them) the packets are traced all the same, and TLS
	 * connections are counted as not decrypted. */
	if (opts->tls && capture_tls_open(c, opts) < 0) {
		pr_warn("TLS plaintext off: the OpenSSL uprobes could not be set up; wss connections "
			"are counted, not decoded (--no-tls says so without trying)");
		capture_tls_close(c);
	}
	err = capture_owner_attach(c);
	if (err)
		goto cleanup;
	*out = c;
	return 0;

cleanup:
	capture_close(c);
	return err;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	capture_tls_close(c);
	capture_owner_detach(c);
	capture_detach_all(c);
	if (c->sync_inner_fd >= 0)
		close(c->sync_inner_fd);
	ring_buffer__free(c->rb);
	wstrace_bpf__destroy(c->skel);
	free(c);
}
