/* hook.c - eBPF programs at the simulated NIC's hooks (rx-pre, rx-post): loaded into the runtime, run in its counting interpreter, costed after the kernel nfp JIT's expansion. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/md_snapshot.h"
#include "core/nfp/sim/hook.h"
#include "loader/fw/fwrules.h"

#define HOOK_FRAME_SZ 4096u     /* as an AF_XDP frame (core/daemon/hooks_ebpf.c) */
#define HOOK_HEADROOM 256u      /* XDP_PACKET_HEADROOM */

/* Helper ids (linux/bpf.h) whose calls touch a map or emit a record. */
enum { H_MAP_LOOKUP = 1, H_MAP_UPDATE = 2, H_MAP_DELETE = 3, H_PERF_OUTPUT = 25,
       H_RINGBUF_OUTPUT = 130, H_RINGBUF_RESERVE = 131, H_RINGBUF_SUBMIT = 132 };

int sim_hook_parse(const char *arg, struct sim_hook_spec *s)
{
	const char *c = strchr(arg, ':'), *c2;
	char name[16];

	memset(s, 0, sizeof(*s));
	if (!c || (size_t)(c - arg) >= sizeof(name) || !c[1]) {
		fprintf(stderr, "flextoe-nfpsim: bad --hook '%s' (HOOK:FILE[:PROG], HOOK rx-pre or rx-post)\n",
			arg);
		return -EINVAL;
	}
	memcpy(name, arg, (size_t)(c - arg));
	name[c - arg] = 0;
	s->hook = ftoe_hook_by_name(name);
	if (s->hook != FLEXTOE_HOOK_RX_PRE && s->hook != FLEXTOE_HOOK_RX_POST) {
		fprintf(stderr, "flextoe-nfpsim: --hook '%s': the NIC model has rx-pre and rx-post "
				"(tx-post runs on the host's transmit path, not modelled)\n", arg);
		return -EINVAL;
	}
	c2 = strchr(c + 1, ':');
	if ((size_t)((c2 ? (size_t)(c2 - c - 1) : strlen(c + 1))) >= sizeof(s->path) ||
	    (c2 && strlen(c2 + 1) >= sizeof(s->prog))) {
		fprintf(stderr, "flextoe-nfpsim: --hook '%s': name too long\n", arg);
		return -EINVAL;
	}
	if (c2) {
		memcpy(s->path, c + 1, (size_t)(c2 - c - 1));
		strcpy(s->prog, c2 + 1);
	} else {
		strcpy(s->path, c + 1);
	}
	return 0;
}

/* ---- the hook points' backend (struct ftoe_hook_ops) ------------------------ */

static int hk_begin(void *ctx, enum flextoe_hook hook, struct ftoe_hook_frame *f)
{
	struct sim_hooks *sh = ctx;
	struct ebpf_xdp_buff *x = sh->buf;
	uint8_t *data;

	if (ebpf_xdp_buff_set(x, f->data, f->len, HOOK_HEADROOM))
		return -EMSGSIZE;
	data = ebpf_xdp_data(x);
	memcpy(data - sizeof(f->md), &f->md, sizeof(f->md));
	x->md.data_meta = x->md.data - (uint32_t)sizeof(f->md);
	sh->cur = hook;
	sh->runs[hook]++;
	return 0;
}

static uint32_t hk_run(void *ctx, void *handle)
{
	struct sim_hooks *sh = ctx;

	return ebpf_prog_run_xdp_counted(handle, sh->buf, &sh->cnt[sh->cur]);
}

static int drop_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

static void hk_end(void *ctx, struct ftoe_hook_frame *f, bool commit)
{
	struct sim_hooks *sh = ctx;
	struct ebpf_xdp_buff *x = sh->buf;

	/* the host's consumer (flextoe-bpf trace) keeps ring buffers from
	 * filling, which would change the programs' path and cost; its
	 * work is on the host, not charged */
	for (unsigned i = 0; i < sh->nrings; i++)
		ebpf_ringbuf_consume(sh->rings[i], drop_record, NULL);
	if (!commit)
		return;
	f->data = ebpf_xdp_data(x);
	f->len = ebpf_xdp_len(x);
	if (x->md.data - x->md.data_meta >= sizeof(f->md))
		memcpy(&f->md, f->data - sizeof(f->md), sizeof(f->md));
}

/* ---- loading ------------------------------------------------------------------ */

static int fw_update(void *ctx, const char *map, const void *key, size_t key_size,
		     const void *value, size_t value_size)
{
	struct ebpf_map *m = ebpf_object_find_map(ctx, map);

	if (!m || ebpf_map_key_size(m) != key_size || ebpf_map_value_size(m) != value_size)
		return -ENOENT;
	return ebpf_map_update_elem(m, key, value, 0);
}

static int fw_load(struct ebpf_object *obj, const char *path, const char *rules)
{
	struct fw_map_ops ops = { .update = fw_update, .ctx = obj };
	struct fw_compile_stats st;
	struct fw_ruleset *rs;
	struct fw_error ferr = { 0 };
	int rc;

	rc = fw_ruleset_parse_file(rules, &rs, &ferr);
	if (rc) {
		if (ferr.line)
			fprintf(stderr, "flextoe-nfpsim: --fw-rules %s: line %u: %s\n", rules, ferr.line,
				ferr.msg[0] ? ferr.msg : strerror(-rc));
		else
			fprintf(stderr, "flextoe-nfpsim: --fw-rules %s: %s\n", rules,
				ferr.msg[0] ? ferr.msg : strerror(-rc));
		return rc;
	}
	rc = fw_ruleset_compile(rs, 0, &ops, &st, &ferr);
	fw_ruleset_free(rs);
	if (rc)
		fprintf(stderr, "flextoe-nfpsim: --fw-rules %s into %s: %s\n", rules, path,
			ferr.msg[0] ? ferr.msg : strerror(-rc));
	return rc;
}

int sim_hooks_open(struct sim_hooks *sh, const struct sim_hook_spec *specs, unsigned n,
		   const char *fw_rules)
{
	static const struct ftoe_hook_ops ops_tmpl = { .begin = hk_begin, .run = hk_run, .end = hk_end };
	struct ftoe_hook_ops ops = ops_tmpl;
	bool fw_used = false;
	int rc;

	memset(sh, 0, sizeof(*sh));
	if (n > SIM_MAX_HOOKS) {
		fprintf(stderr, "flextoe-nfpsim: at most %d --hook programs\n", SIM_MAX_HOOKS);
		return -E2BIG;
	}
	ops.ctx = sh;
	rc = ebpf_xdp_buff_alloc(HOOK_FRAME_SZ, &sh->buf);
	if (!rc)
		rc = ftoe_hooks_create(&ops, &sh->h);
	if (rc) {
		fprintf(stderr, "flextoe-nfpsim: cannot set up the hooks: %s\n", strerror(-rc));
		sim_hooks_close(sh);
		return rc;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct sim_hook_spec *s = &specs[i];
		struct ebpf_object_opts o;
		struct ebpf_prog *p;
		struct ftoe_hook_prog hp;
		char err[512] = "";

		memset(&o, 0, sizeof(o));
		o.sz = sizeof(o);
		o.engine = EBPF_ENGINE_INTERP;
		o.err_buf = err;
		o.err_size = sizeof(err);
		rc = ebpf_object_open(s->path, &o, &sh->obj[i]);
		if (rc) {
			fprintf(stderr, "flextoe-nfpsim: --hook %s: %s\n", s->path, err[0] ? err : strerror(-rc));
			goto fail;
		}
		sh->n = i + 1;
		p = s->prog[0] ? ebpf_object_find_prog(sh->obj[i], s->prog) :
				 ebpf_object_next_prog(sh->obj[i], NULL);
		if (!p || (!s->prog[0] && ebpf_object_next_prog(sh->obj[i], p))) {
			fprintf(stderr, "flextoe-nfpsim: --hook %s: %s (HOOK:FILE:PROG names one)\n", s->path,
				s->prog[0] ? "no program of that name" : "not exactly one program");
			rc = -ENOENT;
			goto fail;
		}
		for (struct ebpf_map *m = ebpf_object_next_map(sh->obj[i], NULL); m;
		     m = ebpf_object_next_map(sh->obj[i], m))
			if (ebpf_map_type(m) == BPF_MAP_TYPE_RINGBUF &&
			    sh->nrings < sizeof(sh->rings) / sizeof(sh->rings[0]))
				sh->rings[sh->nrings++] = m;
		if (fw_rules && ebpf_object_find_map(sh->obj[i], "fw_rules")) {
			rc = fw_load(sh->obj[i], s->path, fw_rules);
			if (rc)
				goto fail;
			fw_used = true;
		}
		hp = (struct ftoe_hook_prog){ .handle = p, .id = ebpf_prog_id(p), .priority = (int32_t)i,
					      .chain_call_actions = FTOE_HOOK_CHAIN_DEFAULT };
		rc = ftoe_hooks_attach(sh->h, s->hook, &hp);
		if (rc) {
			fprintf(stderr, "flextoe-nfpsim: --hook %s: cannot attach: %s\n", s->path,
				strerror(-rc));
			goto fail;
		}
	}
	if (fw_rules && !fw_used) {
		fprintf(stderr, "flextoe-nfpsim: --fw-rules %s: no --hook program has the firewall's "
				"maps (build/xdp-progs/firewall.bpf.o)\n", fw_rules);
		rc = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	sim_hooks_close(sh);
	return rc;
}

void sim_hooks_close(struct sim_hooks *sh)
{
	struct ftoe_hook_prog chain[FTOE_HOOK_MAX_PROGS];

	if (sh->h) {
		for (int k = FTOE_HOOK_FIRST; k < FTOE_HOOK_NR; k++) {
			int n = ftoe_hooks_list(sh->h, (enum flextoe_hook)k, chain, FTOE_HOOK_MAX_PROGS);

			for (int i = 0; i < n; i++)
				ftoe_hooks_detach(sh->h, chain[i].id, NULL);
		}
		ftoe_hooks_destroy(sh->h);
	}
	for (unsigned i = 0; i < sh->n; i++)
		ebpf_object_close(sh->obj[i]);
	ebpf_xdp_buff_free(sh->buf);
	memset(sh, 0, sizeof(*sh));
}

void sim_hooks_reset(struct sim_hooks *sh)
{
	memset(sh->cnt, 0, sizeof(sh->cnt));
	memset(sh->runs, 0, sizeof(sh->runs));
	memset(sh->verdict, 0, sizeof(sh->verdict));
}

uint32_t sim_hooks_rx_pre(struct sim_hooks *sh, uint8_t *fr, uint16_t *len, uint16_t room)
{
	struct ftoe_hook_frame f = { .data = fr, .len = *len };
	uint32_t v;

	f.md.size = sizeof(f.md);
	f.md.version = FLEXTOE_MD_VERSION;
	f.md.hook = FLEXTOE_HOOK_RX_PRE;
	f.md.dir = FLEXTOE_DIR_RX;
	ftoe_md_frame_addrs(&f.md, fr, *len);
	v = ftoe_hooks_run(sh->h, FLEXTOE_HOOK_RX_PRE, &f);
	/* TX and REDIRECT: the model has no path back to the wire or other
	 * ports for them; counted and dropped, as the x86 backend does with
	 * REDIRECT */
	if (v == FTOE_XDP_PASS && f.len > room)
		v = FTOE_XDP_ABORTED;
	sh->verdict[FLEXTOE_HOOK_RX_PRE][v <= FTOE_XDP_NR_ACTIONS ? v : FTOE_XDP_NR_ACTIONS]++;
	if (v != FTOE_XDP_PASS)
		return v;
	if (f.data != fr)
		memcpy(fr, f.data, f.len);
	*len = (uint16_t)f.len;
	return v;
}

/* ---- cost --------------------------------------------------------------------- */

/* ME instructions per eBPF instruction of class k (nfpsim.conf, from the
 * kernel nfp JIT's expansion). */
static double class_cost(const struct sim_params *p, int k)
{
	switch (k) {
	case EBPF_IC_ALU64:      return p->bpf_alu64;
	case EBPF_IC_ALU32:      return p->bpf_alu32;
	case EBPF_IC_MUL:        return p->bpf_mul;
	case EBPF_IC_DIV:        return p->bpf_div;
	case EBPF_IC_SHIFT64:    return p->bpf_shift64;
	case EBPF_IC_SHIFT32:    return p->bpf_shift32;
	case EBPF_IC_END:        return p->bpf_bswap;
	case EBPF_IC_JMP64:      return p->bpf_jmp64;
	case EBPF_IC_JMP32:      return p->bpf_jmp32;
	case EBPF_IC_JA:         return p->bpf_ja;
	case EBPF_IC_LDX_STACK:  return p->bpf_ldx_stack;
	case EBPF_IC_LDX_PKT:    return p->bpf_ldx_pkt;
	case EBPF_IC_LDX_MEM:    return p->bpf_ldx_mem;
	case EBPF_IC_ST_STACK:   return p->bpf_st_stack;
	case EBPF_IC_ST_PKT:     return p->bpf_st_pkt;
	case EBPF_IC_ST_MEM:     return p->bpf_st_mem;
	case EBPF_IC_ATOMIC:     return p->bpf_atomic;
	case EBPF_IC_LDDW:       return p->bpf_ld_imm64;
	case EBPF_IC_CALL:       return p->bpf_call;
	case EBPF_IC_CALL_LOCAL: return p->bpf_call_local;
	case EBPF_IC_EXIT:       return p->bpf_exit;
	}
	return 0;
}

static void add_cmds(struct sim_hook_cost *c, enum nfp_mem m, double n, double bytes)
{
	if (n <= 0)
		return;
	c->bytes[m] = (c->bytes[m] * c->cmds[m] + bytes * n) / (c->cmds[m] + n);
	c->cmds[m] += n;
}

void sim_hook_cost(const struct sim_hooks *sh, enum flextoe_hook hook, const struct sim_params *p,
		   struct sim_hook_cost *c)
{
	const struct ebpf_insn_counts *k;
	double runs, maps, recs;

	memset(c, 0, sizeof(*c));
	if (!sh || !sh->runs[hook])
		return;
	k = &sh->cnt[hook];
	runs = (double)sh->runs[hook];
	c->runs = runs;
	for (int i = 0; i < EBPF_IC__MAX; i++) {
		c->insns += (double)k->cls[i];
		c->cycles += (double)k->cls[i] * class_cost(p, i);
	}
	maps = (double)(k->helper[H_MAP_LOOKUP] + k->helper[H_MAP_UPDATE] + k->helper[H_MAP_DELETE]);
	recs = (double)(k->helper[H_PERF_OUTPUT] + k->helper[H_RINGBUF_OUTPUT] +
			k->helper[H_RINGBUF_RESERVE] + k->helper[H_RINGBUF_SUBMIT]);
	/* the JIT reads the packet through a cache in transfer registers:
	 * one CTM read fills it per run; stores go to CTM one by one */
	if (k->cls[EBPF_IC_LDX_PKT])
		add_cmds(c, NFP_MEM_CTM, runs, p->bpf_pkt_cache_bytes);
	add_cmds(c, NFP_MEM_CTM, (double)k->cls[EBPF_IC_ST_PKT], 4);
	/* maps live in EMEM (as the nfp driver's offloaded maps): value
	 * loads and stores are EMEM commands (bpf_mem_per_cmd of them
	 * gathered in transfer registers per command), atomics one each, each lookup, update
	 * or delete bpf_map_cmds of them (hash bucket, then entry) */
	add_cmds(c, NFP_MEM_EMEM, (double)(k->cls[EBPF_IC_LDX_MEM] + k->cls[EBPF_IC_ST_MEM]) /
		 p->bpf_mem_per_cmd, 8 * p->bpf_mem_per_cmd);
	add_cmds(c, NFP_MEM_EMEM, (double)k->cls[EBPF_IC_ATOMIC], 8);
	add_cmds(c, NFP_MEM_EMEM, maps * p->bpf_map_cmds, p->bpf_map_bytes);
	add_cmds(c, NFP_MEM_EMEM, recs, p->bpf_map_bytes);
	c->insns /= runs;
	c->cycles /= runs;
	for (int m = 0; m < NFP_MEM__MAX; m++)
		c->cmds[m] /= runs;
}
