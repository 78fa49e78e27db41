#!/bin/sh
# tsan.sh TEST... - the unit tests named, then the demo's daily run three times into one store
# (again, then with another seed: revisions), all built with ThreadSanitizer (BUILD, default
# build-tsan): any race it sees fails the run.  Ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-tsan}
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
fi
export TMPDIR=${TMPDIR:-/tmp}
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
T=$(mktemp -d "$TMPDIR/screener-tsan.XXXXXX")
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
# ThreadSanitizer of gcc 12 cannot map its shadow memory under the address randomization of
# newer kernels (more than 28 random bits); without randomization it always can.
norand=
if setarch "$(uname -m)" -R true 2>/dev/null; then
    norand="setarch $(uname -m) -R"
fi

run() { # NAME CMD...: fails on a non-zero exit, or a race reported without one
    name=$1
    shift
    if $norand "$@" >"$T/out" 2>&1 && ! grep -q "ThreadSanitizer" "$T/out"; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        grep -A40 "WARNING: ThreadSanitizer" "$T/out" | head -60 || true
        tail -20 "$T/out"
    fi
}

for t in "$@"; do
    run "$t" env SCREENER_TEST_NO_FSYNC=1 "$BUILD/tests/$t"
done
export SCREENER_PORTFOLIO=0
run "demo" "$BUILD/screener" demo --store "$T/store" --symbols 40 --years 1
run "demo again" "$BUILD/screener" demo --store "$T/store" --symbols 40 --years 1
run "demo with another seed: revisions" "$BUILD/screener" demo --store "$T/store" --symbols 40 \
    --years 1 --seed 7
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
