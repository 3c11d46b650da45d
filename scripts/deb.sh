#!/usr/bin/env bash
# Usage: scripts/deb.sh BUILD_DIR       (make deb: scripts/deb.sh build)
# Builds the Debian packages in BUILD_DIR/deb, each build from a copy of the
# source tree there (dpkg-buildpackage writes its results beside the tree it
# builds, and they stay in BUILD_DIR):
#   dpkg-buildpackage -us -uc -b          kaio and libkaio of the host
#   dpkg-buildpackage -us -uc -a i386 -B -Pcross,nocheck
#                                         on amd64, at the same time: a cross
#                                         build of the same rules, libkaio
#                                         (and kaio) of architecture i386
# The cross build needs dpkg's i386 architecture, the Build-Depends of i386,
# gcc -m32 (gcc-multilib; or gcc-i686-linux-gnu, which conflicts with it) and
# binutils-i686-linux-gnu (scripts/deps.sh deb installs them); without them
# it is left out, and a line "nodeb: i386: WHY" says why. Then lintian runs on
# the .changes of each build when it is installed; its findings are in
# BUILD_DIR/deb/lintian.txt.
# One line "deb: PATH" per package built (the -dbgsym ones aside), last.
# Exits non-zero if a build fails or lintian reports an error or a warning.
set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "$1/deb")
ver=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)

rm -rf "$out"
mkdir -p "$out"
# The tree as it is (uncommitted changes too), without build output, git
# metadata or the leftovers of a dpkg-buildpackage run in the tree itself.
excl=(--exclude=./.git --exclude=./build --exclude=./debian/tmp --exclude=./debian/kaio
	--exclude=./debian/libkaio --exclude=./debian/.debhelper --exclude=./debian/files
	--exclude='./debian/*.substvars' --exclude=./debian/debhelper-build-stamp)
case $out/ in "$root"/*) excl+=("--exclude=./${out#"$root"/}") ;; esac
tar -C "$root" "${excl[@]}" -cf - . >"$out/tree.tar"

# i386_why: why there is no cross build for i386 here (nothing if there is).
i386_why() {
	local gnu missing cc
	[[ $arch == amd64 ]] || { echo "the host is $arch, not amd64"; return; }
	dpkg --print-foreign-architectures | grep -qx i386 ||
		{ echo "dpkg has no i386 architecture (dpkg --add-architecture i386; scripts/deps.sh deb)"; return; }
	if ! missing=$(cd "$root" && dpkg-checkbuilddeps -a i386 2>&1); then
		echo "${missing#dpkg-checkbuilddeps: error: } (scripts/deps.sh deb)"
		return
	fi
	# debian/rules: the cross compiler, else gcc -m32 (gcc-multilib).
	gnu=$(dpkg-architecture -ai386 -qDEB_HOST_GNU_TYPE 2>/dev/null)
	cc=$gnu-gcc
	command -v "$cc" >/dev/null || cc="$(dpkg-architecture -qDEB_BUILD_GNU_TYPE)-gcc -m32"
	echo 'int main(void){return 0;}' | $cc -x c - -o /dev/null 2>/dev/null ||
		{ echo "neither $gnu-gcc nor $cc links a program (package gcc-multilib; scripts/deps.sh deb)"; return; }
	command -v "$gnu-strip" >/dev/null ||
		{ echo "no $gnu-strip for dh_strip (package binutils-$gnu; scripts/deps.sh deb)"; return; }
}

# build NAME ARGS...: dpkg-buildpackage ARGS in $out/NAME (log: $out/NAME.log).
build() {
	local name=$1
	shift
	mkdir -p "$out/$name"
	tar -C "$out/$name" -xf "$out/tree.tar"
	(cd "$out/$name" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc "$@") \
		>"$out/$name.log" 2>&1
}

builds=("$arch")
why=$(i386_why)
if [[ $arch != i386 ]]; then
	if [[ -z $why ]]; then
		builds+=(i386)
	else
		echo "kaio: no i386 packages: $why"
	fi
fi
pids=()
for a in "${builds[@]}"; do
	if [[ $a == "$arch" ]]; then
		echo "kaio: dpkg-buildpackage -us -uc -b (log: $out/$a.log)"
		build "$a" -b &
	else
		# The profiles and option sbuild sets for a cross build: the test
		# step (empty here) cannot run the host's programs.
		echo "kaio: dpkg-buildpackage -us -uc -a $a -B -Pcross,nocheck (log: $out/$a.log)"
		DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS-}" build "$a" -a "$a" -B -Pcross,nocheck &
	fi
	pids+=($!)
done
failed=0
for i in "${!builds[@]}"; do
	if ! wait "${pids[i]}"; then
		tail -n 40 "$out/${builds[i]}.log"
		echo "kaio: dpkg-buildpackage failed for ${builds[i]}" >&2
		failed=1
	fi
done
rm -f "$out/tree.tar"
((failed == 0)) || exit 1

debs=()
for a in "${builds[@]}"; do
	for p in kaio libkaio; do
		deb=$out/${p}_${ver}_$a.deb
		[[ -f $deb ]] || { echo "kaio: no $deb after the build" >&2; exit 1; }
		debs+=("$deb")
	done
done

rc=0
changes=("${builds[@]/#/$out/kaio_${ver}_}")
changes=("${changes[@]/%/.changes}")
if command -v lintian >/dev/null; then
	echo "kaio: lintian --pedantic -I ${changes[*]##*/}"
	lintian --pedantic -I --fail-on error,warning "${changes[@]}" >"$out/lintian.txt" 2>&1 || rc=$?
	cat "$out/lintian.txt"
	((rc == 0)) || echo "kaio: lintian reports errors or warnings (exit $rc)" >&2
else
	echo "kaio: lintian is not installed: the packages were not checked" >"$out/lintian.txt"
	cat "$out/lintian.txt"
fi
[[ -z $why || $arch == i386 ]] || echo "nodeb: i386: $why"
printf 'deb: %s\n' "${debs[@]}"
exit "$rc"
