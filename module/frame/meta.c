// SPDX-License-Identifier: GPL-2.0
/*
 * The reference-count state machine of the meta slots (see meta.h):
 *
 *   UNUSED --claim--> 1 (or UNIQUE) --get--> 2..MAX
 *   UNIQUE --unique_to_shared--> 1
 *   n --put--> n - 1; 1 --put--> 0 (the caller frees the frame)
 *
 * Every transition is a cmpxchg loop on the current value, so a slot in a
 * state the transition does not start from is refused (and, for put and
 * the one-shot transitions, reported) instead of being wrapped or revived.
 * Portable: built into the module and into the host tests.
 */
#include "meta.h"

static inline bool spt_ref_in_use(u32 ref)
{
	return ref >= 1 && ref <= SPT_REF_MAX;
}

bool spt_meta_get_many(struct spt_meta *m, u32 n)
{
	u32 old = spt_meta_ref(m);

	for (;;) {
		u32 seen;

		if (!spt_ref_in_use(old) || n > SPT_REF_MAX - old)
			return false;
		seen = (u32)atomic_cmpxchg(&m->refcount, (int)old,
					   (int)(old + n));
		if (seen == old)
			return true;
		old = seen;
	}
}

bool spt_meta_get(struct spt_meta *m)
{
	return spt_meta_get_many(m, 1);
}

bool spt_meta_put(struct spt_meta *m)
{
	u32 old = spt_meta_ref(m);

	for (;;) {
		u32 seen;

		if (WARN_ON_ONCE(!spt_ref_in_use(old)))
			return false;
		seen = (u32)atomic_cmpxchg(&m->refcount, (int)old,
					   (int)(old - 1));
		if (seen == old)
			return old == 1;
		old = seen;
	}
}

void spt_meta_claim(struct spt_meta *m, enum spt_usage usage, bool unique)
{
	u32 new = unique ? SPT_REF_UNIQUE : 1;
	u32 seen;

	m->usage = usage;
	/* The fields above must be visible before the slot is in use. */
	seen = (u32)atomic_cmpxchg(&m->refcount, (int)SPT_REF_UNUSED,
				   (int)new);
	WARN_ON_ONCE(seen != SPT_REF_UNUSED);
}

void spt_meta_unique_to_shared(struct spt_meta *m)
{
	u32 seen = (u32)atomic_cmpxchg(&m->refcount, (int)SPT_REF_UNIQUE, 1);

	WARN_ON_ONCE(seen != SPT_REF_UNIQUE);
}
