/* conf.c - the configuration file (--config FILE, flextoe.conf(5)): its settings become command-line options. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/daemon/daemon.h"

/*
 * One setting per line, "NAME = VALUE" or "NAME VALUE", NAME being any
 * long option of flextoe(8) without its dashes; '#' starts a comment.  A
 * flag (force, no-loaderd) takes no value or yes/no; verbose a count.
 * The file's settings go in front of the command line's options, so the
 * command line wins (opts.c's parser reads them all, in order): every
 * option is a setting, and no setting has a second parser to keep in step.
 */

#define CONF_MAX_ARGS 256

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int conf_bad(const char *path, unsigned int line, const char *what, const char *name)
{
	fprintf(stderr, "flextoe: %s:%u: %s '%s' (see flextoe.conf(5))\n", path, line, what, name);
	return -EINVAL;
}

static const struct option *find_opt(const struct option *opts, const char *name)
{
	for (; opts->name; opts++)
		if (!strcmp(opts->name, name))
			return opts;
	return NULL;
}

static bool yes(const char *v)
{
	return !*v || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on");
}

static bool no(const char *v)
{
	return !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off");
}

/* Append path's settings as options to out (nout so far, CONF_MAX_ARGS at
 * most).  0 or -errno after a message. */
static int conf_read(const char *path, const struct option *opts, char **out, int *nout)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	unsigned int line = 0;
	int err = 0;

	if (!f) {
		err = -errno;
		fprintf(stderr, "flextoe: cannot read the configuration %s: %s\n", path,
			strerror(errno));
		return err;
	}
	while (!err && fgets(buf, sizeof(buf), f)) {
		const struct option *o;
		char *name, *val, *hash = strchr(buf, '#');
		size_t n;

		line++;
		if (!strchr(buf, '\n') && !feof(f)) {
			err = conf_bad(path, line, "line too long, at", "1023 bytes");
			break;
		}
		if (hash)
			*hash = '\0';
		name = trim(buf);
		if (!*name)
			continue;
		n = strcspn(name, " \t=");
		val = name + n;
		if (*val) {
			*val++ = '\0';
			val = trim(val);
			if (*val == '=')
				val = trim(val + 1);
		}
		o = find_opt(opts, name);
		if (!o || !strcmp(name, "config") || !strcmp(name, "help")) {
			err = conf_bad(path, line, o ? "not a setting:" : "unknown setting", name);
			break;
		}
		if (o->has_arg == required_argument && !*val) {
			err = conf_bad(path, line, "a value is needed for", name);
			break;
		}
		if (o->has_arg == no_argument) {
			long count = 1;

			if (!strcmp(name, "verbose") && isdigit((unsigned char)*val))
				count = strtol(val, NULL, 10);
			else if (no(val))
				count = 0;
			else if (!yes(val)) {
				err = conf_bad(path, line, "expected yes or no for", name);
				break;
			}
			for (; !err && count > 0; count--) {
				if (*nout >= CONF_MAX_ARGS - 2)
					err = conf_bad(path, line, "too many settings, at", name);
				else if (asprintf(&out[(*nout)++], "--%s", name) < 0)
					err = -ENOMEM;
			}
			continue;
		}
		if (*nout >= CONF_MAX_ARGS - 2) {
			err = conf_bad(path, line, "too many settings, at", name);
			break;
		}
		if (asprintf(&out[(*nout)++], "--%s", name) < 0 || !(out[(*nout)++] = strdup(val)))
			err = -ENOMEM;
	}
	fclose(f);
	if (err == -ENOMEM)
		fprintf(stderr, "flextoe: out of memory\n");
	return err;
}

int conf_expand(int *argc, char ***argv, const struct option *opts)
{
	const char *path = NULL;
	char **nargv;
	int n = 1, err;

	/* --config FILE, --config=FILE or -c FILE, anywhere on the line */
	for (int i = 1; i < *argc; i++) {
		const char *a = (*argv)[i];

		if (!strcmp(a, "--"))
			break;
		if ((!strcmp(a, "--config") || !strcmp(a, "-c")) && i + 1 < *argc)
			path = (*argv)[i + 1];
		else if (!strncmp(a, "--config=", 9))
			path = a + 9;
	}
	if (!path)
		return 0;
	/* The process keeps these for its life: the options point into them. */
	nargv = calloc(CONF_MAX_ARGS + (size_t)*argc + 1, sizeof(*nargv));
	if (!nargv) {
		fprintf(stderr, "flextoe: out of memory\n");
		return -ENOMEM;
	}
	nargv[0] = (*argv)[0];
	err = conf_read(path, opts, nargv, &n);
	if (err)
		return err;
	for (int i = 1; i < *argc; i++)
		nargv[n++] = (*argv)[i];
	*argc = n;
	*argv = nargv;
	return 0;
}
