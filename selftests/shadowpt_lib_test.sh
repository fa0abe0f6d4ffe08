#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libshadowpt and its users (root, shadowpt.ko loaded with allow_phys=1:
# inside the test VM): the C library tests (userspace/lib/tests/lib_test),
# the Python package's unittest (python/tests), and every example of
# examples/ in C and in Python. One TAP stream: each C test line, each
# Python test and each example is one test here.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d /tmp/spt-lib-test.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
PY=$(command -v python3 || true)
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }

echo "TAP version 13"

# 1. The C tests: their lines, renumbered into this stream.
LIBTEST=$ROOT/userspace/lib/tests/lib_test
if [ ! -x "$LIBTEST" ]; then
	notok "lib_test not built (make userspace)"
else
	"$LIBTEST" > "$TMP/c.tap" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "lib: ${line#* - }" ;;
		"not ok "*) notok "lib: ${line#* - }" ;;
		*) echo "# $line" ;;
		esac
	done < "$TMP/c.tap"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$TMP/c.tap"; then
		notok "lib_test exited with status $rc"
	fi
fi

# 2. The Python unittest, one line per test.
if [ -z "$PY" ]; then
	ok "python unittest # SKIP no python3"
else
	"$PY" "$ROOT/python/tests/test_shadowpt.py" -v > "$TMP/py.out" 2>&1
	rc=$?
	# "test_x (module.Class.test_x) ... ok|FAIL|ERROR|skipped '...'"
	while IFS= read -r line; do
		case $line in
		*" ... ok") ok "python: ${line%% ... *}" ;;
		*" ... skipped"*) ok "python: ${line%% ... *} # SKIP" ;;
		*" ... FAIL" | *" ... ERROR") notok "python: ${line%% ... *}" ;;
		esac
	done < "$TMP/py.out"
	if [ $rc -ne 0 ]; then
		sed 's/^/# /' "$TMP/py.out"
		grep -q ' \.\.\. \(FAIL\|ERROR\)$' "$TMP/py.out" ||
			notok "python unittest exited with status $rc"
	fi
fi

# 3. The examples, C and Python: each must exit 0.
for ex in space_mix load_fault; do
	for kind in c py; do
		if [ $kind = c ]; then
			cmd=("$ROOT/examples/$ex")
		elif [ -n "$PY" ]; then
			cmd=("$PY" "$ROOT/examples/$ex.py")
		else
			ok "example $ex.py # SKIP no python3"
			continue
		fi
		if "${cmd[@]}" > "$TMP/ex.out" 2>&1; then
			ok "example $ex ($kind)"
		else
			notok "example $ex ($kind) exited with status $?"
		fi
		sed 's/^/# /' "$TMP/ex.out"
	done
done

# 4. python3 -m shadowpt reports the module as usable.
if [ -n "$PY" ]; then
	if (cd "$ROOT/python" && "$PY" -m shadowpt) > "$TMP/m.out" 2>&1 &&
			grep -q "API version" "$TMP/m.out"; then
		ok "python3 -m shadowpt"
	else
		notok "python3 -m shadowpt"
	fi
	sed 's/^/# /' "$TMP/m.out"
fi

echo "1..$n"
exit $failed
