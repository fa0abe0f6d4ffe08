/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Events of the space layer, travelling up to the faces that want them
 * (genl multicasts them, debugfs keeps a directory per space) through a
 * blocking notifier chain: the space layer never calls a face.
 */
#ifndef SPT_SPACE_EVENTS_H
#define SPT_SPACE_EVENTS_H

#include <linux/types.h>
#include <linux/notifier.h>

/* The notifier's action: what happened to the space. */
enum spt_space_event_kind {
	/* Built, its id reserved, about to be published. */
	SPT_SPACE_EV_CREATED,
	/* Unpublished, about to be torn down (no operation runs after). */
	SPT_SPACE_EV_DESTROYING,
	/* Torn down. */
	SPT_SPACE_EV_DESTROYED,
	/* A map, unmap or protect changed something: the change fields. */
	SPT_SPACE_EV_CHANGED,
	/* A load window ran: the load fields. */
	SPT_SPACE_EV_LOADED,
};

/* The notifier's data, valid during the call only. */
struct spt_space_event {
	u32 space_id;
	/* CHANGED: SPT_EVENT_MAP, SPT_EVENT_UNMAP or SPT_EVENT_PROTECT */
	u32 op;
	u64 va, len, count;	/* CHANGED: the range done, what it did */
	int err;		/* CHANGED: 0 or a positive errno */
	u32 cpu, ops_run, faults, status;	/* LOADED */
};

/*
 * Subscribe to every event of every space (faces, in their init; called
 * in process context, in the order the events happen, by the task that
 * caused them). Unsubscribe in their exit.
 */
int spt_space_events_register(struct notifier_block *nb);
void spt_space_events_unregister(struct notifier_block *nb);

/* Raise an event (the space layer; a load window's result: load.c). */
void spt_space_event(enum spt_space_event_kind kind,
		     const struct spt_space_event *ev);

#endif /* SPT_SPACE_EVENTS_H */
