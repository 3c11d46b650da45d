#!/usr/bin/env bash
# Usage: scripts/i386.sh CC [test]
# Can this machine build kaio's i386 library beside the x86_64 one (with
# "test": and its i386 unit tests)? Prints nothing and exits 0 when it can;
# else one line that says why not, and exits 1. The Makefile asks it once
# per run; tests/i386.sh prints the line as its SKIP reason.
set -u
cc=${1:-cc}
ma=$($cc -print-multiarch 2>/dev/null)
if [[ $ma != x86_64-linux-gnu ]]; then
	echo "the host compiler targets '${ma:-unknown}', not x86_64-linux-gnu"
	exit 1
fi
dpkg --print-foreign-architectures 2>/dev/null | grep -qx i386 ||
	{ echo "dpkg has no i386 architecture (dpkg --add-architecture i386; make deps)"; exit 1; }
need=(gcc-multilib libaio-dev:i386 liburing-dev:i386 libglib2.0-dev:i386)
[[ ${2-} == test ]] && need+=(libcmocka-dev:i386)
missing=()
for p in "${need[@]}"; do
	[[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "missing i386 packages: ${missing[*]} (make deps installs them)"
	exit 1
fi
command -v i386-linux-gnu-pkg-config >/dev/null ||
	{ echo "no i386-linux-gnu-pkg-config (package pkgconf)"; exit 1; }
if ! echo 'int main(void){return 0;}' | $cc -m32 -x c - -o /dev/null -laio -luring 2>/dev/null; then
	echo "$cc -m32 cannot link a program with libaio and liburing"
	exit 1
fi
