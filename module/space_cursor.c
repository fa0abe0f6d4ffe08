// SPDX-License-Identifier: GPL-2.0
/*
 * Cursors that callers above the space layer hold: the load window's
 * (a page held while the MMU and the software walker look at it, and the
 * CR3 writes that keep this CPU's TLB in line with the table) and the
 * in-kernel API's (struct spt_space_cursor, a thin wrapper of the core's
 * cursor).
 */
#include <asm/tlbflush.h>

#include "shadowpt.h"
#include "space_internal.h"
#include "flush.h"
#include "tables.h"

void spt_space_load_begin(struct spt_space *s, unsigned int cpu)
{
	cpumask_set_cpu(cpu, s->loaded);
	smp_mb__after_atomic();	/* pairs with the unmappers' mask read */
}

void spt_space_load_end(struct spt_space *s, unsigned int cpu)
{
	cpumask_clear_cpu(cpu, s->loaded);
}

void spt_space_load_cr3(struct spt_space *s, int *tlb_gen)
{
	/*
	 * Changes counted up to the generation read first are covered by
	 * the flush of PCID 0 this write makes.
	 */
	*tlb_gen = spt_pt_tlb_gen(&s->pt);
	native_write_cr3(s->pt.root_pa);
}

/*
 * Make this CPU's TLB agree with the table for what a cursor holds: if
 * any change needing a flush was made since the window last flushed,
 * flush now. Under the cursor nothing it covers can change until it is
 * dropped.
 */
static void spt_space_load_sync_tlb(struct spt_space *s, int *tlb_gen)
{
	int gen = spt_pt_tlb_gen(&s->pt);

#ifdef SPT_PLANT_STALE
	/* Planted bug (scripts/plant-check): windows keep stale entries. */
	return;
#endif
	if (gen != *tlb_gen) {
		*tlb_gen = gen;
		native_write_cr3(s->pt.root_pa);
	}
}

int spt_space_load_page(struct spt_space *s, u64 va, int *tlb_gen,
			void (*fn)(const struct spt_query *q, void *arg),
			void *arg)
{
	u64 page = ALIGN_DOWN(va, PAGE_SIZE);
	struct spt_cursor c;
	struct spt_query q;
	int ret;

	ret = spt_cursor_new(&c, &s->pt, page, page + PAGE_SIZE);
	if (ret)
		return ret;
	/* Cannot fail: the cursor is at the start of its one-page range. */
	spt_cursor_query(&c, &q);
	if (tlb_gen)
		spt_space_load_sync_tlb(s, tlb_gen);
	fn(&q, arg);
	spt_cursor_drop(&c);
	return 0;
}

int spt_space_tlb_gen(struct spt_space *s)
{
	return spt_pt_tlb_gen(&s->pt);
}

int spt_space_load_page_nosync(struct spt_space *s, u64 va,
			       void (*fn)(const struct spt_query *q, void *arg),
			       void *arg)
{
	return spt_space_load_page(s, va, NULL, fn, arg);
}

int spt_space_cursor_open(struct spt_space_cursor *sc, struct spt_space *s,
			  u64 start, u64 end, bool mut, unsigned int reserve)
{
	int ret;

	sc->s = s;
	sc->mut = mut;
	spt_flusher_init(&sc->fl);
	ret = spt_space_enter(s);
	if (ret)
		return ret;
	if (mut) {
		spt_tables_change_begin(s);
		ret = spt_pool_reserve(spt_pool, reserve);
		if (!ret)
			ret = spt_cursor_mut_new(&sc->c, &s->pt, start, end,
						 &sc->fl);
	} else {
		ret = spt_cursor_new(&sc->c, &s->pt, start, end);
	}
	if (ret) {
		spt_flush_finish(s, &sc->fl);
		if (mut)
			spt_tables_change_end(s);
		spt_space_leave(s);
	}
	return ret;
}

void spt_space_cursor_close(struct spt_space_cursor *sc)
{
	spt_cursor_drop(&sc->c);
	if (sc->mut) {
		spt_flush_finish(sc->s, &sc->fl);
		spt_tables_change_end(sc->s);
	}
	spt_space_leave(sc->s);
}

u64 spt_space_cursor_va(const struct spt_space_cursor *sc)
{
	return spt_cursor_va(&sc->c);
}

u64 spt_space_cursor_end(const struct spt_space_cursor *sc)
{
	return sc->c.end;
}

int spt_space_cursor_query(struct spt_space_cursor *sc, struct spt_query *q)
{
	return spt_cursor_query(&sc->c, q);
}

bool spt_space_cursor_find_next(struct spt_space_cursor *sc, u64 len)
{
	return spt_cursor_find_next(&sc->c, len);
}

int spt_space_cursor_jump(struct spt_space_cursor *sc, u64 va)
{
	return spt_cursor_jump(&sc->c, va);
}

int spt_space_cursor_map(struct spt_space_cursor *sc,
			 const struct spt_item *item,
			 const struct spt_prop *prop, bool replace)
{
	int ret;

	if (!replace) {
		ret = spt_space_expect_empty(&sc->c,
					     spt_level_size(item->level));
		if (ret)
			return ret;
	}
	return spt_cursor_map(&sc->c, item, prop, NULL);
}

long spt_space_cursor_unmap(struct spt_space_cursor *sc, u64 len)
{
	return spt_cursor_unmap(&sc->c, len);
}

int spt_space_cursor_protect_next(struct spt_space_cursor *sc, u64 len,
				  const struct spt_prot_op *op, u64 *start,
				  u64 *end)
{
	return spt_cursor_protect_next(&sc->c, len, op, start, end);
}
