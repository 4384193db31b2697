/* run_config.c - libxdp's XDP_RUN_CONFIG metadata (priority, chain-call actions) from BTF. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>

#include "ebpf/internal.h"

#define XDP_DEFAULT_PRIORITY	50
#define XDP_DEFAULT_CHAIN	(1u << XDP_PASS)

/* Section names the XDP_RUN_CONFIG() macro has used across xdp-tools
 * releases (headers/xdp/xdp_helpers.h). */
static const char *const run_config_secs[] = {
	".xdp_run_config", "xdp_run_config", ".data.xdp_run_config",
};

static const char *const action_names[] = {
	[XDP_ABORTED] = "XDP_ABORTED",
	[XDP_DROP] = "XDP_DROP",
	[XDP_PASS] = "XDP_PASS",
	[XDP_TX] = "XDP_TX",
	[XDP_REDIRECT] = "XDP_REDIRECT",
};

static const struct btf_type *skip_mods(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	return t;
}

/* Values are encoded as libbpf's __uint(name, val): a pointer to an array
 * of val elements. */
static int member_value(const struct btf *btf, const struct btf_member *m,
			uint32_t *val)
{
	const struct btf_type *t = skip_mods(btf, m->type);

	if (!t || !btf_is_ptr(t))
		return -EINVAL;
	t = skip_mods(btf, t->type);
	if (!t || !btf_is_array(t))
		return -EINVAL;
	*val = btf_array(t)->nelems;
	return 0;
}

static const struct btf_type *find_config(const struct btf *btf, const char *var_name)
{
	size_t s;

	for (s = 0; s < sizeof(run_config_secs) / sizeof(run_config_secs[0]); s++) {
		int id = btf__find_by_name_kind(btf, run_config_secs[s], BTF_KIND_DATASEC);
		const struct btf_var_secinfo *vsi;
		const struct btf_type *sec;
		int i;

		if (id <= 0)
			continue;
		sec = btf__type_by_id(btf, (uint32_t)id);
		vsi = btf_var_secinfos(sec);
		for (i = 0; i < btf_vlen(sec); i++, vsi++) {
			const struct btf_type *var = btf__type_by_id(btf, vsi->type);
			const char *name;

			if (!var || !btf_is_var(var))
				continue;
			name = btf__name_by_offset(btf, var->name_off);
			if (name && !strcmp(name, var_name))
				return skip_mods(btf, var->type);
		}
	}
	return NULL;
}

int ebpf_run_config_parse(const struct btf *btf, const char *prog_name,
			  struct ebpf_xdp_run_config *cfg, char *err, size_t err_size)
{
	const struct btf_member *m;
	const struct btf_type *def;
	char var_name[128];
	int i;

	cfg->priority = XDP_DEFAULT_PRIORITY;
	cfg->chain_call_actions = XDP_DEFAULT_CHAIN;
	cfg->present = false;
	if (!btf)
		return 0;
	/* XDP_RUN_CONFIG(f) declares a variable named "_f". */
	snprintf(var_name, sizeof(var_name), "_%s", prog_name);
	def = find_config(btf, var_name);
	if (!def)
		return 0;
	if (!btf_is_struct(def)) {
		ebpf_set_err(err, err_size, "program '%s': XDP_RUN_CONFIG is not a struct",
			     prog_name);
		return -EINVAL;
	}
	m = btf_members(def);
	for (i = 0; i < btf_vlen(def); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		uint32_t val, act;

		if (!mname || member_value(btf, m, &val)) {
			ebpf_set_err(err, err_size,
				     "program '%s': XDP_RUN_CONFIG field #%d is not an __uint()",
				     prog_name, i);
			return -EINVAL;
		}
		if (!strcmp(mname, "priority")) {
			cfg->priority = (int32_t)val;
			continue;
		}
		for (act = 0; act < sizeof(action_names) / sizeof(action_names[0]); act++)
			if (!strcmp(mname, action_names[act]))
				break;
		if (act == sizeof(action_names) / sizeof(action_names[0])) {
			ebpf_set_err(err, err_size,
				     "program '%s': unknown XDP_RUN_CONFIG field '%s' "
				     "(expected priority or an XDP_* action)", prog_name, mname);
			return -EOPNOTSUPP;
		}
		if (val)
			cfg->chain_call_actions |= 1u << act;
		else
			cfg->chain_call_actions &= ~(1u << act);
	}
	cfg->present = true;
	return 0;
}
