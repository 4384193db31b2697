/* linux/types.h - the kernel UAPI integer names include/flextoe/bpf.h uses, for the NFP build. */
#ifndef FTOE_NFP_SHIM_LINUX_TYPES_H
#define FTOE_NFP_SHIM_LINUX_TYPES_H

#include <stdint.h>

/* Same widths as the kernel's: struct flextoe_md has one layout on the
 * host, in the eBPF programs and on the NIC. */
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int8_t __s8;
typedef int16_t __s16;
typedef int32_t __s32;
typedef int64_t __s64;
typedef uint16_t __be16;
typedef uint32_t __be32;

#endif
