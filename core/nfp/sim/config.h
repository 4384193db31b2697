/* config.h - flextoe-nfpsim's model parameters (core/nfp/sim/nfpsim.conf), listed once. */
#ifndef FTOE_NFPSIM_CONFIG_H
#define FTOE_NFPSIM_CONFIG_H

/* X(name): a double each; every one must be set by the file. */
#define SIM_PARAM_LIST(X)                                                          \
	X(clock_mhz) X(contexts) X(ctx_swap_cycles) X(cpi)                          \
	X(lat_lm) X(lat_cls) X(lat_ctm) X(lat_imem) X(lat_emem)                     \
	X(bw_cls) X(bw_ctm) X(bw_imem) X(bw_emem)                                   \
	X(pcie_gbps) X(pcie_lat_ns) X(dma_ir)                                       \
	X(mac_ports) X(mac_gbps) X(wire_lat_ns)                                     \
	X(host_turnaround_ns) X(rpc_window) X(bulk_window) X(mss) X(rpc_size)      \
	X(ir_pre_rpc) X(ir_proto_rpc) X(ir_post_rpc) X(ir_sched_rpc)                \
	X(ir_proto_tx_rpc) X(ir_tx_build_rpc)                                       \
	X(ir_pre_bulk) X(ir_proto_bulk) X(ir_post_bulk) X(ir_sched_bulk)            \
	X(ir_proto_tx_bulk) X(ir_tx_build_bulk)                                     \
	X(bpf_alu64) X(bpf_alu32) X(bpf_mul) X(bpf_div) X(bpf_shift64)            \
	X(bpf_shift32) X(bpf_bswap) X(bpf_jmp64) X(bpf_jmp32) X(bpf_ja)           \
	X(bpf_ldx_stack) X(bpf_ldx_pkt) X(bpf_ldx_mem) X(bpf_st_stack)            \
	X(bpf_st_pkt) X(bpf_st_mem) X(bpf_atomic) X(bpf_ld_imm64) X(bpf_call)     \
	X(bpf_call_local) X(bpf_exit) X(bpf_pkt_cache_bytes) X(bpf_map_cmds)      \
	X(bpf_map_bytes) X(bpf_mem_per_cmd)                                                        \
	X(warmup_us) X(measure_us)

struct sim_params {
#define SIM_PARAM_FIELD_(n) double n;
	SIM_PARAM_LIST(SIM_PARAM_FIELD_)
#undef SIM_PARAM_FIELD_
};

/* Read path into *p: 0, or -errno with a message naming the file, the
 * line and what is wrong (unknown key, bad number, a key missing). */
int sim_params_load(const char *path, struct sim_params *p);

#endif
