/* ringcmp.h - drains an object's ring buffers from the runtime's JIT and interpreter copies and the kernel twin, and compares the records. */
#ifndef FTOE_TESTS_DIFF_RINGCMP_H
#define FTOE_TESTS_DIFF_RINGCMP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ebpf/ebpf.h"

/* Ring buffers are what observers (tcp_trace, capture) produce: their
 * records are the programs' real output, so they are compared frame by
 * frame - drained after every frame, the records one frame produced must
 * be the same, in the same order, on every engine.  Engines index rc_*
 * arrays as in xdp_diff.c: 0 jit, 1 interp, 2 kernel. */
#define RC_ENGINES 3

/* Records of one drain, packed as [u32 size][size bytes]... */
struct rc_sink {
	uint8_t *buf;
	size_t len, cap;
	uint32_t n;
	int err;
};

struct rc_ring {
	char name[BPF_OBJ_NAME_LEN];
	struct ebpf_map *map[2];	/* runtime copies: jit, interp */
	struct ring_buffer *krb;	/* the kernel twin's consumer */
	struct rc_sink sink[RC_ENGINES];
};

struct rc_set {
	struct rc_ring *r;
	uint32_t n;
};

static inline int rc_sink_add(void *ctx, void *data, size_t size)
{
	struct rc_sink *s = ctx;
	uint32_t sz = (uint32_t)size;

	if (s->len + 4 + size > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		uint8_t *p;

		while (cap < s->len + 4 + size)
			cap *= 2;
		p = realloc(s->buf, cap);
		if (!p) {
			s->err = -ENOMEM;
			return -ENOMEM;
		}
		s->buf = p;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, &sz, 4);
	memcpy(s->buf + s->len + 4, data, size);
	s->len += 4 + size;
	s->n++;
	return 0;
}

static inline void rc_free(struct rc_set *rs)
{
	uint32_t i;
	int e;

	for (i = 0; i < rs->n; i++) {
		ring_buffer__free(rs->r[i].krb);
		for (e = 0; e < RC_ENGINES; e++)
			free(rs->r[i].sink[e].buf);
	}
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

/* Every ring buffer map of the object; objs[] are the three engines'
 * objects (the kernel one opened with keep_kernel). */
static inline int rc_init(struct ebpf_object *const objs[RC_ENGINES], struct rc_set *rs)
{
	struct ebpf_map *m = NULL;
	uint32_t n = 0;

	memset(rs, 0, sizeof(*rs));
	while ((m = ebpf_object_next_map(objs[0], m)))
		n += ebpf_map_type(m) == BPF_MAP_TYPE_RINGBUF;
	if (!n)
		return 0;
	/* sized once: the kernel consumers keep pointers to the sinks */
	rs->r = calloc(n, sizeof(*rs->r));
	if (!rs->r)
		return -ENOMEM;
	while ((m = ebpf_object_next_map(objs[0], m))) {
		struct rc_ring *r;
		struct ebpf_map *km;
		int fd;

		if (ebpf_map_type(m) != BPF_MAP_TYPE_RINGBUF)
			continue;
		r = &rs->r[rs->n++];
		snprintf(r->name, sizeof(r->name), "%s", ebpf_map_name(m));
		r->map[0] = m;
		r->map[1] = ebpf_object_find_map(objs[1], r->name);
		km = ebpf_object_find_map(objs[2], r->name);
		fd = km ? ebpf_object_kernel_map_fd(objs[2], km) : -1;
		if (!r->map[1] || fd < 0) {
			fprintf(stderr, "ringcmp: ring buffer %s missing in an engine's object\n",
				r->name);
			rc_free(rs);
			return -ENOENT;
		}
		r->krb = ring_buffer__new(fd, rc_sink_add, &r->sink[2], NULL);
		if (!r->krb) {
			int err = -errno;

			fprintf(stderr, "ringcmp: cannot map the kernel's ring buffer %s: %s\n",
				r->name, strerror(-err));
			rc_free(rs);
			return err ? err : -EINVAL;
		}
	}
	return 0;
}

/* Take every record now in the rings into the sinks (emptied first);
 * adds the record counts per engine to records[]. */
static inline int rc_drain(struct rc_set *rs, uint64_t records[RC_ENGINES])
{
	uint32_t i;
	int e, ret;

	for (i = 0; i < rs->n; i++) {
		struct rc_ring *r = &rs->r[i];

		for (e = 0; e < RC_ENGINES; e++) {
			r->sink[e].len = 0;
			r->sink[e].n = 0;
			r->sink[e].err = 0;
		}
		for (e = 0; e < 2; e++) {
			ret = ebpf_ringbuf_consume(r->map[e], rc_sink_add, &r->sink[e]);
			if (ret < 0)
				return ret;
		}
		ret = ring_buffer__consume(r->krb);
		if (ret < 0)
			return ret;
		for (e = 0; e < RC_ENGINES; e++) {
			if (r->sink[e].err)
				return r->sink[e].err;
			records[e] += r->sink[e].n;
		}
	}
	return 0;
}

/* Did engines a and b produce the same records in the last drain? */
static inline bool rc_equal(const struct rc_set *rs, int a, int b)
{
	uint32_t i;

	for (i = 0; i < rs->n; i++) {
		const struct rc_sink *x = &rs->r[i].sink[a], *y = &rs->r[i].sink[b];

		/* no record yet: buf is NULL, which memcmp may not see */
		if (x->len != y->len || (x->len && memcmp(x->buf, y->buf, x->len)))
			return false;
	}
	return true;
}

/* Print where engines a and b differ: the ring, record count, or the
 * first differing record and byte. */
static inline void rc_describe(const struct rc_set *rs, int a, int b, const char *na,
			       const char *nb)
{
	uint32_t i, k;

	for (i = 0; i < rs->n; i++) {
		const struct rc_sink *x = &rs->r[i].sink[a], *y = &rs->r[i].sink[b];
		size_t ox = 0, oy = 0;

		if (x->len == y->len && (!x->len || !memcmp(x->buf, y->buf, x->len)))
			continue;
		if (x->n != y->n) {
			printf("    ring %s: %s wrote %u records, %s %u\n", rs->r[i].name, na, x->n,
			       nb, y->n);
			continue;
		}
		for (k = 0; k < x->n; k++) {
			uint32_t sx, sy, j;

			memcpy(&sx, x->buf + ox, 4);
			memcpy(&sy, y->buf + oy, 4);
			for (j = 0; j < sx && j < sy && x->buf[ox + 4 + j] == y->buf[oy + 4 + j]; j++)
				;
			if (sx != sy || j < sx) {
				printf("    ring %s: record %u differs between %s and %s: %u and %u "
				       "bytes, first difference at byte %u (%s 0x%02x, %s 0x%02x)\n",
				       rs->r[i].name, k, na, nb, sx, sy, j, na,
				       j < sx ? x->buf[ox + 4 + j] : 0, nb,
				       j < sy ? y->buf[oy + 4 + j] : 0);
				break;
			}
			ox += 4 + sx;
			oy += 4 + sy;
		}
	}
}

#endif
