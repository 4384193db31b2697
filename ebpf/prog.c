/* prog.c - program life cycle: creation (check, pseudo resolution, compile), references, ids, runs and statistics. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ebpf/internal.h"
#include "lib/util/log.h"

/* Per-thread run state (helpers read xdp; tail calls count here). */
__thread struct ebpf_run_ctx ebpf_run_ctx;
__thread uint32_t ebpf_may_goto_left __attribute__((tls_model("initial-exec")));

static atomic_bool stats_enabled;

/* ---- id registry ------------------------------------------------------------ */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ebpf_prog **registry;
static size_t registry_len, registry_cap;
static uint32_t next_id = 1;

static int registry_add(struct ebpf_prog *prog)
{
	int ret = 0;

	pthread_mutex_lock(&registry_lock);
	if (registry_len == registry_cap) {
		size_t cap = registry_cap ? registry_cap * 2 : 16;
		struct ebpf_prog **r = realloc(registry, cap * sizeof(*r));

		if (!r) {
			ret = -ENOMEM;
			goto out;
		}
		registry = r;
		registry_cap = cap;
	}
	prog->id = next_id++;
	if (!next_id)	/* ids wrap after 2^32 loads; 0 is never an id */
		next_id = 1;
	registry[registry_len++] = prog;
out:
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

static void registry_remove(struct ebpf_prog *prog)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < registry_len; i++) {
		if (registry[i] == prog) {
			registry[i] = registry[--registry_len];
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

/* The program is borrowed: the caller keeps it alive (or takes its own
 * reference with ebpf_prog_get) while using it. */
struct ebpf_prog *ebpf_prog_by_id(uint32_t id)
{
	struct ebpf_prog *found = NULL;

	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < registry_len; i++) {
		if (registry[i]->id == id) {
			found = registry[i];
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return found;
}

/* ---- destruction --------------------------------------------------------------- */

static void prog_destroy(struct ebpf_prog *prog)
{
	if (prog->id)
		registry_remove(prog);
	if (prog->jit_image || prog->jit_func)
		ebpf_jit_free(prog);
	ebpf_interp_free(prog);
	for (size_t i = 0; i < prog->nr_maps; i++)
		ebpf_map_put(prog->maps[i]);
	if (prog->kernel_fd >= 0)
		close(prog->kernel_fd);
	free(prog->maps);
	free(prog->callbacks);
	free(prog->insns);
	free(prog);
}

struct ebpf_prog *ebpf_prog_get(struct ebpf_prog *prog)
{
	if (prog)
		atomic_fetch_add(&prog->refcnt, 1);
	return prog;
}

void ebpf_prog_put(struct ebpf_prog *prog)
{
	if (prog && atomic_fetch_sub(&prog->refcnt, 1) == 1)
		prog_destroy(prog);
}

/* ---- creation ------------------------------------------------------------------- */

static int hold_map(struct ebpf_prog *prog, struct ebpf_map *map)
{
	struct ebpf_map **m;

	for (size_t i = 0; i < prog->nr_maps; i++)
		if (prog->maps[i] == map)
			return 0;
	m = realloc(prog->maps, (prog->nr_maps + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	prog->maps = m;
	prog->maps[prog->nr_maps++] = ebpf_map_get(map);
	return 0;
}

/* ld_imm64 map forms: the kernel puts a map pointer (MAP_FD/MAP_IDX) or
 * the address of value bytes (MAP_VALUE/MAP_IDX_VALUE, off in the second
 * imm) into the register; so do we, with the runtime's own maps. */
static int resolve_map_ref(struct ebpf_prog *prog, size_t i, const struct ebpf_prog_opts *o)
{
	struct bpf_insn *insn = &prog->insns[i];
	uint32_t idx = (uint32_t)insn[0].imm;
	struct ebpf_map *map;
	uint64_t value;
	int ret;

	if (idx >= o->nr_maps || !o->maps || !o->maps[idx]) {
		ebpf_set_err(o->err_buf, o->err_size,
			     "insn %zu: map reference %u, but the program has %zu maps",
			     i, idx, o->nr_maps);
		return -EINVAL;
	}
	map = o->maps[idx];
	if (insn->src_reg == BPF_PSEUDO_MAP_VALUE || insn->src_reg == BPF_PSEUDO_MAP_IDX_VALUE) {
		void *addr = map->ops && map->ops->direct_value_addr ?
			     map->ops->direct_value_addr(map, (uint32_t)insn[1].imm) : NULL;

		if (!addr) {
			ebpf_set_err(o->err_buf, o->err_size,
				     "insn %zu: map '%s' has no value at offset %u for direct "
				     "access (global data needs a one-element array)",
				     i, map->name, (uint32_t)insn[1].imm);
			return -EINVAL;
		}
		value = (uint64_t)(uintptr_t)addr;
	} else {
		value = (uint64_t)(uintptr_t)map;
	}
	ret = hold_map(prog, map);
	if (ret)
		return ret;
	insn[0].src_reg = 0;
	insn[0].imm = (int32_t)(uint32_t)value;
	insn[1].imm = (int32_t)(uint32_t)(value >> 32);
	return 0;
}

static int add_callback(struct ebpf_prog *prog, size_t target)
{
	struct ebpf_callback *cb;

	for (size_t k = 0; k < prog->nr_callbacks; k++)
		if (prog->callbacks[k].insn_off == target)
			return 0;
	cb = realloc(prog->callbacks, (prog->nr_callbacks + 1) * sizeof(*cb));
	if (!cb)
		return -ENOMEM;
	prog->callbacks = cb;
	prog->callbacks[prog->nr_callbacks++] = (struct ebpf_callback){
		.prog = prog,
		.insn_off = (uint32_t)target,
	};
	return 0;
}

static int resolve_pseudo(struct ebpf_prog *prog, const struct ebpf_prog_opts *o)
{
	int ret = 0;

	for (size_t i = 0; i < prog->insn_cnt && !ret; i++) {
		struct bpf_insn *insn = &prog->insns[i];

		if (insn->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		switch (insn->src_reg) {
		case BPF_PSEUDO_MAP_FD:
		case BPF_PSEUDO_MAP_IDX:
		case BPF_PSEUDO_MAP_VALUE:
		case BPF_PSEUDO_MAP_IDX_VALUE:
			ret = resolve_map_ref(prog, i, o);
			break;
		case BPF_PSEUDO_FUNC:
			ret = add_callback(prog, i + (size_t)(int64_t)insn->imm + 1);
			break;
		}
		i++;	/* second half */
	}
	if (ret == -ENOMEM)
		ebpf_set_err(o->err_buf, o->err_size, "out of memory loading %s", prog->name);
	return ret;
}

/* Size-versioned opts (as libbpf's OPTS): fields past opts->sz read as 0,
 * and a newer caller's non-zero fields we do not know are refused. */
static int copy_opts(const struct ebpf_prog_opts *opts, struct ebpf_prog_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (!opts)
		return 0;
	if (opts->sz < offsetof(struct ebpf_prog_opts, name) + sizeof(opts->name)) {
		ebpf_set_err(NULL, 0, "ebpf_prog_opts.sz (%zu) is too small", opts->sz);
		return -EINVAL;
	}
	if (opts->sz > sizeof(*o)) {
		const char *tail = (const char *)opts + sizeof(*o);

		for (size_t k = 0; k < opts->sz - sizeof(*o); k++)
			if (tail[k]) {
				ebpf_set_err(NULL, 0, "ebpf_prog_opts has fields this runtime "
					     "does not know (sz %zu)", opts->sz);
				return -EINVAL;
			}
	}
	memcpy(o, opts, opts->sz < sizeof(*o) ? opts->sz : sizeof(*o));
	return 0;
}

int ebpf_prog_create(const struct bpf_insn *insns, size_t insn_cnt,
		     const struct ebpf_prog_opts *opts, struct ebpf_prog **out)
{
	struct ebpf_prog_opts o;
	struct ebpf_prog *prog = NULL;
	void *mem;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	ret = copy_opts(opts, &o);
	if (ret)
		return ret;
	if (o.engine != EBPF_ENGINE_INTERP && o.engine != EBPF_ENGINE_JIT) {
		ebpf_set_err(o.err_buf, o.err_size, "unknown engine %d", (int)o.engine);
		return -EINVAL;
	}
	if (o.helpers != EBPF_HELPERS_XDP && o.helpers != EBPF_HELPERS_CONFORMANCE) {
		ebpf_set_err(o.err_buf, o.err_size, "unknown helper set %d", (int)o.helpers);
		return -EINVAL;
	}
	ret = ebpf_prog_check(insns, insn_cnt, o.helpers, o.err_buf, o.err_size);
	if (ret)
		return ret;

	/* stats slots are cache-line aligned: calloc's alignment is not enough */
	if (posix_memalign(&mem, 64, sizeof(*prog))) {
		ebpf_set_err(o.err_buf, o.err_size, "out of memory loading a program");
		return -ENOMEM;
	}
	prog = memset(mem, 0, sizeof(*prog));
	atomic_init(&prog->refcnt, 1);
	prog->kernel_fd = -1;
	prog->engine = o.engine;
	prog->helpers = o.helpers;
	prog->run_cfg.priority = 50;	/* libxdp's defaults */
	prog->run_cfg.chain_call_actions = 1u << XDP_PASS;
	snprintf(prog->name, sizeof(prog->name), "%s", o.name && *o.name ? o.name : "prog");

	prog->insns = malloc(insn_cnt * sizeof(*insns));
	if (!prog->insns) {
		ebpf_set_err(o.err_buf, o.err_size, "out of memory loading %s", prog->name);
		ret = -ENOMEM;
		goto err;
	}
	memcpy(prog->insns, insns, insn_cnt * sizeof(*insns));
	prog->insn_cnt = insn_cnt;

	ret = resolve_pseudo(prog, &o);
	if (ret)
		goto err;

	/* The interpreter's code is built for every program: it is the
	 * engine of tail calls from interpreted programs into this one. */
	ret = ebpf_interp_prepare(prog, o.err_buf, o.err_size);
	if (ret)
		goto err;
	if (prog->engine == EBPF_ENGINE_JIT) {
		ret = ebpf_jit_compile(prog, o.err_buf, o.err_size);
		if (!ret && !prog->jit_func) {
			ebpf_set_err(o.err_buf, o.err_size, "JIT produced no code for %s", prog->name);
			ret = -EINVAL;
		}
		if (ret)
			goto err;
	}
	ret = registry_add(prog);
	if (ret) {
		ebpf_set_err(o.err_buf, o.err_size, "out of memory registering %s", prog->name);
		goto err;
	}
	*out = prog;
	return 0;
err:
	prog_destroy(prog);
	return ret;
}

int ebpf_prog_load_raw(const struct bpf_insn *insns, size_t insn_cnt,
		       const struct ebpf_prog_opts *opts, struct ebpf_prog **out)
{
	return ebpf_prog_create(insns, insn_cnt, opts, out);
}

/* ---- accessors ------------------------------------------------------------------- */

const char *ebpf_prog_name(const struct ebpf_prog *prog) { return prog->name; }
const char *ebpf_prog_section(const struct ebpf_prog *prog) { return prog->section; }
uint32_t ebpf_prog_id(const struct ebpf_prog *prog) { return prog->id; }
enum ebpf_engine ebpf_prog_engine(const struct ebpf_prog *prog) { return prog->engine; }
size_t ebpf_prog_insn_cnt(const struct ebpf_prog *prog) { return prog->insn_cnt; }
const struct bpf_insn *ebpf_prog_insns(const struct ebpf_prog *prog) { return prog->insns; }
int ebpf_prog_kernel_fd(const struct ebpf_prog *prog) { return prog->kernel_fd; }

const struct ebpf_xdp_run_config *ebpf_prog_run_config(const struct ebpf_prog *prog)
{
	return &prog->run_cfg;
}

void ebpf_prog_get_stats(const struct ebpf_prog *prog, struct ebpf_prog_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int c = 0; c < EBPF_MAX_CPUS; c++) {
		st->run_cnt += __atomic_load_n(&prog->stats[c].run_cnt, __ATOMIC_RELAXED);
		st->run_time_ns += __atomic_load_n(&prog->stats[c].run_time_ns, __ATOMIC_RELAXED);
	}
}

/* ---- running ----------------------------------------------------------------------- */

void ebpf_stats_enable(bool on)
{
	atomic_store_explicit(&stats_enabled, on, memory_order_relaxed);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t prog_exec(struct ebpf_prog *prog, uint64_t r1, uint64_t r2)
{
	if (prog->engine == EBPF_ENGINE_JIT)
		return prog->jit_func(r1, r2, 0, 0, 0);
	return ebpf_interp_run(prog, r1, r2, 0, 0, 0);
}

/* Statistics on (ebpf_stats_enable): two clock reads around the run. */
static __attribute__((noinline)) uint64_t
prog_run_timed(struct ebpf_prog *prog, uint64_t r1, uint64_t r2,
	       struct ebpf_prog_stats_slot *slot)
{
	uint64_t start = now_ns(), ret;

	ret = prog_exec(prog, r1, r2);
	__atomic_store_n(&slot->run_time_ns,
			 __atomic_load_n(&slot->run_time_ns, __ATOMIC_RELAXED) + now_ns() - start,
			 __ATOMIC_RELAXED);
	return ret;
}

/* Counters live in the thread's CPU slot, written only by the threads of
 * that slot, so plain relaxed adds suffice (as the kernel's per-CPU
 * bpf_prog_stats).  The timed path is out of line: the common run is a
 * flag test, the call and one add. */
static inline __attribute__((always_inline)) uint64_t
prog_run_counted(struct ebpf_prog *prog, uint64_t r1, uint64_t r2)
{
	struct ebpf_prog_stats_slot *slot = &prog->stats[ebpf_cpu() % EBPF_MAX_CPUS];
	uint64_t ret;

	if (__builtin_expect(atomic_load_explicit(&stats_enabled, memory_order_relaxed), 0))
		ret = prog_run_timed(prog, r1, r2, slot);
	else
		ret = prog_exec(prog, r1, r2);
	__atomic_store_n(&slot->run_cnt, __atomic_load_n(&slot->run_cnt, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
	return ret;
}

uint64_t ebpf_prog_run_args(struct ebpf_prog *prog, uint64_t r1, uint64_t r2)
{
	uint32_t saved_cnt = ebpf_run_ctx.tail_call_cnt, saved_loops = ebpf_may_goto_left;
	uint64_t ret;

	ebpf_run_ctx.tail_call_cnt = 0;
	ebpf_may_goto_left = EBPF_MAX_LOOPS;
	ret = prog_run_counted(prog, r1, r2);
	ebpf_run_ctx.tail_call_cnt = saved_cnt;
	ebpf_may_goto_left = saved_loops;
	return ret;
}

uint64_t ebpf_prog_run(struct ebpf_prog *prog, void *ctx)
{
	return ebpf_prog_run_args(prog, (uint64_t)(uintptr_t)ctx, 0);
}

/* An action above XDP_REDIRECT is passed on as is: the caller treats an
 * unknown action as the kernel does (bpf_warn_invalid_xdp_action, drop). */
uint32_t ebpf_prog_run_xdp(struct ebpf_prog *prog, struct ebpf_xdp_buff *xdp)
{
	struct ebpf_run_ctx *rc = &ebpf_run_ctx;
	struct ebpf_run_ctx saved = *rc;
	uint32_t saved_loops = ebpf_may_goto_left;
	uint64_t ret;

	rc->xdp = xdp;
	rc->tail_call_cnt = 0;
	ebpf_may_goto_left = EBPF_MAX_LOOPS;
	ret = prog_run_counted(prog, (uint64_t)(uintptr_t)&xdp->md, 0);
	*rc = saved;
	ebpf_may_goto_left = saved_loops;
	return (uint32_t)ret;
}

uint32_t ebpf_prog_run_xdp_counted(struct ebpf_prog *prog, struct ebpf_xdp_buff *xdp,
				   struct ebpf_insn_counts *cnt)
{
	struct ebpf_run_ctx *rc = &ebpf_run_ctx;
	struct ebpf_run_ctx saved = *rc;
	uint32_t saved_loops = ebpf_may_goto_left;
	uint64_t ret;

	rc->xdp = xdp;
	rc->tail_call_cnt = 0;
	ebpf_may_goto_left = EBPF_MAX_LOOPS;
	/* the context (xdp_md, in front of the frame) and the whole frame,
	 * headroom and metadata included: what an XDP program reads without
	 * a map */
	cnt->pkt_lo = (uint64_t)(uintptr_t)xdp;
	cnt->pkt_hi = (uint64_t)(uintptr_t)xdp->hard_start + xdp->frame_sz;
	ret = ebpf_interp_run_counted(prog, (uint64_t)(uintptr_t)&xdp->md, cnt);
	*rc = saved;
	ebpf_may_goto_left = saved_loops;
	return (uint32_t)ret;
}
