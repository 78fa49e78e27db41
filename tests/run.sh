#!/bin/sh
# run.sh - run every test and end with one line "N passed, N failed".
#   unit tests (cmocka binaries), fuzz corpora replays, end-to-end CLI tests.
# BUILD selects the build directory (build, or build-asan for the sanitizer run).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD

# Tests write thousands of small files: use memory when the machine has it, and skip fsync
# in unit tests (the end-to-end tests keep it).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
fi
export TMPDIR=${TMPDIR:-/tmp}

passed=0
failed=0
failures=""
log=$(mktemp "$TMPDIR/screener-tests.XXXXXX")

record() { # name status
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures="$failures $1"
    fi
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    SCREENER_TEST_NO_FSYNC=1 "$t" >"$log" 2>&1
    status=$?
    n_ok=$(grep -c '^\[       OK \]' "$log")
    n_bad=$(grep -c '^\[  FAILED  \] test_\|^\[  ERROR   \]' "$log")
    grep '^# ' "$log" | sed "s/^/$name: /"
    if [ "$status" -ne 0 ] || [ "$n_bad" -ne 0 ]; then
        echo "FAIL $name"
        cat "$log"
        failed=$((failed + (n_bad > 0 ? n_bad : 1)))
        failures="$failures $name"
    else
        echo "ok   $name ($n_ok tests)"
    fi
    passed=$((passed + n_ok))
done

for r in "$BUILD"/fuzz/*-replay; do
    [ -x "$r" ] || continue
    target=$(basename "$r" -replay)
    if [ -d "fuzz/corpus/$target" ]; then
        if "$r" "fuzz/corpus/$target" >"$log" 2>&1; then
            echo "ok   fuzz corpus $target ($(tail -n 1 "$log"))"
            record "$target" 0
        else
            echo "FAIL fuzz corpus $target"
            cat "$log"
            record "$target" 1
        fi
    fi
done

for e in tests/e2e/*.sh; do
    [ -f "$e" ] || continue
    sh "$e" >"$log" 2>&1
    status=$?
    n_ok=$(grep -c '^ok ' "$log")
    n_bad=$(grep -c '^not ok ' "$log")
    grep '^# ' "$log" | sed "s/^/$(basename "$e"): /"
    if [ "$status" -ne 0 ] || [ "$n_bad" -ne 0 ]; then
        echo "FAIL $(basename "$e")"
        cat "$log"
        failed=$((failed + (n_bad > 0 ? n_bad : 1)))
        failures="$failures $(basename "$e")"
    else
        echo "ok   $(basename "$e") ($n_ok checks)"
    fi
    passed=$((passed + n_ok))
done

rm -f "$log"
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
