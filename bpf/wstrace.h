/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * wstrace.h - the record and counters shared by the kernel program and user space.
 *
 * Included by bpf/wstrace.bpf.c and by user space (user/core/packet.h, the ring
 * buffer consumer, the pcap reader). Changing a struct here means bumping
 * WST_RECORD_VERSION and updating: user/sources/capture_record.c (consumer checks),
 * user/sources/packet_parse.c (builds the same record), user/sinks/pcap_sink.c; changing
 * the parsing rules below means changing bpf/parse.bpf.h and
 * user/sources/packet_parse.c together.
 *
 * Byte order: addresses are in network order (the bytes as on the wire);
 * every other multi-byte field is in host order, converted by the producer.
 */
#ifndef WSTRACE_H
#define WSTRACE_H

#ifdef __bpf__
/* vmlinux.h provides the __uN types on the kernel side. */
#else
#include <linux/types.h>
#endif

#define WST_RECORD_VERSION 3

/* Largest payload the kernel copies per packet: a GSO/GRO super-packet. */
#define WST_MAX_SNAPLEN 65536

/*
 * What a packet parser accepts. The kernel parser (bpf/parse.bpf.h) and the
 * capture file parser (user/sources/packet_parse.c) both follow these rules, so a
 * live run and `-r` of a capture of the same traffic see the same packets;
 * tests/bpf/test_bpf_parse_diff.c feeds both the same frames and demands
 * the same record or the same rejection.
 *
 * - Link layer: Ethernet with at most WST_MAX_VLAN_TAGS 802.1Q/802.1ad tags
 *   in all (QinQ). A tag the NIC or the stack already moved out of the
 *   frame (skb->vlan_present) counts, as libpcap puts it back in a capture.
 * - IPv4 (RFC 791): version 4, IHL >= 5 words (options skipped), total
 *   length >= IHL and within the frame; a total length of 0 means the
 *   frame's length (a TSO/GSO super-packet captured before segmentation,
 *   BIG TCP). Bytes past the total length (Ethernet padding) are not
 *   payload. Protocol 6 (TCP) right after the header, nothing else: AH or
 *   any other protocol there is not TCP.
 * - IPv6 (RFC 8200): payload length within the frame (0: the frame's
 *   length, as above). Extension headers followed: hop-by-hop (0), routing
 *   (43), fragment (44, 8 bytes), destination options (60), each
 *   (len + 1) * 8 bytes, and AH (51), (len + 2) * 4 bytes (RFC 4302 2.2);
 *   at most WST_MAX_IPV6_EXT of them, more is rejected. ESP (50, encrypted),
 *   no next header (59) and anything else end the chain: not TCP. Header
 *   order and contents are not checked, only that each fits in the packet.
 * - Fragments are never records. An IPv4 packet with MF set or a non-zero
 *   offset, or an IPv6 fragment header with M set or a non-zero offset,
 *   holds part of a segment (the IP length is not the segment's), or no
 *   TCP header at all. The first fragment of a TCP segment whose ports
 *   are inside it is counted if a port is watched (WST_CNT_FRAGMENTS: one
 *   per segment lost that way); later fragments have no ports. A fragment
 *   header with offset 0 and M clear (atomic, RFC 6946) is a whole packet.
 * - TCP (RFC 9293): data offset >= 5 words and within the IP packet; the
 *   payload is the rest of the IP packet (its length on the wire).
 * - Anything else (not IP, not TCP, a bad version or length, a header cut
 *   by the end of the frame) is rejected: no record.
 * The kernel alone sees GSO/GRO skbs: it takes their length from the skb,
 * which is the frame a capture of them holds.
 */
#define WST_MAX_VLAN_TAGS 2
#define WST_MAX_IPV6_EXT 8

enum wst_dir {
	WST_DIR_INGRESS = 0,
	WST_DIR_EGRESS = 1,
	WST_DIR_FILE = 2, /* read from a capture file: direction unknown */
};

/* TCP flag bits as in the TCP header's 13th byte. */
enum wst_tcp_flag {
	WST_TCP_FIN = 0x01,
	WST_TCP_SYN = 0x02,
	WST_TCP_RST = 0x04,
	WST_TCP_PSH = 0x08,
	WST_TCP_ACK = 0x10,
	WST_TCP_URG = 0x20,
	WST_TCP_ECE = 0x40,
	WST_TCP_CWR = 0x80,
};

/*
 * What a ring buffer record holds. Every record starts with struct
 * wst_rec_head, so the consumer reads the version and the kind before
 * anything else and hands the record to the reader of that kind; a kind it
 * does not know is counted as a bad record, never guessed at.
 */
enum wst_record_kind {
	WST_REC_PACKET = 1,      /* struct wst_record: a TCP packet from a TC hook */
	WST_REC_TLS_DATA = 2,    /* TLS plaintext read or written by a process */
	WST_REC_TLS_FREE = 3,    /* a TLS connection object freed */
	WST_REC_SOCK_OWNER = 4,  /* the process that accepted or connected a socket */
	WST_REC_SOCK_CLOSE = 5,  /* a socket with an owner closed */
};

struct wst_rec_head {
	__u16 version;     /* WST_RECORD_VERSION */
	__u16 kind;        /* enum wst_record_kind */
};

/*
 * One captured TCP packet (WST_REC_PACKET). Followed in the ring buffer by
 * cap_len payload bytes (the first cap_len bytes of the TCP payload).
 */
struct wst_record {
	__u16 version;     /* WST_RECORD_VERSION */
	__u16 kind;        /* WST_REC_PACKET */
	__u32 ifindex;
	__u64 ts_ns;       /* kernel: CLOCK_MONOTONIC; after the source: CLOCK_REALTIME */
	__u8 family;       /* 4 or 6 */
	__u8 dir;          /* enum wst_dir */
	__u8 tcp_flags;    /* enum wst_tcp_flag bits */
	__u8 tcp_doff;     /* TCP header length in bytes */
	__u8 saddr[16];    /* network order; IPv4 in the first 4 bytes */
	__u8 daddr[16];    /* network order */
	__u16 sport;       /* host order */
	__u16 dport;       /* host order */
	__u32 seq;         /* host order */
	__u32 ack;         /* host order */
	__u16 window;      /* host order, unscaled */
	__u16 hdr_len;     /* sizeof(struct wst_record) */
	__u32 payload_len; /* TCP payload bytes on the wire (whole GSO packet) */
	__u32 cap_len;     /* payload bytes that follow this header */
	__u32 _pad1;
};

_Static_assert(sizeof(struct wst_record) == 80, "wst_record layout changed");
_Static_assert(__builtin_offsetof(struct wst_record, kind) ==
	       __builtin_offsetof(struct wst_rec_head, kind), "record head moved");

/*
 * A key of the skip_flows map: one direction of a connection the filters
 * (--pid, --comm, --cgroup) leave out, as its packets read. It is the
 * record's own bytes from saddr to dport, so the TC program looks a packet
 * up without building a key. The family is not in it: an IPv6 address
 * whose last 12 bytes are zero (the subnet-router anycast of a /32, never
 * the end of a connection in practice) reads as the IPv4 address of its
 * first 4 bytes.
 */
struct wst_skip_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;       /* host order */
	__u16 dport;
};

_Static_assert(sizeof(struct wst_skip_key) == 36, "wst_skip_key layout changed");
_Static_assert(__builtin_offsetof(struct wst_record, dport) + 2 -
	       __builtin_offsetof(struct wst_record, saddr) == sizeof(struct wst_skip_key),
	       "wst_skip_key is not the record's saddr..dport");

/*
 * One side of a TCP connection as a socket sees it: local = that socket.
 * An AF_INET6 socket talking IPv4 (v4-mapped) is family 4, the way the TC
 * hooks see its packets, so both join on the same 4-tuple.
 */
struct wst_tuple {
	__u8 laddr[16];    /* network order; IPv4 in the first 4 bytes */
	__u8 raddr[16];
	__u16 lport;       /* host order */
	__u16 rport;       /* host order */
	__u8 family;       /* 4 or 6 */
	__u8 _pad[3];
};

_Static_assert(sizeof(struct wst_tuple) == 40, "wst_tuple layout changed");

/* The task a socket or TLS record was seen in. */
struct wst_task {
	__u64 cgroup_id;   /* cgroup v2 id (the cgroup directory's inode) */
	__u64 start_ns;    /* group leader's start, ns since boot: pid + start = the process */
	__u32 tgid;        /* process id */
	__u32 tid;         /* thread id */
	char comm[16];
};

_Static_assert(sizeof(struct wst_task) == 40, "wst_task layout changed");

/* How the owner of a WST_REC_SOCK_OWNER record was found. */
enum wst_sock_how {
	WST_SOCK_ACCEPT = 1,   /* accept()/accept4() returned it: the server side */
	WST_SOCK_CONNECT = 2,  /* connect() on it: the client side */
	WST_SOCK_EXISTING = 3, /* held by the process when wstrace started (iterator) */
};

/*
 * The process behind one TCP socket of a watched port (WST_REC_SOCK_OWNER),
 * sent from the accepting or connecting task, or read from the task_file
 * iterator at start. tuple.local is this socket's side: for the server
 * side lport is the watched port, for a local client rport is.
 */
struct wst_sock_rec {
	__u16 version;     /* WST_RECORD_VERSION */
	__u16 kind;        /* WST_REC_SOCK_OWNER */
	__u8 how;          /* enum wst_sock_how */
	__u8 state;        /* the socket's TCP state (TCP_ESTABLISHED = 1, ...) */
	__u16 _pad0;
	__s32 fd;
	__u32 _pad1;
	__u64 ts_ns;       /* CLOCK_MONOTONIC */
	__u64 cookie;      /* socket cookie, 0 if never generated */
	struct wst_task task;
	struct wst_tuple tuple;
};

_Static_assert(sizeof(struct wst_sock_rec) == 112, "wst_sock_rec layout changed");

/*
 * TLS plaintext (WST_REC_TLS_DATA, WST_REC_TLS_FREE), from uprobes on the
 * OpenSSL calls of any process (bpf/tls.bpf.c). A stream is one SSL object
 * of one process, (tgid, ssl); its bytes come in order per direction, each
 * record saying where it starts (offset), so user space sees what is
 * missing. The socket is found from the syscalls the thread makes on it
 * (no OpenSSL struct offsets): src says how.
 */
#define WST_TLS_CHUNK 16384     /* plaintext bytes per record at most */
#define WST_TLS_MAX_CHUNKS 64   /* records per SSL call: the rest is a counted gap */

enum wst_tls_dir {
	WST_TLS_READ = 0,       /* SSL_read: from the peer to this process */
	WST_TLS_WRITE = 1,      /* SSL_write: from this process to the peer */
};

/* How the record's socket was found. */
enum wst_tls_src {
	WST_TLS_SRC_NONE = 0,       /* not known (yet): the tuple is zero */
	WST_TLS_SRC_SYSCALL = 1,    /* a socket syscall of the thread inside the SSL call */
	WST_TLS_SRC_HANDSHAKE = 2,  /* a socket syscall inside SSL_do_handshake */
	WST_TLS_SRC_SET_FD = 3,     /* SSL_set_fd(ssl, fd) */
	WST_TLS_SRC_LAST_READ = 4,  /* memory BIO: the thread's last socket read before SSL_read */
	WST_TLS_SRC_NEXT_WRITE = 5, /* memory BIO: the thread's first socket write after the call */
};

enum wst_tls_flag {
	WST_TLS_F_TRUNCATED = 0x01, /* the call moved more than the records carry */
	WST_TLS_F_CACHED = 0x02,    /* socket known from an earlier call on this SSL object */
	WST_TLS_F_MAP = 0x04,       /* no data: the stream's socket is now known */
	WST_TLS_F_MIDSTREAM = 0x08, /* first seen at a data call: earlier bytes unknown */
};

struct wst_tls_rec {
	__u16 version;     /* WST_RECORD_VERSION */
	__u16 kind;        /* WST_REC_TLS_DATA or WST_REC_TLS_FREE */
	__u8 dir;          /* enum wst_tls_dir */
	__u8 flags;        /* enum wst_tls_flag bits */
	__u8 src;          /* enum wst_tls_src */
	__u8 _pad0;
	__u64 ts_ns;       /* CLOCK_MONOTONIC */
	__u64 ssl;         /* the SSL object's address: the stream, with tgid */
	__u32 tgid;
	__u32 tid;
	__u64 offset;      /* DATA: stream offset of the first byte in dir;
			    * FREE: bytes read in all */
	__u32 call_len;    /* DATA: bytes the call moved; FREE: bytes written (saturated) */
	__u32 cap_len;     /* bytes that follow this header (DATA only) */
	struct wst_tuple tuple; /* local = the process's side; zero when src is NONE */
	__u64 cookie;      /* socket cookie, 0 if none was generated */
	__s32 fd;
	__u32 hdr_len;     /* sizeof(struct wst_tls_rec) */
};

_Static_assert(sizeof(struct wst_tls_rec) == 104, "wst_tls_rec layout changed");
_Static_assert(__builtin_offsetof(struct wst_tls_rec, kind) ==
	       __builtin_offsetof(struct wst_rec_head, kind), "record head moved");

/* Per-CPU counters of the TLS programs (array indexes). */
enum wst_tls_counter {
	WST_TLS_CNT_CALLS,        /* SSL data calls recorded */
	WST_TLS_CNT_BYTES,        /* plaintext bytes they moved */
	WST_TLS_CNT_RINGBUF_FULL, /* records lost: ring buffer full */
	WST_TLS_CNT_TRUNCATED,    /* calls longer than WST_TLS_CHUNK * WST_TLS_MAX_CHUNKS */
	WST_TLS_CNT_READ_FAULT,   /* plaintext not readable (page not present) */
	WST_TLS_CNT_NO_CONN,      /* records sent before their socket was known */
	WST_TLS_CNT_NESTED,       /* SSL call made inside another on the thread */
	WST_TLS_CNT_FILTERED,     /* calls on sockets of no watched port: not sent */
	WST_TLS_CNT_MAX,
};

/* Per-CPU counters the kernel keeps; user space sums them over CPUs. */
enum wst_counter {
	WST_CNT_PKTS_INGRESS,
	WST_CNT_PKTS_EGRESS,
	WST_CNT_BYTES_INGRESS,  /* IP packet bytes */
	WST_CNT_BYTES_EGRESS,
	WST_CNT_SYN,            /* SYN without ACK */
	WST_CNT_SYNACK,
	WST_CNT_FIN,
	WST_CNT_RST,
	WST_CNT_RINGBUF_FULL,   /* records lost: bpf_ringbuf_reserve failed */
	WST_CNT_TRUNCATED,      /* records whose payload was cut by snaplen */
	WST_CNT_LOAD_ERRORS,    /* bpf_skb_load_bytes failed on a matched packet */
	WST_CNT_FRAGMENTS,      /* TCP segments of watched ports in IP fragments: not captured */
	WST_CNT_OWNER_LOST,     /* socket owner records lost: ring buffer full */
	WST_CNT_FILTERED,       /* packets of connections --pid/--comm/--cgroup leave out: not copied */
	WST_CNT_MAX,
};

struct wst_counters {
	__u64 v[WST_CNT_MAX];
};

#endif /* WSTRACE_H */
