#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A space with a 2 MiB and 4 KiB mix (the Python twin of space_mix.c)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import shadowpt  # noqa: E402

KIB, MIB = 1 << 10, 1 << 20
va, length = 2 * MIB - 8 * KIB, 4 * MIB + 16 * KIB

with shadowpt.Device() as dev, dev.space() as sp:
    sp.map(va, length, page=shadowpt.MAP_LARGEST)
    print("space %d: mapped %#x+%#x with MAP_LARGEST" % (sp.id, va, length))
    for probe in (va, 2 * MIB, 4 * MIB + 4 * KIB, 6 * MIB):
        e = sp.query(probe)
        print("  %#x: %s leaf %#x-%#x" % (
            probe, "2M" if e["level"] == 2 else "4K", e["va_start"],
            e["va_end"]))
    for r in sp.mappings():
        print("  run %#x-%#x: %d x %s" % (
            r["va"], r["end"], r["pages"], "2M" if r["level"] == 2 else "4K"))
    assert [sp.query(a)["level"] for a in (va, 2 * MIB, 6 * MIB)] == [1, 2, 1]
