# SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
"""python3 -m shadowpt [--json]: what the module and the CPU support."""

import json
import sys

from . import supported


def main(argv):
    s = supported()
    if "--json" in argv:
        print(json.dumps(s, indent=2, sort_keys=True))
        return 0
    m = s["module"]
    print("library       %s" % s["library"])
    if m["loaded"]:
        print("module        loaded, API version %d" % m["api_version"])
        print("paging        %d levels, user half ends at %#x" %
              (m["levels"], m["user_end"]))
        print("phys bits     %d" % m["phys_bits"])
        print("page sizes    %s" % ", ".join(
            {4096: "4K", 2 << 20: "2M", 1 << 30: "1G"}[p]
            for p in m["page_sizes_list"]))
        print("meta slot     %d bytes per frame" % m["meta_slot_bytes"])
    else:
        print("module        not usable: %s" % m["error"])
    cpu = s["cpu"]
    print("cpu           " + " ".join(
        "%s%s" % ("" if v else "-", k) for k, v in sorted(cpu.items())))
    print("isolated cpus %s" % (s["isolated_cpus"] or "none"))
    return 0 if m["loaded"] else 1


sys.exit(main(sys.argv[1:]))
