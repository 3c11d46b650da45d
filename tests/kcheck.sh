#!/usr/bin/env bash
# Usage: tests/kcheck.sh KAIO LIB PROGDIR   (make check: build/kaio build/libkaio.so build/prog)
# kaio --check against what really happens: each verdict is compared with a
# run of a real program under kaio -s (the library's own statistics line says
# whether it was loaded and whether it got a kernel context), and the names
# it reports with nm -D.
#   - this machine: exit 0 iff the library gets a kernel AIO context here;
#   - programs: plain and *64 imports (rw_basic, lfs64, fio), names reached
#     through a shared library, a static and a set-user-ID build, a script, a
#     program without POSIX AIO, a command that does not exist;
#   - the library missing, not kaio's, or not loadable;
#   - seccomp filters on io_setup (ENOSYS, EPERM, SIGSYS) and on
#     io_uring_setup (EPERM, SIGSYS), run with tests/kcheck/seccomp_exec.c;
#   - fs.aio-max-nr used up, and with room for a small ring only (as root,
#     restored, under the lock of tests/lib.sh).
# One PASS/FAIL/SKIP line per check, then "N passed, N failed, N skipped".
set -uo pipefail

if (($# != 3)); then
	echo "usage: $0 KAIO LIB PROGDIR" >&2
	exit 2
fi
kaio=$(realpath -e "$1") lib=$(realpath -e "$2") prog=$(realpath -e "$3")
here=$(dirname "$(realpath "$0")")
for v in $(env | sed -n 's/^\(KAIO_[A-Za-z0-9_]*\)=.*/\1/p'); do
	[ "$v" = KAIO_ENV_NO_SYSCTL ] || unset "$v"
done
unset LD_PRELOAD

tmp=$(mktemp -d)
cleanup() {
	aiomax_restore
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# shellcheck source=tests/lib.sh
. "$here/lib.sh"
aiomax_share

for p in rw_basic lfs64; do
	[[ -x $prog/$p ]] || { echo "kcheck.sh: no $prog/$p (make build/prog/$p)" >&2; exit 2; }
done

# chk [VAR=VALUE...] [-- PREFIX...] -- KAIO-ARGS...: runs kaio --check;
# leaves $out (file) and $rc.
n=0
chk() {
	local envs=() pre=()
	while [[ $1 == *=* ]]; do envs+=("$1"); shift; done
	if [[ $1 == -p ]]; then
		shift
		while [[ $1 != -- ]]; do pre+=("$1"); shift; done
	fi
	[[ $1 == -- ]] && shift
	n=$((n + 1))
	out=$tmp/check.$n
	env "${envs[@]}" timeout 60 "${pre[@]}" "$kaio" "$@" >"$out" 2>&1
	rc=$?
}

# stats [VAR=VALUE...] [-p PREFIX... --] PROG ARGS...: the program under
# kaio -s; $stats is the library's line (empty: the library was not loaded).
stats() {
	local envs=() pre=()
	while [[ $1 == *=* ]]; do envs+=("$1"); shift; done
	if [[ $1 == -p ]]; then
		shift
		while [[ $1 != -- ]]; do pre+=("$1"); shift; done
		shift
	fi
	mkdir -p "$tmp/run"
	env "${envs[@]}" timeout 60 "${pre[@]}" "$kaio" -s "$@" >"$tmp/run.out" 2>"$tmp/run.err"
	src=$?
	stats=$(grep -a '^kaio: \(kernel=\|pid=\)' "$tmp/run.err" | head -n 1)
	rm -rf "$tmp/run"
}
field() { tr ' ' '\n' <<<"$stats" | sed -n "s/^$1=//p"; }
has() { grep -q -- "$1" "$out"; }

# nm's view: the POSIX AIO names a file imports, one line, sorted.
aio_re='^(aio_(read|write|error|return|suspend|cancel|fsync)(64)?|lio_listio(64)?|aio_init)$'
nm_names() { nm -D --undefined-only "$1" 2>/dev/null | awk '{ sub(/@.*/, "", $2); print $2 }' | grep -E "$aio_re" | sort | tr '\n' ' '; }
# kaio --check's view: the names on its "imports" lines.
chk_names() { sed -n 's/^imports     ok  \(through [^:]*: \)\{0,1\}//p' "$out" | sed 's/ (.*//' | tr ' ' '\n' | grep -E "$aio_re" | sort | tr '\n' ' '; }

# --- this machine -------------------------------------------------------------
stats "$prog/rw_basic" "$tmp/run"
ctx=$(field ctx_error)
chk --check
if [[ -z $ctx ]]; then
	fail "rw_basic under kaio -s prints its statistics" "$(cat "$tmp/run.err")"
elif [[ $ctx == 0 ]] && ((rc == 0)) && has '^kernel AIO  ok  io_setup(256) = 0' && has '^kaio will serve POSIX AIO here'; then
	pass "kaio --check: exit 0, kernel AIO ok (the library gets a context here too)"
elif [[ $ctx != 0 ]] && ((rc == 1)) && has "^kernel AIO  no  io_setup: $ctx"; then
	pass "kaio --check: exit 1, io_setup: $ctx (the library got ctx_error=$ctx too)"
else
	fail "kaio --check agrees with the library (ctx_error=$ctx)" "exit $rc" "$out"
fi
sed 's/^/    | /' "$out"
for l in '^aio-max-nr  ' '^seccomp     ok  no filter' '^io_uring    ' "^library     ok  $lib loads and defines the 17 POSIX AIO names" '^            --  it loads into every process: .*libaio'; do
	if has "$l"; then pass "kaio --check prints ${l#^}"; else fail "kaio --check prints ${l#^}" "" "$out"; fi
done
kernel_ok=0
[[ $ctx == 0 ]] && kernel_ok=1

chk KAIO_QUEUE_DEPTH=64 -- --check
if has '^kernel AIO  \(ok  io_setup(64) = 0 (KAIO_QUEUE_DEPTH)\|no\)'; then pass "KAIO_QUEUE_DEPTH=64: io_setup(64)"; else fail "KAIO_QUEUE_DEPTH=64: io_setup(64)" "" "$out"; fi
chk -q 32 --check
if has '^kernel AIO  \(ok  io_setup(32) = 0\|no\)'; then pass "kaio -q 32 --check: io_setup(32)"; else fail "kaio -q 32 --check: io_setup(32)" "" "$out"; fi
chk KAIO_QUEUE_DEPTH=abc -- --check
if ((rc == 125)) && has "KAIO_QUEUE_DEPTH='abc'"; then pass "--check with a bad KAIO_QUEUE_DEPTH: 125"; else fail "--check with a bad KAIO_QUEUE_DEPTH: 125" "exit $rc" "$out"; fi
chk --check --uring=0
if grep -q KAIO_URING "$lib"; then
	if has '^            --  KAIO_URING=0: kaio does not use io_uring'; then pass "--uring=0 --check: not used"; else fail "--uring=0 --check: not used" "" "$out"; fi
elif has '^            --  this library does not use io_uring'; then
	pass "--check: this library does not use io_uring (it never names KAIO_URING)"
else
	fail "--check says whether the library uses io_uring" "" "$out"
fi

# --- programs -------------------------------------------------------------------
# prog_served NAME PATH LABEL: --check PATH says ok with nm's names, and a run
# loads the library.
prog_served() {
	local name=$1 path=$2 label=$3 want got
	chk --check "$path"
	want=$(nm_names "$path")
	got=$(chk_names)
	if ((rc == (kernel_ok ? 0 : 1))) && has "^program     ok  $path: dynamically linked" &&
		[[ -n $want && $got == "$want" ]] && has "^imports     ok  .*($label names)"; then
		pass "--check $name: exit $rc, dynamic, imports $want($label)"
	else
		fail "--check $name: dynamic, imports as nm says: $want($label)" "exit $rc, names '$got'" "$out"
	fi
}
prog_served rw_basic "$prog/rw_basic" plain
stats "$prog/rw_basic" "$tmp/run"
if [[ $stats == "kaio: kernel="* ]]; then pass "rw_basic under kaio -s: the library is loaded (as --check says)"; else fail "rw_basic under kaio -s: the library is loaded" "$(cat "$tmp/run.err")"; fi
prog_served lfs64 "$prog/lfs64" '\*64'
if command -v fio >/dev/null; then
	prog_served fio "$(command -v fio)" '\*64'
	chk --check fio
	if ((rc == (kernel_ok ? 0 : 1))) && has "^kaio will.* serve $(command -v fio)"; then pass "--check fio: found on PATH"; else fail "--check fio: found on PATH" "exit $rc" "$out"; fi
	sed 's/^/    | /' "$out"
else
	skip "--check fio" "fio is not installed"
fi

# names reached through a shared library only
cat >"$tmp/useaio.c" <<'C'
#include <aio.h>
#include <errno.h>
#include <string.h>
int use_aio(int fd, char *buf, int n)
{
	struct aiocb cb;
	const struct aiocb *list[1] = { &cb };
	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = fd; cb.aio_buf = buf; cb.aio_nbytes = n;
	if (aio_read(&cb)) return -1;
	while (aio_error(&cb) == EINPROGRESS) aio_suspend(list, 1, 0);
	return (int)aio_return(&cb);
}
C
printf '#include <fcntl.h>\nint use_aio(int, char *, int);\nint main(void) { char b[16]; return use_aio(open("/etc/hostname", O_RDONLY), b, 4) < 0; }\n' >"$tmp/main.c"
if cc -shared -fPIC -o "$tmp/libuseaio.so" "$tmp/useaio.c" &&
	cc -o "$tmp/viaso" "$tmp/main.c" -L"$tmp" -luseaio -Wl,-rpath,"$tmp"; then
	chk --check "$tmp/viaso"
	want=$(nm_names "$tmp/libuseaio.so")
	if ((rc == (kernel_ok ? 0 : 1))) && [[ -z $(nm_names "$tmp/viaso") ]] &&
		has "^imports     ok  through $tmp/libuseaio.so: " && [[ $(chk_names) == "$want" ]]; then
		pass "--check: names imported through a shared library ($want)"
	else
		fail "--check: names imported through a shared library ($want)" "exit $rc" "$out"
	fi
	stats "$tmp/viaso"
	if ((kernel_ok)) && [[ $(stats_field served "$stats") -gt 0 ]]; then pass "... and kaio serves them (kernel+inline+uring=$(stats_field served "$stats"))"; elif ((!kernel_ok)); then skip "... and kaio serves them" "no kernel AIO here"; else fail "... and kaio serves them" "$stats"; fi
else
	skip "--check: names imported through a shared library" "cc failed"
fi

chk --check /bin/true
if ((rc == 1)) && has '^imports     no  no POSIX AIO name' && [[ -z $(nm_names /bin/true) ]]; then
	pass "--check /bin/true: exit 1, imports no POSIX AIO name (nm agrees)"
else
	fail "--check /bin/true: exit 1, imports no POSIX AIO name" "exit $rc" "$out"
fi
stats /bin/true
if [[ $stats =~ ^kaio:\ pid=[0-9]+:\ loaded,\ no\ POSIX\ AIO\ request$ ]]; then pass "/bin/true under kaio -s: loaded, no request"; else fail "/bin/true under kaio -s: loaded, no request" "$(cat "$tmp/run.err")"; fi

printf '#!/bin/sh\nexec %s "$@"\n' "$prog/rw_basic" >"$tmp/script"
chmod +x "$tmp/script"
chk --check "$tmp/script"
if ((rc == 1)) && has "^program     --  $tmp/script is a script run by /bin/sh" && has '^program     ok  /bin/sh: dynamically linked'; then
	pass "--check on a #! script: follows it to /bin/sh"
else
	fail "--check on a #! script: follows it to /bin/sh" "exit $rc" "$out"
fi

if cc -static -D_GNU_SOURCE -o "$tmp/static" "$here/prog/rw_basic.c" -pthread 2>/dev/null; then
	chk --check "$tmp/static"
	stats "$tmp/static" "$tmp/run"
	if ((rc == 1)) && has "^program     no  $tmp/static is statically linked" && [[ -z $stats && $src == 0 ]]; then
		pass "--check on a static build: exit 1, statically linked (and a run under kaio -s has no line from the library)"
	else
		fail "--check on a static build: exit 1, statically linked, not loaded" "exit $rc; run: exit $src, $stats" "$out"
	fi
else
	skip "--check on a static build" "cc -static failed (no libc.a?)"
fi

if (($(id -u) == 0)) && id nobody >/dev/null 2>&1; then
	cp "$prog/rw_basic" "$tmp/suid"
	chown nobody "$tmp/suid"
	chmod 4755 "$tmp/suid"
	chmod 0777 "$tmp"
	chk --check "$tmp/suid"
	stats "$tmp/suid" "$tmp/run"
	if [[ -n $stats ]]; then
		# a nosuid mount, or no_new_privs: then the library is loaded, and
		# --check must say so
		if ((rc == (kernel_ok ? 0 : 1))) && has "^program     ok  $tmp/suid"; then pass "--check on a set-user-ID copy where set-ID is ignored: ok, and it is loaded"; else fail "--check on a set-user-ID copy: the library is loaded, --check must agree" "exit $rc" "$out"; fi
	elif ((rc == 1)) && has "^program     no  $tmp/suid is set-user-ID (owner uid $(id -u nobody), you are uid 0)"; then
		pass "--check on a set-user-ID copy (owner nobody): exit 1, secure mode (and a run under kaio -s has no line from the library)"
	else
		fail "--check on a set-user-ID copy (owner nobody): exit 1, secure mode" "exit $rc" "$out"
	fi
	chmod 0700 "$tmp"
else
	skip "--check on a set-user-ID program" "needs root and a user nobody"
fi

chk --check kaio-no-such-command-xyz
if ((rc == 127)); then pass "--check on a command that does not exist: 127"; else fail "--check on a command that does not exist: 127" "exit $rc" "$out"; fi

# --- the library ----------------------------------------------------------------
mkdir -p "$tmp/libs"
chk KAIO_LIB="$tmp/libs/libkaio.so" -- --check
if ((rc == 1)) && has "^library     no  $tmp/libs/libkaio.so: No such file or directory"; then pass "--check with a missing library: exit 1, says so"; else fail "--check with a missing library: exit 1, says so" "exit $rc" "$out"; fi
cc -shared -o "$tmp/libs/empty.so" -x c /dev/null
chk KAIO_LIB="$tmp/libs/empty.so" -- --check
if ((rc == 1)) && has "^library     no  $tmp/libs/empty.so loads but does not define aio_read"; then pass "--check with a library that is not kaio's: exit 1"; else fail "--check with a library that is not kaio's: exit 1" "exit $rc" "$out"; fi
printf 'int gone(void) { return 1; }\n' >"$tmp/gone.c"
printf 'int gone(void);\nint use(void) { return gone(); }\n' >"$tmp/uses.c"
cc -shared -fPIC -o "$tmp/libs/libgone.so" "$tmp/gone.c" &&
	cc -shared -fPIC -o "$tmp/libs/broken.so" "$tmp/uses.c" -L"$tmp/libs" -lgone && rm "$tmp/libs/libgone.so"
chk KAIO_LIB="$tmp/libs/broken.so" -- --check
if ((rc == 1)) && has "^library     no  $tmp/libs/broken.so does not load: libgone.so"; then pass "--check with a library that does not load: exit 1, dlopen's reason"; else fail "--check with a library that does not load: exit 1, dlopen's reason" "exit $rc" "$out"; fi

# --- seccomp ----------------------------------------------------------------------
if cc -o "$tmp/seccomp_exec" "$here/kcheck/seccomp_exec.c" 2>"$tmp/cc.err"; then
	sx=$tmp/seccomp_exec
	for a in enosys eperm kill; do
		chk -p "$sx" io_setup "$a" -- --check "$prog/rw_basic"
		stats -p "$sx" io_setup "$a" -- "$prog/rw_basic" "$tmp/run"
		lctx=$(field ctx_error)
		want=${a^^}
		[[ $a == kill ]] && want="killed the process with SIGSYS"
		if ((rc == 1)) && has "^kernel AIO  no  io_setup.*$want" && has '^seccomp     --  a filter is active' &&
			[[ $lctx == "$([[ $a == kill ]] && echo ENOSYS || echo "${a^^}")" ]]; then
			pass "seccomp on io_setup ($a): --check exit 1, io_setup $want (the library: ctx_error=$lctx)"
		else
			fail "seccomp on io_setup ($a): --check exit 1 and the library's ctx_error agree" "exit $rc, library ctx_error=$lctx" "$out" "$tmp/run.err"
		fi
	done
	for a in eperm kill; do
		chk -p "$sx" io_uring_setup "$a" -- --check
		want=${a^^}
		[[ $a == kill ]] && want="killed the process with SIGSYS"
		if ((rc == (kernel_ok ? 0 : 1))) && has "^io_uring    no  io_uring_setup.*$want"; then
			pass "seccomp on io_uring_setup ($a): io_uring no, --check still exit $rc"
		else
			fail "seccomp on io_uring_setup ($a): io_uring no, kaio still serves" "exit $rc" "$out"
		fi
	done
else
	skip "seccomp checks" "cannot build seccomp_exec: $(head -n 1 "$tmp/cc.err")"
fi

# --- fs.aio-max-nr ------------------------------------------------------------------
aiomax_checks() {
	local cur
	cur=$(cat /proc/sys/fs/aio-nr)
	aiomax_set "$cur"
	chk --check
	stats "$prog/rw_basic" "$tmp/run"
	if ((rc == 1)) && has '^kernel AIO  no  io_setup: EAGAIN' && has '^aio-max-nr  no' && [[ $(field ctx_error) == EAGAIN ]]; then
		pass "fs.aio-max-nr used up: --check exit 1, EAGAIN (the library: ctx_error=EAGAIN)"
	else
		fail "fs.aio-max-nr used up: --check exit 1, EAGAIN" "exit $rc, library: $stats" "$out"
	fi
	aiomax_set $((cur + 64))
	chk --check
	stats "$prog/rw_basic" "$tmp/run"
	local got now
	got=$(sed -n 's/.*kaio will get a ring of \([0-9]*\),.*/\1/p' "$out")
	now=$(cat /proc/sys/fs/aio-nr)
	if ((rc == 0)) && [[ -n $got && $got == "$(field depth)" ]]; then
		pass "fs.aio-max-nr = aio-nr + 64: --check says a ring of $got, the library gets depth=$got"
	elif [[ $now != "$cur" ]]; then
		skip "fs.aio-max-nr = aio-nr + 64" "another process changed fs.aio-nr ($cur -> $now) meanwhile"
	else
		fail "fs.aio-max-nr = aio-nr + 64: --check and the library agree on the ring" "exit $rc, --check: '$got', library: $stats" "$out"
	fi
}
if ((kernel_ok)); then
	aiomax_with "fs.aio-max-nr checks" aiomax_checks
else
	skip "fs.aio-max-nr checks" "no kernel AIO here"
fi

summary kcheck
