#!/bin/bash
# Run every test program twice, with glibc's POSIX AIO and with kaio
# (LD_PRELOAD), and compare what they print.
#
#   tests/prog/run.sh build/libkaio.so build/prog [NAME...]
#
# A program prints its answers on stdout, one per line, and exits 0 (pass),
# 1 (a self-check failed) or 77 (skip, with a "skip: why" line). Both runs
# must exit alike and print the same lines, except "measure: KEY VALUE" lines:
# those hold values where kaio differs from glibc on purpose or that depend on
# timing; they are left out of the diff and checked by check_measure below.
# The kaio run has KAIO_STATS=1: the counts kaio prints at exit must show
# that kaio served the program as the table "served" below says (a program
# that passes because glibc served it under kaio too proves nothing).
# Then strace proves that kaio, not glibc's thread pool, served some programs.
#
# Environment: TMPDIR (scratch space), KAIO_TEST_TIMEOUT (seconds per run,
# default 120: a hang guard), VERBOSE=1 (show the measure lines and the
# KAIO_STATS of every program).

set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 LIBKAIO.so PROGDIR [NAME...]" >&2
	exit 2
fi
lib=$(realpath -e "$1") || { echo "run.sh: no library $1" >&2; exit 2; }
bindir=$2
shift 2
timeout=${KAIO_TEST_TIMEOUT:-120}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kaio-prog.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "$0")")/../lib.sh"
aiomax_share

is_int() { [[ $1 =~ ^-?[0-9]+$ ]]; }

# check_measure IMPL PROG KEY VALUE: succeed if the measured VALUE is what
# IMPL (glibc or kaio) must give; keys without a rule are only informative.
check_measure() {
	local impl=$1 prog=$2 key=$3 val=$4
	case $impl:$key in
	# Difference (1): glibc serves requests from a thread pool, one helper
	# thread per fd with a request running, created inside aio_read itself;
	# so right after submitting requests there is more than one thread.
	glibc:threads_inflight | glibc:threads)
		is_int "$val" && [ "$val" -gt 1 ] ;;
	# kaio serves them from one kernel AIO context: a program that polls
	# or waits (no SIGEV_SIGNAL/SIGEV_THREAD) never gets a thread.
	kaio:threads_inflight | kaio:threads_after | kaio:threads)
		[ "$val" = 1 ] ;;
	# Notifications that must be announced while the program is not in
	# an aio call need someone waiting on the kernel: kaio allows itself
	# one notifier thread for the whole process, so at most 2 threads.
	kaio:threads_notify)
		is_int "$val" && [ "$val" -le 2 ] ;;
	# Difference (2): a second aio_return on the same aiocb. glibc gives
	# the stored value again ("same"); kaio answers -1 EINVAL, as POSIX
	# allows for an aiocb whose status was already retrieved.
	glibc:second_return) [ "$val" = same ] ;;
	kaio:second_return) [ "$val" = "-1 EINVAL" ] ;;
	# Difference (4): submitting an aiocb that is still in flight is
	# undefined with glibc (it queues a second request on the same aiocb);
	# kaio refuses it with -1 EINVAL.
	kaio:inflight_submit) [ "$val" = "-1 EINVAL" ] ;;
	# --- Any fd, misuse (tests/prog/fd_*.c, misuse_*.c, fallback_*.c) ---
	# A request on a fd that may block (empty pipe or socket, tty, eventfd,
	# timerfd, signalfd, inotify, a full pipe) returns at once under both:
	# glibc hands it to a thread, kaio must never block the caller. No
	# rule on how long the call took (*submit_ms: informative): the
	# programs give the data only after the call returned, and print that
	# it is still in progress then, so a caller that blocked for the data
	# hangs or is cut loose by an alarm with a wrong answer.
	# misuse_inflight: LIO_WAIT of a list holding an aiocb in flight on an
	# empty pipe returns (-1 EINVAL) before the program's SIGALRM handler
	# has written to the pipe.
	kaio:inflight_lio_wait_fed) [ "$val" = no ] ;;
	# SIGEV_NONE programs on pipes, sockets and ttys: at most kaio's one
	# thread, which runs while a request waits for its fd (the program may
	# be waiting outside kaio for that very I/O: a write a peer must get
	# before it answers). Files alone never start it (threads, zeroed,
	# sig_none_threads: rules == 1). glibc: informative.
	kaio:threads_none) is_int "$val" && [ "$val" -le 2 ] ;;
	# A read waiting for data (in a kernel poll under kaio) is cancelled
	# for real by kaio (glibc's helper is blocked in read(2): it answers
	# AIO_NOTCANCELED once the helper runs; informative). Also in
	# aio_cancel(fd, NULL) over a pipe's requests (misuse_cancel,
	# misuse_cancel_sig); requests queued behind it: CANCELED under both.
	kaio:cancel_polling | kaio:cancel_null_mix) [ "$val" = AIO_CANCELED ] ;;
	# ... also while another thread (kaio's) reaps the read's first event:
	# aio_cancel waits for it to be handed over (cancel_reaped_elsewhere).
	kaio:cancel_reaped_elsewhere_notcanceled) [ "$val" = 0 ] ;;
	# A regular-file read in the kernel cannot be taken back by kaio
	# (glibc may still have it queued for its thread: any answer).
	kaio:cancel_in_kernel) [ "$val" = AIO_NOTCANCELED ] || [ "$val" = AIO_ALLDONE ] ;;
	# The in-flight aiocb that kaio refused to resubmit still completes
	# with what its own request read (misuse_inflight).
	kaio:inflight_first) [ "$val" = "error 0 return 1 byte a" ] ;;
	# aio_return / aio_error on an aiocb no request ever used: glibc reads
	# the zeroed fields (0); kaio -1 EINVAL. aio_return of a request still
	# in progress: kaio -1 EINVAL (misuse_return).
	kaio:unknown_return | kaio:unknown_error | kaio:inprogress_return | kaio:garbage_return | kaio:garbage_error)
		[ "$val" = "-1 EINVAL" ] ;;
	glibc:unknown_return | glibc:unknown_error) [ "$val" = 0 ] ;;
	# A child of fork waiting (with a timeout) on its parent's in-flight
	# aiocb gets the timeout, under both, and does not hang (misuse_fork;
	# its alarm kills a child that hangs; child_suspend_ms: informative).
	*:child_suspend) [ "$val" = "-1 EAGAIN" ] ;;
	# zero_short stops early on a slow machine, never below 30 rounds.
	*:rounds) is_int "$val" && [ "$val" -ge 30 ] ;;
	# ... and kaio serves the child's own requests, on that aiocb too
	# (glibc's child inherits its bookkeeping without the threads).
	kaio:child_reuse) [ "$val" = "error 0 return 1 byte c" ] ;;
	kaio:child_roundtrip) [ "$val" = ok ] ;;
	# Children forked while other threads are inside aio calls (maybe in
	# io_submit) all do their own AIO and exit 0 under kaio (mt_fork).
	kaio:mt_fork_children) [ "$val" = all ] ;;
	# A read pending on a pipe whose fds are then closed ends (no hang);
	# what it ends with is informative (misuse_close).
	*:close_read_result) [ "$val" != "still in progress" ] ;;
	# glibc 2.36's lio_listio@GLIBC_2.2.5 (old binaries) returns from
	# LIO_WAIT before the requests are done (a glibc bug, measured); kaio
	# serves both versions with one lio_listio, which must wait.
	kaio:oldlio_wait_done) [ "$val" = 4 ] ;;
	# hostile_nbytes: aio_nbytes = SSIZE_MAX into a 16 KiB heap buffer. glibc's
	# pread checks the whole range first (EFAULT); the kernel's AIO path clips
	# the count to MAX_RW_COUNT before checking and reads what is there.
	glibc:nbytes_ssize_max_*) [ "$val" = "error EFAULT return -1 data -" ] ;;
	kaio:nbytes_ssize_max_*) [ "$val" = "error EFAULT return -1 data -" ] ||
		[[ $val =~ ^"error 0 return "[0-9]+" data ok"$ ]] ;;
	# --- Notifications (tests/prog/sig_*.c) ---
	# SIGEV_THREAD: glibc starts a thread per callback; kaio runs every
	# callback itself, one at a time, on its single notifier thread. With
	# 16 callbacks blocked at once glibc has up to 16+ threads (informative:
	# how many it has started 300 ms in depends on the load), kaio 2
	# (sig_thread).
	kaio:threads_cb_pending) is_int "$val" && [ "$val" -le 2 ] ;;
	# ... so only one kaio callback is ever inside its function, and all
	# callbacks of one busy stretch run on the same thread.
	kaio:callbacks_concurrent | kaio:callback_tids) [ "$val" = 1 ] ;;
	# SIGEV_THREAD_ID: kaio deliberately differs. glibc ignores the mode
	# (no signal at all); kaio sends the signal to that thread, for the 16
	# requests and for the list sigevent (sig_thread_id).
	kaio:threadid_on_target | kaio:threadid_once) [ "$val" = 16 ] ;;
	glibc:threadid_on_target | glibc:threadid_once) [ "$val" = 0 ] ;;
	kaio:threadid_list_on_target) [ "$val" = 1 ] ;;
	glibc:threadid_list_on_target) [ "$val" = 0 ] ;;
	# After an interrupted LIO_WAIT the requests still complete, right, and
	# the process exits 0. Only for kaio: glibc 2.36 leaves the list's
	# on-stack waitlist linked to the requests and crashes or hangs when
	# they complete (sig_lio).
	kaio:eintr_pipe_after | kaio:eintr_direct_after) [ "$val" = ok ] ;;
	# sig_restart: an untimed aio_suspend or LIO_WAIT interrupted by a
	# SA_RESTART handler restarts under both (kaio sleeps in read(2) on its
	# eventfd, or on a futex; io_getevents alone would not restart).
	glibc:restart_suspend | glibc:restart_lio | glibc:restart_notify) [ "$val" = 0 ] ;;
	kaio:restart_suspend | kaio:restart_lio | kaio:restart_notify) [ "$val" = 0 ] ;;
	kaio:eintr_pipe_child | kaio:eintr_direct_child) [ "$val" = exit0 ] ;;
	# A program that never asks for a notification gets no thread from
	# kaio, at any point (sig_none_threads); glibc had its helpers.
	kaio:none_threads_*) [ "$val" = 1 ] ;;
	glibc:none_threads_max) is_int "$val" && [ "$val" -gt 1 ] ;;
	# aio_error/aio_return from a handler that lands anywhere, inside aio
	# calls too: kaio finishes with everything right. Only for kaio: glibc
	# 2.36's aio_error takes __aio_requests_mutex and deadlocks there
	# (sig_safety).
	kaio:safety_anywhere_child) [ "$val" = exit0 ] ;;
	kaio:safety_anywhere_right) [ "$val" = all ] ;;
	kaio:safety_anywhere_bad_error) [ "$val" = 0 ] ;;
	# A child reusing the parent's fd after fork: kaio serves it; glibc's
	# child inherits the parent's AIO bookkeeping (requests running on
	# that fd, helper threads) but none of the threads, and never serves
	# the read (sig_fork_exit).
	kaio:fork_child_same_fd) [ "$val" = ok ] ;;
	# The notifier exits once nothing was owed for about 1 s: back to one
	# thread once idle, but still there 0.4 s after a delivery that came
	# 0.8 s into an idle stretch (the linger restarts; sig_fork_exit takes
	# that sample again while its own schedule slipped: "unmeasured" when
	# it never kept to it, as on a machine too loaded to tell).
	kaio:threads_idle) [ "$val" = 1 ] ;;
	kaio:threads_linger) [ "$val" = 2 ] || [ "$val" = unmeasured ] ;;
	# Difference (3): what aio_cancel catches on a regular file depends on
	# the implementation (glibc cancels requests still queued behind the
	# fd's running one; kaio cannot take back a request in the kernel).
	# The programs check the invariants; the counts are informative.
	*) true ;;
	esac
}

# What the "kaio: kernel=N poll=N ..." lines of a kaio run must add up to.
# With KAIO_STATS=1 each process that used kaio and ends with exit(3)
# prints one at exit (a child of fork starts from its parent's counts).
# Terms: KEY=N, KEY>N, KEY<N on the sum of KEY over the lines (ctx_error:
# the value on every line), KEY=any for no rule; lines=N: how many
# processes printed one. A program's terms are added to those of "*",
# replacing the ones on the same KEY. The keys:
#   served         kernel + inline + uring: requests kaio served itself
#   kernel         requests (and polls) io_submit took
#   inline         requests done in the caller by the hit path (src/inline.c)
#   poll           waits for a stream fd in a kernel poll
#   glibc          requests kaio handed to glibc
#   sync_mode      served in the caller for want of a kernel context
#   sync_fallback  served in the caller as the kernel refused them
#   notifier       kaio's notifier thread was started
served='
*                  lines=1 served>0 glibc=0 sync_mode=0 sync_fallback=0 ctx_error=0
# a read waits on an empty pipe, socket, tty or eventfd by construction
cancel             poll>0
cancel_reaped_elsewhere poll>0
fallback_aiomax    poll>0
fd_pipe_self       poll>0
fd_reuse           poll>0
fd_reuse_order     poll>0
fd_socket          poll>0
inflight           poll>0
misuse_cancel      poll>0 cancelled>0
misuse_cancel_sig  poll>0 cancelled>0
misuse_close       poll>0
misuse_inflight    poll>0
misuse_return      poll>0
sig_cancel_thread  poll>0
sig_restart        poll>0
suspend            poll>0
suspend_eintr      poll>0
# ... and these also read files the kernel refuses: served in the caller
fd_char            poll>0 sync_fallback=any
special_files      poll>0 sync_fallback=any
hostile_nbytes     sync_fallback=any
zero_short         sync_fallback=any
# a tty refuses RWF_NOWAIT: every request polls first
fd_tty             poll>0 pollfirst>0
# its 6 fsyncs of a file in the kernel, the 3 of pipes, /dev/null in the caller
fsync_basic        kernel=6 sync_fallback=3
# notifications: the notifier thread sends them
notify             notifier>0
sig_signal         notifier>0
sig_thread         notifier>0
sig_thread_id      notifier>0
sig_lio            notifier>0
# children that use AIO and exit(3): each prints its line; one child of
# fork makes no request, so its line says so and is not counted
fork               lines=2
# it runs itself twice, with KAIO_QUEUE_DEPTH=2 and 4; the parent makes none
mt_queue           lines=2
misuse_fork        lines=2 poll>0
fd_sigpipe         lines=6
sig_fork_exit      lines=3 notifier>0
# io_setup fails ENOSYS (seccomp): all 14 requests handed to glibc
fallback_seccomp   served=0 kernel=0 glibc=14 ctx_error=ENOSYS
'

# served_check NAME STDERR: explains on stdout how the stats lines in STDERR
# break NAME's terms in $served; prints nothing if they hold.
served_check() {
	local name=$1 err=$2 terms t key op want got n line kv v
	terms=$(awk -v n="$name" '$1 == "*" { d = $0; sub(/^\*[ \t]*/, "", d) }
		$1 == n { $1 = ""; p = p $0 } END { print d, p }' <<<"$served")
	declare -A sum=() rule=()
	n=0
	while read -r line; do
		n=$((n + 1))
		for kv in ${line#kaio: }; do
			key=${kv%%=*}
			v=${kv#*=}
			if [ "$key" = ctx_error ]; then
				[ -z "${sum[ctx_error]+set}" ] || [ "${sum[ctx_error]}" = "$v" ] || v=mixed
				sum[ctx_error]=$v
			elif is_int "$v"; then
				sum[$key]=$((${sum[$key]:-0} + v))
			fi
		done
	done < <(grep -a '^kaio: kernel=' "$err")
	sum[lines]=$n
	sum[served]=$((${sum[kernel]:-0} + ${sum[inline]:-0} + ${sum[uring]:-0}))
	if [ "$n" = 0 ]; then
		echo "no KAIO_STATS line on stderr: kaio did not serve it"
		return
	fi
	for t in $terms; do
		key=${t%%[=<>]*}
		rule[$key]=$t
	done
	for t in "${rule[@]}"; do
		key=${t%%[=<>]*} op=${t:${#key}:1} want=${t:${#key}+1}
		got=${sum[$key]-}
		case $op in
		=) [ "$want" = any ] || [ "$got" = "$want" ] ;;
		'>') is_int "$got" && [ "$got" -gt "$want" ] ;;
		'<') is_int "$got" && [ "$got" -lt "$want" ] ;;
		esac || echo "$key=${got:-none}, want $t"
	done
}

# run IMPL NAME: run one program; leaves $out, $err, $rc.
run() {
	local impl=$1 name=$2 dir=$tmp/$2.$1
	out=$tmp/$name.$impl.out err=$tmp/$name.$impl.err
	mkdir -p "$dir"
	if [ "$impl" = kaio ]; then
		timeout -k 5 "$timeout" env LD_PRELOAD="$lib" KAIO_STATS=1 \
			"$bindir/$name" "$dir" >"$out" 2>"$err" </dev/null
	else
		timeout -k 5 "$timeout" env -u LD_PRELOAD \
			"$bindir/$name" "$dir" >"$out" 2>"$err" </dev/null
	fi
	rc=$?
	rm -rf "$dir"
}

# verdict NAME IMPL: why a run did not pass, or nothing if it did.
why() {
	case $rc in
	0) ;;
	77) echo "skipped: $(grep -m1 '^skip: ' "$out" | cut -c7-)" ;;
	124 | 137) echo "hang guard: still running after ${timeout}s, killed" ;;
	1) echo "self-check failed (exit 1)" ;;
	*) echo "exit status $rc" ;;
	esac
}

show() { # FILE...: the tail of each run's stdout and stderr, for a FAIL
	local f
	for f; do
		[ -s "$f" ] || continue
		echo "--- ${f##*/}"
		tail -n 30 "$f"
	done
}

test_prog() {
	local name=$1 g_rc g_out g_err k_rc k_out k_err g_why k_why
	run glibc "$name"
	g_rc=$rc g_out=$out g_err=$err g_why=$(why)
	run kaio "$name"
	k_rc=$rc k_out=$out k_err=$err k_why=$(why)
	local report=$tmp/report
	: >"$report"

	if [ "$g_rc" = 77 ] && [ "$k_rc" = 77 ]; then
		skip "$name" "$(grep -m1 '^skip: ' "$g_out" | cut -c7-)"
		return
	fi
	if [ "$g_rc" != 0 ] || [ "$k_rc" != 0 ]; then
		show "$g_out" "$g_err" "$k_out" "$k_err" >"$report"
		fail "$name" "glibc: ${g_why:-passed}; kaio: ${k_why:-passed}" "$report"
		return
	fi

	grep -v '^measure: ' "$g_out" >"$g_out.cmp"
	grep -v '^measure: ' "$k_out" >"$k_out.cmp"
	if ! diff -u --label "glibc" --label "kaio" "$g_out.cmp" "$k_out.cmp" \
		>"$report"; then
		[ -s "$k_err" ] && { echo "--- kaio stderr"; tail -n 20 "$k_err"; } >>"$report"
		fail "$name" "output differs from glibc" "$report"
		return
	fi

	local impl f key val bad=
	for impl in glibc kaio; do
		f=$tmp/$name.$impl.out
		while read -r _ key val; do
			if ! check_measure "$impl" "$name" "$key" "$val"; then
				echo "$impl: measure $key = '$val' breaks the rule" >>"$report"
				bad=1
			fi
		done < <(grep '^measure: ' "$f")
	done
	if [ -n "$bad" ]; then
		fail "$name" "measure rule broken" "$report"
		return
	fi
	served_check "$name" "$k_err" >"$report"
	if [ -s "$report" ]; then
		grep -a '^kaio: kernel=' "$k_err" >>"$report"
		fail "$name" "kaio's KAIO_STATS do not show it served the program: $(head -n 1 "$report")" "$report"
		return
	fi
	pass "$name"
	if [ "${VERBOSE:-}" = 1 ]; then
		sed -n 's/^measure: /    glibc: /p' "$g_out"
		sed -n 's/^measure: /    kaio:  /p' "$k_out"
		sed -n 's/^kaio: kernel=/    stats: kernel=/p' "$k_err"
	fi
}

# Programs whose system calls prove who served them: under kaio io_submit and
# no clone/clone3 (no helper thread), under glibc clone (its thread pool).
# None of them forks, starts threads or asks for a notification.
PROOF="rw_basic lfs64 oldver many"

prove() {
	local name=$1 impl t dir
	if ! command -v strace >/dev/null; then
		skip "strace:$name" "strace is not installed"
		return
	fi
	for impl in kaio glibc; do
		t=$tmp/$name.$impl.strace dir=$tmp/$name.$impl.st
		mkdir -p "$dir"
		if [ $impl = kaio ]; then
			timeout -k 5 "$timeout" strace -f -qq \
				-e trace=io_submit,clone,clone3 -o "$t" \
				-E LD_PRELOAD="$lib" "$bindir/$name" "$dir" \
				>/dev/null 2>"$t.err" </dev/null
		else
			timeout -k 5 "$timeout" strace -f -qq \
				-e trace=io_submit,clone,clone3 -o "$t" \
				-E LD_PRELOAD= "$bindir/$name" "$dir" \
				>/dev/null 2>"$t.err" </dev/null
		fi
		rc=$?
		rm -rf "$dir"
		if [ $rc = 77 ]; then
			skip "strace:$name" "the program skipped"
			return
		fi
		if [ $rc != 0 ]; then
			fail "strace:$name" "$impl run under strace: exit $rc" "$t.err"
			return
		fi
		if [ $impl = kaio ]; then
			if ! grep -q 'io_submit(' "$t"; then
				fail "strace:$name" "kaio: no io_submit, kaio did not serve it" "$t"
				return
			fi
			if grep -qE '(^|[^_a-z0-9])clone3?\(' "$t"; then
				fail "strace:$name" "kaio: a thread was started" "$t"
				return
			fi
		else
			if ! grep -qE '(^|[^_a-z0-9])clone3?\(' "$t"; then
				fail "strace:$name" "glibc: no clone, the trace proves nothing" "$t"
				return
			fi
		fi
	done
	pass "strace:$name"
}

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in "$bindir"/*; do
		[ -f "$f" ] && [ -x "$f" ] && names+=("${f##*/}")
	done
fi

for name in "${names[@]}"; do
	if [ ! -x "$bindir/$name" ]; then
		fail "$name" "no program $bindir/$name"
		continue
	fi
	test_prog "$name"
done
for name in $PROOF; do
	if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then
		continue
	fi
	if [ ! -x "$bindir/$name" ]; then
		fail "strace:$name" "no program $bindir/$name"
		continue
	fi
	prove "$name"
done

summary
