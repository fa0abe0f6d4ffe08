#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Raw physical access under kernel lockdown (root, shadowpt.ko loaded, in a
# throw-away VM: it raises /sys/kernel/security/lockdown to integrity, which
# cannot be undone until reboot, so it runs last in its own VM: the nogb
# step of scripts/check). Before lockdown an untracked map and a window
# read through it work; after it, with allow_phys=1 still set, a new
# untracked map is refused (EPERM) and windows refuse the existing one.
# Prints TAP.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPTCTL=${SPTCTL:-$ROOT/userspace/sptctl}
LOCKDOWN=/sys/kernel/security/lockdown
PARAM=/sys/module/shadowpt/parameters/allow_phys
VA=0x100000000000
PHYS=0x8000000000	# 512 GiB: above any test guest's RAM
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
sptctl() { "$SPTCTL" "$@"; }

echo "TAP version 13"
if [ ! -x "$SPTCTL" ] || [ ! -c /dev/shadowpt ]; then
	echo "1..0 # SKIP needs $SPTCTL and /dev/shadowpt (shadowpt loaded)"
	exit 4
fi
if [ ! -w "$LOCKDOWN" ]; then
	[ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security &&
		mount -t securityfs securityfs /sys/kernel/security
fi
if [ ! -w "$LOCKDOWN" ] || ! grep -q '\[none\]' "$LOCKDOWN"; then
	notok "lockdown is available and off ($(cat "$LOCKDOWN" 2>&1))"
	echo "1..$n"
	exit 1
fi

old=$(cat "$PARAM")
echo 1 > "$PARAM"
ID=$(sptctl space create) || { notok "space create"; echo "1..$n"; exit 1; }
if sptctl map "$ID" $VA 4K --phys $PHYS --prot w > /dev/null; then
	ok "untracked map before lockdown"
else
	notok "untracked map before lockdown"
fi
out=$(sptctl -j load "$ID" read $VA 2>&1)
if grep -q '"result": *"ok"' <<< "$out"; then
	ok "window reads the untracked page before lockdown"
else
	notok "window read before lockdown: $out"
fi

echo integrity > "$LOCKDOWN"
if grep -q '\[integrity\]' "$LOCKDOWN"; then
	ok "lockdown raised to integrity"
else
	notok "lockdown not raised: $(cat "$LOCKDOWN")"
fi
err=$(sptctl map "$ID" $((VA + 0x200000)) 4K --phys $PHYS 2>&1 > /dev/null)
rc=$?
if [ $rc -ne 0 ] && grep -qi 'not permitted\|EPERM' <<< "$err"; then
	ok "untracked map under lockdown: EPERM"
else
	notok "untracked map under lockdown: exit $rc: $err"
fi
out=$(sptctl -j load "$ID" read $VA 2>&1)
if grep -q '"result": *"error"' <<< "$out" &&
		grep -qi 'EPERM\|not permitted' <<< "$out"; then
	ok "window refuses the existing untracked page under lockdown"
else
	notok "window read under lockdown: $out"
fi
if sptctl unmap "$ID" $VA 4K > /dev/null && sptctl check "$ID" > /dev/null; then
	ok "the existing mapping can still be unmapped, space consistent"
else
	notok "unmap/check under lockdown"
fi
sptctl space destroy "$ID" > /dev/null || notok "space destroy"
echo "$old" > "$PARAM"
echo "1..$n"
exit $failed
