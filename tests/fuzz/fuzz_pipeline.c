// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_pipeline.c - libFuzzer target for everything `wstrace -r` runs: a
 * capture file image through the pcap source, the port filter, the TCP
 * tracker, the WebSocket layer, the text and JSON outputs (into memory
 * streams) and the metrics exporter, then the end of the capture and a
 * /metrics rendering. Leak detection stays on: a session or flow that is
 * never freed is a finding.
 *
 * fuzz-flags: -max_len=65536
 *
 * Layout: the bytes of a pcap or pcapng file. The input length picks
 * output options (bit 0 -X, bit 1 -v, bit 2 --show-secrets, bit 3 no
 * payloads), so the same capture is printed several ways.
 *
 * Invariants checked (abort on violation): the source returns packets or
 * an error, never more packets than frames; the event contract of
 * flow_check.h; after the end of the capture no connection and no
 * WebSocket session is open; the exposition renders.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/pcap_source.h"
#include "tracking/tcp_track.h"
#include "session/ws_session.h"
#include "sinks/exporter.h"
#include "sinks/output.h"
#include "flow_check.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

struct pipe {
	struct exporter *exporter;
	struct output text, json;
	struct flow_check check;
};

static void on_event(void *ctx, const struct wst_event *ev)
{
	struct pipe *p = ctx;

	flow_check_event(&p->check, ev);
	exporter_event(p->exporter, ev);
	output_event(&p->text, ev);
	output_event(&p->json, ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exporter_opts eo = { .json_key = "type", .version = "fuzz", .no_kernel = true };
	struct exporter_sources src = { 0 };
	static struct pipe p;
	struct port_set ports;
	struct pcap_source *s = NULL;
	struct pcap_source_stats st;
	struct tcp_tracker *t = NULL;
	struct ws_layer *l = NULL;
	struct wst_packet pkt;
	char *tbuf = NULL, *jbuf = NULL, *metrics = NULL;
	size_t tlen = 0, jlen = 0, mlen = 0;
	FILE *f, *tf, *jf;
	char err[512];
	uint64_t packets = 0;
	int rc;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "rb");
	CHECK(f);
	if (pcap_source_open_stream(&s, f, "fuzz.pcap", err, sizeof(err)))
		return 0; /* not a capture: the source closed f */

	memset(&ports, 0, sizeof(ports));
	ports_add(&ports, 7272);
	ports_add(&ports, 47272);
	ports_add(&ports, 8080);
	memset(&p, 0, sizeof(p));
	flow_check_init(&p.check);
	tf = open_memstream(&tbuf, &tlen);
	jf = open_memstream(&jbuf, &jlen);
	CHECK(tf && jf);
	output_init(&p.text, tf, OUTPUT_TEXT);
	output_init(&p.json, jf, OUTPUT_JSON);
	p.text.hex = size & 1;
	p.text.verbose = size & 2;
	p.json.show_secrets = size & 4;
	p.text.show_payload = p.json.show_payload = !(size & 8);
	CHECK(exporter_new(&p.exporter, &eo) == 0);
	CHECK(ws_layer_new(&l, NULL, (struct wst_sink){ on_event, &p }) == 0);
	CHECK(tcp_tracker_new(&t, NULL, &ports, (struct wst_sink){ ws_layer_event, l }) == 0);

	while ((rc = pcap_source_next(s, &pkt)) > 0) {
		packets++;
		if (!ports_has(&ports, pkt.r.sport) && !ports_has(&ports, pkt.r.dport))
			continue;
		flow_check_packet(&p.check, &pkt, true, tcp_tracker_packet(t, &pkt));
	}
	CHECK(rc == 0 || rc == -EIO);
	pcap_source_stats(s, &st);
	CHECK(st.tcp == packets && st.frames >= packets);

	tcp_tracker_finish(t, 0);
	flow_check_settle(&p.check);
	CHECK(tcp_tracker_active(t) == 0);
	CHECK(ws_layer_stats(l)->active == 0);
	flow_check_finished(&p.check);
	CHECK(p.check.closed == tcp_tracker_stats(t)->flows);

	src.tcp = tcp_tracker_stats(t);
	src.ws = ws_layer_stats(l);
	src.budget = ws_layer_budget(l);
	exporter_update(p.exporter, &src);
	CHECK(exporter_render(p.exporter, &metrics, &mlen) == 0);
	CHECK(mlen > 0 && metrics[mlen - 1] == '\n');

	output_drain(&p.text);
	output_drain(&p.json);
	fclose(tf);
	fclose(jf);
	free(tbuf);
	free(jbuf);
	free(metrics);
	tcp_tracker_free(t);
	ws_layer_free(l);
	exporter_free(p.exporter);
	pcap_source_close(s);
	return 0;
}
