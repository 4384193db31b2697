/* app_cred.c - who may use the engine through flextoe.sock (--app-group), and which ports an application may take (CAP_NET_BIND_SERVICE). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/daemon/app_cred.h"
#include "core/daemon/daemon.h"
#include "lib/util/file.h"
#include "lib/util/log.h"
#include "lib/util/peercred.h"

#define CAP_NET_BIND_SERVICE_BIT 10	/* linux/capability.h */
#define UNPRIV_PORT_SYSCTL "/proc/sys/net/ipv4/ip_unprivileged_port_start"
#define UNPRIV_PORT_DEFAULT 1024u

/*
 * The rights are taken once, when the application connects, as a kernel
 * socket keeps the credentials of its creator: SO_PEERCRED (uid, gid) and
 * SO_PEERGROUPS are the kernel's record of connect() time; the capability
 * comes from the connecting process's /proc/PID/status, read through the
 * pidfd SO_PEERPIDFD gives (lib/util/peercred.c says why that is safe
 * against a reused pid).  Limits: a process that gains or drops
 * CAP_NET_BIND_SERVICE after connecting keeps what it had; the status is
 * the main thread's; without SO_PEERPIDFD (Linux < 6.5) only uid 0 counts
 * as holding the capability.
 */

/* The engine's network namespace's ip_unprivileged_port_start (the
 * daemon runs in it, and /proc/sys/net is the reader's namespace's). */
static uint32_t unpriv_port_start(void)
{
	char *txt, *end;
	size_t len;
	unsigned long v;
	int err;

	txt = ftoe_read_file(UNPRIV_PORT_SYSCTL, &len, &err);
	if (!txt) {
		pr_debug("%s: %s; taking %u", UNPRIV_PORT_SYSCTL, strerror(-err),
			 UNPRIV_PORT_DEFAULT);
		return UNPRIV_PORT_DEFAULT;
	}
	errno = 0;
	v = strtoul(txt, &end, 10);
	if (errno || end == txt || (*end && *end != '\n') || v > 65536)
		v = UNPRIV_PORT_DEFAULT;
	free(txt);
	return (uint32_t)v;
}

static bool may_bind_service(int fd, const struct ftoe_peer *p)
{
	static bool told;
	uint64_t caps;
	int err = ftoe_peer_caps(fd, &caps);

	if (err == -ENOPROTOOPT) {
		if (!told)
			pr_info("this kernel has no SO_PEERPIDFD: of the applications, only "
				"root's may take ports below ip_unprivileged_port_start");
		told = true;
		return p->uid == 0;
	}
	if (err) {
		pr_debug("application pid %d uid %u: no capabilities (%s)", (int)p->pid,
			 (unsigned)p->uid, strerror(-err));
		return false;
	}
	return caps & (1ull << CAP_NET_BIND_SERVICE_BIT);
}

int app_cred_admit(const struct daemon_opts *o, int fd, struct appif_peer *peer)
{
	struct ftoe_peer p;
	int err;

	memset(peer, 0, sizeof(*peer));
	err = ftoe_peer_get(fd, &p);
	if (err) {
		pr_warn("an application without credentials (SO_PEERCRED: %s): refused",
			strerror(-err));
		return -EACCES;
	}
	peer->pid = p.pid;
	peer->uid = p.uid;
	peer->gid = p.gid;
	if (o->app_group && p.uid != 0 && !ftoe_peer_in_group(&p, o->app_gid)) {
		pr_warn("application pid %d uid %u refused: only root and members of group %s "
			"(--app-group) may use this engine", (int)p.pid, (unsigned)p.uid,
			o->app_group);
		return -EACCES;
	}
	peer->unpriv_port_start = unpriv_port_start();
	if (peer->unpriv_port_start > 1 && may_bind_service(fd, &p))
		peer->unpriv_port_start = 0;
	return 0;
}

int app_cred_socket_mode(const struct daemon_opts *o, const char *path)
{
	if (!o->app_group)
		return chmod(path, 0666) ? -errno : 0;
	if (chown(path, geteuid(), o->app_gid) || chmod(path, 0660))
		return -errno;
	return 0;
}
