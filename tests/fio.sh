#!/usr/bin/env bash
# Usage: tests/fio.sh KAIO      (make check: tests/fio.sh build/kaio)
# fio's posixaio engine under kaio, with data verification (crc32c), buffered
# and O_DIRECT: every block written is read back and checked. Each run is
# traced with strace to show that kaio really submits to the kernel
# (io_submit) and creates no thread or process: fio's own clones are learned
# from the same job with --ioengine=psync, and a run of posixaio under glibc
# shows that the trace does see AIO helper threads. The same jobs with
# --thread (fio's job then ends with the process, so kaio's KAIO_STATS line
# is printed) must show every I/O in the kernel: kernel >= the I/Os fio
# made, glibc=0, nothing served in the caller.
# Scratch files go to ${KAIO_TEST_DIR:-the directory of KAIO}.
# One PASS/FAIL line per check, then "N passed, N failed".
set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 KAIO" >&2
	exit 2
fi
kaio=$(realpath -s -- "$1")
for tool in fio strace; do
	command -v "$tool" >/dev/null || { echo "$0: $tool is not installed" >&2; exit 1; }
done
unset KAIO_LIB KAIO_QUEUE_DEPTH KAIO_STATS KAIO_DEBUG LD_PRELOAD

tmp=$(mktemp -d "${KAIO_TEST_DIR:-$(dirname "$kaio")}/fio-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
aiomax_share
cd "$tmp" # fio writes *-verify.state files to its working directory

size_kb=$((64 * 1024))
job=(--name=kaio-verify "--size=$((size_kb))k" --bs=4k --iodepth=16 --rw=randwrite
	--verify=crc32c --do_verify=1 --verify_fatal=1 --output-format=terse)

# traced NAME [WRAPPER...] -- FIO-ARGS...: fio under strace; sets $rc.
traced() {
	local name=$1
	shift
	local wrap=()
	while [[ $1 != -- ]]; do wrap+=("$1"); shift; done
	shift
	rc=0
	strace -f -qq -e trace=io_submit,io_getevents,clone,clone3 -o "$name.strace" \
		"${wrap[@]}" fio "--filename=$tmp/$name.dat" "$@" >"$name.out" 2>"$name.err" || rc=$?
	rm -f "$name.dat"
}

# Counts in a trace: threads created (CLONE_THREAD), processes created
# (clone without CLONE_THREAD: fork), successful io_submit calls.
count_threads() { grep -E '^[0-9]+ +clone3?\(' "$1" | grep -c CLONE_THREAD || true; }
count_procs() { grep -E '^[0-9]+ +clone3?\(' "$1" | grep -vc CLONE_THREAD || true; }
count_submits() {
	# "... = N" with N > 0, possibly after an "<... io_submit resumed>" line
	grep -E 'io_submit' "$1" | grep -cE '= [1-9][0-9]*$' || true
}

# What fio clones by itself: the same job with a synchronous engine.
traced psync -- --ioengine=psync "${job[@]}"
if ((rc != 0)); then
	fail "baseline: fio --ioengine=psync runs" "exit $rc: $(tail -n 3 psync.err)"
fi
base_threads=$(count_threads psync.strace)
base_procs=$(count_procs psync.strace)
echo "fio by itself (psync): $base_threads thread(s), $base_procs process(es) created"

# glibc's posixaio: the trace must see its helper thread(s), or the check
# below would prove nothing.
traced glibc -- --ioengine=posixaio "${job[@]}"
glibc_threads=$(count_threads glibc.strace)
if ((rc == 0 && glibc_threads > base_threads)); then
	pass "trace sees glibc's AIO helper threads ($glibc_threads threads vs $base_threads)"
else
	fail "trace sees glibc's AIO helper threads" "exit $rc, $glibc_threads threads vs $base_threads"
fi

for mode in buffered direct; do
	direct=0
	[[ $mode == direct ]] && direct=1
	traced "$mode" "$kaio" -- --ioengine=posixaio "--direct=$direct" "${job[@]}"
	what="posixaio under kaio, $mode"

	if ((rc == 0)); then pass "$what: fio exits 0"; else fail "$what: fio exits 0" "exit $rc: $(tail -n 3 "$mode.err")"; fi

	# terse v3: 5 error, 6 read KiB, 47 write KiB
	err='' rkb='' wkb=''
	read -r err rkb wkb < <(awk -F';' '$1 == "3" { print $5, $6, $47; exit }' "$mode.out") || true
	if [[ ${err-} == 0 && ${wkb-} == "$size_kb" && ${rkb-} == "$size_kb" ]]; then
		pass "$what: wrote and verified $((size_kb / 1024)) MiB, no error"
	else
		fail "$what: wrote and verified $((size_kb / 1024)) MiB, no error" "error=${err-?} write_kb=${wkb-?} read_kb=${rkb-?}"
	fi
	if grep -qiE 'verify|crc32c|bad magic|bad header' "$mode.err"; then
		fail "$what: no verify error in fio's output" "$(grep -iE -m 3 'verify|crc32c|bad magic|bad header' "$mode.err")"
	else
		pass "$what: no verify error in fio's output"
	fi

	submits=$(count_submits "$mode.strace")
	if ((submits > 0)); then pass "$what: io_submit used ($submits calls)"; else fail "$what: io_submit used" "none in the trace"; fi

	threads=$(count_threads "$mode.strace")
	procs=$(count_procs "$mode.strace")
	if ((threads <= base_threads && procs <= base_procs)); then
		pass "$what: no thread or process added ($threads threads, $procs processes; fio alone: $base_threads, $base_procs)"
	else
		fail "$what: no thread or process added" "$threads threads, $procs processes; fio alone: $base_threads, $base_procs"
	fi

	# KAIO_STATS of the same job run as a thread: 4 KiB writes, then the
	# verify reads, all of them in the kernel: kernel AIO, or io_uring for
	# buffered reads that miss the cache (fio drops it before verifying)
	rc=0
	"$kaio" -s fio --thread "--filename=$tmp/$mode-t.dat" --ioengine=posixaio "--direct=$direct" \
		"${job[@]}" >"$mode-t.out" 2>"$mode-t.err" || rc=$?
	rm -f "$mode-t.dat"
	st=$(grep -a '^kaio: kernel=' "$mode-t.err" | tail -n 1 || true)
	stat() { stats_field "$1" "$st"; }
	want=$((2 * size_kb / 4))
	k=$(stat kernel) u=$(stat uring) i=$(stat inline) g=$(stat glibc) sm=$(stat sync_mode) sf=$(stat sync_fallback)
	if ((rc == 0)) && [[ -n $st && $((k + ${u:-0} + ${i:-0})) -ge $want && $g == 0 && $sm == 0 && $sf == 0 ]]; then
		pass "$what, --thread: KAIO_STATS kernel=$k uring=${u:-0} inline=${i:-0} (>= $want I/Os together), glibc=0, no fallback"
	else
		fail "$what, --thread: KAIO_STATS show every I/O served by kaio" "exit $rc; want kernel+uring+inline>=$want glibc=0 sync_mode=0 sync_fallback=0; got: ${st:-no KAIO_STATS line}"
	fi
done

summary
