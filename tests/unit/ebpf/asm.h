/* asm.h - building eBPF instructions in tests: one inline constructor per instruction form. */
#ifndef FTOE_TESTS_UNIT_EBPF_ASM_H
#define FTOE_TESTS_UNIT_EBPF_ASM_H

#include <stdint.h>
#include <linux/bpf.h>

#include "ebpf/internal.h"

/* A compound literal: usable as an expression, and (GNU C) in the
 * initializers of static program tables. */
#define A_RAW(c, d, s, o, i)                                                   \
	((struct bpf_insn){ .code = (uint8_t)(c), .dst_reg = (uint8_t)(d),     \
			    .src_reg = (uint8_t)(s), .off = (int16_t)(o),      \
			    .imm = (int32_t)(i) })

/* ALU: op is BPF_ADD, BPF_SUB, ...; 64-bit (ALU64) and 32-bit (ALU) forms. */
#define A_ALU64_IMM(op, dst, imm)  A_RAW(BPF_ALU64 | (op) | BPF_K, dst, 0, 0, imm)
#define A_ALU64_REG(op, dst, src)  A_RAW(BPF_ALU64 | (op) | BPF_X, dst, src, 0, 0)
#define A_ALU32_IMM(op, dst, imm)  A_RAW(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define A_ALU32_REG(op, dst, src)  A_RAW(BPF_ALU | (op) | BPF_X, dst, src, 0, 0)
/* signed div/mod (cpu v4): off = 1 */
#define A_SALU64_IMM(op, dst, imm) A_RAW(BPF_ALU64 | (op) | BPF_K, dst, 0, 1, imm)
#define A_SALU64_REG(op, dst, src) A_RAW(BPF_ALU64 | (op) | BPF_X, dst, src, 1, 0)
#define A_SALU32_IMM(op, dst, imm) A_RAW(BPF_ALU | (op) | BPF_K, dst, 0, 1, imm)
#define A_SALU32_REG(op, dst, src) A_RAW(BPF_ALU | (op) | BPF_X, dst, src, 1, 0)
#define A_MOV64_IMM(dst, imm)      A_ALU64_IMM(BPF_MOV, dst, imm)
#define A_MOV64_REG(dst, src)      A_ALU64_REG(BPF_MOV, dst, src)
#define A_MOV32_IMM(dst, imm)      A_ALU32_IMM(BPF_MOV, dst, imm)
#define A_MOV32_REG(dst, src)      A_ALU32_REG(BPF_MOV, dst, src)
#define A_MOVSX64(dst, src, bits)  A_RAW(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, bits, 0)
#define A_MOVSX32(dst, src, bits)  A_RAW(BPF_ALU | BPF_MOV | BPF_X, dst, src, bits, 0)
#define A_NEG64(dst)               A_RAW(BPF_ALU64 | BPF_NEG | BPF_K, dst, 0, 0, 0)
#define A_NEG32(dst)               A_RAW(BPF_ALU | BPF_NEG | BPF_K, dst, 0, 0, 0)
#define A_LE(dst, bits)            A_RAW(BPF_ALU | BPF_END | BPF_TO_LE, dst, 0, 0, bits)
#define A_BE(dst, bits)            A_RAW(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, bits)
#define A_BSWAP(dst, bits)         A_RAW(BPF_ALU64 | BPF_END | BPF_TO_LE, dst, 0, 0, bits)

/* Jumps: op is BPF_JEQ, ...; off counts instructions after this one. */
#define A_JMP_IMM(op, dst, imm, off)   A_RAW(BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define A_JMP_REG(op, dst, src, off)   A_RAW(BPF_JMP | (op) | BPF_X, dst, src, off, 0)
#define A_JMP32_IMM(op, dst, imm, off) A_RAW(BPF_JMP32 | (op) | BPF_K, dst, 0, off, imm)
#define A_JMP32_REG(op, dst, src, off) A_RAW(BPF_JMP32 | (op) | BPF_X, dst, src, off, 0)
#define A_JA(off)                      A_RAW(BPF_JMP | BPF_JA, 0, 0, off, 0)
#define A_GOTOL(imm)                   A_RAW(BPF_JMP32 | BPF_JA, 0, 0, 0, imm)
#define A_CALL(helper_id)              A_RAW(BPF_JMP | BPF_CALL, 0, 0, 0, helper_id)
#define A_CALL_LOCAL(delta)            A_RAW(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, delta)
#define A_EXIT()                       A_RAW(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define A_MAY_GOTO(off)                A_RAW(BPF_JMP | BPF_JCOND, 0, 0, off, 0)

/* Memory: size is BPF_B, BPF_H, BPF_W, BPF_DW. */
#define A_LDX(size, dst, src, off)     A_RAW(BPF_LDX | BPF_MEM | (size), dst, src, off, 0)
#define A_LDXSX(size, dst, src, off)   A_RAW(BPF_LDX | BPF_MEMSX | (size), dst, src, off, 0)
#define A_STX(size, dst, src, off)     A_RAW(BPF_STX | BPF_MEM | (size), dst, src, off, 0)
#define A_ST(size, dst, off, imm)      A_RAW(BPF_ST | BPF_MEM | (size), dst, 0, off, imm)
/* Atomic: aop is BPF_ADD, BPF_OR, ... | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG. */
#define A_ATOMIC(size, aop, dst, src, off) A_RAW(BPF_STX | BPF_ATOMIC | (size), dst, src, off, aop)
/* dst = load-acquire [src + off]; store-release [dst + off] = src (any size). */
#define A_LOAD_ACQ(size, dst, src, off)  A_ATOMIC(size, BPF_LOAD_ACQ, dst, src, off)
#define A_STORE_REL(size, dst, src, off) A_ATOMIC(size, BPF_STORE_REL, dst, src, off)

/* ld_imm64 takes two slots: write both with A_LD64(...) inside an array
 * initializer, e.g. { A_LD64(1, 0, v), A_EXIT() }. */
#define A_LD64_SRC(dst, src, v)                                                  \
	A_RAW(BPF_LD | BPF_IMM | BPF_DW, dst, src, 0, (int32_t)(uint32_t)(uint64_t)(v)), \
	A_RAW(0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)(v) >> 32))
#define A_LD64(dst, v)                 A_LD64_SRC(dst, 0, v)
#define A_LD_MAP(dst, map_idx)         A_LD64_SRC(dst, BPF_PSEUDO_MAP_IDX, (uint32_t)(map_idx))
#define A_LD_FUNC(dst, delta)          A_LD64_SRC(dst, BPF_PSEUDO_FUNC, (uint32_t)(delta))

#define A_LEN(arr) (sizeof(arr) / sizeof((arr)[0]))

#endif
