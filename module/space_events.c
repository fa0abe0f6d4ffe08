// SPDX-License-Identifier: GPL-2.0
/*
 * The space layer's events (space_events.h): one blocking notifier chain,
 * so that a subscriber may sleep (allocate a message, create a debugfs
 * directory) and the events of one task reach it in order.
 */
#include <linux/notifier.h>

#include "space_events.h"

static BLOCKING_NOTIFIER_HEAD(spt_space_chain);

int spt_space_events_register(struct notifier_block *nb)
{
	return blocking_notifier_chain_register(&spt_space_chain, nb);
}

void spt_space_events_unregister(struct notifier_block *nb)
{
	blocking_notifier_chain_unregister(&spt_space_chain, nb);
}

void spt_space_event(enum spt_space_event_kind kind,
		     const struct spt_space_event *ev)
{
	blocking_notifier_call_chain(&spt_space_chain, kind, (void *)ev);
}
