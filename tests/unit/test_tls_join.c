// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests: TLS plaintext into tracked connections (session/tls_join.c),
 * TLS on the wire never decoded (session/ws_session.c), and the wire
 * check (protocol/tls_record.c). The connection's packets go through the
 * real tracker and WebSocket layer (pipeline.h) carrying TLS records, its
 * plaintext as the ring buffer's records would give it: the same
 * WebSocket events as the conversation in the clear, each of a TLS flow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/tls_record.h"
#include "tracking/flow.h"
#include "session/tls_join.h"
#include "pipeline.h"
#include "recorder.h"

/* A TLS 1.2 ClientHello's first bytes, and an application data record. */
static const uint8_t client_hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x03 };
static const uint8_t app_data[] = { 0x17, 0x03, 0x03, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef };

struct fixture {
	struct pipeline p;
	struct recorder r;
	struct tls_join *j;
	uint64_t off[2][2]; /* next offset by side (0 server, 1 client) and enum wst_tls_dir */
	uint8_t flags;      /* of every record plain() makes */
	int ws_tls, ws_clear; /* HTTP and WebSocket events of TLS flows, of others */
};

static void count_tls(void *ctx, const struct wst_event *ev)
{
	struct fixture *fx = ctx;

	if (wst_event_is_ws(ev->type))
		(*(ev->flow->tls ? &fx->ws_tls : &fx->ws_clear))++;
}

static void fx_init(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	rec_init(&fx->r);
	fx->r.also = count_tls;
	fx->r.also_ctx = fx;
	pipe_init(&fx->p, rec_sink(&fx->r), NULL, NULL);
	assert_int_equal(tls_join_new(&fx->j, fx->p.t, fx->p.ws), 0);
}

static void fx_free(struct fixture *fx)
{
	tls_join_free(fx->j);
	pipe_free(&fx->p);
	rec_free(&fx->r);
}

enum side { SERVER, CLIENT };

/*
 * A plaintext record of side's SSL object: what it read or wrote, at that
 * stream's next offset (skip: that many bytes lost first). known false:
 * its socket not yet found.
 */
static void plain(struct fixture *fx, enum side side, enum wst_tls_dir dir, const void *b, size_t n,
		  bool known, uint64_t skip)
{
	static const uint8_t caddr[4] = { 10, 0, 0, 1 }, saddr[4] = { 10, 0, 0, 2 };
	struct wst_plaintext pt;

	memset(&pt, 0, sizeof(pt));
	pt.r.version = WST_RECORD_VERSION;
	pt.r.kind = WST_REC_TLS_DATA;
	pt.r.hdr_len = sizeof(pt.r);
	pt.r.dir = dir;
	pt.r.flags = fx->flags;
	pt.r.ts_ns = (fx->p.now += PIPE_STEP_NS);
	pt.r.ssl = side == SERVER ? 0x5000 : 0xc000;
	pt.r.tgid = side == SERVER ? 100 : 200;
	pt.r.offset = fx->off[side][dir] + skip;
	pt.r.call_len = pt.r.cap_len = (uint32_t)n;
	if (known) {
		pt.r.src = WST_TLS_SRC_NEXT_WRITE;
		pt.r.tuple.family = 4;
		memcpy(pt.r.tuple.laddr, side == SERVER ? saddr : caddr, 4);
		memcpy(pt.r.tuple.raddr, side == SERVER ? caddr : saddr, 4);
		pt.r.tuple.lport = side == SERVER ? PIPE_SERVER_PORT : PIPE_CLIENT_PORT;
		pt.r.tuple.rport = side == SERVER ? PIPE_CLIENT_PORT : PIPE_SERVER_PORT;
	}
	pt.data = b;
	fx->off[side][dir] += skip + n;
	tls_join_plaintext(fx->j, &pt);
}

/* The server's socket is found now (a TLS_DATA record with WST_TLS_F_MAP). */
static void map(struct fixture *fx, enum side side)
{
	struct wst_plaintext pt;

	memset(&pt, 0, sizeof(pt));
	pt.r.version = WST_RECORD_VERSION;
	pt.r.kind = WST_REC_TLS_DATA;
	pt.r.flags = WST_TLS_F_MAP;
	pt.r.ts_ns = fx->p.now;
	pt.r.ssl = side == SERVER ? 0x5000 : 0xc000;
	pt.r.tgid = side == SERVER ? 100 : 200;
	pt.r.src = WST_TLS_SRC_NEXT_WRITE;
	pt.r.tuple.family = 4;
	pt.r.tuple.laddr[0] = 10, pt.r.tuple.laddr[3] = 2;
	pt.r.tuple.raddr[0] = 10, pt.r.tuple.raddr[3] = 1;
	pt.r.tuple.lport = PIPE_SERVER_PORT;
	pt.r.tuple.rport = PIPE_CLIENT_PORT;
	tls_join_plaintext(fx->j, &pt);
}

/* The server's view of the conversation: it reads c2s, writes s2c. */
static void srv(struct fixture *fx, enum wst_flow_dir d, const void *b, size_t n)
{
	plain(fx, SERVER, d == WST_C2S ? WST_TLS_READ : WST_TLS_WRITE, b, n, true, 0);
}

static uint32_t frame(uint8_t *f, enum wst_flow_dir d, const char *s)
{
	return pipe_frame_bytes(f, d, WS_OP_TEXT, s, strlen(s));
}

/* The TCP handshake and a ClientHello on the wire. */
static void tls_open(struct fixture *fx)
{
	pipe_handshake(&fx->p);
	pipe_pkt(&fx->p, WST_C2S, WST_TCP_ACK | WST_TCP_PSH, client_hello, sizeof(client_hello));
}

static void closes(struct fixture *fx)
{
	pipe_pkt(&fx->p, WST_C2S, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&fx->p, WST_S2C, WST_TCP_FIN | WST_TCP_ACK, NULL, 0);
	pipe_pkt(&fx->p, WST_C2S, WST_TCP_ACK, NULL, 0);
}

/* The server's plaintext decodes as the conversation in the clear would. */
static void test_server_plaintext(void **state)
{
	struct fixture fx;
	uint8_t f[200];
	uint32_t n;
	int i;

	(void)state;
	fx_init(&fx);
	tls_open(&fx);
	srv(&fx, WST_C2S, pipe_request, sizeof(pipe_request) - 1);
	pipe_pkt(&fx.p, WST_S2C, WST_TCP_ACK | WST_TCP_PSH, app_data, sizeof(app_data));
	srv(&fx, WST_S2C, pipe_response, sizeof(pipe_response) - 1);
	n = frame(f, WST_C2S, "hello over tls");
	pipe_pkt(&fx.p, WST_C2S, WST_TCP_ACK | WST_TCP_PSH, app_data, sizeof(app_data));
	srv(&fx, WST_C2S, f, n);
	n = frame(f, WST_S2C, "welcome");
	srv(&fx, WST_S2C, f, n);
	closes(&fx);

	assert_int_equal(rec_count(&fx.r, WST_EV_WS_UPGRADE), 1);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_ESTABLISHED), 1);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_MESSAGE), 2);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_VIOLATION), 0);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_SESSION_END), 1);
	i = rec_find(&fx.r, 0, WST_EV_WS_MESSAGE, WST_C2S);
	assert_true(i >= 0);
	assert_non_null(strstr(fx.r.ev[i].desc, "data=68656c6c6f206f76657220746c73")); /* hello over tls */
	assert_true(rec_find(&fx.r, 0, WST_EV_WS_MESSAGE, WST_S2C) > i);
	assert_int_equal(fx.ws_clear, 0);
	assert_true(fx.ws_tls >= 7);
	assert_int_equal(ws_layer_stats(fx.p.ws)->tls_decrypted, 1);
	assert_int_equal(ws_layer_stats(fx.p.ws)->tls_undecrypted, 0);
	assert_int_equal(rec_count(&fx.r, WST_EV_TLS_NOT_DECRYPTED), 0);
	assert_int_equal(tls_join_stats(fx.j)->records, 4);
	fx_free(&fx);
}

/* TLS on the wire with no plaintext: no HTTP violation, counted as not decrypted. */
static void test_wire_tls_not_decoded(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx);
	tls_open(&fx);
	pipe_pkt(&fx.p, WST_S2C, WST_TCP_ACK | WST_TCP_PSH, app_data, sizeof(app_data));
	pipe_pkt(&fx.p, WST_C2S, WST_TCP_ACK | WST_TCP_PSH, app_data, sizeof(app_data));
	closes(&fx);
	for (int i = 0; i < fx.r.n; i++)
		assert_true(!wst_event_is_ws(fx.r.ev[i].type) || fx.r.ev[i].type == WST_EV_TLS_NOT_DECRYPTED);
	assert_int_equal(rec_count(&fx.r, WST_EV_TCP_CLOSED), 1);
	assert_int_equal(rec_count(&fx.r, WST_EV_TLS_NOT_DECRYPTED), 1);
	assert_int_equal(ws_layer_stats(fx.p.ws)->tls_wire, 1);
	assert_int_equal(ws_layer_stats(fx.p.ws)->tls_undecrypted, 1);
	assert_int_equal(ws_layer_stats(fx.p.ws)->violations, 0);
	/* that ClientHello is cut short: given up, counted */
	assert_int_equal(ws_layer_stats(fx.p.ws)->tls_hello_errors[TLS_HELLO_ERR_MALFORMED - 1], 1);
	fx_free(&fx);
}

/* A first flight captured from a real client or server (tests/data/tls/). */
static size_t load_flight(const char *name, uint8_t *buf, size_t max)
{
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "tests/data/tls/%s.bin", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s not found: run from the top of the tree", path);
	n = fread(buf, 1, max, f);
	fclose(f);
	assert_true(n > 5);
	return n;
}

/* The description of the one tls_not_decrypted event. */
static const char *not_decrypted(struct fixture *fx)
{
	int i = rec_find(&fx->r, 0, WST_EV_TLS_NOT_DECRYPTED, WST_C2S);

	assert_true(i >= 0);
	assert_int_equal(rec_count(&fx->r, WST_EV_TLS_NOT_DECRYPTED), 1);
	assert_int_equal(rec_count(&fx->r, WST_EV_WS_VIOLATION), 0);
	/* after the connection's end, once */
	assert_true(i > rec_find(&fx->r, 0, WST_EV_TCP_CLOSED, WST_C2S));
	return fx->r.ev[i].desc;
}

/* A GnuTLS handshake with no plaintext: the hellos, split over segments, tell the SNI and version. */
static void run_gnutls(struct fixture *fx, const char *server, bool client_data)
{
	uint8_t ch[4096], sh[4096];
	size_t nc = load_flight("client_gnutls", ch, sizeof(ch)), ns = load_flight(server, sh, sizeof(sh));

	pipe_handshake(&fx->p);
	pipe_pkt(&fx->p, WST_C2S, WST_TCP_ACK | WST_TCP_PSH, ch, 100);
	pipe_pkt(&fx->p, WST_C2S, WST_TCP_ACK | WST_TCP_PSH, ch + 100, (uint32_t)(nc - 100));
	pipe_pkt(&fx->p, WST_S2C, WST_TCP_ACK | WST_TCP_PSH, sh, 3);
	pipe_pkt(&fx->p, WST_S2C, WST_TCP_ACK | WST_TCP_PSH, sh + 3, (uint32_t)(ns - 3));
	if (client_data)
		pipe_pkt(&fx->p, WST_C2S, WST_TCP_ACK | WST_TCP_PSH, app_data, sizeof(app_data));
	closes(fx);
}

static void test_not_decrypted_no_plaintext(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx);
	run_gnutls(&fx, "server_gnutls_tls13", true);
	assert_string_equal(not_decrypted(&fx), "tls_not_decrypted c2s reason=no_plaintext "
			    "sni=gnutls.example.test alpn=http/1.1 offered=0304 version=0304 cipher=1302");
	assert_int_equal(ws_layer_stats(fx.p.ws)->tls_not_decrypted[WST_TLS_NO_PLAINTEXT], 1);
	assert_int_equal(ws_layer_stats(fx.p.ws)->tls_undecrypted, 1);
	fx_free(&fx);
}

/* The server chose TLS 1.2: the client's data after the handshake says it completed. */
static void test_not_decrypted_tls12(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx);
	run_gnutls(&fx, "server_gnutls_tls12", true);
	assert_non_null(strstr(not_decrypted(&fx), "reason=no_plaintext sni=gnutls.example.test alpn=http/1.1 "
				"offered=0304 version=0303 cipher=c02c"));
	fx_free(&fx);
}

/* The server answered but the client never sent an encrypted record: incomplete. */
static void test_not_decrypted_incomplete(void **state)
{
	struct fixture fx;
	uint8_t ch[4096];
	size_t nc;

	(void)state;
	fx_init(&fx);
	run_gnutls(&fx, "server_openssl_tls13", false);
	assert_non_null(strstr(not_decrypted(&fx), "reason=handshake_incomplete sni=gnutls.example.test"));
	fx_free(&fx);

	/* a ClientHello, then the client resets: the SNI is still told */
	fx_init(&fx);
	nc = load_flight("client_openssl_tls13", ch, sizeof(ch));
	pipe_handshake(&fx.p);
	pipe_pkt(&fx.p, WST_C2S, WST_TCP_ACK | WST_TCP_PSH, ch, (uint32_t)nc);
	pipe_pkt(&fx.p, WST_C2S, WST_TCP_RST | WST_TCP_ACK, NULL, 0);
	tcp_tracker_expire(fx.p.t, fx.p.now + 3600 * 1000000000ull);
	assert_string_equal(not_decrypted(&fx), "tls_not_decrypted c2s reason=handshake_incomplete "
			    "sni=chat.example.test alpn=http/1.1 offered=0304");
	assert_int_equal(ws_layer_stats(fx.p.ws)->tls_not_decrypted[WST_TLS_HANDSHAKE_INCOMPLETE], 1);
	fx_free(&fx);
}

/* The server refuses with a fatal alert in the clear (handshake_failure, 40). */
static void test_not_decrypted_alert(void **state)
{
	static const uint8_t alert[] = { 21, 3, 3, 0, 2, 2, 40 };
	struct fixture fx;
	uint8_t ch[4096];
	size_t nc;

	(void)state;
	fx_init(&fx);
	nc = load_flight("client_openssl_tls12", ch, sizeof(ch));
	pipe_handshake(&fx.p);
	pipe_pkt(&fx.p, WST_C2S, WST_TCP_ACK | WST_TCP_PSH, ch, (uint32_t)nc);
	pipe_pkt(&fx.p, WST_S2C, WST_TCP_ACK | WST_TCP_PSH, alert, sizeof(alert));
	closes(&fx);
	assert_non_null(strstr(not_decrypted(&fx), "reason=handshake_failed sni=chat.example.test alpn=http/1.1 "
				"offered=0303 alert=40 from=server"));
	fx_free(&fx);
}

/* No plaintext source (--no-tls, a capture file): tls_off, whatever the handshake. */
static void test_not_decrypted_tls_off(void **state)
{
	struct ws_layer_opts wo = { .tls_off = true };
	struct fixture fx;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	rec_init(&fx.r);
	pipe_init(&fx.p, rec_sink(&fx.r), NULL, &wo);
	assert_int_equal(tls_join_new(&fx.j, fx.p.t, fx.p.ws), 0);
	run_gnutls(&fx, "server_gnutls_tls13", true);
	assert_non_null(strstr(not_decrypted(&fx), "reason=tls_off sni=gnutls.example.test"));
	assert_int_equal(ws_layer_stats(fx.p.ws)->tls_not_decrypted[WST_TLS_OFF], 1);
	fx_free(&fx);
}

/* Records sent before their socket was known are held, then fed in order. */
static void test_held_until_known(void **state)
{
	struct fixture fx;
	uint8_t f[200];
	uint32_t n;

	(void)state;
	fx_init(&fx);
	tls_open(&fx);
	plain(&fx, SERVER, WST_TLS_READ, pipe_request, sizeof(pipe_request) - 1, false, 0);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_UPGRADE), 0);
	assert_int_equal(tls_join_stats(fx.j)->held, 1);
	map(&fx, SERVER);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_UPGRADE), 1);
	srv(&fx, WST_S2C, pipe_response, sizeof(pipe_response) - 1);
	n = frame(f, WST_C2S, "late");
	srv(&fx, WST_C2S, f, n);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_MESSAGE), 1);
	closes(&fx);
	fx_free(&fx);
}

/* A jump in a stream's offsets is a gap of that many bytes. */
static void test_gap(void **state)
{
	struct fixture fx;
	uint8_t f[200];
	uint32_t n;
	int i;

	(void)state;
	fx_init(&fx);
	tls_open(&fx);
	srv(&fx, WST_C2S, pipe_request, sizeof(pipe_request) - 1);
	srv(&fx, WST_S2C, pipe_response, sizeof(pipe_response) - 1);
	plain(&fx, SERVER, WST_TLS_READ, "", 0, true, 0);
	n = frame(f, WST_C2S, "after the hole");
	plain(&fx, SERVER, WST_TLS_READ, f, n, true, 1000);
	i = rec_find(&fx.r, 0, WST_EV_WS_GAP, WST_C2S);
	assert_true(i >= 0);
	assert_int_equal(fx.r.ev[i].ev.u.loss.bytes, 1000);
	assert_int_equal(tls_join_stats(fx.j)->gap_bytes, 1000);
	closes(&fx);
	fx_free(&fx);
}

/*
 * Both ends traced (a local client with OpenSSL): the client's plaintext
 * comes first, the server's takes over where it stopped; each byte is
 * decoded once.
 */
static void test_server_takes_over(void **state)
{
	struct fixture fx;
	uint8_t f[200];
	uint32_t n;

	(void)state;
	fx_init(&fx);
	tls_open(&fx);
	plain(&fx, CLIENT, WST_TLS_WRITE, pipe_request, sizeof(pipe_request) - 1, true, 0);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_UPGRADE), 1);
	srv(&fx, WST_C2S, pipe_request, sizeof(pipe_request) - 1); /* the same bytes */
	srv(&fx, WST_S2C, pipe_response, sizeof(pipe_response) - 1);
	plain(&fx, CLIENT, WST_TLS_READ, pipe_response, sizeof(pipe_response) - 1, true, 0);
	n = frame(f, WST_C2S, "once");
	plain(&fx, CLIENT, WST_TLS_WRITE, f, n, true, 0);
	srv(&fx, WST_C2S, f, n);
	closes(&fx);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_UPGRADE), 1);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_ESTABLISHED), 1);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_MESSAGE), 1);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_VIOLATION), 0);
	assert_int_equal(tls_join_stats(fx.j)->other_side, 2);
	fx_free(&fx);
}

/* SSL_free: the stream's end, with the bytes it read and wrote in all. */
static void ssl_free(struct fixture *fx, enum side side, uint64_t read, uint32_t written)
{
	struct wst_plaintext pt;

	memset(&pt, 0, sizeof(pt));
	pt.r.version = WST_RECORD_VERSION;
	pt.r.kind = WST_REC_TLS_FREE;
	pt.r.ts_ns = (fx->p.now += PIPE_STEP_NS);
	pt.r.ssl = side == SERVER ? 0x5000 : 0xc000;
	pt.r.tgid = side == SERVER ? 100 : 200;
	pt.r.offset = read;
	pt.r.call_len = written;
	tls_join_plaintext(fx->j, &pt);
}

/*
 * Records lost at a stream's very end (no later record shows the hole):
 * SSL_free's totals do, on the session while its connection is open, in
 * the counts in any case; the other end's stream, which fed the flow
 * before the server's took over, adds nothing.
 */
static void test_tail_gap(void **state)
{
	struct fixture fx;
	uint8_t f[200];
	uint32_t n;
	int i;

	(void)state;
	fx_init(&fx);
	tls_open(&fx);
	plain(&fx, CLIENT, WST_TLS_WRITE, pipe_request, sizeof(pipe_request) - 1, true, 0);
	srv(&fx, WST_C2S, pipe_request, sizeof(pipe_request) - 1);
	srv(&fx, WST_S2C, pipe_response, sizeof(pipe_response) - 1);
	n = frame(f, WST_C2S, "the last one seen");
	srv(&fx, WST_C2S, f, n);
	plain(&fx, CLIENT, WST_TLS_WRITE, f, n, true, 0);
	/* the client's totals: what it wrote past its last record fed */
	ssl_free(&fx, CLIENT, fx.off[CLIENT][WST_TLS_READ], (uint32_t)fx.off[CLIENT][WST_TLS_WRITE] + 99);
	assert_int_equal(tls_join_stats(fx.j)->gaps, 0);
	/* the server's: 300 bytes read and 40 written never came */
	ssl_free(&fx, SERVER, fx.off[SERVER][WST_TLS_READ] + 300, (uint32_t)fx.off[SERVER][WST_TLS_WRITE] + 40);
	assert_int_equal(tls_join_stats(fx.j)->gaps, 2);
	assert_int_equal(tls_join_stats(fx.j)->gap_bytes, 340);
	i = rec_find(&fx.r, 0, WST_EV_WS_GAP, WST_C2S);
	assert_true(i >= 0);
	assert_int_equal(fx.r.ev[i].ev.u.loss.bytes, 300);
	i = rec_find(&fx.r, 0, WST_EV_WS_GAP, WST_S2C);
	assert_true(i >= 0);
	assert_int_equal(fx.r.ev[i].ev.u.loss.bytes, 40);
	closes(&fx);
	fx_free(&fx);
}

/* After the connection's close: counted only; a saturated write count is no count. */
static void test_tail_gap_after_close(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx);
	tls_open(&fx);
	srv(&fx, WST_C2S, pipe_request, sizeof(pipe_request) - 1);
	srv(&fx, WST_S2C, pipe_response, sizeof(pipe_response) - 1);
	closes(&fx);
	ssl_free(&fx, SERVER, fx.off[SERVER][WST_TLS_READ] + 7, UINT32_MAX);
	assert_int_equal(tls_join_stats(fx.j)->gaps, 1);
	assert_int_equal(tls_join_stats(fx.j)->gap_bytes, 7);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_GAP), 0);
	fx_free(&fx);
}

/* Plaintext of a socket no tracked connection has is counted, not decoded. */
static void test_no_flow(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx);
	srv(&fx, WST_C2S, pipe_request, sizeof(pipe_request) - 1);
	assert_int_equal(tls_join_stats(fx.j)->no_flow, 1);
	assert_int_equal(fx.r.n, 0);
	fx_free(&fx);
}

/*
 * wstrace started while a wss session was idle: the server's first write
 * after that comes before any packet of its connection (no flow yet: not
 * decoded), so the next record starts past a hole. The hole is reported,
 * and the session is still picked up mid-stream from the frames after it.
 */
static void test_midstream_after_hole(void **state)
{
	struct fixture fx;
	uint8_t f[200];
	uint32_t n, first;
	int i;

	(void)state;
	fx_init(&fx);
	fx.flags = WST_TLS_F_MIDSTREAM;
	first = frame(f, WST_S2C, "pushed before any packet");
	srv(&fx, WST_S2C, f, first);
	assert_int_equal(tls_join_stats(fx.j)->no_flow, 1);
	pipe_pkt(&fx.p, WST_S2C, WST_TCP_ACK | WST_TCP_PSH, app_data, sizeof(app_data));
	/* a few frames each way: the mid-stream rules confirm a boundary first */
	for (int k = 0; k < 4; k++) {
		n = frame(f, WST_S2C, "a later push");
		srv(&fx, WST_S2C, f, n);
		n = frame(f, WST_C2S, "an answer");
		srv(&fx, WST_C2S, f, n);
	}

	i = rec_find(&fx.r, 0, WST_EV_WS_GAP, WST_S2C);
	assert_true(i >= 0);
	assert_int_equal(fx.r.ev[i].ev.u.loss.bytes, first);
	assert_int_equal(tls_join_stats(fx.j)->gap_bytes, first);
	for (int d = 0; d < 2; d++) {
		i = rec_find(&fx.r, 0, WST_EV_WS_MESSAGE, d);
		assert_true(i >= 0);
		assert_non_null(strstr(fx.r.ev[i].desc, d == WST_S2C ? "data=61206c617465722070757368" /* a later push */
								    : "data=616e20616e73776572" /* an answer */));
	}
	assert_true(rec_count(&fx.r, WST_EV_WS_MESSAGE) >= 6);
	assert_int_equal(rec_count(&fx.r, WST_EV_WS_VIOLATION), 0);
	assert_int_equal(fx.ws_clear, 0);
	closes(&fx);
	fx_free(&fx);
}

/* A full stream table forgets the streams whose connection is gone. */
static void test_reap_when_full(void **state)
{
	struct fixture fx;
	struct wst_plaintext pt;

	(void)state;
	fx_init(&fx);
	memset(&pt, 0, sizeof(pt));
	pt.r.kind = WST_REC_TLS_DATA;
	pt.r.src = WST_TLS_SRC_SYSCALL;
	pt.r.tuple.family = 4;
	pt.r.tuple.lport = PIPE_SERVER_PORT;
	pt.r.tuple.rport = PIPE_CLIENT_PORT;
	pt.r.cap_len = pt.r.call_len = 1;
	pt.data = (const uint8_t *)"x";
	for (uint64_t i = 0; i <= TLS_JOIN_MAX_STREAMS; i++) {
		pt.r.ssl = 0x1000 + i * 16; /* a process that never calls SSL_free */
		tls_join_plaintext(fx.j, &pt);
	}
	assert_int_equal(tls_join_stats(fx.j)->streams, TLS_JOIN_MAX_STREAMS + 1);
	assert_int_equal(tls_join_stats(fx.j)->reaped, TLS_JOIN_MAX_STREAMS);
	assert_int_equal(tls_join_stats(fx.j)->unjoined, 0);
	fx_free(&fx);
}

static void test_tls_record_start(void **state)
{
	(void)state;
	assert_true(tls_record_start(client_hello, sizeof(client_hello)));
	assert_true(tls_record_start(app_data, sizeof(app_data)));
	assert_true(tls_record_start((const uint8_t *)"\x15\x03\x03\x00\x02", 5)); /* alert */
	assert_true(tls_record_start((const uint8_t *)"\x16", 1));                 /* a prefix */
	assert_false(tls_record_start((const uint8_t *)"GET / HTTP/1.1", 14));
	assert_false(tls_record_start((const uint8_t *)"\x81\x85", 2));           /* a ws frame */
	assert_false(tls_record_start((const uint8_t *)"\x16\x02", 2));           /* not 3.x */
	assert_false(tls_record_start((const uint8_t *)"\x17\x03\x05", 3));       /* 3.5 */
	assert_false(tls_record_start((const uint8_t *)"\x17\x03\x03\xff\xff", 5)); /* too long */
	assert_false(tls_record_start((const uint8_t *)"", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_plaintext),
		cmocka_unit_test(test_wire_tls_not_decoded),
		cmocka_unit_test(test_not_decrypted_no_plaintext),
		cmocka_unit_test(test_not_decrypted_tls12),
		cmocka_unit_test(test_not_decrypted_incomplete),
		cmocka_unit_test(test_not_decrypted_alert),
		cmocka_unit_test(test_not_decrypted_tls_off),
		cmocka_unit_test(test_held_until_known),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_server_takes_over),
		cmocka_unit_test(test_no_flow),
		cmocka_unit_test(test_midstream_after_hole),
		cmocka_unit_test(test_tail_gap),
		cmocka_unit_test(test_tail_gap_after_close),
		cmocka_unit_test(test_reap_when_full),
		cmocka_unit_test(test_tls_record_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
