#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# shadowpt_kapi_test.sh - the in-kernel API, through its sample client
# (samples/shadowpt_client). Run as root with shadowpt.ko loaded (in a VM:
# scripts/guest-selftests); prints TAP.
#
#  - insmod the sample: it passes its checks (its init fails with -EIO on
#    any mismatch) and says PASS in the kernel log; with an isolated CPU it
#    must have run its load window, with allow_phys its raw physical map;
#  - the space it keeps is visible to sptctl (info, check, query);
#  - rmmod shadowpt is refused while the sample is loaded (refcount);
#  - rmmod the sample: the pool's counters are back where they were;
#  - a space destroyed through the uAPI under the client: the client's
#    destroy gets -ENOENT and nothing leaks;
#  - allow_phys=N with the client's phys_refused=1: its raw physical map
#    must be refused with EPERM, which it counts as passes ("expected:
#    EPERM" and PASS in the log), nothing leaks;
#  - a failing client (phys_refused=1 but allow_phys=Y, announced as meant
#    to fail in the kernel log): insmod fails, exactly that check FAILs in
#    the log, nothing leaks.
#
# Environment: SPT_CLIENT_KO (default build/$(uname -r)/samples/
# shadowpt_client/shadowpt_client.ko), SPTCTL (default userspace/sptctl).
# Exit status 4 (skip) when shadowpt is not loaded or the sample not built.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KO=${SPT_CLIENT_KO:-$ROOT/build/$(uname -r)/samples/shadowpt_client/shadowpt_client.ko}
SPTCTL=${SPTCTL:-$ROOT/userspace/sptctl}
CLIENT=shadowpt_client
PARAMS=/sys/module/shadowpt/parameters

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
check() {		# check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
loaded() { grep -q "^$1 " /proc/modules; }
quiet() { "$@" > /dev/null; }

echo "TAP version 13"
if ! loaded shadowpt; then
	echo "# SKIP: shadowpt is not loaded"
	exit 4
fi
if [ ! -f "$KO" ] || [ ! -x "$SPTCTL" ]; then
	echo "# SKIP: $KO or $SPTCTL not built (make all-kernels userspace)"
	exit 4
fi
loaded $CLIENT && rmmod $CLIENT

# stat NAME: a pool counter of `sptctl stats`.
stat() { "$SPTCTL" stats | awk -v f="$1" '$1 == f { print $2 }'; }
counters() {
	echo "$(stat nr_spaces) $(stat pool_used_frames)" \
		"$(stat pool_node_frames) $(stat pool_data_frames)"
}

# The kernel log from the last mark on.
mark=0
log_mark() {
	mark=$((mark + 1))
	echo "shadowpt_kapi_test: mark $$.$mark" > /dev/kmsg
}
log_since() {
	dmesg | awk -v m="shadowpt_kapi_test: mark $$.$mark" \
		'index($0, m) { on = 1; next } on'
}
logged() { log_since | grep -q -- "$1"; }

phys=0
[ "$(cat $PARAMS/allow_phys)" = Y ] && phys=1
require_load=0
[ -n "$(cat /sys/devices/system/cpu/isolated 2>/dev/null)" ] && require_load=1
echo "# sample $KO, phys=$phys require_load=$require_load"
base=$(counters)
echo "# counters (spaces, used, node, data frames): $base"

# --- a passing client ------------------------------------------------------
log_mark
if insmod "$KO" phys=$phys require_load=$require_load; then
	ok "insmod $CLIENT"
else
	notok "insmod $CLIENT (its checks failed)"
	log_since | grep shadowpt_client | sed 's/^/# /'
	echo "1..$n"
	exit 1
fi
line=$(log_since | grep 'shadowpt_client: PASS' || true)
echo "# ${line:-no result line}"
check "client logged PASS" test -n "$line"
checks=$(cat /sys/module/$CLIENT/parameters/checks)
check "client ran its checks ($checks)" test "$checks" -ge 80
if [ $require_load = 1 ]; then
	check "client ran a load window" grep -q 'load window ran' <<< "$line"
fi
id=$(cat /sys/module/$CLIENT/parameters/space_id)
va=$(cat /sys/module/$CLIENT/parameters/keep_va)
check "kept space $id: sptctl space info" quiet "$SPTCTL" space info "$id"
check "kept space $id: sptctl check" quiet "$SPTCTL" check "$id"
check "kept space $id: page mapped at $va" \
	bash -c "'$SPTCTL' -j query $id $va | grep -q '\"mapped\": *true'"
check "one more space while the client is loaded" \
	test "$(stat nr_spaces)" -eq $(( ${base%% *} + 1 ))

if rmmod shadowpt 2> /dev/null; then
	notok "rmmod shadowpt refused while $CLIENT is loaded"
	echo "# shadowpt went away under its client: stopping here"
	echo "1..$n"
	exit 1
fi
ok "rmmod shadowpt refused while $CLIENT is loaded"
check "shadowpt refcnt >= 1" test "$(cat /sys/module/shadowpt/refcnt)" -ge 1
check "$CLIENT holds shadowpt" test -e /sys/module/shadowpt/holders/$CLIENT

log_mark
check "rmmod $CLIENT" rmmod $CLIENT
check "client destroyed its kept space" \
	logged "kept space $id destroyed: 0\$"
check "counters back to $base" test "$(counters)" = "$base"

# --- the space destroyed through the uAPI under the client -----------------
check "insmod $CLIENT again" insmod "$KO" phys=$phys \
	require_load=$require_load
if loaded $CLIENT; then
	id=$(cat /sys/module/$CLIENT/parameters/space_id)
	check "sptctl space destroy $id (a client's space)" \
		quiet "$SPTCTL" space destroy "$id"
	log_mark
	check "rmmod $CLIENT" rmmod $CLIENT
	check "client's destroy got -ENOENT" \
		logged "kept space $id destroyed: -2\$"
	check "counters back to $base" test "$(counters)" = "$base"
fi

# --- allow_phys=N: the client's raw physical map must be refused ----------
# With phys_refused=1 the client counts EPERM from map_phys as a pass; any
# other answer fails its checks and so the insmod.
allow=$(cat $PARAMS/allow_phys)
echo N > $PARAMS/allow_phys
log_mark
if insmod "$KO" phys_refused=1 2> /dev/null; then
	ok "insmod phys_refused=1 with allow_phys=N"
	rmmod $CLIENT
else
	notok "insmod phys_refused=1 with allow_phys=N"
	log_since | grep shadowpt_client | sed 's/^/# /'
fi
check "client logged map_phys refused, expected: EPERM" \
	logged "map_phys refused, expected: EPERM"
check "client logged PASS, phys map refused as expected" \
	logged "shadowpt_client: PASS: .*phys map refused as expected"
check "counters back to $base after the refused map" \
	test "$(counters)" = "$base"

# --- a failing client must be seen failing, and leak nothing --------------
# phys_refused=1 but allow_phys=Y: map_phys succeeds, which the client must
# count as its one failed check; its init undoes everything and fails.
# Announced at the level of the client's FAIL lines (<3>: scripts/vm shows
# both live).
echo Y > $PARAMS/allow_phys
log_mark
echo "<3>shadowpt_kapi_test: the next $CLIENT load is meant to fail" \
	"(phys_refused=1 with allow_phys=Y): its FAIL is expected" > /dev/kmsg
if insmod "$KO" phys_refused=1 2> /dev/null; then
	notok "insmod phys_refused=1 with allow_phys=Y fails"
	rmmod $CLIENT
else
	ok "insmod phys_refused=1 with allow_phys=Y fails"
fi
echo "$allow" > $PARAMS/allow_phys
check "client logged FAIL for one check" \
	logged "shadowpt_client: FAIL: 1 checks failed"
check "the failed check: map_phys gave 0, not -EPERM" \
	logged "map_phys: 0, expected -EPERM"
check "counters back to $base after the failure" \
	test "$(counters)" = "$base"

echo "1..$n"
exit $failed
