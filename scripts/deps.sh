#!/usr/bin/env bash
# Usage: scripts/deps.sh build|full|bench|soak|lint|deb
# Installs the Debian packages kaio needs when they are missing: with apt-get
# when run as root, otherwise it prints the apt-get line and fails.
# Prints nothing when everything is already installed.
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

missing_pkgs() {
	local p
	missing=()
	for p in "${pkgs[@]}"; do
		# Unknown packages make dpkg-query fail; "deinstall ok config-files"
		# and half-installed states count as missing too.
		if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
			missing+=("$p")
		fi
	done
}

missing_pkgs
((${#missing[@]} == 0)) && exit 0

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
