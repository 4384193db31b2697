/* jsonmsg.h - the length-prefixed JSON messages of FlexTOE's UNIX control sockets. */
#ifndef FTOE_UTIL_JSONMSG_H
#define FTOE_UTIL_JSONMSG_H

#include <stddef.h>
#include <json-c/json.h>

/* Largest message either side accepts (ring_read responses carry hex). */
#define FTOE_JSONMSG_MAX (64u << 20)

/* A message is a 32-bit length in host order followed by that many bytes
 * of one JSON object (the sockets are local).  send: 0 or -errno. */
int ftoe_jsonmsg_send(int fd, json_object *msg);
/* NULL with *err = -errno, -ECONNRESET (peer closed), -EMSGSIZE (empty or
 * over FTOE_JSONMSG_MAX) or -EBADMSG (not a JSON object). */
json_object *ftoe_jsonmsg_recv(int fd, int *err);

#endif
