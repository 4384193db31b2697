/* signals.c - SA_RESTART for blocking engine calls: the library wraps the application's handlers to learn which signal interrupted a wait and whether its handler asks for restarts (signal(7)). */
#include <errno.h>
#include <string.h>

#include "lib/posix/internal.h"

/* The application's handlers; ours (trampoline) runs them. */
static struct sigaction app_act[NSIG];
static __thread int last_sig;	/* the last signal handled on this thread */

static void trampoline(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *a = &app_act[sig];

	last_sig = sig;
	if (a->sa_flags & SA_SIGINFO)
		a->sa_sigaction(sig, si, uc);
	else if (a->sa_handler != SIG_IGN && a->sa_handler != SIG_DFL)
		a->sa_handler(sig);
}

void px_sig_clear(void)
{
	last_sig = 0;
}

bool px_sig_restart(void)
{
	int s = last_sig;

	return s > 0 && s < NSIG && (app_act[s].sa_flags & SA_RESTART);
}

/* sigaction(2) as the application sees it: its own handler is reported,
 * the trampoline is what the kernel runs. */
int px_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction k, prev = { 0 };
	bool had = sig > 0 && sig < NSIG && app_act[sig].sa_handler != NULL &&
		   app_act[sig].sa_handler != SIG_DFL && app_act[sig].sa_handler != SIG_IGN;
	int r;

	if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP || !act ||
	    act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN) {
		r = px_real.sigaction(sig, act, old);
		if (!r && old && had && old->sa_sigaction == trampoline)
			*old = app_act[sig];
		if (!r && act && sig > 0 && sig < NSIG)
			memset(&app_act[sig], 0, sizeof(app_act[sig]));
		return r;
	}
	prev = app_act[sig];
	k = *act;
	k.sa_sigaction = trampoline;
	k.sa_flags |= SA_SIGINFO;
	app_act[sig] = *act;
	r = px_real.sigaction(sig, &k, old);
	if (r) {
		app_act[sig] = prev;
		return r;
	}
	if (old && old->sa_sigaction == trampoline)
		*old = prev;
	return 0;
}
