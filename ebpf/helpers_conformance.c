/* helpers_conformance.c - the helper set bpf_conformance's test programs call (ids 0..5).
 *
 * The suite's programs (Alan-Jowett/bpf_conformance, tests/ directory) were
 * written against uBPF's test plugin, whose helper table is: 0
 * gather_bytes, 1 memfrob, 2 no_op, 3 sqrti, 4 strcmp_ext, 5 unwind.  This
 * file gives the same behaviour under those ids.  uBPF's "unwind" (id 5)
 * also stops the program when it returns 0; the suite only calls it with a
 * non-zero argument (call_unwind_fail.data), so here it just returns its
 * argument.
 */
#include <math.h>
#include <string.h>

#include "ebpf/internal.h"

/* Packs the low byte of each argument: a in bits 39..32, e in bits 7..0. */
static uint64_t conf_gather_bytes(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return (a & 0xff) << 32 | (b & 0xff) << 24 | (c & 0xff) << 16 | (d & 0xff) << 8 |
	       (e & 0xff);
}

/* XORs len bytes at ptr with 42, as glibc's memfrob. */
static uint64_t conf_memfrob(uint64_t ptr, uint64_t len, uint64_t c, uint64_t d, uint64_t e)
{
	uint8_t *p = (uint8_t *)(uintptr_t)ptr;

	(void)c, (void)d, (void)e;
	for (uint64_t i = 0; i < len; i++)
		p[i] ^= 42;
	return 0;
}

static uint64_t conf_no_op(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	(void)a, (void)b, (void)c, (void)d, (void)e;
	return 0;
}

/* Integer square root through double, as the reference helper does. */
static uint64_t conf_sqrti(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	(void)b, (void)c, (void)d, (void)e;
	return (uint64_t)sqrt((double)a);
}

static uint64_t conf_strcmp_ext(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	(void)c, (void)d, (void)e;
	return (uint64_t)(int64_t)strcmp((const char *)(uintptr_t)a, (const char *)(uintptr_t)b);
}

static uint64_t conf_unwind(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	(void)b, (void)c, (void)d, (void)e;
	return a;
}

static const struct ebpf_helper conformance_helpers[] = {
	{ "gather_bytes", conf_gather_bytes },
	{ "memfrob", conf_memfrob },
	{ "no_op", conf_no_op },
	{ "sqrti", conf_sqrti },
	{ "strcmp_ext", conf_strcmp_ext },
	{ "unwind", conf_unwind },
};

const struct ebpf_helper *ebpf_helper_conformance_get(uint32_t id)
{
	if (id >= sizeof(conformance_helpers) / sizeof(conformance_helpers[0]))
		return NULL;
	return &conformance_helpers[id];
}
