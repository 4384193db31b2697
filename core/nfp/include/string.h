/* string.h - the NFP build's string functions: compiler builtins, no libc (make nfp-check). */
#ifndef FTOE_NFP_SHIM_STRING_H
#define FTOE_NFP_SHIM_STRING_H

#include <stddef.h>

/* The ME has no libc: copies are inline (the compiler expands the builtins,
 * or emits a call that nfp-check's allow-list names as the one helper the
 * firmware must provide, like the SDK's memcpy for LM/CLS/EMEM). */
#define memcpy(d, s, n)  __builtin_memcpy((d), (s), (n))
#define memmove(d, s, n) __builtin_memmove((d), (s), (n))
#define memset(d, c, n)  __builtin_memset((d), (c), (n))
#define memcmp(a, b, n)  __builtin_memcmp((a), (b), (n))
#define strcmp(a, b)     __builtin_strcmp((a), (b))
#define strlen(s)        __builtin_strlen((s))

#endif
