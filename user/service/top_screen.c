// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * top_screen.c - --top's terminal: Debian's ncurses draws the lines the
 * view's model renders (sinks/top_format.c) once a second, reads the keys,
 * and gives the terminal back on every way out: the end of the loop, exit(),
 * and a fatal signal (endwin from the handler, then the handler that was
 * there before, so a sanitizer still reports). While the screen is up,
 * stderr goes to a memory file, shown one line at a time at the bottom and
 * written to the real stderr when the terminal is back.
 */
#include <curses.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sysexits.h>
#include <unistd.h>

#include "core/log.h"
#include "sinks/top.h"
#include "app.h"

#define REFRESH_MS 1000
#define NOTICE_MS 10000

static struct {
	SCREEN *scr;
	bool up;                 /* curses owns the terminal */
	int saved_stderr, log_fd;
	off_t log_seen;
	char title[160];
	char notice[200];
	uint64_t notice_until_ms, last_ms;
	struct top_view view;
	struct sigaction old[NSIG];
	bool handlers;           /* on_fatal installed */
} scr = { .saved_stderr = -1, .log_fd = -1 };

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

/* The terminal back, and stderr: all that is safe enough from a handler. */
static void restore_terminal(void)
{
	if (scr.up) {
		scr.up = false;
		endwin();
	}
	if (scr.saved_stderr >= 0) {
		dup2(scr.saved_stderr, STDERR_FILENO);
		close(scr.saved_stderr);
		scr.saved_stderr = -1;
	}
}

static void on_fatal(int sig)
{
	restore_terminal();
	/* The previous handler (a sanitizer's, or the default) takes it on. */
	sigaction(sig, &scr.old[sig], NULL);
	raise(sig);
}

/* What was logged while the screen was up goes to the real stderr. */
static void replay_log(void)
{
	char buf[4096];
	ssize_t n;
	off_t off = 0;

	if (scr.log_fd < 0)
		return;
	while ((n = pread(scr.log_fd, buf, sizeof(buf), off)) > 0) {
		if (write(STDERR_FILENO, buf, (size_t)n) != n)
			break;
		off += n;
	}
	close(scr.log_fd);
	scr.log_fd = -1;
}

static void at_exit(void)
{
	restore_terminal();
	replay_log();
}

int app_top_check(const struct app *app)
{
	if (!app->opt.top)
		return 0;
	if (!isatty(STDOUT_FILENO)) {
		pr_warn("--top draws on a terminal, and standard output is not one: run it in a terminal, "
			"or use --json for a stream of events");
		return EX_USAGE;
	}
	return 0;
}

static void make_title(const struct options *o)
{
	size_t n = 0;

	for (int i = 0; i < o->n_ifaces && n < sizeof(scr.title); i++)
		n += snprintf(scr.title + n, sizeof(scr.title) - n, "%s%s", i ? "," : "", o->ifaces[i]);
	if (!o->n_ifaces)
		n += snprintf(scr.title + n, sizeof(scr.title) - n, "any");
	for (int i = 0; i < o->ports.n && n < sizeof(scr.title); i++)
		n += snprintf(scr.title + n, sizeof(scr.title) - n, "%s%u", i ? "," : " port ", o->ports.list[i]);
}

int app_top_start(struct app *app)
{
	struct top_opts to = { .json_key = app->opt.json_key[0] ? app->opt.json_key : NULL };
	struct sigaction sa = { .sa_handler = on_fatal };
	int err;

	err = top_new(&app->top, &to, exporter_metrics(app->exporter));
	if (err) {
		pr_warn("--top: %s", strerror(-err));
		return EX_OSERR;
	}
	make_title(&app->opt);
	scr.view.title = scr.title;
	scr.scr = newterm(NULL, stdout, stdin);
	if (!scr.scr) {
		pr_warn("--top: cannot use the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		return EX_USAGE;
	}
	scr.up = true;
	atexit(at_exit);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		sigaction(fatal_signals[i], &sa, &scr.old[fatal_signals[i]]);
	scr.handlers = true;
	cbreak(); /* keys at once; Ctrl-C still a SIGINT, which ends the loop */
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	/* Log lines would scribble over the screen: they wait in memory. */
	scr.log_fd = memfd_create("wstrace-top-log", MFD_CLOEXEC);
	if (scr.log_fd >= 0) {
		fflush(stderr);
		scr.saved_stderr = dup(STDERR_FILENO);
		if (scr.saved_stderr < 0 || dup2(scr.log_fd, STDERR_FILENO) < 0) {
			close(scr.log_fd);
			scr.log_fd = -1;
		}
	}
	top_refresh(app->top, app_clock_ns(CLOCK_REALTIME));
	scr.last_ms = app_clock_ns(CLOCK_MONOTONIC) / 1000000;
	app_top_draw(app);
	return 0;
}

static void draw_line(void *ctx, int y, const char *text, enum top_attr attr)
{
	attr_t a = A_NORMAL;

	(void)ctx;
	switch (attr) {
	case TOP_ATTR_TITLE: a = A_REVERSE; break;
	case TOP_ATTR_HEADING: a = A_BOLD | A_UNDERLINE; break;
	case TOP_ATTR_ALERT: a = A_BOLD; break;
	case TOP_ATTR_DIM: a = A_DIM; break;
	default: break;
	}
	attrset(a);
	mvaddnstr(y, 0, text, COLS);
	if (attr == TOP_ATTR_TITLE) /* the bar spans the screen */
		for (int x = (int)strlen(text); x < COLS; x++)
			mvaddch(y, x, ' ');
	attrset(A_NORMAL);
}

/* The newest line logged, for a while at the bottom of the screen. */
static void check_log(uint64_t now_ms)
{
	char buf[sizeof(scr.notice)];
	off_t size = scr.log_fd >= 0 ? lseek(scr.log_fd, 0, SEEK_END) : 0;
	off_t from;
	ssize_t n;
	char *line, *end;

	if (size <= scr.log_seen)
		return;
	scr.log_seen = size;
	from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
	n = pread(scr.log_fd, buf, sizeof(buf) - 1, from);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	for (end = line; *end; end++)
		if ((unsigned char)*end < 0x20 || (unsigned char)*end >= 0x7f)
			*end = '?';
	snprintf(scr.notice, sizeof(scr.notice), "%s", line);
	scr.notice_until_ms = now_ms + NOTICE_MS;
}

void app_top_draw(struct app *app)
{
	uint64_t now_ms = app_clock_ns(CLOCK_MONOTONIC) / 1000000;

	if (!scr.up)
		return;
	check_log(now_ms);
	scr.view.notice = now_ms < scr.notice_until_ms ? scr.notice : NULL;
	erase();
	top_render(app->top, &scr.view, COLS, LINES, app_clock_ns(CLOCK_REALTIME), draw_line, NULL);
	refresh();
}

/* A key while typing a filter after '/'. */
static void filter_key(int ch)
{
	size_t n = strlen(scr.view.filter);

	if (ch == 27) { /* Esc: no filter */
		scr.view.filter[0] = '\0';
		scr.view.editing = false;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		scr.view.editing = false;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (n)
			scr.view.filter[n - 1] = '\0';
	} else if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof(scr.view.filter)) {
		scr.view.filter[n] = (char)ch;
		scr.view.filter[n + 1] = '\0';
	}
}

void app_top_input(struct app *app)
{
	bool redraw = false;
	int ch;

	if (!scr.up)
		return;
	while ((ch = getch()) != ERR) {
		redraw = true;
		if (scr.view.editing) {
			filter_key(ch);
			continue;
		}
		switch (ch) {
		case 'q':
		case 'Q':
			app->done = true; /* the loop ends, status 0 */
			return;
		case 's':
			scr.view.sort = (scr.view.sort + 1) % TOP_SORT_MAX;
			break;
		case 'r':
			scr.view.reverse = !scr.view.reverse;
			break;
		case 'p':
		case ' ':
			scr.view.paused = !scr.view.paused;
			break;
		case '/':
			scr.view.editing = true;
			scr.view.filter[0] = '\0';
			break;
		case 27:
			scr.view.filter[0] = '\0';
			break;
		default: /* KEY_RESIZE among them: curses has the new size */
			break;
		}
	}
	if (redraw)
		app_top_draw(app);
}

void app_top_tick(struct app *app, uint64_t now_ms)
{
	if (!scr.up)
		return;
	/* A resize arrives as a key after SIGWINCH, not as input on stdin. */
	app_top_input(app);
	if (app->done || now_ms - scr.last_ms < REFRESH_MS)
		return;
	scr.last_ms = now_ms;
	if (scr.view.paused)
		return;
	app_update_metrics(app);
	top_refresh(app->top, app_clock_ns(CLOCK_REALTIME));
	app_top_draw(app);
}

void app_top_stop(struct app *app)
{
	(void)app;
	restore_terminal();
	if (scr.scr) {
		delscreen(scr.scr);
		scr.scr = NULL;
	}
	for (size_t i = 0; scr.handlers && i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		sigaction(fatal_signals[i], &scr.old[fatal_signals[i]], NULL);
	scr.handlers = false;
	replay_log();
}
