/* daemon.h - the flextoe daemon's state and the calls between its files (options, run dir, control socket, loaderd). */
#ifndef FTOE_DAEMON_H
#define FTOE_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/engine.h"
#include "core/hooks.h"
#include "core/x86/x86.h"

/*
 * The daemon drives one backend (core/x86/x86.h) and the engine
 * (core/engine.h); the backend never calls back into it except through
 * the struct x86_poller it is given.
 */

/* Exit codes (documented in docs/engine.md). */
#define FTOE_EXIT_RUNTIME 1
#define FTOE_EXIT_USAGE   2

#define FTOE_DEFAULT_RUN_DIR "/run/flextoe"

/* ---- options (opts.c) ------------------------------------------------- */
struct daemon_opts {
	const char *iface;
	uint32_t ip_be, prefix_len, gateway_be;
	bool has_ip6;              /* a second --ip gave an IPv6 address */
	uint8_t ip6[16];           /* network order */
	uint32_t prefix6_len;
	unsigned int workers;      /* 0: one per queue */
	unsigned int flow_groups;  /* --flow-groups G (0: pipe.c's one protocol thread) */
	bool show_layout;          /* --show-layout: print the threads' stages, exit */
	unsigned int queues;
	bool busy_poll;
	const struct ftoe_cc_ops *cc; /* ftoe_cc_parse (NULL: the default) */
	uint64_t cc_param;
	uint32_t max_flows;
	uint32_t buf_size;         /* --buf SIZE: each connection's rx and tx buffer (0: the engine's default) */
	const char *run_dir;
	int verbose;
	bool force;
	bool no_loaderd;           /* --no-loaderd */
	const char *loaderd_path;  /* --loaderd PATH (default: next to flextoe) */
	const char *loaderd_group; /* --loader-group NAME, passed to loaderd */
	unsigned int rto_retries;  /* --rto-retries N (0: the engine's default) */
	unsigned int ooo_intervals; /* --ooo-intervals N (0: the engine's default) */
	const char *app_group;     /* --app-group GROUP: who may use flextoe.sock (NULL: anyone) */
	gid_t app_gid;             /* its gid */
	uint32_t syn_table;        /* --syn-table N (0: the engine's default) */
	uint32_t tw_table;         /* --tw-table N (0: the engine's default) */
	uint32_t syn_backlog;      /* --syn-backlog N (0: each listener's backlog) */
};

/* 0, 1 when help was printed (exit 0), or -EINVAL after printing the
 * error (exit FTOE_EXIT_USAGE). */
int opts_parse(int argc, char **argv, struct daemon_opts *o);

/* The configuration file (conf.c): when argv names --config FILE (or -c),
 * argc and argv become FILE's settings as options, then argv's own.  0, or
 * -errno after a message (unreadable file, unknown setting). */
struct option;
int conf_expand(int *argc, char ***argv, const struct option *opts);

/* ---- run directory (rundir.c) ----------------------------------------- */
/* Create dir if missing and take its lock file (flextoe.pid).  0, -EBUSY
 * when another engine holds it, or -errno; prints what was wrong. */
int rundir_acquire(const char *dir, int *lock_fd);
void rundir_release(const char *dir, int lock_fd);

/* ---- the running daemon (main.c) -------------------------------------- */
struct hx_prog;

struct daemon {
	struct daemon_opts opts;
	struct x86_backend *x86;
	struct ftoe_engine *eng;
	struct ftoe_io io;

	/* Hooks and their eBPF programs (hooks_ebpf.c); the engine control
	 * socket (ctl.c) and flextoe-loaderd (loaderd_spawn.c). */
	struct ftoe_hooks *hooks;
	struct hx_prog *progs;     /* installed programs; ctl thread only */
	uint32_t nr_progs;
	int ctl_fd;                /* listening engine.sock, or -1 */
	pthread_t ctl_tid;
	bool ctl_started;
	int ctl_stop_efd;
	pid_t loaderd_pid;         /* 0: none running that we started */
};

/* ---- the engine control socket (ctl.c) ----------------------------------- */
#define FTOE_ENGINE_SOCK "engine.sock"
int ctl_start(struct daemon *d);
void ctl_stop(struct daemon *d);

/* ---- flextoe-loaderd (loaderd_spawn.c) ------------------------------------- */
void loaderd_spawn(struct daemon *d, const char *argv0);
/* A child exited (SIGCHLD): reap it, log if it was loaderd. */
void loaderd_reap(struct daemon *d);
void loaderd_stop(struct daemon *d);

#endif
