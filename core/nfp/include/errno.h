/* errno.h - the error numbers the stage code returns, for the NFP build (no libc; Linux's values). */
#ifndef FTOE_NFP_SHIM_ERRNO_H
#define FTOE_NFP_SHIM_ERRNO_H

/* Linux's numbers (asm-generic/errno-base.h, errno.h), so a value the
 * firmware returns means the same on the host side of the slow path. */
#define EPERM        1
#define ENOENT       2
#define EIO          5
#define E2BIG        7
#define EAGAIN      11
#define ENOMEM      12
#define EBUSY       16
#define EEXIST      17
#define EINVAL      22
#define ENOSPC      28
#define ERANGE      34
#define ENOBUFS    105
#define EMSGSIZE    90
#define EOPNOTSUPP  95
#define EADDRINUSE  98
#define ECONNRESET 104
#define ETIMEDOUT  110
#define ECONNREFUSED 111
#define EINPROGRESS 115
#define EALREADY   114
#define ENOTCONN   107
#define EPIPE       32

#endif
