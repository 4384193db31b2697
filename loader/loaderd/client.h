/* client.h - the loader's message framing and request/response calls over UNIX sockets (loaderd and flextoe-bpf). */
#ifndef FTOE_LDR_CLIENT_H
#define FTOE_LDR_CLIENT_H

#include <json-c/json.h>
#include <stddef.h>

#include <flextoe/ctl.h>

#include "lib/util/jsonmsg.h"

/* Default run directory of the engine and the loader (docs/engine.md). */
#define LDR_DEFAULT_RUN_DIR "/run/flextoe"
#define LDR_SOCK "loader.sock"		/* flextoe-loaderd, in the run directory */
#define LDR_ENGINE_SOCK "engine.sock"	/* the engine's control socket */
/* Messages use the framing of lib/util/jsonmsg.h, as the engine's
 * control socket does (ftoe_jsonmsg_send / ftoe_jsonmsg_recv). */

/* The run directory: opt if given, else $FLEXTOE_RUN_DIR, else the default. */
const char *ldr_run_dir(const char *opt);
/* DIR/NAME into out; -ENAMETOOLONG when it does not fit a sockaddr_un. */
int ldr_sock_path(const char *dir, const char *name, char *out, size_t size);

int ldr_connect(const char *path, int *fd);
/* Connect, send req, return the response (NULL with *err). */
json_object *ldr_call(const char *path, json_object *req, int *err);

/* A new request for op (include/flextoe/ctl.h), "op" set; NULL only
 * when out of memory. */
json_object *ldr_request(enum flextoe_ctl_op op);

/* Response helpers: "ok", "error" text, "errno". */
int ldr_resp_errno(json_object *resp);		/* 0 when ok, else -errno */
const char *ldr_resp_error(json_object *resp);

#endif
