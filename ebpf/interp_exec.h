/* interp_exec.h - the interpreter's run loop; interp.c includes it twice: the plain loop, and with INTERP_COUNTED the loop that counts executed instructions by class.
 *
 * Not a public header.  The counting loop exists for cost models (the NFP
 * simulator, docs/nfp.md): the engine runs the plain one, whose code does
 * not change with it (bench: callgrind, docs/runtime.md).
 */
#ifdef INTERP_COUNTED
static uint64_t interp_exec_counted(const struct xinsn *pc, uint64_t r1, uint64_t r2, uint64_t r3,
				   uint64_t r4, uint64_t r5, struct ebpf_insn_counts *cnt)
#else
/* With pc NULL, returns the label table (for ebpf_interp_prepare). */
static uint64_t interp_exec(const struct xinsn *pc, uint64_t r1, uint64_t r2, uint64_t r3,
			    uint64_t r4, uint64_t r5)
#endif
{
	static const void *const labels[OP__COUNT] = { INTERP_OPS(LABEL_ADDR) };
#ifndef INTERP_COUNTED
	if (__builtin_expect(!pc, 0))
		return (uint64_t)(uintptr_t)labels;
#endif

	uint8_t stack[EBPF_MAX_CALL_DEPTH * EBPF_STACK_SIZE] __attribute__((aligned(16)));
	struct frame frames[EBPF_MAX_CALL_DEPTH];
	uint64_t reg[11] = { 0, r1, r2, r3, r4, r5 };
	unsigned int depth = 0;

	reg[10] = (uint64_t)(uintptr_t)(stack + sizeof(stack));

#define DST reg[pc->dst]
#define SRC reg[pc->src]
#define IMM pc->u.imm
#ifdef INTERP_COUNTED
	/* the handler addresses in pc belong to the plain loop: dispatch
	 * through this loop's own table */
#define DISPATCH() do { interp_count(cnt, pc, reg, stack, sizeof(stack)); goto *labels[pc->op]; } while (0)
#else
#define DISPATCH() goto *pc->handler
#endif
#define NEXT() do { pc++; DISPATCH(); } while (0)
#define JUMP_IF(cond) do { pc += (cond) ? pc->off + 1 : 1; DISPATCH(); } while (0)

	DISPATCH();

	/* ---- ALU ---- */
#define ALU_BOTH(NAME, EXPR64, EXPR32)                                         \
	L_##NAME##64_K: { uint64_t b = IMM; DST = (EXPR64); NEXT(); }          \
	L_##NAME##64_X: { uint64_t b = SRC; DST = (EXPR64); NEXT(); }          \
	L_##NAME##32_K: { uint32_t b = (uint32_t)IMM; uint32_t a = (uint32_t)DST; \
			  (void)a; DST = (uint32_t)(EXPR32); NEXT(); }         \
	L_##NAME##32_X: { uint32_t b = (uint32_t)SRC; uint32_t a = (uint32_t)DST; \
			  (void)a; DST = (uint32_t)(EXPR32); NEXT(); }

	ALU_BOTH(ADD, DST + b, a + b)
	ALU_BOTH(SUB, DST - b, a - b)
	ALU_BOTH(MUL, DST * b, a * b)
	ALU_BOTH(OR, DST | b, a | b)
	ALU_BOTH(AND, DST & b, a & b)
	ALU_BOTH(XOR, DST ^ b, a ^ b)
	ALU_BOTH(LSH, DST << (b & 63), a << (b & 31))
	ALU_BOTH(RSH, DST >> (b & 63), a >> (b & 31))
	ALU_BOTH(ARSH, (uint64_t)((int64_t)DST >> (b & 63)), (uint32_t)((int32_t)a >> (b & 31)))
	ALU_BOTH(MOV, b, b)
	ALU_BOTH(DIV, b ? DST / b : 0, b ? a / b : 0)
	ALU_BOTH(MOD, b ? DST % b : DST, b ? a % b : a)
	/* Signed: x / -1 is negation (wraps for INT_MIN), x % -1 is 0 -
	 * avoiding the C overflow trap the kernel's interpreter also avoids. */
	ALU_BOTH(SDIV,
		 !b ? 0 : (int64_t)b == -1 ? 0 - DST : (uint64_t)((int64_t)DST / (int64_t)b),
		 !b ? 0 : (int32_t)b == -1 ? 0 - a : (uint32_t)((int32_t)a / (int32_t)b))
	ALU_BOTH(SMOD,
		 !b ? DST : (int64_t)b == -1 ? 0 : (uint64_t)((int64_t)DST % (int64_t)b),
		 !b ? a : (int32_t)b == -1 ? 0 : (uint32_t)((int32_t)a % (int32_t)b))

L_NEG64:	DST = 0 - DST; NEXT();
L_NEG32:	DST = (uint32_t)(0 - (uint32_t)DST); NEXT();
L_MOVSX8_64:	DST = (uint64_t)(int64_t)(int8_t)SRC; NEXT();
L_MOVSX16_64:	DST = (uint64_t)(int64_t)(int16_t)SRC; NEXT();
L_MOVSX32_64:	DST = (uint64_t)(int64_t)(int32_t)SRC; NEXT();
L_MOVSX8_32:	DST = (uint32_t)(int32_t)(int8_t)SRC; NEXT();
L_MOVSX16_32:	DST = (uint32_t)(int32_t)(int16_t)SRC; NEXT();
L_LE16:		DST = (uint16_t)DST; NEXT();
L_LE32:		DST = (uint32_t)DST; NEXT();
L_LE64:		NEXT();
L_BE16:
L_BSWAP16:	DST = __builtin_bswap16((uint16_t)DST); NEXT();
L_BE32:
L_BSWAP32:	DST = __builtin_bswap32((uint32_t)DST); NEXT();
L_BE64:
L_BSWAP64:	DST = __builtin_bswap64(DST); NEXT();

	/* ---- jumps ---- */
#define JMP_BOTH(NAME, OP, T64, T32)                                           \
	L_##NAME##64_K: JUMP_IF((T64)DST OP (T64)IMM);                         \
	L_##NAME##64_X: JUMP_IF((T64)DST OP (T64)SRC);                         \
	L_##NAME##32_K: JUMP_IF((T32)DST OP (T32)IMM);                         \
	L_##NAME##32_X: JUMP_IF((T32)DST OP (T32)SRC);

	JMP_BOTH(JEQ, ==, uint64_t, uint32_t)
	JMP_BOTH(JNE, !=, uint64_t, uint32_t)
	JMP_BOTH(JGT, >, uint64_t, uint32_t)
	JMP_BOTH(JGE, >=, uint64_t, uint32_t)
	JMP_BOTH(JLT, <, uint64_t, uint32_t)
	JMP_BOTH(JLE, <=, uint64_t, uint32_t)
	JMP_BOTH(JSGT, >, int64_t, int32_t)
	JMP_BOTH(JSGE, >=, int64_t, int32_t)
	JMP_BOTH(JSLT, <, int64_t, int32_t)
	JMP_BOTH(JSLE, <=, int64_t, int32_t)
	JMP_BOTH(JSET, &, uint64_t, uint32_t)
L_JA:		pc += pc->off + 1; DISPATCH();
L_MAY_GOTO:
	if (__builtin_expect(ebpf_may_goto_left != 0, 1)) {
		ebpf_may_goto_left--;
		NEXT();
	}
	pc += pc->off + 1;
	DISPATCH();

	/* ---- memory ---- */
L_LDXB:		DST = LOAD(uint8_t, SRC + pc->off); NEXT();
L_LDXH:		DST = LOAD(uint16_t, SRC + pc->off); NEXT();
L_LDXW:		DST = LOAD(uint32_t, SRC + pc->off); NEXT();
L_LDXDW:	DST = LOAD(uint64_t, SRC + pc->off); NEXT();
L_LDXSB:	DST = (uint64_t)(int64_t)LOAD(int8_t, SRC + pc->off); NEXT();
L_LDXSH:	DST = (uint64_t)(int64_t)LOAD(int16_t, SRC + pc->off); NEXT();
L_LDXSW:	DST = (uint64_t)(int64_t)LOAD(int32_t, SRC + pc->off); NEXT();
L_STB:		STORE(uint8_t, DST + pc->off, IMM); NEXT();
L_STH:		STORE(uint16_t, DST + pc->off, IMM); NEXT();
L_STW:		STORE(uint32_t, DST + pc->off, IMM); NEXT();
L_STDW:		STORE(uint64_t, DST + pc->off, IMM); NEXT();
L_STXB:		STORE(uint8_t, DST + pc->off, SRC); NEXT();
L_STXH:		STORE(uint16_t, DST + pc->off, SRC); NEXT();
L_STXW:		STORE(uint32_t, DST + pc->off, SRC); NEXT();
L_STXDW:	STORE(uint64_t, DST + pc->off, SRC); NEXT();

	/* ---- atomics: fully ordered, as the kernel's lock-prefixed ops ---- */
#define APTR(T) ((T *)(uintptr_t)(DST + pc->off))
#define ATOMIC_BOTH(NAME, FN)                                                  \
	L_A##NAME##32: FN(APTR(uint32_t), (uint32_t)SRC, __ATOMIC_SEQ_CST); NEXT(); \
	L_A##NAME##64: FN(APTR(uint64_t), SRC, __ATOMIC_SEQ_CST); NEXT();      \
	L_F##NAME##32: SRC = FN(APTR(uint32_t), (uint32_t)SRC, __ATOMIC_SEQ_CST); NEXT(); \
	L_F##NAME##64: SRC = FN(APTR(uint64_t), SRC, __ATOMIC_SEQ_CST); NEXT();

	ATOMIC_BOTH(ADD, __atomic_fetch_add)
	ATOMIC_BOTH(OR, __atomic_fetch_or)
	ATOMIC_BOTH(AND, __atomic_fetch_and)
	ATOMIC_BOTH(XOR, __atomic_fetch_xor)
L_XCHG32:	SRC = __atomic_exchange_n(APTR(uint32_t), (uint32_t)SRC, __ATOMIC_SEQ_CST); NEXT();
L_XCHG64:	SRC = __atomic_exchange_n(APTR(uint64_t), SRC, __ATOMIC_SEQ_CST); NEXT();
L_CMPXCHG32: {
		/* r0 receives the old value, zero-extended, match or not */
		uint32_t old = (uint32_t)reg[0];
		__atomic_compare_exchange_n(APTR(uint32_t), &old, (uint32_t)SRC, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		reg[0] = old;
		NEXT();
	}
L_CMPXCHG64: {
		uint64_t old = reg[0];
		__atomic_compare_exchange_n(APTR(uint64_t), &old, SRC, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		reg[0] = old;
		NEXT();
	}

	/* ---- load-acquire, store-release (the narrow loads zero-extend) ---- */
#define LDACQ(T) DST = __atomic_load_n((T *)(uintptr_t)(SRC + pc->off), __ATOMIC_ACQUIRE)
#define STREL(T) __atomic_store_n(APTR(T), (T)SRC, __ATOMIC_RELEASE)
L_LDACQB:	LDACQ(uint8_t); NEXT();
L_LDACQH:	LDACQ(uint16_t); NEXT();
L_LDACQW:	LDACQ(uint32_t); NEXT();
L_LDACQDW:	LDACQ(uint64_t); NEXT();
L_STRELB:	STREL(uint8_t); NEXT();
L_STRELH:	STREL(uint16_t); NEXT();
L_STRELW:	STREL(uint32_t); NEXT();
L_STRELDW:	STREL(uint64_t); NEXT();
#undef LDACQ
#undef STREL

	/* ---- ld_imm64, calls, exit ---- */
L_LDDW:		DST = IMM; pc += 2; DISPATCH();
L_CALL_HELPER:
	reg[0] = pc->u.fn(reg[1], reg[2], reg[3], reg[4], reg[5]);
	NEXT();
L_CALL_LOCAL:
	if (depth + 1 >= EBPF_MAX_CALL_DEPTH)
		return 0;	/* too deep: end the run (see internal.h) */
	frames[depth].ret = pc + 1;
	memcpy(frames[depth].saved, &reg[6], sizeof(frames[depth].saved));
	depth++;
	reg[10] -= EBPF_STACK_SIZE;
	pc += pc->off + 1;
	DISPATCH();
L_TAIL_CALL: {
		/* Same order of checks as the kernel's bpf_tail_call: index
		 * bound, then the count (spent even on an empty slot). */
		struct ebpf_map *map = (struct ebpf_map *)(uintptr_t)reg[2];
		uint32_t index = (uint32_t)reg[3];
		struct ebpf_prog *target;

		if (!map || index >= map->max_entries ||
		    ebpf_run_ctx.tail_call_cnt >= EBPF_MAX_TAIL_CALLS)
			NEXT();
		ebpf_run_ctx.tail_call_cnt++;
		target = ebpf_prog_array_lookup(map, index);
		if (!target || !target->interp_code)
			NEXT();
		pc = target->interp_code;
		DISPATCH();
	}
L_EXIT:
	if (!depth)
		return reg[0];
	depth--;
	pc = frames[depth].ret;
	memcpy(&reg[6], frames[depth].saved, sizeof(frames[depth].saved));
	reg[10] += EBPF_STACK_SIZE;
	DISPATCH();
L_BAD:
	return 0;	/* unreachable for checked programs */

#undef DST
#undef SRC
#undef IMM
#undef DISPATCH
#undef NEXT
#undef JUMP_IF
}
#undef ALU_BOTH
#undef JMP_BOTH
#undef APTR
#undef ATOMIC_BOTH
