/* ctl.h - the engine control socket's message framing and request handlers (ctl.c, ctl_maps.c). */
#ifndef FTOE_X86_CTL_H
#define FTOE_X86_CTL_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;

/* Messages on RUN_DIR/engine.sock (SOCK_STREAM): a 4-byte length in host
 * order, then that many bytes of one JSON object.  Requests carry "op";
 * responses carry "ok" (true/false) and, when false, "errno" (positive)
 * and "error" (a sentence for the user).  docs/loader.md lists them. */
#define FTOE_CTL_MSG_MAX FTOE_JSONMSG_MAX	/* lib/util/jsonmsg.h */

int ctl_map_list(struct daemon *d, json_object *resp);
/* map_dump / map_lookup / map_update / map_delete.  0 or -errno with err. */
int ctl_map_op(struct daemon *d, const char *op, json_object *req, json_object *resp,
	       char *err, size_t esz);
/* map_lookup_batch / map_update_batch / map_delete_batch: "keys" (and
 * "values"), hex of the elements back to back; the answer's "done" counts
 * those done before any failure (bpf(2)'s batch semantics), a lookup's
 * "values" their values.  0 or -errno with err. */
int ctl_map_batch(struct daemon *d, const char *op, json_object *req, json_object *resp,
		  char *err, size_t esz);

/* ctl_stats.c: "stats" (the engine's MIB counters, per-queue AF_XDP
 * numbers) and "conns" (connections and listeners).  0 or -errno with err. */
int ctl_stats(struct daemon *d, const char *op, json_object *req, json_object *resp,
	      char *err, size_t esz);
int ctl_conns(struct daemon *d, const char *op, json_object *req, json_object *resp,
	      char *err, size_t esz);

/* ctl_ring.c: ring_read (drain ring-buffer maps, waiting on their eventfds)
 * and programs owned by a client process (unloaded when it exits). */
#include <poll.h>
#include <sys/types.h>
#define CTL_MAX_OWNED 16
int ctl_ring_read(struct daemon *d, json_object *req, json_object *resp, char *err, size_t esz);
/* A pidfd for pid, or -errno with a message. */
int ctl_owner_open(pid_t pid, char *err, size_t esz);
void ctl_owner_add(uint32_t id, pid_t pid, int pidfd);
void ctl_owner_forget(uint32_t id);
pid_t ctl_owner_pid(uint32_t id);
/* Fill pfd (CTL_MAX_OWNED entries) with the owners' pidfds; their count. */
unsigned int ctl_owner_pollfds(struct pollfd *pfd);
/* Unload the programs of owners whose pidfd polled readable. */
void ctl_owner_reap(struct daemon *d, const struct pollfd *pfd, unsigned int n);
void ctl_owner_fini(void);

#endif
