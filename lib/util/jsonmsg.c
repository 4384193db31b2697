/* jsonmsg.c - length-prefixed JSON messages over a stream socket. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/util/jsonmsg.h"

static int io_full(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ftoe_jsonmsg_send(int fd, json_object *msg)
{
	const char *s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	uint32_t len = (uint32_t)strlen(s);
	int err = io_full(fd, &len, sizeof(len), true);

	return err ? err : io_full(fd, (void *)s, len, true);
}

json_object *ftoe_jsonmsg_recv(int fd, int *err)
{
	json_object *o;
	uint32_t len;
	char *buf;

	*err = io_full(fd, &len, sizeof(len), false);
	if (*err)
		return NULL;
	if (!len || len > FTOE_JSONMSG_MAX) {
		*err = -EMSGSIZE;
		return NULL;
	}
	buf = malloc((size_t)len + 1);
	if (!buf) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = io_full(fd, buf, len, false);
	if (*err) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	o = json_tokener_parse(buf);
	free(buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		*err = -EBADMSG;
		return NULL;
	}
	return o;
}
