// SPDX-License-Identifier: GPL-2.0
/*
 * A load window with a fault explained: the space goes into CR3 on an
 * isolated CPU, a value is written and read back through the MMU, then a
 * read of an unmapped address and a write to a page made read-only in the
 * window fault, and the software walker says why.
 *
 *   cc THIS.c $(pkg-config --cflags --libs shadowpt)
 */
#include <stdio.h>
#include <string.h>

#include <libshadowpt.h>

static const char *explain(const struct spt_load_op *op, char *buf,
			   size_t len)
{
	if (op->out_status == SPT_LOAD_OK)
		return "ok";
	if (op->out_status != SPT_LOAD_FAULT)
		return "not run or error";
	snprintf(buf, len, "fault:%s%s%s%s",
		 op->out_fault & SPT_FAULT_NOT_PRESENT ?
			" not present" : "",
		 op->out_fault & SPT_FAULT_READ_ONLY ?
			" write to read-only" : "",
		 op->out_fault & SPT_FAULT_NX ? " no-execute" : "",
		 op->out_fault & SPT_FAULT_USER ? " user page (SMEP)" : "");
	if (op->out_fault & SPT_FAULT_NOT_PRESENT) {
		size_t at = strlen(buf);

		snprintf(buf + at, len - at, " at level %u", op->out_level);
	}
	return buf;
}

int main(void)
{
	const uint64_t va = 0x400000;
	struct spt_load_prog *p;
	struct spt_load l;
	struct spt *h;
	char buf[128];
	uint32_t i;
	int id, err;

	err = spt_open(&h);
	if (err) {
		fprintf(stderr, "open: %s\n", strerror(-err));
		return 1;
	}
	id = spt_space_create(h, SPT_SPACE_FD_OWNED, NULL);
	if (id < 0 || spt_map_4k(h, id, va, 4096, SPT_PROT_WRITE))
		return 1;
	p = spt_load_prog_new();
	spt_load_prog_write(p, va, 8, 0xfeedULL);
	spt_load_prog_read(p, va, 8);
	spt_load_prog_read(p, va + 0x200000, 8);	/* nothing there */
	spt_load_prog_protect(p, va, 4096, 0);		/* read-only */
	spt_load_prog_write(p, va, 8, 1);
	err = spt_load_run(h, id, p, 0, 0, &l);
	if (err) {
		fprintf(stderr, "load: %s\n", strerror(-err));
		return 1;
	}
	printf("space %d: window on cpu %u, %u ops, %u faults, %llu ns\n", id,
	       l.out_cpu, l.out_ops_run, l.out_faults,
	       (unsigned long long)l.out_ns);
	for (i = 0; i < spt_load_prog_len(p); i++) {
		const struct spt_load_op *op = spt_load_prog_op(p, i);

		printf("  op %u (type %u) va 0x%llx: %s", i, op->op,
		       (unsigned long long)op->va,
		       explain(op, buf, sizeof(buf)));
		if (op->op == SPT_LOAD_OP_READ && op->out_status == SPT_LOAD_OK)
			printf(", value 0x%llx",
			       (unsigned long long)op->out_value);
		printf("\n");
	}
	err = l.out_faults == 2 && spt_load_prog_op(p, 1)->out_value == 0xfeed
		? 0 : 1;
	spt_load_prog_free(p);
	spt_close(h);
	return err;
}
