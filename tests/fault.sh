#!/bin/bash
# Fault injection and hostile input, under kaio (LD_PRELOAD) and, where
# glibc is right, under glibc too (tests/fault/*.c, plain POSIX AIO).
#
#   tests/fault.sh LIBKAIO.so FAULTDIR
#
#   1. full file system: a 1 MiB tmpfs (buffered) and an 8 MiB ext4 image
#      on a loop device (O_DIRECT): writes until ENOSPC, a short write,
#      space freed, a list past the end; kaio's answers equal glibc's on an
#      identical fresh file system, and the data read back is right;
#   2. a ring of 4 (and 1) with 512 O_DIRECT requests from 8 threads;
#   3. fs.aio-max-nr used up by another process: a kaio process with its
#      context keeps working; a new one falls back and is right;
#   4. fork while threads submit: the children's AIO (kaio only: glibc's
#      child may hang on a lock a parent thread held);
#   5. close()/dup2() over fds with requests pending (kaio only: glibc's
#      queued requests run on whatever the fd number is by then);
#   6. exec with requests pending;
#   7. threads cancelled in aio_suspend while others use AIO;
#   8. NULL aiocb, nent = INT_MAX (glibc dies with SIGSEGV: kaio only,
#      which must answer -1 EINVAL/EFAULT, or EAGAIN/ENOMEM for a list it
#      cannot hold).
# One PASS/FAIL/SKIP line per check, last line "fault: N passed, M failed,
# K skipped"; exit 0 iff nothing failed. Mounts and fs.aio-max-nr (lowered
# under /tmp/kaio-aio-max-nr.lock, as tests/env.sh does) are undone on any
# exit. KAIO_ENV_NO_SYSCTL=1 skips 3.

set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 LIBKAIO.so FAULTDIR" >&2
	exit 2
fi
lib=$(realpath -e "$1") || { echo "fault.sh: no library $1" >&2; exit 2; }
bin=$(realpath -e "$2") || { echo "fault.sh: no directory $2" >&2; exit 2; }
for v in $(env | sed -n 's/^\(KAIO_[A-Za-z0-9_]*\)=.*/\1/p'); do
	[ "$v" = KAIO_ENV_NO_SYSCTL ] || unset "$v"
done
unset LD_PRELOAD

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kaio-fault.XXXXXX") || exit 2
mnt=
helper_pid=
cleanup() {
	[ -n "$helper_pid" ] && kill "$helper_pid" 2>/dev/null
	aiomax_restore
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
aiomax_share
info() { echo "    $*"; }

# run IMPL TIMEOUT NAME PROG ARGS...: leaves $out, $err, $rc. Extra
# environment for kaio in the array kenv; kaio runs have KAIO_STATS=1.
kenv=()
run() {
	local impl=$1 t=$2 name prog=$4
	limit=$t
	name=$(printf '%s' "$3" | tr -c 'A-Za-z0-9_.-' '_')
	shift 4
	out=$tmp/$name.$impl.out err=$tmp/$name.$impl.err
	# in a subshell: a crash is reported by $rc, not by bash on stderr
	if [ "$impl" = kaio ]; then
		(timeout -k 2 "$t" env LD_PRELOAD="$lib" KAIO_STATS=1 "${kenv[@]}" "$bin/$prog" "$@" \
			>"$out" 2>"$err" </dev/null; exit $?) 2>/dev/null
	else
		(timeout -k 2 "$t" "$bin/$prog" "$@" >"$out" 2>"$err" </dev/null; exit $?) 2>/dev/null
	fi
	rc=$?
}

# how: what $rc of the last run means, in words
how() {
	if [ "$rc" = 77 ]; then
		echo "skipped: $(grep -m1 '^skip: ' "$out" | cut -c7-)"
	else
		ended "$rc" "$limit"
	fi
}

# served: the KAIO_STATS lines of a kaio run (in $err; one per process
# that used kaio and ended with exit(3)) show that kaio served it: at least
# one, glibc=0 and kernel+inline>0 summed over them; else the reason is added
# to $why.
served() {
	local n g k
	n=$(grep -c '^kaio: kernel=' "$err")
	g=$(grep -o ' glibc=[0-9]*' "$err" | awk -F= '{ s += $2 } END { print s + 0 }')
	k=$(grep -oE '^kaio: kernel=[0-9]+ inline=[0-9]+' "$err" | tr ' ' '\n' | awk -F= '$2 != "" { s += $2 } END { print s + 0 }')
	if [ "$n" = 0 ]; then
		why="${why:+$why; }no KAIO_STATS line: kaio did not serve it"
	elif [ "$g" != 0 ] || [ "$k" = 0 ]; then
		why="${why:+$why; }KAIO_STATS: kernel+inline=$k glibc=$g summed, want kernel+inline>0 glibc=0"
	fi
}

# check_self NAME T PROG ARGS...: under kaio, and glibc unless noglibc=1;
# each run must exit 0 (the program checks itself), the kaio run served by
# kaio (unless noserved=1: the program proves it otherwise).
noglibc= noserved=
check_self() {
	local name=$1 t=$2
	shift 2
	local impl
	for impl in kaio glibc; do
		[ "$impl" = glibc ] && [ -n "$noglibc" ] && continue
		run "$impl" "$t" "$name" "$@"
		why=
		[ "$rc" = 0 ] || why=$(how)
		[ "$rc" = 0 ] && [ "$impl" = kaio ] && [ -z "$noserved" ] && served
		if [ "$rc" = 77 ]; then
			skip "$name ($impl)" "$(grep -m1 '^skip: ' "$out" | cut -c7-)"
		elif [ -z "$why" ]; then
			pass "$name ($impl)"
		else
			fail "$name ($impl)" "$why" "$out" "$err"
		fi
	done
}

[ "$(id -u)" = 0 ] && can_mount=1 || can_mount=

# --- 1. full file system -----------------------------------------------------
# fresh_fs buffered|direct: a new small file system mounted on $mnt
fresh_fs() {
	mnt=$(mktemp -d "$tmp/mnt.XXXXXX")
	if [ "$1" = buffered ]; then
		mount -t tmpfs -o size=1m kaio-fault "$mnt" 2>/dev/null
	else
		rm -f "$tmp/ext4.img"
		truncate -s 8M "$tmp/ext4.img" &&
			mkfs.ext4 -F -q -O ^has_journal -m 0 -b 4096 "$tmp/ext4.img" >/dev/null 2>&1 &&
			mount -o loop "$tmp/ext4.img" "$mnt" 2>/dev/null
	fi
}
drop_fs() {
	umount "$mnt" 2>/dev/null
	rmdir "$mnt" 2>/dev/null
	mnt=
}

enospc() {
	local mode=$1 name="ENOSPC $1 ($2)" impl
	for impl in glibc kaio; do
		if ! fresh_fs "$mode"; then
			drop_fs
			skip "$name" "cannot mount a $3"
			return
		fi
		run "$impl" 60 "enospc_$mode" enospc "$mnt" "$mode"
		drop_fs
		why=
		[ "$impl" = kaio ] && served
		if [ "$rc" = 77 ]; then
			skip "$name" "$(how)"
			return
		elif [ "$rc" != 0 ] || [ -n "$why" ]; then
			fail "$name" "$impl: $(how)${why:+; $why}" "$out" "$err"
			return
		fi
	done
	local g=$tmp/enospc_$mode.glibc.out k=$tmp/enospc_$mode.kaio.out
	if ! diff <(grep -v '^measure: ' "$g") <(grep -v '^measure: ' "$k") >"$tmp/d"; then
		fail "$name" "kaio's answers differ from glibc's" "$tmp/d"
		return
	fi
	pass "$name"
	info "$(grep -m1 '^1: ' "$k")"
	info "$(grep '^1: the next' "$k")"
}
if [ -z "$can_mount" ]; then
	skip "ENOSPC" "not root: cannot mount"
else
	enospc buffered "1 MiB tmpfs" "tmpfs"
	if command -v mkfs.ext4 >/dev/null && command -v losetup >/dev/null; then
		enospc direct "8 MiB ext4 image, O_DIRECT" "loop ext4 image"
	else
		skip "ENOSPC direct" "mkfs.ext4 or losetup missing"
	fi
fi

# --- 2. a full ring ----------------------------------------------------------
mkdir -p "$tmp/s"
for d in 4 1; do
	kenv=("KAIO_QUEUE_DEPTH=$d" "KAIO_STATS=1")
	run kaio 60 ring ring "$tmp/s"
	why=
	if [ "$rc" = 77 ]; then
		skip "ring depth $d: 512 O_DIRECT requests from 8 threads" "$(how)"
		continue
	fi
	[ "$rc" = 0 ] || why=$(how)
	stats=$(grep '^kaio: kernel=' "$err")
	q=$(sed -n 's/.* queued=\([0-9]*\).*/\1/p' <<<"$stats")
	pk=$(sed -n 's/.* peak_inflight=\([0-9]*\).*/\1/p' <<<"$stats")
	if [ -z "$why" ]; then
		[ -n "$q" ] && [ "$q" -gt 0 ] || why="queued=$q: nothing waited for ring space"
		[ -n "$pk" ] && [ "$pk" -le "$d" ] || why="peak_inflight=$pk > $d"
	fi
	if [ -n "$why" ]; then
		fail "ring depth $d (kaio): 512 O_DIRECT requests from 8 threads" "$why" "$out" "$err"
	else
		pass "ring depth $d (kaio): 512 O_DIRECT requests from 8 threads (queued=$q peak_inflight=$pk)"
	fi
	rm -rf "${tmp:?}/s/"*
done
kenv=()
run glibc 60 ring ring "$tmp/s"
[ "$rc" = 0 ] && pass "ring (glibc)" || fail "ring (glibc)" "$(how)" "$out" "$err"
rm -rf "${tmp:?}/s/"*

# --- 3. fs.aio-max-nr used up by another process -----------------------------
aiomax() {
	local d=$tmp/am
	rm -rf "$d"
	mkdir -p "$d"
	# a kaio process with its context and requests in flight
	env LD_PRELOAD="$lib" KAIO_STATS=1 timeout -k 2 120 "$bin/aiomax" "$d" hold \
		>"$tmp/hold.out" 2>"$tmp/hold.err" </dev/null &
	local hold_pid=$!
	local i
	for ((i = 0; i < 6000; i++)); do
		[ -e "$d/ready" ] && break
		kill -0 "$hold_pid" 2>/dev/null || break
		sleep 0.01
	done
	if [ ! -e "$d/ready" ]; then
		touch "$d/go"
		wait "$hold_pid"
		fail "aio-max-nr: holder" "never got ready" "$tmp/hold.out" "$tmp/hold.err"
		return
	fi
	local cur
	cur=$(cat /proc/sys/fs/aio-nr)
	aiomax_set $((cur + 512))
	"$bin/aiomax_grab" "$d" >"$tmp/grab.out" 2>&1 </dev/null &
	helper_pid=$!
	for ((i = 0; i < 6000; i++)); do
		[ -e "$d/grabbed" ] && break
		kill -0 "$helper_pid" 2>/dev/null || break
		sleep 0.01
	done
	info "$(cat "$tmp/grab.out")"
	if ! grep -q 'io_setup(1): EAGAIN' "$tmp/grab.out"; then
		fail "aio-max-nr: another process takes every slot" "$(cat "$tmp/grab.out")"
	else
		pass "aio-max-nr: another process takes every slot (aio-nr $(cat /proc/sys/fs/aio-nr) of $(cat "$aiomax_file"))"
	fi
	# the holder goes on while no slot is left; a new process starts
	touch "$d/go"
	kenv=("KAIO_STATS=1")
	mkdir -p "$d/new"
	run kaio 60 aiomax_new aiomax "$d/new" new
	local why=
	[ "$rc" = 0 ] || why=$(how)
	grep -q 'ctx_error=EAGAIN' "$err" || why="${why:+$why; }no ctx_error=EAGAIN in its stats: $(grep '^kaio:' "$err")"
	if [ -n "$why" ]; then
		fail "aio-max-nr: a new kaio process while no slot is left falls back, right" "$why" "$out" "$err"
	else
		pass "aio-max-nr: a new kaio process while no slot is left falls back, right ($(grep -o 'glibc=[0-9]*' "$err"))"
	fi
	wait "$hold_pid"
	rc=$?
	why=
	[ "$rc" = 0 ] || why="exit $rc"
	grep -q 'ctx_error=0' "$tmp/hold.err" || why="${why:+$why; }stats: $(grep '^kaio:' "$tmp/hold.err")"
	err=$tmp/hold.err served
	if [ -n "$why" ]; then
		fail "aio-max-nr: a kaio process with its context keeps working" "$why" "$tmp/hold.out" "$tmp/hold.err"
	else
		pass "aio-max-nr: a kaio process with its context keeps working"
	fi
	touch "$d/release"
	wait "$helper_pid"
	helper_pid=
	kenv=()
}
aiomax_with aio-max-nr aiomax

# --- 4-7 ----------------------------------------------------------------------
noglibc=1
check_self "fork while 4 threads submit: 20 children do AIO" 120 fork_threads "$tmp/s"
info "glibc not required: its child of a multi-threaded parent hangs in aio_* (a lock a parent thread held)"
rm -rf "${tmp:?}/s/"*
check_self "close/dup2 over fds with requests pending" 60 close_dup "$tmp/s"
run glibc 60 close_dup close_dup "$tmp/s"
info "glibc (not required): $(how); $(grep -c 'wrong\|NO' "$out") wrong lines (its queued requests use the fd number as it is later)"
rm -rf "${tmp:?}/s/"*
noglibc=
check_self "exec of self with requests pending" 60 exec "$tmp/s" self
# /bin/true prints no KAIO_STATS: io_submit before the exec shows kaio served
noserved=1
check_self "exec of /bin/true with requests pending" 60 exec "$tmp/s" true
noserved=
if command -v strace >/dev/null; then
	(timeout -k 2 60 strace -f -qq -e trace=io_submit,execve -o "$tmp/exec.strace" \
		-E LD_PRELOAD="$lib" "$bin/exec" "$tmp/s" true >"$tmp/exec.out" 2>&1 </dev/null) 2>/dev/null
	rc=$? limit=60
	if [ "$rc" = 0 ] && grep -q 'io_submit(' "$tmp/exec.strace" &&
		grep -q 'execve(.*/true' "$tmp/exec.strace"; then
		pass "exec of /bin/true: kaio submitted the requests (io_submit before execve)"
	else
		fail "exec of /bin/true: kaio submitted the requests" "$(how); io_submit $(grep -c 'io_submit(' "$tmp/exec.strace") time(s) in the trace" "$tmp/exec.out"
	fi
else
	skip "exec of /bin/true: kaio submitted the requests" "strace is not installed"
fi
rm -rf "${tmp:?}/s/"*
check_self "60 threads cancelled in aio_suspend beside 4 busy workers" 120 cancel_storm "$tmp/s"
rm -rf "${tmp:?}/s/"*

# --- 8. hostile input that crashes glibc ---------------------------------------
for call in aio_read aio_write aio_error aio_return aio_fsync aio_read64 aio_error64 aio_return64; do
	run glibc 60 null null_cb "$tmp/s" "$call"
	g=$(how)
	run kaio 60 null null_cb "$tmp/s" "$call"
	ans=$(sed -n "s/^$call: //p" "$out")
	if [ "$rc" = 0 ] && [[ $ans == "-1 EINVAL" || $ans == "-1 EFAULT" ]]; then
		pass "$call(NULL) (kaio): $ans (glibc: $g)"
	else
		fail "$call(NULL) (kaio)" "$(how), answer '${ans}', want -1 EINVAL or EFAULT (glibc: $g)" "$out" "$err"
	fi
done
# The answers, not their speed: the 120 s limit only catches a call that
# never returns (glibc is given 60 s to crash).
# want LINE: $out holds LINE, else it is added to $why
want() {
	grep -qxF "$1" "$out" || why="${why:+$why; }no line '$1'"
}
for c in suspend lio; do
	run glibc 60 nent nent_huge "$tmp/s" "$c"
	g=$(how)
	run kaio 120 nent nent_huge "$tmp/s" "$c"
	why=
	[ "$rc" = 0 ] || why=$(how)
	case $c in
	suspend)
		want 'suspend INT_MAX, first done: 0'
		want 'suspend INT_MAX, one pending, timeout 0: -1 EAGAIN'
		want 'pipe read: error 0 return 1'
		;;
	lio)
		a=$(sed -n 's/^lio INT_MAX: //p' "$out")
		case $a in
		0) [ "$(grep -c 'data ok' "$out")" = 2 ] || why="${why:+$why; }entries wrong" ;;
		"-1 EAGAIN" | "-1 EINVAL" | "-1 ENOMEM") ;;
		"") why="${why:+$why; }no answer from lio_listio" ;;
		*) why="${why:+$why; }answer '$a'" ;;
		esac
		;;
	esac
	if [ "$rc" = 77 ]; then
		skip "nent INT_MAX $c" "$(how)"
	elif [ -n "$why" ]; then
		fail "nent INT_MAX $c (kaio)" "$why (glibc: $g)" "$out" "$err"
	else
		pass "nent INT_MAX $c (kaio): $(grep -v '^measure\|^calling' "$out" | head -n 1 | cut -d: -f2-) (glibc: $g)"
	fi
done

summary fault
