/* SPDX-License-Identifier: GPL-2.0 */
/* Load windows: run a program on a CPU with a space in CR3. */
#ifndef SPT_LOAD_H
#define SPT_LOAD_H

#include <linux/shadowpt.h>

struct spt_space;

/*
 * Validate @ops (cmd->nr_ops of them, already copied in; their out_ fields
 * are ignored and overwritten), run them in a window and fill in their
 * results and cmd's out_ fields. @phys_ok: the caller may read and write
 * untracked leaves (spt_phys_permission()); otherwise such ops end with
 * SPT_LOAD_ERROR and EPERM.
 */
int spt_load_window(struct spt_space *s, struct spt_load *cmd,
		    struct spt_load_op *ops, bool phys_ok);

#endif /* SPT_LOAD_H */
