#!/usr/bin/env bash
# Runs the integration programs (tests/prog) under kaio (LD_PRELOAD) inside
# valgrind's memcheck: any memory error, in the process or in a child it
# forks, or any definite leak is a failure.
#
#   tests/valgrind.sh LIBKAIO.so PROGDIR [NAME...]
#
# Without NAMEs a default set runs (about 35 s on 2 cores) that still
# goes through every file of src/: files, O_DIRECT, pipes and sockets (kernel
# polls, kaio's thread), the notifier (SIGEV_SIGNAL, SIGEV_THREAD, list
# sigevents), cancel, suspend, lio_listio, fsync barriers, fork, misuse. The
# timing-heavy programs (sig_safety, threads, ...) are too slow under valgrind
# for that budget: VALGRIND_ALL=1 runs every program (make soak / lint).
# A program exits 0 (pass), 1 (a self-check failed) or 77 (skip); memcheck's
# own verdict comes from its logs (one per process, children included). The
# runs have KAIO_STATS=1: a run kaio did not serve (no stats line, or
# requests handed to glibc) checked nothing of kaio and fails.
#
# Environment: VALGRIND_ALL=1, KAIO_VG_TIMEOUT (seconds per program, default
# 300: a hang guard), KAIO_VG_JOBS (programs at once, default one per CPU),
# TMPDIR (scratch), VERBOSE=1 (show each program's time).
#
# What memcheck cannot see by itself: kaio reaps completions from the AIO ring
# the kernel maps into the process, in user space, never through
# io_getevents. Valgrind 3.19 learns of a completed read only in its
# io_getevents wrapper (that is where it marks the read's buffer written), and
# its io_setup wrapper registers a ring sized for the events asked for, not
# for the (larger) ring the kernel really maps. Without help every byte read
# through kaio stays "uninitialised" in the program and reaping a slot past
# valgrind's idea of the ring is an "invalid read". A tiny shim, preloaded
# before kaio, tells memcheck what the kernel does (client requests):
#   io_setup:  the whole ring, header + nr events as the kernel set nr, is
#              mapped and initialised (the kernel writes it, memcheck can't see);
#   io_submit: the buffers of the reads the kernel accepted are written
#              (only where they are addressable, so a read into a buffer that
#              is too small is still reported, by valgrind's own io_submit
#              check). Bytes past a short read count as written too: that
#              blind spot is the price of not patching kaio for valgrind.
# The test programs' own leaks by design are in tests/valgrind.supp.
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 LIBKAIO.so PROGDIR [NAME...]" >&2
	exit 2
fi
lib=$(realpath -e "$1") || { echo "valgrind.sh: no library $1" >&2; exit 2; }
bindir=$2
shift 2
here=$(dirname "$(realpath "$0")")
supp=$here/valgrind.supp
timeout=${KAIO_VG_TIMEOUT:-300}

if ! command -v valgrind >/dev/null; then
	echo "SKIP valgrind: valgrind is not installed"
	echo "valgrind: 0 passed, 0 failed, 1 skipped"
	exit 0
fi

# The default set: each entry exercises a part of src/ the others do not.
# engine.c/table.c/ring.c: every one; submit.c: rw_*, many_direct (ring
# full, queue), errors, special_files (kernel refusals, sync fallback),
# fd_reuse (probing reads), resubmit/zeroed; stream.c: fd_pipe_self,
# fd_socket, misuse_close; cancel.c: cancel, cancel_many, misuse_cancel;
# wait.c: suspend, suspend_eintr, lio_*; notify.c: notify, sig_signal,
# sig_thread, lio_nowait; env.c and the io_setup fallbacks: fallback_aiomax;
# barriers: fsync_order, append; fork: misuse_fork; preload/: oldver, lfs64.
DEFAULT="rw_basic rw_direct many_direct lfs64 oldver errors zeroed resubmit
	suspend suspend_eintr lio_basic lio_eio lio_nowait fsync_order append
	cancel cancel_many misuse_cancel fd_pipe_self fd_socket fd_reuse
	special_files misuse_return misuse_inflight misuse_close misuse_fork
	notify sig_signal sig_thread fallback_aiomax"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kaio-vg.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

npass=0 nfail=0 nskip=0

cat >"$tmp/vgshim.c" <<'EOF_SHIM'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/uio.h>
#include <libaio.h>
#include <valgrind/memcheck.h>

struct ring_head { unsigned id, nr, head, tail, magic, compat, incompat, hlen; };

int io_setup(int n, io_context_t *ctx)
{
	static int (*real)(int, io_context_t *);
	int r;

	if (!real)
		real = (int (*)(int, io_context_t *))dlsym(RTLD_NEXT, "io_setup");
	r = real(n, ctx);
	if (r == 0 && *ctx) {
		struct ring_head *h = (struct ring_head *)*ctx;

		VALGRIND_MAKE_MEM_DEFINED(h, sizeof *h);
		if (h->magic == 0xa10a10a1u)
			VALGRIND_MAKE_MEM_DEFINED(h, sizeof *h + (size_t)h->nr * sizeof(struct io_event));
	}
	return r;
}

int io_submit(io_context_t ctx, long n, struct iocb **iocbs)
{
	static int (*real)(io_context_t, long, struct iocb **);
	int r;

	if (!real)
		real = (int (*)(io_context_t, long, struct iocb **))dlsym(RTLD_NEXT, "io_submit");
	r = real(ctx, n, iocbs);
	for (int i = 0; i < r; i++) {
		struct iocb *io = iocbs[i];

		if (io->aio_lio_opcode == IO_CMD_PREAD) {
			VALGRIND_MAKE_MEM_DEFINED_IF_ADDRESSABLE(io->u.c.buf, io->u.c.nbytes);
		} else if (io->aio_lio_opcode == IO_CMD_PREADV) {
			const struct iovec *v = io->u.v.vec;

			for (int k = 0; k < io->u.v.nr; k++)
				VALGRIND_MAKE_MEM_DEFINED_IF_ADDRESSABLE(v[k].iov_base, v[k].iov_len);
		}
	}
	return r;
}
EOF_SHIM
if ! cc -O2 -g -shared -fPIC -o "$tmp/vgshim.so" "$tmp/vgshim.c" 2>"$tmp/vgshim.err"; then
	echo "FAIL valgrind shim: cannot build it (valgrind/memcheck.h, libaio-dev?)"
	sed 's/^/    /' "$tmp/vgshim.err"
	echo "valgrind: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

# Programs that cannot run under valgrind at all, with the reason.
unsupported() {
	case $1 in
	fallback_seccomp) echo "valgrind does not implement seccomp(2) (the program installs a filter)" ;;
	# It hands the kernel buffers smaller than aio_nbytes on purpose (the
	# answers are compared with glibc's): memcheck rightly reports each.
	hostile_nbytes) echo "passes buffers shorter than aio_nbytes on purpose" ;;
	*) return 1 ;;
	esac
}

if [ $# -gt 0 ]; then
	names=("$@")
elif [ "${VALGRIND_ALL:-}" = 1 ]; then
	names=()
	for f in "$bindir"/*; do
		[ -f "$f" ] && [ -x "$f" ] && names+=("${f##*/}")
	done
else
	read -r -a names <<<"$(echo $DEFAULT)"
fi

# Valgrind: every error makes the process exit 99 and is counted in its log;
# leaks: only "definitely lost" are errors (and shown), as the brief of a
# preload library is not to lose memory; "possibly"/"still reachable" blocks
# are kaio's per-process pools and caches, alive until exit by design.
vg=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
	--errors-for-leak-kinds=definite --show-leak-kinds=definite
	--num-callers=30 --suppressions="$supp")

# vg_one NAME: runs one program; its report goes to $tmp/NAME.report, the
# first word of which is PASS, FAIL or SKIP.
vg_one() {
	local name=$1 dir=$tmp/$1.d log=$tmp/$1.vg out=$tmp/$1.out rc start ms errs n l why
	exec >"$tmp/$name.report"
	if why=$(unsupported "$name"); then
		echo "SKIP $name: $why"
		return
	fi
	if [ ! -x "$bindir/$name" ]; then
		echo "FAIL $name: no program $bindir/$name"
		return
	fi
	mkdir -p "$dir"
	start=$(date +%s%N)
	# mt_queue runs itself again once per depth: memcheck follows it.
	local more=()
	[ "$name" = mt_queue ] && more=(--trace-children=yes)
	timeout -k 5 "$timeout" env LD_PRELOAD="$tmp/vgshim.so $lib" KAIO_STATS=1 \
		"${vg[@]}" "${more[@]}" --log-file="$log.%p" "$bindir/$name" "$dir" \
		>"$out" 2>&1 </dev/null
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	rm -rf "$dir"
	# Errors in any process (a forked child's exit status may be ignored).
	errs=0
	for l in "$log".*; do
		[ -f "$l" ] || continue
		n=$(sed -nE 's/.*ERROR SUMMARY: ([0-9]+) errors.*/\1/p' "$l" | tail -n 1)
		errs=$((errs + ${n:-0}))
	done
	why=
	if [ "$errs" -gt 0 ] || [ "$rc" = 99 ]; then
		why="memcheck found $errs error(s)"
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		why="timed out after ${timeout}s under valgrind"
	elif [ "$rc" = 77 ]; then
		echo "SKIP $name: $(grep -m1 '^skip: ' "$out" | cut -c7-)"
		return
	elif [ "$rc" != 0 ]; then
		why="the program failed under valgrind (exit $rc)"
	elif ! grep -aqE '^kaio: kernel=([1-9][0-9]* inline=[0-9]+|[0-9]+ inline=[1-9])' "$out"; then
		why="no KAIO_STATS line with kernel+inline>0: kaio did not serve it"
	elif grep -a '^kaio: kernel=' "$out" | grep -vq ' glibc=0 '; then
		why="KAIO_STATS: requests handed to glibc"
	fi
	if [ -z "$why" ]; then
		echo "PASS $name${VERBOSE:+ (${ms} ms)}"
		return
	fi
	echo "FAIL $name: $why (${ms} ms)"
	for l in "$log".*; do
		[ -f "$l" ] || continue
		# The report without valgrind's banner and its warnings about the
		# poll opcode (IOCB_CMD_POLL, unknown to valgrind 3.19: harmless).
		grep -vE '^==[0-9]+== (Memcheck|Copyright|Using Valgrind|Command|Parent PID|$)|Warning: unhandled io_(submit|getevents) opcode' "$l" |
			head -n 60 | sed 's/^/    /'
	done
	grep -v '^measure: ' "$out" | tail -n 15 | sed 's/^/    | /'
}

# KAIO_VG_JOBS programs at a time (default: one per CPU, at most 4):
# memcheck runs a process on one core at a time.
jobs=${KAIO_VG_JOBS:-$(nproc)}
((jobs > 4)) && jobs=4
running=0
for name in "${names[@]}"; do
	if ((running >= jobs)); then
		wait -n
		running=$((running - 1))
	fi
	vg_one "$name" &
	running=$((running + 1))
done
wait
for name in "${names[@]}"; do
	cat "$tmp/$name.report"
	case $(head -c 4 "$tmp/$name.report") in
	PASS) npass=$((npass + 1)) ;;
	SKIP) nskip=$((nskip + 1)) ;;
	*) nfail=$((nfail + 1)) ;;
	esac
done

echo "valgrind: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" = 0 ]
