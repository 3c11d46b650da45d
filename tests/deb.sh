#!/usr/bin/env bash
# Usage: tests/deb.sh BUILD_DIR PROGDIR   (make check: build build/prog)
# The Debian package: scripts/deb.sh (make deb) builds it with
# dpkg-buildpackage -us -uc -b in BUILD_DIR/deb and runs lintian; then the
# .deb is unpacked into a scratch root with dpkg -x, and the installed wrapper
# runs a real POSIX AIO program (tests/prog/rw_basic) with the installed
# library, whose statistics line must show kernel AIO at work. Skips where
# dpkg-buildpackage or debhelper is missing.
# One PASS/FAIL/SKIP line per check, then "N passed, N failed, N skipped".
set -uo pipefail

if (($# != 2)); then
	echo "usage: $0 BUILD_DIR PROGDIR" >&2
	exit 2
fi
build=$1 prog=$(realpath -e "$2")
repo=$(cd "$(dirname "$0")/.." && pwd)
unset KAIO_LIB KAIO_QUEUE_DEPTH KAIO_STATS KAIO_DEBUG KAIO_FALLBACK KAIO_URING LD_PRELOAD

# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for t in dpkg-buildpackage dh dpkg-deb; do
	if ! command -v "$t" >/dev/null; then
		skip "Debian package" "$t is not installed (apt-get install dpkg-dev debhelper)"
		summary deb
		exit
	fi
done

"$repo/scripts/deb.sh" "$build" >"$tmp/log" 2>&1
rc=$?
deb=$(sed -n 's/^deb: //p' "$tmp/log")
if [[ -n $deb && -f $deb ]]; then
	pass "dpkg-buildpackage -us -uc -b builds ${deb##*/}"
else
	fail "dpkg-buildpackage -us -uc -b builds the package" "exit $rc" "$tmp/log"
	summary deb
	exit 1
fi
if ! command -v lintian >/dev/null; then
	skip "lintian" "lintian is not installed"
elif ((rc == 0)); then
	pass "lintian --pedantic -I: no error, no warning"
else
	fail "lintian --pedantic -I reports errors or warnings" "" "$(dirname "$deb")/lintian.txt"
fi
sed 's/^/    lintian: /' "$(dirname "$deb")/lintian.txt"

ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' >"$tmp/files"
for f in /usr/bin/kaio "/usr/lib/$ma/kaio/libkaio.so" "/usr/lib/$ma/kaio/kaio-check" \
	/usr/share/man/man1/kaio.1.gz /usr/share/doc/kaio/copyright; do
	if grep -qxF "$f" "$tmp/files"; then pass "the package holds $f"; else fail "the package holds $f"; fi
done
depends=$(dpkg-deb -f "$deb" Depends)
if [[ $depends == *libaio1* && $depends == *libglib2.0-0* ]]; then pass "Depends: $depends"; else fail "Depends names libaio1 and libglib2.0-0" "Depends: $depends"; fi
ver=$(dpkg-deb -f "$deb" Version)
if [[ "$("$build/kaio" --version)" == "kaio $ver "* ]]; then pass "package version $ver is the wrapper's"; else fail "package version $ver is the wrapper's" "$("$build/kaio" --version)"; fi

root=$tmp/root
dpkg -x "$deb" "$root"
ikaio=$root/usr/bin/kaio ilib=$root/usr/lib/$ma/kaio/libkaio.so
if [[ "$("$ikaio" --version)" == *'(library: /usr/$LIB/kaio/libkaio.so)' ]]; then
	pass "installed wrapper has /usr/\$LIB/kaio/libkaio.so built in (/usr/lib/$ma/kaio for this package)"
else
	fail "installed wrapper has /usr/\$LIB/kaio/libkaio.so built in" "$("$ikaio" --version)"
fi

# The unpacked wrapper and library (KAIO_LIB: the root is not /) on a real
# POSIX AIO program; its output must be the one it prints without kaio.
mkdir -p "$tmp/plain" "$tmp/kaio"
timeout 60 "$prog/rw_basic" "$tmp/plain" >"$tmp/plain.out" 2>&1
KAIO_LIB=$ilib timeout 60 "$ikaio" -s "$prog/rw_basic" "$tmp/kaio" >"$tmp/kaio.out" 2>"$tmp/kaio.err"
rc=$?
stats=$(grep -a '^kaio: kernel=' "$tmp/kaio.err")
kernel=$(sed -nE 's/.* ?kernel=([0-9]+).*/\1/p' <<<"${stats#kaio: }")
if ((rc != 0)) || ! cmp -s "$tmp/plain.out" "$tmp/kaio.out"; then
	fail "installed kaio runs rw_basic, same output as without kaio" "exit $rc" "$tmp/kaio.err"
elif [[ $stats == *"ctx_error=0"* ]] && ((kernel > 0)); then
	pass "installed kaio runs rw_basic: same output, $kernel requests through kernel AIO"
elif [[ -n $stats ]]; then
	skip "installed kaio serves rw_basic with kernel AIO" "no kernel AIO here: $stats"
else
	fail "installed kaio runs rw_basic: no statistics line, the installed library was not loaded" "" "$tmp/kaio.err"
fi
KAIO_LIB=$ilib "$ikaio" --check "$prog/rw_basic" >"$tmp/check" 2>&1
rc=$?
if grep -q "^library     ok  $ilib loads" "$tmp/check" && { ((rc == 0)) || grep -q '^kernel AIO  no' "$tmp/check"; }; then
	pass "installed kaio --check rw_basic (exit $rc) uses the installed kaio-check and library"
else
	fail "installed kaio --check rw_basic" "exit $rc" "$tmp/check"
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
