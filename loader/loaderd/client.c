/* client.c - the loader's message framing and request/response calls over UNIX sockets (loaderd and flextoe-bpf). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "loader/loaderd/client.h"

const char *ldr_run_dir(const char *opt)
{
	const char *env = getenv("FLEXTOE_RUN_DIR");

	if (opt && *opt)
		return opt;
	return env && *env ? env : LDR_DEFAULT_RUN_DIR;
}

int ldr_sock_path(const char *dir, const char *name, char *out, size_t size)
{
	struct sockaddr_un sa;
	int n = snprintf(out, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int ldr_connect(const char *path, int *fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(s);
		return err;
	}
	*fd = s;
	return 0;
}

json_object *ldr_call(const char *path, json_object *req, int *err)
{
	json_object *resp = NULL;
	int fd;

	*err = ldr_connect(path, &fd);
	if (*err)
		return NULL;
	*err = ftoe_jsonmsg_send(fd, req);
	if (!*err)
		resp = ftoe_jsonmsg_recv(fd, err);
	close(fd);
	return resp;
}

int ldr_resp_errno(json_object *resp)
{
	json_object *v;

	if (json_object_object_get_ex(resp, "ok", &v) && json_object_get_boolean(v))
		return 0;
	if (json_object_object_get_ex(resp, "errno", &v) && json_object_get_int(v) > 0)
		return -json_object_get_int(v);
	return -EIO;
}

const char *ldr_resp_error(json_object *resp)
{
	json_object *v;

	if (json_object_object_get_ex(resp, "error", &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return strerror(-ldr_resp_errno(resp));
}

json_object *ldr_request(enum flextoe_ctl_op op)
{
	json_object *r = json_object_new_object();

	if (r)
		json_object_object_add(r, "op", json_object_new_string(flextoe_ctl_op_name(op)));
	return r;
}
