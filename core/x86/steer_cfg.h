/* steer_cfg.h - configuration and counters shared by the steering XDP program and the daemon. */
#ifndef FTOE_X86_STEER_CFG_H
#define FTOE_X86_STEER_CFG_H

/*
 * Included by core/x86/steer.bpf.c (clang -target bpf) and by the daemon,
 * so only fixed-width types that both sides have.  The config lives in the
 * program's .rodata (a `const volatile` global), written by the daemon
 * between open and load; the verifier then treats it as a constant.
 */
#define FTOE_STEER_PROG_NAME "flextoe_steer"  /* < BPF_OBJ_NAME_LEN */
#define FTOE_STEER_MAX_QUEUES 64               /* XSKMAP size */

struct ftoe_steer_cfg {
	__u32 engine_ip;   /* network byte order */
	__u32 owner_pid;   /* the daemon that attached it: stale-attachment check */
	__u8 engine_ip6[16]; /* the IPv6 address, network byte order */
	__u32 has_ip6;     /* engine_ip6 is set */
};

/* Per-CPU counters, indexes of the "stats" array map. */
enum ftoe_steer_stat {
	FTOE_STEER_TCP = 0,    /* TCP to the engine: redirected */
	FTOE_STEER_ARP,        /* ARP for the engine's address: redirected */
	FTOE_STEER_ICMP,       /* echo requests to the engine: redirected */
	FTOE_STEER_PASS,       /* everything else: to the kernel */
	FTOE_STEER_TCP6,       /* IPv6 to the engine (TCP, and extension headers it drops): redirected */
	FTOE_STEER_ICMP6,      /* ICMPv6 echo requests and ND for the engine: redirected */
	FTOE_STEER__MAX,
};

#endif
