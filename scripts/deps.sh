#!/usr/bin/env bash
# Usage: scripts/deps.sh build|full|bench|soak|lint|deb
# Installs the Debian packages kaio needs when they are missing: with apt-get
# when run as root, otherwise it prints the apt-get line and fails.
# Prints nothing when everything is already installed.
# full (make check) and deb (make deb) also install the i386 packages on an
# amd64 machine (dpkg --add-architecture i386 first): where they cannot be
# had, it says so and succeeds, and the i386 build and its tests skip.
set -euo pipefail

case "${1-}" in
build) pkgs=(gcc make pkg-config libaio-dev liburing-dev libglib2.0-dev) ;;
full)  pkgs=(gcc make pkg-config libaio-dev liburing-dev libglib2.0-dev libcmocka-dev fio strace valgrind
	     man-db dpkg-dev debhelper lintian) ;;
deb)   pkgs=(gcc make pkg-config libaio-dev liburing-dev libglib2.0-dev dpkg-dev debhelper lintian) ;;
soak)  pkgs=(gcc make pkg-config libaio-dev liburing-dev libglib2.0-dev fio valgrind python3) ;;
lint)  pkgs=(pkg-config libaio-dev liburing-dev libglib2.0-dev cppcheck clang-tidy) ;;
bench) pkgs=(gcc make pkg-config libaio-dev liburing-dev libglib2.0-dev fio gnuplot-nox jq strace stress-ng) ;;
*)     echo "usage: $0 build|full|bench|soak|lint|deb" >&2; exit 2 ;;
esac

native=$(dpkg --print-architecture)
# NAME: the native (or Architecture: all) instance; NAME:ARCH: that one. With
# i386 added, dpkg-query lists libaio-dev twice, once per architecture.
installed() {
	local want=${1#*:}
	[[ $1 == *:* ]] || want="$native|all"
	# Unknown packages make dpkg-query fail; "deinstall ok config-files"
	# and half-installed states count as missing too.
	dpkg-query -W -f='${Status} ${Architecture}\n' "$1" 2>/dev/null | grep -qE "^install ok installed ($want)\$"
}

missing_pkgs() {
	local p
	missing=()
	for p in "${pkgs[@]}"; do
		installed "$p" || missing+=("$p")
	done
}

# The i386 build beside the amd64 one (tests/i386.sh skips without it) and
# the cross build of the i386 packages (scripts/deb.sh leaves it out without
# it; tests/deb.sh skips its i386 checks). Not crossbuild-essential-i386:
# its gcc-i686-linux-gnu conflicts with gcc-multilib in Debian 12, so
# debian/rules compiles with gcc -m32 and takes only the cross binutils
# (dh_strip runs i686-linux-gnu-strip).
i386=()
if [[ $native == amd64 ]]; then
	case $1 in
	full) i386=(gcc-multilib libaio-dev:i386 liburing-dev:i386 libglib2.0-dev:i386 libcmocka-dev:i386
		    binutils-i686-linux-gnu) ;;
	deb)  i386=(gcc-multilib libaio-dev:i386 liburing-dev:i386 libglib2.0-dev:i386 binutils-i686-linux-gnu) ;;
	esac
fi
i386_deps() {
	local p missing=()
	for p in "${i386[@]}"; do installed "$p" || missing+=("$p"); done
	((${#missing[@]} == 0)) && return 0
	if [[ "$(id -u)" != 0 ]]; then
		echo "kaio: no i386 build without: sudo dpkg --add-architecture i386 && sudo apt-get update &&" \
			"sudo apt-get install -y ${missing[*]}" >&2
		return 0
	fi
	echo "kaio: installing ${missing[*]}" >&2
	if ! dpkg --print-foreign-architectures | grep -qx i386; then
		dpkg --add-architecture i386 && apt-get update || true
	fi
	apt-get install -y --no-install-recommends "${missing[@]}" ||
		{ apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; } ||
		echo "kaio: the i386 packages could not be installed: no i386 build (make check's i386 parts skip)" >&2
}

missing_pkgs
if ((${#missing[@]} == 0)); then
	((${#i386[@]} == 0)) || i386_deps
	exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
	echo "kaio: missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
install_missing() {
	apt-get install -y --no-install-recommends "${missing[@]}"
}

echo "kaio: installing ${missing[*]}" >&2
updated=0
# No package lists at all (a fresh container): update before the first try.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
	apt-get update
	updated=1
fi
if ! install_missing; then
	((updated)) && exit 1
	# Stale lists (a package version gone from the mirror): update once, retry.
	apt-get update
	install_missing
fi

missing_pkgs
if ((${#missing[@]} != 0)); then
	echo "kaio: still missing after apt-get: ${missing[*]}" >&2
	exit 1
fi
((${#i386[@]} == 0)) || i386_deps
