/* queue.c - per-direction release queue and reorder hold slots of the impair relay. */
#include <stdlib.h>

#include "impair.h"

void queue_push(struct direction *d, struct frame *f, uint64_t due)
{
	/* Keeping due times monotonic is what lets a FIFO serve as the
	 * timer queue (see struct frame_fifo). */
	if (due < d->last_due_ns)
		due = d->last_due_ns;
	d->last_due_ns = due;
	f->due_ns = due;
	f->next = NULL;
	if (d->queue.tail)
		d->queue.tail->next = f;
	else
		d->queue.head = f;
	d->queue.tail = f;
	d->queue.count++;
}

static struct frame *queue_pop(struct direction *d)
{
	struct frame *f = d->queue.head;

	d->queue.head = f->next;
	if (!d->queue.head)
		d->queue.tail = NULL;
	d->queue.count--;
	return f;
}

void dir_expire_holds(struct direction *d, uint64_t now)
{
	int i, k = 0;

	/* Held frames keep arrival order and their deadlines grow with it,
	 * so the expired ones are a prefix. */
	for (i = 0; i < d->nheld && d->held_deadline[i] <= now; i++) {
		queue_push(d, d->held[i], d->held_deadline[i]);
		d->cnt.hold_expired++;
	}
	for (; i < d->nheld; i++, k++) {
		d->held[k] = d->held[i];
		d->held_deadline[k] = d->held_deadline[i];
	}
	d->nheld = k;
}

void dir_release(struct direction *d, uint64_t now)
{
	struct frame *batch[IMPAIR_BATCH];
	int n;

	for (;;) {
		n = 0;
		while (n < IMPAIR_BATCH && d->queue.head && d->queue.head->due_ns <= now)
			batch[n++] = queue_pop(d);
		if (!n)
			return;
		link_tx(d->out, batch, n, &d->cnt);
		for (int i = 0; i < n; i++)
			free(batch[i]);
	}
}

uint64_t dir_next_deadline(const struct direction *d)
{
	uint64_t t = UINT64_MAX;

	if (d->queue.head)
		t = d->queue.head->due_ns;
	if (d->nheld && d->held_deadline[0] < t)
		t = d->held_deadline[0];
	return t;
}

void dir_free(struct direction *d)
{
	while (d->queue.head)
		free(queue_pop(d));
	for (int i = 0; i < d->nheld; i++)
		free(d->held[i]);
	d->nheld = 0;
}
