/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_hello.h - what the wire tells of a TLS connection whose plaintext
 * cannot be read: the ClientHello (RFC 8446 4.1.2, RFC 5246 7.4.1.2) with
 * its server_name (RFC 6066 3), ALPN (RFC 7301 3.1) and supported_versions
 * (RFC 8446 4.2.1), the ServerHello (RFC 8446 4.1.3) with the version and
 * cipher suite chosen, and the record types and plaintext alerts of one
 * direction (RFC 8446 5.1, 6), from which the session layer tells whether
 * the handshake completed.
 *
 * Pure and bounded: a hello is gathered across TCP segments and TLS
 * records into at most TLS_HELLO_MAX_MSG bytes; anything longer, or
 * malformed, is given up with a named error, never read out of bounds.
 */
#ifndef WST_TLS_HELLO_H
#define WST_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/kinds.h"

/* A hello message (4-byte header included) longer than this is given up:
 * real ones are under 2 KiB, a record holds at most 2^14 bytes. */
#define TLS_HELLO_MAX_MSG (16384 + 4)
#define TLS_HELLO_SNI_MAX 255
#define TLS_HELLO_ALPN_MAX 63

/* The versions as on the wire; 0x0304 is TLS 1.3. */
#define TLS_VERSION_1_2 0x0303
#define TLS_VERSION_1_3 0x0304

struct tls_client_hello {
	uint16_t legacy_version;
	/* the highest version offered: supported_versions without GREASE
	 * (RFC 8701), or legacy_version without that extension */
	uint16_t max_version;
	uint8_t sni_len;          /* 0: no host_name */
	uint8_t alpn_len;         /* 0: no ALPN */
	bool alpn_cut;            /* more protocols than alpn holds */
	char sni[TLS_HELLO_SNI_MAX + 1];     /* as sent (not checked to be a name) */
	char alpn[TLS_HELLO_ALPN_MAX + 1];   /* offered protocols, comma-separated, whole ones */
};

struct tls_server_hello {
	uint16_t version;         /* chosen: supported_versions, else legacy_version */
	uint16_t cipher;
	bool retry;               /* a HelloRetryRequest (RFC 8446 4.1.4) */
};

/* Why a hello was given up: the `kind` label of wstrace_tls_hello_errors_total. */
#define TLS_HELLO_ERRORS(X) \
	X(TLS_HELLO_ERR_NOT_TLS, "not_tls", "a record header that is not TLS") \
	X(TLS_HELLO_ERR_NOT_HELLO, "not_hello", "the first handshake message is not the hello expected") \
	X(TLS_HELLO_ERR_TOO_LONG, "too_long", "a hello over 16 KiB") \
	X(TLS_HELLO_ERR_MALFORMED, "malformed", "a hello whose lengths do not add up") \
	X(TLS_HELLO_ERR_NO_MEMORY, "no_memory", "no memory to gather the hello") \
	X(TLS_HELLO_ERR_GAP, "gap", "bytes of the direction never captured (snaplen, ring buffer full) before the hello")

enum tls_hello_error {
	TLS_HELLO_OK = 0,
	TLS_HELLO_ERRORS(WST_KIND_ENUM)
	TLS_HELLO_ERR_MAX
};

/* "not_tls", ...; "none" for TLS_HELLO_OK, "unknown" out of range. */
const char *tls_hello_error_name(enum tls_hello_error e);
/* "TLS1.3", "TLS1.2", "TLS1.1", "TLS1.0", "SSL3.0", else "0x%04x" into buf (8 bytes). */
const char *tls_version_name(uint16_t v, char buf[8]);

/*
 * One handshake message, whole: type, 24-bit length, body; len is what
 * the caller holds (bytes past the message are ignored). 0 or a
 * TLS_HELLO_ERR_*; out is filled as far as parsed.
 */
int tls_client_hello_parse(const uint8_t *msg, size_t len, struct tls_client_hello *out);
int tls_server_hello_parse(const uint8_t *msg, size_t len, struct tls_server_hello *out);

/* Content types (RFC 8446 5.1), as bits of tls_wire.types. */
#define TLS_CT_CHANGE_CIPHER_SPEC 20
#define TLS_CT_ALERT 21
#define TLS_CT_HANDSHAKE 22
#define TLS_CT_APPLICATION_DATA 23
#define TLS_CT_BIT(t) (1u << ((t) - TLS_CT_CHANGE_CIPHER_SPEC))

/* One direction of the wire, from its first byte. Zeroed, then tls_wire_init. */
struct tls_wire {
	bool server;              /* the direction from the server: expects a ServerHello */
	bool hello_done;          /* the hello is parsed (see hello) */
	uint8_t error;            /* enum tls_hello_error: given up */
	uint8_t types;            /* TLS_CT_BIT of every record type seen */
	bool alert_seen;          /* a plaintext alert: alert_level, alert_desc */
	uint8_t alert_level, alert_desc;
	uint8_t hdr[5], hdr_len;  /* the record header being read */
	uint8_t hs[4], hs_len;    /* the hello's handshake header being read */
	uint8_t rec_type;
	uint16_t rec_len;         /* of the current record */
	uint16_t rec_left;        /* its bytes not yet seen */
	uint8_t *msg;             /* the hello, gathered (NULL before and after) */
	uint32_t msg_len, msg_want;
	union {
		struct tls_client_hello c;
		struct tls_server_hello s;
	} hello;
};

void tls_wire_init(struct tls_wire *w, bool server);
/*
 * Bytes of the direction, in order. Returns whether the reader still
 * wants bytes: false once it has the hello and has seen an
 * application_data record, or once it has given up (w->error).
 */
bool tls_wire_feed(struct tls_wire *w, const uint8_t *p, size_t len);
/* Bytes of the direction that will never be seen: the records are lost. */
void tls_wire_gap(struct tls_wire *w);
/* Whether it still wants bytes (the last feed's answer). */
bool tls_wire_wants(const struct tls_wire *w);
/* Frees the gathered hello, if any; w stays readable. */
void tls_wire_release(struct tls_wire *w);

#endif /* WST_TLS_HELLO_H */
