/* file.c - read a whole file into memory, the one copy every FlexTOE binary shares. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/file.h"

void *ftoe_alloc_large(size_t size)
{
	const size_t huge = 2u << 20;
	void *p;

	if (size < huge)
		return malloc(size ? size : 1);
	size = (size + huge - 1) & ~(huge - 1);
	p = aligned_alloc(huge, size);
	if (p)
		madvise(p, size, MADV_HUGEPAGE);
	return p;
}

void *ftoe_read_file(const char *path, size_t *len, int *err)
{
	size_t cap = 4096, got = 0;
	struct stat st;
	char *b = NULL;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (fstat(fd, &st)) {
		*err = -errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		*err = -EISDIR;
		goto fail;
	}
	/* A regular file's size is a good first guess; pipes grow as read. */
	if (S_ISREG(st.st_mode) && (size_t)st.st_size >= cap)
		cap = (size_t)st.st_size + 1;
	for (;;) {
		ssize_t r;

		if (!b || got == cap) {
			char *nb = b ? realloc(b, (cap *= 2) + 1) : ftoe_alloc_large(cap + 1);

			if (!nb) {
				*err = -ENOMEM;
				goto fail;
			}
			b = nb;
		}
		r = read(fd, b + got, cap - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*err = -errno;
			goto fail;
		}
		if (!r)
			break;
		got += (size_t)r;
	}
	close(fd);
	b[got] = 0;
	*len = got;
	*err = 0;
	return b;
fail:
	free(b);
	close(fd);
	return NULL;
}
