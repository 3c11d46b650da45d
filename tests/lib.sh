# shellcheck shell=bash
# Sourced by the test scripts: counting and reporting checks.
#   pass NAME          a check that held
#   skip NAME WHY      a check that could not run here
#   fail NAME WHY [FILE...]   a check that did not hold; each FILE is shown
#                      (a program's output, its stderr: the first and the
#                      last lines of a long one; "(empty)" if it is)
#   ended RC SECS      how a run under `timeout SECS` that exited RC ended
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
		[ -e "$f" ] || continue
		if [ ! -s "$f" ]; then
			echo "    --- ${f##*/}: (empty)"
			continue
		fi
		echo "    --- ${f##*/}"
		local n
		n=$(wc -l <"$f")
		if [ "$n" -le 30 ]; then
			head -c 3000 "$f"
		else
			head -n 10 "$f" | head -c 1000
			echo "[... $((n - 30)) lines ...]"
			tail -n 20 "$f" | tail -c 2000
		fi | cat -v | sed 's/^/    /'
	done
	nfail=$((nfail + 1))
}

ended() {
	case $1 in
	0) echo "exit 0" ;;
	124 | 137) echo "hang guard: still running after ${2}s, killed" ;;
	*) if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128))"; else echo "exit $1"; fi ;;
	esac
}

summary() {
	echo "${1:+$1: }$npass passed, $nfail failed, $nskip skipped"
	[ "$nfail" = 0 ]
}

# stats_field KEY TEXT: KEY's value in the first KAIO_STATS line of TEXT
# (empty if there is none). KEY served: kernel + inline + uring, the
# requests kaio served itself (through the kernel context, on the hit path,
# on io_uring).
stats_field() {
	local line
	line=$(grep -a -m1 '^kaio: kernel=' <<<"$2" || true)
	if [ "$1" = served ]; then
		[ -n "$line" ] || return 0
		tr ' ' '\n' <<<"${line#kaio: }" | awk -F= '$1 == "kernel" || $1 == "inline" || $1 == "uring" { s += $2 } END { print s + 0 }'
		return 0
	fi
	tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p" || true
}

# fs.aio-max-nr is system-wide: a suite lowers it only as root, under an
# exclusive lock on /tmp/kaio-aio-max-nr.lock, and puts it back however the
# script ends: call aiomax_restore from the EXIT trap. Suites that need kaio
# to get its kernel context hold the lock shared while they run
# (aiomax_share; tests/check.sh does it for each suite, tests/diff.sh and
# make bench too): a second make check beside this one never lowers it
# under them.
#   aiomax_share            takes the lock shared until the script ends
#                           (aiomax_with lets go of it meanwhile)
#   aiomax_with NAME FUNC   runs FUNC with the value saved (FUNC lowers it
#                           with aiomax_set), then restores it and checks that
#                           it was; skips NAME when that cannot be done here.
aiomax_file=/proc/sys/fs/aio-max-nr
aiomax_saved=

aiomax_set() {
	echo "$1" >"$aiomax_file"
}

aiomax_shared=
aiomax_share() {
	command -v flock >/dev/null || return 0
	exec 8>>/tmp/kaio-aio-max-nr.lock || return 0
	aiomax_shared=1
	flock -s -w 900 8 ||
		echo "kaio: /tmp/kaio-aio-max-nr.lock still held after 900 s: going on without it" >&2
}

aiomax_restore() {
	[ -n "$aiomax_saved" ] || return 0
	echo "$aiomax_saved" >"$aiomax_file" 2>/dev/null
	aiomax_saved=
}

aiomax_with() {
	local name=$1 fn=$2 saved
	if [ -n "${KAIO_ENV_NO_SYSCTL:-}" ]; then
		skip "$name" "KAIO_ENV_NO_SYSCTL is set"
		return
	fi
	if [ "$(id -u)" != 0 ] || [ ! -w "$aiomax_file" ]; then
		skip "$name" "cannot write $aiomax_file (not root?)"
		return
	fi
	[ -n "$aiomax_shared" ] && flock -u 8
	exec 9>/tmp/kaio-aio-max-nr.lock
	if ! flock -w 900 9; then
		skip "$name" "another run holds /tmp/kaio-aio-max-nr.lock"
		exec 9>&-
		[ -n "$aiomax_shared" ] && flock -s -w 900 8
		return
	fi
	aiomax_saved=$(cat "$aiomax_file")
	saved=$aiomax_saved
	"$fn"
	aiomax_restore
	if [ "$(cat "$aiomax_file")" = "$saved" ]; then
		pass "fs.aio-max-nr restored to $saved"
	else
		fail "fs.aio-max-nr restored" "it is $(cat "$aiomax_file"), was $saved"
	fi
	flock -u 9
	exec 9>&-
	[ -n "$aiomax_shared" ] && flock -s -w 900 8
	return 0
}
