#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A load window with a fault explained (the twin of load_fault.c)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import shadowpt  # noqa: E402

va = 0x400000
with shadowpt.Device() as dev, dev.space() as sp:
    sp.map(va, 4096)
    prog = shadowpt.Program()
    prog.write(va, 0xfeed).read(va)
    prog.read(va + 0x200000)            # nothing mapped there
    prog.protect(va, 4096, 0)           # read-only, inside the window
    prog.write(va, 1)
    res = sp.load(prog)
    print("space %d: window on cpu %d, %d ops, %d faults, %d ns" % (
        sp.id, res.cpu, res.ops_run, res.faults, res.ns))
    for i, op in enumerate(prog):
        print("  op %d va %#x: %s" % (i, op.va, op.explain()))
    assert res.faults == 2 and prog[1].result == 0xfeed
