/* hooks.h - the pipeline's hook points (rx-pre, rx-post, tx-post): program chains, verdict rules, lock-free swap.
 *
 * Target independent: a program is an opaque handle, run through a
 * callback the daemon provides (core/daemon/hooks_ebpf.c runs eBPF programs
 * with the runtime in ebpf/), so the core never depends on ebpf/.
 *
 * Data path (readers): ftoe_hooks_run() loads the hook's chain - an
 * immutable array sorted by priority - with one atomic load, and runs its
 * programs in order.  A verdict in a program's chain_call_actions goes on
 * to the next program; any other verdict ends the chain.  When every
 * program chained on, the verdict is XDP_PASS (libxdp's dispatcher does the
 * same).  The hook's rules (docs/design.md section 4) then map the
 * verdict to what the caller must do, and the verdict is counted.
 *
 * Control (writers, serialised inside): attach/detach build a new chain,
 * publish it with one atomic store and wait until every reader thread has
 * passed a quiescent point (QSBR, as liburcu's qsbr flavour) before the
 * old chain is freed and a detached handle is given back.  A reader never
 * waits and never sees a freed chain, so a swap neither drops nor stalls a
 * frame in flight: a frame runs entirely on the old chain or on the new.
 *
 * Reader threads (workers) register once, report a quiescent state once
 * per batch (ftoe_hooks_quiescent) and go offline before they block.
 * Threads that never registered may still run hooks (a control thread
 * sending an ARP announcement, say): they are tracked by a shared counter
 * for the duration of the call.
 */
#ifndef FTOE_CORE_HOOKS_H
#define FTOE_CORE_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flextoe/bpf.h"

#define FTOE_HOOK_FIRST     FLEXTOE_HOOK_RX_PRE
#define FTOE_HOOK_NR        FLEXTOE_HOOK_MAX	/* index by enum flextoe_hook */
#define FTOE_HOOK_MAX_PROGS 32			/* programs per hook */
#define FTOE_HOOK_MAX_READERS 128		/* registered reader threads */

/* XDP actions (linux/bpf.h enum xdp_action), repeated so the core needs no
 * kernel header. */
enum ftoe_xdp_action {
	FTOE_XDP_ABORTED = 0,
	FTOE_XDP_DROP = 1,
	FTOE_XDP_PASS = 2,
	FTOE_XDP_TX = 3,
	FTOE_XDP_REDIRECT = 4,
	FTOE_XDP_NR_ACTIONS = 5,
};

/* Verdict counters of a hook: one per XDP action a chain ended with, plus
 * "invalid": an action outside 0..4, or one the hook does not honour
 * (tx-post's TX and REDIRECT), counted there in addition and treated as
 * XDP_ABORTED - as the kernel treats an action a driver does not support
 * (bpf_warn_invalid_xdp_action, then drop). */
enum {
	FTOE_HOOK_CNT_INVALID = FTOE_XDP_NR_ACTIONS,
	FTOE_HOOK_NR_COUNTERS,
};

/* Default chain-call actions: XDP_PASS only (libxdp). */
#define FTOE_HOOK_CHAIN_DEFAULT (1u << FTOE_XDP_PASS)

/* One program in a chain. */
struct ftoe_hook_prog {
	void *handle;			/* the backend's program (opaque) */
	uint32_t id;			/* unique over all hooks, never 0 */
	int32_t priority;		/* lower runs first (XDP_RUN_CONFIG) */
	uint32_t chain_call_actions;	/* bit (1 << action): go on to the next */
};

/* What the redirect op made of an XDP_REDIRECT (ftoe_hook_frame.redirect_as):
 * it delivered the frame itself (an xskmap slot's socket), or it leaves
 * the caller to act on the target the programs chose. */
enum ftoe_redirect_as {
	FTOE_REDIRECT_TAKEN = 0,	/* delivered, or dropped (redirect_err) */
	FTOE_REDIRECT_XMIT,		/* send redirect_copies copies out of the
					 * port the frame came in on (a devmap slot
					 * naming the engine's own interface) */
	FTOE_REDIRECT_STACK,		/* go on as with XDP_PASS (a cpumap slot:
					 * the engine is the stack a cpumap feeds) */
};

/* A frame at a hook.  In: data/len the frame from the Ethernet header,
 * md the metadata the stage filled.  Out (when the verdict lets the frame
 * go on and the hook is not observe-only): data/len the frame as the
 * programs left it (it may point into the backend's buffer: valid until
 * the calling thread's next ftoe_hooks_run) and md with the programs'
 * writes (app_ctx, priority, vlan ids).  With the verdict REDIRECT,
 * redirect_err: 0 when the redirect op accepted the frame, else why it
 * was dropped (-EOPNOTSUPP: no target the backend can deliver to); when
 * accepted, redirect_as (and redirect_copies) say what the caller does
 * with it, data/len/md being the programs' result as for PASS. */
struct ftoe_hook_frame {
	uint8_t *data;
	uint32_t len;
	int32_t redirect_err;
	uint16_t redirect_as;		/* enum ftoe_redirect_as */
	uint16_t redirect_copies;	/* FTOE_REDIRECT_XMIT: how many (0: none) */
	struct flextoe_md md;
};

/* What the backend provides.  All called on the reader's thread. */
struct ftoe_hook_ops {
	void *ctx;
	/* Prepare a run of a chain on f (copy into an execution buffer).
	 * Non-zero: the frame cannot be run (too large); the chain ends
	 * with XDP_ABORTED. */
	int (*begin)(void *ctx, enum flextoe_hook hook, struct ftoe_hook_frame *f);
	/* Run one program; returns its XDP action. */
	uint32_t (*run)(void *ctx, void *handle);
	/* The chain ended with XDP_REDIRECT (rx-pre): deliver the frame as
	 * the programs left it to the target they chose, or set
	 * f->redirect_as (and redirect_copies) for the caller to act on it
	 * (found at FTOE_REDIRECT_TAKEN, 0 copies).  0 accepted, else -errno
	 * (dropped).  NULL: every redirect is dropped (-EOPNOTSUPP). */
	int (*redirect)(void *ctx, struct ftoe_hook_frame *f);
	/* After the chain: with commit, update f->data/len/md from the
	 * execution buffer; without (a drop, an observe-only hook), leave
	 * f as it was. */
	void (*end)(void *ctx, struct ftoe_hook_frame *f, bool commit);
};

struct ftoe_hooks;

int ftoe_hooks_create(const struct ftoe_hook_ops *ops, struct ftoe_hooks **out);
/* No reader may run any more; handles still attached are not released
 * (take them with ftoe_hooks_detach_all first). */
void ftoe_hooks_destroy(struct ftoe_hooks *h);

/* "rx-pre" / "rx-post" / "tx-post" <-> enum flextoe_hook (FLEXTOE_HOOK_NONE
 * for an unknown name; NULL for an unknown id). */
enum flextoe_hook ftoe_hook_by_name(const char *name);
const char *ftoe_hook_name(enum flextoe_hook hook);
/* Hooks that never act on a verdict (rx-post). */
bool ftoe_hook_observe_only(enum flextoe_hook hook);
/* The final verdict's effect at hook, per docs/design.md section 4:
 * rx-pre honours PASS DROP TX REDIRECT ABORTED; rx-post is observe only
 * (always PASS for the caller); tx-post honours PASS DROP ABORTED.  Sets
 * *invalid when act is out of range or not honoured at hook. */
uint32_t ftoe_hook_apply_rules(enum flextoe_hook hook, uint32_t act, bool *invalid);

/* ---- data path ------------------------------------------------------------ */

/* Run hook's chain on f.  XDP_PASS at once (nothing counted) when the hook
 * has no program.  Returns the verdict the caller acts on (after the
 * hook's rules): PASS go on, DROP and ABORTED free the frame, TX send it
 * back out the port it came in, REDIRECT (rx-pre only): the redirect op
 * has run, f->redirect_err says whether it accepted the frame and
 * f->redirect_as what the caller still does with it (TAKEN: nothing but
 * free it; XMIT, STACK: as for TX and PASS, f holding the result).  Safe
 * from any thread. */
uint32_t ftoe_hooks_run(struct ftoe_hooks *h, enum flextoe_hook hook, struct ftoe_hook_frame *f);

/* True when hook has at least one program (a hint: a stage may skip
 * building a flextoe_md). */
bool ftoe_hooks_active(struct ftoe_hooks *h, enum flextoe_hook hook);

/* Reader threads.  register: this thread is a reader of h, online;
 * -ENOSPC past FTOE_HOOK_MAX_READERS.  quiescent: it holds no reference
 * into any chain now (call between batches).  offline/online: around a
 * blocking wait, so writers need not wait for the thread. */
int ftoe_hooks_thread_register(struct ftoe_hooks *h);
void ftoe_hooks_thread_unregister(struct ftoe_hooks *h);
void ftoe_hooks_quiescent(struct ftoe_hooks *h);
void ftoe_hooks_thread_offline(struct ftoe_hooks *h);
void ftoe_hooks_thread_online(struct ftoe_hooks *h);

/* ---- control ----------------------------------------------------------------- */

/* Add p to hook's chain (after the programs of equal priority).  Returns
 * when the new chain is the one every reader runs.  -EINVAL (bad hook,
 * id 0), -EEXIST (id in use), -ENOSPC (FTOE_HOOK_MAX_PROGS), -ENOMEM. */
int ftoe_hooks_attach(struct ftoe_hooks *h, enum flextoe_hook hook, const struct ftoe_hook_prog *p);
/* Remove program id from its hook; *handle (optional) gets its handle,
 * which no reader uses any more when this returns.  -ENOENT. */
int ftoe_hooks_detach(struct ftoe_hooks *h, uint32_t id, void **handle);
/* Replace program old_id by p at the same hook in one swap (a reader sees
 * the old program or the new, never neither).  *old_handle as detach. */
int ftoe_hooks_replace(struct ftoe_hooks *h, uint32_t old_id, const struct ftoe_hook_prog *p,
		       void **old_handle);
/* Remove every program of hook (FLEXTOE_HOOK_NONE: of every hook); their
 * entries go to out (up to max); returns how many were removed. */
int ftoe_hooks_detach_all(struct ftoe_hooks *h, enum flextoe_hook hook,
			  struct ftoe_hook_prog *out, unsigned int max);
/* Programs of hook in run order into out (up to max); returns the count. */
int ftoe_hooks_list(struct ftoe_hooks *h, enum flextoe_hook hook, struct ftoe_hook_prog *out,
		    unsigned int max);
/* Hook of program id, or FLEXTOE_HOOK_NONE. */
enum flextoe_hook ftoe_hooks_find(struct ftoe_hooks *h, uint32_t id, struct ftoe_hook_prog *out);
/* Verdict counters of hook, summed over threads (FTOE_HOOK_NR_COUNTERS). */
void ftoe_hooks_counters(struct ftoe_hooks *h, enum flextoe_hook hook,
			 uint64_t out[FTOE_HOOK_NR_COUNTERS]);
/* Wait until every reader has passed a quiescent point (writers call it
 * inside attach/detach; exported for tests). */
void ftoe_hooks_synchronize(struct ftoe_hooks *h);

#endif
