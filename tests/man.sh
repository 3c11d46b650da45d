#!/usr/bin/env bash
# Usage: tests/man.sh KAIO LIB PROGDIR   (make check: build/kaio build/libkaio.so build/prog)
# The man page docs/kaio.1 against the program it documents:
#   - man -l renders it without a warning, with the sections the user needs;
#   - OPTIONS lists exactly the options of `kaio --help`, and ENVIRONMENT
#     exactly its KAIO_* variables;
#   - every field of a real statistics line (a POSIX AIO program run with
#     KAIO_STATS=1) and the line of a process that made no request are
#     explained under STATISTICS;
#   - the version and the exit statuses agree.
# One PASS/FAIL/SKIP line per check, then "N passed, N failed, N skipped".
set -uo pipefail

if (($# != 3)); then
	echo "usage: $0 KAIO LIB PROGDIR" >&2
	exit 2
fi
kaio=$1 lib=$(realpath -e "$2") prog=$3
page=$(cd "$(dirname "$0")/.." && pwd)/docs/kaio.1
unset KAIO_LIB KAIO_QUEUE_DEPTH KAIO_STATS KAIO_DEBUG KAIO_FALLBACK KAIO_URING LD_PRELOAD

# shellcheck source=tests/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v man >/dev/null; then
	skip "man page" "man is not installed (apt-get install man-db)"
	summary man
	exit
fi

# Wide enough that no option or variable line wraps.
LC_ALL=C.UTF-8 MANWIDTH=200 man --warnings -l "$page" >"$tmp/page" 2>"$tmp/warn"
rc=$?
if ((rc == 0)) && [[ -s $tmp/page && ! -s $tmp/warn ]]; then
	pass "man -l docs/kaio.1 renders without warnings"
else
	fail "man -l docs/kaio.1 renders without warnings" "exit $rc" "$tmp/warn"
fi

# section NAME: the rendered lines of that section (headings are unindented)
# (grep reads a section to its end: a grep -q that stops at the first match
# would leave awk writing into a closed pipe, and pipefail makes that a failure.)
section() { awk -v s="$1" '/^[A-Z]/ { on = ($0 == s); next } on' "$tmp/page"; }

missing=()
for s in NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT "EXIT STATUS" CHECKING STATISTICS \
	"HOW REQUESTS ARE SERVED" "NOTIFICATIONS AND THREADS" "DIFFERENCES FROM GLIBC" \
	"WITHOUT KERNEL AIO" IO_URING LIMITATIONS EXAMPLES FILES "SEE ALSO"; do
	[[ -n $(section "$s") ]] || missing+=("$s")
done
if ((${#missing[@]} == 0)); then pass "every section is there and not empty"; else fail "sections missing or empty: ${missing[*]}"; fi
for t in "Static binaries" "Set-user-ID" "dlopen librt" "Buffered I/O completes inside io_submit"; do
	if section LIMITATIONS | grep -F "$t" >/dev/null; then pass "LIMITATIONS: $t"; else fail "LIMITATIONS: $t"; fi
done

"$kaio" --help >"$tmp/help" 2>&1 || fail "kaio --help exits 0"

# The option names of a block: "-s, --stats", "--uring=MODE" -> -s --stats --uring
opts() { grep -oE '^ {2,8}(-[a-z], )?--[a-z-]+' | grep -oE -- '--?[a-z-]+' | sort -u; }
opts <"$tmp/help" >"$tmp/help.opts"
section OPTIONS | opts >"$tmp/man.opts"
if [[ -s $tmp/help.opts ]] && diff -u --label help --label man "$tmp/help.opts" "$tmp/man.opts" >"$tmp/d"; then
	pass "OPTIONS lists the options of --help ($(tr '\n' ' ' <"$tmp/help.opts"))"
else
	fail "OPTIONS and --help list different options" "" "$tmp/d"
fi
vars() { grep -oE '^ {2,8}KAIO_[A-Z_]+=' | grep -oE 'KAIO_[A-Z_]+' | sort -u; }
sed -n '/^Environment:/,/^$/p' "$tmp/help" | vars >"$tmp/help.vars"
section ENVIRONMENT | vars >"$tmp/man.vars"
if [[ -s $tmp/help.vars ]] && diff -u --label help --label man "$tmp/help.vars" "$tmp/man.vars" >"$tmp/d"; then
	pass "ENVIRONMENT lists the variables of --help ($(tr '\n' ' ' <"$tmp/help.vars"))"
else
	fail "ENVIRONMENT and --help list different variables" "" "$tmp/d"
fi
# Every KAIO_ name the wrapper script knows is one of them.
grep -oE 'KAIO_[A-Z_]+' "$(dirname "$0")/../scripts/kaio.in" | sort -u | grep -vxF -f "$tmp/man.vars" |
	grep -vx 'KAIO_LIB@\|KAIO_LIB' >"$tmp/d" || true
if [[ ! -s $tmp/d ]]; then pass "every KAIO_ variable in scripts/kaio.in is documented"; else fail "undocumented in ENVIRONMENT: $(tr '\n' ' ' <"$tmp/d")"; fi

# The statistics line of a real run, and of a process with no request.
mkdir -p "$tmp/run"
KAIO_STATS=1 LD_PRELOAD=$lib "$prog/rw_basic" "$tmp/run" >/dev/null 2>"$tmp/stats"
line=$(grep -a '^kaio: kernel=' "$tmp/stats" | head -n 1)
if [[ -z $line ]]; then
	fail "statistics line of rw_basic" "none" "$tmp/stats"
else
	# the tags of the .TP paragraphs under .SH STATISTICS in the source
	awk '/^\.SH/ { on = ($0 == ".SH STATISTICS"); next } on && tp { print $2 } { tp = on && $0 == ".TP" }' \
		"$page" | sort -u >"$tmp/fields"
	undoc=()
	for kv in ${line#kaio: }; do
		k=${kv%%=*}
		grep -qxF "$k" "$tmp/fields" || undoc+=("$k")
	done
	if ((${#undoc[@]} == 0)); then
		pass "STATISTICS explains every field of the line ($(wc -w <<<"${line#kaio: }") fields)"
	else
		fail "STATISTICS does not explain: ${undoc[*]}" "line: $line"
	fi
	extra=$(while read -r k; do
		[[ " ${line#kaio: }" == *" $k="* ]] || printf '%s ' "$k"
	done <"$tmp/fields")
	[[ -z $extra ]] || echo "    (documented, not in this library's line: $extra)"
fi
none=$(KAIO_STATS=1 LD_PRELOAD=$lib /bin/true 2>&1)
shape=$(sed -E 's/pid=[0-9]+/pid=PID/' <<<"$none")
if [[ $shape == "kaio: pid=PID: loaded, no POSIX AIO request" ]] &&
	section STATISTICS | grep -F "kaio: pid=PID: loaded, no POSIX AIO request" >/dev/null; then
	pass "the line of a process with no request is the one shown under STATISTICS"
else
	fail "the line of a process with no request is the one shown under STATISTICS" "it printed: $none"
fi

ver=$("$kaio" --version | sed -nE 's/^kaio ([^ ]+) .*/\1/p')
if [[ -n $ver ]] && grep -q "^\.TH KAIO 1 [^ ]* \"kaio $ver\"" "$page"; then pass "the page is for kaio $ver"; else fail "the page's version is not kaio --version's ($ver)"; fi
for c in 125 126 127; do
	if grep -q "$c" "$tmp/help" && section "EXIT STATUS" | grep "$c" >/dev/null; then pass "exit status $c in both"; else fail "exit status $c in both --help and EXIT STATUS"; fi
done

summary man
