/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * config.h - the configuration file: "key = value" lines.
 *
 * Keys are the long command-line option names without "--" (interface,
 * port, json, metrics, ...), so one code path handles both; options that
 * may repeat on the command line may repeat here. Format:
 *   - '#' as the first non-blank character starts a comment line;
 *     there are no trailing comments ('#' inside a value is kept);
 *   - blank lines are ignored; CRLF line ends and a UTF-8 BOM are accepted;
 *   - the value is the rest of the line after '=', trimmed of blanks;
 *     no quoting or escapes; it may be empty;
 *   - lines are at most CONFIG_MAX_LINE - 1 bytes, files CONFIG_MAX_FILE.
 */
#ifndef WST_CONFIG_H
#define WST_CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/wstrace/wstrace.conf"
#define CONFIG_MAX_LINE 4096
#define CONFIG_MAX_FILE (1 << 20)

/*
 * Called for each pair, in file order. Returns 0, or -ENOENT for an
 * unknown key, -EINVAL or -ERANGE for a bad value, any other -errno: the
 * parser stops and reports it with the file name and line.
 */
typedef int (*config_option_fn)(void *ctx, const char *key, const char *value,
				unsigned int line);

/*
 * Reads path and calls fn for each pair. Returns 0; -ENOENT if the file
 * does not exist (and only then, so a missing default file can be
 * ignored); -EINVAL for a syntax error or an option fn rejected, with
 * "path:line: ..." in err; -EFBIG, or another -errno from reading.
 */
int config_parse_file(const char *path, config_option_fn fn, void *ctx,
		      char *err, size_t errlen);

/* The same on text in memory; name is used in messages. */
int config_parse_buffer(const char *name, const char *text, size_t len,
			config_option_fn fn, void *ctx, char *err, size_t errlen);

#endif /* WST_CONFIG_H */
