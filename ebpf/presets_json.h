/* presets_json.h - the load-time presets of a control request ("map_sizes", "globals"), read once for the engine's control socket and for loaderd. */
#ifndef FTOE_EBPF_PRESETS_JSON_H
#define FTOE_EBPF_PRESETS_JSON_H

#include <errno.h>
#include <stdio.h>
#include <json-c/json.h>

#include "ebpf/ebpf.h"

/*
 * The request's "map_sizes" and "globals": arrays of "NAME=N" and
 * "NAME=HEX", as flextoe-bpf load's --map-size and --rodata gave them.
 * Both core/daemon/ctl.c and loader/loaderd/requests.c read them (loaderd
 * checks the object with the presets, then passes the request on).  Inline
 * here because ebpf/ itself does not link json-c: only those two do.
 * 0, or -EINVAL / -ENOMEM with what is wrong in err.
 */
static inline int ebpf_presets_from_json(json_object *req, struct ebpf_presets *ps, char *err,
					 size_t esz)
{
	static const char *const keys[] = { "map_sizes", "globals" };

	for (int k = 0; k < 2; k++) {
		json_object *a;

		if (!json_object_object_get_ex(req, keys[k], &a))
			continue;
		if (!json_object_is_type(a, json_type_array)) {
			snprintf(err, esz, "%s: not a list", keys[k]);
			return -EINVAL;
		}
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			const char *spec = json_object_get_string(json_object_array_get_idx(a, i));
			int ret = !spec ? -EINVAL :
				  k ? ebpf_presets_add_global(ps, spec, err, esz) :
				      ebpf_presets_add_size(ps, spec, err, esz);

			if (ret)
				return ret;
		}
	}
	return 0;
}

#endif
