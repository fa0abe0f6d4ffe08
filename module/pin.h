/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pinned user pages (SPT_MAP_USER, pin.c): the caller's pages pinned
 * FOLL_LONGTERM and charged to its user's RLIMIT_MEMLOCK (locked_vm, as
 * io_uring does), one struct spt_pin per pinned leaf.
 *
 * While a pin's leaf is mapped, the pin is in its space's table of pins
 * (spt_space.pins, keyed by page frame number; pins of the same page are
 * chained): the core's unpin hook takes one pin of the page out when a
 * pinned leaf goes and queues it on the cursor's flusher, which hands it
 * back (spt_pins_put_list()) after the TLB flush and grace period, like a
 * frame. The pins of one page are interchangeable: each carries its own
 * charge and user, so every total stays exact.
 */
#ifndef SPT_PIN_H
#define SPT_PIN_H

#include <linux/types.h>

struct page;
struct user_struct;
struct spt_space;

struct spt_pin {
	/* In the table: the next pin of the page; queued: the next one. */
	struct spt_pin *next;
	struct page *page;
	struct user_struct *user;	/* charged, or NULL (CAP_IPC_LOCK) */
	bool write;			/* pinned FOLL_WRITE */
};

/*
 * Pin the @nr pages of the caller at @uaddr (writable if @write) into
 * @pins[0..nr), charging them to the caller's RLIMIT_MEMLOCK unless it
 * has CAP_IPC_LOCK. 0, -ENOMEM (over the limit, or no memory), -EFAULT
 * (or what pinning gave): then nothing is pinned or charged.
 */
int spt_pins_get(u64 uaddr, unsigned long nr, bool write,
		 struct spt_pin **pins);

/* Unpin (dirty if written), uncharge and free one pin. Sleeps. */
void spt_pin_put(struct spt_pin *p);

/* spt_pin_put() every pin of a queued list (struct spt_flusher.pinned). */
void spt_pins_put_list(void *list);

/* A new space's table of pins, and the core's unpin hook for its table. */
void spt_pins_init(struct spt_space *s);
/* After the teardown: the table must be empty. */
void spt_pins_destroy(struct spt_space *s);

/* Put @p in @s's table before its leaf is mapped: 0 or -ENOMEM. */
int spt_pin_add(struct spt_space *s, struct spt_pin *p);

/*
 * Take a pin of @p's page out of @s's table again (its leaf was not
 * mapped): returns the one taken, the caller's to put.
 */
struct spt_pin *spt_pin_take(struct spt_space *s, struct spt_pin *p);

/* The pins in @s's table (CHECK compares them with its pinned leaves). */
unsigned long spt_pins_count(struct spt_space *s);

#endif /* SPT_PIN_H */
