/* fuzz_vm_diff.c - libFuzzer target: random valid programs must give the same r0 and memory in the interpreter and the JIT.
 *
 * The input drives a generator of always-valid programs: only forward
 * jumps (so every run ends), loads and stores only to the stack (r10-512 ..
 * r10-1) or to a 256-byte buffer whose address stays in r1 (and a copy in
 * r9), atomics only at aligned addresses, and calls only to pure helpers of
 * the conformance set.  The stack is zeroed and every register set by a
 * prologue, so nothing undefined is read; r10 is never read as a value
 * (its address differs between engines).  An epilogue folds r0, r2..r8
 * into r0.  Both engines run on the same buffer (restored in between);
 * any difference in r0 or in the buffer aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf/internal.h"

#define BUF_SIZE	256
#define MAX_BODY	200
#define MAX_INSNS	(MAX_BODY + 128)

struct gen {
	const uint8_t *data;
	size_t size, pos;
	struct bpf_insn insns[MAX_INSNS];
	bool is_hi[MAX_INSNS];	/* second half of an ld_imm64 */
	size_t cnt;
};

static uint8_t take8(struct gen *g)
{
	return g->pos < g->size ? g->data[g->pos++] : 0;
}

static uint32_t take32(struct gen *g)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | take8(g);
	return v;
}

static uint64_t take64(struct gen *g)
{
	return (uint64_t)take32(g) << 32 | take32(g);
}

/* Immediates favour the edges: 0, +-1, INT_MIN, shift widths. */
static int32_t take_imm(struct gen *g)
{
	static const int32_t edges[] = { 0, 1, -1, 2, 31, 32, 63, 64, INT32_MIN, INT32_MAX, 8, 16, 0xff };
	uint8_t k = take8(g);

	if (k < 128)
		return edges[k % (sizeof(edges) / sizeof(edges[0]))];
	return (int32_t)take32(g);
}

static void emit(struct gen *g, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	g->insns[g->cnt++] = (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm,
	};
}

static void emit_ld64(struct gen *g, uint8_t dst, uint64_t v)
{
	emit(g, BPF_LD | BPF_IMM | BPF_DW, dst, 0, 0, (int32_t)(uint32_t)v);
	g->is_hi[g->cnt] = true;
	emit(g, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

/* r0, r2..r8 may be written; r1 and r9 hold the buffer, r10 the stack. */
static uint8_t writable_reg(struct gen *g)
{
	static const uint8_t regs[] = { 0, 2, 3, 4, 5, 6, 7, 8 };

	return regs[take8(g) % sizeof(regs)];
}

static uint8_t readable_reg(struct gen *g)
{
	return take8(g) % 10;
}

static const uint8_t sizes[4] = { BPF_B, BPF_H, BPF_W, BPF_DW };
static const int size_bytes[4] = { 1, 2, 4, 8 };

/* A base register and an offset such that [base+off, +bytes) is inside
 * the buffer or the stack; aligned when asked (atomics). */
static void mem_target(struct gen *g, int bytes, bool aligned, uint8_t *base, int16_t *off)
{
	int slots = aligned ? 512 / bytes : 512 - bytes + 1;

	if (take8(g) & 1) {
		*base = 1;
		slots = aligned ? BUF_SIZE / bytes : BUF_SIZE - bytes + 1;
		*off = (int16_t)((take32(g) % (uint32_t)slots) * (aligned ? bytes : 1));
	} else {
		*base = 10;
		*off = (int16_t)(-(int)((take32(g) % (uint32_t)slots) * (aligned ? bytes : 1)) - bytes);
		if (aligned)	/* r10 is 8-byte aligned; -bytes - k*bytes stays aligned */
			*off = (int16_t)(*off - (*off % bytes));
	}
}

static void gen_alu(struct gen *g, bool is64)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH,
				       BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END };
	uint8_t cls = is64 ? BPF_ALU64 : BPF_ALU;
	uint8_t op = ops[take8(g) % sizeof(ops)];
	uint8_t dst = writable_reg(g), sel = take8(g);
	bool x = sel & 1;
	int16_t off = 0;

	switch (op) {
	case BPF_NEG:
		emit(g, cls | BPF_NEG | BPF_K, dst, 0, 0, 0);
		return;
	case BPF_END: {
		static const int32_t widths[] = { 16, 32, 64 };
		int32_t w = widths[(sel >> 1) % 3];

		if (is64)	/* bswap: TO_LE bit only */
			emit(g, BPF_ALU64 | BPF_END | BPF_TO_LE, dst, 0, 0, w);
		else
			emit(g, BPF_ALU | BPF_END | (x ? BPF_TO_BE : BPF_TO_LE), dst, 0, 0, w);
		return;
	}
	case BPF_DIV:
	case BPF_MOD:
		off = (sel >> 1) & 1;	/* signed variant */
		break;
	case BPF_MOV:
		if (x && (sel & 2)) {	/* movsx */
			static const int16_t w64[] = { 8, 16, 32 }, w32[] = { 8, 16 };

			off = is64 ? w64[(sel >> 2) % 3] : w32[(sel >> 2) % 2];
		}
		break;
	}
	uint8_t src = readable_reg(g);

	if (src == 10)
		src = 0;
	if (x)
		emit(g, cls | op | BPF_X, dst, src, off, 0);
	else
		emit(g, cls | op | BPF_K, dst, 0, off, take_imm(g));
}

static void gen_mem(struct gen *g)
{
	unsigned int s = take8(g) % 4, kind = take8(g) % 4;
	uint8_t base;
	int16_t off;

	mem_target(g, size_bytes[s], false, &base, &off);
	switch (kind) {
	case 0:
		emit(g, BPF_LDX | BPF_MEM | sizes[s], writable_reg(g), base, off, 0);
		break;
	case 1:
		if (s == 3)	/* no sign-extending dw load */
			s = 2, mem_target(g, 4, false, &base, &off);
		emit(g, BPF_LDX | BPF_MEMSX | sizes[s], writable_reg(g), base, off, 0);
		break;
	case 2:
		emit(g, BPF_ST | BPF_MEM | sizes[s], base, 0, off, take_imm(g));
		break;
	default: {
		uint8_t src = readable_reg(g);

		emit(g, BPF_STX | BPF_MEM | sizes[s], base, src == 10 ? 0 : src, off, 0);
		break;
	}
	}
}

static void gen_atomic(struct gen *g)
{
	static const int32_t aops[] = {
		BPF_ADD, BPF_OR, BPF_AND, BPF_XOR, BPF_ADD | BPF_FETCH, BPF_OR | BPF_FETCH,
		BPF_AND | BPF_FETCH, BPF_XOR | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG,
	};
	bool is64 = take8(g) & 1;
	int32_t aop = aops[take8(g) % (sizeof(aops) / sizeof(aops[0]))];
	uint8_t base;
	int16_t off;

	mem_target(g, is64 ? 8 : 4, true, &base, &off);
	emit(g, BPF_STX | BPF_ATOMIC | (is64 ? BPF_DW : BPF_W), base, writable_reg(g), off, aop);
}

static void gen_jmp(struct gen *g, size_t body_end)
{
	static const uint8_t ops[] = { BPF_JA, BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
				       BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE };
	uint8_t op = ops[take8(g) % sizeof(ops)], sel = take8(g);
	uint8_t cls = sel & 1 ? BPF_JMP32 : BPF_JMP;
	/* forward only, landing at most on the epilogue's first insn */
	size_t room = body_end - g->cnt - 1;
	int32_t delta = (int32_t)(take8(g) % (room + 1));
	uint8_t dst = readable_reg(g), src = readable_reg(g);

	if (dst == 10)
		dst = 0;
	if (src == 10)
		src = 0;
	if (op == BPF_JA) {
		if (cls == BPF_JMP32)
			emit(g, BPF_JMP32 | BPF_JA, 0, 0, 0, delta);	/* gotol */
		else
			emit(g, BPF_JMP | BPF_JA, 0, 0, (int16_t)delta, 0);
		return;
	}
	if (sel & 2)
		emit(g, cls | op | BPF_X, dst, src, (int16_t)delta, 0);
	else
		emit(g, cls | op | BPF_K, dst, 0, (int16_t)delta, take_imm(g));
}

/* Pure helpers of the conformance set; r1..r5 are caller-saved (the JIT
 * clobbers them), so they are set again right after. */
static void gen_call(struct gen *g)
{
	static const int32_t ids[] = { 0, 2, 5 };	/* gather_bytes, no_op, unwind */

	emit(g, BPF_JMP | BPF_CALL, 0, 0, 0, ids[take8(g) % 3]);
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, 1, 9, 0, 0);
	for (uint8_t r = 2; r <= 5; r++)
		emit(g, BPF_ALU64 | BPF_MOV | BPF_K, r, 0, 0, take_imm(g));
}

static void generate(struct gen *g)
{
	size_t body_len = 1 + take8(g) % MAX_BODY, body_end;

	/* prologue: every register and the whole stack defined */
	emit(g, BPF_ALU64 | BPF_MOV | BPF_X, 9, 1, 0, 0);
	emit_ld64(g, 0, take64(g));
	for (uint8_t r = 2; r <= 8; r++)
		emit_ld64(g, r, take64(g));
	for (int k = 1; k <= 64; k++)
		emit(g, BPF_ST | BPF_MEM | BPF_DW, 10, 0, (int16_t)(-8 * k), 0);

	body_end = g->cnt + body_len;
	while (g->cnt < body_end) {
		size_t left = body_end - g->cnt;
		uint8_t kind = take8(g) % 16;

		if (kind < 6)
			gen_alu(g, kind & 1);
		else if (kind < 9)
			gen_mem(g);
		else if (kind == 9 && left >= 2)
			emit_ld64(g, writable_reg(g), take64(g));
		else if (kind == 10)
			gen_atomic(g);
		else if (kind == 11 && left >= 6)
			gen_call(g);
		else if (kind <= 14)
			gen_jmp(g, body_end);
		else
			gen_alu(g, true);
	}

	/* a jump into the second half of an ld_imm64 goes one further */
	for (size_t i = 0; i < body_end; i++) {
		struct bpf_insn *in = &g->insns[i];
		uint8_t cls = BPF_CLASS(in->code);
		bool gotol = in->code == (BPF_JMP32 | BPF_JA);
		int32_t d;

		if ((cls != BPF_JMP && cls != BPF_JMP32) || BPF_OP(in->code) == BPF_CALL ||
		    g->is_hi[i])
			continue;
		d = gotol ? in->imm : in->off;
		if (g->is_hi[i + d + 1]) {
			if (gotol)
				in->imm++;
			else
				in->off++;
		}
	}

	/* epilogue: fold every writable register into r0 */
	for (uint8_t r = 2; r <= 8; r++) {
		emit(g, BPF_ALU64 | BPF_MUL | BPF_K, 0, 0, 0, 0x1000193);
		emit(g, BPF_ALU64 | BPF_XOR | BPF_X, 0, r, 0, 0);
	}
	emit(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static void dump_and_abort(const struct gen *g, const char *why)
{
	fprintf(stderr, "fuzz_vm_diff: %s\nprogram (%zu insns):\n", why, g->cnt);
	for (size_t i = 0; i < g->cnt; i++) {
		const struct bpf_insn *in = &g->insns[i];

		fprintf(stderr, "  %3zu: code 0x%02x dst r%u src r%u off %d imm %d\n", i, in->code,
			in->dst_reg, in->src_reg, in->off, in->imm);
	}
	abort();
}

static struct ebpf_prog *load(const struct gen *g, enum ebpf_engine engine, int *ret)
{
	char err[256] = "";
	struct ebpf_prog_opts opts = {
		.sz = sizeof(opts), .name = "fuzz", .engine = engine,
		.helpers = EBPF_HELPERS_CONFORMANCE, .err_buf = err, .err_size = sizeof(err),
	};
	struct ebpf_prog *prog = NULL;

	*ret = ebpf_prog_load_raw(g->insns, g->cnt, &opts, &prog);
	if (*ret && !(engine == EBPF_ENGINE_JIT && *ret == -EOPNOTSUPP)) {
		char why[400];

		snprintf(why, sizeof(why), "generated program rejected by the %s engine (%d): %s",
			 ebpf_engine_name(engine), *ret, err);
		dump_and_abort(g, why);
	}
	return prog;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[BUF_SIZE] __attribute__((aligned(16)));
	static struct gen g;
	uint8_t init[BUF_SIZE], after_interp[BUF_SIZE];
	struct ebpf_prog *interp, *jit;
	uint64_t r_interp, r_jit;
	int ret;

	memset(&g, 0, sizeof(g));
	g.data = data;
	g.size = size;
	generate(&g);
	for (size_t i = 0; i < BUF_SIZE; i++)
		init[i] = (uint8_t)(i * 7 + 3) ^ take8(&g);

	interp = load(&g, EBPF_ENGINE_INTERP, &ret);
	jit = load(&g, EBPF_ENGINE_JIT, &ret);

	memcpy(buf, init, BUF_SIZE);
	r_interp = ebpf_prog_run_args(interp, (uintptr_t)buf, BUF_SIZE);
	memcpy(after_interp, buf, BUF_SIZE);

	if (jit) {	/* no JIT (-EOPNOTSUPP): nothing to compare with */
		memcpy(buf, init, BUF_SIZE);
		r_jit = ebpf_prog_run_args(jit, (uintptr_t)buf, BUF_SIZE);
		if (r_jit != r_interp) {
			char why[128];

			snprintf(why, sizeof(why), "r0 differs: interp 0x%llx, jit 0x%llx",
				 (unsigned long long)r_interp, (unsigned long long)r_jit);
			dump_and_abort(&g, why);
		}
		for (size_t i = 0; i < BUF_SIZE; i++) {
			if (buf[i] != after_interp[i]) {
				char why[128];

				snprintf(why, sizeof(why),
					 "memory differs at byte %zu: interp 0x%02x, jit 0x%02x",
					 i, after_interp[i], buf[i]);
				dump_and_abort(&g, why);
			}
		}
	}
	ebpf_prog_put(interp);
	ebpf_prog_put(jit);
	return 0;
}
