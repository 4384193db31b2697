/* log.h - leveled logging shared by every FlexTOE binary. */
#ifndef FTOE_UTIL_LOG_H
#define FTOE_UTIL_LOG_H

#include <stdarg.h>

enum ftoe_log_level {
	FTOE_LOG_ERROR = 0,
	FTOE_LOG_WARN,
	FTOE_LOG_INFO,
	FTOE_LOG_DEBUG,
};

/* Messages at or below this level are printed (default: WARN). */
void ftoe_log_set_level(enum ftoe_log_level level);
enum ftoe_log_level ftoe_log_get_level(void);

/* Prefix printed before every message, e.g. the program name. */
void ftoe_log_set_prefix(const char *prefix);

/* Redirect output (tests capture messages); NULL restores stderr. */
typedef void (*ftoe_log_fn)(enum ftoe_log_level level, const char *msg);
void ftoe_log_set_sink(ftoe_log_fn fn);

void ftoe_log(enum ftoe_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ftoe_vlog(enum ftoe_log_level level, const char *fmt, va_list ap);

#define pr_err(...)   ftoe_log(FTOE_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  ftoe_log(FTOE_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  ftoe_log(FTOE_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) ftoe_log(FTOE_LOG_DEBUG, __VA_ARGS__)

#endif
