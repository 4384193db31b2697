/* object_presets.c - what a libbpf skeleton sets between open and load: map sizes and global variables. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ebpf/internal.h"
#include "lib/util/hex.h"

static bool is_legacy(const struct ebpf_legacy_map *lmaps, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(lmaps[i].name, name))
			return true;
	return false;
}

static void list_maps(struct bpf_object *lobj, char *buf, size_t size)
{
	struct bpf_map *m;
	size_t used = 0;

	buf[0] = '\0';
	bpf_object__for_each_map(m, lobj) {
		if (bpf_map__is_internal(m) || used >= size)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
					 bpf_map__name(m));
	}
}

static int apply_sizes(struct bpf_object *lobj, const char *obj_name,
		       const struct ebpf_map_size *sizes, size_t nr_sizes,
		       const struct ebpf_legacy_map *lmaps, size_t nr_lmaps,
		       char *err, size_t err_size)
{
	char names[512];
	struct bpf_map *m;
	size_t k;
	int ret;

	for (k = 0; k < nr_sizes; k++) {
		if (is_legacy(lmaps, nr_lmaps, sizes[k].name))
			continue;
		m = bpf_object__find_map_by_name(lobj, sizes[k].name);
		if (!m || bpf_map__is_internal(m)) {
			list_maps(lobj, names, sizeof(names));
			ebpf_set_err(err, err_size, "%s: no map named '%s' to size; its maps "
				     "are: %s", obj_name, sizes[k].name, names);
			return -ENOENT;
		}
		if (!sizes[k].max_entries) {
			ebpf_set_err(err, err_size, "map '%s': a size of 0 entries is not a "
				     "size", sizes[k].name);
			return -EINVAL;
		}
		ret = bpf_map__set_max_entries(m, sizes[k].max_entries);
		if (ret) {
			ebpf_set_err(err, err_size, "map '%s': cannot set its size: %s",
				     sizes[k].name, strerror(-ret));
			return ret;
		}
	}
	/* libbpf sizes a perf event array by the CPUs when it says 0; any
	 * other map needs the size its own loader would have given it. */
	bpf_object__for_each_map(m, lobj) {
		if (bpf_map__max_entries(m) || bpf_map__is_internal(m) ||
		    bpf_map__type(m) == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			continue;
		ebpf_set_err(err, err_size, "map '%s' is declared with max_entries 0: its "
			     "loader sizes it before load; give it a size (flextoe-bpf "
			     "--map-size %s=N)", bpf_map__name(m), bpf_map__name(m));
		return -EINVAL;
	}
	return 0;
}

/* The internal map (".rodata", ".data", ".bss" and their named
 * variants) whose BTF section is sec: libbpf names it "<obj>.<sec>",
 * keeping the section part whole. */
static struct bpf_map *internal_map_of(struct bpf_object *lobj, const char *sec)
{
	size_t sl = strlen(sec);
	struct bpf_map *m;

	bpf_object__for_each_map(m, lobj) {
		const char *n = bpf_map__name(m);
		size_t nl = strlen(n);

		if (bpf_map__is_internal(m) && nl >= sl && !strcmp(n + nl - sl, sec))
			return m;
	}
	return NULL;
}

/* Find variable name in the object's data sections: its map, offset and
 * size.  -ENOENT when no section has it. */
static int find_global(struct bpf_object *lobj, const char *name, struct bpf_map **map,
		       uint32_t *off, uint32_t *size)
{
	const struct btf *btf = bpf_object__btf(lobj);
	uint32_t id, n;

	if (!btf)
		return -ENOENT;
	n = btf__type_cnt(btf);
	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_var_secinfo *vs;
		const char *sec;
		uint16_t i;

		if (!btf_is_datasec(t))
			continue;
		sec = btf__name_by_offset(btf, t->name_off);
		if (!sec || !strcmp(sec, ".kconfig") || !strcmp(sec, ".ksyms"))
			continue;
		vs = btf_var_secinfos(t);
		for (i = 0; i < btf_vlen(t); i++, vs++) {
			const struct btf_type *v = btf__type_by_id(btf, vs->type);
			const char *vn = v ? btf__name_by_offset(btf, v->name_off) : NULL;

			if (!vn || strcmp(vn, name))
				continue;
			*map = internal_map_of(lobj, sec);
			if (!*map)
				return -ENOENT;
			*off = vs->offset;
			*size = vs->size;
			return 0;
		}
	}
	return -ENOENT;
}

static int apply_globals(struct bpf_object *lobj, const char *obj_name,
			 const struct ebpf_global_init *globals, size_t nr_globals,
			 char *err, size_t err_size)
{
	size_t k;

	for (k = 0; k < nr_globals; k++) {
		const struct ebpf_global_init *g = &globals[k];
		struct bpf_map *m;
		uint32_t off, size;
		size_t msz;
		uint8_t *mem;

		if (find_global(lobj, g->name, &m, &off, &size)) {
			ebpf_set_err(err, err_size, "%s: no global variable named '%s' in its "
				     ".rodata, .data or .bss (from the object's BTF)",
				     obj_name, g->name);
			return -ENOENT;
		}
		if (g->size != size || !g->data) {
			ebpf_set_err(err, err_size, "global '%s' is %u bytes; %zu given",
				     g->name, size, g->data ? g->size : 0);
			return -EINVAL;
		}
		/* Before load the initial value is libbpf's writable image of
		 * the section, which is what a skeleton writes through. */
		mem = (uint8_t *)(uintptr_t)bpf_map__initial_value(m, &msz);
		if (!mem || (size_t)off + size > msz) {
			ebpf_set_err(err, err_size, "global '%s': its section %s has no "
				     "initial image to write", g->name, bpf_map__name(m));
			return -EINVAL;
		}
		memcpy(mem + off, g->data, size);
	}
	return 0;
}

int ebpf_object_presets(struct bpf_object *lobj, const char *obj_name,
			const struct ebpf_map_size *sizes, size_t nr_sizes,
			const struct ebpf_global_init *globals, size_t nr_globals,
			const struct ebpf_legacy_map *lmaps, size_t nr_lmaps,
			char *err, size_t err_size)
{
	int ret;

	ret = apply_sizes(lobj, obj_name, sizes, nr_sizes, lmaps, nr_lmaps, err, err_size);
	if (!ret)
		ret = apply_globals(lobj, obj_name, globals, nr_globals, err, err_size);
	return ret;
}

/* ---- the text form ("NAME=N", "NAME=HEX") --------------------------------------- */

/* The name before '=' (allocated), or NULL with err set. */
static char *spec_name(const char *spec, const char *what, char *err, size_t err_size)
{
	const char *eq = strchr(spec, '=');
	char *name;

	if (!eq || eq == spec || !eq[1]) {
		snprintf(err, err_size, "%s wants NAME=%s, not '%s'", what,
			 !strcmp(what, "--map-size") ? "N" : "HEX", spec);
		return NULL;
	}
	name = strndup(spec, (size_t)(eq - spec));
	if (!name)
		snprintf(err, err_size, "out of memory");
	return name;
}

int ebpf_presets_add_size(struct ebpf_presets *p, const char *spec, char *err, size_t err_size)
{
	char *name = spec_name(spec, "--map-size", err, err_size), *end;
	const char *num = strchr(spec, '=') + 1;
	struct ebpf_map_size *s;
	unsigned long n;

	if (!name)
		return -EINVAL;
	errno = 0;
	n = strtoul(num, &end, 0);
	if (errno || *end || num[0] == '-' || !n || n > UINT32_MAX) {
		snprintf(err, err_size, "--map-size %s: '%s' is not a size from 1 to %u", name, num,
			 UINT32_MAX);
		free(name);
		return -EINVAL;
	}
	s = realloc(p->sizes, (p->nr_sizes + 1) * sizeof(*s));
	if (!s) {
		free(name);
		return -ENOMEM;
	}
	p->sizes = s;
	s[p->nr_sizes++] = (struct ebpf_map_size){ name, (uint32_t)n };
	return 0;
}

int ebpf_presets_add_global(struct ebpf_presets *p, const char *spec, char *err,
			    size_t err_size)
{
	char *name = spec_name(spec, "--rodata", err, err_size);
	const char *hex = name ? strchr(spec, '=') + 1 : NULL;
	struct ebpf_global_init *g;
	uint8_t *bytes;
	size_t len;

	if (!name)
		return -EINVAL;
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	if (ftoe_hex_decode(hex, &bytes, &len) || !len) {
		snprintf(err, err_size, "--rodata %s: '%s' is not hex bytes (two digits a byte, "
			 "as the value lies in memory)", name, strchr(spec, '=') + 1);
		free(name);
		return -EINVAL;
	}
	g = realloc(p->globals, (p->nr_globals + 1) * sizeof(*g));
	if (!g) {
		free(name);
		free(bytes);
		return -ENOMEM;
	}
	p->globals = g;
	g[p->nr_globals++] = (struct ebpf_global_init){ name, bytes, len };
	return 0;
}

void ebpf_presets_free(struct ebpf_presets *p)
{
	size_t i;

	for (i = 0; i < p->nr_sizes; i++)
		free((char *)p->sizes[i].name);
	for (i = 0; i < p->nr_globals; i++) {
		free((char *)p->globals[i].name);
		free((void *)p->globals[i].data);
	}
	free(p->sizes);
	free(p->globals);
	memset(p, 0, sizeof(*p));
}
