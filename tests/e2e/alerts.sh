#!/bin/sh
# alerts.sh - each chat's alerts end to end (tests/e2e/alerts_e2e.py): /alert, /alerts and
# /unalert through `screener serve`, `screener poll` and the Lambda bot handler, then the
# evaluation after real collections against the Alpaca simulator and the fake Bot API: one
# message per crossing with racing collectors and reruns, a blocked chat's alerts removed.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
for x in "$B/screener" "$B/fake-telegram" "$B/alpaca-sim"; do
    [ -x "$x" ] || { echo "not ok 1 - $x is not built"; exit 1; }
done
command -v python3 >/dev/null || { echo "not ok 1 - python3 is needed"; exit 1; }
BUILD=$B exec python3 tests/e2e/alerts_e2e.py
