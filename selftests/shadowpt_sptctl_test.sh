#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# sptctl end to end (root, shadowpt.ko loaded: inside the test VM): the
# commands a user types, their JSON output, their exit statuses on bad input,
# and `dump --dot` checked against the kernel's own node counts (and parsed
# by Graphviz when it is installed). Prints TAP.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPTCTL=${SPTCTL:-$ROOT/userspace/sptctl}
TMP=$(mktemp -d /tmp/spt-sptctl-test.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
ID=

ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
skip() { n=$((n + 1)); echo "ok $n - $* # SKIP"; }
# t DESCRIPTION CMD...: the command must succeed.
t() {
	local d=$1
	shift
	if "$@" > "$TMP/out" 2> "$TMP/err"; then
		ok "$d"
	else
		notok "$d (exit $?: $(head -c 300 "$TMP/err"))"
	fi
}
# tfail STATUS PATTERN DESCRIPTION CMD...: exit STATUS, PATTERN on stderr.
tfail() {
	local want=$1 pat=$2 d=$3 rc
	shift 3
	"$@" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -q -- "$pat" "$TMP/err"; then
		ok "$d"
	else
		notok "$d (exit $rc, want $want; stderr: $(head -c 300 "$TMP/err"))"
	fi
}
sptctl() { "$SPTCTL" "$@"; }
json_ok() { python3 -c 'import json,sys; json.load(sys.stdin)' < "$1"; }
has() { grep -q -- "$2" "$1"; }

echo "TAP version 13"
if [ ! -x "$SPTCTL" ] || [ ! -c /dev/shadowpt ]; then
	echo "1..0 # SKIP needs $SPTCTL and /dev/shadowpt (shadowpt loaded)"
	exit 4
fi

t "version" sptctl version
t "version -j is JSON" sh -c "'$SPTCTL' -j version > '$TMP/v.json' &&
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' '$TMP/v.json'"

# Pool counters before: other programs' leftovers are not ours to judge.
sptctl -j stats > "$TMP/p0.json" || { notok "stats"; echo "1..$n"; exit 1; }
if ID=$(sptctl space create 2> "$TMP/err") && [ -n "$ID" ]; then
	ok "space create -> $ID"
else
	notok "space create ($(cat "$TMP/err"))"
	echo "1..$n"
	exit 1
fi
t "space list shows it" sh -c "'$SPTCTL' space list | grep -q '^ *$ID '"
t "space list -j is JSON" sh -c "'$SPTCTL' -j space list > '$TMP/l.json'"
if json_ok "$TMP/l.json"; then ok "space list JSON parses"; else notok "space list JSON parses"; fi

# 4 KiB at 0x1ff000, 2 MiB leaves at 0x200000..0x600000, one 4 KiB at
# 0x40000000 (its own level-2 and level-1 nodes).
t "map 4M+4K --largest" sptctl map "$ID" 0x1ff000 0x401000 --largest --prot rw
t "map 4K in the next 1 GiB" sptctl map "$ID" 0x40000000 4K --prot r
t "query a 2M leaf" sptctl query "$ID" 0x300000
if has "$TMP/out" "2/2M"; then ok "query says 2/2M"; else notok "query says 2/2M: $(cat "$TMP/out")"; fi
t "dump" sptctl dump "$ID"
# Runs merge only where the physical addresses are contiguous too: the two
# 2M frames may or may not be; the 4K leaves at 0x1ff000 and 0x40000000
# never merge with anything.
lines=$(wc -l < "$TMP/out")
if [ "$lines" -ge 3 ] && [ "$lines" -le 4 ] && has "$TMP/out" "^0x0000000040000000-"; then
	ok "dump: $lines runs"
else
	notok "dump: 3 or 4 runs"
	sed 's/^/# /' "$TMP/out"
fi
t "dump -j" sh -c "'$SPTCTL' -j dump $ID > '$TMP/d.json'"
if python3 - "$TMP/d.json" <<'EOF'
import json, sys
runs = json.load(open(sys.argv[1]))
pages = {}
for r in runs:
    assert r["tracked"], r
    assert r["end"] - r["va"] == r["pages"] * r["page_size"], r
    pages[r["page_size"]] = pages.get(r["page_size"], 0) + r["pages"]
assert pages == {4096: 2, 2 << 20: 2}, pages
assert runs[0]["va"] == 0x1ff000 and runs[-1]["va"] == 0x40000000, runs
EOF
then ok "dump -j: the runs, their leaf sizes and counts"; else notok "dump -j runs"; fi
t "dump -j --from inside a 2M leaf" sh -c "'$SPTCTL' -j dump $ID --from 0x300000 --to 0x400000 > '$TMP/d2.json'"
if python3 - "$TMP/d2.json" <<'EOF'
import json, sys
runs = json.load(open(sys.argv[1]))
assert len(runs) == 1 and runs[0]["va"] == 0x200000, runs
assert runs[0]["page_size"] == 2 << 20 and runs[0]["pages"] == 1, runs
EOF
then ok "dump --from/--to: the leaf that holds --from"; else notok "dump --from/--to"; fi
# Range queries (SPT_IOCTL_QUERY_RANGE): runs, and a row per page.
t "query --len" sh -c "'$SPTCTL' -j query $ID 0x1ff000 --len 0x40002000 > '$TMP/q.json'"
t "query --len --pages" sh -c "'$SPTCTL' -j query $ID 0x1ff000 --len 12K --pages > '$TMP/qp.json'"
if python3 - "$TMP/q.json" "$TMP/qp.json" "$TMP/d.json" <<'EOF'
import json, sys
runs = json.load(open(sys.argv[1]))
pages = json.load(open(sys.argv[2]))
dump = json.load(open(sys.argv[3]))
assert [(r["va_start"], r["va_end"]) for r in runs] == \
    [(d["va"], d["end"]) for d in dump], (runs, dump)
assert all(r["mapped"] and r["tracked"] for r in runs), runs
assert len(pages) == 3, pages
assert [p["level"] for p in pages] == [1, 2, 2], pages
assert pages[2]["phys"] == pages[1]["phys"] + 4096, pages
EOF
then ok "query --len: the dump's runs; --pages: one row a page"; else notok "query --len"; fi
tfail 2 "needs --len" "query --pages without --len is a usage error" sptctl query "$ID" 0x1ff000 --pages
tfail 2 "not for --len" "query --tables with --len is a usage error" sptctl query "$ID" 0x1ff000 --len 4K --tables
t "query --tables" sh -c "'$SPTCTL' -j query $ID 0x1ff000 0x300000 0x301234 0x5 --tables > '$TMP/qt.json'"
t "query (ioctl)" sh -c "'$SPTCTL' -j query $ID 0x1ff000 0x300000 0x301234 0x5 > '$TMP/qi.json'"
if cmp -s "$TMP/qt.json" "$TMP/qi.json" && json_ok "$TMP/qt.json"
then ok "query --tables answers as the ioctl"; else notok "query --tables: $(cat "$TMP/qt.json")"; fi
tfail 1 "" "query --tables of no space fails" sptctl query 999999 0x1000 --tables

# --dot: the drawing must agree with the kernel's per-level node counts.
dot_check() {	# dot_check DESCRIPTION: $TMP/g.dot vs `sptctl -j stats ID`
	sptctl -j stats "$ID" > "$TMP/st.json" || { notok "$1: stats"; return; }
	if python3 - "$TMP/g.dot" "$TMP/st.json" <<'EOF'
import json, re, sys
dot = open(sys.argv[1]).read()
st = json.load(open(sys.argv[2]))
assert dot.startswith("digraph"), "not a digraph"
assert dot.rstrip().endswith("}"), "unterminated"
levels = max(i + 1 for i, v in enumerate(st["space_nodes"]) if v)
drawn = [0] * 5
drawn[levels - 1] = 1 if "L%d root" % levels in dot else 0
for m in re.finditer(r'label="L(\d) node', dot):
    drawn[int(m.group(1)) - 1] += 1
kernel = st["space_nodes"]
note = "kernel / drawn" in dot
# Every drawn node exists; a difference is always explained by the note.
assert all(d <= k for d, k in zip(drawn, kernel)), (drawn, kernel)
assert note == (drawn != kernel), (note, drawn, kernel)
# Edges: every node and leaf box has exactly one parent.
names = set(re.findall(r'^\t(n\d+|s\d+) \[', dot, re.M))
parents = re.findall(r'-> (n\d+|s\d+) ', dot)
assert sorted(parents) == sorted(names), (names, parents)
EOF
	then
		ok "$1"
	else
		notok "$1"
		sed 's/^/# /' "$TMP/g.dot"
	fi
	if command -v dot > /dev/null; then
		if dot -Tsvg -o "$TMP/g.svg" "$TMP/g.dot" 2> "$TMP/err"; then
			ok "$1: Graphviz renders it"
		else
			notok "$1: Graphviz: $(head -c 300 "$TMP/err")"
		fi
	else
		skip "$1: Graphviz renders it (dot not installed)"
	fi
}
t "dump --dot" sh -c "'$SPTCTL' dump $ID --dot > '$TMP/g.dot'"
dot_check "dump --dot matches the kernel's node counts"
# The two 2M leaves are one box or two (one run only if the frames are
# physically contiguous); the level-2 node at 1 GiB is entry 1 of its L3.
if grep -q 'label="L1 node' "$TMP/g.dot" && grep -q ' x 2M ' "$TMP/g.dot" &&
		grep -q '"1"\];' "$TMP/g.dot"; then
	ok "dump --dot: L1 nodes, the 2M leaves, entry labels"
else
	notok "dump --dot content"
	sed 's/^/# /' "$TMP/g.dot"
fi
# Empty a level-1 node piecewise: the kernel may keep it without leaves;
# the drawing then says so in its note (checked by dot_check either way).
t "unmap the lone 4K leaf" sptctl unmap "$ID" 0x1ff000 4K
t "dump --dot after the unmap" sh -c "'$SPTCTL' dump $ID --dot > '$TMP/g.dot'"
dot_check "dump --dot after the unmap matches or explains the counts"
t "dump --dot --from/--to" sh -c "'$SPTCTL' dump $ID --dot --from 0x40000000 --to 0x40001000 > '$TMP/g2.dot'"
if grep -q '0x0000000040000000-0x0000000040001000' "$TMP/g2.dot" &&
		! grep -q 'x 2M' "$TMP/g2.dot"; then
	ok "dump --dot --from/--to draws only that range"
else
	notok "dump --dot --from/--to: $(cat "$TMP/g2.dot")"
fi

# Load windows: TLB experiments (docs/tlb.md). The write between the
# noflush protect and the invlpg may be stale (ok) or fault; after the
# invlpg it must fault.
if grep -q . /sys/devices/system/cpu/isolated 2>/dev/null; then
	t "map for the TLB words" sptctl map "$ID" 0x7000000 4K --prot rw
	t "load: noflush protect, invlpg, flush (-j)" sh -c "'$SPTCTL' -j load '$ID' write 0x7000000=1 noflush protect 0x7000000 4K r write 0x7000000=2 invlpg 0x7000000 write 0x7000000=3 flush > '$TMP/tlb.json'"
	if python3 - "$TMP/tlb.json" <<'EOF'
import json, sys
w = json.load(open(sys.argv[1]))
ops = w["ops"]
assert [o["op"] for o in ops] == ["write", "protect", "write", "invlpg",
                                  "write", "flush"], ops
assert ops[1]["noflush"] is True and ops[1]["flags"] == 1, ops[1]
assert ops[2]["result"] in ("ok", "fault"), ops[2]
assert ops[2]["stale"] == (ops[2]["result"] == "ok"), ops[2]
assert ops[3]["result"] == "ok", ops[3]
assert ops[4]["result"] == "fault" and not ops[4]["stale"], ops[4]
assert "write to read-only page" in ops[4]["faults"], ops[4]
assert ops[5]["method"] == "cr3" and ops[5]["flushed_by"] == "cr3", ops[5]
assert w["mismatches"] == 0, w
EOF
	then
		ok "load -j: stale or fault before invlpg, fault after, flush by cr3"
	else
		notok "load -j TLB words: $(cat "$TMP/tlb.json")"
	fi
	t "load table: noflush and flush words" sh -c "'$SPTCTL' load '$ID' noflush protect 0x7000000 4K rw invlpg 0x7000000 flush > '$TMP/tlb.txt'"
	if has "$TMP/tlb.txt" "noflush protect" && has "$TMP/tlb.txt" "by cr3"; then
		ok "load table shows noflush and the flush method"
	else
		notok "load table: $(cat "$TMP/tlb.txt")"
	fi
	if grep -qw invpcid /proc/cpuinfo; then
		t "load: flush-invpcid" sptctl load "$ID" flush-invpcid
	else
		tfail 1 "INVPCID" "load: flush-invpcid without INVPCID: EOPNOTSUPP" sptctl load "$ID" flush-invpcid
	fi
	tfail 2 "noflush goes with" "noflush on a read is a usage error" sptctl load "$ID" noflush read 0x7000000
	if grep -qw rdtscp /proc/cpuinfo; then
		t "load: read VA x2 (-j)" sh -c "'$SPTCTL' -j load '$ID' read 0x7000000 x2 > '$TMP/x2.json'"
		if python3 - "$TMP/x2.json" <<'EOF'
import json, sys
w = json.load(open(sys.argv[1]))
ops = w["ops"]
assert len(ops) == 2 and all(o["op"] == "read" for o in ops), ops
assert all(o["timed"] and o["cycles"] > 0 for o in ops), ops
assert w["tsc_khz"] > 0 and "rdtscp" in w["cpu_features"], w
EOF
		then
			ok "read x2: two timed reads, non-zero cycles, tsc and cpu words"
		else
			notok "read x2: $(cat "$TMP/x2.json")"
		fi
		t "load --timed table has CYCLES" sh -c "'$SPTCTL' load '$ID' --timed read 0x7000000 write 0x7000000=1 > '$TMP/timed.txt'"
		if has "$TMP/timed.txt" "CYCLES" && has "$TMP/timed.txt" "tsc .* kHz"; then
			ok "load --timed shows cycles and the TSC frequency"
		else
			notok "load --timed: $(cat "$TMP/timed.txt")"
		fi
	else
		skip "load: timed accesses: no RDTSCP"
	fi
	tfail 2 "repeats read, write and fetch" "xN on an invlpg is a usage error" sptctl load "$ID" invlpg 0x7000000 x2
	# --pat: the window's own IA32_PAT (entry 7 made UC)
	tfail 1 "Invalid argument" "load --pat with a reserved memory type: EINVAL" sptctl load "$ID" --pat 0x0207050600070106 read 0x7000000
	HOSTPAT=$(modprobe msr 2>/dev/null; python3 -c 'import os; f = os.open("/dev/cpu/0/msr", os.O_RDONLY); print(int.from_bytes(os.pread(f, 8, 0x277), "little"))' 2>/dev/null)
	if [ -n "$HOSTPAT" ]; then
		WPAT=$(printf '0x%x' $((HOSTPAT & 0x00ffffffffffffff)))
		t "load --pat $WPAT -j" sh -c "'$SPTCTL' -j load '$ID' --pat $WPAT write 0x7000000=9 read 0x7000000 > '$TMP/pat.json'"
		if python3 - "$TMP/pat.json" "$WPAT" <<'EOF'
import json, sys
w = json.load(open(sys.argv[1]))
assert w["pat"] == int(sys.argv[2], 16), w
assert [o["result"] for o in w["ops"]] == ["ok", "ok"], w
assert w["ops"][1]["value"] == 9, w
EOF
		then
			ok "load --pat: the window ran with it, read and write ok"
		else
			notok "load --pat: $(cat "$TMP/pat.json")"
		fi
	else
		skip "load --pat: no /dev/cpu/0/msr"
	fi
	t "load: ad-clear, read, ad-read, write, ad-read (-j)" sh -c "'$SPTCTL' -j load '$ID' ad-clear 0x7000000 ad-read 0x7000000 read 0x7000000 ad-read 0x7000000 protect 0x7000000 4K rw write 0x7000000=5 ad-read 0x7000000 > '$TMP/ad.json'"
	if python3 - "$TMP/ad.json" <<'EOF'
import json, sys
ops = json.load(open(sys.argv[1]))["ops"]
assert ops[0]["op"] == "ad-clear" and ops[0]["result"] == "ok", ops[0]
assert not ops[1]["accessed"] and not ops[1]["dirty"], ops[1]
assert ops[3]["accessed"] and not ops[3]["dirty"], ops[3]
assert ops[6]["accessed"] and ops[6]["dirty"], ops[6]
EOF
	then
		ok "ad-clear then read sets A, write sets A and D"
	else
		notok "ad words: $(cat "$TMP/ad.json")"
	fi
	t "unmap the TLB page" sptctl unmap "$ID" 0x7000000 4K
else
	skip "load TLB words: no isolated CPU"
fi

# Bad input: usage errors exit 2, kernel errors print the errno text.
tfail 2 "exclude each other" "dump --dot -j is a usage error" sptctl -j dump "$ID" --dot
tfail 2 "missing argument" "map without a length is a usage error" sptctl map "$ID" 0x1000
tfail 1 "No such file" "space info of a missing space: ENOENT" sptctl space info 2147483647
tfail 1 "File exists" "map over a mapping: EEXIST" sptctl map "$ID" 0x300000 4K
tfail 1 "Invalid argument" "unaligned unmap: EINVAL" sptctl unmap "$ID" 0x300001 4K

# bits: W cleared at level 3 makes the page read-only to the walk.
t "map a page for bits" sptctl map "$ID" 0xc0000000 4K --prot rw
t "bits -j: clear w at level 3" sh -c "'$SPTCTL' -j bits '$ID' 0xc0000000 4K --level 3 --clear w --set nx,avl=5 > '$TMP/bits.json'"
if python3 - "$TMP/bits.json" <<'EOF2'
import json, sys
b = json.load(open(sys.argv[1]))
assert b["level"] == 3 and b["entries"] == 1 and b["changed"] == 1, b
assert "nx" in b["names"] and "avl=5" in b["names"], b
assert "w" not in b["names"].split(","), b
EOF2
then
	ok "bits -j: one entry changed, names read back"
else
	notok "bits -j: $(cat "$TMP/bits.json")"
fi
t "query after bits" sh -c "'$SPTCTL' -j query '$ID' 0xc0000000 > '$TMP/bq.json'"
if python3 - "$TMP/bq.json" <<'EOF2'
import json, sys
q = json.load(open(sys.argv[1]))
q = q[0] if isinstance(q, list) else q
assert q["mapped"] and not q["prot_bits"] & 3, q
EOF2
then
	ok "query shows the effective permission (no w, no x)"
else
	notok "query after bits: $(cat "$TMP/bq.json")"
fi
t "check with deliberate bits" sptctl check "$ID"
t "bits: undo" sptctl bits "$ID" 0xc0000000 4K --level 3 --set w --clear nx,avl=63
tfail 2 "invalid --set" "bits with an unknown bit name is a usage error" sptctl bits "$ID" 0xc0000000 4K --level 1 --set foo
tfail 2 "level N" "bits without --level is a usage error" sptctl bits "$ID" 0xc0000000 4K --set w
tfail 1 "Invalid argument" "bits: pkey above level 1: EINVAL" sptctl bits "$ID" 0xc0000000 4K --level 2 --set pkey=3
tfail 1 "Invalid argument" "bits: rsvd without --rsvd: EINVAL" sptctl bits "$ID" 0xc0000000 4K --level 1 --set rsvd
t "unmap the bits page" sptctl unmap "$ID" 0xc0000000 4K

# map --share: an alias in the space and a second space sharing a page.
t "map --share: an alias of a 2M leaf's page" \
	sptctl map "$ID" 0x80000000 4K --share "$ID:0x301000"
if ID2=$(sptctl space create 2> "$TMP/err") && [ -n "$ID2" ]; then
	ok "second space -> $ID2"
else
	notok "second space ($(cat "$TMP/err"))"
fi
t "map --share -j into the second space" sh -c \
	"'$SPTCTL' -j map $ID2 0x10000 8K --share $ID:0x302000 > '$TMP/s.json'"
if python3 - "$TMP/s.json" "$ID" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["mapped"] == 8192 and r["src_space"] == int(sys.argv[2]), r
assert r["src_va"] == 0x302000 and r["va"] == 0x10000, r
EOF
then ok "map --share -j: mapped, src_space, src_va"; else notok "map --share -j: $(cat "$TMP/s.json")"; fi
pa1=$(sptctl -j query "$ID" 0x301000 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["phys"])')
pa2=$(sptctl -j query "$ID" 0x80000000 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["phys"])')
if [ -n "$pa1" ] && [ "$pa1" = "$pa2" ]; then ok "the alias maps the same frame"; else notok "alias phys $pa1 vs $pa2"; fi
tfail 1 "No such device or address" "map --share of an unmapped source: ENXIO" \
	sptctl map "$ID2" 0x40000 4K --share "$ID:0x7000000"
tfail 2 "SRC_ID:SRC_VA" "map --share without a colon is a usage error" \
	sptctl map "$ID2" 0x40000 4K --share "$ID"
tfail 2 "takes no" "map --share --2m is a usage error" \
	sptctl map "$ID2" 0x40000 4K --share "$ID:0x1ff000" --2m
t "check the second space" sptctl check "$ID2"
t "destroy the second space" sptctl space destroy "$ID2"
t "unmap the alias" sptctl unmap "$ID" 0x80000000 4K
# run: user code at CPL 3 (allow_runs=1 for these cases only).
RUNP=/sys/module/shadowpt/parameters/allow_runs
if [ -w "$RUNP" ]; then
	echo 0 > "$RUNP"
	t "run: map code u+x and stack u+w" sh -c "'$SPTCTL' map '$ID' 0x7000000 4K --prot ux && '$SPTCTL' map '$ID' 0x7010000 4K --prot uw && '$SPTCTL' map '$ID' 0x7020000 4K --prot u"
	tfail 1 "allow_runs" "run with allow_runs=0: EPERM and a hint" sptctl run "$ID" --entry 0x7000000 --stack 0x7011000
	tfail 1 "allow_runs=1" "load user with allow_runs=0: EPERM and a hint" sptctl load "$ID" read 0x7020000 user
	echo 1 > "$RUNP"
	# mov $0x7020000,%ebx; mov %rax,(%rbx); syscall
	printf '\xbb\x00\x00\x02\x07\x48\x89\x03\x0f\x05' > "$TMP/ro.bin"
	# add %rbx,%rax; syscall
	printf '\x48\x01\xd8\x0f\x05' > "$TMP/add.bin"
	t "run: syscall exit" sptctl run "$ID" --entry 0x7000000 --stack 0x7011000 --code "$TMP/add.bin@0x7000000" --reg rax=40 --reg rbx=2
	if has "$TMP/out" "exit syscall" && grep -q "rax  0x000000000000002a" "$TMP/out"; then
		ok "run: rax = 40 + 2"
	else
		notok "run output: $(cat "$TMP/out")"
	fi
	t "run -j: a write to a read-only page" sh -c "'$SPTCTL' -j run '$ID' --entry 0x7000000 --stack 0x7011000 --code '$TMP/ro.bin@0x7000000' > '$TMP/run.json'"
	if python3 - "$TMP/run.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["reason"] == "exception" and r["vector"] == 14, r
assert r["error_code"] & 7 == 7 and r["cr2"] == 0x7020000, r
assert r["walker"] == "read-only" and not r["mismatch"], r
EOF
	then
		ok "run -j: #PF, error code present+write+user, walker read-only"
	else
		notok "run -j: $(cat "$TMP/run.json")"
	fi
	tfail 1 "Bad address" "run from a non-executable page: EFAULT" sptctl run "$ID" --entry 0x7010000 --stack 0x7011000
	# load: accesses at CPL 3 ("user") and with SMAP in force ("smap")
	t "load -j: user read, user write to read-only, user fetch" sh -c "'$SPTCTL' -j load '$ID' read 0x7020000:4 user write 0x7020000=1:4 user fetch 0x7000100 user read 0x7020000 > '$TMP/user.json'"
	if python3 - "$TMP/user.json" <<'EOF'
import json, sys
ops = json.load(open(sys.argv[1]))["ops"]
assert ops[0]["user"] and ops[0]["result"] == "ok", ops[0]
assert ops[1]["result"] == "fault" and ops[1]["error_code"] == 7, ops[1]
assert ops[1]["faults"] == ["write to read-only page"], ops[1]
assert ops[2]["user"] and ops[2]["result"] == "ok", ops[2]
assert not ops[3]["user"] and not ops[3]["smap"], ops[3]
assert not any(o["mismatch"] for o in ops), ops
EOF
	then
		ok "load -j user words: ok, #PF 7 read-only, fetch ok, no mismatch"
	else
		notok "load -j user words: $(cat "$TMP/user.json")"
	fi
	if grep -qw smap /proc/cpuinfo; then
		t "load table: smap read of a user page" sh -c "'$SPTCTL' load '$ID' read 0x7020000 smap read 0x7020000 > '$TMP/smap.txt'"
		if grep -q "read/8 smap.*fault.*#PF error 0x1.*SMAP" "$TMP/smap.txt" &&
				grep -q "read/8  *0x.*ok" "$TMP/smap.txt"; then
			ok "load: smap read faults (SMAP), the plain read does not"
		else
			notok "load smap table: $(cat "$TMP/smap.txt")"
		fi
	else
		skip "load smap: the CPU has no SMAP"
	fi
	tfail 2 "goes with read, write" "smap on a fetch is a usage error" sptctl load "$ID" fetch 0x7000000 smap
	tfail 2 "goes with read, write or fetch" "user on an invlpg is a usage error" sptctl load "$ID" invlpg 0x7000000 user
	tfail 2 "invalid --reg" "run --reg with an unknown register" sptctl run "$ID" --entry 0x7000000 --stack 0x7011000 --reg rip=1
	tfail 2 "required" "run without --stack" sptctl run "$ID" --entry 0x7000000
	echo 0 > "$RUNP"
	t "run: unmap its pages" sptctl unmap "$ID" 0x7000000 0x21000
else
	skip "run: allow_runs not writable"
fi

# map --file: a tmpfs file pinned (SPT_MAP_USER); the space keeps its
# pages after sptctl exits and after the file is removed.
PF=$(mktemp /dev/shm/spt-pin.XXXXXX)
printf 'pinned by sptctl' > "$PF"
truncate -s 8192 "$PF"
t "map --file: a tmpfs file pinned" sptctl map "$ID" 0x90000000 8K --file "$PF"
t "read the file through the space" sh -c \
	"'$SPTCTL' read $ID 0x90000000 16 --raw > '$TMP/pin.raw'"
if [ "$(cat "$TMP/pin.raw")" = "pinned by sptctl" ]; then
	ok "the space reads the file's bytes"
else
	notok "read through the space: $(od -c "$TMP/pin.raw" | head -2)"
fi
t "map --file -j read-only" sh -c \
	"'$SPTCTL' -j map $ID 0x90010000 4K --prot r --file '$PF' > '$TMP/pin.json'"
if python3 - "$TMP/pin.json" "$PF" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["mapped"] == 4096 and r["va"] == 0x90010000, r
assert r["file"] == sys.argv[2], r
EOF
then ok "map --file -j: mapped, va, file"; else notok "map --file -j: $(cat "$TMP/pin.json")"; fi
tfail 1 "File exists" "map --file over a mapping: EEXIST" \
	sptctl map "$ID" 0x90000000 4K --file "$PF"
tfail 2 "takes no" "map --file --2m is a usage error" \
	sptctl map "$ID" 0x90020000 4K --file "$PF" --2m
tfail 1 "No such file" "map --file of a missing file" \
	sptctl map "$ID" 0x90020000 4K --file "$PF.missing"
rm -f "$PF"
t "read after the file is removed" sh -c \
	"'$SPTCTL' read $ID 0x90010000 16 --raw > '$TMP/pin2.raw'"
if [ "$(cat "$TMP/pin2.raw")" = "pinned by sptctl" ]; then
	ok "the space keeps the removed file's pages"
else
	notok "read after rm: $(od -c "$TMP/pin2.raw" | head -2)"
fi
# peek: the bytes through a mapping of the frames in sptctl's process.
t "peek: map a page and write it" sh -c \
	"'$SPTCTL' map $ID 0x91000000 4K && '$SPTCTL' write $ID 0x91000010 'peeked by mmap'"
t "peek -j" sh -c "'$SPTCTL' -j peek $ID 0x91000010 14 > '$TMP/peek.json'"
if python3 - "$TMP/peek.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["va"] == 0x91000010 and r["length"] == 14, r
assert bytes.fromhex(r["data_hex"]) == b"peeked by mmap", r
EOF
then ok "peek -j: the bytes written"; else notok "peek -j: $(cat "$TMP/peek.json")"; fi
t "peek: a hexdump" sh -c "'$SPTCTL' peek $ID 0x91000000 32 | grep -q 'peeked by mmap'"
tfail 1 "No such device or address" "peek of an unmapped page: ENXIO" \
	sptctl peek "$ID" 0x91001000 16
tfail 1 "Invalid argument" "peek of a pinned page: EINVAL" \
	sptctl peek "$ID" 0x90010000 16
t "unmap the peeked page" sptctl unmap "$ID" 0x91000000 4K
t "check with pinned leaves" sptctl check "$ID"
t "unmap the pinned pages" sptctl unmap "$ID" 0x90000000 0x20000

t "check" sptctl check "$ID"
t "space destroy" sptctl space destroy "$ID"
tfail 1 "No such file" "destroyed space is gone" sptctl space info "$ID"
t "stats after destroy" sh -c "'$SPTCTL' -j stats > '$TMP/p.json'"
if python3 - "$TMP/p0.json" "$TMP/p.json" <<'EOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for k in ("nr_spaces", "pool_used_frames", "pool_node_frames",
          "pool_data_frames"):
    assert a[k] == b[k], (k, a[k], b[k])
EOF
then
	ok "pool counters back to where they were after destroy"
else
	notok "pool counters after destroy: $(cat "$TMP/p0.json" "$TMP/p.json")"
fi

echo "1..$n"
exit $failed
