#!/usr/bin/env bash
# Usage: tests/deb.sh BUILD_DIR PROGDIR   (make check: build build/prog)
# The Debian packages: scripts/deb.sh (make deb) builds kaio and libkaio of
# the host with dpkg-buildpackage -us -uc -b and, on amd64, libkaio (and
# kaio) of i386 with a cross build, -a i386 -B, and runs lintian. Then their
# metadata (libkaio Multi-Arch: same, each of its architecture, files that
# both hold byte for byte the same; kaio Multi-Arch: foreign and depending
# on libkaio), and the .debs unpacked with dpkg -x into a scratch root: the
# installed wrapper, with KAIO_LIB its own /usr/$LIB/kaio/libkaio.so moved
# into that root ($LIB still literal, for ld.so), runs a 64-bit and a 32-bit
# POSIX AIO program (PROGDIR/rw_basic and BUILD_DIR/i386/prog/rw_basic, which
# make check's i386 part builds), and their statistics lines must show kaio
# served them (glibc=0). Skips where dpkg-buildpackage or debhelper is
# missing; the i386 checks skip, with the reason, where the i386 packages
# or programs cannot be built.
# One PASS/FAIL/SKIP line per check, then "N passed, N failed, N skipped".
set -uo pipefail

if (($# != 2)); then
	echo "usage: $0 BUILD_DIR PROGDIR" >&2
	exit 2
fi
build=$1 prog=$(realpath -e "$2")
repo=$(cd "$(dirname "$0")/.." && pwd)
unset KAIO_LIB KAIO_QUEUE_DEPTH KAIO_STATS KAIO_STATS_FILE KAIO_DEBUG KAIO_FALLBACK KAIO_URING KAIO_INLINE LD_PRELOAD

# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for t in dpkg-buildpackage dh dpkg-deb; do
	if ! command -v "$t" >/dev/null; then
		skip "Debian packages" "$t is not installed (apt-get install dpkg-dev debhelper)"
		summary deb
		exit
	fi
done

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
ver=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
"$repo/scripts/deb.sh" "$build" >"$tmp/log" 2>&1
rc=$?
out=$(realpath -m "$build/deb")
# deb_of PKG ARCH: the path of that .deb if scripts/deb.sh built it.
deb_of() {
	grep -qxF "deb: $out/${1}_${ver}_$2.deb" "$tmp/log" && echo "$out/${1}_${ver}_$2.deb"
}
kdeb=$(deb_of kaio "$arch") ldeb=$(deb_of libkaio "$arch")
if [[ -n $kdeb && -f $kdeb && -n $ldeb && -f $ldeb ]]; then
	pass "dpkg-buildpackage -us -uc -b builds ${kdeb##*/} and ${ldeb##*/}"
else
	fail "dpkg-buildpackage -us -uc -b builds kaio and libkaio for $arch" "exit $rc" "$tmp/log" "$out/$arch.log"
	summary deb
	exit 1
fi

# The i386 packages: built here (an amd64 host), or why not. why32 is the
# reason every i386 check skips.
why32=
if [[ $arch == i386 ]]; then
	why32="the host is i386: its packages are the ones above"
elif grep -q '^nodeb: i386: ' "$tmp/log"; then
	why32="no i386 packages: $(sed -n 's/^nodeb: i386: //p' "$tmp/log")"
fi
if [[ -n $why32 ]]; then
	skip "dpkg-buildpackage -a i386 -B builds libkaio_${ver}_i386.deb" "$why32"
else
	kdeb32=$(deb_of kaio i386) ldeb32=$(deb_of libkaio i386)
	if [[ -n $kdeb32 && -f $kdeb32 && -n $ldeb32 && -f $ldeb32 ]]; then
		pass "dpkg-buildpackage -a i386 -B (a cross build) builds ${kdeb32##*/} and ${ldeb32##*/}"
	else
		fail "dpkg-buildpackage -a i386 -B builds kaio and libkaio for i386" "exit $rc" "$tmp/log" "$out/i386.log"
		why32="the i386 build failed"
	fi
fi

if ! command -v lintian >/dev/null; then
	skip "lintian" "lintian is not installed"
elif ((rc == 0)); then
	pass "lintian --pedantic -I on every package built: no error, no warning"
else
	fail "lintian --pedantic -I reports errors or warnings" "" "$out/lintian.txt"
fi
sed 's/^/    lintian: /' "$out/lintian.txt"

# --- metadata -------------------------------------------------------------
# field_is DEB FIELD VALUE
field_is() {
	local v
	v=$(dpkg-deb -f "$1" "$2")
	if [[ $v == "$3" ]]; then pass "${1##*/}: $2: $3"; else fail "${1##*/}: $2: $3" "it is '$v'"; fi
}
# holds DEB PATH...: the package holds each PATH.
holds() {
	local deb=$1 f
	shift
	dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' >"$tmp/files"
	for f; do
		if grep -qxF "$f" "$tmp/files"; then pass "${deb##*/} holds $f"; else fail "${deb##*/} holds $f"; fi
	done
}
# libkaio DEB ARCH MULTIARCH ELFCLASS: a library package's fields and files.
libkaio() {
	local deb=$1 a=$2 m=$3 class=$4 depends other f bad=
	field_is "$deb" Package libkaio
	field_is "$deb" Architecture "$a"
	field_is "$deb" Multi-Arch same
	depends=$(dpkg-deb -f "$deb" Depends)
	if [[ $depends == *libaio1* && $depends == *libglib2.0-0* && $depends == *liburing2* ]]; then
		pass "${deb##*/}: Depends: $depends"
	else
		fail "${deb##*/}: Depends names libaio1, libglib2.0-0 and liburing2" "Depends: $depends"
	fi
	holds "$deb" "/usr/lib/$m/kaio/libkaio.so" "/usr/lib/$m/kaio/kaio-check" /usr/share/doc/libkaio/copyright
	# Multi-Arch: same: a file outside the architecture's own directory is
	# shared with the other architectures' libkaio.
	other=$(grep -v -e '/$' -e "^/usr/lib/$m/kaio/" -e '^/usr/share/doc/libkaio/' "$tmp/files")
	if [[ -z $other ]]; then
		pass "${deb##*/}: every file in /usr/lib/$m/kaio or /usr/share/doc/libkaio"
	else
		fail "${deb##*/}: every file in /usr/lib/$m/kaio or /usr/share/doc/libkaio" "also: ${other//$'\n'/ }"
	fi
	mkdir -p "$tmp/x/$a"
	dpkg -x "$deb" "$tmp/x/$a"
	for f in libkaio.so kaio-check; do
		readelf -h "$tmp/x/$a/usr/lib/$m/kaio/$f" >"$tmp/elf" 2>&1
		grep -q "Class: *$class" "$tmp/elf" || bad+=" $f: $(grep -E 'Class|Machine' "$tmp/elf" | tr -s ' ' | tr '\n' ' ')"
	done
	if [[ -z $bad ]]; then pass "${deb##*/}: libkaio.so and kaio-check are $class"; else fail "${deb##*/}: $class" "$bad"; fi
}
libkaio "$ldeb" "$arch" "$ma" "$(if [[ $arch == i386 ]]; then echo ELF32; else echo ELF64; fi)"

# wrapper DEB ARCH: the kaio package of ARCH, foreign, on its own libkaio.
wrapper() {
	local deb=$1 depends
	field_is "$deb" Architecture "$2"
	field_is "$deb" Multi-Arch foreign
	depends=$(dpkg-deb -f "$deb" Depends)
	if [[ ,$depends, =~ ,\ ?libkaio\ \(=\ $ver\), ]]; then
		pass "${deb##*/}: Depends: $depends"
	else
		fail "${deb##*/}: Depends: libkaio (= $ver)" "Depends: $depends"
	fi
}
wrapper "$kdeb" "$arch"
holds "$kdeb" /usr/bin/kaio /usr/share/man/man1/kaio.1.gz /usr/share/doc/kaio/copyright
if grep -q '^/usr/lib/.' "$tmp/files"; then
	fail "${kdeb##*/} holds no library (libkaio does)" "$(grep '^/usr/lib/.' "$tmp/files" | tr '\n' ' ')"
else
	pass "${kdeb##*/} holds no library (libkaio does)"
fi
if [[ "$("$build/kaio" --version)" == "kaio $ver "* ]]; then pass "package version $ver is the wrapper's"; else fail "package version $ver is the wrapper's" "$("$build/kaio" --version)"; fi

if [[ -n $why32 ]]; then
	skip "libkaio_${ver}_i386.deb: Multi-Arch: same, Architecture: i386, ELF32" "$why32"
	skip "libkaio of $arch and of i386: the files both hold are the same" "$why32"
	skip "kaio_${ver}_i386.deb: Multi-Arch: foreign, Depends: libkaio (= $ver)" "$why32"
else
	libkaio "$ldeb32" i386 i386-linux-gnu ELF32
	# dpkg refuses to install two Multi-Arch: same instances whose shared
	# files differ: compare the packages' own md5sums on their common paths.
	join <(dpkg-deb -I "$ldeb" md5sums | awk '{ print $2, $1 }' | sort) \
		<(dpkg-deb -I "$ldeb32" md5sums | awk '{ print $2, $1 }' | sort) >"$tmp/common"
	n=$(wc -l <"$tmp/common")
	if ((n >= 2)) && awk '$2 != $3 { exit 1 }' "$tmp/common"; then
		pass "libkaio of $arch and of i386: the $n files both hold are the same ($(awk '{ printf "%s ", $1 }' "$tmp/common"))"
	else
		fail "libkaio of $arch and of i386: the files both hold are the same" "$n in common" "$tmp/common"
	fi
	wrapper "$kdeb32" i386
fi

# --- the unpacked packages at work ----------------------------------------
root=$tmp/root
debs=("$kdeb" "$ldeb")
[[ -n $why32 ]] || debs+=("$ldeb32")
for deb in "${debs[@]}"; do
	dpkg -x "$deb" "$root"
done
ikaio=$root/usr/bin/kaio
builtin=$("$ikaio" --version | sed -n 's/^kaio .* (library: \(.*\))$/\1/p')
# shellcheck disable=SC2016 # $LIB is literal: ld.so expands it
if [[ $builtin == '/usr/$LIB/kaio/libkaio.so' ]]; then
	pass "installed wrapper has /usr/\$LIB/kaio/libkaio.so built in (/usr/lib/$ma/kaio for libkaio:$arch)"
else
	fail "installed wrapper has /usr/\$LIB/kaio/libkaio.so built in" "$("$ikaio" --version)"
fi
# The root is not /: the same path under it, $LIB still for ld.so to expand.
export KAIO_LIB=$root$builtin

# served NAME N FILE: FILE (a run's stderr) holds N statistics lines, each of
# a process kaio served (served > 0, glibc=0), and no line from ld.so.
served() {
	local n line s g bad=
	n=$(grep -ac '^kaio: kernel=' "$3")
	while read -r line; do
		s=$(stats_field served "$line") g=$(stats_field glibc "$line")
		[[ $s -gt 0 && $g == 0 ]] || bad="not served: $line"
	done < <(grep -a '^kaio: kernel=' "$3")
	grep -aq 'ld\.so' "$3" && bad="${bad:+$bad; }a line from ld.so"
	((n == $2)) || bad="${bad:+$bad; }$n statistics lines, want $2"
	if [[ -z $bad ]]; then
		pass "$1"
	elif grep -aq '^kaio: kernel=.* ctx_error=[^0]' "$3"; then
		skip "$1" "no kernel AIO here: $(grep -a -m1 '^kaio: kernel=' "$3")"
	else
		fail "$1" "$bad" "$3"
	fi
}

# run NAME WRAPPER PROGRAM: PROGRAM without kaio and under WRAPPER -s; the
# same output, and served.
run() {
	local name=$1 w=$2 p=$3 d
	d=$tmp/run$((++runs))
	mkdir -p "$d/plain" "$d/kaio"
	timeout 60 "$p" "$d/plain" >"$d/plain.out" 2>&1
	timeout 60 "$w" -s "$p" "$d/kaio" >"$d/kaio.out" 2>"$d/kaio.err"
	rc=$?
	if ((rc != 0)) || ! cmp -s "$d/plain.out" "$d/kaio.out"; then
		fail "$name: same output as without kaio" "$(ended "$rc" 60)" "$d/kaio.err" "$d/kaio.out"
	else
		served "$name: same output as without kaio, served by kaio (glibc=0)" 1 "$d/kaio.err"
	fi
}
runs=0
run "installed kaio runs a 64-bit program (rw_basic) with libkaio:$arch" "$ikaio" "$prog/rw_basic"
ilib=$root/usr/lib/$ma/kaio/libkaio.so
"$ikaio" --check "$prog/rw_basic" >"$tmp/check" 2>&1
rc=$?
if grep -q "^library     ok  $ilib loads" "$tmp/check" && { ((rc == 0)) || grep -q '^kernel AIO  no' "$tmp/check"; }; then
	pass "installed kaio --check rw_basic (exit $rc) uses the installed kaio-check and library"
else
	fail "installed kaio --check rw_basic" "exit $rc" "$tmp/check"
fi

# The 32-bit program is make check's i386 part's (tests/i386.sh).
p32=$build/i386/prog/rw_basic
if [[ -z $why32 && ! -x $p32 ]]; then
	if why=$("$repo/scripts/i386.sh" "${CC:-cc}" test); then
		fail "a 32-bit program to run: $p32" "not built (make _i386_check builds it)"
		why32="no $p32"
	else
		why32="no 32-bit program: $why"
	fi
fi
if [[ -n $why32 ]]; then
	for c in "installed kaio runs a 32-bit program with libkaio:i386" \
		"installed kaio runs a 64-bit shell that runs a 32-bit and a 64-bit program" \
		"installed kaio --check a 32-bit program" "kaio:i386's wrapper runs a 32-bit program"; do
		skip "$c" "$why32"
	done
else
	run "installed kaio runs a 32-bit program (i386/prog/rw_basic) with libkaio:i386" "$ikaio" "$p32"
	mkdir -p "$tmp/mix32" "$tmp/mix64"
	timeout 60 "$ikaio" -s sh -c "'$p32' '$tmp/mix32' && '$prog/rw_basic' '$tmp/mix64'" >/dev/null 2>"$tmp/mix.err"
	rc=$?
	if ((rc == 0)); then
		served "installed kaio runs a 64-bit shell that runs a 32-bit and a 64-bit program: both served" 2 "$tmp/mix.err"
	else
		fail "installed kaio runs a 64-bit shell that runs a 32-bit and a 64-bit program" "$(ended "$rc" 60)" "$tmp/mix.err"
	fi
	"$ikaio" --check "$p32" >"$tmp/check32" 2>&1
	rc=$?
	if grep -q "^library     ok  $root/usr/lib/i386-linux-gnu/kaio/libkaio.so loads" "$tmp/check32" &&
		{ ((rc == 0)) || grep -q '^kernel AIO  no' "$tmp/check32"; }; then
		pass "installed kaio --check a 32-bit program (exit $rc): libkaio:i386's library"
	else
		fail "installed kaio --check a 32-bit program" "exit $rc" "$tmp/check32"
	fi
	# kaio:i386 is the wrapper of an i386 system: its own class is i386.
	mkdir -p "$tmp/root32"
	dpkg -x "$kdeb32" "$tmp/root32"
	run "kaio:i386's wrapper runs a 32-bit program with libkaio:i386" "$tmp/root32/usr/bin/kaio" "$p32"
fi

if command -v man >/dev/null; then
	if LC_ALL=C.UTF-8 man --warnings -l "$root/usr/share/man/man1/kaio.1.gz" 2>"$tmp/warn" | grep '^NAME' >/dev/null && [[ ! -s $tmp/warn ]]; then
		pass "man -l on the installed kaio.1.gz"
	else
		fail "man -l on the installed kaio.1.gz" "" "$tmp/warn"
	fi
else
	skip "man -l on the installed kaio.1.gz" "man is not installed"
fi

summary deb
