/* file.c - read a whole file into memory, the one copy every FlexTOE binary shares. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/file.h"

/*
 * Plain malloc, in 4 KiB pages, also for files of megabytes.  Transparent
 * huge pages (MADV_HUGEPAGE) were tried: on the development VM the guest
 * hands free 2 MiB blocks back to the host (virtio-balloon free page
 * reporting, about a second after they are freed), and a huge page made
 * of one costs ~2.4 ms of system time per MiB on first touch, against
 * ~0.4 ms in 4 KiB pages (and ~0.05 ms for a block freed just before).
 * A command that runs once and reads a file is always the first toucher.
 */
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
			char *nb = b ? realloc(b, (cap *= 2) + 1) : malloc(cap + 1);

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
