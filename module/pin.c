// SPDX-License-Identifier: GPL-2.0
/*
 * Pinned user pages (SPT_MAP_USER): see pin.h.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <linux/cred.h>
#include <linux/capability.h>
#include <linux/sched/user.h>
#include <linux/sched/signal.h>

#include "shadowpt.h"
#include "failinject.h"
#include "space_internal.h"
#include "pin.h"

/* __io_account_mem(): charge @nr pages to @user's locked_vm, or -ENOMEM. */
static int spt_pins_charge(struct user_struct *user, unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	long cur = atomic_long_read(&user->locked_vm), new;

	do {
		new = cur + nr;
		if (new < cur || new > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));
	return 0;
}

static void spt_pins_uncharge(struct user_struct *user, unsigned long nr)
{
	atomic_long_sub(nr, &user->locked_vm);
}

void spt_pin_put(struct spt_pin *p)
{
	unpin_user_pages_dirty_lock(&p->page, 1, p->write);
	if (p->user) {
		spt_pins_uncharge(p->user, 1);
		free_uid(p->user);
	}
	kfree(p);
}

void spt_pins_put_list(void *list)
{
	struct spt_pin *p = list, *next;

	for (; p; p = next) {
		next = p->next;
		spt_pin_put(p);
		cond_resched();
	}
}

int spt_pins_get(u64 uaddr, unsigned long nr, bool write,
		 struct spt_pin **pins)
{
	unsigned int gup = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	struct user_struct *user = NULL;
	struct page **pages;
	unsigned long done = 0, i;
	int ret;

	pages = kvmalloc_array(nr, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		pins[i] = spt_kmalloc(sizeof(*pins[i]), GFP_KERNEL_ACCOUNT);
		if (!pins[i]) {
			ret = -ENOMEM;
			goto out_free;
		}
	}
	if (!capable(CAP_IPC_LOCK)) {
		user = current_user();
		ret = spt_pins_charge(user, nr);
		if (ret)
			goto out_free;
	}
	while (done < nr) {
		unsigned long want = min_t(unsigned long, nr - done, INT_MAX);
		long n = pin_user_pages_fast(uaddr + (done << PAGE_SHIFT),
					     want, gup, pages + done);

		if (n <= 0) {
			ret = n ? n : -EFAULT;
			unpin_user_pages(pages, done);
			if (user)
				spt_pins_uncharge(user, nr);
			goto out_free;
		}
		done += n;
	}
	for (i = 0; i < nr; i++) {
		pins[i]->next = NULL;
		pins[i]->page = pages[i];
		pins[i]->write = write;
		pins[i]->user = user ? get_uid(user) : NULL;
	}
	kvfree(pages);
	return 0;
out_free:
	for (i = 0; i < nr && pins[i]; i++) {
		kfree(pins[i]);
		pins[i] = NULL;
	}
	kvfree(pages);
	return ret;
}

/* The core's hook: a pinned leaf of @pa went; queue one pin of it. */
static void spt_pins_unpin(struct spt_pt *pt, u64 pa, bool write,
			   struct spt_flusher *fl)
{
	struct spt_space *s = container_of(pt, struct spt_space, pt);
	unsigned long pfn = pa >> PAGE_SHIFT;
	struct spt_pin *head, *p;

	xa_lock(&s->pins);
	head = xa_load(&s->pins, pfn);
	if (WARN_ON_ONCE(!head)) {
		xa_unlock(&s->pins);
		return;
	}
	p = head->next;
	if (p)
		head->next = p->next;
	else
		p = __xa_erase(&s->pins, pfn);
	xa_unlock(&s->pins);
	p->next = fl->pinned;
	fl->pinned = p;
	fl->nr_pinned++;
}

void spt_pins_init(struct spt_space *s)
{
	xa_init(&s->pins);
	s->pt.unpin = spt_pins_unpin;
}

void spt_pins_destroy(struct spt_space *s)
{
	WARN_ON_ONCE(!xa_empty(&s->pins));
	xa_destroy(&s->pins);
}

int spt_pin_add(struct spt_space *s, struct spt_pin *p)
{
	unsigned long pfn = page_to_pfn(p->page);
	struct spt_pin *head;
	int ret;

	if (spt_fail_alloc())
		return -ENOMEM;
	for (;;) {
		xa_lock(&s->pins);
		head = xa_load(&s->pins, pfn);
		if (head) {
			/* Another pin of the page: chained after the first. */
			p->next = head->next;
			head->next = p;
			xa_unlock(&s->pins);
			return 0;
		}
		xa_unlock(&s->pins);
		p->next = NULL;
		ret = xa_insert(&s->pins, pfn, p, GFP_KERNEL_ACCOUNT);
		if (ret != -EBUSY)
			return ret;
	}
}

struct spt_pin *spt_pin_take(struct spt_space *s, struct spt_pin *p)
{
	unsigned long pfn = page_to_pfn(p->page);
	struct spt_pin *head, *q;

	xa_lock(&s->pins);
	head = xa_load(&s->pins, pfn);
	q = head->next;
	if (q)
		head->next = q->next;
	else
		q = __xa_erase(&s->pins, pfn);
	xa_unlock(&s->pins);
	q->next = NULL;
	return q;
}

unsigned long spt_pins_count(struct spt_space *s)
{
	struct spt_pin *p;
	unsigned long idx, n = 0;

	xa_lock(&s->pins);
	xa_for_each(&s->pins, idx, p) {
		for (; p; p = p->next)
			n++;
	}
	xa_unlock(&s->pins);
	return n;
}
