/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ws_extensions.h - Sec-WebSocket-Extensions values (RFC 6455 section 9.1)
 * and permessage-deflate negotiation (RFC 7692 section 7). Pure parsing.
 *
 * For the deflate engine: window bits only bound what the SENDER's deflater
 * may refer back to. An inflater with a larger window decodes the same
 * stream, so inflate with raw windowBits -15 whatever was negotiated (a
 * stream deflated with 9 bits inflates with -15). Never rely on 8 with
 * zlib: raw deflateInit2(..., -8, ...) fails with Z_STREAM_ERROR, and zlib
 * documents a window of 8 as unsupported (it uses 9 instead).
 */
#ifndef WST_WS_EXTENSIONS_H
#define WST_WS_EXTENSIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "http_upgrade.h"

#define WS_EXT_MAX_PARAMS 16

enum ws_ext_result {
	WS_EXT_OK = 0,
	WS_EXT_UNKNOWN = 1,           /* parsed, but an extension we can't decode is present */
	WS_EXT_ERR_SYNTAX = -1,       /* not the RFC 6455 section 9.1 grammar */
	WS_EXT_ERR_PARAM = -2,        /* unknown parameter or bad value (RFC 7692 section 7) */
	WS_EXT_ERR_DUPLICATE = -3,    /* parameter or accepted extension repeated */
	WS_EXT_ERR_TOO_MANY = -4,     /* more than WS_EXT_MAX_PARAMS parameters */
	WS_EXT_ERR_NOT_OFFERED = -5,  /* the response accepts what was not offered */
};

struct ws_ext_param {
	struct http_str name;
	/* Raw value: inside the quotes if quoted (escapes kept); {NULL, 0} if none. */
	struct http_str value;
	bool has_value, quoted;
};

struct ws_ext {
	struct http_str name;
	struct ws_ext_param params[WS_EXT_MAX_PARAMS];
	size_t n_params;
};

/*
 * Generic iterator over one header value: *pos starts at 0. Returns 1 with
 * *ext filled, 0 when no extension is left, or a negative enum ws_ext_result
 * (*why gets a sentence if why is not NULL). Empty list elements are skipped
 * (RFC 7230 section 7).
 */
int ws_extensions_next(struct http_str value, size_t *pos, struct ws_ext *ext,
		       const char **why);

struct ws_deflate_params {
	bool enabled;
	bool server_no_context_takeover, client_no_context_takeover;
	int server_max_window_bits, client_max_window_bits; /* 8..15, default 15 */
	/* server_max_window_bits / client_max_window_bits were present. */
	bool server_max_window_bits_set, client_max_window_bits_set;
};

/*
 * The server's Sec-WebSocket-Extensions (value {NULL, 0} if absent) decides
 * what is in force. Returns WS_EXT_OK, WS_EXT_UNKNOWN when an extension
 * other than permessage-deflate was accepted (RSV bits may then carry
 * something this decoder can't read), or an error. A response's
 * client_max_window_bits must have a value. *out always ends up initialised
 * (disabled, 15/15 bits) and holds permessage-deflate's parameters if the
 * response accepted it, even when the result is an error.
 */
int ws_extensions_parse_response(struct http_str value,
				 struct ws_deflate_params *out, const char **why);

/*
 * The client's offer: the parameters of its first permessage-deflate offer
 * (client_max_window_bits may come without a value: client_max_window_bits_set
 * with 15 bits). Returns like ws_extensions_parse_response (WS_EXT_UNKNOWN:
 * other extensions were offered too).
 */
int ws_extensions_parse_offer(struct http_str value,
			      struct ws_deflate_params *out, const char **why);

/*
 * Whether the accepted parameters answer one of the permessage-deflate
 * offers in offer (RFC 7692 sections 5 and 7.1): WS_EXT_OK or
 * WS_EXT_ERR_NOT_OFFERED (or a parse error of offer).
 */
int ws_extensions_check_agreement(struct http_str offer,
				  const struct ws_deflate_params *accepted,
				  const char **why);

#endif /* WST_WS_EXTENSIONS_H */
