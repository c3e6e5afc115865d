// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * loop.c - the live service loop: capture, metrics endpoint and timer in
 * one epoll set; the tick (timeouts, flushes, watchdog, status, --stats);
 * and SIGHUP's reload, applied make-before-break to the running capture.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "core/log.h"
#include "app.h"
#include "privs.h"
#include "sdnotify.h"

#define TICK_MS 200
/* Records below the wakeup threshold wait at most this long. */
#define DRAIN_MS 50
#define STATUS_EVERY_MS 5000

void app_update_metrics(struct app *app)
{
	struct wst_counters k;
	struct exporter_sources src = { 0 };
	uint64_t tk[WST_TLS_CNT_MAX];

	app_kernel_counters(app, &k);
	src.kernel = app->capture ? &k : NULL;
	src.tls_kernel = app->capture && !capture_read_tls_counters(app->capture, tk) ? tk : NULL;
	src.tls = tls_join_stats(app->tls);
	src.tcp = tcp_tracker_stats(app->tracker);
	src.tcp_active = tcp_tracker_active(app->tracker);
	src.ws = ws_layer_stats(app->ws);
	src.budget = ws_layer_budget(app->ws);
	src.bad_records = app->capture ? capture_bad_records(app->capture) : 0;
	src.pcap_write_errors = app_write_errors(app);
	src.limit = app->limit;
	exporter_update(app->exporter, &src);
}

static int render_metrics(void *ctx, char **buf, size_t *len)
{
	struct app *app = ctx;

	app_update_metrics(app);
	return exporter_render(app->exporter, buf, len);
}

int app_load_web(const struct options *o, struct webconfig **out, char *why, size_t whylen)
{
	char err[512];
	int rc;

	*out = NULL;
	if (!o->web_config[0])
		return 0;
	rc = webconfig_load(o->web_config, out, err, sizeof(err));
	if (!rc)
		return 0;
	if (why)
		snprintf(why, whylen, "%s", err);
	else
		pr_warn("%s", err);
	return rc == -ENOMEM ? EX_OSERR : rc == -EINVAL || rc == -EFBIG ? EX_USAGE : EX_NOINPUT;
}

static int open_metrics(struct app *app)
{
	struct metrics_http_opts mo = {
		.spec = app->opt.metrics,
		.web = app->web,
		.render = render_metrics,
		.ctx = app,
		.registry = exporter_metrics(app->exporter),
	};
	bool tls = app->web && app->web->tls;
	char err[512];
	int rc;

	if (!app->opt.metrics[0])
		return 0;
	app->web = NULL; /* the endpoint's now */
	rc = metrics_http_open(&app->http, &mo, err, sizeof(err));
	if (rc) {
		pr_warn("--metrics %s: %s", app->opt.metrics, err);
		return rc == -EINVAL ? EX_USAGE : rc == -ENOMEM ? EX_OSERR : EX_CANTCREAT;
	}
	pr_info("metrics on %s://%s/metrics", tls ? "https" : "http", app->opt.metrics);
	return 0;
}

/* The web config again (its path may have changed): one line when it is kept. */
static void reload_web(struct app *app, const struct options *n)
{
	struct webconfig *web;
	char why[512];

	if (app_load_web(n, &web, why, sizeof(why)) || metrics_http_set_web(app->http, web, why, sizeof(why))) {
		pr_warn("reload: web config: %s; the running web config is kept", why);
		return;
	}
	snprintf(app->opt.web_config, sizeof(app->opt.web_config), "%s", n->web_config);
	pr_info("reload: web config %s applied", n->web_config[0] ? n->web_config : "(none)");
}

/* Wakeup threshold: a small part of the ring, so a burst cannot fill it first. */
static uint32_t wakeup_bytes(const struct options *o)
{
	uint32_t ring = o->ringbuf_kb ? o->ringbuf_kb * 1024u : CAPTURE_DEFAULT_RINGBUF;
	uint64_t w = (uint64_t)o->wakeup_kb * 1024u;

	return w > ring / 4 ? ring / 4 : (uint32_t)w;
}

/* The capture settings of o; ifaces must hold OPTIONS_MAX_IFACES names. */
static struct capture_opts capture_opts_of(const struct options *o, const char **ifaces)
{
	struct capture_opts co = {
		.ifaces = ifaces,
		.n_ifaces = o->n_ifaces,
		.ports = o->ports.list,
		.n_ports = o->ports.n,
		.snaplen = o->snaplen,
		.ringbuf_bytes = o->ringbuf_kb * 1024u,
		.wakeup_bytes = wakeup_bytes(o),
		.force_clsact = o->force_clsact,
		.owners = !o->no_owners,
	};

	for (int i = 0; i < o->n_ifaces; i++)
		ifaces[i] = o->ifaces[i];
	return co;
}

/* A TLS plaintext record from the ring buffer, to the join. */
static int on_tls_record(void *ctx, const void *data, size_t size, int64_t mono_to_real_ns)
{
	struct app *app = ctx;
	struct wst_plaintext pt;

	if (capture_parse_tls_record(data, size, mono_to_real_ns, &pt))
		return -EINVAL;
	if (!app->done)
		tls_join_plaintext(app->tls, &pt);
	return 0;
}

static int open_capture(struct app *app)
{
	const char *ifaces[OPTIONS_MAX_IFACES];
	const char *libs[OPTIONS_MAX_SSL_LIBS];
	struct capture_opts co = capture_opts_of(&app->opt, ifaces);
	int rc;

	for (int i = 0; i < app->opt.n_ssl_libs; i++)
		libs[i] = app->opt.ssl_libs[i];
	co.tls = !app->opt.no_tls;
	co.ssl_libs = libs;
	co.n_ssl_libs = app->opt.n_ssl_libs;
	rc = capture_open(&app->capture, &co, app_on_packet, app);
	if (!rc && co.tls) {
		capture_set_reader(app->capture, WST_REC_TLS_DATA, on_tls_record, app);
		capture_set_reader(app->capture, WST_REC_TLS_FREE, on_tls_record, app);
	}
	return rc;
}

static bool same_ifaces(const struct options *a, const struct options *b)
{
	if (a->n_ifaces != b->n_ifaces)
		return false;
	for (int i = 0; i < a->n_ifaces; i++)
		if (strcmp(a->ifaces[i], b->ifaces[i]))
			return false;
	return true;
}

/*
 * SIGHUP: the config file again, under the same command line. Interfaces
 * and attach mode first, make-before-break in the running capture (same
 * programs, ring buffer and counters, so nothing is lost or counted twice),
 * then ports in the kernel map, then outputs in place. A config that does
 * not parse or interfaces that cannot be attached change nothing: one line
 * says why, and the daemon goes on.
 */
static void reload(struct app *app, int epfd)
{
	struct options n;
	char why[512];

	sdnotify_reloading();
	if (app_load_options(&n, app->argc, app->argv, why, sizeof(why))) {
		pr_warn("reload failed: %s; the running settings are kept", why);
		goto out;
	}
	if (!same_ifaces(&n, &app->opt) || n.force_clsact != app->opt.force_clsact) {
		const char *ifaces[OPTIONS_MAX_IFACES];
		struct capture_opts co = capture_opts_of(&n, ifaces);
		int nl_old = capture_netlink_fd(app->capture), nl_new;

		if (capture_reconfigure(app->capture, &co, why, sizeof(why))) {
			pr_warn("reload failed: %s; the running settings are kept", why);
			goto out;
		}
		nl_new = capture_netlink_fd(app->capture);
		if (nl_new >= 0 && nl_new != nl_old) {
			struct epoll_event e = { .events = EPOLLIN, .data.fd = nl_new };

			if (epoll_ctl(epfd, EPOLL_CTL_ADD, nl_new, &e))
				pr_warn("reload: cannot follow new interfaces: %s", strerror(errno));
		}
		/* A socket closed by the reconfiguration left the epoll set with it. */
		memcpy(app->opt.ifaces, n.ifaces, sizeof(n.ifaces));
		app->opt.n_ifaces = n.n_ifaces;
		app->opt.force_clsact = n.force_clsact;
	}
	if (memcmp(n.ports.list, app->opt.ports.list, sizeof(n.ports.list)) || n.ports.n != app->opt.ports.n) {
		int rc = capture_set_ports(app->capture, n.ports.list, n.ports.n);

		if (rc)
			pr_warn("reload: failed to set ports: %s", strerror(-rc));
		else
			app->opt.ports = n.ports; /* the tracker reads this set */
	}
	if (app->http)
		reload_web(app, &n);
	if (n.snaplen != app->opt.snaplen || n.ringbuf_kb != app->opt.ringbuf_kb ||
	    strcmp(n.json_key, app->opt.json_key) || strcmp(n.metrics, app->opt.metrics) ||
	    strcmp(n.write_file, app->opt.write_file) || app_corr_changed(&n, &app->opt))
		pr_warn("reload: snaplen, ringbuf-kb, json-key, metrics, write and the correlate "
			"options take effect at restart");
	app->opt.json = n.json;
	app->opt.quiet = n.quiet;
	app->opt.hex = n.hex;
	app->opt.verbose = n.verbose;
	app->opt.show_payload = n.show_payload;
	app->opt.show_secrets = n.show_secrets;
	fflush(app->out.fp);
	app_setup_output(app);
	pr_info("reloaded: %d hooks (%s), %d ports", capture_n_attached(app->capture),
		capture_uses_tcx(app->capture) ? "tcx" : "clsact", app->opt.ports.n);
out:
	sdnotify_send("READY=1");
}

static void tick(struct app *app, uint64_t now_ms)
{
	/* Records below the wakeup threshold wait for this poll; read them
	 * first, so that no timeout (a reset linger) ends before them. */
	if (app->opt.wakeup_kb)
		capture_poll(app->capture, 0);
	app_attrib_expire(app, false);
	tcp_tracker_expire(app->tracker, app_clock_ns(CLOCK_REALTIME));
	if (app->corr)
		corr_tick(app->corr, app_clock_ns(CLOCK_REALTIME));
	fflush(app->out.fp);
	/* A full disk is told within a tick, and loses at most a tick's packets. */
	if (app->writer && pcap_sink_flush(app->writer))
		app_write_failed(app, pcap_sink_error(app->writer));
	if (app->watchdog_usec && now_ms - app->last_watchdog_ms >= app->watchdog_usec / 2000) {
		sdnotify_send("WATCHDOG=1");
		app->last_watchdog_ms = now_ms;
	}
	if (app->opt.stats_secs && now_ms - app->last_stats_ms >= app->opt.stats_secs * 1000ull) {
		if (app->last_stats_ms)
			app_print_summary(app);
		app->last_stats_ms = now_ms;
	}
	if (now_ms - app->last_status_ms >= STATUS_EVERY_MS) {
		struct wst_counters k;

		app_kernel_counters(app, &k);
		sdnotify_sendf("STATUS=%" PRIu64 " packets, %llu lost, %" PRIu64 " connections, %" PRIu64
			       " WebSocket sessions", app->packets,
			       (unsigned long long)k.v[WST_CNT_RINGBUF_FULL], tcp_tracker_active(app->tracker),
			       ws_layer_stats(app->ws)->active);
		app->last_status_ms = now_ms;
	}
	if (app->opt.top)
		app_top_tick(app, now_ms);
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

/* The exit status for a capture that could not be set up (reported). */
static int capture_status(int err)
{
	if (err == -EPERM || (err == -EACCES && geteuid() != 0))
		return EX_NOPERM;
	return err == -ENOMEM ? EX_OSERR : EX_UNAVAILABLE;
}

int app_run_live(struct app *app)
{
	struct itimerspec itv = {
		.it_interval = { 0, TICK_MS * 1000000L },
		.it_value = { 0, TICK_MS * 1000000L },
	};
	int epfd = -1, tfd = -1, http_fd = -1, err, status = 0;

	err = open_capture(app);
	if (err)
		return capture_status(err);
	err = app_attrib_open(app);
	if (err) {
		pr_warn("failed to set up process attribution: %s", strerror(-err));
		return EX_OSERR;
	}
	status = open_metrics(app);
	if (status)
		return status;
	/* Loaded and attached: keep only what later attachments need. */
	if (privs_drop_to_capture() == 0)
		pr_debug("dropped capabilities not needed for capture");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (epfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &itv, NULL)) {
		status = EX_OSERR;
		pr_warn("failed to set up the event loop: %s", strerror(errno));
		goto cleanup;
	}
	if (app->http)
		http_fd = metrics_http_fd(app->http);
	if ((err = add_fd(epfd, capture_epoll_fd(app->capture))) || (err = add_fd(epfd, tfd)) ||
	    (capture_netlink_fd(app->capture) >= 0 && (err = add_fd(epfd, capture_netlink_fd(app->capture)))) ||
	    (http_fd >= 0 && (err = add_fd(epfd, http_fd)))) {
		status = EX_OSERR;
		pr_warn("failed to set up the event loop: %s", strerror(-err));
		goto cleanup;
	}
	pr_info("listening on %d hooks (%s), %d ports", capture_n_attached(app->capture),
		capture_uses_tcx(app->capture) ? "tcx" : "clsact", app->opt.ports.n);
	if (app->opt.top) {
		status = app_top_start(app);
		if (!status && isatty(STDIN_FILENO) && (err = add_fd(epfd, STDIN_FILENO)))
			pr_warn("--top: keys cannot be read: %s", strerror(-err));
		if (status)
			goto cleanup;
	}
	app->watchdog_usec = sdnotify_watchdog_usec();
	sdnotify_send("READY=1");

	while (!app->done && !app_stop_signal) {
		struct epoll_event evs[8];
		int n;

		if (app_reload_signal) {
			app_reload_signal = 0;
			reload(app, epfd);
			continue;
		}
		n = epoll_wait(epfd, evs, 8, app->opt.wakeup_kb ? DRAIN_MS : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			status = EX_OSERR;
			pr_warn("epoll_wait: %s", strerror(errno));
			break;
		}
		/* Batched wakeups: what is below the threshold raised no event. */
		if (n == 0 && app->opt.wakeup_kb) {
			err = capture_poll(app->capture, 0);
			if (err < 0 && err != -EINTR) {
				pr_warn("failed to read the ring buffer: %s", strerror(-err));
				status = EX_IOERR;
				goto cleanup;
			}
			err = 0;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == tfd) {
				uint64_t expirations;

				if (read(tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
					pr_debug("timerfd: %s", strerror(errno));
				tick(app, app_clock_ns(CLOCK_MONOTONIC) / 1000000);
			} else if (app->opt.top && fd == STDIN_FILENO) {
				app_top_input(app);
			} else if (fd == http_fd) {
				metrics_http_dispatch(app->http);
			} else if (fd == capture_netlink_fd(app->capture)) {
				capture_handle_netlink(app->capture);
			} else if (fd == capture_epoll_fd(app->capture)) {
				err = capture_poll(app->capture, 0);
				if (err < 0 && err != -EINTR) {
					pr_warn("failed to read the ring buffer: %s", strerror(-err));
					status = EX_IOERR;
					goto cleanup;
				}
				err = 0;
			}
		}
	}
	/* Drain what the kernel already queued before detaching. */
	if (!app->done)
		capture_poll(app->capture, 0);
cleanup:
	if (app->opt.top)
		app_top_stop(app);
	sdnotify_send("STOPPING=1");
	if (tfd >= 0)
		close(tfd);
	if (epfd >= 0)
		close(epfd);
	return status;
}
