// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* summary.c - what a run captured and lost, on stderr (at exit, --stats). */
#include <inttypes.h>
#include <stdio.h>

#include "app.h"

void app_print_summary(struct app *app)
{
	const struct tcp_stats *ts = tcp_tracker_stats(app->tracker);
	const struct ws_stats *ws = ws_layer_stats(app->ws);
	const struct stream_budget *b = ws_layer_budget(app->ws);

	fprintf(stderr, "%" PRIu64 " packets captured\n", app->packets);
	if (app->capture) {
		struct wst_counters k;

		app_kernel_counters(app, &k);
		fprintf(stderr, "%llu packets seen by the kernel program\n",
			(unsigned long long)(k.v[WST_CNT_PKTS_INGRESS] + k.v[WST_CNT_PKTS_EGRESS]));
		fprintf(stderr, "%llu packets lost (ring buffer full)\n", (unsigned long long)k.v[WST_CNT_RINGBUF_FULL]);
		fprintf(stderr, "%llu payloads truncated by snaplen\n", (unsigned long long)k.v[WST_CNT_TRUNCATED]);
		if (k.v[WST_CNT_LOAD_ERRORS])
			fprintf(stderr, "%llu packets not copied (load errors)\n",
				(unsigned long long)k.v[WST_CNT_LOAD_ERRORS]);
		if (k.v[WST_CNT_FRAGMENTS])
			fprintf(stderr, "%llu segments not captured (sent in IP fragments)\n",
				(unsigned long long)k.v[WST_CNT_FRAGMENTS]);
		if (k.v[WST_CNT_FILTERED] || app_attrib_stats(app).filtered_conns) {
			struct attrib_stats as = app_attrib_stats(app);

			fprintf(stderr, "%" PRIu64 " connections left out by --pid/--comm/--cgroup: %llu "
				"packets not copied by the kernel, %" PRIu64 " dropped on the way\n",
				as.filtered_conns, (unsigned long long)k.v[WST_CNT_FILTERED],
				as.filtered_packets);
		}
		if (capture_bad_records(app->capture))
			fprintf(stderr, "%" PRIu64 " malformed records dropped\n", capture_bad_records(app->capture));
	}
	if (app->source) {
		struct pcap_source_stats ps;

		pcap_source_stats(app->source, &ps);
		fprintf(stderr, "%" PRIu64 " frames read, %" PRIu64 " not TCP, %" PRIu64 " malformed, %" PRIu64
			" truncated headers, %" PRIu64 " fragments\n",
			ps.frames, ps.not_tcp, ps.malformed, ps.truncated, ps.fragments);
	}
	fprintf(stderr, "%" PRIu64 " connections seen, %" PRIu64 " established, %" PRIu64 " refused, %" PRIu64
		" reset, %" PRIu64 " handshake timeouts, %" PRIu64 " seen mid-stream, %" PRIu64 " evicted\n",
		ts->flows, ts->established, ts->refused, ts->resets, ts->handshake_timeouts, ts->midstream,
		ts->evicted);
	/* Lines a clean run does not need are printed only when they count something. */
	if (ts->handshake_incomplete)
		fprintf(stderr, "%" PRIu64 " handshakes incomplete (SYN-ACK seen, no final ACK)\n",
			ts->handshake_incomplete);
	if (ts->evicted_packets || ts->evicted_forgotten)
		fprintf(stderr, "%" PRIu64 " packets of evicted connections (not tracked), %" PRIu64
			" evicted connections forgotten\n", ts->evicted_packets, ts->evicted_forgotten);
	fprintf(stderr, "%" PRIu64 " retransmissions, %" PRIu64 " out-of-order segments\n",
		ts->retransmits, ts->out_of_order);
	if (ts->late_packets)
		fprintf(stderr, "%" PRIu64 " packets after their connection's close or reset (not decoded)\n",
			ts->late_packets);
	if (ts->app_leaks)
		fprintf(stderr, "%" PRIu64 " connections freed with decoder state left (a bug)\n", ts->app_leaks);
	fprintf(stderr, "%" PRIu64 " WebSocket upgrades, %" PRIu64 " established, %" PRIu64 " failed, %" PRIu64
		" picked up mid-stream, %" PRIu64 " plain HTTP requests, %" PRIu64 " not HTTP\n",
		ws->upgrades, ws->established, ws->upgrade_failed, ws->midstream, ws->http_requests, ws->not_http);
	fprintf(stderr, "%" PRIu64 " frames c2s, %" PRIu64 " frames s2c, %" PRIu64 " messages c2s, %" PRIu64
		" messages s2c\n", ws->frames[0], ws->frames[1], ws->messages[0], ws->messages[1]);
	fprintf(stderr, "%" PRIu64 " protocol violations, %" PRIu64 " stream gaps (%" PRIu64 " bytes), %" PRIu64
		" resyncs (%" PRIu64 " bytes skipped), %" PRIu64 " reassembly overflows, %" PRIu64
		" undecodable (compression context lost)\n",
		ws->violations, ws->gaps, ws->gap_bytes, ws->resyncs, ws->resync_bytes, b->overflows,
		ws->decode_losses);
	if (ws->tls_wire || ws->tls_decrypted) {
		const struct tls_join_stats *tj = tls_join_stats(app->tls);
		uint64_t tk[WST_TLS_CNT_MAX];

		fprintf(stderr, "%" PRIu64 " TLS connections decrypted, %" PRIu64 " not decrypted; %" PRIu64
			" plaintext records joined (%" PRIu64 " bytes), %" PRIu64 " gaps (%" PRIu64 " bytes), %" PRIu64
			" not joined (%" PRIu64 " no connection, %" PRIu64 " other end's)\n",
			ws->tls_decrypted, ws->tls_undecrypted, tj->records, tj->bytes, tj->gaps, tj->gap_bytes,
			tj->no_flow + tj->other_side + tj->unjoined, tj->no_flow, tj->other_side);
		if (ws->tls_undecrypted) {
			uint64_t given_up = 0;

			for (int i = 0; i < TLS_HELLO_ERR_MAX - 1; i++)
				given_up += ws->tls_hello_errors[i];
			fprintf(stderr, "not decrypted:");
			for (int r = 0; r < WST_TLS_REASON_MAX; r++)
				fprintf(stderr, "%s %" PRIu64 " %s", r ? "," : "", ws->tls_not_decrypted[r],
					wst_tls_reason_name(r));
			fprintf(stderr, "; %" PRIu64 " TLS hellos given up\n", given_up);
		}
		if (app->capture && !capture_read_tls_counters(app->capture, tk))
			fprintf(stderr, "%" PRIu64 " TLS plaintext records lost (ring buffer full), %" PRIu64
				" calls truncated, %" PRIu64 " unreadable\n", tk[WST_TLS_CNT_RINGBUF_FULL],
				tk[WST_TLS_CNT_TRUNCATED], tk[WST_TLS_CNT_READ_FAULT]);
	}
	if (app_write_errors(app))
		fprintf(stderr, "%" PRIu64 " packets not written to %s\n", app_write_errors(app), app->opt.write_file);
	if (app->limit) {
		uint64_t n = 0;

		for (int t = 0; t < WST_EV_MAX; t++)
			n += event_limit_suppressed(app->limit, t);
		if (n)
			fprintf(stderr, "%" PRIu64 " events not printed (over --event-limit; see events_suppressed)\n",
				n);
	}
}
