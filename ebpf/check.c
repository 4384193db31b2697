/* check.c - well-formedness check of raw eBPF instructions (encodings, registers, jumps, calls).
 *
 * This is not a verifier: the kernel verifier proves memory safety of
 * programs that come from ELF objects.  It guarantees only that the engines
 * never see an encoding they cannot execute, so an unverified program (the
 * conformance plugin, fuzzing, unit tests) is rejected with a message
 * instead of crashing the process.  Encodings follow the eBPF instruction
 * set up to cpu v4 (Linux Documentation/bpf/standardization/
 * instruction-set.rst, RFC 9669) and the kernel's reserved-field rules
 * (kernel/bpf/verifier.c: check_alu_op, do_check).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf/internal.h"

#define REG_FP 10

struct check_ctx {
	const struct bpf_insn *insns;
	size_t cnt;
	enum ebpf_helper_set set;
	char *err;
	size_t err_size;
	bool *is_ldimm_hi;	/* second slot of an ld_imm64 */
};

#define reject(c, ...)                                                         \
	({                                                                     \
		ebpf_set_err((c)->err, (c)->err_size, __VA_ARGS__);            \
		-EINVAL;                                                       \
	})

static bool is_ldimm64(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW);
}

/* Target of a control transfer: inside the program and never the second
 * slot of an ld_imm64 (the kernel: "jump into the middle of ldimm64"). */
static int check_target(struct check_ctx *c, size_t i, int64_t delta, const char *what)
{
	int64_t t = (int64_t)i + delta + 1;

	if (t < 0 || t >= (int64_t)c->cnt)
		return reject(c, "insn %zu: %s target %lld is outside the program (%zu insns)",
			      i, what, (long long)t, c->cnt);
	if (c->is_ldimm_hi[t])
		return reject(c, "insn %zu: %s target %lld is the second half of an ld_imm64",
			      i, what, (long long)t);
	return 0;
}

static int check_regs(struct check_ctx *c, size_t i, const struct bpf_insn *insn)
{
	if (insn->dst_reg > REG_FP || insn->src_reg > REG_FP)
		return reject(c, "insn %zu: invalid register r%u (only r0..r10 exist)", i,
			      insn->dst_reg > REG_FP ? insn->dst_reg : insn->src_reg);
	return 0;
}

static int check_dst_writable(struct check_ctx *c, size_t i, const struct bpf_insn *insn)
{
	if (insn->dst_reg == REG_FP)
		return reject(c, "insn %zu: r10 (frame pointer) is read-only", i);
	return 0;
}

static int check_alu(struct check_ctx *c, size_t i, const struct bpf_insn *insn)
{
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64;
	uint8_t op = BPF_OP(insn->code);
	bool src_x = BPF_SRC(insn->code) == BPF_X;

	if (op > BPF_END)	/* 0xe0, 0xf0 are unassigned */
		return reject(c, "insn %zu: unknown ALU opcode 0x%02x", i, insn->code);
	if (check_dst_writable(c, i, insn))
		return -EINVAL;

	switch (op) {
	case BPF_NEG:
		if (src_x || insn->src_reg || insn->off || insn->imm)
			return reject(c, "insn %zu: BPF_NEG uses reserved fields", i);
		return 0;
	case BPF_END:
		if (insn->src_reg || insn->off)
			return reject(c, "insn %zu: BPF_END uses reserved fields", i);
		/* ALU64 | END is bswap (cpu v4), only with the TO_LE bit. */
		if (is64 && src_x)
			return reject(c, "insn %zu: unknown opcode 0x%02x", i, insn->code);
		if (insn->imm != 16 && insn->imm != 32 && insn->imm != 64)
			return reject(c, "insn %zu: byte swap width must be 16, 32 or 64, not %d",
				      i, insn->imm);
		return 0;
	case BPF_MOV:
		if (src_x) {
			/* movsx (cpu v4): off 8/16 for ALU, 8/16/32 for ALU64 */
			bool ok = insn->off == 0 || insn->off == 8 || insn->off == 16 ||
				  (is64 && insn->off == 32);
			if (!ok || insn->imm)
				return reject(c, "insn %zu: BPF_MOV uses reserved fields (off %d)",
					      i, insn->off);
		} else if (insn->src_reg || insn->off) {
			return reject(c, "insn %zu: BPF_MOV uses reserved fields", i);
		}
		return 0;
	case BPF_DIV:
	case BPF_MOD:
		/* off 1 selects the signed variant (cpu v4).  Division by an
		 * immediate zero is legal at run time (result 0 / dst kept). */
		if (insn->off != 0 && insn->off != 1)
			return reject(c, "insn %zu: BPF_DIV/BPF_MOD offset must be 0 or 1", i);
		break;
	default:
		if (insn->off)
			return reject(c, "insn %zu: ALU instruction uses reserved offset", i);
		break;
	}
	/* Shift counts are masked at run time (ISA: "masked by 0x1f/0x3f"),
	 * so an immediate count >= width is not rejected here. */
	if (src_x ? insn->imm != 0 : insn->src_reg != 0)
		return reject(c, "insn %zu: ALU instruction uses reserved fields", i);
	return 0;
}

static int check_call(struct check_ctx *c, size_t i, const struct bpf_insn *insn)
{
	const struct ebpf_helper *h;

	if (BPF_SRC(insn->code) == BPF_X)
		return reject(c, "insn %zu: call by register (callx) is not supported", i);
	if (insn->off || insn->dst_reg)
		return reject(c, "insn %zu: BPF_CALL uses reserved fields", i);
	switch (insn->src_reg) {
	case 0:
		h = ebpf_helper_get(c->set, (uint32_t)insn->imm);
		if (!h) {
			const char *name = ebpf_helper_kernel_name((uint32_t)insn->imm);
			if (c->set == EBPF_HELPERS_CONFORMANCE)
				return reject(c, "program calls helper id %d, which the "
					      "conformance helper set lacks", insn->imm);
			return reject(c, "program calls unsupported helper %s (id %d)",
				      name ? name : "<unknown>", insn->imm);
		}
		return 0;
	case BPF_PSEUDO_CALL:
		return check_target(c, i, insn->imm, "bpf-to-bpf call");
	case BPF_PSEUDO_KFUNC_CALL:
		if (!ebpf_kfunc_get((uint32_t)insn->imm)) {
			char names[256];

			ebpf_kfunc_list(names, sizeof(names));
			return reject(c, "insn %zu: unknown kfunc id %d (the runtime implements "
				      "%s)", i, insn->imm, names);
		}
		return 0;
	default:
		return reject(c, "insn %zu: unknown call kind (src_reg %u)", i, insn->src_reg);
	}
}

static int check_jmp(struct check_ctx *c, size_t i, const struct bpf_insn *insn)
{
	bool is32 = BPF_CLASS(insn->code) == BPF_JMP32;
	uint8_t op = BPF_OP(insn->code);

	switch (op) {
	case BPF_JA:
		if (BPF_SRC(insn->code) == BPF_X || insn->dst_reg || insn->src_reg)
			return reject(c, "insn %zu: BPF_JA uses reserved fields", i);
		if (is32) {	/* gotol: 32-bit offset in imm (cpu v4) */
			if (insn->off)
				return reject(c, "insn %zu: gotol uses reserved offset", i);
			return check_target(c, i, insn->imm, "jump");
		}
		if (insn->imm)
			return reject(c, "insn %zu: BPF_JA uses reserved imm", i);
		return check_target(c, i, insn->off, "jump");
	case BPF_CALL:
		if (is32)
			break;
		return check_call(c, i, insn);
	case BPF_EXIT:
		if (is32)
			break;
		if (BPF_SRC(insn->code) == BPF_X || insn->dst_reg || insn->src_reg ||
		    insn->off || insn->imm)
			return reject(c, "insn %zu: BPF_EXIT uses reserved fields", i);
		return 0;
	case BPF_JEQ: case BPF_JGT: case BPF_JGE: case BPF_JSET: case BPF_JNE:
	case BPF_JSGT: case BPF_JSGE: case BPF_JLT: case BPF_JLE: case BPF_JSLT:
	case BPF_JSLE:
		if (BPF_SRC(insn->code) == BPF_X ? insn->imm != 0 : insn->src_reg != 0)
			return reject(c, "insn %zu: conditional jump uses reserved fields", i);
		return check_target(c, i, insn->off, "jump");
	case BPF_JCOND:	/* may_goto (src_reg BPF_MAY_GOTO, 0): jump once the budget is spent */
		if (is32 || BPF_SRC(insn->code) == BPF_X || insn->dst_reg || insn->src_reg ||
		    insn->imm)
			return reject(c, "insn %zu: may_goto uses reserved fields", i);
		return check_target(c, i, insn->off, "jump");
	}
	return reject(c, "insn %zu: unknown jump opcode 0x%02x", i, insn->code);
}

static int check_ldimm64(struct check_ctx *c, size_t i, const struct bpf_insn *insn)
{
	const struct bpf_insn *hi = insn + 1;

	if (i + 1 >= c->cnt)
		return reject(c, "insn %zu: ld_imm64 is missing its second half", i);
	if (hi->code || hi->dst_reg || hi->src_reg || hi->off)
		return reject(c, "insn %zu: second half of ld_imm64 uses reserved fields", i);
	if (insn->off)
		return reject(c, "insn %zu: ld_imm64 uses reserved offset", i);
	if (check_dst_writable(c, i, insn))
		return -EINVAL;
	switch (insn->src_reg) {
	case 0:
		return 0;
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_IDX:
		if (hi->imm)
			return reject(c, "insn %zu: map reference with non-zero second imm", i);
		return 0;
	case BPF_PSEUDO_MAP_VALUE:
	case BPF_PSEUDO_MAP_IDX_VALUE:
		return 0;
	case BPF_PSEUDO_FUNC:
		if (hi->imm)
			return reject(c, "insn %zu: function pointer with non-zero second imm", i);
		return check_target(c, i, insn->imm, "function pointer");
	case BPF_PSEUDO_BTF_ID:
		return reject(c, "insn %zu: kernel symbols (ld_imm64 BPF_PSEUDO_BTF_ID) are "
			      "not supported", i);
	default:
		return reject(c, "insn %zu: unknown ld_imm64 kind (src_reg %u)", i, insn->src_reg);
	}
}

static int check_mem(struct check_ctx *c, size_t i, const struct bpf_insn *insn)
{
	uint8_t cls = BPF_CLASS(insn->code), mode = BPF_MODE(insn->code);
	uint8_t size = BPF_SIZE(insn->code);

	switch (cls) {
	case BPF_LD:
		if (mode == BPF_ABS || mode == BPF_IND)
			return reject(c, "insn %zu: legacy packet access (BPF_LD_ABS/IND) is "
				      "not supported", i);
		return reject(c, "insn %zu: unknown opcode 0x%02x", i, insn->code);
	case BPF_LDX:
		if (mode != BPF_MEM && !(mode == BPF_MEMSX && size != BPF_DW))
			return reject(c, "insn %zu: unknown load opcode 0x%02x", i, insn->code);
		if (insn->imm)
			return reject(c, "insn %zu: BPF_LDX uses reserved imm", i);
		return check_dst_writable(c, i, insn);
	case BPF_ST:
		if (mode != BPF_MEM)
			return reject(c, "insn %zu: unknown store opcode 0x%02x", i, insn->code);
		if (insn->src_reg)
			return reject(c, "insn %zu: BPF_ST uses reserved src_reg", i);
		return 0;
	case BPF_STX:
		if (mode == BPF_MEM) {
			if (insn->imm)
				return reject(c, "insn %zu: BPF_STX uses reserved imm", i);
			return 0;
		}
		if (mode != BPF_ATOMIC)
			return reject(c, "insn %zu: unknown store opcode 0x%02x", i, insn->code);
		/* load-acquire and store-release take every size (cpu v4+) */
		if (insn->imm == BPF_LOAD_ACQ)
			return check_dst_writable(c, i, insn);
		if (insn->imm == BPF_STORE_REL)
			return 0;
		if (size != BPF_W && size != BPF_DW)
			return reject(c, "insn %zu: unknown store opcode 0x%02x", i, insn->code);
		switch (insn->imm) {
		case BPF_ADD: case BPF_OR: case BPF_AND: case BPF_XOR:
			return 0;
		case BPF_ADD | BPF_FETCH: case BPF_OR | BPF_FETCH:
		case BPF_AND | BPF_FETCH: case BPF_XOR | BPF_FETCH: case BPF_XCHG:
			/* the old value lands in src_reg */
			if (insn->src_reg == REG_FP)
				return reject(c, "insn %zu: atomic fetch into r10 (read-only)", i);
			return 0;
		case BPF_CMPXCHG:	/* the old value lands in r0 */
			return 0;
		default:
			return reject(c, "insn %zu: unknown atomic operation 0x%x", i, insn->imm);
		}
	}
	return -EINVAL;
}

int ebpf_prog_check(const struct bpf_insn *insns, size_t insn_cnt,
		    enum ebpf_helper_set set, char *err, size_t err_size)
{
	struct check_ctx c = {
		.insns = insns, .cnt = insn_cnt, .set = set, .err = err, .err_size = err_size,
	};
	const struct bpf_insn *last;
	int ret = 0;

	if (!insns || !insn_cnt)
		return reject(&c, "program has no instructions");
	if (insn_cnt > EBPF_MAX_INSNS)
		return reject(&c, "program has %zu instructions; at most %u are supported",
			      insn_cnt, EBPF_MAX_INSNS);

	c.is_ldimm_hi = calloc(insn_cnt, sizeof(*c.is_ldimm_hi));
	if (!c.is_ldimm_hi)
		return reject(&c, "out of memory checking the program");
	for (size_t i = 0; i < insn_cnt; i++) {
		if (is_ldimm64(&insns[i]) && i + 1 < insn_cnt)
			c.is_ldimm_hi[++i] = true;
	}

	for (size_t i = 0; i < insn_cnt && !ret; i++) {
		const struct bpf_insn *insn = &insns[i];

		ret = check_regs(&c, i, insn);
		if (ret)
			break;
		switch (BPF_CLASS(insn->code)) {
		case BPF_ALU:
		case BPF_ALU64:
			ret = check_alu(&c, i, insn);
			break;
		case BPF_JMP:
		case BPF_JMP32:
			ret = check_jmp(&c, i, insn);
			break;
		case BPF_LD:
			if (is_ldimm64(insn)) {
				ret = check_ldimm64(&c, i, insn);
				i++;
				break;
			}
			ret = check_mem(&c, i, insn);
			break;
		default:
			ret = check_mem(&c, i, insn);
			break;
		}
	}

	/* Execution may never run past the end: the last instruction must be
	 * an exit or an unconditional jump (kernel: "last insn is not an exit
	 * or jmp"). */
	last = &insns[insn_cnt - 1];
	if (!ret && (c.is_ldimm_hi[insn_cnt - 1] ||
		     !(last->code == (BPF_JMP | BPF_EXIT) || last->code == (BPF_JMP | BPF_JA) ||
		       last->code == (BPF_JMP32 | BPF_JA))))
		ret = reject(&c, "last instruction (%zu) is not an exit or unconditional jump",
			     insn_cnt - 1);
	free(c.is_ldimm_hi);
	return ret;
}
