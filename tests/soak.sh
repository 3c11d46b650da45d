#!/usr/bin/env bash
# Soak: fio's posixaio engine under kaio for a long time, with data
# verification, watching the process's memory.
#
#   tests/soak.sh BUILD_DIR [SECONDS]      (default 600)
#
# Each half (buffered, then O_DIRECT; only buffered if SECONDS is short) runs
# fio three times, always --ioengine=posixaio under BUILD_DIR/kaio, 4 job
# processes (no --thread: the processes are fio's own), 4 KiB blocks,
# iodepth 16, 64 MiB per job, crc32c headers in every block:
#   1. fill:   every block written once, so every block carries a header;
#   2. soak:   --rw=randrw, time based, verify_backlog: writes are read back
#              and checked while the mix goes on (stale or lost data too,
#              since fio knows what it last wrote where);
#   3. verify: every block of every file read back and checked (crc, offset
#              in the header): the "verified bytes" printed are this
#              phase's read bytes, exact, from fio's JSON.
# During the soak phase the RSS of fio's processes (VmRSS, summed over the
# parent and its job processes) is sampled every 2 s: the first value is
# taken once 60 s have passed (10% of the phase, at least 5 s, for phases
# under 3 minutes), the end value from the last sample before the phase ends. A half
# passes iff fio exits 0 in all three phases, no verify error is reported,
# and end RSS <= first RSS * 1.05 + 2 MiB (the slack covers fio's own
# per-sample noise: its stat buffers and page-touched heap).
# Then tests/diff.sh (differential kaio-vs-glibc test) for a share of the
# time, under load: one busy loop per CPU (nice 10) and a file rewritten
# with fdatasync in a loop run beside it, so the generator's threads are
# preempted at random points and cold reads wait for a busy disk:
#   tests/diff.sh LIBKAIO.so BUILD_DIR/diff/gen --mode MODES --time S
# KAIO_SOAK_DIFF_SHARE  percent of SECONDS for it (default 20; 100: no fio);
# KAIO_SOAK_DIFF_MODES  its modes (default threads,threads-cold);
# KAIO_SOAK_LOAD=0      no load beside it.
# Scratch files go to ${KAIO_TEST_DIR:-BUILD_DIR} (not tmpfs: O_DIRECT there
# is synchronous). Last line: "soak: N passed, M failed".
set -uo pipefail

if (($# < 1 || $# > 2)); then
	echo "usage: $0 BUILD_DIR [SECONDS]" >&2
	exit 2
fi
build=$(realpath -e "$1") || exit 2
total=${2:-600}
[[ $total =~ ^[0-9]+$ ]] && ((total >= 20)) || { echo "$0: SECONDS must be an integer >= 20" >&2; exit 2; }
kaio=$build/kaio
here=$(dirname "$(realpath "$0")")
command -v fio >/dev/null || { echo "$0: fio is not installed" >&2; exit 1; }
[ -x "$kaio" ] || { echo "$0: no wrapper $kaio (make first)" >&2; exit 1; }
unset KAIO_QUEUE_DEPTH KAIO_STATS KAIO_DEBUG LD_PRELOAD
# The wrapper knows its library; set it anyway when the build dir holds one
# (a build with an absolute B= gets a wrong path baked into build/kaio).
[ -f "$build/libkaio.so" ] && export KAIO_LIB=$build/libkaio.so

tmp=$(mktemp -d "${KAIO_TEST_DIR:-$build}/soak.XXXXXX") || exit 2
fiopid=
cleanup() {
	[ -n "$fiopid" ] && kill "$fiopid" 2>/dev/null
	declare -F load_stop >/dev/null && load_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/lib.sh
. "$here/lib.sh"

# Time: a share for tests/diff.sh, the rest for fio, split in a buffered and
# an O_DIRECT half when each half gets at least 30 s.
share=${KAIO_SOAK_DIFF_SHARE:-20}
diff_modes=${KAIO_SOAK_DIFF_MODES:-threads,threads-cold}
if ! [[ $share =~ ^[0-9]+$ ]] || ((share > 100)); then
	echo "$0: KAIO_SOAK_DIFF_SHARE must be a percentage (0 to 100)" >&2
	exit 2
fi
gen=$build/diff/gen
diff_t=0
[ -x "$here/diff.sh" ] && [ -x "$gen" ] && [ -x "$build/diff/mt" ] && diff_t=$((total * share / 100))
fio_t=$((total - diff_t))
if ((fio_t >= 60)); then
	halves=(buffered direct)
	half_t=$((fio_t / 2))
elif ((fio_t >= 10)); then
	halves=(buffered)
	half_t=$fio_t
else
	halves=()
	echo "SKIP: fio: KAIO_SOAK_DIFF_SHARE=$share leaves it ${fio_t}s"
fi

jobs=4 size_mb=64
common=(--directory="$tmp" --ioengine=posixaio "--numjobs=$jobs" "--size=${size_mb}m" --bs=4k
	--iodepth=16 --verify=crc32c --verify_fatal=1 --verify_state_save=0
	--group_reporting --output-format=json)

# json FILE FIELD: error, read or write (bytes) of the group-reported job.
json() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    text = open(sys.argv[1]).read()
    d = json.loads(text[text.index("{"):])
    j = d["jobs"][0]
    f = sys.argv[2]
    print(j["error"] if f == "error" else j[f]["io_bytes"])
except Exception:
    print("?")
EOF
}

# rss PID: VmRSS in KiB of PID and its children (fio's job processes).
rss() {
	local sum=0 p v
	for p in "$1" $(pgrep -P "$1"); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# phase NAME ARGS...: one fio run under kaio; sets $rc, output in $tmp/NAME.*
phase() {
	local name=$1
	shift
	rc=0
	"$kaio" fio --name=soak "${common[@]}" "$@" >"$tmp/$name.json" 2>"$tmp/$name.err" || rc=$?
}

verify_clean() { # FILE: no verify complaint in fio's stderr
	! grep -qiE 'verify|crc32c|bad magic|bad header' "$1"
}

for half in ${halves[@]+"${halves[@]}"}; do
	direct=0
	[ "$half" = direct ] && direct=1
	what="posixaio under kaio, $half"
	rm -f "$tmp"/soak.*.*

	phase "$half-fill" --direct=$direct --rw=write --do_verify=0
	if ((rc != 0)); then
		fail "$what: fill" "fio exit $rc: $(tail -n 3 "$tmp/$half-fill.err")"
		continue
	fi

	# The soak phase, in the background, sampled every 2 s.
	# The first RSS sample: after a minute, or 10% of a short phase.
	warm=60
	((half_t < 180)) && warm=$((half_t / 10))
	((warm < 5)) && warm=5
	"$kaio" fio --name=soak "${common[@]}" --direct=$direct --rw=randrw \
		--verify_backlog=1024 --time_based --runtime="$half_t" \
		>"$tmp/$half-soak.json" 2>"$tmp/$half-soak.err" &
	fiopid=$!
	start=$SECONDS first="" last="" peak=0
	while kill -0 "$fiopid" 2>/dev/null; do
		sleep 2
		t=$((SECONDS - start))
		((t >= half_t)) && break
		v=$(rss "$fiopid")
		((v > 0)) || continue
		[ -z "$first" ] && ((t >= warm)) && first=$v first_t=$t
		last=$v last_t=$t
		((v > peak)) && peak=$v
	done
	rc=0
	wait "$fiopid" || rc=$?
	fiopid=
	err=$(json "$tmp/$half-soak.json" error)
	rb=$(json "$tmp/$half-soak.json" read)
	wb=$(json "$tmp/$half-soak.json" write)
	if ((rc == 0)) && [ "$err" = 0 ]; then
		pass "$what: soak ${half_t}s randrw, fio exits 0 (read $rb B incl. backlog verify, write $wb B)"
	else
		fail "$what: soak ${half_t}s randrw, fio exits 0" "exit $rc, error $err: $(tail -n 3 "$tmp/$half-soak.err")"
	fi
	if verify_clean "$tmp/$half-soak.err"; then
		pass "$what: no verify error during the soak"
	else
		fail "$what: no verify error during the soak" "$(grep -iE -m 3 'verify|crc32c|bad magic|bad header' "$tmp/$half-soak.err")"
	fi
	if [ -z "$first" ] || [ -z "$last" ] || ((last_t <= first_t)); then
		fail "$what: RSS steady" "too few samples (first ${first:-none}, end ${last:-none})"
	else
		limit=$((first * 105 / 100 + 2048))
		line="RSS first ${first} KiB at ${first_t}s, end ${last} KiB at ${last_t}s, peak ${peak} KiB, limit ${limit} KiB"
		if ((last <= limit)); then pass "$what: $line"; else fail "$what: RSS steady" "$line"; fi
	fi

	phase "$half-verify" --direct=$direct --rw=read
	vb=$(json "$tmp/$half-verify.json" read)
	err=$(json "$tmp/$half-verify.json" error)
	want=$((jobs * size_mb * 1024 * 1024))
	if ((rc == 0)) && [ "$err" = 0 ] && [ "$vb" = "$want" ] && verify_clean "$tmp/$half-verify.err"; then
		pass "$what: verified $vb bytes read back (every block of $jobs x $size_mb MiB)"
	else
		fail "$what: verified every block" "exit $rc, error $err, read ${vb} of $want B: $(grep -iE -m 3 'verify|crc32c|bad|error' "$tmp/$half-verify.err")"
	fi
done

# load_start: the load beside tests/diff.sh; load_stop ends it.
loadpids=()
load_start() {
	local i n
	n=$(nproc)
	for ((i = 0; i < n; i++)); do
		nice -n 10 bash -c 'while :; do :; done' &
		loadpids+=($!)
	done
	# shellcheck disable=SC2016 # $1 is the inner shell's
	nice -n 10 bash -c 'while :; do dd if=/dev/zero of="$1" bs=1M count=32 conv=fdatasync status=none; done' \
		load "$tmp/load" &
	loadpids+=($!)
	echo "load: $n busy loops and a 32 MiB file rewritten with fdatasync, at nice 10"
}
load_stop() {
	local p
	for p in ${loadpids[@]+"${loadpids[@]}"}; do kill "$p" 2>/dev/null; done
	for p in ${loadpids[@]+"${loadpids[@]}"}; do wait "$p" 2>/dev/null; done
	loadpids=()
	rm -f "$tmp/load"
}

if ((diff_t > 0)); then
	echo "== tests/diff.sh --mode $diff_modes for ${diff_t}s"
	[ "${KAIO_SOAK_LOAD:-1}" = 0 ] || load_start
	rc=0
	TMPDIR=$tmp "$here/diff.sh" "$build/libkaio.so" "$gen" --mode "$diff_modes" --time "$diff_t" || rc=$?
	load_stop
	if ((rc == 0)); then
		pass "tests/diff.sh --mode $diff_modes, ${diff_t}s"
	else
		fail "tests/diff.sh --mode $diff_modes, ${diff_t}s" "exit $rc"
	fi
elif ((share == 0)); then
	echo "SKIP: tests/diff.sh: KAIO_SOAK_DIFF_SHARE=0"
else
	echo "SKIP: tests/diff.sh: no generators $gen and $build/diff/mt (make B=$build _soak builds them)"
fi

summary soak
