/* test_jit.c - x86-64 JIT: hand-checked results and JIT-vs-interpreter comparisons. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test.h"
#include "tests/unit/ebpf/asm.h"
#include "ebpf/jit_x86_emit.h"

#define MAX_TEST_INSNS 4096

static struct ebpf_prog *load(const struct bpf_insn *insns, size_t n, enum ebpf_engine engine,
			      enum ebpf_helper_set set)
{
	char err[256] = "";
	struct ebpf_prog_opts o = {
		.sz = sizeof(o), .name = "jit_test", .engine = engine, .helpers = set,
		.err_buf = err, .err_size = sizeof(err),
	};
	struct ebpf_prog *p = NULL;
	int ret = ebpf_prog_load_raw(insns, n, &o, &p);

	ck_assert_msg(ret == 0, "load (%s) failed: %d %s", ebpf_engine_name(engine), ret, err);
	return p;
}

/* Run on both engines; both must agree.  Returns the result. */
static uint64_t run_both_set(const struct bpf_insn *insns, size_t n, uint64_t r1, uint64_t r2,
			     enum ebpf_helper_set set)
{
	struct ebpf_prog *j = load(insns, n, EBPF_ENGINE_JIT, set);
	struct ebpf_prog *i = load(insns, n, EBPF_ENGINE_INTERP, set);
	uint64_t rj = ebpf_prog_run_args(j, r1, r2);
	uint64_t ri = ebpf_prog_run_args(i, r1, r2);

	ck_assert_msg(rj == ri, "JIT 0x%llx != interpreter 0x%llx (insn[%zu] code 0x%02x)",
		      (unsigned long long)rj, (unsigned long long)ri, n > 21 ? (size_t)20 : 0,
		      insns[n > 21 ? 20 : 0].code);
	ebpf_prog_put(j);
	ebpf_prog_put(i);
	return rj;
}

static uint64_t run_both(const struct bpf_insn *insns, size_t n)
{
	return run_both_set(insns, n, 0, 0, EBPF_HELPERS_CONFORMANCE);
}

/* ---- register matrix: op dst, src for every pair, all registers folded ---------- */

static const uint64_t value_sets[][10] = {
	{ 0x0123456789abcdefull, 0xfedcba9876543210ull, 3, 0xffffffffffffffffull,
	  0x8000000000000000ull, 0x80000000ull, 17, 0x7fffffffull, 0xdeadbeefcafef00dull, 64 },
	{ 0, 0xffffffff, 0x80000000ffffffffull, 1, 0xffffffff80000000ull, 33, 0, 5,
	  0x100000000ull, 0xfffffffffffffffeull },
};

static size_t prelude(struct bpf_insn *p, const uint64_t *vals)
{
	size_t n = 0;

	for (int r = 0; r < 10; r++) {
		struct bpf_insn ld[2] = { A_LD64(r, vals[r]) };

		p[n++] = ld[0];
		p[n++] = ld[1];
	}
	return n;
}

/* r0 = hash of r0..r9, so a clobbered bystander register shows. */
static size_t fold(struct bpf_insn *p, size_t n)
{
	for (int r = 1; r < 10; r++) {
		p[n++] = A_ALU64_IMM(BPF_MUL, 0, 1000003);
		p[n++] = A_ALU64_REG(BPF_XOR, 0, r);
	}
	p[n++] = A_EXIT();
	return n;
}

static void matrix_one(struct bpf_insn op)
{
	struct bpf_insn p[64];

	for (size_t v = 0; v < A_LEN(value_sets); v++) {
		size_t n = prelude(p, value_sets[v]);

		p[n++] = op;
		n = fold(p, n);
		run_both(p, n);
	}
}

static const uint8_t alu_ops[] = {
	BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH,
	BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH,
};

static void alu_matrix(void)
{
	static const int32_t imms[] = { 0, 1, -1, 7, 31, 32, 63, 64, 0x7fffffff, INT32_MIN, -77 };

	for (size_t k = 0; k < sizeof(alu_ops); k++) {
		uint8_t op = alu_ops[k];
		int signs = (op == BPF_DIV || op == BPF_MOD) ? 2 : 1;

		for (int cls = 0; cls < 2; cls++) {
			uint8_t c = cls ? BPF_ALU64 : BPF_ALU;

			for (int s = 0; s < signs; s++) {
				for (int d = 0; d < 10; d++) {
					for (int r = 0; r < 10; r++)
						matrix_one(A_RAW(c | op | BPF_X, d, r, s, 0));
					for (size_t m = 0; m < A_LEN(imms); m++)
						matrix_one(A_RAW(c | op | BPF_K, d, 0, s, imms[m]));
				}
			}
		}
	}
	for (int d = 0; d < 10; d++) {
		for (int r = 0; r < 10; r++) {
			matrix_one(A_MOVSX64(d, r, 8));
			matrix_one(A_MOVSX64(d, r, 16));
			matrix_one(A_MOVSX64(d, r, 32));
			matrix_one(A_MOVSX32(d, r, 8));
			matrix_one(A_MOVSX32(d, r, 16));
		}
		matrix_one(A_NEG64(d));
		matrix_one(A_NEG32(d));
		for (int bits = 16; bits <= 64; bits *= 2) {
			matrix_one(A_LE(d, bits));
			matrix_one(A_BE(d, bits));
			matrix_one(A_BSWAP(d, bits));
		}
	}
}

START_TEST(test_alu_matrix)
{
	alu_matrix();
}
END_TEST

/* Same with the legacy (cl) shift sequence and register-indirect helper
 * calls, which this CPU might otherwise never take. */
START_TEST(test_alu_matrix_no_bmi2)
{
	ebpf_jit_set_features_off(1 | 2);
	alu_matrix();
	ebpf_jit_set_features_off(0);
}
END_TEST

START_TEST(test_jmp_matrix)
{
	static const uint8_t jops[] = {
		BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT, BPF_JSGE,
		BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE,
	};
	static const int32_t imms[] = { 0, 1, -1, 3, 0x7fffffff, INT32_MIN, 0x80 };
	struct bpf_insn p[64];

	for (size_t k = 0; k < sizeof(jops); k++) {
		for (int cls = 0; cls < 2; cls++) {
			uint8_t c = cls ? BPF_JMP : BPF_JMP32;

			for (int d = 0; d < 10; d++) {
				for (int r = 0; r < 10 + (int)A_LEN(imms); r++) {
					for (size_t v = 0; v < A_LEN(value_sets); v++) {
						size_t n = prelude(p, value_sets[v]);

						p[n++] = r < 10 ? A_RAW(c | jops[k] | BPF_X, d, r, 1, 0)
								: A_RAW(c | jops[k] | BPF_K, d, 0, 1,
									imms[r - 10]);
						p[n++] = A_ALU64_IMM(BPF_ADD, 1, 0x1111);
						n = fold(p, n);
						run_both(p, n);
					}
				}
			}
		}
	}
}
END_TEST

/* Hand-computed ISA corner cases (JIT only, no second opinion needed). */
START_TEST(test_div_corners)
{
	struct bpf_insn p[] = {
		A_LD64(1, 0x8000000000000000ull),
		A_MOV64_IMM(2, -1),
		A_SALU64_REG(BPF_DIV, 1, 2),		/* INT64_MIN / -1 = INT64_MIN */
		A_MOV64_REG(0, 1),
		A_EXIT(),
	};
	struct ebpf_prog *j = load(p, A_LEN(p), EBPF_ENGINE_JIT, EBPF_HELPERS_CONFORMANCE);

	ck_assert_uint_eq(ebpf_prog_run_args(j, 0, 0), 0x8000000000000000ull);
	ebpf_prog_put(j);

	{
		struct bpf_insn q[] = {
			A_LD64(0, 0xffffffff12345678ull),
			A_MOV64_IMM(3, 0),
			A_ALU32_REG(BPF_MOD, 0, 3),	/* umod32 by 0: dst truncated */
			A_EXIT(),
		};
		j = load(q, A_LEN(q), EBPF_ENGINE_JIT, EBPF_HELPERS_CONFORMANCE);
		ck_assert_uint_eq(ebpf_prog_run_args(j, 0, 0), 0x12345678);
		ebpf_prog_put(j);
	}
	{
		struct bpf_insn q[] = {
			A_MOV32_IMM(0, INT32_MIN),
			A_SALU32_IMM(BPF_MOD, 0, -1),	/* smod INT_MIN % -1 = 0 */
			A_MOV32_IMM(4, -7),
			A_MOV32_IMM(2, 2),
			A_SALU32_REG(BPF_MOD, 4, 2),	/* -7 s% 2 = -1 (sign of dividend) */
			A_ALU64_REG(BPF_ADD, 0, 4),
			A_EXIT(),
		};
		j = load(q, A_LEN(q), EBPF_ENGINE_JIT, EBPF_HELPERS_CONFORMANCE);
		ck_assert_uint_eq(ebpf_prog_run_args(j, 0, 0), 0xffffffff);
		ebpf_prog_put(j);
	}
}
END_TEST

/* ---- control flow ------------------------------------------------------------- */

/* Loops whose bodies exceed rel8, forward and backward. */
START_TEST(test_long_jumps)
{
	static struct bpf_insn p[MAX_TEST_INSNS];
	size_t n = 0, body = 300, loop;

	p[n++] = A_MOV64_IMM(0, 0);
	p[n++] = A_MOV64_IMM(6, 10);			/* counter */
	loop = n;
	p[n++] = A_JMP_IMM(BPF_JEQ, 6, 0, (int16_t)(body + 2));	/* forward, long */
	for (size_t k = 0; k < body; k++)
		p[n++] = A_ALU64_IMM(k % 3 ? BPF_ADD : BPF_XOR, 0, (int32_t)k);
	p[n++] = A_ALU64_IMM(BPF_SUB, 6, 1);
	p[n] = A_JA((int16_t)((int64_t)loop - (int64_t)n - 1));	/* backward, long */
	n++;
	p[n++] = A_JMP_IMM(BPF_JNE, 6, 0, 2);			/* short ones */
	p[n++] = A_GOTOL(1);
	p[n++] = A_EXIT();
	p[n++] = A_EXIT();
	ck_assert_uint_ne(run_both(p, n), 0);
}
END_TEST

/* A large program (near 100k insns) with jumps of every reach. */
START_TEST(test_large_program)
{
	size_t cap = 100000, n = 0;
	struct bpf_insn *p = malloc(cap * sizeof(*p));

	ck_assert_ptr_nonnull(p);
	p[n++] = A_MOV64_IMM(0, 1);
	p[n++] = A_MOV64_REG(7, 1);
	while (n < cap - 8) {
		size_t k = n;

		if (k % 97 == 0 && k + 40000 < cap - 8)
			p[n++] = A_JMP_IMM(BPF_JSET, 7, 1, 30000);	/* r1 is 0: not taken */
		else if (k % 5 == 0)
			p[n++] = A_JMP_IMM(BPF_JGT, 0, (int32_t)k, 1);
		else
			p[n++] = A_ALU64_IMM(k % 2 ? BPF_ADD : BPF_MUL, 0, (int32_t)(k & 0xff) | 1);
	}
	p[n++] = A_EXIT();
	run_both_set(p, n, 0, 0, EBPF_HELPERS_CONFORMANCE);
	free(p);
}
END_TEST

/* ---- stack and r10 --------------------------------------------------------------- */

START_TEST(test_r10_arith)
{
	struct bpf_insn p[] = {
		A_MOV64_REG(1, 10),
		A_ALU64_IMM(BPF_ADD, 1, -16),
		A_ST(BPF_DW, 1, 0, 0x1234567),
		A_ST(BPF_W, 10, -8, -2),
		A_STX(BPF_H, 10, 1, -4),		/* low half of the pointer */
		A_LDX(BPF_DW, 0, 10, -16),
		A_LDX(BPF_W, 2, 10, -8),
		A_ALU64_REG(BPF_ADD, 0, 2),
		A_LDXSX(BPF_W, 3, 10, -8),		/* -2 sign-extended */
		A_ALU64_REG(BPF_ADD, 0, 3),
		A_MOV64_REG(4, 10),
		A_ALU64_REG(BPF_SUB, 4, 1),		/* r10 - (r10 - 16) = 16 */
		A_ALU64_REG(BPF_ADD, 0, 4),
		A_LDXSX(BPF_B, 5, 10, -8),		/* 0xfe -> -2 */
		A_ALU64_REG(BPF_ADD, 0, 5),
		A_EXIT(),
	};

	ck_assert_uint_eq(run_both(p, A_LEN(p)),
			  0x1234567ull + 0xfffffffeull - 2 + 16 - 2);
}
END_TEST

START_TEST(test_atomics)
{
	static const int32_t aops[] = {
		BPF_ADD, BPF_OR, BPF_AND, BPF_XOR, BPF_ADD | BPF_FETCH, BPF_OR | BPF_FETCH,
		BPF_AND | BPF_FETCH, BPF_XOR | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG,
	};
	struct bpf_insn p[80];

	for (size_t k = 0; k < A_LEN(aops); k++) {
		for (int sz = 0; sz < 4; sz++) {
			for (int d = 0; d < 10; d++) {
				for (int s = 0; s < 10; s++) {
					size_t n;

					if (s == d || d == 6)
						continue;	/* d holds the address, r6 the slot */
					n = prelude(p, value_sets[0]);
					{
						struct bpf_insn ld[2] = { A_LD64(6, 0xa5a5a5a5f0f0f0f0ull) };

						p[n++] = ld[0];
						p[n++] = ld[1];
					}
					/* sz bit 1: the slot holds r0, so cmpxchg succeeds */
					p[n++] = A_STX(BPF_DW, 10, sz & 2 ? 0 : 6, -16);
					p[n++] = A_MOV64_REG(d, 10);
					p[n++] = A_ALU64_IMM(BPF_ADD, d, -8);
					p[n++] = A_ATOMIC(sz & 1 ? BPF_DW : BPF_W, aops[k], d, s, -8);
					p[n++] = A_LDX(BPF_DW, 6, 10, -16);
					p[n++] = A_MOV64_IMM(d, 0x77);	/* pointer out of the hash */
					n = fold(p, n);
					run_both(p, n);
				}
			}
		}
	}
}
END_TEST

/* ---- calls ------------------------------------------------------------------------ */

/* main -> f1 -> ... -> f(depth-1): each adds its level to r0 and uses r6-r9
 * and its own stack, which must survive the inner call. */
static size_t call_chain(struct bpf_insn *p, int depth)
{
	size_t n = 0;

	for (int lvl = 0; lvl < depth; lvl++) {
		p[n++] = A_MOV64_IMM(6, lvl * 3);
		p[n++] = A_MOV64_IMM(9, lvl * 5);
		p[n++] = A_ST(BPF_DW, 10, -8, lvl + 100);
		if (lvl + 1 < depth) {
			p[n++] = A_CALL_LOCAL(5);	/* to the next level's first insn */
		} else {
			p[n++] = A_MOV64_IMM(0, 0);
		}
		p[n++] = A_LDX(BPF_DW, 1, 10, -8);
		p[n++] = A_ALU64_REG(BPF_ADD, 0, 1);
		p[n++] = A_ALU64_REG(BPF_ADD, 0, 6);
		p[n++] = A_ALU64_REG(BPF_ADD, 0, 9);
		/* 9 insns a level: the call at +3 lands on the next level */
		p[n++] = A_EXIT();
	}
	return n;
}

START_TEST(test_call_chain)
{
	struct bpf_insn p[128];
	size_t n;
	uint64_t want = 0;

	for (int depth = 1; depth <= EBPF_MAX_CALL_DEPTH; depth++) {
		n = call_chain(p, depth);
		want = 0;
		for (int lvl = 0; lvl < depth; lvl++)
			want += (uint64_t)lvl * 9 + 100;
		ck_assert_uint_eq(run_both(p, n), want);
	}
	/* One frame too many ends the run with 0 on both engines. */
	n = call_chain(p, EBPF_MAX_CALL_DEPTH + 1);
	ck_assert_uint_eq(run_both(p, n), 0);
}
END_TEST

START_TEST(test_recursion_guard)
{
	struct bpf_insn p[] = {
		A_MOV64_IMM(6, 42),
		A_CALL_LOCAL(2),
		A_MOV64_REG(0, 6),
		A_EXIT(),
		A_ALU64_IMM(BPF_ADD, 1, 1),	/* f: calls itself forever */
		A_CALL_LOCAL(-2),
		A_EXIT(),
	};

	ck_assert_uint_eq(run_both(p, A_LEN(p)), 0);
}
END_TEST

/* Helper calls (conformance set: id 0 is a memcpy-like, etc.); r6-r9 survive. */
START_TEST(test_helper_call_preserves)
{
	struct bpf_insn p[64];
	size_t n = prelude(p, value_sets[0]);

	p[n++] = A_MOV64_IMM(1, 5);
	p[n++] = A_MOV64_IMM(2, 6);
	p[n++] = A_MOV64_IMM(3, 7);
	p[n++] = A_MOV64_IMM(4, 8);
	p[n++] = A_MOV64_IMM(5, 9);
	p[n++] = A_CALL(0);
	for (int r = 1; r <= 5; r++)
		p[n++] = A_MOV64_IMM(r, r);	/* r1-r5 are clobbered by the ABI */
	n = fold(p, n);
	run_both(p, n);
}
END_TEST

/* ---- callbacks and tail calls ------------------------------------------------------ */

START_TEST(test_callback_invoke)
{
	struct bpf_insn p[] = {
		A_LD_FUNC(2, 3),		/* &callback at insn 4 */
		A_MOV64_REG(0, 2),
		A_EXIT(),
		A_MOV64_REG(0, 1),		/* callback(r1, r2) = r1 * 3 + r2 */
		A_ALU64_IMM(BPF_MUL, 0, 3),
		A_ALU64_REG(BPF_ADD, 0, 2),
		A_EXIT(),
	};
	struct ebpf_prog *j = load(p, A_LEN(p), EBPF_ENGINE_JIT, EBPF_HELPERS_XDP);
	const struct ebpf_callback *cb =
		(const struct ebpf_callback *)(uintptr_t)ebpf_prog_run_args(j, 0, 0);

	ck_assert_ptr_eq(cb, &j->callbacks[0]);
	ck_assert_ptr_nonnull(cb->native);
	ck_assert_uint_eq(cb->invoke(cb, 7, 5, 0, 0, 0), 26);
	ebpf_prog_put(j);
}
END_TEST

/* bpf_loop through the helper: the callback counts into the stack slot. */
START_TEST(test_bpf_loop)
{
	struct bpf_insn p[] = {
		A_ST(BPF_DW, 10, -8, 0),
		A_MOV64_IMM(1, 10),		/* nr_loops */
		A_LD_FUNC(2, 9),		/* callback at insn 12 */
		A_MOV64_REG(3, 10),
		A_ALU64_IMM(BPF_ADD, 3, -8),	/* ctx = &slot */
		A_MOV64_IMM(4, 0),
		A_CALL(BPF_FUNC_loop),
		A_LDX(BPF_DW, 1, 10, -8),
		A_ALU64_IMM(BPF_LSH, 0, 16),
		A_ALU64_REG(BPF_OR, 0, 1),
		A_EXIT(),
		A_LDX(BPF_DW, 0, 2, 0),		/* callback(i, ctx): *ctx += i + 1 */
		A_ALU64_REG(BPF_ADD, 0, 1),
		A_ALU64_IMM(BPF_ADD, 0, 1),
		A_STX(BPF_DW, 2, 0, 0),
		A_MOV64_IMM(0, 0),
		A_EXIT(),
	};

	ck_assert_uint_eq(run_both_set(p, A_LEN(p), 0, 0, EBPF_HELPERS_XDP), (10ull << 16) | 55);
}
END_TEST

static struct ebpf_map *prog_array(uint32_t entries)
{
	struct ebpf_map_spec spec = {
		.name = "jmp_table", .type = BPF_MAP_TYPE_PROG_ARRAY, .key_size = 4,
		.value_size = 4, .max_entries = entries,
	};
	struct ebpf_map *m = NULL;

	ck_assert_int_eq(ebpf_map_create(&spec, &m), 0);
	return m;
}

static void prog_array_set(struct ebpf_map *m, uint32_t idx, struct ebpf_prog *p)
{
	uint32_t id = ebpf_prog_id(p);

	ck_assert_int_eq(ebpf_map_update_elem(m, &idx, &id, BPF_ANY), 0);
}

static struct ebpf_prog *load_with_map(const struct bpf_insn *insns, size_t n,
				       enum ebpf_engine engine, struct ebpf_map *m)
{
	char err[256] = "";
	struct ebpf_prog_opts o = {
		.sz = sizeof(o), .name = "tail", .engine = engine, .helpers = EBPF_HELPERS_XDP,
		.maps = &m, .nr_maps = 1, .err_buf = err, .err_size = sizeof(err),
	};
	struct ebpf_prog *p = NULL;

	ck_assert_msg(ebpf_prog_load_raw(insns, n, &o, &p) == 0, "load: %s", err);
	return p;
}

/* caller: r0 = 1000 + tail_call(ctx, map, r1) falls through on failure;
 * target: r0 = ctx + 7. */
START_TEST(test_tail_calls)
{
	struct ebpf_map *m = prog_array(4);
	struct bpf_insn caller[] = {
		A_MOV64_REG(6, 1),
		A_MOV64_IMM(1, 0),
		A_ALU64_IMM(BPF_ADD, 1, 0),	/* r1 stays ctx below */
		A_MOV64_REG(1, 6),
		A_MOV64_REG(3, 2),		/* index from r2 */
		A_LD_MAP(2, 0),
		A_CALL(BPF_FUNC_tail_call),
		A_MOV64_IMM(0, 1000),
		A_EXIT(),
	};
	struct bpf_insn target[] = {
		A_MOV64_REG(0, 1),
		A_ALU64_IMM(BPF_ADD, 0, 7),
		A_EXIT(),
	};
	/* A program that tail-calls itself: counts runs in *(u64 *)ctx. */
	struct bpf_insn self[] = {
		A_LDX(BPF_DW, 0, 1, 0),
		A_ALU64_IMM(BPF_ADD, 0, 1),
		A_STX(BPF_DW, 1, 0, 0),
		A_MOV64_IMM(3, 3),
		A_LD_MAP(2, 0),
		A_CALL(BPF_FUNC_tail_call),
		A_MOV64_IMM(0, 99),
		A_EXIT(),
	};
	struct ebpf_prog *cj = load_with_map(caller, A_LEN(caller), EBPF_ENGINE_JIT, m);
	struct ebpf_prog *ci = load_with_map(caller, A_LEN(caller), EBPF_ENGINE_INTERP, m);
	struct ebpf_prog *tj = load_with_map(target, A_LEN(target), EBPF_ENGINE_JIT, m);
	struct ebpf_prog *ti = load_with_map(target, A_LEN(target), EBPF_ENGINE_INTERP, m);
	struct ebpf_prog *sj = load_with_map(self, A_LEN(self), EBPF_ENGINE_JIT, m);
	struct ebpf_prog *si = load_with_map(self, A_LEN(self), EBPF_ENGINE_INTERP, m);
	uint64_t counter = 0;

	prog_array_set(m, 0, tj);
	prog_array_set(m, 1, ti);
	/* JIT -> JIT and JIT -> interpreter */
	ck_assert_uint_eq(ebpf_prog_run_args(cj, 5, 0), 12);
	ck_assert_uint_eq(ebpf_prog_run_args(cj, 6, 1), 13);
	ck_assert_uint_eq(ebpf_prog_run_args(ci, 6, 0), 13);
	/* empty slot and out-of-range index continue after the call */
	ck_assert_uint_eq(ebpf_prog_run_args(cj, 5, 2), 1000);
	ck_assert_uint_eq(ebpf_prog_run_args(cj, 5, 7), 1000);
	ck_assert_uint_eq(ebpf_prog_run_args(cj, 5, 0x100000000ull), 12); /* index is u32 */

	/* the run-wide limit: 1 run + 33 tail calls, then fall through */
	prog_array_set(m, 3, sj);
	ck_assert_uint_eq(ebpf_prog_run_args(sj, (uint64_t)(uintptr_t)&counter, 0), 99);
	ck_assert_uint_eq(counter, 1 + EBPF_MAX_TAIL_CALLS);
	counter = 0;
	prog_array_set(m, 3, si);
	ck_assert_uint_eq(ebpf_prog_run_args(sj, (uint64_t)(uintptr_t)&counter, 0), 99);
	ck_assert_uint_eq(counter, 1 + EBPF_MAX_TAIL_CALLS);

	ebpf_prog_put(cj);
	ebpf_prog_put(ci);
	ebpf_prog_put(tj);
	ebpf_prog_put(ti);
	ebpf_prog_put(sj);
	ebpf_prog_put(si);
	ebpf_map_put(m);
}
END_TEST

/* A tail call from a subprogram returns to that subprogram's caller. */
START_TEST(test_tail_call_from_subprog)
{
	struct ebpf_map *m = prog_array(1);
	struct bpf_insn caller[] = {
		A_MOV64_IMM(6, 100),
		A_CALL_LOCAL(3),
		A_ALU64_REG(BPF_ADD, 0, 6),	/* 100 + target's r0 */
		A_EXIT(),
		A_EXIT(),
		A_MOV64_IMM(6, 1),		/* subprog clobbers r6 (restored) */
		A_MOV64_IMM(3, 0),
		A_LD_MAP(2, 0),
		A_CALL(BPF_FUNC_tail_call),
		A_MOV64_IMM(0, 5000),
		A_EXIT(),
	};
	struct bpf_insn target[] = {
		A_MOV64_IMM(0, 23),
		A_EXIT(),
	};
	struct ebpf_prog *t = load_with_map(target, A_LEN(target), EBPF_ENGINE_JIT, m);
	struct ebpf_prog *cj = load_with_map(caller, A_LEN(caller), EBPF_ENGINE_JIT, m);
	struct ebpf_prog *ci = load_with_map(caller, A_LEN(caller), EBPF_ENGINE_INTERP, m);

	ck_assert_uint_eq(ebpf_prog_run_args(cj, 0, 0), 5100);
	ck_assert_uint_eq(ebpf_prog_run_args(ci, 0, 0), 5100);
	prog_array_set(m, 0, t);
	ck_assert_uint_eq(ebpf_prog_run_args(cj, 0, 0), 123);
	ck_assert_uint_eq(ebpf_prog_run_args(ci, 0, 0), 123);
	ebpf_prog_put(cj);
	ebpf_prog_put(ci);
	ebpf_prog_put(t);
	ebpf_map_put(m);
}
END_TEST

START_TEST(test_image_is_not_writable)
{
	struct bpf_insn p[] = { A_MOV64_IMM(0, 2), A_EXIT() };
	struct ebpf_prog *j = load(p, A_LEN(p), EBPF_ENGINE_JIT, EBPF_HELPERS_CONFORMANCE);
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	ck_assert_ptr_nonnull(j->jit_image);
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perm[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3)
			continue;
		if ((uintptr_t)j->jit_image >= lo && (uintptr_t)j->jit_image < hi) {
			ck_assert_str_eq(perm, "r-xp");
			found = true;
		}
	}
	fclose(f);
	ck_assert(found);
	ck_assert_uint_eq(ebpf_prog_run_args(j, 0, 0), 2);
	ebpf_prog_put(j);
}
END_TEST

static Suite *jit_suite(void)
{
	Suite *s = suite_create("ebpf_jit");
	TCase *tc = tcase_create("jit");


	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_alu_matrix);
	tcase_add_test(tc, test_alu_matrix_no_bmi2);
	tcase_add_test(tc, test_jmp_matrix);
	tcase_add_test(tc, test_div_corners);
	tcase_add_test(tc, test_long_jumps);
	tcase_add_test(tc, test_large_program);
	tcase_add_test(tc, test_r10_arith);
	tcase_add_test(tc, test_atomics);
	tcase_add_test(tc, test_call_chain);
	tcase_add_test(tc, test_recursion_guard);
	tcase_add_test(tc, test_helper_call_preserves);
	tcase_add_test(tc, test_callback_invoke);
	tcase_add_test(tc, test_bpf_loop);
	tcase_add_test(tc, test_tail_calls);
	tcase_add_test(tc, test_tail_call_from_subprog);
	tcase_add_test(tc, test_image_is_not_writable);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(jit_suite)
