#!/usr/bin/env bash
# Usage: scripts/bench/README-table.sh BENCH_DIR [IMAGE_LINK]
# Prints, from BENCH_DIR/medians.csv and BENCH_DIR/machine.txt (both written by
# scripts/bench.sh), a markdown block ready to paste into the README: the
# machine line, kaio's ratios per workload, the cold buffered rows, the
# thread-scaling rows, the cached rows against psync, the O_SYNC/O_DSYNC rows,
# the POSIX AIO programs (stress-ng, roundtrip), the targets of issues 10 and
# 11, every row where kaio is below glibc, kaio ÷ kaio-base (A/B runs), the
# full table of medians and the image link (default docs/bench.png, where
# `bench.sh --publish` copies it).
set -euo pipefail

if (($# < 1 || $# > 2)); then
	echo "usage: $0 BENCH_DIR [IMAGE_LINK]" >&2
	exit 2
fi
dir=$1
img=${2:-docs/bench.png}
here=$(dirname "$0")
for f in "$dir/medians.csv" "$dir/machine.txt"; do
	[[ -r $f ]] || { echo "README-table: $f is missing: run scripts/bench.sh first" >&2; exit 1; }
done
table() { awk -F, -v which="$1" -f "$here/table.awk" "$dir/medians.csv"; }

cat "$dir/machine.txt"
echo
echo "kaio against glibc's posixaio and fio's libaio and io_uring engines (ratios of medians; CPU/IO below 1 is better):"
echo
table kaio
if grep -q -- '-cold-' "$dir/medians.csv"; then
	echo
	echo "Cold buffered rows (cache dropped before each run), IOPS; tasks: the most tasks of the fio process seen in one run; disk reads per read about 1: every read missed the cache:"
	echo
	table cold
fi
if grep -qE '^read-(direct|cached)-qd32-[0-9]+j,' "$dir/medians.csv"; then
	echo
	echo "Thread scaling (--numjobs job threads, QD 32 each; 1 thread: the qd32 rows), IOPS:"
	echo
	table scaling
fi
if grep -qE '^(read-cached|write-buffered)-' "$dir/medians.csv"; then
	echo
	echo "Cached I/O (page cache; psync, one pread/pwrite per I/O in the caller, is the limit), IOPS; syscalls per I/O from one run under strace -f -c (– without the syscall pass):"
	echo
	table cached
fi
if grep -qE '^write-o(d)?sync-' "$dir/medians.csv"; then
	echo
	echo "O_SYNC and O_DSYNC buffered writes; slat: fio's submission latency (the time inside aio_write for posixaio, around io_submit for libaio; none for psync):"
	echo
	table sync
fi
if grep -qE '^(stress-ng|roundtrip)-' "$dir/medians.csv"; then
	echo
	echo "POSIX AIO programs under glibc and kaio: stress-ng --aio N --aio-requests R --verify (bogo ops/s) and build/roundtrip (one aio_read at a time, its SIGEV_SIGNAL or SIGEV_THREAD notification awaited; round trips/s):"
	echo
	table programs
fi
echo
echo "Targets of issues 10 and 11 (ratios of medians of this one interleaved run):"
echo
table targets
echo
echo "Targets: every row where kaio's median IOPS is below glibc's:"
echo
table below
if grep -q ',kaio-base,' "$dir/medians.csv"; then
	echo
	echo "A/B: kaio ÷ kaio-base (same repetitions, interleaved; SLOWER: median ratio < 0.95 and kaio below kaio-base in every one of 3 or more repetitions):"
	echo
	table ab
fi
echo
echo "Medians, every engine:"
echo
table full
echo
cat <<'EOF'
4 KiB blocks, fio jobs run as threads (`--thread`), so every thread doing the
I/O, glibc's helpers and io_uring's workers included, is in the one measured
process. `kaio` runs with kaio's default `KAIO_URING`, `kaio-nouring` with
`KAIO_URING=0`. CPU/IO is that process's user+sys time (`build/runstat`, from
`wait4`) per I/O, minus the CPU of a one-I/O fio run of the same engine (fio's
start-up and exit). Latency is total latency, submission to completion
(`--lat_percentiles=1`). threads, RSS and VSZ are peaks of the whole process
(threads: the median over the repetitions, tasks: the maximum). `direct` rows
use O_DIRECT on a 1 GiB file; `cached` rows read a 256 MiB file held in the
page cache (read fully just before each run); `4fd` spreads the queue over 4
files (round robin): glibc runs one request per fd at a time, so there it has
at most 4 in flight instead of 1. `-2j`, `-4j`: 2 or 4 job threads, each at
the row's QD. `cold` rows read buffered with the cache dropped first
(`--invalidate=1`): a 4 GiB file (`-4j`: each job in its own GiB) or 4 files
of 1 GiB (`4fd`); fio's random map reads each block at most once.
`randrw-cold-qd64-4j-verify`: 4 jobs, each writes and reads its own file at
random (crc32c in every block, cache dropped first), then reads every block it
wrote back and checks it; IOPS are read / write, the reads including the
read-back. psync is synchronous: fio caps its queue depth at 1.
`-8j`, `-16j`: cached reads with 8 and 16 job threads. `write-buffered` rows
write at random into a 256 MiB file held in the page cache (no O_DIRECT,
`--invalidate=0`), synced after each run; `write-osync` / `write-odsync` open it
O_SYNC (`--sync=1`) / O_DSYNC (`--sync=dsync`). slat is fio's submission
latency (`--slat_percentiles=1`, from its JSON output). Syscalls per I/O: the
syscalls of all kinds of one run per row and engine under `strace -f -c`, less
those of a one-I/O fio run (fio's start-up), divided by its I/Os (stress-ng:
bogo ops, roundtrip: round trips). `stress-ng-aio-nN-rR`: `stress-ng --aio N
--aio-requests R --verify --metrics-brief`, N processes of R requests each
with SIGEV_SIGNAL notifications, bogo ops/s; kaio runs it through
`build/kaio`. `roundtrip-{signal,thread}-{cached,direct}`: `build/roundtrip`
(scripts/bench/roundtrip.c, plain POSIX AIO) issues one 4 KiB `aio_read` at a
time and waits for its notification (`sigsuspend` with the signal blocked
otherwise, or a semaphore posted by the SIGEV_THREAD function), then
`aio_return`; cached file or O_DIRECT. `kaio-base`: the library built from
`KAIO_BENCH_BASE`, run the same way as `kaio`.
EOF
echo
echo "![fio 4 KiB: median IOPS and CPU per I/O per engine]($img)"
