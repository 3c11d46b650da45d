#!/usr/bin/env bash
# Usage: scripts/bench.sh BUILD_DIR [quick|full] [--publish]
#   (make bench: scripts/bench.sh build quick; make bench-full: ... full)
#
# fio 4 KiB random I/O with six engines: fio's posixaio engine under glibc,
# under kaio (BUILD_DIR/kaio, KAIO_URING unset: kaio's default) and under kaio
# with KAIO_URING=0 (kaio-nouring), fio's libaio and io_uring engines, and psync.
# Workloads:
#   read-direct-qd1/8/32/128, write-direct-qd1/32   O_DIRECT, one 1 GiB file
#   read-cached-qd1/32     buffered, a 256 MiB file held in the page cache
#   read-direct-qd32-4fd   O_DIRECT, QD 32 spread over 4 files (glibc runs one
#                          request per fd at a time: 4 in flight instead of 1)
#   read-{direct,cached}-qd32-{2,4}j   thread scaling: the qd32 rows with 2 and
#                          4 job threads (--numjobs, QD 32 each); the qd32
#                          rows are the 1-thread points
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
# fio's random map reads each block at most once per pass, so the cold rows
# read only uncached blocks; each records the data disk's reads per fio read
# (about 1 when cold).
# In each repetition every workload runs every engine, the engine order rotated
# from one repetition (and workload) to the next; the tables hold medians.
#   quick: 2 repetitions x 0.3 s per run (about 3 minutes)
#   full:  3 repetitions x 5 s per run (about 30 minutes)
# KAIO_BENCH_REPS and KAIO_BENCH_RUNTIME (fio syntax: 5, 500ms) override them;
# KAIO_BENCH_ENGINES and KAIO_BENCH_WORKLOADS select a subset (names as above).
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
# shared with scripts/demo.sh), kaio-bench-cached.dat and kaio-bench-fd{0..3}.dat
# (256 MiB each), kaio-bench-cold.dat (4 GiB) and kaio-bench-cold{0..3}.dat
# (1 GiB each), made from /dev/urandom when a selected workload needs them and
# reused while their size is right; kaio-bench-verify.{0..3} (made by fio).
# The data directory must support O_DIRECT (not tmpfs).
#
# Writes BUILD_DIR/bench/: results.csv (one row per engine x workload x
# repetition), startup.csv, medians.csv, bench.png (if gnuplot is installed),
# machine.txt, README-block.md (printed at the end; also
# scripts/bench/README-table.sh BUILD_DIR/bench), raw/ (every run's output).
# --publish also copies bench.png, README-block.md and medians.csv to
# docs/bench.png, docs/bench.md and docs/bench.csv.
# Exit status: 0, or 1 if a run failed (the others are still reported) or a
# verify error happened.
set -euo pipefail

usage() {
	echo "usage: $0 BUILD_DIR [quick|full] [--publish]" >&2
	exit 2
}

build= mode=quick publish=0
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
quick) reps=2 runtime=300ms verify_mib=8 ;;
full) reps=3 runtime=5 verify_mib=64 ;;
esac
reps=${KAIO_BENCH_REPS:-$reps}
runtime=${KAIO_BENCH_RUNTIME:-$runtime}
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "bench: KAIO_BENCH_REPS must be a positive integer" >&2; exit 2; }
[[ $runtime =~ ^[1-9][0-9]*(ms|s)?$ ]] || { echo "bench: KAIO_BENCH_RUNTIME: e.g. 5 or 500ms" >&2; exit 2; }
rt_label=${runtime%%[a-z]*} rt_unit=${runtime##*[0-9]}
rt_label+=" ${rt_unit:-s}"

kaio=$build/kaio
runstat=$build/runstat
for f in "$kaio" "$runstat"; do
	[[ -x $f ]] || { echo "bench: $f is missing: run make first" >&2; exit 1; }
done
[[ -f $build/libkaio.so ]] || { echo "bench: $build/libkaio.so is missing: run make first" >&2; exit 1; }
command -v fio >/dev/null || { echo "bench: fio is not installed (apt-get install fio)" >&2; exit 1; }
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
fds=("$dir"/kaio-bench-fd{0,1,2,3}.dat)
cold=$dir/kaio-bench-cold.dat
coldfds=("$dir"/kaio-bench-cold{0,1,2,3}.dat)
verify_files=("$dir"/kaio-bench-verify.{0,1,2,3})
mib=$((1024 * 1024))

engines=(glibc kaio kaio-nouring libaio io_uring psync)
workloads=(read-direct-qd1 read-direct-qd8 read-direct-qd32 read-direct-qd128
	write-direct-qd1 write-direct-qd32 read-cached-qd1 read-cached-qd32
	read-direct-qd32-4fd read-direct-qd32-2j read-direct-qd32-4j
	read-cached-qd32-2j read-cached-qd32-4j
	read-cold-qd16 read-cold-qd16-4fd read-cold-qd8-4j randrw-cold-qd64-4j-verify)

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
fi
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
wanted read-cached-qd1 read-cached-qd32 read-cached-qd32-2j read-cached-qd32-4j && files+=("$cached 256")
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

# wl_args WORKLOAD: sets args to the workload's fio options.
wl_args() {
	local qd jobs=1 IFS=:
	[[ $1 =~ -qd([0-9]+) ]] && qd=${BASH_REMATCH[1]}
	[[ $1 =~ -([0-9]+)j(-|$) ]] && jobs=${BASH_REMATCH[1]}
	case $1 in
	read-direct-qd32-4fd) args=(--rw=randread --direct=1 "--filename=${fds[*]}" --size=1g) ;;
	read-direct-*) args=(--rw=randread --direct=1 "--filename=$big" --size=1g) ;;
	write-direct-*) args=(--rw=randwrite --direct=1 "--filename=$big" --size=1g) ;;
	# fio's default invalidate=1 would drop the file from the page cache.
	read-cached-*) args=(--rw=randread --direct=0 --invalidate=0 "--filename=$cached" --size=256m) ;;
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
	args+=("--iodepth=$qd" "--numjobs=$jobs" "--runtime=$runtime" --time_based)
}

# tests/env.sh lowers fs.aio-max-nr for a moment (no process gets an AIO context
# then) under an exclusive flock on this file: each run holds it shared.
lockfile=/tmp/kaio-aio-max-nr.lock
have_lock=0
if command -v flock >/dev/null && touch "$lockfile" 2>/dev/null && [[ -w $lockfile ]]; then
	exec 8>>"$lockfile"
	have_lock=1
fi

# run_fio TAG ENGINE FIO_ARGS...: one fio run; its output in $raw/TAG.*
run_fio() {
	local tag=$1 engine=$2 ioengine=$2
	shift 2
	local -a pre=()
	case $engine in
	glibc) ioengine=posixaio ;;
	# kaio's default for KAIO_URING, whatever the caller's environment says.
	kaio) ioengine=posixaio pre=(env -u KAIO_URING "$kaio" -s) ;;
	kaio-nouring) ioengine=posixaio pre=(env KAIO_URING=0 "$kaio" -s) ;;
	esac
	if ((have_lock)); then
		flock -s -w 300 8 || true
	fi
	"$runstat" -o "$raw/$tag.stat" "${pre[@]}" fio --name=bench "--ioengine=$ioengine" \
		--bs=4k --thread --group_reporting --output-format=terse --lat_percentiles=1 "$@" \
		>"$raw/$tag.out" 2>"$raw/$tag.err" 8>&- || true
	if ((have_lock)); then
		flock -u 8
	fi
}

# Percentage of the cached file in the page cache ("" without fincore).
cache_pct() {
	((have_fincore)) || return 0
	fincore --bytes --noheadings --output RES "$cached" 2>/dev/null |
		awk -v s=$((256 * mib)) '{ printf "%.1f", 100 * $1 / s }'
}

stat_field() { # stat_field FILE KEY
	awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$1" 2>/dev/null
}

cols="seq,rep,workload,engine,status,iops,lat_avg_us,lat_p99_us,ios,wall_s,cpu_user_s,cpu_sys_s,cpu_base_s,cpu_per_io_us,cpu_per_io_raw_us,threads_max,rss_peak_kb,vsz_peak_kb,cache_pct,kaio_kernel,kaio_sync,kaio_glibc,other_cpu_s,other_ios,shared"
cols+=",iops_w,reads,disk_reads,disk_reads_per_read,verify_errors,kaio_stats"
echo "$cols" >"$out/results.csv"
echo "rep,engine,wall_s,cpu_s,threads_max,exit" >"$out/startup.csv"

rt_s=$(awk -v r="$runtime" 'BEGIN { if (r ~ /ms$/) print r / 1000; else print r + 0 }')
# The verify row is not time based: about 1 s per 12 MiB per job here.
nv=0
wanted randrw-cold-qd64-4j-verify && nv=1
est=$(awk -v n=$((reps * ${#engines[@]} * (${#workloads[@]} + 1))) -v r="$rt_s" -v w=$((reps * (${#workloads[@]} - nv) * ${#engines[@]})) \
	-v v=$((reps * nv * ${#engines[@]})) -v vm="$verify_mib" 'BEGIN { printf "%d", w * r + v * vm / 12 + n * 0.55 }')
echo "kaio bench ($mode): ${#workloads[@]} workloads x ${#engines[@]} engines x $reps repetitions, $rt_label per run, about $est s"
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
		run_fio "$tag" "$e" --rw=randread --direct=1 "--filename=$big" --size=1g --iodepth=1 --io_size=4k
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
		for ((i = 0; i < ${#engines[@]}; i++)); do
			e=${engines[(i + w + rep - 1) % ${#engines[@]}]}
			[[ -z ${dropped[$e]-} ]] || continue
			seq=$((seq + 1))
			tag=rep$rep-$wl-$e
			cache=
			if [[ $wl == read-cached-* ]]; then
				# The VM drops page cache left untouched for about a minute.
				cat "$cached" >/dev/null
				before=$(cache_pct)
			fi
			j0=$(task_jiffies)
			read -r d0 r0 <<<"$(disk_ios)"
			run_fio "$tag" "$e" "${args[@]}"
			j1=$(task_jiffies)
			read -r d1 r1 <<<"$(disk_ios)"
			if [[ $wl == read-cached-* ]]; then
				after=$(cache_pct)
				cache=$(awk -v a="$before" -v b="$after" 'BEGIN { if (a != "" && b != "") print (a < b) ? a : b }')
			fi
			# Every read of a cold row and every I/O of an O_DIRECT row is a
			# disk I/O of its own; the verify row's own share is unknown.
			direct=0 disk=${d0:+$((d1 - d0))} dreads='' expect=''
			[[ $wl != *-direct-* && $wl != read-cold-* ]] || direct=1
			[[ $wl != *-cold-* ]] || dreads=${r0:+$((r1 - r0))}
			if [[ $wl == *-verify ]]; then
				disk=
				# The randrw phase does size/bs I/Os per job, then every
				# written block is read back: reads = 4 jobs x size/bs.
				expect=$((4 * verify_mib * 256))
				# The written blocks go to the disk now, not during the next run.
				sync "${verify_files[@]}" 2>/dev/null || true
			fi
			awk -v seq="$seq" -v rep="$rep" -v workload="$wl" -v engine="$e" -v bs=4096 \
				-v base="${base[$e]}" -v cache="$cache" -v jiffies=$((j1 - j0)) -v disk="$disk" -v direct="$direct" \
				-v dreads="$dreads" -v expect_reads="$expect" -f "$helpers/parse.awk" \
				FS=' ' "$raw/$tag.stat" FS=';' "$raw/$tag.out" FS=' ' "$raw/$tag.err" \
				>>"$out/results.csv" 2>/dev/null ||
				echo "$seq,$rep,$wl,$e,fail:unreadable,,,,,,,,,,,,,,,,,,,,,,,,,," >>"$out/results.csv"
			IFS=, read -r -a row <<<"$(tail -n 1 "$out/results.csv")"
			if [[ ${row[4]} == fail:verify* ]]; then
				failed=1
				verify_failures+=("rep $rep $wl $e: ${row[4]}: $(grep -m 1 -iE 'verify|crc32c|bad magic|bad header' "$raw/$tag.err" 2>/dev/null)")
				echo "bench: VERIFY ERROR: rep $rep $wl $e: ${row[4]} (fio's output: $raw/$tag.err)" >&2
				grep -m 5 -iE 'verify|crc32c|bad magic|bad header' "$raw/$tag.err" 2>/dev/null | sed 's/^/    /' >&2
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
			if [[ $e == kaio* ]] && { [[ -z ${row[19]-} ]] || [[ ${row[21]-0} != 0 ]]; }; then
				warnings+=("rep $rep $wl $e: KAIO_STATS says kernel=${row[19]-?} sync_fallback=${row[20]-?} glibc=${row[21]-?}")
			fi
		done
		echo "$line"
	done
done
bench_s=$SECONDS
busy_runs=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "shared") c = i; next } $c == 1 { n++ } END { print n + 0 }' "$out/results.csv")
if ((busy_runs)); then
	warnings+=("$busy_runs runs shared the machine with other work (over 20% of a CPU, or 2% more disk I/Os than their own: results.csv columns other_cpu_s, other_ios, shared); medians leave them out where a clean repetition exists")
fi

used=()
for e in "${engines[@]}"; do
	[[ -n ${dropped[$e]-} ]] || used+=("$e")
done
awk -F, -v workloads="${workloads[*]}" -v engines="${used[*]}" -f "$helpers/medians.awk" \
	"$out/results.csv" >"$out/medians.csv"

# The machine line and the run line, for the tables and the plot.
model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
glibc_v=$(ldd --version 2>/dev/null | awk 'NR == 1 { print $NF }')
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $rev != unknown && -n "$(git -C "$root" status --porcelain -- src preload 2>/dev/null)" ]]; then
	rev+=+changes
fi
startup=$(awk -F, 'NR > 1 && $6 == 0 { s += $4; n++ } END { if (n) printf "%.2f", s / n }' "$out/startup.csv")
machine="Machine: $(nproc) CPUs ($model), Linux $(uname -r), data on $fstype ($fsdev), $(fio --version), glibc $glibc_v, kaio $rev."
runline="Run: $(date -u +%F), $mode mode, $reps repetitions x $rt_label per run, ${#used[@]} engines interleaved (order rotated), medians; fio start-up CPU subtracted (mean ${startup:-?} s per run)."
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
echo "Benchmark runs took ${bench_s} s (total $SECONDS s)."
if ((${#verify_failures[@]})); then
	{
		echo
		echo "!!!!! VERIFY ERRORS: fio read back data that differs from what it wrote !!!!!"
		printf '  %s\n' "${verify_failures[@]}"
		echo "!!!!! the benchmark FAILED !!!!!"
	} >&2
fi
exit "$failed"
