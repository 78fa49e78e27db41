#!/bin/sh
# portfolio.sh - portfolio tracking end to end (tests/e2e/portfolio_e2e.py): `screener
# portfolio`, `account` and `monitor` against the Alpaca simulator's trading endpoints, the
# bot's /portfolio /account /monitor through `screener serve`, the snapshot after each
# collection (reruns, kill -9), the sell-signal alert pushed once per crossing to the fake
# Bot API.  Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
for x in "$B/screener" "$B/fake-telegram" "$B/alpaca-sim"; do
    [ -x "$x" ] || { echo "not ok 1 - $x is not built"; exit 1; }
done
command -v python3 >/dev/null || { echo "not ok 1 - python3 is needed"; exit 1; }
BUILD=$B exec python3 tests/e2e/portfolio_e2e.py
