#!/bin/bash
# The KAIO_* environment variables end to end, through the preloaded
# library, and the fallbacks when the kernel AIO interface is missing.
#
#   tests/env.sh build/libkaio.so build/prog
#
# Uses the test programs of tests/prog (rw_basic, special_files,
# fallback_seccomp, fallback_aiomax, misuse_cancel): each run's stdout is
# compared with the program's run without kaio (lines "measure: " left
# out), and its stderr with what kaio may print there. One PASS/FAIL/SKIP
# line per check, then "N passed, N failed, N skipped"; exit 1 if any
# failed.
#
#   - no KAIO_* variable: nothing on stderr;
#   - KAIO_QUEUE_DEPTH, KAIO_STATS, KAIO_DEBUG, KAIO_FALLBACK, KAIO_URING, KAIO_INLINE with bad
#     values: exactly one "kaio: ignoring NAME=..." line, the default used,
#     the program still right; good values: taken (KAIO_STATS shows depth=);
#     an empty value reads as unset; a value holding a newline, a carriage
#     return or a terminal escape still gives one warning line of printable
#     text;
#   - KAIO_STATS=1: one "kaio: kernel=..." line at exit, with every field;
#   - KAIO_DEBUG=1: only "kaio:" lines;
#   - no kernel AIO (a seccomp filter makes io_setup fail ENOSYS / EPERM;
#     fs.aio-max-nr used up: EAGAIN) under KAIO_FALLBACK=glibc (default),
#     sync and error, with KAIO_STATS to tell which path served;
#   - fs.aio-max-nr leaving room for a small ring only: kaio gets a smaller
#     ring (depth=) and 4096 requests still complete;
#   - a small ring (KAIO_QUEUE_DEPTH) with reads waiting on idle pipes:
#     file I/O beside them still completes; with KAIO_QUEUE_DEPTH=4,
#     requests queued in user space for ring space are cancelled for real;
#   - a fuzz loop: random byte strings (printable or not, up to 100000
#     bytes) in each KAIO_* variable: no crash, output right, the warnings
#     as the value deserves. KAIO_FUZZ_N (default 200) values per variable,
#     KAIO_FUZZ_SEED (default 1) to replay.
#
# fs.aio-max-nr is system-wide: the checks that lower it run only as root,
# hold a lock (/tmp/kaio-aio-max-nr.lock) so two runs never save each
# other's lowered value, restore it on any exit, and keep the window short.
# While it is lowered, other processes on the machine cannot get a kernel
# AIO context either; KAIO_ENV_NO_SYSCTL=1 skips these checks.

set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 LIBKAIO.so PROGDIR" >&2
	exit 2
fi
lib=$(realpath -e "$1") || { echo "env.sh: no library $1" >&2; exit 2; }
bindir=$(realpath -e "$2") || { echo "env.sh: no directory $2" >&2; exit 2; }
timeout=${KAIO_TEST_TIMEOUT:-120}
fuzz_n=${KAIO_FUZZ_N:-200}
fuzz_seed=${KAIO_FUZZ_SEED:-1}

for v in $(env | sed -n 's/^\(KAIO_[A-Za-z0-9_]*\)=.*/\1/p'); do
	[ "$v" = KAIO_ENV_NO_SYSCTL ] || unset "$v"
done
unset LD_PRELOAD

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kaio-env.XXXXXX") || exit 2
cleanup() {
	aiomax_restore
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
aiomax_share

for p in rw_basic special_files fallback_seccomp fallback_aiomax misuse_cancel; do
	if [ ! -x "$bindir/$p" ]; then
		echo "env.sh: no program $bindir/$p (make build/prog/$p)" >&2
		exit 2
	fi
done

# run_k NAME PROG [ARGS...]: runs PROG under kaio with the extra environment
# in the array envs; leaves $out, $err (files) and $rc. With traced=1 (for
# the checks that want stderr empty, so without KAIO_STATS) it runs under
# strace, its io_submit calls in $out.strace: see err_empty.
envs=() traced=
run_k() {
	local name prog=$2
	name=$(printf '%s' "$1" | tr -c 'A-Za-z0-9_.=-' '_')
	shift 2
	local dir=$tmp/run.$name tr=()
	out=$tmp/$name.out err=$tmp/$name.err
	rm -f "$out.strace"
	[ -n "$traced" ] && tr=(strace -f -qq -e trace=io_submit -o "$out.strace")
	rm -rf "$dir"
	mkdir -p "$dir"
	timeout -k 5 "$timeout" "${tr[@]}" env LD_PRELOAD="$lib" "${envs[@]}" \
		"$bindir/$prog" "$dir" "$@" >"$out" 2>"$err" </dev/null
	rc=$?
	rm -rf "$dir"
}

# ref PROG [ARGS...]: the program's stdout without kaio, measure lines left
# out, in $tmp/ref.PROG.ARGS (made once).
ref() {
	local prog=$1
	shift
	local key
	key=$(printf '%s.' "$prog" "$@")
	reff=$tmp/ref.$key
	if [ ! -f "$reff" ]; then
		local dir=$tmp/refdir
		rm -rf "$dir"
		mkdir -p "$dir"
		timeout -k 5 "$timeout" "$bindir/$prog" "$dir" "$@" 2>"$reff.err" </dev/null |
			grep -v '^measure: ' >"$reff"
		local r=${PIPESTATUS[0]}
		rm -rf "$dir"
		if [ "$r" != 0 ]; then
			echo "env.sh: $prog $* fails without kaio (exit $r)" >&2
			cat "$reff.err" >&2
			exit 2
		fi
	fi
}

# same_out PROG [ARGS...]: $out matches the reference (measure lines aside);
# else explains in $why.
same_out() {
	ref "$@"
	grep -v '^measure: ' "$out" >"$out.cmp"
	if ! diff -u --label glibc --label kaio "$reff" "$out.cmp" >"$out.diff"; then
		why="output differs from the run without kaio"
		return 1
	fi
}

# measure KEY: the value of "measure: KEY VALUE" in $out (first one).
measure() { sed -n "s/^measure: $1 //p" "$out" | head -n 1; }

# stat_of KEY: the value of KEY= in the stats line of $err.
stat_of() { stats_field "$1" "$(<"$err")"; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# check NAME PROG [ARGS...] -- run with envs, exit 0, output as without kaio;
# then the function in $expect_err must accept $err (it sets $why if not).
check() {
	local name=$1
	shift
	run_k "$name" "$@"
	why=
	if [ "$rc" != 0 ]; then
		why="exit $rc"
	elif same_out "$@"; then
		$expect_err || true
	fi
	if [ -n "$why" ]; then
		fail "$name" "$why" "$out.diff" "$err" "$out"
	else
		pass "$name"
	fi
}

# --- what stderr may hold ----------------------------------------------------
# nothing; and kaio served the run: its requests went through io_submit
# (strace, as the run had no KAIO_STATS to say so)
err_empty() {
	if [ -s "$err" ]; then
		why="stderr not empty"
	elif [ -n "$traced" ] && ! grep -q 'io_submit(' "$out.strace" 2>/dev/null; then
		why="no io_submit in the trace: kaio did not serve it"
	fi
}

# exactly one warning about $warn_var, and no other line
err_one_warning() {
	local n
	n=$(grep -ac "^kaio: ignoring $warn_var='" "$err")
	if [ "$n" != 1 ]; then
		why="$n warnings about $warn_var, want 1"
	elif [ "$(grep -ac '' "$err")" != 1 ]; then
		why="stderr holds more than the warning line"
	elif ! grep -aq "; using ${warn_default[$warn_var]}\$" "$err"; then
		why="the warning does not say it uses the default (${warn_default[$warn_var]})"
	fi
}
declare -A warn_default=([KAIO_QUEUE_DEPTH]=256 [KAIO_STATS]=0 [KAIO_DEBUG]=0 [KAIO_FALLBACK]=glibc [KAIO_URING]=auto
	[KAIO_INLINE]=1 [KAIO_STATS_FILE]=none)

# no warning about a value; KAIO_URING=1 may say io_uring is unavailable
err_no_ignoring() {
	if grep -aq '^kaio: ignoring ' "$err"; then
		why="a valid value was warned about"
	elif grep -av '^kaio: KAIO_URING=1 but io_uring is unavailable (' "$err" | grep -q ''; then
		why="stderr holds more than the KAIO_URING=1 warning"
	fi
}

stat_keys="kernel poll pollfirst sync_fallback sync_mode glibc queued cancelled peak_inflight io_submit io_getevents ring_reaped depth ctx_error notifier"

# one stats line with every field, nothing else; extra tests in $stat_want
err_stats() {
	local n k v
	n=$(grep -ac '' "$err")
	if [ "$n" != 1 ] || ! grep -aq '^kaio: kernel=' "$err"; then
		why="want exactly one 'kaio: kernel=' line on stderr, got $n lines"
		return
	fi
	for k in $stat_keys; do
		v=$(stat_of "$k")
		if [ -z "$v" ]; then
			why="stats: no $k="
			return
		fi
		[ "$k" = ctx_error ] || is_uint "$v" || { why="stats: $k=$v"; return; }
	done
	local t
	for t in "${stat_want[@]}"; do
		k=${t%%[=<>!]*}
		v=$(stat_of "$k")
		case $t in
		*'>0') [ "$v" -gt 0 ] || why="stats: $k=$v, want > 0" ;;
		*'<='*) [ "$v" -le "${t#*<=}" ] || why="stats: $k=$v, want <= ${t#*<=}" ;;
		*'>='*) [ "$v" -ge "${t#*>=}" ] || why="stats: $k=$v, want >= ${t#*>=}" ;;
		*=*) [ "$v" = "${t#*=}" ] || why="stats: $k=$v, want ${t#*=}" ;;
		esac
		[ -n "$why" ] && return
	done
}

err_debug() {
	if [ ! -s "$err" ]; then
		why="KAIO_DEBUG=1 printed nothing"
	elif grep -avq '^kaio: ' "$err"; then
		why="stderr holds lines not starting with 'kaio: '"
	fi
}

# --- 1. nothing set ---------------------------------------------------------
expect_err=err_empty
command -v strace >/dev/null && traced=1
envs=()
check "no KAIO_*: rw_basic, stderr empty" rw_basic
check "no KAIO_*: special_files, stderr empty" special_files
check "no KAIO_*: fallback_seccomp none, stderr empty" fallback_seccomp none
traced=

# --- 2. bad and good values -------------------------------------------------
expect_err=err_one_warning
warn_var=KAIO_QUEUE_DEPTH
for v in abc 0 65537 -1 ' 8' '8 ' 0x10 1e3 4294967297 99999999999999999999 '+8' '８'; do
	envs=("KAIO_QUEUE_DEPTH=$v")
	check "KAIO_QUEUE_DEPTH='$v': one warning, default used" rw_basic
done
for var in KAIO_STATS KAIO_DEBUG KAIO_INLINE; do
	warn_var=$var
	for v in 2 yes true on -1 ' 1' 01x 10; do
		envs=("$var=$v")
		check "$var='$v': one warning" rw_basic
	done
done
warn_var=KAIO_FALLBACK
for v in bogus GLIBC 'sync ' ' error' glib syncx 0 1; do
	envs=("KAIO_FALLBACK=$v")
	check "KAIO_FALLBACK='$v': one warning" rw_basic
done
warn_var=KAIO_URING
for v in bogus AUTO Auto ' auto' 'auto ' 2 -1 01 00 ' 1' '0 ' yes true on off never 1x; do
	envs=("KAIO_URING=$v")
	check "KAIO_URING='$v': one warning" rw_basic
done
# KAIO_STATS_FILE: an absolute path, '%' only as %p or %% (tests/stats.sh
# has the file itself)
warn_var=KAIO_STATS_FILE
for v in relative ./x '~/x' ' /x' '/x/%d' '/x/%' '/x/%P' '%p' $'/x\ny' $'/x\ty' "/$(head -c 4100 /dev/zero | tr '\0' x)"; do
	envs=("KAIO_STATS_FILE=$v")
	check "KAIO_STATS_FILE=${v:0:40}: one warning" rw_basic
done
# the warning stays one line of text whatever the value holds (a newline,
# a carriage return, a terminal escape): control bytes are not echoed raw
err_one_clean_line() {
	err_one_warning
	[ -n "$why" ] && return
	if [ "$(tr -d '\n' <"$err" | LC_ALL=C tr -d '[:print:]' | wc -c)" != 0 ]; then
		why="the warning echoes control bytes of the value: $(cat -v "$err")"
	fi
}
expect_err=err_one_clean_line
for v in $'8\n9' $'abc\rkaio: fine' $'\e[2J\e[31mred'; do
	for var in KAIO_QUEUE_DEPTH KAIO_FALLBACK KAIO_URING KAIO_STATS_FILE; do
		warn_var=$var
		envs=("$var=$v")
		check "$var=${v@Q}: one clean warning line" rw_basic
	done
done

# a value near the kernel's limit for one environment string (128 KiB)
expect_err=err_one_warning
long=$(head -c 130000 /dev/zero | tr '\0' 9)
for var in KAIO_QUEUE_DEPTH KAIO_STATS KAIO_DEBUG KAIO_FALLBACK KAIO_URING KAIO_INLINE KAIO_STATS_FILE; do
	warn_var=$var
	envs=("$var=$long")
	check "$var=<130000 nines>: one warning" rw_basic
done

# a bad KAIO_FALLBACK leaves the default (glibc) when there is no kernel AIO
envs=("KAIO_FALLBACK=bogus" "KAIO_STATS=1")
run_k fb_bogus fallback_seccomp enosys
why=
[ "$rc" = 0 ] || why="exit $rc"
[ -z "$why" ] && { same_out fallback_seccomp enosys || true; }
if [ -z "$why" ]; then
	[ "$(grep -ac "^kaio: ignoring KAIO_FALLBACK='bogus'" "$err")" = 1 ] || why="no single warning"
	g=$(stat_of glibc)
	[ -n "$g" ] && [ "$g" -gt 0 ] || why="glibc=$g: the default fallback (glibc) was not used"
fi
if [ -n "$why" ]; then fail "KAIO_FALLBACK=bogus without kernel AIO: glibc serves" "$why" "$out.diff" "$err"; else pass "KAIO_FALLBACK=bogus without kernel AIO: glibc serves"; fi

# the default really used after a bad value
envs=("KAIO_QUEUE_DEPTH=abc" "KAIO_STATS=1")
run_k depth_default rw_basic
why=
[ "$rc" = 0 ] || why="exit $rc"
[ -z "$why" ] && { same_out rw_basic || true; }
if [ -z "$why" ]; then
	[ "$(grep -ac "^kaio: ignoring KAIO_QUEUE_DEPTH='abc'" "$err")" = 1 ] || why="no single warning"
	[ "$(stat_of depth)" = 256 ] || why="depth=$(stat_of depth), want the default 256"
fi
if [ -n "$why" ]; then fail "KAIO_QUEUE_DEPTH=abc: depth=256 used" "$why" "$err"; else pass "KAIO_QUEUE_DEPTH=abc: depth=256 used"; fi

# good values are taken
expect_err=err_stats
for v in 1 7 007 64 65536; do
	envs=("KAIO_QUEUE_DEPTH=$v" "KAIO_STATS=1")
	want=$((10#$v))
	if [ "$want" = 65536 ]; then
		# io_setup(65536) needs all of fs.aio-max-nr (kaio halves on EAGAIN)
		stat_want=("depth<=65536" "depth>=1" "ctx_error=0")
	else
		stat_want=("depth=$want" "ctx_error=0")
	fi
	stat_want+=("served>0" "glibc=0")
	check "KAIO_QUEUE_DEPTH=$v: taken (depth=$want)" rw_basic
done
expect_err=err_empty
command -v strace >/dev/null && traced=1
for v in glibc sync error; do
	envs=("KAIO_FALLBACK=$v")
	check "KAIO_FALLBACK=$v with kernel AIO: no effect, no warning" rw_basic
done
envs=("KAIO_STATS=0" "KAIO_DEBUG=0")
check "KAIO_STATS=0 KAIO_DEBUG=0: stderr empty" special_files
# an empty value is unset: no warning, the default
envs=("KAIO_QUEUE_DEPTH=" "KAIO_STATS=" "KAIO_DEBUG=" "KAIO_FALLBACK=" "KAIO_URING=" "KAIO_INLINE=")
check "every KAIO_* empty: read as unset, stderr empty" rw_basic
expect_err=err_no_ignoring
for v in auto 0 1; do
	envs=("KAIO_URING=$v")
	check "KAIO_URING=$v: taken, no warning about it" rw_basic
done
for v in 0 1 00 01; do
	envs=("KAIO_INLINE=$v")
	check "KAIO_INLINE=$v: taken, no warning about it" rw_basic
done
traced=

# --- 3. KAIO_STATS, KAIO_DEBUG -----------------------------------------------
expect_err=err_stats
envs=("KAIO_STATS=1")
stat_want=("served>0" "glibc=0" "notifier=0" "ctx_error=0" "depth=256" "sync_mode=0")
check "KAIO_STATS=1: one stats line (SIGEV_NONE file program)" rw_basic
stat_want=("served>0" "poll>0" "glibc=0" "ctx_error=0")
check "KAIO_STATS=1: poll>0 for pipes, eventfd, FIFO" special_files
stat_want=("served>0" "poll>0" "glibc=0" "notifier=1" "ctx_error=0")
check "KAIO_STATS=1: notifier=1 with a SIGEV_SIGNAL request" fallback_seccomp none

expect_err=err_debug
envs=("KAIO_DEBUG=1")
check "KAIO_DEBUG=1: only kaio: lines (pipes, eventfd, /proc)" special_files
envs=("KAIO_DEBUG=1" "KAIO_FALLBACK=sync")
check "KAIO_DEBUG=1: only kaio: lines (no kernel AIO, sync)" fallback_seccomp enosys

# --- 4. no kernel AIO: seccomp ----------------------------------------------
# fallback MODE ERRNO(lowercase) NAME PROG ARGS...: the checks of one mode.
# $no_aio_errno: the ctx_error= kaio must report.
fallback_checks() {
	local mode=$1 name=$2
	shift 2
	local prog=$1
	if [ "$mode" = default ]; then
		envs=("KAIO_STATS=1")
	else
		envs=("KAIO_STATS=1" "KAIO_FALLBACK=$mode")
	fi
	run_k fb "$@"
	why=
	local t
	[ "$rc" = 0 ] || why="exit $rc"
	if [ -z "$why" ] && [ "$(grep -avc '^kaio: kernel=' "$err")" != 0 ]; then
		why="stderr holds more than the stats line"
	fi
	if [ -z "$why" ]; then
		case $mode in
		default | glibc)
			same_out "$@" || true
			stat_want=("ctx_error=$no_aio_errno" "glibc>0" "sync_mode=0" "kernel=0")
			if [ "$prog" = fallback_seccomp ]; then
				t=$(measure fallback_threads)
				[ -n "$t" ] && [ "$t" -gt 1 ] || why="fallback_threads=$t: glibc's helper thread expected"
			fi
			;;
		sync)
			same_out "$@" || true
			stat_want=("ctx_error=$no_aio_errno" "glibc=0" "sync_mode>0" "kernel=0")
			if [ "$prog" = fallback_seccomp ]; then
				t=$(measure fallback_threads)
				[ "$t" = 1 ] || why="fallback_threads=$t: sync mode must start no thread for SIGEV_NONE"
				# documented: a read of an empty pipe blocks the caller
				# in sync mode (here until the SIGALRM handler fills the
				# pipe, 1 s later): aio_read returns after the handler ran
				t=$(measure empty_pipe_fed_in_call)
				[ "$t" = yes ] || why="empty_pipe_fed_in_call=$t: sync mode should block the caller"
			fi
			;;
		error)
			stat_want=("ctx_error=$no_aio_errno" "glibc=0" "sync_mode=0" "kernel=0")
			local l
			for l in "aio_write: -1 EAGAIN" "read: -1 EAGAIN" "aio_fsync: -1 EAGAIN" \
				"lio_listio LIO_WAIT writes: -1 EAGAIN" "lio_listio LIO_NOWAIT reads: -1 EAGAIN" \
				"pipe read, data there: -1 EAGAIN" "empty pipe read: -1 EAGAIN" \
				"write with SIGEV_SIGNAL: -1 EAGAIN"; do
				grep -qxF "$l" "$out" || { why="no line '$l'"; break; }
			done
			;;
		esac
	fi
	[ -z "$why" ] && err_stats
	if [ -n "$why" ]; then
		fail "$name" "$why" "$out.diff" "$err" "$out"
	else
		pass "$name"
	fi
}

# kill: io_setup is answered with SIGSYS (SECCOMP_RET_KILL_PROCESS); kaio
# tries it in a throwaway child first and takes it as ENOSYS.
for e in enosys eperm kill; do
	no_aio_errno=${e^^}
	[ "$e" = kill ] && no_aio_errno=ENOSYS
	for mode in default glibc sync error; do
		fallback_checks "$mode" "seccomp io_setup $no_aio_errno, KAIO_FALLBACK=$mode" fallback_seccomp "$e"
	done
done

# --- 5. a small ring: reads waiting on idle pipes ----------------------------
expect_err=err_stats
for d in 8 16; do
	envs=("KAIO_QUEUE_DEPTH=$d" "KAIO_STATS=1")
	stat_want=("depth=$d" "ctx_error=0" "served>0" "poll>0" "glibc=0" "sync_mode=0")
	check "KAIO_QUEUE_DEPTH=$d: 4096 file reads beside 16 idle pipe reads" fallback_aiomax 16
done
envs=("KAIO_QUEUE_DEPTH=1" "KAIO_STATS=1")
stat_want=("depth=1" "ctx_error=0" "served>0" "glibc=0" "sync_mode=0")
check "KAIO_QUEUE_DEPTH=1: 4096 file reads, 1024 writes" fallback_aiomax 0
# cancel of requests queued in user space for ring space
envs=("KAIO_QUEUE_DEPTH=4" "KAIO_STATS=1")
run_k cancel_q misuse_cancel
why=
[ "$rc" = 0 ] || why="exit $rc"
stat_want=("depth=4" "ctx_error=0" "served>0" "cancelled>0" "glibc=0")
[ -z "$why" ] && err_stats
if [ -z "$why" ]; then
	c=$(measure cancel_file_cancelled)
	s=$(measure cancel_file_summary)
	[ -n "$c" ] && [ "$c" -gt 0 ] || why="cancel_file_cancelled=$c: requests queued for ring space were not cancelled"
	[ "$s" = AIO_NOTCANCELED ] || why="cancel_file_summary=$s, want AIO_NOTCANCELED (some in the kernel, some cancelled)"
fi
if [ -n "$why" ]; then fail "KAIO_QUEUE_DEPTH=4: cancel of requests queued in user space" "$why" "$err" "$out"; else pass "KAIO_QUEUE_DEPTH=4: cancel of requests queued in user space"; fi

# --- 6. fs.aio-max-nr --------------------------------------------------------
aiomax_tests() {
	local cur
	cur=$(cat /proc/sys/fs/aio-nr)
	# All of it used: io_setup fails EAGAIN even for 1 event.
	aiomax_set "$cur" || { skip "fs.aio-max-nr" "cannot write $aiomax_file"; return; }
	run_k probe fallback_seccomp none
	if ! grep -qx 'measure: io_setup_itself -1 EAGAIN' "$out"; then
		fail "fs.aio-max-nr = fs.aio-nr ($cur): io_setup(1) must fail EAGAIN" \
			"$(grep 'io_setup_itself' "$out") (another process may have freed a context)"
		return
	fi
	no_aio_errno=EAGAIN
	local mode
	for mode in default glibc sync error; do
		fallback_checks "$mode" "aio-max-nr used up, KAIO_FALLBACK=$mode" fallback_seccomp none
	done
	for mode in default sync; do
		fallback_checks "$mode" "aio-max-nr used up, KAIO_FALLBACK=$mode: 4096 reads, 1024 writes" fallback_aiomax 0
	done
	fallback_checks default "aio-max-nr used up, default: 4096 reads beside 16 idle pipes" fallback_aiomax 16

	# Room for a small ring only: kaio asks 256, halves until it fits.
	aiomax_set $((cur + 64))
	expect_err=err_stats
	envs=("KAIO_STATS=1")
	stat_want=("ctx_error=0" "depth<=64" "depth>=1" "served>0" "glibc=0")
	check "aio-max-nr = aio-nr + 64: a smaller ring, 4096 reads, 1024 writes" fallback_aiomax 0
	local d
	d=$(stat_of depth)
	echo "    (depth=$d)"
	check "aio-max-nr = aio-nr + 64: 4096 reads beside 16 idle pipes" fallback_aiomax 16
}

aiomax_with fs.aio-max-nr aiomax_tests

# --- 7. fuzz ------------------------------------------------------------------
RANDOM=$fuzz_seed
# rand_value: a random string in $val (no NUL: the environment cannot hold one)
rand_value() {
	local len kind
	case $((RANDOM % 10)) in
	0) len=$((RANDOM * 3 + 1000)) ;;
	1 | 2) len=$((RANDOM % 1000)) ;;
	*) len=$((RANDOM % 24)) ;;
	esac
	kind=$((RANDOM % 4))
	case $kind in
	0) val=$(head -c $((len * 2 + 2)) /dev/urandom | tr -d '\0' | head -c "$len") ;;
	1) val=$(head -c $((len * 4 + 4)) /dev/urandom | LC_ALL=C tr -dc '[:print:]' | head -c "$len") ;;
	2) val=$(head -c $((len * 8 + 8)) /dev/urandom | LC_ALL=C tr -dc '0-9' | head -c "$((len % 12))") ;;
	3) val=$(head -c $((len * 4 + 4)) /dev/urandom | LC_ALL=C tr -dc 'a-z \t\n' | head -c "$((len % 10))") ;;
	esac
	return 0
}

# valid_value VAR: whether kaio must accept $val for VAR
valid_value() {
	local v=$val
	[ -z "$v" ] && return 0	# empty reads as unset
	case $1 in
	KAIO_FALLBACK) [ "$v" = glibc ] || [ "$v" = sync ] || [ "$v" = error ] ;;
	KAIO_URING) [ "$v" = auto ] || [ "$v" = 0 ] || [ "$v" = 1 ] ;;
	*)
		[[ $v =~ ^[0-9]+$ ]] || return 1
		while [[ $v == 0* ]]; do v=${v#0}; done
		[ -z "$v" ] && v=0
		[ ${#v} -le 6 ] || return 1
		case $1 in
		KAIO_QUEUE_DEPTH) [ "$v" -ge 1 ] && [ "$v" -le 65536 ] ;;
		*) [ "$v" -le 1 ] ;;
		esac
		;;
	esac
}

ref rw_basic
fuzz_log=$tmp/fuzz.log
: >"$fuzz_log"
for var in KAIO_QUEUE_DEPTH KAIO_STATS KAIO_DEBUG KAIO_FALLBACK KAIO_URING KAIO_INLINE; do
	bad=0 nvalid=0 longest=0
	for ((i = 0; i < fuzz_n; i++)); do
		rand_value
		[ ${#val} -gt "$longest" ] && longest=${#val}
		envs=("$var=$val")
		run_k fuzz rw_basic
		why=
		if [ "$rc" != 0 ]; then
			why="exit $rc"
		elif ! same_out rw_basic; then
			:
		else
			n=$(grep -ac "kaio: ignoring $var='" "$err")
			if valid_value "$var"; then
				nvalid=$((nvalid + 1))
				[ "$n" = 0 ] || why="a valid value was warned about"
			else
				[ "$n" = 1 ] || why="$n warnings, want 1"
				# the value is cut to 64 bytes in the warning
				[ "$(wc -c <"$err")" -le 400 ] || why="warning of $(wc -c <"$err") bytes"
			fi
		fi
		if [ -n "$why" ]; then
			bad=$((bad + 1))
			{
				echo "$var: $why; value of ${#val} chars (hex, first 64 bytes):"
				printf '%s' "$val" | head -c 64 | od -An -tx1 | head -n 4
				head -c 600 "$err" | cat -v
			} >>"$fuzz_log"
		fi
	done
	if [ "$bad" = 0 ]; then
		pass "fuzz $var: $fuzz_n random values (seed $fuzz_seed; $nvalid valid, longest $longest chars)"
	else
		fail "fuzz $var: $bad of $fuzz_n random values (seed $fuzz_seed) went wrong" "see below" "$fuzz_log"
	fi
done

summary
