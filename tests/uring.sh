#!/bin/bash
# io_uring refused, and kaio's io_uring ring (src/uring.c) surviving it.
#
#   tests/uring.sh build/uring/refuse
#
# The program (tests/uring/refuse.c) installs a seccomp filter, calls
# kaio_uring_get twice and prints the error and the reason it keeps:
#   1. a filter on io_uring_setup, _register or _enter answering EPERM or
#      ENOSYS: that error, the process alive; answering with SIGSYS
#      (SECCOMP_RET_TRAP, SECCOMP_RET_KILL_PROCESS): ENOSYS, reason SIGSYS,
#      the process alive (the calls were tried in a throwaway child); with
#      a SIGSYS handler of the program's: the handler never runs;
#   2. the failure is kept: the second call makes no io_uring call (strace);
#      KAIO_URING=0 makes none at all;
#   3. KAIO_URING=1 warns once, KAIO_DEBUG=1 says the reason once, nothing
#      else on stderr;
#   4. kernel.io_uring_disabled=2 (root), and =1 for an unprivileged user:
#      EPERM with the sysctl named. The sysctl is system-wide: it is set
#      under a lock (/tmp/kaio-io-uring-disabled.lock, held shared by the
#      rest of the script), for one run each, and put back on any exit;
#      KAIO_ENV_NO_SYSCTL=1 skips it.
# Everything SKIPs when io_uring is unavailable here to begin with.

set -u

if [ $# -lt 1 ]; then
	echo "usage: $0 REFUSE_PROGRAM" >&2
	exit 2
fi
prog=$(realpath -e "$1") || { echo "uring.sh: no program $1" >&2; exit 2; }
for v in $(env | sed -n 's/^\(KAIO_[A-Za-z0-9_]*\)=.*/\1/p'); do
	[ "$v" = KAIO_ENV_NO_SYSCTL ] || unset "$v"
done
unset LD_PRELOAD
# LeakSanitizer cannot run under strace (ptrace); leaks are the unit tests' job.
export ASAN_OPTIONS=detect_leaks=0
timeout=${KAIO_TEST_TIMEOUT:-60}

# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kaio-uring.XXXXXX") || exit 2
chmod 755 "$tmp"
sysctl_file=/proc/sys/kernel/io_uring_disabled
sysctl_saved=
cleanup() {
	[ -n "$sysctl_saved" ] && echo "$sysctl_saved" >"$sysctl_file"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Another run of this script may set the sysctl: the checks that need
# io_uring as the filters leave it hold its lock shared (the sysctl part
# takes it exclusively).
exec 7>>/tmp/kaio-io-uring-disabled.lock
flock -s -w 300 7 || echo "uring.sh: /tmp/kaio-io-uring-disabled.lock still held after 300 s: going on without it" >&2

out=$tmp/out err=$tmp/err
# run [ENV=V...] -- MODE [handler]: the program's stdout in $out, stderr in
# $err; run as the command in the array as (empty: as this user)
as=()
run() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	timeout -k 5 "$timeout" env "${envs[@]}" "${as[@]}" "$prog" "$@" >"$out" 2>"$err" </dev/null
	rc=$?
}

# expect NAME LINE...: exit 0 and exactly these lines on stdout
expect() {
	local name=$1
	shift
	printf '%s\n' "$@" >"$tmp/want"
	if [ "$rc" != 0 ]; then
		fail "$name" "exit $rc (the process did not survive)" "$out" "$err"
	elif ! diff -u --label want --label got "$tmp/want" "$out" >"$tmp/diff"; then
		fail "$name" "unexpected answer" "$tmp/diff" "$err"
	else
		return 0
	fi
	return 1
}

run -- none
if [ "$rc" = 77 ]; then
	skip "io_uring refusals" "$(cat "$out")"
	summary uring
	exit
fi
if [ "$rc" != 0 ] || [ "$(head -n 1 "$out")" != "get: 0 -" ]; then
	skip "io_uring refusals" "io_uring is unavailable here: $(head -n 1 "$out") $(head -c 200 "$err")"
	summary uring
	exit
fi
pass "no filter: the ring comes up"

# --- 1. seccomp filters --------------------------------------------------------
for call in setup register enter; do
	for action in eperm enosys trap kill; do
		case $action in
		eperm) want="get: EPERM EPERM" ;;
		enosys) want="get: ENOSYS ENOSYS" ;;
		*) want="get: ENOSYS SIGSYS" ;;
		esac
		run -- "$call-$action"
		if expect "seccomp io_uring_$call $action: $want" "$want" "again: same"; then
			if [ -s "$err" ]; then
				fail "seccomp io_uring_$call $action: stderr empty" "" "$err"
			else
				pass "seccomp io_uring_$call $action: ${want#get: }, survived"
			fi
		fi
	done
done
# A program with its own SIGSYS handler: a trapped call would return its
# own number after the handler ran, as if it worked. The probe child drops
# the handler and dies of SIGSYS; the program's handler never runs.
for call in setup register enter; do
	run -- "$call-trap" handler
	expect "seccomp io_uring_$call trap, program's SIGSYS handler" \
		"get: ENOSYS SIGSYS" "again: same" "sigsys: 0" &&
		pass "seccomp io_uring_$call trap, program's SIGSYS handler: ENOSYS, never run"
done

# --- 2. kept, never retried ----------------------------------------------------
# strace -f -qq: one line per io_uring call, the probe child's included
uring_calls() {
	timeout -k 5 "$timeout" env "$@" strace -f -qq -o "$tmp/trace" \
		-e trace=io_uring_setup,io_uring_register,io_uring_enter "$prog" "${mode[@]}" >"$out" 2>"$err" </dev/null
	rc=$?
	ncalls=$(grep -c 'io_uring_' "$tmp/trace")
}
if ! command -v strace >/dev/null; then
	skip "io_uring calls counted" "no strace"
else
	mode=(setup-eperm)
	uring_calls
	# Only the probe child's io_uring_setup, whose EPERM the parent takes.
	if expect "seccomp io_uring_setup eperm under strace" "get: EPERM EPERM" "again: same"; then
		[ "$ncalls" = 1 ] && pass "refused once, kept: 1 io_uring call in all" ||
			fail "refused once, kept" "$ncalls io_uring calls, want 1 (the probe child's)" "$tmp/trace"
	fi
	mode=(none)
	uring_calls
	# setup, register (eventfd): once for both kaio_uring_get calls
	if expect "no filter under strace" "get: 0 -" "again: same"; then
		[ "$ncalls" = 2 ] && pass "set up once: io_uring_setup and io_uring_register only" ||
			fail "set up once" "$ncalls io_uring calls, want 2" "$tmp/trace"
	fi
	uring_calls KAIO_URING=0
	if expect "KAIO_URING=0" "get: EOPNOTSUPP off" "again: same"; then
		[ "$ncalls" = 0 ] && [ ! -s "$err" ] && pass "KAIO_URING=0: EOPNOTSUPP, no io_uring call, nothing said" ||
			fail "KAIO_URING=0" "$ncalls io_uring calls, want 0; or stderr not empty" "$tmp/trace" "$err"
	fi
fi

# --- 3. what is said ---------------------------------------------------------------
# one_line NAME PATTERN: stderr is exactly one line, matching PATTERN
one_line() {
	if [ "$(grep -c '' "$err")" != 1 ] || ! grep -qE "$2" "$err"; then
		fail "$1" "want one stderr line matching '$2'" "$err"
	else
		pass "$1"
	fi
}
run KAIO_URING=1 -- setup-eperm
expect "KAIO_URING=1, io_uring_setup EPERM" "get: EPERM EPERM" "again: same" &&
	one_line "KAIO_URING=1, refused: one warning" '^kaio: KAIO_URING=1 but io_uring is unavailable \(EPERM\)$'
run KAIO_URING=1 -- none
expect "KAIO_URING=1, available" "get: 0 -" "again: same" &&
	{ [ -s "$err" ] && fail "KAIO_URING=1, available: stderr empty" "" "$err" || pass "KAIO_URING=1, available: nothing said"; }
run KAIO_DEBUG=1 -- setup-kill
expect "KAIO_DEBUG=1, io_uring_setup killed" "get: ENOSYS SIGSYS" "again: same" &&
	one_line "KAIO_DEBUG=1, refused: the reason once" '^kaio: io_uring not used \(SIGSYS\)'
run KAIO_DEBUG=1 -- none
expect "KAIO_DEBUG=1, available" "get: 0 -" "again: same" &&
	one_line "KAIO_DEBUG=1, available: said once" '^kaio: io_uring: [0-9]+ entries, fd [0-9]+$'
run KAIO_URING=bogus -- none
expect "KAIO_URING=bogus: the default (auto) used" "get: 0 -" "again: same" &&
	one_line "KAIO_URING=bogus: one warning" "^kaio: ignoring KAIO_URING='bogus': expected auto, 0 or 1; using auto$"

# --- 4. kernel.io_uring_disabled -------------------------------------------------
sysctl_tests() {
	local saved
	saved=$(cat "$sysctl_file")
	if [ "$saved" != 0 ]; then
		skip "kernel.io_uring_disabled" "it is $saved here, not 0"
		return
	fi
	sysctl_saved=$saved
	echo 2 >"$sysctl_file"
	run -- none
	echo "$saved" >"$sysctl_file"
	expect "kernel.io_uring_disabled=2" "get: EPERM io_uring_disabled=2" "again: same" &&
		pass "kernel.io_uring_disabled=2: EPERM, the sysctl named"
	# =1 lets root (CAP_SYS_ADMIN) through: the program runs as nobody.
	if ! command -v setpriv >/dev/null; then
		skip "kernel.io_uring_disabled=1" "no setpriv"
	else
		echo 1 >"$sysctl_file"
		as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
		run -- none
		as=()
		echo "$saved" >"$sysctl_file"
		expect "kernel.io_uring_disabled=1, unprivileged" "get: EPERM io_uring_disabled=1" "again: same" &&
			pass "kernel.io_uring_disabled=1, unprivileged: EPERM, the sysctl named"
	fi
	sysctl_saved=
	if [ "$(cat "$sysctl_file")" = "$saved" ]; then
		pass "kernel.io_uring_disabled restored to $saved"
	else
		fail "kernel.io_uring_disabled restored" "it is $(cat "$sysctl_file"), was $saved"
	fi
}
if [ -n "${KAIO_ENV_NO_SYSCTL:-}" ]; then
	skip "kernel.io_uring_disabled" "KAIO_ENV_NO_SYSCTL is set"
elif [ ! -e "$sysctl_file" ]; then
	skip "kernel.io_uring_disabled" "no $sysctl_file (kernel before 6.6)"
elif [ "$(id -u)" != 0 ] || [ ! -w "$sysctl_file" ]; then
	skip "kernel.io_uring_disabled" "cannot write $sysctl_file (not root?)"
else
	flock -u 7
	exec 9>/tmp/kaio-io-uring-disabled.lock
	if flock -w 300 9; then
		sysctl_tests
	else
		skip "kernel.io_uring_disabled" "another run holds /tmp/kaio-io-uring-disabled.lock"
	fi
	exec 9>&-
fi

summary uring
