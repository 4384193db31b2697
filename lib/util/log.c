/* log.c - leveled logging to stderr or a caller-supplied sink. */
#include <stdio.h>
#include <string.h>

#include "lib/util/log.h"

static enum ftoe_log_level log_level = FTOE_LOG_WARN;
static const char *log_prefix;
static ftoe_log_fn log_sink;

void ftoe_log_set_level(enum ftoe_log_level level) { log_level = level; }
enum ftoe_log_level ftoe_log_get_level(void) { return log_level; }
void ftoe_log_set_prefix(const char *prefix) { log_prefix = prefix; }
void ftoe_log_set_sink(ftoe_log_fn fn) { log_sink = fn; }

void ftoe_vlog(enum ftoe_log_level level, const char *fmt, va_list ap)
{
	char msg[4096];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_sink) {
		log_sink(level, msg);
		return;
	}
	if (log_prefix)
		fprintf(stderr, "%s: ", log_prefix);
	fputs(msg, stderr);
	if (!*msg || msg[strlen(msg) - 1] != '\n')
		fputc('\n', stderr);
}

void ftoe_log(enum ftoe_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ftoe_vlog(level, fmt, ap);
	va_end(ap);
}
