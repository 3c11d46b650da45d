#!/usr/bin/env bash
# Usage: tests/stats.sh KAIO LIB SERVER   (make check: build/kaio build/libkaio.so build/stats/server)
# KAIO_STATS_FILE and kaio --stats-file / --show-stats, with a server-like
# program (tests/stats/server.c: plain POSIX AIO in a loop until a signal
# with its default disposition ends it, stderr to its own log):
#   - its counters can be read while it runs, by pid and by file, and grow;
#   - after SIGTERM (no atexit handler runs) and SIGKILL the last counters
#     are there, by file and by pid, at least the running ones; the log
#     holds no kaio line;
#   - a server that exits normally under -s: the file holds the line
#     printed on stderr (same fields, same values but lock_max_us);
#   - fork: parent and child each have their own file, the parent's never
#     goes backwards (the child does not write into it); fork + exec too;
#   - keeping the file current makes no system call per request (strace);
#   - a path the library cannot create: one "kaio:" line, the program runs;
#     --show-stats of a pid or file without statistics: exit 1.
# One PASS/FAIL/SKIP line per check, then "N passed, N failed, N skipped".
set -uo pipefail

if (($# != 3)); then
	echo "usage: $0 KAIO LIB SERVER" >&2
	exit 2
fi
kaio=$(realpath -e "$1") lib=$(realpath -e "$2") server=$(realpath -e "$3") || exit 2
unset KAIO_QUEUE_DEPTH KAIO_STATS KAIO_DEBUG KAIO_FALLBACK KAIO_URING KAIO_STATS_FILE LD_PRELOAD
export KAIO_LIB=$lib

# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
aiomax_share

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kaio-stats.XXXXXX") || exit 2
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/data"

# field KEY LINE: KEY's value in a statistics line
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# served LINE: requests served, whatever the path (kernel AIO or a fallback)
served() {
	local n=0 k v
	for k in kernel inline glibc sync_mode sync_fallback; do
		v=$(field "$k" "$1")
		n=$((n + ${v:-0}))
	done
	echo "$n"
}
keys() { tr ' ' '\n' <<<"${1#kaio: }" | sed 's/=.*//' | tr '\n' ' '; }

# until_ok SECONDS CMD...: runs CMD every 50 ms until it succeeds
until_ok() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.05
	done
}
ready() { grep -q '^ready' "$1" && [[ -s $2 ]]; }

# --- a server killed by SIGTERM, then one killed by SIGKILL -------------------
for sig in TERM KILL; do
	log=$tmp/$sig.log out=$tmp/$sig.out
	# -s as well: the user's case; its line is never printed (no atexit)
	"$kaio" -s --stats-file="$tmp/kaio.%p.stats" "$server" "$tmp/data" >"$out" 2>"$log" &
	pid=$!
	pids+=("$pid")
	file=$tmp/kaio.$pid.stats
	if ! until_ok 20 ready "$out" "$file"; then
		fail "SIG$sig: the server under kaio --stats-file made $file" "" "$out" "$log"
		continue
	fi
	l1=$("$kaio" --show-stats "$pid" 2>&1)
	s1=$(served "$l1")
	if [[ $l1 == "kaio: kernel="* && $(field pid "$l1") == "$pid" && $s1 -gt 0 ]]; then
		pass "SIG$sig: kaio --show-stats PID reads the running server's counters (served $s1)"
	else
		fail "SIG$sig: kaio --show-stats PID reads the running server's counters" "got: $l1"
	fi
	sleep 0.3
	l2=$("$kaio" --show-stats "$file" 2>&1)
	s2=$(served "$l2")
	if [[ $(keys "$l2") == "$(keys "$l1")" && $s2 -gt $s1 ]]; then
		pass "SIG$sig: kaio --show-stats FILE, 0.3 s later: the counters grew ($s1 -> $s2)"
	else
		fail "SIG$sig: kaio --show-stats FILE, 0.3 s later: the counters grew" "first: $l1; then: $l2"
	fi
	kill -"$sig" "$pid"
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	want=$((128 + $(kill -l "$sig")))
	if ((rc == want)); then pass "SIG$sig ended the server (status $rc)"; else fail "SIG$sig ended the server" "status $rc, want $want" "$log"; fi
	l3=$(KAIO_STATS_FILE=$tmp/kaio.%p.stats "$kaio" --show-stats "$pid" 2>&1)
	l4=$("$kaio" --show-stats "$file" 2>&1)
	s3=$(served "$l3")
	if [[ $l3 == "$l4" && $(keys "$l3") == "$(keys "$l1")" && $(field pid "$l3") == "$pid" && $s3 -ge $s2 ]]; then
		pass "SIG$sig: the last counters, by pid (KAIO_STATS_FILE) and by file, >= the running ones ($s3)"
	else
		fail "SIG$sig: the last counters, by pid and by file" "by pid: $l3; by file: $l4; running: $l2"
	fi
	if grep -aq 'kaio' "$log"; then fail "SIG$sig: the server's log holds no kaio line" "" "$log"; else pass "SIG$sig: the server's log holds no kaio line"; fi
	echo "    $l4"
done

# --- a normal exit under -s: the file holds the line of stderr -----------------
"$kaio" -s --stats-file="$tmp/" "$server" "$tmp/data" 30 >"$tmp/exit.out" 2>"$tmp/exit.err"
rc=$?
pid=$(sed -n 's/.* pid=\([0-9]*\)$/\1/p' "$tmp/exit.err")
e=$(grep -a '^kaio: kernel=' "$tmp/exit.err")
f=$("$kaio" --show-stats "$tmp/kaio.$pid.stats" 2>&1)
nolock() { sed 's/ lock_max_us=[0-9]*//' <<<"$1"; }
if ((rc == 0)) && [[ -n $e && $(nolock "$e") == "$(nolock "$f")" ]]; then
	pass "exit under -s: the file (a final / in --stats-file) holds the stderr line but lock_max_us"
else
	fail "exit under -s: the file holds the stderr line" "exit $rc; stderr: $e; file: $f"
fi

# --- fork, fork + exec -----------------------------------------------------------
for mode in fork spawn; do
	out=$tmp/$mode.out
	"$kaio" --stats-file="$tmp/$mode.%p" "$server" "$tmp/data" 0 "$mode" >"$out" 2>"$tmp/$mode.err" &
	pid=$!
	pids+=("$pid")
	if ! until_ok 20 grep -q '^child' "$out"; then
		fail "$mode: the server forked" "" "$out" "$tmp/$mode.err"
		continue
	fi
	child=$(sed -n 's/^child //p' "$out")
	pids+=("$child")
	if ! until_ok 20 ready "$out" "$tmp/$mode.$child"; then
		fail "$mode: the child has its own file" "" "$out" "$tmp/$mode.err"
		continue
	fi
	back= last=0
	for _ in 1 2 3 4 5 6; do
		lp=$("$kaio" --show-stats "$tmp/$mode.$pid")
		s=$(served "$lp")
		((s >= last)) || back="$last -> $s"
		last=$s
		sleep 0.1
	done
	lc=$("$kaio" --show-stats "$child")
	if [[ -z $back && $(field pid "$lp") == "$pid" && $(field pid "$lc") == "$child" && $(served "$lc") -gt 0 ]]; then
		pass "$mode: parent and child each have their own file, the parent's never goes back"
	else
		fail "$mode: parent and child each have their own file" "back: ${back:-no}; parent: $lp; child: $lc"
	fi
	kill -TERM "$pid" "$child"
	wait "$pid" 2>/dev/null
done

# --- no system call per request ---------------------------------------------------
if command -v strace >/dev/null && strace -f -qq -o /dev/null true 2>/dev/null; then
	count() {
		strace -f -qq -o "$tmp/trace" env LD_PRELOAD="$lib" "$@" "$server" "$tmp/data" 100 >/dev/null 2>&1
		grep -vc -e '^[0-9]* *+++' -e 'nanosleep' "$tmp/trace"
	}
	without=$(count env)
	with=$(count env KAIO_STATS_FILE="$tmp/trace.%p")
	if ((with - without < 20)); then
		pass "100 rounds (200 requests): $with system calls with KAIO_STATS_FILE, $without without"
	else
		fail "no system call per request with KAIO_STATS_FILE" "$with with, $without without"
	fi
else
	skip "no system call per request" "strace cannot run here"
fi

# --- errors -------------------------------------------------------------------------
LD_PRELOAD=$lib KAIO_STATS_FILE=$tmp/nodir/%p "$server" "$tmp/data" 3 >/dev/null 2>"$tmp/bad.err"
rc=$?
if ((rc == 0)) && [[ $(grep -c '' "$tmp/bad.err") == 1 ]] &&
	grep -q "^kaio: KAIO_STATS_FILE: cannot create $tmp/nodir/[0-9]*: No such file or directory\$" "$tmp/bad.err"; then
	pass "a path that cannot be made: one kaio: line, the program runs"
else
	fail "a path that cannot be made: one kaio: line, the program runs" "exit $rc" "$tmp/bad.err"
fi
"$kaio" --show-stats $$ >"$tmp/none.out" 2>"$tmp/none.err"
rc=$?
if ((rc == 1)) && [[ ! -s $tmp/none.out ]] && grep -q "^kaio: pid $$: no statistics file" "$tmp/none.err"; then
	pass "--show-stats of a pid without a file: exit 1, says so"
else
	fail "--show-stats of a pid without a file: exit 1, says so" "exit $rc" "$tmp/none.out" "$tmp/none.err"
fi
"$kaio" --show-stats "$server" >"$tmp/none.out" 2>"$tmp/none.err"
rc=$?
if ((rc == 1)) && grep -q "not a kaio statistics file" "$tmp/none.err"; then
	pass "--show-stats of another file: exit 1, says so"
else
	fail "--show-stats of another file: exit 1, says so" "exit $rc" "$tmp/none.err"
fi
"$kaio" --stats-file=relative true 2>"$tmp/opt.err"
rc=$?
if ((rc == 125)) && grep -q "^kaio: invalid statistics file 'relative'" "$tmp/opt.err"; then
	pass "--stats-file=relative: exit 125"
else
	fail "--stats-file=relative: exit 125" "exit $rc" "$tmp/opt.err"
fi
KAIO_STATS_FILE=$tmp/nodir/x "$kaio" true 2>"$tmp/opt.err"
rc=$?
if ((rc == 125)) && grep -q "^kaio: KAIO_STATS_FILE: no directory $tmp/nodir\$" "$tmp/opt.err"; then
	pass "KAIO_STATS_FILE in a missing directory: kaio exits 125"
else
	fail "KAIO_STATS_FILE in a missing directory: kaio exits 125" "exit $rc" "$tmp/opt.err"
fi

summary stats
