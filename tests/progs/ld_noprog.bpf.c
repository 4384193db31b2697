/* ld_noprog.bpf.c - loader test: an object with data but no program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u32 lonely_global = 1;

char LICENSE[] SEC("license") = "GPL";
