// SPDX-License-Identifier: GPL-2.0
/*
 * sptbench's tables row (linked with libshadowpt.a; sptbench.c has names
 * of its own that clash with the library's): the library's walk through
 * an SPT_IOCTL_TABLES mapping, and the PTEditor-style peer, a bare walk
 * of the same mapping as PTEditor's user-space resolve does it through
 * its mapping of physical memory (each level's entry read and kept, no
 * consistency check, no decoding).
 */
#include <stdint.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libshadowpt.h"
#include "tables_row.h"

static struct spt *h;
static struct spt_tables_map *t;
static int bare_fd = -1;
static const char *bare_base;
static uint64_t bare_len, bare_root;
static unsigned int bare_levels;

int tb_open(uint32_t id)
{
	struct spt_tables cmd = { .size = sizeof(cmd), .space_id = id };
	void *p;

	if (!h && spt_open(&h))
		return -1;
	if (spt_tables_open(h, id, &t))
		return -1;
	if (ioctl(spt_fd(h), SPT_IOCTL_TABLES, &cmd))
		return -1;
	p = mmap(NULL, cmd.out_map_size, PROT_READ, MAP_SHARED | MAP_NORESERVE,
		 cmd.out_fd, 0);
	if (p == MAP_FAILED)
		return -1;
	bare_fd = cmd.out_fd;
	bare_base = p;
	bare_len = cmd.out_map_size;
	bare_root = cmd.out_root_pa;
	bare_levels = cmd.out_levels;
	return 0;
}

int tb_walk(const uint64_t *vas, size_t n, struct spt_query_entry *out)
{
	return spt_tables_walk(t, vas, n, out);
}

void tb_bare(const uint64_t *vas, size_t n, struct tb_entry *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t va = vas[i], pa = bare_root, pte = 0;
		unsigned int level, shift;

		for (level = bare_levels; level >= 1; level--) {
			const uint64_t *node = (const uint64_t *)(bare_base +
				SPT_TABLES_NODE_OFFSET + pa);

			shift = 12 + 9 * (level - 1);
			pte = __atomic_load_n(&node[(va >> shift) & 511],
					      __ATOMIC_RELAXED);
			out[i].e[level - 1] = pte;
			if (!(pte & 1) || level == 1 || (pte & 0x80))
				break;
			pa = pte & 0x000ffffffffff000ULL;
		}
	}
}

void tb_close(void)
{
	spt_tables_close(t);
	t = NULL;
	munmap((void *)bare_base, bare_len);
	close(bare_fd);
	bare_fd = -1;
}
