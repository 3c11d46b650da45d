# shellcheck shell=bash
# Sourced by the test scripts: counting and reporting checks.
#   pass NAME          a check that held
#   skip NAME WHY      a check that could not run here
#   fail NAME WHY [FILE...]   a check that did not hold; each FILE's first
#                      lines are shown (a program's output, its stderr)
#   summary [SUITE]    prints "[SUITE: ]N passed, M failed, K skipped", the
#                      line tests/check.sh adds up; succeeds iff none failed
npass=0 nfail=0 nskip=0

pass() {
	echo "PASS $1"
	npass=$((npass + 1))
}

skip() {
	echo "SKIP $1: $2"
	nskip=$((nskip + 1))
}

fail() {
	local f
	echo "FAIL $1${2:+: $2}"
	for f in "${@:3}"; do
		[ -s "$f" ] || continue
		echo "    --- ${f##*/}"
		head -c 3000 "$f" | head -n 30 | cat -v | sed 's/^/    /'
	done
	nfail=$((nfail + 1))
}

summary() {
	echo "${1:+$1: }$npass passed, $nfail failed, $nskip skipped"
	[ "$nfail" = 0 ]
}
