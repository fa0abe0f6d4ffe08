// SPDX-License-Identifier: GPL-2.0
/*
 * sptctl dump --dot: a space's tree as a Graphviz graph.
 *
 * The tree is rebuilt from the streamed mapping dump (SPT_GENL_CMD_MAPPING_GET
 * gives merged runs with their leaf level): every run hangs from the nodes
 * of its leaf level, and every such node from its parents up to the root.
 * That reproduces each node that holds a leaf or leads to one. A node the
 * kernel still has without any leaf below it (a table emptied by unmaps,
 * kept until its parent range is unmapped) cannot be seen in runs; the
 * per-level node counts of SPT_IOCTL_STATS are compared with the drawing
 * and any difference is shown in a note, so the picture never lies about
 * the tree's size.
 *
 * Leaves inside one node are drawn as one box per run segment ("entries
 * 3..130: 128 x 4K rw- tracked"), not one box per entry, so a node full of
 * 4 KiB leaves is one box.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sptctl.h"
#include "dot.h"

#define DOT_MAX_NODES	512
#define DOT_MAX_SEGS	2048
#define DOT_MAX_LEVELS	5

struct dot_seg {
	uint64_t va, end;	/* clipped to its node */
	uint32_t level, prot, cache;
	bool tracked;
	unsigned int node;	/* index of the node it hangs from */
};

struct dot_node {
	uint64_t base;		/* first VA the node translates */
	uint32_t level;		/* entries are level_size(level) each */
	int parent;		/* index, -1 for the root */
};

struct dot_ctx {
	uint32_t levels;
	struct dot_node nodes[DOT_MAX_NODES];
	unsigned int nr_nodes;
	struct dot_seg segs[DOT_MAX_SEGS];
	unsigned int nr_segs;
	int last[DOT_MAX_LEVELS + 1];	/* newest node per level */
	uint64_t runs;
};

/* VA span one node of this level translates. */
static uint64_t node_span(uint32_t level)
{
	return level_size(level) * 512;
}

static unsigned int entry_index(const struct dot_node *n, uint64_t va)
{
	return (unsigned int)((va - n->base) / level_size(n->level));
}

/*
 * The node of @level that translates @va, made (with its parents) if it is
 * not there yet. Runs come in VA order, so a level's newest node is the only
 * candidate. Returns its index or -1 when the drawing is too large.
 */
static int node_get(struct dot_ctx *d, uint32_t level, uint64_t va)
{
	uint64_t base = level == d->levels ? 0 : va & ~(node_span(level) - 1);
	struct dot_node *n;
	int parent = -1;
	int i = d->last[level];

	if (i >= 0 && d->nodes[i].base == base)
		return i;
	if (level < d->levels) {
		parent = node_get(d, level + 1, va);
		if (parent < 0)
			return -1;
	}
	if (d->nr_nodes == DOT_MAX_NODES)
		return -1;
	i = d->nr_nodes++;
	n = &d->nodes[i];
	n->base = base;
	n->level = level;
	n->parent = parent;
	d->last[level] = i;
	return i;
}

static int dot_run(const struct spt_run *r, void *arg)
{
	struct dot_ctx *d = arg;
	uint64_t va = r->va, end = r->end, next;
	uint32_t level = r->level, prot = r->prot, cache = r->cache;
	uint32_t flags = r->flags;
	struct dot_node *n;
	struct dot_seg *s;
	int i;

	if (end <= va)
		return -EBADMSG;
	if (level < 1 || level >= d->levels)
		return EBADMSG;
	d->runs++;

	for (; va < end; va = next) {
		i = node_get(d, level, va);
		if (i < 0 || d->nr_segs == DOT_MAX_SEGS)
			return E2BIG;
		n = &d->nodes[i];
		next = n->base + node_span(level);
		if (next > end || next == 0)
			next = end;
		s = &d->segs[d->nr_segs++];
		s->node = i;
		s->va = va;
		s->end = next;
		s->level = level;
		s->prot = prot;
		s->cache = cache;
		s->tracked = flags & SPT_QUERY_TRACKED;
	}
	return 0;
}

static const char *seg_color(const struct dot_seg *s)
{
	if (!s->tracked)
		return "#f4cccc";	/* untracked: physical, shown red */
	if (s->prot & SPT_PROT_WRITE)
		return "#cfe2f3";
	return "#d9ead3";
}

static void print_graph(const struct dot_ctx *d, uint32_t id,
			const __u64 *counted)
{
	uint64_t drawn[DOT_MAX_LEVELS] = { 0 };
	char b1[FMT_BUF], b2[FMT_BUF], b3[FMT_BUF], b4[FMT_BUF], b5[FMT_BUF];
	unsigned int i, j, first, last;
	bool differs = false;
	uint32_t l;

	printf("digraph \"shadowpt space %u\" {\n", id);
	printf("\trankdir=LR;\n\tnodesep=0.15;\n\tranksep=0.6;\n");
	printf("\tnode [fontname=\"monospace\", fontsize=10];\n");
	printf("\tedge [fontname=\"monospace\", fontsize=9];\n");
	printf("\tlabel=\"shadowpt space %u: %u levels, %llu runs\";\n",
	       id, d->levels, (unsigned long long)d->runs);

	/* The root always exists, even in an empty space. */
	printf("\troot [shape=box, style=\"rounded,bold\", label=\"L%u root\\n"
	       "entries 0-255: user half\"];\n", d->levels);
	printf("\tkernel [shape=box, style=dashed, label=\"kernel half\\n"
	       "entries 256-511 shared\\nwith the running kernel\"];\n");
	printf("\troot -> kernel [style=dashed, label=\"256..511\"];\n");
	drawn[d->levels - 1] = 1;

	for (i = 0; i < d->nr_nodes; i++) {
		const struct dot_node *n = &d->nodes[i];

		if (n->level == d->levels)	/* the root, drawn above */
			continue;
		drawn[n->level - 1]++;
		printf("\tn%u [shape=box, style=rounded, label=\"L%u node\\n"
		       "%s-%s\"];\n", i, n->level, fmt_addr(b1, n->base),
		       fmt_addr(b2, n->base + node_span(n->level)));
		if (n->parent >= 0 && d->nodes[n->parent].level == d->levels)
			printf("\troot");
		else
			printf("\tn%d", n->parent);
		printf(" -> n%u [label=\"%u\"];\n", i,
		       entry_index(&d->nodes[n->parent], n->base));
	}

	for (j = 0; j < d->nr_segs; j++) {
		const struct dot_seg *s = &d->segs[j];
		const struct dot_node *n = &d->nodes[s->node];
		uint64_t count = (s->end - s->va) / level_size(s->level);

		first = entry_index(n, s->va);
		last = entry_index(n, s->end - 1);
		printf("\ts%u [shape=box, style=filled, fillcolor=\"%s\","
		       " label=\"%s-%s\\n%llu x %s %s %s %s\"];\n", j,
		       seg_color(s), fmt_addr(b1, s->va), fmt_addr(b2, s->end),
		       (unsigned long long)count,
		       fmt_size(b3, level_size(s->level)),
		       fmt_prot(b4, s->prot), fmt_cache(b5, s->cache),
		       s->tracked ? "tracked" : "untracked");
		/* Leaves are below the root level: n is never the root. */
		if (first == last)
			printf("\tn%u -> s%u [label=\"%u\"];\n", s->node, j,
			       first);
		else
			printf("\tn%u -> s%u [label=\"%u..%u\"];\n", s->node,
			       j, first, last);
	}

	for (l = 1; l <= d->levels && counted; l++)
		if (counted[l - 1] != drawn[l - 1])
			differs = true;
	if (differs) {
		printf("\tnote [shape=note, label=\"nodes per level, "
		       "kernel / drawn:");
		for (l = d->levels; l >= 1; l--)
			printf("\\nL%u: %llu / %llu", l,
			       (unsigned long long)counted[l - 1],
			       (unsigned long long)drawn[l - 1]);
		printf("\\n(nodes without leaves below them\\n"
		       "are not in the mapping dump)\"];\n");
	}
	printf("}\n");
}

int dot_dump(struct spt_nl *nl, const struct dump_req *req)
{
	struct spt_space_info info = { .space_id = req->space_id };
	struct spt_stats st = { .space_id = req->space_id };
	struct dot_ctx *d;
	uint32_t l;
	int err;

	err = -spt_space_info(sptlib(), req->space_id, &info);
	if (err)
		return err;
	if (info.out_levels < 2 || info.out_levels > DOT_MAX_LEVELS)
		return EPROTO;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->levels = info.out_levels;
	for (l = 0; l <= DOT_MAX_LEVELS; l++)
		d->last[l] = -1;
	if (node_get(d, d->levels, 0) < 0) {
		free(d);
		return E2BIG;
	}
	err = -spt_dump_mappings(nl, req->space_id, req->from, req->to,
				 dot_run, d);
	if (err == E2BIG)
		fprintf(stderr, "sptctl: space %u has more than %d nodes or %d"
			" leaf segments to draw; narrow it with --from/--to\n",
			req->space_id, DOT_MAX_NODES, DOT_MAX_SEGS);
	if (!err) {
		/* A bounded dump cannot be compared with whole-tree counts. */
		bool whole = !req->has_from && !req->has_to;

		if (whole && spt_stats(sptlib(), req->space_id, &st))
			whole = false;
		print_graph(d, req->space_id, whole ? st.space_nodes : NULL);
	}
	free(d);
	return err;
}
