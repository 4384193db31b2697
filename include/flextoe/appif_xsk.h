/* appif_xsk.h - the raw-frame socket contract: the requests on a context's UNIX connection and the frame ring in the socket's shared memory, included by the engine and libflextoe. */
#ifndef FLEXTOE_APPIF_XSK_H
#define FLEXTOE_APPIF_XSK_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

/*
 * A raw-frame socket is the engine's AF_XDP socket for an application: a
 * program at rx-pre that redirects into an XSKMAP slot holding the
 * socket's id (bpf_redirect_map) hands the frame, as the program left it,
 * to the socket's frame ring; the application reads it from there.
 *
 * The application asks on its context's UNIX connection (struct
 * appif_xsk_req, the context must exist: after the welcome); the engine
 * answers on it (struct appif_xsk_reply) and, for OPEN, passes two fds
 * (SCM_RIGHTS): the ring's memfd and the eventfd the engine writes when
 * it puts a frame into a ring the application had emptied.  A socket
 * belongs to its context: it closes with it, and its id leaves every
 * XSKMAP slot that held it (as the kernel's xsk_delete_from_maps).
 *
 * The memfd: one page of struct appif_xsk_hdr, then entries slots of
 * frame_size bytes, each a struct appif_xsk_desc and the frame's bytes.
 * Positions are free-running (slot = pos & (entries - 1)): head is the
 * engine's (frames put), tail the application's (frames read).
 */
#define APPIF_XSK_MAGIC       0x464c5853u	/* "FLXS" */
#define APPIF_XSK_MAX_ENTRIES 8192u
#define APPIF_XSK_MIN_FRAME   2048u
#define APPIF_XSK_MAX_FRAME   4096u
#define APPIF_XSK_HDR_SIZE    4096u
#define APPIF_XSK_MAP_NAME    64	/* a map's name, NUL included */

enum appif_xsk_op {
	APPIF_XSK_OPEN = 1,	/* queue, entries, frame_size -> id, fds */
	APPIF_XSK_CLOSE,	/* id */
	APPIF_XSK_UPDATE_MAP,	/* id, map: put the socket into the XSKMAP of
				 * that name at rx-pre, at key queue */
};

struct appif_xsk_req {
	uint32_t magic;		/* APPIF_XSK_MAGIC */
	uint32_t op;		/* enum appif_xsk_op */
	uint32_t id;		/* CLOSE, UPDATE_MAP */
	uint32_t queue;		/* OPEN: the queue (XSKMAP key) it is for */
	uint32_t entries;	/* OPEN: ring slots, a power of two */
	uint32_t frame_size;	/* OPEN: slot size, a power of two */
	char map[APPIF_XSK_MAP_NAME];	/* UPDATE_MAP: NUL-terminated */
};

struct appif_xsk_reply {
	uint32_t magic;
	int32_t status;		/* 0 or -errno */
	uint32_t id;		/* the socket: what its XSKMAP slot holds */
	uint32_t queue;
	uint32_t entries, frame_size;
	uint64_t shm_size;
};

/* Engine-written counters, in the header's second cache line. */
struct appif_xsk_stats {
	uint64_t rx_frames;	/* frames put into the ring */
	uint64_t rx_dropped;	/* redirected here, dropped: ring full (AF_XDP's rx_dropped) */
	uint64_t rx_too_big;	/* dropped: longer than a slot holds */
};

struct appif_xsk_hdr {
	uint32_t head;		/* engine */
	uint8_t _pad0[60];
	uint32_t tail;		/* application */
	uint8_t _pad1[60];
	struct appif_xsk_stats st;
	uint8_t _pad2[40];
	uint32_t entries, frame_size;	/* as the reply said */
};

struct appif_xsk_desc {
	uint32_t len;		/* the frame's bytes that follow */
	uint32_t _r;
};

/* Largest frame a slot of frame_size bytes holds. */
static inline uint32_t appif_xsk_frame_max(uint32_t frame_size)
{
	return frame_size - (uint32_t)sizeof(struct appif_xsk_desc);
}

static inline size_t appif_xsk_shm_size(uint32_t entries, uint32_t frame_size)
{
	return APPIF_XSK_HDR_SIZE + (size_t)entries * frame_size;
}

/* Sizes the engine accepts: 0 or -EINVAL. */
static inline int appif_xsk_check_size(uint32_t entries, uint32_t frame_size)
{
	if (!entries || entries > APPIF_XSK_MAX_ENTRIES || (entries & (entries - 1)) ||
	    frame_size < APPIF_XSK_MIN_FRAME || frame_size > APPIF_XSK_MAX_FRAME ||
	    (frame_size & (frame_size - 1)))
		return -EINVAL;
	return 0;
}

static inline struct appif_xsk_desc *appif_xsk_slot(void *shm, uint32_t pos)
{
	const struct appif_xsk_hdr *h = shm;

	return (struct appif_xsk_desc *)((uint8_t *)shm + APPIF_XSK_HDR_SIZE +
					 (size_t)(pos & (h->entries - 1)) * h->frame_size);
}

/*
 * Producer (the engine; one at a time: the caller serialises).  0 with
 * the frame in the ring, -ENOBUFS when the ring is full, -EMSGSIZE when
 * it is longer than a slot: both counted in st.  *wake: the application
 * may be asleep on the eventfd and must be woken - the ring was empty
 * before this frame as far as the consumer's published tail says.  The
 * fences pair with appif_xsk_consumer_idle: either the consumer sees the
 * new head, or the producer sees the tail that emptied the ring.  The
 * engine never trusts tail beyond clamping it (a tail past head, or more
 * than entries behind, is a full ring).
 */
static inline int appif_xsk_put(void *shm, uint32_t entries, uint32_t frame_size,
				const void *frame, uint32_t len, int *wake)
{
	struct appif_xsk_hdr *h = shm;
	uint32_t head = h->head, tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
	struct appif_xsk_desc *d;

	*wake = 0;
	if (len > appif_xsk_frame_max(frame_size)) {
		__atomic_store_n(&h->st.rx_too_big, h->st.rx_too_big + 1, __ATOMIC_RELAXED);
		return -EMSGSIZE;
	}
	if (head - tail >= entries) {
		__atomic_store_n(&h->st.rx_dropped, h->st.rx_dropped + 1, __ATOMIC_RELAXED);
		return -ENOBUFS;
	}
	/* The slot from the engine's own entries and frame_size, not the
	 * header's (the application can write those). */
	d = (struct appif_xsk_desc *)((uint8_t *)shm + APPIF_XSK_HDR_SIZE +
				      (size_t)(head & (entries - 1)) * frame_size);
	d->len = len;
	memcpy(d + 1, frame, len);
	__atomic_store_n(&h->head, head + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&h->st.rx_frames, h->st.rx_frames + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*wake = __atomic_load_n(&h->tail, __ATOMIC_RELAXED) == head;
	return 0;
}

/* Consumer: the oldest frame (its bytes at *frame, 1), or 0 when the ring
 * is empty.  The slot stays the application's until appif_xsk_release. */
static inline int appif_xsk_peek(void *shm, const void **frame, uint32_t *len)
{
	struct appif_xsk_hdr *h = shm;
	uint32_t tail = h->tail;
	const struct appif_xsk_desc *d;
	uint32_t max = appif_xsk_frame_max(h->frame_size);

	if (__atomic_load_n(&h->head, __ATOMIC_ACQUIRE) == tail)
		return 0;
	d = appif_xsk_slot(shm, tail);
	*frame = d + 1;
	*len = d->len > max ? max : d->len;
	return 1;
}

static inline void appif_xsk_release(void *shm)
{
	struct appif_xsk_hdr *h = shm;

	__atomic_store_n(&h->tail, h->tail + 1, __ATOMIC_RELEASE);
}

/* Before the consumer sleeps on the eventfd (having read it empty): 1 when
 * it may sleep, 0 when a frame arrived meanwhile. */
static inline int appif_xsk_consumer_idle(void *shm)
{
	struct appif_xsk_hdr *h = shm;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&h->head, __ATOMIC_ACQUIRE) == h->tail;
}

#endif
