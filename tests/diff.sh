#!/bin/bash
# Differential test: the same random POSIX AIO program (tests/diff/gen.c),
# seed by seed, under glibc and under kaio; exit codes and output must match,
# and the kaio run's KAIO_STATS line must show kaio served it (kernel>0,
# glibc=0, a kernel context).
#
#   tests/diff.sh LIBKAIO.so GEN [--seeds N] [--first S] [--time SECONDS]
#
# --seeds N   how many seeds, from --first (default 1): default 400, about
#             30 s on 2 cores.
# --time S    run seeds from --first until S seconds are used up (make soak).
# Seeds run in 2 parallel workers. Environment: TMPDIR (scratch space),
# KAIO_DIFF_TIMEOUT (seconds per run, default 60), KAIO_DIFF_JOBS (workers).
# Last line: "diff: N passed, M failed". Exit 0 iff nothing failed.

set -u

usage() {
	echo "usage: $0 LIBKAIO.so GEN [--seeds N] [--first S] [--time SECONDS]" >&2
	exit 2
}

[ $# -ge 2 ] || usage
lib=$(realpath -e "$1") || { echo "diff.sh: no library $1" >&2; exit 2; }
gen=$(realpath -e "$2") || { echo "diff.sh: no generator $2" >&2; exit 2; }
shift 2
seeds=400 first=1 time=
while [ $# -gt 0 ]; do
	case $1 in
	--seeds) seeds=${2:?}; shift 2 ;;
	--first) first=${2:?}; shift 2 ;;
	--time) time=${2:?}; shift 2 ;;
	*) usage ;;
	esac
done
[[ $seeds =~ ^[0-9]+$ && $first =~ ^[0-9]+$ && ${time:-0} =~ ^[0-9]+$ ]] || usage
timeout=${KAIO_DIFF_TIMEOUT:-60}
jobs=${KAIO_DIFF_JOBS:-2}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kaio-diff.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS

# run_seed SEED: runs both, compares; appends "pass" or a FAIL report to
# $tmp/SEED.res.
run_seed() {
	local s=$1 d=$tmp/$1 g k grc krc
	mkdir -p "$d/glibc" "$d/kaio"
	g=$d/glibc.out k=$d/kaio.out
	timeout -k 5 "$timeout" env -u LD_PRELOAD DIFF_IMPL=glibc \
		"$gen" "$s" "$d/glibc" >"$g" 2>"$d/glibc.err" </dev/null
	grc=$?
	timeout -k 5 "$timeout" env DIFF_IMPL=kaio KAIO_STATS=1 LD_PRELOAD="$lib" \
		"$gen" "$s" "$d/kaio" >"$k" 2>"$d/kaio.err" </dev/null
	krc=$?
	# kaio must have served its run: one KAIO_STATS line, kernel>0, glibc=0
	local st served=
	st=$(grep -a '^kaio: kernel=' "$d/kaio.err")
	[[ $st =~ ^kaio:\ kernel=[1-9][0-9]*\  && $st == *" glibc=0 "* && $st == *" ctx_error=0 "* ]] && served=1
	{
		if [ "$grc" = "$krc" ] && cmp -s "$g" "$k" && [ -n "$served" ]; then
			echo pass
		elif [ "$grc" = "$krc" ] && cmp -s "$g" "$k"; then
			echo "FAIL seed $s: same output, but kaio did not serve its run: ${st:-no KAIO_STATS line}"
		else
			local line gl kl
			line=$(cmp "$g" "$k" 2>/dev/null | sed -n 's/.* line \([0-9]*\).*/\1/p')
			if [ -n "$line" ]; then
				gl=$(sed -n "${line}p" "$g") kl=$(sed -n "${line}p" "$k")
			else	# one output is a prefix of the other, or they match
				line=$(( $(wc -l <"$g") + 1 ))
				gl=$(sed -n "${line}p" "$g") kl=$(sed -n "${line}p" "$k")
			fi
			echo "FAIL seed $s: first differing step: ${gl:-<end of output>} / ${kl:-<end of output>}"
			echo "    exit status: glibc $grc, kaio $krc"
			# Without a kernel AIO context kaio hands every request to
			# glibc, and the kaio-only steps then go wrong: say so.
			grep -q 'ctx_error=[^0]' "$d/kaio.err" &&
				echo "    kaio got no kernel AIO context ($(grep -o 'ctx_error=[^ ]*' "$d/kaio.err")): glibc served that run (fs.aio-max-nr used up by another process?)"
			[ -s "$d/kaio.err" ] && sed 's/^/    kaio stderr: /' "$d/kaio.err" | head -n 5
			[ -s "$d/glibc.err" ] && sed 's/^/    glibc stderr: /' "$d/glibc.err" | head -n 5
			echo "    reproduce: mkdir -p /tmp/g /tmp/k &&" \
				"DIFF_IMPL=glibc $gen $s /tmp/g > glibc.out;" \
				"DIFF_IMPL=kaio LD_PRELOAD=$lib $gen $s /tmp/k > kaio.out;" \
				"diff glibc.out kaio.out"
		fi
	} >"$tmp/$s.res"
	rm -rf "$d"
}

# worker W: seeds first+W, first+W+jobs, ... until the count or the time is
# used up.
worker() {
	local s=$(( first + $1 ))
	while :; do
		if [ -n "$time" ]; then
			[ $(( SECONDS - start )) -lt "$time" ] || break
		else
			[ "$s" -lt $(( first + seeds )) ] || break
		fi
		run_seed "$s"
		s=$(( s + jobs ))
	done
}

# tests/env.sh and tests/fault.sh lower fs.aio-max-nr under an exclusive
# lock on this file; while it is held shared here they wait.
lockfile=/tmp/kaio-aio-max-nr.lock
if command -v flock >/dev/null && touch "$lockfile" 2>/dev/null; then
	exec 8>>"$lockfile"
	flock -s -w 300 8 || true
fi
for ((w = 0; w < jobs; w++)); do
	worker "$w" &
done
wait
exec 8>&-

npass=0 nfail=0
while read -r f; do
	if [ "$(cat "$f")" = pass ]; then
		npass=$((npass + 1))
	else
		cat "$f"
		nfail=$((nfail + 1))
	fi
done < <(find "$tmp" -maxdepth 1 -name '*.res' | sort -V)
echo "seeds from $first: $((npass + nfail)) in $(( SECONDS - start )) s"
echo "diff: $npass passed, $nfail failed"
[ "$nfail" = 0 ]
