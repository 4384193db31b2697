/* flextoe/hooks.h - the engine's hook points, listed once (an X-macro): id, number, name, role.
 *
 * Every table of hooks expands FLEXTOE_HOOK_LIST, as the kernel's
 * include/linux/bpf_types.h does for map and program types: the enum in
 * flextoe/bpf.h, the engine's names (core/hooks.c), loaderd's and the CLI's
 * checks.  A new hook point is one line here.  X(ID, NUM, NAME, ROLE):
 * FLEXTOE_HOOK_##ID = NUM, NAME as the CLI and the control protocol spell
 * it.  Order is pipeline order; numbers are ABI (struct flextoe_md.hook).
 */
#ifndef FLEXTOE_HOOKS_H
#define FLEXTOE_HOOKS_H

#define FLEXTOE_HOOK_LIST(X)                                                            \
	X(RX_PRE,  1, "rx-pre",  "ingress, before validation; VLAN tags present")       \
	X(RX_POST, 2, "rx-post", "after the protocol stage; observe only")              \
	X(TX_POST, 3, "tx-post", "egress, headers built")

#ifndef __bpf__
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The id of a hook name, 0 (FLEXTOE_HOOK_NONE) when there is none. */
static inline int flextoe_hook_id(const char *name)
{
#define FLEXTOE_HOOK_ID_(id, num, nm, role) if (name && !strcmp(name, nm)) return num;
	FLEXTOE_HOOK_LIST(FLEXTOE_HOOK_ID_)
#undef FLEXTOE_HOOK_ID_
	return 0;
}

/* The name of hook id num, NULL when there is none. */
static inline const char *flextoe_hook_name_of(int num)
{
#define FLEXTOE_HOOK_NAME_(id, n, nm, role) if (num == n) return nm;
	FLEXTOE_HOOK_LIST(FLEXTOE_HOOK_NAME_)
#undef FLEXTOE_HOOK_NAME_
	return NULL;
}

/* "rx-pre, rx-post and tx-post" into buf (last: " and " or " or "), for
 * usage text and errors; returns buf. */
static inline const char *flextoe_hook_names(char *buf, size_t size, const char *last)
{
	static const char *const names[] = {
#define FLEXTOE_HOOK_STR_(id, n, nm, role) nm,
		FLEXTOE_HOOK_LIST(FLEXTOE_HOOK_STR_)
#undef FLEXTOE_HOOK_STR_
	};
	size_t nr = sizeof(names) / sizeof(names[0]), off = 0;

	if (size)
		buf[0] = 0;
	for (size_t i = 0; i < nr && off < size; i++) {
		int k = snprintf(buf + off, size - off, "%s%s",
				 i == 0 ? "" : i + 1 == nr ? last : ", ", names[i]);

		if (k < 0)
			break;
		off += (size_t)k;
	}
	return buf;
}
#endif

#endif
