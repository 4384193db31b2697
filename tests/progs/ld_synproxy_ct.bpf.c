/* ld_synproxy_ct.bpf.c - loader test: the SYN proxy built with conntrack lookups as the original has them (bpf_xdp_ct_lookup, bpf_ct_release); the engine has no conntrack, so its loader must refuse this build naming the kfunc. */
#define SYNPROXY_CT 1
#include "ld_synproxy.bpf.c"
