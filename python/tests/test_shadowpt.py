# SPDX-License-Identifier: GPL-2.0
"""unittest of the shadowpt package (root, module loaded: in the VM).

python3 -m unittest discover -s python/tests -t python
"""

import ctypes
import errno
import mmap
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import shadowpt  # noqa: E402
from shadowpt import _lib  # noqa: E402

MIB = 1 << 20


class Sizes(unittest.TestCase):
    def test_struct_sizes(self):
        for cls, size in _lib.SIZES.items():
            self.assertEqual(ctypes.sizeof(cls), size, cls.__name__)


@unittest.skipUnless(os.path.exists(shadowpt.DEVICE_PATH),
                     "module not loaded")
class Ops(unittest.TestCase):
    def setUp(self):
        self.dev = shadowpt.Device()

    def tearDown(self):
        self.dev.close()

    def test_version(self):
        v = self.dev.version()
        self.assertEqual(v["api_version"], shadowpt.API_VERSION)
        self.assertIn(v["levels"], (4, 5))

    def test_space_context_manager(self):
        with self.dev.space() as sp:
            sid = sp.id
            self.assertGreater(sid, 0)
            self.assertEqual(sp.info()["levels"], sp.levels)
        with self.assertRaises(shadowpt.Error) as cm:
            self.dev.open_space(sid)
        self.assertEqual(cm.exception.errno, errno.ENOENT)
        self.assertIsInstance(cm.exception, OSError)

    def test_map_query_errors(self):
        with self.dev.space() as sp:
            self.assertEqual(sp.map(0x200000, 2 * MIB,
                                    page=shadowpt.MAP_2M), 2 * MIB)
            e = sp.query(0x200000)
            self.assertEqual(e["level"], 2)
            self.assertTrue(e["flags"] & shadowpt.QUERY_TRACKED)
            with self.assertRaises(shadowpt.Error) as cm:
                sp.map(0x200000, 4096)
            self.assertEqual(cm.exception.errno, errno.EEXIST)
            with self.assertRaises(shadowpt.Error) as cm:
                sp.map(0x1001, 4096)
            self.assertEqual(cm.exception.errno, errno.EINVAL)
            sp.map(0x200000, 4096, replace=True, cache=shadowpt.CACHE_WC)
            self.assertEqual(sp.query(0x200000)["cache"], shadowpt.CACHE_WC)
            sp.map(0x10000000, 8192, phys=0x100000, prot=0)
            self.assertEqual(sp.query(0x10000000)["phys"], 0x100000)
            self.assertEqual(sp.protect(0x200000, 4096, 0), 1)
            # The 4 KiB replace split the 2 MiB leaf: 512 leaves.
            self.assertEqual(sp.unmap(0x200000, 2 * MIB), 512)
            self.assertFalse(sp.query(0x200000)["flags"] &
                             shadowpt.QUERY_MAPPED)

    def test_batch_rw_stats_check(self):
        with self.dev.space() as sp:
            sp.map(0, 64 * 4096, page=shadowpt.MAP_4K)
            out = sp.query_batch(range(0, 64 * 4096, 4096))
            self.assertEqual(len(out), 64)
            self.assertTrue(all(e["level"] == 1 for e in out))
            sp.write(4090, b"hello, world")
            self.assertEqual(sp.read(4090, 12), b"hello, world")
            with self.assertRaises(shadowpt.Error) as cm:
                sp.read(64 * 4096 - 2, 4)
            self.assertEqual(cm.exception.errno, errno.ENXIO)
            self.assertEqual(len(sp.stats()["space_leaves"]), 3)
            self.assertIsNone(sp.check())

    def test_entry_bits(self):
        with self.dev.space() as sp:
            sp.map(0x40000000, 4096, page=shadowpt.MAP_4K,
                   prot=shadowpt.PROT_WRITE)
            b = sp.entry_bits(0x40000000, 4096, 3,
                              clear=shadowpt.BITS["w"],
                              set=shadowpt.BITS["nx"])
            self.assertEqual((b["entries"], b["changed"]), (1, 1))
            self.assertFalse(b["bits"] & shadowpt.BITS["w"])
            self.assertTrue(b["bits"] & shadowpt.BITS["nx"])
            self.assertFalse(sp.query(0x40000000)["prot"] &
                             shadowpt.PROT_WRITE)
            self.assertIsNone(sp.check())
            b = sp.entry_bits(0x40000000, 4096, 3,
                              set=shadowpt.BITS["w"],
                              clear=shadowpt.BITS["nx"])
            self.assertEqual(b["changed"], 1)
            self.assertTrue(sp.query(0x40000000)["prot"] &
                            shadowpt.PROT_WRITE)
            with self.assertRaises(shadowpt.Error) as cm:
                sp.entry_bits(0x40000000, 4096, 9)
            self.assertEqual(cm.exception.errno, errno.EINVAL)

    def test_tables(self):
        with self.dev.space() as sp, shadowpt.Device() as dev2:
            sp.map(0, 64 * 4096, page=shadowpt.MAP_4K)
            sp.map(0x40000000, 2 * MIB)
            vas = list(range(0, 70 * 4096, 4096)) + [0x40000000 + 5]
            other = shadowpt.Space(dev2, sp.id, owned=False)
            want = other.query_batch(vas)
            sp.open_tables()
            self.assertEqual(sp.tables_walk(vas), want)
            self.assertEqual(sp.query_batch(vas), want)
            self.assertEqual(sp.query(4096 + 3), other.query(4096 + 3))
            sp.unmap(0, 4096)
            self.assertEqual(sp.tables_walk([0])[0]["flags"], 0)
            sp.close_tables()
            sp.close_tables()

    def test_share(self):
        with self.dev.space() as a, self.dev.space() as b:
            a.map(0x10000, 4 * 4096)
            self.assertEqual(b.share(0x20000, 2 * 4096, a, 0x11000),
                             2 * 4096)
            self.assertEqual(a.share(0x40000, 4096, a.id, 0x10000), 4096)
            self.assertEqual(b.query(0x20000)["phys"],
                             a.query(0x11000)["phys"])
            b.write(0x20010, b"shared")
            self.assertEqual(a.read(0x11010, 6), b"shared")
            a.write(0x10000, b"alias")
            self.assertEqual(a.read(0x40000, 5), b"alias")
            self.assertEqual(b.info()["data_frames"], 2)
            with self.assertRaises(shadowpt.Error) as cm:
                b.share(0x30000, 4096, a, 0x50000)
            self.assertEqual(cm.exception.errno, errno.ENXIO)
            a.unmap(0x10000, 4 * 4096)
            self.assertEqual(b.read(0x20010, 6), b"shared")
            self.assertIsNone(a.check())
            self.assertIsNone(b.check())

    def test_map_user(self):
        buf = mmap.mmap(-1, 2 * 4096)
        buf[4096:4096 + 6] = b"pinned"
        first = ctypes.c_char.from_buffer(buf)
        addr = ctypes.addressof(first)
        with self.dev.space() as sp:
            self.assertEqual(sp.map_user(0x10000, 2 * 4096, addr), 2 * 4096)
            self.assertEqual(sp.read(0x11000, 6), b"pinned")
            sp.write(0x10000, b"space")
            self.assertEqual(buf[0:5], b"space")
            self.assertIsNone(sp.check())
            with self.assertRaises(shadowpt.Error) as cm:
                sp.map_user(0x10000, 4096, addr)
            self.assertEqual(cm.exception.errno, errno.EEXIST)
            with self.assertRaises(shadowpt.Error) as cm:
                sp.map_user(0x20000, 4096, addr + 8)
            self.assertEqual(cm.exception.errno, errno.EINVAL)
            sp.unmap(0x10000, 2 * 4096)
        del first
        buf.close()

    def test_mmap(self):
        with self.dev.space() as sp:
            sp.map(0x10000, 2 * 4096)
            sp.write(0x11000, b"space")
            with sp.mmap(0x10000, 2 * 4096) as m:
                self.assertEqual(bytes(m.mem[4096:4101]), b"space")
                m.mem[0:7] = b"process"
                self.assertEqual(sp.read(0x10000, 7), b"process")
                self.assertIsNone(sp.check())
                sp.unmap(0x10000, 2 * 4096)
                self.assertEqual(bytes(m.mem[0:7]), b"process")
            with self.assertRaises(shadowpt.Error) as cm:
                sp.mmap(0x10000, 4096)
            self.assertEqual(cm.exception.errno, errno.ENXIO)
            sp.map(0x10000, 4096, prot=0)
            with self.assertRaises(shadowpt.Error) as cm:
                sp.mmap(0x10000, 4096)
            self.assertEqual(cm.exception.errno, errno.EACCES)
            with sp.mmap(0x10000, 4096, write=False) as m:
                self.assertEqual(bytes(m.mem[0:4]), bytes(4))
                self.assertTrue(m.mem.readonly)

    def test_query_range(self):
        with self.dev.space() as sp:
            sp.map(0, 8 * 4096, page=shadowpt.MAP_4K)
            sp.protect(4 * 4096, 4096, shadowpt.PROT_EXEC)
            runs = sp.query_range(0, 16 * 4096, max_entries=1)
            self.assertGreaterEqual(len(runs), 3)
            self.assertEqual(runs[0]["start"], 0)
            self.assertEqual(runs[-1]["end"], 8 * 4096)
            self.assertTrue(all(r["flags"] == shadowpt.QUERY_MAPPED |
                                shadowpt.QUERY_TRACKED for r in runs))
            pages = sp.query_range(0, 16 * 4096, compact=True,
                                   max_entries=5)
            self.assertEqual(len(pages), 16)
            self.assertEqual([p["mapped"] for p in pages],
                             [True] * 8 + [False] * 8)
            self.assertEqual(pages[4]["prot"], shadowpt.PROT_EXEC)
            one = sp.query(3 * 4096)
            self.assertEqual(pages[3]["pa"], one["phys"])
            with self.assertRaises(shadowpt.Error) as cm:
                sp.query_range(1, 4096)
            self.assertEqual(cm.exception.errno, errno.EINVAL)

    def test_load_program(self):
        with self.dev.space() as sp:
            sp.map(0x400000, 4096)
            prog = shadowpt.Program().write(0x400000, 42).read(0x400000)
            prog.read(0x800000).protect(0x400000, 4096, 0)
            prog.append(shadowpt.Op.write(0x400000, 1))
            res = sp.load(prog)
            self.assertEqual(res.status, shadowpt.LOAD_DONE)
            self.assertEqual(prog[1].result, 42)
            self.assertTrue(prog[2].faulted)
            self.assertIn("not present", prog[2].explain())
            self.assertIn("read-only", prog[4].explain())
            self.assertEqual(res.faults, 2)
            with self.assertRaises(shadowpt.Error) as cm:
                sp.load(prog, cpu=4096)
            self.assertEqual(cm.exception.errno, errno.ENODEV)

    def test_load_tlb_ops(self):
        with self.dev.space() as sp:
            sp.map(0x400000, 4096)
            prog = shadowpt.Program().write(0x400000, 1)
            prog.protect(0x400000, 4096, 0, noflush=True)
            prog.write(0x400000, 2).invlpg(0x400000).write(0x400000, 3)
            prog.flush()
            sp.load(prog)
            # Before the INVLPG: stale (went through) or fresh (faulted).
            if prog[2].status == shadowpt.LOAD_OK:
                self.assertTrue(prog[2].fault & shadowpt.FAULT_STALE)
                self.assertIn("stale", prog[2].explain())
            else:
                self.assertEqual(prog[2].status, shadowpt.LOAD_FAULT)
            self.assertEqual(prog[4].status, shadowpt.LOAD_FAULT)
            self.assertIn("read-only", prog[4].explain())
            self.assertEqual(prog[5].status, shadowpt.LOAD_OK)
            self.assertEqual(prog[5].result, shadowpt.LOAD_FLUSH_CR3)
            timed = shadowpt.Program().read(0x400000, timed=True)
            timed.read(0x400000, timed=True)
            res = sp.load(timed)
            self.assertGreater(timed[0].cycles, 0)
            self.assertGreater(timed[1].cycles, 0)
            self.assertGreater(res.tsc_khz, 0)
            self.assertTrue(res.cpu_features & shadowpt.LOAD_CPU_RDTSCP)
            sp.protect(0x400000, 4096, shadowpt.PROT_WRITE)
            ad = shadowpt.Program().ad_clear(0x400000).ad_read(0x400000)
            ad.read(0x400000).ad_read(0x400000)
            ad.write(0x400000, 5).ad_read(0x400000)
            sp.load(ad)
            a, d = shadowpt.PROT_ACCESSED, shadowpt.PROT_DIRTY
            self.assertEqual(ad[1].result, 0)
            self.assertEqual(ad[3].result, a)
            self.assertEqual(ad[5].result, a | d)
            bad = shadowpt.Program().read(0x400000)
            bad[0].flags = shadowpt.LOAD_OP_F_NOFLUSH
            with self.assertRaises(shadowpt.Error) as cm:
                sp.load(bad)
            self.assertEqual(cm.exception.errno, errno.EINVAL)
            # A window PAT: a reserved memory type is EINVAL; with the
            # host's PAT (through the msr driver) entry 7 may become UC.
            with self.assertRaises(shadowpt.Error) as cm:
                sp.load(shadowpt.Program().read(0x400000),
                        pat=0x0207050600070106)
            self.assertEqual(cm.exception.errno, errno.EINVAL)
            os.system("modprobe msr 2>/dev/null")
            try:
                fd = os.open("/dev/cpu/0/msr", os.O_RDONLY)
                host = int.from_bytes(os.pread(fd, 8, 0x277), "little")
                os.close(fd)
            except OSError:
                host = None
            if host is not None:
                prog = shadowpt.Program().write(0x400000, 7).read(0x400000)
                sp.load(prog, pat=host & 0x00ffffffffffffff)
                self.assertEqual(prog[1].result, 7)
    def test_user_run(self):
        param = "/sys/module/shadowpt/parameters/allow_runs"
        try:
            with open(param, "w") as f:
                f.write("1")
        except OSError:
            self.skipTest("cannot set allow_runs")
        try:
            with self.dev.space() as sp:
                sp.map(0x400000, 4096, prot=shadowpt.PROT_USER |
                       shadowpt.PROT_EXEC)
                sp.map(0x500000, 4096, prot=shadowpt.PROT_USER |
                       shadowpt.PROT_WRITE)
                # mov %rbx,%rax; add $1,%rax; syscall
                sp.write(0x400000, bytes([0x48, 0x89, 0xd8, 0x48, 0x83,
                                          0xc0, 0x01, 0x0f, 0x05]))
                ex = sp.run(0x400000, 0x501000, regs={"rbx": 41})
                self.assertEqual(ex["reason"], "syscall")
                self.assertEqual(ex["regs"]["rax"], 42)
                self.assertEqual(ex["rip"], 0x400009)
                with self.assertRaises(shadowpt.Error) as cm:
                    sp.run(0x500000, 0x501000)
                self.assertEqual(cm.exception.errno, errno.EFAULT)
                # Load ops at CPL 3 and with SMAP in force.
                sp.write(0x500000, (0x1234).to_bytes(8, "little"))
                prog = shadowpt.Program().read(0x500000, user=True)
                prog.write(0x400000, 1, user=True).fetch(0x400100, user=True)
                res = sp.load(prog)
                self.assertEqual(prog[0].status, shadowpt.LOAD_OK)
                self.assertEqual(prog[0].result, 0x1234)
                self.assertEqual(prog[1].status, shadowpt.LOAD_FAULT)
                self.assertEqual(prog[1].fault, shadowpt.FAULT_READ_ONLY)
                self.assertEqual(prog[1].error_code, 7)
                self.assertEqual(prog[2].status, shadowpt.LOAD_OK)
                if res.cpu_features & shadowpt.LOAD_CPU_SMAP:
                    smap = shadowpt.Program().read(0x500000, smap=True)
                    sp.load(smap)
                    self.assertEqual(smap[0].status, shadowpt.LOAD_FAULT)
                    self.assertEqual(smap[0].fault, shadowpt.FAULT_SMAP)
                    self.assertEqual(smap[0].error_code, 1)
                    self.assertIn("SMAP", smap[0].explain())
                bad = shadowpt.Program().read(0x500000, user=True, smap=True)
                with self.assertRaises(shadowpt.Error) as cm:
                    sp.load(bad)
                self.assertEqual(cm.exception.errno, errno.EINVAL)
        finally:
            with open(param, "w") as f:
                f.write("0")

    def test_dumps(self):
        with self.dev.space() as sp:
            for i in range(100):
                sp.map(0x1000000 + i * 8192, 4096)
            runs = list(sp.mappings())
            self.assertEqual(len(runs), 100)
            self.assertEqual([r["va"] for r in runs],
                             [0x1000000 + i * 8192 for i in range(100)])
            with shadowpt.Netlink() as nl:
                ids = [s["id"] for s in nl.spaces()]
            self.assertIn(sp.id, ids)
        with self.assertRaises(shadowpt.Error) as cm:
            with shadowpt.Netlink() as nl:
                list(nl.mappings(0x7fffffff))
        self.assertEqual(cm.exception.errno, errno.ENOENT)

    def test_events_in_order(self):
        with shadowpt.Monitor() as mon:
            with self.dev.space() as sp:
                sp.map(0, 4096)
                sp.protect(0, 4096, 0)
                sp.unmap(0, 4096)
                sid = sp.id
            names = []
            while len(names) < 5:
                e = mon.next(timeout=5)
                self.assertIsNotNone(e)
                if e["space_id"] == sid:
                    names.append(e["name"])
            self.assertEqual(names, ["space_created", "map", "protect",
                                     "unmap", "space_destroyed"])

    def test_supported(self):
        s = shadowpt.supported()
        self.assertTrue(s["module"]["loaded"])
        self.assertIn(4096, s["module"]["page_sizes_list"])


if __name__ == "__main__":
    unittest.main()
