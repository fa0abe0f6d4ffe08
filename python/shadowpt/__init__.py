# SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
"""shadowpt: x86-64 address spaces of your own, from Python.

Standard library only: ctypes over libshadowpt.so.1. Example::

    import shadowpt
    with shadowpt.Device() as dev, dev.space() as sp:
        sp.map(0x200000, 4 << 20, page=shadowpt.MAP_2M)
        print(sp.query(0x200000))

Errors are raised as shadowpt.Error, a subclass of OSError carrying the
kernel's errno (.errno, .strerror).
"""

import ctypes
import errno as _errno
import os

from . import _lib

__all__ = ["Device", "Space", "Error", "Program", "Op", "Monitor",
           "version", "supported"]

# uAPI constants (uapi/linux/shadowpt.h).
API_VERSION = 1
DEVICE_PATH = "/dev/shadowpt"
SPACE_FD_OWNED = 1 << 0
PROT_WRITE, PROT_EXEC, PROT_USER, PROT_GLOBAL = 1, 2, 4, 8
PROT_ACCESSED, PROT_DIRTY = 16, 32
CACHE_WB, CACHE_WT, CACHE_UC_MINUS, CACHE_UC, CACHE_WC = range(5)
CACHE_PAT0 = 5


def CACHE_PAT(n):
    """The cache mode that selects entry n (0..7) of the PAT."""
    if not 0 <= n <= 7:
        raise ValueError("PAT entry 0..7")
    return CACHE_PAT0 + n


MAP_4K, MAP_2M, MAP_LARGEST, MAP_PHYS, MAP_REPLACE = 1, 2, 4, 8, 16
MAP_SHARE = 32
PROTECT_CACHE = 1
QUERY_MAPPED, QUERY_TRACKED = 1, 2
QUERY_RANGE_COMPACT = 1
QUERY_RANGE_MAX = 1 << 20
QPAGE_PROT_SHIFT, QPAGE_LEVEL_SHIFT, QPAGE_CACHE_SHIFT = 4, 52, 56
QPAGE_PA_MASK = 0x000ffffffffff000
LOAD_OP_READ, LOAD_OP_WRITE, LOAD_OP_FETCH = 1, 2, 3
LOAD_OP_UNMAP, LOAD_OP_PROTECT, LOAD_OP_MAP = 4, 5, 6
LOAD_OP_INVLPG, LOAD_OP_FLUSH, LOAD_OP_AD_CLEAR, LOAD_OP_AD_READ = 7, 8, 9, 10
LOAD_OP_F_NOFLUSH, LOAD_OP_F_TIMED = 1, 2
LOAD_OP_F_USER, LOAD_OP_F_SMAP = 1 << 8, 1 << 9
LOAD_CPU_PCID, LOAD_CPU_INVPCID, LOAD_CPU_SMEP, LOAD_CPU_SMAP = 1, 2, 4, 8
LOAD_CPU_LA57, LOAD_CPU_PKU, LOAD_CPU_RDTSCP = 16, 32, 64
LOAD_FLUSH_CR3, LOAD_FLUSH_INVPCID_SINGLE, LOAD_FLUSH_INVPCID_ALL = 0, 1, 2
LOAD_NOT_RUN, LOAD_OK, LOAD_FAULT, LOAD_PREDICTED, LOAD_ERROR = range(5)
FAULT_NOT_PRESENT, FAULT_READ_ONLY, FAULT_USER = 1, 2, 4
FAULT_NX, FAULT_MISMATCH, FAULT_STALE = 8, 16, 32
LOAD_CPU, LOAD_FORCE, LOAD_PAT = 1, 2, 4
FAULT_SUPERVISOR, FAULT_RSVD = 64, 128
# SPT_IOCTL_ENTRY_BITS: the PTE bits by name (SPT_BITS_*), and the flag.
BITS = {"w": 1 << 1, "u": 1 << 2, "pwt": 1 << 3, "pcd": 1 << 4,
        "nx": 1 << 63, "rsvd": 1 << 51, "avl": 0x3f << 52,
        "pkey": 0xf << 59}
ENTRY_BITS_RSVD = 1
FAULT_SMAP = 1 << 9

# SPT_IOCTL_RUN: registers in hardware order, exit reasons.
REG_NAMES = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
RUN_EXIT_NAMES = {1: "exception", 2: "syscall", 3: "sysenter", 4: "int",
                  5: "time", 6: "nmi"}
LOAD_MAX_OPS = 4096
LOAD_DONE, LOAD_STOPPED_TIME = 1, 2
EVENT_NAMES = {1: "space_created", 2: "space_destroyed", 3: "map",
               4: "unmap", 5: "protect", 6: "load"}
HAS_ROOT_PA, HAS_PHYS = 1, 2

_LIB = None


def lib():
    """The loaded libshadowpt (ctypes.CDLL), loaded on first use."""
    global _LIB
    if _LIB is None:
        _LIB = _lib.load()
    return _LIB


class Error(OSError):
    """A libshadowpt call failed: .errno is the kernel's errno."""


def _check(ret, what):
    if ret < 0:
        e = -ret
        raise Error(e, "%s: %s" % (what, os.strerror(e)))
    return ret


class Mapping:
    """A space's memory in this process (Space.mmap); a context manager."""

    def __init__(self, addr, length, write):
        self.addr, self.length = addr, length
        view = memoryview((ctypes.c_char * length).from_address(addr))
        self.mem = view.cast("B") if write else view.cast("B").toreadonly()

    def close(self):
        if self.addr is not None:
            self.mem.release()
            _check(lib().spt_munmap(self.addr, self.length), "munmap")
            self.addr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _struct_dict(s):
    """A struct's fields; a command struct's size and flags left out."""
    names = [name for name, _ in s._fields_ if not name.startswith("_")]
    if "size" in names:
        names = [n for n in names if n not in ("size", "flags")]
    return {n: (list(getattr(s, n)) if hasattr(getattr(s, n), "__len__")
                else getattr(s, n)) for n in names}


def _plain(d):
    """out_x -> x."""
    return {(k[4:] if k.startswith("out_") else k): v for k, v in d.items()}


class Op:
    """One op of a load window program, with its results after a run."""

    def __init__(self, op, va, width=0, value=0, length=0, prot=0, flags=0):
        self.op, self.va, self.width = op, va, width
        self.value, self.length, self.prot = value, length, prot
        self.flags = flags
        self.status = LOAD_NOT_RUN
        self.fault = self.level = self.errno = self.result = 0
        self.cycles = 0

    @staticmethod
    def _access_flags(timed, user=False, smap=False):
        return ((LOAD_OP_F_TIMED if timed else 0) |
                (LOAD_OP_F_USER if user else 0) |
                (LOAD_OP_F_SMAP if smap else 0))

    @classmethod
    def read(cls, va, width=8, timed=False, user=False, smap=False):
        """user: at CPL 3; smap: in kernel mode with SMAP in force."""
        return cls(LOAD_OP_READ, va, width=width,
                   flags=cls._access_flags(timed, user, smap))

    @classmethod
    def write(cls, va, value, width=8, timed=False, user=False, smap=False):
        return cls(LOAD_OP_WRITE, va, width=width, value=value,
                   flags=cls._access_flags(timed, user, smap))

    @classmethod
    def fetch(cls, va, timed=False, user=False):
        return cls(LOAD_OP_FETCH, va, flags=cls._access_flags(timed, user))

    @property
    def error_code(self):
        """A USER or SMAP access that faulted: the #PF error code."""
        if (self.status == LOAD_FAULT and
                self.flags & (LOAD_OP_F_USER | LOAD_OP_F_SMAP)):
            return self.result
        return None

    @classmethod
    def unmap(cls, va, length, noflush=False):
        return cls(LOAD_OP_UNMAP, va, length=length,
                   flags=LOAD_OP_F_NOFLUSH if noflush else 0)

    @classmethod
    def protect(cls, va, length, prot, noflush=False):
        return cls(LOAD_OP_PROTECT, va, length=length, prot=prot,
                   flags=LOAD_OP_F_NOFLUSH if noflush else 0)

    @classmethod
    def map(cls, va, length, prot=PROT_WRITE, noflush=False):
        return cls(LOAD_OP_MAP, va, length=length, prot=prot,
                   flags=LOAD_OP_F_NOFLUSH if noflush else 0)

    @classmethod
    def invlpg(cls, va):
        return cls(LOAD_OP_INVLPG, va)

    @classmethod
    def flush(cls, method=LOAD_FLUSH_CR3):
        return cls(LOAD_OP_FLUSH, 0, value=method)

    @classmethod
    def ad_clear(cls, va):
        return cls(LOAD_OP_AD_CLEAR, va)

    @classmethod
    def ad_read(cls, va):
        return cls(LOAD_OP_AD_READ, va)

    @property
    def faulted(self):
        return self.status in (LOAD_FAULT, LOAD_PREDICTED)

    def explain(self):
        """The fault in words ("not present at level 1", "read-only")."""
        if self.status == LOAD_OK:
            if self.fault & FAULT_STALE:
                return "ok: stale translation (NOFLUSH)"
            return "ok"
        if self.status == LOAD_ERROR:
            return "error: %s" % os.strerror(self.errno)
        if self.status == LOAD_NOT_RUN:
            return "not run"
        why = []
        if self.fault & FAULT_NOT_PRESENT:
            why.append("not present at level %d" % self.level)
        if self.fault & FAULT_READ_ONLY:
            why.append("write to a read-only page")
        if self.fault & FAULT_USER:
            why.append("fetch from a user page (SMEP)")
        if self.fault & FAULT_NX:
            why.append("fetch from a no-execute page")
        if self.fault & FAULT_SUPERVISOR:
            why.append("user access to a supervisor page")
        if self.fault & FAULT_SMAP:
            why.append("kernel access to a user page (SMAP)")
        if self.fault & FAULT_MISMATCH:
            why.append("MMU and software walker disagree")
        if self.fault & FAULT_STALE:
            why.append("stale translation (NOFLUSH)")
        kind = "fault" if self.status == LOAD_FAULT else "predicted fault"
        return "%s: %s" % (kind, ", ".join(why) or "?")

    def __repr__(self):
        return "Op(op=%d, va=%#x, status=%d, result=%#x)" % (
            self.op, self.va, self.status, self.result)


class Program(list):
    """A load window program: a list of Op with builder methods."""

    def read(self, va, width=8, timed=False, user=False, smap=False):
        self.append(Op.read(va, width, timed, user, smap))
        return self

    def write(self, va, value, width=8, timed=False, user=False,
              smap=False):
        self.append(Op.write(va, value, width, timed, user, smap))
        return self

    def fetch(self, va, timed=False, user=False):
        self.append(Op.fetch(va, timed, user))
        return self

    def unmap(self, va, length, noflush=False):
        self.append(Op.unmap(va, length, noflush))
        return self

    def protect(self, va, length, prot, noflush=False):
        self.append(Op.protect(va, length, prot, noflush))
        return self

    def map(self, va, length, prot=PROT_WRITE, noflush=False):
        self.append(Op.map(va, length, prot, noflush))
        return self

    def invlpg(self, va):
        self.append(Op.invlpg(va))
        return self

    def flush(self, method=LOAD_FLUSH_CR3):
        self.append(Op.flush(method))
        return self

    def ad_clear(self, va):
        self.append(Op.ad_clear(va))
        return self

    def ad_read(self, va):
        self.append(Op.ad_read(va))
        return self


class LoadResult:
    def __init__(self, l, ops):
        self.status = l.out_status
        self.cpu = l.out_cpu
        self.ops_run = l.out_ops_run
        self.faults = l.out_faults
        self.ns = l.out_ns
        self.tsc_khz = l.out_tsc_khz
        self.cpu_features = l.out_cpu_features
        self.ops = ops

    def __repr__(self):
        return ("LoadResult(status=%d, cpu=%d, ops_run=%d, faults=%d, "
                "ns=%d)" % (self.status, self.cpu, self.ops_run,
                            self.faults, self.ns))


class Device:
    """/dev/shadowpt. A context manager; close() ends fd-owned spaces."""

    def __init__(self, path=None):
        self._h = ctypes.c_void_p()
        if path is None:
            _check(lib().spt_open(ctypes.byref(self._h)), "open")
        else:
            _check(lib().spt_open_path(path.encode(), ctypes.byref(self._h)),
                   "open " + path)

    def close(self):
        if self._h:
            lib().spt_close(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def fileno(self):
        return lib().spt_fd(self._h)

    def version(self):
        v = _lib.Version()
        _check(lib().spt_version(self._h, ctypes.byref(v)), "version")
        return _plain(_struct_dict(v))

    def space(self, fd_owned=False):
        """A new Space (a context manager that destroys it)."""
        c = _lib.SpaceCreate()
        sid = _check(lib().spt_space_create(
            self._h, SPACE_FD_OWNED if fd_owned else 0, ctypes.byref(c)),
            "space create")
        return Space(self, sid, c.out_levels, c.out_root_pa)

    def open_space(self, space_id):
        """A Space object for an existing id (not destroyed on exit)."""
        info = Space(self, space_id, owned=False).info()
        return Space(self, space_id, info["levels"], info["root_pa"],
                     owned=False)

    def stats(self, space_id=0):
        s = _lib.Stats()
        _check(lib().spt_stats(self._h, space_id, ctypes.byref(s)), "stats")
        return _struct_dict(s)


class Space:
    """A space. ``with dev.space() as sp:`` destroys it at the end."""

    def __init__(self, dev, space_id, levels=0, root_pa=0, owned=True):
        self.dev, self.id = dev, space_id
        self.levels, self.root_pa, self.owned = levels, root_pa, owned

    @property
    def _h(self):
        return self.dev._h

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.owned:
            self.destroy()

    def destroy(self):
        if self.id:
            _check(lib().spt_space_destroy(self._h, self.id),
                   "space destroy %d" % self.id)
            self.id = 0

    def info(self):
        i = _lib.SpaceInfo()
        _check(lib().spt_space_info(self._h, self.id, ctypes.byref(i)),
               "space info %d" % self.id)
        return _plain(_struct_dict(i))

    def map(self, va, length, page=MAP_4K, prot=PROT_WRITE, cache=CACHE_WB,
            phys=None, replace=False):
        """Map [va, va + length): page is MAP_4K, MAP_2M or MAP_LARGEST;
        phys= maps that physical range untracked."""
        flags = MAP_PHYS if phys is not None else page
        if replace:
            flags |= MAP_REPLACE
        out = ctypes.c_uint64()
        _check(lib().spt_map(self._h, self.id, va, length, flags, prot,
                             cache, phys or 0, ctypes.byref(out)),
               "map %#x+%#x" % (va, length))
        return out.value

    def share(self, va, length, src, src_va, prot=PROT_WRITE,
              cache=CACHE_WB):
        """Map at [va, va + length) what backs [src_va, src_va + length)
        of the space src (a Space or an id; this one: an alias)."""
        src_id = src.id if isinstance(src, Space) else src
        out = ctypes.c_uint64()
        _check(lib().spt_map_share(self._h, self.id, va, length, src_id,
                                   src_va, prot, cache, ctypes.byref(out)),
               "share %#x+%#x from %d:%#x" % (va, length, src_id, src_va))
        return out.value

    def map_user(self, va, length, addr, prot=PROT_WRITE, cache=CACHE_WB):
        """Pin the calling process's memory at address addr (an int, 4 KiB
        aligned, e.g. of an mmap buffer) and map it at [va, va + length);
        the space keeps the pages until they are unmapped."""
        out = ctypes.c_uint64()
        _check(lib().spt_map_user(self._h, self.id, va, length, addr, prot,
                                  cache, ctypes.byref(out)),
               "map_user %#x+%#x from %#x" % (va, length, addr))
        return out.value

    def mmap(self, va, length, write=True):
        """The frames behind [va, va + length) mapped into this process
        (SPT_IOCTL_MMAP + mmap, MAP_SHARED): a Mapping whose .mem is a
        writable (or, write=False, read-only) memoryview of the same memory
        the space sees. It stays valid after the space unmaps the range or
        is destroyed, until Mapping.close()."""
        addr = ctypes.c_void_p()
        prot = 1 | (2 if write else 0)        # PROT_READ | PROT_WRITE
        _check(lib().spt_mmap(self._h, self.id, va, length, prot,
                              ctypes.byref(addr)),
               "mmap %#x+%#x" % (va, length))
        return Mapping(addr.value, length, write)

    def unmap(self, va, length):
        leaves, done = ctypes.c_uint64(), ctypes.c_uint64()
        _check(lib().spt_unmap(self._h, self.id, va, length,
                               ctypes.byref(leaves), ctypes.byref(done)),
               "unmap %#x+%#x" % (va, length))
        return leaves.value

    def protect(self, va, length, prot, cache=None):
        leaves, done = ctypes.c_uint64(), ctypes.c_uint64()
        flags = PROTECT_CACHE if cache is not None else 0
        _check(lib().spt_protect(self._h, self.id, va, length, flags, prot,
                                 cache or 0, ctypes.byref(leaves),
                                 ctypes.byref(done)),
               "protect %#x+%#x" % (va, length))
        return leaves.value

    def entry_bits(self, va, length, level, set=0, clear=0, rsvd=False):
        """SPT_IOCTL_ENTRY_BITS: set and clear PTE bits (BITS values) on
        the present entries of one level (1 = 4 KiB leaves .. levels =
        root entries) whose span meets [va, va + length).

        rsvd allows BITS["rsvd"] in set. Returns a dict: entries (met),
        changed, bits (the first entry met after the change, without
        its address).
        """
        r = _lib.EntryBits()
        r.flags = ENTRY_BITS_RSVD if rsvd else 0
        r.space_id, r.level, r.va, r.length = self.id, level, va, length
        r.set, r.clear = set, clear
        _check(lib().spt_entry_bits(self._h, ctypes.byref(r)),
               "entry bits %#x+%#x level %u" % (va, length, level))
        return {"entries": r.out_entries, "changed": r.out_changed,
                "bits": r.out_bits}

    def query(self, va):
        e = _lib.QueryEntry()
        _check(lib().spt_query(self._h, self.id, va, ctypes.byref(e)),
               "query %#x" % va)
        return _struct_dict(e)

    def open_tables(self):
        """SPT_IOCTL_TABLES: map the space's page tables read-only.

        From then on query() and query_batch() through this device walk
        the mapping with no system call (falling back to the ioctls when a
        walk keeps racing with changes); close_tables() ends it.
        """
        if getattr(self, "_tables", None):
            return
        t = ctypes.c_void_p()
        _check(lib().spt_tables_open(self._h, self.id, ctypes.byref(t)),
               "tables open %d" % self.id)
        self._tables = t

    def tables_walk(self, vas):
        """Translate VAs through the open tables mapping only (no ioctl)."""
        vas = list(vas)
        n = len(vas)
        arr = (ctypes.c_uint64 * n)(*vas)
        out = (_lib.QueryEntry * n)()
        _check(lib().spt_tables_walk(self._tables, arr, n, out),
               "tables walk")
        return [_struct_dict(e) for e in out]

    def close_tables(self):
        if getattr(self, "_tables", None):
            lib().spt_tables_close(self._tables)
            self._tables = None

    def query_batch(self, vas):
        vas = list(vas)
        n = len(vas)
        arr = (ctypes.c_uint64 * n)(*vas)
        out = (_lib.QueryEntry * n)()
        done = ctypes.c_size_t()
        _check(lib().spt_query_batch(self._h, self.id, arr, n, out,
                                     ctypes.byref(done)), "query batch")
        return [_struct_dict(e) for e in out]

    def query_range(self, va, length, compact=False, max_entries=4096):
        """SPT_IOCTL_QUERY_RANGE over [va, va + length), all of it.

        Returns the merged runs of what is mapped, as dicts (start, end,
        pa, level, prot, cache, flags), or with compact=True one dict per
        4 KiB page (va, mapped, tracked, pa, level, prot, cache).
        """
        end = va + length
        n = max(1, min(max_entries, QUERY_RANGE_MAX))
        buf = (ctypes.c_uint64 * n)() if compact else (_lib.QueryRun * n)()
        nr, nxt = ctypes.c_size_t(), ctypes.c_uint64()
        out = []
        while va < end:
            _check(lib().spt_query_runs(
                self._h, self.id, va, end - va,
                QUERY_RANGE_COMPACT if compact else 0, buf, n,
                ctypes.byref(nr), ctypes.byref(nxt)),
                "query range %#x+%#x" % (va, end - va))
            for i in range(nr.value):
                if not compact:
                    out.append(_struct_dict(buf[i]))
                    continue
                w = buf[i]
                out.append({
                    "va": va + i * 4096, "mapped": bool(w & QUERY_MAPPED),
                    "tracked": bool(w & QUERY_TRACKED),
                    "pa": w & QPAGE_PA_MASK,
                    "level": (w >> QPAGE_LEVEL_SHIFT) & 3,
                    "prot": (w >> QPAGE_PROT_SHIFT) & 0x3f,
                    "cache": (w >> QPAGE_CACHE_SHIFT) & 7})
            va = nxt.value
        return out

    def read(self, va, length):
        buf = ctypes.create_string_buffer(length)
        done = ctypes.c_size_t()
        _check(lib().spt_read(self._h, self.id, va, buf, length,
                              ctypes.byref(done)), "read %#x" % va)
        return buf.raw

    def write(self, va, data):
        data = bytes(data)
        done = ctypes.c_size_t()
        _check(lib().spt_write(self._h, self.id, va, data, len(data),
                               ctypes.byref(done)), "write %#x" % va)
        return done.value

    def stats(self):
        return self.dev.stats(self.id)

    def check(self):
        """None when consistent; raises Error(EUCLEAN) with the message."""
        msg = ctypes.create_string_buffer(1024)
        ret = lib().spt_check(self._h, self.id, msg, len(msg))
        if ret == -_errno.EUCLEAN:
            raise Error(_errno.EUCLEAN, msg.value.decode(errors="replace"))
        _check(ret, "check")

    def load(self, program, cpu=None, force=False, pat=None):
        """Run a list of Op in a load window; fills in their results.

        pat: the IA32_PAT the window runs with (SPT_LOAD_PAT; entries
        0..3 must be the host's), or None for the host's."""
        n = len(program)
        ops = (_lib.LoadOp * max(n, 1))()
        for i, o in enumerate(program):
            ops[i].op, ops[i].va, ops[i].width = o.op, o.va, o.width
            ops[i].value, ops[i].length = o.value, o.length
            ops[i].prot, ops[i].flags = o.prot, o.flags
        flags = (LOAD_CPU if cpu is not None else 0) | \
            (LOAD_FORCE if force else 0) | \
            (LOAD_PAT if pat is not None else 0)
        out = _lib.Load()
        _check(lib().spt_load3(self._h, self.id, flags, cpu or 0, pat or 0,
                               ops, n, ctypes.byref(out)), "load")
        for i, o in enumerate(program):
            o.status, o.fault = ops[i].out_status, ops[i].out_fault
            o.level, o.errno = ops[i].out_level, ops[i].out_errno
            o.result = ops[i].out_value
            o.cycles = ops[i].out_cycles
        return LoadResult(out, program)

    def run(self, rip, rsp, regs=None, rflags=0, cpu=None, force=False):
        """SPT_IOCTL_RUN: run user code at rip with stack rsp (CPL 3).

        regs: {"rax": value, ...} (REG_NAMES). Returns a dict: reason
        (one of RUN_EXIT_NAMES), vector, error_code, cr2, rip, rflags,
        regs, cpu, fault, level, flags, ns.
        """
        r = _lib.UserRun()
        r.space_id, r.rip, r.rflags = self.id, rip, rflags
        r.flags = (LOAD_CPU if cpu is not None else 0) | \
            (LOAD_FORCE if force else 0)
        r.cpu = cpu or 0
        for name, value in (regs or {}).items():
            r.regs[REG_NAMES.index(name)] = value
        r.regs[REG_NAMES.index("rsp")] = rsp
        _check(lib().spt_user_run(self._h, ctypes.byref(r)), "run")
        return {
            "reason": RUN_EXIT_NAMES.get(r.out_reason, str(r.out_reason)),
            "vector": r.out_vector, "error_code": r.out_error_code,
            "cr2": r.out_cr2, "rip": r.out_rip, "rflags": r.out_rflags,
            "regs": dict(zip(REG_NAMES, list(r.out_regs))),
            "cpu": r.out_cpu, "fault": r.out_fault, "level": r.out_level,
            "flags": r.out_flags, "ns": r.out_ns,
        }

    def mappings(self, start=0, end=0):
        """Iterate over the merged runs of the space (netlink dump)."""
        with Netlink() as nl:
            yield from nl.mappings(self.id, start, end)


class Netlink:
    """A connection to the generic netlink family "shadowpt"."""

    def __init__(self):
        self._nl = ctypes.c_void_p()
        _check(lib().spt_nl_open(ctypes.byref(self._nl)), "netlink")

    def close(self):
        if self._nl:
            lib().spt_nl_close(self._nl)
            self._nl = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _dump(self, call, cbtype, conv):
        # libshadowpt calls back per message; ctypes callbacks cannot
        # yield, so the dump is gathered first and then iterated.
        items = []

        def cb(p, _arg):
            items.append(conv(p.contents))
            return 0
        c = cbtype(cb)
        _check(call(c), "dump")
        yield from items

    def spaces(self):
        def conv(s):
            d = _struct_dict(s)
            if not s.has & HAS_ROOT_PA:
                d["root_pa"] = None
            del d["has"]
            return d
        return self._dump(lambda c: lib().spt_dump_spaces(self._nl, c, None),
                          _lib.SPACE_FN, conv)

    def mappings(self, space_id, start=0, end=0):
        def conv(r):
            d = _struct_dict(r)
            if not r.has & HAS_PHYS:
                d["phys"] = None
            del d["has"]
            return d
        return self._dump(lambda c: lib().spt_dump_mappings(
            self._nl, space_id, start, end, c, None), _lib.RUN_FN, conv)


class Monitor(Netlink):
    """Events of the "events" group, in order: iterate or call next()."""

    def __init__(self):
        super().__init__()
        _check(lib().spt_nl_subscribe(self._nl), "subscribe")
        self._queue = []

        def cb(p, _arg):
            e = p.contents
            d = {n: getattr(e, n) for n, _ in e._fields_
                 if not n.startswith("_")}
            d["name"] = EVENT_NAMES.get(e.type, "event%d" % e.type)
            self._queue.append(d)
            return 0
        self._cb = _lib.EVENT_FN(cb)

    def fileno(self):
        return lib().spt_nl_fd(self._nl)

    def next(self, timeout=None):
        """The next event (a dict), or None after timeout seconds."""
        ms = -1 if timeout is None else int(timeout * 1000)
        while not self._queue:
            r = _check(lib().spt_nl_wait(self._nl, ms), "wait")
            if r == 0:
                return None
            ret = lib().spt_nl_events(self._nl, self._cb, None)
            if ret < 0 and ret not in (-_errno.EAGAIN, -_errno.ENOBUFS):
                _check(ret, "events")
        return self._queue.pop(0)

    def __iter__(self):
        while True:
            yield self.next()


def version():
    """The module's version answer (a dict)."""
    with Device() as d:
        return d.version()


def supported():
    """What the module and this CPU support, as a dict."""
    out = {"library": _lib._find()}
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    out["cpu"] = {"la57": "la57" in flags, "pdpe1gb": "pdpe1gb" in flags,
                  "pcid": "pcid" in flags, "smep": "smep" in flags,
                  "smap": "smap" in flags, "pti": "pti" in flags,
                  "nx": "nx" in flags}
    try:
        v = version()
        out["module"] = {"loaded": True, **v,
                         "page_sizes_list": [s for s in (4096, 2 << 20,
                                                         1 << 30)
                                             if v["page_sizes"] & s]}
    except OSError as e:
        out["module"] = {"loaded": False, "error": e.strerror,
                         "errno": e.errno}
    try:
        with open("/sys/devices/system/cpu/isolated") as f:
            out["isolated_cpus"] = f.read().strip()
    except OSError:
        out["isolated_cpus"] = ""
    return out
