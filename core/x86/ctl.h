/* ctl.h - the engine control socket's message framing and request handlers (ctl.c, ctl_maps.c). */
#ifndef FTOE_X86_CTL_H
#define FTOE_X86_CTL_H

#include <json-c/json.h>
#include <stddef.h>

struct backend;

/* Messages on RUN_DIR/engine.sock (SOCK_STREAM): a 4-byte length in host
 * order, then that many bytes of one JSON object.  Requests carry "op";
 * responses carry "ok" (true/false) and, when false, "errno" (positive)
 * and "error" (a sentence for the user).  docs/loader.md lists them. */
#define FTOE_CTL_MSG_MAX (64u << 20)

int ctl_map_list(struct backend *be, json_object *resp);
/* map_dump / map_lookup / map_update / map_delete.  0 or -errno with err. */
int ctl_map_op(struct backend *be, const char *op, json_object *req, json_object *resp,
	       char *err, size_t esz);

#endif
