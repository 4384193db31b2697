/* sys/types.h - the one POSIX type the core's headers name (ssize_t), for the NFP build. */
#ifndef FTOE_NFP_SHIM_SYS_TYPES_H
#define FTOE_NFP_SHIM_SYS_TYPES_H

typedef long ssize_t;

#endif
