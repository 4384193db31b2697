/* jit_x86_emit.h - x86-64 instruction encoders for the eBPF JIT (jit_x86.c).
 *
 * Each encoder appends one machine instruction to a small buffer that holds
 * the code of one eBPF instruction.  Encodings follow the Intel SDM vol. 2
 * (REX, ModRM/SIB, VEX for BMI2 shifts).
 */
#ifndef FTOE_EBPF_JIT_X86_EMIT_H
#define FTOE_EBPF_JIT_X86_EMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Test hook (jit_x86.c): bit 0 disables BMI2 shifts, bit 1 forces helper
 * calls through a register, so both code paths can be exercised. */
void ebpf_jit_set_features_off(unsigned int mask);

enum x86_reg {
	RAX = 0, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	R8, R9, R10, R11, R12, R13, R14, R15,
};

/* Condition codes (low nibble of Jcc / SETcc). */
enum x86_cc {
	CC_B = 0x2, CC_AE = 0x3, CC_E = 0x4, CC_NE = 0x5, CC_BE = 0x6, CC_A = 0x7,
	CC_L = 0xc, CC_GE = 0xd, CC_LE = 0xe, CC_G = 0xf,
};

/* Longest code of one eBPF instruction, prologue and tail-call sequence
 * included (the largest is ~120 bytes). */
#define X86_BUF_MAX 256

struct x86_buf {
	uint8_t b[X86_BUF_MAX];
	unsigned int n;
};

/* Operand flags. */
#define XF_W	 0x01	/* REX.W: 64-bit operand */
#define XF_66	 0x02	/* 16-bit operand */
#define XF_BREG	 0x04	/* reg field names a byte register: force REX for sil/dil/bpl/spl */
#define XF_BRM	 0x08	/* rm field (register direct) names a byte register */
#define XF_LOCK	 0x10

static inline void x86_b(struct x86_buf *b, uint8_t v) { b->b[b->n++] = v; }

static inline void x86_u16(struct x86_buf *b, uint16_t v)
{
	x86_b(b, v & 0xff);
	x86_b(b, v >> 8);
}

static inline void x86_u32(struct x86_buf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		x86_b(b, (v >> (8 * i)) & 0xff);
}

static inline void x86_u64(struct x86_buf *b, uint64_t v)
{
	x86_u32(b, (uint32_t)v);
	x86_u32(b, (uint32_t)(v >> 32));
}

static inline bool x86_is_imm8(int64_t v) { return v >= -128 && v <= 127; }
static inline bool x86_is_simm32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Prefixes, REX and opcode bytes (opc: 1-3 bytes, big-endian in the int:
 * 0x0fb6 is "0f b6", 0x0f38f7 is "0f 38 f7"). */
static inline void x86_head(struct x86_buf *b, unsigned int fl, uint32_t opc, int reg, int index,
			    int rm, bool rm_is_reg)
{
	uint8_t rex = 0x40;

	if (fl & XF_LOCK)
		x86_b(b, 0xf0);
	if (fl & XF_66)
		x86_b(b, 0x66);
	if (fl & XF_W)
		rex |= 0x08;
	if (reg & 8)
		rex |= 0x04;
	if (index & 8)
		rex |= 0x02;
	if (rm & 8)
		rex |= 0x01;
	if (rex != 0x40 || ((fl & XF_BREG) && reg >= 4 && reg <= 7) ||
	    ((fl & XF_BRM) && rm_is_reg && rm >= 4 && rm <= 7))
		x86_b(b, rex);
	if (opc > 0xffff)
		x86_b(b, opc >> 16);
	if (opc > 0xff)
		x86_b(b, (opc >> 8) & 0xff);
	x86_b(b, opc & 0xff);
}

/* op reg, rm (both registers). */
static inline void x86_rr(struct x86_buf *b, unsigned int fl, uint32_t opc, int reg, int rm)
{
	x86_head(b, fl, opc, reg, 0, rm, true);
	x86_b(b, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

/* op reg, [base + disp]. */
static inline void x86_rm(struct x86_buf *b, unsigned int fl, uint32_t opc, int reg, int base,
			  int32_t disp)
{
	int mod = disp == 0 && (base & 7) != RBP ? 0 : x86_is_imm8(disp) ? 1 : 2;

	x86_head(b, fl, opc, reg, 0, base, false);
	x86_b(b, mod << 6 | (reg & 7) << 3 | (base & 7));
	if ((base & 7) == RSP)
		x86_b(b, 0x24);	/* SIB: base only */
	if (mod == 1)
		x86_b(b, (uint8_t)disp);
	else if (mod == 2)
		x86_u32(b, (uint32_t)disp);
}

/* mov dst, src (64 or 32 bits; the 32-bit form zero-extends). */
static inline void x86_mov_rr(struct x86_buf *b, bool is64, int dst, int src)
{
	x86_rr(b, is64 ? XF_W : 0, 0x89, src, dst);
}

/* Load a 64-bit constant with the shortest encoding. */
static inline void x86_mov_imm64(struct x86_buf *b, int dst, uint64_t v)
{
	if (v == 0) {
		x86_rr(b, 0, 0x31, dst, dst);			/* xor r32, r32 */
	} else if (v <= UINT32_MAX) {
		x86_head(b, 0, 0xb8 + (dst & 7), 0, 0, dst, true);	/* mov r32, imm32 */
		x86_u32(b, (uint32_t)v);
	} else if (x86_is_simm32((int64_t)v)) {
		x86_rr(b, XF_W, 0xc7, 0, dst);			/* mov r64, simm32 */
		x86_u32(b, (uint32_t)v);
	} else {
		x86_head(b, XF_W, 0xb8 + (dst & 7), 0, 0, dst, true);	/* movabs */
		x86_u64(b, v);
	}
}

/* Group-1 ALU with an immediate: ext 0 add, 1 or, 4 and, 5 sub, 6 xor, 7 cmp. */
static inline void x86_alu_ri(struct x86_buf *b, bool is64, int ext, int rm, int32_t imm)
{
	unsigned int fl = is64 ? XF_W : 0;

	if (x86_is_imm8(imm)) {
		x86_rr(b, fl, 0x83, ext, rm);
		x86_b(b, (uint8_t)imm);
	} else if (rm == RAX) {
		x86_head(b, fl, 0x05 + (ext << 3), 0, 0, 0, true);
		x86_u32(b, (uint32_t)imm);
	} else {
		x86_rr(b, fl, 0x81, ext, rm);
		x86_u32(b, (uint32_t)imm);
	}
}

/* Shift by immediate: ext 4 shl, 5 shr, 7 sar. */
static inline void x86_shift_ri(struct x86_buf *b, bool is64, int ext, int rm, uint8_t count)
{
	if (count == 1) {
		x86_rr(b, is64 ? XF_W : 0, 0xd1, ext, rm);
	} else {
		x86_rr(b, is64 ? XF_W : 0, 0xc1, ext, rm);
		x86_b(b, count);
	}
}

/* BMI2 shlx/shrx/sarx dst, src, count (VEX.LZ.0F38.W? F7 /r); pp: 1 shlx
 * (66), 2 sarx (F3), 3 shrx (F2). */
static inline void x86_shiftx(struct x86_buf *b, bool is64, int pp, int dst, int src, int count)
{
	x86_b(b, 0xc4);
	x86_b(b, (uint8_t)((!(dst & 8)) << 7 | 1 << 6 | (!(src & 8)) << 5 | 0x02));
	x86_b(b, (uint8_t)((is64 ? 0x80 : 0) | ((~count & 0xf) << 3) | pp));
	x86_b(b, 0xf7);
	x86_b(b, 0xc0 | (dst & 7) << 3 | (src & 7));
}

/* imul dst, src, imm32 (64-bit). */
static inline void x86_imul_ri(struct x86_buf *b, int dst, int src, int32_t imm)
{
	x86_rr(b, XF_W, 0x69, dst, src);
	x86_u32(b, (uint32_t)imm);
}

/* mov dst32, fs:[disp32]: a thread-local variable at a fixed offset from
 * the thread pointer (initial-exec TLS). */
static inline void x86_mov_fs32(struct x86_buf *b, int dst, int32_t disp)
{
	x86_b(b, 0x64);
	x86_head(b, 0, 0x8b, dst, 0, 0, false);
	x86_b(b, (dst & 7) << 3 | 0x04);	/* ModRM: mod 00, rm = SIB */
	x86_b(b, 0x25);				/* SIB: no base, no index: disp32 */
	x86_u32(b, (uint32_t)disp);
}

/* op dword fs:[disp32] with an opcode extension (/ext): read-modify-write
 * of a thread-local variable; the caller appends any immediate. */
static inline void x86_fs32_op(struct x86_buf *b, uint8_t opc, int ext, int32_t disp)
{
	x86_b(b, 0x64);
	x86_b(b, opc);
	x86_b(b, (uint8_t)(ext << 3 | 0x04));	/* ModRM: mod 00, rm = SIB */
	x86_b(b, 0x25);				/* SIB: no base, no index: disp32 */
	x86_u32(b, (uint32_t)disp);
}

static inline void x86_push(struct x86_buf *b, int r)
{
	if (r & 8)
		x86_b(b, 0x41);
	x86_b(b, 0x50 + (r & 7));
}

static inline void x86_pop(struct x86_buf *b, int r)
{
	if (r & 8)
		x86_b(b, 0x41);
	x86_b(b, 0x58 + (r & 7));
}

/* Short forward jump inside one instruction's code: returns the offset of
 * the rel8 byte for x86_patch8(). cc < 0: jmp. */
static inline unsigned int x86_jshort_fwd(struct x86_buf *b, int cc)
{
	x86_b(b, cc < 0 ? 0xeb : 0x70 + cc);
	x86_b(b, 0);
	return b->n - 1;
}

/* Point a short jump at the current end of the buffer. */
static inline void x86_patch8(struct x86_buf *b, unsigned int at)
{
	b->b[at] = (uint8_t)(b->n - (at + 1));
}

#endif
