#!/usr/bin/env bash
# Usage: scripts/bench.sh BUILD_DIR [quick|full] [--publish]
#   (make bench: scripts/bench.sh build quick; make bench-full: ... full)
#
# fio 4 KiB random I/O with six engines: fio's posixaio engine under glibc,
# under kaio (BUILD_DIR/kaio, KAIO_URING unset: kaio's default) and under kaio
# with KAIO_URING=0 (kaio-nouring), fio's libaio and io_uring engines, and psync
# (synchronous pread/pwrite: the limit for cached I/O). With KAIO_BENCH_BASE a
# seventh, kaio-base (see A/B below). The POSIX AIO programs (stress-ng and
# roundtrip rows) run under glibc, kaio and kaio-base only.
# Workloads:
#   read-direct-qd1/8/32/128, write-direct-qd1/32   O_DIRECT, one 1 GiB file
#   read-cached-qd1/32     buffered, a 256 MiB file held in the page cache
#   read-direct-qd32-4fd   O_DIRECT, QD 32 spread over 4 files (glibc runs one
#                          request per fd at a time: 4 in flight instead of 1)
#   read-{direct,cached}-qd32-{2,4}j   thread scaling: the qd32 rows with 2 and
#                          4 job threads (--numjobs, QD 32 each); the qd32
#                          rows are the 1-thread points
#   read-cached-qd32-{8,16}j   cached reads with 8 and 16 job threads, QD 32 each
#   write-buffered-qd{1,32}[-2j]   buffered random writes (no O_DIRECT,
#                          --invalidate=0) into a 256 MiB file held in the page
#                          cache, 1 or 2 job threads; the file is synced after
#                          each run, so its writeback never lands in another run
#   write-{osync,odsync}-qd{1,8}   the same file opened O_SYNC (fio --sync=1) or
#                          O_DSYNC (--sync=dsync): every write waits for the
#                          disk; slat (fio's submission latency: the time spent
#                          inside aio_write for posixaio) mean and p99 matter
#                          as much as IOPS here
#   read-cold-qd16         buffered, cache dropped first (fio --invalidate=1),
#                          1 thread, a 4 GiB file
#   read-cold-qd16-4fd     the same over 4 files of 1 GiB (--filename=a:b:c:d)
#   read-cold-qd8-4j       4 job threads at QD 8 on the 4 GiB file, each in
#                          its own GiB (--offset_increment)
#   randrw-cold-qd64-4j-verify   4 job threads, QD 64, each writes and reads
#                          its own file at random (cache dropped first), crc32c
#                          in every block, then reads every written block back:
#                          64 MiB per job (quick: 8 MiB), not time based; a
#                          verify error fails the benchmark.
#   stress-ng-aio-nN-rR    stress-ng --aio N --aio-requests R --verify (N 1, 2,
#                          4; R 1, 16, 64): N processes, each R aio_read/
#                          aio_write requests with SIGEV_SIGNAL; bogo ops/s in
#                          the IOPS column (whole seconds: at least 1 s per
#                          run); a verification failure fails the benchmark
#   roundtrip-{signal,thread}-{cached,direct}   BUILD_DIR/roundtrip
#                          (scripts/bench/roundtrip.c): one 4 KiB aio_read at a
#                          time, waited for through its SIGEV_SIGNAL (sigsuspend)
#                          or SIGEV_THREAD (a semaphore the function posts)
#                          notification, then aio_return; the cached file or
#                          O_DIRECT on kaio-demo.dat; requests/s in the IOPS
#                          column, latency per round trip
# fio's random map reads each block at most once per pass, so the cold rows
# read only uncached blocks; each records the data disk's reads per fio read
# (about 1 when cold).
# In each repetition every workload runs every engine, the engine order rotated
# from one repetition (and workload) to the next, and reversed in every second
# repetition (so that no engine always runs right after the same one: in an A/A
# run where kaio always followed glibc, one row came out 0.71 in all 3
# repetitions); the tables hold medians.
#   quick: 2 repetitions x 0.3 s per run, some rows left out (quick_skip below;
#          246 s measured)
#   full:  3 repetitions x 5 s per run, every row, and the syscall pass (3324 s
#          measured: 3026 s of runs, 298 s of syscall pass)
# KAIO_BENCH_REPS and KAIO_BENCH_RUNTIME (fio syntax: 5, 500ms) override them;
# KAIO_BENCH_ENGINES and KAIO_BENCH_WORKLOADS select a subset (names as above;
# KAIO_BENCH_WORKLOADS may name rows quick mode leaves out).
#
# Syscalls per request (full mode; KAIO_BENCH_STRACE=1 or 0 forces it on or
# off): after the repetitions, every row runs once more per engine under
# `strace -f -c` for KAIO_BENCH_STRACE_RUNTIME (default 1 s); the syscalls of
# all kinds, less those of a one-I/O fio run of the same engine (fio's start-up),
# divided by the run's I/Os (bogo ops, round trips) give syscalls_per_io, and
# the most frequent kinds top_syscalls (BUILD_DIR/bench/syscalls.csv). Once per
# row, not a median; strace slows the run, not the count.
#
# A/B: KAIO_BENCH_BASE=COMMIT (anything git rev-parse takes: main, HEAD~1, a
# hash) builds that commit in a temporary git worktree (make _all, build dir of
# its own, kept in BUILD_DIR/bench-base/HASH for the next run; the working tree
# is not touched), or KAIO_BENCH_BASE=PATH names a libkaio.so (or a build dir
# holding one). Its library runs as the engine kaio-base (through BUILD_DIR/kaio
# with KAIO_LIB), interleaved with the others in the same repetitions, and each
# row gets kaio ÷ kaio-base. A row is flagged SLOWER when the median ratio is
# below 0.95 and kaio was slower than kaio-base in every one of at least 3
# repetitions (quick mode runs 3 when KAIO_BENCH_BASE is set; the runs of one
# repetition are seconds apart, runs vary by 15% and more, so one or two slow
# repetitions alone are noise: in an A/A run of two identical libraries on the
# shared 2-CPU VM, 2 repetitions of 0.3 s gave 0.73 and 0.84 on one row). Rerun
# a flagged row alone with more repetitions (KAIO_BENCH_WORKLOADS=ROW
# KAIO_BENCH_REPS=8) before calling it a regression.
#
# Each fio runs as one process (--thread) under BUILD_DIR/runstat, which gives
# the CPU time of all its threads (glibc's AIO helpers included), the peak
# task count (/proc/PID/status Threads, sampled every 10 ms: io_uring's
# iou-wrk workers count), RSS and virtual size. Each repetition also runs
# every engine once for a single I/O: that CPU (fio's start-up and exit,
# ~0.15 s) is subtracted before dividing by the number of I/Os.
# Run it on an otherwise idle machine: each run records the CPU time other
# tasks used and the disk I/Os that were not its own, and the end of the
# output counts the runs that shared the machine. (`make check` lowers
# fs.aio-max-nr for a moment: a run that starts then cannot get an AIO context.)
#
# Data in ${KAIO_BENCH_DIR:-${KAIO_DEMO_DIR:-BUILD_DIR}}: kaio-demo.dat (1 GiB,
# shared with scripts/demo.sh), kaio-bench-cached.dat, kaio-bench-wbuf.dat and
# kaio-bench-fd{0..3}.dat (256 MiB each), kaio-bench-cold.dat (4 GiB) and
# kaio-bench-cold{0..3}.dat (1 GiB each), made from /dev/urandom when a selected
# workload needs them and reused while their size is right;
# kaio-bench-verify.{0..3} (made by fio); kaio-bench-stress/ (stress-ng's).
# The data directory must support O_DIRECT (not tmpfs).
#
# Writes BUILD_DIR/bench/: results.csv (one row per engine x workload x
# repetition), startup.csv, medians.csv, syscalls.csv (the syscall pass),
# bench.png (if gnuplot is installed; fio rows only),
# machine.txt, README-block.md (printed at the end; also
# scripts/bench/README-table.sh BUILD_DIR/bench), raw/ (every run's output).
# --publish also copies bench.png, README-block.md and medians.csv to
# docs/bench.png, docs/bench.md and docs/bench.csv.
# The output ends with the rows where kaio's median is below glibc's, and with
# KAIO_BENCH_BASE the rows where kaio is slower than kaio-base.
# Exit status: 0, or 1 if a run failed (the others are still reported) or a
# verify error happened (fio's or stress-ng's).
set -euo pipefail

usage() {
	echo "usage: $0 BUILD_DIR [quick|full] [--publish]" >&2
	exit 2
}

build='' mode=quick publish=0
for a in "$@"; do
	case $a in
	--publish) publish=1 ;;
	quick | full) mode=$a ;;
	-*) usage ;;
	*) [[ -z $build ]] || usage; build=$a ;;
	esac
done
[[ -n $build ]] || usage

here=$(cd "$(dirname "$0")" && pwd)
helpers=$here/bench
root=$(dirname "$here")
case $mode in
quick) reps=2 runtime=300ms verify_mib=8 strace=0 ;;
full) reps=3 runtime=5 verify_mib=64 strace=1 ;;
esac
# A/B needs 3 repetitions for a verdict (medians.awk: base_slower).
if [[ -n ${KAIO_BENCH_BASE:-} ]] && ((reps < 3)); then
	reps=3
fi
reps=${KAIO_BENCH_REPS:-$reps}
runtime=${KAIO_BENCH_RUNTIME:-$runtime}
strace=${KAIO_BENCH_STRACE:-$strace}
strace_runtime=${KAIO_BENCH_STRACE_RUNTIME:-1}
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "bench: KAIO_BENCH_REPS must be a positive integer" >&2; exit 2; }
for v in runtime strace_runtime; do
	[[ ${!v} =~ ^[1-9][0-9]*(ms|s)?$ ]] || { echo "bench: KAIO_BENCH_${v^^}: e.g. 5 or 500ms" >&2; exit 2; }
done
[[ $strace == [01] ]] || { echo "bench: KAIO_BENCH_STRACE must be 0 or 1" >&2; exit 2; }
rt_label=${runtime%%[a-z]*} rt_unit=${runtime##*[0-9]}
rt_label+=" ${rt_unit:-s}"

kaio=$build/kaio
runstat=$build/runstat
roundtrip=$build/roundtrip
for f in "$kaio" "$runstat" "$roundtrip"; do
	[[ -x $f ]] || { echo "bench: $f is missing: run make _bench first" >&2; exit 1; }
done
[[ -f $build/libkaio.so ]] || { echo "bench: $build/libkaio.so is missing: run make first" >&2; exit 1; }
command -v fio >/dev/null || { echo "bench: fio is not installed (apt-get install fio)" >&2; exit 1; }
# fio's JSON output (submission latency) is read with jq.
command -v jq >/dev/null || { echo "bench: jq is not installed (apt-get install jq)" >&2; exit 1; }
have_gnuplot=1
command -v gnuplot >/dev/null || have_gnuplot=0
have_fincore=1
command -v fincore >/dev/null || have_fincore=0
if ((publish && !have_gnuplot)); then
	echo "bench: --publish needs gnuplot (apt-get install gnuplot-nox)" >&2
	exit 1
fi

dir=${KAIO_BENCH_DIR:-${KAIO_DEMO_DIR:-$build}}
out=$build/bench
raw=$out/raw
mkdir -p "$dir" "$raw"
rm -f "$raw"/*
# fio splits --filename at ':'.
[[ $dir != *:* ]] || { echo "bench: the data directory must not contain ':': $dir" >&2; exit 1; }

big=$dir/kaio-demo.dat
cached=$dir/kaio-bench-cached.dat
wbuf=$dir/kaio-bench-wbuf.dat
stressdir=$dir/kaio-bench-stress
fds=("$dir"/kaio-bench-fd{0,1,2,3}.dat)
cold=$dir/kaio-bench-cold.dat
coldfds=("$dir"/kaio-bench-cold{0,1,2,3}.dat)
verify_files=("$dir"/kaio-bench-verify.{0,1,2,3})
mib=$((1024 * 1024))

engines=(glibc kaio kaio-nouring libaio io_uring psync)
workloads=(read-direct-qd1 read-direct-qd8 read-direct-qd32 read-direct-qd128
	write-direct-qd1 write-direct-qd32 read-cached-qd1 read-cached-qd32
	read-direct-qd32-4fd read-direct-qd32-2j read-direct-qd32-4j
	read-cached-qd32-2j read-cached-qd32-4j read-cached-qd32-8j read-cached-qd32-16j
	write-buffered-qd1 write-buffered-qd32 write-buffered-qd1-2j write-buffered-qd32-2j
	write-osync-qd1 write-osync-qd8 write-odsync-qd1 write-odsync-qd8
	read-cold-qd16 read-cold-qd16-4fd read-cold-qd8-4j randrw-cold-qd64-4j-verify
	stress-ng-aio-n1-r1 stress-ng-aio-n1-r16 stress-ng-aio-n1-r64
	stress-ng-aio-n2-r1 stress-ng-aio-n2-r16 stress-ng-aio-n2-r64
	stress-ng-aio-n4-r1 stress-ng-aio-n4-r16 stress-ng-aio-n4-r64
	roundtrip-signal-cached roundtrip-signal-direct roundtrip-thread-cached roundtrip-thread-direct)
# Rows quick mode leaves out (unless KAIO_BENCH_WORKLOADS names them).
quick_skip=" read-cached-qd32-16j write-buffered-qd1-2j write-osync-qd8 write-odsync-qd1
	stress-ng-aio-n1-r16 stress-ng-aio-n1-r64 stress-ng-aio-n2-r1 stress-ng-aio-n2-r64
	stress-ng-aio-n4-r1 stress-ng-aio-n4-r16 "

# A/B: the base library, built from a commit or given as a path.
base_spec=${KAIO_BENCH_BASE:-}
baselib='' base_rev=''
if [[ -n $base_spec ]]; then
	if [[ -d $base_spec && -f $base_spec/libkaio.so ]]; then
		baselib=$(cd "$base_spec" && pwd)/libkaio.so base_rev=$baselib
	elif [[ -f $base_spec ]]; then
		baselib=$(cd "$(dirname "$base_spec")" && pwd)/$(basename "$base_spec") base_rev=$baselib
	else
		sha=$(git -C "$root" rev-parse -q --verify "$base_spec^{commit}" 2>/dev/null) ||
			{ echo "bench: KAIO_BENCH_BASE=$base_spec: neither a file nor a commit of $root" >&2; exit 2; }
		base_rev="$base_spec (${sha:0:7})"
		basedir=$(cd "$build" && pwd)/bench-base/$sha
		baselib=$basedir/libkaio.so
		if [[ ! -f $baselib ]]; then
			echo "Building kaio-base from $base_spec (${sha:0:7}) in a temporary git worktree"
			basetmp=$(mktemp -d /tmp/kaio-bench-base.XXXXXX)
			# Removes the temporary worktree, whatever happens to the build.
			drop_base_tree() {
				git -C "$root" worktree remove --force "$basetmp/src" 2>/dev/null || true
				rm -rf "$basetmp"
				git -C "$root" worktree prune 2>/dev/null || true
			}
			trap drop_base_tree EXIT
			git -C "$root" worktree add -q --detach "$basetmp/src" "$sha"
			mkdir -p "$basedir"
			if ! make -C "$basetmp/src" --no-print-directory "B=$basetmp/build" _all >"$basedir/build.log" 2>&1; then
				echo "bench: building $base_spec failed; the log: $basedir/build.log" >&2
				tail -n 5 "$basedir/build.log" >&2
				exit 1
			fi
			cp "$basetmp/build/libkaio.so" "$baselib"
			[[ ! -x $basetmp/build/kaio-check ]] || cp "$basetmp/build/kaio-check" "$basedir/"
			drop_base_tree
			trap - EXIT
		fi
	fi
	[[ $baselib != *[:\ ]* ]] || { echo "bench: the base library's path must not contain ':' or a space: $baselib" >&2; exit 2; }
	# Beside kaio: in the rotated (and alternately reversed) order each of the
	# two runs right before the other as often.
	engines=(glibc kaio kaio-base kaio-nouring libaio io_uring psync)
fi

# KAIO_BENCH_ENGINES and KAIO_BENCH_WORKLOADS (space-separated) run a subset,
# e.g. more repetitions of one close comparison.
# subset VAR ALL...: keeps the words of $VAR in the array VAR's default ALL.
subset() {
	local var=$1 w
	shift
	local -a keep=()
	for w in ${!var}; do
		[[ " $* " == *" $w "* ]] || { echo "bench: $var: unknown '$w' (one of: $*)" >&2; exit 2; }
		keep+=("$w")
	done
	((${#keep[@]})) || { echo "bench: $var is empty" >&2; exit 2; }
	picked=("${keep[@]}")
}
if [[ -n ${KAIO_BENCH_ENGINES:-} ]]; then
	subset KAIO_BENCH_ENGINES "${engines[@]}"
	engines=("${picked[@]}")
fi
if [[ -n ${KAIO_BENCH_WORKLOADS:-} ]]; then
	subset KAIO_BENCH_WORKLOADS "${workloads[@]}"
	workloads=("${picked[@]}")
elif [[ $mode == quick ]]; then
	picked=()
	for w in "${workloads[@]}"; do
		[[ $quick_skip == *[[:space:]]"$w"[[:space:]]* ]] || picked+=("$w")
	done
	workloads=("${picked[@]}")
fi
# kind WORKLOAD: sets kind to fio, stress or roundtrip.
kind_of() {
	case $1 in
	stress-ng-*) kind=stress ;;
	roundtrip-*) kind=roundtrip ;;
	*) kind=fio ;;
	esac
}
# runs_on WORKLOAD ENGINE: true if ENGINE runs that row (the POSIX AIO
# programs run under glibc, kaio and kaio-base only).
runs_on() {
	kind_of "$1"
	[[ $kind == fio || $2 == glibc || $2 == kaio || $2 == kaio-base ]]
}
# wanted WORKLOAD...: true if one of them was selected.
wanted() {
	local w
	for w in "$@"; do
		[[ " ${workloads[*]} " != *" $w "* ]] || return 0
	done
	return 1
}

# The files the selected workloads read, as "PATH MiB" lines (kaio-demo.dat
# always: the start-up runs read it).
files=("$big 1024")
wanted read-cached-qd1 read-cached-qd32 read-cached-qd32-2j read-cached-qd32-4j read-cached-qd32-8j \
	read-cached-qd32-16j roundtrip-signal-cached roundtrip-thread-cached && files+=("$cached 256")
wanted write-buffered-qd1 write-buffered-qd32 write-buffered-qd1-2j write-buffered-qd32-2j \
	write-osync-qd1 write-osync-qd8 write-odsync-qd1 write-odsync-qd8 && files+=("$wbuf 256")
if [[ " ${workloads[*]}" == *" stress-ng-"* ]]; then
	command -v stress-ng >/dev/null || { echo "bench: stress-ng is not installed (apt-get install stress-ng)" >&2; exit 1; }
	mkdir -p "$stressdir"
fi
if ((strace)); then
	command -v strace >/dev/null || { echo "bench: strace is not installed (apt-get install strace), or set KAIO_BENCH_STRACE=0" >&2; exit 1; }
fi
if wanted read-direct-qd32-4fd; then
	for f in "${fds[@]}"; do files+=("$f 256"); done
fi
wanted read-cold-qd16 read-cold-qd8-4j && files+=("$cold 4096")
if wanted read-cold-qd16-4fd; then
	for f in "${coldfds[@]}"; do files+=("$f 1024"); done
fi

# Random data, kept while it has the right size; first the space it needs.
created=0 missing=0
for fn in "${files[@]}"; do
	read -r f n <<<"$fn"
	[[ -f $f && "$(stat -c %s "$f")" == "$((n * mib))" ]] || missing=$((missing + n))
done
if ((missing)); then
	avail=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
	if ((avail < missing + 1024)); then
		echo "bench: the data files need $missing MiB more in $dir (free: $avail MiB, 1 GiB kept spare): set KAIO_BENCH_DIR or KAIO_BENCH_WORKLOADS" >&2
		exit 1
	fi
fi
for fn in "${files[@]}"; do
	read -r f n <<<"$fn"
	if [[ ! -f $f ]] || [[ "$(stat -c %s "$f")" != "$((n * mib))" ]]; then
		echo "Writing $n MiB of random data: $f (once; reused later)"
		rm -f "$f"
		dd if=/dev/urandom of="$f.tmp" bs=1M count="$n" conv=fsync status=none
		mv -f "$f.tmp" "$f"
		created=1
	fi
done
if ! dd if="$big" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
	echo "bench: O_DIRECT reads fail in $dir: set KAIO_BENCH_DIR to a directory on a disk file system" >&2
	exit 1
fi

fs=$(findmnt -n -o FSTYPE,SOURCE -T "$dir" 2>/dev/null | head -n 1 || true)
[[ -n $fs ]] || fs=$(df -PT "$dir" | awk 'NR == 2 { print $2 " " $1 }')
read -r fstype fsdev <<<"$fs"
# The data disk's I/O counters: I/O from other work on the machine skews the numbers.
devstat=/sys/class/block/$(basename "${fsdev:-none}")/stat
[[ -r $devstat ]] || devstat=

# wl_args WORKLOAD [RUNTIME]: sets kind, and args to the workload's fio options
# (stress-ng's, roundtrip's); RUNTIME (fio syntax) instead of $runtime.
wl_args() {
	local qd jobs=1 IFS=: rt=${2:-$runtime} secs
	kind_of "$1"
	secs=$(awk -v r="$rt" 'BEGIN { if (r ~ /ms$/) print r / 1000; else print r + 0 }')
	[[ $1 =~ -qd([0-9]+) ]] && qd=${BASH_REMATCH[1]}
	[[ $1 =~ -([0-9]+)j(-|$) ]] && jobs=${BASH_REMATCH[1]}
	case $1 in
	stress-ng-aio-n*-r*)
		[[ $1 =~ -n([0-9]+)-r([0-9]+)$ ]]
		# stress-ng runs whole seconds.
		args=(--aio "${BASH_REMATCH[1]}" --aio-requests "${BASH_REMATCH[2]}" --verify --metrics-brief
			-t "$(awk -v s="$secs" 'BEGIN { n = int(s); if (n < s) n++; if (n < 1) n = 1; print n }')"
			--temp-path "$stressdir")
		return
		;;
	roundtrip-*-cached) args=("$(cut -d- -f2 <<<"$1")" "$cached" "$secs"); return ;;
	roundtrip-*-direct) args=("$(cut -d- -f2 <<<"$1")" "$big" "$secs" direct); return ;;
	read-direct-qd32-4fd) args=(--rw=randread --direct=1 "--filename=${fds[*]}" --size=1g) ;;
	read-direct-*) args=(--rw=randread --direct=1 "--filename=$big" --size=1g) ;;
	write-direct-*) args=(--rw=randwrite --direct=1 "--filename=$big" --size=1g) ;;
	# fio's default invalidate=1 would drop the file from the page cache.
	read-cached-*) args=(--rw=randread --direct=0 --invalidate=0 "--filename=$cached" --size=256m) ;;
	write-buffered-*) args=(--rw=randwrite --direct=0 --invalidate=0 "--filename=$wbuf" --size=256m) ;;
	write-osync-*) args=(--rw=randwrite --direct=0 --invalidate=0 --sync=1 "--filename=$wbuf" --size=256m) ;;
	write-odsync-*) args=(--rw=randwrite --direct=0 --invalidate=0 --sync=dsync "--filename=$wbuf" --size=256m) ;;
	read-cold-qd16) args=(--rw=randread --direct=0 --invalidate=1 "--filename=$cold" --size=4g) ;;
	read-cold-qd16-4fd) args=(--rw=randread --direct=0 --invalidate=1 "--filename=${coldfds[*]}" --size=4g) ;;
	# Each job reads its own GiB: no job finds blocks another one read.
	read-cold-qd8-4j) args=(--rw=randread --direct=0 --invalidate=1 "--filename=$cold" --size=1g --offset_increment=1g) ;;
	# Not time based: fio reads every written block back only after the
	# randrw phase has covered the whole size.
	randrw-cold-qd64-4j-verify)
		args=(--rw=randrw --direct=0 --invalidate=1 "--directory=$dir" "--filename_format=kaio-bench-verify.\$jobnum"
			"--size=${verify_mib}m" --verify=crc32c --verify_fatal=1 --verify_state_save=0
			--iodepth=64 --numjobs=4)
		return
		;;
	*) echo "bench: unknown workload $1" >&2; exit 1 ;;
	esac
	args+=("--iodepth=$qd" "--numjobs=$jobs" "--runtime=$rt" --time_based)
}

# tests/env.sh lowers fs.aio-max-nr for a moment (no process gets an AIO context
# then) under an exclusive flock on this file: each run holds it shared.
lockfile=/tmp/kaio-aio-max-nr.lock
have_lock=0
if command -v flock >/dev/null && touch "$lockfile" 2>/dev/null && [[ -w $lockfile ]]; then
	exec 8>>"$lockfile"
	have_lock=1
fi

# run_one TAG ENGINE KIND ARGS...: one run of fio (stress-ng, roundtrip) under
# runstat; its output in $raw/TAG.*. With trace=1, under strace -f -c instead
# (the counts in $raw/TAG.strace).
trace=0
run_one() {
	local tag=$1 engine=$2 ioengine=$2 k=$3
	shift 3
	local -a pre=() cmd=() meter=("$runstat" -o "$raw/$tag.stat")
	case $engine in
	glibc) ioengine=posixaio ;;
	# kaio's default for KAIO_URING, whatever the caller's environment says.
	kaio) ioengine=posixaio pre=(env -u KAIO_URING "$kaio" -s) ;;
	kaio-nouring) ioengine=posixaio pre=(env KAIO_URING=0 "$kaio" -s) ;;
	kaio-base) ioengine=posixaio pre=(env -u KAIO_URING "KAIO_LIB=$baselib" "$kaio" -s) ;;
	esac
	# terse for parse.awk, then JSON for the submission latency (jq).
	# shellcheck disable=SC2054
	case $k in
	fio) cmd=(fio --name=bench "--ioengine=$ioengine" --bs=4k --thread --group_reporting
		--output-format=terse,json --lat_percentiles=1 --slat_percentiles=1 "$@") ;;
	stress) cmd=(stress-ng "$@") ;;
	roundtrip) cmd=("$roundtrip" "$@") ;;
	esac
	((!trace)) || meter=(strace -f -c -o "$raw/$tag.strace")
	if ((have_lock)); then
		flock -s -w 300 8 || true
	fi
	"${meter[@]}" "${pre[@]}" "${cmd[@]}" >"$raw/$tag.out" 2>"$raw/$tag.err" 8>&- || true
	if ((have_lock)); then
		flock -u 8
	fi
}

# slat TAG: "mean p99" of fio's submission latency in µs (nothing if fio
# recorded none: psync).
slat() {
	sed -n '/^{/,$p' "$raw/$1.out" | jq -r '[.jobs[0].read, .jobs[0].write] | map(select(.total_ios > 0))
		| if length > 0 then .[0].slat_ns else {N: 0} end | select(.N > 0)
		| "\(.mean / 1000) \(.percentile["99.000000"] / 1000)"' 2>/dev/null || true
}

# Percentage of the cached file (256 MiB) in the page cache ("" without fincore).
cache_pct() {
	((have_fincore)) || return 0
	fincore --bytes --noheadings --output RES "$cached" 2>/dev/null |
		awk -v s=$((256 * mib)) '{ printf "%.1f", 100 * $1 / s }'
}
# The file a row wants in the page cache before it runs, if any.
cache_file() {
	case $1 in
	read-cached-* | roundtrip-*-cached) echo "$cached" ;;
	write-buffered-* | write-osync-* | write-odsync-*) echo "$wbuf" ;;
	esac
}

stat_field() { # stat_field FILE KEY
	awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$1" 2>/dev/null
}

cols="seq,rep,workload,engine,status,iops,lat_avg_us,lat_p99_us,ios,wall_s,cpu_user_s,cpu_sys_s,cpu_base_s,cpu_per_io_us,cpu_per_io_raw_us,threads_max,rss_peak_kb,vsz_peak_kb,cache_pct,kaio_kernel,kaio_sync,kaio_glibc,other_cpu_s,other_ios,shared"
cols+=",iops_w,reads,disk_reads,disk_reads_per_read,verify_errors,kaio_stats,slat_avg_us,slat_p99_us"
echo "$cols" >"$out/results.csv"
echo "rep,engine,wall_s,cpu_s,threads_max,exit" >"$out/startup.csv"

rt_s=$(awk -v r="$runtime" 'BEGIN { if (r ~ /ms$/) print r / 1000; else print r + 0 }')
strace_s=$(awk -v r="$strace_runtime" 'BEGIN { if (r ~ /ms$/) print r / 1000; else print r + 0 }')
# Seconds per run: the verify row is not time based (about 1 s per 12 MiB per
# job here), stress-ng runs whole seconds; about 0.55 s more per run.
est=$(for w in "${workloads[@]}"; do
	n=0
	for e in "${engines[@]}"; do
		! runs_on "$w" "$e" || n=$((n + 1))
	done
	echo "$w $n"
done | awk -v reps="$reps" -v rt="$rt_s" -v vm="$verify_mib" -v ne=${#engines[@]} -v st="$strace" -v ss="$strace_s" '
	{
		r = rt
		if ($1 ~ /-verify$/)
			r = vm / 12
		else if ($1 ~ /^stress-ng-/ && r > int(r))
			r = int(r) + 1
		t += reps * $2 * (r + 0.55)
		if (st)
			t += $2 * (ss + 1)
	}
	END { t += reps * ne * 0.55; if (st) t += ne; printf "%d", t }')
echo "kaio bench ($mode): ${#workloads[@]} workloads x ${#engines[@]} engines x $reps repetitions, $rt_label per run, about $est s"
if [[ -n $baselib ]]; then
	echo "A/B: kaio-base is $base_rev: $baselib"
fi
if ((!have_fincore)); then
	echo "note: fincore (util-linux) not found: cannot check that the cached file stayed in the page cache"
fi

SECONDS=0
seq=0
declare -A base=() dropped=()
warnings=() verify_failures=()
# Other work on the machine skews the numbers: sample the CPUs for 0.5 s.
cpu_sample() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6; exit }' /proc/stat; }
# Jiffies (1/100 s) that all CPUs spent in tasks (user, nice, system).
task_jiffies() { awk '$1 == "cpu" { print $2 + $3 + $4; exit }' /proc/stat; }
# Reads and writes the data disk completed, and reads alone (empty if unknown).
disk_ios() { [[ -z $devstat ]] || awk '{ print $1 + $5, $1 }' "$devstat"; }
read -r t0 i0 <<<"$(cpu_sample)"
sleep 0.5
read -r t1 i1 <<<"$(cpu_sample)"
busy=$(awk -v t=$((t1 - t0)) -v i=$((i1 - i0)) 'BEGIN { printf "%.0f", (t > 0) ? 100 * (t - i) / t : 0 }')
if ((busy > 20)); then
	warnings+=("the CPUs were $busy% busy with other work when the benchmark started: that skews the numbers")
fi
if ((created)); then
	warnings+=("data files were written just now: the first repetition often runs slower (measured: up to 1.5x); rerun before publishing")
fi
failed=0
for ((rep = 1; rep <= reps; rep++)); do
	# fio's fixed cost per engine: one I/O, same options as the direct rows.
	for ((i = 0; i < ${#engines[@]}; i++)); do
		e=${engines[(i + rep - 1) % ${#engines[@]}]}
		[[ -z ${dropped[$e]-} ]] || continue
		tag=rep$rep-startup-$e
		run_one "$tag" "$e" fio --rw=randread --direct=1 "--filename=$big" --size=1g --iodepth=1 --io_size=4k
		code=$(stat_field "$raw/$tag.stat" exit)
		cpu=$(awk -v u="$(stat_field "$raw/$tag.stat" cpu_user_s)" -v s="$(stat_field "$raw/$tag.stat" cpu_sys_s)" \
			'BEGIN { printf "%.3f", u + s }')
		echo "$rep,$e,$(stat_field "$raw/$tag.stat" wall_s),$cpu,$(stat_field "$raw/$tag.stat" threads_max),$code" >>"$out/startup.csv"
		if [[ $code != 0 ]]; then
			if ((rep == 1)); then
				dropped[$e]=1
				# io_uring may be disabled (sysctl, seccomp): only the subjects are required.
				case $e in glibc | kaio | kaio-nouring | libaio) failed=1 ;; esac
				warnings+=("engine $e does not work here (exit ${code:-?}); left out: $(grep -hv '^note:' "$raw/$tag.err" "$raw/$tag.out" 2>/dev/null | tail -n 1)")
				echo "engine $e failed its first run; left out:"
				tail -n 3 "$raw/$tag.err" | sed 's/^/    /'
				continue
			fi
			warnings+=("rep $rep: start-up run of $e failed: its CPU is not subtracted")
			cpu=0
		fi
		base[$e]=$cpu
	done

	for ((w = 0; w < ${#workloads[@]}; w++)); do
		wl=${workloads[w]}
		wl_args "$wl"
		line="rep $rep/$reps $(printf '%-26s' "$wl")"
		# The engines of this row, rotated; every second repetition in
		# reverse, so that no engine always runs right after the same one.
		row_engines=()
		for e in "${engines[@]}"; do
			[[ -n ${dropped[$e]-} ]] || ! runs_on "$wl" "$e" || row_engines+=("$e")
		done
		nre=${#row_engines[@]}
		for ((i = 0; i < nre; i++)); do
			if ((rep % 2)); then
				e=${row_engines[(i + w + rep - 1) % nre]}
			else
				e=${row_engines[(nre - 1 - i + w + rep - 1) % nre]}
			fi
			seq=$((seq + 1))
			tag=rep$rep-$wl-$e
			cache='' cf=$(cache_file "$wl")
			# The VM drops page cache left untouched for about a minute.
			[[ -z $cf ]] || cat "$cf" >/dev/null
			[[ $cf != "$cached" ]] || before=$(cache_pct)
			j0=$(task_jiffies)
			read -r d0 r0 <<<"$(disk_ios)"
			run_one "$tag" "$e" "$kind" "${args[@]}"
			j1=$(task_jiffies)
			read -r d1 r1 <<<"$(disk_ios)"
			if [[ $cf == "$cached" ]]; then
				after=$(cache_pct)
				cache=$(awk -v a="$before" -v b="$after" 'BEGIN { if (a != "" && b != "") print (a < b) ? a : b }')
			fi
			# Every read of a cold row and every I/O of an O_DIRECT row is a
			# disk I/O of its own; the verify, sync and stress-ng rows' own
			# share is unknown.
			direct=0 disk=${d0:+$((d1 - d0))} dreads='' expect='' sl_avg='' sl_p99=''
			[[ $wl != *-direct-* && $wl != *-direct && $wl != read-cold-* ]] || direct=1
			[[ $wl != *-cold-* ]] || dreads=${r0:+$((r1 - r0))}
			[[ $wl != write-osync-* && $wl != write-odsync-* && $kind != stress ]] || disk=
			if [[ $wl == *-verify ]]; then
				disk=
				# The randrw phase does size/bs I/Os per job, then every
				# written block is read back: reads = 4 jobs x size/bs.
				expect=$((4 * verify_mib * 256))
				# The written blocks go to the disk now, not during the next run.
				sync "${verify_files[@]}" 2>/dev/null || true
			fi
			# Buffered writes: their writeback now, not during the next run.
			[[ $cf != "$wbuf" ]] || sync "$wbuf" 2>/dev/null || true
			[[ $kind != fio ]] || read -r sl_avg sl_p99 <<<"$(slat "$tag")"
			awk -v seq="$seq" -v rep="$rep" -v workload="$wl" -v engine="$e" -v bs=4096 -v kind="$kind" \
				-v base="$([[ $kind == fio ]] && echo "${base[$e]}" || echo 0)" -v cache="$cache" \
				-v jiffies=$((j1 - j0)) -v disk="$disk" -v direct="$direct" \
				-v dreads="$dreads" -v expect_reads="$expect" -v slat_avg="$sl_avg" -v slat_p99="$sl_p99" \
				-f "$helpers/parse.awk" \
				FS=' ' "$raw/$tag.stat" FS=';' "$raw/$tag.out" FS=' ' "$raw/$tag.err" \
				>>"$out/results.csv" 2>/dev/null ||
				echo "$seq,$rep,$wl,$e,fail:unreadable,,,,,,,,,,,,,,,,,,,,,,,,,,,," >>"$out/results.csv"
			IFS=, read -r -a row <<<"$(tail -n 1 "$out/results.csv")"
			if [[ ${row[4]} == fail:verify* ]]; then
				failed=1
				pat='verify|crc32c|bad magic|bad header'
				[[ $kind != stress ]] || pat='fail'
				verify_failures+=("rep $rep $wl $e: ${row[4]}: $(grep -m 1 -iE "$pat" "$raw/$tag.err" 2>/dev/null)")
				echo "bench: VERIFY ERROR: rep $rep $wl $e: ${row[4]} ($kind's output: $raw/$tag.err)" >&2
				grep -m 5 -iE "$pat" "$raw/$tag.err" 2>/dev/null | sed 's/^/    /' >&2
				line+=" $e=VERIFY-ERROR"
				continue
			fi
			if [[ ${row[4]} != ok ]]; then
				failed=1
				warnings+=("rep $rep $wl $e: ${row[4]} ($(tail -n 1 "$raw/$tag.err" 2>/dev/null))")
				line+=" $e=FAILED"
				continue
			fi
			line+=" $e=${row[5]}${row[25]:+/${row[25]}}"
			if [[ -n $cache ]] && awk -v c="$cache" 'BEGIN { exit !(c < 99) }'; then
				warnings+=("rep $rep $wl $e: only $cache% of the file was in the page cache")
			fi
			if [[ $wl == read-cold-* && -n ${row[28]} ]] && awk -v r="${row[28]}" 'BEGIN { exit !(r < 0.9) }'; then
				warnings+=("rep $rep $wl $e: the disk did ${row[28]} reads per fio read: part of the file was cached")
			fi
			# stress-ng's parent makes no request; its children exit without
			# the statistics line.
			if [[ $e == kaio* && $kind != stress ]] && { [[ -z ${row[19]-} ]] || [[ ${row[21]-0} != 0 ]]; }; then
				warnings+=("rep $rep $wl $e: KAIO_STATS says kernel=${row[19]-?} sync_fallback=${row[20]-?} glibc=${row[21]-?}")
			fi
		done
		echo "$line"
	done
done
bench_s=$SECONDS

# The syscall pass: each row once more per engine, under strace -f -c.
echo "workload,engine,ios,syscalls,syscalls_per_io,top_syscalls" >"$out/syscalls.csv"
if ((strace)); then
	echo "Syscall pass: each row and engine once under strace -f -c, $strace_runtime per run"
	trace=1
	for e in "${engines[@]}"; do
		[[ -z ${dropped[$e]-} ]] || continue
		run_one "strace-startup-$e" "$e" fio --rw=randread --direct=1 "--filename=$big" --size=1g --iodepth=1 --io_size=4k
	done
	for wl in "${workloads[@]}"; do
		wl_args "$wl" "$strace_runtime"
		line="strace $(printf '%-26s' "$wl")"
		for e in "${engines[@]}"; do
			[[ -z ${dropped[$e]-} ]] || continue
			runs_on "$wl" "$e" || continue
			tag=strace-$wl-$e
			cf=$(cache_file "$wl")
			[[ -z $cf ]] || cat "$cf" >/dev/null
			run_one "$tag" "$e" "$kind" "${args[@]}"
			[[ $cf != "$wbuf" ]] || sync "$wbuf" 2>/dev/null || true
			[[ $wl != *-verify ]] || sync "${verify_files[@]}" 2>/dev/null || true
			# fio's start-up is subtracted; the programs' own is small.
			su=/dev/null
			[[ $kind != fio ]] || su=$raw/strace-startup-$e.strace
			awk -v workload="$wl" -v engine="$e" -v kind="$kind" -v startup="$su" -f "$helpers/strace.awk" \
				"$su" "$raw/$tag.strace" "$raw/$tag.out" "$raw/$tag.err" >>"$out/syscalls.csv" 2>/dev/null ||
				echo "$wl,$e,,,," >>"$out/syscalls.csv"
			line+=" $e=$(tail -n 1 "$out/syscalls.csv" | cut -d, -f5)"
		done
		echo "$line"
	done
	trace=0
fi
strace_s=$((SECONDS - bench_s))
busy_runs=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "shared") c = i; next } $c == 1 { n++ } END { print n + 0 }' "$out/results.csv")
if ((busy_runs)); then
	warnings+=("$busy_runs runs shared the machine with other work (over 20% of a CPU, or 2% more disk I/Os than their own: results.csv columns other_cpu_s, other_ios, shared); medians leave them out where a clean repetition exists")
fi

used=()
for e in "${engines[@]}"; do
	[[ -n ${dropped[$e]-} ]] || used+=("$e")
done
awk -F, -v workloads="${workloads[*]}" -v engines="${used[*]}" -f "$helpers/medians.awk" \
	"$out/results.csv" "$out/syscalls.csv" >"$out/medians.csv"

# The machine line and the run line, for the tables and the plot.
model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
glibc_v=$(ldd --version 2>/dev/null | awk 'NR == 1 { print $NF }')
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $rev != unknown && -n "$(git -C "$root" status --porcelain -- src preload 2>/dev/null)" ]]; then
	rev+=+changes
fi
startup=$(awk -F, 'NR > 1 && $6 == 0 { s += $4; n++ } END { if (n) printf "%.2f", s / n }' "$out/startup.csv")
machine="Machine: $(nproc) CPUs ($model), Linux $(uname -r), data on $fstype ($fsdev), $(fio --version), glibc $glibc_v, kaio $rev."
runline="Run: $(date -u +%F), $mode mode, $reps repetitions x $rt_label per run, ${#used[@]} engines interleaved (order rotated, reversed every second repetition), medians; fio start-up CPU subtracted (mean ${startup:-?} s per run)."
if ((strace)); then
	st_label=${strace_runtime%%[a-z]*} st_unit=${strace_runtime##*[0-9]}
	runline+=" Syscalls per I/O: one run per row and engine under strace -f -c ($st_label ${st_unit:-s})."
fi
if [[ -n $baselib ]]; then
	runline+=" kaio-base: $base_rev."
fi
printf '%s\n%s\n' "$machine" "$runline" >"$out/machine.txt"

plot_note=
if ((have_gnuplot)); then
	awk -F, -v measure=iops -v engines="${used[*]}" -f "$helpers/plotdata.awk" "$out/medians.csv" >"$out/iops.dat"
	awk -F, -v measure=cpu_per_io_us -v engines="${used[*]}" -f "$helpers/plotdata.awk" "$out/medians.csv" >"$out/cpu.dat"
	sub="$(nproc) CPUs, Linux $(uname -r), $fstype, $(fio --version); $reps x $rt_label per engine and workload"
	if ! gnuplot -e "dir='$out'; subtitle='$sub'; ncol=$((${#used[@]} + 1))" "$helpers/plot.gp" 2>"$raw/gnuplot.err"; then
		warnings+=("gnuplot failed: $(tail -n 1 "$raw/gnuplot.err")")
		plot_note="(gnuplot failed: no plot)"
	fi
else
	plot_note="(gnuplot not installed: no plot; apt-get install gnuplot-nox)"
fi

"$helpers/README-table.sh" "$out" >"$out/README-block.md"
echo
echo "----- README block ($out/README-block.md) -----"
cat "$out/README-block.md"
echo "-----"
echo
if [[ -n $plot_note ]]; then
	echo "Wrote $out/results.csv, $out/medians.csv $plot_note"
else
	echo "Wrote $out/results.csv, $out/medians.csv and $out/bench.png"
fi
if ((publish)); then
	mkdir -p "$root/docs"
	cp "$out/bench.png" "$root/docs/bench.png"
	cp "$out/README-block.md" "$root/docs/bench.md"
	cp "$out/medians.csv" "$root/docs/bench.csv"
	echo "Published docs/bench.png, docs/bench.md, docs/bench.csv"
fi
if ((${#warnings[@]})); then
	echo
	echo "Warnings:"
	printf '  %s\n' "${warnings[@]}"
fi
echo "Benchmark runs took ${bench_s} s, the syscall pass ${strace_s} s (total $SECONDS s)."
echo
echo "Targets: every row where kaio's median IOPS is below glibc's (ratios of medians, this run):"
awk -F, -v which=below -f "$helpers/table.awk" "$out/medians.csv"
if [[ -n $baselib ]]; then
	echo
	echo "A/B: rows where kaio is slower than kaio-base ($base_rev): median ratio < 0.95 and below 1 in every one of 3 or more repetitions:"
	awk -F, -v which=slower -f "$helpers/table.awk" "$out/medians.csv"
fi
if ((${#verify_failures[@]})); then
	{
		echo
		echo "!!!!! VERIFY ERRORS: fio read back data that differs from what it wrote !!!!!"
		printf '  %s\n' "${verify_failures[@]}"
		echo "!!!!! the benchmark FAILED !!!!!"
	} >&2
fi
exit "$failed"
