# SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
"""ctypes declarations of libshadowpt.so.1 and of the uAPI structs."""

import ctypes
import ctypes.util
import os

c_u32 = ctypes.c_uint32
c_u64 = ctypes.c_uint64
c_int = ctypes.c_int
c_void_p = ctypes.c_void_p
c_size_t = ctypes.c_size_t


class Version(ctypes.Structure):
    _fields_ = [("size", c_u32), ("flags", c_u32),
                ("out_api_version", c_u32), ("out_levels", c_u32),
                ("out_phys_bits", c_u32), ("out_meta_slot_bytes", c_u32),
                ("out_user_end", c_u64), ("out_page_sizes", c_u64)]


class SpaceCreate(ctypes.Structure):
    _fields_ = [("size", c_u32), ("flags", c_u32),
                ("out_space_id", c_u32), ("out_levels", c_u32),
                ("out_root_pa", c_u64)]


class SpaceInfo(ctypes.Structure):
    _fields_ = [("size", c_u32), ("flags", c_u32), ("space_id", c_u32),
                ("out_flags", c_u32), ("out_root_pa", c_u64),
                ("out_levels", c_u32), ("out_owner_pid", c_u32),
                ("out_data_frames", c_u64), ("out_node_frames", c_u64),
                ("out_mapped_bytes", c_u64), ("out_loaded_cpus", c_u64)]


class QueryEntry(ctypes.Structure):
    _fields_ = [("va_start", c_u64), ("va_end", c_u64), ("phys", c_u64),
                ("flags", c_u32), ("level", c_u32), ("prot", c_u32),
                ("cache", c_u32)]


class QueryRun(ctypes.Structure):
    _fields_ = [("start", c_u64), ("end", c_u64), ("pa", c_u64),
                ("level", c_u32), ("prot", c_u32), ("cache", c_u32),
                ("flags", c_u32)]


class Stats(ctypes.Structure):
    _fields_ = [("size", c_u32), ("flags", c_u32), ("space_id", c_u32),
                ("__reserved", c_u32)] + [
        (n, c_u64) for n in (
            "pool_limit_frames", "pool_chunk_frames", "pool_used_frames",
            "pool_free_frames", "pool_node_frames", "pool_data_frames",
            "pool_returned_frames", "pool_meta_bytes", "pool_allocs",
            "pool_alloc_failures", "nr_spaces", "meta_slot_bytes")] + [
        ("space_nodes", c_u64 * 5), ("space_leaves", c_u64 * 3),
        ("space_data_frames", c_u64)]


class LoadOp(ctypes.Structure):
    _fields_ = [("op", c_u32), ("width", c_u32), ("va", c_u64),
                ("value", c_u64), ("length", c_u64), ("prot", c_u32),
                ("flags", c_u32), ("out_status", c_u32),
                ("out_fault", c_u32), ("out_level", c_u32),
                ("out_errno", c_u32), ("out_value", c_u64),
                ("out_cycles", c_u64)]


class Load(ctypes.Structure):
    _fields_ = [("size", c_u32), ("flags", c_u32), ("space_id", c_u32),
                ("cpu", c_u32), ("nr_ops", c_u32), ("op_size", c_u32),
                ("ops", c_u64), ("out_status", c_u32), ("out_cpu", c_u32),
                ("out_ops_run", c_u32), ("out_faults", c_u32),
                ("out_ns", c_u64), ("out_tsc_khz", c_u32),
                ("out_cpu_features", c_u32), ("pat", c_u64)]


class UserRun(ctypes.Structure):
    _fields_ = [("size", c_u32), ("flags", c_u32), ("space_id", c_u32),
                ("cpu", c_u32), ("rip", c_u64), ("rflags", c_u64),
                ("regs", c_u64 * 16), ("out_reason", c_u32),
                ("out_vector", c_u32), ("out_error_code", c_u64),
                ("out_cr2", c_u64), ("out_rip", c_u64),
                ("out_rflags", c_u64), ("out_regs", c_u64 * 16),
                ("out_cpu", c_u32), ("out_fault", c_u32),
                ("out_level", c_u32), ("out_flags", c_u32),
                ("out_ns", c_u64)]


class EntryBits(ctypes.Structure):
    _fields_ = [("size", c_u32), ("flags", c_u32), ("space_id", c_u32),
                ("level", c_u32), ("va", c_u64), ("length", c_u64),
                ("set", c_u64), ("clear", c_u64), ("out_entries", c_u64),
                ("out_changed", c_u64), ("out_bits", c_u64)]


class SpaceDesc(ctypes.Structure):
    _fields_ = [("id", c_u32), ("flags", c_u32), ("levels", c_u32),
                ("owner_pid", c_u32), ("has", c_u32), ("_pad", c_u32),
                ("root_pa", c_u64), ("data_frames", c_u64),
                ("node_frames", c_u64), ("mapped_bytes", c_u64)]


class Run(ctypes.Structure):
    _fields_ = [("va", c_u64), ("end", c_u64), ("phys", c_u64),
                ("pages", c_u64), ("level", c_u32), ("prot", c_u32),
                ("cache", c_u32), ("flags", c_u32), ("has", c_u32),
                ("_pad", c_u32)]


class Event(ctypes.Structure):
    _fields_ = [("type", c_u32), ("space_id", c_u32), ("pid", c_u32),
                ("err", c_u32), ("va", c_u64), ("len", c_u64),
                ("count", c_u64), ("cpu", c_u32), ("faults", c_u32),
                ("status", c_u32), ("_pad", c_u32)]


# The sizes of the uAPI release this package was written against.
SIZES = {Version: 40, SpaceCreate: 24, SpaceInfo: 64, QueryEntry: 40,
         Stats: 184, LoadOp: 72, Load: 72, UserRun: 352, EntryBits: 72}

SPACE_FN = ctypes.CFUNCTYPE(c_int, ctypes.POINTER(SpaceDesc), c_void_p)
RUN_FN = ctypes.CFUNCTYPE(c_int, ctypes.POINTER(Run), c_void_p)
EVENT_FN = ctypes.CFUNCTYPE(c_int, ctypes.POINTER(Event), c_void_p)
QUERY_FN = ctypes.CFUNCTYPE(c_int, ctypes.POINTER(QueryEntry), c_void_p)


def _find():
    """$SHADOWPT_LIB, the tree's userspace/lib, then the system's."""
    env = os.environ.get("SHADOWPT_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.join(here, "..", "..", "userspace", "lib",
                        "libshadowpt.so.1")
    if os.path.exists(tree):
        return tree
    return ctypes.util.find_library("shadowpt") or "libshadowpt.so.1"


def load():
    lib = ctypes.CDLL(_find(), use_errno=True)
    P = ctypes.POINTER
    h = c_void_p
    protos = {
        "spt_open": (c_int, [P(c_void_p)]),
        "spt_open_path": (c_int, [ctypes.c_char_p, P(c_void_p)]),
        "spt_close": (None, [h]),
        "spt_fd": (c_int, [h]),
        "spt_version": (c_int, [h, P(Version)]),
        "spt_space_create": (c_int, [h, c_u32, P(SpaceCreate)]),
        "spt_space_destroy": (c_int, [h, c_u32]),
        "spt_space_info": (c_int, [h, c_u32, P(SpaceInfo)]),
        "spt_map": (c_int, [h, c_u32, c_u64, c_u64, c_u32, c_u32, c_u32,
                            c_u64, P(c_u64)]),
        "spt_map_share": (c_int, [h, c_u32, c_u64, c_u64, c_u32, c_u64,
                                  c_u32, c_u32, P(c_u64)]),
        "spt_map_user": (c_int, [h, c_u32, c_u64, c_u64, c_void_p,
                                 c_u32, c_u32, P(c_u64)]),
        "spt_mmap": (c_int, [h, c_u32, c_u64, c_u64, c_int,
                             P(c_void_p)]),
        "spt_munmap": (c_int, [c_void_p, c_u64]),
        "spt_unmap": (c_int, [h, c_u32, c_u64, c_u64, P(c_u64),
                              P(c_u64)]),
        "spt_protect": (c_int, [h, c_u32, c_u64, c_u64, c_u32, c_u32,
                                c_u32, P(c_u64), P(c_u64)]),
        "spt_query": (c_int, [h, c_u32, c_u64, P(QueryEntry)]),
        "spt_query_batch": (c_int, [h, c_u32, P(c_u64), c_size_t,
                                    P(QueryEntry), P(c_size_t)]),
        "spt_query_runs": (c_int, [h, c_u32, c_u64, c_u64, c_u32,
                                   c_void_p, c_size_t, P(c_size_t),
                                   P(c_u64)]),
        "spt_read": (c_int, [h, c_u32, c_u64, c_void_p, c_size_t,
                             P(c_size_t)]),
        "spt_write": (c_int, [h, c_u32, c_u64, c_void_p, c_size_t,
                              P(c_size_t)]),
        "spt_stats": (c_int, [h, c_u32, P(Stats)]),
        "spt_check": (c_int, [h, c_u32, ctypes.c_char_p, c_size_t]),
        "spt_load": (c_int, [h, c_u32, c_u32, c_u32, P(LoadOp), c_u32,
                             P(Load)]),
        "spt_load2": (c_int, [h, c_u32, c_u32, c_u32, P(LoadOp), c_u32,
                              P(Load)]),
        "spt_load3": (c_int, [h, c_u32, c_u32, c_u32, c_u64, P(LoadOp),
                              c_u32, P(Load)]),
        "spt_user_run": (c_int, [h, P(UserRun)]),
        "spt_entry_bits": (c_int, [h, P(EntryBits)]),
        "spt_tables_open": (c_int, [h, c_u32, P(c_void_p)]),
        "spt_tables_walk": (c_int, [c_void_p, P(c_u64), c_size_t,
                                    P(QueryEntry)]),
        "spt_tables_close": (None, [c_void_p]),
        "spt_nl_open": (c_int, [P(c_void_p)]),
        "spt_nl_close": (None, [h]),
        "spt_nl_fd": (c_int, [h]),
        "spt_dump_spaces": (c_int, [h, SPACE_FN, c_void_p]),
        "spt_dump_mappings": (c_int, [h, c_u32, c_u64, c_u64, RUN_FN,
                                      c_void_p]),
        "spt_nl_subscribe": (c_int, [h]),
        "spt_nl_events": (c_int, [h, EVENT_FN, c_void_p]),
        "spt_nl_wait": (c_int, [h, c_int]),
        "spt_event_name": (ctypes.c_char_p, [c_u32]),
    }
    for name, (res, args) in protos.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
    return lib
