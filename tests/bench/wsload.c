// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * wsload.c - WebSocket load generator and server for the benchmarks.
 *
 *   wsload server [-a ADDR] [-p PORT] [-t THREADS] [-j KEY]
 *                 [-T -C CERT -K KEY_FILE]
 *   wsload client [-a ADDR] [-p PORT] [-c CONNS] [-t THREADS] [-s SIZE]
 *                 [-r RATE] [-f FRAMES] [-d SECONDS] [-S SOURCES] [-i]
 *                 [-m MSGS] [-j KEY] [-T [-k KEYLOG]]
 *
 * Both sides speak RFC 6455 for real: the client sends an upgrade request
 * with a random Sec-WebSocket-Key, the server answers 101 with the accept
 * value (SHA-1 + base64, section 4.2.2), the client checks it, then sends
 * masked text frames with a fresh masking key each (section 5.3). The server
 * unmasks every frame and checks its content, so a masking bug shows up as
 * bad_payload. At the end the client sends a close frame (1000) and the
 * server answers it (section 5.5.1).
 *
 * RATE is messages per second over all connections (0 = as fast as the
 * sockets take them); FRAMES is how many frames go into one write. With -i
 * (idle) each connection sends one message after its handshake and then
 * stays quiet until the end. SOURCES spreads the connections over source
 * addresses 127.0.0.1 .. 127.0.0.SOURCES (loopback accepts all of 127/8),
 * for more connections than one address has ports.
 *
 * -m MSGS (churn): each connection closes after MSGS messages and a new one
 * takes its place until the end, so the load is mostly connection set-up
 * and tear-down. -j KEY sends JSON text messages {"KEY":"<16 hex>","p":"x..."}
 * whose KEY value is unique in the run (the server, given the same -j, checks
 * that shape instead of the byte pattern). -T speaks TLS (OpenSSL, so that a
 * tracer can read the plaintext from libssl): the server needs -C and -K
 * (PEM files), the client does not verify the certificate and with -k
 * appends the session secrets to KEYLOG in the NSS key log format, which
 * tshark reads with -o tls.keylog_file:KEYLOG.
 *
 * Results go to stdout as key=value lines: the server prints them on
 * SIGTERM or SIGINT, the client when it is done.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_MSG (1u << 20)
#define RX_BUF (MAX_MSG + (256u << 10))
#define HS_MAX 2048

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "wsload: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Masking keys: xorshift64* seeded from getrandom(); unpredictable enough
 * for a benchmark (a real client must use a strong source, RFC 6455 10.3). */
static uint32_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

static uint64_t rng_seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), 0) != sizeof(s) || !s)
		s = now_ns() | 1;
	return s;
}

/* Sec-WebSocket-Accept for a key (RFC 6455 4.2.2 step 5.4). */
static void ws_accept_for(const char *key, size_t key_len, char out[29])
{
	unsigned char sha[SHA_DIGEST_LENGTH];
	char buf[128];
	size_t n;

	n = key_len < 64 ? key_len : 64;
	memcpy(buf, key, n);
	memcpy(buf + n, WS_GUID, sizeof(WS_GUID) - 1);
	SHA1((const unsigned char *)buf, n + sizeof(WS_GUID) - 1, sha);
	EVP_EncodeBlock((unsigned char *)out, sha, SHA_DIGEST_LENGTH);
}

/* Case-insensitive header lookup in a request/response head. */
static const char *find_header(const char *head, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = strstr(head, "\r\n");

	while (p && p[2] != '\r') {
		const char *line = p + 2, *end = strstr(line, "\r\n");

		if (!end)
			return NULL;
		if (!strncasecmp(line, name, nl) && line[nl] == ':') {
			const char *v = line + nl + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			*len = (size_t)(end - v);
			while (*len && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
				(*len)--;
			return v;
		}
		p = end;
	}
	return NULL;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Writes a frame header (client frames masked) and returns its length. */
static size_t ws_header(uint8_t *h, uint8_t opcode, uint64_t len, bool masked,
			uint32_t key)
{
	size_t n = 2;

	h[0] = 0x80 | opcode;
	if (len < 126) {
		h[1] = (uint8_t)len;
	} else if (len <= 0xffff) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		n = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (masked) {
		h[1] |= 0x80;
		memcpy(h + n, &key, 4);
		n += 4;
	}
	return n;
}

/* Payload byte i of a message: printable ASCII, so valid UTF-8 text. */
static inline uint8_t pattern(uint64_t i)
{
	return (uint8_t)('a' + i % 26);
}

/* -j KEY: messages are {"KEY":"<16 hex>","p":"xxx"}, padded to the size. */
static const char *opt_json_key;
#define JSON_ID_LEN 16

static size_t json_prefix_len(void)
{
	return strlen(opt_json_key) + 5;   /* {"KEY":" */
}

static size_t json_min_size(void)
{
	return json_prefix_len() + JSON_ID_LEN + 7 + 2;   /* ...","p":"  "} */
}

/* Byte i of a JSON message of len bytes: the character, or -1 for a digit
 * of the id (any lower-case hex digit). */
static int json_byte(size_t i, size_t len)
{
	size_t pre = json_prefix_len(), kl = pre - 5;

	if (i < pre)
		return i < 2 ? "{\""[i] : i < 2 + kl ? opt_json_key[i - 2] : "\":\""[i - 2 - kl];
	if (i < pre + JSON_ID_LEN)
		return -1;
	if (i < pre + JSON_ID_LEN + 7)
		return "\",\"p\":\""[i - pre - JSON_ID_LEN];
	if (i >= len - 2)
		return "\"}"[i - (len - 2)];
	return 'x';
}

/* Writes a JSON message with this id into buf (len >= json_min_size()). */
static void json_fill(uint8_t *buf, size_t len, uint64_t id)
{
	static const char hex[] = "0123456789abcdef";
	size_t pre = json_prefix_len();

	for (size_t i = 0; i < len; i++) {
		int c = json_byte(i, len);

		buf[i] = c >= 0 ? (uint8_t)c :
			(uint8_t)hex[(id >> (4 * (JSON_ID_LEN - 1 - (i - pre)))) & 0xf];
	}
}

/* ------------------------------------------------------------------ TLS */

/* With -T every connection goes through OpenSSL (dynamically linked, so a
 * tracer's uprobes on libssl see the plaintext). NULL: plain TCP. */
static SSL_CTX *tls_ctx;
static bool opt_tls;
static const char *opt_cert, *opt_key, *opt_keylog;
static FILE *keylog;
static pthread_mutex_t keylog_lock = PTHREAD_MUTEX_INITIALIZER;

static void tls_die(const char *what)
{
	fprintf(stderr, "wsload: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void keylog_line(const SSL *ssl, const char *line)
{
	(void)ssl;
	pthread_mutex_lock(&keylog_lock);
	fprintf(keylog, "%s\n", line);
	/* A live tshark reads the file as sessions start. */
	fflush(keylog);
	pthread_mutex_unlock(&keylog_lock);
}

static void tls_setup(bool server)
{
	tls_ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!tls_ctx)
		tls_die("SSL_CTX_new");
	/* Sends may be partial and are retried from another buffer. */
	SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A peer that closes without close_notify is just the end of the stream. */
	SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (server) {
		if (SSL_CTX_use_certificate_chain_file(tls_ctx, opt_cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(tls_ctx, opt_key, SSL_FILETYPE_PEM) != 1)
			tls_die("loading the certificate");
		return;
	}
	/* The server's certificate is the bench's own, made for this run. */
	SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
	if (opt_keylog) {
		keylog = fopen(opt_keylog, "a");
		if (!keylog)
			die("opening the key log");
		SSL_CTX_set_keylog_callback(tls_ctx, keylog_line);
	}
}

static SSL *tls_new(int fd, bool server)
{
	SSL *ssl;

	if (!tls_ctx)
		return NULL;
	ssl = SSL_new(tls_ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1)
		tls_die("SSL_new");
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	return ssl;
}

/* An SSL call's result as recv/send would give it: -1 with errno EAGAIN
 * when it must be repeated once the socket is ready (with the same bytes,
 * for a write), 0 at the end of the stream. */
static ssize_t tls_result(SSL *ssl, int n)
{
	if (n > 0)
		return n;
	switch (SSL_get_error(ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		/* The error queue must be empty for the next SSL_get_error. */
		ERR_clear_error();
		errno = EIO;
		return -1;
	}
}

static ssize_t io_recv(int fd, SSL *ssl, void *buf, size_t len)
{
	if (!ssl)
		return recv(fd, buf, len, 0);
	return tls_result(ssl, SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len));
}

static ssize_t io_send(int fd, SSL *ssl, const void *buf, size_t len)
{
	if (!ssl)
		return send(fd, buf, len, MSG_NOSIGNAL);
	return tls_result(ssl, SSL_write(ssl, buf, len > INT_MAX ? INT_MAX : (int)len));
}

/* ------------------------------------------------------------------ server */

struct srv_conn {
	int fd;
	SSL *ssl;              /* with -T */
	bool upgraded;
	uint16_t hs_len;
	uint32_t carry_len;
	uint8_t *carry;        /* bytes of an incomplete frame or head */
};

struct srv_stats {
	uint64_t accepted, upgraded, bad_upgrade, frames, messages, bytes;
	uint64_t bad_payload, unmasked, closes, first_ns, last_ns;
};

struct srv_thread {
	pthread_t tid;
	int lfd, epfd;
	uint8_t *rx;
	struct srv_stats st;
};

static const char *opt_addr = "127.0.0.1";
static int opt_port = 7272;

static int make_listener(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(opt_port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		die("socket");
	if (inet_pton(AF_INET, opt_addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "wsload: bad address %s\n", opt_addr);
		exit(2);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 65535))
		die("bind/listen");
	return fd;
}

static void srv_close(struct srv_thread *t, struct srv_conn *c)
{
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	close(c->fd);
	free(c->carry);
	free(c);
}

/* The server only sends the 101 and close frames: a full socket for a
 * second means the client is gone. */
static int srv_send_all(struct srv_conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int waits = 0;

	while (len) {
		ssize_t n = io_send(c->fd, c->ssl, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && ++waits < 10000) {
			usleep(100);
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Handles the upgrade head once complete: 1 done, 0 need more, -1 close. */
static int srv_handshake(struct srv_thread *t, struct srv_conn *c, const uint8_t *data, size_t len,
			 size_t *used)
{
	char head[HS_MAX + 1], accept[29], resp[256];
	const char *key, *end;
	size_t key_len, n;

	n = len < (size_t)(HS_MAX - c->hs_len) ? len : (size_t)(HS_MAX - c->hs_len);
	if (!c->carry && !(c->carry = malloc(HS_MAX)))
		return -1;
	memcpy(c->carry + c->hs_len, data, n);
	c->hs_len += (uint16_t)n;
	memcpy(head, c->carry, c->hs_len);
	head[c->hs_len] = '\0';
	end = strstr(head, "\r\n\r\n");
	if (!end) {
		*used = n;
		if (c->hs_len >= HS_MAX) {
			t->st.bad_upgrade++;
			return -1;
		}
		return 0;
	}
	/* Only what belongs to the head is consumed; frames may follow. */
	*used = n - (c->hs_len - (size_t)(end + 4 - head));
	if (strncmp(head, "GET ", 4) || !(key = find_header(head, "Sec-WebSocket-Key", &key_len))) {
		t->st.bad_upgrade++;
		srv_send_all(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 47);
		return -1;
	}
	ws_accept_for(key, key_len, accept);
	n = (size_t)snprintf(resp, sizeof(resp),
			     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
	if (srv_send_all(c, resp, n))
		return -1;
	free(c->carry);
	c->carry = NULL;
	c->hs_len = 0;
	c->upgraded = true;
	t->st.upgraded++;
	return 1;
}

/* Parses whole frames from buf: bytes consumed, or -1 to close. */
static ssize_t srv_frames(struct srv_thread *t, struct srv_conn *c, uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= 2) {
		const uint8_t *h = buf + off;
		uint8_t op = h[0] & 0x0f;
		bool masked = h[1] & 0x80;
		uint64_t plen = h[1] & 0x7f;
		size_t hl = 2;
		uint8_t key[4] = { 0 };

		if (plen == 126) {
			if (len - off < 4)
				break;
			plen = (uint64_t)h[2] << 8 | h[3];
			hl = 4;
		} else if (plen == 127) {
			if (len - off < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | h[2 + i];
			hl = 10;
		}
		if (plen > MAX_MSG)
			return -1;
		if (masked)
			hl += 4;
		if (len - off < hl + plen)
			break;
		if (masked)
			memcpy(key, h + hl - 4, 4);
		else
			t->st.unmasked++;   /* RFC 6455 5.1: client frames are masked */
		t->st.frames++;
		if (op == 0x8) {
			uint8_t close_frame[4] = { 0x88, 2, 0x03, 0xe8 };

			t->st.closes++;
			srv_send_all(c, close_frame, sizeof(close_frame));
			return -1;
		}
		if (op == 0x1 || op == 0x2) {
			const uint8_t *p = h + hl;
			uint64_t bad = 0;

			/* Unmask and check against what the client sent. */
			if (!opt_json_key) {
				for (uint64_t i = 0; i < plen; i++)
					bad |= (uint8_t)(p[i] ^ key[i & 3]) ^ pattern(i);
			} else if (plen < json_min_size()) {
				bad = 1;
			} else {
				for (uint64_t i = 0; i < plen && !bad; i++) {
					uint8_t b = p[i] ^ key[i & 3];
					int want = json_byte(i, plen);

					bad = want >= 0 ? b != want : !((b >= '0' && b <= '9') || (b >= 'a' && b <= 'f'));
				}
			}
			if (bad)
				t->st.bad_payload++;
			if (h[0] & 0x80) {
				uint64_t ts = now_ns();

				t->st.messages++;
				if (!t->st.first_ns)
					t->st.first_ns = ts;
				t->st.last_ns = ts;
			}
			t->st.bytes += plen;
		}
		off += hl + plen;
	}
	return (ssize_t)off;
}

static void srv_readable(struct srv_thread *t, struct srv_conn *c)
{
	for (;;) {
		size_t have = c->upgraded ? c->carry_len : 0;
		ssize_t n, used;

		if (have)
			memcpy(t->rx, c->carry, have);
		n = io_recv(c->fd, c->ssl, t->rx + have, RX_BUF - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			srv_close(t, c);
			return;
		}
		size_t len = have + (size_t)n, off = 0;

		if (!c->upgraded) {
			size_t u = 0;
			int r = srv_handshake(t, c, t->rx, len, &u);

			if (r < 0) {
				srv_close(t, c);
				return;
			}
			off = u;
			if (!r)
				continue;
		}
		used = srv_frames(t, c, t->rx + off, len - off);
		if (used < 0) {
			srv_close(t, c);
			return;
		}
		off += (size_t)used;
		c->carry_len = (uint32_t)(len - off);
		if (c->carry_len) {
			uint8_t *p = realloc(c->carry, c->carry_len);

			if (!p) {
				srv_close(t, c);
				return;
			}
			c->carry = p;
			memcpy(c->carry, t->rx + off, c->carry_len);
		} else {
			free(c->carry);
			c->carry = NULL;
		}
	}
}

static void *srv_run(void *arg)
{
	struct srv_thread *t = arg;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[256];

	t->rx = malloc(RX_BUF);
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!t->rx || t->epfd < 0 || epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->lfd, &ev))
		die("server setup");
	while (!stop) {
		int n = epoll_wait(t->epfd, evs, 256, 100);

		for (int i = 0; i < n; i++) {
			struct srv_conn *c = evs[i].data.ptr;

			if (c) {
				srv_readable(t, c);
				continue;
			}
			for (;;) {
				int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd < 0)
					break;
				c = calloc(1, sizeof(*c));
				if (!c)
					die("calloc");
				c->fd = fd;
				c->ssl = tls_new(fd, true);
				t->st.accepted++;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev))
					die("epoll_ctl");
			}
		}
	}
	return NULL;
}

static int run_server(int nthreads)
{
	struct srv_thread *ts = calloc((size_t)nthreads, sizeof(*ts));
	struct srv_stats sum = { 0 };

	if (!ts)
		die("calloc");
	for (int i = 0; i < nthreads; i++) {
		ts[i].lfd = make_listener();
		if (pthread_create(&ts[i].tid, NULL, srv_run, &ts[i]))
			die("pthread_create");
	}
	printf("ready=1\n");
	fflush(stdout);
	for (int i = 0; i < nthreads; i++) {
		struct srv_stats *s = &ts[i].st;

		pthread_join(ts[i].tid, NULL);
		sum.accepted += s->accepted;
		sum.upgraded += s->upgraded;
		sum.bad_upgrade += s->bad_upgrade;
		sum.frames += s->frames;
		sum.messages += s->messages;
		sum.bytes += s->bytes;
		sum.bad_payload += s->bad_payload;
		sum.unmasked += s->unmasked;
		sum.closes += s->closes;
		if (s->first_ns && (!sum.first_ns || s->first_ns < sum.first_ns))
			sum.first_ns = s->first_ns;
		if (s->last_ns > sum.last_ns)
			sum.last_ns = s->last_ns;
	}
	printf("accepted=%" PRIu64 "\nupgraded=%" PRIu64 "\nbad_upgrade=%" PRIu64
	       "\nframes=%" PRIu64 "\nmessages=%" PRIu64 "\nbytes=%" PRIu64
	       "\nbad_payload=%" PRIu64 "\nunmasked=%" PRIu64 "\ncloses=%" PRIu64 "\n",
	       sum.accepted, sum.upgraded, sum.bad_upgrade, sum.frames, sum.messages,
	       sum.bytes, sum.bad_payload, sum.unmasked, sum.closes);
	if (sum.last_ns > sum.first_ns)
		printf("active_s=%.3f\nmsg_per_s=%.0f\n", (sum.last_ns - sum.first_ns) / 1e9,
		       (double)sum.messages * 1e9 / (double)(sum.last_ns - sum.first_ns));
	else
		printf("active_s=0\nmsg_per_s=0\n");
	return 0;
}

/* ------------------------------------------------------------------ client */

enum cli_state { C_CONNECTING, C_TLS, C_HANDSHAKE, C_OPEN, C_CLOSING, C_DONE };

struct cli_conn {
	int fd;
	enum cli_state state;
	bool want_out;
	SSL *ssl;                    /* with -T */
	char accept[29];
	uint16_t rx_len;
	uint32_t out_off, out_len;   /* pending bytes of the last send */
	uint32_t sent;               /* messages on this connection (-m) */
	uint8_t *out;                /* only while a send is pending */
	char rx[160];
};

struct cli_stats {
	uint64_t connected, upgraded, failed, sends, frames, messages, bytes, closed;
	uint64_t hs_ns_sum;
};

struct cli_thread {
	pthread_t tid;
	int id, epfd, nconns, opened;
	struct cli_conn *conns;
	uint64_t rng, next_id;
	uint8_t *txbuf;              /* one send: frames of one batch */
	uint8_t *json;               /* -j: one message before masking */
	struct cli_stats st;
};

static int opt_conns = 1, opt_threads = 1, opt_size = 64, opt_frames = 1, opt_sources = 1;
static int opt_per_conn;
static double opt_rate, opt_duration = 5;
static bool opt_idle;
static size_t frame_max;

static void cli_want(struct cli_thread *t, struct cli_conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out == out)
		return;
	c->want_out = out;
	epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void cli_fail(struct cli_thread *t, struct cli_conn *c)
{
	if (c->state == C_DONE)
		return;
	if (c->state != C_OPEN && c->state != C_CLOSING)
		t->st.failed++;
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->state = C_DONE;
}

/* Ends a connection that closed properly (its close frame answered). */
static void cli_done(struct cli_thread *t, struct cli_conn *c)
{
	t->st.closed++;
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->state = C_DONE;
}

static void cli_connect(struct cli_thread *t, struct cli_conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(opt_port) };
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
	int one = 1, idx = t->id + t->opened * opt_threads;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (opt_sources > 1) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(idx % opt_sources));
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)))
			die("bind source");
	}
	inet_pton(AF_INET, opt_addr, &sa.sin_addr);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)
		die("connect");
	c->state = C_CONNECTING;
	c->want_out = true;
	t->opened++;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		die("epoll_ctl");
}

static void cli_send_upgrade(struct cli_thread *t, struct cli_conn *c)
{
	unsigned char raw[16];
	char key[25], req[512];
	int n;

	for (int i = 0; i < 16; i += 4) {
		uint32_t r = rng_next(&t->rng);

		memcpy(raw + i, &r, 4);
	}
	EVP_EncodeBlock((unsigned char *)key, raw, 16);
	ws_accept_for(key, 24, c->accept);
	n = snprintf(req, sizeof(req),
		     "GET /chat HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\nOrigin: %s://%s\r\n"
		     "User-Agent: wsload\r\n\r\n", opt_addr, opt_port, key,
		     tls_ctx ? "https" : "http", opt_addr);
	/* A fresh socket (or TLS session) takes a few hundred bytes at once. */
	if (io_send(c->fd, c->ssl, req, (size_t)n) != n) {
		cli_fail(t, c);
		return;
	}
	c->state = C_HANDSHAKE;
	cli_want(t, c, false);
}

/* Drives the TLS handshake; the upgrade request follows it. */
static void cli_tls_step(struct cli_thread *t, struct cli_conn *c)
{
	int r = SSL_do_handshake(c->ssl);

	if (r == 1) {
		cli_send_upgrade(t, c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		cli_want(t, c, false);
		return;
	case SSL_ERROR_WANT_WRITE:
		cli_want(t, c, true);
		return;
	default:
		ERR_clear_error();
		cli_fail(t, c);
	}
}

/* Builds one send of `frames` masked text frames into buf: its length. */
static size_t cli_build(struct cli_thread *t, uint8_t *buf, int frames)
{
	size_t off = 0;

	for (int f = 0; f < frames; f++) {
		uint32_t key = rng_next(&t->rng);
		uint8_t k[4];

		memcpy(k, &key, 4);
		off += ws_header(buf + off, 0x1, (uint64_t)opt_size, true, key);
		if (t->json) {
			json_fill(t->json, (size_t)opt_size, t->next_id++);
			for (int i = 0; i < opt_size; i++)
				buf[off + i] = t->json[i] ^ k[i & 3];
		} else {
			for (int i = 0; i < opt_size; i++)
				buf[off + i] = pattern((uint64_t)i) ^ k[i & 3];
		}
		off += (size_t)opt_size;
	}
	return off;
}

static void cli_send_close(struct cli_thread *t, struct cli_conn *c)
{
	uint8_t f[8];
	uint32_t key = rng_next(&t->rng);
	uint8_t k[4], code[2] = { 0x03, 0xe8 };  /* 1000, normal closure */
	size_t n;

	if (c->state != C_OPEN)
		return;
	memcpy(k, &key, 4);
	n = ws_header(f, 0x8, 2, true, key);
	f[n] = code[0] ^ k[0];
	f[n + 1] = code[1] ^ k[1];
	c->state = C_CLOSING;
	if (io_send(c->fd, c->ssl, f, n + 2) != (ssize_t)(n + 2))
		cli_fail(t, c);
}

/* -m: a connection that has sent its messages closes (once nothing is
 * pending: the close frame must not cut into a frame). */
static void cli_maybe_close(struct cli_thread *t, struct cli_conn *c)
{
	if (opt_per_conn && c->state == C_OPEN && !c->out && c->sent >= (uint32_t)opt_per_conn)
		cli_send_close(t, c);
}

/* Sends what is pending on c: true when nothing is left. */
static bool cli_flush(struct cli_thread *t, struct cli_conn *c)
{
	while (c->out && c->out_off < c->out_len) {
		ssize_t n = io_send(c->fd, c->ssl, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			cli_want(t, c, true);
			return false;
		}
		if (n <= 0) {
			cli_fail(t, c);
			return false;
		}
		c->out_off += (uint32_t)n;
	}
	if (c->out) {
		free(c->out);
		c->out = NULL;
		cli_want(t, c, false);
		cli_maybe_close(t, c);
	}
	return true;
}

/* One batch of frames on c: true if it went (whole or queued). */
static bool cli_send_batch(struct cli_thread *t, struct cli_conn *c, int frames)
{
	size_t len;
	ssize_t n;

	if (c->state != C_OPEN || c->out)
		return false;
	if (opt_per_conn && c->sent >= (uint32_t)opt_per_conn)
		return false;
	len = cli_build(t, t->txbuf, frames);
	n = io_send(c->fd, c->ssl, t->txbuf, len);
	if (n < 0 && errno == EAGAIN && !c->ssl) {
		cli_want(t, c, true);
		return false;
	}
	if (n < 0 && errno != EAGAIN) {
		cli_fail(t, c);
		return false;
	}
	/* A TLS write that must be repeated has committed its bytes: it is
	 * retried from c->out with the same content. */
	if (n < 0)
		n = 0;
	t->st.sends++;
	t->st.frames += (uint64_t)frames;
	t->st.messages += (uint64_t)frames;
	t->st.bytes += (uint64_t)frames * (uint64_t)opt_size;
	c->sent += (uint32_t)frames;
	if ((size_t)n < len) {
		/* Frames are committed: the rest must follow before anything else. */
		c->out = malloc(len);
		if (!c->out)
			die("malloc");
		memcpy(c->out, t->txbuf, len);
		c->out_off = (uint32_t)n;
		c->out_len = (uint32_t)len;
		cli_want(t, c, true);
	}
	cli_maybe_close(t, c);
	return true;
}

static void cli_readable(struct cli_thread *t, struct cli_conn *c)
{
	for (;;) {
		ssize_t n = io_recv(c->fd, c->ssl, c->rx + c->rx_len, sizeof(c->rx) - 1 - c->rx_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (c->state == C_CLOSING)
				cli_done(t, c);
			else
				cli_fail(t, c);
			return;
		}
		if (c->state == C_HANDSHAKE) {
			size_t vl;
			const char *v;

			c->rx_len += (uint16_t)n;
			c->rx[c->rx_len] = '\0';
			if (!strstr(c->rx, "\r\n\r\n")) {
				if (c->rx_len >= sizeof(c->rx) - 1)
					cli_fail(t, c);
				continue;
			}
			v = find_header(c->rx, "Sec-WebSocket-Accept", &vl);
			if (strncmp(c->rx, "HTTP/1.1 101", 12) || !v || vl != 28 ||
			    memcmp(v, c->accept, 28)) {
				cli_fail(t, c);
				return;
			}
			c->state = C_OPEN;
			c->rx_len = 0;
			t->st.upgraded++;
			if (opt_idle)
				cli_send_batch(t, c, 1);
			continue;
		}
		/* The server sends nothing but its close frame. */
		if (c->state == C_CLOSING && n >= 2 && (uint8_t)c->rx[0] == 0x88) {
			cli_done(t, c);
			return;
		}
	}
}

static void cli_event(struct cli_thread *t, struct cli_conn *c, uint32_t events)
{
	if (c->state == C_DONE)
		return;
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) || err) {
			cli_fail(t, c);
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		t->st.connected++;
		c->ssl = tls_new(c->fd, false);
		if (c->ssl) {
			c->state = C_TLS;
			cli_tls_step(t, c);
		} else {
			cli_send_upgrade(t, c);
		}
		return;
	}
	if (c->state == C_TLS) {
		cli_tls_step(t, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		cli_readable(t, c);
	if (c->state != C_DONE && (events & EPOLLOUT)) {
		if (c->out)
			cli_flush(t, c);
		else
			cli_want(t, c, false);
	}
}

static void cli_poll(struct cli_thread *t, int timeout_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(t->epfd, evs, 256, timeout_ms);

	for (int i = 0; i < n; i++)
		cli_event(t, evs[i].data.ptr, evs[i].events);
}

/* -m: connections that finished are replaced by new ones. */
static void cli_churn(struct cli_thread *t)
{
	for (int i = 0; i < t->nconns; i++)
		if (t->conns[i].state == C_DONE)
			cli_connect(t, &t->conns[i]);
}

static void *cli_run(void *arg)
{
	struct cli_thread *t = arg;
	uint64_t start, end, deadline, sent = 0;
	double per_ns = opt_rate > 0 ? opt_rate / opt_threads / 1e9 : 0;
	int next = 0;

	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->txbuf = malloc(frame_max * (size_t)opt_frames);
	if (t->epfd < 0 || !t->txbuf)
		die("client setup");
	if (opt_json_key) {
		t->json = malloc((size_t)opt_size);
		if (!t->json)
			die("client setup");
		/* Ids unique in the run: a random prefix per thread, then a count. */
		t->next_id = (uint64_t)rng_next(&t->rng) << 32;
	}
	/* Connect in waves so the accept queue and SYN backlog keep up. */
	deadline = now_ns() + 30000000000ull;
	while (!stop && now_ns() < deadline &&
	       (uint64_t)t->nconns > t->st.upgraded + t->st.failed) {
		while (t->opened < t->nconns &&
		       t->opened - (int)(t->st.upgraded + t->st.failed) < 512)
			cli_connect(t, &t->conns[t->opened]);
		cli_poll(t, 10);
	}
	start = now_ns();
	end = start + (uint64_t)(opt_duration * 1e9);
	while (!stop && now_ns() < end) {
		if (opt_per_conn)
			cli_churn(t);
		if (opt_idle || !t->nconns) {
			cli_poll(t, 50);
			continue;
		}
		if (per_ns > 0) {
			/* Paced: as many batches as are due since start. */
			uint64_t due = (uint64_t)((double)(now_ns() - start) * per_ns) / (uint64_t)opt_frames;
			int tries = 0;

			while (sent < due && tries < t->nconns) {
				struct cli_conn *c = &t->conns[next];

				next = (next + 1) % t->nconns;
				if (cli_send_batch(t, c, opt_frames)) {
					sent++;
					tries = 0;
				} else {
					tries++;
				}
			}
			cli_poll(t, sent < due ? 1 : 0);
			if (sent >= due) {
				struct timespec ts = { 0, 50000 };

				nanosleep(&ts, NULL);
			}
		} else {
			/* Unpaced: fill every connection until its socket pushes back. */
			bool any = false;

			for (int i = 0; i < t->nconns; i++) {
				struct cli_conn *c = &t->conns[i];

				for (int k = 0; k < 64 && cli_send_batch(t, c, opt_frames); k++)
					any = true;
			}
			cli_poll(t, any ? 0 : 1);
		}
	}
	/* Let pending sends out, then close each connection properly. */
	deadline = now_ns() + 3000000000ull;
	for (bool pending = true; pending && now_ns() < deadline;) {
		pending = false;
		for (int i = 0; i < t->nconns; i++)
			if (t->conns[i].state == C_OPEN && t->conns[i].out)
				pending = !cli_flush(t, &t->conns[i]) || pending;
		if (pending)
			cli_poll(t, 10);
	}
	/* Connections still being set up (-m) are closed once they are open. */
	deadline = now_ns() + 3000000000ull;
	while (now_ns() < deadline) {
		bool open = false;

		for (int i = 0; i < t->nconns; i++) {
			struct cli_conn *c = &t->conns[i];

			if (c->state == C_OPEN && !c->out)
				cli_send_close(t, c);
			open = open || (c->state != C_DONE && !(c->state == C_OPEN && c->out));
		}
		if (!open)
			break;
		cli_poll(t, 10);
	}
	for (int i = 0; i < t->nconns; i++)
		if (t->conns[i].state != C_DONE) {
			SSL_free(t->conns[i].ssl);
			close(t->conns[i].fd);
			t->conns[i].state = C_DONE;
		}
	free(t->json);
	free(t->txbuf);
	return NULL;
}

static int run_client(void)
{
	struct cli_thread *ts;
	struct cli_stats sum = { 0 };
	uint64_t t0, t1;
	uint64_t seed = rng_seed();

	if (opt_threads > opt_conns)
		opt_threads = opt_conns;
	frame_max = 14 + (size_t)opt_size;
	ts = calloc((size_t)opt_threads, sizeof(*ts));
	if (!ts)
		die("calloc");
	t0 = now_ns();
	for (int i = 0; i < opt_threads; i++) {
		ts[i].id = i;
		ts[i].nconns = opt_conns / opt_threads + (i < opt_conns % opt_threads);
		ts[i].conns = calloc((size_t)ts[i].nconns, sizeof(struct cli_conn));
		ts[i].rng = seed + 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
		if (!ts[i].conns)
			die("calloc");
		if (pthread_create(&ts[i].tid, NULL, cli_run, &ts[i]))
			die("pthread_create");
	}
	for (int i = 0; i < opt_threads; i++) {
		struct cli_stats *s = &ts[i].st;

		pthread_join(ts[i].tid, NULL);
		sum.connected += s->connected;
		sum.upgraded += s->upgraded;
		sum.failed += s->failed;
		sum.sends += s->sends;
		sum.frames += s->frames;
		sum.messages += s->messages;
		sum.bytes += s->bytes;
		sum.closed += s->closed;
	}
	t1 = now_ns();
	printf("conns=%d\nconnected=%" PRIu64 "\nupgraded=%" PRIu64 "\nfailed=%" PRIu64
	       "\nsends=%" PRIu64 "\nframes=%" PRIu64 "\nmessages=%" PRIu64 "\nbytes=%" PRIu64
	       "\nclosed=%" PRIu64 "\nelapsed_s=%.3f\n",
	       opt_conns, sum.connected, sum.upgraded, sum.failed, sum.sends, sum.frames,
	       sum.messages, sum.bytes, sum.closed, (t1 - t0) / 1e9);
	return sum.upgraded >= (uint64_t)opt_conns && !sum.failed ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: wsload server [-a ADDR] [-p PORT] [-t THREADS] [-j KEY]\n"
		"                     [-T -C CERT -K KEY_FILE]\n"
		"       wsload client [-a ADDR] [-p PORT] [-c CONNS] [-t THREADS] [-s SIZE]\n"
		"                     [-r MSG_PER_S] [-f FRAMES_PER_SEND] [-d SECONDS]\n"
		"                     [-S SOURCES] [-i] [-m MSGS_PER_CONN] [-j KEY]\n"
		"                     [-T [-k KEYLOG]]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	bool server;
	int o;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "server"))
		server = true;
	else if (!strcmp(argv[1], "client"))
		server = false;
	else
		usage();
	argv++;
	argc--;
	while ((o = getopt(argc, argv, "a:p:c:t:s:r:f:d:S:im:j:TC:K:k:")) != -1) {
		switch (o) {
		case 'a': opt_addr = optarg; break;
		case 'p': opt_port = atoi(optarg); break;
		case 'c': opt_conns = atoi(optarg); break;
		case 't': opt_threads = atoi(optarg); break;
		case 's': opt_size = atoi(optarg); break;
		case 'r': opt_rate = atof(optarg); break;
		case 'f': opt_frames = atoi(optarg); break;
		case 'd': opt_duration = atof(optarg); break;
		case 'S': opt_sources = atoi(optarg); break;
		case 'i': opt_idle = true; break;
		case 'm': opt_per_conn = atoi(optarg); break;
		case 'j': opt_json_key = optarg; break;
		case 'T': opt_tls = true; break;
		case 'C': opt_cert = optarg; break;
		case 'K': opt_key = optarg; break;
		case 'k': opt_keylog = optarg; break;
		default: usage();
		}
	}
	if (opt_port <= 0 || opt_port > 65535 || opt_conns < 1 || opt_threads < 1 ||
	    opt_size < 0 || (unsigned)opt_size > MAX_MSG || opt_frames < 1 ||
	    opt_frames > 4096 || opt_sources < 1 || opt_sources > 254 || opt_duration < 0 ||
	    opt_per_conn < 0 || (opt_json_key && (!*opt_json_key || strlen(opt_json_key) > 64 ||
						  strpbrk(opt_json_key, "\"\\"))) ||
	    (server && opt_tls && (!opt_cert || !opt_key)))
		usage();
	if (opt_json_key && !server && (size_t)opt_size < json_min_size()) {
		fprintf(stderr, "wsload: -j %s needs -s %zu or more\n", opt_json_key, json_min_size());
		exit(2);
	}
	if (opt_tls)
		tls_setup(server);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	setvbuf(stdout, NULL, _IOLBF, 0);
	return server ? run_server(opt_threads) : run_client();
}
