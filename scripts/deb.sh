#!/usr/bin/env bash
# Usage: scripts/deb.sh BUILD_DIR       (make deb: scripts/deb.sh build)
# Builds the Debian package with `dpkg-buildpackage -us -uc -b` from a copy
# of the source tree in BUILD_DIR/deb (dpkg-buildpackage writes its results
# beside the tree it builds, and they stay in BUILD_DIR), then runs lintian
# on it when lintian is installed; its findings are in BUILD_DIR/deb/lintian.txt.
# The last line is "deb: PATH". Exits non-zero if the build fails or lintian
# reports an error or a warning.
set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "$1/deb")
ver=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
src=$out/kaio-$ver

rm -rf "$out"
mkdir -p "$src"
# The tree as it is (uncommitted changes too), without build output, git
# metadata or the leftovers of a dpkg-buildpackage run in the tree itself.
excl=(--exclude=./.git --exclude=./build --exclude=./debian/kaio --exclude=./debian/.debhelper
	--exclude=./debian/files --exclude='./debian/*.substvars' --exclude=./debian/debhelper-build-stamp)
case $out/ in "$root"/*) excl+=("--exclude=./${out#"$root"/}") ;; esac
tar -C "$root" "${excl[@]}" -cf - . | tar -C "$src" -xf -

echo "kaio: dpkg-buildpackage -us -uc -b in $src (log: $out/build.log)"
if ! (cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log"
	echo "kaio: dpkg-buildpackage failed" >&2
	exit 1
fi
deb=$out/kaio_${ver}_${arch}.deb
[[ -f $deb ]] || { echo "kaio: no $deb after the build" >&2; exit 1; }

rc=0
if command -v lintian >/dev/null; then
	echo "kaio: lintian --pedantic -I $out/kaio_${ver}_${arch}.changes"
	lintian --pedantic -I --fail-on error,warning "$out/kaio_${ver}_${arch}.changes" >"$out/lintian.txt" 2>&1 || rc=$?
	cat "$out/lintian.txt"
	((rc == 0)) || echo "kaio: lintian reports errors or warnings (exit $rc)" >&2
else
	echo "kaio: lintian is not installed: the package was not checked" >"$out/lintian.txt"
	cat "$out/lintian.txt"
fi
echo "deb: $deb"
exit "$rc"
