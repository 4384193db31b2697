/* jit_x86.c - x86-64 JIT: compiles eBPF (ISA up to cpu v4) into a W^X machine-code image.
 *
 * Register mapping follows the kernel's x86-64 JIT (arch/x86/net/
 * bpf_jit_comp.c): r0 rax, r1-r5 rdi rsi rdx rcx r8 (the SysV argument
 * registers, so helpers are called directly), r6-r9 rbx r13 r14 r15
 * (callee-saved on both sides), r10 rbp.  r9-r11 are scratch; r12 holds the
 * call-depth anchor in guarded images (below).
 *
 * Every subprogram is a SysV function with its own stack frame:
 *   push <callee-saved regs it uses>; push rbp; mov rbp, rsp; sub rsp, F
 * so r10 = rbp is the top of an F-byte frame (F = 512, or less when r10 is
 * only a base with constant offsets).  Functions without calls skip the
 * 16-byte alignment; functions without r10 skip the frame.
 *
 * Jumps use rel8 where they fit: offsets are computed over several passes,
 * starting from all-long encodings; sizes then only shrink, so the passes
 * converge (the kernel JIT iterates the same way).
 *
 * Call depth: the kernel verifier bounds it for verified programs.  When
 * the call graph (calls and callback references) is not provably acyclic
 * and at most EBPF_MAX_CALL_DEPTH deep, the image is "guarded": its entry
 * is a wrapper that saves all callee-saved registers and keeps a depth
 * counter at [r12]; a call that would exceed the limit unwinds to the
 * wrapper and returns 0 (internal.h: the run ends with r0 = 0).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ebpf/internal.h"
#include "ebpf/jit_x86_emit.h"
#include "lib/util/log.h"

#define REG_FP		10
#define JIT_HDR_SIZE	16	/* image header: raw entry of the main program */
#define MAX_PASSES	64
#define FRAME_MAX	(32768 + 8)	/* any s16 offset below r10 */

static const uint8_t bpf2x86[11] = {
	RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP,
};

/* Callee-saved x86 registers of r6..r9, in push order. */
static const uint8_t saved_regs[4] = { RBX, R13, R14, R15 };

struct jit_sub {
	uint32_t first, end;		/* instructions [first, end) */
	uint8_t saved;			/* bit k: saved_regs[k] is pushed */
	bool uses_stack;		/* r10 referenced: rbp frame */
	bool has_calls;			/* helper/bpf/tail calls: keep rsp 16-aligned */
	bool pad;			/* alignment push without a frame */
	bool callback;			/* entry of a callback (ld_imm64 PSEUDO_FUNC) */
	uint32_t frame;			/* bytes below rbp */
	uint32_t entry, nentry;		/* prologue offset: previous / this pass */
	uint32_t wrap, nwrap;		/* guard wrapper offset */
	uint8_t color;			/* call-graph DFS */
	uint32_t depth;
};

struct jit_ctx {
	struct ebpf_prog *prog;
	const struct bpf_insn *insns;
	size_t n;
	struct jit_sub *subs;
	size_t nr_subs;
	uint32_t *sub_of;		/* insn -> subprogram */
	uint32_t *off, *noff;		/* body offset of each insn (n + 1): previous / this pass */
	uint32_t abort_off, nabort_off;
	bool guard, bmi2, far_calls, force_long, near_failed;
	uint8_t *image;			/* final pass only */
	struct x86_buf b;
	uint32_t ip;			/* offset of b.b[0] in the previous layout */
	/* bpf_map_lookup_elem calls with a known map (find_map_calls). */
	uint32_t *lk;			/* insn -> 1 + index into gens, or 0 */
	struct ebpf_map_gen_lookup *gens;
	bool tls_ok;			/* the CPU slot is at fs:tls_off */
	int32_t tls_off;
	bool loops_ok;			/* ebpf_may_goto_left is at fs:loops_off */
	int32_t loops_off;
	char *err;
	size_t err_size;
};

/* Feature mask for tests: bit 0 disables BMI2 (shlx & co). */
static unsigned int jit_feature_off;

void ebpf_jit_set_features_off(unsigned int mask)
{
	jit_feature_off = mask;
}

static inline int R(uint8_t bpf_reg) { return bpf2x86[bpf_reg]; }

static bool is_ldimm64(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW);
}

static bool is_pseudo_call(const struct bpf_insn *insn)
{
	return insn->code == (BPF_JMP | BPF_CALL) && insn->src_reg == BPF_PSEUDO_CALL;
}

/* Instruction after which execution never continues at i + 1. */
static bool ends_flow(const struct bpf_insn *insn)
{
	return insn->code == (BPF_JMP | BPF_EXIT) || insn->code == (BPF_JMP | BPF_JA) ||
	       insn->code == (BPF_JMP32 | BPF_JA);
}

/* Jump target of insn i, or -1 when it is not a jump. */
static int64_t jump_target(const struct bpf_insn *insn, size_t i)
{
	uint8_t cls = BPF_CLASS(insn->code), op = BPF_OP(insn->code);

	if (cls != BPF_JMP && cls != BPF_JMP32)
		return -1;
	if (op == BPF_CALL || op == BPF_EXIT)
		return -1;
	if (cls == BPF_JMP32 && op == BPF_JA)
		return (int64_t)i + 1 + insn->imm;
	return (int64_t)i + 1 + insn->off;
}

static bool is_load_acq(const struct bpf_insn *insn)
{
	return BPF_CLASS(insn->code) == BPF_STX && BPF_MODE(insn->code) == BPF_ATOMIC &&
	       insn->imm == BPF_LOAD_ACQ;
}

static struct ebpf_callback *find_callback(struct ebpf_prog *prog, size_t target)
{
	for (size_t k = 0; k < prog->nr_callbacks; k++)
		if (prog->callbacks[k].insn_off == target)
			return &prog->callbacks[k];
	return NULL;
}

/* ---- analysis -------------------------------------------------------------------- */

/* Which x86 frame a subprogram needs, from the registers its code uses. */
static void analyse_insn(struct jit_sub *s, const struct bpf_insn *insn)
{
	static const int access_size[4] = { 4, 2, 1, 8 };	/* BPF_W, H, B, DW */
	uint8_t cls = BPF_CLASS(insn->code);
	bool fp_base = false, fp_other = false, src_x = true;

	switch (cls) {
	case BPF_LDX:
		fp_base = insn->src_reg == REG_FP;
		fp_other = insn->dst_reg == REG_FP;
		break;
	case BPF_ST:
		src_x = false;
		fp_base = insn->dst_reg == REG_FP;
		break;
	case BPF_STX:
		if (is_load_acq(insn)) {	/* dst = [src + off], as BPF_LDX */
			fp_base = insn->src_reg == REG_FP;
			fp_other = insn->dst_reg == REG_FP;
			break;
		}
		fp_base = insn->dst_reg == REG_FP;
		fp_other = insn->src_reg == REG_FP;	/* the pointer escapes */
		break;
	case BPF_ALU:
	case BPF_ALU64:
	case BPF_JMP:
	case BPF_JMP32:
		if (cls == BPF_JMP && BPF_OP(insn->code) == BPF_CALL) {
			s->has_calls = true;
			return;
		}
		src_x = BPF_SRC(insn->code) == BPF_X;
		fp_other = insn->dst_reg == REG_FP || (src_x && insn->src_reg == REG_FP);
		break;
	default:	/* ld_imm64: dst only */
		src_x = false;
		fp_other = insn->dst_reg == REG_FP;
		break;
	}
	for (int k = 0; k < 4; k++) {
		if (insn->dst_reg == 6 + k || (src_x && insn->src_reg == 6 + k))
			s->saved |= 1u << k;
	}
	/* r10 as the base of a constant-offset access needs -off bytes; any
	 * other use (copied, compared, stored) may reach the whole frame. */
	if (fp_base) {
		int64_t need = -(int64_t)insn->off;

		if (insn->off >= 0 || insn->off + access_size[BPF_SIZE(insn->code) >> 3] > 0)
			need = EBPF_STACK_SIZE;
		s->uses_stack = true;
		if (need > s->frame)
			s->frame = (uint32_t)need;
	}
	if (fp_other) {
		s->uses_stack = true;
		if (s->frame < EBPF_STACK_SIZE)
			s->frame = EBPF_STACK_SIZE;
	}
}

static void finish_frame(struct jit_sub *s)
{
	unsigned int pushed = 8 * (unsigned int)__builtin_popcount(s->saved);

	s->frame = (s->frame + 7) & ~7u;
	if (s->frame > FRAME_MAX)
		s->frame = FRAME_MAX;
	s->pad = false;
	if (s->uses_stack)
		pushed += 8 + s->frame;
	/* SysV: rsp is 16-aligned at calls; at entry rsp = 8 mod 16. */
	if (s->has_calls && pushed % 16 == 0) {
		if (s->uses_stack)
			s->frame += 8;
		else
			s->pad = true;
	}
}

/* True when no call chain recurses or needs more than EBPF_MAX_CALL_DEPTH
 * frames, so the image needs no run-time depth guard. */
static bool call_depth_ok(struct jit_ctx *c)
{
	/* Iterative DFS over subprograms; edges are bpf-to-bpf calls and
	 * callback references (a helper may call the callback). */
	size_t *stack = malloc(c->nr_subs * sizeof(*stack));
	size_t *cursor = malloc(c->nr_subs * sizeof(*cursor));
	bool ok = stack && cursor;

	for (size_t r = 0; ok && r < c->nr_subs; r++) {
		size_t sp = 0;

		if (c->subs[r].color)
			continue;
		stack[sp++] = r;
		c->subs[r].color = 1;
		cursor[r] = c->subs[r].first;
		while (sp && ok) {
			size_t s = stack[sp - 1];
			struct jit_sub *S = &c->subs[s];
			bool pushed = false;

			while (cursor[s] < S->end) {
				const struct bpf_insn *insn = &c->insns[cursor[s]];
				size_t i = cursor[s]++;
				int64_t t;
				size_t ts;

				if (is_pseudo_call(insn))
					t = (int64_t)i + 1 + insn->imm;
				else if (is_ldimm64(insn) && insn->src_reg == BPF_PSEUDO_FUNC)
					t = (int64_t)i + 1 + insn->imm;
				else
					continue;
				ts = c->sub_of[t];
				if (c->subs[ts].color == 1) {
					ok = false;	/* recursion */
					break;
				}
				if (c->subs[ts].color == 0) {
					c->subs[ts].color = 1;
					cursor[ts] = c->subs[ts].first;
					stack[sp++] = ts;
					pushed = true;
					break;
				}
				if (c->subs[ts].depth + 1 > S->depth)
					S->depth = c->subs[ts].depth + 1;
			}
			if (pushed || !ok)
				continue;
			S->color = 2;
			if (S->depth == 0)
				S->depth = 1;
			sp--;
			if (sp) {
				struct jit_sub *P = &c->subs[stack[sp - 1]];

				if (S->depth + 1 > P->depth)
					P->depth = S->depth + 1;
			}
			if (S->depth > EBPF_MAX_CALL_DEPTH)
				ok = false;
		}
	}
	free(stack);
	free(cursor);
	return ok;
}

static int analyse(struct jit_ctx *c)
{
	const struct bpf_insn *insns = c->insns;
	size_t n = c->n, s;
	bool *start, uniform = false;

	start = calloc(n + 1, sizeof(*start));
	c->sub_of = malloc((n + 1) * sizeof(*c->sub_of));
	if (!start || !c->sub_of) {
		free(start);
		ebpf_set_err(c->err, c->err_size, "out of memory compiling %s", c->prog->name);
		return -ENOMEM;
	}
	start[0] = true;
	for (size_t i = 0; i < n; i++) {
		const struct bpf_insn *insn = &insns[i];
		int64_t t = -1;

		if (insn->dst_reg > REG_FP || insn->src_reg > REG_FP) {
			ebpf_set_err(c->err, c->err_size, "insn %zu: invalid register", i);
			goto einval;
		}
		if (is_pseudo_call(insn) ||
		    (is_ldimm64(insn) && insn->src_reg == BPF_PSEUDO_FUNC))
			t = (int64_t)i + 1 + insn->imm;
		else
			t = jump_target(insn, i);
		if (t != -1 && (t < 0 || t >= (int64_t)n)) {
			ebpf_set_err(c->err, c->err_size, "insn %zu: target %lld outside the program",
				     i, (long long)t);
			goto einval;
		}
		if (is_pseudo_call(insn) || (is_ldimm64(insn) && insn->src_reg == BPF_PSEUDO_FUNC))
			start[t] = true;
		if (is_ldimm64(insn)) {
			if (i + 1 >= n) {
				ebpf_set_err(c->err, c->err_size, "insn %zu: truncated ld_imm64", i);
				goto einval;
			}
			i++;
		}
	}
	for (size_t k = 0; k < c->prog->nr_callbacks; k++) {
		if (c->prog->callbacks[k].insn_off >= n) {
			ebpf_set_err(c->err, c->err_size, "callback %zu starts outside the program", k);
			goto einval;
		}
		start[c->prog->callbacks[k].insn_off] = true;
	}

	c->nr_subs = 0;
	for (size_t i = 0; i < n; i++)
		c->nr_subs += start[i];
	c->subs = calloc(c->nr_subs, sizeof(*c->subs));
	if (!c->subs) {
		free(start);
		ebpf_set_err(c->err, c->err_size, "out of memory compiling %s", c->prog->name);
		return -ENOMEM;
	}
	s = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		if (start[i]) {
			if (s != (size_t)-1)
				c->subs[s].end = (uint32_t)i;
			c->subs[++s].first = (uint32_t)i;
		}
		c->sub_of[i] = (uint32_t)s;
	}
	c->subs[s].end = (uint32_t)n;
	c->sub_of[n] = (uint32_t)s;
	free(start);

	for (size_t i = 0; i < n; i++) {
		const struct bpf_insn *insn = &insns[i];
		struct jit_sub *S = &c->subs[c->sub_of[i]];
		int64_t t = jump_target(insn, i);

		analyse_insn(S, insn);
		/* A jump into another subprogram, or falling into the next
		 * one, shares the frame: give all subprograms one layout. */
		if (t >= 0 && c->sub_of[t] != c->sub_of[i])
			uniform = true;
		if (is_ldimm64(insn))
			i++;
	}
	for (size_t k = 1; k < c->nr_subs; k++)
		if (!ends_flow(&insns[c->subs[k].first - 1]))
			uniform = true;
	for (size_t k = 0; k < c->prog->nr_callbacks; k++)
		c->subs[c->sub_of[c->prog->callbacks[k].insn_off]].callback = true;
	if (uniform) {
		struct jit_sub u = { 0 };

		for (size_t k = 0; k < c->nr_subs; k++) {
			u.saved |= c->subs[k].saved;
			u.uses_stack |= c->subs[k].uses_stack;
			u.has_calls |= c->subs[k].has_calls;
			if (c->subs[k].frame > u.frame)
				u.frame = c->subs[k].frame;
		}
		for (size_t k = 0; k < c->nr_subs; k++) {
			c->subs[k].saved = u.saved;
			c->subs[k].uses_stack = u.uses_stack;
			c->subs[k].has_calls = u.has_calls;
			c->subs[k].frame = u.frame;
		}
	}
	for (size_t k = 0; k < c->nr_subs; k++)
		finish_frame(&c->subs[k]);
	c->guard = !call_depth_ok(c);
	return 0;
einval:
	free(start);
	return -EINVAL;
}

/* ---- map lookups with a known map ------------------------------------------------------
 * The kernel's verifier knows the map of every bpf_map_lookup_elem call and
 * rewrites it (do_misc_fixups): arrays inline (map_gen_lookup), other maps
 * call their lookup directly.  Here the map is known when r1 was loaded by
 * an ld_imm64 of one of the program's maps earlier in the same straight
 * run of code (no jump lands in between, nothing wrote r1). */

static bool writes_r1(const struct bpf_insn *insn)
{
	uint8_t cls = BPF_CLASS(insn->code);

	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
	case BPF_LDX:
	case BPF_LD:
		return insn->dst_reg == 1 || cls == BPF_LD;
	case BPF_STX:	/* atomics with BPF_FETCH write src, load-acquire dst */
		if (is_load_acq(insn))
			return insn->dst_reg == 1;
		return BPF_MODE(insn->code) == BPF_ATOMIC && (insn->imm & BPF_FETCH) &&
		       insn->src_reg == 1;
	case BPF_JMP:
		return BPF_OP(insn->code) == BPF_CALL;	/* r1-r5 are clobbered */
	default:
		return false;
	}
}

static struct ebpf_map *prog_map(const struct ebpf_prog *prog, uint64_t v)
{
	for (size_t k = 0; k < prog->nr_maps; k++)
		if ((uint64_t)(uintptr_t)prog->maps[k] == v)
			return prog->maps[k];
	return NULL;
}

/* Offset of an initial-exec thread-local variable from the thread
 * pointer; the same in every thread.  x86-64 TLS ABI: %fs:0 holds the
 * thread pointer itself. */
static bool tls_offset(const void *var, int32_t *off)
{
	uintptr_t tp;
	int64_t d;

	__asm__("mov %%fs:0, %0" : "=r"(tp));
	d = (int64_t)((uintptr_t)var - tp);
	if (!x86_is_simm32(d))
		return false;
	*off = (int32_t)d;
	return true;
}

static int find_map_calls(struct jit_ctx *c)
{
	const struct bpf_insn *insns = c->insns;
	struct ebpf_map *known = NULL;
	size_t n = c->n, nr = 0;
	bool *target;

	c->tls_ok = tls_offset(&ebpf_thread_slot_plus1, &c->tls_off);
	c->loops_ok = tls_offset(&ebpf_may_goto_left, &c->loops_off);
	if (c->prog->helpers != EBPF_HELPERS_XDP || !c->prog->nr_maps)
		return 0;
	target = calloc(n + 1, sizeof(*target));
	c->lk = calloc(n, sizeof(*c->lk));
	c->gens = calloc(n / 3 + 1, sizeof(*c->gens));	/* ld_imm64 + call each */
	if (!target || !c->lk || !c->gens) {
		free(target);
		ebpf_set_err(c->err, c->err_size, "out of memory compiling %s", c->prog->name);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t t = jump_target(&insns[i], i);

		if (t >= 0 && t <= (int64_t)n)
			target[t] = true;
		if (c->sub_of[i] != c->sub_of[i + 1])
			target[i + 1] = true;
		if (is_ldimm64(&insns[i]))
			i++;
	}
	for (size_t i = 0; i < n; i++) {
		const struct bpf_insn *insn = &insns[i];

		if (target[i] || i == 0)
			known = NULL;
		if (insn->code == (BPF_JMP | BPF_CALL) && insn->src_reg == 0 &&
		    insn->imm == BPF_FUNC_map_lookup_elem && known && known->ops->gen_lookup &&
		    !known->ops->gen_lookup(known, &c->gens[nr])) {
			c->lk[i] = (uint32_t)++nr;
		}
		if (is_ldimm64(insn)) {
			if (insn->dst_reg == 1)
				known = insn->src_reg ? NULL :
					prog_map(c->prog, (uint32_t)insn->imm |
							  (uint64_t)(uint32_t)insn[1].imm << 32);
			i++;
		} else if (writes_r1(insn) || ends_flow(insn)) {
			known = NULL;
		}
	}
	free(target);
	return 0;
}

/* ---- emission helpers ----------------------------------------------------------------- */

static void flush(struct jit_ctx *c, uint32_t *pos)
{
	if (c->image)
		memcpy(c->image + *pos, c->b.b, c->b.n);
	*pos += c->b.n;
	c->b.n = 0;
}

/* Jump (cc < 0) or Jcc to an image offset of the previous layout. */
static void emit_jump(struct jit_ctx *c, int cc, uint32_t target)
{
	struct x86_buf *b = &c->b;
	int64_t at = (int64_t)c->ip + b->n;
	int64_t d = (int64_t)target - (at + 2);

	if (!c->force_long && x86_is_imm8(d)) {
		x86_b(b, cc < 0 ? 0xeb : 0x70 + cc);
		x86_b(b, (uint8_t)d);
		return;
	}
	if (cc < 0) {
		x86_b(b, 0xe9);
		x86_u32(b, (uint32_t)(target - (at + 5)));
	} else {
		x86_b(b, 0x0f);
		x86_b(b, 0x80 + cc);
		x86_u32(b, (uint32_t)(target - (at + 6)));
	}
}

/* call rel32 to an offset inside the image. */
static void emit_call_local(struct jit_ctx *c, uint32_t target)
{
	int64_t at = (int64_t)c->ip + c->b.n;

	x86_b(&c->b, 0xe8);
	x86_u32(&c->b, (uint32_t)(target - (at + 5)));
}

/* Call a C function: rel32 when the image is within reach, else through
 * rax (which the call clobbers anyway as r0). */
static void emit_call_abs(struct jit_ctx *c, const void *fn)
{
	struct x86_buf *b = &c->b;

	if (c->far_calls) {
		x86_mov_imm64(b, RAX, (uint64_t)(uintptr_t)fn);
		x86_b(b, 0xff);
		x86_b(b, 0xd0);		/* call rax */
		return;
	}
	x86_b(b, 0xe8);
	if (c->image) {
		int64_t from = (int64_t)(uintptr_t)c->image + c->ip + b->n + 4;
		int64_t d = (int64_t)(uintptr_t)fn - from;

		if (!x86_is_simm32(d))
			c->near_failed = true;
		x86_u32(b, (uint32_t)d);
	} else {
		x86_u32(b, 0);
	}
}

static void emit_prologue(struct x86_buf *b, const struct jit_sub *s)
{
	for (int k = 0; k < 4; k++)
		if (s->saved & (1u << k))
			x86_push(b, saved_regs[k]);
	if (s->uses_stack) {
		x86_push(b, RBP);
		x86_mov_rr(b, true, RBP, RSP);
		if (s->frame)
			x86_alu_ri(b, true, 5, RSP, (int32_t)s->frame);	/* sub rsp, F */
	} else if (s->pad) {
		x86_push(b, RAX);
	}
}

/* Undo the prologue (without ret): exit and tail calls. */
static void emit_teardown(struct x86_buf *b, const struct jit_sub *s)
{
	if (s->uses_stack)
		x86_b(b, 0xc9);		/* leave: r10 is read-only, so rbp is intact */
	else if (s->pad)
		x86_pop(b, RCX);	/* caller-saved, dead at exit */
	for (int k = 3; k >= 0; k--)
		if (s->saved & (1u << k))
			x86_pop(b, saved_regs[k]);
}

/* ---- ALU ----------------------------------------------------------------------------- */

static void emit_divmod(struct jit_ctx *c, const struct bpf_insn *insn)
{
	struct x86_buf *b = &c->b;
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64, x = BPF_SRC(insn->code) == BPF_X;
	bool is_mod = BPF_OP(insn->code) == BPF_MOD, sign = insn->off == 1;
	unsigned int w = is64 ? XF_W : 0;
	int dst = R(insn->dst_reg), res = is_mod ? RDX : RAX;
	unsigned int j_zero = 0, j_neg = 0, j_done1, j_done2 = 0;

	if (!x) {
		/* ISA: div by 0 -> 0; mod by 0 -> dst (upper half zeroed for
		 * ALU32); signed by -1: sdiv = -dst (INT_MIN stays), smod = 0. */
		if (insn->imm == 0) {
			if (!is_mod)
				x86_rr(b, 0, 0x31, dst, dst);
			else if (!is64)
				x86_mov_rr(b, false, dst, dst);
			return;
		}
		if (sign && insn->imm == -1) {
			if (is_mod)
				x86_rr(b, 0, 0x31, dst, dst);
			else
				x86_rr(b, w, 0xf7, 3, dst);	/* neg */
			return;
		}
		if (is64)
			x86_mov_imm64(b, R11, (uint64_t)(int64_t)insn->imm);
		else
			x86_mov_imm64(b, R11, (uint32_t)insn->imm);
	} else {
		x86_mov_rr(b, true, R11, R(insn->src_reg));
		x86_rr(b, w, 0x85, R11, R11);			/* test */
		j_zero = x86_jshort_fwd(b, CC_E);
		if (sign) {
			x86_alu_ri(b, is64, 7, R11, -1);	/* cmp r11, -1 */
			j_neg = x86_jshort_fwd(b, CC_E);
		}
	}
	/* x86 div/idiv use rdx:rax (r3:r0): save them in scratch registers. */
	if (dst != RAX)
		x86_mov_rr(b, true, R10, RAX);
	if (dst != RDX)
		x86_mov_rr(b, true, R9, RDX);
	if (dst != RAX)
		x86_mov_rr(b, true, RAX, dst);
	if (sign) {
		if (is64)
			x86_b(b, 0x48);
		x86_b(b, 0x99);					/* cqo / cdq */
	} else {
		x86_rr(b, 0, 0x31, RDX, RDX);
	}
	x86_rr(b, w, 0xf7, sign ? 7 : 6, R11);			/* idiv / div r11 */
	if (dst != res)
		x86_mov_rr(b, is64, dst, res);
	if (dst != RAX)
		x86_mov_rr(b, true, RAX, R10);
	if (dst != RDX)
		x86_mov_rr(b, true, RDX, R9);
	if (!x)
		return;
	j_done1 = x86_jshort_fwd(b, -1);
	x86_patch8(b, j_zero);
	if (!is_mod)
		x86_rr(b, 0, 0x31, dst, dst);
	else if (!is64)
		x86_mov_rr(b, false, dst, dst);
	if (sign) {
		j_done2 = x86_jshort_fwd(b, -1);
		x86_patch8(b, j_neg);
		if (is_mod)
			x86_rr(b, 0, 0x31, dst, dst);
		else
			x86_rr(b, w, 0xf7, 3, dst);
		x86_patch8(b, j_done2);
	}
	x86_patch8(b, j_done1);
}

static void emit_shift(struct jit_ctx *c, const struct bpf_insn *insn)
{
	struct x86_buf *b = &c->b;
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64;
	unsigned int w = is64 ? XF_W : 0;
	int dst = R(insn->dst_reg), src = R(insn->src_reg);
	uint8_t op = BPF_OP(insn->code);
	int ext = op == BPF_LSH ? 4 : op == BPF_RSH ? 5 : 7;

	if (BPF_SRC(insn->code) == BPF_K) {
		/* ISA: the count is masked to the operand width. */
		uint8_t cnt = (uint8_t)(insn->imm & (is64 ? 63 : 31));

		if (cnt)
			x86_shift_ri(b, is64, ext, dst, cnt);
		else if (!is64)
			x86_mov_rr(b, false, dst, dst);
		return;
	}
	/* x86 masks the count the same way (& 63 / & 31). */
	if (c->bmi2) {
		x86_shiftx(b, is64, op == BPF_LSH ? 1 : op == BPF_RSH ? 3 : 2, dst, dst, src);
		return;
	}
	if (src == RCX) {
		x86_rr(b, w, 0xd3, ext, dst);
	} else if (dst == RCX) {
		x86_mov_rr(b, true, R11, RCX);
		x86_mov_rr(b, true, RCX, src);
		x86_rr(b, w, 0xd3, ext, R11);
		x86_mov_rr(b, true, RCX, R11);
	} else {
		x86_mov_rr(b, true, R11, RCX);
		x86_mov_rr(b, true, RCX, src);
		x86_rr(b, w, 0xd3, ext, dst);
		x86_mov_rr(b, true, RCX, R11);
	}
}

static void emit_end(struct x86_buf *b, const struct bpf_insn *insn)
{
	int dst = R(insn->dst_reg);
	/* ALU64 | END is an unconditional bswap (cpu v4); ALU | END with
	 * TO_BE swaps on this little-endian host, TO_LE only truncates. */
	bool swap = BPF_CLASS(insn->code) == BPF_ALU64 || BPF_SRC(insn->code) == BPF_TO_BE;

	switch (insn->imm) {
	case 16:
		if (swap) {
			x86_rr(b, XF_66, 0xc1, 0, dst);		/* rol r16, 8 */
			x86_b(b, 8);
		}
		x86_rr(b, 0, 0x0fb7, dst, dst);			/* movzx r32, r16 */
		break;
	case 32:
		if (swap)
			x86_head(b, 0, 0x0fc8 + (dst & 7), 0, 0, dst, true);
		else
			x86_mov_rr(b, false, dst, dst);
		break;
	case 64:
		if (swap)
			x86_head(b, XF_W, 0x0fc8 + (dst & 7), 0, 0, dst, true);
		break;
	}
}

static int emit_alu(struct jit_ctx *c, size_t i, const struct bpf_insn *insn)
{
	struct x86_buf *b = &c->b;
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64, x = BPF_SRC(insn->code) == BPF_X;
	unsigned int w = is64 ? XF_W : 0;
	int dst = R(insn->dst_reg), src = R(insn->src_reg);
	int32_t imm = insn->imm;

	switch (BPF_OP(insn->code)) {
	case BPF_ADD: case BPF_SUB: case BPF_AND: case BPF_OR: case BPF_XOR: {
		static const uint8_t rr_opc[16] = {
			[BPF_ADD >> 4] = 0x01, [BPF_SUB >> 4] = 0x29, [BPF_AND >> 4] = 0x21,
			[BPF_OR >> 4] = 0x09, [BPF_XOR >> 4] = 0x31,
		};
		static const uint8_t ri_ext[16] = {
			[BPF_ADD >> 4] = 0, [BPF_SUB >> 4] = 5, [BPF_AND >> 4] = 4,
			[BPF_OR >> 4] = 1, [BPF_XOR >> 4] = 6,
		};
		uint8_t k = BPF_OP(insn->code) >> 4;

		if (x)
			x86_rr(b, w, rr_opc[k], src, dst);
		else
			x86_alu_ri(b, is64, ri_ext[k], dst, imm);
		return 0;
	}
	case BPF_MOV:
		if (!x) {
			if (is64)
				x86_mov_imm64(b, dst, (uint64_t)(int64_t)imm);
			else
				x86_mov_imm64(b, dst, (uint32_t)imm);
			return 0;
		}
		switch (insn->off) {
		case 0:
			if (!is64 || dst != src)
				x86_mov_rr(b, is64, dst, src);
			return 0;
		case 8:		/* movsx (cpu v4) */
			x86_rr(b, w | XF_BRM, 0x0fbe, dst, src);
			return 0;
		case 16:
			x86_rr(b, w, 0x0fbf, dst, src);
			return 0;
		case 32:
			if (is64) {
				x86_rr(b, XF_W, 0x63, dst, src);	/* movsxd */
				return 0;
			}
			break;
		}
		break;
	case BPF_MUL:
		if (x) {
			x86_rr(b, w, 0x0faf, dst, src);
		} else if (x86_is_imm8(imm)) {
			x86_rr(b, w, 0x6b, dst, dst);
			x86_b(b, (uint8_t)imm);
		} else {
			x86_rr(b, w, 0x69, dst, dst);
			x86_u32(b, (uint32_t)imm);
		}
		return 0;
	case BPF_DIV:
	case BPF_MOD:
		if (insn->off != 0 && insn->off != 1)
			break;
		emit_divmod(c, insn);
		return 0;
	case BPF_LSH: case BPF_RSH: case BPF_ARSH:
		emit_shift(c, insn);
		return 0;
	case BPF_NEG:
		x86_rr(b, w, 0xf7, 3, dst);
		return 0;
	case BPF_END:
		if (insn->imm != 16 && insn->imm != 32 && insn->imm != 64)
			break;
		if (is64 && BPF_SRC(insn->code) != BPF_TO_LE)
			break;
		emit_end(b, insn);
		return 0;
	}
	ebpf_set_err(c->err, c->err_size, "insn %zu: the JIT cannot encode ALU opcode 0x%02x",
		     i, insn->code);
	return -EINVAL;
}

/* ---- memory ----------------------------------------------------------------------------- */

/* dst = [base + off], zero-extended. */
static void emit_load(struct x86_buf *b, uint8_t size, int dst, int base, int16_t off)
{
	static const uint32_t opc[4] = { 0x8b, 0x0fb7, 0x0fb6, 0x8b };

	x86_rm(b, size == BPF_DW ? XF_W : 0, opc[size >> 3], dst, base, off);
}

/* [base + off] = src. */
static void emit_store(struct x86_buf *b, uint8_t size, int base, int src, int16_t off)
{
	switch (size) {
	case BPF_B:  x86_rm(b, XF_BREG, 0x88, src, base, off); return;
	case BPF_H:  x86_rm(b, XF_66, 0x89, src, base, off); return;
	case BPF_W:  x86_rm(b, 0, 0x89, src, base, off); return;
	default:     x86_rm(b, XF_W, 0x89, src, base, off); return;
	}
}

static int emit_atomic(struct jit_ctx *c, size_t i, const struct bpf_insn *insn)
{
	struct x86_buf *b = &c->b;
	bool is64 = BPF_SIZE(insn->code) == BPF_DW;
	unsigned int w = is64 ? XF_W : 0;
	int dst = R(insn->dst_reg), src = R(insn->src_reg);
	int16_t off = insn->off;

	/* x86 is TSO: every load is an acquire and every store a release,
	 * so plain movs suffice (the kernel's x86 JIT emits the same). */
	if (insn->imm == BPF_LOAD_ACQ) {
		emit_load(b, BPF_SIZE(insn->code), dst, src, off);
		return 0;
	}
	if (insn->imm == BPF_STORE_REL) {
		emit_store(b, BPF_SIZE(insn->code), dst, src, off);
		return 0;
	}
	if (!is64 && BPF_SIZE(insn->code) != BPF_W)
		goto bad;
	switch (insn->imm) {
	case BPF_ADD:
		x86_rm(b, XF_LOCK | w, 0x01, src, dst, off);
		return 0;
	case BPF_OR:
		x86_rm(b, XF_LOCK | w, 0x09, src, dst, off);
		return 0;
	case BPF_AND:
		x86_rm(b, XF_LOCK | w, 0x21, src, dst, off);
		return 0;
	case BPF_XOR:
		x86_rm(b, XF_LOCK | w, 0x31, src, dst, off);
		return 0;
	case BPF_ADD | BPF_FETCH:
		/* The address is formed before src is overwritten, so
		 * src == dst works too. */
		x86_rm(b, XF_LOCK | w, 0x0fc1, src, dst, off);	/* lock xadd */
		return 0;
	case BPF_XCHG:
		x86_rm(b, w, 0x87, src, dst, off);		/* xchg (implicitly locked) */
		return 0;
	case BPF_CMPXCHG:
		x86_rm(b, XF_LOCK | w, 0x0fb1, src, dst, off);
		/* ISA: r0 = old value, zero-extended for the 32-bit form
		 * (x86 leaves eax unwritten on success). */
		if (!is64)
			x86_mov_rr(b, false, RAX, RAX);
		return 0;
	case BPF_OR | BPF_FETCH:
	case BPF_AND | BPF_FETCH:
	case BPF_XOR | BPF_FETCH: {
		/* cmpxchg loop through rax (r0): save r0 unless src receives
		 * the old value in rax anyway. */
		uint8_t opc = (insn->imm & ~BPF_FETCH) == BPF_OR ? 0x09 :
			      (insn->imm & ~BPF_FETCH) == BPF_AND ? 0x21 : 0x31;
		int base = dst, opnd = src, newv = src == RAX ? R9 : R10;
		unsigned int loop;

		if (dst == RAX) {
			x86_mov_rr(b, true, R11, RAX);
			base = R11;
		}
		if (src == RAX) {
			x86_mov_rr(b, true, R10, RAX);
			opnd = R10;
		} else {
			x86_mov_rr(b, true, R9, RAX);
		}
		loop = b->n;
		x86_rm(b, w, 0x8b, RAX, base, off);
		x86_mov_rr(b, true, newv, RAX);
		x86_rr(b, w, opc, opnd, newv);
		x86_rm(b, XF_LOCK | w, 0x0fb1, newv, base, off);
		x86_b(b, 0x70 + CC_NE);
		x86_b(b, (uint8_t)(loop - (b->n + 1)));
		if (src != RAX) {
			x86_mov_rr(b, true, src, RAX);
			x86_mov_rr(b, true, RAX, R9);
		}
		return 0;
	}
	}
bad:
	ebpf_set_err(c->err, c->err_size, "insn %zu: unknown atomic operation 0x%x", i, insn->imm);
	return -EINVAL;
}

static int emit_mem(struct jit_ctx *c, size_t i, const struct bpf_insn *insn)
{
	struct x86_buf *b = &c->b;
	int dst = R(insn->dst_reg), src = R(insn->src_reg);
	uint8_t size = BPF_SIZE(insn->code), mode = BPF_MODE(insn->code);
	int16_t off = insn->off;

	switch (BPF_CLASS(insn->code)) {
	case BPF_LDX:
		if (mode == BPF_MEM) {
			emit_load(b, size, dst, src, off);
			return 0;
		}
		if (mode == BPF_MEMSX && size != BPF_DW) {
			static const uint32_t opc[3] = { 0x63, 0x0fbf, 0x0fbe };

			x86_rm(b, XF_W, opc[size >> 3], dst, src, off);
			return 0;
		}
		break;
	case BPF_STX:
		if (mode == BPF_ATOMIC)
			return emit_atomic(c, i, insn);
		if (mode != BPF_MEM)
			break;
		emit_store(b, size, dst, src, off);
		return 0;
	case BPF_ST:
		if (mode != BPF_MEM)
			break;
		switch (size) {
		case BPF_B:
			x86_rm(b, 0, 0xc6, 0, dst, off);
			x86_b(b, (uint8_t)insn->imm);
			return 0;
		case BPF_H:
			x86_rm(b, XF_66, 0xc7, 0, dst, off);
			x86_u16(b, (uint16_t)insn->imm);
			return 0;
		default:	/* DW: imm32 sign-extended, as the ISA says */
			x86_rm(b, size == BPF_DW ? XF_W : 0, 0xc7, 0, dst, off);
			x86_u32(b, (uint32_t)insn->imm);
			return 0;
		}
	}
	ebpf_set_err(c->err, c->err_size, "insn %zu: the JIT cannot encode opcode 0x%02x",
		     i, insn->code);
	return -EINVAL;
}

/* ---- jumps and calls ------------------------------------------------------------------- */

static const int8_t jmp_cc[16] = {
	[BPF_JEQ >> 4] = CC_E, [BPF_JGT >> 4] = CC_A, [BPF_JGE >> 4] = CC_AE,
	[BPF_JSET >> 4] = CC_NE, [BPF_JNE >> 4] = CC_NE, [BPF_JSGT >> 4] = CC_G,
	[BPF_JSGE >> 4] = CC_GE, [BPF_JLT >> 4] = CC_B, [BPF_JLE >> 4] = CC_BE,
	[BPF_JSLT >> 4] = CC_L, [BPF_JSLE >> 4] = CC_LE,
};

struct jit_tail_target {
	uint64_t fn;	/* rax: where to jump with rdi = ctx, or 0 */
	uint64_t prog;	/* rdx: the target, passed on in rsi */
};

/* A tail call into a program that is not JIT-compiled runs it on the
 * interpreter with the current r1 (entered by jmp with rsi = prog). */
static uint64_t jit_tail_interp(uint64_t r1, uint64_t prog)
{
	return ebpf_interp_run((struct ebpf_prog *)(uintptr_t)prog, r1, 0, 0, 0, 0);
}

/* bpf_tail_call's checks, in the kernel's order (internal.h): index bound,
 * then the run-wide count (spent even on an empty slot), then the slot.
 * A guarded caller jumps to the target's raw entry, so the target shares
 * its depth counter (the frame is replaced, as in the interpreter). */
static struct jit_tail_target jit_tail_lookup(struct ebpf_map *map, uint32_t index,
					      uint32_t guarded)
{
	struct jit_tail_target t = { 0, 0 };
	struct ebpf_prog *p;

	if (!map || index >= map->max_entries ||
	    ebpf_run_ctx.tail_call_cnt >= EBPF_MAX_TAIL_CALLS)
		return t;
	ebpf_run_ctx.tail_call_cnt++;
	p = ebpf_prog_array_lookup(map, index);
	if (!p)
		return t;
	if (p->engine == EBPF_ENGINE_JIT && p->jit_func && p->jit_image) {
		if (guarded)
			memcpy(&t.fn, p->jit_image, sizeof(t.fn));
		else
			t.fn = (uint64_t)(uintptr_t)p->jit_func;
	} else {
		t.fn = (uint64_t)(uintptr_t)jit_tail_interp;
	}
	t.prog = (uint64_t)(uintptr_t)p;
	return t;
}

static void emit_tail_call(struct jit_ctx *c, const struct jit_sub *s)
{
	struct x86_buf *b = &c->b;
	unsigned int j_fail;

	/* rdi (r1, the context) survives the lookup on the stack; two
	 * pushes keep rsp 16-aligned. */
	x86_push(b, RDI);
	x86_push(b, RDI);
	x86_mov_rr(b, true, RDI, RSI);			/* map */
	x86_mov_rr(b, false, RSI, RDX);			/* index (u32) */
	x86_mov_imm64(b, RDX, c->guard);
	emit_call_abs(c, (const void *)jit_tail_lookup);
	x86_pop(b, RDI);
	x86_pop(b, RDI);
	x86_rr(b, XF_W, 0x85, RAX, RAX);
	j_fail = x86_jshort_fwd(b, CC_E);
	x86_mov_rr(b, true, RSI, RDX);
	emit_teardown(b, s);
	x86_b(b, 0xff);
	x86_b(b, 0xe0);					/* jmp rax */
	x86_patch8(b, j_fail);
}

static bool is_pow2(uint32_t v) { return v && !(v & (v - 1)); }

/* rax = index * stride from the u32 key at [rsi]; jumps to a "null" label
 * (returned for patching) when index >= max_entries. */
static unsigned int emit_array_index(struct x86_buf *b, const struct ebpf_map_gen_lookup *g)
{
	unsigned int j_null;

	x86_rm(b, 0, 0x8b, RAX, RSI, 0);			/* mov eax, [rsi] */
	x86_alu_ri(b, false, 7, RAX, (int32_t)g->max_entries);	/* cmp eax, max_entries */
	j_null = x86_jshort_fwd(b, CC_AE);
	if (is_pow2(g->stride))
		x86_shift_ri(b, true, 4, RAX, (uint8_t)__builtin_ctz(g->stride));
	else
		x86_imul_ri(b, RAX, RAX, (int32_t)g->stride);
	return j_null;
}

/* bpf_map_lookup_elem(r1 = known map, r2 = key) -> rax. */
static void emit_map_lookup(struct jit_ctx *c, const struct ebpf_map_gen_lookup *g)
{
	struct x86_buf *b = &c->b;
	bool inl = g->stride <= INT32_MAX && g->max_entries <= (1u << 31);
	unsigned int j_slow = 0, j_null, j_done, j_done2 = 0;

	if (g->kind == EBPF_GEN_PERCPU_ARRAY && (!c->tls_ok || g->cpu_stride > INT32_MAX))
		inl = false;
	if (g->kind == EBPF_GEN_CALL || !inl) {
		x86_mov_imm64(b, RDI, (uint64_t)(uintptr_t)g->arg);
		emit_call_abs(c, (const void *)g->call);
		return;
	}
	if (g->kind == EBPF_GEN_PERCPU_ARRAY) {
		/* ecx = CPU slot + 1; 0 (never assigned) takes the call */
		x86_mov_fs32(b, RCX, c->tls_off);
		x86_rr(b, 0, 0x85, RCX, RCX);
		j_slow = x86_jshort_fwd(b, CC_E);
	}
	j_null = emit_array_index(b, g);
	if (g->kind == EBPF_GEN_PERCPU_ARRAY) {
		x86_rr(b, 0, 0xff, 1, RCX);				/* dec ecx */
		x86_imul_ri(b, RCX, RCX, (int32_t)g->cpu_stride);
		x86_rr(b, XF_W, 0x01, RCX, RAX);			/* add rax, rcx */
		x86_mov_imm64(b, RDX, (uint64_t)(uintptr_t)g->pcpu);
		x86_rr(b, XF_W, 0x01, RDX, RAX);			/* add rax, rdx */
	} else {
		x86_mov_imm64(b, RDX, (uint64_t)(uintptr_t)g->base_ptr);
		x86_rm(b, XF_W, 0x03, RAX, RDX, 0);			/* add rax, [rdx] */
	}
	j_done = x86_jshort_fwd(b, -1);
	if (g->kind == EBPF_GEN_PERCPU_ARRAY) {
		x86_patch8(b, j_slow);
		x86_mov_imm64(b, RDI, (uint64_t)(uintptr_t)g->arg);
		emit_call_abs(c, (const void *)g->call);
		j_done2 = x86_jshort_fwd(b, -1);
	}
	x86_patch8(b, j_null);
	x86_rr(b, 0, 0x31, RAX, RAX);				/* NULL */
	x86_patch8(b, j_done);
	if (g->kind == EBPF_GEN_PERCPU_ARRAY)
		x86_patch8(b, j_done2);
}

/* bpf_get_smp_processor_id(), inlined as the kernel's verifier does: the
 * thread's CPU slot, assigned by a call on first use. */
static void emit_cpu_id(struct jit_ctx *c)
{
	struct x86_buf *b = &c->b;
	unsigned int j_slow, j_done;

	x86_mov_fs32(b, RAX, c->tls_off);
	x86_rr(b, 0, 0x85, RAX, RAX);
	j_slow = x86_jshort_fwd(b, CC_E);
	x86_rr(b, 0, 0xff, 1, RAX);				/* dec eax */
	j_done = x86_jshort_fwd(b, -1);
	x86_patch8(b, j_slow);
	emit_call_abs(c, (const void *)ebpf_thread_cpu_assign);
	x86_mov_rr(b, false, RAX, RAX);		/* an unsigned int return: zero-extend */
	x86_patch8(b, j_done);
}

static int emit_call(struct jit_ctx *c, size_t i, const struct bpf_insn *insn,
		     const struct jit_sub *s)
{
	struct x86_buf *b = &c->b;
	const struct ebpf_helper *h;

	if (insn->src_reg == BPF_PSEUDO_CALL) {
		const struct jit_sub *callee = &c->subs[c->sub_of[i + 1 + insn->imm]];

		if (c->guard) {
			x86_rm(b, XF_W, 0x83, 7, R12, 0);	/* cmp qword [r12], 7 */
			x86_b(b, EBPF_MAX_CALL_DEPTH - 1);
			x86_b(b, 0x0f);
			x86_b(b, 0x80 + CC_AE);			/* jae abort */
			x86_u32(b, (uint32_t)((int64_t)c->abort_off - (c->ip + b->n + 4)));
			x86_rm(b, XF_W, 0xff, 0, R12, 0);	/* inc qword [r12] */
		}
		emit_call_local(c, callee->entry);
		if (c->guard)
			x86_rm(b, XF_W, 0xff, 1, R12, 0);	/* dec qword [r12] */
		return 0;
	}
	if (insn->src_reg == BPF_PSEUDO_KFUNC_CALL) {
		h = ebpf_kfunc_get((uint32_t)insn->imm);
		if (!h || !h->fn) {
			ebpf_set_err(c->err, c->err_size, "insn %zu: kfunc id %d has no "
				     "implementation", i, insn->imm);
			return -EOPNOTSUPP;
		}
		emit_call_abs(c, (const void *)h->fn);
		return 0;
	}
	if (insn->src_reg != 0) {
		ebpf_set_err(c->err, c->err_size, "insn %zu: unsupported call kind (src_reg %u)",
			     i, insn->src_reg);
		return -EINVAL;
	}
	h = ebpf_helper_get(c->prog->helpers, (uint32_t)insn->imm);
	if (h && c->lk && c->lk[i]) {
		emit_map_lookup(c, &c->gens[c->lk[i] - 1]);
		return 0;
	}
	if (h && h->fn && c->tls_ok && c->prog->helpers == EBPF_HELPERS_XDP &&
	    insn->imm == BPF_FUNC_get_smp_processor_id) {
		emit_cpu_id(c);
		return 0;
	}
	if (h && h->fn) {
		emit_call_abs(c, (const void *)h->fn);
		return 0;
	}
	if (h && insn->imm == BPF_FUNC_tail_call) {
		emit_tail_call(c, s);
		return 0;
	}
	ebpf_set_err(c->err, c->err_size, "insn %zu: helper id %d has no implementation",
		     i, insn->imm);
	return -EOPNOTSUPP;
}

static int emit_jmp(struct jit_ctx *c, size_t i, const struct bpf_insn *insn,
		    const struct jit_sub *s)
{
	struct x86_buf *b = &c->b;
	bool is64 = BPF_CLASS(insn->code) == BPF_JMP;
	unsigned int w = is64 ? XF_W : 0;
	uint8_t op = BPF_OP(insn->code);
	int dst = R(insn->dst_reg);
	int64_t t;

	switch (op) {
	case BPF_CALL:
		if (is64)
			return emit_call(c, i, insn, s);
		break;
	case BPF_EXIT:
		if (!is64)
			break;
		emit_teardown(b, s);
		x86_b(b, 0xc3);
		return 0;
	case BPF_JA:
		t = jump_target(insn, i);
		if (t != (int64_t)i + 1)
			emit_jump(c, -1, c->off[t]);
		return 0;
	case BPF_JCOND:	/* may_goto: jump once the run's budget is spent */
		if (!is64)
			break;
		if (!c->loops_ok) {
			ebpf_set_err(c->err, c->err_size, "insn %zu: may_goto needs the loop "
				     "budget in thread-local storage, out of reach here", i);
			return -EOPNOTSUPP;
		}
		t = jump_target(insn, i);
		x86_fs32_op(b, 0x83, 7, c->loops_off);		/* cmp dword fs:[budget], 0 */
		x86_b(b, 0);
		emit_jump(c, CC_E, c->off[t]);
		x86_fs32_op(b, 0xff, 1, c->loops_off);		/* dec dword fs:[budget] */
		return 0;
	default:
		if (op > BPF_JSLE || (op != BPF_JEQ && !jmp_cc[op >> 4]))
			break;
		t = jump_target(insn, i);
		if (t == (int64_t)i + 1)
			return 0;	/* comparisons have no side effects */
		if (BPF_SRC(insn->code) == BPF_X)
			x86_rr(b, w, op == BPF_JSET ? 0x85 : 0x39, R(insn->src_reg), dst);
		else if (op == BPF_JSET) {
			x86_rr(b, w, 0xf7, 0, dst);		/* test r, imm32 */
			x86_u32(b, (uint32_t)insn->imm);
		} else if (insn->imm == 0)
			x86_rr(b, w, 0x85, dst, dst);		/* same flags as cmp r, 0 */
		else
			x86_alu_ri(b, is64, 7, dst, insn->imm);
		emit_jump(c, jmp_cc[op >> 4], c->off[t]);
		return 0;
	}
	ebpf_set_err(c->err, c->err_size, "insn %zu: the JIT cannot encode jump opcode 0x%02x",
		     i, insn->code);
	return -EINVAL;
}

static int emit_ldimm64(struct jit_ctx *c, size_t i, const struct bpf_insn *insn)
{
	uint64_t v = (uint32_t)insn->imm | (uint64_t)(uint32_t)insn[1].imm << 32;

	if (insn->src_reg == BPF_PSEUDO_FUNC) {
		const struct ebpf_callback *cb = find_callback(c->prog, i + 1 + insn->imm);

		if (!cb) {
			ebpf_set_err(c->err, c->err_size,
				     "insn %zu: function pointer to insn %lld has no callback entry",
				     i, (long long)i + 1 + insn->imm);
			return -EINVAL;
		}
		v = (uint64_t)(uintptr_t)cb;
	} else if (insn->src_reg != 0) {
		ebpf_set_err(c->err, c->err_size, "insn %zu: unresolved ld_imm64 (src_reg %u)",
			     i, insn->src_reg);
		return -EINVAL;
	}
	x86_mov_imm64(&c->b, R(insn->dst_reg), v);
	return 0;
}

static int emit_insn(struct jit_ctx *c, size_t i, const struct jit_sub *s)
{
	const struct bpf_insn *insn = &c->insns[i];

	switch (BPF_CLASS(insn->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		return emit_alu(c, i, insn);
	case BPF_JMP:
	case BPF_JMP32:
		return emit_jmp(c, i, insn, s);
	case BPF_LD:
		if (is_ldimm64(insn))
			return emit_ldimm64(c, i, insn);
		break;
	default:
		return emit_mem(c, i, insn);
	}
	ebpf_set_err(c->err, c->err_size, "insn %zu: the JIT cannot encode opcode 0x%02x",
		     i, insn->code);
	return -EINVAL;
}

/* ---- guard wrappers ---------------------------------------------------------------------- */

static const uint8_t all_saved[6] = { RBP, RBX, R12, R13, R14, R15 };

/* Entry of a guarded image: save every callee-saved register (an abort
 * skips the epilogues), put a zeroed depth counter at [r12], call. */
static void emit_wrapper(struct jit_ctx *c, uint32_t entry)
{
	struct x86_buf *b = &c->b;

	for (int k = 0; k < 6; k++)
		x86_push(b, all_saved[k]);
	x86_push(b, RAX);				/* depth slot; rsp now 16-aligned */
	x86_rm(b, XF_W, 0xc7, 0, RSP, 0);		/* mov qword [rsp], 0 */
	x86_u32(b, 0);
	x86_mov_rr(b, true, R12, RSP);
	emit_call_local(c, entry);
	x86_pop(b, RCX);
	for (int k = 5; k >= 0; k--)
		x86_pop(b, all_saved[k]);
	x86_b(b, 0xc3);
}

/* Depth exceeded: unwind to the wrapper's frame and return 0. */
static void emit_abort(struct x86_buf *b)
{
	x86_mov_rr(b, true, RSP, R12);
	x86_rr(b, 0, 0x31, RAX, RAX);
	x86_pop(b, RCX);
	for (int k = 5; k >= 0; k--)
		x86_pop(b, all_saved[k]);
	x86_b(b, 0xc3);
}

/* ---- passes ----------------------------------------------------------------------------- */

static int jit_pass(struct jit_ctx *c, uint32_t *size)
{
	uint32_t pos = JIT_HDR_SIZE;
	int ret;

	c->b.n = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct jit_sub *s = &c->subs[c->sub_of[i]];

		if (i == s->first) {
			struct x86_buf pro = { .n = 0 };

			emit_prologue(&pro, s);
			/* Falling into a subprogram must skip its prologue. */
			if (i > 0 && !ends_flow(&c->insns[i - 1])) {
				x86_b(&c->b, 0xeb);
				x86_b(&c->b, (uint8_t)pro.n);
			}
			flush(c, &pos);
			s->nentry = pos;
			memcpy(c->b.b, pro.b, pro.n);
			c->b.n = pro.n;
			flush(c, &pos);
		}
		c->noff[i] = pos;
		c->ip = c->off[i];
		ret = emit_insn(c, i, s);
		if (ret)
			return ret;
		flush(c, &pos);
		if (is_ldimm64(&c->insns[i]))
			c->noff[++i] = pos;
	}
	c->noff[c->n] = pos;
	if (c->guard) {
		for (size_t k = 0; k < c->nr_subs; k++) {
			struct jit_sub *s = &c->subs[k];

			if (k != 0 && !s->callback)
				continue;
			s->nwrap = pos;
			c->ip = s->wrap;
			emit_wrapper(c, s->entry);
			flush(c, &pos);
		}
		c->nabort_off = pos;
		emit_abort(&c->b);
		flush(c, &pos);
	}
	*size = pos;
	return 0;
}

/* Commit this pass's layout as the one the next pass encodes against. */
static void swap_layout(struct jit_ctx *c)
{
	uint32_t *t = c->off;

	c->off = c->noff;
	c->noff = t;
	for (size_t k = 0; k < c->nr_subs; k++) {
		c->subs[k].entry = c->subs[k].nentry;
		c->subs[k].wrap = c->subs[k].nwrap;
	}
	c->abort_off = c->nabort_off;
}

static int layout(struct jit_ctx *c, uint32_t *size)
{
	uint32_t prev = 0;
	int ret;

	c->force_long = true;
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		ret = jit_pass(c, size);
		if (ret)
			return ret;
		swap_layout(c);
		/* Sizes only shrink from the all-long first pass, so an
		 * unchanged total means every offset is unchanged. */
		if (pass >= 2 && *size == prev)
			return 0;
		prev = *size;
		c->force_long = false;
	}
	ebpf_set_err(c->err, c->err_size, "JIT: jump layout of %s did not converge",
		     c->prog->name);
	return -EINVAL;
}

/* A hint next to this library's code, so helper calls can be rel32. */
static void *image_hint(size_t len)
{
	uintptr_t text = (uintptr_t)&ebpf_jit_compile & ~(uintptr_t)0xfffff;
	uintptr_t gap = (uintptr_t)1 << 28;

	if (text > gap + len)
		return (void *)(text - gap);
	return (void *)(text + gap);
}

/* ---- callbacks ---------------------------------------------------------------------- */

typedef uint64_t (*jit_fn5)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

/* Nesting of callbacks (a callback's helper calling a callback) is bounded
 * like calls, so an unverified program cannot recurse through bpf_loop. */
static __thread unsigned int jit_cb_nesting;

static uint64_t jit_callback_invoke(const struct ebpf_callback *cb, uint64_t r1, uint64_t r2,
				    uint64_t r3, uint64_t r4, uint64_t r5)
{
	jit_fn5 fn;
	uint64_t ret;

	if (jit_cb_nesting >= EBPF_MAX_CALL_DEPTH)
		return 0;
	memcpy(&fn, &cb->native, sizeof(fn));
	jit_cb_nesting++;
	ret = fn(r1, r2, r3, r4, r5);
	jit_cb_nesting--;
	return ret;
}

/* ---- entry points -------------------------------------------------------------------- */

static void ctx_free(struct jit_ctx *c)
{
	free(c->subs);
	free(c->sub_of);
	free(c->off);
	free(c->noff);
	free(c->lk);
	free(c->gens);
}

static uint8_t *emit_image(struct jit_ctx *c, uint32_t size, size_t *map_len, int *err)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (size + page - 1) & ~(page - 1);
	uint32_t check;
	uint8_t *img;

	img = mmap(c->far_calls ? NULL : image_hint(len), len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (img == MAP_FAILED) {
		*err = -errno;
		ebpf_set_err(c->err, c->err_size, "JIT: cannot map %zu bytes for %s: %s", len,
			     c->prog->name, strerror(errno));
		return NULL;
	}
	memset(img, 0xcc, len);		/* int3 in the gaps */
	c->image = img;
	c->near_failed = false;
	*err = jit_pass(c, &check);
	c->image = NULL;
	if (!*err && check != size) {
		ebpf_set_err(c->err, c->err_size, "JIT: final pass of %s changed size", c->prog->name);
		*err = -EINVAL;
	}
	if (*err || c->near_failed) {
		munmap(img, len);
		return NULL;
	}
	*map_len = len;
	return img;
}

int ebpf_jit_compile(struct ebpf_prog *prog, char *err, size_t err_size)
{
	struct jit_ctx c = {
		.prog = prog, .insns = prog->insns, .n = prog->insn_cnt,
		.err = err, .err_size = err_size,
	};
	uint32_t size = 0;
	size_t len = 0;
	uint8_t *img = NULL;
	uint64_t raw_entry;
	int ret;

	if (!prog->insns || !prog->insn_cnt || prog->insn_cnt > EBPF_MAX_INSNS) {
		ebpf_set_err(err, err_size, "JIT: %s has no or too many instructions", prog->name);
		return -EINVAL;
	}
	c.bmi2 = __builtin_cpu_supports("bmi2") && !(jit_feature_off & 1);
	c.off = calloc(c.n + 1, sizeof(*c.off));
	c.noff = calloc(c.n + 1, sizeof(*c.noff));
	if (!c.off || !c.noff) {
		ebpf_set_err(err, err_size, "out of memory compiling %s", prog->name);
		ret = -ENOMEM;
		goto out;
	}
	ret = analyse(&c);
	if (!ret)
		ret = find_map_calls(&c);
	if (ret)
		goto out;
	for (int attempt = 0; attempt < 2 && !img; attempt++) {
		c.far_calls = attempt == 1 || (jit_feature_off & 2);
		ret = layout(&c, &size);
		if (ret)
			goto out;
		img = emit_image(&c, size, &len, &ret);
		if (ret)
			goto out;
	}
	if (!img) {
		ebpf_set_err(err, err_size, "JIT: could not place the image of %s", prog->name);
		ret = -ENOMEM;
		goto out;
	}
	raw_entry = (uint64_t)(uintptr_t)(img + c.subs[0].entry);
	memcpy(img, &raw_entry, sizeof(raw_entry));
	if (mprotect(img, len, PROT_READ | PROT_EXEC)) {
		ret = -errno;
		ebpf_set_err(err, err_size, "JIT: cannot make the image of %s executable: %s",
			     prog->name, strerror(errno));
		munmap(img, len);
		goto out;
	}
	prog->jit_image = img;
	prog->jit_size = len;
	{
		uint8_t *entry = img + (c.guard ? c.subs[0].wrap : c.subs[0].entry);

		memcpy(&prog->jit_func, &entry, sizeof(entry));
	}
	for (size_t k = 0; k < prog->nr_callbacks; k++) {
		struct ebpf_callback *cb = &prog->callbacks[k];
		const struct jit_sub *s = &c.subs[c.sub_of[cb->insn_off]];

		cb->native = img + (c.guard ? s->wrap : s->entry);
		cb->invoke = jit_callback_invoke;
		if (!cb->prog)
			cb->prog = prog;
	}
	pr_debug("jit: %s: %zu insns -> %u bytes%s", prog->name, prog->insn_cnt, size,
		 c.guard ? " (call depth guarded)" : "");
out:
	ctx_free(&c);
	return ret;
}

void ebpf_jit_free(struct ebpf_prog *prog)
{
	if (prog->jit_image)
		munmap(prog->jit_image, prog->jit_size);
	prog->jit_image = NULL;
	prog->jit_size = 0;
	prog->jit_func = NULL;
}
