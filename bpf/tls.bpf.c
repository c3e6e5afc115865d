// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tls.bpf.c - TLS plaintext from OpenSSL's SSL_read/SSL_write (and their
 * _ex forms) by uprobes, joined to its socket with no OpenSSL struct
 * offsets:
 *  - socket BIO users (SSL_set_fd: PHP, Python ssl sockets, nginx): the
 *    socket syscall the thread makes inside its SSL call names the fd;
 *  - memory BIO users (node, Python asyncio and so websockets): no syscall
 *    inside the call; the thread's first socket write after an SSL_write or
 *    handshake on a stream not yet known maps it (WST_TLS_F_MAP), then the
 *    mapping is kept per (tgid, SSL*). The thread's last socket read before
 *    an SSL_read is only a fallback: asyncio does not always read the
 *    socket of the SSL object it decrypts next.
 * fd -> socket -> 4-tuple (sock_common.bpf.h). The records go into the
 * packet programs' ring buffer (user space hands this object that map), so
 * plaintext and packets keep their order; calls on sockets of no watched
 * port are dropped here.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "sock_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ports, events: the packet programs' (bpf_map__reuse_fd before load) */
#include "shared_maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WST_TLS_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tls_counters SEC(".maps");

/*
 * The network namespace (its inode) wstrace captures in: the TC hooks see
 * only its interfaces, so sockets of other namespaces, whose tuples could
 * match a flow of this one, are not ours. 0: every namespace.
 */
const volatile __u32 netns_ino = 0;

enum wst_call_op { WST_CALL_READ = 1, WST_CALL_WRITE = 2, WST_CALL_HANDSHAKE = 3 };

/* The socket of a stream as found. */
struct wst_tls_conn {
	struct wst_tuple tuple;
	__u64 cookie;
	__s32 fd;
	__u16 src;          /* enum wst_tls_src */
	__u16 foreign;      /* in another network namespace */
};

/* An SSL call in progress on a thread (key: pid_tgid). */
struct wst_tls_call {
	__u64 ssl;
	__u64 buf;
	__u64 lenp;         /* size_t * of the _ex calls, else 0 */
	__u32 op;           /* enum wst_call_op */
	__u16 have_conn;
	__u16 hooked;       /* begun with tls_sys_enter attached: its syscalls seen */
	struct wst_tls_conn conn;
};

struct wst_tls_key {
	__u64 ssl;
	__u32 tgid;
	__u32 _pad;
};

/* What is known of one SSL object: its socket and the stream offsets. */
struct wst_tls_state {
	struct wst_tls_conn conn;  /* src NONE: not known yet */
	__u64 off[2];              /* by enum wst_tls_dir */
	__u32 midstream;           /* first seen at a data call */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct wst_tls_call);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct wst_tls_key);
	__type(value, struct wst_tls_state);
} ssls SEC(".maps");

/*
 * What lets tls_sys_enter return at once, since it runs on every syscall
 * of the host: SSL calls in progress (entries of calls; a thread that dies
 * inside one leaves it counted, which only keeps the gate open), and
 * whether a memory BIO process was ever seen (their socket I/O outside
 * SSL calls is followed, so then the gate stays open).
 */
__s64 calls_open = 0;
__u32 membio_seen = 0;

/*
 * tls_sys_enter runs on every syscall of the host, about 70 ns each, so
 * user space attaches it only once an SSL call was made in wstrace's
 * network namespace (ssl_seen, which it polls, woken by the first record),
 * and then sets sys_hook_on. Until then a call's socket is only known from
 * SSL_set_fd or an earlier call; what it reads or writes goes out with no
 * socket, and user space holds that until a later call names the stream's
 * socket.
 */
__u32 ssl_seen = 0;
__u32 sys_hook_on = 0;
__u32 sys_hook_failed = 0; /* then only SSL_set_fd and earlier calls tell */

/* Processes seen using memory BIOs: only their threads' socket I/O is followed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} membio SEC(".maps");

/* Per thread of a memory BIO process: the last socket fd read. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __s32);
} last_rd SEC(".maps");

/* Per thread: an SSL* whose socket is unknown, mapped by the next socket write. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} pending_wr SEC(".maps");

struct wst_tls_scratch {
	struct wst_tls_rec hdr;
	__u8 data[WST_TLS_CHUNK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wst_tls_scratch);
} scratch SEC(".maps");

static __always_inline void count(__u32 c, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&tls_counters, &c);

	if (v)
		*v += n;
}

/*
 * Waking the reader per record costs more than the rest of the program;
 * but until the syscall hook is attached, every record wakes it, so that
 * it attaches the hook at once and little waits for a socket.
 */
static __always_inline __u64 rb_flags(void)
{
	if (!sys_hook_on && !sys_hook_failed)
		return BPF_RB_FORCE_WAKEUP;
	if (!wakeup_bytes)
		return 0;
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline int port_watched(__u16 port)
{
	__u32 key = port;
	__u8 *w = bpf_map_lookup_elem(&ports, &key);

	return w && *w;
}

/* A known socket of no watched port: its plaintext is not ours. */
static __always_inline int conn_unwatched(const struct wst_tls_conn *c)
{
	return c->src != WST_TLS_SRC_NONE &&
	       (c->foreign || (!port_watched(c->tuple.lport) && !port_watched(c->tuple.rport)));
}

static __always_inline int conn_from_fd(int fd, __u32 src, struct wst_tls_conn *conn)
{
	struct sock *sk = wst_fd_to_tcp_sock(fd);

	if (!sk)
		return -1;
	__builtin_memset(conn, 0, sizeof(*conn));
	if (wst_sk_tuple(sk, &conn->tuple))
		return -1;
	conn->cookie = wst_sk_cookie(sk);
	conn->foreign = netns_ino && BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) != netns_ino;
	conn->fd = fd;
	conn->src = src;
	return 0;
}

static __always_inline struct wst_tls_state *state_get(__u64 ssl, __u32 tgid, int create,
						       __u32 midstream)
{
	struct wst_tls_key k = { .ssl = ssl, .tgid = tgid };
	struct wst_tls_state *st = bpf_map_lookup_elem(&ssls, &k);
	struct wst_tls_state zero = { .midstream = midstream };

	if (st || !create)
		return st;
	bpf_map_update_elem(&ssls, &k, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ssls, &k);
}

/* Whether the current task is in the namespace wstrace captures in: an SSL
 * call elsewhere is on sockets it drops, and needs no syscall hook. */
static __always_inline int in_our_netns(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return !netns_ino || BPF_CORE_READ(t, nsproxy, net_ns, ns.inum) == netns_ino;
}

static __always_inline void call_enter(__u32 op, __u64 ssl, __u64 buf, __u64 lenp)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct wst_tls_call c = { .ssl = ssl, .buf = buf, .lenp = lenp, .op = op,
				  .hooked = sys_hook_on != 0 };

	if (!ssl_seen && in_our_netns())
		ssl_seen = 1;
	/* an SSL call made inside another (a callback) keeps the outer one */
	if (bpf_map_update_elem(&calls, &id, &c, BPF_NOEXIST))
		count(WST_TLS_CNT_NESTED, 1);
	else
		__sync_fetch_and_add(&calls_open, 1);
}

static __always_inline void call_exit(__u64 id)
{
	if (bpf_map_delete_elem(&calls, &id) == 0)
		__sync_fetch_and_add(&calls_open, -1);
}

static __always_inline void fill_head(struct wst_tls_rec *r, __u16 kind, __u64 ssl, __u64 id,
				      const struct wst_tls_conn *conn)
{
	r->version = WST_RECORD_VERSION;
	r->kind = kind;
	r->hdr_len = sizeof(*r);
	r->ts_ns = bpf_ktime_get_ns();
	r->ssl = ssl;
	r->tgid = id >> 32;
	r->tid = (__u32)id;
	r->tuple = conn->tuple;
	r->cookie = conn->cookie;
	r->fd = conn->fd;
	r->src = conn->src;
}

/* A header-only record: the socket of a stream found (MAP), or its end (FREE). */
static __always_inline void emit_head(__u16 kind, __u8 flags, __u64 ssl, __u64 id,
				      const struct wst_tls_state *st)
{
	struct wst_tls_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r) {
		count(WST_TLS_CNT_RINGBUF_FULL, 1);
		return;
	}
	__builtin_memset(r, 0, sizeof(*r));
	fill_head(r, kind, ssl, id, &st->conn);
	r->flags = flags;
	if (kind == WST_REC_TLS_FREE) {
		r->offset = st->off[WST_TLS_READ];
		r->call_len = st->off[WST_TLS_WRITE] > 0xffffffffULL ? 0xffffffff :
								       st->off[WST_TLS_WRITE];
	}
	bpf_ringbuf_submit(r, rb_flags());
}

/* At the end of an SSL call: which socket it belongs to. Returns WST_TLS_F_CACHED
 * when that came from the stream's state. */
static __always_inline __u8 settle_conn(struct wst_tls_call *c, struct wst_tls_state *st, __u64 id)
{
	__u32 tgid = id >> 32, one = 1;

	if (c->have_conn) {
		st->conn = c->conn; /* observed now: the freshest */
		return 0;
	}
	/* no socket syscall inside the call: data OpenSSL had buffered */
	if (st->conn.src != WST_TLS_SRC_NONE) {
		c->conn = st->conn;
		return WST_TLS_F_CACHED;
	}
	/* begun before the syscall hook was there: nothing to conclude from */
	if (!c->hooked)
		return 0;
	/*
	 * ... and no socket known for the stream either: a memory BIO user,
	 * whose socket I/O is followed from now on. (A socket BIO user's
	 * buffered reads must not make it one: every read and write syscall
	 * of the process would then be looked at.)
	 */
	bpf_map_update_elem(&membio, &tgid, &one, BPF_ANY);
	membio_seen = 1;
	if (c->op == WST_CALL_READ) {
		__s32 *fd = bpf_map_lookup_elem(&last_rd, &id);

		if (fd && !conn_from_fd(*fd, WST_TLS_SRC_LAST_READ, &c->conn)) {
			st->conn = c->conn;
			return 0;
		}
	}
	/* the next socket write of this thread tells */
	bpf_map_update_elem(&pending_wr, &id, &c->ssl, BPF_ANY);
	return 0;
}

struct chunk_ctx {
	struct wst_tls_scratch *s;
	__u64 buf;
	__u64 len;
	__u64 base;         /* stream offset of buf[0] */
	__u64 done;
};

/* One record of up to WST_TLS_CHUNK bytes; 1 stops the loop. */
static long emit_chunk(__u32 i, void *arg)
{
	struct chunk_ctx *cc = arg;
	struct wst_tls_scratch *s = cc->s;
	__u64 n = cc->len - cc->done;

	if (cc->done >= cc->len)
		return 1;
	if (n > WST_TLS_CHUNK)
		n = WST_TLS_CHUNK;
	/* keep the bound in the register the helper sees (older verifiers) */
	asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(2 * WST_TLS_CHUNK - 1));
	if (n > WST_TLS_CHUNK)
		return 1;
	s->hdr.offset = cc->base + cc->done;
	s->hdr.cap_len = n;
	if (bpf_probe_read_user(s->data, n, (void *)(cc->buf + cc->done))) {
		count(WST_TLS_CNT_READ_FAULT, 1);
		return 1; /* the rest is a gap user space sees by the offsets */
	}
	if (bpf_ringbuf_output(&events, s, sizeof(struct wst_tls_rec) + n, rb_flags()))
		count(WST_TLS_CNT_RINGBUF_FULL, 1);
	cc->done += n;
	return 0;
}

/* [buf, buf + len) to the ring in WST_TLS_CHUNK records. */
static __always_inline void emit_data(struct wst_tls_call *c, __u32 dir, __u64 len, __u64 id)
{
	struct wst_tls_state *st = state_get(c->ssl, id >> 32, 1, 1);
	struct wst_tls_scratch *s;
	__u32 zero = 0;
	__u8 flags;

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s || !st)
		return;
	flags = settle_conn(c, st, id);
	/* no socket known yet: a task of another namespace is taken to be on
	 * sockets of its own, which would be found foreign */
	if (conn_unwatched(&c->conn) ||
	    (c->conn.src == WST_TLS_SRC_NONE && !in_our_netns())) {
		count(WST_TLS_CNT_FILTERED, 1);
		st->off[dir & 1] += len;
		return;
	}
	if (c->conn.src == WST_TLS_SRC_NONE)
		count(WST_TLS_CNT_NO_CONN, 1);
	if (len > (__u64)WST_TLS_CHUNK * WST_TLS_MAX_CHUNKS) {
		flags |= WST_TLS_F_TRUNCATED;
		count(WST_TLS_CNT_TRUNCATED, 1);
	}
	if (st->midstream)
		flags |= WST_TLS_F_MIDSTREAM;
	st->midstream = 0;
	__builtin_memset(&s->hdr, 0, sizeof(s->hdr));
	fill_head(&s->hdr, WST_REC_TLS_DATA, c->ssl, id, &c->conn);
	s->hdr.dir = dir;
	s->hdr.flags = flags;
	s->hdr.call_len = len > 0xffffffffULL ? 0xffffffff : len;
	count(WST_TLS_CNT_CALLS, 1);
	count(WST_TLS_CNT_BYTES, len);
	{
		struct chunk_ctx cc = { .s = s, .buf = c->buf, .len = len, .base = st->off[dir & 1] };

		/* bpf_loop: the verifier checks the body once */
		bpf_loop(WST_TLS_MAX_CHUNKS, emit_chunk, &cc, 0);
	}
	st->off[dir & 1] += len;
}

/* int SSL_read(SSL *, void *buf, int num); int SSL_write(SSL *, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf, int num)
{
	call_enter(WST_CALL_READ, (__u64)ssl, (__u64)buf, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buf, int num)
{
	call_enter(WST_CALL_WRITE, (__u64)ssl, (__u64)buf, 0);
	return 0;
}

/* int SSL_read_ex(SSL *, void *buf, size_t num, size_t *readbytes) (and _write_ex) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	call_enter(WST_CALL_READ, (__u64)ssl, (__u64)buf, (__u64)readbytes);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buf, size_t num, size_t *written)
{
	call_enter(WST_CALL_WRITE, (__u64)ssl, (__u64)buf, (__u64)written);
	return 0;
}

/* One uretprobe for the four: the _ex calls return 1 and put the count in *lenp. */
SEC("uretprobe")
int BPF_KRETPROBE(ssl_rw_exit, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct wst_tls_call *c = bpf_map_lookup_elem(&calls, &id);
	__u64 len = 0;

	if (!c)
		return 0;
	if (c->op == WST_CALL_READ || c->op == WST_CALL_WRITE) {
		if (c->lenp) {
			if ((int)ret == 1)
				bpf_probe_read_user(&len, sizeof(len), (void *)c->lenp);
		} else if ((int)ret > 0) {
			len = (int)ret;
		}
		if (len) {
			emit_data(c, c->op == WST_CALL_READ ? WST_TLS_READ : WST_TLS_WRITE, len, id);
		} else {
			/* no data (WANT_READ, or node's handshake through SSL_read): learn anyway */
			struct wst_tls_state *st = state_get(c->ssl, id >> 32, 1, 0);

			if (st)
				settle_conn(c, st, id);
		}
	}
	call_exit(id);
	return 0;
}

/* The handshake's own syscalls name the socket before the first SSL_read. */
SEC("uprobe")
int BPF_KPROBE(ssl_handshake_enter, void *ssl)
{
	call_enter(WST_CALL_HANDSHAKE, (__u64)ssl, 0, 0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_handshake_exit, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct wst_tls_call *c = bpf_map_lookup_elem(&calls, &id);
	struct wst_tls_state *st;

	if (!c)
		return 0;
	if (c->op == WST_CALL_HANDSHAKE) {
		st = state_get(c->ssl, id >> 32, 1, 0);
		if (st) {
			if (c->have_conn)
				c->conn.src = WST_TLS_SRC_HANDSHAKE;
			settle_conn(c, st, id);
		}
	}
	call_exit(id);
	return 0;
}

/* int SSL_set_fd(SSL *, int fd): the socket itself, for socket BIO users. */
SEC("uprobe")
int BPF_KPROBE(ssl_set_fd, void *ssl, int fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct wst_tls_key k = { .ssl = (__u64)ssl, .tgid = id >> 32 };
	struct wst_tls_state st = {};

	if (conn_from_fd(fd, WST_TLS_SRC_SET_FD, &st.conn))
		return 0;
	/* a new stream on this SSL*: offsets restart */
	bpf_map_update_elem(&ssls, &k, &st, BPF_ANY);
	return 0;
}

/* void SSL_free(SSL *): the stream ends; malloc reuses the address later. */
SEC("uprobe")
int BPF_KPROBE(ssl_free, void *ssl)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct wst_tls_key k = { .ssl = (__u64)ssl, .tgid = id >> 32 };
	struct wst_tls_state *st = bpf_map_lookup_elem(&ssls, &k);

	if (!st)
		return 0;
	if (!conn_unwatched(&st->conn))
		emit_head(WST_REC_TLS_FREE, 0, (__u64)ssl, id, st);
	bpf_map_delete_elem(&ssls, &k);
	return 0;
}

/*
 * A socket syscall. Inside an SSL call: the first socket fd names the
 * stream's socket. Outside: only threads of memory BIO processes go on.
 */
static __always_inline void sock_syscall(int fd, int is_write)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct wst_tls_call *c = bpf_map_lookup_elem(&calls, &id);

	if (c) {
		if (!c->have_conn && !conn_from_fd(fd, WST_TLS_SRC_SYSCALL, &c->conn))
			c->have_conn = 1;
		return;
	}
	if (!bpf_map_lookup_elem(&membio, &tgid))
		return;
	if (is_write) {
		__u64 *ssl = bpf_map_lookup_elem(&pending_wr, &id);
		struct wst_tls_state *st;
		struct wst_tls_conn conn;

		if (!ssl || conn_from_fd(fd, WST_TLS_SRC_NEXT_WRITE, &conn))
			return;
		st = state_get(*ssl, tgid, 0, 0);
		if (st && st->conn.src == WST_TLS_SRC_NONE) {
			st->conn = conn;
			if (!conn_unwatched(&conn))
				emit_head(WST_REC_TLS_DATA, WST_TLS_F_MAP, *ssl, id, st);
		}
		bpf_map_delete_elem(&pending_wr, &id);
	} else if (wst_fd_to_tcp_sock(fd)) {
		__s32 v = fd;

		bpf_map_update_elem(&last_rd, &id, &v, BPF_ANY);
	}
}

/*
 * The raw sys_enter tracepoint needs no tracefs (the syscalls:* ones do):
 * one program for every syscall, which returns at once for all but these.
 */
#if defined(__TARGET_ARCH_x86)
#define NR_READ 0
#define NR_WRITE 1
#define NR_READV 19
#define NR_WRITEV 20
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define NR_SENDMSG 46
#define NR_RECVMSG 47
#elif defined(__TARGET_ARCH_arm64)
#define NR_READ 63
#define NR_WRITE 64
#define NR_READV 65
#define NR_WRITEV 66
#define NR_SENDTO 206
#define NR_RECVFROM 207
#define NR_SENDMSG 211
#define NR_RECVMSG 212
#else
#error "syscall numbers of this architecture are not listed"
#endif

SEC("tp_btf/sys_enter")
int BPF_PROG(tls_sys_enter, struct pt_regs *regs, long nr)
{
	int is_write;

	switch (nr) {
	case NR_READ: case NR_READV: case NR_RECVFROM: case NR_RECVMSG:
		is_write = 0;
		break;
	case NR_WRITE: case NR_WRITEV: case NR_SENDTO: case NR_SENDMSG:
		is_write = 1;
		break;
	default:
		return 0;
	}
	if (calls_open <= 0 && !membio_seen)
		return 0;
	sock_syscall((int)PT_REGS_PARM1_CORE_SYSCALL(regs), is_write);
	return 0;
}
