/* ebpf.h - interface of the FlexTOE user-space eBPF runtime.
 *
 * The runtime runs unmodified XDP programs inside the engine's pipeline.
 * An object is opened with libbpf, verified by the kernel verifier (loaded
 * as BPF_PROG_TYPE_XDP with kernel twins of its maps), relocated onto the
 * runtime's own maps, and compiled for one of two engines: an interpreter
 * or an x86-64 JIT.  See docs/design.md section 5 and docs/runtime.md.
 *
 * Conventions (as libbpf): functions return 0 or a negative errno; failures
 * a user can cause are also described through the log module
 * (lib/util/log.h) and, where an opts struct has one, in its err_buf.
 */
#ifndef FTOE_EBPF_H
#define FTOE_EBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>

struct ebpf_map;
struct ebpf_prog;
struct ebpf_object;

enum ebpf_engine {
	EBPF_ENGINE_INTERP = 0,
	EBPF_ENGINE_JIT = 1,
};

/* "jit" / "interp" -> engine; -EINVAL for anything else. */
int ebpf_engine_parse(const char *name, enum ebpf_engine *engine);
const char *ebpf_engine_name(enum ebpf_engine engine);

/* ---- maps ---------------------------------------------------------------
 * The runtime's maps are safe for several data-path threads at once.
 * "CPUs" of per-CPU maps are runtime slots (ebpf_nr_cpus() of them); a
 * thread gets its slot from ebpf_thread_cpu().  User-space access to a
 * per-CPU map moves ebpf_nr_cpus() values, each rounded up to 8 bytes, as
 * the bpf(2) syscall does.
 */
struct ebpf_map_spec {
	const char *name;
	uint32_t type;		/* BPF_MAP_TYPE_* */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;	/* BPF_F_* */
	/* ARRAY_OF_MAPS / HASH_OF_MAPS: the inner maps' template (libbpf's
	 * bpf_map__inner_map); every inner map put in a slot must match its
	 * type, key and value size and (without BPF_F_INNER_MAP) max_entries. */
	const struct ebpf_map_spec *inner;
};

int ebpf_map_create(const struct ebpf_map_spec *spec, struct ebpf_map **out);
struct ebpf_map *ebpf_map_get(struct ebpf_map *map);	/* +1 reference */
void ebpf_map_put(struct ebpf_map *map);		/* -1, frees at 0 */

/* Every map has an id, unique while it lives (as the kernel's map ids):
 * a map-in-map's user-space value is an inner map's id, where bpf(2)
 * takes its fd and returns its id.  get_by_id takes a reference (put it),
 * or returns NULL when no live map has the id. */
uint32_t ebpf_map_id(const struct ebpf_map *map);
struct ebpf_map *ebpf_map_get_by_id(uint32_t id);

const char *ebpf_map_name(const struct ebpf_map *map);
uint32_t ebpf_map_type(const struct ebpf_map *map);
uint32_t ebpf_map_key_size(const struct ebpf_map *map);
uint32_t ebpf_map_value_size(const struct ebpf_map *map);
uint32_t ebpf_map_max_entries(const struct ebpf_map *map);
uint32_t ebpf_map_flags(const struct ebpf_map *map);
/* The runtime implements map type (BPF_MAP_TYPE_*; the list is
 * ebpf/map_types.h). */
bool ebpf_map_type_supported(uint32_t type);
/* "array, percpu_array, ...": the supported types, for messages. */
const char *ebpf_map_types_supported_str(void);
/* Its values are one per CPU: user-side lookups and updates move
 * ebpf_nr_cpus() values, each rounded up to 8 bytes (as bpf(2)). */
bool ebpf_map_type_percpu(uint32_t type);
/* libbpf's name of a map type ("percpu_array"), "unknown" if none. */
const char *ebpf_map_type_name(uint32_t type);

/* Syscall-like access: errors and flags as bpf(2) (-ENOENT, -EEXIST,
 * -E2BIG, -EINVAL, BPF_ANY/BPF_NOEXIST/BPF_EXIST, ...). */
int ebpf_map_lookup_elem(struct ebpf_map *map, const void *key, void *value);
int ebpf_map_update_elem(struct ebpf_map *map, const void *key,
			 const void *value, uint64_t flags);
int ebpf_map_delete_elem(struct ebpf_map *map, const void *key);
/* key NULL -> first key; -ENOENT after the last. */
int ebpf_map_get_next_key(struct ebpf_map *map, const void *key, void *next_key);
/* Batched forms, as bpf(2)'s BPF_MAP_UPDATE_BATCH / BPF_MAP_DELETE_BATCH:
 * *count elements, keys and values packed back to back (values in the
 * user-side size: per-CPU maps one rounded value per CPU each).  They stop
 * at the first failing element and return its error; *count is then the
 * number done before it (all of them on success).  One call per batch is
 * what makes writing 100,000 firewall rules through the control socket
 * cheap: the per-request cost is paid once. */
int ebpf_map_update_batch(struct ebpf_map *map, const void *keys, const void *values,
			  uint32_t *count, uint64_t flags);
int ebpf_map_delete_batch(struct ebpf_map *map, const void *keys, uint32_t *count);
/* The values of *count given keys (not bpf(2)'s walk of the whole map:
 * a reader of counters knows its keys), same packing and stop rule. */
int ebpf_map_lookup_batch(struct ebpf_map *map, const void *keys, void *values, uint32_t *count);

/* Back an array map's values with an mmapped kernel BPF_F_MMAPABLE array
 * (same key/value size and max_entries), so `bpftool map dump` shows the
 * runtime's live values.  Current contents are copied into the kernel map. */
int ebpf_map_attach_kernel_mmap(struct ebpf_map *map, int kernel_map_fd);

/* Ring buffer consumer side: calls fn for each committed record in order,
 * skipping discarded ones; returns the number consumed or -errno (fn's
 * negative return stops and is passed on). */
typedef int (*ebpf_ringbuf_sample_fn)(void *ctx, void *data, size_t size);
int ebpf_ringbuf_consume(struct ebpf_map *map, ebpf_ringbuf_sample_fn fn, void *ctx);
/* An eventfd that becomes readable when a record is submitted while the
 * consumer has caught up (or with BPF_RB_FORCE_WAKEUP), as the kernel's
 * ring buffer wakes epoll.  Owned by the map: poll it, read it to reset,
 * then consume; never close it.  -EINVAL for other map types. */
int ebpf_ringbuf_wait_fd(struct ebpf_map *map);

/* Perf event array consumer, shaped like libbpf's perf_buffer: new puts a
 * ring of page_cnt 4 KiB pages (a power of two) in every slot of the map
 * (-EBUSY if another consumer holds one); consume calls sample for each
 * PERF_RECORD_SAMPLE (its raw bytes, padded as the kernel pads them) and
 * lost for each PERF_RECORD_LOST, slot by slot, and returns the number
 * of records or -errno; free empties the slots again (stop the programs
 * first).  Call consume at the consumer's own pace, or sleep on the
 * wait fd (below). */
struct ebpf_perf_buffer;
typedef void (*ebpf_perf_sample_fn)(void *ctx, int cpu, void *data, uint32_t size);
typedef void (*ebpf_perf_lost_fn)(void *ctx, int cpu, uint64_t cnt);
int ebpf_perf_buffer_new(struct ebpf_map *map, size_t page_cnt, struct ebpf_perf_buffer **out);
int ebpf_perf_buffer_consume(struct ebpf_perf_buffer *pb, ebpf_perf_sample_fn sample,
			     ebpf_perf_lost_fn lost, void *ctx);
void ebpf_perf_buffer_free(struct ebpf_perf_buffer *pb);
/* An eventfd that becomes readable when a sample goes into a ring the
 * consumer had emptied (so once per drain, not per sample), for a
 * consumer that sleeps in poll() instead of calling consume on a timer:
 * poll it, read it to reset, then consume.  Owned by pb; never close it. */
int ebpf_perf_buffer_wait_fd(struct ebpf_perf_buffer *pb);

unsigned int ebpf_nr_cpus(void);
unsigned int ebpf_thread_cpu(void);

/* ---- the host's network view ------------------------------------------------
 * bpf_fib_lookup and the raw SYN-cookie helpers answer from the host the
 * runtime runs in: the engine's one interface, its address, on-link prefix
 * and gateway (its whole routing table), its neighbour cache and its
 * SYN-cookie secret.  Without a host (test-run, tests) the runtime looks
 * like a fresh network namespace: only a loopback device (ifindex 1) that
 * does not forward, and SYN cookies from a secret of this process.
 */
struct ebpf_host {
	size_t sz;			/* sizeof(struct ebpf_host) */
	void *ctx;
	uint32_t ifindex;		/* the interface programs see as ingress */
	uint8_t mac[6];
	uint32_t ip_be, prefix_len, gateway_be;	/* gateway 0: none */
	uint16_t mtu;			/* IP MTU */
	/* A valid neighbour entry for ip_be (the kernel's NUD_VALID): 0 with
	 * mac filled, else -ENOENT.  Must not send anything (the kernel's
	 * helper does not resolve either).  Any data-path thread. */
	int (*neigh)(void *ctx, uint32_t ip_be, uint8_t mac[6]);
	/* A SYN cookie for the SYN saddr:sport -> daddr:dport with sequence
	 * seq and MSS option mss (0: none): 0 with *cookie and the MSS the
	 * cookie encodes.  check: the ACK completing it (its seq and ack):
	 * 0 with the MSS, or -EACCES.  NULL: the process's own secret. */
	int (*cookie_make)(void *ctx, uint32_t saddr_be, uint32_t daddr_be, uint16_t sport_be,
			   uint16_t dport_be, uint32_t seq, uint16_t mss, uint32_t *cookie,
			   uint16_t *mss_out);
	int (*cookie_check)(void *ctx, uint32_t saddr_be, uint32_t daddr_be, uint16_t sport_be,
			    uint16_t dport_be, uint32_t seq, uint32_t ack, uint16_t *mss_out);
	/* An XSKMAP value from user space (the kernel takes an AF_XDP socket
	 * fd): 0 when id names one of the host's raw-frame sockets, else
	 * -EBADF.  NULL: the host has none (updates give -EOPNOTSUPP). */
	int (*xsk_check)(void *ctx, uint32_t id);
	/* A DEVMAP/DEVMAP_HASH value from user space naming ifindex, a
	 * device of the netns: 0 when the host can transmit on it, else
	 * -EXDEV (the engine sends only out of its own interface).  NULL:
	 * every device is a target, as in the kernel. */
	int (*devmap_check)(void *ctx, uint32_t ifindex);
};

/* Set before any program runs (copied; NULL: no host again). */
void ebpf_set_host(const struct ebpf_host *host);
/* A raw-frame socket closed: empty every slot of the xskmap that holds
 * id (as the kernel's xsk_delete_from_maps).  The number of slots
 * emptied, or -EINVAL for a map of another type. */
int ebpf_xskmap_forget(struct ebpf_map *map, uint32_t id);
/* A BPF_F_BROADCAST redirect through a devmap or devmap_hash sends a copy
 * to every full slot but those naming exclude_ifindex (the ingress
 * device under BPF_F_EXCLUDE_INGRESS; 0: none), as the kernel's
 * dev_map_enqueue_multi.  Returns how many copies that is, or -EINVAL
 * for a map of another type; *same gets how many of them go to ifindex. */
int ebpf_devmap_targets(struct ebpf_map *map, uint32_t exclude_ifindex, uint32_t ifindex,
			uint32_t *same);

/* ---- programs ------------------------------------------------------------ */

struct ebpf_prog_stats {
	uint64_t run_cnt;
	uint64_t run_time_ns;
};

/* XDP_RUN_CONFIG metadata (libxdp), defaults when the object has none:
 * priority 50, chain-call on XDP_PASS only. */
struct ebpf_xdp_run_config {
	int32_t priority;
	uint32_t chain_call_actions;	/* bit (1 << XDP_*) */
	bool present;
};

const char *ebpf_prog_name(const struct ebpf_prog *prog);
const char *ebpf_prog_section(const struct ebpf_prog *prog);
uint32_t ebpf_prog_id(const struct ebpf_prog *prog);	/* runtime id, unique */
enum ebpf_engine ebpf_prog_engine(const struct ebpf_prog *prog);
size_t ebpf_prog_insn_cnt(const struct ebpf_prog *prog);
const struct bpf_insn *ebpf_prog_insns(const struct ebpf_prog *prog);
void ebpf_prog_get_stats(const struct ebpf_prog *prog, struct ebpf_prog_stats *st);
const struct ebpf_xdp_run_config *ebpf_prog_run_config(const struct ebpf_prog *prog);
/* Kernel twin's fd (verified copy, for the "kernel" engine), or -1. */
int ebpf_prog_kernel_fd(const struct ebpf_prog *prog);
struct ebpf_prog *ebpf_prog_get(struct ebpf_prog *prog);
void ebpf_prog_put(struct ebpf_prog *prog);
/* Look up a live program by runtime id (for prog_array updates). */
struct ebpf_prog *ebpf_prog_by_id(uint32_t id);

/* Which helper set a raw program may call. */
enum ebpf_helper_set {
	EBPF_HELPERS_XDP = 0,		/* the XDP helpers of docs/runtime.md */
	EBPF_HELPERS_CONFORMANCE = 1,	/* bpf_conformance's ids 0..5 */
};

struct ebpf_prog_opts {
	size_t sz;			/* sizeof(struct ebpf_prog_opts) */
	const char *name;
	enum ebpf_engine engine;
	enum ebpf_helper_set helpers;
	/* ld_imm64 BPF_PSEUDO_MAP_FD / _MAP_VALUE / _MAP_IDX / _MAP_IDX_VALUE:
	 * imm indexes this array (raw programs, unit tests). */
	struct ebpf_map **maps;
	size_t nr_maps;
	char *err_buf;			/* optional: why loading failed */
	size_t err_size;
};

/* Load raw instructions without the kernel verifier: for the conformance
 * plugin, unit tests and fuzzing.  The instructions are still checked for
 * well-formedness (opcodes, registers, jump targets, helper ids), so a bad
 * program is rejected with a message instead of crashing the engine. */
int ebpf_prog_load_raw(const struct bpf_insn *insns, size_t insn_cnt,
		       const struct ebpf_prog_opts *opts, struct ebpf_prog **out);

/* Run with r1 = ctx (r2..r5 = 0).  Counts statistics when enabled. */
uint64_t ebpf_prog_run(struct ebpf_prog *prog, void *ctx);
/* Run with explicit r1..r2 (conformance plugin: memory pointer, length). */
uint64_t ebpf_prog_run_args(struct ebpf_prog *prog, uint64_t r1, uint64_t r2);
/* Run-time statistics (run_time_ns) cost two clock reads per run; off by
 * default, as the kernel's bpf_stats_enabled.  run_cnt is always kept. */
void ebpf_stats_enable(bool on);

/* ---- XDP buffers ---------------------------------------------------------
 * r1 of an XDP program points at md, the first member; packet memory and
 * the buffer itself live below 2 GiB, so the 32-bit data/data_end/
 * data_meta fields hold real addresses.  Geometry follows the kernel's
 * xdp_buff: frame_sz bytes from hard_start, XDP_PACKET_HEADROOM before the
 * data by default, and a tailroom reserve at the end that adjust_tail may
 * not use (as the kernel reserves skb_shared_info).
 */
struct ebpf_xdp_buff {
	struct xdp_md md;		/* must stay first */
	uint8_t *hard_start;
	uint32_t frame_sz;		/* bytes from hard_start */
	uint32_t tailroom;		/* reserved at the end of the frame */
	/* written by bpf_redirect / bpf_redirect_map */
	uint32_t redirect_ifindex;
	uint64_t redirect_flags;
	struct ebpf_map *redirect_map;
	uint32_t redirect_key;
	/* the slot's value as bpf_redirect_map found it (the kernel's
	 * bpf_redirect_info tgt_value): an xskmap's socket id, a devmap's
	 * ifindex; valid while the map lives */
	const void *redirect_value;
	void *user;			/* owner's cookie (engine, tests) */
};

/* Allocate a buffer of frame_sz bytes below 2 GiB (frame_sz <= 64 KiB). */
int ebpf_xdp_buff_alloc(uint32_t frame_sz, struct ebpf_xdp_buff **out);
void ebpf_xdp_buff_free(struct ebpf_xdp_buff *xdp);
/* Reset: copy len bytes of data at offset headroom; data_meta = data.
 * -EINVAL when it does not fit headroom + len + tailroom <= frame_sz. */
int ebpf_xdp_buff_set(struct ebpf_xdp_buff *xdp, const void *data, size_t len,
		      uint32_t headroom);
static inline uint8_t *ebpf_xdp_data(const struct ebpf_xdp_buff *x)
{ return (uint8_t *)(uintptr_t)x->md.data; }
static inline uint32_t ebpf_xdp_len(const struct ebpf_xdp_buff *x)
{ return x->md.data_end - x->md.data; }
/* The kernel's test_run geometry: frame_sz 4096, headroom 256, tailroom
 * for skb_shared_info (320), so at most 3520 bytes of data. */
#define EBPF_XDP_TEST_FRAME_SZ  4096u
#define EBPF_XDP_TEST_HEADROOM  XDP_PACKET_HEADROOM
#define EBPF_XDP_TEST_TAILROOM  320u

/* Run an XDP program on xdp; returns the action (XDP_*). */
uint32_t ebpf_prog_run_xdp(struct ebpf_prog *prog, struct ebpf_xdp_buff *xdp);

/* ---- instruction counts (cost models) --------------------------------------
 * Executed instructions of a run by class, for a cost model such as the NFP
 * simulator's (docs/nfp.md), which charges each class what the kernel's nfp
 * JIT makes of it.  Loads and stores are split by where they went: the
 * program's stack, the packet and its context (pkt_lo..pkt_hi), or other
 * memory (map values, ring buffers).  Only ebpf_prog_run_xdp_counted() counts, always in the
 * interpreter, whatever the program's engine; the ordinary runs are not
 * slowed (the counting loop is a second copy of the interpreter's).
 * Callback bodies (bpf_loop) run uncounted; their helper call counts once.
 */
#define EBPF_INSN_CLASS_LIST(X)                                                \
	X(ALU64, "alu64") X(ALU32, "alu32") X(MUL, "mul") X(DIV, "div")          \
	X(SHIFT64, "shift64") X(SHIFT32, "shift32") X(END, "bswap")              \
	X(JMP64, "jmp64") X(JMP32, "jmp32") X(JA, "ja")                          \
	X(LDX_STACK, "ldx_stack") X(LDX_PKT, "ldx_pkt") X(LDX_MEM, "ldx_mem")    \
	X(ST_STACK, "st_stack") X(ST_PKT, "st_pkt") X(ST_MEM, "st_mem")          \
	X(ATOMIC, "atomic") X(LDDW, "ld_imm64") X(CALL, "call")                  \
	X(CALL_LOCAL, "call_local") X(EXIT, "exit")
#define EBPF_IC_ENUM_(n, s) EBPF_IC_##n,
enum ebpf_insn_class { EBPF_INSN_CLASS_LIST(EBPF_IC_ENUM_) EBPF_IC__MAX };
#undef EBPF_IC_ENUM_
const char *ebpf_insn_class_name(enum ebpf_insn_class c);

#define EBPF_COUNT_HELPERS 256		/* helper ids counted one by one; higher in the last */
struct ebpf_insn_counts {
	uint64_t cls[EBPF_IC__MAX];
	uint64_t helper[EBPF_COUNT_HELPERS];	/* calls by helper id */
	uint64_t pkt_lo, pkt_hi;		/* set by ebpf_prog_run_xdp_counted */
};

/* ebpf_prog_run_xdp() in the counting interpreter: adds this run's
 * instructions to *cnt (not cleared). */
uint32_t ebpf_prog_run_xdp_counted(struct ebpf_prog *prog, struct ebpf_xdp_buff *xdp,
				   struct ebpf_insn_counts *cnt);

/* ---- objects -------------------------------------------------------------- */

struct ebpf_object_opts {
	size_t sz;			/* sizeof(struct ebpf_object_opts) */
	enum ebpf_engine engine;
	/* The kernel verifier's log of a rejected program is copied here
	 * verbatim (and printed through the log module, with the program's
	 * name, when log_buf is NULL). */
	char *log_buf;
	size_t log_size;
	char *err_buf;			/* one-line reason for a failure */
	size_t err_size;
	/* Keep the kernel twins (prog fds, map fds) open after loading, for
	 * the "kernel" engine and for kernel-mmap backed arrays.  Default
	 * (false) closes them once the runtime copy is built. */
	bool keep_kernel;
	/* Load and verify only this program (function or section name);
	 * NULL loads every XDP program.  Naming a program of another type
	 * is an error that says its type. */
	const char *prog_name;
	/* Set before load, as a libbpf skeleton does between open and load:
	 * map sizes (maps declared with max_entries 0 need one) and global
	 * variables of .rodata/.data/.bss (by variable name, the bytes as
	 * they lie in memory, exactly the variable's size). */
	const struct ebpf_map_size *map_sizes;
	size_t nr_map_sizes;
	const struct ebpf_global_init *globals;
	size_t nr_globals;
	/* The most memory the object's maps may take together (an estimate
	 * from their sizes: entries times key and value, per CPU where
	 * per-CPU), checked before anything is created, in the kernel or
	 * here; 0 for no limit but the runtime's own.  Loading an object
	 * whose maps need gigabytes takes the kernel seconds. */
	uint64_t max_map_bytes;
};

struct ebpf_map_size {
	const char *name;
	uint32_t max_entries;
};

struct ebpf_global_init {
	const char *name;
	const void *data;
	size_t size;
};

/* Presets in the text form the CLI and the control requests carry:
 * "NAME=N" a map size (1..UINT32_MAX, any strtoul base), "NAME=HEX" a
 * global's bytes as they lie in memory (optional 0x).  add: 0, or
 * -EINVAL with what is wrong in err (-ENOMEM).  The arrays go into
 * ebpf_object_opts map_sizes/globals; free releases what add made. */
struct ebpf_presets {
	struct ebpf_map_size *sizes;
	size_t nr_sizes;
	struct ebpf_global_init *globals;
	size_t nr_globals;
};
int ebpf_presets_add_size(struct ebpf_presets *p, const char *spec, char *err, size_t err_size);
int ebpf_presets_add_global(struct ebpf_presets *p, const char *spec, char *err,
			    size_t err_size);
void ebpf_presets_free(struct ebpf_presets *p);

/* A program of the object that was not loaded because it is not an XDP
 * program (tc, tracing, iterators, ...): the runtime runs XDP only. */
struct ebpf_skipped_prog {
	char name[64];
	char section[128];
	char type[32];		/* libbpf's name of its type ("sched_cls") */
};

/* Open, verify (kernel verifier), relocate and compile every XDP program
 * of an ELF object (programs of other types are skipped and listed).  Errors: -ENOENT (no file), -EBADF/-EINVAL (not a BPF
 * ELF / truncated), -EPERM (no CAP_BPF / CAP_SYS_ADMIN), -EACCES (a
 * program the verifier rejected), -EOPNOTSUPP (unsupported helper or map
 * type; err_buf names it). */
int ebpf_object_open(const char *path, const struct ebpf_object_opts *opts,
		     struct ebpf_object **out);
/* Same, from memory (fuzzing, embedded objects); name is for messages. */
int ebpf_object_open_mem(const void *buf, size_t len, const char *name,
			 const struct ebpf_object_opts *opts, struct ebpf_object **out);
void ebpf_object_close(struct ebpf_object *obj);

/* Find a program by function name, then by section name. */
struct ebpf_prog *ebpf_object_find_prog(struct ebpf_object *obj, const char *name);
struct ebpf_prog *ebpf_object_next_prog(struct ebpf_object *obj, struct ebpf_prog *prev);
struct ebpf_map *ebpf_object_find_map(struct ebpf_object *obj, const char *name);
struct ebpf_map *ebpf_object_next_map(struct ebpf_object *obj, struct ebpf_map *prev);
/* The programs that were skipped (not XDP); *n is set to their count. */
const struct ebpf_skipped_prog *ebpf_object_skipped_progs(const struct ebpf_object *obj,
							  size_t *n);
/* Kernel twin of a map (keep_kernel), or -1. */
int ebpf_object_kernel_map_fd(struct ebpf_object *obj, struct ebpf_map *map);

#endif
