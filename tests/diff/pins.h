/* pins.h - detects and removes maps the loader pinned by name in /sys/fs/bpf (it must not pin). */
#ifndef FTOE_TESTS_DIFF_PINS_H
#define FTOE_TESTS_DIFF_PINS_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebpf/ebpf.h"

/* The runtime must not pin maps (libbpf honours LIBBPF_PIN_BY_NAME, which
 * xdp-filter's maps carry, unless the loader clears it): the three objects
 * would share one kernel map, state would leak from run to run, and a
 * running xdp-filter's pinned configuration would be reused and changed.
 * New entries in the default pin directory named after a map of the object
 * are reported (tag: "FAIL" in tests, "WARNING" in the benchmark) and
 * removed; returns how many. */
#define PIN_DIR "/sys/fs/bpf"

struct pinlist {
	char (*names)[256];
	size_t n;
};

static inline void pins_list(struct pinlist *pl)
{
	DIR *d = opendir(PIN_DIR);
	struct dirent *de;

	memset(pl, 0, sizeof(*pl));
	if (!d)
		return;
	while ((de = readdir(d))) {
		char (*p)[256] = realloc(pl->names, (pl->n + 1) * sizeof(*pl->names));

		if (!p)
			break;
		pl->names = p;
		snprintf(pl->names[pl->n++], 256, "%s", de->d_name);
	}
	closedir(d);
}

static inline bool pins_has(const struct pinlist *pl, const char *name)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		if (!strcmp(pl->names[i], name))
			return true;
	return false;
}

static inline uint32_t pins_check(const struct pinlist *before, struct ebpf_object *obj,
				  const char *objname, const char *tag)
{
	struct pinlist after;
	struct ebpf_map *m = NULL;
	uint32_t bad = 0;

	pins_list(&after);
	while (obj && (m = ebpf_object_next_map(obj, m))) {
		const char *name = ebpf_map_name(m);
		char path[512];

		if (!pins_has(&after, name) || pins_has(before, name))
			continue;
		snprintf(path, sizeof(path), PIN_DIR "/%s", name);
		printf("%s %s: loading pinned map %s at %s (LIBBPF_PIN_BY_NAME): the runtime "
		       "must not pin, objects would share kernel maps; removed it\n",
		       tag, objname, name, path);
		unlink(path);
		bad++;
	}
	free(after.names);
	return bad;
}

#endif
