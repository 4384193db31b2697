/* test_isa.c - the eBPF instruction set in both engines: every class, the edge semantics, calls, tail calls, and rejection of malformed programs. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test.h"
#include "tests/unit/ebpf/asm.h"

static const enum ebpf_engine engines[2] = { EBPF_ENGINE_INTERP, EBPF_ENGINE_JIT };

/* Loads a raw program for one engine, failing the test with the loader's
 * message when it does not load. */
static struct ebpf_prog *load_ex(enum ebpf_engine engine, enum ebpf_helper_set set,
				 const struct bpf_insn *insns, size_t n,
				 struct ebpf_map **maps, size_t nr_maps, const char *what)
{
	char err[512] = "";
	struct ebpf_prog_opts opts = {
		.sz = sizeof(opts), .name = what, .engine = engine, .helpers = set,
		.maps = maps, .nr_maps = nr_maps, .err_buf = err, .err_size = sizeof(err),
	};
	struct ebpf_prog *prog = NULL;
	int ret = ebpf_prog_load_raw(insns, n, &opts, &prog);

	ck_assert_msg(ret == 0 && prog, "%s [%s]: load failed (%d): %s", what,
		      ebpf_engine_name(engine), ret, err);
	return prog;
}

static uint64_t run_once(enum ebpf_engine engine, const struct bpf_insn *insns, size_t n,
			 uint64_t r1, uint64_t r2, const char *what)
{
	struct ebpf_prog *prog = load_ex(engine, EBPF_HELPERS_CONFORMANCE, insns, n, NULL, 0, what);
	uint64_t r0 = ebpf_prog_run_args(prog, r1, r2);

	ebpf_prog_put(prog);
	return r0;
}

/* ---- known-answer table: one program, one expected r0 ------------------------ */

struct isa_case {
	const char *name;
	uint64_t expect;
	struct bpf_insn insns[32];
};

#define CASE(nm, exp, ...)                                                     \
	{ .name = nm, .expect = (exp),                                         \
	  .insns = { __VA_ARGS__ } }

/* Length of a table program: the slots after it are all zero, and no
 * program ends with an all-zero slot (its last one is an exit or ja). */
static size_t prog_len(const struct bpf_insn *insns, size_t cap)
{
	static const struct bpf_insn zero;

	while (cap && !memcmp(&insns[cap - 1], &zero, sizeof(zero)))
		cap--;
	return cap;
}

#define R0 0
#define R1 1
#define R2 2
#define R10 10
#define BIG 0x0102030405060708ull

static const struct isa_case isa_cases[] = {
	/* ALU64 */
	CASE("add64 imm", 2, A_MOV64_IMM(R0, 5), A_ALU64_IMM(BPF_ADD, R0, -3), A_EXIT()),
	CASE("add64 reg wraps", 1, A_LD64(R0, ~0ull), A_MOV64_IMM(R1, 2),
	     A_ALU64_REG(BPF_ADD, R0, R1), A_EXIT()),
	CASE("sub64", 0xfffffffffffffffeull, A_MOV64_IMM(R0, 3), A_ALU64_IMM(BPF_SUB, R0, 5), A_EXIT()),
	CASE("sub64 reg", 7, A_MOV64_IMM(R0, 10), A_MOV64_IMM(R1, 3), A_ALU64_REG(BPF_SUB, R0, R1), A_EXIT()),
	CASE("mul64 imm", 0x1000000000ull, A_LD64(R0, 0x100000000ull), A_ALU64_IMM(BPF_MUL, R0, 0x10), A_EXIT()),
	CASE("mul64 reg wraps", 2, A_LD64(R0, 0x8000000000000001ull), A_MOV64_IMM(R1, 2),
	     A_ALU64_REG(BPF_MUL, R0, R1), A_EXIT()),
	CASE("or64", 0xff, A_MOV64_IMM(R0, 0xf0), A_ALU64_IMM(BPF_OR, R0, 0x0f), A_EXIT()),
	CASE("or64 imm sign-extends", ~0ull, A_MOV64_IMM(R0, 0), A_ALU64_IMM(BPF_OR, R0, -1), A_EXIT()),
	CASE("and64", 0xde00, A_LD64(R0, 0x123456789abcdef0ull), A_ALU64_IMM(BPF_AND, R0, 0xff00), A_EXIT()),
	CASE("and64 reg", 0x30, A_MOV64_IMM(R0, 0x3c), A_MOV64_IMM(R1, 0xf3), A_ALU64_REG(BPF_AND, R0, R1), A_EXIT()),
	CASE("xor64 reg", 0xf0, A_MOV64_IMM(R0, 0xff), A_MOV64_IMM(R1, 0x0f), A_ALU64_REG(BPF_XOR, R0, R1), A_EXIT()),
	CASE("xor64 imm", 0xffffffff00000000ull, A_MOV64_IMM(R0, -1), A_ALU64_IMM(BPF_XOR, R0, -1),
	     A_ALU64_IMM(BPF_XOR, R0, 0), A_LD64(R1, 0xffffffff00000000ull), A_ALU64_REG(BPF_XOR, R0, R1), A_EXIT()),
	CASE("lsh64 imm", 0x8000000000000000ull, A_MOV64_IMM(R0, 1), A_ALU64_IMM(BPF_LSH, R0, 63), A_EXIT()),
	CASE("rsh64 imm", 1, A_LD64(R0, 0x8000000000000000ull), A_ALU64_IMM(BPF_RSH, R0, 63), A_EXIT()),
	CASE("arsh64 imm", 0xe000000000000000ull, A_LD64(R0, 0x8000000000000000ull),
	     A_ALU64_IMM(BPF_ARSH, R0, 2), A_EXIT()),
	CASE("lsh64 reg masked to 6 bits", 2, A_MOV64_IMM(R0, 1), A_MOV64_IMM(R1, 65),
	     A_ALU64_REG(BPF_LSH, R0, R1), A_EXIT()),
	CASE("rsh64 reg masked to 6 bits", 1, A_MOV64_IMM(R0, 0x10), A_MOV64_IMM(R1, 68),
	     A_ALU64_REG(BPF_RSH, R0, R1), A_EXIT()),
	CASE("arsh64 reg masked to 6 bits", 0xfffffffffffffffcull, A_MOV64_IMM(R0, -16),
	     A_MOV64_IMM(R1, 66), A_ALU64_REG(BPF_ARSH, R0, R1), A_EXIT()),
	CASE("mov64 imm sign-extends", ~0ull, A_MOV64_IMM(R0, -1), A_EXIT()),
	CASE("mov64 reg", BIG, A_LD64(R1, BIG), A_MOV64_REG(R0, R1), A_EXIT()),
	CASE("neg64", 0xfffffffffffffffbull, A_MOV64_IMM(R0, 5), A_NEG64(R0), A_EXIT()),
	CASE("neg64 INT64_MIN", 0x8000000000000000ull, A_LD64(R0, 0x8000000000000000ull), A_NEG64(R0), A_EXIT()),
	CASE("div64 imm", 14, A_MOV64_IMM(R0, 100), A_ALU64_IMM(BPF_DIV, R0, 7), A_EXIT()),
	CASE("div64 reg unsigned", 0x7fffffffffffffffull, A_MOV64_IMM(R0, -1), A_MOV64_IMM(R1, 2),
	     A_ALU64_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("div64 negative imm is unsigned", 1, A_MOV64_IMM(R0, -1), A_ALU64_IMM(BPF_DIV, R0, -1), A_EXIT()),
	CASE("div64 by zero reg gives 0", 0, A_MOV64_IMM(R0, 42), A_MOV64_IMM(R1, 0),
	     A_ALU64_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("div64 by zero imm gives 0", 0, A_MOV64_IMM(R0, 42), A_ALU64_IMM(BPF_DIV, R0, 0), A_EXIT()),
	CASE("mod64 imm", 2, A_MOV64_IMM(R0, 100), A_ALU64_IMM(BPF_MOD, R0, 7), A_EXIT()),
	CASE("mod64 reg", 1, A_LD64(R0, 0x100000001ull), A_LD64(R1, 0x100000000ull),
	     A_ALU64_REG(BPF_MOD, R0, R1), A_EXIT()),
	CASE("mod64 by zero reg keeps dst", 0x100000005ull, A_LD64(R0, 0x100000005ull),
	     A_MOV64_IMM(R1, 0), A_ALU64_REG(BPF_MOD, R0, R1), A_EXIT()),
	CASE("mod64 by zero imm keeps dst", 0x100000005ull, A_LD64(R0, 0x100000005ull),
	     A_ALU64_IMM(BPF_MOD, R0, 0), A_EXIT()),

	/* ALU32: results are zero-extended */
	CASE("add32 wraps to 0", 0, A_MOV64_IMM(R0, -1), A_ALU32_IMM(BPF_ADD, R0, 1), A_EXIT()),
	CASE("add32 clears upper half", 2, A_LD64(R0, 0x1234567800000001ull),
	     A_ALU32_IMM(BPF_ADD, R0, 1), A_EXIT()),
	CASE("add32 reg", 0xffffffff, A_LD64(R0, 0xaaaaaaaa7fffffffull), A_LD64(R1, 0x5555555580000000ull),
	     A_ALU32_REG(BPF_ADD, R0, R1), A_EXIT()),
	CASE("sub32", 0xffffffff, A_MOV64_IMM(R0, 0), A_ALU32_IMM(BPF_SUB, R0, 1), A_EXIT()),
	CASE("sub32 reg", 0xfffffffe, A_MOV64_IMM(R0, 1), A_MOV64_IMM(R1, 3), A_ALU32_REG(BPF_SUB, R0, R1), A_EXIT()),
	CASE("mul32 overflow", 0, A_MOV32_IMM(R0, 0x10000), A_ALU32_IMM(BPF_MUL, R0, 0x10000), A_EXIT()),
	CASE("mul32 ignores upper", 9, A_LD64(R0, 0xffffffff00000003ull), A_ALU32_IMM(BPF_MUL, R0, 3), A_EXIT()),
	CASE("mul32 reg", 0xfffffffe, A_MOV64_IMM(R0, -1), A_MOV64_IMM(R1, 2), A_ALU32_REG(BPF_MUL, R0, R1), A_EXIT()),
	CASE("or32", 0xff, A_LD64(R0, 0xffffffff000000f0ull), A_ALU32_IMM(BPF_OR, R0, 0x0f), A_EXIT()),
	CASE("or32 reg", 0xffffffff, A_MOV64_IMM(R0, 0), A_MOV64_IMM(R1, -1), A_ALU32_REG(BPF_OR, R0, R1), A_EXIT()),
	CASE("and32", 0x0f, A_MOV64_IMM(R0, -1), A_ALU32_IMM(BPF_AND, R0, 0x0f), A_EXIT()),
	CASE("and32 reg", 0x30, A_MOV64_IMM(R0, 0x3c), A_MOV64_IMM(R1, -13), A_ALU32_REG(BPF_AND, R0, R1), A_EXIT()),
	CASE("xor32", 0xffff0000, A_MOV64_IMM(R0, -1), A_ALU32_IMM(BPF_XOR, R0, 0xffff), A_EXIT()),
	CASE("xor32 reg", 0xf0, A_LD64(R0, 0x12345678000000ffull), A_MOV64_IMM(R1, 0x0f),
	     A_ALU32_REG(BPF_XOR, R0, R1), A_EXIT()),
	CASE("mov32 imm -1 zero-extends", 0xffffffff, A_MOV32_IMM(R0, -1), A_EXIT()),
	CASE("mov32 reg zero-extends", 0xffffffff, A_MOV64_IMM(R1, -1), A_MOV32_REG(R0, R1), A_EXIT()),
	CASE("lsh32 imm masked to 5 bits", 2, A_MOV64_IMM(R0, 1), A_ALU32_IMM(BPF_LSH, R0, 33), A_EXIT()),
	CASE("lsh32 reg no sign extension", 0x80000000, A_MOV64_IMM(R0, 1), A_MOV64_IMM(R1, 31),
	     A_ALU32_REG(BPF_LSH, R0, R1), A_EXIT()),
	CASE("lsh32 reg masked", 0x10, A_MOV64_IMM(R0, 1), A_MOV64_IMM(R1, 36),
	     A_ALU32_REG(BPF_LSH, R0, R1), A_EXIT()),
	CASE("rsh32 ignores upper half", 1, A_LD64(R0, 0xffffffff00000010ull),
	     A_ALU32_IMM(BPF_RSH, R0, 4), A_EXIT()),
	CASE("rsh32 reg masked", 0x08000000, A_MOV32_IMM(R0, INT32_MIN), A_MOV64_IMM(R1, 36),
	     A_ALU32_REG(BPF_RSH, R0, R1), A_EXIT()),
	CASE("arsh32 imm", 0xf8000000, A_MOV32_IMM(R0, INT32_MIN), A_ALU32_IMM(BPF_ARSH, R0, 4), A_EXIT()),
	CASE("arsh32 reg masked", 0xf8000000, A_MOV32_IMM(R0, INT32_MIN), A_MOV64_IMM(R1, 36),
	     A_ALU32_REG(BPF_ARSH, R0, R1), A_EXIT()),
	CASE("neg32", 0xffffffff, A_MOV64_IMM(R0, 1), A_NEG32(R0), A_EXIT()),
	CASE("div32 ignores upper half", 3, A_LD64(R0, 0x10000000aull), A_ALU32_IMM(BPF_DIV, R0, 3), A_EXIT()),
	CASE("div32 reg", 0x7fffffff, A_MOV64_IMM(R0, -1), A_MOV64_IMM(R1, 2), A_ALU32_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("div32 by zero gives 0", 0, A_MOV64_IMM(R0, 7), A_MOV64_IMM(R1, 0),
	     A_ALU32_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("div32 by low-half zero gives 0", 0, A_MOV64_IMM(R0, 7), A_LD64(R1, 0x100000000ull),
	     A_ALU32_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("div32 by zero imm", 0, A_MOV64_IMM(R0, 7), A_ALU32_IMM(BPF_DIV, R0, 0), A_EXIT()),
	CASE("mod32", 2, A_MOV64_IMM(R0, 17), A_ALU32_IMM(BPF_MOD, R0, 5), A_EXIT()),
	CASE("mod32 by zero reg truncates dst", 5, A_LD64(R0, 0x100000005ull), A_MOV64_IMM(R1, 0),
	     A_ALU32_REG(BPF_MOD, R0, R1), A_EXIT()),
	CASE("mod32 by zero imm truncates dst", 5, A_LD64(R0, 0x100000005ull),
	     A_ALU32_IMM(BPF_MOD, R0, 0), A_EXIT()),

	/* signed division (cpu v4, off = 1) */
	CASE("sdiv64 imm", 0xfffffffffffffffdull, A_MOV64_IMM(R0, -7), A_SALU64_IMM(BPF_DIV, R0, 2), A_EXIT()),
	CASE("sdiv64 reg", 3, A_MOV64_IMM(R0, -7), A_MOV64_IMM(R1, -2), A_SALU64_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("sdiv64 INT64_MIN / -1 imm", 0x8000000000000000ull, A_LD64(R0, 0x8000000000000000ull),
	     A_SALU64_IMM(BPF_DIV, R0, -1), A_EXIT()),
	CASE("sdiv64 INT64_MIN / -1 reg", 0x8000000000000000ull, A_LD64(R0, 0x8000000000000000ull),
	     A_MOV64_IMM(R1, -1), A_SALU64_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("sdiv64 by zero gives 0", 0, A_MOV64_IMM(R0, -7), A_MOV64_IMM(R1, 0),
	     A_SALU64_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("sdiv64 by zero imm", 0, A_MOV64_IMM(R0, -7), A_SALU64_IMM(BPF_DIV, R0, 0), A_EXIT()),
	CASE("smod64 negative dividend", ~0ull, A_MOV64_IMM(R0, -7), A_SALU64_IMM(BPF_MOD, R0, 2), A_EXIT()),
	CASE("smod64 negative divisor", 1, A_MOV64_IMM(R0, 7), A_MOV64_IMM(R1, -2),
	     A_SALU64_REG(BPF_MOD, R0, R1), A_EXIT()),
	CASE("smod64 INT64_MIN % -1", 0, A_LD64(R0, 0x8000000000000000ull), A_SALU64_IMM(BPF_MOD, R0, -1), A_EXIT()),
	CASE("smod64 INT64_MIN % -1 reg", 0, A_LD64(R0, 0x8000000000000000ull), A_MOV64_IMM(R1, -1),
	     A_SALU64_REG(BPF_MOD, R0, R1), A_EXIT()),
	CASE("smod64 by zero keeps dst", 0xfffffffffffffff9ull, A_MOV64_IMM(R0, -7), A_MOV64_IMM(R1, 0),
	     A_SALU64_REG(BPF_MOD, R0, R1), A_EXIT()),
	CASE("sdiv32", 0xfffffffd, A_MOV32_IMM(R0, -7), A_SALU32_IMM(BPF_DIV, R0, 2), A_EXIT()),
	CASE("sdiv32 reg uses low halves", 0xfffffffd, A_LD64(R0, 0x00000001fffffff9ull),
	     A_LD64(R1, 0x7700000000000002ull), A_SALU32_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("sdiv32 INT32_MIN / -1", 0x80000000, A_MOV32_IMM(R0, INT32_MIN), A_SALU32_IMM(BPF_DIV, R0, -1), A_EXIT()),
	CASE("sdiv32 INT32_MIN / -1 reg", 0x80000000, A_MOV32_IMM(R0, INT32_MIN), A_MOV64_IMM(R1, -1),
	     A_SALU32_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("sdiv32 by zero", 0, A_MOV64_IMM(R0, -7), A_MOV64_IMM(R1, 0), A_SALU32_REG(BPF_DIV, R0, R1), A_EXIT()),
	CASE("smod32 INT32_MIN % -1", 0, A_MOV32_IMM(R0, INT32_MIN), A_SALU32_IMM(BPF_MOD, R0, -1), A_EXIT()),
	CASE("smod32 negative", 0xffffffff, A_MOV32_IMM(R0, -7), A_SALU32_IMM(BPF_MOD, R0, 2), A_EXIT()),
	CASE("smod32 by zero truncates dst", 0xfffffff9, A_LD64(R0, 0xabcdef01fffffff9ull), A_MOV64_IMM(R1, 0),
	     A_SALU32_REG(BPF_MOD, R0, R1), A_EXIT()),

	/* movsx (cpu v4) */
	CASE("movsx64 s8", 0xffffffffffffff80ull, A_MOV64_IMM(R1, 0x180), A_MOVSX64(R0, R1, 8), A_EXIT()),
	CASE("movsx64 s8 positive", 0x7f, A_MOV64_IMM(R1, 0x17f), A_MOVSX64(R0, R1, 8), A_EXIT()),
	CASE("movsx64 s16", 0xffffffffffff8000ull, A_MOV64_IMM(R1, 0x8000), A_MOVSX64(R0, R1, 16), A_EXIT()),
	CASE("movsx64 s16 positive", 0x7fff, A_MOV64_IMM(R1, 0x17fff), A_MOVSX64(R0, R1, 16), A_EXIT()),
	CASE("movsx64 s32", 0xffffffff80000000ull, A_LD64(R1, 0x180000000ull), A_MOVSX64(R0, R1, 32), A_EXIT()),
	CASE("movsx32 s8 zero-extends", 0xffffff80, A_MOV64_IMM(R1, 0x80), A_MOVSX32(R0, R1, 8), A_EXIT()),
	CASE("movsx32 s16 zero-extends", 0xffff8000, A_LD64(R1, 0xffffffff00008000ull),
	     A_MOVSX32(R0, R1, 16), A_EXIT()),

	/* byte order */
	CASE("le16 truncates", 0x0708, A_LD64(R0, BIG), A_LE(R0, 16), A_EXIT()),
	CASE("le32 truncates", 0x05060708, A_LD64(R0, BIG), A_LE(R0, 32), A_EXIT()),
	CASE("le64", BIG, A_LD64(R0, BIG), A_LE(R0, 64), A_EXIT()),
	CASE("be16", 0x0807, A_LD64(R0, BIG), A_BE(R0, 16), A_EXIT()),
	CASE("be32", 0x08070605, A_LD64(R0, BIG), A_BE(R0, 32), A_EXIT()),
	CASE("be64", 0x0807060504030201ull, A_LD64(R0, BIG), A_BE(R0, 64), A_EXIT()),
	CASE("bswap16", 0x0807, A_LD64(R0, BIG), A_BSWAP(R0, 16), A_EXIT()),
	CASE("bswap32", 0x08070605, A_LD64(R0, BIG), A_BSWAP(R0, 32), A_EXIT()),
	CASE("bswap64", 0x0807060504030201ull, A_LD64(R0, BIG), A_BSWAP(R0, 64), A_EXIT()),

	/* jumps: r0 = 1 when taken */
#define TAKEN(jmp) A_MOV64_IMM(R0, 1), jmp, A_MOV64_IMM(R0, 0), A_EXIT()
	CASE("jgt is unsigned", 1, A_MOV64_IMM(R1, -1), A_MOV64_IMM(R2, 1), TAKEN(A_JMP_REG(BPF_JGT, R1, R2, 1))),
	CASE("jsgt is signed", 0, A_MOV64_IMM(R1, -1), A_MOV64_IMM(R2, 1), TAKEN(A_JMP_REG(BPF_JSGT, R1, R2, 1))),
	CASE("jeq32 ignores upper half", 1, A_LD64(R1, 0x100000000ull), TAKEN(A_JMP32_IMM(BPF_JEQ, R1, 0, 1))),
	CASE("jeq64 sees upper half", 0, A_LD64(R1, 0x100000000ull), TAKEN(A_JMP_IMM(BPF_JEQ, R1, 0, 1))),
	CASE("jsgt32 0x80000000 is negative", 0, A_MOV32_IMM(R1, INT32_MIN), TAKEN(A_JMP32_IMM(BPF_JSGT, R1, 0, 1))),
	CASE("jsgt64 0x80000000 is positive", 1, A_MOV32_IMM(R1, INT32_MIN), TAKEN(A_JMP_IMM(BPF_JSGT, R1, 0, 1))),
	CASE("jeq64 imm sign-extends", 0, A_MOV32_IMM(R1, -1), TAKEN(A_JMP_IMM(BPF_JEQ, R1, -1, 1))),
	CASE("jeq32 imm", 1, A_MOV32_IMM(R1, -1), TAKEN(A_JMP32_IMM(BPF_JEQ, R1, -1, 1))),
	CASE("jlt32 imm unsigned", 1, A_MOV64_IMM(R1, 5), TAKEN(A_JMP32_IMM(BPF_JLT, R1, -1, 1))),
	CASE("jslt32 imm signed", 0, A_MOV64_IMM(R1, 5), TAKEN(A_JMP32_IMM(BPF_JSLT, R1, -1, 1))),
	CASE("jset taken", 1, A_MOV64_IMM(R1, 0x10), TAKEN(A_JMP_IMM(BPF_JSET, R1, 0x30, 1))),
	CASE("jset not taken", 0, A_MOV64_IMM(R1, 0x10), TAKEN(A_JMP_IMM(BPF_JSET, R1, 0x20, 1))),
	CASE("jset32 ignores upper half", 0, A_LD64(R1, 0x100000000ull), A_LD64(R2, 0x100000000ull),
	     TAKEN(A_JMP32_REG(BPF_JSET, R1, R2, 1))),
	CASE("ja", 1, A_MOV64_IMM(R0, 1), A_JA(1), A_MOV64_IMM(R0, 2), A_EXIT()),
	CASE("gotol (jmp32 ja, imm offset)", 1, A_MOV64_IMM(R0, 1), A_GOTOL(1), A_MOV64_IMM(R0, 2), A_EXIT()),
	CASE("backward loop", 30, A_MOV64_IMM(R0, 0), A_MOV64_IMM(R1, 10), A_ALU64_IMM(BPF_ADD, R0, 3),
	     A_ALU64_IMM(BPF_SUB, R1, 1), A_JMP_IMM(BPF_JNE, R1, 0, -3), A_EXIT()),
	CASE("gotol backward", 3, A_MOV64_IMM(R0, 0), A_MOV64_IMM(R1, 3), A_ALU64_IMM(BPF_ADD, R0, 1),
	     A_ALU64_IMM(BPF_SUB, R1, 1), A_JMP_IMM(BPF_JEQ, R1, 0, 1), A_GOTOL(-4), A_EXIT()),
	CASE("ja as last instruction", 5, A_JA(1), A_EXIT(), A_MOV64_IMM(R0, 5), A_JA(-3)),

	/* memory */
	CASE("stdw imm sign-extends", 0xfffffffffffffffeull, A_ST(BPF_DW, R10, -8, -2),
	     A_LDX(BPF_DW, R0, R10, -8), A_EXIT()),
	CASE("stack bottom r10-512", 0x1122334455667788ull, A_LD64(R1, 0x1122334455667788ull),
	     A_STX(BPF_DW, R10, R1, -512), A_LDX(BPF_DW, R0, R10, -512), A_EXIT()),
	CASE("st b/h/w", 0x11223344bbcc00aaull, A_ST(BPF_DW, R10, -8, 0), A_ST(BPF_B, R10, -8, 0xaa),
	     A_ST(BPF_H, R10, -6, 0xbbcc), A_ST(BPF_W, R10, -4, 0x11223344), A_LDX(BPF_DW, R0, R10, -8), A_EXIT()),
	CASE("stx b/h/w", 0x11223344bbcc00aaull, A_ST(BPF_DW, R10, -8, 0), A_LD64(R1, 0xffffffffffffffaaull),
	     A_STX(BPF_B, R10, R1, -8), A_LD64(R1, 0xffffffff0000bbccull), A_STX(BPF_H, R10, R1, -6),
	     A_LD64(R1, 0x5555555511223344ull), A_STX(BPF_W, R10, R1, -4), A_LDX(BPF_DW, R0, R10, -8), A_EXIT()),
	CASE("ldxb", 0x11, A_LD64(R1, 0x8877665544332211ull), A_STX(BPF_DW, R10, R1, -8),
	     A_LDX(BPF_B, R0, R10, -8), A_EXIT()),
	CASE("ldxh", 0x2211, A_LD64(R1, 0x8877665544332211ull), A_STX(BPF_DW, R10, R1, -8),
	     A_LDX(BPF_H, R0, R10, -8), A_EXIT()),
	CASE("ldxw", 0x44332211, A_LD64(R1, 0x8877665544332211ull), A_STX(BPF_DW, R10, R1, -8),
	     A_LDX(BPF_W, R0, R10, -8), A_EXIT()),
	CASE("ldxw unaligned", 0x55443322, A_LD64(R1, 0x8877665544332211ull), A_STX(BPF_DW, R10, R1, -8),
	     A_LDX(BPF_W, R0, R10, -7), A_EXIT()),
	CASE("ldxdw same register", 0x8877665544332211ull, A_LD64(R1, 0x8877665544332211ull),
	     A_STX(BPF_DW, R10, R1, -8), A_MOV64_REG(R0, R10), A_LDX(BPF_DW, R0, R0, -8), A_EXIT()),
	CASE("ldxsb", 0xffffffffffffff80ull, A_ST(BPF_B, R10, -1, 0x80), A_LDXSX(BPF_B, R0, R10, -1), A_EXIT()),
	CASE("ldxsb positive", 0x7f, A_ST(BPF_B, R10, -1, 0x7f), A_LDXSX(BPF_B, R0, R10, -1), A_EXIT()),
	CASE("ldxsh", 0xffffffffffff8001ull, A_ST(BPF_H, R10, -2, 0x8001), A_LDXSX(BPF_H, R0, R10, -2), A_EXIT()),
	CASE("ldxsw", 0xffffffff80000001ull, A_ST(BPF_W, R10, -4, (int32_t)0x80000001),
	     A_LDXSX(BPF_W, R0, R10, -4), A_EXIT()),
	CASE("ld_imm64", 0x1122334455667788ull, A_LD64(R0, 0x1122334455667788ull), A_EXIT()),
	CASE("ld_imm64 high bits", 0xfedcba9876543210ull, A_LD64(R0, 0xfedcba9876543210ull), A_EXIT()),
	CASE("ld_imm64 sign bit of low half", 0x80000000ull, A_LD64(R0, 0x80000000ull), A_EXIT()),

	/* atomics on the stack: r0 = fetched value or memory after the op */
	CASE("atomic add64 fetch", 10, A_ST(BPF_DW, R10, -8, 10), A_MOV64_IMM(R1, 5),
	     A_ATOMIC(BPF_DW, BPF_ADD | BPF_FETCH, R10, R1, -8), A_MOV64_REG(R0, R1), A_EXIT()),
	CASE("atomic add64 memory", 15, A_ST(BPF_DW, R10, -8, 10), A_MOV64_IMM(R1, 5),
	     A_ATOMIC(BPF_DW, BPF_ADD, R10, R1, -8), A_LDX(BPF_DW, R0, R10, -8), A_EXIT()),

	/* helper calls (conformance helper set) */
	CASE("helper call gather_bytes", 0x0102030405ull, A_MOV64_IMM(R1, 1), A_MOV64_IMM(R2, 2),
	     A_MOV64_IMM(3, 3), A_MOV64_IMM(4, 4), A_MOV64_IMM(5, 5), A_CALL(0), A_EXIT()),
	CASE("helper keeps callee-saved", 0x0102030405ull + 6, A_MOV64_IMM(6, 6), A_MOV64_IMM(R1, 1),
	     A_MOV64_IMM(R2, 2), A_MOV64_IMM(3, 3), A_MOV64_IMM(4, 4), A_MOV64_IMM(5, 5), A_CALL(0),
	     A_ALU64_REG(BPF_ADD, R0, 6), A_EXIT()),

	/* bpf-to-bpf: args r1-r5, own stack frame, r6-r9 preserved */
	CASE("bpf-to-bpf call", 1045,
	     A_MOV64_IMM(1, 1), A_MOV64_IMM(2, 2), A_MOV64_IMM(3, 3), A_MOV64_IMM(4, 4), A_MOV64_IMM(5, 5),
	     A_MOV64_IMM(6, 6), A_MOV64_IMM(7, 7), A_MOV64_IMM(8, 8), A_MOV64_IMM(9, 9),
	     A_ST(BPF_DW, R10, -8, 1000), A_CALL_LOCAL(7), A_LDX(BPF_DW, R1, R10, -8),
	     A_ALU64_REG(BPF_ADD, R0, 1), A_ALU64_REG(BPF_ADD, R0, 6), A_ALU64_REG(BPF_ADD, R0, 7),
	     A_ALU64_REG(BPF_ADD, R0, 8), A_ALU64_REG(BPF_ADD, R0, 9), A_EXIT(),
	     /* callee at 18 */
	     A_MOV64_IMM(R0, 0), A_ALU64_REG(BPF_ADD, R0, 1), A_ALU64_REG(BPF_ADD, R0, 2),
	     A_ALU64_REG(BPF_ADD, R0, 3), A_ALU64_REG(BPF_ADD, R0, 4), A_ALU64_REG(BPF_ADD, R0, 5),
	     A_MOV64_IMM(6, 100), A_MOV64_IMM(7, 100), A_MOV64_IMM(8, 100), A_MOV64_IMM(9, 100),
	     A_ST(BPF_DW, R10, -8, 77), A_EXIT()),
	CASE("bpf-to-bpf stack pointer passed down", 99,
	     A_ST(BPF_DW, R10, -8, 0), A_MOV64_REG(R1, R10), A_ALU64_IMM(BPF_ADD, R1, -8), A_CALL_LOCAL(2),
	     A_LDX(BPF_DW, R0, R10, -8), A_EXIT(),
	     A_ST(BPF_DW, R1, 0, 99), A_EXIT()),
#define RECURSE(n)                                                             \
	A_MOV64_IMM(R1, n), A_CALL_LOCAL(1), A_EXIT(),                         \
	A_JMP_IMM(BPF_JNE, R1, 0, 2), A_MOV64_IMM(R0, 100), A_EXIT(),          \
	A_ALU64_IMM(BPF_SUB, R1, 1), A_CALL_LOCAL(-5), A_ALU64_IMM(BPF_ADD, R0, 1), A_EXIT()
	CASE("recursion to the depth limit (8 frames)", 106, RECURSE(6)),
	CASE("recursion past the depth limit aborts with 0", 0, RECURSE(7)),
	CASE("unbounded recursion aborts with 0", 0, RECURSE(100000)),
};

#define NR_ISA_CASES (sizeof(isa_cases) / sizeof(isa_cases[0]))

START_TEST(test_isa_table)
{
	const struct isa_case *c = &isa_cases[_i / 2];
	enum ebpf_engine engine = engines[_i % 2];
	uint64_t r0 = run_once(engine, c->insns, prog_len(c->insns, A_LEN(c->insns)), 0, 0, c->name);

	ck_assert_msg(r0 == c->expect, "%s [%s]: r0 = 0x%llx, expected 0x%llx", c->name,
		      ebpf_engine_name(engine), (unsigned long long)r0,
		      (unsigned long long)c->expect);
}
END_TEST

/* ---- conditional jumps: every condition, width and source against C ------------ */

static bool jmp_oracle(uint8_t op, bool is32, uint64_t a, uint64_t b)
{
	uint64_t ua = is32 ? (uint32_t)a : a, ub = is32 ? (uint32_t)b : b;
	int64_t sa = is32 ? (int32_t)a : (int64_t)a, sb = is32 ? (int32_t)b : (int64_t)b;

	switch (op) {
	case BPF_JEQ:  return ua == ub;
	case BPF_JNE:  return ua != ub;
	case BPF_JGT:  return ua > ub;
	case BPF_JGE:  return ua >= ub;
	case BPF_JLT:  return ua < ub;
	case BPF_JLE:  return ua <= ub;
	case BPF_JSGT: return sa > sb;
	case BPF_JSGE: return sa >= sb;
	case BPF_JSLT: return sa < sb;
	case BPF_JSLE: return sa <= sb;
	case BPF_JSET: return (ua & ub) != 0;
	}
	ck_abort_msg("bad jump op");
	return false;
}

START_TEST(test_jmp_matrix)
{
	static const uint8_t ops[] = { BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
				       BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET };
	static const uint64_t vals[] = {
		0, 1, 2, ~0ull, ~1ull, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
		0x180000000ull, 0x8000000000000000ull, 0x7fffffffffffffffull, 0xffffffff7fffffffull,
	};
	enum ebpf_engine engine = engines[_i];
	size_t checked = 0;

	for (size_t o = 0; o < sizeof(ops); o++)
	for (int is32 = 0; is32 < 2; is32++)
	for (int src_x = 0; src_x < 2; src_x++)
	for (size_t i = 0; i < A_LEN(vals); i++)
	for (size_t j = 0; j < A_LEN(vals); j++) {
		uint64_t a = vals[i], b = vals[j];
		uint8_t cls = is32 ? BPF_JMP32 : BPF_JMP;
		struct bpf_insn p[] = {
			A_LD64(R1, a), A_LD64(R2, b), A_MOV64_IMM(R0, 1),
			A_RAW(cls | ops[o] | BPF_K, R1, 0, 1, (int32_t)(uint32_t)b),
			A_MOV64_IMM(R0, 0), A_EXIT(),
		};
		uint64_t bb = b;

		/* an imm is a sign-extended 32-bit value: skip b it cannot hold */
		if (!src_x && !is32 && (uint64_t)(int64_t)(int32_t)(uint32_t)b != b)
			continue;
		if (src_x) {
			p[5].code = cls | ops[o] | BPF_X;
			p[5].src_reg = R2;
			p[5].imm = 0;
		} else {
			bb = (uint64_t)(int64_t)(int32_t)(uint32_t)b;
		}
		uint64_t r0 = run_once(engine, p, A_LEN(p), 0, 0, "jmp matrix");
		ck_assert_msg(r0 == jmp_oracle(ops[o], is32, a, bb),
			      "[%s] jmp%s op 0x%02x %s: a=0x%llx b=0x%llx taken=%llu",
			      ebpf_engine_name(engine), is32 ? "32" : "64", ops[o], src_x ? "X" : "K",
			      (unsigned long long)a, (unsigned long long)b, (unsigned long long)r0);
		checked++;
	}
	ck_assert_uint_gt(checked, 2000);
}
END_TEST

/* ---- memory through r1 and atomics ------------------------------------------------ */

START_TEST(test_mem_via_r1)
{
	enum ebpf_engine engine = engines[_i];
	uint8_t buf[32];
	struct bpf_insn p[] = {
		A_LDX(BPF_DW, R0, R1, 0),		/* r0 = buf[0..7] */
		A_ST(BPF_B, R1, 8, 0x11),
		A_ST(BPF_H, R1, 9, 0x2233),		/* unaligned */
		A_ST(BPF_W, R1, 12, 0x44556677),
		A_LD64(R2, 0x8899aabbccddeeffull),
		A_STX(BPF_DW, R1, R2, 16),
		A_STX(BPF_W, R1, R2, 24),
		A_STX(BPF_H, R1, R2, 28),
		A_STX(BPF_B, R1, R2, 30),
		A_EXIT(),
	};
	static const uint8_t want[32] = {
		1, 2, 3, 4, 5, 6, 7, 8,
		0x11, 0x33, 0x22, 0xee, 0x77, 0x66, 0x55, 0x44,
		0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
		0xff, 0xee, 0xdd, 0xcc, 0xff, 0xee, 0xff, 0xee,
	};

	memset(buf, 0xee, sizeof(buf));
	for (int k = 0; k < 8; k++)
		buf[k] = (uint8_t)(k + 1);
	uint64_t r0 = run_once(engine, p, A_LEN(p), (uintptr_t)buf, sizeof(buf), "mem via r1");
	ck_assert_uint_eq(r0, 0x0807060504030201ull);
	for (int k = 0; k < 32; k++)
		ck_assert_msg(buf[k] == want[k], "[%s] byte %d = 0x%02x, want 0x%02x",
			      ebpf_engine_name(engine), k, buf[k], want[k]);
}
END_TEST

struct atomic_case {
	const char *name;
	int32_t aop;
	bool is64;
	uint64_t mem, operand, r0_in;
	uint64_t want_mem, want_reg;	/* want_reg: src after (r0 for cmpxchg) */
};

static const struct atomic_case atomic_cases[] = {
	{ "add64", BPF_ADD, true, 10, 5, 0, 15, 5 },
	{ "add64 fetch", BPF_ADD | BPF_FETCH, true, 10, 5, 0, 15, 10 },
	{ "or64", BPF_OR, true, 0xf0, 0x0f, 0, 0xff, 0x0f },
	{ "or64 fetch", BPF_OR | BPF_FETCH, true, 0xf0, 0x0f, 0, 0xff, 0xf0 },
	{ "and64", BPF_AND, true, 0xff, 0x3c, 0, 0x3c, 0x3c },
	{ "and64 fetch", BPF_AND | BPF_FETCH, true, 0xff, 0x3c, 0, 0x3c, 0xff },
	{ "xor64", BPF_XOR, true, 0xff, 0x0f, 0, 0xf0, 0x0f },
	{ "xor64 fetch", BPF_XOR | BPF_FETCH, true, 0xff, 0x0f, 0, 0xf0, 0xff },
	{ "xchg64", BPF_XCHG, true, 0x1111111122222222ull, 0x3333333344444444ull, 0,
	  0x3333333344444444ull, 0x1111111122222222ull },
	{ "cmpxchg64 match", BPF_CMPXCHG, true, 7, 9, 7, 9, 7 },
	{ "cmpxchg64 mismatch", BPF_CMPXCHG, true, 7, 9, 8, 7, 7 },
	/* 32-bit: upper half of memory untouched, fetched values zero-extended */
	{ "add32", BPF_ADD, false, 0xaaaaaaaaffffffffull, 2, 0, 0xaaaaaaaa00000001ull, 2 },
	{ "add32 fetch", BPF_ADD | BPF_FETCH, false, 0xaaaaaaaaffffffffull, 0x1200000002ull, 0,
	  0xaaaaaaaa00000001ull, 0xffffffff },
	{ "or32 fetch", BPF_OR | BPF_FETCH, false, 0xaaaaaaaa800000f0ull, 0x0f, 0,
	  0xaaaaaaaa800000ffull, 0x800000f0 },
	{ "and32 fetch", BPF_AND | BPF_FETCH, false, 0xaaaaaaaa800000ffull, 0xffffffff0000003cull, 0,
	  0xaaaaaaaa0000003cull, 0x800000ff },
	{ "xor32 fetch", BPF_XOR | BPF_FETCH, false, 0xaaaaaaaa000000ffull, 0x0f, 0,
	  0xaaaaaaaa000000f0ull, 0xff },
	{ "or32", BPF_OR, false, 0x10, 0x01, 0, 0x11, 0x01 },
	{ "and32", BPF_AND, false, 0x13, 0x01, 0, 0x01, 0x01 },
	{ "xor32", BPF_XOR, false, 0x13, 0x01, 0, 0x12, 0x01 },
	{ "xchg32", BPF_XCHG, false, 0xaaaaaaaa80000001ull, 0x1234567822222222ull, 0,
	  0xaaaaaaaa22222222ull, 0x80000001 },
	{ "cmpxchg32 match (low half compared)", BPF_CMPXCHG, false, 0xaaaaaaaa80000007ull, 9,
	  0xffffffff80000007ull, 0xaaaaaaaa00000009ull, 0x80000007 },
	{ "cmpxchg32 mismatch", BPF_CMPXCHG, false, 0xaaaaaaaa80000007ull, 9, 8,
	  0xaaaaaaaa80000007ull, 0x80000007 },
};

START_TEST(test_atomics)
{
	const struct atomic_case *c = &atomic_cases[_i / 2];
	enum ebpf_engine engine = engines[_i % 2];
	uint64_t mem[2] = { c->mem, 0x5a5a5a5a5a5a5a5aull };
	bool cmpxchg = c->aop == BPF_CMPXCHG;
	struct bpf_insn p[] = {
		A_LD64(R2, c->operand),
		A_LD64(R0, c->r0_in),
		A_ATOMIC(c->is64 ? BPF_DW : BPF_W, c->aop, R1, R2, 0),
		A_MOV64_REG(R0, R2),
		A_EXIT(),
	};
	uint64_t r0;

	if (cmpxchg)	/* the old value is in r0 already */
		p[5] = A_EXIT();
	r0 = run_once(engine, p, A_LEN(p), (uintptr_t)mem, 0, c->name);
	ck_assert_msg(mem[0] == c->want_mem, "%s [%s]: memory 0x%llx, want 0x%llx", c->name,
		      ebpf_engine_name(engine), (unsigned long long)mem[0],
		      (unsigned long long)c->want_mem);
	ck_assert_msg(r0 == c->want_reg, "%s [%s]: register 0x%llx, want 0x%llx", c->name,
		      ebpf_engine_name(engine), (unsigned long long)r0,
		      (unsigned long long)c->want_reg);
	ck_assert_uint_eq(mem[1], 0x5a5a5a5a5a5a5a5aull);
}
END_TEST

/* ---- load-acquire / store-release: every size, zero-extended loads ---------------- */

static const uint8_t acq_rel_sizes[4] = { BPF_B, BPF_H, BPF_W, BPF_DW };

START_TEST(test_load_acq_store_rel)
{
	static const uint64_t want_load[4] = {
		0xff, 0xeeff, 0xccddeeff, 0x8899aabbccddeeffull,
	};
	static const uint64_t want_mem[4] = {
		0x8899aabbccddee08ull, 0x8899aabbccdd0708ull, 0x8899aabb05060708ull,
		0x0102030405060708ull,
	};
	uint8_t size = acq_rel_sizes[_i / 2];
	enum ebpf_engine engine = engines[_i % 2];
	uint64_t mem[2] = { 0x8899aabbccddeeffull, 0x5a5a5a5a5a5a5a5aull };
	struct bpf_insn p[] = {
		A_LD64(R0, ~0ull),			/* a stale upper half must go */
		A_LOAD_ACQ(size, R0, R1, 0),
		A_LD64(R2, 0x0102030405060708ull),
		A_STORE_REL(size, R1, R2, 0),
		A_EXIT(),
	};
	uint64_t r0 = run_once(engine, p, A_LEN(p), (uintptr_t)mem, 0, "load-acquire");

	ck_assert_msg(r0 == want_load[_i / 2], "size %u [%s]: loaded 0x%llx", size,
		      ebpf_engine_name(engine), (unsigned long long)r0);
	ck_assert_msg(mem[0] == want_mem[_i / 2], "size %u [%s]: stored 0x%llx", size,
		      ebpf_engine_name(engine), (unsigned long long)mem[0]);
	ck_assert_uint_eq(mem[1], 0x5a5a5a5a5a5a5a5aull);
}
END_TEST

/* ---- may_goto: falls through while the run's budget lasts ------------------------- */

/* An endless loop that only may_goto leaves: it runs EBPF_MAX_LOOPS
 * times (the kernel's BPF_MAX_LOOPS), and each run starts a new budget. */
START_TEST(test_may_goto_budget)
{
	enum ebpf_engine engine = engines[_i];
	const struct bpf_insn p[] = {
		A_MOV64_IMM(R0, 0),
		A_MAY_GOTO(2),
		A_ALU64_IMM(BPF_ADD, R0, 1),
		A_JA(-3),
		A_EXIT(),
	};
	struct ebpf_prog *prog = load_ex(engine, EBPF_HELPERS_CONFORMANCE, p, A_LEN(p), NULL, 0,
					 "may_goto");

	for (int run = 0; run < 2; run++)
		ck_assert_msg(ebpf_prog_run_args(prog, 0, 0) == EBPF_MAX_LOOPS,
			      "[%s] run %d: wrong iteration count", ebpf_engine_name(engine), run);
	ebpf_prog_put(prog);
}
END_TEST

/* ---- maps, tail calls, callbacks, XDP -------------------------------------------- */

static struct ebpf_map *new_map(uint32_t type, uint32_t key, uint32_t value, uint32_t max)
{
	struct ebpf_map_spec spec = {
		.name = "test", .type = type, .key_size = key, .value_size = value, .max_entries = max,
	};
	struct ebpf_map *map = NULL;
	int ret = ebpf_map_create(&spec, &map);

	ck_assert_msg(ret == 0 && map, "map create failed: %d", ret);
	return map;
}

static void prog_array_set(struct ebpf_map *map, uint32_t key, struct ebpf_prog *prog)
{
	uint32_t id = ebpf_prog_id(prog);

	ck_assert_int_eq(ebpf_map_update_elem(map, &key, &id, BPF_ANY), 0);
}

START_TEST(test_tail_call)
{
	enum ebpf_engine engine = engines[_i];
	struct ebpf_map *pa = new_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
	struct bpf_insn target[] = { A_ALU64_IMM(BPF_ADD, R1, 40), A_MOV64_REG(R0, R1), A_EXIT() };
	struct ebpf_prog *t = load_ex(engine, EBPF_HELPERS_XDP, target, A_LEN(target), NULL, 0, "tc target");
#define TAIL_CALLER(idx)                                                       \
	A_MOV64_IMM(R1, 2), A_LD_MAP(R2, 0), A_MOV64_IMM(3, idx), A_CALL(BPF_FUNC_tail_call), \
	A_MOV64_IMM(R0, 99), A_EXIT()
	struct bpf_insn hit[] = { TAIL_CALLER(0) };
	struct bpf_insn empty[] = { TAIL_CALLER(1) };
	struct bpf_insn out_of_range[] = { TAIL_CALLER(10) };
	struct ebpf_prog *p;

	prog_array_set(pa, 0, t);
	p = load_ex(engine, EBPF_HELPERS_XDP, hit, A_LEN(hit), &pa, 1, "tc hit");
	/* the target starts over with the caller's registers (r1 = 2) */
	ck_assert_uint_eq(ebpf_prog_run(p, NULL), 42);
	ebpf_prog_put(p);
	p = load_ex(engine, EBPF_HELPERS_XDP, empty, A_LEN(empty), &pa, 1, "tc empty");
	ck_assert_uint_eq(ebpf_prog_run(p, NULL), 99);
	ebpf_prog_put(p);
	p = load_ex(engine, EBPF_HELPERS_XDP, out_of_range, A_LEN(out_of_range), &pa, 1, "tc range");
	ck_assert_uint_eq(ebpf_prog_run(p, NULL), 99);
	ebpf_prog_put(p);

	ebpf_prog_put(t);
	ebpf_map_put(pa);
}
END_TEST

START_TEST(test_tail_call_limit)
{
	enum ebpf_engine engine = engines[_i];
	struct ebpf_map *pa = new_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1);
	/* counts its runs in *(u64 *)r1, then tail-calls itself */
	struct bpf_insn self[] = {
		A_MOV64_REG(6, R1), A_LDX(BPF_DW, R0, 6, 0), A_ALU64_IMM(BPF_ADD, R0, 1),
		A_STX(BPF_DW, 6, R0, 0), A_MOV64_REG(R1, 6), A_LD_MAP(R2, 0), A_MOV64_IMM(3, 0),
		A_CALL(BPF_FUNC_tail_call), A_MOV64_IMM(R0, 7), A_EXIT(),
	};
	struct ebpf_prog *p = load_ex(engine, EBPF_HELPERS_XDP, self, A_LEN(self), &pa, 1, "tc self");
	uint64_t runs = 0;
	uint32_t key = 0;

	prog_array_set(pa, 0, p);
	ck_assert_uint_eq(ebpf_prog_run(p, &runs), 7);
	/* the first run plus EBPF_MAX_TAIL_CALLS (33, as the kernel) tail calls */
	ck_assert_uint_eq(runs, 1 + EBPF_MAX_TAIL_CALLS);
	/* the count starts over with every run */
	ck_assert_uint_eq(ebpf_prog_run(p, &runs), 7);
	ck_assert_uint_eq(runs, 2 * (1 + EBPF_MAX_TAIL_CALLS));

	ck_assert_int_eq(ebpf_map_delete_elem(pa, &key), 0);	/* break the cycle */
	ebpf_prog_put(p);
	ebpf_map_put(pa);
}
END_TEST

START_TEST(test_callback_bpf_loop)
{
	enum ebpf_engine engine = engines[_i];
	struct bpf_insn p[] = {
		A_ST(BPF_DW, R10, -8, 0),
		A_MOV64_IMM(R1, 5),
		A_LD_FUNC(R2, 9),			/* insn 2 -> callback at 12 */
		A_MOV64_REG(3, R10),
		A_ALU64_IMM(BPF_ADD, 3, -8),
		A_MOV64_IMM(4, 0),
		A_CALL(BPF_FUNC_loop),
		A_LDX(BPF_DW, R1, R10, -8),
		A_ALU64_IMM(BPF_MUL, R1, 1000),
		A_ALU64_REG(BPF_ADD, R0, R1),
		A_EXIT(),
		/* callback(index, ctx): *ctx += index + 1; uses its own stack */
		A_ST(BPF_DW, R10, -8, 1234),
		A_LDX(BPF_DW, 3, R2, 0),
		A_ALU64_REG(BPF_ADD, 3, R1),
		A_ALU64_IMM(BPF_ADD, 3, 1),
		A_STX(BPF_DW, R2, 3, 0),
		A_MOV64_IMM(R0, 0),
		A_EXIT(),
	};
	struct ebpf_prog *prog;

	prog = load_ex(engine, EBPF_HELPERS_XDP, p, A_LEN(p), NULL, 0, "bpf_loop");
	/* 1+2+3+4+5 = 15 in the counter, 5 iterations returned */
	ck_assert_uint_eq(ebpf_prog_run(prog, NULL), 15005);
	ebpf_prog_put(prog);
}
END_TEST

START_TEST(test_map_value_ldimm64)
{
	enum ebpf_engine engine = engines[_i];
	struct ebpf_map *arr = new_map(BPF_MAP_TYPE_ARRAY, 4, 16, 1);
	struct ebpf_map *maps[2] = { NULL, arr };
	struct bpf_insn p[] = {
		A_LD64_SRC(R1, BPF_PSEUDO_MAP_IDX_VALUE, (8ull << 32) | 1),	/* &value[8] */
		A_LD64(R2, 0x55667788aabbccddull),
		A_STX(BPF_DW, R1, R2, 0),
		A_LD_MAP(R0, 1),
		A_EXIT(),
	};
	struct ebpf_prog *prog = load_ex(engine, EBPF_HELPERS_XDP, p, A_LEN(p), maps, 2, "map value");
	uint8_t value[16];
	uint64_t hi;
	uint32_t key = 0;

	/* MAP_IDX resolves to the map itself */
	ck_assert_ptr_eq((void *)(uintptr_t)ebpf_prog_run(prog, NULL), arr);
	ck_assert_int_eq(ebpf_map_lookup_elem(arr, &key, value), 0);
	memcpy(&hi, value + 8, 8);
	ck_assert_uint_eq(hi, 0x55667788aabbccddull);
	ebpf_prog_put(prog);
	ebpf_map_put(arr);
}
END_TEST

START_TEST(test_run_xdp)
{
	enum ebpf_engine engine = engines[_i];
	struct bpf_insn len_prog[] = {
		A_LDX(BPF_W, R2, R1, offsetof(struct xdp_md, data_end)),
		A_LDX(BPF_W, 3, R1, offsetof(struct xdp_md, data)),
		A_ALU64_REG(BPF_SUB, R2, 3),
		A_MOV64_IMM(R0, XDP_DROP),
		A_JMP_IMM(BPF_JNE, R2, 60, 1),
		A_MOV64_IMM(R0, XDP_PASS),
		A_EXIT(),
	};
	struct bpf_insn odd_prog[] = { A_MOV64_IMM(R0, 77), A_EXIT() };
	struct ebpf_xdp_buff *xdp = NULL;
	uint8_t pkt[60] = { 0 };
	struct ebpf_prog *p;

	ck_assert_int_eq(ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &xdp), 0);
	ck_assert_int_eq(ebpf_xdp_buff_set(xdp, pkt, sizeof(pkt), EBPF_XDP_TEST_HEADROOM), 0);
	p = load_ex(engine, EBPF_HELPERS_XDP, len_prog, A_LEN(len_prog), NULL, 0, "xdp len");
	ck_assert_uint_eq(ebpf_prog_run_xdp(p, xdp), XDP_PASS);
	ebpf_prog_put(p);
	/* unknown actions are passed on for the caller to judge */
	p = load_ex(engine, EBPF_HELPERS_XDP, odd_prog, A_LEN(odd_prog), NULL, 0, "xdp odd");
	ck_assert_uint_eq(ebpf_prog_run_xdp(p, xdp), 77);
	ck_assert_ptr_null(ebpf_run_ctx.xdp);	/* restored after the run */
	ebpf_prog_put(p);
	ebpf_xdp_buff_free(xdp);
}
END_TEST

/* ---- life cycle ------------------------------------------------------------------ */

START_TEST(test_lifecycle)
{
	struct bpf_insn p[] = { A_MOV64_IMM(R0, 3), A_EXIT() };
	struct ebpf_prog *a = load_ex(EBPF_ENGINE_INTERP, EBPF_HELPERS_XDP, p, 2, NULL, 0, "alpha");
	struct ebpf_prog *b = load_ex(EBPF_ENGINE_INTERP, EBPF_HELPERS_XDP, p, 2, NULL, 0, "");
	struct ebpf_prog_stats st;
	uint32_t id_a = ebpf_prog_id(a);

	ck_assert_str_eq(ebpf_prog_name(a), "alpha");
	ck_assert_str_eq(ebpf_prog_name(b), "prog");
	ck_assert_uint_ne(id_a, 0);
	ck_assert_uint_ne(id_a, ebpf_prog_id(b));
	ck_assert_ptr_eq(ebpf_prog_by_id(id_a), a);
	ck_assert_int_eq(ebpf_prog_engine(a), EBPF_ENGINE_INTERP);
	ck_assert_uint_eq(ebpf_prog_insn_cnt(a), 2);
	ck_assert_int_eq(ebpf_prog_insns(a)[0].imm, 3);
	ck_assert_int_eq(ebpf_prog_kernel_fd(a), -1);
	ck_assert_int_eq(ebpf_prog_run_config(a)->priority, 50);
	ck_assert_uint_eq(ebpf_prog_run_config(a)->chain_call_actions, 1u << XDP_PASS);

	ebpf_stats_enable(false);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(ebpf_prog_run(a, NULL), 3);
	ebpf_prog_get_stats(a, &st);
	ck_assert_uint_eq(st.run_cnt, 3);
	ck_assert_uint_eq(st.run_time_ns, 0);
	ebpf_stats_enable(true);
	ck_assert_uint_eq(ebpf_prog_run_args(a, 0, 0), 3);
	ebpf_stats_enable(false);
	ebpf_prog_get_stats(a, &st);
	ck_assert_uint_eq(st.run_cnt, 4);

	/* references: get keeps it alive past one put */
	ck_assert_ptr_eq(ebpf_prog_get(a), a);
	ebpf_prog_put(a);
	ck_assert_ptr_eq(ebpf_prog_by_id(id_a), a);
	ebpf_prog_put(a);
	ck_assert_ptr_null(ebpf_prog_by_id(id_a));
	ebpf_prog_put(b);
}
END_TEST

START_TEST(test_engine_names)
{
	enum ebpf_engine e;

	ck_assert_int_eq(ebpf_engine_parse("jit", &e), 0);
	ck_assert_int_eq(e, EBPF_ENGINE_JIT);
	ck_assert_int_eq(ebpf_engine_parse("interp", &e), 0);
	ck_assert_int_eq(e, EBPF_ENGINE_INTERP);
	ck_assert_int_eq(ebpf_engine_parse("kernel9", &e), -EINVAL);
	ck_assert_str_eq(ebpf_engine_name(EBPF_ENGINE_JIT), "jit");
	ck_assert_str_eq(ebpf_engine_name(EBPF_ENGINE_INTERP), "interp");
}
END_TEST

/* ---- malformed programs are rejected with a message --------------------------------- */

struct bad_case {
	const char *name;
	const char *msg;	/* expected in the error text */
	enum ebpf_helper_set set;
	struct bpf_insn insns[8];
};

#define BAD(nm, m, s, ...)                                                     \
	{ .name = nm, .msg = m, .set = s, .insns = { __VA_ARGS__ } }

static const struct bad_case bad_cases[] = {
	BAD("unknown ALU opcode", "opcode 0xf7", EBPF_HELPERS_XDP, A_RAW(0xf7, 0, 0, 0, 0), A_EXIT()),
	BAD("unknown class-0 opcode", "opcode 0x00", EBPF_HELPERS_XDP, A_RAW(0x00, 0, 0, 0, 0), A_EXIT()),
	BAD("legacy ld_abs", "BPF_LD_ABS", EBPF_HELPERS_XDP, A_RAW(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 0), A_EXIT()),
	BAD("jmp32 exit", "unknown jump opcode", EBPF_HELPERS_XDP, A_RAW(BPF_JMP32 | BPF_EXIT, 0, 0, 0, 0), A_EXIT()),
	BAD("ldx memsx dw", "unknown load opcode", EBPF_HELPERS_XDP,
	    A_RAW(BPF_LDX | BPF_MEMSX | BPF_DW, 0, 1, 0, 0), A_EXIT()),
	BAD("bad atomic op", "unknown atomic operation", EBPF_HELPERS_XDP,
	    A_ATOMIC(BPF_DW, 0x30, 1, 2, 0), A_EXIT()),
	BAD("atomic on bytes", "unknown store opcode", EBPF_HELPERS_XDP,
	    A_ATOMIC(BPF_B, BPF_ADD, 1, 2, 0), A_EXIT()),
	BAD("bad movsx offset", "reserved", EBPF_HELPERS_XDP, A_MOVSX32(0, 1, 32), A_EXIT()),
	BAD("bad byte swap width", "16, 32 or 64", EBPF_HELPERS_XDP, A_BE(0, 24), A_EXIT()),
	BAD("bad dst register", "invalid register r11", EBPF_HELPERS_XDP, A_MOV64_IMM(11, 1), A_EXIT()),
	BAD("bad src register", "invalid register r12", EBPF_HELPERS_XDP, A_MOV64_REG(0, 12), A_EXIT()),
	BAD("write to r10", "read-only", EBPF_HELPERS_XDP, A_MOV64_IMM(10, 0), A_EXIT()),
	BAD("load into r10", "read-only", EBPF_HELPERS_XDP, A_LDX(BPF_DW, 10, 1, 0), A_EXIT()),
	BAD("jump past the end", "outside the program", EBPF_HELPERS_XDP, A_JA(5), A_EXIT()),
	BAD("jump before the start", "outside the program", EBPF_HELPERS_XDP,
	    A_JMP_IMM(BPF_JEQ, 0, 0, -3), A_EXIT()),
	BAD("jump into ld_imm64", "second half of an ld_imm64", EBPF_HELPERS_XDP,
	    A_JA(1), A_LD64(0, 1), A_EXIT()),
	BAD("truncated ld_imm64", "missing its second half", EBPF_HELPERS_XDP,
	    A_MOV64_IMM(0, 0), A_RAW(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 1)),
	BAD("bad ld_imm64 second half", "second half", EBPF_HELPERS_XDP,
	    A_RAW(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 1), A_RAW(0x07, 0, 0, 0, 0), A_EXIT()),
	BAD("unknown pseudo ld_imm64", "unknown ld_imm64 kind", EBPF_HELPERS_XDP,
	    A_LD64_SRC(0, 9, 0), A_EXIT()),
	BAD("ksym ld_imm64", "BPF_PSEUDO_BTF_ID", EBPF_HELPERS_XDP, A_LD64_SRC(0, BPF_PSEUDO_BTF_ID, 0), A_EXIT()),
	BAD("unknown helper", "program calls unsupported helper bpf_skb_load_bytes (id 26)",
	    EBPF_HELPERS_XDP, A_CALL(BPF_FUNC_skb_load_bytes), A_EXIT()),
	BAD("helper outside the conformance set", "helper id 6", EBPF_HELPERS_CONFORMANCE,
	    A_CALL(6), A_EXIT()),
	BAD("bpf-to-bpf call out of range", "outside the program", EBPF_HELPERS_XDP,
	    A_CALL_LOCAL(100), A_EXIT()),
	BAD("unknown kfunc", "unknown kfunc id 999 (the runtime implements bpf_iter_num_new",
	    EBPF_HELPERS_XDP, A_RAW(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 999), A_EXIT()),
	BAD("may_goto with a register", "may_goto uses reserved fields", EBPF_HELPERS_XDP,
	    A_RAW(BPF_JMP | BPF_JCOND, 0, 1, 0, 0), A_EXIT()),
	BAD("may_goto in jmp32", "may_goto uses reserved fields", EBPF_HELPERS_XDP,
	    A_RAW(BPF_JMP32 | BPF_JCOND, 0, 0, 0, 0), A_EXIT()),
	BAD("may_goto past the end", "outside the program", EBPF_HELPERS_XDP,
	    A_MAY_GOTO(4), A_EXIT()),
	BAD("load-acquire into r10", "read-only", EBPF_HELPERS_XDP,
	    A_LOAD_ACQ(BPF_DW, 10, 1, 0), A_EXIT()),
	BAD("callx", "callx", EBPF_HELPERS_XDP, A_RAW(BPF_JMP | BPF_CALL | BPF_X, 1, 0, 0, 0), A_EXIT()),
	BAD("last insn not exit", "not an exit", EBPF_HELPERS_XDP, A_MOV64_IMM(0, 0)),
	BAD("falls off after a conditional jump", "not an exit", EBPF_HELPERS_XDP,
	    A_JMP_IMM(BPF_JEQ, 0, 0, -1)),
	BAD("map index without maps", "map reference 3", EBPF_HELPERS_XDP, A_LD_MAP(1, 3), A_EXIT()),
	BAD("function pointer out of range", "outside the program", EBPF_HELPERS_XDP,
	    A_LD_FUNC(1, 50), A_EXIT()),
};

START_TEST(test_malformed)
{
	const struct bad_case *c = &bad_cases[_i / 2];
	enum ebpf_engine engine = engines[_i % 2];
	char err[512] = "";
	struct ebpf_prog_opts opts = {
		.sz = sizeof(opts), .engine = engine, .helpers = c->set,
		.err_buf = err, .err_size = sizeof(err),
	};
	struct ebpf_prog *prog = NULL;
	int ret = ebpf_prog_load_raw(c->insns, prog_len(c->insns, A_LEN(c->insns)), &opts, &prog);

	ck_assert_msg(ret == -EINVAL, "%s: load returned %d (%s)", c->name, ret, err);
	ck_assert_ptr_null(prog);
	ck_assert_msg(strstr(err, c->msg), "%s: message '%s' lacks '%s'", c->name, err, c->msg);
}
END_TEST

START_TEST(test_empty_program)
{
	char err[256] = "";
	struct ebpf_prog_opts opts = { .sz = sizeof(opts), .err_buf = err, .err_size = sizeof(err) };
	struct bpf_insn one[] = { A_EXIT() };
	struct ebpf_prog *prog = NULL;

	ck_assert_int_eq(ebpf_prog_load_raw(one, 0, &opts, &prog), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no instructions"));
	ck_assert_ptr_null(prog);
}
END_TEST

static Suite *isa_suite(void)
{
	Suite *s = suite_create("ebpf_isa");
	TCase *tc = tcase_create("isa");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_isa_table, 0, 2 * NR_ISA_CASES);
	tcase_add_loop_test(tc, test_jmp_matrix, 0, 2);
	tcase_add_loop_test(tc, test_mem_via_r1, 0, 2);
	tcase_add_loop_test(tc, test_atomics, 0, 2 * A_LEN(atomic_cases));
	tcase_add_loop_test(tc, test_load_acq_store_rel, 0, 2 * A_LEN(acq_rel_sizes));
	tcase_add_loop_test(tc, test_may_goto_budget, 0, 2);
	tcase_add_loop_test(tc, test_tail_call, 0, 2);
	tcase_add_loop_test(tc, test_tail_call_limit, 0, 2);
	tcase_add_loop_test(tc, test_callback_bpf_loop, 0, 2);
	tcase_add_loop_test(tc, test_map_value_ldimm64, 0, 2);
	tcase_add_loop_test(tc, test_run_xdp, 0, 2);
	tcase_add_loop_test(tc, test_malformed, 0, 2 * A_LEN(bad_cases));
	tcase_add_test(tc, test_empty_program);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_engine_names);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(isa_suite)
