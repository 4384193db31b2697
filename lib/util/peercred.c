/* peercred.c - who is on the other end of a UNIX socket: SO_PEERCRED, SO_PEERGROUPS, group names, and capabilities from /proc. */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/file.h"
#include "lib/util/peercred.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77		/* Linux 6.5; Debian 12's headers predate it */
#endif

int ftoe_peer_get(int fd, struct ftoe_peer *p)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	memset(p, 0, sizeof(*p));
	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		return -errno;
	p->pid = cr.pid;
	p->uid = cr.uid;
	p->gid = cr.gid;
	len = sizeof(p->groups);
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len))
		p->ngroups = len / sizeof(gid_t);
	return 0;
}

bool ftoe_peer_in_group(const struct ftoe_peer *p, gid_t gid)
{
	if (p->gid == gid)
		return true;
	for (unsigned int i = 0; i < p->ngroups && i < FTOE_PEER_MAX_GROUPS; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

int ftoe_group_parse(const char *s, gid_t *gid)
{
	struct group *g;
	char *end;
	unsigned long id;

	if (!s || !*s)
		return -EINVAL;
	g = getgrnam(s);
	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	errno = 0;
	id = strtoul(s, &end, 10);
	if (*s == '-' || *s == '+' || *end || errno || id >= (unsigned long)(gid_t)-1)
		return -ENOENT;
	*gid = (gid_t)id;
	return 0;
}

int ftoe_status_capeff(const char *status, uint64_t *caps)
{
	const char *l = status;
	char *end;

	while (l && strncmp(l, "CapEff:", 7)) {
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	if (!l)
		return -EINVAL;
	l += 7;
	while (*l == ' ' || *l == '\t')
		l++;
	if (!((*l >= '0' && *l <= '9') || (*l >= 'a' && *l <= 'f') || (*l >= 'A' && *l <= 'F')))
		return -EINVAL;
	errno = 0;
	*caps = strtoull(l, &end, 16);
	if (errno || (*end != '\n' && *end != 0))
		return -EINVAL;
	return 0;
}

/* Same user namespace as ours? */
static int same_userns(pid_t pid)
{
	char path[64];
	struct stat mine, theirs;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat("/proc/self/ns/user", &mine) || stat(path, &theirs))
		return -errno;
	return mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

int ftoe_peer_caps(int fd, uint64_t *caps)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct pollfd pfd = { .events = POLLIN };
	char path[64], *status;
	size_t slen;
	int pidfd = -1, ret, err;

	*caps = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		return -errno;
	len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len))
		return errno == EINVAL || errno == ENOPROTOOPT ? -ENOPROTOOPT : -errno;
	if (cr.pid <= 0) {
		ret = -ESRCH;	/* not visible in our pid namespace */
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)cr.pid);
	status = ftoe_read_file(path, &slen, &err);
	if (!status) {
		ret = err == -ENOENT ? -ESRCH : err;
		goto out;
	}
	ret = ftoe_status_capeff(status, caps);
	free(status);
	if (!ret) {
		int same = same_userns(cr.pid);

		if (same <= 0)
			ret = same ? same : -EPERM;
	}
	/* Read while the process lived: the pid was its own throughout. */
	pfd.fd = pidfd;
	if (poll(&pfd, 1, 0) != 0)
		ret = -ESRCH;
out:
	if (ret)
		*caps = 0;
	close(pidfd);
	return ret;
}
