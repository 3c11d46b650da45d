#!/usr/bin/env bash
# Runs the cmocka unit tests (built with ASan+UBSan), each binary with a
# timeout (300 s: a hang guard), and sums cmocka's own counts of tests
# passed and failed.
set -u
pass=0 fail=0
for t in "$@"; do
	if timeout 300 "$t" >"$t.log" 2>&1; then
		echo "PASS unit/${t##*/}"
	else
		echo "FAIL unit/${t##*/} (exit $?)"; tail -n 30 "$t.log"
		fail=$((fail + 1))
	fi
	n=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' "$t.log")
	pass=$((pass + ${n:-0}))
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
