#!/usr/bin/env bash
# Usage: scripts/demo.sh BUILD_DIR      (run by `make demo` as scripts/demo.sh build)
# fio 4 KiB random reads on a 1 GiB file, three ways: fio's posixaio engine
# under glibc, the same under kaio, and fio's libaio engine as the reference.
# Two rows: O_DIRECT at queue depth 32 (5 s each), and buffered reads of data
# that is not in the page cache at queue depth 16 (2 s each; fio drops the
# file's cache first, --invalidate=1, and its random map reads no block twice). Each fio runs under BUILD_DIR/runstat, which
# measures the CPU and threads of the whole process (fio's own usr/sys figures
# count only its own thread). fio runs its job as a thread (--thread) so that
# the job, and glibc's AIO helper threads, are all in the measured process.
# The scratch file goes to ${KAIO_DEMO_DIR:-BUILD_DIR}/kaio-demo.dat and is
# reused while it has the right size.
set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$1
kaio=$build/kaio
runstat=$build/runstat
dir=${KAIO_DEMO_DIR:-$build}
file=$dir/kaio-demo.dat
size=$((1024 * 1024 * 1024))
bs=4096

for f in "$kaio" "$runstat"; do
	[[ -x $f ]] || { echo "demo: $f is missing: run make first" >&2; exit 1; }
done
command -v fio >/dev/null || { echo "demo: fio is not installed" >&2; exit 1; }

mkdir -p "$dir"
if [[ ! -f $file ]] || [[ "$(stat -c %s "$file")" != "$size" ]]; then
	echo "Writing a 1 GiB file of random data: $file (once; reused later)"
	rm -f "$file"
	dd if=/dev/urandom of="$file.tmp" bs=1M count=1024 conv=fsync status=none
	mv -f "$file.tmp" "$file"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

common=(--name=demo "--filename=$file" --size=1g --rw=randread "--bs=$bs" --time_based
	--numjobs=1 --group_reporting --thread --output-format=terse)
direct=(--direct=1 --iodepth=32 --runtime=5)
cold=(--direct=0 --invalidate=1 --iodepth=16 --runtime=2)

# run NAME SECONDS ENGINE [WRAPPER...]: one fio run with "${common[@]}" and
# "${extra[@]}"; results in $tmp/NAME.*
run() {
	local name=$1 secs=$2 engine=$3
	shift 3
	echo "Running fio --ioengine=$engine${1:+ under $(basename "$1")} ($secs s)..."
	"$runstat" -o "$tmp/$name.stat" "$@" fio "--ioengine=$engine" "${common[@]}" "${extra[@]}" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" || true
}

extra=("${direct[@]}")
run glibc 5 posixaio
run kaio 5 posixaio "$kaio"
run libaio 5 libaio
extra=("${cold[@]}")
run cold-glibc 2 posixaio
run cold-kaio 2 posixaio "$kaio"
run cold-libaio 2 libaio

# row NAME LABEL: prints a table row, or why there is none (then returns 1).
# Sets iops[NAME] and cpuio[NAME] for the ratios.
declare -A iops=() cpuio=()
row() {
	local name=$1 label=$2 line
	line=$(awk -F';' -v bs="$bs" '
		FILENAME ~ /stat$/ {
			for (i = 1; i <= NF; i++) { split($i, kv, "="); s[kv[1]] = kv[2] }
			next
		}
		$1 == "3" { err = $5; kb = $6; iops = $8; got = 1 }
		END {
			if (s["exit"] == "" ) { print "fail runstat gave no result"; exit }
			if (s["exit"] != 0) { print "fail exit status " s["exit"]; exit }
			if (!got) { print "fail no terse line from fio"; exit }
			if (err != 0) { print "fail fio error " err; exit }
			ios = kb * 1024 / bs
			cpu = s["cpu_user_s"] + s["cpu_sys_s"]
			if (ios <= 0 || s["wall_s"] <= 0) { print "fail no I/O done"; exit }
			printf "ok %d %.2f %.1f %d\n", iops, cpu * 1e6 / ios, 100 * cpu / s["wall_s"], s["threads_max"]
		}' FS=' ' "$tmp/$name.stat" FS=';' "$tmp/$name.out" 2>/dev/null || echo "fail unreadable results")
	read -r status rest <<<"$line"
	if [[ $status != ok ]]; then
		printf '%-20s %s\n' "$label" "FAILED: $rest"
		sed 's/^/    /' "$tmp/$name.err" | tail -n 5
		return 1
	fi
	local n_iops n_cpuio pct threads
	read -r n_iops n_cpuio pct threads <<<"$rest"
	printf '%-20s %10s %14s %8s %8s\n' "$label" "$n_iops" "$n_cpuio" "$pct" "$threads"
	iops[$name]=$n_iops
	cpuio[$name]=$n_cpuio
}

ratio() {
	local a=$1 b=$2
	awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'
}
# ratios PREFIX: kaio's IOPS and CPU per I/O against glibc and libaio.
ratios() {
	local ref
	for ref in glibc libaio; do
		if [[ -n ${iops[${1}kaio]-} && -n ${iops[$1$ref]-} ]]; then
			printf 'kaio/%-7s IOPS %s, CPU per I/O %s\n' "$ref:" \
				"$(ratio "${iops[${1}kaio]}" "${iops[$1$ref]}")" "$(ratio "${cpuio[${1}kaio]}" "${cpuio[$1$ref]}")"
		fi
	done
}

failed=0
echo
echo "fio randread 4 KiB, O_DIRECT, iodepth 32, 1 job, 5 s; CPU = whole process (user+sys)"
printf '%-20s %10s %14s %8s %8s\n' engine IOPS "CPU/IO (us)" "CPU %" threads
row glibc "posixaio (glibc)" || failed=1
row kaio "posixaio (kaio)" || failed=1
row libaio "libaio (fio)" || failed=1
echo
ratios ""

echo
echo "fio randread 4 KiB, buffered, not in the page cache, iodepth 16, 1 job, 2 s"
printf '%-20s %10s %14s %8s %8s\n' engine IOPS "CPU/IO (us)" "CPU %" threads
row cold-glibc "posixaio (glibc)" || failed=1
row cold-kaio "posixaio (kaio)" || failed=1
row cold-libaio "libaio (fio)" || failed=1
echo
ratios cold-
echo "(one run each; runs vary by about 15%: repeat before drawing conclusions)"
exit "$failed"
