// SPDX-License-Identifier: GPL-2.0
/*
 * SPT_IOCTL_ENTRY_BITS on a space: deliberate bits on the entries of one
 * level (core: spt_cursor_entry_bits()). One cursor over whole nodes of
 * that level (a level-L entry lives in a node of level L, which the
 * cursor must hold locked), allocating nothing; the changed entries' spans
 * are flushed like a PROTECT's.
 */
#include <linux/shadowpt.h>

#include "shadowpt.h"
#include "space_internal.h"
#include "flush.h"

int spt_space_entry_bits(struct spt_space *s, unsigned int level, u64 va,
			 u64 len, u64 clear, u64 set, u64 *entries,
			 u64 *changed, u64 *first)
{
	struct spt_bits_op op = {
		.level = level, .va = va, .end = va + len,
		.clear = clear, .set = set,
	};
	struct spt_flusher fl;
	struct spt_cursor c;
	int ret;

	*entries = 0;
	*changed = 0;
	*first = 0;
	if (!level || level > s->pt.cfg->levels)
		return -EINVAL;
	ret = spt_space_enter(s);
	if (ret)
		return ret;
	spt_flusher_init(&fl);
	ret = spt_cursor_bits_new(&c, &s->pt, level, va, va + len, &fl);
	if (!ret) {
		ret = spt_cursor_entry_bits(&c, &op);
		spt_cursor_drop(&c);
	}
	spt_flush_finish(s, &fl);
	spt_space_leave(s);
	*entries = op.entries;
	*changed = op.changed;
	*first = op.first;
	return ret;
}
