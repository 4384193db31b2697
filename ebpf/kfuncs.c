/* kfuncs.c - the kernel functions (kfuncs) programs may call, found by name: the open-coded number iterator behind bpf_for and bpf_repeat. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ebpf/internal.h"

/* struct bpf_iter_num is 8 opaque bytes on the program's stack; the
 * kernel keeps the current and the end value in them (kernel/bpf/bpf_iter.c),
 * and so does this file, so a program that looks inside sees the same. */
struct iter_num {
	int32_t cur;
	int32_t end;
};

/* int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end):
 * the range [start, end); 0, or -EINVAL (start > end) or -E2BIG (more
 * than BPF_MAX_LOOPS values), after which next() yields nothing. */
static uint64_t k_iter_num_new(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct iter_num *it = (struct iter_num *)(uintptr_t)r1;
	int32_t start = (int32_t)r2, end = (int32_t)r3;
	int ret = 0;

	(void)r4; (void)r5;
	if (start > end)
		ret = -EINVAL;
	else if ((int64_t)end - start > EBPF_MAX_LOOPS)
		ret = -E2BIG;
	if (ret) {
		it->cur = it->end = 0;
		return (uint32_t)ret;	/* an int in eax: upper half zero */
	}
	it->cur = start - 1;	/* next() steps onto start first */
	it->end = end;
	return 0;
}

/* int *bpf_iter_num_next(struct bpf_iter_num *it): the next value, or
 * NULL at the end (the iterator stays ended). */
static uint64_t k_iter_num_next(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct iter_num *it = (struct iter_num *)(uintptr_t)r1;

	(void)r2; (void)r3; (void)r4; (void)r5;
	if ((int64_t)it->cur + 1 >= it->end) {
		it->cur = it->end = 0;
		return 0;
	}
	it->cur++;
	return (uint64_t)(uintptr_t)&it->cur;
}

static uint64_t k_iter_num_destroy(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
				   uint64_t r5)
{
	struct iter_num *it = (struct iter_num *)(uintptr_t)r1;

	(void)r2; (void)r3; (void)r4; (void)r5;
	it->cur = it->end = 0;
	return 0;
}

/* Runtime kfunc ids are 1 + the index here (the imm of a resolved
 * BPF_PSEUDO_KFUNC_CALL, as ebpf_prog.insns documents). */
static const struct ebpf_helper kfuncs[] = {
	{ "bpf_iter_num_new", k_iter_num_new },
	{ "bpf_iter_num_next", k_iter_num_next },
	{ "bpf_iter_num_destroy", k_iter_num_destroy },
};

#define NR_KFUNCS (sizeof(kfuncs) / sizeof(kfuncs[0]))

const struct ebpf_helper *ebpf_kfunc_get(uint32_t id)
{
	return id >= 1 && id <= NR_KFUNCS ? &kfuncs[id - 1] : NULL;
}

int ebpf_kfunc_by_name(const char *name)
{
	for (size_t k = 0; k < NR_KFUNCS; k++)
		if (!strcmp(kfuncs[k].name, name))
			return (int)k + 1;
	return -ENOENT;
}

void ebpf_kfunc_list(char *buf, size_t size)
{
	size_t n = 0;

	if (!size)
		return;
	buf[0] = '\0';
	for (size_t k = 0; k < NR_KFUNCS && n < size; k++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", k ? ", " : "", kfuncs[k].name);
}
