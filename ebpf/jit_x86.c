/* jit_x86.c - placeholder until the x86-64 JIT lands: reports the engine missing. */
#include <errno.h>
#include "ebpf/internal.h"

int ebpf_jit_compile(struct ebpf_prog *prog, char *err, size_t err_size)
{
	(void)prog;
	ebpf_set_err(err, err_size, "the JIT engine is not built yet");
	return -EOPNOTSUPP;
}

void ebpf_jit_free(struct ebpf_prog *prog)
{
	(void)prog;
}
