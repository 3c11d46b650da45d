#!/usr/bin/env bash
# Usage: tests/i386.sh BUILD_DIR       (make check: tests/i386.sh build)
# make check's i386 part: the 32-bit library (BUILD_DIR/i386/libkaio.so)
# under the suites the 64-bit one runs, built for i386: the unit tests
# (ASan+UBSan; ThreadSanitizer has no i386 port), tests/prog built plain
# (32-bit off_t: aio_read, aio_write, lio_listio) and, for the programs that
# touch offsets and time, with _FILE_OFFSET_BITS=64 and _TIME_BITS=64 (the
# *64 names and __aio_suspend_time64), with the same "served" checks
# (KAIO_STATS: glibc=0) and strace proofs; a share of the differential
# generators' seeds, built both ways too. Then one wrapper for both classes: kaio runs a 32-bit
# program, a 64-bit shell that runs a 32-bit and a 64-bit program, and a
# 32-bit program that starts a 64-bit one, all served, with no line from
# ld.so; kaio --check says it serves a 32-bit program.
# Without the i386 packages every part SKIPs with scripts/i386.sh's reason.
# Last line: "i386: N passed, M failed, K skipped".
set -u
build=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
b32=$build/i386
# shellcheck source=tests/lib.sh
. "$repo/tests/lib.sh"

if why=$("$repo/scripts/i386.sh" "${CC:-cc}" test); then :; else
	for part in unit prog prog64 diff diff64 wrapper; do skip "i386 $part" "$why"; done
	summary i386
	exit 0
fi

log=$(mktemp)
tmp=$(mktemp -d)
trap 'rm -rf "$log" "$tmp"' EXIT

# suite NAME CMD...: runs a suite, shows its lines, adds its summary to ours.
suite() {
	local name=$1 line p f k
	shift
	echo "-- i386 $name: ${*##*/}"
	"$@" 2>&1 | tee "$log"
	line=$(grep -E '^([a-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		fail "i386 $name" "printed no summary line"
		return
	fi
	read -r p f k <<<"$(sed -E 's/^([a-z]+: )?([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\2 \3 \5/' <<<"$line")"
	npass=$((npass + p)) nfail=$((nfail + f)) nskip=$((nskip + ${k:-0}))
}

units=()
for t in "$repo"/tests/unit/test_*.c; do
	t=${t##*/}
	units+=("$b32/unit/${t%.c}")
done
suite unit "$repo/tests/run-unit.sh" "${units[@]}"
suite prog "$repo/tests/prog/run.sh" "$b32/libkaio.so" "$b32/prog"
suite prog64 "$repo/tests/prog/run.sh" "$b32/libkaio.so" "$b32/prog64" \
	rw_basic lfs64 off32_pad oldver errors eof lio_basic lio_edge lio_nowait many resubmit \
	suspend suspend_eintr sig_signal notify fsync_basic append cold_read partial_cache zeroed
suite diff "$repo/tests/diff.sh" "$b32/libkaio.so" "$b32/diff/gen" --mode plain:40,threads:8,cold:4
suite diff64 "$repo/tests/diff.sh" "$b32/libkaio.so" "$b32/diff64/gen" --mode plain:40,threads:8,cold:4 --first 1001

# --- one wrapper, both classes ----------------------------------------------
echo "-- i386 wrapper"
kaio=$build/kaio p32=$b32/prog/rw_basic p64=$build/prog/rw_basic
mkdir -p "$tmp/a" "$tmp/b" "$tmp/c" "$tmp/d"
# served LABEL N FILE: N stats lines in FILE, each glibc=0 kernel>0; no ld.so line.
served() {
	local n k g bad=
	n=$(grep -c '^kaio: kernel=' "$3")
	grep -q 'ld\.so' "$3" && bad="a line from ld.so"
	while read -r line; do
		k=$(stats_field kernel "$line") g=$(stats_field glibc "$line")
		[[ $k -gt 0 && $g == 0 ]] || bad="not served: $line"
	done < <(grep '^kaio: kernel=' "$3")
	((n == $2)) || bad="${bad:+$bad; }$n stats lines, want $2"
	if [ -z "$bad" ]; then pass "$1"; else fail "$1" "$bad" "$3"; fi
}
"$kaio" -s "$p32" "$tmp/a" >/dev/null 2>"$tmp/e1"
served "kaio -s a 32-bit program: served, glibc=0" 1 "$tmp/e1"
"$kaio" -s sh -c "'$p32' '$tmp/b' && '$p64' '$tmp/c'" >/dev/null 2>"$tmp/e2"
served "kaio -s a 64-bit shell running a 32-bit and a 64-bit program: both served" 2 "$tmp/e2"
"$kaio" -s "$b32/spawn" "$p64" "$tmp/d" >/dev/null 2>"$tmp/e3"
if grep -q 'ld\.so' "$tmp/e3" || ! grep -q "^kaio: pid=.*loaded, no POSIX AIO request" "$tmp/e3"; then
	fail "kaio -s a 32-bit program that starts a 64-bit one: kaio in both" "" "$tmp/e3"
else
	grep -v "loaded, no POSIX AIO request" "$tmp/e3" >"$tmp/e3b"
	served "kaio -s a 32-bit program that starts a 64-bit one: kaio in both" 1 "$tmp/e3b"
fi
out=$("$kaio" --check "$p32" 2>&1)
rc=$?
if ((rc == 0)) && [[ $out == *"library     ok  $(realpath "$b32/libkaio.so") loads"* && $out == *"kaio will serve $p32"* ]]; then
	pass "kaio --check a 32-bit program: the i386 library, will serve"
else
	fail "kaio --check a 32-bit program: the i386 library, will serve" "exit $rc: $out"
fi
summary i386
