// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/shadowpt itself: the node, the file operations it does not have,
 * ioctl numbers it does not know (ENOTTY), and SPT_IOCTL_VERSION.
 */
#include "shadowpt_utils.h"

#include <sys/sysmacros.h>
#include <termios.h>

FIXTURE(dev) {
	struct spt_env env;
};

FIXTURE_SETUP(dev)
{
	spt_env_setup(_metadata, &self->env);
}

FIXTURE_TEARDOWN(dev)
{
	spt_env_teardown(_metadata, &self->env);
}

/* A misc character device owned by root with mode 0600. */
TEST(node_mode_0600)
{
	struct stat st;
	char buf[64];
	unsigned int major, minor;
	FILE *f;

	ASSERT_EQ(0, stat(SPT_DEVICE_PATH, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	/* The same device number as the misc device's sysfs entry. */
	f = fopen("/sys/class/misc/shadowpt/dev", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	ASSERT_EQ(2, sscanf(buf, "%u:%u", &major, &minor));
	EXPECT_EQ(major, major(st.st_rdev));
	EXPECT_EQ(minor, minor(st.st_rdev));
	EXPECT_EQ(10, major);	/* MISC_MAJOR */
}

/* Open for reading only is enough for the ioctls (no f_mode checks). */
TEST(open_modes)
{
	struct spt_version v;
	int fd;

	fd = open(SPT_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, _spt_version(fd, &v));
	close(fd);
	fd = open(SPT_DEVICE_PATH, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, _spt_version(fd, &v));
	close(fd);
}

/*
 * No read, write or seek: only ioctls, and mmap of the regions that
 * SPT_IOCTL_MMAP made (offset 0 is never one: EINVAL).
 */
TEST_F(dev, no_file_ops)
{
	char buf[16];
	void *p;

	EXPECT_ERRNO(EINVAL, read(self->env.fd, buf, sizeof(buf)));
	EXPECT_ERRNO(EINVAL, write(self->env.fd, buf, sizeof(buf)));
	p = mmap(NULL, SZ_4K, PROT_READ, MAP_SHARED, self->env.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_ERRNO(ESPIPE, lseek(self->env.fd, 0, SEEK_SET));
}

static int spt_raw_ioctl(int fd, unsigned long nr)
{
	/* Big enough for any struct, size field says the real struct size. */
	__u64 buf[64] = { 0 };

	buf[0] = sizeof(struct spt_version);
	return ioctl(fd, nr, buf);
}

/* Another driver's magic with a shadowpt command number. */
TEST_F(dev, enotty_wrong_type)
{
	EXPECT_ERRNO(ENOTTY, spt_raw_ioctl(self->env.fd,
					   _IO(SPT_TYPE + 1, SPT_CMD_VERSION)));
	EXPECT_ERRNO(ENOTTY, spt_raw_ioctl(self->env.fd,
					   _IO(SPT_TYPE - 1, SPT_CMD_VERSION)));
	EXPECT_ERRNO(ENOTTY, spt_raw_ioctl(self->env.fd,
					   _IO(0, SPT_CMD_VERSION)));
	/* Generic ioctls that a misc device does not implement. */
	EXPECT_ERRNO(ENOTTY, spt_raw_ioctl(self->env.fd, TCGETS));
}

TEST_F(dev, enotty_nr_below_table)
{
	unsigned int nr;

	for (nr = 0; nr < SPT_CMD_BASE; nr += (nr < 0x70 ? 0x10 : 1))
		EXPECT_ERRNO(ENOTTY, spt_raw_ioctl(self->env.fd,
						   _IO(SPT_TYPE, nr)));
}

TEST_F(dev, enotty_nr_above_table)
{
	unsigned int nr;

	for (nr = SPT_CMD_VERSION; nr <= 0xff; nr++) {
		if (nr <= SPT_CMD_LAST && spt_cmd_known(nr))
			continue;
		EXPECT_ERRNO(ENOTTY, spt_raw_ioctl(self->env.fd,
						   _IO(SPT_TYPE, nr)));
	}
}

/* A valid command number with direction or size bits set. */
TEST_F(dev, enotty_wrong_direction)
{
	unsigned int nr;

	for (nr = SPT_CMD_VERSION; nr <= SPT_CMD_LAST; nr++) {
		if (!spt_cmd_known(nr))
			continue;
		EXPECT_ERRNO(ENOTTY, spt_raw_ioctl(self->env.fd,
			_IOR(SPT_TYPE, nr, struct spt_version)));
		EXPECT_ERRNO(ENOTTY, spt_raw_ioctl(self->env.fd,
			_IOW(SPT_TYPE, nr, struct spt_version)));
		EXPECT_ERRNO(ENOTTY, spt_raw_ioctl(self->env.fd,
			_IOWR(SPT_TYPE, nr, struct spt_version)));
		/* Size bits without direction bits. */
		EXPECT_ERRNO(ENOTTY, spt_raw_ioctl(self->env.fd,
			_IOC(_IOC_NONE, SPT_TYPE, nr, 8)));
	}
}

/* ENOTTY wins over a bad argument pointer: the number is checked first. */
TEST_F(dev, enotty_before_efault)
{
	EXPECT_ERRNO(ENOTTY, ioctl(self->env.fd, _IO(SPT_TYPE, 0x7f), NULL));
	EXPECT_ERRNO(ENOTTY, ioctl(self->env.fd,
				   _IOR(SPT_TYPE, SPT_CMD_MAP, __u64), NULL));
}

/* Every number in the table is known (whatever the argument says). */
TEST_F(dev, table_numbers_known)
{
	unsigned int nr;

	for (nr = SPT_CMD_VERSION; nr <= SPT_CMD_LAST; nr++) {
		__u32 zero_size = 0;

		if (!spt_cmd_known(nr)) {
			EXPECT_ERRNO(ENOTTY, ioctl(self->env.fd,
						   _IO(SPT_TYPE, nr),
						   &zero_size));
			continue;
		}
		/* size 0 is below every first release: EINVAL, not ENOTTY. */
		EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, _IO(SPT_TYPE, nr),
					   &zero_size));
	}
}

static bool cpu_has_la57(void)
{
	char line[4096];
	bool la57 = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		la57 = strstr(line, " la57") != NULL;
		break;
	}
	fclose(f);
	return la57;
}

static bool cmdline_has(const char *word)
{
	char line[4096] = "";
	FILE *f = fopen("/proc/cmdline", "r");
	bool found;

	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	found = strstr(line, word) != NULL;
	return found;
}

TEST_F(dev, version)
{
	struct spt_version v;
	struct spt_stats st;
	bool five;

	ASSERT_EQ(0, _spt_version(self->env.fd, &v));
	EXPECT_EQ(SPT_API_VERSION, v.out_api_version);
	EXPECT_EQ(sizeof(v), v.size);
	EXPECT_EQ(0, v.flags);
	ASSERT_TRUE(v.out_levels == 4 || v.out_levels == 5);
	EXPECT_EQ(v.out_levels == 5 ? 1ULL << 56 : 1ULL << 47,
		  v.out_user_end);
	EXPECT_LE(32, v.out_phys_bits);
	EXPECT_GE(52, v.out_phys_bits);
	EXPECT_LT(0, v.out_meta_slot_bytes);
	/* The CPU and the command line decide the paging mode. */
	five = cpu_has_la57() && !cmdline_has("no5lvl");
	EXPECT_EQ(five ? 5 : 4, v.out_levels);
	/* The same numbers as the stats. */
	ASSERT_EQ(0, _spt_stats(self->env.fd, 0, &st));
	EXPECT_EQ(v.out_meta_slot_bytes, st.meta_slot_bytes);
	TH_LOG("api %u, %u-level, MAXPHYADDR %u, %u-byte meta slots",
	       v.out_api_version, v.out_levels, v.out_phys_bits,
	       v.out_meta_slot_bytes);
}

/* Version changes nothing and gives the same answer every time. */
TEST_F(dev, version_stable)
{
	struct spt_version a, b;
	struct spt_counters c;
	int i;

	ASSERT_EQ(0, _spt_version(self->env.fd, &a));
	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(0, _spt_version(self->env.fd, &b));
		ASSERT_EQ(0, memcmp(&a, &b, sizeof(a)));
	}
	ASSERT_EQ(0, spt_counters_read(self->env.fd, &c));
	ASSERT_COUNTERS_EQ(&self->env.base, &c);
}

TEST_F(dev, version_flags_einval)
{
	struct spt_version v = { .size = sizeof(v), .flags = 1 };

	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_VERSION, &v));
	v.flags = 1U << 31;
	EXPECT_ERRNO(EINVAL, ioctl(self->env.fd, SPT_IOCTL_VERSION, &v));
	/* Nothing written back on failure. */
	EXPECT_EQ(0, v.out_api_version);
}

/* Several descriptors see the same spaces and the same pool. */
TEST_F(dev, fds_share_spaces)
{
	struct spt_space_info info = { 0 };
	__u32 id;
	int fd2;

	test_cmd_space_create(0, &id);
	fd2 = spt_open();
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, _spt_space_info(fd2, id, &info));
	EXPECT_EQ(0, info.out_flags);
	EXPECT_EQ(0, _spt_space_destroy(fd2, id));
	EXPECT_ERRNO(ENOENT, _spt_space_info(self->env.fd, id, &info));
	close(fd2);
}

TEST_HARNESS_MAIN
