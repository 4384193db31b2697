/* peercred.h - who is on the other end of a UNIX socket: SO_PEERCRED, SO_PEERGROUPS, group names, and capabilities from /proc. */
#ifndef FTOE_UTIL_PEERCRED_H
#define FTOE_UTIL_PEERCRED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FTOE_PEER_MAX_GROUPS 256

/* The peer's credentials as the kernel recorded them at connect(), in
 * this process's user and pid namespaces. */
struct ftoe_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;			/* effective gid */
	unsigned int ngroups;		/* supplementary groups (SO_PEERGROUPS) */
	gid_t groups[FTOE_PEER_MAX_GROUPS];
};

/* SO_PEERCRED and SO_PEERGROUPS of a connected UNIX socket.  0 or -errno
 * (from SO_PEERCRED).  A peer with more than FTOE_PEER_MAX_GROUPS
 * supplementary groups (the kernel then gives none, ERANGE) counts with
 * its primary group only. */
int ftoe_peer_get(int fd, struct ftoe_peer *p);
/* Is gid the peer's primary or one of its supplementary groups? */
bool ftoe_peer_in_group(const struct ftoe_peer *p, gid_t gid);
/* A group by name, or by number when no group has that name: 0, or
 * -ENOENT (no such group; a number is taken as it is), -EINVAL (empty). */
int ftoe_group_parse(const char *s, gid_t *gid);

/* The CapEff line of a /proc/PID/status text: 0 or -EINVAL (missing or
 * malformed). */
int ftoe_status_capeff(const char *status, uint64_t *caps);

/*
 * The effective capabilities of the process behind a connected UNIX socket,
 * counted only in this process's user namespace (a process in a user
 * namespace of its own has them there only, not over our sockets).  The
 * process is the one that called connect(): SO_PEERPIDFD (Linux 6.5) names
 * it, /proc/PID/status is read, and the pidfd must still be alive
 * afterwards, so a pid reused meanwhile is never read in its place.  0 with
 * *caps set; -ENOPROTOOPT without SO_PEERPIDFD; -ESRCH when the process is
 * gone; -EPERM when it is in another user namespace; else -errno.
 */
int ftoe_peer_caps(int fd, uint64_t *caps);

#endif
