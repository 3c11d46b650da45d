#!/usr/bin/env bash
# Runs the cmocka unit tests (built with ASan+UBSan), each with a timeout.
set -u
pass=0 fail=0
for t in "$@"; do
	if timeout 120 "$t" >"$t.log" 2>&1; then
		pass=$((pass + 1)); echo "PASS unit/${t##*/}"
	else
		fail=$((fail + 1)); echo "FAIL unit/${t##*/}"; tail -n 30 "$t.log"
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
