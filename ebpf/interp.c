/* interp.c - the eBPF interpreter: pre-decoded instructions run by a threaded (computed-goto) loop.
 *
 * Semantics follow the eBPF instruction set up to cpu v4 (Linux
 * Documentation/bpf/standardization/instruction-set.rst, RFC 9669):
 * division by zero gives 0, modulo by zero leaves dst (truncated to 32
 * bits for ALU), shift counts are masked to the operand width, 32-bit ALU
 * results are zero-extended, signed INT_MIN / -1 gives INT_MIN and
 * INT_MIN % -1 gives 0 (as the kernel's interpreter and JIT do).
 *
 * ebpf_interp_prepare() turns prog->insns into struct xinsn: one entry per
 * instruction slot (so jump offsets keep their meaning), with the handler
 * selected once (signed/unsigned, K/X, width), immediates sign-extended,
 * ld_imm64 folded into one 64-bit value and helper calls bound to their
 * function pointers.  The run loop keeps a 512-byte stack per call frame,
 * all frames in one array on the C stack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf/internal.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the interpreter's le/be conversions assume a little-endian host"
#endif

/* Every handler of the run loop, by name; K takes the immediate, X the
 * source register.  The list drives both the enum and the label table. */
#define ALU_OPS(X, W)                                                          \
	X(ADD##W##_K) X(ADD##W##_X) X(SUB##W##_K) X(SUB##W##_X)                \
	X(MUL##W##_K) X(MUL##W##_X) X(DIV##W##_K) X(DIV##W##_X)                \
	X(SDIV##W##_K) X(SDIV##W##_X) X(MOD##W##_K) X(MOD##W##_X)              \
	X(SMOD##W##_K) X(SMOD##W##_X) X(OR##W##_K) X(OR##W##_X)                \
	X(AND##W##_K) X(AND##W##_X) X(XOR##W##_K) X(XOR##W##_X)                \
	X(LSH##W##_K) X(LSH##W##_X) X(RSH##W##_K) X(RSH##W##_X)                \
	X(ARSH##W##_K) X(ARSH##W##_X) X(MOV##W##_K) X(MOV##W##_X)              \
	X(MOVSX8_##W) X(MOVSX16_##W) X(NEG##W)

#define JMP_OPS(X, W)                                                          \
	X(JEQ##W##_K) X(JEQ##W##_X) X(JNE##W##_K) X(JNE##W##_X)                \
	X(JGT##W##_K) X(JGT##W##_X) X(JGE##W##_K) X(JGE##W##_X)                \
	X(JLT##W##_K) X(JLT##W##_X) X(JLE##W##_K) X(JLE##W##_X)                \
	X(JSGT##W##_K) X(JSGT##W##_X) X(JSGE##W##_K) X(JSGE##W##_X)            \
	X(JSLT##W##_K) X(JSLT##W##_X) X(JSLE##W##_K) X(JSLE##W##_X)            \
	X(JSET##W##_K) X(JSET##W##_X)

#define ATOMIC_OPS(X, W)                                                       \
	X(AADD##W) X(AOR##W) X(AAND##W) X(AXOR##W)                             \
	X(FADD##W) X(FOR##W) X(FAND##W) X(FXOR##W)                             \
	X(XCHG##W) X(CMPXCHG##W)

#define INTERP_OPS(X)                                                          \
	X(BAD)                                                                 \
	ALU_OPS(X, 64) ALU_OPS(X, 32) X(MOVSX32_64)                            \
	X(LE16) X(LE32) X(LE64) X(BE16) X(BE32) X(BE64)                        \
	X(BSWAP16) X(BSWAP32) X(BSWAP64)                                       \
	JMP_OPS(X, 64) JMP_OPS(X, 32) X(JA)                                    \
	X(LDXB) X(LDXH) X(LDXW) X(LDXDW) X(LDXSB) X(LDXSH) X(LDXSW)            \
	X(STB) X(STH) X(STW) X(STDW) X(STXB) X(STXH) X(STXW) X(STXDW)          \
	ATOMIC_OPS(X, 32) ATOMIC_OPS(X, 64)                                    \
	X(LDACQB) X(LDACQH) X(LDACQW) X(LDACQDW)                               \
	X(STRELB) X(STRELH) X(STRELW) X(STRELDW) X(MAY_GOTO)                   \
	X(LDDW) X(CALL_HELPER) X(CALL_LOCAL) X(TAIL_CALL) X(EXIT)

#define AS_ENUM(name) OP_##name,
enum interp_op { INTERP_OPS(AS_ENUM) OP__COUNT };

struct xinsn {
	const void *handler;	/* label in interp_exec, resolved from op */
	uint16_t op;
	uint8_t dst;
	uint8_t src;
	int32_t off;		/* memory offset, or jump/call delta */
	union {
		uint64_t imm;	/* sign-extended imm, or the ld_imm64 value */
		ebpf_helper_fn fn;
	} u;
};

/* ---- decoding -------------------------------------------------------------- */

static int alu_op(const struct bpf_insn *insn, uint16_t *op)
{
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64;
	bool x = BPF_SRC(insn->code) == BPF_X;
	bool sign = insn->off == 1;
	/* Offsets inside one width's ALU_OPS block: K at even, X at odd. */
	uint16_t base = is64 ? OP_ADD64_K : OP_ADD32_K;
	int rel;

	switch (BPF_OP(insn->code)) {
	case BPF_ADD:  rel = OP_ADD64_K - OP_ADD64_K; break;
	case BPF_SUB:  rel = OP_SUB64_K - OP_ADD64_K; break;
	case BPF_MUL:  rel = OP_MUL64_K - OP_ADD64_K; break;
	case BPF_DIV:  rel = (sign ? OP_SDIV64_K : OP_DIV64_K) - OP_ADD64_K; break;
	case BPF_MOD:  rel = (sign ? OP_SMOD64_K : OP_MOD64_K) - OP_ADD64_K; break;
	case BPF_OR:   rel = OP_OR64_K - OP_ADD64_K; break;
	case BPF_AND:  rel = OP_AND64_K - OP_ADD64_K; break;
	case BPF_XOR:  rel = OP_XOR64_K - OP_ADD64_K; break;
	case BPF_LSH:  rel = OP_LSH64_K - OP_ADD64_K; break;
	case BPF_RSH:  rel = OP_RSH64_K - OP_ADD64_K; break;
	case BPF_ARSH: rel = OP_ARSH64_K - OP_ADD64_K; break;
	case BPF_NEG:
		*op = is64 ? OP_NEG64 : OP_NEG32;
		return 0;
	case BPF_MOV:
		if (x && insn->off) {	/* movsx */
			switch (insn->off) {
			case 8:  *op = is64 ? OP_MOVSX8_64 : OP_MOVSX8_32; return 0;
			case 16: *op = is64 ? OP_MOVSX16_64 : OP_MOVSX16_32; return 0;
			case 32: if (is64) { *op = OP_MOVSX32_64; return 0; } break;
			}
			return -EINVAL;
		}
		rel = OP_MOV64_K - OP_ADD64_K;
		break;
	case BPF_END:
		if (is64) {
			switch (insn->imm) {
			case 16: *op = OP_BSWAP16; return 0;
			case 32: *op = OP_BSWAP32; return 0;
			case 64: *op = OP_BSWAP64; return 0;
			}
			return -EINVAL;
		}
		switch (insn->imm) {
		case 16: *op = x ? OP_BE16 : OP_LE16; return 0;
		case 32: *op = x ? OP_BE32 : OP_LE32; return 0;
		case 64: *op = x ? OP_BE64 : OP_LE64; return 0;
		}
		return -EINVAL;
	default:
		return -EINVAL;
	}
	*op = base + rel + (x ? 1 : 0);
	return 0;
}

static int jmp_op(const struct bpf_insn *insn, uint16_t *op)
{
	bool is32 = BPF_CLASS(insn->code) == BPF_JMP32;
	bool x = BPF_SRC(insn->code) == BPF_X;
	uint16_t base = is32 ? OP_JEQ32_K : OP_JEQ64_K;
	int rel;

	switch (BPF_OP(insn->code)) {
	case BPF_JEQ:  rel = OP_JEQ64_K - OP_JEQ64_K; break;
	case BPF_JNE:  rel = OP_JNE64_K - OP_JEQ64_K; break;
	case BPF_JGT:  rel = OP_JGT64_K - OP_JEQ64_K; break;
	case BPF_JGE:  rel = OP_JGE64_K - OP_JEQ64_K; break;
	case BPF_JLT:  rel = OP_JLT64_K - OP_JEQ64_K; break;
	case BPF_JLE:  rel = OP_JLE64_K - OP_JEQ64_K; break;
	case BPF_JSGT: rel = OP_JSGT64_K - OP_JEQ64_K; break;
	case BPF_JSGE: rel = OP_JSGE64_K - OP_JEQ64_K; break;
	case BPF_JSLT: rel = OP_JSLT64_K - OP_JEQ64_K; break;
	case BPF_JSLE: rel = OP_JSLE64_K - OP_JEQ64_K; break;
	case BPF_JSET: rel = OP_JSET64_K - OP_JEQ64_K; break;
	default:
		return -EINVAL;
	}
	*op = base + rel + (x ? 1 : 0);
	return 0;
}

static int mem_op(const struct bpf_insn *insn, uint16_t *op)
{
	static const uint16_t ldx[4] = { OP_LDXW, OP_LDXH, OP_LDXB, OP_LDXDW };
	static const uint16_t ldsx[4] = { OP_LDXSW, OP_LDXSH, OP_LDXSB, OP_BAD };
	static const uint16_t st[4] = { OP_STW, OP_STH, OP_STB, OP_STDW };
	static const uint16_t stx[4] = { OP_STXW, OP_STXH, OP_STXB, OP_STXDW };
	static const uint16_t ldacq[4] = { OP_LDACQW, OP_LDACQH, OP_LDACQB, OP_LDACQDW };
	static const uint16_t strel[4] = { OP_STRELW, OP_STRELH, OP_STRELB, OP_STRELDW };
	unsigned int sz = BPF_SIZE(insn->code) >> 3;	/* W=0 H=1 B=2 DW=3 */
	bool is64 = BPF_SIZE(insn->code) == BPF_DW;

	switch (BPF_CLASS(insn->code)) {
	case BPF_LDX:
		*op = BPF_MODE(insn->code) == BPF_MEMSX ? ldsx[sz] : ldx[sz];
		return *op == OP_BAD ? -EINVAL : 0;
	case BPF_ST:
		*op = st[sz];
		return 0;
	case BPF_STX:
		if (BPF_MODE(insn->code) == BPF_MEM) {
			*op = stx[sz];
			return 0;
		}
		switch (insn->imm) {
		case BPF_LOAD_ACQ:        *op = ldacq[sz]; return 0;
		case BPF_STORE_REL:       *op = strel[sz]; return 0;
		case BPF_ADD:             *op = is64 ? OP_AADD64 : OP_AADD32; return 0;
		case BPF_OR:              *op = is64 ? OP_AOR64 : OP_AOR32; return 0;
		case BPF_AND:             *op = is64 ? OP_AAND64 : OP_AAND32; return 0;
		case BPF_XOR:             *op = is64 ? OP_AXOR64 : OP_AXOR32; return 0;
		case BPF_ADD | BPF_FETCH: *op = is64 ? OP_FADD64 : OP_FADD32; return 0;
		case BPF_OR | BPF_FETCH:  *op = is64 ? OP_FOR64 : OP_FOR32; return 0;
		case BPF_AND | BPF_FETCH: *op = is64 ? OP_FAND64 : OP_FAND32; return 0;
		case BPF_XOR | BPF_FETCH: *op = is64 ? OP_FXOR64 : OP_FXOR32; return 0;
		case BPF_XCHG:            *op = is64 ? OP_XCHG64 : OP_XCHG32; return 0;
		case BPF_CMPXCHG:         *op = is64 ? OP_CMPXCHG64 : OP_CMPXCHG32; return 0;
		}
		return -EINVAL;
	}
	return -EINVAL;
}

static const struct ebpf_callback *find_callback(const struct ebpf_prog *prog, size_t target)
{
	for (size_t k = 0; k < prog->nr_callbacks; k++)
		if (prog->callbacks[k].insn_off == target)
			return &prog->callbacks[k];
	return NULL;
}

static int decode_call(const struct ebpf_prog *prog, size_t i, const struct bpf_insn *insn,
		       struct xinsn *x, char *err, size_t err_size)
{
	const struct ebpf_helper *h;

	if (insn->src_reg == BPF_PSEUDO_CALL) {
		x->op = OP_CALL_LOCAL;
		x->off = insn->imm;
		return 0;
	}
	h = insn->src_reg == BPF_PSEUDO_KFUNC_CALL ? ebpf_kfunc_get((uint32_t)insn->imm) :
		ebpf_helper_get(prog->helpers, (uint32_t)insn->imm);
	if (h && h->fn) {
		x->op = OP_CALL_HELPER;
		x->u.fn = h->fn;
		x->off = insn->imm;	/* the id, for the counting loop only */
		return 0;
	}
	if (h && insn->src_reg == 0 && insn->imm == BPF_FUNC_tail_call) {
		x->op = OP_TAIL_CALL;
		return 0;
	}
	ebpf_set_err(err, err_size, "insn %zu: helper %s (id %d) has no implementation", i,
		     h && h->name ? h->name : "?", insn->imm);
	return -EOPNOTSUPP;
}

static uint64_t interp_callback_invoke(const struct ebpf_callback *cb, uint64_t r1,
				       uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);
static const void *const *interp_labels(void);

int ebpf_interp_prepare(struct ebpf_prog *prog, char *err, size_t err_size)
{
	struct xinsn *code;
	int ret = 0;

	code = calloc(prog->insn_cnt, sizeof(*code));
	if (!code) {
		ebpf_set_err(err, err_size, "out of memory preparing %s for the interpreter",
			     prog->name);
		return -ENOMEM;
	}
	for (size_t i = 0; i < prog->insn_cnt && !ret; i++) {
		const struct bpf_insn *insn = &prog->insns[i];
		struct xinsn *x = &code[i];

		x->dst = insn->dst_reg;
		x->src = insn->src_reg;
		x->off = insn->off;
		x->u.imm = (uint64_t)(int64_t)insn->imm;

		switch (BPF_CLASS(insn->code)) {
		case BPF_ALU:
		case BPF_ALU64:
			ret = alu_op(insn, &x->op);
			break;
		case BPF_JMP:
		case BPF_JMP32:
			if (BPF_OP(insn->code) == BPF_JA) {
				x->op = OP_JA;
				if (BPF_CLASS(insn->code) == BPF_JMP32)	/* gotol */
					x->off = insn->imm;
			} else if (BPF_OP(insn->code) == BPF_EXIT) {
				x->op = OP_EXIT;
			} else if (BPF_OP(insn->code) == BPF_JCOND &&
				   BPF_CLASS(insn->code) == BPF_JMP) {
				x->op = OP_MAY_GOTO;
			} else if (BPF_OP(insn->code) == BPF_CALL) {
				ret = decode_call(prog, i, insn, x, err, err_size);
				if (ret) {
					free(code);
					return ret;
				}
			} else {
				ret = jmp_op(insn, &x->op);
			}
			break;
		case BPF_LD:
			if (insn->code != (BPF_LD | BPF_IMM | BPF_DW) || i + 1 >= prog->insn_cnt) {
				ret = -EINVAL;
				break;
			}
			x->op = OP_LDDW;
			x->u.imm = (uint64_t)(uint32_t)insn[0].imm |
				   (uint64_t)(uint32_t)insn[1].imm << 32;
			if (insn->src_reg == BPF_PSEUDO_FUNC) {
				const struct ebpf_callback *cb =
					find_callback(prog, i + (size_t)(int64_t)insn->imm + 1);
				if (!cb) {
					ret = -EINVAL;
					break;
				}
				x->u.imm = (uint64_t)(uintptr_t)cb;
			} else if (insn->src_reg != 0) {
				ret = -EINVAL;	/* prog.c resolves map forms */
				break;
			}
			code[++i].op = OP_BAD;
			break;
		default:
			ret = mem_op(insn, &x->op);
			break;
		}
		if (ret)
			ebpf_set_err(err, err_size, "insn %zu: opcode 0x%02x cannot be interpreted",
				     i, insn->code);
	}
	if (ret) {
		free(code);
		return ret;
	}

	/* Each slot carries its handler's address, saving the dispatch a
	 * dependent table load per instruction. */
	for (size_t i = 0; i < prog->insn_cnt; i++)
		code[i].handler = interp_labels()[code[i].op];
	for (size_t k = 0; k < prog->nr_callbacks; k++)
		prog->callbacks[k].invoke = interp_callback_invoke;
	free(prog->interp_code);
	prog->interp_code = code;
	return 0;
}

void ebpf_interp_free(struct ebpf_prog *prog)
{
	free(prog->interp_code);
	prog->interp_code = NULL;
}

/* ---- execution --------------------------------------------------------------- */

/* Loads and stores go through memcpy: programs may access packets at any
 * alignment (x86 allows it), and the compiler turns these into one mov. */
#define LOAD(type, addr) ({ type v_; __builtin_memcpy(&v_, (const void *)(uintptr_t)(addr), sizeof(v_)); v_; })
#define STORE(type, addr, val) ({ type v_ = (type)(val); __builtin_memcpy((void *)(uintptr_t)(addr), &v_, sizeof(v_)); })

struct frame {
	const struct xinsn *ret;
	uint64_t saved[4];	/* r6..r9: callee-saved by the eBPF calling convention */
};

/* ---- counting (ebpf_prog_run_xdp_counted) ------------------------------------ */

#define OPS_OF(NAME, C64, C32)                                                 \
	[OP_##NAME##64_K] = EBPF_IC_##C64, [OP_##NAME##64_X] = EBPF_IC_##C64,  \
	[OP_##NAME##32_K] = EBPF_IC_##C32, [OP_##NAME##32_X] = EBPF_IC_##C32,
static const uint8_t op_class[OP__COUNT] = {
	[OP_BAD] = EBPF_IC_EXIT,
	OPS_OF(ADD, ALU64, ALU32) OPS_OF(SUB, ALU64, ALU32) OPS_OF(OR, ALU64, ALU32)
	OPS_OF(AND, ALU64, ALU32) OPS_OF(XOR, ALU64, ALU32) OPS_OF(MOV, ALU64, ALU32)
	OPS_OF(MUL, MUL, MUL) OPS_OF(DIV, DIV, DIV) OPS_OF(SDIV, DIV, DIV)
	OPS_OF(MOD, DIV, DIV) OPS_OF(SMOD, DIV, DIV)
	OPS_OF(LSH, SHIFT64, SHIFT32) OPS_OF(RSH, SHIFT64, SHIFT32) OPS_OF(ARSH, SHIFT64, SHIFT32)
	[OP_NEG64] = EBPF_IC_ALU64, [OP_NEG32] = EBPF_IC_ALU32,
	[OP_MOVSX8_64] = EBPF_IC_ALU64, [OP_MOVSX16_64] = EBPF_IC_ALU64,
	[OP_MOVSX32_64] = EBPF_IC_ALU64,
	[OP_MOVSX8_32] = EBPF_IC_ALU32, [OP_MOVSX16_32] = EBPF_IC_ALU32,
	[OP_LE16 ... OP_BSWAP64] = EBPF_IC_END,
	[OP_JEQ64_K ... OP_JSET64_X] = EBPF_IC_JMP64,
	[OP_JEQ32_K ... OP_JSET32_X] = EBPF_IC_JMP32,
	[OP_JA] = EBPF_IC_JA,
	[OP_LDXB ... OP_LDXSW] = EBPF_IC_LDX_STACK,	/* refined by the address */
	[OP_STB ... OP_STXDW] = EBPF_IC_ST_STACK,	/* refined by the address */
	[OP_AADD32 ... OP_CMPXCHG64] = EBPF_IC_ATOMIC,
	[OP_LDACQB ... OP_LDACQDW] = EBPF_IC_LDX_STACK,	/* refined by the address */
	[OP_STRELB ... OP_STRELDW] = EBPF_IC_ST_STACK,	/* refined by the address */
	[OP_MAY_GOTO] = EBPF_IC_JA,
	[OP_LDDW] = EBPF_IC_LDDW,
	[OP_CALL_HELPER] = EBPF_IC_CALL,
	[OP_CALL_LOCAL] = EBPF_IC_CALL_LOCAL, [OP_TAIL_CALL] = EBPF_IC_CALL_LOCAL,
	[OP_EXIT] = EBPF_IC_EXIT,
};
#undef OPS_OF

static const char *const insn_class_names[EBPF_IC__MAX] = {
#define EBPF_IC_NAME_(n, s) [EBPF_IC_##n] = s,
	EBPF_INSN_CLASS_LIST(EBPF_IC_NAME_)
#undef EBPF_IC_NAME_
};

const char *ebpf_insn_class_name(enum ebpf_insn_class c)
{
	return (unsigned)c < EBPF_IC__MAX ? insn_class_names[c] : NULL;
}

/* One instruction about to run: its class, loads and stores by where
 * they go (stack, packet, other), helper calls by id. */
static inline void interp_count(struct ebpf_insn_counts *c, const struct xinsn *pc,
				const uint64_t *reg, const uint8_t *stack, size_t stack_sz)
{
	unsigned k = op_class[pc->op];

	if (k == EBPF_IC_LDX_STACK || k == EBPF_IC_ST_STACK) {
		uint64_t a = (k == EBPF_IC_LDX_STACK ? reg[pc->src] : reg[pc->dst]) +
			     (uint64_t)(int64_t)pc->off;

		if (a >= (uint64_t)(uintptr_t)stack && a < (uint64_t)(uintptr_t)stack + stack_sz)
			;
		else if (a >= c->pkt_lo && a < c->pkt_hi)
			k += 1;		/* LDX_PKT / ST_PKT */
		else
			k += 2;		/* LDX_MEM / ST_MEM */
	} else if (k == EBPF_IC_CALL) {
		uint32_t id = (uint32_t)pc->off;

		c->helper[id < EBPF_COUNT_HELPERS ? id : EBPF_COUNT_HELPERS - 1]++;
	}
	c->cls[k]++;
}

#define LABEL_ADDR(name) [OP_##name] = &&L_##name,

#include "ebpf/interp_exec.h"
#define INTERP_COUNTED
#include "ebpf/interp_exec.h"
#undef INTERP_COUNTED

static const void *const *interp_labels(void)
{
	return (const void *const *)(uintptr_t)interp_exec(NULL, 0, 0, 0, 0, 0);
}

uint64_t ebpf_interp_run(struct ebpf_prog *prog, uint64_t r1, uint64_t r2,
			 uint64_t r3, uint64_t r4, uint64_t r5)
{
	return interp_exec(prog->interp_code, r1, r2, r3, r4, r5);
}

uint64_t ebpf_interp_run_counted(struct ebpf_prog *prog, uint64_t r1, struct ebpf_insn_counts *cnt)
{
	return interp_exec_counted(prog->interp_code, r1, 0, 0, 0, 0, cnt);
}

/* A callback (bpf_loop and friends) runs its subprogram in fresh frames. */
static uint64_t interp_callback_invoke(const struct ebpf_callback *cb, uint64_t r1,
				       uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	const struct xinsn *code = cb->prog->interp_code;

	return interp_exec(code + cb->insn_off, r1, r2, r3, r4, r5);
}
