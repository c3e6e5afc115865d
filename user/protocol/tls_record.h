/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_record.h - recognising TLS on the wire (RFC 8446 5.1, RFC 5246 6.2),
 * so a connection's ciphertext is never decoded as HTTP or WebSocket.
 */
#ifndef WST_TLS_RECORD_H
#define WST_TLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Whether the first bytes of a direction start a TLS record: content type
 * change_cipher_spec, alert, handshake or application_data (20-23), then
 * legacy version 3.x with x <= 4, then a length of at most 2^14 + 2048
 * (TLSCiphertext). Only the bytes present are checked: a short prefix
 * that agrees counts. Neither HTTP (a letter) nor a valid WebSocket frame
 * (0x14-0x17 is RSV3 with a reserved opcode) starts so.
 */
bool tls_record_start(const uint8_t *p, size_t len);

#endif /* WST_TLS_RECORD_H */
