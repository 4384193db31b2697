/* main.c - flextoe-bpf entry point: global flags and dispatch to the verbs (one file each). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lib/util/log.h"
#include "loader/bpf-cli/cli.h"

static struct cli_verb *verbs;

/* Kept sorted by name, so usage lists them alphabetically. */
void cli_register_verb(struct cli_verb *verb)
{
	struct cli_verb **p = &verbs;

	while (*p && strcmp((*p)->name, verb->name) < 0)
		p = &(*p)->next;
	verb->next = *p;
	*p = verb;
}

static void usage(FILE *f)
{
	const struct cli_verb *v;

	fprintf(f, "Usage: %s [-v] COMMAND [options]\n\n"
		"Manage FlexTOE eBPF/XDP programs.\n\nCommands:\n", CLI_NAME);
	for (v = verbs; v; v = v->next)
		fprintf(f, "  %-12s %s\n", v->name, v->summary);
	fprintf(f, "\nGlobal options:\n"
		"  -v, --verbose   more output (repeat for debug messages)\n"
		"  -h, --help      this help\n\n"
		"Run '%s COMMAND -h' for the options of a command.\n", CLI_NAME);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum ftoe_log_level level = FTOE_LOG_WARN;
	const struct cli_verb *v;
	int c;

	ftoe_log_set_prefix(CLI_NAME);
	/* '+': stop at the verb; its options belong to it. */
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (level < FTOE_LOG_DEBUG)
				level++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	ftoe_log_set_level(level);
	if (optind >= argc) {
		fprintf(stderr, "%s: no command given\n\n", CLI_NAME);
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	for (v = verbs; v; v = v->next) {
		if (!strcmp(v->name, argv[optind])) {
			argv += optind;
			argc -= optind;
			optind = 0;	/* re-initialise getopt for the verb's flags */
			return v->run(argc, argv);
		}
	}
	fprintf(stderr, "%s: unknown command '%s'\n\n", CLI_NAME, argv[optind]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
