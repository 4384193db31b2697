/* config.c - reads flextoe-nfpsim's parameter file: "key = value  # source" lines. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nfp/sim/config.h"

static const char *const names[] = {
#define SIM_PARAM_NAME_(n) #n,
	SIM_PARAM_LIST(SIM_PARAM_NAME_)
#undef SIM_PARAM_NAME_
};
#define NPARAMS (sizeof(names) / sizeof(names[0]))

int sim_params_load(const char *path, struct sim_params *p)
{
	double *v = (double *)p;
	bool set[NPARAMS] = { 0 };
	char line[512];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	_Static_assert(sizeof(struct sim_params) == NPARAMS * sizeof(double), "params are doubles");
	if (!f) {
		int err = errno;

		fprintf(stderr, "flextoe-nfpsim: cannot open the parameter file %s: %s "
				"(--config FILE; the default is core/nfp/sim/nfpsim.conf)\n",
			path, strerror(err));
		return -err;
	}
	while (fgets(line, sizeof(line), f)) {
		char key[64], *hash = strchr(line, '#'), *end;
		double val;
		unsigned i;
		int n;

		lineno++;
		if (hash)
			*hash = 0;
		if (sscanf(line, " %63[a-z0-9_] = %n", key, &n) != 1) {
			if (strspn(line, " \t\r\n") != strlen(line))
				goto bad;
			continue;
		}
		errno = 0;
		val = strtod(line + n, &end);
		if (errno || end == line + n || strspn(end, " \t\r\n") != strlen(end) || !isfinite(val) ||
		    val < 0)
			goto bad;
		for (i = 0; i < NPARAMS && strcmp(names[i], key); i++)
			;
		if (i == NPARAMS) {
			fprintf(stderr, "flextoe-nfpsim: %s:%u: unknown parameter '%s'\n", path, lineno, key);
			fclose(f);
			return -EINVAL;
		}
		v[i] = val;
		set[i] = true;
	}
	fclose(f);
	for (unsigned i = 0; i < NPARAMS; i++)
		if (!set[i]) {
			fprintf(stderr, "flextoe-nfpsim: %s: parameter '%s' is missing\n", path, names[i]);
			return -EINVAL;
		}
	if (p->clock_mhz <= 0 || p->contexts < 1 || p->contexts > 8 || p->bw_cls <= 0 ||
	    p->bw_ctm <= 0 || p->bw_imem <= 0 || p->bw_emem <= 0 || p->pcie_gbps <= 0 ||
	    p->mac_gbps <= 0 || p->mac_ports < 1 || p->mac_ports > 4 || p->rpc_window < 1 ||
	    p->rpc_window > 63 || p->bulk_window < 1 ||
	    p->mss < 1 || p->measure_us <= 0) {
		fprintf(stderr, "flextoe-nfpsim: %s: a rate, size or count is zero or out of range "
				"(contexts 1..8, mac_ports 1..4, rpc_window 1..63)\n", path);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "flextoe-nfpsim: %s:%u: expected 'key = number  # source', got: %s", path,
		lineno, line);
	fclose(f);
	return -EINVAL;
}
