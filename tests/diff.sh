#!/bin/bash
# Differential test: the same random POSIX AIO program (tests/diff/gen.c or mt.c),
# seed by seed, under glibc and under kaio; exit codes and output must match,
# and the kaio run's KAIO_STATS line must show kaio served it (kernel+inline>0,
# glibc=0, a kernel context).
#
#   tests/diff.sh LIBKAIO.so GEN [--mode LIST] [--seeds N] [--first S] [--time SECONDS]
#
# GEN is tests/diff/gen.c's program; the thread generator (tests/diff/mt.c)
# is the program mt next to it. A mode says which program runs and under
# which kaio settings (each one compared with the one glibc run):
#   plain         gen SEED DIR: 1 to 4 threads, each on files of its own;
#                 kaio with the default and with KAIO_INLINE=0 (no hit path)
#   cold          gen -c: page cache dropped at random steps; kaio with
#                 KAIO_URING=0 KAIO_INLINE=0 and with the default
#   threads       mt: 2 to 4 threads on shared and separate fds; kaio with
#                 the default, with KAIO_QUEUE_DEPTH=4 (requests queue
#                 beyond the ring, so cancels can take them back) and with
#                 KAIO_INLINE=0
#   threads-cold  mt -c; kaio with KAIO_URING=0 KAIO_INLINE=0 and with the
#                 default
# --mode LIST  modes, comma-separated, each MODE or MODE:N (N seeds of it);
#              default plain:400,threads:70,cold:30,threads-cold:30
#              (plain: about 30 s on 2 idle cores; the other three about
#              0.7 times as long again).
# --seeds N    seeds of each mode given without :N, from --first (default 1).
# --time S     seeds from --first until S seconds are used up, every listed
#              mode for each seed (make soak; the :N counts are ignored).
# Seeds run in 2 parallel workers. Environment: TMPDIR (scratch space; when
# it is tmpfs, where dropping the cache means nothing, the directory of
# LIBKAIO.so is used instead), KAIO_DIFF_TIMEOUT (seconds per run, default
# 60), KAIO_DIFF_JOBS (workers).
# A failure prints the mode, the seed, the kaio settings, the first differing
# line and the commands that reproduce it. Last line: "diff: N passed,
# M failed, K skipped" (one per mode and seed). Exit 0 iff nothing failed.

set -u

usage() {
	echo "usage: $0 LIBKAIO.so GEN [--mode LIST] [--seeds N] [--first S] [--time SECONDS]" >&2
	exit 2
}

[ $# -ge 2 ] || usage
lib=$(realpath -e "$1") || { echo "diff.sh: no library $1" >&2; exit 2; }
gen=$(realpath -e "$2") || { echo "diff.sh: no generator $2" >&2; exit 2; }
shift 2
modes=plain:400,threads:70,cold:30,threads-cold:30 seeds=1 first=1 time=
while [ $# -gt 0 ]; do
	case $1 in
	--mode) modes=${2:?}; shift 2 ;;
	--seeds) seeds=${2:?}; shift 2 ;;
	--first) first=${2:?}; shift 2 ;;
	--time) time=${2:?}; shift 2 ;;
	*) usage ;;
	esac
done
[[ $seeds =~ ^[0-9]+$ && $first =~ ^[0-9]+$ && ${time:-0} =~ ^[0-9]+$ ]] || usage
timeout=${KAIO_DIFF_TIMEOUT:-60}
jobs=${KAIO_DIFF_JOBS:-2}
mt=$(dirname "$gen")/mt

# mode_args MODE: sets prog, args and variants (kaio environments, ";"
# between them, "-" for none) for MODE; fails for an unknown mode.
mode_args() {
	case $1 in
	plain) prog=$gen args='' variants="-;KAIO_INLINE=0" ;;
	cold) prog=$gen args=-c variants="KAIO_URING=0 KAIO_INLINE=0;-" ;;
	threads) prog=$mt args='' variants="-;KAIO_QUEUE_DEPTH=4;KAIO_INLINE=0" ;;
	threads-cold) prog=$mt args=-c variants="KAIO_URING=0 KAIO_INLINE=0;-" ;;
	*) return 1 ;;
	esac
}

names=() counts=()
IFS=, read -ra list <<<"$modes"
for m in "${list[@]}"; do
	name=${m%%:*} n=$seeds
	[[ $m == *:* ]] && n=${m#*:}
	mode_args "$name" || { echo "diff.sh: unknown mode $name" >&2; usage; }
	[[ $n =~ ^[0-9]+$ ]] || usage
	[ -x "$prog" ] || { echo "diff.sh: mode $name needs $prog (make first)" >&2; exit 2; }
	names+=("$name") counts+=("$n")
done

# Scratch space on a file system with a page cache to drop.
base=${TMPDIR:-/tmp}
case $(stat -f -c %T "$base" 2>/dev/null) in
tmpfs | ramfs) base=$(dirname "$lib") ;;
esac
tmp=$(mktemp -d "$base/kaio-diff.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
echo "scratch in $base ($(stat -f -c %T "$base"))"
start=$SECONDS

# run_seed MODE SEED: glibc once, kaio once per variant, compared; writes
# "pass", "skip: why" or a FAIL report to $tmp/MODE.SEED.res, and cold
# mode's cache-miss counts to $tmp/MODE.SEED.cold.
run_seed() {
	local mode=$1 s=$2 d=$tmp/$1.$2 g grc krc v kenv line gl kl res=pass repro st served
	local prog args variants
	mode_args "$mode"
	mkdir -p "$d/glibc"
	g=$d/glibc.out
	# shellcheck disable=SC2086 # $args is empty or one flag
	timeout -k 5 "$timeout" env -u LD_PRELOAD DIFF_IMPL=glibc \
		"$prog" $args "$s" "$d/glibc" >"$g" 2>"$d/glibc.err" </dev/null
	grc=$?
	if [ "$grc" = 77 ]; then
		echo "skip: $mode: $(grep -m1 '^skip:' "$g" | sed 's/^skip: //')" >"$tmp/$mode.$s.res"
		rm -rf "$d"
		return
	fi
	IFS=';' read -ra vs <<<"$variants"
	for v in "${vs[@]}"; do
		kenv=()
		# shellcheck disable=SC2206 # a variant is words of NAME=VALUE
		[ "$v" = - ] || kenv=($v)
		rm -rf "$d/kaio"
		mkdir -p "$d/kaio"
		local k=$d/kaio.out
		# shellcheck disable=SC2086
		timeout -k 5 "$timeout" env DIFF_IMPL=kaio KAIO_STATS=1 "${kenv[@]}" \
			LD_PRELOAD="$lib" "$prog" $args "$s" "$d/kaio" >"$k" 2>"$d/kaio.err" </dev/null
		krc=$?
		grep -h '^cold:' "$d/glibc.err" "$d/kaio.err" >>"$tmp/$mode.$s.cold" 2>/dev/null
		# kaio must have served its run: a KAIO_STATS line with
		# kernel+inline > 0, glibc=0 and no kernel context error
		st=$(grep -a '^kaio: kernel=' "$d/kaio.err")
		served=
		[[ $st =~ ^kaio:\ kernel=([0-9]+)\ inline=([0-9]+)\  ]] &&
			((BASH_REMATCH[1] + BASH_REMATCH[2] > 0)) &&
			[[ $st == *" glibc=0 "* && $st == *" ctx_error=0 "* ]] && served=1
		if [ "$grc" = "$krc" ] && cmp -s "$g" "$k"; then
			[ -n "$served" ] && continue
			echo "FAIL $mode seed $s, kaio ${kenv[*]:-with the default settings}: same output, but kaio did not serve its run: ${st:-no KAIO_STATS line}" >>"$d/fail"
			res=fail
			continue
		fi
		line=$(cmp "$g" "$k" 2>/dev/null | sed -n 's/.* line \([0-9]*\).*/\1/p')
		# No line: one output is a prefix of the other (a crash, a STUCK
		# exit), or they match: the first line only one of them has.
		if [ -z "$line" ]; then
			line=$(wc -l <"$g")
			(($(wc -l <"$k") < line)) && line=$(wc -l <"$k")
			line=$((line + 1))
		fi
		gl=$(sed -n "${line}p" "$g") kl=$(sed -n "${line}p" "$k")
		repro="mkdir -p $base/g $base/k && DIFF_IMPL=glibc $prog${args:+ $args} $s $base/g > glibc.out;"
		repro+=" DIFF_IMPL=kaio ${kenv[*]:+${kenv[*]} }LD_PRELOAD=$lib $prog${args:+ $args} $s $base/k > kaio.out;"
		repro+=" diff glibc.out kaio.out"
		{
			echo "FAIL $mode seed $s, kaio ${kenv[*]:-with the default settings}: first differing line $line: ${gl:-<end of output>} / ${kl:-<end of output>}"
			echo "    exit status: glibc $grc, kaio $krc"
			# Without a kernel AIO context kaio hands every request to
			# glibc, and the kaio-only steps then go wrong: say so.
			grep -q 'ctx_error=[^0]' "$d/kaio.err" &&
				echo "    kaio got no kernel AIO context ($(grep -o 'ctx_error=[^ ]*' "$d/kaio.err")): glibc served that run (fs.aio-max-nr used up by another process?)"
			# Stderr without the log a STUCK run dumps there (its
			# "pending" lines stay: what the thread waited for).
			grep -sv '^[0-9]\.[0-9]\{4\} ' "$d/kaio.err" | sed 's/^/    kaio stderr: /' | head -n 8
			grep -sv '^[0-9]\.[0-9]\{4\} ' "$d/glibc.err" | sed 's/^/    glibc stderr: /' | head -n 8
			echo "    reproduce: $repro"
			[ "$prog" = "$mt" ] &&
				echo "    (threads interleave differently each run: repeat the kaio run until it differs)"
		} >>"$d/fail"
		res=fail
	done
	if [ "$res" = pass ]; then echo pass; else cat "$d/fail"; fi >"$tmp/$mode.$s.res"
	rm -rf "$d"
}

# The work: "MODE SEED" lines, worker w takes lines w, w+jobs, ...; with
# --time, seeds from first+w, each one in every mode, until time is up.
tasks=$tmp/tasks
for i in "${!names[@]}"; do
	for ((s = first; s < first + counts[i]; s++)); do echo "${names[i]} $s"; done
done >"$tasks"

worker() {
	local w=$1 n=0 mode s
	if [ -n "$time" ]; then
		s=$((first + w))
		while [ $((SECONDS - start)) -lt "$time" ]; do
			for mode in "${names[@]}"; do
				[ $((SECONDS - start)) -lt "$time" ] || break
				run_seed "$mode" "$s"
			done
			s=$((s + jobs))
		done
		return
	fi
	while read -r mode s; do
		[ $((n++ % jobs)) = "$w" ] && run_seed "$mode" "$s"
	done <"$tasks"
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

npass=0 nfail=0 nskip=0
declare -A mp mf ms skipwhy
while read -r f; do
	m=${f##*/}
	m=${m%%.*}
	r=$(cat "$f")
	case $r in
	pass) npass=$((npass + 1)) mp[$m]=$((${mp[$m]:-0} + 1)) ;;
	skip:*) nskip=$((nskip + 1)) ms[$m]=$((${ms[$m]:-0} + 1)) skipwhy[$m]=$r ;;
	*) echo "$r"; nfail=$((nfail + 1)) mf[$m]=$((${mf[$m]:-0} + 1)) ;;
	esac
done < <(find "$tmp" -maxdepth 1 -name '*.res' | sort -V)
for m in "${names[@]}"; do
	echo "$m: ${mp[$m]:-0} passed, ${mf[$m]:-0} failed, ${ms[$m]:-0} skipped${skipwhy[$m]:+ (${skipwhy[$m]})}"
	if [[ $m == *cold ]] && [ "${mp[$m]:-0}" != 0 ]; then
		cat "$tmp/$m".*.cold 2>/dev/null | awk -v m="$m" '
			{ miss += $2; all += $4 }
			END { printf "%s: %d of %d buffered reads began with pages out of the cache\n", m, miss, all }'
	fi
done
echo "seeds from $first: $((npass + nfail + nskip)) runs in $((SECONDS - start)) s"
echo "diff: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" = 0 ]
