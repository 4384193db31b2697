/* updates.h - reads a file of `MAP KEYHEX VALHEX` map updates and applies it to runtime maps or their kernel twins. */
#ifndef FTOE_TESTS_DIFF_UPDATES_H
#define FTOE_TESTS_DIFF_UPDATES_H

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "ebpf/ebpf.h"
#include "tests/diff/mapcfg.h"

/* The format is the one `flextoe-fw compile --print-updates` prints and
 * `flextoe-bpf test-run --map-update` takes (docs/programs.md): one
 * update per line, hex bytes in memory order (so little-endian integers
 * are written low byte first), an optional 0x prefix and ':' separators.
 * '#' starts a comment; blank lines are skipped.  A per-CPU map gets the
 * value in every CPU slot, as test-run does (mc_update). */

struct upd_line {
	unsigned int lineno;
	char *map;
	uint8_t *key, *val;
	size_t klen, vlen;
};

struct upd_file {
	const char *path;
	struct upd_line *l;
	size_t n;
};

static inline void upd_free(struct upd_file *u)
{
	size_t i;

	for (i = 0; i < u->n; i++) {
		free(u->l[i].map);
		free(u->l[i].key);
		free(u->l[i].val);
	}
	free(u->l);
	u->l = NULL;
	u->n = 0;
}

static inline int upd_hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Hex string -> bytes (malloc'ed).  Returns 0, or -EINVAL with why set. */
static inline int upd_parse_hex(const char *s, uint8_t **out, size_t *len, const char **why)
{
	size_t n = 0;
	uint8_t *b;
	int hi = -1;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	b = malloc(strlen(s) / 2 + 1);
	if (!b) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (; *s; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s)) {
			*why = "has a character that is not a hex digit";
			free(b);
			return -EINVAL;
		}
		if (hi < 0) {
			hi = upd_hexval((unsigned char)*s);
			continue;
		}
		b[n++] = (uint8_t)(hi << 4 | upd_hexval((unsigned char)*s));
		hi = -1;
	}
	if (hi >= 0 || !n) {
		*why = n ? "has an odd number of hex digits" : "is empty";
		free(b);
		return -EINVAL;
	}
	*out = b;
	*len = n;
	return 0;
}

/* Parse the whole file.  A bad line is reported on stderr as
 * FILE:LINE: what is wrong; returns 0, -EINVAL (bad line), or -errno. */
static inline int upd_load(const char *path, struct upd_file *u)
{
	char buf[8192];
	unsigned int lineno = 0;
	int err = 0;
	FILE *f;

	memset(u, 0, sizeof(*u));
	u->path = path;
	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		return err;
	}
	while (fgets(buf, sizeof(buf), f)) {
		char *field[4], *save = NULL, *hash, *tok;
		struct upd_line *l, *nl;
		const char *why = NULL;
		int nf = 0;

		lineno++;
		if (!strchr(buf, '\n') && !feof(f)) {
			fprintf(stderr, "%s:%u: line longer than %zu characters\n", path, lineno,
				sizeof(buf) - 2);
			err = -EINVAL;
			break;
		}
		hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		for (tok = strtok_r(buf, " \t\r\n", &save); tok && nf < 4;
		     tok = strtok_r(NULL, " \t\r\n", &save))
			field[nf++] = tok;
		if (!nf)
			continue;
		if (nf != 3) {
			fprintf(stderr, "%s:%u: expected 'MAP KEYHEX VALHEX', got %s field%s\n",
				path, lineno, nf > 3 ? "more than 3" : nf == 1 ? "1" : "2",
				nf == 1 ? "" : "s");
			err = -EINVAL;
			break;
		}
		nl = realloc(u->l, (u->n + 1) * sizeof(*u->l));
		if (!nl) {
			err = -ENOMEM;
			break;
		}
		u->l = nl;
		l = &u->l[u->n];
		memset(l, 0, sizeof(*l));
		l->lineno = lineno;
		l->map = strdup(field[0]);
		if (!l->map) {
			err = -ENOMEM;
			break;
		}
		u->n++;		/* from here upd_free releases it */
		if (upd_parse_hex(field[1], &l->key, &l->klen, &why)) {
			fprintf(stderr, "%s:%u: key '%s' %s\n", path, lineno, field[1], why);
			err = -EINVAL;
			break;
		}
		if (upd_parse_hex(field[2], &l->val, &l->vlen, &why)) {
			fprintf(stderr, "%s:%u: value '%s' %s\n", path, lineno, field[2], why);
			err = -EINVAL;
			break;
		}
	}
	if (!err && ferror(f)) {
		err = -EIO;
		fprintf(stderr, "%s: read error\n", path);
	}
	if (err == -ENOMEM)
		fprintf(stderr, "%s: out of memory\n", path);
	fclose(f);
	if (err)
		upd_free(u);
	return err;
}

/* Does every line name a map of obj that can be updated, with key and
 * value of its sizes?  Reports each bad line; returns 0 or -EINVAL. */
static inline int upd_check(const struct upd_file *u, struct ebpf_object *obj)
{
	int err = 0;
	size_t i;

	for (i = 0; i < u->n; i++) {
		const struct upd_line *l = &u->l[i];
		struct ebpf_map *m = ebpf_object_find_map(obj, l->map);
		uint32_t type;

		if (!m) {
			struct ebpf_map *it = NULL;

			fprintf(stderr, "%s:%u: the object has no map '%s'; its maps:", u->path,
				l->lineno, l->map);
			while ((it = ebpf_object_next_map(obj, it)))
				fprintf(stderr, " %s", ebpf_map_name(it));
			fprintf(stderr, "\n");
			err = -EINVAL;
			continue;
		}
		type = ebpf_map_type(m);
		if (type == BPF_MAP_TYPE_RINGBUF || type == BPF_MAP_TYPE_PROG_ARRAY) {
			fprintf(stderr, "%s:%u: map '%s' is a %s: it takes no updates\n", u->path,
				l->lineno, l->map,
				type == BPF_MAP_TYPE_RINGBUF ? "ring buffer" : "program array");
			err = -EINVAL;
			continue;
		}
		if (l->klen != ebpf_map_key_size(m)) {
			fprintf(stderr, "%s:%u: map '%s' has %u-byte keys, the key has %zu bytes\n",
				u->path, l->lineno, l->map, ebpf_map_key_size(m), l->klen);
			err = -EINVAL;
		}
		if (l->vlen != ebpf_map_value_size(m)) {
			fprintf(stderr, "%s:%u: map '%s' has %u-byte values, the value has %zu "
				"bytes\n", u->path, l->lineno, l->map, ebpf_map_value_size(m),
				l->vlen);
			err = -EINVAL;
		}
	}
	return err;
}

/* Apply every line, in file order, to obj's runtime maps or (kernel) to
 * their kernel twins.  A refused update (array index past max_entries, a
 * full hash, a bad LPM prefix length) names its line; returns 0 or the
 * first -errno. */
static inline int upd_apply(const struct upd_file *u, struct ebpf_object *obj, bool kernel)
{
	size_t i;
	int err;

	for (i = 0; i < u->n; i++) {
		const struct upd_line *l = &u->l[i];

		err = mc_update(obj, kernel, l->map, l->key, l->val);
		if (err) {
			fprintf(stderr, "%s:%u: update of map '%s' refused by the %s: %s%s\n",
				u->path, l->lineno, l->map, kernel ? "kernel" : "runtime",
				strerror(-err), err == -E2BIG ? " (an array index past "
				"max_entries, or the map is full)" : "");
			return err;
		}
	}
	return 0;
}

#endif
