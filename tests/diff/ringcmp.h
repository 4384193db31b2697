/* ringcmp.h - drains an object's ring buffers and perf event arrays from the runtime's JIT and interpreter copies and the kernel twin, and compares the records. */
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
 * arrays as in xdp_diff.c: 0 jit, 1 interp, 2 kernel.  Perf event arrays
 * (bpf_perf_event_output, xdpdump) are read the same way: the kernel's
 * through libbpf's perf_buffer (a perf event per CPU in its slots), the
 * runtime's through ebpf_perf_buffer; the samples of all CPUs' slots
 * count as one stream, since a frame's samples go to one CPU. */
#define RC_ENGINES 3

/* Records of one drain, packed as [u32 size][size bytes]... */
struct rc_sink {
	uint8_t *buf;
	size_t len, cap;
	uint32_t n;
	int err;
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

struct rc_ring {
	char name[BPF_OBJ_NAME_LEN];
	struct ebpf_map *map[2];	/* runtime copies: jit, interp */
	struct ring_buffer *krb;	/* the kernel twin's consumer (ring buffer) */
	struct ebpf_perf_buffer *pb[2];	/* perf event array: runtime consumers */
	struct perf_buffer *kpb;	/* perf event array: the kernel's */
	struct rc_sink sink[RC_ENGINES];
};

#define RC_PERF_PAGES 8

static inline bool rc_is_ring(uint32_t type)
{
	return type == BPF_MAP_TYPE_RINGBUF || type == BPF_MAP_TYPE_PERF_EVENT_ARRAY;
}

static inline void rc_perf_sample(void *ctx, int cpu, void *data, uint32_t size)
{
	(void)cpu;
	rc_sink_add(ctx, data, size);
}

/* A lost record becomes a record "LOST" + count, so losses compare too. */
static inline void rc_perf_lost(void *ctx, int cpu, uint64_t cnt)
{
	uint8_t rec[12] = "LOST";

	(void)cpu;
	memcpy(rec + 4, &cnt, 8);
	rc_sink_add(ctx, rec, sizeof(rec));
}

static inline void rc_kperf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	rc_perf_sample(ctx, cpu, data, size);
}

static inline void rc_kperf_lost(void *ctx, int cpu, __u64 cnt)
{
	rc_perf_lost(ctx, cpu, cnt);
}

struct rc_set {
	struct rc_ring *r;
	uint32_t n;
};

static inline void rc_free(struct rc_set *rs)
{
	uint32_t i;
	int e;

	for (i = 0; i < rs->n; i++) {
		ring_buffer__free(rs->r[i].krb);
		perf_buffer__free(rs->r[i].kpb);
		for (e = 0; e < 2; e++)
			ebpf_perf_buffer_free(rs->r[i].pb[e]);
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
		n += rc_is_ring(ebpf_map_type(m));
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

		if (!rc_is_ring(ebpf_map_type(m)))
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
		if (ebpf_map_type(m) == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
			int err = 0;

			for (int e = 0; e < 2 && !err; e++)
				err = ebpf_perf_buffer_new(r->map[e], RC_PERF_PAGES, &r->pb[e]);
			r->kpb = err ? NULL : perf_buffer__new(fd, RC_PERF_PAGES, rc_kperf_sample,
							       rc_kperf_lost, &r->sink[2], NULL);
			if (!r->kpb) {
				err = err ? err : errno ? -errno : -EINVAL;
				fprintf(stderr, "ringcmp: cannot consume perf event array %s: %s\n",
					r->name, strerror(-err));
				rc_free(rs);
				return err;
			}
			continue;
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
			ret = r->pb[e] ? ebpf_perf_buffer_consume(r->pb[e], rc_perf_sample,
								  rc_perf_lost, &r->sink[e])
				       : ebpf_ringbuf_consume(r->map[e], rc_sink_add, &r->sink[e]);
			if (ret < 0)
				return ret;
		}
		ret = r->kpb ? perf_buffer__consume(r->kpb) : ring_buffer__consume(r->krb);
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

/* The kernel pads a perf sample to 8 bytes by skipping bytes, not
 * writing them, so up to 7 bytes at its end hold whatever the ring held
 * before; the runtime writes zeros there.  Bytes before size - 7 are
 * always the program's, and so is any later byte the runtime has
 * non-zero: those are compared; a zero of the runtime's in the last 7
 * may be padding and is not.  a is the runtime's side. */
static inline uint32_t rc_first_diff(const uint8_t *x, const uint8_t *y, uint32_t sz, bool perf)
{
	for (uint32_t j = 0; j < sz; j++)
		if (x[j] != y[j] && !(perf && j + 7 >= sz && x[j] == 0))
			return j;
	return sz;
}

/* Record k where engines a and b differ in ring i (and the byte), or
 * UINT32_MAX when they agree. */
static inline uint32_t rc_diff_at(const struct rc_set *rs, uint32_t i, int a, int b,
				  uint32_t *byte)
{
	const struct rc_sink *x = &rs->r[i].sink[a], *y = &rs->r[i].sink[b];
	bool perf = rs->r[i].kpb != NULL;
	size_t ox = 0, oy = 0;

	*byte = 0;
	if (x->n != y->n)
		return 0;
	for (uint32_t k = 0; k < x->n; k++) {
		uint32_t sx, sy;

		memcpy(&sx, x->buf + ox, 4);
		memcpy(&sy, y->buf + oy, 4);
		*byte = rc_first_diff(x->buf + ox + 4, y->buf + oy + 4, sx < sy ? sx : sy, perf);
		if (sx != sy || *byte < sx)
			return k;
		ox += 4 + sx;
		oy += 4 + sy;
	}
	return UINT32_MAX;
}

/* Did engines a and b produce the same records in the last drain? */
static inline bool rc_equal(const struct rc_set *rs, int a, int b)
{
	uint32_t byte;

	for (uint32_t i = 0; i < rs->n; i++)
		if (rc_diff_at(rs, i, a, b, &byte) != UINT32_MAX)
			return false;
	return true;
}

/* Print where engines a and b differ: the ring, record count, or the
 * first differing record and byte. */
static inline void rc_describe(const struct rc_set *rs, int a, int b, const char *na,
			       const char *nb)
{
	for (uint32_t i = 0; i < rs->n; i++) {
		const struct rc_sink *x = &rs->r[i].sink[a], *y = &rs->r[i].sink[b];
		uint32_t byte, k = rc_diff_at(rs, i, a, b, &byte), sx, sy;
		size_t ox = 0, oy = 0;

		if (k == UINT32_MAX)
			continue;
		if (x->n != y->n) {
			printf("    ring %s: %s wrote %u records, %s %u\n", rs->r[i].name, na, x->n,
			       nb, y->n);
			continue;
		}
		for (uint32_t m = 0; m < k; m++) {
			memcpy(&sx, x->buf + ox, 4);
			memcpy(&sy, y->buf + oy, 4);
			ox += 4 + sx;
			oy += 4 + sy;
		}
		memcpy(&sx, x->buf + ox, 4);
		memcpy(&sy, y->buf + oy, 4);
		printf("    ring %s: record %u differs between %s and %s: %u and %u bytes, first "
		       "difference at byte %u (%s 0x%02x, %s 0x%02x)\n", rs->r[i].name, k, na, nb,
		       sx, sy, byte, na, byte < sx ? x->buf[ox + 4 + byte] : 0, nb,
		       byte < sy ? y->buf[oy + 4 + byte] : 0);
	}
}

#endif
