// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* event.c - names of events, as used in JSON output and metrics labels. */
#include "event.h"

const char *wst_event_name(enum wst_event_type type)
{
	static const char *const names[WST_EV_MAX] = {
		[WST_EV_TCP_SYN] = "tcp_syn",
		[WST_EV_TCP_SYNACK] = "tcp_synack",
		[WST_EV_TCP_ACK] = "tcp_ack",
		[WST_EV_TCP_DATA] = "tcp_data",
		[WST_EV_TCP_RETRANSMIT] = "tcp_retransmit",
		[WST_EV_TCP_OUT_OF_ORDER] = "tcp_out_of_order",
		[WST_EV_TCP_FIN] = "tcp_fin",
		[WST_EV_TCP_RST] = "tcp_rst",
		[WST_EV_TCP_ESTABLISHED] = "tcp_established",
		[WST_EV_TCP_REFUSED] = "tcp_refused",
		[WST_EV_TCP_HANDSHAKE_TIMEOUT] = "tcp_handshake_timeout",
		[WST_EV_TCP_CLOSED] = "tcp_closed",
		[WST_EV_HTTP_REQUEST] = "http_request",
		[WST_EV_WS_UPGRADE] = "ws_upgrade",
		[WST_EV_WS_ESTABLISHED] = "ws_established",
		[WST_EV_WS_UPGRADE_FAILED] = "ws_upgrade_failed",
		[WST_EV_WS_FRAME] = "ws_frame",
		[WST_EV_WS_MESSAGE] = "ws_message",
		[WST_EV_WS_PING] = "ws_ping",
		[WST_EV_WS_PONG] = "ws_pong",
		[WST_EV_WS_CLOSE] = "ws_close",
		[WST_EV_WS_SESSION_END] = "ws_session_end",
		[WST_EV_WS_VIOLATION] = "ws_violation",
		[WST_EV_WS_GAP] = "ws_gap",
		[WST_EV_WS_RESYNC] = "ws_resync",
		[WST_EV_EVENTS_SUPPRESSED] = "events_suppressed",
	};

	if ((unsigned)type >= WST_EV_MAX || !names[type])
		return "unknown";
	return names[type];
}

const char *wst_close_reason_name(enum wst_close_reason reason)
{
	switch (reason) {
	case WST_CLOSE_FIN: return "fin";
	case WST_CLOSE_RST: return "rst";
	case WST_CLOSE_IDLE: return "idle";
	case WST_CLOSE_EVICTED: return "evicted";
	case WST_CLOSE_END: return "end";
	}
	return "unknown";
}
