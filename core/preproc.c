/* preproc.c - pre-processing stage: validate, flow lookup, summary; divert the slow path. */
#include <errno.h>
#include <string.h>

#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/slowpath.h"

/* The upper 96 bits of an IPv6 address (raw header bytes) against a copy
 * kept as three words.  Three loads rather than memcmp: the NFP build has
 * no memcmp (core/nfp/allow.txt) and this runs on every IPv6 segment. */
static inline bool hi96_eq(const uint8_t addr[12], const uint32_t hi[3])
{
	uint32_t w[3];

	memcpy(w, addr, sizeof(w));
	return ((w[0] ^ hi[0]) | (w[1] ^ hi[1]) | (w[2] ^ hi[2])) == 0;
}

/* Is a parsed TCP segment addressed to one of the engine's addresses? */
static inline bool seg_for_us(const struct ftoe_engine *e, const struct ftoe_seg *s)
{
	if (__builtin_expect(s->family == 4, 1))
		return s->daddr4 == e->local_ip;
	return s->family == 6 && engine_has_ip6(e) && s->daddr4 == e->local6_lo &&
	       hi96_eq(s->daddr, e->local6_hi);
}

/* Is slot id (a hint) one of the segment's flow group's, so that its
 * state may be read under that group's lock (engine_internal.h
 * flow_tag)? */
static inline __attribute__((always_inline)) bool
slot_of_group(const struct ftoe_engine *e, uint32_t id, const struct ftoe_seg *s)
{
	return id < e->nflows &&
	       __atomic_load_n(&e->flow_tag[id], __ATOMIC_ACQUIRE) ==
		       ftoe_flow_tag(s->family, s->saddr4, s->daddr4, s->sport, s->dport);
}

/* Does flow id (a hint from another thread, or the flow cache) still name
 * the segment's synchronized flow?  Engine thread (or the segment's flow
 * group's): conn[] and ctl[] of its group's slots are its own. */
static inline __attribute__((always_inline)) bool
hint_holds(struct ftoe_engine *e, uint32_t id, const struct ftoe_seg *s)
{
	const struct flow_conn *fc;

	if (!slot_of_group(e, id, s) || !e->ctl[id].in_use ||
	    !tcp_state_synced(e->ctl[id].state))
		return false;
	fc = &e->conn[id];
	/* Valid, and of the segment's family (one compare for both bits). */
	if ((fc->flags & (FLOW_CONN_VALID | FLOW_CONN_IPV6)) !=
	    (FLOW_CONN_VALID | (s->family == 6 ? FLOW_CONN_IPV6 : 0)))
		return false;
	if (fc->local_ip != s->daddr4 || fc->remote_ip != s->saddr4 ||
	    fc->local_port != s->dport || fc->remote_port != s->sport)
		return false;
	return !(fc->flags & FLOW_CONN_IPV6) ||
	       (hi96_eq(s->daddr, fc->local_hi) && hi96_eq(s->saddr, fc->remote_hi));
}

/* A frame that did not parse; checksum failures are also counted on their
 * own (InCsumErrors for flextoe-stat counters). */
static void count_malformed(struct ftoe_engine *e, const struct ftoe_seg *s)
{
	FTOE_ST_INC(e, rx_malformed);
	if (s->err == FTOE_SEG_ERR_TCP_CSUM || s->err == FTOE_SEG_ERR_IP_CSUM)
		FTOE_ST_INC(e, rx_bad_csum);
}

/* An IPv6 frame with extension headers (hop-by-hop, routing, fragment,
 * ...) is nobody's on this engine: no TCP segment of ours needs one, and
 * walking chains of them is what attacks on stacks aim at (RFC 7112,
 * RFC 9098).  Dropped and counted. */
static inline bool ip6_ext(const struct ftoe_seg *s)
{
	return s->family == 6 && (s->slow & FTOE_SLOW_FRAG);
}

/* The engine-thread lookup: the flow cache, checked, then the table
 * (whose keyed hash is the costly part of a lookup). */
static int flow_of(struct ftoe_engine *e, const struct ftoe_seg *s, uint32_t *id)
{
	uint32_t slot = ((s->saddr4 ^ ((uint32_t)s->sport << 16 | s->dport)) * 0x9e3779b1u) >>
			(32 - __builtin_ctz(FTOE_FLOW_CACHE));
	struct ftoe_flow_key key;

	/* (relaxed atomics: flow groups' protocol stages share the cache, and
	 * an entry is only ever a hint that hint_holds checks) */
	*id = __atomic_load_n(&e->flow_cache[slot], __ATOMIC_RELAXED);
	if (hint_holds(e, *id, s))
		return 0;
	ftoe_seg_flow_key(s, &key);
	/* (the table's lock-free readers may see a slot just freed and
	 * taken by another flow: its tag says so) */
	if (ftoe_ft_lookup(&e->ft, &key, id) || !slot_of_group(e, *id, s) ||
	    !tcp_state_synced(e->ctl[*id].state))
		return -ENOENT;
	__atomic_store_n(&e->flow_cache[slot], *id, __ATOMIC_RELAXED);
	return 0;
}

/*
 * FlexTOE section 4 "pre-processing": parse and validate each frame once
 * (core/segment.c: lengths, checksums, options), look the flow up, and pass
 * a summary on.  Everything that is not a plain segment of a synchronized
 * flow - SYN, RST, unknown flows, unusual options, handshakes in progress -
 * is queued for the control plane (FTOE_SP_SEG, core/slowpath.h), which may
 * re-inject it.  The stage stops right after queuing one, so the engine
 * drains it before the next frame is looked up: a SYN-cookie ACK or a RST
 * takes effect for the frames behind it, as when the control plane was
 * called from here.  The queued item sits in items[k], the next free slot,
 * until that drain.
 */
unsigned ftoe_preproc(struct ftoe_engine *e, void *const frames[], const uint16_t lens[],
		      const struct flextoe_md *const mds[], unsigned n,
		      struct ftoe_rx_item *items, unsigned *used)
{
	unsigned i, k = 0;

	for (i = 0; i < n; i++) {
		struct ftoe_rx_item *it = &items[k];
		uint32_t id;

		FTOE_ST_INC(e, rx_frames);
		if (ftoe_seg_parse(frames[i], lens[i], 0, &it->seg)) {
			count_malformed(e, &it->seg);
			continue;
		}
		it->frame = frames[i];
		if (it->seg.ip_proto != FTOE_IPPROTO_TCP || !seg_for_us(e, &it->seg)) {
			/* not for us (ARP/ICMP are the backend's) */
			if (ip6_ext(&it->seg))
				FTOE_ST_INC(e, rx_ip6_ext);
			else
				FTOE_ST_INC(e, rx_not_ours);
			continue;
		}
		if (ftoe_seg_fast_path(&it->seg) && !flow_of(e, &it->seg, &id)) {
			FTOE_ST_INC(e, rx_fast);
			it->flow = id;
			it->res = 0;
			k++;
			continue;
		}
		/* slow by its headers, an unknown flow (maybe a SYN-cookie
		 * ACK) or a handshake in progress */
		FTOE_ST_INC(e, rx_slow);
		it->md = mds ? mds[i] : NULL;	/* the control plane's to read */
		ftoe_sp_push(&e->sp, FTOE_SP_SEG, FTOE_NO_FLOW, 0, it);
		*used = i + 1;
		return k;
	}
	return k;
}

/*
 * The same stage split for a pipelined backend (core/x86/pipe.c): the part
 * that reads no mutable engine state runs on the ingress threads, the rest
 * on the one thread that owns the engine.
 *
 * ftoe_preproc_prepare() parses and validates the frame (checksums
 * included: the costly part), and looks the flow up in the flow table,
 * whose readers are lock-free (core/flow_table.h).  It writes only *it;
 * any number of threads may call it concurrently with the engine's thread.
 * Its flow id is a hint: by the time the engine's thread sees the item the
 * flow may have closed and its id been reused, so ftoe_preproc_claim()
 * checks the hint against the flow's identity and state, which only the
 * engine's thread writes, and looks again when it does not hold.
 */
void ftoe_preproc_prepare(const struct ftoe_engine *e, void *frame, uint16_t len,
			  const struct flextoe_md *md, struct ftoe_rx_item *it)
{
	struct ftoe_flow_key key;
	uint32_t id;

	ftoe_preproc_parse(e, frame, len, md, it);
	if (it->res != FTOE_RXP_FAST)
		return;
	ftoe_seg_flow_key(&it->seg, &key);
	if (!ftoe_ft_lookup(&e->ft, &key, &id))
		it->flow = id;
}

/* A backend that runs on the engine's thread (core/x86/worker.c) parses
 * with this as it receives, and hands the items over as they are: the
 * segment is parsed once, and its flow comes from the engine's flow cache
 * in ftoe_preproc_claim rather than from the keyed-hash table here. */
void ftoe_preproc_parse(const struct ftoe_engine *e, void *frame, uint16_t len,
			const struct flextoe_md *md, struct ftoe_rx_item *it)
{
	it->frame = frame;
	it->md = md;
	it->flow = FTOE_NO_FLOW;
	if (ftoe_seg_parse(frame, len, 0, &it->seg)) {
		it->res = FTOE_RXP_MALFORMED;
		return;
	}
	if (it->seg.ip_proto != FTOE_IPPROTO_TCP || !seg_for_us(e, &it->seg)) {
		it->res = FTOE_RXP_NOT_OURS;
		return;
	}
	if (!ftoe_seg_fast_path(&it->seg)) {
		it->res = FTOE_RXP_SLOW;
		return;
	}
	it->res = FTOE_RXP_FAST;
}

bool ftoe_preproc_claim(struct ftoe_engine *e, struct ftoe_rx_item *it)
{
	uint32_t id = it->flow;

	if (it->res != FTOE_RXP_FAST)
		return false;
	if (id == FTOE_NO_FLOW || !hint_holds(e, id, &it->seg)) {
		if (flow_of(e, &it->seg, &id))
			return false;
	}
	FTOE_ST_INC(e, rx_frames);
	FTOE_ST_INC(e, rx_fast);
	it->flow = id;
	it->res = 0;
	return true;
}

void ftoe_preproc_count_malformed(struct ftoe_engine *e, const struct ftoe_rx_item *it)
{
	FTOE_ST_INC(e, rx_frames);
	count_malformed(e, &it->seg);
}

void ftoe_preproc_divert(struct ftoe_engine *e, struct ftoe_rx_item *it)
{
	if (it->res == FTOE_RXP_MALFORMED) {
		ftoe_preproc_count_malformed(e, it);
		return;
	}
	FTOE_ST_INC(e, rx_frames);
	if (it->res == FTOE_RXP_NOT_OURS) {
		if (ip6_ext(&it->seg))
			FTOE_ST_INC(e, rx_ip6_ext);
		else
			FTOE_ST_INC(e, rx_not_ours);
		return;
	}
	/* slow by its headers, or an unknown or unsynchronized flow (maybe
	 * a SYN-cookie ACK, or a handshake in progress): the control
	 * plane's, which the engine drains right after */
	FTOE_ST_INC(e, rx_slow);
	ftoe_sp_push(&e->sp, FTOE_SP_SEG, FTOE_NO_FLOW, 0, it);
}
