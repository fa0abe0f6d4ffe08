/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page properties between the uAPI (SPT_PROT_*, enum spt_cache_mode) and
 * the core (struct spt_prop). The two enums have the same values on
 * purpose; the static_asserts keep them so.
 */
#ifndef SPT_PROP_H
#define SPT_PROP_H

#include <linux/shadowpt.h>
#include "core/pt.h"

static_assert((int)SPT_CACHE_MODE_WB == (int)SPT_CACHE_WB);
static_assert((int)SPT_CACHE_MODE_WT == (int)SPT_CACHE_WT);
static_assert((int)SPT_CACHE_MODE_UC_MINUS == (int)SPT_CACHE_UC_MINUS);
static_assert((int)SPT_CACHE_MODE_UC == (int)SPT_CACHE_UC);
static_assert((int)SPT_CACHE_MODE_WC == (int)SPT_CACHE_WC);
static_assert((int)SPT_CACHE_MODE_PAT0 == (int)SPT_CACHE_PAT0);
static_assert((int)SPT_CACHE_MODE_PAT7 == (int)SPT_CACHE_PAT7);

/* What a caller may ask for: no global bit, no hardware-owned bits. */
#define SPT_PROT_SETTABLE	(SPT_PROT_WRITE | SPT_PROT_EXEC | SPT_PROT_USER)

/* Returns false (EINVAL) for unknown or refused bits or cache modes. */
static inline bool spt_prop_from_uapi(u32 prot, u32 cache,
				      struct spt_prop *prop)
{
	if (prot & ~SPT_PROT_SETTABLE || cache >= SPT_CACHE_NR)
		return false;
	prop->flags = prot;
	prop->cache = cache;
	return true;
}

static inline u32 spt_prop_to_uapi(const struct spt_prop *prop)
{
	return prop->flags & SPT_PROT_ALL;
}

#endif /* SPT_PROP_H */
