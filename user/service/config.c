// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* config.c - "key = value" configuration file parser. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool valid_key(const char *k)
{
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '-' || *k == '_'))
			return false;
	return true;
}

static char *trim(char *s, char *end)
{
	while (s < end && is_blank(*s))
		s++;
	while (end > s && is_blank(end[-1]))
		end--;
	*end = '\0';
	return s;
}

static int option_error(int ret, const char *name, unsigned int line,
			const char *key, const char *value, char *err,
			size_t errlen)
{
	switch (ret) {
	case -ENOENT:
		snprintf(err, errlen, "%s:%u: unknown option \"%s\"", name, line, key);
		break;
	case -EINVAL:
		snprintf(err, errlen, "%s:%u: invalid value \"%s\" for \"%s\"",
			 name, line, value, key);
		break;
	case -ERANGE:
		snprintf(err, errlen, "%s:%u: value \"%s\" out of range for \"%s\"",
			 name, line, value, key);
		break;
	default:
		snprintf(err, errlen, "%s:%u: %s: %s", name, line, key,
			 strerror(-ret));
		break;
	}
	return -EINVAL;
}

int config_parse_buffer(const char *name, const char *text, size_t len,
			config_option_fn fn, void *ctx, char *err, size_t errlen)
{
	char buf[CONFIG_MAX_LINE];
	const char *p = text, *end = text + len, *nl;
	unsigned int line = 0;
	char *s, *eq, *key, *value;
	size_t n;
	int ret;

	if (errlen)
		err[0] = '\0';
	/* A UTF-8 byte order mark, as some editors write. */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		line++;
		nl = memchr(p, '\n', end - p);
		n = (nl ? nl : end) - p;
		if (n && p[n - 1] == '\r')
			n--;
		if (n >= sizeof(buf)) {
			snprintf(err, errlen, "%s:%u: line too long (over %d bytes)",
				 name, line, CONFIG_MAX_LINE - 1);
			return -EINVAL;
		}
		if (memchr(p, '\0', n)) {
			snprintf(err, errlen, "%s:%u: NUL byte in line", name, line);
			return -EINVAL;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		p = nl ? nl + 1 : end;

		s = trim(buf, buf + n);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq || eq == s) {
			snprintf(err, errlen, "%s:%u: expected \"key = value\"",
				 name, line);
			return -EINVAL;
		}
		value = trim(eq + 1, s + strlen(s));
		key = trim(s, eq);
		if (!valid_key(key)) {
			snprintf(err, errlen, "%s:%u: invalid option name \"%s\"",
				 name, line, key);
			return -EINVAL;
		}
		ret = fn(ctx, key, value, line);
		if (ret < 0)
			return option_error(ret, name, line, key, value, err, errlen);
	}
	return 0;
}

int config_parse_file(const char *path, config_option_fn fn, void *ctx,
		      char *err, size_t errlen)
{
	struct stat st;
	size_t len = 0;
	ssize_t n;
	char *text;
	int fd, ret;

	if (errlen)
		err[0] = '\0';
	/* O_NONBLOCK: a FIFO must not hang start-up (checked below). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		snprintf(err, errlen, "cannot read %s: not a regular file", path);
		close(fd);
		return ret;
	}
	text = malloc(CONFIG_MAX_FILE + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	/* Read one byte past the limit to tell "too large" from "exactly". */
	for (;;) {
		n = read(fd, text + len, CONFIG_MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (len > CONFIG_MAX_FILE)
			break;
	}
	if (n < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	} else if (len > CONFIG_MAX_FILE) {
		ret = -EFBIG;
		snprintf(err, errlen, "%s: file too large (over %d bytes)", path,
			 CONFIG_MAX_FILE);
	} else {
		ret = config_parse_buffer(path, text, len, fn, ctx, err, errlen);
	}
	free(text);
	close(fd);
	return ret;
}
