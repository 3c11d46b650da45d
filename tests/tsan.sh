#!/usr/bin/env bash
# The engine's unit tests again, built with ThreadSanitizer:
#
#   tests/tsan.sh [TSAN_TEST...]     (default: build/tsan/unit/test_engine;
#                                     make B=DIR DIR/tsan/unit/test_engine)
#
# Each cmocka test that passes counts as passed; a test that fails, or never
# ran because an earlier one hung past the timeout, counts as failed; so does
# each distinct data race TSan reports (its first report is shown). The whole
# run is bounded by KAIO_TSAN_TIMEOUT seconds per binary (default 300: a
# hang guard, not a speed limit).
#
# TSAN_OPTIONS (the caller's own are appended, so they win):
#   halt_on_error=0    every race is reported, not only the first;
#   die_after_fork=0   the tests fork while kaio's thread is alive and the
#                      child starts threads (test_suspend_sa_restart): TSan
#                      kills such a child by default. It is a TSan limit,
#                      not a kaio race; TSan may still abort the child with
#                      "dup thread with used id" (the child's new thread gets
#                      the stack of the parent's thread that does not exist
#                      there). The fix belongs in the test: fork only once
#                      kaio's thread has exited.
#   suppressions=tests/tsan.supp   if it exists (none are needed so far).
# Last line: "tsan: N passed, M failed".
set -u

here=$(dirname "$(realpath "$0")")
if [ $# -eq 0 ]; then
	set -- "$here/../build/tsan/unit/test_engine"
fi
limit=${KAIO_TSAN_TIMEOUT:-300}
opts="halt_on_error=0 die_after_fork=0 second_deadlock_stack=1"
[ -f "$here/tsan.supp" ] && opts="$opts suppressions=$here/tsan.supp"
export TSAN_OPTIONS="$opts${TSAN_OPTIONS:+ $TSAN_OPTIONS}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kaio-tsan.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
npass=0 nfail=0 nskip=0

for bin in "$@"; do
	name=${bin##*/}
	if [ ! -x "$bin" ]; then
		echo "FAIL tsan/$name: no test binary $bin (make B=... .../tsan/unit/$name)"
		nfail=$((nfail + 1))
		continue
	fi
	log=$tmp/$name.log
	start=$SECONDS
	timeout -k 5 "$limit" "$bin" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$((SECONDS - start))
	total=$(sed -nE 's/^\[==========\] Running ([0-9]+) test.*/\1/p' "$log" | head -n 1)
	ok=$(grep -c '^\[       OK \]' "$log")
	# "[  FAILED  ] test_x", not cmocka's "[  FAILED  ] N test(s), listed below:"
	mapfile -t failed < <(sed -nE 's/^\[  FAILED  \] ([A-Za-z_][A-Za-z0-9_]*)$/\1/p' "$log" | sort -u)
	for t in "${failed[@]}"; do
		echo "FAIL tsan/$name:$t: $(grep -A1 -m1 -E "^\[  ERROR   \].*|^\[   LINE   \]" <(sed -n "/RUN      \] $t\$/,/\] $t\$/p" "$log") | tr '\n' ' ')"
		# What TSan itself said while the test ran (a fatal error in a child).
		sed -n "/RUN      \] $t\$/,/\] $t\$/p" "$log" | grep -E '^==[0-9]+==ThreadSanitizer' | sed 's/^/    /'
	done
	# cmocka's skip(): "[  SKIPPED ] test_x", said with its reason in the test.
	mapfile -t skipped < <(sed -nE 's/^\[  SKIPPED \] ([A-Za-z_][A-Za-z0-9_]*)$/\1/p' "$log" | sort -u)
	for t in "${skipped[@]}"; do
		echo "SKIP tsan/$name:$t (see the test: not checkable under ThreadSanitizer)"
	done
	nskip=$((nskip + ${#skipped[@]}))
	ran=$((ok + ${#failed[@]} + ${#skipped[@]}))
	notrun=0
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		hung=$(sed -nE 's/^\[ RUN      \] (.*)/\1/p' "$log" | tail -n 1)
		notrun=$((${total:-$ran} - ran))
		echo "FAIL tsan/$name: timed out after ${limit}s in $hung ($notrun test(s) not finished)"
	elif [ -z "$total" ]; then
		echo "FAIL tsan/$name: exit $rc before any test ran"
		tail -n 20 "$log" | sed 's/^/    /'
		notrun=1
	fi
	# One failure per distinct race (its SUMMARY line), with its first report.
	mapfile -t races < <(grep -E '^SUMMARY: ThreadSanitizer' "$log" | sort | uniq)
	for s in "${races[@]}"; do
		echo "FAIL tsan/$name: ${s#SUMMARY: ThreadSanitizer: }"
		awk -v s="$s" '
			/^WARNING: ThreadSanitizer/ { buf = "" }
			{ buf = buf $0 "\n" }
			$0 == s { printf "%s", buf; exit }' "$log" | head -n 40 | sed 's/^/    /'
	done
	npass=$((npass + ok))
	nfail=$((nfail + ${#failed[@]} + notrun + ${#races[@]}))
	echo "tsan/$name: $ok of ${total:-?} tests passed in ${secs}s, ${#races[@]} distinct race(s) (exit $rc)"
done

echo "tsan: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" = 0 ]
