/* util.c - small shared pieces of the runtime: engine names and error reporting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ebpf/internal.h"
#include "lib/util/log.h"

int ebpf_engine_parse(const char *name, enum ebpf_engine *engine)
{
	if (!name || !engine)
		return -EINVAL;
	if (!strcmp(name, "jit")) {
		*engine = EBPF_ENGINE_JIT;
		return 0;
	}
	if (!strcmp(name, "interp") || !strcmp(name, "interpreter")) {
		*engine = EBPF_ENGINE_INTERP;
		return 0;
	}
	return -EINVAL;
}

const char *ebpf_engine_name(enum ebpf_engine engine)
{
	switch (engine) {
	case EBPF_ENGINE_INTERP:
		return "interp";
	case EBPF_ENGINE_JIT:
		return "jit";
	}
	return "unknown";
}

/* The message goes to the caller's buffer when there is one (the caller
 * then decides how to show it); otherwise it is logged, so a failure always
 * reaches the user one way or the other. */
void ebpf_set_err(char *err, size_t err_size, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (err && err_size) {
		snprintf(err, err_size, "%s", msg);
		pr_debug("ebpf: %s", msg);
	} else {
		pr_warn("ebpf: %s", msg);
	}
}
