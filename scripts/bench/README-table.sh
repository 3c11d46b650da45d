#!/usr/bin/env bash
# Usage: scripts/bench/README-table.sh BENCH_DIR [IMAGE_LINK]
# Prints, from BENCH_DIR/medians.csv and BENCH_DIR/machine.txt (both written by
# scripts/bench.sh), a markdown block ready to paste into the README: the
# machine line, kaio's ratios per workload, the full table of medians and the
# image link (default docs/bench.png, where `bench.sh --publish` copies it).
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

cat "$dir/machine.txt"
echo
echo "kaio against glibc's posixaio and fio's libaio engine (ratios of medians; CPU/IO below 1 is better):"
echo
awk -F, -v which=kaio -f "$here/table.awk" "$dir/medians.csv"
echo
echo "Medians, every engine:"
echo
awk -F, -v which=full -f "$here/table.awk" "$dir/medians.csv"
echo
cat <<'EOF'
4 KiB blocks, one fio job run as a thread (`--thread`), so every thread doing
the I/O, glibc's helpers included, is in the one measured process. CPU/IO is
that process's user+sys time (`build/runstat`, from `wait4`) per I/O, minus
the CPU of a one-I/O fio run of the same engine (fio's start-up and exit).
Latency is total latency, submission to completion (`--lat_percentiles=1`).
threads, RSS and VSZ are peaks of the whole process. `direct` rows use
O_DIRECT on a 1 GiB file; `cached` rows read a 256 MiB file held in the page
cache (read fully just before each run); `4fd` spreads QD 32 over 4 files of
256 MiB (round robin): glibc runs one request per fd at a time, so there it
has at most 4 in flight instead of 1. psync is synchronous: fio caps its
queue depth at 1.
EOF
echo
echo "![fio 4 KiB: median IOPS and CPU per I/O per engine]($img)"
