/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * capture.h - live capture: loads the TC programs, attaches them to
 * interfaces (tcx links, or clsact filters on older kernels), follows
 * interfaces that come up, and turns ring buffer records into wst_packets.
 */
#ifndef WST_CAPTURE_H
#define WST_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/packet.h"
#include "capture_record.h"

struct capture;

struct capture_opts {
	/* Interface names. n_ifaces == 0 or a name "any" means every
	 * interface that is up, and the ones that come up later. */
	const char *const *ifaces;
	int n_ifaces;
	const uint16_t *ports;
	int n_ports;
	uint32_t snaplen;       /* payload bytes per packet; 0 = whole packet */
	uint32_t ringbuf_bytes; /* 0 = CAPTURE_DEFAULT_RINGBUF; rounded up to a power of two */
	uint32_t wakeup_bytes;  /* 0 = wake per record; else poll with a timeout */
	bool force_clsact;      /* use clsact even where tcx is available */
	bool tls;               /* TLS plaintext from OpenSSL (uprobes) */
	const char *const *ssl_libs; /* more libraries or programs to probe */
	int n_ssl_libs;
	bool owners;            /* send WST_REC_SOCK_OWNER records (who accepted, connected) */
};

#define CAPTURE_DEFAULT_RINGBUF (8u << 20)

/* Called for each valid record; pkt and pkt->payload live until it returns. */
typedef void (*capture_packet_fn)(void *ctx, const struct wst_packet *pkt);

/*
 * Reads one record of another kind than WST_REC_PACKET (data starts with
 * struct wst_rec_head, size bytes, not yet checked beyond the head);
 * mono_to_real_ns turns its kernel timestamps into wall-clock time.
 * 0, or < 0 when the record is malformed (counted as a bad record).
 */
typedef int (*capture_record_fn)(void *ctx, const void *data, size_t size,
				 int64_t mono_to_real_ns);

/* Opens, configures, loads and attaches. 0 or -errno (already reported). */
int capture_open(struct capture **out, const struct capture_opts *opts,
		 capture_packet_fn fn, void *ctx);
/* Ring buffer epoll fd, to add to the caller's epoll set. */
int capture_epoll_fd(const struct capture *c);
/* rtnetlink socket (non-blocking) when following interfaces, else -1. */
int capture_netlink_fd(const struct capture *c);
/*
 * Waits up to timeout_ms and consumes records: count handled or -errno.
 * With wakeup_bytes set the epoll fd only fires once that much is queued:
 * call this with a timeout (or with 0 on a timer) to drain the rest.
 */
int capture_poll(struct capture *c, int timeout_ms);
/*
 * Applies new interfaces and attach mode (ports: capture_set_ports) with
 * the same programs, ring buffer and counters, make before break: what is
 * added is attached before what is dropped is detached, and an interface
 * that changes mode records each packet once throughout. On failure
 * nothing has changed: -errno, and err says why in a phrase.
 */
int capture_reconfigure(struct capture *c, const struct capture_opts *opts, char *err,
			size_t errlen);
/* Reads pending link notifications, attaches to interfaces that came up
 * and forgets removed ones: count newly attached or -errno. */
int capture_handle_netlink(struct capture *c);
/* Replaces the watched port set at run time. 0 or -errno. */
int capture_set_ports(struct capture *c, const uint16_t *ports, int n_ports);
/* Kernel counters summed over CPUs. 0 or -errno. */
int capture_read_counters(const struct capture *c, struct wst_counters *out);
/* Registers the reader of records of kind (not WST_REC_PACKET); records
 * of a kind with no reader are bad records. 0 or -EINVAL. */
int capture_set_reader(struct capture *c, enum wst_record_kind kind,
		       capture_record_fn fn, void *ctx);
/* The TLS programs' counters (enum wst_tls_counter) summed over CPUs; and
 * how many files they are attached to. 0, or -ENOENT when TLS is off. */
int capture_read_tls_counters(const struct capture *c, uint64_t out[WST_TLS_CNT_MAX]);
int capture_tls_files(const struct capture *c);
/* Whether socket owner records come (capture_opts.owners, and the hooks attached). */
bool capture_owners_on(const struct capture *c);
/*
 * Hands the reader of WST_REC_SOCK_OWNER one record per (process, socket)
 * of a watched port open now (register the reader first): the count, or
 * -errno (said).
 */
int capture_scan_owners(struct capture *c);
/*
 * The kernel side of --pid/--comm/--cgroup: with on, the TC programs look
 * every packet up in the connections left out (skip_flows) and do not copy
 * theirs; off, they never look. capture_skip_conn() leaves out (skip) or
 * brings back the connection between client and server (addresses as in
 * the records, ports in host order), both directions. 0 or -errno.
 */
void capture_set_filter(struct capture *c, bool on);
int capture_skip_conn(struct capture *c, const uint8_t caddr[16], uint16_t cport,
		      const uint8_t saddr[16], uint16_t sport, bool skip);
/* Records rejected by the size, version and kind checks. */
uint64_t capture_bad_records(const struct capture *c);
/* Hooks (one per interface and direction) attached now. */
int capture_n_attached(const struct capture *c);
/* True if the interfaces are attached through tcx links, false for clsact. */
bool capture_uses_tcx(const struct capture *c);
/* Detaches everything and frees c. Safe on NULL. */
void capture_close(struct capture *c);

#endif /* WST_CAPTURE_H */
