/* hooks_ebpf.h - the daemon's glue between the core's hooks and the eBPF runtime: installed programs and their maps (hooks_ebpf.c). */
#ifndef FTOE_DAEMON_HOOKS_EBPF_H
#define FTOE_DAEMON_HOOKS_EBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hooks.h"

struct daemon;
struct ebpf_object;
struct ebpf_prog;
struct ebpf_map;
struct ebpf_presets;
struct bpf_object;

/* Perf event arrays of one program that ring_read can read. */
#define HX_MAX_PERF 4

struct ebpf_perf_buffer;

/* One installed program (one loaded object each). */
struct hx_prog {
	struct hx_prog *next;
	uint32_t id;               /* runtime program id: unique in the engine */
	enum flextoe_hook hook;
	int32_t priority;
	uint32_t chain_call_actions;
	struct ebpf_object *obj;   /* the program's maps live here */
	struct ebpf_prog *prog;
	struct bpf_object *btf_obj; /* libbpf open (not loaded) for BTF, or NULL */
	char name[64];
	char tag[17];              /* the kernel's program tag (hex), or "" */
	uint32_t kernel_id;        /* the verified kernel twin's id, or 0 */
	char file[4096];           /* the object file it came from */
	uint64_t loaded_at;        /* CLOCK_REALTIME seconds */
	/* The engine's consumers of the program's perf event arrays, made
	 * by the first ring_read of each (hx_perf_buffer); ctl thread only. */
	struct {
		struct ebpf_map *map;
		struct ebpf_perf_buffer *pb;
	} perf[HX_MAX_PERF];
};

struct hx_load_req {
	const char *path;
	enum flextoe_hook hook;
	const char *prog_name;     /* NULL: the object's only program */
	bool has_prio;
	int32_t priority;          /* with has_prio; else XDP_RUN_CONFIG's */
	uint32_t replace_id;       /* non-zero: take this program's place in one swap */
	const struct ebpf_presets *presets; /* map sizes, globals set before load, or NULL */
};

/* Create the hooks (d->hooks) with the runtime behind them. */
int hx_init(struct daemon *d);
/* Give the runtime the engine's network view (struct ebpf_host: its
 * interface, routes, neighbour cache, SYN-cookie secret) for
 * bpf_fib_lookup and the raw SYN-cookie helpers, and the interface's
 * ifindex as the programs' ingress_ifindex.  After the engine exists,
 * before programs are loaded. */
void hx_set_host(struct daemon *d);
/* Detach and free every program, then the hooks. */
void hx_fini(struct daemon *d);
/* 0 with *id, or -errno with a message in err. */
int hx_load(struct daemon *d, const struct hx_load_req *r, uint32_t *id, char *err,
	    size_t err_size);
int hx_unload(struct daemon *d, uint32_t id);
struct hx_prog *hx_find(struct daemon *d, uint32_t id);
/* The engine's consumer of p's perf event array map, made on first use
 * (every slot gets a ring, so bpf_perf_event_output starts delivering):
 * 0 with *pb, -ENOSPC past HX_MAX_PERF maps, or the runtime's error.
 * Freed with the program.  Ctl thread only. */
int hx_perf_buffer(struct hx_prog *p, struct ebpf_map *map, struct ebpf_perf_buffer **pb);
/* The map called name of the first program at hook (list order: newest
 * first), with a reference (ebpf_map_put it), or NULL.  Any thread: the
 * splice support (app.c) finds splice_flows this way. */
struct ebpf_map *hx_map_get(struct daemon *d, enum flextoe_hook hook, const char *name);
/* A raw-frame socket closed: empty the XSKMAP slots of every installed
 * program that hold id; returns how many. */
int hx_xsk_forget(struct daemon *d, uint32_t id);

#endif
