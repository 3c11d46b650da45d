#!/usr/bin/env bash
# make check: every suite runs even if an earlier one failed; the last line
# sums the suites' own "N passed, N failed[, N skipped]" lines.
set -u
# Usage: tests/check.sh BUILD_DIR UNIT_TEST...
build=$1
shift
suites=(
	"tests/run-unit.sh $*"
	"tests/tsan.sh $build/tsan/unit/test_engine $build/tsan/unit/test_concurrent $build/tsan/unit/test_notes $build/tsan/unit/test_inline"
	"tests/valgrind.sh $build/libkaio.so $build/prog"
	"tests/prog/run.sh $build/libkaio.so $build/prog"
	"tests/wrapper.sh $build/kaio $build/libkaio.so $build/prog"
	"tests/man.sh $build/kaio $build/libkaio.so $build/prog"
	"tests/stats.sh $build/kaio $build/libkaio.so $build/stats/server"
	"tests/kcheck.sh $build/kaio $build/libkaio.so $build/prog"
	"tests/deb.sh $build $build/prog"
	"tests/env.sh $build/libkaio.so $build/prog"
	"tests/uring.sh $build/uring/refuse"
	"tests/alloc.sh $build/libkaio.so $build/alloc/count.so $build/alloc/loop"
	"tests/fio.sh $build/kaio"
	"tests/fault.sh $build/libkaio.so $build/fault"
	"tests/diff.sh $build/libkaio.so $build/diff/gen"
	"tests/i386.sh $build"
)
# Fewer fuzzed values than a soak would take: make check stays a few minutes.
export KAIO_FUZZ_N=${KAIO_FUZZ_N:-40}
pass=0 fail=0 skip=0 broken=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for s in "${suites[@]}"; do
	echo "== ${s%% *}"
	# Each suite holds the fs.aio-max-nr lock shared while it runs (see
	# aiomax_share in tests/lib.sh); the three that lower it take it
	# themselves, exclusively for that part.
	case $s in
	tests/env.sh* | tests/fault.sh* | tests/kcheck.sh*) share=() ;;
	*) share=(flock -s -w 900 /tmp/kaio-aio-max-nr.lock) ;;
	esac
	command -v flock >/dev/null || share=()
	# shellcheck disable=SC2086 # word splitting of the suite's arguments is wanted
	"${share[@]}" $s 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^([a-z0-9]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "kaio: ${s%% *} printed no summary line"; broken=$((broken + 1)); continue
	fi
	read -r p f k <<<"$(sed -E 's/^([a-z0-9]+: )?([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\2 \3 \5/' <<<"$line")"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + ${k:-0}))
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && broken=$((broken + 1))
done
echo "check: $pass passed, $((fail + broken)) failed, $skip skipped"
[ $((fail + broken)) -eq 0 ]
