#!/bin/sh
# bot.sh - the Telegram bot end to end (tests/e2e/bot_e2e.py): every command through
# `screener serve` and `screener poll` against the fake Bot API, the webhook's refusals,
# 10,000 hostile bodies, the daily push after a collection, `screener bot setup`.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
for x in "$B/screener" "$B/fake-telegram" "$B/alpaca-sim"; do
    [ -x "$x" ] || { echo "not ok 1 - $x is not built"; exit 1; }
done
command -v python3 >/dev/null || { echo "not ok 1 - python3 is needed"; exit 1; }
BUILD=$B exec python3 tests/e2e/bot_e2e.py
