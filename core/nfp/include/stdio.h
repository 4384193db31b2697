/* stdio.h - declarations only, so the public headers' host-side inline helpers parse in the NFP build. */
#ifndef FTOE_NFP_SHIM_STDIO_H
#define FTOE_NFP_SHIM_STDIO_H

#include <stddef.h>

/* include/flextoe/hooks.h has a static inline name formatter for the CLI
 * that calls snprintf.  Nothing on the NIC calls it, so nothing is emitted;
 * should stage code ever call a stdio function, the object names it as an
 * undefined symbol and `make nfp-check` fails on it (the allow-list has no
 * stdio name).  No FILE, no printf: there is nothing to print to. */
int snprintf(char *buf, size_t size, const char *fmt, ...);

#endif
