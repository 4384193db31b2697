/* map_types.h - every map type the runtime implements, listed once, as the kernel's include/linux/bpf_types.h.
 *
 * No include guard: a table that needs the list defines
 * EBPF_MAP_TYPE(type, ops, percpu) and includes this file, e.g. the ops
 * lookup (map.c), the ops declarations (internal.h), ebpf_map_type_supported
 * and ebpf_map_type_percpu.  A new map type is one line here plus its
 * map_*.c.  percpu: the value is one slot per CPU, so a user-side lookup
 * moves ebpf_nr_cpus() values rounded to 8 bytes (as bpf(2) does).
 */
EBPF_MAP_TYPE(BPF_MAP_TYPE_ARRAY,		ebpf_array_map_ops,		0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_PERCPU_ARRAY,	ebpf_percpu_array_map_ops,	1)
EBPF_MAP_TYPE(BPF_MAP_TYPE_PROG_ARRAY,		ebpf_prog_array_map_ops,	0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_HASH,		ebpf_htab_map_ops,		0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_PERCPU_HASH,		ebpf_percpu_htab_map_ops,	1)
EBPF_MAP_TYPE(BPF_MAP_TYPE_LRU_HASH,		ebpf_lru_htab_map_ops,		0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_LRU_PERCPU_HASH,	ebpf_lru_percpu_htab_map_ops,	1)
EBPF_MAP_TYPE(BPF_MAP_TYPE_LPM_TRIE,		ebpf_lpm_trie_map_ops,		0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_RINGBUF,		ebpf_ringbuf_map_ops,		0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_ARRAY_OF_MAPS,	ebpf_map_of_maps_ops,		0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_HASH_OF_MAPS,	ebpf_map_of_maps_ops,		0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_PERF_EVENT_ARRAY,	ebpf_perf_event_array_map_ops,	0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_DEVMAP,		ebpf_redirect_target_map_ops,	0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_DEVMAP_HASH,		ebpf_redirect_target_map_ops,	0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_CPUMAP,		ebpf_redirect_target_map_ops,	0)
EBPF_MAP_TYPE(BPF_MAP_TYPE_XSKMAP,		ebpf_redirect_target_map_ops,	0)
