/* ctl_maps.c - map requests of the engine control socket: list, dump, lookup, update, delete, their batches, BTF-typed keys and values. */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/daemon/daemon.h"
#include "core/daemon/hooks_ebpf.h"
#include "core/daemon/ctl.h"
#include "ebpf/ebpf.h"
#include "lib/util/hex.h"

#define DUMP_MAX_ENTRIES 1000000u

struct map_ref {
	struct hx_prog *owner;
	struct ebpf_map *map;
	const struct btf *btf;
	uint32_t key_type, value_type;	/* BTF ids, 0 when untyped */
};

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Bytes a user-side lookup moves (per-CPU maps: one rounded value per CPU). */
static size_t user_value_size(struct ebpf_map *m)
{
	size_t vs = ebpf_map_value_size(m);

	return ebpf_map_type_percpu(ebpf_map_type(m)) ? round8(vs) * ebpf_nr_cpus() : vs;
}

static void btf_types(struct map_ref *r)
{
	const struct bpf_map *bm;

	r->btf = NULL;
	r->key_type = r->value_type = 0;
	if (!r->owner->btf_obj)
		return;
	bm = bpf_object__find_map_by_name(r->owner->btf_obj, ebpf_map_name(r->map));
	if (!bm)
		return;
	r->btf = bpf_object__btf(r->owner->btf_obj);
	r->key_type = bpf_map__btf_key_type_id(bm);
	r->value_type = bpf_map__btf_value_type_id(bm);
	if (!r->btf)
		r->key_type = r->value_type = 0;
}

/* MAP is NAME, or ID:NAME for the map of program ID. */
static int find_map(struct daemon *d, const char *sel, struct map_ref *out, char *err,
		    size_t esz)
{
	const char *name = sel, *colon = strchr(sel, ':');
	unsigned long want_id = 0;
	unsigned int found = 0;
	char all[1024] = "";
	size_t off = 0;

	if (colon && colon != sel) {
		char *end;

		want_id = strtoul(sel, &end, 10);
		if (end == colon)
			name = colon + 1;
		else
			want_id = 0;
	}
	for (struct hx_prog *p = d->progs; p; p = p->next) {
		struct ebpf_map *m = NULL;

		while ((m = ebpf_object_next_map(p->obj, m))) {
			if (off < sizeof(all))
				off += (size_t)snprintf(all + off, sizeof(all) - off, "%s%u:%s",
							off ? ", " : "", p->id, ebpf_map_name(m));
			if (strcmp(ebpf_map_name(m), name) || (want_id && p->id != want_id))
				continue;
			if (!found++) {
				out->owner = p;
				out->map = m;
			}
		}
	}
	if (found == 1) {
		btf_types(out);
		return 0;
	}
	if (found > 1) {
		snprintf(err, esz, "map name '%s' is ambiguous: several loaded programs have it; "
			 "say which with ID:%s (maps: %s)", name, name, all);
		return -EINVAL;
	}
	if (!d->progs)
		snprintf(err, esz, "no map named '%s': no program is loaded", sel);
	else
		snprintf(err, esz, "no map named '%s' (maps: %s)", sel, all);
	return -ENOENT;
}

/* ---- BTF formatting and parsing ------------------------------------------------ */

struct strbuf {
	char *s;
	size_t len, cap;
};

static void sb_vprintf(void *ctx, const char *fmt, va_list ap)
{
	struct strbuf *b = ctx;
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)n + 1) * 2;
		char *ns = realloc(b->s, cap);

		if (!ns)
			return;
		b->s = ns;
		b->cap = cap;
	}
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
}

/* data as C, through BTF (libbpf's btf_dump), or NULL. */
static char *btf_format(const struct btf *btf, uint32_t type, const void *data, size_t size)
{
	LIBBPF_OPTS(btf_dump_type_data_opts, opts, .compact = true, .emit_zeroes = true);
	struct strbuf b = { 0 };
	struct btf_dump *d;
	int ret;

	if (!btf || !type)
		return NULL;
	d = btf_dump__new(btf, sb_vprintf, &b, NULL);
	if (libbpf_get_error(d))
		return NULL;
	ret = btf_dump__dump_type_data(d, type, data, size, &opts);
	btf_dump__free(d);
	if (ret < 0) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* Key or value text that is not hex bytes (ftoe_hex_parse): when BTF says
 * the type is an integer or enum of that size, a number (decimal or 0x...)
 * or an enumerator name. */
static int parse_typed(const struct btf *btf, uint32_t type, const char *s, uint8_t *out,
		       size_t size)
{
	const struct btf_type *t;
	unsigned long long v;
	char *end;
	int id;

	if (!btf || !type)
		return -EINVAL;
	id = btf__resolve_type(btf, type);
	t = id > 0 ? btf__type_by_id(btf, (uint32_t)id) : NULL;
	if (!t || (!btf_is_int(t) && !btf_is_enum(t)) || t->size != size || size > 8)
		return -EINVAL;
	if (btf_is_enum(t)) {
		const struct btf_enum *e = btf_enum(t);

		for (unsigned int i = 0; i < btf_vlen(t); i++, e++) {
			if (!strcmp(btf__name_by_offset(btf, e->name_off), s)) {
				int64_t ev = e->val;

				memcpy(out, &ev, size);	/* little-endian host */
				return 0;
			}
		}
	}
	/* Decimal, or hex with 0x; never octal ("0102" is one hundred and two). */
	{
		const char *d = *s == '-' ? s + 1 : s;
		int base = (d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) ? 16 : 10;

		errno = 0;
		if (*s == '-')
			v = (unsigned long long)strtoll(s, &end, base);
		else
			v = strtoull(s, &end, base);
	}
	if (errno || end == s || *end)
		return -EINVAL;
	if (size < 8 && *s != '-' && v >> (size * 8))
		return -ERANGE;
	memcpy(out, &v, size);
	return 0;
}

static int parse_arg(const struct map_ref *r, bool is_key, const char *s, uint8_t *out,
		     size_t size, char *err, size_t esz)
{
	uint32_t type = is_key ? r->key_type : r->value_type;
	int ret;

	if (!ftoe_hex_parse(s, out, size))
		return 0;
	ret = parse_typed(r->btf, type, s, out, size);
	if (!ret)
		return 0;
	snprintf(err, esz, "bad %s '%s' for map %s: expected %zu bytes of hex%s%s", is_key ?
		 "key" : "value", s, ebpf_map_name(r->map), size,
		 r->btf && type ? " or a number of its BTF type" : "",
		 ret == -ERANGE ? " (the number is too large for it)" : "");
	return -EINVAL;
}

static json_object *hex_json(const uint8_t *p, size_t n)
{
	char *s = ftoe_hex_encode(p, n);
	json_object *o;

	if (!s)
		return NULL;
	o = json_object_new_string(s);
	free(s);
	return o;
}

static void add_typed(json_object *o, const char *field, const struct map_ref *r, uint32_t type,
		      const void *data, size_t size)
{
	char *s = btf_format(r->btf, type, data, size);

	if (s) {
		json_object_object_add(o, field, json_object_new_string(s));
		free(s);
	}
}

/* {"key":hex,"value":hex} (+ typed forms; per-CPU maps: "values"). */
static json_object *entry_json(const struct map_ref *r, const uint8_t *key, const uint8_t *val)
{
	json_object *e = json_object_new_object();
	size_t ks = ebpf_map_key_size(r->map), vs = ebpf_map_value_size(r->map);

	json_object_object_add(e, "key", hex_json(key, ks));
	add_typed(e, "key_btf", r, r->key_type, key, ks);
	if (ebpf_map_type_percpu(ebpf_map_type(r->map))) {
		json_object *vals = json_object_new_array(), *typed = NULL;

		if (r->btf && r->value_type)
			typed = json_object_new_array();
		for (unsigned int c = 0; c < ebpf_nr_cpus(); c++) {
			const uint8_t *v = val + c * round8(vs);
			char *s;

			json_object_array_add(vals, hex_json(v, vs));
			if (typed && (s = btf_format(r->btf, r->value_type, v, vs))) {
				json_object_array_add(typed, json_object_new_string(s));
				free(s);
			}
		}
		json_object_object_add(e, "values", vals);
		if (typed)
			json_object_object_add(e, "values_btf", typed);
	} else {
		json_object_object_add(e, "value", hex_json(val, vs));
		add_typed(e, "value_btf", r, r->value_type, val, vs);
	}
	return e;
}

static bool dumpable(const struct map_ref *r, char *err, size_t esz)
{
	if (ebpf_map_type(r->map) == BPF_MAP_TYPE_RINGBUF) {
		snprintf(err, esz, "map %s is a ring buffer: it has no keys to dump or look up "
			 "(read it with flextoe-bpf trace/capture)", ebpf_map_name(r->map));
		return false;
	}
	return true;
}

/* ---- requests ----------------------------------------------------------------------- */

int ctl_map_list(struct daemon *d, json_object *resp)
{
	json_object *arr = json_object_new_array();

	for (struct hx_prog *p = d->progs; p; p = p->next) {
		struct ebpf_map *m = NULL;

		while ((m = ebpf_object_next_map(p->obj, m))) {
			json_object *o = json_object_new_object();
			struct map_ref r = { .owner = p, .map = m };
			const char *tn;

			btf_types(&r);
			json_object_object_add(o, "prog_id", json_object_new_int64(p->id));
			json_object_object_add(o, "prog", json_object_new_string(p->name));
			json_object_object_add(o, "name", json_object_new_string(ebpf_map_name(m)));
			json_object_object_add(o, "type",
					       json_object_new_string(ebpf_map_type_name(ebpf_map_type(m))));
			json_object_object_add(o, "key_size", json_object_new_int64(ebpf_map_key_size(m)));
			json_object_object_add(o, "value_size",
					       json_object_new_int64(ebpf_map_value_size(m)));
			json_object_object_add(o, "max_entries",
					       json_object_new_int64(ebpf_map_max_entries(m)));
			json_object_object_add(o, "flags", json_object_new_int64(ebpf_map_flags(m)));
			if (r.btf && r.key_type && (tn = btf__name_by_offset(r.btf,
					btf__type_by_id(r.btf, r.key_type)->name_off)) && *tn)
				json_object_object_add(o, "key_type", json_object_new_string(tn));
			if (r.btf && r.value_type && (tn = btf__name_by_offset(r.btf,
					btf__type_by_id(r.btf, r.value_type)->name_off)) && *tn)
				json_object_object_add(o, "value_type", json_object_new_string(tn));
			json_object_array_add(arr, o);
		}
	}
	json_object_object_add(resp, "maps", arr);
	return 0;
}

/* Why a redirect target map refused a value the kernel might have taken
 * (docs/runtime.md "Redirect targets inside the engine"): into why, and
 * true; false for other maps and errors. */
static bool target_refusal(struct daemon *d, struct ebpf_map *m, const void *val, int ret,
			   char *why, size_t n)
{
	enum bpf_map_type t = ebpf_map_type(m);
	const struct netdev *nd = x86_netdev(d->x86);
	uint32_t ifindex;

	if (t != BPF_MAP_TYPE_DEVMAP && t != BPF_MAP_TYPE_DEVMAP_HASH && t != BPF_MAP_TYPE_CPUMAP)
		return false;
	memcpy(&ifindex, val, sizeof(ifindex));
	if (ret == -EOPNOTSUPP)
		snprintf(why, n, "a program in the value (the bpf_prog of struct %s) is not supported "
			 "by the engine: give 0 there, or use a 4-byte value",
			 t == BPF_MAP_TYPE_CPUMAP ? "bpf_cpumap_val" : "bpf_devmap_val");
	else if (ret == -EXDEV)
		snprintf(why, n, "ifindex %u is not the engine's interface %s (ifindex %d): the "
			 "engine transmits only out of its own interface, so a devmap slot can "
			 "only name that one", ifindex, nd->name, nd->ifindex);
	else
		return false;
	return true;
}

int ctl_map_op(struct daemon *d, const char *op, json_object *req, json_object *resp, char *err,
	       size_t esz)
{
	json_object *jm, *jk, *jv, *jf;
	struct map_ref r;
	uint8_t *key = NULL, *next = NULL, *val = NULL;
	size_t ks, vs;
	char why[256];
	int ret;

	if (!json_object_object_get_ex(req, "map", &jm) || !json_object_is_type(jm, json_type_string)) {
		snprintf(err, esz, "request without a map name");
		return -EINVAL;
	}
	ret = find_map(d, json_object_get_string(jm), &r, err, esz);
	if (ret)
		return ret;
	if (!dumpable(&r, err, esz))
		return -EOPNOTSUPP;
	ks = ebpf_map_key_size(r.map);
	vs = user_value_size(r.map);
	key = calloc(1, ks ? ks : 1);
	next = calloc(1, ks ? ks : 1);
	val = calloc(1, vs ? vs : 1);
	if (!key || !next || !val) {
		ret = -ENOMEM;
		snprintf(err, esz, "out of memory");
		goto out;
	}
	json_object_object_add(resp, "map", json_object_new_string(ebpf_map_name(r.map)));
	json_object_object_add(resp, "prog_id", json_object_new_int64(r.owner->id));

	if (!strcmp(op, "map_dump")) {
		json_object *arr = json_object_new_array();
		unsigned int n = 0;
		void *prev = NULL;

		json_object_object_add(resp, "entries", arr);
		while (n < DUMP_MAX_ENTRIES && !(ret = ebpf_map_get_next_key(r.map, prev, next))) {
			memcpy(key, next, ks);
			prev = key;
			if (ebpf_map_lookup_elem(r.map, key, val))
				continue;	/* deleted meanwhile */
			json_object_array_add(arr, entry_json(&r, key, val));
			n++;
		}
		ret = 0;
		goto out;
	}

	if (!json_object_object_get_ex(req, "key", &jk) || !json_object_is_type(jk, json_type_string)) {
		snprintf(err, esz, "%s needs a key", op);
		ret = -EINVAL;
		goto out;
	}
	ret = parse_arg(&r, true, json_object_get_string(jk), key, ks, err, esz);
	if (ret)
		goto out;
	if (!strcmp(op, "map_lookup")) {
		ret = ebpf_map_lookup_elem(r.map, key, val);
		if (ret == -ENOENT)
			snprintf(err, esz, "map %s has no entry with key %s", ebpf_map_name(r.map),
				 json_object_get_string(jk));
		else if (!ret)
			json_object_object_add(resp, "entry", entry_json(&r, key, val));
	} else if (!strcmp(op, "map_delete")) {
		ret = ebpf_map_delete_elem(r.map, key);
		if (ret == -ENOENT)
			snprintf(err, esz, "map %s has no entry with key %s", ebpf_map_name(r.map),
				 json_object_get_string(jk));
		else if (ret == -EINVAL)
			snprintf(err, esz, "map %s (%s) does not support delete", ebpf_map_name(r.map),
				 ebpf_map_type_name(ebpf_map_type(r.map)));
	} else if (!strcmp(op, "map_update")) {
		uint64_t flags = BPF_ANY;
		size_t one = ebpf_map_value_size(r.map);

		if (!json_object_object_get_ex(req, "value", &jv) ||
		    !json_object_is_type(jv, json_type_string)) {
			snprintf(err, esz, "map_update needs a value");
			ret = -EINVAL;
			goto out;
		}
		if (json_object_object_get_ex(req, "flags", &jf)) {
			const char *f = json_object_get_string(jf);

			flags = !strcmp(f, "noexist") ? BPF_NOEXIST : !strcmp(f, "exist") ? BPF_EXIST :
				BPF_ANY;
		}
		ret = parse_arg(&r, false, json_object_get_string(jv), val, one, err, esz);
		if (ret)
			goto out;
		/* Per-CPU maps: the value goes to every CPU. */
		if (ebpf_map_type_percpu(ebpf_map_type(r.map))) {
			for (unsigned int c = ebpf_nr_cpus(); c-- > 0;) {
				memmove(val + c * round8(one), val, one);
				memset(val + c * round8(one) + one, 0, round8(one) - one);
			}
		}
		/* "count": N writes the value at keys key .. key + N - 1 (array
		 * maps, 4-byte keys): one request where a tool would otherwise
		 * send N, e.g. flextoe-fw apply zeroing a generation's counters. */
		if (json_object_object_get_ex(req, "count", &jf)) {
			int64_t n = json_object_get_int64(jf);
			uint32_t first;

			if (!json_object_is_type(jf, json_type_int) || n < 1 || ks != sizeof(uint32_t) ||
			    (ebpf_map_type(r.map) != BPF_MAP_TYPE_ARRAY &&
			     ebpf_map_type(r.map) != BPF_MAP_TYPE_PERCPU_ARRAY)) {
				snprintf(err, esz, "map_update \"count\" needs a positive integer and an "
					 "array map (map %s is %s, key size %zu)", ebpf_map_name(r.map),
					 ebpf_map_type_name(ebpf_map_type(r.map)), ks);
				ret = -EINVAL;
				goto out;
			}
			memcpy(&first, key, sizeof(first));
			if ((uint64_t)first + (uint64_t)n > ebpf_map_max_entries(r.map)) {
				snprintf(err, esz, "map %s: keys %u .. %llu are past its %u entries",
					 ebpf_map_name(r.map), first,
					 (unsigned long long)first + (unsigned long long)n - 1,
					 ebpf_map_max_entries(r.map));
				ret = -E2BIG;
				goto out;
			}
			for (int64_t i = 0; i < n && !ret; i++) {
				uint32_t k = first + (uint32_t)i;

				ret = ebpf_map_update_elem(r.map, &k, val, flags);
			}
			if (!ret)
				json_object_object_add(resp, "updated", json_object_new_int64(n));
		} else {
			ret = ebpf_map_update_elem(r.map, key, val, flags);
		}
		if (ret == -E2BIG)
			snprintf(err, esz, "map %s is full (%u entries) or the key is out of range",
				 ebpf_map_name(r.map), ebpf_map_max_entries(r.map));
		else if (ret == -EEXIST)
			snprintf(err, esz, "map %s already has that key (--noexist)", ebpf_map_name(r.map));
		else if (ret == -ENOENT)
			snprintf(err, esz, "map %s has no entry with that key (--exist)",
				 ebpf_map_name(r.map));
		else if (ret && target_refusal(d, r.map, val, ret, why, sizeof(why)))
			snprintf(err, esz, "cannot update map %s: %s", ebpf_map_name(r.map), why);
		else if (ret)
			snprintf(err, esz, "cannot update map %s: %s", ebpf_map_name(r.map),
				 strerror(-ret));
	} else {
		snprintf(err, esz, "unknown map request '%s'", op);
		ret = -EINVAL;
	}
	if (ret && !err[0])
		snprintf(err, esz, "%s on map %s: %s", op, ebpf_map_name(r.map), strerror(-ret));
out:
	free(key);
	free(next);
	free(val);
	return ret;
}

/* ---- batches --------------------------------------------------------------------- */

/* Decode a batch field: hex of n elements of size bytes each. */
static int batch_field(json_object *req, const char *field, size_t size, uint8_t **out,
		       uint32_t *n, char *err, size_t esz)
{
	json_object *jf;
	size_t len;

	*out = NULL;
	if (!json_object_object_get_ex(req, field, &jf) || !json_object_is_type(jf, json_type_string) ||
	    ftoe_hex_decode(json_object_get_string(jf), out, &len)) {
		snprintf(err, esz, "batch request needs \"%s\": hex bytes, the elements back to back",
			 field);
		return -EINVAL;
	}
	if (!size || len % size || len / size > UINT32_MAX) {
		snprintf(err, esz, "batch \"%s\" has %zu bytes: not a whole number of %zu-byte "
			 "elements", field, len, size);
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	*n = (uint32_t)(len / size);
	return 0;
}

/* Per-CPU maps take one value per element, written to every CPU (as
 * map_update does): spread the packed values to the user-side layout. */
static uint8_t *batch_percpu_values(const uint8_t *vals, uint32_t n, size_t one)
{
	size_t stride = round8(one) * ebpf_nr_cpus();
	uint8_t *out = calloc(n ? n : 1, stride);

	if (!out)
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		for (unsigned int c = 0; c < ebpf_nr_cpus(); c++)
			memcpy(out + i * stride + c * round8(one), vals + i * one, one);
	return out;
}

int ctl_map_batch(struct daemon *d, const char *op, json_object *req, json_object *resp, char *err,
		  size_t esz)
{
	bool update = !strcmp(op, "map_update_batch"), lookup = !strcmp(op, "map_lookup_batch");
	uint8_t *keys = NULL, *vals = NULL, *spread = NULL;
	uint32_t nk = 0, nv = 0, done;
	json_object *jm, *jf;
	struct map_ref r;
	size_t one;
	char why[256];
	int ret;

	if (!json_object_object_get_ex(req, "map", &jm) || !json_object_is_type(jm, json_type_string)) {
		snprintf(err, esz, "request without a map name");
		return -EINVAL;
	}
	ret = find_map(d, json_object_get_string(jm), &r, err, esz);
	if (ret)
		return ret;
	if (!dumpable(&r, err, esz))
		return -EOPNOTSUPP;
	one = ebpf_map_value_size(r.map);
	ret = batch_field(req, "keys", ebpf_map_key_size(r.map), &keys, &nk, err, esz);
	if (!ret && update)
		ret = batch_field(req, "values", one, &vals, &nv, err, esz);
	if (!ret && update && nv != nk) {
		snprintf(err, esz, "batch of %u keys with %u values for map %s", nk, nv,
			 ebpf_map_name(r.map));
		ret = -EINVAL;
	}
	if (ret)
		goto out;
	if (update && ebpf_map_type_percpu(ebpf_map_type(r.map))) {
		spread = batch_percpu_values(vals, nv, one);
		if (!spread) {
			snprintf(err, esz, "out of memory");
			ret = -ENOMEM;
			goto out;
		}
	}
	done = nk;
	if (lookup) {
		size_t stride = user_value_size(r.map);

		vals = malloc(nk ? (size_t)nk * stride : 1);
		if (!vals) {
			snprintf(err, esz, "out of memory");
			ret = -ENOMEM;
			goto out;
		}
		ret = ebpf_map_lookup_batch(r.map, keys, vals, &done);
		/* the values found, back to back (per-CPU maps: each element
		 * one rounded value per CPU, as map_lookup's "values") */
		json_object_object_add(resp, "values", hex_json(vals, (size_t)done * stride));
		json_object_object_add(resp, "value_size", json_object_new_int64((int64_t)stride));
	} else if (update) {
		uint64_t flags = BPF_ANY;

		if (json_object_object_get_ex(req, "flags", &jf)) {
			const char *f = json_object_get_string(jf);

			flags = !strcmp(f, "noexist") ? BPF_NOEXIST : !strcmp(f, "exist") ? BPF_EXIST :
				BPF_ANY;
		}
		ret = ebpf_map_update_batch(r.map, keys, spread ? spread : vals, &done, flags);
	} else {
		ret = ebpf_map_delete_batch(r.map, keys, &done);
	}
	/* as bpf(2): how many were done, also when one failed */
	json_object_object_add(resp, "map", json_object_new_string(ebpf_map_name(r.map)));
	json_object_object_add(resp, "done", json_object_new_int64(done));
	if (ret && update && done < nk &&
	    target_refusal(d, r.map, vals + (size_t)done * one, ret, why, sizeof(why)))
		snprintf(err, esz, "%s on map %s: element %u of %u: %s", op, ebpf_map_name(r.map),
			 done, nk, why);
	else if (ret)
		snprintf(err, esz, "%s on map %s: element %u of %u: %s%s", op, ebpf_map_name(r.map),
			 done, nk, strerror(-ret), ret == -E2BIG ? " (map full or key out of range)" :
			 ret == -ENOENT ? " (no such key)" : "");
out:
	free(keys);
	free(vals);
	free(spread);
	return ret;
}
