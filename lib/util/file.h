/* file.h - read a whole file into memory, the one copy every FlexTOE binary shares. */
#ifndef FTOE_UTIL_FILE_H
#define FTOE_UTIL_FILE_H

#include <stddef.h>

/*
 * The whole of path (a regular file, or a pipe such as /dev/stdin) in a new
 * buffer of *len bytes plus a NUL after them, so text can be used as a
 * string (free it).  NULL with *err = -errno: -EISDIR for a directory,
 * -ENOMEM, or open/read's errno.
 */
void *ftoe_read_file(const char *path, size_t *len, int *err);

#endif
