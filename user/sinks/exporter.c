// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * exporter.c - wstrace's metric families, fed by events and snapshots.
 * Names follow the Prometheus conventions (prometheus.io/docs/practices/
 * naming): counters end in _total, durations are _seconds, sizes _bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/http_upgrade.h"
#include "protocol/json_scan.h"
#include "protocol/tls_hello.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_message.h"
#include "exporter.h"
#include "session/correlate.h"
#include "topn.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kdirs[] = { "ingress", "egress" };
static const char *const dirs[] = { WST_FLOW_DIRS(WST_KIND_LABEL) }; /* enum wst_flow_dir */
/* WebSocket in the clear, or over TLS decoded from its plaintext */
static const char *const transports[] = { "ws", "wss" };
static const char *const flags[] = { "syn", "synack", "fin", "rst" };
/* timeout: the SYN was never answered; incomplete: SYN-ACK, no final ACK */
static const char *const outcomes[] = { "established", "refused", "timeout", "incomplete" };
/* `other`: a value outside the kind's table, never expected (the array's last). */
static const char *const reasons[] = { WST_CLOSE_REASONS(WST_KIND_LABEL) "other" };
static const char *const statuses[] = {
	"101", "400", "401", "403", "404", "426", "500", "502", "503", "other",
};
static const int status_codes[] = { 101, 400, 401, 403, 404, 426, 500, 502, 503 };
/* enum ws_opcode_index */
static const char *const opcodes[] = { WS_OPCODES(WS_OPCODE_LABEL) "reserved" };
/* "unknown": the message's first frame was not seen (picked up mid-way). */
static const char *const msg_types[] = { "text", "binary", "unknown" };
static const char *const close_codes[] = {
	"1000", "1001", "1002", "1003", "1004", "1005", "1006", "1007",
	"1008", "1009", "1010", "1011", "1012", "1013", "1014", "1015",
	"application", "invalid", "none", "unknown",
};
enum { CC_APPLICATION = 16, CC_INVALID, CC_NONE, CC_UNKNOWN };
static const char *const initiators[] = { WST_INITIATORS(WST_KIND_LABEL) }; /* from WST_INITIATOR_CLIENT */
static const char *const hows[] = { WST_SESSION_ENDS(WST_KIND_LABEL) "other" };
/* The gap kinds from WST_GAP_FIRST_DECODE_LOSS. */
static const char *const loss_kinds[] = { WST_DECODE_LOSSES(WST_KIND_LABEL) "other" };
/* From WS_VIOL_NONE + 1. */
static const char *const violation_kinds[] = { WS_VIOLATIONS(WST_KIND_LABEL) "other" };
static const char *const tls_outcomes[] = { "decrypted", "not_decrypted" };
static const char *const tls_reasons[] = { WST_TLS_REASONS(WST_KIND_LABEL) }; /* enum wst_tls_reason */
static const char *const tls_hello_errors[] = { TLS_HELLO_ERRORS(WST_KIND_LABEL) }; /* from 1 */
/* plaintext that did not reach a connection: lost in the kernel, or not joined */
static const char *const tls_lost[] = { "ringbuf_full", "truncated", "read_fault" };
static const char *const tls_unjoined[] = { "no_flow", "other_side", "unjoined" };
static const char *const unmatched[] = {
	"not_object", "no_key", "not_string", "invalid_json", "not_decoded",
};
enum { UM_NOT_OBJECT, UM_NO_KEY, UM_NOT_STRING, UM_INVALID_JSON, UM_NOT_DECODED };

/* Recipients of one message: a private message to a room of thousands. */
static const double recipient_buckets[] = {
	0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000,
};

static const char *const corr_kinds[] = { "fanout", "reply" };

static const double duration_buckets[] = {
	0.1, 1, 10, 60, 300, 900, 3600, 14400, 86400,
};

struct exporter {
	struct metrics *m;
	char *json_key;
	int json_cap;
	exporter_collect_fn collect;
	void *collect_ctx;
	const struct wst_flow *refused; /* tcp_refused just seen for this flow */
	/* event kinds the output may suppress (event_limit.h) */
	const char *limited[WST_EV_MAX];
	enum wst_event_type limited_type[WST_EV_MAX];
	int n_limited;

	/* family ids (negative: not declared) */
	int build_info, start_time;
	int k_packets, k_bytes, k_flags, k_ringbuf, k_truncated, k_load_errors, k_fragments, k_filtered;
	int tls_conns, tls_not_decrypted, tls_hello_errors, tls_calls, tls_bytes, tls_lost, tls_unjoined;
	int tcp_packets, tcp_bytes;
	int handshakes, handshake_s, resets, conns, closed, retrans, ooo, tcp_midstream;
	int late_packets, evicted_packets;
	int upg_requests, upgrades, upgrade_s, http_requests, sessions, ws_midstream;
	int frames, frame_bytes, messages, message_bytes, closes, rtt, violations;
	int session_s, session_ends;
	int gaps, gap_bytes, sync_lost, resyncs, resync_bytes, losses;
	int evicted, overflows, held, bad_records, pcap_errors, suppressed;
	int app, app_unmatched;
	int delivery_s, fanout_rcpt, fanout_none, reply_s, reply_timeouts, corr_early;
	/* --metrics-label: by the server's process or container, the
	 * owner_cap busiest (topn.h), ranked at most every OWNER_RANK_NS */
	bool owner_container;
	int owner_cap;
	int o_sessions, o_messages, o_message_bytes, o_changes, o_untracked;
	struct topn *owner_top;
	uint64_t owner_ranked_ns;
};

/* Label values re-ranked at most this often (on a scrape, or --top's tick). */
#define OWNER_RANK_NS (1000000000ull)
static const char *const owner_changes[] = { "promoted", "demoted" };

/*
 * The label index of an enum value v whose table starts at `first` and has
 * `n` rows; n (the `other` label, last) for a value outside it.
 */
static uint32_t kind_index(int v, int first, int n)
{
	return v >= first && v - first < n ? (uint32_t)(v - first) : (uint32_t)n;
}

#define LAST(a) ((int)ARRAY_SIZE(a) - 1)

_Static_assert(LAST(reasons) == WST_CLOSE_MAX, "a reason label per close reason");
_Static_assert(LAST(hows) == WST_END_MAX, "a how label per session end");
_Static_assert(LAST(loss_kinds) == WST_N_DECODE_LOSSES, "a kind label per decode loss");
_Static_assert(LAST(violation_kinds) == WS_VIOL_MAX - 1, "a kind label per violation");
_Static_assert(LAST(opcodes) == WS_OPI_RESERVED, "an opcode label per opcode row");
_Static_assert(ARRAY_SIZE(initiators) == WST_INITIATOR_MAX - 1, "an initiator label per initiator");

static int declare_kernel(struct exporter *e);
static void owner_renamed(void *ctx, int slot, const char *value, size_t len);

static int declare(struct exporter *e, const struct exporter_opts *o)
{
	struct metrics *m = e->m;
	struct metrics_label l2[2], l3[3];
	struct timespec ts;
	int err = 0;

#define CHK(id) do { if ((id) < 0 && !err) err = (id); } while (0)
#define L2(a, av, b, bv) (l2[0] = (struct metrics_label){ a, av, (int)ARRAY_SIZE(av) }, \
			  l2[1] = (struct metrics_label){ b, bv, (int)ARRAY_SIZE(bv) }, l2)
#define L3(a, av, b, bv) (l3[0] = (struct metrics_label){ a, av, (int)ARRAY_SIZE(av) }, \
			  l3[1] = (struct metrics_label){ b, bv, (int)ARRAY_SIZE(bv) }, \
			  l3[2] = (struct metrics_label){ "transport", transports, 2 }, l3)
#define LT(a, av) L2(a, av, "transport", transports)

	CHK(e->build_info = metrics_info(m, "wstrace_build_info",
		"wstrace version, constant 1.", "version", o->version ? o->version : "unknown"));
	CHK(e->start_time = metrics_gauge(m, "wstrace_start_time_seconds",
		"Start time of the process since the Unix epoch.", NULL, NULL, 0));
	clock_gettime(CLOCK_REALTIME, &ts);
	metrics_set(m, e->start_time, 0, (double)ts.tv_sec + ts.tv_nsec / 1e9);

	e->k_packets = e->k_bytes = e->k_flags = -1;
	e->k_ringbuf = e->k_truncated = e->k_load_errors = e->k_fragments = e->k_filtered = -1;
	if (!o->no_kernel)
		CHK(declare_kernel(e));

	/* Decoder's view of the packets */
	CHK(e->tcp_packets = metrics_counter(m, "wstrace_tcp_packets_total",
		"TCP packets of watched ports received by the decoder, by connection direction.",
		"dir", dirs, 2));
	CHK(e->tcp_bytes = metrics_counter(m, "wstrace_tcp_payload_bytes_total",
		"TCP payload bytes on the wire of the packets received by the decoder.",
		"dir", dirs, 2));

	/* TCP */
	CHK(e->handshakes = metrics_counter(m, "wstrace_tcp_handshakes_total",
		"TCP handshakes by outcome: completed, refused by a reset, SYN never answered"
		" (timeout), SYN-ACK seen but no final ACK (incomplete).",
		"outcome", outcomes, ARRAY_SIZE(outcomes)));
	CHK(e->handshake_s = metrics_histogram(m, "wstrace_tcp_handshake_seconds",
		"Time from SYN to the ACK completing the TCP handshake.",
		metrics_buckets_seconds, metrics_n_buckets_seconds, NULL, NULL, 0));
	CHK(e->resets = metrics_counter(m, "wstrace_tcp_resets_total",
		"Connections ended by a reset (refused connections not included).", NULL, NULL, 0));
	CHK(e->conns = metrics_gauge(m, "wstrace_tcp_connections",
		"TCP connections tracked now.", NULL, NULL, 0));
	CHK(e->closed = metrics_counter(m, "wstrace_tcp_connections_closed_total",
		"Tracked TCP connections ended, by reason (end: capture stopped).",
		"reason", reasons, ARRAY_SIZE(reasons)));
	CHK(e->retrans = metrics_counter(m, "wstrace_tcp_retransmits_total",
		"Packets carrying payload, SYN or FIN already seen.", NULL, NULL, 0));
	CHK(e->ooo = metrics_counter(m, "wstrace_tcp_out_of_order_total",
		"Packets whose payload starts beyond the next expected byte.", NULL, NULL, 0));
	CHK(e->tcp_midstream = metrics_counter(m, "wstrace_tcp_midstream_connections_total",
		"Connections first seen without their handshake.", NULL, NULL, 0));
	CHK(e->late_packets = metrics_counter(m, "wstrace_tcp_late_packets_total",
		"Packets reported but not decoded: after their connection closed, or after"
		" a reset from the resetting side or not following the other side's stream.",
		NULL, NULL, 0));
	CHK(e->evicted_packets = metrics_counter(m, "wstrace_tcp_evicted_flow_packets_total",
		"Packets of connections evicted from the full flow table: counted, not tracked.",
		NULL, NULL, 0));

	/* HTTP upgrade */
	CHK(e->upg_requests = metrics_counter(m, "wstrace_ws_upgrade_requests_total",
		"HTTP requests asking for a WebSocket upgrade, by transport (wss: over TLS).",
		"transport", transports, 2));
	CHK(e->upgrades = metrics_family(m, METRICS_COUNTER, "wstrace_ws_upgrades_total",
		"Responses to WebSocket upgrade requests, by HTTP status and transport.",
		LT("status", statuses), 2, NULL, 0));
	CHK(e->upgrade_s = metrics_histogram(m, "wstrace_ws_upgrade_seconds",
		"Time from the upgrade request to its response.",
		metrics_buckets_seconds, metrics_n_buckets_seconds, NULL, NULL, 0));
	CHK(e->http_requests = metrics_counter(m, "wstrace_ws_http_requests_total",
		"Plain HTTP requests (no upgrade) on watched ports.", NULL, NULL, 0));

	/* WebSocket */
	CHK(e->sessions = metrics_gauge(m, "wstrace_ws_sessions",
		"WebSocket sessions open now.", NULL, NULL, 0));
	CHK(e->ws_midstream = metrics_counter(m, "wstrace_ws_midstream_sessions_total",
		"WebSocket sessions picked up without their upgrade.", NULL, NULL, 0));
	CHK(e->frames = metrics_family(m, METRICS_COUNTER, "wstrace_ws_frames_total",
		"WebSocket frames by direction, opcode and transport (wss: over TLS).",
		L3("dir", dirs, "opcode", opcodes), 3, NULL, 0));
	CHK(e->frame_bytes = metrics_family(m, METRICS_COUNTER, "wstrace_ws_frame_payload_bytes_total",
		"WebSocket frame payload bytes (as in the stream) by direction and transport.",
		LT("dir", dirs), 2, NULL, 0));
	CHK(e->messages = metrics_family(m, METRICS_COUNTER, "wstrace_ws_messages_total",
		"WebSocket messages by direction, type (unknown: first frame not seen) and transport.",
		L3("dir", dirs, "type", msg_types), 3, NULL, 0));
	CHK(e->message_bytes = metrics_family(m, METRICS_HISTOGRAM, "wstrace_ws_message_bytes",
		"Size of whole WebSocket messages, inflated when compressed.",
		L3("dir", dirs, "type", msg_types), 3,
		metrics_buckets_bytes, metrics_n_buckets_bytes));
	CHK(e->closes = metrics_family(m, METRICS_COUNTER, "wstrace_ws_closes_total",
		"Closing handshakes started, by the first close frame's code and sender.",
		L2("code", close_codes, "initiator", initiators), 2, NULL, 0));
	CHK(e->rtt = metrics_histogram(m, "wstrace_ws_ping_rtt_seconds",
		"Time from a ping to the pong with the same payload.",
		metrics_buckets_seconds, metrics_n_buckets_seconds, NULL, NULL, 0));
	CHK(e->violations = metrics_counter(m, "wstrace_ws_violations_total",
		"Protocol violations (HTTP upgrade, RFC 6455, RFC 7692) by kind.",
		"kind", violation_kinds, ARRAY_SIZE(violation_kinds)));
	CHK(e->session_s = metrics_histogram(m, "wstrace_ws_session_duration_seconds",
		"Duration of WebSocket sessions, from the 101 response to their end.",
		duration_buckets, ARRAY_SIZE(duration_buckets), NULL, NULL, 0));
	CHK(e->session_ends = metrics_family(m, METRICS_COUNTER, "wstrace_ws_session_ends_total",
		"WebSocket sessions ended: close handshake, TCP closed without one"
		" (abnormal), reset, or capture end; by transport.", LT("how", hows), 2, NULL, 0));

	/* Losses */
	CHK(e->gaps = metrics_counter(m, "wstrace_ws_stream_gaps_total",
		"Holes in reassembled TCP streams (bytes never captured).", NULL, NULL, 0));
	CHK(e->gap_bytes = metrics_counter(m, "wstrace_ws_stream_gap_bytes_total",
		"Bytes missing in the stream holes, where known.", NULL, NULL, 0));
	CHK(e->sync_lost = metrics_counter(m, "wstrace_ws_frame_sync_lost_total",
		"Stream holes after which WebSocket frame boundaries were lost.", NULL, NULL, 0));
	CHK(e->resyncs = metrics_counter(m, "wstrace_ws_resyncs_total",
		"Times the frame decoder found frame boundaries again.", NULL, NULL, 0));
	CHK(e->resync_bytes = metrics_counter(m, "wstrace_ws_resync_skipped_bytes_total",
		"Bytes skipped while looking for a frame boundary.", NULL, NULL, 0));
	CHK(e->losses = metrics_counter(m, "wstrace_ws_decode_losses_total",
		"Other data that could not be decoded: compression context lost,"
		" messages left compressed.", "kind", loss_kinds, ARRAY_SIZE(loss_kinds)));
	CHK(e->evicted = metrics_counter(m, "wstrace_flows_evicted_total",
		"Connections dropped from a full flow table.", NULL, NULL, 0));
	CHK(e->overflows = metrics_counter(m, "wstrace_reassembly_overflows_total",
		"Stream holes given up because the out-of-order buffer bound was reached.",
		NULL, NULL, 0));
	CHK(e->held = metrics_gauge(m, "wstrace_reassembly_held_bytes",
		"Out-of-order bytes held for reassembly now.", NULL, NULL, 0));
	CHK(e->tls_conns = metrics_counter(m, "wstrace_tls_connections_total",
		"Connections seen to carry TLS: decrypted (plaintext read from their TLS"
		" library), or ended with none (not_decrypted).", "outcome", tls_outcomes, 2));
	CHK(e->tls_not_decrypted = metrics_counter(m, "wstrace_tls_not_decrypted_total",
		"TLS connections that ended without their plaintext, by why: no plaintext read"
		" (tls_off), a fatal alert in the handshake (handshake_failed), the handshake"
		" not completed (handshake_incomplete), no probed library call for it (no_plaintext).",
		"reason", tls_reasons, ARRAY_SIZE(tls_reasons)));
	CHK(e->tls_hello_errors = metrics_counter(m, "wstrace_tls_hello_errors_total",
		"TLS hellos on the wire given up: not TLS records, not a hello, over 16 KiB,"
		" malformed, no memory, bytes not captured.", "kind", tls_hello_errors,
		ARRAY_SIZE(tls_hello_errors)));
	e->tls_calls = e->tls_bytes = e->tls_lost = e->tls_unjoined = -1;
	if (!o->no_kernel) {
		CHK(e->tls_calls = metrics_counter(m, "wstrace_tls_calls_total",
			"SSL_read/SSL_write calls with data on watched ports, recorded by the uprobes.",
			NULL, NULL, 0));
		CHK(e->tls_bytes = metrics_counter(m, "wstrace_tls_plaintext_bytes_total",
			"Plaintext bytes those calls moved.", NULL, NULL, 0));
		CHK(e->tls_lost = metrics_counter(m, "wstrace_tls_lost_total",
			"Plaintext lost in the kernel: records (ring buffer full), calls longer than"
			" 1 MiB (truncated), pages not readable (read_fault).", "reason", tls_lost, 3));
		CHK(e->tls_unjoined = metrics_counter(m, "wstrace_tls_unjoined_records_total",
			"Plaintext records not fed to a connection: no tracked connection with their"
			" socket's addresses, the other end's library already feeds it, socket never"
			" known or bounds reached.", "reason", tls_unjoined, 3));
	}
	CHK(e->bad_records = metrics_counter(m, "wstrace_bad_records_total",
		"Captured records rejected as malformed.", NULL, NULL, 0));
	CHK(e->pcap_errors = metrics_counter(m, "wstrace_pcap_write_errors_total",
		"Packets that could not be written to the pcap output.", NULL, NULL, 0));
	/* Across connections (--correlate, --correlate-reply) */
	CHK(e->delivery_s = metrics_histogram(m, "wstrace_ws_delivery_seconds",
		"Time from a client's message to each delivery of it to a client (--correlate).",
		metrics_buckets_seconds, metrics_n_buckets_seconds, NULL, NULL, 0));
	CHK(e->fanout_rcpt = metrics_histogram(m, "wstrace_ws_fanout_recipients",
		"Connections a client's message reached within its window (--correlate).",
		recipient_buckets, ARRAY_SIZE(recipient_buckets), NULL, NULL, 0));
	CHK(e->fanout_none = metrics_counter(m, "wstrace_ws_fanout_undelivered_total",
		"Client messages delivered to no connection within their window (--correlate).",
		NULL, NULL, 0));
	CHK(e->reply_s = metrics_histogram(m, "wstrace_ws_reply_seconds",
		"Time from a client's request to the server's reply with the same value"
		" (--correlate-reply).",
		metrics_buckets_seconds, metrics_n_buckets_seconds, NULL, NULL, 0));
	CHK(e->reply_timeouts = metrics_counter(m, "wstrace_ws_reply_timeouts_total",
		"Requests not answered within their window (--correlate-reply).", NULL, NULL, 0));
	CHK(e->corr_early = metrics_counter(m, "wstrace_ws_correlate_closed_early_total",
		"Correlation windows closed before their time: too many open at once.",
		"kind", corr_kinds, ARRAY_SIZE(corr_kinds)));

	for (int t = 0; t < WST_EV_MAX; t++) {
		if (!event_limit_applies(t))
			continue;
		e->limited_type[e->n_limited] = t;
		e->limited[e->n_limited++] = wst_event_name(t);
	}
	CHK(e->suppressed = metrics_counter(m, "wstrace_events_suppressed_total",
		"Events counted but not printed: over the per-connection event limit.",
		"event", e->limited, e->n_limited));

	e->o_sessions = e->o_messages = e->o_message_bytes = e->o_changes = e->o_untracked = -1;
	if (o->owner_label) {
		struct metrics_label lo[2] = {
			{ "dir", dirs, 2 },
			{ o->owner_label, NULL, e->owner_cap },
		};

		CHK(e->o_sessions = metrics_family(m, METRICS_COUNTER, "wstrace_ws_owner_sessions_total",
			"WebSocket sessions established, by the server's process name or container"
			" (the label --metrics-label names): the N busiest by the last minute's"
			" sessions and messages have a series, counting from when they became"
			" one of them; the others are counted as other.", &lo[1], 1, NULL, 0));
		CHK(e->o_messages = metrics_family(m, METRICS_COUNTER, "wstrace_ws_owner_messages_total",
			"WebSocket messages, by direction and the server's process name or container"
			" (the N busiest, the others as other).", lo, 2, NULL, 0));
		CHK(e->o_message_bytes = metrics_family(m, METRICS_COUNTER,
			"wstrace_ws_owner_message_bytes_total",
			"Bytes of whole WebSocket messages (inflated), by direction and the server's"
			" process name or container (the N busiest, the others as other).", lo, 2,
			NULL, 0));
		CHK(e->o_changes = metrics_counter(m, "wstrace_ws_owner_label_changes_total",
			"Values of the owner label that got a series of their own (promoted) or"
			" gave it up to a busier one (demoted): that series is gone, its later"
			" traffic counted as other.", "change", owner_changes, 2));
		CHK(e->o_untracked = metrics_counter(m, "wstrace_ws_owner_label_untracked_total",
			"Sessions and messages counted as other because the table of owner label"
			" values followed was full.", NULL, NULL, 0));
	}

	e->app = e->app_unmatched = -1;
	if (e->json_key) {
		struct metrics_label la[2] = {
			{ "dir", dirs, 2 },
			{ "value", NULL, e->json_cap },
		};

		CHK(e->app = metrics_family(m, METRICS_COUNTER, "wstrace_ws_app_messages_total",
			"Text messages by the string value of their top-level JSON member"
			" chosen with the json key.", la, 2, NULL, 0));
		CHK(e->app_unmatched = metrics_family(m, METRICS_COUNTER,
			"wstrace_ws_app_messages_unmatched_total",
			"Text messages without a string value for the json key, by reason.",
			L2("dir", dirs, "reason", unmatched), 2, NULL, 0));
	}
	return err;
#undef CHK
#undef L2
#undef L3
#undef LT
}

static int declare_kernel(struct exporter *e)
{
	struct metrics *m = e->m;
	int err = 0;

#define CHK(id) do { if ((id) < 0 && !err) err = (id); } while (0)
	CHK(e->k_packets = metrics_counter(m, "wstrace_packets_total",
		"Packets of watched ports seen by the kernel program, by hook direction.",
		"direction", kdirs, 2));
	CHK(e->k_bytes = metrics_counter(m, "wstrace_bytes_total",
		"IP bytes of the packets seen by the kernel program, by hook direction.",
		"direction", kdirs, 2));
	CHK(e->k_flags = metrics_counter(m, "wstrace_tcp_flags_total",
		"Packets seen by the kernel program with SYN (no ACK), SYN-ACK, FIN, RST.",
		"flag", flags, ARRAY_SIZE(flags)));
	CHK(e->k_ringbuf = metrics_counter(m, "wstrace_ringbuf_lost_total",
		"Packets the kernel could not pass on: ring buffer full.", NULL, NULL, 0));
	CHK(e->k_truncated = metrics_counter(m, "wstrace_truncated_packets_total",
		"Packets whose payload was cut at the snapshot length.", NULL, NULL, 0));
	CHK(e->k_load_errors = metrics_counter(m, "wstrace_load_errors_total",
		"Packets the kernel program failed to copy.", NULL, NULL, 0));
	CHK(e->k_filtered = metrics_counter(m, "wstrace_filtered_packets_total",
		"Packets of connections --pid, --comm or --cgroup leave out, not copied by the"
		" kernel program.", NULL, NULL, 0));
	CHK(e->k_fragments = metrics_counter(m, "wstrace_ip_fragments_total",
		"TCP segments of watched ports sent in IP fragments, not captured"
		" (counted by their first fragment).", NULL, NULL, 0));
#undef CHK
	return err;
}

int exporter_new(struct exporter **out, const struct exporter_opts *o)
{
	static const struct exporter_opts defaults;
	struct exporter *e;
	int err;

	*out = NULL;
	if (!o)
		o = &defaults;
	if (o->json_key_max_values < 0 || o->json_key_max_values > METRICS_MAX_DYNAMIC ||
	    (o->json_key && !*o->json_key) || o->owner_max_values < 0 ||
	    o->owner_max_values > METRICS_MAX_DYNAMIC ||
	    (o->owner_label && strcmp(o->owner_label, "process") && strcmp(o->owner_label, "container")))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->json_cap = o->json_key_max_values ? o->json_key_max_values
					     : EXPORTER_DEFAULT_JSON_VALUES;
	e->owner_cap = o->owner_max_values ? o->owner_max_values : 10;
	e->owner_container = o->owner_label && strcmp(o->owner_label, "container") == 0;
	err = -ENOMEM;
	if (o->json_key && !(e->json_key = strdup(o->json_key)))
		goto fail;
	/* candidates: four per slot, so a newcomer has room to show its activity */
	if (o->owner_label && !(e->owner_top = topn_new(e->owner_cap, 4 * e->owner_cap + 16,
							  owner_renamed, e)))
		goto fail;
	err = metrics_new(&e->m);
	if (err)
		goto fail;
	err = declare(e, o);
	if (err)
		goto fail;
	*out = e;
	return 0;
fail:
	exporter_free(e);
	return err;
}

void exporter_free(struct exporter *e)
{
	if (!e)
		return;
	metrics_free(e->m);
	topn_free(e->owner_top);
	free(e->json_key);
	free(e);
}

struct metrics *exporter_metrics(struct exporter *e)
{
	return e->m;
}

void exporter_set_collect(struct exporter *e, exporter_collect_fn fn, void *ctx)
{
	e->collect = fn;
	e->collect_ctx = ctx;
}

static unsigned int dir_of(const struct wst_event *ev)
{
	return ev->dir == WST_S2C ? 1 : 0;
}

static int status_index(const struct http_response *resp)
{
	if (resp)
		for (size_t i = 0; i < ARRAY_SIZE(status_codes); i++)
			if (resp->status == status_codes[i])
				return (int)i;
	return ARRAY_SIZE(statuses) - 1; /* other */
}

/* RFC 6455 7.4: the code label of a close frame. */
static int close_code_index(const struct ws_control_info *c)
{
	if (!c->close_parsed)
		return CC_UNKNOWN;
	if (c->len == 0)
		return CC_NONE; /* no status code: 1005 only for the API */
	if (!ws_close_code_valid(c->close_code))
		return CC_INVALID;
	if (c->close_code >= 1000 && c->close_code <= 1015)
		return c->close_code - 1000;
	return CC_APPLICATION; /* 3000-4999, the only other valid range */
}

static void observe_us(struct exporter *e, int family, uint32_t index, uint64_t us)
{
	metrics_observe(e->m, family, index, (double)us / 1e6);
}

/* The json-key count of one whole text message. */
static void count_app(struct exporter *e, unsigned int dir, const struct ws_message_info *mi)
{
	char value[METRICS_MAX_VALUE_LEN + 1];
	const uint8_t *raw;
	size_t rawlen, n;
	int r, idx, um;

	if (!mi->data || mi->truncated || mi->incomplete || (mi->compressed && !mi->inflated)) {
		um = UM_NOT_DECODED;
		goto unmatched;
	}
	r = json_scan_top_string(mi->data, mi->kept, e->json_key, &raw, &rawlen);
	switch (r) {
	case JSON_SCAN_OK:
		break;
	case JSON_SCAN_NOT_OBJECT: um = UM_NOT_OBJECT; goto unmatched;
	case JSON_SCAN_NO_KEY: um = UM_NO_KEY; goto unmatched;
	case JSON_SCAN_NOT_STRING: um = UM_NOT_STRING; goto unmatched;
	default: um = UM_INVALID_JSON; goto unmatched;
	}
	r = json_scan_unescape(raw, rawlen, value, sizeof(value), &n);
	if (r == JSON_SCAN_NO_SPACE) {
		idx = e->json_cap; /* longer than a label value may be: "other" */
	} else if (r) {
		um = UM_INVALID_JSON;
		goto unmatched;
	} else {
		idx = metrics_label_index(e->m, e->app, 1, value, n);
		if (idx < 0)
			idx = e->json_cap;
	}
	metrics_inc(e->m, e->app, metrics_index2(e->m, e->app, dir, (unsigned int)idx));
	return;
unmatched:
	metrics_inc(e->m, e->app_unmatched, metrics_index2(e->m, e->app_unmatched, dir, um));
}

/*
 * The --metrics-label value of the event's server: its process name, or
 * container id (12 digits; "none" outside containers); "unknown" when the
 * server is not known. Its slot of the owner label, or owner_cap (other).
 */
static int owner_index(struct exporter *e, const struct wst_event *ev)
{
	const struct wst_proc *p = ev->attrib ? ev->attrib->server : NULL;
	char buf[METRICS_MAX_VALUE_LEN + 1];
	const char *v = "unknown";
	size_t n;

	if (p && e->owner_container)
		v = p->container ? p->container : "none";
	else if (p)
		v = p->comm;
	n = strlen(v);
	if (e->owner_container && n > 12)
		n = 12;
	/* as the label will show it, so two names never make one value */
	n = metrics_label_sanitize(buf, v, n);
	if (strcmp(buf, METRICS_OTHER) == 0)
		return e->owner_cap;
	return topn_hit(e->owner_top, buf, n);
}

/* topn's change callback: the slot's series restart under the new value. */
static void owner_renamed(void *ctx, int slot, const char *value, size_t len)
{
	struct exporter *e = ctx;

	metrics_label_assign(e->m, e->o_sessions, 0, slot, value, len);
	metrics_label_assign(e->m, e->o_messages, 1, slot, value, len);
	metrics_label_assign(e->m, e->o_message_bytes, 1, slot, value, len);
}

void exporter_rank_owners(struct exporter *e, uint64_t now_ns)
{
	struct topn_stats st;

	if (!e->owner_top)
		return;
	topn_rank(e->owner_top, now_ns);
	e->owner_ranked_ns = now_ns;
	st = topn_stats(e->owner_top);
	metrics_counter_set(e->m, e->o_changes, 0, st.promoted);
	metrics_counter_set(e->m, e->o_changes, 1, st.demoted);
	metrics_counter_set(e->m, e->o_untracked, 0, st.untracked);
}

static void on_owner(struct exporter *e, unsigned int dir, const struct wst_event *ev)
{
	const struct ws_message_info *mi = ev->u.message;

	if (e->o_sessions < 0 || !e->owner_top)
		return;
	if (ev->type == WST_EV_WS_ESTABLISHED) {
		metrics_inc(e->m, e->o_sessions, (uint32_t)owner_index(e, ev));
	} else if (ev->type == WST_EV_WS_MESSAGE && mi) {
		uint32_t k = metrics_index2(e->m, e->o_messages, dir, (unsigned int)owner_index(e, ev));

		metrics_inc(e->m, e->o_messages, k);
		if (!mi->incomplete && (!mi->compressed || mi->inflated))
			metrics_add(e->m, e->o_message_bytes, k, mi->total_len);
	}
}

static void on_message(struct exporter *e, unsigned int dir, unsigned int tp,
		       const struct ws_message_info *mi)
{
	unsigned int type;
	uint32_t k;

	if (!mi)
		return;
	type = mi->opcode == WS_OP_TEXT ? 0 : mi->opcode == WS_OP_BINARY ? 1 : 2;
	k = metrics_index3(e->m, e->messages, dir, type, tp);
	metrics_inc(e->m, e->messages, k);
	/* Sizes only when known: whole, and inflated if compressed. */
	if (!mi->incomplete && (!mi->compressed || mi->inflated))
		metrics_observe(e->m, e->message_bytes, k, (double)mi->total_len);
	if (e->json_key && mi->opcode == WS_OP_TEXT)
		count_app(e, dir, mi);
}

static void on_fanout(struct exporter *e, const struct wst_fanout *f)
{
	for (size_t i = 0; i < f->n_latency; i++)
		observe_us(e, e->delivery_s, 0, f->latency_us[i]);
	metrics_observe(e->m, e->fanout_rcpt, 0, (double)f->recipients);
	if (!f->recipients)
		metrics_inc(e->m, e->fanout_none, 0);
	if (f->early)
		metrics_inc(e->m, e->corr_early, 0);
}

static void on_tcp(struct exporter *e, const struct wst_event *ev)
{
	struct metrics *m = e->m;

	switch (ev->type) {
	case WST_EV_TCP_RETRANSMIT:
		metrics_inc(m, e->retrans, 0);
		break;
	case WST_EV_TCP_OUT_OF_ORDER:
		metrics_inc(m, e->ooo, 0);
		break;
	case WST_EV_TCP_ESTABLISHED:
		metrics_inc(m, e->handshakes, 0);
		observe_us(e, e->handshake_s, 0, ev->u.established.handshake_us);
		break;
	case WST_EV_TCP_REFUSED:
		metrics_inc(m, e->handshakes, 1);
		e->refused = ev->flow; /* its tcp_closed (rst) follows at once */
		break;
	case WST_EV_TCP_HANDSHAKE_TIMEOUT:
		metrics_inc(m, e->handshakes, ev->u.timeout.synack_seen ? 3 : 2);
		break;
	case WST_EV_TCP_CLOSED: {
		enum wst_close_reason r = ev->u.closed.reason;

		metrics_inc(m, e->closed, kind_index((int)r, 0, LAST(reasons)));
		if (r == WST_CLOSE_RST && (!ev->flow || ev->flow != e->refused))
			metrics_inc(m, e->resets, 0);
		if (r == WST_CLOSE_EVICTED)
			metrics_inc(m, e->evicted, 0);
		e->refused = NULL;
		break;
	}
	default:
		break;
	}
}

void exporter_event(void *ctx, const struct wst_event *ev)
{
	struct exporter *e = ctx;
	struct metrics *m = e->m;
	unsigned int dir = dir_of(ev);
	unsigned int tp = ev->flow && ev->flow->tls; /* transports[] */

	if (wst_event_is_packet(ev->type)) {
		metrics_inc(m, e->tcp_packets, dir);
		if (ev->pkt)
			metrics_add(m, e->tcp_bytes, dir, ev->pkt->r.payload_len);
	}
	switch (ev->type) {
	case WST_EV_HTTP_REQUEST:
		metrics_inc(m, e->http_requests, 0);
		break;
	case WST_EV_WS_UPGRADE:
		metrics_inc(m, e->upg_requests, tp);
		break;
	case WST_EV_WS_ESTABLISHED:
	case WST_EV_WS_UPGRADE_FAILED:
		metrics_inc(m, e->upgrades, metrics_index2(m, e->upgrades,
				ev->type == WST_EV_WS_ESTABLISHED ? 0 : status_index(ev->u.response.resp),
				tp));
		/*
		 * Latency only when the request was seen. The layer leaves req
		 * NULL after freeing it and reports 0 for an unseen request,
		 * so a positive latency also says it was seen.
		 */
		if (ev->u.response.request_seen)
			observe_us(e, e->upgrade_s, 0, ev->u.response.latency_us);
		on_owner(e, dir, ev);
		break;
	case WST_EV_WS_FRAME:
		if (!ev->u.frame.h)
			break;
		metrics_inc(m, e->frames, metrics_index3(m, e->frames, dir,
							  ws_opcode_index(ev->u.frame.h->opcode), tp));
		/* A frame cut by the connection's end: the bytes that went by. */
		metrics_add(m, e->frame_bytes, metrics_index2(m, e->frame_bytes, dir, tp),
			    ev->u.frame.incomplete ? ev->u.frame.seen : ev->u.frame.h->payload_len);
		break;
	case WST_EV_WS_MESSAGE:
		on_message(e, dir, tp, ev->u.message);
		on_owner(e, dir, ev);
		break;
	case WST_EV_WS_PONG:
		if (ev->u.control.rtt_us >= 0)
			observe_us(e, e->rtt, 0, (uint64_t)ev->u.control.rtt_us);
		break;
	case WST_EV_WS_CLOSE: {
		enum wst_initiator ini = ev->u.control.initiator;
		unsigned int who;

		if (!ev->u.control.c || ini == WST_INITIATOR_NONE)
			break;
		who = ini == WST_INITIATOR_CLIENT ? 0 : 1;
		/* Once per session: the first close frame, sent by the initiator. */
		if (who != dir)
			break;
		metrics_inc(m, e->closes, metrics_index2(m, e->closes,
				close_code_index(ev->u.control.c), who));
		break;
	}
	case WST_EV_WS_SESSION_END:
		metrics_inc(m, e->session_ends, metrics_index2(m, e->session_ends,
				kind_index((int)ev->u.session.how, 0, LAST(hows)), tp));
		observe_us(e, e->session_s, 0, ev->u.session.duration_us);
		break;
	case WST_EV_WS_VIOLATION:
		metrics_inc(m, e->violations, kind_index((int)ev->u.violation.kind, WS_VIOL_NONE + 1,
							  LAST(violation_kinds)));
		break;
	case WST_EV_WS_GAP:
		if (ev->u.loss.kind == WST_GAP_STREAM) {
			metrics_inc(m, e->gaps, 0);
			metrics_add(m, e->gap_bytes, 0, ev->u.loss.bytes);
			if (ev->u.loss.boundary_lost)
				metrics_inc(m, e->sync_lost, 0);
		} else {
			metrics_inc(m, e->losses, kind_index((int)ev->u.loss.kind, WST_GAP_FIRST_DECODE_LOSS,
							      LAST(loss_kinds)));
		}
		break;
	case WST_EV_WS_RESYNC:
		metrics_inc(m, e->resyncs, 0);
		metrics_add(m, e->resync_bytes, 0, ev->u.loss.bytes);
		break;
	case WST_EV_WS_FANOUT:
		on_fanout(e, ev->u.fanout);
		break;
	case WST_EV_WS_REPLY:
		observe_us(e, e->reply_s, 0, ev->u.reply->latency_us);
		break;
	case WST_EV_WS_REPLY_TIMEOUT:
		metrics_inc(m, e->reply_timeouts, 0);
		if (ev->u.reply->early)
			metrics_inc(m, e->corr_early, 1);
		break;
	default:
		on_tcp(e, ev);
		break;
	}
}

void exporter_update(struct exporter *e, const struct exporter_sources *src)
{
	struct metrics *m = e->m;
	struct timespec ts;

	if (e->owner_top && !clock_gettime(CLOCK_MONOTONIC, &ts)) {
		uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;

		if (!e->owner_ranked_ns || now - e->owner_ranked_ns >= OWNER_RANK_NS)
			exporter_rank_owners(e, now);
	}
	if (!src)
		return;
	if (src->kernel) {
		const __u64 *v = src->kernel->v;

		metrics_counter_set(m, e->k_packets, 0, v[WST_CNT_PKTS_INGRESS]);
		metrics_counter_set(m, e->k_packets, 1, v[WST_CNT_PKTS_EGRESS]);
		metrics_counter_set(m, e->k_bytes, 0, v[WST_CNT_BYTES_INGRESS]);
		metrics_counter_set(m, e->k_bytes, 1, v[WST_CNT_BYTES_EGRESS]);
		metrics_counter_set(m, e->k_flags, 0, v[WST_CNT_SYN]);
		metrics_counter_set(m, e->k_flags, 1, v[WST_CNT_SYNACK]);
		metrics_counter_set(m, e->k_flags, 2, v[WST_CNT_FIN]);
		metrics_counter_set(m, e->k_flags, 3, v[WST_CNT_RST]);
		metrics_counter_set(m, e->k_ringbuf, 0, v[WST_CNT_RINGBUF_FULL]);
		metrics_counter_set(m, e->k_truncated, 0, v[WST_CNT_TRUNCATED]);
		metrics_counter_set(m, e->k_load_errors, 0, v[WST_CNT_LOAD_ERRORS]);
		metrics_counter_set(m, e->k_fragments, 0, v[WST_CNT_FRAGMENTS]);
		metrics_counter_set(m, e->k_filtered, 0, v[WST_CNT_FILTERED]);
	}
	if (src->tcp) {
		metrics_counter_set(m, e->tcp_midstream, 0, src->tcp->midstream);
		metrics_counter_set(m, e->late_packets, 0, src->tcp->late_packets);
		metrics_counter_set(m, e->evicted_packets, 0, src->tcp->evicted_packets);
	}
	metrics_set(m, e->conns, 0, (double)src->tcp_active);
	if (src->ws) {
		metrics_set(m, e->sessions, 0, (double)src->ws->active);
		metrics_counter_set(m, e->ws_midstream, 0, src->ws->midstream);
	}
	if (src->budget) {
		metrics_counter_set(m, e->overflows, 0, src->budget->overflows);
		metrics_set(m, e->held, 0, (double)src->budget->held);
	}
	if (src->ws) {
		metrics_counter_set(m, e->tls_conns, 0, src->ws->tls_decrypted);
		metrics_counter_set(m, e->tls_conns, 1, src->ws->tls_undecrypted);
		for (int i = 0; i < WST_TLS_REASON_MAX; i++)
			metrics_counter_set(m, e->tls_not_decrypted, i, src->ws->tls_not_decrypted[i]);
		for (int i = 0; i < TLS_HELLO_ERR_MAX - 1; i++)
			metrics_counter_set(m, e->tls_hello_errors, i, src->ws->tls_hello_errors[i]);
	}
	if (src->tls_kernel) {
		metrics_counter_set(m, e->tls_calls, 0, src->tls_kernel[WST_TLS_CNT_CALLS]);
		metrics_counter_set(m, e->tls_bytes, 0, src->tls_kernel[WST_TLS_CNT_BYTES]);
		metrics_counter_set(m, e->tls_lost, 0, src->tls_kernel[WST_TLS_CNT_RINGBUF_FULL]);
		metrics_counter_set(m, e->tls_lost, 1, src->tls_kernel[WST_TLS_CNT_TRUNCATED]);
		metrics_counter_set(m, e->tls_lost, 2, src->tls_kernel[WST_TLS_CNT_READ_FAULT]);
	}
	if (src->tls) {
		metrics_counter_set(m, e->tls_unjoined, 0, src->tls->no_flow);
		metrics_counter_set(m, e->tls_unjoined, 1, src->tls->other_side);
		metrics_counter_set(m, e->tls_unjoined, 2, src->tls->unjoined);
	}
	metrics_counter_set(m, e->bad_records, 0, src->bad_records);
	metrics_counter_set(m, e->pcap_errors, 0, src->pcap_write_errors);
	if (src->limit)
		for (int i = 0; i < e->n_limited; i++)
			metrics_counter_set(m, e->suppressed, (uint32_t)i,
					    event_limit_suppressed(src->limit, e->limited_type[i]));
}

int exporter_render(void *ctx, char **buf, size_t *len)
{
	struct exporter *e = ctx;

	if (e->collect) {
		struct exporter_sources src = { 0 };

		e->collect(e->collect_ctx, &src);
		exporter_update(e, &src);
	}
	return metrics_render(e->m, buf, len);
}
