/* fault.c - the impairments: seeded randomness, loss, duplication, corruption, delay, reordering. */
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/log.h"
#include "impair.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* xoshiro256** needs a state that is not all zero; splitmix64 expands one
 * 64-bit seed into such a state, as its authors recommend. */
void rng_seed(struct impair_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct impair_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* Uniform in [0, 1) with 53 bits, the precision of a double. */
static double rng_unit(struct impair_rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

bool rng_chance(struct impair_rng *r, double p)
{
	/* No draw for a disabled impairment, so turning one on in one
	 * direction does not shift the other impairments' sequence. */
	if (p <= 0)
		return false;
	return rng_unit(r) < p;
}

/* Offset of the network header, skipping up to two VLAN tags (802.1Q,
 * 802.1ad QinQ); 0 if the frame is not IPv4/IPv6. */
static uint32_t l3_offset(const uint8_t *data, uint32_t len)
{
	uint32_t off = 12;
	uint16_t type;

	for (int tags = 0; tags <= 2; tags++) {
		if (off + 2 > len)
			return 0;
		memcpy(&type, data + off, 2);
		type = ntohs(type);
		if (type == ETH_P_IP || type == ETH_P_IPV6)
			return off + 2 < len ? off + 2 : 0;
		if (type != ETH_P_8021Q && type != ETH_P_8021AD)
			return 0;
		off += 4;
	}
	return 0;
}

bool fault_corrupt(struct impair_rng *r, uint8_t *data, uint32_t len)
{
	uint32_t off = l3_offset(data, len);
	uint64_t bit;

	/* Only IP frames: the IPv4 header checksum and the TCP/UDP/ICMP
	 * checksums detect every single-bit error (RFC 1071), so the receiver
	 * drops the frame as a real corrupted frame would be dropped.  ARP has
	 * no checksum; corrupting it would poison neighbour tables instead. */
	if (!off)
		return false;
	bit = rng_next(r) % ((uint64_t)(len - off) * 8);
	data[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	return true;
}

static struct frame *frame_new(const uint8_t *data, uint32_t len)
{
	struct frame *f = malloc(sizeof(*f) + len);

	if (!f)
		return NULL;
	f->next = NULL;
	f->len = len;
	memcpy(f->data, data, len);
	return f;
}

/* Delay plus uniform jitter in [-jitter, +jitter], never below zero and
 * never ahead of the frame before it: jitter varies the delay but keeps
 * the direction in order, so reordering happens only when asked for. */
static uint64_t due_time(struct direction *d, uint64_t now)
{
	int64_t delay = (int64_t)d->prof.delay_ns;
	uint64_t due;

	if (d->prof.jitter_ns) {
		double u = rng_unit(&d->rng) * 2.0 - 1.0;

		delay += (int64_t)(u * (double)d->prof.jitter_ns);
		if (delay < 0)
			delay = 0;
	}
	due = now + (uint64_t)delay;
	return due < d->last_due_ns ? d->last_due_ns : due;
}

void dir_ingest(struct direction *d, const uint8_t *data, uint32_t len, uint64_t now)
{
	struct frame *copies[2];
	int ncopies = 1, n = 0;
	bool reorder;
	uint64_t due;

	d->cnt.rx++;
	if (rng_chance(&d->rng, d->prof.loss)) {
		d->cnt.dropped++;
		return;
	}
	if (rng_chance(&d->rng, d->prof.dup))
		ncopies = 2;
	for (int i = 0; i < ncopies; i++) {
		if (d->queue.count + (uint32_t)d->nheld + (uint32_t)n >= d->limit) {
			d->cnt.overflow++;
			continue;
		}
		copies[n] = frame_new(data, len);
		if (!copies[n]) {
			d->cnt.overflow++;
			continue;
		}
		if (i == 1)
			d->cnt.duplicated++;
		n++;
	}
	if (!n)
		return;
	/* Like a wire, corrupt the one frame on it, not its duplicate. */
	if (rng_chance(&d->rng, d->prof.corrupt) &&
	    fault_corrupt(&d->rng, copies[0]->data, copies[0]->len))
		d->cnt.corrupted++;
	reorder = rng_chance(&d->rng, d->prof.reorder);
	due = due_time(d, now);

	if (reorder && d->nheld + n <= IMPAIR_HOLD_MAX) {
		/* Held back until the next frame passes it (or hold_ns ends). */
		for (int i = 0; i < n; i++) {
			copies[i]->due_ns = due;
			d->held_deadline[d->nheld] = due + d->prof.hold_ns;
			d->held[d->nheld++] = copies[i];
		}
		return;
	}
	for (int i = 0; i < n; i++)
		queue_push(d, copies[i], due);
	/* This frame overtakes everything held: release those right behind it. */
	for (int i = 0; i < d->nheld; i++) {
		queue_push(d, d->held[i], due);
		d->cnt.reordered++;
	}
	d->nheld = 0;
}
