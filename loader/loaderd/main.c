/* main.c - flextoe-loaderd: the loader daemon's command line, run-directory lock, socket and main loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/util/log.h"
#include "lib/util/peercred.h"
#include "loader/loaderd/client.h"
#include "loader/loaderd/loaderd.h"

#define IO_TIMEOUT_S 10

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flextoe-loaderd [--run-dir DIR] [--group NAME] [-v]\n"
		"\n"
		"The FlexTOE loader daemon: verifies eBPF/XDP objects with the kernel verifier,\n"
		"keeps copies of them in DIR/progs, and installs them into the hooks of the\n"
		"engine running in DIR (its control socket DIR/" LDR_ENGINE_SOCK "). Clients\n"
		"(flextoe-bpf) talk to it on DIR/" LDR_SOCK ". The engine starts it unless\n"
		"given --no-loaderd; it may also run on its own, and be restarted at any time:\n"
		"the engine keeps its programs and maps meanwhile.\n"
		"\n"
		"  -r, --run-dir DIR   run directory (default $FLEXTOE_RUN_DIR, else " LDR_DEFAULT_RUN_DIR ")\n"
		"  -g, --group NAME    members of group NAME may also load/unload and change maps\n"
		"                      (reading is open to everyone; changing needs root otherwise)\n"
		"  -v, --verbose       debug messages\n"
		"  -h, --help          this text\n");
}

static int take_lock(const char *dir, int *fd_out)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/loaderd.pid", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		pr_err("cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		close(fd);
		return -EBUSY;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n)
		pr_warn("cannot write %s: %s", path, strerror(errno));
	*fd_out = fd;
	return 0;
}

static void peer_creds(const struct ldr_state *st, int fd, struct ldr_peer *p)
{
	struct ftoe_peer cr;

	memset(p, 0, sizeof(*p));
	p->uid = (uid_t)-1;
	if (ftoe_peer_get(fd, &cr))
		return;
	p->pid = cr.pid;
	p->uid = cr.uid;
	p->gid = cr.gid;
	p->privileged = cr.uid == 0 || (st->have_group && ftoe_peer_in_group(&cr, st->group));
}

static void serve(struct ldr_state *st, int fd)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	struct ldr_peer peer;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	peer_creds(st, fd, &peer);
	for (;;) {
		json_object *req, *resp;
		int err;

		req = ftoe_jsonmsg_recv(fd, &err);
		if (!req) {
			if (err != -ECONNRESET)
				pr_debug("client (pid %d): %s", (int)peer.pid, strerror(-err));
			return;
		}
		resp = ldr_handle(st, &peer, req);
		err = ftoe_jsonmsg_send(fd, resp);
		json_object_put(resp);
		json_object_put(req);
		if (err)
			return;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "group", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ldr_state st = { 0 };
	const char *run_dir = NULL;
	struct pollfd pfd[2];
	sigset_t sigs;
	int c, lock_fd = -1, lfd = -1, sfd = -1, rc = 1;

	ftoe_log_set_prefix("flextoe-loaderd");
	ftoe_log_set_level(FTOE_LOG_INFO);
	while ((c = getopt_long(argc, argv, "r:g:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			run_dir = optarg;
			break;
		case 'g':
			if (ftoe_group_parse(optarg, &st.group)) {
				fprintf(stderr, "flextoe-loaderd: unknown group '%s'\n", optarg);
				return 2;
			}
			st.have_group = true;
			st.group_name = optarg;
			break;
		case 'v':
			ftoe_log_set_level(FTOE_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "flextoe-loaderd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	st.run_dir = ldr_run_dir(run_dir);
	if (ldr_sock_path(st.run_dir, LDR_ENGINE_SOCK, st.engine_sock, sizeof(st.engine_sock)) ||
	    ldr_sock_path(st.run_dir, LDR_SOCK, sa.sun_path, sizeof(sa.sun_path))) {
		pr_err("run directory %s: path too long for a UNIX socket", st.run_dir);
		return 1;
	}
	snprintf(st.progs_dir, sizeof(st.progs_dir), "%s/progs", st.run_dir);
	if (mkdir(st.run_dir, 0755) && errno != EEXIST) {
		pr_err("cannot create run directory %s: %s", st.run_dir, strerror(errno));
		return 1;
	}
	c = take_lock(st.run_dir, &lock_fd);
	if (c == -EBUSY) {
		pr_info("another flextoe-loaderd already serves %s; leaving it", st.run_dir);
		return 0;
	}
	if (c)
		return 1;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sfd < 0 || lfd < 0) {
		pr_err("socket: %s", strerror(errno));
		goto out;
	}
	/* We hold the lock: a socket file there is a dead loaderd's. */
	unlink(sa.sun_path);
	/* Everyone may connect and read; changes are checked per request. */
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(sa.sun_path, 0666) ||
	    listen(lfd, 16)) {
		pr_err("cannot listen on %s: %s", sa.sun_path, strerror(errno));
		goto out;
	}
	ldr_resync(&st);
	pr_info("listening on %s%s%s", sa.sun_path, st.have_group ? ", group " : "",
		st.have_group ? st.group_name : "");
	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = lfd;
	pfd[1].events = POLLIN;
	for (;;) {
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("poll: %s", strerror(errno));
			goto out;
		}
		if (pfd[0].revents)
			break;
		if (!(pfd[1].revents & POLLIN))
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve(&st, fd);
		close(fd);
	}
	pr_info("stopping");
	rc = 0;
out:
	if (lfd >= 0) {
		close(lfd);
		unlink(sa.sun_path);
	}
	if (sfd >= 0)
		close(sfd);
	if (lock_fd >= 0) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/loaderd.pid", st.run_dir);
		unlink(path);
		close(lock_fd);
	}
	return rc;
}
