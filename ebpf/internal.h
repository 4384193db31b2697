/* internal.h - structures shared by the runtime's modules (not exported).
 *
 * Module map (one concern per file):
 *   prog.c        program life cycle, well-formedness check, pseudo-insn
 *                 resolution, run wrappers and statistics, id registry
 *   interp.c      interpreter            jit_x86.c   x86-64 JIT
 *   map.c         map core and dispatch  map_*.c     one file per map kind
 *   helpers.c     helper table and the helpers      xdp.c  XDP buffers
 *   kfuncs.c      the kfuncs programs may call (bpf_iter_num_*), by name
 *   host.c        helpers answered from the host: bpf_fib_lookup, raw SYN cookies
 *   object.c      ELF objects via libbpf, kernel-verifier gate, relocation
 */
#ifndef FTOE_EBPF_INTERNAL_H
#define FTOE_EBPF_INTERNAL_H

#include <stdatomic.h>
#include "ebpf/ebpf.h"

/* ---- ISA constants newer than Debian 12's linux/bpf.h (cpu v4) ---------- */
#ifndef BPF_MEMSX
#define BPF_MEMSX	0x80	/* LDX sign-extending load */
#endif
#ifndef BPF_JCOND
#define BPF_JCOND	0xe0	/* BPF_JMP: may_goto (src_reg 0) */
#endif
#ifndef BPF_LOAD_ACQ
#define BPF_LOAD_ACQ	0x100	/* BPF_STX | BPF_ATOMIC imm: dst = load-acquire [src + off] */
#endif
#ifndef BPF_STORE_REL
#define BPF_STORE_REL	0x110	/* BPF_STX | BPF_ATOMIC imm: store-release [dst + off] = src */
#endif
/* ALU BPF_DIV/BPF_MOD with off == 1: signed; ALU BPF_MOV with off 8/16/32:
 * movsx; ALU64 BPF_END (BPF_TO_LE, i.e. src bit 0): bswap16/32/64;
 * BPF_JMP32 | BPF_JA: gotol with a 32-bit offset in imm. */

#define EBPF_STACK_SIZE		512
#define EBPF_MAX_CALL_DEPTH	8
#define EBPF_MAX_TAIL_CALLS	33	/* kernel MAX_TAIL_CALL_CNT */
#define EBPF_MAX_CPUS		64
#define EBPF_MAX_INSNS		(1u << 20)
#define EBPF_MAX_LOOPS		(8u << 20)	/* kernel BPF_MAX_LOOPS: the may_goto budget */

/* ---- maps --------------------------------------------------------------- */

struct ebpf_map;

/* How an engine may do a program-side lookup without the helper (the
 * kernel's verifier does the same in do_misc_fixups: map_gen_lookup for
 * arrays, a direct map_lookup_elem call for the rest).  Filled by
 * ebpf_map_ops.gen_lookup. */
enum ebpf_gen_lookup_kind {
	EBPF_GEN_CALL = 0,		/* r0 = call(arg, key) */
	EBPF_GEN_ARRAY,			/* u32 index < max_entries ? *base_ptr + index * stride : NULL */
	EBPF_GEN_PERCPU_ARRAY,		/* ... pcpu + cpu * cpu_stride + index * stride ... */
};

struct ebpf_map_gen_lookup {
	enum ebpf_gen_lookup_kind kind;
	/* Always set (also the fallback of the inline forms): same result
	 * as ops->lookup(map, key), specialised for the map. */
	void *(*call)(void *arg, const void *key);
	void *arg;
	/* Inline forms. */
	uint32_t max_entries;
	uint32_t stride;
	char *const _Atomic *base_ptr;	/* ARRAY: the pointer to load (it may be swapped) */
	char *pcpu;			/* PERCPU_ARRAY: slot 0's values */
	size_t cpu_stride;
};

struct ebpf_map_ops {
	/* spec already copied into map; allocate map->priv.  -errno. */
	int (*alloc)(struct ebpf_map *map);
	void (*free)(struct ebpf_map *map);
	/* Program side (helpers).  lookup returns the value for this
	 * thread's CPU slot, or NULL. */
	void *(*lookup)(struct ebpf_map *map, const void *key);
	long (*update)(struct ebpf_map *map, const void *key, const void *value,
		       uint64_t flags);
	long (*remove)(struct ebpf_map *map, const void *key);
	/* User side (bpf(2)-like); per-CPU maps move nr_cpus values. */
	int (*sys_lookup)(struct ebpf_map *map, const void *key, void *value);
	int (*sys_update)(struct ebpf_map *map, const void *key, const void *value,
			  uint64_t flags);
	int (*get_next_key)(struct ebpf_map *map, const void *key, void *next_key);
	/* ld_imm64 BPF_PSEUDO_MAP_VALUE: address of the value bytes at off
	 * (arrays of one key, i.e. global data); NULL if unsupported. */
	void *(*direct_value_addr)(struct ebpf_map *map, uint32_t off);
	/* User-side delete when it differs from the program side (prog
	 * arrays: programs may not delete, bpf(2) may); NULL -> remove. */
	int (*sys_delete)(struct ebpf_map *map, const void *key);
	/* Optional: how to do lookup without the helper (JIT); -errno when
	 * this map has no such form. */
	int (*gen_lookup)(struct ebpf_map *map, struct ebpf_map_gen_lookup *gen);
};

struct ebpf_map {
	char name[BPF_OBJ_NAME_LEN];
	uint32_t id;
	uint32_t type, key_size, value_size, max_entries, map_flags;
	/* map-in-map: the inner template (inner_type 0: none) */
	uint32_t inner_type, inner_key_size, inner_value_size, inner_max_entries, inner_flags;
	const struct ebpf_map_ops *ops;
	atomic_int refcnt;
	void *priv;
};

/* CPU slot of this thread (ebpf_thread_cpu()) without a call: the slot
 * plus one once assigned, 0 before.  Initial-exec TLS, so the JIT can read
 * it at a fixed offset from the thread pointer (%fs), as the kernel's JIT
 * reads this_cpu variables through %gs. */
extern __thread unsigned int ebpf_thread_slot_plus1 __attribute__((tls_model("initial-exec")));
unsigned int ebpf_thread_cpu_assign(void);

static inline unsigned int ebpf_cpu(void)
{
	unsigned int s = ebpf_thread_slot_plus1;

	return __builtin_expect(s != 0, 1) ? s - 1 : ebpf_thread_cpu_assign();
}

/* PROG_ARRAY element for a tail call, or NULL. */
struct ebpf_prog *ebpf_prog_array_lookup(struct ebpf_map *map, uint32_t index);

/* The kernel's array_map_get_next_key(), for every map indexed by a u32
 * below max_entries (array, perf event array, array of maps): a missing or
 * out-of-range key restarts at 0; the last index ends the walk. */
int ebpf_array_get_next_key(struct ebpf_map *map, const void *key, void *next_key);

/* Map kinds (map_array.c, map_hash.c, map_lpm.c, map_ringbuf.c), from
 * the list in map_types.h. */
#define EBPF_MAP_TYPE(type, ops, percpu) extern const struct ebpf_map_ops ops;
#include "ebpf/map_types.h"
#undef EBPF_MAP_TYPE

/* Ring buffer producer side, as the kernel's bpf_ringbuf_* helpers:
 * output returns 0, -EINVAL (flags) or -EAGAIN (no room); reserve returns
 * NULL when flags are set, the record is too large or there is no room;
 * submit/discard take the pointer reserve returned; query takes
 * BPF_RB_AVAIL_DATA / RING_SIZE / CONS_POS / PROD_POS (else 0).  Wakeup
 * flags BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP drive the map's eventfd. */
long ebpf_ringbuf_output(struct ebpf_map *map, const void *data, uint64_t size,
			 uint64_t flags);
void *ebpf_ringbuf_reserve(struct ebpf_map *map, uint64_t size, uint64_t flags);
void ebpf_ringbuf_submit(void *sample, uint64_t flags);
void ebpf_ringbuf_discard(void *sample, uint64_t flags);
uint64_t ebpf_ringbuf_query(struct ebpf_map *map, uint64_t flags);

/* bpf_perf_event_output's producer side (map_perf.c): one sample of meta
 * and then ctx_len bytes of ctx_data into the slot flags names
 * (BPF_F_INDEX_MASK, or BPF_F_CURRENT_CPU); 0, -E2BIG (index, or a record
 * above perf's 64 KiB), -ENOENT (empty slot) or -ENOSPC (ring full: the
 * sample is counted as lost). */
long ebpf_perf_event_output(struct ebpf_map *map, uint64_t flags, const void *meta,
			    uint32_t meta_len, const void *ctx_data, uint32_t ctx_len);

/* ---- helpers -------------------------------------------------------------- */

typedef uint64_t (*ebpf_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3,
				   uint64_t r4, uint64_t r5);

struct ebpf_helper {
	const char *name;	/* "bpf_map_lookup_elem" */
	ebpf_helper_fn fn;	/* NULL for tail_call: engines inline it */
};

/* bpf_conformance's helpers (helpers_conformance.c), for EBPF_HELPERS_CONFORMANCE. */
const struct ebpf_helper *ebpf_helper_conformance_get(uint32_t id);

/* Helper id in a set -> entry, or NULL when the set lacks it. */
const struct ebpf_helper *ebpf_helper_get(enum ebpf_helper_set set, uint32_t id);
/* kfuncs (kfuncs.c): a resolved BPF_PSEUDO_KFUNC_CALL's imm is a runtime
 * kfunc id; get gives its entry or NULL, by_name the id or -ENOENT, list
 * the implemented names ("a, b, c") for messages. */
const struct ebpf_helper *ebpf_kfunc_get(uint32_t id);
int ebpf_kfunc_by_name(const char *name);
void ebpf_kfunc_list(char *buf, size_t size);
/* Helpers answered from the host's network view (host.c, struct ebpf_host). */
uint64_t ebpf_h_fib_lookup(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t ebpf_h_syncookie_gen4(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t ebpf_h_syncookie_check4(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t ebpf_h_syncookie_v6(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);
/* struct ebpf_host xsk_check: 0, -EBADF, or -EOPNOTSUPP without a host
 * that has raw-frame sockets. */
int ebpf_host_xsk_check(uint32_t id);
/* struct ebpf_host devmap_check: 0 (also without a host or a check) or
 * -EXDEV. */
int ebpf_host_devmap_check(uint32_t ifindex);
/* Name of any kernel helper id ("bpf_skb_load_bytes"), for messages. */
const char *ebpf_helper_kernel_name(uint32_t id);
/* Where bpf_trace_printk lines go (one line, no trailing newline); NULL
 * restores the default, the log at DEBUG level. */
void ebpf_set_trace_sink(void (*fn)(const char *line));

/* Per-thread state of the program run in progress (helpers and tail calls
 * need it; the kernel keeps the same in per-CPU bpf_redirect_info). */
struct ebpf_run_ctx {
	struct ebpf_xdp_buff *xdp;	/* NULL outside XDP runs */
	uint32_t tail_call_cnt;
};
extern __thread struct ebpf_run_ctx ebpf_run_ctx;

/* may_goto's budget for the run in progress: each may_goto spends one
 * and jumps once none is left, as the kernel's count in the frame does
 * (the kernel keeps one per frame; here one per run, reset with the tail
 * call count).  Initial-exec TLS, so the JIT reads it at a fixed %fs
 * offset. */
extern __thread uint32_t ebpf_may_goto_left __attribute__((tls_model("initial-exec")));

/* ---- programs ------------------------------------------------------------- */

/* A callable subprogram value (ld_imm64 BPF_PSEUDO_FUNC), as passed to
 * bpf_loop: helpers call cb->invoke(cb, r1..r5). */
struct ebpf_callback {
	uint64_t (*invoke)(const struct ebpf_callback *cb, uint64_t r1, uint64_t r2,
			   uint64_t r3, uint64_t r4, uint64_t r5);
	struct ebpf_prog *prog;
	uint32_t insn_off;	/* first instruction of the subprogram */
	void *native;		/* JIT entry of the subprogram, or NULL */
};

struct ebpf_prog_stats_slot {
	uint64_t run_cnt;
	uint64_t run_time_ns;
} __attribute__((aligned(64)));

struct ebpf_prog {
	char name[64];
	char section[64];
	uint32_t id;
	atomic_int refcnt;
	enum ebpf_engine engine;
	enum ebpf_helper_set helpers;

	/* Final instructions.  ld_imm64 map forms are resolved: src_reg is
	 * 0 and the 64-bit immediate is the struct ebpf_map pointer
	 * (MAP_FD/MAP_IDX) or the value address (MAP_VALUE/MAP_IDX_VALUE).
	 * BPF_PSEUDO_FUNC keeps src_reg 4; engines turn it into a pointer
	 * to the matching entry of callbacks[].  A BPF_PSEUDO_KFUNC_CALL's
	 * imm is a runtime kfunc id (ebpf_kfunc_get), not a kernel BTF id. */
	struct bpf_insn *insns;
	size_t insn_cnt;

	struct ebpf_callback *callbacks;
	size_t nr_callbacks;

	/* Engine output.  The JIT image is a SysV function
	 * uint64_t f(uint64_t r1, r2, r3, r4, r5). */
	uint64_t (*jit_func)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
	void *jit_image;
	size_t jit_size;
	/* Interpreter's pre-decoded copy of insns (interp.c); built for
	 * every program so any engine's program can be a tail-call target
	 * of an interpreted one. */
	void *interp_code;

	struct ebpf_map **maps;	/* references held */
	size_t nr_maps;

	struct ebpf_xdp_run_config run_cfg;
	int kernel_fd;

	struct ebpf_prog_stats_slot stats[EBPF_MAX_CPUS];
};

/* Build a program from instructions whose map references are indices into
 * opts->maps: well-formedness check, pseudo resolution, engine compile.
 * The loader (object.c) and ebpf_prog_load_raw() both end here. */
int ebpf_prog_create(const struct bpf_insn *insns, size_t insn_cnt,
		     const struct ebpf_prog_opts *opts, struct ebpf_prog **out);

/* Well-formedness of raw instructions; -EINVAL with a message in err. */
int ebpf_prog_check(const struct bpf_insn *insns, size_t insn_cnt,
		    enum ebpf_helper_set set, char *err, size_t err_size);

/* Engines. */
int ebpf_interp_prepare(struct ebpf_prog *prog, char *err, size_t err_size);
uint64_t ebpf_interp_run(struct ebpf_prog *prog, uint64_t r1, uint64_t r2,
			 uint64_t r3, uint64_t r4, uint64_t r5);
/* The counting loop (ebpf_prog_run_xdp_counted): adds to *cnt. */
uint64_t ebpf_interp_run_counted(struct ebpf_prog *prog, uint64_t r1, struct ebpf_insn_counts *cnt);
void ebpf_interp_free(struct ebpf_prog *prog);
/* Run-time limits both engines enforce on unverified programs: a
 * bpf-to-bpf call that would need more than EBPF_MAX_CALL_DEPTH frames
 * (main program included) ends the run at once with r0 = 0 (XDP_ABORTED).
 * A tail call fails (execution continues after the call) when the index
 * is >= max_entries, or ebpf_run_ctx.tail_call_cnt already reached
 * EBPF_MAX_TAIL_CALLS; otherwise the count is incremented and, if the slot
 * holds a program, it replaces the current frame (same stack).  The
 * ebpf_prog_run* wrappers reset the count to 0 for each run. */
int ebpf_jit_compile(struct ebpf_prog *prog, char *err, size_t err_size);
void ebpf_jit_free(struct ebpf_prog *prog);

/* ---- objects (object.c, object_elf.c, run_config.c) ---------------------- */

struct btf;

/* A legacy map definition: SEC("maps") with struct bpf_map_def, which
 * libbpf 1.x refuses; object_elf.c reads and rewrites them itself. */
struct ebpf_legacy_map {
	char name[BPF_OBJ_NAME_LEN];
	uint32_t type, key_size, value_size, max_entries, map_flags;
	uint64_t sec_off;	/* offset of the definition in "maps" */
};

/* Raw-ELF pre-pass over an object image: ELF sanity (-EINVAL, "not an
 * ELF"/"truncated"), helper calls outside the XDP set (-EOPNOTSUPP naming
 * the helper and the function; sections that will not be loaded - other
 * program types, all but prog_name's when given - are not checked), and
 * the legacy map definitions (*maps,
 * malloc'ed, may be NULL with *nr_maps 0). */
int ebpf_elf_inspect(const uint8_t *img, size_t len, const char *obj_name,
		     const char *prog_name, struct ebpf_legacy_map **maps, size_t *nr_maps,
		     char *err, size_t err_size);
/* What a libbpf skeleton sets between open and load: map sizes and
 * global variables (ebpf_object_opts).  Names that match nothing, sizes
 * that do not fit and maps left with max_entries 0 are errors that say
 * so.  Legacy maps (sized by the caller) are only matched by name. */
struct bpf_object;
int ebpf_object_presets(struct bpf_object *lobj, const char *obj_name,
			const struct ebpf_map_size *sizes, size_t nr_sizes,
			const struct ebpf_global_init *globals, size_t nr_globals,
			const struct ebpf_legacy_map *lmaps, size_t nr_lmaps,
			char *err, size_t err_size);
/* The section names a program type other than XDP (SEC("tc"),
 * SEC("tp_btf/..."), SEC("iter/...")): the loader skips it. */
bool ebpf_sec_is_foreign(const char *sec);
/* Point every ld_imm64 of a legacy map at kernel_fds[i] (as
 * BPF_PSEUDO_MAP_FD), drop those relocations and hide the "maps" section
 * from libbpf, so libbpf loads the rest of the object as usual. */
int ebpf_elf_patch_legacy(uint8_t *img, size_t len,
			  const struct ebpf_legacy_map *maps, const int *kernel_fds,
			  size_t nr_maps, char *err, size_t err_size);
/* XDP_RUN_CONFIG of prog_name from the object's BTF into cfg (defaults
 * when absent). */
int ebpf_run_config_parse(const struct btf *btf, const char *prog_name,
			  struct ebpf_xdp_run_config *cfg, char *err, size_t err_size);

/* Format an error into err (if any) and the log. */
void ebpf_set_err(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
