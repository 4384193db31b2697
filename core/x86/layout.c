/* layout.c - which thread runs which stage for --workers N [--flow-groups G]: the plan fgpipe.c starts and the text --show-layout prints. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/x86/x86.h"
#include "lib/util/log.h"

/*
 * Without --flow-groups the rules are pipe.c's (one protocol thread; the
 * layout only describes them).  With --flow-groups G (fgpipe.c):
 *
 *   P = min(G, N - 1) protocol threads; group g on protocol thread g mod P;
 *       the first also runs the control plane, timers, the flow scheduler
 *       and the applications;
 *   the first of the N - P others: ingress (every queue, the sequencer)
 *       and egress; of the K = N - P - 1 further ones, ceil(K / 2)
 *       post-processing (payload placement; its in-order rest runs at the
 *       reorder point before the wire and the application rings, on
 *       whichever thread releases it), the others pre-processing.
 *   Pre-processing of a batch runs on the ingress thread or on a
 *   pre-processing thread, in turn, whatever its flows; post-processing of
 *   a run on the post-processing threads in turn (with none, on its
 *   protocol thread).
 */

static void add(struct x86_layout *l, unsigned int roles, const char *fmt, unsigned int i)
{
	struct x86_layout_thread *t = &l->th[l->nthreads++];

	t->roles = roles;
	snprintf(t->name, sizeof(t->name), fmt, i % 100u);
}

int x86_layout_plan(unsigned int workers, unsigned int flow_groups, unsigned int queues,
		    struct x86_layout *l)
{
	unsigned int nin, p, k;

	memset(l, 0, sizeof(*l));
	if (!workers || workers > X86_MAX_QUEUES || !queues || queues > X86_MAX_QUEUES)
		return -EINVAL;
	if (flow_groups > X86_MAX_FLOW_GROUPS)
		return -ERANGE;
	l->workers = workers;
	l->queues = queues;
	l->flow_groups = flow_groups;
	if (workers == 1) {
		add(l, X86_L_IN | X86_L_PRE | X86_L_PROTO | X86_L_CTL | X86_L_OUT, "ftoe-worker", 0);
		l->th[0].queues = queues;
		for (unsigned int g = 0; g < flow_groups; g++)
			l->group_thread[g] = 0;
		return 0;
	}
	if (!flow_groups) {
		/* pipe.c */
		nin = workers == 2 ? 1 : workers - 2;
		if (nin > queues)
			return -ENOSPC;
		if (workers == 2) {
			add(l, X86_L_IN | X86_L_PRE | X86_L_OUT, "ftoe-io", 0);
			add(l, X86_L_PROTO | X86_L_CTL, "ftoe-proto", 0);
			l->th[0].queues = queues;
			return 0;
		}
		for (unsigned int i = 0; i < nin; i++) {
			add(l, X86_L_IN | X86_L_PRE, "ftoe-in%u", i);
			l->th[i].queues = queues / nin + (i < queues % nin);
		}
		add(l, X86_L_PROTO | X86_L_CTL, "ftoe-proto", 0);
		add(l, X86_L_OUT, "ftoe-out", 0);
		return 0;
	}
	p = flow_groups < workers - 1 ? flow_groups : workers - 1;
	add(l, X86_L_IN | X86_L_PRE | X86_L_OUT, "ftoe-io", 0);
	l->th[0].queues = queues;
	k = workers - 1 - p;
	for (unsigned int i = 0; i < k / 2; i++)
		add(l, X86_L_PRE, "ftoe-pre%u", i);
	for (unsigned int i = 0; i < k - k / 2; i++)
		add(l, X86_L_POST, "ftoe-post%u", i);
	for (unsigned int i = 0; i < p; i++)
		add(l, X86_L_PROTO | (i ? 0 : X86_L_CTL), "ftoe-proto%u", i);
	for (unsigned int g = 0; g < flow_groups; g++)
		l->group_thread[g] = workers - p + g % p;
	return 0;
}

void x86_layout_print(const struct x86_layout *l, FILE *out)
{
	static const char *const role[] = { "ingress", "pre-processing", "protocol",
					    "control-plane", "egress", "post-processing" };

	fprintf(out, "layout: %u worker%s, %u queue%s, ", l->workers, l->workers == 1 ? "" : "s",
		l->queues, l->queues == 1 ? "" : "s");
	if (l->flow_groups)
		fprintf(out, "%u flow group%s (flows by 4-tuple hash)\n", l->flow_groups,
			l->flow_groups == 1 ? "" : "s");
	else
		fprintf(out, "one protocol thread (no --flow-groups)\n");
	for (unsigned int i = 0; i < l->nthreads; i++) {
		const struct x86_layout_thread *t = &l->th[i];
		const char *sep = "";

		fprintf(out, "  thread %-2u %-12s ", i, t->name);
		for (unsigned int r = 0; r < sizeof(role) / sizeof(role[0]); r++)
			if (t->roles & (1u << r)) {
				fprintf(out, "%s%s", sep, role[r]);
				sep = ", ";
			}
		if (t->roles & X86_L_IN)
			fprintf(out, " (%u queue%s%s)", t->queues, t->queues == 1 ? "" : "s",
				l->flow_groups ? ", sequencer" : "");
		if (t->roles & X86_L_PROTO && l->flow_groups) {
			unsigned int mine = 0;

			for (unsigned int g = 0; g < l->flow_groups; g++)
				mine += l->group_thread[g] == i;
			sep = mine == 1 ? " (group " : " (groups ";
			for (unsigned int g = 0; g < l->flow_groups; g++)
				if (l->group_thread[g] == i) {
					fprintf(out, "%s%u", sep, g);
					sep = ",";
				}
			fprintf(out, ")");
		}
		fputc('\n', out);
	}
	if (l->flow_groups && l->workers > 1)
		fprintf(out, "  order: a sequence number per frame at ingress, a reorder point "
			"before the protocol threads and one after post-processing's payload "
			"placement, before the wire and the application rings\n");
}
