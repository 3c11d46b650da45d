#!/usr/bin/env bash
# Usage: tests/wrapper.sh KAIO LIB [PROGDIR]
#   (make check: tests/wrapper.sh build/kaio build/libkaio.so build/prog)
# Tests of the wrapper script and of make install/uninstall; with PROGDIR,
# a POSIX AIO program run through the wrapper must be served by kaio
# (KAIO_STATS). One line per check, then "N passed, N failed"; exits
# non-zero if any check failed.
# shellcheck disable=SC2016 # sh -c scripts are single-quoted on purpose
set -euo pipefail

if (($# != 2 && $# != 3)); then
	echo "usage: $0 KAIO LIB [PROGDIR]" >&2
	exit 2
fi
kaio=$(realpath -s -- "$1")
lib=$(realpath -s -- "$2")
progdir=${3:+$(realpath -s -- "$3")}
repo=$(cd "$(dirname "$0")/.." && pwd)
unset KAIO_LIB KAIO_QUEUE_DEPTH KAIO_STATS KAIO_DEBUG KAIO_FALLBACK KAIO_URING LD_PRELOAD

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"

# run CMD...: runs it, sets $out (stdout), $err (stderr), $rc.
# (The outer 2>/dev/null silences bash's "Killed" notice.)
run() {
	rc=0
	{ "$@" >"$tmp/out" 2>"$tmp/err"; } 2>/dev/null || rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# expect_rc NAME RC CMD...: the command exits with RC.
expect_rc() {
	local name=$1 want=$2
	shift 2
	run "$@"
	if ((rc == want)); then pass "$name"; else fail "$name" "exit $rc, want $want; stderr: $err"; fi
}

# Harmless libraries to preload: empty shared objects.
cc -shared -o "$tmp/other.so" -x c /dev/null
cc -shared -o "$tmp/alt.so" -x c /dev/null

[[ -x $kaio ]] || { fail "wrapper $kaio exists"; summary; exit 1; }

# --- LD_PRELOAD ---
# The wrapper preloads .../$LIB/libkaio.so: ld.so's token, kept literal;
# x PATH expands it as ld.so does in a 64-bit process.
ma=$(cc -print-multiarch)
x() { printf %s "${1//'$LIB'/lib/$ma}"; }
run env LD_PRELOAD="$tmp/other.so" "$kaio" sh -c 'printf %s "$LD_PRELOAD"'
first=${out%%:*}
if ((rc == 0)) && [[ $out == *":$tmp/other.so" && $first == /* && $(x "$first") -ef $lib ]]; then
	pass "library prepended to an existing LD_PRELOAD"
else
	fail "library prepended to an existing LD_PRELOAD" "exit $rc, got '$out'"
fi

run "$kaio" sh -c 'printf %s "$LD_PRELOAD"'
if ((rc == 0)) && [[ $out == /* && $out != *:* && $(x "$out") -ef $lib ]]; then
	pass "LD_PRELOAD is the absolute library path when unset before"
else
	fail "LD_PRELOAD is the absolute library path when unset before" "exit $rc, got '$out'"
fi

run env KAIO_LIB="$tmp/alt.so" "$kaio" sh -c 'printf %s "$LD_PRELOAD"'
if ((rc == 0)) && [[ $out == "$tmp/alt.so" ]]; then pass "KAIO_LIB overrides the library"; else fail "KAIO_LIB overrides the library" "exit $rc, got '$out'"; fi

(cd "$tmp" && KAIO_LIB=alt.so "$kaio" sh -c 'printf %s "$LD_PRELOAD"') >"$tmp/out" 2>&1 || true
if [[ "$(cat "$tmp/out")" == "$tmp/alt.so" ]]; then pass "relative KAIO_LIB made absolute"; else fail "relative KAIO_LIB made absolute" "got '$(cat "$tmp/out")'"; fi

# --- options ---
expect_rc "--help exits 0" 0 "$kaio" --help
if [[ $out == *KAIO_QUEUE_DEPTH* && $out == *KAIO_STATS* && $out == *KAIO_LIB* ]]; then pass "--help names the KAIO_* variables"; else fail "--help names the KAIO_* variables"; fi
expect_rc "-h exits 0" 0 "$kaio" -h
expect_rc "--version exits 0" 0 "$kaio" --version
expect_rc "no command: exit 125" 125 "$kaio"
if [[ $err == *Usage:* && -z $out ]]; then pass "no command: usage on stderr"; else fail "no command: usage on stderr"; fi
expect_rc "options but no command: exit 125" 125 "$kaio" -s --
expect_rc "unknown option: exit 125" 125 "$kaio" --bogus true
expect_rc "unknown short option: exit 125" 125 "$kaio" -x true

for bad in 0 000 65537 abc '' 12x -1 +5 ' 8' '8 ' 0x10 1e3 99999999999999999999; do
	expect_rc "-q '$bad' rejected with 125" 125 "$kaio" -q "$bad" true
done
expect_rc "--queue-depth= (empty) rejected" 125 "$kaio" --queue-depth= true
expect_rc "-q without a value rejected" 125 "$kaio" -q

check_env() { # NAME WANT KAIO-ARGS...: the command sees WANT (the KAIO_* variables)
	local name=$1 want=$2
	shift 2
	run "$kaio" "$@" sh -c 'printf %s "${KAIO_QUEUE_DEPTH-}/${KAIO_STATS-}/${KAIO_DEBUG-}"'
	if ((rc == 0)) && [[ $out == "$want" ]]; then pass "$name"; else fail "$name" "exit $rc, got '$out', want '$want'"; fi
}
check_env "-q 1 sets KAIO_QUEUE_DEPTH" "1//" -q 1
check_env "-q65536 sets KAIO_QUEUE_DEPTH" "65536//" -q65536
check_env "--queue-depth=64 sets KAIO_QUEUE_DEPTH" "64//" --queue-depth=64
check_env "--queue-depth 32 sets KAIO_QUEUE_DEPTH" "32//" --queue-depth 32
check_env "-q 0064 accepted as 64 (leading zeros, as the library)" "64//" -q 0064
check_env "-s and -d set KAIO_STATS and KAIO_DEBUG" "/1/1" -s -d
check_env "--stats and --debug set KAIO_STATS and KAIO_DEBUG" "/1/1" --stats --debug

# bundled short options, as getopt bundles them
check_env "-sd sets KAIO_STATS and KAIO_DEBUG" "/1/1" -sd
check_env "-ds sets both too" "/1/1" -ds
check_env "-sq8: -s, then -q with the rest of the word" "8/1/" -sq8
check_env "-sdq 16: -q at the end takes the next argument" "16/1/1" -sdq 16
check_env "-q8 -s" "8/1/" -q8 -s
expect_rc "-sx: unknown letter in a bundle rejected" 125 "$kaio" -sx true
if [[ $err == *"unknown option '-x'"* ]]; then pass "-sx names the unknown letter"; else fail "-sx names the unknown letter" "stderr: $err"; fi
expect_rc "-sq (no value) rejected" 125 "$kaio" -sq
expect_rc "-qs: 's' is not a depth" 125 "$kaio" -qs true
run "$kaio" -sh
if ((rc == 0)) && [[ $out == *Usage:* ]]; then pass "-sh shows the help"; else fail "-sh shows the help" "exit $rc"; fi

# --uring
for m in auto 0 1; do
	run "$kaio" --uring="$m" sh -c 'printf %s "${KAIO_URING-unset}"'
	if ((rc == 0)) && [[ $out == "$m" ]]; then pass "--uring=$m sets KAIO_URING=$m"; else fail "--uring=$m sets KAIO_URING=$m" "exit $rc, got '$out'"; fi
done
run "$kaio" --uring 0 sh -c 'printf %s "${KAIO_URING-unset}"'
if ((rc == 0)) && [[ $out == 0 ]]; then pass "--uring 0 (separate argument)"; else fail "--uring 0 (separate argument)" "exit $rc, got '$out'"; fi
for bad in '' 2 yes AUTO ' 1' 01; do
	expect_rc "--uring='$bad' rejected with 125" 125 "$kaio" --uring="$bad" true
done
expect_rc "--uring without a value rejected" 125 "$kaio" --uring

# --inline
for m in 0 1; do
	run "$kaio" --inline="$m" sh -c 'printf %s "${KAIO_INLINE-unset}"'
	if ((rc == 0)) && [[ $out == "$m" ]]; then pass "--inline=$m sets KAIO_INLINE=$m"; else fail "--inline=$m sets KAIO_INLINE=$m" "exit $rc, got '$out'"; fi
done
run "$kaio" --inline 0 sh -c 'printf %s "${KAIO_INLINE-unset}"'
if ((rc == 0)) && [[ $out == 0 ]]; then pass "--inline 0 (separate argument)"; else fail "--inline 0 (separate argument)" "exit $rc, got '$out'"; fi
for bad in '' 2 yes on ' 1' 01 -1; do
	expect_rc "--inline='$bad' rejected with 125" 125 "$kaio" --inline="$bad" true
done
expect_rc "--inline without a value rejected" 125 "$kaio" --inline
for bad in 2 yes ' 1'; do
	expect_rc "KAIO_INLINE='$bad' rejected with 125" 125 env KAIO_INLINE="$bad" "$kaio" true
done

# KAIO_* values the wrapper passes on: the library's rules, checked before
# the command runs (the library alone would warn only at the first AIO call)
env_rc() { # NAME WANT-RC VAR=VALUE...
	local name=$1 want=$2
	shift 2
	expect_rc "$name" "$want" env "$@" "$kaio" true
}
for v in abc 0 65537 -1 +5 ' 8' '8 ' 0x10 1e3 4294967297 99999999999999999999; do
	env_rc "KAIO_QUEUE_DEPTH='$v' rejected with 125" 125 "KAIO_QUEUE_DEPTH=$v"
done
run env KAIO_QUEUE_DEPTH=abc "$kaio" true
if [[ $err == "kaio: KAIO_QUEUE_DEPTH='abc': expected an integer from 1 to 65536" ]]; then
	pass "a bad KAIO_QUEUE_DEPTH is named with the rule"
else
	fail "a bad KAIO_QUEUE_DEPTH is named with the rule" "stderr: $err"
fi
run env $'KAIO_FALLBACK=\e[2Jx' "$kaio" true
if ((rc == 125)) && [[ $err == "kaio: KAIO_FALLBACK='?[2Jx': expected glibc, sync or error" ]]; then
	pass "a bad value is shown without its control bytes"
else
	fail "a bad value is shown without its control bytes" "exit $rc, stderr: $(cat -v <<<"$err")"
fi
for v in 1 64 0064 65536; do env_rc "KAIO_QUEUE_DEPTH=$v accepted" 0 "KAIO_QUEUE_DEPTH=$v"; done
for var in KAIO_STATS KAIO_DEBUG; do
	for v in 2 yes -1 ' 1' 10; do env_rc "$var='$v' rejected with 125" 125 "$var=$v"; done
	for v in 0 1 001; do env_rc "$var=$v accepted" 0 "$var=$v"; done
done
for v in bogus GLIBC 'sync ' 0; do env_rc "KAIO_FALLBACK='$v' rejected with 125" 125 "KAIO_FALLBACK=$v"; done
for v in glibc sync error; do env_rc "KAIO_FALLBACK=$v accepted" 0 "KAIO_FALLBACK=$v"; done
for v in 2 AUTO on ' 0'; do env_rc "KAIO_URING='$v' rejected with 125" 125 "KAIO_URING=$v"; done
for v in auto 0 1; do env_rc "KAIO_URING=$v accepted" 0 "KAIO_URING=$v"; done
run env KAIO_QUEUE_DEPTH= KAIO_STATS= KAIO_DEBUG= KAIO_FALLBACK= KAIO_URING= "$kaio" true
if ((rc == 0)) && [[ -z $err ]]; then pass "empty KAIO_* values read as unset: no error, nothing on stderr"; else fail "empty KAIO_* values read as unset" "exit $rc, stderr: $err"; fi
run env KAIO_STATS= "$kaio" sh -c 'echo $$'
if ((rc == 0)) && [[ -z $err ]]; then pass "KAIO_STATS= (empty): no statistics line"; else fail "KAIO_STATS= (empty): no statistics line" "stderr: $err"; fi

# -s: a line for every process, with its pid, also one that made no AIO call
# (bash: dash ends with _exit, which runs no atexit handler)
run "$kaio" -s bash -c 'echo $$'
if ((rc == 0)) && [[ $err == "kaio: pid=$out: loaded, no POSIX AIO request" ]]; then
	pass "-s: a process with no AIO call says so, with its pid"
else
	fail "-s: a process with no AIO call says so, with its pid" "exit $rc, stdout '$out', stderr: $err"
fi
run "$kaio" -s bash -c '/bin/true; /bin/true; echo $$'
n=$(grep -c '^kaio: pid=[0-9]*: loaded, no POSIX AIO request$' <<<"$err" || true)
if ((rc == 0 && n == 3)) && [[ $err == *"kaio: pid=$out: "* ]]; then
	pass "-s: one line per process (bash and its two children)"
else
	fail "-s: one line per process (bash and its two children)" "got $n lines: $err"
fi

# static and set-user-ID programs: kaio is not loaded, and -s/-d say so
printf '#include <aio.h>\nint main(void) { struct aiocb cb = { 0 }; return aio_error(&cb) == 42; }\n' >"$tmp/aio.c"
if cc -static -o "$tmp/static" "$tmp/aio.c" 2>/dev/null; then
	for o in -s -d -sd; do
		run "$kaio" "$o" "$tmp/static"
		if ((rc == 0)) && [[ $err == "kaio: $tmp/static is statically linked: kaio cannot be loaded into it (its POSIX AIO stays glibc's)" ]]; then
			pass "$o on a static program: says kaio cannot be loaded"
		else
			fail "$o on a static program: says kaio cannot be loaded" "exit $rc, stderr: $err"
		fi
	done
	run "$kaio" "$tmp/static"
	if ((rc == 0)) && [[ -z $err ]]; then pass "without -s/-d a static program runs silently"; else fail "without -s/-d a static program runs silently" "stderr: $err"; fi
else
	skip "static program under -s" "cc -static failed (no libc.a?)"
fi
if (($(id -u) == 0)) && id nobody >/dev/null 2>&1; then
	cc -o "$tmp/suid" "$tmp/aio.c"
	chown nobody "$tmp/suid"
	chmod 4755 "$tmp/suid"
	run "$kaio" -s "$tmp/suid"
	if [[ $err == *"kaio: pid="* ]]; then
		skip "-s on a set-user-ID program" "the library was loaded anyway (a nosuid mount under $tmp?)"
	elif ((rc == 0)) && [[ $err == "kaio: $tmp/suid is set-user-ID (owner uid $(id -u nobody), you are uid 0): ld.so runs it in secure mode and ignores LD_PRELOAD, so kaio is not loaded" ]]; then
		pass "-s on a set-user-ID program: says kaio is not loaded (and it is not)"
	else
		fail "-s on a set-user-ID program: says kaio is not loaded" "exit $rc, stderr: $err"
	fi
else
	skip "-s on a set-user-ID program" "needs root and a user nobody"
fi

# the library once in LD_PRELOAD
run "$kaio" "$kaio" sh -c 'printf %s "$LD_PRELOAD"'
if ((rc == 0)) && [[ $(x "$out") -ef $lib && $out != *:* ]]; then pass "kaio kaio CMD: the library once in LD_PRELOAD"; else fail "kaio kaio CMD: the library once in LD_PRELOAD" "got '$out'"; fi
run env LD_PRELOAD="$tmp/other.so $lib:$tmp/other.so" "$kaio" sh -c 'printf %s "$LD_PRELOAD"'
if ((rc == 0)) && [[ $out == "${out%%:*}:$tmp/other.so:$tmp/other.so" && $(x "${out%%:*}") -ef $lib ]]; then
	pass "a copy of the library already in LD_PRELOAD is dropped, the rest kept in order"
else
	fail "a copy of the library already in LD_PRELOAD is dropped, the rest kept in order" "got '$out'"
fi
mkdir -p "$tmp/other"
cp "$lib" "$tmp/other/libkaio.so"
run env LD_PRELOAD="$tmp/other/libkaio.so" "$kaio" sh -c 'printf %s "$LD_PRELOAD"'
if ((rc == 0)) && [[ $(x "$out") -ef $lib && $out != *:* ]]; then pass "another libkaio.so in LD_PRELOAD is replaced by this one"; else fail "another libkaio.so in LD_PRELOAD is replaced by this one" "got '$out'"; fi
run "$kaio" -s "$kaio" -s bash -c 'echo $$'
n=$(grep -c '^kaio: pid=' <<<"$err" || true)
if ((rc == 0 && n == 1)); then pass "kaio -s kaio -s CMD: one statistics line, not two"; else fail "kaio -s kaio -s CMD: one statistics line, not two" "stderr: $err"; fi

# --- the library serves the command ---
# stat KEY: the value of KEY= in the stats line of $err
stat() { stats_field "$1" "$err"; }
if [[ -z $progdir ]]; then
	skip "kaio -s rw_basic: served by kaio" "no PROGDIR given"
else
	mkdir -p "$tmp/rw"
	run "$kaio" -s "$progdir/rw_basic" "$tmp/rw"
	k=$(stat served) g=$(stat glibc) c=$(stat ctx_error)
	if ((rc == 0)) && [[ $k =~ ^[0-9]+$ && $k -gt 0 && $g == 0 && $c == 0 ]]; then
		pass "kaio -s rw_basic: served by kaio (kernel+inline=$k glibc=0)"
	else
		fail "kaio -s rw_basic: served by kaio" "exit $rc, kernel+inline=${k:-none} glibc=${g:-none} ctx_error=${c:-none}"
	fi
	rm -rf "$tmp/rw"/*
	run "$kaio" -s -q 16 "$progdir/rw_basic" "$tmp/rw"
	d=$(stat depth)
	if ((rc == 0)) && [[ $d == 16 ]]; then pass "kaio -s -q 16: the library uses depth 16"; else fail "kaio -s -q 16: the library uses depth 16" "exit $rc, depth=${d:-none}"; fi
fi

# --- library missing ---
run env KAIO_LIB="$tmp/nonexistent.so" "$kaio" true
if ((rc == 125)) && [[ $err == *"kaio: library not found: $tmp/nonexistent.so (set KAIO_LIB)"* ]]; then
	pass "missing library: 125 and message"
else
	fail "missing library: 125 and message" "exit $rc, stderr: $err"
fi
expect_rc "library is a directory: 125" 125 env KAIO_LIB="$tmp" "$kaio" true

# --- the command ---
expect_rc "command not found: 127" 127 "$kaio" kaio-no-such-command-xyz
expect_rc "command path not found: 127" 127 "$kaio" "$tmp/no-such-file"
printf '#!/bin/sh\n' >"$tmp/noexec"
chmod 0644 "$tmp/noexec"
expect_rc "command not executable: 126" 126 "$kaio" "$tmp/noexec"
expect_rc "command is a directory: 126" 126 "$kaio" "$tmp"
expect_rc "command exit status propagated (3)" 3 "$kaio" sh -c 'exit 3'
expect_rc "command exit status propagated (0)" 0 "$kaio" true
expect_rc "command killed by a signal: 128+9" 137 "$kaio" sh -c 'kill -9 $$'

run "$kaio" printf '[%s]' 'a b' '' "it's" '"q"' '  x  ' '$HOME' '*'
want="[a b][][it's][\"q\"][  x  ][\$HOME][*]"
if ((rc == 0)) && [[ $out == "$want" ]]; then pass "arguments with spaces and quotes intact"; else fail "arguments with spaces and quotes intact" "got '$out'"; fi

run "$kaio" -- printf '[%s]' --help -s
if ((rc == 0)) && [[ $out == "[--help][-s]" ]]; then pass "-- ends the options"; else fail "-- ends the options" "got '$out'"; fi
run "$kaio" -s -- -- 2>/dev/null
if ((rc == 127)); then pass "after --, '--' is the command"; else fail "after --, '--' is the command" "exit $rc"; fi
run "$kaio" printf '[%s]' -s --help
if ((rc == 0)) && [[ $out == "[-s][--help]" ]]; then pass "options after the command are the command's"; else fail "options after the command are the command's" "got '$out'"; fi

# exec keeps the pid: the shell's $$ equals the pid that the wrapper started with.
run bash -c 'echo $$ >"$1"; exec "$2" sh -c "echo \$\$"' _ "$tmp/pid" "$kaio"
if ((rc == 0)) && [[ $out == "$(cat "$tmp/pid")" ]]; then pass "the command replaces the wrapper (same pid)"; else fail "the command replaces the wrapper (same pid)" "got '$out'"; fi

run env 'a.b=1' "$kaio" env
if [[ $out == *$'\n'a.b=1$'\n'* || $out == a.b=1$'\n'* ]]; then pass "unusual environment entries passed through"; else fail "unusual environment entries passed through"; fi

# --- make install / uninstall ---
dest=$tmp/dest
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$repo" "$@"; }
if mk install DESTDIR="$dest" PREFIX=/usr >"$tmp/make.log" 2>&1; then
	pass "make install DESTDIR PREFIX=/usr"
else
	fail "make install DESTDIR PREFIX=/usr" "see below"
	tail -n 20 "$tmp/make.log"
fi
if [[ -f $dest/usr/lib/$ma/kaio/libkaio.so ]] && cmp -s "$dest/usr/lib/$ma/kaio/libkaio.so" "$lib"; then
	pass "installed \$DESTDIR/usr/lib/$ma/kaio/libkaio.so"
else
	fail "installed \$DESTDIR/usr/lib/$ma/kaio/libkaio.so"
fi
if [[ -f $dest/usr/bin/kaio && -x $dest/usr/bin/kaio ]]; then pass "installed \$DESTDIR/usr/bin/kaio"; else fail "installed \$DESTDIR/usr/bin/kaio"; fi
if [[ -x $dest/usr/lib/$ma/kaio/kaio-check ]]; then pass "installed \$DESTDIR/usr/lib/$ma/kaio/kaio-check"; else fail "installed \$DESTDIR/usr/lib/$ma/kaio/kaio-check"; fi
if cmp -s "$dest/usr/share/man/man1/kaio.1" "$repo/docs/kaio.1"; then pass "installed \$DESTDIR/usr/share/man/man1/kaio.1"; else fail "installed \$DESTDIR/usr/share/man/man1/kaio.1"; fi
run env KAIO_LIB="$dest/usr/lib/$ma/kaio/libkaio.so" "$dest/usr/bin/kaio" --check
if [[ $out == *"library     ok  $dest/usr/lib/$ma/kaio/libkaio.so loads"* ]]; then pass "installed wrapper: --check finds kaio-check beside the library"; else fail "installed wrapper: --check finds kaio-check beside the library" "exit $rc, $out $err"; fi
if [[ -f $dest/usr/bin/kaio ]] && grep -qF '/usr/$LIB/kaio/libkaio.so' "$dest/usr/bin/kaio" &&
	! grep -qF "@KAIO_LIB@" "$dest/usr/bin/kaio" && ! grep -qF "$dest" "$dest/usr/bin/kaio"; then
	pass "installed wrapper has /usr/\$LIB/kaio/libkaio.so baked in"
else
	fail "installed wrapper has /usr/\$LIB/kaio/libkaio.so baked in"
fi
run "$dest/usr/bin/kaio" --version
if [[ $out == *'(library: /usr/$LIB/kaio/libkaio.so)'* ]]; then pass "installed wrapper reports /usr/\$LIB/kaio/libkaio.so"; else fail "installed wrapper reports /usr/\$LIB/kaio/libkaio.so" "got '$out'"; fi
run env KAIO_LIB="$dest/usr/lib/$ma/kaio/libkaio.so" "$dest/usr/bin/kaio" sh -c 'printf %s "$LD_PRELOAD"'
if ((rc == 0)) && [[ $out == "$dest/usr/lib/$ma/kaio/libkaio.so" ]]; then pass "installed wrapper runs a command"; else fail "installed wrapper runs a command" "exit $rc, got '$out'"; fi
if [[ ! -e /usr/lib/$ma/kaio/libkaio.so ]]; then
	run "$dest/usr/bin/kaio" true
	if ((rc == 125)) && [[ $err == "kaio: library not found: /usr/lib/$ma/kaio/libkaio.so (set KAIO_LIB)" ]]; then
		pass "installed wrapper without its library: 125 and message"
	else
		fail "installed wrapper without its library: 125 and message" "exit $rc, stderr: $err"
	fi
fi

# installing needs only what building needs
deps=$(mk -n install DESTDIR="$dest" PREFIX=/usr 2>&1 | grep 'deps\.sh' || true)
if [[ $deps == "scripts/deps.sh build" ]]; then
	pass "make install checks the build dependencies only"
else
	fail "make install checks the build dependencies only" "make -n install runs: $deps"
fi
if mk uninstall DESTDIR="$dest" PREFIX=/usr >"$tmp/make.log" 2>&1; then pass "make uninstall"; else fail "make uninstall"; tail -n 20 "$tmp/make.log"; fi
if [[ ! -e $dest/usr/bin/kaio && ! -e $dest/usr/lib/$ma/kaio/libkaio.so && ! -e $dest/usr/lib/$ma/kaio && ! -e $dest/usr/share/man/man1/kaio.1 ]]; then
	pass "uninstall removed the wrapper, the library, kaio-check, the man page"
else
	fail "uninstall removed the wrapper, the library, kaio-check, the man page" "$(find "$dest" -type f)"
fi

summary
