/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kinds.h - every kind an event carries, declared once. Each table is an
 * X-macro of rows X(ENUM_CONSTANT, "label", "one-line documentation"): the
 * label is the JSON value, the text output's word and the metric label
 * value; the documentation says in short what README.md says of it
 * (tests/unit/test_readme.c holds README.md to the labels).
 *
 * Events carry the enums; the sinks make the strings (wst_*_name() here)
 * and index their label arrays by the enum (the exporter spells those
 * arrays with the same tables, e.g. { WST_SESSION_ENDS(WST_KIND_LABEL)
 * "other" }).
 */
#ifndef WST_KINDS_H
#define WST_KINDS_H

/* Row expanders shared by every table. */
#define WST_KIND_ENUM(name, label, doc) name,
#define WST_KIND_LABEL(name, label, doc) label,
#define WST_KIND_COUNT(name, label, doc) +1

/* How a connection ended: tcp_closed `reason`, the `reason` label. */
#define WST_CLOSE_REASONS(X) \
	X(WST_CLOSE_FIN, "fin", "both sides sent FIN") \
	X(WST_CLOSE_RST, "rst", "reset") \
	X(WST_CLOSE_IDLE, "idle", "idle timeout") \
	X(WST_CLOSE_EVICTED, "evicted", "dropped from the full flow table") \
	X(WST_CLOSE_END, "end", "the capture ended with the connection open")

enum wst_close_reason {
	WST_CLOSE_REASONS(WST_KIND_ENUM)
	WST_CLOSE_MAX
};

/* How a WebSocket session ended: ws_session_end `how`, the `how` label. */
#define WST_SESSION_ENDS(X) \
	X(WST_END_CLOSE, "close", "a close frame was seen (the closing handshake started)") \
	X(WST_END_ABNORMAL, "abnormal", "TCP closed without a close frame (code 1006)") \
	X(WST_END_RESET, "reset", "the connection was reset without a close frame (code 1006)") \
	X(WST_END_END, "end", "the capture ended with the session open")

enum wst_session_end {
	WST_SESSION_ENDS(WST_KIND_ENUM)
	WST_END_MAX
};

/* Who sent the first close frame: `initiator`. 0 is none (not printed). */
#define WST_INITIATORS(X) \
	X(WST_INITIATOR_CLIENT, "client", "the client closed first") \
	X(WST_INITIATOR_SERVER, "server", "the server closed first")

enum wst_initiator {
	WST_INITIATOR_NONE = 0,
	WST_INITIATORS(WST_KIND_ENUM)
	WST_INITIATOR_MAX
};

/* The Sec-WebSocket-Accept check of a response: ws_established `accept`. */
#define WST_ACCEPT_RESULTS(X) \
	X(WST_ACCEPT_OK, "ok", "the accept value answers the request's key") \
	X(WST_ACCEPT_MISMATCH, "mismatch", "the 101 fails a check of RFC 6455 4.1 (a violation says which)") \
	X(WST_ACCEPT_MISSING, "missing", "the 101 fails a check and has no Sec-WebSocket-Accept") \
	X(WST_ACCEPT_UNCHECKED, "unchecked", "not checked: the request was not seen, or no 101")

enum wst_accept_result {
	WST_ACCEPT_RESULTS(WST_KIND_ENUM)
	WST_ACCEPT_MAX
};

/*
 * What could not be decoded: ws_gap `kind`. STREAM is a hole in the TCP
 * stream (wstrace_ws_stream_gaps_total); the others are the `kind` label
 * of wstrace_ws_decode_losses_total, in this order.
 */
#define WST_DECODE_LOSSES(X) \
	X(WST_GAP_DEFLATE_CONTEXT_LOST, "deflate_context_lost", "the compression window was lost: later compressed messages of that direction are not inflated") \
	X(WST_GAP_NOT_INFLATED, "not_inflated", "a compressed message left compressed") \
	X(WST_GAP_UNSYNCED_AT_END, "unsynced_at_end", "bytes skipped looking for frames when the connection ended")

#define WST_GAP_KINDS(X) \
	X(WST_GAP_STREAM, "stream", "bytes of the TCP stream never captured") \
	WST_DECODE_LOSSES(X)

enum wst_gap_kind {
	WST_GAP_KINDS(WST_KIND_ENUM)
	WST_GAP_MAX
};

enum {
	WST_GAP_FIRST_DECODE_LOSS = WST_GAP_DEFLATE_CONTEXT_LOST,
	WST_N_DECODE_LOSSES = 0 WST_DECODE_LOSSES(WST_KIND_COUNT),
};

/*
 * Protocol violations: ws_violation `kind`, the `kind` label of
 * wstrace_ws_violations_total (in this order, then `other`). The frame and
 * message decoders report the first block (their named errors are the
 * negated values); the session layer the HTTP handshake's.
 */
#define WS_VIOLATIONS(X) \
	X(WS_VIOL_UNMASKED_CLIENT_FRAME, "unmasked_client_frame", "a client frame without a mask (RFC 6455 5.1)") \
	X(WS_VIOL_MASKED_SERVER_FRAME, "masked_server_frame", "a server frame with a mask (5.1)") \
	X(WS_VIOL_CONTROL_TOO_LONG, "control_too_long", "a control frame over 125 bytes (5.5)") \
	X(WS_VIOL_CONTROL_FRAGMENTED, "control_fragmented", "a control frame without FIN (5.5)") \
	X(WS_VIOL_RESERVED_OPCODE, "reserved_opcode", "opcode 3-7 or 11-15 (5.2)") \
	X(WS_VIOL_RSV_WITHOUT_EXTENSION, "rsv_without_extension", "an RSV bit no negotiated extension defines (5.2)") \
	X(WS_VIOL_RSV1_ON_CONTROL, "rsv1_on_control", "RSV1 on a control frame under permessage-deflate (RFC 7692 6.1)") \
	X(WS_VIOL_RSV1_ON_CONTINUATION, "rsv1_on_continuation", "RSV1 on a continuation frame (RFC 7692 6.1)") \
	X(WS_VIOL_NON_MINIMAL_LENGTH, "non_minimal_length", "a length in more bytes than it needs (5.2)") \
	X(WS_VIOL_LENGTH_TOP_BIT, "length_top_bit", "a 64-bit length with its top bit set (5.2): the stream is lost") \
	X(WS_VIOL_INVALID_UTF8, "invalid_utf8", "a text message that is not UTF-8 (8.1)") \
	X(WS_VIOL_INVALID_CLOSE_CODE, "invalid_close_code", "a close code that must not be sent (7.4)") \
	X(WS_VIOL_CLOSE_PAYLOAD_1_BYTE, "close_payload_1_byte", "a close payload of one byte (5.5.1)") \
	X(WS_VIOL_CLOSE_REASON_UTF8, "close_reason_invalid_utf8", "a close reason that is not UTF-8 (5.5.1)") \
	X(WS_VIOL_CONTINUATION_WITHOUT_START, "continuation_without_start", "a continuation frame with no message started (5.4)") \
	X(WS_VIOL_DATA_FRAME_IN_FRAGMENTED_MESSAGE, "data_frame_in_fragmented_message", "a new data frame before the last fragment (5.4)") \
	X(WS_VIOL_DATA_AFTER_CLOSE, "data_after_close", "a data frame after this side's close frame (5.5.1)") \
	X(WS_VIOL_MESSAGE_TOO_BIG, "message_too_big", "a message longer than --max-message (10.4)") \
	X(WS_VIOL_INFLATE_ERROR, "inflate_error", "compressed data that is not DEFLATE (RFC 7692 7.2.2)") \
	X(WS_VIOL_INFLATE_TOO_BIG, "inflate_too_big", "a message that inflates to more than the bound") \
	X(WS_VIOL_HTTP_SYNTAX, "http_syntax", "not HTTP: a bad start line, header line or status code") \
	X(WS_VIOL_HTTP_TOO_LONG, "http_too_long", "an HTTP head over 16 KiB or 64 header lines") \
	X(WS_VIOL_HTTP_VERSION, "http_version", "not HTTP/1.x, or an upgrade request below HTTP/1.1 (4.1)") \
	X(WS_VIOL_HTTP_INCOMPLETE, "http_incomplete", "the connection ended before a whole HTTP head had come") \
	X(WS_VIOL_SERVER_SPOKE_FIRST, "server_spoke_first", "the server sent bytes before any request") \
	X(WS_VIOL_EXTENSION_UNKNOWN, "extension_unknown", "the 101 accepts an extension wstrace does not know") \
	X(WS_VIOL_EXTENSION_INVALID, "extension_invalid", "the 101's Sec-WebSocket-Extensions cannot be parsed (RFC 7692 7.1)") \
	X(WS_VIOL_PROXY_PROTOCOL, "proxy_protocol", "a malformed PROXY protocol header before the request") \
	X(WS_VIOL_METHOD, "method", "an upgrade request that is not GET (4.1)") \
	X(WS_VIOL_NO_HOST, "no_host", "an upgrade request without Host (4.1)") \
	X(WS_VIOL_KEY, "key", "Sec-WebSocket-Key missing, repeated, or not the base64 of 16 bytes (4.1)") \
	X(WS_VIOL_WS_VERSION, "ws_version", "Sec-WebSocket-Version missing, repeated or not 13 (4.1)") \
	X(WS_VIOL_UPGRADE, "upgrade", "a 101 without Upgrade: websocket (4.1)") \
	X(WS_VIOL_CONNECTION, "connection", "a 101 without Connection: upgrade (4.1)") \
	X(WS_VIOL_ACCEPT, "accept", "Sec-WebSocket-Accept missing, repeated, or not the key's (4.1)") \
	X(WS_VIOL_DUPLICATE, "duplicate", "Sec-WebSocket-Protocol or -Extensions repeated in a 101 (11.3)")

enum ws_violation {
	WS_VIOL_NONE = 0,
	WS_VIOLATIONS(WST_KIND_ENUM)
	WS_VIOL_MAX
};

/*
 * Why a TLS connection ended without its plaintext: tls_not_decrypted
 * `reason`, the `reason` label of wstrace_tls_not_decrypted_total.
 */
#define WST_TLS_REASONS(X) \
	X(WST_TLS_OFF, "tls_off", "no plaintext is read: --no-tls, or a capture file") \
	X(WST_TLS_HANDSHAKE_FAILED, "handshake_failed", "a side refused the handshake with a fatal alert in the clear (its alert field)") \
	X(WST_TLS_HANDSHAKE_INCOMPLETE, "handshake_incomplete", "the connection ended before the handshake completed: no ServerHello, or no encrypted record from the client") \
	X(WST_TLS_NO_PLAINTEXT, "no_plaintext", "the handshake completed, but no probed library call carried the plaintext: the peer's TLS library is not a dynamically linked OpenSSL (GnuTLS, BoringSSL, Go, rustls, a static OpenSSL), or its process was not probed")

enum wst_tls_reason {
	WST_TLS_REASONS(WST_KIND_ENUM)
	WST_TLS_REASON_MAX
};

/*
 * A kind's label, or "unknown" for a value outside its table (never made
 * by wstrace: a sink that is handed one says so rather than crash).
 */
const char *wst_close_reason_name(enum wst_close_reason r);
const char *wst_session_end_name(enum wst_session_end how);
const char *wst_initiator_name(enum wst_initiator who); /* NULL for NONE */
const char *wst_accept_result_name(enum wst_accept_result a);
const char *wst_gap_kind_name(enum wst_gap_kind k);
const char *wst_tls_reason_name(enum wst_tls_reason r);
/* "unmasked_client_frame", ...; "none" for WS_VIOL_NONE. */
const char *ws_violation_name(enum ws_violation v);

/* A table as data, for tests that compare it with the documentation. */
struct wst_kind_row {
	const char *label;
	const char *doc;
};

struct wst_kind_table {
	const char *what;               /* "violation", "close reason", ... */
	const struct wst_kind_row *rows;
	int n;
	int first;                      /* enum value of rows[0] */
};

extern const struct wst_kind_table wst_kind_tables[];
extern const int wst_n_kind_tables;

#endif /* WST_KINDS_H */
